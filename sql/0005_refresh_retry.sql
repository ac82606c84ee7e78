-- Retry-safe refresh (issue 12). A rotated refresh token keeps, for a short grace window
-- (AUTHLY_REFRESH_RETRY_GRACE_SECONDS), the answer its rotation gave, so a client whose answer
-- was lost can retry and get the same tokens instead of having its family revoked as reuse.
-- retry_response is AES-256-GCM sealed under a key derived (HKDF) from the rotated token itself,
-- which is stored only as a hash: reading this table never yields a usable token.
-- replaced_by links the rotated row to the row its rotation issued; only the latest rotation of a
-- family (whose successor is still current) may be retried.
ALTER TABLE refresh_tokens
    ADD COLUMN retry_response bytea,
    ADD COLUMN replaced_by    uuid REFERENCES refresh_tokens (id) ON DELETE SET NULL;
