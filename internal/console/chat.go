package console

import (
	"net/http"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/chat"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// The proposal chat (internal/chat): the conversation as the caller may
// read it (costed turns only for roles with full cost access) and a
// question form. When the console's script runs, the form is posted to
// the JSON API's chat route with Accept: text/event-stream and the
// answer's sanitised blocks are appended as they arrive (console.js);
// without it, the form posts here: the chat service answers within the
// request, as the API's non-streaming POST does, and the page shows the
// stored, sanitised answer.

func (s chatPages) register() {
	s.page("GET /proposals/{id}/chat", s.chatPage)
	s.edge.PageChat("POST /proposals/{id}/chat", s.fail, s.ask)
}

type chatData struct {
	P       rampart.Proposal
	Turns   []rampart.ChatTurn
	More    bool // older turns than the page holds exist: the API pages them
	CanAsk  bool
	Enabled bool // the chat is configured in this process
	Form    chatForm
}

type chatForm struct {
	Question string
	Errors   map[string]string
}

func (s chatPages) chatPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.renderChat(w, r, c, http.StatusOK, chatForm{})
}

func (s chatPages) renderChat(w http.ResponseWriter, r *http.Request, c rampart.Claims, status int, f chatForm) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := proposal.Get(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	page, err := chat.List(r.Context(), s.store, c, id, chat.MaxPageSize, nil)
	if err != nil {
		return err
	}
	d := chatData{P: p, Turns: page.Turns, More: page.Next != nil, Enabled: s.chat != nil, Form: f,
		CanAsk: access.Can(c, access.ActionRequestAI, proposal.Resource(p.ProposalSummary))}
	return s.render(w, r, c, status, "chat", view{Title: "Chat · " + p.Title, Section: "proposals", Data: d})
}

// ask puts one question (chat.Ask, as POST /api/proposals/{id}/chat
// without streaming) and shows the conversation with its answer. An
// empty or overlong question is a 400 beside the field; every other
// refusal (a flagged question, a kill switch, the budget) is the
// refusal page with the API's status and safe detail.
func (s chatPages) ask(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := form(w, r)
	if err != nil {
		return err
	}
	if s.chat == nil {
		return rampart.Errorf("console.ask", rampart.KindUnavailable, "the proposal chat is not configured in this process")
	}
	q := v.Get("question")
	if _, err := rampart.ValidateChatQuestion("console.ask", q); err != nil {
		return s.renderChat(w, r, c, http.StatusBadRequest, chatForm{Question: q, Errors: map[string]string{"question": rampart.ErrorMessage(err)}})
	}
	turn, err := s.chat.Ask(r.Context(), c, id, q, chat.Stream{})
	if err != nil {
		return err
	}
	return done(w, r, "/proposals/"+id.String()+"/chat#turn-"+turn.ID.String(), "")
}
