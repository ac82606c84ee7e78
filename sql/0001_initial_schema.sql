-- Authly schema, version 1. Forward-only: later changes go in new numbered files.
-- Secrets, refresh tokens and authorization codes are stored only as SHA-256 hashes.

CREATE TABLE users (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username                 text NOT NULL,
    email                    text NOT NULL,
    password_hash            text NOT NULL,
    is_active                boolean NOT NULL DEFAULT true,
    is_verified              boolean NOT NULL DEFAULT false,
    is_admin                 boolean NOT NULL DEFAULT false,
    requires_password_change boolean NOT NULL DEFAULT false,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    last_login               timestamptz,
    -- OpenID Connect Core 1.0 §5.1 standard claims
    given_name               text,
    family_name              text,
    middle_name              text,
    nickname                 text,
    preferred_username       text,
    profile                  text,
    picture                  text,
    website                  text,
    gender                   text,
    birthdate                text,
    zoneinfo                 text,
    locale                   text,
    phone_number             text,
    phone_number_verified    boolean,
    address                  jsonb,
    CONSTRAINT users_username_not_blank CHECK (length(btrim(username)) > 0)
);
-- Usernames and emails are unique without regard to case: "Admin" and "admin" are one account.
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE scopes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    scope_name  text NOT NULL UNIQUE,
    description text,
    is_default  boolean NOT NULL DEFAULT false,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    CONSTRAINT scopes_name_syntax CHECK (scope_name ~ '^[!#-\[\]-~]+$')
);

CREATE TABLE clients (
    id                         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id                  text NOT NULL UNIQUE,
    client_name                text NOT NULL,
    client_type                text NOT NULL CHECK (client_type IN ('public', 'confidential')),
    client_secret_hash         bytea,
    redirect_uris              text[] NOT NULL DEFAULT '{}',
    grant_types                text[] NOT NULL DEFAULT '{}',
    response_types             text[] NOT NULL DEFAULT '{code}',
    token_endpoint_auth_method text NOT NULL
        CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none')),
    require_pkce               boolean NOT NULL DEFAULT true,
    client_uri                 text,
    logo_uri                   text,
    tos_uri                    text,
    policy_uri                 text,
    contacts                   text[] NOT NULL DEFAULT '{}',
    application_type           text NOT NULL DEFAULT 'web',
    post_logout_redirect_uris  text[] NOT NULL DEFAULT '{}',
    is_active                  boolean NOT NULL DEFAULT true,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT clients_secret_matches_type CHECK (
        (client_type = 'public' AND client_secret_hash IS NULL AND token_endpoint_auth_method = 'none') OR
        (client_type = 'confidential' AND client_secret_hash IS NOT NULL AND token_endpoint_auth_method <> 'none'))
);

CREATE TABLE client_scopes (
    client_id uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope_id  uuid NOT NULL REFERENCES scopes (id) ON DELETE CASCADE,
    PRIMARY KEY (client_id, scope_id)
);

-- A refresh-token family is every refresh token rotated from one grant. Reuse of a rotated
-- member revokes the family (OAuth 2.1 §6.1, RFC 9700 §4.14.2).
CREATE TABLE refresh_token_families (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id      text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    revoked_reason text
);
CREATE INDEX refresh_token_families_user ON refresh_token_families (user_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    family_id         uuid NOT NULL REFERENCES refresh_token_families (id) ON DELETE CASCADE,
    token_hash        bytea NOT NULL UNIQUE,
    user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id         text,
    scope             text NOT NULL,
    issued_at         timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL,
    rotated_at        timestamptz,
    -- the access token issued together with this refresh token, so revoking the family
    -- can revoke the access tokens issued from it without storing access tokens.
    access_jti        text NOT NULL,
    access_expires_at timestamptz NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- Revoked access-token ids (jti). Rows are useless once expires_at passes.
CREATE TABLE revoked_tokens (
    jti        text PRIMARY KEY,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at);

-- Signing keys shared by every node. The private part is AES-256-GCM encrypted under a key
-- derived from JWT_SECRET_KEY.
CREATE TABLE signing_keys (
    kid                   text PRIMARY KEY,
    alg                   text NOT NULL CHECK (alg IN ('RS256', 'ES256', 'HS256')),
    public_jwk            text,
    private_key_encrypted bytea,
    created_at            timestamptz NOT NULL DEFAULT now(),
    retired_at            timestamptz,
    -- once retired: when the last token it signed expires; after that it leaves the JWKS.
    verify_until          timestamptz
);
-- At most one active key.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE retired_at IS NULL;

CREATE TABLE authorization_codes (
    code_hash             bytea PRIMARY KEY,
    client_id             text NOT NULL,
    user_id               uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri          text NOT NULL,
    scope                 text NOT NULL,
    code_challenge        text NOT NULL,
    code_challenge_method text NOT NULL DEFAULT 'S256' CHECK (code_challenge_method = 'S256'),
    nonce                 text,
    auth_time             timestamptz NOT NULL,
    session_id            text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    expires_at            timestamptz NOT NULL,
    consumed_at           timestamptz,
    -- the refresh-token family issued from this code, revoked if the code is replayed.
    family_id             uuid,
    access_jti            text,
    access_expires_at     timestamptz
);

INSERT INTO scopes (scope_name, description, is_default) VALUES
    ('openid', 'Sign you in with OpenID Connect', false),
    ('profile', 'Read your basic profile: name, nickname, picture', false),
    ('email', 'Read your email address', false),
    ('address', 'Read your postal address', false),
    ('phone', 'Read your phone number', false),
    ('offline_access', 'Stay signed in when you are away (refresh tokens)', false),
    ('read', 'Read access to your data', true),
    ('write', 'Write access to your data', false),
    ('introspect', 'Introspect tokens (RFC 7662)', false),
    ('admin:clients:read', 'Read OAuth clients', false),
    ('admin:clients:write', 'Create, change and delete OAuth clients', false),
    ('admin:scopes:read', 'Read OAuth scopes', false),
    ('admin:scopes:write', 'Create, change and delete OAuth scopes', false),
    ('admin:users:read', 'Read user accounts', false),
    ('admin:users:write', 'Create, change and delete user accounts', false),
    ('admin:system:read', 'Read system status and configuration', false),
    ('admin:system:write', 'Change system state, such as rotating signing keys', false),
    ('database:read', 'Read from the database through the Authly proxy', false),
    ('database:write', 'Write to the database through the Authly proxy', false),
    ('cache:read', 'Read from the cache through the Authly proxy', false),
    ('cache:write', 'Write to the cache through the Authly proxy', false);
