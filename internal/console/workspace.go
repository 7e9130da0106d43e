package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/agentproposal"
	"github.com/rampart-dev/rampart/internal/aijob"
	"github.com/rampart-dev/rampart/internal/attachment"
	"github.com/rampart-dev/rampart/internal/bom"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/finance"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// The workspace pages: the proposals list and a proposal with its BOM,
// attachments, statement of work and budget. Each calls the use case the
// JSON API calls for the same thing.

func (s workspacePages) register() {
	s.page("GET /proposals", s.proposals)
	s.page("POST /proposals", s.createProposal)
	s.page("GET /proposals/{id}", s.proposalPage)
	s.page("POST /proposals/{id}", s.updateProposal)
	s.page("POST /proposals/{id}/approve", s.approve)
	s.page("POST /proposals/{id}/bom/lines", s.addBOMLine)
	s.page("POST /bom/lines/{id}", s.updateBOMLine)
	s.page("POST /bom/lines/{id}/delete", s.deleteBOMLine)
	s.edge.PageUpload("POST /proposals/{id}/attachments", s.fail, s.upload)
	s.page("POST /attachments/{id}/delete", s.deleteAttachment)
	s.page("POST /proposals/{id}/sow", s.createSOW)
	s.page("POST /sows/{id}/sign", s.signSOW)
	s.page("POST /sows/{id}/unsign", s.unsignSOW)
	s.page("POST /sows/{id}/change-orders", s.requestChange)
	s.page("POST /change-orders/{id}/approve", s.approveChange)
	s.page("POST /change-orders/{id}/reject", s.rejectChange)
	s.page("POST /proposals/{id}/budget/lines", s.addBudgetLine)
	s.page("POST /budgets/{id}/actualize", s.actualize)
	s.page("POST /budgets/{id}/un-actualize", s.unactualize)
}

// listData is the proposals page.
type listData struct {
	Proposals []rampart.ProposalSummary
	Next      string // the cursor of the next page ("" on the last)
	Status    string // the review filter: "", "pending" or "approved"
	Venue     string
	CanCreate bool
	Form      proposalForm
}

type proposalForm struct {
	Title, Client, Venue, Brief string
	Errors                      map[string]string
}

// proposals lists the caller's proposals, newest first, a page at a time
// (the API's cursor), narrowed in the database to a status and a venue
// code when the filters are set.
func (s workspacePages) proposals(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.renderProposals(w, r, c, http.StatusOK, proposalForm{})
}

func (s workspacePages) renderProposals(w http.ResponseWriter, r *http.Request, c rampart.Claims, status int, f proposalForm) error {
	q := r.URL.Query()
	var after *store.ProposalCursor
	if v := q.Get("cursor"); v != "" {
		cur, err := parseCursor(v)
		if err != nil {
			return err
		}
		after = &cur
	}
	d := listData{Status: q.Get("status"), Venue: strings.ToUpper(strings.TrimSpace(q.Get("venue"))), Form: f,
		CanCreate: access.Can(c, access.ActionEdit, access.Resource{Kind: access.KindProposal, VenueCode: firstVenue(c)})}
	if len(d.Venue) > 32 {
		return rampart.FieldError("console.proposals", "venue", "a venue code has at most 32 characters")
	}
	if d.Status != "" && d.Status != "pending" && d.Status != "approved" && d.Status != "draft" {
		return rampart.FieldError("console.proposals", "status", "must be pending, approved or draft")
	}
	filter := store.ProposalFilter{VenueCode: d.Venue, Status: map[string]string{"pending": rampart.ProposalAIPendingReview,
		"approved": rampart.ProposalApproved, "draft": rampart.ProposalDraft}[d.Status]}
	page, err := proposal.ListWhere(r.Context(), s.store, c, 0, after, filter)
	if err != nil {
		return err
	}
	d.Proposals = page.Proposals
	if page.Next != nil {
		d.Next = strconv.FormatInt(page.Next.UpdatedAt.UnixMicro(), 10) + "_" + page.Next.ID.String()
	}
	return s.render(w, r, c, status, "proposals", view{Title: "Proposals", Section: "proposals", Data: d})
}

// firstVenue is a venue the caller is scoped to (venue managers create
// proposals in their own venues only), "" for everyone else.
func firstVenue(c rampart.Claims) string {
	if len(c.VenueCodes) > 0 {
		return c.VenueCodes[0]
	}
	return ""
}

