-- Row-level security behind `authly proxy postgres`: each user sees and changes only their own rows.
--
-- The proxy runs every query in its own transaction, as the role given with --role (here
-- authly_app), after setting these transaction-local settings from the caller's access token:
--   authly.user_id    the token's sub (the Authly user id)
--   authly.username   the token's username ('' for client tokens)
--   authly.client_id  the client the token was issued to
--   authly.scopes     the token's scopes, space separated
-- A caller cannot forge them: the proxy refuses SET, set_config() and transaction control.
--
-- Run this once, as the table owner or a superuser, in the database the proxy serves:
--   psql "$DATABASE_URL" -f examples/postgres-proxy-rls.sql
-- then start the proxy with:  authly proxy postgres --role authly_app

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authly_app') THEN
        CREATE ROLE authly_app NOLOGIN;
    END IF;
END
$$;
-- The proxy's login user must be a member of the role to SET ROLE to it.
GRANT authly_app TO CURRENT_USER;

CREATE TABLE IF NOT EXISTS notes (
    id         bigserial   PRIMARY KEY,
    owner_id   text        NOT NULL DEFAULT current_setting('authly.user_id', true),
    body       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
-- FORCE also applies the policy to the table owner, so a mistake in --role fails closed.
ALTER TABLE notes FORCE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS notes_owner ON notes;
CREATE POLICY notes_owner ON notes
    USING (owner_id = current_setting('authly.user_id', true))
    WITH CHECK (owner_id = current_setting('authly.user_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO authly_app;
GRANT USAGE ON SEQUENCE notes_id_seq TO authly_app;
