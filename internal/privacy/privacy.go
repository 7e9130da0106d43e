package privacy

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// LinkLifetime is how long a download link works.
const LinkLifetime = 15 * time.Minute

// Input is a new request: its kind and its subject, by user id or email
// (exactly one).
type Input struct {
	Kind   string
	UserID *uuid.UUID
	Email  string
}

// allowed is the access rule for every request operation: a signed-in
// admin (managing members), never an API token — a request is a person's
// act, and its download is bound to that person.
func allowed(op string, c rampart.Claims) error {
	if err := access.Check(c, access.ActionManageMembers, access.Resource{Kind: access.KindMember}); err != nil {
		return err
	}
	if c.ViaToken() {
		return rampart.Errorf(op, rampart.KindForbidden, "data subject requests are made by a signed-in admin, not an API token")
	}
	return nil
}

func (in Input) validate(op string) error {
	switch in.Kind {
	case rampart.PrivacyExport, rampart.PrivacyErasure:
	default:
		return rampart.Errorf(op, rampart.KindInvalid, "kind: must be \"export\" or \"erasure\"")
	}
	email := strings.TrimSpace(in.Email)
	switch {
	case in.UserID == nil && email == "":
		return rampart.Errorf(op, rampart.KindInvalid, "user_id or email: one is required")
	case in.UserID != nil && email != "":
		return rampart.Errorf(op, rampart.KindInvalid, "user_id or email: give one, not both")
	case in.UserID != nil && *in.UserID == uuid.Nil:
		return rampart.Errorf(op, rampart.KindInvalid, "user_id: must not be the nil UUID")
	case email != "":
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
			return rampart.Errorf(op, rampart.KindInvalid, "email: not a valid address")
		}
	}
	return nil
}

// Request records a data subject request. An export is pending until the
// worker builds it; an erasure is carried out now, in the same
// transaction. Errors: invalid (naming the field), forbidden (not an
// admin, or an API token), not found (no such member of the
// organization), conflict (an admin erasing themself).
func Request(ctx context.Context, st *store.Store, c rampart.Claims, in Input) (rampart.PrivacyRequest, error) {
	const op = "privacy.Request"
	if err := allowed(op, c); err != nil {
		return rampart.PrivacyRequest{}, err
	}
	if err := in.validate(op); err != nil {
		return rampart.PrivacyRequest{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.PrivacyRequest, error) {
		subject, _, err := tx.Privacy().Subject(ctx, in.UserID, strings.ToLower(strings.TrimSpace(in.Email)))
		if err != nil {
			return rampart.PrivacyRequest{}, err
		}
		if in.Kind == rampart.PrivacyErasure && subject == c.UserID {
			return rampart.PrivacyRequest{}, rampart.Errorf(op, rampart.KindConflict, "user_id: an admin cannot erase themself; ask another admin of the organization")
		}
		p, err := tx.Privacy().Create(ctx, in.Kind, subject)
		if err != nil || in.Kind == rampart.PrivacyExport {
			return p, err
		}
		return tx.Privacy().Erase(ctx, p)
	})
}

// Get returns one request of the organization.
func Get(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) (rampart.PrivacyRequest, error) {
	if err := allowed("privacy.Get", c); err != nil {
		return rampart.PrivacyRequest{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.PrivacyRequest, error) {
		return tx.Privacy().Get(ctx, id)
	})
}

// List returns the organization's newest requests.
func List(ctx context.Context, st *store.Store, c rampart.Claims) ([]rampart.PrivacyRequest, error) {
	if err := allowed("privacy.List", c); err != nil {
		return nil, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]rampart.PrivacyRequest, error) {
		return tx.Privacy().List(ctx)
	})
}

