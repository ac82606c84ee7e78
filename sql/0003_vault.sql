-- The token vault: users' refresh and offline tokens for upstream OpenID providers, kept
-- encrypted, from which fresh access tokens are minted on demand.
--
-- Every secret here is envelope-encrypted: a random data key per row (AES-256-GCM) sealed the
-- secret, and that data key is wrapped by the vault key (AUTHLY_VAULT_ENCRYPTION_KEY). key_id
-- names the vault key that wrapped it, so reads keep working while `authly vault rotate-key`
-- re-wraps rows with a new key. The row's ids are bound as associated data: a ciphertext
-- copied into another row does not decrypt. No column holds a token or secret in clear.

INSERT INTO scopes (scope_name, description, is_default) VALUES
    ('vault:read', 'Use the tokens kept for you in the token vault: list them and get fresh access tokens', false),
    ('vault:write', 'Store, grant and revoke tokens in the token vault', false)
ON CONFLICT (scope_name) DO NOTHING;

CREATE TABLE vault_providers (
    id                         uuid PRIMARY KEY,
    name                       text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    display_name               text NOT NULL,
    -- 'oidc': any OpenID provider found by discovery on its issuer; 'local': this Authly, in process.
    kind                       text NOT NULL CHECK (kind IN ('oidc', 'local')),
    issuer                     text,
    client_id                  text,
    token_endpoint_auth_method text NOT NULL DEFAULT 'client_secret_basic'
        CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none')),
    scopes                     text NOT NULL DEFAULT 'openid offline_access',
    key_id                     text,
    wrapped_key                bytea,
    client_secret_encrypted    bytea,
    is_active                  boolean NOT NULL DEFAULT true,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT vault_providers_issuer_by_kind CHECK ((kind = 'local') = (issuer IS NULL)),
    CONSTRAINT vault_providers_secret_complete CHECK (
        (client_secret_encrypted IS NULL AND key_id IS NULL AND wrapped_key IS NULL) OR
        (client_secret_encrypted IS NOT NULL AND key_id IS NOT NULL AND wrapped_key IS NOT NULL))
);

-- Authly itself is a provider by default; its client is registered on first use (the issuer
-- URL it redirects to may only be known once the server listens).
INSERT INTO vault_providers (id, name, display_name, kind, scopes)
VALUES (gen_random_uuid(), 'authly', 'Authly (this server)', 'local', 'openid profile email offline_access');

CREATE TABLE vault_entries (
    id                      uuid PRIMARY KEY,
    user_id                 uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider_id             uuid NOT NULL REFERENCES vault_providers (id) ON DELETE CASCADE,
    purpose                 text NOT NULL CHECK (purpose ~ '^[A-Za-z0-9._:-]{1,64}$'),
    token_type              text NOT NULL CHECK (token_type IN ('refresh', 'offline')),
    subject                 text,
    scope                   text NOT NULL DEFAULT '',
    status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'invalid_grant', 'revoked')),
    key_id                  text,
    wrapped_key             bytea,
    refresh_token_encrypted bytea,
    -- the last access token minted, kept (encrypted) until shortly before it expires
    access_token_encrypted  bytea,
    access_token_expires_at timestamptz,
    access_token_request    text,
    created_by              text NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    last_refreshed_at       timestamptz,
    last_used_at            timestamptz,
    revoked_at              timestamptz,
    -- a revoked entry keeps no secret at all
    CONSTRAINT vault_entries_secret_by_status CHECK (
        (status = 'revoked' AND refresh_token_encrypted IS NULL AND access_token_encrypted IS NULL) OR
        (status <> 'revoked' AND refresh_token_encrypted IS NOT NULL AND key_id IS NOT NULL AND wrapped_key IS NOT NULL))
);
-- One live entry per (user, provider, purpose); storing again replaces its token.
CREATE UNIQUE INDEX vault_entries_one_live ON vault_entries (user_id, provider_id, purpose) WHERE status <> 'revoked';
CREATE INDEX vault_entries_user ON vault_entries (user_id);
CREATE INDEX vault_entries_key ON vault_entries (key_id) WHERE key_id IS NOT NULL;

-- Service clients see only the entries granted to them.
CREATE TABLE vault_entry_grants (
    entry_id   uuid NOT NULL REFERENCES vault_entries (id) ON DELETE CASCADE,
    client_id  text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entry_id, client_id)
);
CREATE INDEX vault_entry_grants_client ON vault_entry_grants (client_id);

-- The connect flow's server-side half: state (hash only), the PKCE verifier (encrypted), single use, minutes long.
CREATE TABLE vault_connect_states (
    state_hash              bytea PRIMARY KEY,
    user_id                 uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider_id             uuid NOT NULL REFERENCES vault_providers (id) ON DELETE CASCADE,
    purpose                 text NOT NULL,
    scope                   text NOT NULL,
    nonce                   text NOT NULL,
    redirect_uri            text NOT NULL,
    return_to               text,
    key_id                  text NOT NULL,
    wrapped_key             bytea NOT NULL,
    code_verifier_encrypted bytea NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    expires_at              timestamptz NOT NULL,
    consumed_at             timestamptz
);
CREATE INDEX vault_connect_states_expires ON vault_connect_states (expires_at);

-- Who did what to which entry, and when. Never a token. No foreign key: the trail outlives entries.
CREATE TABLE vault_audit (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL,
    entry_id uuid,
    provider text,
    action   text NOT NULL,
    outcome  text NOT NULL,
    detail   text,
    ip       text
);
CREATE INDEX vault_audit_entry ON vault_audit (entry_id, at);
CREATE INDEX vault_audit_at ON vault_audit (at);
