package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// sqlInsertAudit is in queries/auditlog.sql.
var sqlInsertAudit = query("InsertAudit")

// jsonArg passes raw JSON text verbatim (the column is json, so the stored
// text is exactly what the MAC covers); empty means NULL.
func jsonArg(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func auditArgs(s audit.Stored) []any {
	var ip any
	if s.IP.IsValid() {
		ip = s.IP.String()
	}
	// pgtype.UUID encodes straight to the binary form; uuid.UUID would go
	// through driver.Valuer (a string, parsed again) on this hot path.
	org := pgtype.UUID{}
	if s.OrganizationID != nil {
		org = pgtype.UUID{Bytes: *s.OrganizationID, Valid: true}
	}
	return []any{pgtype.UUID{Bytes: s.EventKey, Valid: true}, org, s.OccurredAt, string(s.ActorType), s.ActorID, jsonArg(s.ActorScope),
		s.Action, s.TargetType, s.TargetID, jsonArg(s.Before), jsonArg(s.After),
		ip, s.UserAgent, s.RequestID, s.Reason, jsonArg(s.Metadata), s.MACKeyID, s.MAC, int16(s.Scheme), s.PIISalt, s.PIICommit}
}

// sign validates and signs an event for storage.
func (s *Store) sign(ev audit.Event) (audit.Stored, error) {
	if err := ev.Validate(); err != nil {
		return audit.Stored{}, err
	}
	if s.audit == nil {
		return audit.Stored{}, rampart.Errorf("store.audit", rampart.KindUnavailable, "no audit key configured: audit events cannot be written")
	}
	return s.audit.Sign(ev, time.Now()), nil
}

func (s *Store) queueAudit(b *pgx.Batch, ev audit.Event) error {
	st, err := s.sign(ev)
	if err != nil {
		return err
	}
	b.Queue(sqlInsertAudit, auditArgs(st)...)
	return nil
}

// RecordAudit adds ev to the transaction: it is signed now and inserted
// with the COMMIT, in the same pipelined batch, so the event commits or
// rolls back with the change it describes and costs no extra round trip.
// In a tenant transaction the event's organization must be the tenant's
// (row-level security enforces it: a mismatch aborts the commit).
// audit.Record is the usual way to call it.
func (tx *txn) recordAudit(ctx context.Context, ev audit.Event) error {
	if ci, ok := ctx.Value(clientKey{}).(ClientInfo); ok && !ev.IP.IsValid() && ev.UserAgent == "" && ev.RequestID == "" {
		ev = ci.Event(ev)
	}
	if c, ok := tx.tenantClaims(); ok && ev.OrganizationID == nil {
		id := c.OrganizationID
		ev.OrganizationID = &id
	}
	st, err := tx.store.sign(ev)
	if err != nil {
		return err
	}
	tx.pending = append(tx.pending, st)
	return nil
}

type clientKey struct{}

// WithClient returns a context whose audit events (those that do not set
// their own) carry the client's IP, user agent and request id.
func WithClient(ctx context.Context, ci ClientInfo) context.Context {
	return context.WithValue(ctx, clientKey{}, ci)
}
