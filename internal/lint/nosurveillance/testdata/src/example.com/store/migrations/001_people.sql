CREATE TABLE venues (organization_id uuid NOT NULL, code text, location text, latitude numeric);
-- want "no-surveillance: migrations/001_people.sql: statement at line 3 adds column last_gps_fix to the people/staffing table crew_members"
CREATE TABLE crew_members (
  organization_id uuid NOT NULL,
  id uuid NOT NULL,
  skills text[] NOT NULL DEFAULT '{}',
  last_gps_fix point
);
-- want "adds column productivity_score to the people/staffing table staff_shifts" "adds column keystrokes_per_hour to the people/staffing table staff_shifts"
ALTER TABLE staff_shifts ADD COLUMN productivity_score int, ADD COLUMN keystrokes_per_hour int, ADD COLUMN notes text;
-- want "adds column screenshot_url to the people/staffing table users"
ALTER TABLE users RENAME COLUMN avatar_url TO screenshot_url;
ALTER TABLE crew_members ADD COLUMN home_city text;
