-- Browser sign-in sessions, remembered consent, and the device authorization grant (RFC 8628).

-- The cookie holds a random secret; only its hash is stored. sid is the public session id
-- used in ID tokens and logout (OIDC Session Management / Front-Channel Logout).
CREATE TABLE sessions (
    id_hash             bytea PRIMARY KEY,
    sid                 text NOT NULL UNIQUE,
    user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time           timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_seen_at        timestamptz NOT NULL DEFAULT now(),
    idle_expires_at     timestamptz NOT NULL,
    absolute_expires_at timestamptz NOT NULL,
    ended_at            timestamptz,
    ip                  text,
    user_agent          text
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE ended_at IS NULL;

CREATE TABLE consents (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  text NOT NULL,
    scopes     text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE device_codes (
    device_code_hash bytea PRIMARY KEY,
    user_code        text NOT NULL UNIQUE,
    client_id        text NOT NULL,
    scope            text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    interval_seconds integer NOT NULL,
    last_polled_at   timestamptz,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
    user_id          uuid REFERENCES users (id) ON DELETE CASCADE,
    auth_time        timestamptz,
    session_id       text
);
