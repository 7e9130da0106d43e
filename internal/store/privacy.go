package store

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Data subject requests (docs/privacy.md): the tenant aggregate an admin's
// transaction reaches (tx.Privacy()), and the export worker's door
// (st.Privacy()). Everything about a subject is read under the admin's
// claims: row-level security keeps it to the admin's organization.

// From queries/privacy.sql.
var (
	sqlSubjectMember         = query("SubjectMember")
	sqlCreatePrivacyRequest  = query("CreatePrivacyRequest")
	sqlGetPrivacyRequest     = query("GetPrivacyRequest")
	sqlListPrivacyRequests   = query("ListPrivacyRequests")
	sqlCompleteErasure       = query("CompleteErasure")
	sqlEraseMember           = query("EraseMember")
	sqlSchemeOneSubject      = query("SchemeOneSubjectEvents")
	sqlPendingExports        = query("PendingExports")
	sqlFailExport            = query("FailExport")
	sqlPendingExport         = query("PendingExport")
	sqlSaveExport            = query("SaveExport")
	sqlIssueExportLink       = query("IssueExportLink")
	sqlTakeExport            = query("TakeExport")
	sqlExportUser            = query("ExportUser")
	sqlExportMemberships     = query("ExportMemberships")
	sqlExportSessions        = query("ExportSessions")
	sqlExportInvites         = query("ExportInvites")
	sqlExportAPITokens       = query("ExportAPITokens")
	sqlExportProposals       = query("ExportProposals")
	sqlExportAIJobs          = query("ExportAIJobs")
	sqlExportBOMLines        = query("ExportBOMLines")
	sqlExportAttachments     = query("ExportAttachments")
	sqlExportSOWs            = query("ExportSOWs")
	sqlExportBudgetLines     = query("ExportBudgetLines")
	sqlExportChangeOrders    = query("ExportChangeOrders")
	sqlExportPrivacyRequests = query("ExportPrivacyRequests")
	sqlExportAuditEvents     = query("ExportAuditEvents")
)

// PrivacyTx is the organization's data subject requests.
type PrivacyTx struct{ tenant }

// Privacy returns the data subject request methods.
func (tx *TenantTx) Privacy() PrivacyTx { return PrivacyTx{tx.tenant} }

func scanPrivacyRequest(r pgx.Row) (rampart.PrivacyRequest, error) {
	var p rampart.PrivacyRequest
	var outcome *string
	var sum []byte
	err := r.Scan(&p.OrganizationID, &p.ID, &p.Kind, &p.SubjectUserID, &p.RequestedBy, &p.Status, &outcome, &p.Error,
		&p.ArchiveBytes, &sum, &p.LinkExpiresAt, &p.DownloadedAt, &p.CreatedAt, &p.CompletedAt)
	if outcome != nil {
		p.Outcome = json.RawMessage(*outcome)
	}
	if len(sum) > 0 {
		p.ArchiveSHA256 = hex.EncodeToString(sum)
	}
	return p, err
}

// Subject finds a member of the organization by id (or, when id is nil,
// by email) and returns their id and email. Anyone else — another
// organization's member, a former member, nobody — is not found.
func (tx PrivacyTx) Subject(ctx context.Context, id *uuid.UUID, email string) (uuid.UUID, string, error) {
	const op = "store.PrivacySubject"
	var uid uuid.UUID
	var em string
	err := tx.queryRow(ctx, sqlSubjectMember, tx.tc.OrganizationID, id, email).Scan(&uid, &em)
	if errors.Is(err, pgx.ErrNoRows) {
		return uid, "", rampart.Errorf(op, rampart.KindNotFound, "no member of this organization with that user_id or email")
	}
	return uid, em, classify(op, err)
}

// requestEvent is the audit event of a change to a request: ids only.
func (tx PrivacyTx) requestEvent(action string, p rampart.PrivacyRequest, before, after any, meta map[string]any) audit.Event {
	ev := audit.Event{Action: action, TargetType: "privacy_request", TargetID: p.ID.String()}
	if before != nil {
		ev.Before = snapshot(before)
	}
	if after != nil {
		ev.After = snapshot(after)
	}
	if meta == nil {
		meta = map[string]any{}
	}
	meta["kind"], meta["subject_user_id"] = p.Kind, p.SubjectUserID
	ev.Metadata = snapshot(meta)
	return tx.userEvent(ev)
}

