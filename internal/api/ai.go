package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/aijob"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// proposalAPI is the AI pipeline's resources: proposals, AI jobs and
// their stream, the organization kill switch, the token budget, agents.
type proposalAPI struct{ *Server }

// The AI pipeline's endpoints: proposals, generation requests (an agent
// route), human approval, jobs and their progress stream, the
// organization's kill switch and token budget.

func (s proposalAPI) register(r *edge.Router) {
	r.Authed("GET /api/proposals", s.listProposals)
	edge.AuthedJSON(r, "POST /api/proposals", s.createProposal)
	r.Authed("GET /api/proposals/{id}", s.getProposal)
	edge.AuthedJSON(r, "PATCH /api/proposals/{id}", s.updateProposal)
	r.Authed("POST /api/proposals/{id}/approve", s.approveProposal)
	r.Authed("GET /api/proposals/{id}/jobs", s.listProposalJobs)
	r.Agent("POST /api/proposals/{id}/generate", access.AgentProposalWriter, s.proposalVenue, s.generateProposal)
	// The agents that propose: their job ends in an agent proposal that a
	// person approves (/api/agent-proposals), never in a direct change.
	r.Agent("POST /api/proposals/{id}/bom/draft", access.AgentBOMDrafter, s.proposalVenue, s.generateProposal)
	r.Agent("POST /api/proposals/{id}/budget/analyze", access.AgentBudgetAnalyst, s.proposalVenue, s.generateProposal)
	r.Authed("GET /api/jobs/stream", s.jobStream)
	r.Authed("GET /api/jobs/{id}", s.getJob)
	edge.AuthedJSON(r, "POST /api/jobs/{id}/cancel", s.cancelJob)
	r.Authed("GET /api/killswitch", s.getKillSwitch)
	edge.AuthedJSON(r, "PUT /api/killswitch", s.setKillSwitch)
	r.Authed("GET /api/ai/budget", s.getBudget)
	edge.AuthedJSON(r, "PUT /api/ai/budget", s.setBudget)
}

type proposalRequest struct {
	Title      string `json:"title" minLength:"1" maxLength:"200"`
	ClientName string `json:"client_name" required:"false" maxLength:"200"`
	VenueCode  string `json:"venue_code" required:"false" pattern:"^[A-Z0-9][A-Z0-9_-]{0,31}$"`
	Brief      string `json:"brief" required:"false" maxLength:"20000" doc:"untrusted: reaches a model only through the prompt-injection guard"`
}

type proposalPatch struct {
	Title      *string `json:"title" required:"false" minLength:"1" maxLength:"200"`
	ClientName *string `json:"client_name" required:"false" maxLength:"200"`
	VenueCode  *string `json:"venue_code" required:"false" pattern:"^[A-Z0-9][A-Z0-9_-]{0,31}$"`
	Brief      *string `json:"brief" required:"false" maxLength:"20000"`
}

type cancelRequest struct {
	Reason string `json:"reason" minLength:"1" maxLength:"500"`
}

type killSwitchRequest struct {
	Active bool   `json:"active"`
	Reason string `json:"reason" minLength:"1" maxLength:"500"`
}

type budgetRequest struct {
	MonthlyTokens *int64 `json:"monthly_tokens" minimum:"1" maximum:"1000000000000" nullable:"true" doc:"null removes the limit"`
}

// proposalETag names a version of a proposal. Approving with If-Match set
// to it approves only that version: a draft that arrived since is a conflict.
func proposalETag(p rampart.Proposal) string {
	return `"` + strconv.FormatInt(p.UpdatedAt.UnixMicro(), 10) + `"`
}

func parseProposalETag(h string) (time.Time, error) {
	n, err := strconv.ParseInt(strings.Trim(h, `"`), 10, 64)
	if err != nil || len(h) > 40 {
		return time.Time{}, rampart.Errorf("api.approveProposal", rampart.KindInvalid, "If-Match must be the ETag of GET /api/proposals/{id}")
	}
	return time.UnixMicro(n), nil
}

