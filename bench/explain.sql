-- EXPLAIN (ANALYZE, BUFFERS) of every query the hot paths and the expired-row sweeper run, with sample
-- values from a seeded database (bench/seed.sh): run it against the server's database with
--   psql "$DATABASE_URL" -X -f bench/explain.sql
-- The WHERE clauses and joins are the stores' own (Authly.Core: RefreshTokenStore, AuthorizationCodeStore,
-- ClientStore, UserStore, RevocationList, ExpiredRowSweeper); writes run inside a transaction that is rolled back.
\set ON_ERROR_STOP 1
\pset pager off
\if :{?sweep_family_filter}
\else
\set sweep_family_filter ''
\endif
SELECT t.token_hash AS live_hash, t.family_id AS live_family, t.user_id AS live_user, t.id AS live_id
FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id
WHERE t.rotated_at IS NULL AND f.revoked_at IS NULL AND t.expires_at > now() LIMIT 1 \gset
SELECT username AS some_username FROM users WHERE username LIKE 'seed-user-%' ORDER BY id LIMIT 1 \gset
SELECT client_id AS some_client FROM clients ORDER BY id LIMIT 1 \gset

\echo '== refresh: lock the family by token hash (RefreshTokenStore.LockFamilySql)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT f.revoked_at IS NOT NULL FROM refresh_token_families f
WHERE f.id = (SELECT family_id FROM refresh_tokens WHERE token_hash = :'live_hash') FOR SHARE;

\echo '== refresh: rotate by token hash (RotateSql: the row's one UPDATE, heap-only since sql/0010)'
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
UPDATE refresh_tokens t SET rotated_at = now(), replaced_by = gen_random_uuid(), retry_response = NULL
FROM refresh_token_families f, users u
WHERE t.token_hash = :'live_hash' AND f.id = t.family_id AND u.id = t.user_id
  AND t.rotated_at IS NULL AND f.revoked_at IS NULL AND t.expires_at > now()
RETURNING t.id, f.revoked_at, u.username;
ROLLBACK;

\echo '== refresh: find by token hash (FindSql)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT t.id, f.revoked_at, u.username FROM refresh_tokens t
JOIN refresh_token_families f ON f.id = t.family_id JOIN users u ON u.id = t.user_id
WHERE t.token_hash = :'live_hash';

\echo '== refresh: retry state (RetryStateSql: the answer is on the successor since sql/0010)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT s.retry_response, t.rotated_at > now() - interval '10 seconds', (s.id IS NOT NULL AND s.rotated_at IS NULL)
FROM refresh_tokens t LEFT JOIN refresh_tokens s ON s.id = t.replaced_by WHERE t.token_hash = :'live_hash';

\echo '== refresh: the successor with the answer (CommitSql: one INSERT; the rotated row is not written again)'
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
INSERT INTO refresh_tokens (id, family_id, token_hash, user_id, client_id, scope, expires_at, access_jti, access_expires_at, retry_response)
VALUES (gen_random_uuid(), :'live_family', sha256('explain-successor'), :'live_user', :'some_client', 'read', now() + interval '7 days',
        'explain-jti-2', now() + interval '1 hour', '\x00');
ROLLBACK;

\echo '== login: create a family for the user (CreateFamilySql) and insert its token (InsertSql)'
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
INSERT INTO refresh_token_families (user_id, client_id)
SELECT u.id, :'some_client' FROM users u WHERE u.id = :'live_user' AND u.is_active FOR SHARE;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
INSERT INTO refresh_tokens (family_id, token_hash, user_id, client_id, scope, expires_at, access_jti, access_expires_at)
VALUES (:'live_family', sha256('explain'), :'live_user', :'some_client', 'read', now() + interval '7 days', 'explain-jti', now() + interval '1 hour');
ROLLBACK;