func parseCursor(v string) (store.ProposalCursor, error) {
	bad := rampart.FieldError("console.proposals", "cursor", "is not the cursor of a previous page")
	at, id, ok := strings.Cut(v, "_")
	micros, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || len(at) > 19 {
		return store.ProposalCursor{}, bad
	}
	u, err := parseUUID(id)
	if err != nil {
		return store.ProposalCursor{}, bad
	}
	return store.ProposalCursor{UpdatedAt: time.UnixMicro(micros), ID: u}, nil
}

// createProposal creates a draft; invalid fields re-render the form with
// the message beside the field.
func (s workspacePages) createProposal(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	v, err := form(w, r)
	if err != nil {
		return err
	}
	f := proposalForm{Title: v.Get("title"), Client: v.Get("client_name"), Venue: strings.TrimSpace(v.Get("venue_code")), Brief: v.Get("brief")}
	p, err := proposal.Create(r.Context(), s.store, c, proposal.Input{Title: f.Title, ClientName: f.Client, VenueCode: f.Venue, Brief: f.Brief})
	if rampart.ErrorKind(err) == rampart.KindInvalid {
		f.Errors = map[string]string{fieldOf(err, "title"): rampart.ErrorMessage(err)}
		return s.renderProposals(w, r, c, http.StatusBadRequest, f)
	}
	if err != nil {
		return err
	}
	return done(w, r, "/proposals/"+p.ID.String(), "created")
}

// fieldOf is the form field an invalid-input error names (its message
// starts with the field), else def.
func fieldOf(err error, def string) string {
	msg := rampart.ErrorMessage(err)
	for _, f := range []string{"title", "client_name", "venue_code", "brief", "reason", "email", "role", "name", "expires_in_days",
		"item", "category", "quantity", "unit", "unit_cost", "sourcing", "lead_time_days", "amount", "currency", "description", "terms", "planned", "actual"} {
		if strings.HasPrefix(msg, f) || strings.Contains(msg, " "+f+" ") || strings.Contains(msg, f+".") || strings.Contains(msg, f+":") {
			return f
		}
	}
	return def
}

// detailData is a proposal's page.
type detailData struct {
	P            rampart.Proposal
	PendingAI    bool // AI-generated and not yet approved: the badge
	CanEdit      bool // may change the proposal and its BOM
	CanBOM       bool // may edit the BOM (technical directors: the BOM only)
	CanApprove   bool
	CanGenerate  bool
	CostAccess   bool
	CanSign      bool
	CanUnsign    bool
	CanActualize bool
	// The BOM: Costed for roles with full cost access, Public otherwise
	// (the other is nil: cost, sourcing and lead time never reach the
	// template of a role without access).
	Costed      *rampart.CostedBOM
	Public      *rampart.BOM
	Attachments []rampart.Attachment
	SOW         *rampart.SOW
	SOWAmount   *rampart.Money
	Changes     []rampart.PricedChangeOrder // cost roles only
	Budget      []budgetRow
	Jobs        []rampart.AIJob
	MaxUpload   int64
	// AgentPending are the proposal's agent proposals waiting for a
	// person (the approvals queue's, for this proposal).
	AgentPending []approvalRow
	// The drafting agents the caller's role tier and venues allow
	// (the agent routes check again).
	CanDraftBOM, CanAnalyzeBudget bool
}

type budgetRow struct {
	Line    rampart.BudgetLine
	Planned *rampart.Money
	Actual  *rampart.Money
}