// listProposals pages the organization's proposals, newest first:
// ?limit=1..200 (default 50) and ?cursor=<next_cursor of the previous
// page>. Items carry no brief and no body: GET /api/proposals/{id} has
// them.
func (s proposalAPI) listProposals(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxListProposals {
			return edge.FieldError("limit", "must be a whole number from 1 to %d", store.MaxListProposals)
		}
		limit = n
	}
	var after *store.ProposalCursor
	if v := q.Get("cursor"); v != "" {
		cur, err := parseProposalCursor(v)
		if err != nil {
			return err
		}
		after = &cur
	}
	page, err := proposal.List(r.Context(), s.store, c, limit, after)
	if err != nil {
		return err
	}
	var next *string
	if page.Next != nil {
		v := formatProposalCursor(*page.Next)
		next = &v
	}
	return edge.Respond(w, c, http.StatusOK, map[string]any{"proposals": page.Proposals, "next_cursor": next})
}

// A proposal cursor is "<updated_at in Unix microseconds>_<id>".
func formatProposalCursor(c store.ProposalCursor) string {
	return strconv.FormatInt(c.UpdatedAt.UnixMicro(), 10) + "_" + c.ID.String()
}

func parseProposalCursor(v string) (store.ProposalCursor, error) {
	bad := edge.FieldError("cursor", "must be the next_cursor of a previous page")
	at, id, ok := strings.Cut(v, "_")
	if !ok || len(at) == 0 || len(at) > 19 || strings.TrimLeft(at, "0123456789") != "" {
		return store.ProposalCursor{}, bad
	}
	micros, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return store.ProposalCursor{}, bad
	}
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		return store.ProposalCursor{}, bad
	}
	return store.ProposalCursor{UpdatedAt: time.UnixMicro(micros), ID: u}, nil
}

func (s proposalAPI) createProposal(w http.ResponseWriter, r *http.Request, c rampart.Claims, req proposalRequest) error {
	out, err := proposal.Create(r.Context(), s.store, c, proposal.Input{Title: req.Title, ClientName: req.ClientName,
		VenueCode: req.VenueCode, Brief: req.Brief})
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusCreated, out)
}

func (s proposalAPI) getProposal(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	p, err := proposal.Get(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", proposalETag(p))
	return edge.Respond(w, c, http.StatusOK, p)
}

func (s proposalAPI) updateProposal(w http.ResponseWriter, r *http.Request, c rampart.Claims, req proposalPatch) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	out, err := proposal.Update(r.Context(), s.store, c, id, proposal.Patch{Title: req.Title, ClientName: req.ClientName,
		VenueCode: req.VenueCode, Brief: req.Brief})
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, out)
}

func (s proposalAPI) approveProposal(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	var seen *time.Time
	if h := r.Header.Get("If-Match"); h != "" {
		t, err := parseProposalETag(h)
		if err != nil {
			return err
		}
		seen = &t
	}
	out, err := proposal.Approve(r.Context(), s.store, c, id, seen)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, out)
}

// proposalVenue is the generate route's venue extractor: the proposal's
// venue, read under the caller's claims (another tenant's proposal is not
// found before any agent check).
func (s proposalAPI) proposalVenue(r *http.Request) (string, error) {
	c, err := rampart.ClaimsFrom(r.Context())
	if err != nil {
		return "", err
	}
	id, err := edge.PathID(r, "id")
	if err != nil {
		return "", err
	}
	return proposal.VenueOf(r.Context(), s.store, c, id)
}

func (s proposalAPI) generateProposal(w http.ResponseWriter, r *http.Request, call edge.AgentCall) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	var q aijob.Requester
	if s.ai != nil && s.watcher != nil {
		q = s.ai
	}
	job, err := aijob.Request(r.Context(), q, aijob.Call{Claims: call.Claims, Agent: call.Agent, VenueCode: call.VenueCode}, id)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/jobs/"+job.ID.String())
	return edge.Respond(w, call.Claims, http.StatusAccepted, job)
}

