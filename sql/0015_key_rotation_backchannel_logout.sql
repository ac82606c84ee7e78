-- Issue 18, part 1: automatic signing-key rotation and OIDC Back-Channel Logout 1.0.

-- A key signs from activates_at until retired_at (both stored, so every node switches at the same instant by
-- comparing them with its clock). A key published ahead of its activation is "pending"; the key it replaces
-- gets retired_at = the new key's activates_at in the same transaction. Existing keys signed from creation.
ALTER TABLE signing_keys ADD COLUMN activates_at timestamptz;
UPDATE signing_keys SET activates_at = created_at;
ALTER TABLE signing_keys ALTER COLUMN activates_at SET NOT NULL, ALTER COLUMN activates_at SET DEFAULT now();

-- Back-channel logout registration (OIDC Back-Channel Logout 1.0 §2.2).
ALTER TABLE clients ADD COLUMN backchannel_logout_uri text;
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required boolean NOT NULL DEFAULT false;

-- Which clients took part in a session: written when tokens are issued for it (OIDC Back-Channel Logout §2.7 needs
-- the RPs a session's logout is sent to). Goes with the session.
CREATE TABLE session_clients (
    sid        text NOT NULL REFERENCES sessions (sid) ON DELETE CASCADE,
    client_id  text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sid, client_id)
);

-- The delivery queue: one row per (session, client), written in the statement that ends the session, so a logout
-- survives a crash or restart; the unique key is what makes a delivery happen once per client per session.
CREATE TABLE backchannel_logouts (
    sid             text NOT NULL,
    client_id       text NOT NULL,
    user_id         uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    failed_at       timestamptz,
    last_error      text,
    PRIMARY KEY (sid, client_id)
);
CREATE INDEX backchannel_logouts_due ON backchannel_logouts (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
