package store

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
)

const sqlInsertAudit = `INSERT INTO audit_events
  (organization_id, actor_type, actor_id, actor_scope, action, target_type, target_id,
   before, after, ip, user_agent, request_id, reason, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`

func auditArgs(ev audit.Event) []any {
	orDefault := func(b json.RawMessage, def string) any {
		if len(b) == 0 {
			if def == "" {
				return nil
			}
			return def
		}
		return string(b)
	}
	var ip any
	if ev.IP.IsValid() {
		ip = ev.IP.String()
	}
	return []any{ev.OrganizationID, string(ev.ActorType), ev.ActorID, orDefault(ev.ActorScope, "{}"),
		ev.Action, ev.TargetType, ev.TargetID, orDefault(ev.Before, ""), orDefault(ev.After, ""),
		ip, ev.UserAgent, ev.RequestID, ev.Reason, orDefault(ev.Metadata, "{}")}
}

func queueAudit(b *pgx.Batch, ev audit.Event) {
	b.Queue(sqlInsertAudit, auditArgs(ev)...)
}

// RecordAudit writes ev in the transaction, so the event commits or rolls
// back with the change it describes. In a tenant transaction the event's
// organization must be the tenant's (row-level security enforces it).
func (tx *Tx) RecordAudit(ctx context.Context, ev audit.Event) error {
	if err := ev.Validate(); err != nil {
		return err
	}
	if c, ok := tx.Claims(); ok && ev.OrganizationID == nil {
		id := c.OrganizationID
		ev.OrganizationID = &id
	}
	_, err := tx.exec(ctx, sqlInsertAudit, auditArgs(ev)...)
	return classify("store.RecordAudit", err)
}
