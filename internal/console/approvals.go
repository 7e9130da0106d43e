package console

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/agentproposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// The approvals queue: what agents proposed (internal/agentproposal) and
// a person's approval or rejection, through the use cases the JSON API's
// /api/agent-proposals routes call. The change is shown as the lines it
// would add; budget amounts only reach roles with full cost access (the
// use case gives the others a view without them).

func (s approvalPages) register() {
	s.page("GET /approvals", s.approvalsPage)
	s.page("GET /approvals/{id}", s.approvalPage)
	s.page("POST /approvals/{id}/approve", s.approveAgentProposal)
	s.page("POST /approvals/{id}/reject", s.rejectAgentProposal)
}

// approvalStatuses are the queue's filters ("" is pending).
var approvalStatuses = []rampart.AgentProposalStatus{rampart.AgentProposalPending, rampart.AgentProposalApproved,
	rampart.AgentProposalRejected, rampart.AgentProposalExpired}

type approvalsData struct {
	Status   string
	Statuses []rampart.AgentProposalStatus
	Items    []approvalRow
}

type approvalRow struct {
	rampart.AgentProposal
	Summary string // "3 BOM lines", …
	Left    string // time left while pending
}

func (s approvalPages) approvalsPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	st := rampart.AgentProposalStatus(r.URL.Query().Get("status"))
	if st == "" {
		st = rampart.AgentProposalPending
	}
	items, err := agentproposal.List(r.Context(), s.store, c, store.AgentProposalFilter{Status: &st, Limit: store.MaxListAgentProposals})
	if err != nil {
		return err
	}
	d := approvalsData{Status: string(st), Statuses: approvalStatuses}
	now := s.now()
	for _, p := range items {
		d.Items = append(d.Items, approvalRow{AgentProposal: p, Summary: changeSummary(p), Left: timeLeft(p, now)})
	}
	return s.render(w, r, c, http.StatusOK, "approvals", view{Title: "Approvals", Section: "approvals", Data: d})
}

// changeSummary names what a proposal would change.
func changeSummary(p rampart.AgentProposal) string {
	switch p.Kind {
	case rampart.ProposeBOMLines:
		return plural(len(p.Change.BOMLines), "BOM line")
	case rampart.ProposeBudgetLines:
		return plural(len(p.Change.BudgetLines), "budget line")
	case rampart.ProposeVendorChoice:
		return "a vendor choice"
	case rampart.ProposeCrewAssignment:
		return "a crew assignment"
	}
	return string(p.Kind)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// timeLeft is a pending proposal's time before it expires, to the minute
// ("6d 23h 59m left"), or "expired".
func timeLeft(p rampart.AgentProposal, now time.Time) string {
	if p.Status != rampart.AgentProposalPending {
		return ""
	}
	left := p.ExpiresAt.Sub(now)
	if left <= 0 {
		return "expired"
	}
	left = left.Truncate(time.Minute)
	days, hours, mins := int(left/(24*time.Hour)), int(left%(24*time.Hour)/time.Hour), int(left%time.Hour/time.Minute)
	var b strings.Builder
	if days > 0 {
		fmt.Fprintf(&b, "%dd ", days)
	}
	if days > 0 || hours > 0 {
		fmt.Fprintf(&b, "%dh ", hours)
	}
	fmt.Fprintf(&b, "%dm left", mins)
	return b.String()
}

type approvalData struct {
	P       rampart.AgentProposal
	Priced  bool // the view carries amounts (full cost access)
	Adds    []addedLine
	Signals []rampart.Signal
	Left    string
	// ExpiresMillis is the expiry for console.js's countdown.
	ExpiresMillis int64
	CanDecide     bool
	Form          decisionForm
}

// addedLine is one line of the readable diff: what approval would add.
type addedLine struct {
	Text   string
	Amount *rampart.Money // budget lines, cost roles only
}

type decisionForm struct {
	Reason string
	Errors map[string]string
}

func (s approvalPages) approvalPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.renderApproval(w, r, c, http.StatusOK, decisionForm{})
}

func (s approvalPages) renderApproval(w http.ResponseWriter, r *http.Request, c rampart.Claims, status int, f decisionForm) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := agentproposal.Get(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	p := v.Proposal()
	venue := ""
	if p.VenueCode != nil {
		venue = *p.VenueCode
	}
	kind := access.KindProposal
	switch p.Kind {
	case rampart.ProposeBOMLines:
		kind = access.KindBOM
	case rampart.ProposeBudgetLines:
		kind = access.KindBudget
	}
	d := approvalData{P: p, Priced: v.Priced != nil, Left: timeLeft(p, s.now()), ExpiresMillis: p.ExpiresAt.UnixMilli(), Form: f,
		CanDecide: p.Status == rampart.AgentProposalPending && access.Can(c, access.ActionApproveAgentProposal, access.Resource{Kind: kind, VenueCode: venue})}
	d.Adds = addedLines(v)
	d.Signals = p.Change.Signals
	if v.Priced != nil && len(v.Priced.Cost.Signals) > 0 {
		d.Signals = v.Priced.Cost.Signals
	}
	return s.render(w, r, c, status, "approval", view{Title: "Agent proposal", Section: "approvals", Data: d})
}

// addedLines renders the change as the lines approval would add.
func addedLines(v agentproposal.View) []addedLine {
	p := v.Proposal()
	var out []addedLine
	for _, l := range p.Change.BOMLines {
		out = append(out, addedLine{Text: fmt.Sprintf("BOM: %s × %s %s (%s)", l.Quantity, l.Unit, l.Item, l.Category)})
	}
	for i, l := range p.Change.BudgetLines {
		a := addedLine{Text: fmt.Sprintf("Budget: %s, %s", l.Category, l.Description)}
		if v.Priced != nil && i < len(v.Priced.Cost.Planned) {
			m := v.Priced.Cost.Planned[i]
			a.Amount = &m
		}
		out = append(out, a)
	}
	if vc := p.Change.VendorChoice; vc != nil {
		out = append(out, addedLine{Text: fmt.Sprintf("Vendor for %s: vendor %s", vc.Category, vc.VendorID)})
	}
	if ca := p.Change.CrewAssignment; ca != nil {
		out = append(out, addedLine{Text: fmt.Sprintf("Crew: member %s, %s to %s", ca.CrewMemberID, ca.Dates.From, ca.Dates.To)})
	}
	return out
}

func (s approvalPages) approveAgentProposal(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.decide(w, r, c, true)
}

func (s approvalPages) rejectAgentProposal(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.decide(w, r, c, false)
}

// decide approves or rejects (a rejection needs a reason: shown beside
// the field, nothing written).
func (s approvalPages) decide(w http.ResponseWriter, r *http.Request, c rampart.Claims, approve bool) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := form(w, r)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(v.Get("reason"))
	if approve {
		_, err = agentproposal.Approve(r.Context(), s.store, c, id, reason, s.now())
	} else {
		_, err = agentproposal.Reject(r.Context(), s.store, c, id, reason, s.now())
	}
	if rampart.ErrorKind(err) == rampart.KindInvalid {
		return s.renderApproval(w, r, c, http.StatusBadRequest, decisionForm{Reason: reason, Errors: map[string]string{"reason": rampart.ErrorMessage(err)}})
	}
	if err != nil {
		return err
	}
	if approve {
		return done(w, r, "/approvals/"+id.String(), "agent-approved")
	}
	return done(w, r, "/approvals/"+id.String(), "agent-rejected")
}
