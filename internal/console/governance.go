package console

import (
	"net/http"
	"sort"
	"strings"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/billing"
	"github.com/rampart-dev/rampart/internal/learning"
	"github.com/rampart-dev/rampart/internal/privacy"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Administration of what the organization holds and pays for: data
// subject requests (internal/privacy), the rankers' learned patterns
// (internal/learning) and the billing plan (internal/billing, read-only).
// The use cases check the role (admins); the pages add nothing to it.

func (s governancePages) register() {
	s.page("GET /admin/privacy", s.privacyPage)
	s.page("POST /admin/privacy", s.createDataRequest)
	s.page("POST /admin/privacy/{id}/link", s.issueExportLink)
	s.page("GET /admin/learning", s.learningPage)
	s.page("POST /admin/learning/reset", s.resetLearning)
	s.page("GET /admin/billing", s.billingPage)
}

type privacyData struct {
	Requests []rampart.PrivacyRequest
	Form     privacyForm
	// Link is a download link just issued: shown on this answer only
	// (only its hash is stored; the page is no-store).
	Link *privacy.Link
}

type privacyForm struct {
	Kind, Email string
	Errors      map[string]string
}

func (s governancePages) privacyPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.renderPrivacy(w, r, c, http.StatusOK, privacyData{Form: privacyForm{Kind: rampart.PrivacyExport}})
}

func (s governancePages) renderPrivacy(w http.ResponseWriter, r *http.Request, c rampart.Claims, status int, d privacyData) error {
	reqs, err := privacy.List(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	d.Requests = reqs
	return s.render(w, r, c, status, "privacy", view{Title: "Data subject requests", Section: "privacy", Data: d})
}

// createDataRequest asks for an export (built by the worker) or carries
// out an erasure now (privacy.Request, as POST /api/admin/data-requests).
func (s governancePages) createDataRequest(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	v, err := form(w, r)
	if err != nil {
		return err
	}
	f := privacyForm{Kind: v.Get("kind"), Email: strings.TrimSpace(v.Get("email"))}
	_, err = privacy.Request(r.Context(), s.store, c, privacy.Input{Kind: f.Kind, Email: f.Email})
	if k := rampart.ErrorKind(err); k == rampart.KindInvalid || k == rampart.KindConflict {
		field := "email"
		if strings.HasPrefix(rampart.ErrorMessage(err), "kind") {
			field = "kind"
		}
		f.Errors = map[string]string{field: rampart.ErrorMessage(err)}
		return s.renderPrivacy(w, r, c, http.StatusBadRequest, privacyData{Form: f})
	}
	if err != nil {
		return err
	}
	if f.Kind == rampart.PrivacyErasure {
		return done(w, r, "/admin/privacy", "erased")
	}
	return done(w, r, "/admin/privacy", "export-requested")
}

// issueExportLink issues the one-time download link of a ready export
// (privacy.IssueLink): shown once, on this 201 answer.
func (s governancePages) issueExportLink(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	l, err := privacy.IssueLink(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	return s.renderPrivacy(w, r, c, http.StatusCreated, privacyData{Form: privacyForm{Kind: rampart.PrivacyExport}, Link: &l})
}

type learningData struct {
	Rankers       []rankerState
	FeedbackCount int64
}

type rankerState struct {
	Ranker   access.AgentType
	Features []learning.Feature
}

func (s governancePages) learningPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	st, err := learning.Read(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	d := learningData{FeedbackCount: st.FeedbackCount}
	for k, fs := range st.Rankers {
		d.Rankers = append(d.Rankers, rankerState{Ranker: k, Features: fs})
	}
	sort.Slice(d.Rankers, func(i, j int) bool { return d.Rankers[i].Ranker < d.Rankers[j].Ranker })
	return s.render(w, r, c, http.StatusOK, "learning", view{Title: "Learned patterns", Section: "learning", Data: d})
}

// resetLearning deletes the organization's learned weights and feedback
// (learning.Reset: one audit event per table).
func (s governancePages) resetLearning(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	if _, err := form(w, r); err != nil {
		return err
	}
	if _, err := learning.Reset(r.Context(), s.store, c); err != nil {
		return err
	}
	return done(w, r, "/admin/learning", "learning-reset")
}

type billingData struct {
	Account *rampart.BillingAccount // nil: no billing account linked
	Refused bool                    // the plan state refuses new AI work now
}

// billingPage shows the plan state (billing.Account, as GET /api/billing);
// read-only: the plan changes through Stripe's webhook and the CLI.
func (s governancePages) billingPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	if err := adminOnly(c); err != nil {
		return err
	}
	a, err := billing.Account(r.Context(), s.store, c)
	d := billingData{}
	switch {
	case err == nil:
		d.Account, d.Refused = &a, a.AIRefused(s.now())
	case rampart.ErrorKind(err) == rampart.KindNotFound:
	default:
		return err
	}
	return s.render(w, r, c, http.StatusOK, "billing", view{Title: "Billing", Section: "billing", Data: d})
}
