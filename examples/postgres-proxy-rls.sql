-- Row-level security behind `authly proxy postgres`: each user sees and changes only their own rows.
--
-- The proxy runs every query in its own transaction, as the role given with --role (here
-- authly_app), after setting these transaction-local settings from the caller's access token:
--   authly.user_id    the token's sub (the Authly user id)
--   authly.username   the token's username ('' for client tokens)
--   authly.client_id  the client the token was issued to
--   authly.scopes     the token's scopes, space separated
-- A caller cannot forge them: the proxy refuses SET, set_config(), writes to pg_settings and
-- transaction control.
--
-- Two roles, neither a superuser nor an owner of anything:
--   authly_app    NOLOGIN: what statements run as; it gets rights on the application's tables only
--   authly_proxy  the proxy's login: NOINHERIT, so on its own it can do nothing but SET ROLE authly_app
-- The proxy checks this at start and refuses to run otherwise: as a superuser, without --role,
-- with a role it cannot SET ROLE to, or when any role its login can become is a superuser, has
-- BYPASSRLS or CREATEROLE, or has rights in the schema holding Authly's own tables (users,
-- clients, tokens, signing keys, vault). Keep the application's tables in a database (or at least
-- a schema) of their own, not beside Authly's.
--
-- Run this once, as the table owner or a superuser, in the database the proxy serves:
--   psql "$APP_DATABASE_URL" -f examples/postgres-proxy-rls.sql
--   psql "$APP_DATABASE_URL" -c '\password authly_proxy'
-- then start the proxy as that login:
--   authly proxy postgres --database-url postgresql://authly_proxy:<password>@localhost/app --role authly_app

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authly_app') THEN
        CREATE ROLE authly_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authly_proxy') THEN
        CREATE ROLE authly_proxy LOGIN NOINHERIT;
    END IF;
END
$$;
-- The proxy's login must be a member of the role to SET ROLE to it.
GRANT authly_app TO authly_proxy;

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
