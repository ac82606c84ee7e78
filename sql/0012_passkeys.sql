-- WebAuthn / passkeys (issue 16). A credential's public key is public by nature; what must stay
-- unforgeable is the binding to its user and the signature counter, which only Authly writes.
CREATE TABLE passkeys (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id    bytea NOT NULL UNIQUE,
    public_key       bytea NOT NULL,          -- COSE_Key (RFC 9052 §7) as the authenticator sent it
    sign_count       bigint NOT NULL DEFAULT 0,
    transports       text[] NOT NULL DEFAULT '{}',
    aaguid           uuid NOT NULL,
    backup_eligible  boolean NOT NULL,
    backed_up        boolean NOT NULL,
    name             text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_used_at     timestamptz
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- A ceremony's challenge, single use, bound to one browser: the browser holds a random handle in a
-- cookie, the row holds its hash, the options sent (so the challenge and user come from here, never
-- from the client) and, for registration and second-factor use, the user.
CREATE TABLE passkey_challenges (
    handle_hash  bytea PRIMARY KEY,
    purpose      text NOT NULL,
    user_id      uuid REFERENCES users (id) ON DELETE CASCADE,
    options      text NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX passkey_challenges_expiry ON passkey_challenges (expires_at);

-- RFC 8176 authentication method references of a browser session (NULL: a password login
-- before issue 16 recorded them).
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS amr text[];
