package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/privacy"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// privacyAPI is data subject requests (docs/privacy.md): an admin's
// export or erasure of one member's data, the export's one-time link and
// its download.
type privacyAPI struct{ *Server }

func (s privacyAPI) register(r *edge.Router) {
	edge.AuthedJSON(r, "POST /api/admin/data-requests", s.create)
	r.Authed("GET /api/admin/data-requests", s.list)
	r.Authed("GET /api/admin/data-requests/{id}", s.get)
	r.Authed("POST /api/admin/data-requests/{id}/link", s.link)
	r.Authed("GET /api/admin/data-exports/{token}", s.download)
	documentPrivacy(r)
}

type dataRequest struct {
	Kind   string `json:"kind" enum:"export,erasure" doc:"export: a zip of everything held about the person, built by the worker; erasure: carried out now" example:"export"`
	UserID string `json:"user_id,omitempty" required:"false" format:"uuid" doc:"the member, by id (or give email)" example:"3c4d5e6f-3333-4a7b-8c9d-0e1f2a3b4c5d"`
	Email  string `json:"email,omitempty" required:"false" maxLength:"254" doc:"the member, by email (or give user_id)"`
}

func (s privacyAPI) create(w http.ResponseWriter, r *http.Request, c rampart.Claims, req dataRequest) error {
	in := privacy.Input{Kind: req.Kind, Email: req.Email}
	if req.UserID != "" {
		id, err := uuid.Parse(req.UserID)
		if err != nil {
			return rampart.Errorf("api.DataRequest", rampart.KindInvalid, "user_id: not a UUID")
		}
		in.UserID = &id
	}
	p, err := privacy.Request(r.Context(), s.store, c, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/admin/data-requests/"+p.ID.String())
	status := http.StatusCreated
	if p.Kind == rampart.PrivacyExport {
		status = http.StatusAccepted
	}
	return edge.Respond(w, c, status, p)
}

func (s privacyAPI) list(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	out, err := privacy.List(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, map[string]any{"data_requests": out})
}

func (s privacyAPI) get(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	p, err := privacy.Get(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, p)
}

func (s privacyAPI) link(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	l, err := privacy.IssueLink(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return edge.Respond(w, c, http.StatusCreated, l)
}

func (s privacyAPI) download(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, archive, err := privacy.Download(r.Context(), s.store, c, r.PathValue("token"))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="rampart-data-export-`+id.String()+`.zip"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", downloadCSP)
	h.Set("Content-Length", strconv.Itoa(len(archive)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(archive) // #nosec G705 -- a zip sent as an attachment with nosniff and a download CSP, never rendered as HTML
	return nil
}

// documentPrivacy gives the data request routes their summaries and
// example answers in /openapi.json.
func documentPrivacy(r *edge.Router) {
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	done := at.Add(2 * time.Second)
	size := int64(18234)
	export := rampart.PrivacyRequest{OrganizationID: uuid.MustParse("7f3e1c2a-1111-4c5d-8e9f-0a1b2c3d4e5f"),
		ID: uuid.MustParse("4e5f6a7b-7777-4c8d-9e0f-1a2b3c4d5e6f"), Kind: rampart.PrivacyExport,
		SubjectUserID: uuid.MustParse("3c4d5e6f-3333-4a7b-8c9d-0e1f2a3b4c5d"), RequestedBy: uuid.MustParse("0a1b2c3d-8888-4e5f-8a9b-0c1d2e3f4a5b"),
		Status: rampart.PrivacyPending, CreatedAt: at}
	ready := export
	ready.Status, ready.CompletedAt, ready.ArchiveBytes = rampart.PrivacyReady, &done, &size
	ready.ArchiveSHA256 = "5f2c0d6b1e0a4c3f9b8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928"
	ready.Outcome = []byte(`{"rows":{"user":1,"memberships":1,"sessions":3,"invites":1,"proposals":4,"audit_events":57}}`)
	erasure := export
	erasure.ID, erasure.Kind, erasure.Status, erasure.CompletedAt = uuid.MustParse("6a7b8c9d-9999-4e0f-8a1b-2c3d4e5f6a7b"), rampart.PrivacyErasure, rampart.PrivacyCompleted, &at
	erasure.Outcome = []byte(`{"audit_events_erased":57,"audit_events_kept_scheme1":0,"sessions_deleted":3,"invites_pseudonymised":1,"membership_removed":true,"other_memberships":1,"user_erased":false}`)
	admins := " Admins of the organization, signed in (an API token gets 403); another organization's member, request or link is 404."
	r.Document("POST /api/admin/data-requests", edge.Doc{
		Summary: "Ask for a member's data export, or erase a member's data",
		Description: "Body: {\"kind\": \"export\"|\"erasure\", \"user_id\": … or \"email\": …}; the subject must be a member of the organization. " +
			"An export answers 202 with the pending request; the worker builds the zip (one JSON file per table, manifest.json, README.md) " +
			"within seconds, then `POST …/{id}/link` gives a one-time download link. An erasure is carried out in the same transaction and " +
			"answers 201 with what it did (example of an erasure below the export in docs/privacy.md): personal fields of the organization's " +
			"audit events about them erased (audit verify reports them as erased, not tampered), their sessions here deleted, invites to " +
			"their email pseudonymised, their membership removed, and their user row erased only when no other organization has them. " +
			"400 names the field (`kind`, `user_id or email`, `email`); 409 when an admin tries to erase themself." + admins,
		Status: http.StatusAccepted, Example: export})
	r.Document("GET /api/admin/data-requests", edge.Doc{
		Summary:     "List data subject requests",
		Description: "The organization's newest 200, newest first." + admins,
		Example:     map[string][]rampart.PrivacyRequest{"data_requests": {ready, erasure}}})
	r.Document("GET /api/admin/data-requests/{id}", edge.Doc{
		Summary:     "Read a data subject request",
		Description: "Status: pending → ready → downloaded for an export (or failed, with error); completed for an erasure." + admins,
		Example:     ready})
	r.Document("POST /api/admin/data-requests/{id}/link", edge.Doc{
		Summary: "Get the one-time download link of a ready export",
		Description: "Only the admin who asked (403 for another admin). The token is 256 random bits, stored only as its SHA-256, " +
			"valid 15 minutes and for one download; a new link replaces an unused one. 409 when the export is not ready " +
			"(pending, already downloaded, failed) or for an erasure." + admins,
		Status: http.StatusCreated,
		Example: privacy.Link{Token: "q3V9yX0mB1c7f2Zk8LwPpA4sR6tU5vW0xY1zA2bC3dE", URL: privacy.DownloadPath + "q3V9yX0mB1c7f2Zk8LwPpA4sR6tU5vW0xY1zA2bC3dE",
			ExpiresAt: done.Add(privacy.LinkLifetime)}})
	r.Document("GET /api/admin/data-exports/{token}", edge.Doc{
		Summary: "Download an export (once)",
		Description: "application/zip, Content-Disposition: attachment. The archive is deleted from the database in the same statement " +
			"that hands it out (an atomic conditional update: this admin's link, not expired, not used), so a second request is 404, " +
			"as is a wrong, expired or another admin's link. Audited (privacy.export.downloaded)." + admins})
}