// Link is a download link's secret part and expiry.
type Link struct {
	Token     string    `json:"token"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// DownloadPath is the route a link's token is appended to.
const DownloadPath = "/api/admin/data-exports/"

// IssueLink makes a download link for a ready export of the caller (only
// the admin who asked; a new link replaces an unused one). The token is
// 256 random bits; only its SHA-256 is stored.
func IssueLink(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) (Link, error) {
	const op = "privacy.IssueLink"
	if err := allowed(op, c); err != nil {
		return Link{}, err
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(token))
	expires := time.Now().Add(LinkLifetime).UTC().Truncate(time.Microsecond)
	_, err := store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.PrivacyRequest, error) {
		p, err := tx.Privacy().Get(ctx, id)
		if err != nil {
			return p, err
		}
		switch {
		case p.RequestedBy != c.UserID:
			return p, rampart.Errorf(op, rampart.KindForbidden, "only the admin who asked for this export may download it")
		case p.Kind != rampart.PrivacyExport:
			return p, rampart.Errorf(op, rampart.KindConflict, "an erasure has nothing to download")
		case p.Status != rampart.PrivacyReady:
			return p, rampart.Errorf(op, rampart.KindConflict, "the export is %s, not ready: a link is issued only while the archive waits for its one download", p.Status)
		}
		return tx.Privacy().IssueLink(ctx, id, sum[:], expires)
	})
	if err != nil {
		return Link{}, err
	}
	return Link{Token: token, URL: DownloadPath + token, ExpiresAt: expires}, nil
}

// Download is the one download of an export: the archive, deleted from
// the database as it is read. Not found for a wrong, expired, used or
// another admin's link.
func Download(ctx context.Context, st *store.Store, c rampart.Claims, token string) (uuid.UUID, []byte, error) {
	const op = "privacy.Download"
	if err := allowed(op, c); err != nil {
		return uuid.Nil, nil, err
	}
	if len(token) != 43 {
		return uuid.Nil, nil, rampart.Errorf(op, rampart.KindNotFound, "no such download: the link is wrong, expired, already used, or not yours")
	}
	sum := sha256.Sum256([]byte(token))
	var id uuid.UUID
	archive, err := store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]byte, error) {
		var b []byte
		var err error
		id, b, err = tx.Privacy().Take(ctx, sum[:])
		return b, err
	})
	return id, archive, err
}

// BuildPending builds up to limit pending exports (the worker's periodic
// task): each in its requester's tenant transaction, so row-level
// security bounds what it reads. A requester who is no longer an admin
// ends their export as failed. It returns how many it built.
func BuildPending(ctx context.Context, st *store.Store, limit int) (int, error) {
	pending, err := st.Privacy().Pending(ctx, limit)
	if err != nil {
		return 0, err
	}
	built := 0
	for _, p := range pending {
		if !p.RequesterIsAdmin {
			if err := st.Privacy().Fail(ctx, p.OrganizationID, p.ID, "the admin who asked is no longer an admin of the organization"); err != nil {
				return built, err
			}
			continue
		}
		c := rampart.Claims{OrganizationID: p.OrganizationID, UserID: p.RequestedBy, Role: rampart.RoleAdmin}
		err := st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
			subject, email, err := tx.Privacy().PendingExport(ctx, p.ID)
			if err != nil {
				return err
			}
			tables, err := tx.Privacy().ExportTables(ctx, subject, email)
			if err != nil {
				return err
			}
			archive, outcome, err := Archive(p.OrganizationID, p.ID, subject, time.Now(), tables)
			if err != nil {
				return err
			}
			_, err = tx.Privacy().SaveExport(ctx, p.ID, archive, outcome)
			return err
		})
		switch {
		case rampart.ErrorKind(err) == rampart.KindNotFound:
			// Built or taken by another worker meanwhile, or the subject
			// left the organization: the next poll sees the state.
			if ferr := st.Privacy().Fail(ctx, p.OrganizationID, p.ID, "the subject is no longer a member of the organization"); ferr != nil {
				return built, ferr
			}
		case err != nil:
			return built, err
		default:
			built++
		}
	}
	return built, nil
}

// readme is the archive's README.md.
const readme = `# Data export

This archive holds what one organization on this Rampart install holds
about one person (the subject), as of the time in manifest.json. It was
made at an admin's request (a data subject access request) and could be
downloaded once.

- manifest.json: the request, the organization, the subject's user id, the
  time, and the number of rows per file.
- One JSON file per table, each an array of rows (objects), named after
  the table: user (email, display name), memberships, sessions (metadata:
  times, IP, user agent), invites addressed to the subject, api_tokens
  they created (never a token), proposals they wrote or approved, ai_jobs
  they requested, bom_lines, attachments (metadata, not the files), sows,
  budget_lines and change_orders they created or decided, privacy_requests
  about them, and audit_events about them or by them.
- In audit_events, the IP address and user agent appear only on events the
  subject did; before/after snapshots, metadata and reason only on events
  about the subject (an event they did to someone else describes that
  person). An event whose personal fields were erased shows erased_at.
- Other people appear only as ids (who created, approved or decided).

Times are RFC 3339 in UTC. See docs/privacy.md of Rampart for the data map.
`

// Manifest is the archive's manifest.json.
type Manifest struct {
	Format         string           `json:"format"`
	RequestID      uuid.UUID        `json:"request_id"`
	OrganizationID uuid.UUID        `json:"organization_id"`
	SubjectUserID  uuid.UUID        `json:"subject_user_id"`
	GeneratedAt    time.Time        `json:"generated_at"`
	Rows           map[string]int   `json:"rows"`
	Files          []string         `json:"files"`
	Sizes          map[string]int64 `json:"bytes"`
}

// Archive builds the zip of an export and its outcome (rows per table).
func Archive(org, request, subject uuid.UUID, at time.Time, tables []store.ExportTable) ([]byte, json.RawMessage, error) {
	m := Manifest{Format: "rampart.privacy.export.v1", RequestID: request, OrganizationID: org, SubjectUserID: subject,
		GeneratedAt: at.UTC(), Rows: map[string]int{}, Sizes: map[string]int64{}}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: at.UTC()})
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	if err := add("README.md", []byte(readme)); err != nil {
		return nil, nil, err
	}
	for _, t := range tables {
		var rows []json.RawMessage
		if err := json.Unmarshal(t.Rows, &rows); err != nil {
			return nil, nil, fmt.Errorf("export table %s: %w", t.Name, err)
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, t.Rows, "", "  "); err != nil {
			return nil, nil, fmt.Errorf("export table %s: %w", t.Name, err)
		}
		name := t.Name + ".json"
		if err := add(name, pretty.Bytes()); err != nil {
			return nil, nil, err
		}
		m.Rows[t.Name], m.Sizes[name] = len(rows), int64(pretty.Len())
		m.Files = append(m.Files, name)
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	if err := add("manifest.json", mb); err != nil {
		return nil, nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, nil, err
	}
	outcome, _ := json.Marshal(map[string]any{"rows": m.Rows})
	return buf.Bytes(), outcome, nil
}
