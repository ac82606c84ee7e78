-- Issue 17 part 1: pushed authorization requests (RFC 9126), private_key_jwt client authentication
-- (RFC 7523 §2.2, OIDC Core §9) and the FAPI 2.0 profile switch.

-- The client's public keys (a JWK Set as JSON text) or where to fetch them, whether its authorization
-- requests must be pushed, and its security profile (NULL, or 'fapi2').
ALTER TABLE clients
    ADD COLUMN jwks text,
    ADD COLUMN jwks_uri text,
    ADD COLUMN require_pushed_authorization_requests boolean NOT NULL DEFAULT false,
    ADD COLUMN profile text;

-- A pushed authorization request: the request_uri's random part only as SHA-256, bound to the client
-- that pushed it. expires_at bounds the first use at the authorization endpoint; consumed_at marks
-- the single use that issued a code.
CREATE TABLE pushed_authorization_requests (
    request_hash  bytea PRIMARY KEY,
    client_id     text NOT NULL,
    parameters    text NOT NULL,
    expires_at    timestamptz NOT NULL,
    started_at    timestamptz,
    consumed_at   timestamptz
);
CREATE INDEX pushed_authorization_requests_expires ON pushed_authorization_requests (expires_at);

-- Client assertion ids seen (RFC 7523 §3 item 7: a jti is used once), per client, until the assertion expires.
CREATE TABLE client_assertion_jtis (
    client_id  text NOT NULL,
    jti_hash   bytea NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti_hash)
);
CREATE INDEX client_assertion_jtis_expires ON client_assertion_jtis (expires_at);