func requestSnapshot(p rampart.PrivacyRequest) map[string]any {
	return map[string]any{"id": p.ID, "kind": p.Kind, "subject_user_id": p.SubjectUserID, "requested_by": p.RequestedBy, "status": p.Status}
}

// Create records a request by the transaction's admin about subject. An
// export's request is an event of its own; an erasure's is recorded by
// Erase, in the same transaction, as one event with its outcome.
func (tx PrivacyTx) Create(ctx context.Context, kind string, subject uuid.UUID) (rampart.PrivacyRequest, error) {
	const op = "store.CreatePrivacyRequest"
	p, err := scanPrivacyRequest(tx.queryRow(ctx, sqlCreatePrivacyRequest, tx.tc.OrganizationID, kind, subject, tx.tc.UserID))
	if err != nil || kind != rampart.PrivacyExport {
		return p, classify(op, err)
	}
	return p, tx.recordAudit(ctx, tx.requestEvent(audit.ActionPrivacyRequested, p, nil, requestSnapshot(p), nil))
}

// Get reads one request; another organization's is not found.
func (tx PrivacyTx) Get(ctx context.Context, id uuid.UUID) (rampart.PrivacyRequest, error) {
	p, err := scanPrivacyRequest(tx.queryRow(ctx, sqlGetPrivacyRequest, tx.tc.OrganizationID, id))
	return p, classify("store.PrivacyRequest", err)
}

// List returns the organization's newest 200 requests.
func (tx PrivacyTx) List(ctx context.Context) ([]rampart.PrivacyRequest, error) {
	const op = "store.PrivacyRequests"
	rows, err := tx.query(ctx, sqlListPrivacyRequests, tx.tc.OrganizationID)
	if err != nil {
		return nil, classify(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.PrivacyRequest, error) { return scanPrivacyRequest(r) })
	return out, classify(op, err)
}

// Erase carries out a pending erasure request in this transaction
// (privacy_erase_member in migration 021 does the work, under the
// database's own checks) and records its outcome.
func (tx PrivacyTx) Erase(ctx context.Context, p rampart.PrivacyRequest) (rampart.PrivacyRequest, error) {
	const op = "store.Erase"
	// Scheme-1 events about them: each attested (its MAC checked, its
	// remaining fields signed) so that it can be erased verifiably.
	_, email, err := tx.Subject(ctx, &p.SubjectUserID, "")
	if err != nil {
		return p, err
	}
	ids, macs, err := tx.attestSchemeOne(ctx, p.SubjectUserID, email)
	if err != nil {
		return p, classify(op, err)
	}
	var outcome string
	if err := tx.queryRow(ctx, sqlEraseMember, p.SubjectUserID, ids, macs).Scan(&outcome); err != nil {
		var pg *pgconn.PgError
		if errors.As(err, &pg) {
			switch pg.Code {
			case "P0002": // no_data_found
				return p, rampart.Errorf(op, rampart.KindNotFound, "no member of this organization with that user_id")
			case codeCheckViolation:
				return p, rampart.Errorf(op, rampart.KindConflict, "an admin cannot erase themself: ask another admin of the organization")
			}
		}
		return p, classify(op, err)
	}
	done, err := scanPrivacyRequest(tx.queryRow(ctx, sqlCompleteErasure, tx.tc.OrganizationID, p.ID, outcome))
	if err != nil {
		return done, classify(op, err)
	}
	var meta map[string]any
	_ = json.Unmarshal([]byte(outcome), &meta)
	return done, tx.recordAudit(ctx, tx.requestEvent(audit.ActionPrivacyErasureFinished, done, nil, requestSnapshot(done), meta))
}

