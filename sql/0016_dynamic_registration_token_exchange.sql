-- Issue 18: dynamic client registration (RFC 7591/7592) and token exchange (RFC 8693).
-- Kept in tables of their own beside clients, so the clients row (which other features extend) is untouched.

-- RFC 7591 §3: initial access tokens an admin hands to a platform that may register clients (AUTHLY_REGISTRATION=token).
-- Only the SHA-256 of the token is kept; a use is taken by one UPDATE … RETURNING in the registration's transaction.
CREATE TABLE initial_access_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash   bytea NOT NULL UNIQUE,
    description  text NOT NULL DEFAULT '',
    expires_at   timestamptz,
    uses_left    integer CHECK (uses_left IS NULL OR uses_left >= 0),
    use_count    integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

-- RFC 7592 §3: a client registered through /api/v1/oauth/register, and the hash of its registration access token
-- (bound to this one client). Clients an admin made have no row here and cannot be managed through RFC 7592.
CREATE TABLE client_registrations (
    client_id                  uuid PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    registration_token_hash    bytea NOT NULL,
    initial_access_token_id    uuid REFERENCES initial_access_tokens (id) ON DELETE SET NULL,
    created_at                 timestamptz NOT NULL DEFAULT now()
);

-- RFC 8693: which audiences and scopes a client may ask for in a token exchange, and whether it must name an actor.
-- A client with no row may not exchange tokens.
CREATE TABLE token_exchange_policies (
    client_id       uuid PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    audiences       text[] NOT NULL DEFAULT '{}',
    scopes          text[] NOT NULL DEFAULT '{}',
    require_actor   boolean NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
