-- Issue 14: the expired-row sweeper (Storage/ExpiredRowSweeper) finds what to delete by expiry,
-- a batch at a time; without these indexes every batch would scan its whole table.
-- (revoked_tokens, vault_connect_states and attempt_guards already have theirs.)
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);
CREATE INDEX device_codes_expires ON device_codes (expires_at);
-- A session ends at the earlier of its idle and absolute expiry.
CREATE INDEX sessions_expires ON sessions (LEAST(idle_expires_at, absolute_expires_at));
