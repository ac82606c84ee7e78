-- Issue 16: second factors (TOTP, recovery codes), the pending login between the password and the second
-- factor, and the authentication methods (RFC 8176 amr) and level (acr) a session and its codes carry.

-- Per-user policy: the account must pass a second factor (and enrol one at its next login if it has none).
ALTER TABLE users ADD COLUMN mfa_required boolean NOT NULL DEFAULT false;

-- How a session was authenticated. Sessions from before this migration were password logins.
ALTER TABLE sessions ADD COLUMN amr text[] NOT NULL DEFAULT '{pwd}';
ALTER TABLE sessions ADD COLUMN acr text NOT NULL DEFAULT 'urn:authly:acr:pwd';
-- Copied from the session into the code (and the approved device code), so the ID token says how the user signed in.
ALTER TABLE authorization_codes ADD COLUMN amr text[];
ALTER TABLE authorization_codes ADD COLUMN acr text;
ALTER TABLE device_codes ADD COLUMN amr text[];
ALTER TABLE device_codes ADD COLUMN acr text;

-- RFC 6238 TOTP: one authenticator per user. The shared secret is sealed (AES-256-GCM, Security/SecretBox) under a
-- key derived from JWT_SECRET_KEY, bound to the user id; it counts once confirmed_at is set (one valid code).
-- last_step is the time step of the last accepted code: a code is accepted only for a later step, in one UPDATE,
-- so a code (or an older one of the window) is never accepted twice, on any node (RFC 6238 §5.2).
CREATE TABLE mfa_totp (
    user_id       uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    confirmed_at  timestamptz,
    last_step     bigint,
    last_used_at  timestamptz
);

-- Ten single-use recovery codes per user, SHA-256 only (each has 80 random bits); regenerating deletes the old set.
CREATE TABLE mfa_recovery_codes (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- A login that passed the password but still needs a second factor (or must enrol one): never a session. The browser
-- holds an opaque secret in its own short-lived cookie; only the hash is stored. Completed by one UPDATE.
CREATE TABLE pending_logins (
    id_hash      bytea PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amr          text[] NOT NULL,
    must_enrol   boolean NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    completed_at timestamptz
);
CREATE INDEX pending_logins_expires ON pending_logins (expires_at);
