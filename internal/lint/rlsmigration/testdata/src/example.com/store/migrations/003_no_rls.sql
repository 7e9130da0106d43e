-- want "table notes holds tenant data .* lacks \\[ALTER TABLE notes ENABLE ROW LEVEL SECURITY ALTER TABLE notes FORCE ROW LEVEL SECURITY CREATE POLICY ... ON notes\\]"
CREATE TABLE IF NOT EXISTS public.notes (organization_id uuid NOT NULL, body text);
