-- Organizations, users and memberships (tenancy.go, orgref.go); venues
-- are in venues.sql. Every tenant statement also filters by
-- organization_id (index use, defence in depth); row-level security is
-- what makes it safe. Creating organizations and users is the service
-- path's.

-- fragment: organization_columns
id, name, slug, created_at

-- fragment: membership_columns
-- The columns a membership is read with, and written with by an invite
-- or an operator (in this order: VALUES ($1, $2, $3, $4)).
organization_id, user_id, role, venue_codes

-- name: CreateOrganization
INSERT INTO organizations (name, slug) VALUES ($1, $2)
RETURNING ${organization_columns}

-- name: GetOrganization
SELECT ${organization_columns} FROM organizations WHERE id = $1

-- name: OrganizationBySlug
SELECT ${organization_columns} FROM organizations WHERE slug = $1

-- name: OrganizationByRef
-- The organizations a reference names: by id ($1, NULL when the reference
-- is not a UUID) or by slug ($2). Slugs may look like UUIDs, so both are
-- looked up and an ambiguity is refused.
SELECT ${organization_columns} FROM organizations
WHERE id = $1::uuid OR slug = $2::text ORDER BY (id = $1::uuid) DESC NULLS LAST LIMIT 2

-- name: UpsertUser
INSERT INTO users (email, display_name) VALUES ($1, $2)
ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
RETURNING ${user_columns}

-- name: AddMembership
INSERT INTO memberships (${membership_columns})
VALUES ($1, $2, $3, $4)

-- name: ListMembers
SELECT ${membership_columns}
FROM memberships WHERE organization_id = $1 ORDER BY created_at, user_id

-- name: GetBranding
SELECT branding FROM organizations WHERE id = $1

-- name: SetBranding
UPDATE organizations SET branding = $2, updated_at = now() WHERE id = $1 RETURNING branding
