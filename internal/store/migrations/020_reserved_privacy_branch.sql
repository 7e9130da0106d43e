-- Placeholder on the privacy branch only: migration 020 belongs to another
-- branch (tern needs contiguous numbers). Drop this file when merging.
SELECT 1;
