package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/auditview"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// auditAPI is the organization's audit log for its admins.
type auditAPI struct{ *Server }

// The audit log viewer and export: admins read their organization's
// events (row-level security confines them to it; platform events are
// visible to nobody here).
func (s auditAPI) register(r *edge.Router) {
	r.Authed("GET /api/audit/events", s.listAuditEvents)
	r.Authed("GET /api/audit/export.csv", s.exportAudit)
}

// parseAuditFilter reads since, until, actor and action from the query.
func parseAuditFilter(r *http.Request) (store.AuditFilter, error) {
	q := r.URL.Query()
	var f store.AuditFilter
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, edge.FieldError(p.name, "must be an RFC 3339 time such as 2026-01-31T00:00:00Z")
			}
			*p.dst = t
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, edge.FieldError("since", "must be before until")
	}
	f.ActorID = q.Get("actor")
	if len(f.ActorID) > 200 {
		return f, edge.FieldError("actor", "at most 200 characters")
	}
	if a := q.Get("action"); a != "" {
		known := false
		for _, x := range audit.Actions {
			known = known || x == a
		}
		if !known {
			return f, edge.FieldError("action", "%q is not an audit action", a)
		}
		f.Action = a
	}
	return f, nil
}

type auditEventView struct {
	ID         int64     `json:"id"`
	OccurredAt time.Time `json:"occurred_at"`
	ActorType  string    `json:"actor_type"`
	ActorID    string    `json:"actor_id"`
	ActorScope rawOrNull `json:"actor_scope"`
	Action     string    `json:"action"`
	TargetType string    `json:"target_type"`
	TargetID   string    `json:"target_id"`
	Before     rawOrNull `json:"before"`
	After      rawOrNull `json:"after"`
	IP         string    `json:"ip,omitempty"`
	UserAgent  string    `json:"user_agent,omitempty"`
	RequestID  string    `json:"request_id,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Metadata   rawOrNull `json:"metadata"`
}

type rawOrNull []byte

func (r rawOrNull) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

func viewOf(e *audit.Stored) auditEventView {
	v := auditEventView{ID: e.ID, OccurredAt: e.OccurredAt, ActorType: string(e.ActorType), ActorID: e.ActorID,
		ActorScope: rawOrNull(e.ActorScope), Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID,
		Before: rawOrNull(e.Before), After: rawOrNull(e.After), UserAgent: e.UserAgent, RequestID: e.RequestID,
		Reason: e.Reason, Metadata: rawOrNull(e.Metadata)}
	if e.IP.IsValid() {
		v.IP = e.IP.String()
	}
	return v
}

// listAuditEvents pages newest first: ?limit=1..500 (default 100), and
// ?cursor=<next_cursor of the previous page>.
func (s auditAPI) listAuditEvents(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	f, err := parseAuditFilter(r)
	if err != nil {
		return err
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > auditview.MaxLimit {
			return edge.FieldError("limit", "must be a whole number from 1 to 500")
		}
	}
	if v := r.URL.Query().Get("cursor"); v != "" {
		if f.Before, err = parseCursor(v); err != nil {
			return err
		}
	}
	page, err := auditview.List(r.Context(), s.store, c, f)
	if err != nil {
		return err
	}
	out := make([]auditEventView, len(page.Events))
	for i := range page.Events {
		out[i] = viewOf(&page.Events[i])
	}
	var next *string
	if page.Next != nil {
		n := strconv.FormatInt(*page.Next, 10)
		next = &n
	}
	return edge.Respond(w, c, http.StatusOK, map[string]any{"events": out, "next_cursor": next})
}

// parseCursor reads a next_cursor: an event id, a positive int64 written
// in decimal digits only (no sign, spaces or exponent).
func parseCursor(v string) (int64, error) {
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, edge.FieldError("cursor", "must be the next_cursor of a previous page (decimal digits)")
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, edge.FieldError("cursor", "must be the next_cursor of a previous page (from 1 to 9223372036854775807)")
	}
	return n, nil
}

// exportAudit streams the organization's events as CSV. The export is
// itself audited, in the same transaction as the read.
func (s auditAPI) exportAudit(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	f, err := parseAuditFilter(r)
	if err != nil {
		return err
	}
	started := false
	var cw *audit.CSVWriter
	err = auditview.Export(r.Context(), s.store, c, f, edge.ClientInfo(r), func(e *audit.Stored) error {
		if !started {
			started = true
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="audit-`+c.OrganizationID.String()+`.csv"`)
			var err error
			if cw, err = audit.NewCSVWriter(w); err != nil {
				return err
			}
		}
		return cw.Write(e)
	})
	if err != nil {
		if started {
			// Headers are gone; cut the stream so the client sees a broken download.
			s.log.ErrorContext(r.Context(), "audit export failed mid-stream", "err", err)
			panic(http.ErrAbortHandler)
		}
		return err
	}
	if !started {
		// No event matched: the header row alone, still a download.
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="audit-`+c.OrganizationID.String()+`.csv"`)
		if cw, err = audit.NewCSVWriter(w); err != nil {
			return err
		}
	}
	return cw.Flush()
}
