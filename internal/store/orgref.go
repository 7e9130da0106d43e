package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// sqlOrganizationByRef is in queries/tenancy.sql.
var sqlOrganizationByRef = query("OrganizationByRef")

// ResolveOrganization finds the organization an operator named by its id
// or its slug (the CLI's --org). Errors: invalid (empty), not found (no
// organization has that id or slug; the message names the value),
// conflict (the value is one organization's id and another's slug).
func (tx ProvisionTx) ResolveOrganization(ctx context.Context, ref string) (rampart.Organization, error) {
	const op = "store.ResolveOrganization"
	if ref == "" {
		return rampart.Organization{}, rampart.Errorf(op, rampart.KindInvalid, "an organization id or slug is required")
	}
	var id *uuid.UUID
	if u, err := uuid.Parse(ref); err == nil {
		id = &u
	}
	rows, err := tx.query(ctx, sqlOrganizationByRef, id, ref)
	if err != nil {
		return rampart.Organization{}, classify(op, err)
	}
	orgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.Organization, error) {
		var o rampart.Organization
		return o, r.Scan(&o.ID, &o.Name, &o.Slug, &o.CreatedAt)
	})
	if err != nil {
		return rampart.Organization{}, classify(op, err)
	}
	switch len(orgs) {
	case 0:
		return rampart.Organization{}, rampart.Errorf(op, rampart.KindNotFound, "no organization with id or slug %q", ref)
	case 1:
		return orgs[0], nil
	}
	// Ordered: the id match first. Acting on either could hit the wrong
	// tenant (a slug can be chosen to look like another organization's
	// id), so name both unambiguously instead.
	return rampart.Organization{}, rampart.Errorf(op, rampart.KindConflict,
		"%q is both the id of one organization (slug %q) and the slug of another (id %s): name the one you mean by that slug or that id",
		ref, orgs[0].Slug, orgs[1].ID)
}

// ResolveOrganization is Tx.ResolveOrganization in a read-only service
// transaction of its own. A lookup changes nothing, so it records no
// service.invoked event.
func (s *Store) ResolveOrganization(ctx context.Context, ref string) (rampart.Organization, error) {
	var org rampart.Organization
	err := s.auditTx(ctx, "store.ResolveOrganization", true, func(ctx context.Context, tx *txn) error {
		var err error
		org, err = ProvisionTx{tx}.ResolveOrganization(ctx, ref)
		return err
	})
	return org, err
}
