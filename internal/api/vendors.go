package api

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/agent"
	"github.com/rampart-dev/rampart/internal/crew"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/learning"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/vendors"
)

// staffingAPI is the vendor directory, the crew list, their rankers (agent
// routes, mounted only through edge.Router.Agent/AgentJSON), the choices
// people make from them, and the organization's learned ranking state.
type staffingAPI struct{ *Server }

func (s staffingAPI) register(r *edge.Router) {
	venue := proposalAPI(s).proposalVenue
	r.Authed("GET /api/vendors", s.listVendors)
	edge.AuthedJSON(r, "POST /api/vendors", s.createVendor)
	r.Authed("GET /api/vendors/{id}", s.getVendor)
	edge.AuthedJSON(r, "PATCH /api/vendors/{id}", s.updateVendor)
	r.Authed("DELETE /api/vendors/{id}", s.deleteVendor)
	edge.AgentJSON(r, "POST /api/proposals/{id}/vendors/rank", access.AgentVendorRanker, venue, s.rankVendors)
	r.Authed("GET /api/proposals/{id}/vendor-choices", s.listChoices)
	edge.AuthedJSON(r, "POST /api/proposals/{id}/vendor-choices", s.chooseVendor)
	r.Authed("DELETE /api/vendor-choices/{id}", s.unchooseVendor)

	r.Authed("GET /api/crew", s.listCrew)
	edge.AuthedJSON(r, "POST /api/crew", s.createCrew)
	r.Authed("GET /api/crew/{id}", s.getCrew)
	edge.AuthedJSON(r, "PATCH /api/crew/{id}", s.updateCrew)
	r.Authed("DELETE /api/crew/{id}", s.deleteCrew)
	edge.AgentJSON(r, "POST /api/proposals/{id}/crew/match", access.AgentCrewMatcher, venue, s.matchCrew)
	r.Authed("GET /api/proposals/{id}/crew-assignments", s.listAssignments)
	edge.AuthedJSON(r, "POST /api/proposals/{id}/crew-assignments", s.assignCrew)
	r.Authed("DELETE /api/crew-assignments/{id}", s.unassignCrew)

	r.Authed("GET /api/admin/learned-patterns", s.getLearned)
	r.Authed("DELETE /api/admin/learned-patterns", s.resetLearned)

	ex := staffingExamples()
	sourcing := " The vendor directory is sourcing information: admins, executive producers and producers only (403 for the other roles)."
	for _, d := range []struct {
		pattern, summary, desc string
		status                 int
		ex                     any
	}{
		{"GET /api/vendors", "List vendors", "?category= narrows to one category (the BOM and budget vocabulary)." + sourcing, 0, map[string]any{"vendors": []rampart.Vendor{ex.vendor}}},
		{"POST /api/vendors", "Add a vendor", "price_band 1 (budget) to 4 (premium); the depot is used only to compute the distance to a venue." + sourcing, http.StatusCreated, ex.vendor},
		{"GET /api/vendors/{id}", "Read a vendor", sourcing[1:], 0, ex.vendor},
		{"PATCH /api/vendors/{id}", "Change a vendor", "Sends only the fields to change; clear_depot removes the depot. Record deliveries by raising on_time_count or late_count." + sourcing, 0, ex.vendor},
		{"DELETE /api/vendors/{id}", "Remove a vendor", "Also removes the choices of it." + sourcing, http.StatusNoContent, nil},
		{"POST /api/proposals/{id}/vendors/rank", "Rank vendors for a category (vendor_ranker agent)",
			"Deterministic, no model. Each candidate carries its score and the signals that produced it (name, raw, normalized, weight, contribution; score = sum of contributions). " +
				"Weights are the ranker's base weights plus this organization's learned adjustment (±0.15), normalised to sum to 1. Roles with full cost access only (the tier of vendor_ranker). Audited.", 0, ex.ranking},
		{"GET /api/proposals/{id}/vendor-choices", "List the vendors chosen for a proposal", sourcing[1:], 0, map[string]any{"choices": []rampart.VendorChoiceRecord{ex.choice}}},
		{"POST /api/proposals/{id}/vendor-choices", "Choose a vendor for a category",
			"A person chooses (an agent only proposes). Replaces an earlier choice for the category (audited with before and after). The caller must be able to edit the proposal and have full cost access; " +
				"the vendor must be of the category (400). The ranker learns from the choice (the chosen vendor's signals count as an approval).", 0, ex.choice},
		{"DELETE /api/vendor-choices/{id}", "Remove a vendor choice", "Editors of the proposal with full cost access. Audited (vendor.unchosen) with the choice as it was.", http.StatusNoContent, nil},
		{"GET /api/crew", "List crew", "Roles with full cost access get each member's day_rate; every other reader gets members without it (a different type). Venue managers see crew through crew matching only.", 0, map[string]any{"crew": []rampart.CostedCrewMember{ex.costed}}},
		{"POST /api/crew", "Add a crew member", "Admins, executive producers and producers. day_rate needs full cost access; it is encrypted before it is stored. Staffing holds no worker-monitoring data.", http.StatusCreated, ex.costed},
		{"GET /api/crew/{id}", "Read a crew member", "With day_rate for roles with full cost access only.", 0, ex.costed},
		{"PATCH /api/crew/{id}", "Change a crew member", "Sends only the fields to change; clear_day_rate removes the rate (full cost access).", 0, ex.costed},
		{"DELETE /api/crew/{id}", "Remove a crew member", "Also removes their assignments.", http.StatusNoContent, nil},
		{"POST /api/proposals/{id}/crew/match", "Match crew to skills, certifications and dates (crew_matcher agent)",
			"Deterministic, no model; each candidate carries its score and signals. Roles with full cost access also get the day_rate signal and the member's day_rate; " +
				"for every other role the day rate is not a feature at all (absent from the weights, the signals and the members), so the score reveals nothing about it. Audited.", 0, ex.match},
		{"GET /api/proposals/{id}/crew-assignments", "List a proposal's crew assignments", "Every reader of the proposal.", 0, map[string]any{"assignments": []rampart.CrewAssignmentRecord{ex.assignment}}},
		{"POST /api/proposals/{id}/crew-assignments", "Assign a crew member",
			"Editors of the proposal (venue managers for their venues). 409 when the member is already assigned to the proposal. With request (the match it was chosen from), the crew_matcher learns from the assignment.", http.StatusCreated, ex.assignment},
		{"DELETE /api/crew-assignments/{id}", "Remove an assignment", "Editors of the proposal.", http.StatusNoContent, nil},
		{"GET /api/admin/learned-patterns", "Read the learned ranking weights", "Admins. Per ranker and feature: base weight, this organization's adjustment (±0.15), effective weight, observations; and the number of feedback rows.", 0, ex.learned},
		{"DELETE /api/admin/learned-patterns", "Reset the learned ranking state", "Admins. Deletes this organization's learned weights and feedback history (no other organization's) and writes one audit event (learning.reset) per table with the rows it held.", 0,
			map[string]any{"reset": map[string]int64{"learned_weights": 4, "learning_feedback": 12}}},
	} {
		r.Document(d.pattern, edge.Doc{Summary: d.summary, Description: d.desc, Status: d.status, Example: d.ex})
	}
}