// proposalPage shows one proposal: the brief, the AI body (sanitised when
// stored, rendered as that trusted HTML) with its review badge, the BOM,
// attachments, SOW, budget and AI jobs, and the actions the caller's role
// may take.
func (s workspacePages) proposalPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := proposal.Get(ctx, s.store, c, id)
	if err != nil {
		return err
	}
	res := proposal.Resource(p.ProposalSummary)
	bomRes := res
	bomRes.Kind = access.KindBOM
	d := detailData{P: p, PendingAI: p.AIGenerated && p.ReviewStatus == rampart.ReviewPendingReview,
		CanEdit: access.Can(c, access.ActionEdit, res), CanBOM: access.Can(c, access.ActionEdit, bomRes),
		CanApprove: access.Can(c, access.ActionApproveAgentProposal, res), CanGenerate: access.Can(c, access.ActionRequestAI, res),
		CostAccess: bom.CostAccess(c), MaxUpload: s.edge.MaxUpload()}
	sowRes, budRes := res, res
	sowRes.Kind, budRes.Kind = access.KindSOW, access.KindBudget
	d.CanSign = access.Can(c, access.ActionSignSOW, sowRes)
	d.CanUnsign = access.Can(c, access.ActionUnsignSOW, sowRes)
	d.CanActualize = access.Can(c, access.ActionActualizeBudget, budRes)
	if d.CostAccess {
		b, err := bom.GetCosted(ctx, s.store, c, id)
		if err != nil {
			return err
		}
		d.Costed = &b
		sow, err := finance.PricedSOW(ctx, s.store, c, id)
		if err == nil {
			d.SOW, d.SOWAmount = &sow.SOW, &sow.Amount
			if d.Changes, err = finance.ChangeOrders(ctx, s.store, c, sow.ID); err != nil {
				return err
			}
		} else if rampart.ErrorKind(err) != rampart.KindNotFound {
			return err
		}
		lines, err := finance.PricedBudget(ctx, s.store, c, id)
		if err != nil {
			return err
		}
		for _, l := range lines {
			d.Budget = append(d.Budget, budgetRow{Line: l.BudgetLine, Planned: &l.Planned, Actual: l.Actual})
		}
	} else {
		b, err := bom.Get(ctx, s.store, c, id)
		if err != nil {
			return err
		}
		d.Public = &b
		sow, err := finance.SOW(ctx, s.store, c, id)
		if err == nil {
			d.SOW = &sow
		} else if rampart.ErrorKind(err) != rampart.KindNotFound {
			return err
		}
		lines, err := finance.Budget(ctx, s.store, c, id)
		if err != nil {
			return err
		}
		for _, l := range lines {
			d.Budget = append(d.Budget, budgetRow{Line: l})
		}
	}
	if d.Attachments, err = attachment.List(ctx, s.store, c, id); err != nil {
		return err
	}
	if d.Jobs, err = aijob.ForProposal(ctx, s.store, c, id); err != nil {
		return err
	}
	pending := rampart.AgentProposalPending
	aps, err := agentproposal.List(ctx, s.store, c, store.AgentProposalFilter{Status: &pending, ProposalID: &id, Limit: store.MaxListAgentProposals})
	if err != nil {
		return err
	}
	now := s.now()
	for _, ap := range aps {
		d.AgentPending = append(d.AgentPending, approvalRow{AgentProposal: ap, Summary: changeSummary(ap), Left: timeLeft(ap, now)})
	}
	venueCode := ""
	if p.VenueCode != nil {
		venueCode = *p.VenueCode
	}
	d.CanDraftBOM = access.CheckAgent(c, access.AgentBOMDrafter, venueCode) == nil
	d.CanAnalyzeBudget = access.CheckAgent(c, access.AgentBudgetAnalyst, venueCode) == nil
	return s.render(w, r, c, http.StatusOK, "proposal", view{Title: p.Title, Section: "proposals", Data: d})
}

// updateProposal changes a proposal's title, client, venue and brief
// (proposal.Update, as PATCH /api/proposals/{id}).
func (s workspacePages) updateProposal(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := form(w, r)
	if err != nil {
		return err
	}
	get := func(k string) *string {
		if _, ok := v[k]; !ok {
			return nil
		}
		x := v.Get(k)
		return &x
	}
	// An empty venue field leaves the venue as it is (the API has no
	// "no venue" either: a proposal moves from venue to venue).
	var venueCode *string
	if vc := strings.ToUpper(strings.TrimSpace(v.Get("venue_code"))); vc != "" {
		venueCode = &vc
	}
	if _, err := proposal.Update(r.Context(), s.store, c, id, proposal.Patch{Title: get("title"), ClientName: get("client_name"),
		VenueCode: venueCode, Brief: get("brief")}); err != nil {
		return err
	}
	return done(w, r, "/proposals/"+id.String(), "saved")
}

// approve is the human review of AI output: the version the page showed
// (its updated_at, in the form) is approved, or nothing is.
func (s workspacePages) approve(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := form(w, r)
	if err != nil {
		return err
	}
	var seen *time.Time
	if sv := v.Get("version"); sv != "" {
		n, err := strconv.ParseInt(sv, 10, 64)
		if err != nil {
			return rampart.FieldError("console.approve", "version", "is not a version of this proposal")
		}
		t := time.UnixMicro(n)
		seen = &t
	}
	if _, err := proposal.Approve(r.Context(), s.store, c, id, seen); err != nil {
		return err
	}
	return done(w, r, "/proposals/"+id.String(), "approved")
}

