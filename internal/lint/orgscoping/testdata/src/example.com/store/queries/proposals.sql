-- Named queries, as the store's.

-- fragment: proposal_columns
organization_id, id, title

-- name: GetProposal
SELECT ${proposal_columns} FROM proposals WHERE organization_id = $1 AND id = $2

-- want "org-scoping: queries/proposals.sql: ListAll reads tenant table proposals without filtering on organization_id"
-- name: ListAll
SELECT ${proposal_columns} FROM proposals ORDER BY title

-- name: Organization
SELECT name FROM organizations WHERE id = $1

-- name: JoinBoth
SELECT p.id, s.id FROM proposals p JOIN sows s ON s.organization_id = p.organization_id AND s.proposal_id = p.id
WHERE p.organization_id = $1

-- want "JoinOne reads tenant table sows without filtering on organization_id"
-- name: JoinOne
SELECT p.id, s.id FROM proposals p JOIN sows s ON s.proposal_id = p.id WHERE p.organization_id = $1

-- name: JoinUsing
SELECT id FROM proposals JOIN sows USING (organization_id, id) WHERE organization_id = $1

-- want "SubqueryUnscoped reads tenant table sows without filtering on organization_id"
-- name: SubqueryUnscoped
SELECT id FROM proposals WHERE organization_id = $1 AND id IN (SELECT proposal_id FROM sows)

-- name: InsertProposal
INSERT INTO proposals (organization_id, id, title) VALUES ($1, $2, $3) RETURNING ${proposal_columns}

-- want "InsertNoOrg inserts into tenant table proposals without setting organization_id"
-- name: InsertNoOrg
INSERT INTO proposals (id, title) VALUES ($1, $2)

-- want "DeleteNoOrg deletes from tenant table sows without filtering on organization_id"
-- name: DeleteNoOrg
DELETE FROM sows WHERE id = $1

-- name: DeleteScoped
DELETE FROM sows s WHERE s.organization_id = $1 AND s.id = $2

-- want "UpdateAliasWrong updates tenant table proposals without filtering on organization_id"
-- name: UpdateAliasWrong
UPDATE proposals p SET title = $3 FROM sows s WHERE s.organization_id = $1 AND p.id = s.proposal_id

-- name: WithCTE
WITH mine AS (SELECT id FROM proposals WHERE organization_id = $1) SELECT id FROM mine

-- name: Sweep
SELECT organization_id, id FROM proposals WHERE title = ''