type staffingExample struct {
	vendor     rampart.Vendor
	ranking    vendors.Ranking
	choice     rampart.VendorChoiceRecord
	costed     rampart.CostedCrewMember
	match      crew.CostedMatch
	assignment rampart.CrewAssignmentRecord
	learned    learning.State
}

func staffingExamples() staffingExample {
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	org, user := uuid.MustParse("7f3e1c2a-1111-4c5d-8e9f-0a1b2c3d4e5f"), uuid.MustParse("3c4d5e6f-3333-4a7b-8c9d-0e1f2a3b4c5d")
	prop := uuid.MustParse("5a6b7c8d-2222-4e3f-9a0b-1c2d3e4f5a6b")
	v := rampart.Vendor{OrganizationID: org, ID: uuid.MustParse("6e5d4c3b-7777-4a2b-9c8d-7e6f5a4b3c2d"), Name: "Stage Sound Ltd", Category: "audio",
		PriceBand: 2, LeadTimeDays: 10, OnTimeCount: 18, LateCount: 2, Depot: &rampart.GeoPoint{Latitude: 51.5072, Longitude: -0.1276},
		CreatedBy: user, CreatedAt: at, UpdatedAt: at}
	weights := learning.BaseWeights(vendors.Ranker)
	venue := rampart.GeoPoint{Latitude: 51.752, Longitude: -1.2577}
	rank := vendors.Ranking{ProposalID: prop, Category: "audio", Ranker: vendors.Ranker, Weights: weights, Candidates: vendors.Score([]rampart.Vendor{v}, &venue, weights)}
	choice := rampart.VendorChoiceRecord{OrganizationID: org, ID: uuid.MustParse("8a9b0c1d-8888-4e2f-9a3b-4c5d6e7f8a9b"),
		VendorChoice: rampart.VendorChoice{ProposalID: prop, Category: "audio", VendorID: v.ID}, VendorName: v.Name, ChosenBy: user, CreatedAt: at, UpdatedAt: at}
	rate := rampart.Money{Minor: 42000, Currency: "EUR"}
	m := rampart.CostedCrewMember{CrewMember: rampart.CrewMember{OrganizationID: org, ID: uuid.MustParse("4d3c2b1a-9999-4f8e-8d7c-6b5a4d3c2b1a"), Name: "Sam Rigger",
		Skills: []string{"follow spot", "rigging"}, Certifications: []rampart.Certification{{Name: "ipaf", ExpiresOn: "2028-05-31"}},
		Availability: []rampart.DateRange{{From: "2027-03-01", To: "2027-03-31"}}, CreatedBy: user, CreatedAt: at, UpdatedAt: at}, DayRate: &rate}
	req := rampart.CrewMatchRequest{Skills: []string{"rigging"}, Certifications: []string{"ipaf"}, Dates: &rampart.DateRange{From: "2027-03-14", To: "2027-03-16"}}
	cw := learning.BaseWeights(crew.Ranker)
	order, sigs, scores := crew.Score([]rampart.CrewMember{m.CrewMember}, []*rampart.Money{&rate}, nil, req, at, cw)
	match := crew.CostedMatch{ProposalID: prop, Ranker: crew.Ranker, Request: req, Weights: cw,
		Candidates: []crew.CostedCandidate{{CrewMember: m, Score: scores[0], Signals: sigs[0]}}}
	_ = order
	asg := rampart.CrewAssignmentRecord{OrganizationID: org, ID: uuid.MustParse("1f2e3d4c-aaaa-4b5a-8c9d-0e1f2a3b4c5d"),
		CrewAssignment: rampart.CrewAssignment{ProposalID: prop, CrewMemberID: m.ID, Dates: *req.Dates}, CrewMemberName: m.Name, AssignedBy: user, CreatedAt: at}
	learned := learning.State{Rankers: map[access.AgentType][]learning.Feature{
		vendors.Ranker: {{Name: "on_time_rate", BaseWeight: 0.35, Adjustment: 0.021, Weight: 0.371, Observations: 6}}}, FeedbackCount: 6}
	return staffingExample{vendor: v, ranking: rank, choice: choice, costed: m, match: match, assignment: asg, learned: learned}
}

