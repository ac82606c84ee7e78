-- Issue 12: a replayed authorization code is marked, so the redemption it raced with (which records
-- what it issued only after issuing) sees the replay and revokes what it issued instead of keeping it.
ALTER TABLE authorization_codes ADD COLUMN replayed_at timestamptz;
