-- Venues: a tenant's places. Every statement also filters by
-- organization_id (index use, defence in depth); row-level security is
-- what makes it safe. Loaded by queries.go: a block starts at "-- name:"
-- (a statement) or "-- fragment:" (text other blocks include as
-- ${fragment}).

-- fragment: venue_columns
organization_id, id, code, name, city, capacity, created_at, updated_at, latitude::float8, longitude::float8

-- name: CreateVenue
INSERT INTO venues (organization_id, code, name, city, capacity, latitude, longitude)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING ${venue_columns}

-- name: ListVenues
SELECT ${venue_columns} FROM venues WHERE organization_id = $1 ORDER BY code

-- name: GetVenue
SELECT ${venue_columns} FROM venues WHERE organization_id = $1 AND id = $2

-- name: UpdateVenue
UPDATE venues SET name = $3, city = $4, capacity = $5, latitude = $6, longitude = $7, updated_at = now()
WHERE organization_id = $1 AND id = $2
RETURNING ${venue_columns}

-- name: DeleteVenue
DELETE FROM venues WHERE organization_id = $1 AND id = $2
