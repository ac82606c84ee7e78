-- Issue 17, RFC 9449 (DPoP).
-- A client that always sends DPoP proofs (RFC 9449 §5.2 dpop_bound_access_tokens): its token requests need a proof.
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens boolean NOT NULL DEFAULT false;

-- RFC 9449 §5/§5.2: a public client's refresh tokens are bound to the key of the proof that started the family
-- (the JWK SHA-256 thumbprint, RFC 7638); every refresh of the family must prove possession of that key.
ALTER TABLE refresh_token_families ADD COLUMN dpop_jkt text;

-- RFC 9449 §11.1: proof jtis seen within the acceptance window, when no Redis is configured (or it is unreachable).
-- Only a SHA-256 of (key thumbprint, jti) is kept.
CREATE TABLE dpop_proofs (
    proof_hash bytea PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX dpop_proofs_expires_at ON dpop_proofs (expires_at);