type geoRequest struct {
	Latitude  float64 `json:"latitude" minimum:"-90" maximum:"90" example:"51.5072"`
	Longitude float64 `json:"longitude" minimum:"-180" maximum:"180" example:"-0.1276"`
}

func (g *geoRequest) point() *rampart.GeoPoint {
	if g == nil {
		return nil
	}
	return &rampart.GeoPoint{Latitude: g.Latitude, Longitude: g.Longitude}
}

type vendorRequest struct {
	Name         string      `json:"name" minLength:"1" maxLength:"200" example:"Stage Sound Ltd"`
	Category     string      `json:"category" enum:"audio,lighting,video,rigging,staging,power,backline,furniture,decor,catering,transport,crew,venue,other" example:"audio"`
	PriceBand    int         `json:"price_band" minimum:"1" maximum:"4" doc:"1 budget … 4 premium" example:"2"`
	LeadTimeDays int         `json:"lead_time_days" minimum:"0" maximum:"365" example:"10"`
	OnTimeCount  int         `json:"on_time_count,omitempty" required:"false" minimum:"0" maximum:"1000000" example:"18"`
	LateCount    int         `json:"late_count,omitempty" required:"false" minimum:"0" maximum:"1000000" example:"2"`
	Depot        *geoRequest `json:"depot,omitempty" required:"false" doc:"used only to compute the distance to a venue"`
}