// attestSchemeOne returns the ids of the organization's scheme-1 events
// about subject whose MAC verifies, with their redaction MACs.
func (tx PrivacyTx) attestSchemeOne(ctx context.Context, subject uuid.UUID, email string) ([]int64, [][]byte, error) {
	if tx.store.audit == nil {
		return nil, nil, rampart.Errorf("store.Erase", rampart.KindUnavailable, "no audit key configured")
	}
	rows, err := tx.query(ctx, sqlSchemeOneSubject, tx.tc.OrganizationID, subject, email)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	ids, macs := []int64{}, [][]byte{}
	var actorType string
	var scope, before, after, meta, ip *string
	var xact int64
	for rows.Next() {
		var st audit.Stored
		if err := rows.Scan(&st.ID, &st.EventKey, &st.OrganizationID, &st.OccurredAt, &actorType, &st.ActorID, &scope, &st.Action,
			&st.TargetType, &st.TargetID, &before, &after, &ip, &st.UserAgent, &st.RequestID, &st.Reason, &meta,
			&xact, &st.MACKeyID, &st.MAC); err != nil {
			return nil, nil, err
		}
		st.ActorType = audit.ActorType(actorType)
		st.ActorScope, st.Before, st.After, st.Metadata = raw(scope), raw(before), raw(after), raw(meta)
		if ip != nil {
			st.IP = audit.ParseIP(*ip)
		}
		if mac, ok := tx.store.audit.RedactV1(&st); ok {
			ids, macs = append(ids, st.ID), append(macs, mac)
		}
	}
	return ids, macs, rows.Err()
}

// ExportTable is one table's rows about a subject, as a JSON array.
type ExportTable struct {
	Name string
	Rows json.RawMessage
}

// exportQueries are the archive's tables, in order.
var exportQueries = []struct{ name, sql string }{
	{"user", sqlExportUser},
	{"memberships", sqlExportMemberships},
	{"sessions", sqlExportSessions},
	{"invites", sqlExportInvites},
	{"api_tokens", sqlExportAPITokens},
	{"proposals", sqlExportProposals},
	{"ai_jobs", sqlExportAIJobs},
	{"bom_lines", sqlExportBOMLines},
	{"attachments", sqlExportAttachments},
	{"sows", sqlExportSOWs},
	{"budget_lines", sqlExportBudgetLines},
	{"change_orders", sqlExportChangeOrders},
	{"privacy_requests", sqlExportPrivacyRequests},
	{"audit_events", sqlExportAuditEvents},
}

// ExportTableNames lists the tables an export archive holds, in order.
func ExportTableNames() []string {
	out := make([]string, len(exportQueries))
	for i, q := range exportQueries {
		out[i] = q.name
	}
	return out
}

// PendingExport locks a pending export of the organization for building
// and returns its subject's id and email. Not found when it is not
// pending (built, failed, or locked by another worker), or when the
// subject is no longer a member.
func (tx PrivacyTx) PendingExport(ctx context.Context, id uuid.UUID) (uuid.UUID, string, error) {
	const op = "store.PendingExport"
	var subject uuid.UUID
	if err := tx.queryRow(ctx, sqlPendingExport, tx.tc.OrganizationID, id).Scan(&subject); err != nil {
		return subject, "", classify(op, err)
	}
	_, email, err := tx.Subject(ctx, &subject, "")
	return subject, email, err
}

// ExportTables reads everything the organization holds about subject.
func (tx PrivacyTx) ExportTables(ctx context.Context, subject uuid.UUID, email string) ([]ExportTable, error) {
	const op = "store.ExportTables"
	b := &pgx.Batch{}
	for _, q := range exportQueries {
		if strings.Contains(q.sql, "$3") {
			b.Queue(q.sql, tx.tc.OrganizationID, subject, email)
		} else {
			b.Queue(q.sql, tx.tc.OrganizationID, subject)
		}
	}
	br := tx.sendBatch(ctx, b)
	out := make([]ExportTable, 0, len(exportQueries))
	for _, q := range exportQueries {
		var rows string
		if err := br.QueryRow().Scan(&rows); err != nil {
			_ = br.Close()
			return nil, classify(op, err)
		}
		out = append(out, ExportTable{Name: q.name, Rows: json.RawMessage(rows)})
	}
	return out, classify(op, br.Close())
}

// SaveExport stores a built archive and marks the request ready.
func (tx PrivacyTx) SaveExport(ctx context.Context, id uuid.UUID, archive []byte, outcome json.RawMessage) (rampart.PrivacyRequest, error) {
	const op = "store.SaveExport"
	p, err := scanPrivacyRequest(tx.queryRow(ctx, sqlSaveExport, tx.tc.OrganizationID, id, archive, string(outcome)))
	if err != nil {
		return p, classify(op, err)
	}
	var meta map[string]any
	_ = json.Unmarshal(outcome, &meta)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["archive_bytes"], meta["archive_sha256"] = p.ArchiveBytes, p.ArchiveSHA256
	return p, tx.recordAudit(ctx, tx.requestEvent(audit.ActionPrivacyExportReady, p, nil, requestSnapshot(p), meta))
}