func (s workspacePages) addBOMLine(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return action(w, r, func(id uuid.UUID, v url.Values) (string, string, error) {
		q, err := rampart.ParseQuantity("quantity", strings.TrimSpace(v.Get("quantity")))
		if err != nil {
			return "", "", err
		}
		in := bom.LineInput{Item: v.Get("item"), Category: rampart.BOMCategory(v.Get("category")), Quantity: q, Unit: v.Get("unit")}
		if in.Cost, err = costFields(v.Get("unit_cost"), v.Get("currency"), v.Get("sourcing"), v.Get("lead_time_days")); err != nil {
			return "", "", err
		}
		if _, err := bom.AddLine(r.Context(), s.store, c, id, in); err != nil {
			return "", "", err
		}
		return "/proposals/" + id.String() + "#bom", "created", nil
	})
}

// costFields reads the cost columns of a BOM form; all empty is no cost
// (the fields are not even in the form of a role without cost access).
func costFields(amount, currency, sourcing, lead string) (rampart.LineCost, error) {
	var lc rampart.LineCost
	if a := strings.TrimSpace(amount); a != "" {
		m, err := rampart.ParseMoney("unit_cost", a, strings.ToUpper(strings.TrimSpace(currency)))
		if err != nil {
			return lc, err
		}
		lc.UnitCost = &m
	}
	lc.Sourcing = strings.TrimSpace(sourcing)
	if l := strings.TrimSpace(lead); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return lc, rampart.FieldError("console.bom", "lead_time_days", "must be a whole number of days")
		}
		lc.LeadTimeDays = &n
	}
	return lc, nil
}

// updateBOMLine changes a line's quantity (and, for roles with cost
// access, its unit cost).
func (s workspacePages) updateBOMLine(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return action(w, r, func(id uuid.UUID, v url.Values) (string, string, error) {
		var p bom.Patch
		if qs := strings.TrimSpace(v.Get("quantity")); qs != "" {
			q, err := rampart.ParseQuantity("quantity", qs)
			if err != nil {
				return "", "", err
			}
			p.Quantity = &q
		}
		if a := strings.TrimSpace(v.Get("unit_cost")); a != "" {
			m, err := rampart.ParseMoney("unit_cost", a, strings.ToUpper(strings.TrimSpace(v.Get("currency"))))
			if err != nil {
				return "", "", err
			}
			p.UnitCost = &m
		}
		l, err := bom.UpdateLine(r.Context(), s.store, c, id, p)
		if err != nil {
			return "", "", err
		}
		return "/proposals/" + lineProposal(l).String() + "#bom", "saved", nil
	})
}

func lineProposal(l bom.Line) uuid.UUID {
	if l.Costed != nil {
		return l.Costed.ProposalID
	}
	return l.Public.ProposalID
}

func (s workspacePages) deleteBOMLine(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := form(w, r)
	if err != nil {
		return err
	}
	back, err := parseUUID(v.Get("proposal"))
	if err != nil {
		return rampart.FieldError("console.bom", "proposal", "is missing")
	}
	if err := bom.DeleteLine(r.Context(), s.store, c, id); err != nil {
		return err
	}
	return done(w, r, "/proposals/"+back.String()+"#bom", "deleted")
}

// upload stores one attachment (the form's one part, "file").
func (s workspacePages) upload(w http.ResponseWriter, r *http.Request, c rampart.Claims, f edge.File) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := attachment.Upload(r.Context(), s.store, c, id, attachment.Input{Name: f.Name, Content: f.Content}); err != nil {
		return err
	}
	return done(w, r, "/proposals/"+id.String()+"#attachments", "uploaded")
}

func (s workspacePages) deleteAttachment(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := form(w, r)
	if err != nil {
		return err
	}
	back, err := parseUUID(v.Get("proposal"))
	if err != nil {
		return rampart.FieldError("console.attachment", "proposal", "is missing")
	}
	if err := attachment.Delete(r.Context(), s.store, c, id); err != nil {
		return err
	}
	return done(w, r, "/proposals/"+back.String()+"#attachments", "deleted")
}