type vendorPatch struct {
	Name         *string     `json:"name,omitempty" required:"false" minLength:"1" maxLength:"200"`
	Category     *string     `json:"category,omitempty" required:"false" enum:"audio,lighting,video,rigging,staging,power,backline,furniture,decor,catering,transport,crew,venue,other"`
	PriceBand    *int        `json:"price_band,omitempty" required:"false" minimum:"1" maximum:"4"`
	LeadTimeDays *int        `json:"lead_time_days,omitempty" required:"false" minimum:"0" maximum:"365"`
	OnTimeCount  *int        `json:"on_time_count,omitempty" required:"false" minimum:"0" maximum:"1000000"`
	LateCount    *int        `json:"late_count,omitempty" required:"false" minimum:"0" maximum:"1000000"`
	Depot        *geoRequest `json:"depot,omitempty" required:"false"`
	ClearDepot   bool        `json:"clear_depot,omitempty" required:"false"`
}

type rankRequest struct {
	Category string `json:"category" enum:"audio,lighting,video,rigging,staging,power,backline,furniture,decor,catering,transport,crew,venue,other" example:"audio"`
}

type choiceRequest struct {
	Category string    `json:"category" enum:"audio,lighting,video,rigging,staging,power,backline,furniture,decor,catering,transport,crew,venue,other" example:"audio"`
	VendorID uuid.UUID `json:"vendor_id" example:"6e5d4c3b-7777-4a2b-9c8d-7e6f5a4b3c2d"`
}

type dateRangeRequest struct {
	From string `json:"from" pattern:"^[0-9]{4}-[0-9]{2}-[0-9]{2}$" example:"2027-03-14"`
	To   string `json:"to" pattern:"^[0-9]{4}-[0-9]{2}-[0-9]{2}$" example:"2027-03-16"`
}

func (d dateRangeRequest) value() rampart.DateRange {
	return rampart.DateRange{From: rampart.Day(d.From), To: rampart.Day(d.To)}
}

type certificationRequest struct {
	Name      string `json:"name" minLength:"1" maxLength:"100" example:"ipaf"`
	ExpiresOn string `json:"expires_on" pattern:"^[0-9]{4}-[0-9]{2}-[0-9]{2}$" example:"2028-05-31"`
}

func certs(in []certificationRequest) []rampart.Certification {
	out := make([]rampart.Certification, len(in))
	for i, c := range in {
		out[i] = rampart.Certification{Name: c.Name, ExpiresOn: rampart.Day(c.ExpiresOn)}
	}
	return out
}

func ranges(in []dateRangeRequest) []rampart.DateRange {
	out := make([]rampart.DateRange, len(in))
	for i, d := range in {
		out[i] = d.value()
	}
	return out
}

type crewRequest struct {
	Name           string                 `json:"name" minLength:"1" maxLength:"200" example:"Sam Rigger"`
	Skills         []string               `json:"skills,omitempty" required:"false" maxItems:"50"`
	Certifications []certificationRequest `json:"certifications,omitempty" required:"false" maxItems:"50"`
	Availability   []dateRangeRequest     `json:"availability,omitempty" required:"false" maxItems:"100"`
	DayRate        *moneyRequest          `json:"day_rate,omitempty" required:"false" doc:"full cost access only; encrypted at rest"`
}

type crewPatch struct {
	Name           *string                 `json:"name,omitempty" required:"false" minLength:"1" maxLength:"200"`
	Skills         *[]string               `json:"skills,omitempty" required:"false" maxItems:"50"`
	Certifications *[]certificationRequest `json:"certifications,omitempty" required:"false" maxItems:"50"`
	Availability   *[]dateRangeRequest     `json:"availability,omitempty" required:"false" maxItems:"100"`
	DayRate        *moneyRequest           `json:"day_rate,omitempty" required:"false"`
	ClearDayRate   bool                    `json:"clear_day_rate,omitempty" required:"false"`
}

type matchRequest struct {
	Skills         []string          `json:"skills,omitempty" required:"false" maxItems:"20" example:"[\"rigging\"]"`
	Certifications []string          `json:"certifications,omitempty" required:"false" maxItems:"20" example:"[\"ipaf\"]"`
	Dates          *dateRangeRequest `json:"dates,omitempty" required:"false"`
}

