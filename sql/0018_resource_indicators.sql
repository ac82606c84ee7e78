-- Issue 17, RFC 8707 resource indicators.
-- The resources (absolute URIs) a client may ask for; an empty list allows only this server's own audience.
ALTER TABLE clients ADD COLUMN resources text[] NOT NULL DEFAULT '{}';
-- The resources asked for at /authorize, remembered with the code: the token request may narrow them (§2.2), never widen.
ALTER TABLE authorization_codes ADD COLUMN resources text[] NOT NULL DEFAULT '{}';
-- The resources of the grant a refresh family came from: a refresh may narrow to them, never widen.
ALTER TABLE refresh_token_families ADD COLUMN resources text[] NOT NULL DEFAULT '{}';
