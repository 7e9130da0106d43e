-- Vendors, crew, and the choices made from their rankings (staffing.go).
-- Every statement also filters by organization_id; row-level security is
-- what makes it safe. crew_members.day_rate_enc holds a fieldcrypt
-- envelope only: the plaintext rate never reaches these statements.

-- fragment: vendor_columns
organization_id, id, name, category, price_band, lead_time_days, on_time_count, late_count,
depot_latitude::float8, depot_longitude::float8, created_by, created_at, updated_at

-- name: ListVendors
SELECT ${vendor_columns} FROM vendors
WHERE organization_id = $1 AND ($2::text IS NULL OR category = $2)
ORDER BY category, name, id LIMIT 1000

-- name: GetVendor
SELECT ${vendor_columns} FROM vendors WHERE organization_id = $1 AND id = $2

-- name: GetVendorLocked
SELECT ${vendor_columns} FROM vendors WHERE organization_id = $1 AND id = $2 FOR UPDATE

-- name: CreateVendor
INSERT INTO vendors (organization_id, id, name, category, price_band, lead_time_days, on_time_count, late_count,
                     depot_latitude, depot_longitude, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING ${vendor_columns}

-- name: UpdateVendor
UPDATE vendors SET name = $3, category = $4, price_band = $5, lead_time_days = $6, on_time_count = $7, late_count = $8,
  depot_latitude = $9, depot_longitude = $10, updated_at = now()
WHERE organization_id = $1 AND id = $2
RETURNING ${vendor_columns}

-- name: DeleteVendor
DELETE FROM vendors WHERE organization_id = $1 AND id = $2 RETURNING ${vendor_columns}

-- name: VenueCoordinates
-- A venue's coordinates by code; no row when the venue is not visible.
SELECT latitude::float8, longitude::float8 FROM venues WHERE organization_id = $1 AND code = $2

-- fragment: crew_columns
organization_id, id, name, skills, certifications, availability, created_by, created_at, updated_at

-- fragment: crew_sealed_columns
currency, day_rate_enc, field_key_id

-- name: ListCrew
SELECT ${crew_columns} FROM crew_members WHERE organization_id = $1 ORDER BY name, id LIMIT 1000

-- name: ListCrewSealed
SELECT ${crew_columns}, ${crew_sealed_columns} FROM crew_members WHERE organization_id = $1 ORDER BY name, id LIMIT 1000

-- name: GetCrew
SELECT ${crew_columns} FROM crew_members WHERE organization_id = $1 AND id = $2

-- name: GetCrewLocked
SELECT ${crew_columns}, ${crew_sealed_columns} FROM crew_members WHERE organization_id = $1 AND id = $2 FOR UPDATE

-- name: CreateCrew
INSERT INTO crew_members (organization_id, id, name, skills, certifications, availability, currency, day_rate_enc, field_key_id, created_by)
VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10)
RETURNING ${crew_columns}

-- name: UpdateCrew
UPDATE crew_members SET name = $3, skills = $4, certifications = $5::jsonb, availability = $6::jsonb, updated_at = now()
WHERE organization_id = $1 AND id = $2
RETURNING ${crew_columns}

-- name: UpdateCrewSealed
UPDATE crew_members SET name = $3, skills = $4, certifications = $5::jsonb, availability = $6::jsonb, updated_at = now(),
  currency = $7, day_rate_enc = $8, field_key_id = $9
WHERE organization_id = $1 AND id = $2
RETURNING ${crew_columns}

-- name: DeleteCrew
DELETE FROM crew_members WHERE organization_id = $1 AND id = $2 RETURNING ${crew_columns}

-- fragment: vendor_choice_columns
c.organization_id, c.id, c.proposal_id, c.category, c.vendor_id, v.name, c.chosen_by, c.created_at, c.updated_at

-- name: GetVendorChoiceLocked
SELECT ${vendor_choice_columns} FROM vendor_choices c
JOIN vendors v ON v.organization_id = c.organization_id AND v.id = c.vendor_id
WHERE c.organization_id = $1 AND c.proposal_id = $2 AND c.category = $3 FOR UPDATE OF c