\echo '== revoke every family of a user (LockUserFamiliesSql, RevokeAccessTokensSql)'
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT id FROM refresh_token_families f
WHERE user_id = :'live_user' AND (revoked_at IS NULL OR revoked_at > now() - interval '1 day')
  AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = f.id AND t.access_jti = 'none')
ORDER BY id FOR UPDATE;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT access_jti, access_expires_at FROM refresh_tokens WHERE family_id = ANY(ARRAY[:'live_family'::uuid]) AND access_expires_at > now();
ROLLBACK;

\echo '== authorization code by hash (AuthorizationCodeStore.ConsumeSql / FindSql)'
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
UPDATE authorization_codes SET consumed_at = now() WHERE code_hash = sha256('explain') AND client_id = :'some_client' AND consumed_at IS NULL
RETURNING client_id, expires_at <= now();
ROLLBACK;

\echo '== client by id (ClientStore.GetSql, with its scopes)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT c.client_id, ARRAY(SELECT s.scope_name FROM client_scopes cs JOIN scopes s ON s.id = cs.scope_id
                          WHERE cs.client_id = c.id AND s.is_active ORDER BY s.scope_name)
FROM clients c WHERE c.client_id = :'some_client';

\echo '== user by username and by id (UserStore.FindByUsernameSql, FindByIdSql)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id, password_hash FROM users WHERE lower(username) = lower(:'some_username');
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id, username FROM users WHERE id = :'live_user';

\echo '== revocation list: first load and the re-read every 5 s (RevocationList.SyncSql)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT jti, expires_at, revoked_at FROM revoked_tokens WHERE expires_at > now() AND revoked_at >= '1970-01-01';
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT jti, expires_at, revoked_at FROM revoked_tokens WHERE expires_at > now() AND revoked_at >= now() - interval '35 seconds';

\echo '== sweeper batches (ExpiredRowSweeper, 1000 rows each; rolled back)'
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
DELETE FROM revoked_tokens WHERE jti IN (
    SELECT jti FROM revoked_tokens WHERE expires_at < now() LIMIT 1000 FOR UPDATE SKIP LOCKED);
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
DELETE FROM refresh_token_families WHERE id IN (
    SELECT f.id FROM refresh_token_families f
    WHERE :sweep_family_filter NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = f.id
        AND (t.expires_at >= now() OR t.access_expires_at >= now() OR t.rotated_at >= now() - interval '10 seconds'))
    LIMIT 1000 FOR UPDATE OF f SKIP LOCKED);
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
DELETE FROM authorization_codes WHERE code_hash IN (
    SELECT c.code_hash FROM authorization_codes c
    WHERE c.expires_at < now() - interval '1 minute'
      AND (c.access_expires_at IS NULL OR c.access_expires_at < now())
      AND (c.family_id IS NULL OR NOT EXISTS (SELECT 1 FROM refresh_tokens t
           WHERE t.family_id = c.family_id AND (t.expires_at >= now() OR t.access_expires_at >= now())))
    LIMIT 1000 FOR UPDATE OF c SKIP LOCKED);
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
DELETE FROM sessions WHERE id_hash IN (
    SELECT id_hash FROM sessions WHERE LEAST(idle_expires_at, absolute_expires_at) < now() LIMIT 1000 FOR UPDATE SKIP LOCKED);
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
DELETE FROM device_codes WHERE device_code_hash IN (
    SELECT device_code_hash FROM device_codes WHERE expires_at < now() LIMIT 1000 FOR UPDATE SKIP LOCKED);
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
DELETE FROM vault_connect_states WHERE state_hash IN (
    SELECT state_hash FROM vault_connect_states WHERE expires_at < now() LIMIT 1000 FOR UPDATE SKIP LOCKED);
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
DELETE FROM attempt_guards WHERE key_hash IN (
    SELECT key_hash FROM attempt_guards WHERE GREATEST(window_ends_at, locked_until) < now() LIMIT 1000 FOR UPDATE SKIP LOCKED);
ROLLBACK;