func (s proposalAPI) listProposalJobs(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	jobs, err := aijob.ForProposal(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, map[string]any{"jobs": jobs})
}

func (s proposalAPI) getJob(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	job, err := aijob.Get(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, job)
}

// cancelJob is the job-level kill switch (the requester or an admin).
func (s proposalAPI) cancelJob(w http.ResponseWriter, r *http.Request, c rampart.Claims, req cancelRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	job, err := aijob.Cancel(r.Context(), s.store, c, id, req.Reason)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, job)
}

func (s proposalAPI) getKillSwitch(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	v, err := killswitch.Status(r.Context(), s.store, s.watcher, c)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, v)
}

// setKillSwitch turns the organization's AI kill switch on or off (admins).
// The change NOTIFYs every process; this process applies it before answering.
func (s proposalAPI) setKillSwitch(w http.ResponseWriter, r *http.Request, c rampart.Claims, req killSwitchRequest) error {
	v, err := killswitch.SetOrganization(r.Context(), s.store, s.watcher, c, req.Active, req.Reason)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, v)
}

func (s proposalAPI) getBudget(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	b, err := aijob.Budget(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, budgetView(b))
}

func (s proposalAPI) setBudget(w http.ResponseWriter, r *http.Request, c rampart.Claims, req budgetRequest) error {
	b, err := aijob.SetBudget(r.Context(), s.store, c, req.MonthlyTokens)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, budgetView(b))
}

func budgetView(b rampart.TokenBudget) map[string]any {
	return map[string]any{"monthly_tokens": b.MonthlyTokens, "month": b.Month.Format("2006-01"),
		"reserved_tokens": b.ReservedTokens, "used_tokens": b.UsedTokens, "remaining_tokens": b.Remaining(),
		"plan": b.Plan, "plan_status": b.PlanStatus, "plan_monthly_tokens": b.PlanTokens, "plan_refuses_ai": b.PlanRefused}
}

// Progress over server-sent events. The stream reads the caller's
// organization's job changes through RLS (store.AIJobEvents under the
// caller's claims), so another organization's events cannot reach it
// whatever this handler does. Only status, counts and error codes are sent:
// never model output. Every read also re-checks, after reading, that the
// session or token still gives the claims the stream started with; when
// it does not (member removed, role or venue codes changed, session or
// token revoked or expired, session switched to another organization) the
// stream ends before sending what it read, and the client's reconnect
// re-authenticates it (or is refused). A stream also ends after
// streamMaxAge; the client reconnects with Last-Event-ID.
const (
	streamMaxAge    = 2 * time.Minute
	streamHeartbeat = 15 * time.Second
	streamBacklog   = time.Hour
	// streamLag re-reads this far behind the cursor: a transaction that
	// stamped updated_at earlier but committed later than one already
	// sent is still seen (job transactions are short). Events already
	// sent are skipped by (job id, updated_at).
	streamLag = 5 * time.Second
)

