package console

import (
	"net/http"

	"github.com/rampart-dev/rampart/internal/edge"
)

// pageDocs describe the console's pages in /openapi.json: they answer
// HTML (text/html), never JSON; a form's success is a 303 to the page it
// changed, and every refusal is an HTML page with the API's status.
var pageDocs = []struct {
	pattern, summary string
	status           int
}{
	{"GET /static/{file}", "A console asset (stylesheet, script, htmx) by content hash, cached for a year", 0},
	{"POST /account/organization", "Console: switch the session to another of the caller's organizations (form field organization_id)", http.StatusSeeOther},
	{"POST /account/sign-out-everywhere", "Console: end every session of the caller", http.StatusSeeOther},
	{"GET /proposals", "Console: the proposals list, newest first (?cursor, ?status=pending|approved|draft, ?venue)", 0},
	{"POST /proposals", "Console: create a proposal (form: title, client_name, venue_code, brief)", http.StatusSeeOther},
	{"GET /proposals/{id}", "Console: a proposal with its AI body, BOM, attachments, SOW, budget and AI jobs", 0},
	{"POST /proposals/{id}", "Console: change a proposal's title, client, venue and brief", http.StatusSeeOther},
	{"POST /proposals/{id}/approve", "Console: approve AI output pending review (form: version)", http.StatusSeeOther},
	{"POST /proposals/{id}/bom/lines", "Console: add a BOM line (cost fields only for roles with full cost access)", http.StatusSeeOther},
	{"POST /bom/lines/{id}", "Console: change a BOM line's quantity or unit cost", http.StatusSeeOther},
	{"POST /bom/lines/{id}/delete", "Console: delete a BOM line", http.StatusSeeOther},
	{"POST /proposals/{id}/attachments", "Console: upload an attachment (multipart, one part named file)", http.StatusSeeOther},
	{"POST /attachments/{id}/delete", "Console: delete an attachment", http.StatusSeeOther},
	{"POST /proposals/{id}/sow", "Console: draft the statement of work", http.StatusSeeOther},
	{"POST /sows/{id}/sign", "Console: sign the statement of work", http.StatusSeeOther},
	{"POST /sows/{id}/unsign", "Console: unsign the statement of work (form: reason, required)", http.StatusSeeOther},
	{"POST /sows/{id}/change-orders", "Console: request a change to a signed statement of work (form: description, amount_delta, currency)", http.StatusSeeOther},
	{"POST /change-orders/{id}/approve", "Console: approve a change order (form: reason)", http.StatusSeeOther},
	{"POST /change-orders/{id}/reject", "Console: reject a change order (form: reason)", http.StatusSeeOther},
	{"POST /proposals/{id}/budget/lines", "Console: add a budget line", http.StatusSeeOther},
	{"POST /budgets/{id}/actualize", "Console: actualize a budget line", http.StatusSeeOther},
	{"POST /budgets/{id}/un-actualize", "Console: un-actualize a budget line (form: reason, required)", http.StatusSeeOther},
	{"GET /approvals", "Console: the approvals queue, agent proposals by state (?status=pending|approved|rejected|expired; pending by default)", 0},
	{"GET /approvals/{id}", "Console: an agent proposal as the lines it would add, its rationale, signals and time left, with approve and reject", 0},
	{"POST /approvals/{id}/approve", "Console: approve and apply an agent proposal as the caller (form: reason, optional)", http.StatusSeeOther},
	{"POST /approvals/{id}/reject", "Console: reject an agent proposal (form: reason, required)", http.StatusSeeOther},
	{"GET /vendors", "Console: the vendor directory with the add form (roles with full cost access; ?category)", 0},
	{"POST /vendors", "Console: add a vendor (form: name, category, price_band, lead_time_days, on_time_count, late_count, depot_latitude, depot_longitude; roles with full cost access); invalid input is the form again with the message beside the field (422)", http.StatusSeeOther},
	{"GET /vendors/{id}", "Console: a vendor with its edit form (roles with full cost access)", 0},
	{"POST /vendors/{id}", "Console: change a vendor (the fields the form carries; empty depot fields remove the depot); invalid input is the form again (422)", http.StatusSeeOther},
	{"GET /vendors/{id}/delete", "Console: confirm removing a vendor (a page, so it works without JavaScript)", 0},
	{"POST /vendors/{id}/delete", "Console: remove a vendor and its choices", http.StatusSeeOther},
	{"GET /crew", "Console: the crew list with the add form (day rates for roles with full cost access only)", 0},
	{"POST /crew", "Console: add a crew member (form: name, skills comma-separated, certifications and availability one a line, day_rate and currency for roles with full cost access); invalid input is the form again (422)", http.StatusSeeOther},
	{"GET /crew/{id}", "Console: a crew member with the edit form (the day rate for roles with full cost access only)", 0},
	{"POST /crew/{id}", "Console: change a crew member; the day rate changes only when the form sets it or clear_day_rate=1 (a form without rate fields never erases it); invalid input is the form again (422)", http.StatusSeeOther},
	{"GET /crew/{id}/delete", "Console: confirm removing a crew member (a page, so it works without JavaScript)", 0},
	{"POST /crew/{id}/delete", "Console: remove a crew member and their assignments", http.StatusSeeOther},
	{"GET /proposals/{id}/staffing", "Console: the vendor ranking and crew match forms of a proposal", 0},
	{"POST /proposals/{id}/vendors/rank", "Console: run the vendor_ranker (agent checks) and show candidates with score and signals (form: category); the top candidate becomes a pending agent proposal", 0},
	{"POST /proposals/{id}/crew/match", "Console: run the crew_matcher (agent checks) and show candidates with score and signals (form: skills, certifications, from, to); with dates the top candidate becomes a pending agent proposal", 0},
	{"GET /proposals/{id}/chat", "Console: a proposal's conversation with the model (costed answers for roles with full cost access only) and the question form", 0},
	{"POST /proposals/{id}/chat", "Console: ask a question (form: question; chat rate-limit tier); the page shows the stored, sanitised answer", http.StatusSeeOther},
	{"GET /admin/privacy", "Console: data subject requests (admins)", 0},
	{"POST /admin/privacy", "Console: request a member's export, or erase a member's data now (form: kind=export|erasure, email; admins)", http.StatusSeeOther},
	{"POST /admin/privacy/{id}/link", "Console: issue the one-time download link of a ready export, shown once on the answer (the admin who asked)", http.StatusCreated},
	{"GET /admin/learning", "Console: the rankers' learned weights (admins)", 0},
	{"POST /admin/learning/reset", "Console: reset the organization's learned patterns (admins)", http.StatusSeeOther},
	{"GET /admin/billing", "Console: the billing plan state, read-only (admins)", 0},
	{"GET /admin/branding", "Console: the organization's branding, display name, colours and logo (admins)", 0},
	{"POST /admin/branding", "Console: change the display name and colours as #rrggbb, or remove the logo (form: display_name, primary, accent, remove_logo=1; admins)", http.StatusSeeOther},
	{"POST /admin/branding/logo", "Console: upload the logo, a PNG or JPEG of at most 48 KiB by content (multipart, one part named file; admins)", http.StatusSeeOther},
	{"GET /branding/logo", "Console: the caller's organization's logo (image/png or image/jpeg, nosniff)", 0},
	{"GET /admin/members", "Console: members, venues and invitations (admins)", 0},
	{"GET /venues", "Console: the organization's venues, with the add form for roles that may edit venues", 0},
	{"POST /venues", "Console: add a venue (form: code, name, city, capacity, latitude, longitude; as POST /api/venues: admins, or venue managers for their codes); 422 beside the field", http.StatusSeeOther},
	{"GET /venues/{id}", "Console: one venue with its edit form", 0},
	{"POST /venues/{id}", "Console: change a venue's name, city, capacity and location (its code never changes; as PATCH /api/venues/{id}); 422 beside the field", http.StatusSeeOther},
	{"GET /venues/{id}/delete", "Console: confirm removing a venue", 0},
	{"POST /venues/{id}/delete", "Console: remove a venue (as DELETE /api/venues/{id})", http.StatusSeeOther},
	{"POST /admin/members/{user_id}", "Console: change a member's role and venue codes (admins)", http.StatusSeeOther},
	{"POST /admin/members/{user_id}/sign-out", "Console: end a member's sessions in this organization (admins)", http.StatusSeeOther},
	{"POST /admin/members/{user_id}/remove", "Console: remove a member (admins)", http.StatusSeeOther},
	{"POST /admin/invites", "Console: invite an address (admins)", http.StatusSeeOther},
	{"POST /admin/invites/{id}/resend", "Console: resend an invitation with a fresh link (admins)", http.StatusSeeOther},
	{"POST /admin/invites/{id}/revoke", "Console: revoke an invitation (admins)", http.StatusSeeOther},
	{"GET /admin/tokens", "Console: API tokens (admins)", 0},
	{"POST /admin/tokens", "Console: issue an API token, shown once on the answer (admins)", http.StatusCreated},
	{"POST /admin/tokens/{id}/revoke", "Console: revoke an API token (admins)", http.StatusSeeOther},
	{"GET /admin/killswitch", "Console: the organization kill switch, its effective state and history", 0},
	{"POST /admin/killswitch", "Console: raise or lower the organization kill switch (form: active, reason, required; admins)", http.StatusSeeOther},
	{"GET /admin/audit", "Console: the audit log viewer (?action, ?actor, ?since, ?until as dates, ?limit, ?before cursor)", 0},
	{"GET /admin/security", "Console: the live row-level security audit and health (admins)", 0},
	{"GET /admin/usage", "Console: AI jobs and tokens per day against the budget, as SVG (admins)", 0},
}

// publicDocs describe the public pages of an organization's sign-in view.
var publicDocs = []struct{ pattern, summary string }{
	{"GET /o/{slug}", "An organization's sign-in page: the sign-in form under its public name and logo, nothing else (public, HTML)"},
	{"GET /o/{slug}/logo", "An organization's logo for its sign-in page (image/png or image/jpeg, nosniff; public)"},
}

func (s *site) documentPages(r *edge.Router) {
	for _, d := range publicDocs {
		r.Document(d.pattern, edge.Doc{Summary: d.summary, Description: "Part of the web console, not of the JSON API; see docs/console.md."})
	}
	for _, d := range pageDocs {
		r.Document(d.pattern, edge.Doc{Summary: d.summary, Status: d.status,
			Description: "An HTML page of the web console (text/html), not part of the JSON API; see docs/console.md."})
	}
}
