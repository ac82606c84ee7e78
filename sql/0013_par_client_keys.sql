-- Issue 17 part 1: pushed authorization requests (RFC 9126), private_key_jwt client authentication
-- (RFC 7523 §2.2, OIDC Core §9) and the FAPI 2.0 profile switch.

-- The client's public keys (a JWK Set as JSON text) or where to fetch them, whether its authorization
-- requests must be pushed, and its security profile (NULL, or 'fapi2').
ALTER TABLE clients
    ADD COLUMN jwks text,
    ADD COLUMN jwks_uri text,
    ADD COLUMN require_pushed_authorization_requests boolean NOT NULL DEFAULT false,
    ADD COLUMN profile text;

-- private_key_jwt: a confidential client with keys instead of a secret.
ALTER TABLE clients DROP CONSTRAINT clients_token_endpoint_auth_method_check;
ALTER TABLE clients ADD CONSTRAINT clients_token_endpoint_auth_method_check
    CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt'));
ALTER TABLE clients DROP CONSTRAINT clients_secret_matches_type;
ALTER TABLE clients ADD CONSTRAINT clients_secret_matches_type CHECK (
    (client_type = 'public' AND client_secret_hash IS NULL AND token_endpoint_auth_method = 'none') OR
    (client_type = 'confidential' AND token_endpoint_auth_method = 'private_key_jwt' AND (jwks IS NOT NULL OR jwks_uri IS NOT NULL)) OR
    (client_type = 'confidential' AND client_secret_hash IS NOT NULL AND token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post')));
ALTER TABLE clients ADD CONSTRAINT clients_profile_check CHECK (profile IS NULL OR profile = 'fapi2');

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