type jobEvent struct {
	ID           uuid.UUID `json:"id"`
	ProposalID   uuid.UUID `json:"proposal_id"`
	Kind         string    `json:"kind"`
	Status       string    `json:"status"`
	Attempt      int       `json:"attempt"`
	InputTokens  int       `json:"input_tokens"`
	OutputTokens int       `json:"output_tokens"`
	ErrorCode    string    `json:"error_code,omitempty"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func (s proposalAPI) jobStream(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	resume, err := parseEventID(r.Header.Get("Last-Event-ID"))
	if err != nil {
		return err
	}
	// floor: a resuming client has seen everything up to its cursor.
	floor := resume
	read := resume
	if read.UpdatedAt.IsZero() {
		read.UpdatedAt = time.Now().Add(-streamBacklog)
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 2000\n\n")
	if err := rc.Flush(); err != nil {
		return nil
	}
	poll := time.NewTicker(s.streamPoll)
	defer poll.Stop()
	deadline := time.NewTimer(streamMaxAge)
	defer deadline.Stop()
	lastWrite := time.Now()
	newest := read                    // the newest change seen: the event id sent
	sent := map[uuid.UUID]time.Time{} // job id → updated_at already sent
	for {
		jobs, err := s.store.Jobs().Events(r.Context(), c, read, store.MaxJobEvents)
		if err != nil {
			if rampart.ErrorKind(err) == rampart.KindUnauthenticated {
				// The claims are gone or changed: nothing read is sent.
				return nil
			}
			if r.Context().Err() == nil {
				s.log.Warn("job stream read failed", "err", err)
				fmt.Fprintf(w, "event: error\ndata: {\"detail\":\"temporarily unavailable\"}\n\n")
				_ = rc.Flush()
			}
			return nil
		}
		for _, j := range jobs {
			at := store.JobCursor{UpdatedAt: j.UpdatedAt, ID: j.ID}
			read = at
			if cursorAfter(at, newest) {
				newest = at
			}
			if !cursorAfter(at, floor) {
				continue
			}
			if prev, ok := sent[j.ID]; ok && !j.UpdatedAt.After(prev) {
				continue
			}
			sent[j.ID] = j.UpdatedAt
			if !access.Can(c, access.ActionRead, access.Resource{Kind: access.KindProposal, VenueCode: deref(j.VenueCode)}) {
				continue
			}
			ev := jobEvent{ID: j.ID, ProposalID: j.ProposalID, Kind: j.Kind, Status: j.Status, Attempt: j.Attempt,
				InputTokens: j.InputTokens, OutputTokens: j.OutputTokens, ErrorCode: j.ErrorCode, UpdatedAt: j.UpdatedAt}
			filtered, err := access.FilterForRole(c.Role, ev)
			if err != nil {
				return nil
			}
			data, _ := json.Marshal(filtered)
			// #nosec G705 -- a text/event-stream of JSON (json.Marshal escapes <, > and &), filtered for the role
			fmt.Fprintf(w, "id: %s\nevent: job\ndata: %s\n\n", formatEventID(newest), data)
			lastWrite = time.Now()
		}
		if time.Since(lastWrite) >= streamHeartbeat {
			fmt.Fprintf(w, ": keep-alive\n\n")
			lastWrite = time.Now()
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
		if len(jobs) == store.MaxJobEvents {
			continue // more backlog: read on at once
		}
		// Next round: re-read the lag window behind the newest change, so a
		// transaction that stamped earlier but committed later is not missed.
		read = store.JobCursor{UpdatedAt: newest.UpdatedAt.Add(-streamLag)}
		for id, t := range sent {
			if t.Before(read.UpdatedAt) {
				delete(sent, id)
			}
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-deadline.C:
			return nil
		case <-poll.C:
		}
	}
}

// cursorAfter reports whether a is after b in (updated_at, id) order.
func cursorAfter(a, b store.JobCursor) bool {
	if !a.UpdatedAt.Equal(b.UpdatedAt) {
		return a.UpdatedAt.After(b.UpdatedAt)
	}
	return strings.Compare(a.ID.String(), b.ID.String()) > 0
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Event ids are "<updated_at RFC 3339 nanoseconds>_<job id>".
func formatEventID(c store.JobCursor) string {
	return c.UpdatedAt.UTC().Format(time.RFC3339Nano) + "_" + c.ID.String()
}

func parseEventID(s string) (store.JobCursor, error) {
	if s == "" {
		return store.JobCursor{}, nil
	}
	at, id, ok := strings.Cut(s, "_")
	t, terr := time.Parse(time.RFC3339Nano, at)
	u, uerr := uuid.Parse(id)
	if !ok || terr != nil || uerr != nil || len(s) > 100 {
		return store.JobCursor{}, rampart.Errorf("api.jobStream", rampart.KindInvalid, "Last-Event-ID must be an id this stream sent")
	}
	return store.JobCursor{UpdatedAt: t, ID: u}, nil
}
