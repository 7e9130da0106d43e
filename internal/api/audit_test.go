package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// auditRow is one event as the superuser sees it.
type auditRow struct {
	action        string
	before, after bool
}

func (e *env) eventsSince(id int) []auditRow {
	e.t.Helper()
	rows := e.admin("SELECT action, before IS NOT NULL, after IS NOT NULL FROM audit_events WHERE id > $1 AND action <> 'service.invoked' ORDER BY id", id)
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		if err := rows.Scan(&r.action, &r.before, &r.after); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestEveryWriteRouteWritesOneEvent walks the API's registered write routes:
// each must have a case here (a new write route fails this test until it
// has one), and each case must produce exactly one audit event (besides the
// service path's own service.invoked record), with the before/after
// snapshots its kind of change calls for.
func TestEveryWriteRouteWritesOneEvent(t *testing.T) {
	// An insert-only queue: a generation request is recorded and queued,
	// and no worker adds events of its own while a case is measured.
	e := setupAI(t, aiOptions{Workers: 0})
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	integrationID := e.connect(admin) // a connected integration for its refresh and disconnect cases
	e.link(acme.org, "cus_Acme")      // the operator's link, for the billing webhook's case
	uid := func(r rampart.Role) string { return acme.users[r].ID.String() }
	var venueID, inviteID, tokenID, proposalID, jobID, bomLineID, attachmentID, sowID, changeID, budgetID, dataRequestID string
	var vendorID, crewID, assignmentID, choiceID string
	var cProposal, cLine, cAttachment, cSOW, cChange, cBudget, cInvite, cToken, cVendor, cCrew, cVenue string
	everywhere := e.signIn(acme.email(rampart.RoleTechnicalDirector)) // signed in before any case is measured
	cases := []struct {
		pattern    string
		call       func() resp
		action     string
		before     bool
		after      bool
		wantStatus int
	}{
		{"POST /api/venues", func() resp {
			r := e.do(admin, "POST", "/api/venues", map[string]any{"code": "NEW-1", "name": "New", "city": "Oslo"})
			venueID, _ = r.json(t)["id"].(string)
			return r
		}, "venue.created", false, true, 201},
		{"PATCH /api/venues/{id}", func() resp {
			return e.do(admin, "PATCH", "/api/venues/"+venueID, map[string]any{"name": "Renamed", "city": "Oslo"})
		}, "venue.updated", true, true, 200},
		{"DELETE /api/venues/{id}", func() resp { return e.do(admin, "DELETE", "/api/venues/"+venueID, nil) }, "venue.deleted", true, false, 204},
		{"POST /api/invites", func() resp {
			r := e.do(admin, "POST", "/api/invites", inviteBody("walk@outside.example", rampart.RoleViewer))
			inviteID, _ = r.json(t)["invite"].(map[string]any)["id"].(string)
			return r
		}, "auth.invite.created", false, true, 201},
		{"POST /api/invites/{id}/resend", func() resp { return e.do(admin, "POST", "/api/invites/"+inviteID+"/resend", nil) }, "auth.invite.resent", false, true, 200},
		{"DELETE /api/invites/{id}", func() resp { return e.do(admin, "DELETE", "/api/invites/"+inviteID, nil) }, "auth.invite.revoked", true, false, 204},
		{"POST /api/tokens", func() resp {
			r := e.do(admin, "POST", "/api/tokens", map[string]any{"name": "walk", "role": "viewer", "venue_codes": []string{}, "expires_in_days": 1})
			tokenID, _ = r.json(t)["api_token"].(map[string]any)["id"].(string)
			return r
		}, "auth.token.issued", false, true, 201},
		{"DELETE /api/tokens/{id}", func() resp { return e.do(admin, "DELETE", "/api/tokens/"+tokenID, nil) }, "auth.token.revoked", true, false, 204},
		{"PATCH /api/members/{user_id}", func() resp {
			return e.do(admin, "PATCH", "/api/members/"+uid(rampart.RoleStakeholder), map[string]any{"role": "viewer", "venue_codes": []string{}})
		}, "membership.updated", true, true, 200},
		{"DELETE /api/members/{user_id}/sessions", func() resp {
			return e.do(admin, "DELETE", "/api/members/"+uid(rampart.RoleStakeholder)+"/sessions", nil)
		}, "auth.session.revoked", false, false, 200},
		{"DELETE /api/members/{user_id}", func() resp {
			return e.do(admin, "DELETE", "/api/members/"+uid(rampart.RoleStakeholder), nil)
		}, "membership.removed", true, false, 204},
		{"POST /api/proposals", func() resp {
			r := e.do(admin, "POST", "/api/proposals", map[string]any{"title": "Walk", "client_name": "Initech", "venue_code": "HALL-A", "brief": "Gala for 200"})
			proposalID, _ = r.json(t)["id"].(string)
			return r
		}, "proposal.created", false, true, 201},
		{"PATCH /api/proposals/{id}", func() resp {
			return e.do(admin, "PATCH", "/api/proposals/"+proposalID, map[string]any{"title": "Walk, renamed"})
		}, "proposal.updated", true, true, 200},
		{"POST /api/proposals/{id}/approve", func() resp {
			// Only AI output pending review can be approved; put the proposal
			// in that state directly (no worker runs here, and this writes no event).
			e.exec(`UPDATE proposals SET body_html = '<p>Draft</p>', ai_generated = true, review_status = 'pending_review',
				status = 'ai_pending_review' WHERE id = $1`, proposalID)
			return e.do(admin, "POST", "/api/proposals/"+proposalID+"/approve", nil)
		}, "proposal.approved", true, true, 200},
		{"POST /api/proposals/{id}/attachments", func() resp {
			r := e.upload(admin, proposalID, "rider.txt", "text/plain", []byte("Load-in 07:00\n"))
			attachmentID, _ = r.json(t)["id"].(string)
			return r
		}, "attachment.uploaded", false, true, 201},
		{"DELETE /api/attachments/{id}", func() resp { return e.do(admin, "DELETE", "/api/attachments/"+attachmentID, nil) }, "attachment.deleted", true, false, 204},
		{"POST /api/proposals/{id}/generate", func() resp {
			r := e.do(admin, "POST", "/api/proposals/"+proposalID+"/generate", nil)
			jobID, _ = r.json(t)["id"].(string)
			return r
		}, "ai.generation.requested", false, true, 202},
		{"POST /api/proposals/{id}/bom/lines", func() resp {
			r := e.do(admin, "POST", "/api/proposals/"+proposalID+"/bom/lines", map[string]any{"item": "Truss", "category": "rigging", "quantity": 4, "unit": "piece",
				"cost": map[string]any{"unit_cost": map[string]any{"amount": "12.00", "currency": "EUR"}}})
			bomLineID, _ = r.json(t)["id"].(string)
			return r
		}, "bom.line.created", false, true, 201},
		{"PATCH /api/bom/lines/{id}", func() resp {
			return e.do(admin, "PATCH", "/api/bom/lines/"+bomLineID, map[string]any{"quantity": 6})
		}, "bom.line.updated", true, true, 200},
		{"DELETE /api/bom/lines/{id}", func() resp { return e.do(admin, "DELETE", "/api/bom/lines/"+bomLineID, nil) }, "bom.line.deleted", true, false, 204},
		{"POST /api/proposals/{id}/sow", func() resp {
			r := e.do(admin, "POST", "/api/proposals/"+proposalID+"/sow", map[string]any{"title": "SOW", "amount": map[string]any{"amount": "1000.00", "currency": "EUR"}})
			sowID, _ = r.json(t)["id"].(string)
			return r
		}, "sow.created", false, true, 201},
		{"PATCH /api/sows/{id}", func() resp {
			return e.do(admin, "PATCH", "/api/sows/"+sowID, map[string]any{"terms": "Net 30"})
		}, "sow.updated", true, true, 200},
		{"POST /api/sows/{id}/sign", func() resp { return e.do(admin, "POST", "/api/sows/"+sowID+"/sign", nil) }, "sow.signed", true, true, 200},
		{"POST /api/sows/{id}/change-orders", func() resp {
			r := e.do(admin, "POST", "/api/sows/"+sowID+"/change-orders", map[string]any{"description": "More", "amount_delta": map[string]any{"amount": "-10.00", "currency": "EUR"}})
			changeID, _ = r.json(t)["id"].(string)
			return r
		}, "change_order.requested", false, true, 201},
		{"POST /api/change-orders/{id}/reject", func() resp {
			return e.do(admin, "POST", "/api/change-orders/"+changeID+"/reject", map[string]any{"reason": "no"})
		}, "change_order.rejected", true, true, 200},
		{"POST /api/sows/{id}/change-orders", func() resp {
			r := e.do(admin, "POST", "/api/sows/"+sowID+"/change-orders", map[string]any{"description": "Less", "amount_delta": map[string]any{"amount": "-10.00", "currency": "EUR"}})
			changeID, _ = r.json(t)["id"].(string)
			return r
		}, "change_order.requested", false, true, 201},
		{"POST /api/change-orders/{id}/approve", func() resp {
			return e.do(admin, "POST", "/api/change-orders/"+changeID+"/approve", map[string]any{"reason": "agreed"})
		}, "change_order.approved", true, true, 200},
		{"POST /api/sows/{id}/unsign", func() resp {
			return e.do(admin, "POST", "/api/sows/"+sowID+"/unsign", map[string]any{"reason": "client moved the date"})
		}, "sow.unsigned", true, true, 200},
		{"POST /api/proposals/{id}/budget/lines", func() resp {
			r := e.do(admin, "POST", "/api/proposals/"+proposalID+"/budget/lines", map[string]any{"category": "audio", "description": "PA", "planned": map[string]any{"amount": "10.00", "currency": "EUR"}})
			budgetID, _ = r.json(t)["id"].(string)
			return r
		}, "budget.line.created", false, true, 201},
		{"POST /api/budgets/{id}/actualize", func() resp {
			return e.do(admin, "POST", "/api/budgets/"+budgetID+"/actualize", map[string]any{"actual": map[string]any{"amount": "12.00", "currency": "EUR"}})
		}, "budget.line.actualized", true, true, 200},
		{"POST /api/budgets/{id}/un-actualize", func() resp {
			return e.do(admin, "POST", "/api/budgets/"+budgetID+"/un-actualize", map[string]any{"reason": "wrong invoice"})
		}, "budget.line.unactualized", true, true, 200},
		{"POST /api/proposals/{id}/bom/draft", func() resp {
			return e.do(admin, "POST", "/api/proposals/"+proposalID+"/bom/draft", nil)
		}, "ai.generation.requested", false, true, 202},
		{"POST /api/proposals/{id}/budget/analyze", func() resp {
			return e.do(admin, "POST", "/api/proposals/"+proposalID+"/budget/analyze", nil)
		}, "ai.generation.requested", false, true, 202},
		{"POST /api/agent-proposals/{id}/approve", func() resp {
			// No worker runs here: record an agent's proposal directly (no event).
			id := e.scalarString(`INSERT INTO agent_proposals (organization_id, proposal_id, venue_code, agent_type, kind, change, rationale,
				requested_by, created_at, expires_at) SELECT organization_id, id, venue_code, 'bom_drafter', 'bom_lines',
				'{"bom_lines": [{"item": "Truss", "category": "rigging", "quantity": 4, "unit": "piece"}]}', 'walk', $2, now(), now() + interval '7 days'
				FROM proposals WHERE id = $1 RETURNING id::text`, proposalID, uid(rampart.RoleAdmin))
			return e.do(admin, "POST", "/api/agent-proposals/"+id+"/approve", map[string]any{"reason": "walk"})
		}, "agent_proposal.approved", true, true, 200},
		{"POST /api/agent-proposals/{id}/reject", func() resp {
			id := e.scalarString(`INSERT INTO agent_proposals (organization_id, proposal_id, venue_code, agent_type, kind, change, rationale,
				requested_by, created_at, expires_at) SELECT organization_id, id, venue_code, 'bom_drafter', 'bom_lines',
				'{"bom_lines": [{"item": "Truss", "category": "rigging", "quantity": 4, "unit": "piece"}]}', 'walk', $2, now(), now() + interval '7 days'
				FROM proposals WHERE id = $1 RETURNING id::text`, proposalID, uid(rampart.RoleAdmin))
			return e.do(admin, "POST", "/api/agent-proposals/"+id+"/reject", map[string]any{"reason": "walk"})
		}, "agent_proposal.rejected", true, true, 200},
		{"POST /approvals/{id}/approve", func() resp {
			// The console's approvals queue: the same use case, one event
			// (after the applied line's).
			id := e.scalarString(`INSERT INTO agent_proposals (organization_id, proposal_id, venue_code, agent_type, kind, change, rationale,
				requested_by, created_at, expires_at) SELECT organization_id, id, venue_code, 'bom_drafter', 'bom_lines',
				'{"bom_lines": [{"item": "Queue truss", "category": "rigging", "quantity": 4, "unit": "piece"}]}', 'walk', $2, now(), now() + interval '7 days'
				FROM proposals WHERE id = $1 RETURNING id::text`, proposalID, uid(rampart.RoleAdmin))
			return e.form(admin, "/approvals/"+id+"/approve", url.Values{"reason": {"walk"}})
		}, "agent_proposal.approved", true, true, 200},
		{"POST /approvals/{id}/reject", func() resp {
			id := e.scalarString(`INSERT INTO agent_proposals (organization_id, proposal_id, venue_code, agent_type, kind, change, rationale,
				requested_by, created_at, expires_at) SELECT organization_id, id, venue_code, 'bom_drafter', 'bom_lines',
				'{"bom_lines": [{"item": "Queue truss", "category": "rigging", "quantity": 4, "unit": "piece"}]}', 'walk', $2, now(), now() + interval '7 days'
				FROM proposals WHERE id = $1 RETURNING id::text`, proposalID, uid(rampart.RoleAdmin))
			return e.form(admin, "/approvals/"+id+"/reject", url.Values{"reason": {"walk"}})
		}, "agent_proposal.rejected", true, true, 200},
		{"POST /api/proposals/{id}/chat", func() resp {
			return e.do(admin, "POST", "/api/proposals/"+proposalID+"/chat", map[string]any{"question": "How many follow spots?"})
		}, "ai.chat.asked", false, true, 201},
		{"POST /proposals/{id}/chat", func() resp {
			return e.form(admin, "/proposals/"+proposalID+"/chat", url.Values{"question": {"How many follow spots?"}})
		}, "ai.chat.asked", false, true, 200},
		{"POST /api/vendors", func() resp {
			r := e.do(admin, "POST", "/api/vendors", map[string]any{"name": "Stage Sound", "category": "audio", "price_band": 2, "lead_time_days": 10})
			vendorID, _ = r.json(t)["id"].(string)
			return r
		}, "vendor.created", false, true, 201},
		{"PATCH /api/vendors/{id}", func() resp {
			return e.do(admin, "PATCH", "/api/vendors/"+vendorID, map[string]any{"on_time_count": 3})
		}, "vendor.updated", true, true, 200},
		{"POST /api/proposals/{id}/vendors/rank", func() resp {
			return e.do(admin, "POST", "/api/proposals/"+proposalID+"/vendors/rank", map[string]any{"category": "audio"})
		}, "agent.vendor_ranker.ranked", false, false, 200},
		{"POST /proposals/{id}/vendors/rank", func() resp {
			// The console's ranking form: the agent checks, the same use
			// cases and events as the agent route.
			return e.form(admin, "/proposals/"+proposalID+"/vendors/rank", url.Values{"category": {"audio"}})
		}, "agent.vendor_ranker.ranked", false, false, 200},
		{"POST /api/proposals/{id}/vendor-choices", func() resp {
			r := e.do(admin, "POST", "/api/proposals/"+proposalID+"/vendor-choices", map[string]any{"category": "audio", "vendor_id": vendorID})
			choiceID, _ = r.json(t)["id"].(string)
			return r
		}, "vendor.chosen", false, true, 200},
		{"DELETE /api/vendor-choices/{id}", func() resp { return e.do(admin, "DELETE", "/api/vendor-choices/"+choiceID, nil) }, "vendor.unchosen", true, false, 204},
		{"DELETE /api/vendors/{id}", func() resp { return e.do(admin, "DELETE", "/api/vendors/"+vendorID, nil) }, "vendor.deleted", true, false, 204},
		{"POST /api/crew", func() resp {
			r := e.do(admin, "POST", "/api/crew", map[string]any{"name": "Sam", "skills": []string{"rigging"},
				"day_rate": map[string]any{"amount": "420.00", "currency": "EUR"}})
			crewID, _ = r.json(t)["id"].(string)
			return r
		}, "crew.member.created", false, true, 201},
		{"PATCH /api/crew/{id}", func() resp {
			return e.do(admin, "PATCH", "/api/crew/"+crewID, map[string]any{"availability": []map[string]any{{"from": "2027-03-01", "to": "2027-03-31"}}})
		}, "crew.member.updated", true, true, 200},
		{"POST /api/proposals/{id}/crew/match", func() resp {
			return e.do(admin, "POST", "/api/proposals/"+proposalID+"/crew/match", map[string]any{"skills": []string{"rigging"}})
		}, "agent.crew_matcher.matched", false, false, 200},
		{"POST /proposals/{id}/crew/match", func() resp {
			return e.form(admin, "/proposals/"+proposalID+"/crew/match", url.Values{"skills": {"rigging"}})
		}, "agent.crew_matcher.matched", false, false, 200},
		{"POST /api/proposals/{id}/crew-assignments", func() resp {
			r := e.do(admin, "POST", "/api/proposals/"+proposalID+"/crew-assignments", map[string]any{"crew_member_id": crewID,
				"dates": map[string]any{"from": "2027-03-14", "to": "2027-03-16"}, "request": map[string]any{"skills": []string{"rigging"}}})
			assignmentID, _ = r.json(t)["id"].(string)
			return r
		}, "crew.assigned", false, true, 201},
		{"DELETE /api/crew-assignments/{id}", func() resp { return e.do(admin, "DELETE", "/api/crew-assignments/"+assignmentID, nil) }, "crew.unassigned", true, false, 204},
		{"DELETE /api/crew/{id}", func() resp { return e.do(admin, "DELETE", "/api/crew/"+crewID, nil) }, "crew.member.deleted", true, false, 204},
		// One event per reset table (learned_weights, learning_feedback).
		{"DELETE /api/admin/learned-patterns", func() resp { return e.do(admin, "DELETE", "/api/admin/learned-patterns", nil) }, "learning.reset", true, true, 200},
		{"POST /admin/branding", func() resp {
			return e.form(admin, "/admin/branding", url.Values{"display_name": {"Acme"}, "primary": {"#102030"}, "accent": {"#405060"}})
		}, "organization.branding.updated", true, true, 200},
		{"POST /admin/branding/logo", func() resp {
			return uploadTo(t, admin, e.srv.URL, "/admin/branding/logo", []part{{"file", "logo.png", "image/png", []byte("\x89PNG\r\n\x1a\n0000")}})
		}, "organization.branding.updated", true, true, 200},
		{"POST /admin/learning/reset", func() resp { return e.form(admin, "/admin/learning/reset", url.Values{}) }, "learning.reset", true, true, 200},
		{"POST /api/jobs/{id}/cancel", func() resp {
			return e.do(admin, "POST", "/api/jobs/"+jobID+"/cancel", map[string]any{"reason": "walk"})
		}, "ai.generation.cancelled", true, true, 200},
		{"PUT /api/killswitch", func() resp {
			// The organization's first switch: there is no state before it.
			return e.do(admin, "PUT", "/api/killswitch", map[string]any{"active": true, "reason": "walk"})
		}, "killswitch.activated", false, true, 200},
		{"PUT /api/ai/budget", func() resp {
			return e.do(admin, "PUT", "/api/ai/budget", map[string]any{"monthly_tokens": 100000})
		}, "ai.budget.updated", true, true, 200},
		{"POST /api/integrations/{provider}/connect", func() resp {
			return e.do(admin, "POST", "/api/integrations/ledger/connect", map[string]any{})
		}, "integration.connect.started", false, true, 200},
		{"POST /api/integrations/{id}/refresh", func() resp {
			return e.do(admin, "POST", "/api/integrations/"+integrationID+"/refresh", nil)
		}, "integration.refreshed", true, true, 200},
		{"DELETE /api/integrations/{id}", func() resp { return e.do(admin, "DELETE", "/api/integrations/"+integrationID, nil) }, "integration.disconnected", true, false, 200},
		{"POST /api/billing/webhook", func() resp {
			// Public (the signature is the credential), and a write: one
			// billing.* event in the linked organization's log.
			p := stripeEvent("evt_walk1", "invoice.payment_failed", time.Now(), invoice("cus_Acme", 1))
			return e.deliver(p, sign(p, testStripeSecret, time.Now()))
		}, "billing.payment.failed", true, true, 200},
		// The console's forms: the same use cases, the same one event each
		// (the client follows the redirect to the page, which writes none).
		{"POST /proposals", func() resp {
			r := e.form(admin, "/proposals", url.Values{"title": {"Console walk"}, "client_name": {"Initech"}, "venue_code": {"HALL-A"}})
			cProposal = e.idOf("SELECT id::text FROM proposals WHERE title = 'Console walk'")
			return r
		}, "proposal.created", false, true, 200},
		{"POST /proposals/{id}", func() resp {
			return e.form(admin, "/proposals/"+cProposal, url.Values{"title": {"Console walk, renamed"}, "brief": {"Gala for 300"}})
		}, "proposal.updated", true, true, 200},
		{"POST /proposals/{id}/approve", func() resp {
			e.exec(`UPDATE proposals SET body_html = '<p>Draft</p>', ai_generated = true, review_status = 'pending_review',
				status = 'ai_pending_review' WHERE id = $1`, cProposal)
			return e.form(admin, "/proposals/"+cProposal+"/approve", url.Values{})
		}, "proposal.approved", true, true, 200},
		{"POST /proposals/{id}/bom/lines", func() resp {
			r := e.form(admin, "/proposals/"+cProposal+"/bom/lines", url.Values{"item": {"Console truss"}, "category": {"rigging"}, "quantity": {"2"},
				"unit": {"piece"}, "unit_cost": {"3.50"}, "currency": {"EUR"}, "sourcing": {"Rig Co"}, "lead_time_days": {"4"}})
			cLine = e.idOf("SELECT id::text FROM bom_lines WHERE item = 'Console truss'")
			return r
		}, "bom.line.created", false, true, 200},
		{"POST /bom/lines/{id}", func() resp {
			return e.form(admin, "/bom/lines/"+cLine, url.Values{"quantity": {"3"}})
		}, "bom.line.updated", true, true, 200},
		{"POST /bom/lines/{id}/delete", func() resp {
			return e.form(admin, "/bom/lines/"+cLine+"/delete", url.Values{"proposal": {cProposal}})
		}, "bom.line.deleted", true, false, 200},
		{"POST /proposals/{id}/attachments", func() resp {
			r := uploadTo(t, admin, e.srv.URL, "/proposals/"+cProposal+"/attachments", []part{{"file", "console.txt", "text/plain", []byte("Doors 18:00\n")}})
			cAttachment = e.idOf("SELECT id::text FROM attachments WHERE filename = 'console.txt'")
			return r
		}, "attachment.uploaded", false, true, 200},
		{"POST /attachments/{id}/delete", func() resp {
			return e.form(admin, "/attachments/"+cAttachment+"/delete", url.Values{"proposal": {cProposal}})
		}, "attachment.deleted", true, false, 200},
		{"POST /proposals/{id}/sow", func() resp {
			r := e.form(admin, "/proposals/"+cProposal+"/sow", url.Values{"title": {"Console SOW"}, "amount": {"500.00"}, "currency": {"EUR"}})
			cSOW = e.idOf("SELECT id::text FROM sows WHERE proposal_id = $1", cProposal)
			return r
		}, "sow.created", false, true, 200},
		{"POST /sows/{id}/sign", func() resp { return e.form(admin, "/sows/"+cSOW+"/sign", url.Values{}) }, "sow.signed", true, true, 200},
		{"POST /sows/{id}/change-orders", func() resp {
			r := e.form(admin, "/sows/"+cSOW+"/change-orders", url.Values{"description": {"Console extra"}, "amount_delta": {"-5.00"}, "currency": {"EUR"}, "proposal": {cProposal}})
			cChange = e.idOf("SELECT id::text FROM change_orders WHERE description = 'Console extra'")
			return r
		}, "change_order.requested", false, true, 200},
		{"POST /change-orders/{id}/reject", func() resp {
			return e.form(admin, "/change-orders/"+cChange+"/reject", url.Values{"reason": {"not now"}, "proposal": {cProposal}})
		}, "change_order.rejected", true, true, 200},
		{"POST /sows/{id}/change-orders", func() resp {
			r := e.form(admin, "/sows/"+cSOW+"/change-orders", url.Values{"description": {"Console less"}, "amount_delta": {"-5.00"}, "currency": {"EUR"}, "proposal": {cProposal}})
			cChange = e.idOf("SELECT id::text FROM change_orders WHERE description = 'Console less'")
			return r
		}, "change_order.requested", false, true, 200},
		{"POST /change-orders/{id}/approve", func() resp {
			return e.form(admin, "/change-orders/"+cChange+"/approve", url.Values{"reason": {"agreed"}, "proposal": {cProposal}})
		}, "change_order.approved", true, true, 200},
		{"POST /sows/{id}/unsign", func() resp {
			return e.form(admin, "/sows/"+cSOW+"/unsign", url.Values{"reason": {"scope changed"}})
		}, "sow.unsigned", true, true, 200},
		{"POST /proposals/{id}/budget/lines", func() resp {
			r := e.form(admin, "/proposals/"+cProposal+"/budget/lines", url.Values{"category": {"audio"}, "description": {"Console PA"}, "planned": {"10.00"}, "currency": {"EUR"}})
			cBudget = e.idOf("SELECT id::text FROM budget_lines WHERE proposal_id = $1", cProposal)
			return r
		}, "budget.line.created", false, true, 200},
		{"POST /budgets/{id}/actualize", func() resp {
			return e.form(admin, "/budgets/"+cBudget+"/actualize", url.Values{"actual": {"11.00"}, "currency": {"EUR"}})
		}, "budget.line.actualized", true, true, 200},
		{"POST /budgets/{id}/un-actualize", func() resp {
			return e.form(admin, "/budgets/"+cBudget+"/un-actualize", url.Values{"reason": {"wrong invoice"}})
		}, "budget.line.unactualized", true, true, 200},
		{"POST /vendors", func() resp {
			r := e.form(admin, "/vendors", url.Values{"name": {"Console Sound"}, "category": {"audio"}, "price_band": {"2"}, "lead_time_days": {"7"}})
			cVendor = e.idOf("SELECT id::text FROM vendors WHERE name = 'Console Sound'")
			return r
		}, "vendor.created", false, true, 200},
		{"POST /vendors/{id}", func() resp {
			return e.form(admin, "/vendors/"+cVendor, url.Values{"name": {"Console Sound, renamed"}, "late_count": {"1"}})
		}, "vendor.updated", true, true, 200},
		{"POST /vendors/{id}/delete", func() resp { return e.form(admin, "/vendors/"+cVendor+"/delete", url.Values{}) }, "vendor.deleted", true, false, 200},
		{"POST /crew", func() resp {
			r := e.form(admin, "/crew", url.Values{"name": {"Console Rigger"}, "skills": {"rigging"}, "day_rate": {"300.00"}, "currency": {"EUR"}})
			cCrew = e.idOf("SELECT id::text FROM crew_members WHERE name = 'Console Rigger'")
			return r
		}, "crew.member.created", false, true, 200},
		{"POST /crew/{id}", func() resp {
			return e.form(admin, "/crew/"+cCrew, url.Values{"name": {"Console Rigger"}, "skills": {"rigging, follow spot"}, "day_rate": {"320.00"}, "currency": {"EUR"}})
		}, "crew.member.updated", true, true, 200},
		{"POST /crew/{id}/delete", func() resp { return e.form(admin, "/crew/"+cCrew+"/delete", url.Values{}) }, "crew.member.deleted", true, false, 200},
		{"POST /venues", func() resp {
			r := e.form(admin, "/venues", url.Values{"code": {"con-hall"}, "name": {"Console Hall"}, "city": {"Leeds"}, "capacity": {"900"}})
			cVenue = e.idOf("SELECT id::text FROM venues WHERE code = 'CON-HALL'")
			return r
		}, "venue.created", false, true, 200},
		{"POST /venues/{id}", func() resp {
			return e.form(admin, "/venues/"+cVenue, url.Values{"name": {"Console Hall, renamed"}, "city": {"Leeds"}, "latitude": {"53.8"}, "longitude": {"-1.55"}})
		}, "venue.updated", true, true, 200},
		{"POST /venues/{id}/delete", func() resp { return e.form(admin, "/venues/"+cVenue+"/delete", url.Values{}) }, "venue.deleted", true, false, 200},
		{"POST /admin/members/{user_id}", func() resp {
			return e.form(admin, "/admin/members/"+uid(rampart.RoleVenueManager), url.Values{"role": {"venue_manager"}, "venue_codes": {"HALL-A, HALL-B"}})
		}, "membership.updated", true, true, 200},
		{"POST /admin/members/{user_id}/sign-out", func() resp {
			return e.form(admin, "/admin/members/"+uid(rampart.RoleExecutiveProducer)+"/sign-out", url.Values{})
		}, "auth.session.revoked", false, false, 200},
		{"POST /admin/members/{user_id}/remove", func() resp {
			return e.form(admin, "/admin/members/"+uid(rampart.RoleExecutiveProducer)+"/remove", url.Values{})
		}, "membership.removed", true, false, 200},
		{"POST /admin/invites", func() resp {
			r := e.form(admin, "/admin/invites", url.Values{"email": {"console@outside.example"}, "role": {"viewer"}})
			cInvite = e.idOf("SELECT id::text FROM invites WHERE email = 'console@outside.example'")
			return r
		}, "auth.invite.created", false, true, 200},
		{"POST /admin/invites/{id}/resend", func() resp { return e.form(admin, "/admin/invites/"+cInvite+"/resend", url.Values{}) }, "auth.invite.resent", false, true, 200},
		{"POST /admin/invites/{id}/revoke", func() resp { return e.form(admin, "/admin/invites/"+cInvite+"/revoke", url.Values{}) }, "auth.invite.revoked", true, false, 200},
		{"POST /admin/tokens", func() resp {
			r := e.form(admin, "/admin/tokens", url.Values{"name": {"console"}, "role": {"viewer"}, "expires_in_days": {"1"}})
			cToken = e.idOf("SELECT id::text FROM api_tokens WHERE name = 'console'")
			return r
		}, "auth.token.issued", false, true, 201},
		{"POST /admin/tokens/{id}/revoke", func() resp { return e.form(admin, "/admin/tokens/"+cToken+"/revoke", url.Values{}) }, "auth.token.revoked", true, false, 200},
		{"POST /admin/killswitch", func() resp {
			// After PUT /api/killswitch raised it: lowered, with the reason.
			return e.form(admin, "/admin/killswitch", url.Values{"active": {"false"}, "reason": {"console walk"}})
		}, "killswitch.deactivated", true, true, 200},
		{"POST /account/organization", func() resp {
			return e.form(admin, "/account/organization", url.Values{"organization_id": {acme.org.ID.String()}})
		}, "auth.session.org_switched", false, false, 200},
		{"POST /account/sign-out-everywhere", func() resp {
			return e.form(everywhere, "/account/sign-out-everywhere", url.Values{})
		}, "auth.session.revoked", false, false, 200},
		{"POST /api/admin/data-requests", func() resp {
			r := e.do(admin, "POST", "/api/admin/data-requests", map[string]any{"kind": "export", "user_id": uid(rampart.RoleTechnicalDirector)})
			dataRequestID, _ = r.json(t)["id"].(string)
			return r
		}, "privacy.request.created", false, true, 202},
		{"POST /api/admin/data-requests/{id}/link", func() resp {
			// The worker's part, done directly (it writes no event here).
			e.exec(`UPDATE privacy_requests SET status = 'ready', archive = '\x504b0506'::bytea, archive_sha256 = sha256('\x504b0506'::bytea),
				archive_bytes = 4, completed_at = now() WHERE id = $1`, dataRequestID)
			r := e.do(admin, "POST", "/api/admin/data-requests/"+dataRequestID+"/link", nil)
			return r
		}, "privacy.export.link_issued", false, false, 201},
		{"POST /admin/privacy", func() resp {
			r := e.form(admin, "/admin/privacy", url.Values{"kind": {"export"}, "email": {acme.email(rampart.RoleProducer)}})
			dataRequestID = e.idOf(`SELECT id::text FROM privacy_requests WHERE kind = 'export' ORDER BY created_at DESC LIMIT 1`)
			return r
		}, "privacy.request.created", false, true, 200},
		{"POST /admin/privacy/{id}/link", func() resp {
			e.exec(`UPDATE privacy_requests SET status = 'ready', archive = '\x504b0506'::bytea, archive_sha256 = sha256('\x504b0506'::bytea),
				archive_bytes = 4, completed_at = now() WHERE id = $1`, dataRequestID)
			return e.form(admin, "/admin/privacy/"+dataRequestID+"/link", url.Values{})
		}, "privacy.export.link_issued", false, false, 201},
		{"POST /api/admin/data-requests", func() resp {
			return e.do(admin, "POST", "/api/admin/data-requests", map[string]any{"kind": "erasure", "email": acme.email(rampart.RoleTechnicalDirector)})
		}, "privacy.erasure.completed", false, true, 201},
		{"POST /api/auth/switch-org", func() resp {
			return e.do(admin, "POST", "/api/auth/switch-org", map[string]any{"organization_id": acme.org.ID})
		}, "auth.session.org_switched", false, false, 204},
		{"POST /api/auth/logout-all", func() resp {
			return e.do(e.signIn(acme.email(rampart.RoleViewer)), "POST", "/api/auth/logout-all", nil)
		}, "auth.session.revoked", false, false, 200},
		{"POST /api/auth/logout", func() resp {
			return e.do(e.signIn(acme.email(rampart.RoleProducer)), "POST", "/api/auth/logout", nil)
		}, "auth.session.revoked", false, false, 204},
	}
	// The events of what a case's change applies, before its own: approving
	// an agent proposal writes the lines it adds.
	applies := map[string][]string{"POST /api/agent-proposals/{id}/approve": {"bom.line.created"}, "POST /approvals/{id}/approve": {"bom.line.created"}}
	// The events a case writes after its own: the chat records the
	// question and then the answer, two transactions, each audited.
	// A route that changes several tables writes one event per table
	// (the learned-pattern reset: learned_weights, learning_feedback).
	after := map[string][]string{"POST /api/proposals/{id}/chat": {"ai.chat.answered"}, "POST /proposals/{id}/chat": {"ai.chat.answered"},
		"DELETE /api/admin/learned-patterns": {"learning.reset"},
		"POST /admin/learning/reset":         {"learning.reset"},
		// The ranker's top candidate becomes a pending agent proposal.
		"POST /api/proposals/{id}/vendors/rank": {"agent_proposal.created"},
		"POST /proposals/{id}/vendors/rank":     {"agent_proposal.created"}}
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.pattern] = true
		// Sign-ins made inside a case write their own events first.
		call := tc.call
		var r resp
		var got []auditRow
		if strings.Contains(tc.pattern, "/api/auth/logout") {
			c := e.signIn(acme.email(map[string]rampart.Role{"POST /api/auth/logout": rampart.RoleProducer, "POST /api/auth/logout-all": rampart.RoleViewer}[tc.pattern]))
			mark := e.scalar("SELECT coalesce(max(id), 0)::int FROM audit_events")
			r = e.do(c, "POST", strings.TrimPrefix(tc.pattern, "POST "), nil)
			got = e.eventsSince(mark)
		} else {
			mark := e.scalar("SELECT coalesce(max(id), 0)::int FROM audit_events")
			r = call()
			got = e.eventsSince(mark)
		}
		if r.status != tc.wantStatus {
			t.Errorf("%s: status %d, want %d: %s", tc.pattern, r.status, tc.wantStatus, r.body)
			continue
		}
		also, later := applies[tc.pattern], after[tc.pattern]
		if len(got) != 1+len(also)+len(later) {
			t.Errorf("%s: %d audit events %v, want exactly one (and %v applied, %v after)", tc.pattern, len(got), got, also, later)
			continue
		}
		for i, a := range also {
			if got[i].action != a {
				t.Errorf("%s: applied event %d is %s, want %s", tc.pattern, i, got[i].action, a)
			}
		}
		for i, a := range later {
			if got[len(also)+1+i].action != a {
				t.Errorf("%s: event %d after its own is %s, want %s", tc.pattern, i, got[len(also)+1+i].action, a)
			}
		}
		own := got[len(also)]
		if own.action != tc.action || own.before != tc.before || own.after != tc.after {
			t.Errorf("%s: event %+v, want %s before=%v after=%v", tc.pattern, own, tc.action, tc.before, tc.after)
		}
	}
	for _, rt := range e.api.edge.Routes() {
		method, _, _ := strings.Cut(rt.Pattern, " ")
		if (rt.Authenticated() || rt.Pattern == webhookPattern) && method != "GET" && !strings.HasPrefix(rt.Pattern, "POST /api/test/") && !covered[rt.Pattern] {
			t.Errorf("write route %s has no audit case in this test", rt.Pattern)
		}
	}
}