-- name: UpsertVendorChoice
-- The choice takes its proposal's venue (RLS then decides whether the
-- caller may write there); the vendor must be of the choice's category.
WITH c AS (
  INSERT INTO vendor_choices (organization_id, id, proposal_id, venue_code, category, vendor_id, chosen_by)
  SELECT p.organization_id, $2, p.id, p.venue_code, $4, v.id, $6
  FROM proposals p JOIN vendors v ON v.organization_id = p.organization_id AND v.id = $5 AND v.category = $4
  WHERE p.organization_id = $1 AND p.id = $3
  ON CONFLICT (organization_id, proposal_id, category)
  DO UPDATE SET vendor_id = EXCLUDED.vendor_id, chosen_by = EXCLUDED.chosen_by, updated_at = now()
  RETURNING *)
SELECT ${vendor_choice_columns} FROM c JOIN vendors v ON v.organization_id = c.organization_id AND v.id = c.vendor_id

-- name: GetVendorChoiceByID
SELECT ${vendor_choice_columns} FROM vendor_choices c
JOIN vendors v ON v.organization_id = c.organization_id AND v.id = c.vendor_id
WHERE c.organization_id = $1 AND c.id = $2

-- name: DeleteVendorChoice
DELETE FROM vendor_choices WHERE organization_id = $1 AND id = $2

-- name: ListVendorChoices
SELECT ${vendor_choice_columns} FROM vendor_choices c
JOIN vendors v ON v.organization_id = c.organization_id AND v.id = c.vendor_id
WHERE c.organization_id = $1 AND c.proposal_id = $2 ORDER BY c.category

-- fragment: crew_assignment_columns
a.organization_id, a.id, a.proposal_id, a.crew_member_id, a.starts_on::text, a.ends_on::text, m.name, a.assigned_by, a.created_at

-- name: CreateCrewAssignment
WITH a AS (
  INSERT INTO crew_assignments (organization_id, id, proposal_id, venue_code, crew_member_id, starts_on, ends_on, assigned_by)
  SELECT p.organization_id, $2, p.id, p.venue_code, m.id, $5::date, $6::date, $7
  FROM proposals p JOIN crew_members m ON m.organization_id = p.organization_id AND m.id = $4
  WHERE p.organization_id = $1 AND p.id = $3
  RETURNING *)
SELECT ${crew_assignment_columns} FROM a JOIN crew_members m ON m.organization_id = a.organization_id AND m.id = a.crew_member_id

-- name: ListCrewAssignments
SELECT ${crew_assignment_columns} FROM crew_assignments a
JOIN crew_members m ON m.organization_id = a.organization_id AND m.id = a.crew_member_id
WHERE a.organization_id = $1 AND a.proposal_id = $2 ORDER BY a.starts_on, m.name, a.id

-- name: GetCrewAssignment
SELECT ${crew_assignment_columns} FROM crew_assignments a
JOIN crew_members m ON m.organization_id = a.organization_id AND m.id = a.crew_member_id
WHERE a.organization_id = $1 AND a.id = $2

-- name: BusyCrew
-- Assignments to other proposals than $2 that overlap $3..$4: the days a
-- member is already booked (as far as the caller may see).
SELECT crew_member_id, starts_on::text, ends_on::text FROM crew_assignments
WHERE organization_id = $1 AND proposal_id <> $2 AND starts_on <= $4::date AND ends_on >= $3::date

-- name: DeleteCrewAssignment
DELETE FROM crew_assignments WHERE organization_id = $1 AND id = $2

-- name: CrewFieldKeyCounts
-- Day rates per key across tenants (service path), for `keys status`.
SELECT field_key_id, count(*), count(*) FROM crew_members WHERE field_key_id IS NOT NULL GROUP BY field_key_id

-- name: StaleSealedCrew
-- A batch of crew rows sealed under another key than $1, after the cursor
-- ($2, $3); locked, and skipped when another rotation holds them.
SELECT organization_id, id, day_rate_enc, field_key_id FROM crew_members
WHERE field_key_id IS NOT NULL AND field_key_id <> $1 AND (organization_id, id) > ($2::uuid, $3::uuid)
ORDER BY organization_id, id LIMIT $4 FOR UPDATE SKIP LOCKED

-- name: ResealCrew
UPDATE crew_members SET day_rate_enc = $3, field_key_id = $4
WHERE organization_id = $1 AND id = $2 AND field_key_id = $5
