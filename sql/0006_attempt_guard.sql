-- Attempt guards (issue 12 finding 2): the lockout and attempt budgets of guess-able secrets
-- (passwords per username and per address, device user codes per account and per address) live
-- here, not in Redis: an empty per-node store while Redis was down let a locked user in, counted
-- per node, and forgot locks taken during the outage. All times are the database's now(), so
-- node clocks do not matter. The key is the SHA-256 of the guarded name: people type passwords
-- into the username field, and this table must not become a list of them.
CREATE TABLE attempt_guards (
    key_hash       bytea PRIMARY KEY,
    attempts       integer NOT NULL,
    window_ends_at timestamptz NOT NULL,
    locked_until   timestamptz
);

-- The sweep of rows whose window and lock have both ended (GREATEST ignores a NULL lock).
CREATE INDEX attempt_guards_expiry ON attempt_guards (GREATEST(window_ends_at, locked_until));