// IssueLink sets the download link's token hash and expiry on a ready
// export of the transaction's admin (anyone else's: not found).
func (tx PrivacyTx) IssueLink(ctx context.Context, id uuid.UUID, tokenHash []byte, expires time.Time) (rampart.PrivacyRequest, error) {
	const op = "store.IssueExportLink"
	p, err := scanPrivacyRequest(tx.queryRow(ctx, sqlIssueExportLink, tx.tc.OrganizationID, id, tx.tc.UserID, tokenHash, expires))
	if err != nil {
		return p, classify(op, err)
	}
	return p, tx.recordAudit(ctx, tx.requestEvent(audit.ActionPrivacyLinkIssued, p, nil, nil, map[string]any{"expires_at": expires.UTC()}))
}

// Take is the one download: it returns the archive of the ready export
// whose link token hashes to tokenHash, if the transaction's admin asked
// for it and the link has not expired, and deletes the archive in the
// same statement. Anything else is not found.
func (tx PrivacyTx) Take(ctx context.Context, tokenHash []byte) (uuid.UUID, []byte, error) {
	const op = "store.TakeExport"
	var id, subject uuid.UUID
	var archive []byte
	if err := tx.queryRow(ctx, sqlTakeExport, tx.tc.OrganizationID, tokenHash, tx.tc.UserID).Scan(&id, &subject, &archive); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return id, nil, rampart.Errorf(op, rampart.KindNotFound, "no such download: the link is wrong, expired, already used, or not yours")
		}
		return id, nil, classify(op, err)
	}
	p := rampart.PrivacyRequest{ID: id, Kind: rampart.PrivacyExport, SubjectUserID: subject}
	return id, archive, tx.recordAudit(ctx, tx.requestEvent(audit.ActionPrivacyExportTaken, p, nil, nil, map[string]any{"archive_bytes": len(archive)}))
}

// Privacy is the export worker's door: the pending exports of every
// organization (the building itself runs in the requester's tenant
// transaction).
type Privacy struct{ s *Store }

// Privacy returns the export worker's operations.
func (s *Store) Privacy() Privacy { return Privacy{s} }

// PendingExport is an export waiting for the worker.
type PendingExport struct {
	OrganizationID, ID, RequestedBy uuid.UUID
	RequesterIsAdmin                bool
}

// Pending lists up to limit pending exports, oldest first, in a read-only
// transaction on the service pool (a poll that writes nothing, so it is
// not a service.invoked event every few seconds).
func (p Privacy) Pending(ctx context.Context, limit int) ([]PendingExport, error) {
	const op = "store.PendingExports"
	var out []PendingExport
	err := p.s.auditTx(ctx, op, true, func(ctx context.Context, tx *txn) error {
		rows, err := tx.query(ctx, sqlPendingExports, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (PendingExport, error) {
			var x PendingExport
			return x, r.Scan(&x.OrganizationID, &x.ID, &x.RequestedBy, &x.RequesterIsAdmin)
		})
		return err
	})
	return out, classify(op, err)
}

// Fail ends a pending export that cannot be built (its requester is no
// longer an admin), on the audited service path.
func (p Privacy) Fail(ctx context.Context, orgID, id uuid.UUID, why string) error {
	const op = "store.FailExport"
	err := p.s.asService(ctx, "end a data export that cannot be built", func(ctx context.Context, tx *txn) error {
		tag, err := tx.exec(ctx, sqlFailExport, orgID, id, why)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		meta, _ := json.Marshal(map[string]any{"kind": rampart.PrivacyExport, "error": why})
		return tx.recordAudit(ctx, audit.Event{OrganizationID: &orgID, ActorType: audit.ActorSystem, ActorID: tx.service,
			Action: audit.ActionPrivacyExportFailed, TargetType: "privacy_request", TargetID: id.String(), Metadata: meta})
	})
	return classify(op, err)
}
