package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/chat"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/sanitize"
	"github.com/rampart-dev/rampart/internal/store"
)

// chatAPI is the proposal chat: questions about a proposal, its bill of
// materials and its statement of work, answered by the model from what
// the caller may see (internal/chat), under the chat rate-limit tier.
type chatAPI struct{ *Server }

type chatRequest struct {
	Question string `json:"question" minLength:"1" maxLength:"4000" doc:"untrusted: reaches the model only through the prompt-injection guard; a flagged question is refused (422)" example:"How many follow spots does the plan need, and are they on the bill of materials?"`
}

func (s chatAPI) register(r *edge.Router) {
	edge.ChatJSON(r, "POST /api/proposals/{id}/chat", s.ask)
	r.Authed("GET /api/proposals/{id}/chat", s.list)

	turn := chatExample()
	r.Document("POST /api/proposals/{id}/chat", edge.Doc{Summary: "Ask the model about a proposal",
		Description: "Roles that may request AI on the proposal's venue (others 403; another organization's proposal 404). " +
			"The model sees the proposal, its bill of materials, its statement of work and its budget as the caller may: for roles without full cost access " +
			"no cost, sourcing, lead time or amount is in the prompt, and answers written with costs (costed) are shown only to roles with full cost access. " +
			"With Accept: text/event-stream the answer streams as server-sent events: `turn` (the recorded question), `block` ({\"html\": …}, " +
			"each completed block of the answer, sanitised), then `done` (the stored turn) or `stopped` (a kill switch ended it; nothing stored) " +
			"or `error` ({\"detail\": …}). Otherwise the answer is the stored turn (201). Refusals before the model call are problem+json: " +
			"422 a flagged question (audited with its scores, never the text), 409 flagged proposal data, 423 an AI kill switch, " +
			"429 the monthly token budget or the chat rate limit (15 a minute). The answer counts against the monthly AI token budget.",
		Status: http.StatusCreated, Example: turn})
	r.Document("GET /api/proposals/{id}/chat", edge.Doc{Summary: "Read a proposal's conversation",
		Description: "Oldest first; ?limit=1..200 (default 50) and ?cursor=<next_cursor>. Every reader of the proposal reads it, " +
			"except the turns answered with costs (costed), which only roles with full cost access see. Answers are sanitised HTML, AI-generated.",
		Example: map[string]any{"turns": []rampart.ChatTurn{turn}, "next_cursor": nil}})
}

func chatExample() rampart.ChatTurn {
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	done := at.Add(4 * time.Second)
	venue := "HALL-A"
	return rampart.ChatTurn{OrganizationID: uuid.MustParse("7f3e1c2a-1111-4c5d-8e9f-0a1b2c3d4e5f"), ID: uuid.MustParse("6e5d4c3b-7777-4a8b-9c0d-1e2f3a4b5c6d"),
		ProposalID: uuid.MustParse("5a6b7c8d-2222-4e3f-9a0b-1c2d3e4f5a6b"), VenueCode: &venue, AskedBy: uuid.MustParse("3c4d5e6f-3333-4a7b-8c9d-0e1f2a3b4c5d"),
		Question: "How many follow spots does the plan need, and are they on the bill of materials?", Status: rampart.ChatAnswered,
		AnswerHTML: "<p>The lighting plan calls for <strong>two follow spots</strong> for the awards segment.</p>\n<p>The bill of materials lists them: 2 × follow spot, 1 day.</p>",
		Model:      "claude-sonnet-4-5", InputTokens: 1840, OutputTokens: 62, CreatedAt: at, FinishedAt: &done}
}

// ask answers one question: server-sent events of sanitised blocks when
// the client accepts them, otherwise the stored turn.
func (s chatAPI) ask(w http.ResponseWriter, r *http.Request, c rampart.Claims, req chatRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	if s.chat == nil {
		return rampart.Errorf("api.chat", rampart.KindUnavailable, "the proposal chat is not configured in this process")
	}
	if !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		turn, err := s.chat.Ask(r.Context(), c, id, req.Question, chat.Stream{})
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/api/proposals/"+id.String()+"/chat")
		return edge.Respond(w, c, http.StatusCreated, turn)
	}
	rc := http.NewResponseController(w)
	started := false
	event := func(name string, v any) error {
		filtered, err := access.FilterForRole(c.Role, v) // as edge.Respond does
		if err != nil {
			return err
		}
		data, err := json.Marshal(filtered)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data); err != nil {
			return err
		}
		return rc.Flush()
	}
	turn, err := s.chat.Ask(r.Context(), c, id, req.Question, chat.Stream{
		Started: func(t rampart.ChatTurn) error {
			_ = rc.SetWriteDeadline(time.Time{}) // an answer may outlive the server's write timeout
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("X-Accel-Buffering", "no")
			w.WriteHeader(http.StatusOK)
			started = true
			return event("turn", t)
		},
		Block: func(h sanitize.HTML) error { return event("block", map[string]string{"html": h.String()}) },
	})
	if !started {
		return err // nothing sent yet: a problem+json answer
	}
	switch {
	case err == nil:
		_ = event("done", turn)
	case errors.Is(err, chat.ErrStopped):
		_ = event("stopped", map[string]any{"detail": rampart.ErrorMessage(err), "turn": turn})
	default:
		_ = event("error", map[string]any{"detail": rampart.ErrorMessage(err), "turn": turn})
	}
	return nil
}

func (s chatAPI) list(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > chat.MaxPageSize {
			return edge.FieldError("limit", "must be a whole number from 1 to %d", chat.MaxPageSize)
		}
		limit = n
	}
	var after *store.ChatCursor
	if v := q.Get("cursor"); v != "" {
		cur, err := parseProposalCursor(v)
		if err != nil {
			return err
		}
		after = &store.ChatCursor{CreatedAt: cur.UpdatedAt, ID: cur.ID}
	}
	page, err := chat.List(r.Context(), s.store, c, id, limit, after)
	if err != nil {
		return err
	}
	var next *string
	if page.Next != nil {
		v := formatProposalCursor(store.ProposalCursor{UpdatedAt: page.Next.CreatedAt, ID: page.Next.ID})
		next = &v
	}
	return edge.Respond(w, c, http.StatusOK, map[string]any{"turns": page.Turns, "next_cursor": next})
}