func TestAuditViewerAndExport(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	// A tricky value: quotes, a newline and a formula.
	tricky := "He said \"hi\",\nthen =cmd|' /C calc'!A0"
	formulaUA := `=HYPERLINK("http://evil.example","click")`
	r := e.do(admin, "POST", "/api/venues", map[string]any{"code": "TRICKY", "name": "=cmd|' /C calc'!A0", "city": tricky}, "User-Agent", formulaUA)
	if r.status != 201 {
		t.Fatalf("venue: %d %s", r.status, r.body)
	}
	// Viewer API: newest first, cursor pagination, filters.
	page := e.do(admin, "GET", "/api/audit/events?limit=2", nil).json(t)
	events := page["events"].([]any)
	if len(events) != 2 || page["next_cursor"] == nil {
		t.Fatalf("page 1: %v", page)
	}
	first := events[0].(map[string]any)
	if first["action"] != "venue.created" || first["after"].(map[string]any)["city"] != tricky {
		t.Fatalf("newest event: %v", first)
	}
	page2 := e.do(admin, "GET", fmt.Sprintf("/api/audit/events?limit=2&cursor=%s", page["next_cursor"]), nil).json(t)
	e2 := page2["events"].([]any)
	if len(e2) == 0 || e2[0].(map[string]any)["id"].(float64) >= events[1].(map[string]any)["id"].(float64) {
		t.Fatalf("page 2 does not continue page 1: %v", page2)
	}
	only := e.do(admin, "GET", "/api/audit/events?action=venue.created", nil).json(t)["events"].([]any)
	for _, ev := range only {
		if ev.(map[string]any)["action"] != "venue.created" {
			t.Fatalf("filter leaked %v", ev)
		}
	}
	// No other organization's events, no platform events.
	var orgs map[string]bool = map[string]bool{}
	all := e.do(admin, "GET", "/api/audit/events?limit=500", nil).json(t)["events"].([]any)
	for _, ev := range all {
		if strings.HasPrefix(ev.(map[string]any)["action"].(string), "service.") {
			t.Fatal("a platform event is visible to a tenant admin")
		}
	}
	_ = orgs
	if n := e.scalar("SELECT count(*)::int FROM audit_events WHERE organization_id = $1", acme.org.ID); n != len(all) {
		t.Fatalf("viewer shows %d of the organization's %d events", len(all), n)
	}
	// CSV export round-trips the tricky event safely.
	res := e.do(admin, "GET", "/api/audit/export.csv?action=venue.created", nil)
	if res.status != 200 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %v", res.status, res.header)
	}
	recs, err := csv.NewReader(bytes.NewReader(res.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var found, uaNeutralised bool
	for _, rec := range recs[1:] {
		if rec[12] == "'"+formulaUA {
			uaNeutralised = true
		}
		var after map[string]any
		if err := json.Unmarshal([]byte(rec[10]), &after); err == nil && after["city"] == tricky {
			found = true
		}
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("formula cell %q", cell)
			}
		}
	}
	if !found {
		t.Fatal("the tricky event did not round-trip")
	}
	if !uaNeutralised {
		t.Fatal("the formula in the user agent cell was not neutralised")
	}
	if e.events("audit.exported") != 1 {
		t.Fatal("the export was not audited")
	}
	// Only admins; bad filters are 400.
	problem(t, e.do(e.signIn(acme.email(rampart.RoleExecutiveProducer)), "GET", "/api/audit/events", nil), http.StatusForbidden)
	problem(t, e.do(e.signIn(acme.email(rampart.RoleViewer)), "GET", "/api/audit/export.csv", nil), http.StatusForbidden)
	for _, q := range []string{"limit=0", "limit=501", "cursor=-1", "since=yesterday", "action=venue.exploded",
		"since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z"} {
		problem(t, e.do(admin, "GET", "/api/audit/events?"+q, nil), http.StatusBadRequest)
	}
}