func (m matchRequest) value() rampart.CrewMatchRequest {
	r := rampart.CrewMatchRequest{Skills: m.Skills, Certifications: m.Certifications}
	if m.Dates != nil {
		d := m.Dates.value()
		r.Dates = &d
	}
	return r
}

type assignRequest struct {
	CrewMemberID uuid.UUID        `json:"crew_member_id" example:"4d3c2b1a-9999-4f8e-8d7c-6b5a4d3c2b1a"`
	Dates        dateRangeRequest `json:"dates"`
	Request      *matchRequest    `json:"request,omitempty" required:"false" doc:"the match the member was chosen from: the crew_matcher learns from it"`
}

func (s staffingAPI) listVendors(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	v, err := vendors.List(r.Context(), s.store, c, rampart.BOMCategory(r.URL.Query().Get("category")))
	return respondOr(w, c, http.StatusOK, map[string]any{"vendors": v}, err)
}

func (s staffingAPI) createVendor(w http.ResponseWriter, r *http.Request, c rampart.Claims, req vendorRequest) error {
	v, err := vendors.Create(r.Context(), s.store, c, rampart.Vendor{Name: req.Name, Category: rampart.BOMCategory(req.Category),
		PriceBand: req.PriceBand, LeadTimeDays: req.LeadTimeDays, OnTimeCount: req.OnTimeCount, LateCount: req.LateCount, Depot: req.Depot.point()})
	return respondOr(w, c, http.StatusCreated, v, err)
}

func (s staffingAPI) getVendor(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	v, err := vendors.Get(r.Context(), s.store, c, id)
	return respondOr(w, c, http.StatusOK, v, err)
}

func (s staffingAPI) updateVendor(w http.ResponseWriter, r *http.Request, c rampart.Claims, req vendorPatch) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	if req.ClearDepot && req.Depot != nil {
		return edge.FieldError("clear_depot", "cannot be combined with depot")
	}
	v, err := vendors.Update(r.Context(), s.store, c, id, func(v *rampart.Vendor) {
		if req.Name != nil {
			v.Name = *req.Name
		}
		if req.Category != nil {
			v.Category = rampart.BOMCategory(*req.Category)
		}
		if req.PriceBand != nil {
			v.PriceBand = *req.PriceBand
		}
		if req.LeadTimeDays != nil {
			v.LeadTimeDays = *req.LeadTimeDays
		}
		if req.OnTimeCount != nil {
			v.OnTimeCount = *req.OnTimeCount
		}
		if req.LateCount != nil {
			v.LateCount = *req.LateCount
		}
		if req.Depot != nil {
			v.Depot = req.Depot.point()
		}
		if req.ClearDepot {
			v.Depot = nil
		}
	})
	return respondOr(w, c, http.StatusOK, v, err)
}

