package console

import (
	"net/http"
	"strings"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/agent"
	"github.com/rampart-dev/rampart/internal/crew"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/vendors"
)

// Vendors and crew for a proposal (the directory lists and their forms
// are in directory.go): the vendor_ranker's ranking and the
// crew_matcher's match with the signals behind every score. The rank and match forms are agent pages
// (edge.Router.AgentPage): the agent route's role tier, venue scope and
// rate limit, then the use cases the JSON API's agent routes call (the
// top candidate becomes a pending agent proposal, as there). Day rates
// and the vendor directory reach roles with full cost access only: the
// use cases give the others a view without them.

func (s staffingPages) register() {
	s.page("GET /proposals/{id}/staffing", s.staffingPage)
	s.edge.AgentPage("POST /proposals/{id}/vendors/rank", access.AgentVendorRanker, s.proposalVenue, s.fail, s.rankVendors)
	s.edge.AgentPage("POST /proposals/{id}/crew/match", access.AgentCrewMatcher, s.proposalVenue, s.fail, s.matchCrew)
}

// proposalVenue is the {id} proposal's venue code, for the agent checks
// (another organization's proposal is not found).
func (s staffingPages) proposalVenue(r *http.Request) (string, error) {
	c, err := rampart.ClaimsFrom(r.Context())
	if err != nil {
		return "", err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return "", err
	}
	return proposal.VenueOf(r.Context(), s.store, c, id)
}

// candidateRow is one ranked candidate: a vendor or a crew member, its
// score and signals (a crew member's day rate for cost roles only).
type candidateRow struct {
	Name    string
	Detail  string
	DayRate *rampart.Money
	Score   float64
	Signals []rampart.Signal
}

type staffingData struct {
	P                 rampart.Proposal
	CanRank, CanMatch bool
	Ranked, Matched   bool
	Category          string
	Skills, Certs     string
	From, To          string
	Weights           map[string]float64
	Candidates        []candidateRow
	AgentProposalID   string
	Errors            map[string]string
}

func (s staffingPages) staffingPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.renderStaffing(w, r, c, http.StatusOK, staffingData{})
}

func (s staffingPages) renderStaffing(w http.ResponseWriter, r *http.Request, c rampart.Claims, status int, d staffingData) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := proposal.Get(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	venueCode := ""
	if p.VenueCode != nil {
		venueCode = *p.VenueCode
	}
	d.P = p
	d.CanRank = access.CheckAgent(c, access.AgentVendorRanker, venueCode) == nil
	d.CanMatch = access.CheckAgent(c, access.AgentCrewMatcher, venueCode) == nil
	return s.render(w, r, c, status, "staffing", view{Title: "Vendors and crew · " + p.Title, Section: "proposals", Data: d})
}

// rankVendors runs the vendor_ranker for a category and shows the
// ranking (a 200 page: the ranking is not stored; its top candidate is
// a pending agent proposal, linked).
func (s staffingPages) rankVendors(w http.ResponseWriter, r *http.Request, call edge.AgentCall) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := form(w, r)
	if err != nil {
		return err
	}
	d := staffingData{Category: v.Get("category"), Ranked: true}
	out, err := vendors.Rank(r.Context(), s.store, call.Claims, id, rampart.BOMCategory(d.Category))
	if rampart.ErrorKind(err) == rampart.KindInvalid {
		return s.renderStaffing(w, r, call.Claims, http.StatusBadRequest, staffingData{Category: d.Category,
			Errors: map[string]string{"category": rampart.ErrorMessage(err)}})
	}
	if err != nil {
		return err
	}
	ap, err := agent.ProposeVendorChoice(r.Context(), s.store, call.Claims, out, s.now())
	if err != nil {
		return err
	}
	if ap != nil {
		d.AgentProposalID = ap.ID.String()
	}
	d.Weights = out.Weights
	for _, cd := range out.Candidates {
		d.Candidates = append(d.Candidates, candidateRow{Name: cd.Vendor.Name, Score: cd.Score, Signals: cd.Signals,
			Detail: string(cd.Vendor.Category)})
	}
	return s.renderStaffing(w, r, call.Claims, http.StatusOK, d)
}

// matchCrew runs the crew_matcher for skills, certifications and
// (optionally) dates and shows the match.
func (s staffingPages) matchCrew(w http.ResponseWriter, r *http.Request, call edge.AgentCall) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := form(w, r)
	if err != nil {
		return err
	}
	d := staffingData{Matched: true, Skills: v.Get("skills"), Certs: v.Get("certifications"), From: strings.TrimSpace(v.Get("from")), To: strings.TrimSpace(v.Get("to"))}
	req := rampart.CrewMatchRequest{Skills: list(d.Skills), Certifications: list(d.Certs)}
	if d.From != "" || d.To != "" {
		req.Dates = &rampart.DateRange{From: rampart.Day(d.From), To: rampart.Day(d.To)}
	}
	out, err := crew.MatchCrew(r.Context(), s.store, call.Claims, id, req, s.now().UTC())
	if rampart.ErrorKind(err) == rampart.KindInvalid {
		d.Matched = false
		d.Errors = map[string]string{fieldOf(err, "skills"): rampart.ErrorMessage(err)}
		return s.renderStaffing(w, r, call.Claims, http.StatusBadRequest, d)
	}
	if err != nil {
		return err
	}
	ap, err := agent.ProposeCrewAssignment(r.Context(), s.store, call.Claims, out, s.now())
	if err != nil {
		return err
	}
	if ap != nil {
		d.AgentProposalID = ap.ID.String()
	}
	if out.Costed != nil {
		d.Weights = out.Costed.Weights
		for _, cd := range out.Costed.Candidates {
			d.Candidates = append(d.Candidates, candidateRow{Name: cd.CrewMember.Name, Detail: strings.Join(cd.CrewMember.Skills, ", "),
				DayRate: cd.CrewMember.DayRate, Score: cd.Score, Signals: cd.Signals})
		}
	} else if out.Public != nil {
		d.Weights = out.Public.Weights
		for _, cd := range out.Public.Candidates {
			d.Candidates = append(d.Candidates, candidateRow{Name: cd.CrewMember.Name, Detail: strings.Join(cd.CrewMember.Skills, ", "),
				Score: cd.Score, Signals: cd.Signals})
		}
	}
	return s.renderStaffing(w, r, call.Claims, http.StatusOK, d)
}

// list splits a comma- or space-separated field.
func list(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })
}
