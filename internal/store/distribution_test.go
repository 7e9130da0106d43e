package store

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
)

// distributionExceptions are the keys of tenant tables that do not
// include organization_id, by table and constraint, each with its reason
// (docs/scaling.md). The list may only shrink.
var distributionExceptions = map[string]string{
	// Platform events have no organization (organization_id is NULL):
	// the log is one chain per organization plus the platform's; its
	// identity column orders the platform chain.
	"public.audit_events audit_events_pkey":          "platform events have no organization",
	"public.audit_events audit_events_event_key_key": "platform events have no organization",
	// A magic link is redeemed before its organization is known: the
	// lookup is by the token's hash across tenants. Distributed, the
	// hash → organization lookup is a small reference table.
	"public.invites invites_token_hash_key": "redeemed before the organization is known",
	// A Stripe event names its customer, not the organization: the
	// webhook finds the organization through this key (one organization
	// per customer), as an invite's redemption finds it through its token.
	"public.billing_accounts billing_accounts_stripe_customer_id_key": "a webhook finds the organization by its Stripe customer",
}

// tenantKeyViolations lists, for every table with an organization_id
// column (the tenant tables, and the tenant root's own id), the keys a
// distribution by tenant would break: a primary key or a unique
// constraint that does not include organization_id, and a foreign key to
// a tenant table that does not carry organization_id on both sides.
const tenantKeyViolations = `
WITH tenant AS (
  SELECT c.oid, n.nspname || '.' || c.relname AS name, a.attnum AS org
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped
   WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public'
)
SELECT t.name, con.conname, con.contype::text,
       CASE con.contype
         WHEN 'f' THEN 'a foreign key without organization_id on both sides'
         ELSE 'a key without organization_id'
       END
  FROM tenant t
  JOIN pg_constraint con ON con.conrelid = t.oid
 WHERE (con.contype IN ('p', 'u') AND NOT t.org = ANY (con.conkey))
    OR (con.contype = 'f'
        AND con.confrelid IN (SELECT oid FROM tenant)
        AND NOT (t.org = ANY (con.conkey)
                 AND (SELECT org FROM tenant WHERE oid = con.confrelid) = ANY (con.confkey)))
 ORDER BY 1, 2`

// TestSchemaIsReadyToDistributeByTenant: every tenant table's primary key,
// unique keys and foreign keys to other tenant tables include
// organization_id, so the schema can be distributed by tenant (Citus-style,
// the tenant id as distribution column) without a rewrite. It reads the
// live catalog, so a new table is checked unasked; exceptions carry their
// reason in distributionExceptions.
func TestSchemaIsReadyToDistributeByTenant(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tables int
	if err := conn.QueryRow(ctx, `SELECT count(*)::int FROM information_schema.columns
WHERE table_schema = 'public' AND column_name = 'organization_id'`).Scan(&tables); err != nil || tables < 10 {
		t.Fatalf("found %d tenant tables (%v): the catalog query sees too few", tables, err)
	}
	rows, err := conn.Query(ctx, tenantKeyViolations)
	if err != nil {
		t.Fatal(err)
	}
	type violation struct{ table, constraint, kind, why string }
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (violation, error) {
		var v violation
		return v, r.Scan(&v.table, &v.constraint, &v.kind, &v.why)
	})
	if err != nil {
		t.Fatal(err)
	}
	var excused []string
	for _, v := range found {
		if _, ok := distributionExceptions[v.table+" "+v.constraint]; ok {
			excused = append(excused, v.table+" "+v.constraint)
			continue
		}
		t.Errorf("%s: %s (%s) is %s", v.table, v.constraint, v.kind, v.why)
	}
	for key := range distributionExceptions {
		if !slices.Contains(excused, key) {
			t.Errorf("%s is listed as an exception but keeps to the rule (or is gone): remove it from distributionExceptions", key)
		}
	}

	// The check can fail: a table keyed on id alone is reported.
	if _, err := conn.Exec(ctx, `CREATE TABLE public.distribution_probe (id uuid PRIMARY KEY, organization_id uuid NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(*)::int FROM (%s) v WHERE v.name = 'public.distribution_probe'`, tenantKeyViolations)).Scan(&n); err != nil || n != 1 {
		t.Fatalf("a table keyed on id alone: %d findings (%v), want 1", n, err)
	}
}
