-- Placeholder on the privacy branch only: migration 018 belongs to another
-- branch (tern needs contiguous numbers). Drop this file when merging.
SELECT 1;