// TestAuditEventsCursor: the cursor is an event id (bigint). A cursor past
// 2^31, and pages over events whose ids are past it, answer 200 (the
// cursor was once typed int4 in the query: 500); a cursor that is not a
// positive int64 is a 400 problem naming the field.
func TestAuditEventsCursor(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	total := e.scalar("SELECT count(*)::int FROM audit_events WHERE organization_id = $1", acme.org.ID)
	r := e.do(admin, "GET", "/api/audit/events?limit=500&cursor=2147483648", nil)
	if r.status != http.StatusOK {
		t.Fatalf("cursor 2^31: %d %s", r.status, r.body)
	}
	if n := len(r.json(t)["events"].([]any)); n != total {
		t.Fatalf("cursor 2^31: %d events, want all %d", n, total)
	}
	// Events whose ids are past 2^31: page through them and back below.
	e.exec("SELECT setval(pg_get_serial_sequence('audit_events', 'id'), 3000000000)")
	for i := range 3 {
		if r := e.do(admin, "POST", "/api/venues", map[string]any{"code": fmt.Sprintf("BIG-%d", i), "name": "Big", "city": "Oslo"}); r.status != 201 {
			t.Fatalf("venue: %d %s", r.status, r.body)
		}
	}
	var seen []float64
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > total+10 {
			t.Fatal("pagination does not end")
		}
		r := e.do(admin, "GET", "/api/audit/events?limit=2"+cursor, nil)
		if r.status != http.StatusOK {
			t.Fatalf("page %d (%q): %d %s", pages, cursor, r.status, r.body)
		}
		page := r.json(t)
		for _, ev := range page["events"].([]any) {
			seen = append(seen, ev.(map[string]any)["id"].(float64))
		}
		next, _ := page["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = "&cursor=" + next
	}
	if len(seen) != total+3 || seen[0] <= 3e9 || seen[2] <= 3e9 || seen[3] >= 1<<31 {
		t.Fatalf("paged ids %v, want %d events, the three newest past 3e9", seen, total+3)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] >= seen[i-1] {
			t.Fatalf("ids not strictly descending across pages: %v", seen)
		}
	}
	// Not a positive int64: 400 naming the field.
	for _, c := range []string{"-1", "0", "abc", "1.5", "9223372036854775808", "99999999999999999999", "0x10", "%2B5", "%205", "1e3"} {
		p := problem(t, e.do(admin, "GET", "/api/audit/events?cursor="+c, nil), http.StatusBadRequest)
		if d, _ := p["detail"].(string); !strings.HasPrefix(d, "cursor:") {
			t.Errorf("cursor=%s: detail %q does not name the field", c, d)
		}
	}
	// The largest int64 is a valid cursor.
	if r := e.do(admin, "GET", "/api/audit/events?cursor=9223372036854775807", nil); r.status != http.StatusOK {
		t.Fatalf("cursor max int64: %d %s", r.status, r.body)
	}
}