func (s workspacePages) createSOW(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return action(w, r, func(id uuid.UUID, v url.Values) (string, string, error) {
		m, err := rampart.ParseMoney("amount", strings.TrimSpace(v.Get("amount")), strings.ToUpper(strings.TrimSpace(v.Get("currency"))))
		if err != nil {
			return "", "", err
		}
		if _, err := finance.CreateSOW(r.Context(), s.store, c, id, finance.SOWInput{Title: v.Get("title"), Terms: v.Get("terms"), Amount: m}); err != nil {
			return "", "", err
		}
		return "/proposals/" + id.String() + "#sow", "created", nil
	})
}

func (s workspacePages) signSOW(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return action(w, r, func(id uuid.UUID, _ url.Values) (string, string, error) {
		out, err := finance.Sign(r.Context(), s.store, c, id)
		if err != nil {
			return "", "", err
		}
		return "/proposals/" + out.ProposalID.String() + "#sow", "signed", nil
	})
}

// unsignSOW needs the reason (the use case refuses an empty one).
func (s workspacePages) unsignSOW(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return action(w, r, func(id uuid.UUID, v url.Values) (string, string, error) {
		out, err := finance.Unsign(r.Context(), s.store, c, id, v.Get("reason"))
		if err != nil {
			return "", "", err
		}
		return "/proposals/" + out.ProposalID.String() + "#sow", "unsigned", nil
	})
}

func (s workspacePages) addBudgetLine(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return action(w, r, func(id uuid.UUID, v url.Values) (string, string, error) {
		m, err := rampart.ParseMoney("planned", strings.TrimSpace(v.Get("planned")), strings.ToUpper(strings.TrimSpace(v.Get("currency"))))
		if err != nil {
			return "", "", err
		}
		in := finance.BudgetInput{Category: rampart.BOMCategory(v.Get("category")), Description: v.Get("description"), Planned: m}
		if _, err := finance.AddBudgetLine(r.Context(), s.store, c, id, in); err != nil {
			return "", "", err
		}
		return "/proposals/" + id.String() + "#budget", "created", nil
	})
}

func (s workspacePages) actualize(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return action(w, r, func(id uuid.UUID, v url.Values) (string, string, error) {
		m, err := rampart.ParseMoney("actual", strings.TrimSpace(v.Get("actual")), strings.ToUpper(strings.TrimSpace(v.Get("currency"))))
		if err != nil {
			return "", "", err
		}
		out, err := finance.Actualize(r.Context(), s.store, c, id, m)
		if err != nil {
			return "", "", err
		}
		return "/proposals/" + out.ProposalID.String() + "#budget", "actualized", nil
	})
}

func (s workspacePages) unactualize(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return action(w, r, func(id uuid.UUID, v url.Values) (string, string, error) {
		out, err := finance.Unactualize(r.Context(), s.store, c, id, v.Get("reason"))
		if err != nil {
			return "", "", err
		}
		return "/proposals/" + out.ProposalID.String() + "#budget", "unactualize", nil
	})
}

// requestChange asks for a change to a signed statement of work (an
// amount delta that may be negative, and a description).
func (s workspacePages) requestChange(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := form(w, r)
	if err != nil {
		return err
	}
	amount := strings.TrimSpace(v.Get("amount_delta"))
	neg := strings.HasPrefix(amount, "-")
	m, err := rampart.ParseMoney("amount_delta", strings.TrimPrefix(amount, "-"), strings.ToUpper(strings.TrimSpace(v.Get("currency"))))
	if err != nil {
		return err
	}
	if neg {
		m.Minor = -m.Minor
	}
	back, err := parseUUID(v.Get("proposal"))
	if err != nil {
		return rampart.FieldError("console.changeOrder", "proposal", "is missing")
	}
	if _, err := finance.RequestChange(r.Context(), s.store, c, id, v.Get("description"), m); err != nil {
		return err
	}
	return done(w, r, "/proposals/"+back.String()+"#sow", "created")
}

func (s workspacePages) approveChange(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.decideChange(w, r, c, true)
}

func (s workspacePages) rejectChange(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.decideChange(w, r, c, false)
}

// decideChange approves or rejects a change order with the reason.
func (s workspacePages) decideChange(w http.ResponseWriter, r *http.Request, c rampart.Claims, approve bool) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := form(w, r)
	if err != nil {
		return err
	}
	back, err := parseUUID(v.Get("proposal"))
	if err != nil {
		return rampart.FieldError("console.changeOrder", "proposal", "is missing")
	}
	if _, err := finance.Decide(r.Context(), s.store, c, id, approve, v.Get("reason")); err != nil {
		return err
	}
	return done(w, r, "/proposals/"+back.String()+"#sow", "saved")
}