func (s staffingAPI) deleteVendor(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := vendors.Delete(r.Context(), s.store, c, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s staffingAPI) rankVendors(w http.ResponseWriter, r *http.Request, call edge.AgentCall, req rankRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	out, err := vendors.Rank(r.Context(), s.store, call.Claims, id, rampart.BOMCategory(req.Category))
	if err != nil {
		return err
	}
	// The ranker chooses nothing: its top candidate becomes a pending
	// agent proposal (GET /api/agent-proposals/{id}) for a person.
	ap, err := agent.ProposeVendorChoice(r.Context(), s.store, call.Claims, out, s.now())
	if err != nil {
		return err
	}
	return edge.Respond(w, call.Claims, http.StatusOK, struct {
		vendors.Ranking
		AgentProposalID *uuid.UUID `json:"agent_proposal_id,omitempty"`
	}{out, proposalID(ap)})
}

// proposalID is the id of a recorded agent proposal (nil: none recorded).
func proposalID(ap *rampart.PricedAgentProposal) *uuid.UUID {
	if ap == nil {
		return nil
	}
	return &ap.ID
}

func (s staffingAPI) listChoices(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	out, err := vendors.Choices(r.Context(), s.store, c, id)
	return respondOr(w, c, http.StatusOK, map[string]any{"choices": out}, err)
}

func (s staffingAPI) chooseVendor(w http.ResponseWriter, r *http.Request, c rampart.Claims, req choiceRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	out, err := vendors.Choose(r.Context(), s.store, c, rampart.VendorChoice{ProposalID: id, Category: rampart.BOMCategory(req.Category), VendorID: req.VendorID})
	return respondOr(w, c, http.StatusOK, out, err)
}

func (s staffingAPI) unchooseVendor(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := vendors.Unchoose(r.Context(), s.store, c, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s staffingAPI) listCrew(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	out, err := crew.List(r.Context(), s.store, c)
	return respondOr(w, c, http.StatusOK, map[string]any{"crew": out}, err)
}

func (s staffingAPI) createCrew(w http.ResponseWriter, r *http.Request, c rampart.Claims, req crewRequest) error {
	var rate *rampart.Money
	if req.DayRate != nil {
		m, err := req.DayRate.money("day_rate")
		if err != nil {
			return err
		}
		rate = &m
	}
	out, err := crew.Create(r.Context(), s.store, c, rampart.CrewMember{Name: req.Name, Skills: req.Skills,
		Certifications: certs(req.Certifications), Availability: ranges(req.Availability)}, rate)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusCreated, out.Value())
}

func (s staffingAPI) getCrew(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	out, err := crew.Get(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, out.Value())
}

func (s staffingAPI) updateCrew(w http.ResponseWriter, r *http.Request, c rampart.Claims, req crewPatch) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	if req.ClearDayRate && req.DayRate != nil {
		return edge.FieldError("clear_day_rate", "cannot be combined with day_rate")
	}
	p := crew.Patch{Name: req.Name, Skills: req.Skills, ClearDayRate: req.ClearDayRate}
	if req.Certifications != nil {
		v := certs(*req.Certifications)
		p.Certifications = &v
	}
	if req.Availability != nil {
		v := ranges(*req.Availability)
		p.Availability = &v
	}
	if req.DayRate != nil {
		m, err := req.DayRate.money("day_rate")
		if err != nil {
			return err
		}
		p.DayRate = &m
	}
	out, err := crew.Update(r.Context(), s.store, c, id, p)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, out.Value())
}

func (s staffingAPI) deleteCrew(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := crew.Delete(r.Context(), s.store, c, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s staffingAPI) matchCrew(w http.ResponseWriter, r *http.Request, call edge.AgentCall, req matchRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	out, err := crew.MatchCrew(r.Context(), s.store, call.Claims, id, req.value(), time.Now().UTC())
	if err != nil {
		return err
	}
	// With dates, the top candidate becomes a pending agent proposal of
	// an assignment (the matcher assigns nobody itself).
	ap, err := agent.ProposeCrewAssignment(r.Context(), s.store, call.Claims, out, s.now())
	if err != nil {
		return err
	}
	if out.Costed != nil {
		return edge.Respond(w, call.Claims, http.StatusOK, struct {
			crew.CostedMatch
			AgentProposalID *uuid.UUID `json:"agent_proposal_id,omitempty"`
		}{*out.Costed, proposalID(ap)})
	}
	return edge.Respond(w, call.Claims, http.StatusOK, struct {
		crew.Match
		AgentProposalID *uuid.UUID `json:"agent_proposal_id,omitempty"`
	}{*out.Public, proposalID(ap)})
}

func (s staffingAPI) listAssignments(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	out, err := crew.Assignments(r.Context(), s.store, c, id)
	return respondOr(w, c, http.StatusOK, map[string]any{"assignments": out}, err)
}

func (s staffingAPI) assignCrew(w http.ResponseWriter, r *http.Request, c rampart.Claims, req assignRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	a := rampart.CrewAssignment{ProposalID: id, CrewMemberID: req.CrewMemberID, Dates: req.Dates.value()}
	if req.Request != nil {
		m := req.Request.value()
		a.Request = &m
	}
	out, err := crew.Assign(r.Context(), s.store, c, a)
	return respondOr(w, c, http.StatusCreated, out, err)
}

func (s staffingAPI) unassignCrew(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := crew.Unassign(r.Context(), s.store, c, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s staffingAPI) getLearned(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	out, err := learning.Read(r.Context(), s.store, c)
	return respondOr(w, c, http.StatusOK, out, err)
}

func (s staffingAPI) resetLearned(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	out, err := learning.Reset(r.Context(), s.store, c)
	return respondOr(w, c, http.StatusOK, map[string]any{"reset": out}, err)
}
