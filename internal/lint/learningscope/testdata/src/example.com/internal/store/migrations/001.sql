CREATE TABLE learned_weights (organization_id uuid NOT NULL, ranker text, feature text, adjustment float8);
CREATE TABLE crew_members (organization_id uuid NOT NULL, id uuid);
