-- Issue 14: PostgreSQL's share of a refresh rotation and a code redemption (measured with pg_stat_statements and
-- pg_stat_user_tables; findings in bench/README.md, "PostgreSQL per rotation").
--
-- 1. The retry answer moves from the rotated row to the row its rotation issued. A rotation is then one UPDATE of the
--    presented row (rotated_at, replaced_by = the successor's id, which the server chooses before the UPDATE, and
--    its own stored answer cleared: that answer served a retry of its predecessor's rotation, which is over once it
--    rotates) and one INSERT of the successor carrying the answer. Before, the rotated row was updated twice and
--    "forget older answers" scanned every member of the family through refresh_tokens_family (a cost that grew with
--    the family: ~190 index entries per rotation after 300 rotations of one family). At most one answer per family
--    still holds: only the family's current token holds one, for a retry of the rotation that issued it.
--    Answers stored under the old rule are moved to the successor they belong to.
UPDATE refresh_tokens s SET retry_response = t.retry_response
FROM refresh_tokens t WHERE t.replaced_by = s.id AND t.retry_response IS NOT NULL;
UPDATE refresh_tokens SET retry_response = NULL WHERE replaced_by IS NOT NULL AND retry_response IS NOT NULL;

-- 2. replaced_by is a plain pointer, no longer indexed nor a foreign key, so the rotation's UPDATE touches no indexed
--    column and can be HOT (heap-only: no new index entries, no index page dirtied). The index existed only for the
--    foreign key's ON DELETE SET NULL; a row and its successor belong to one family and are only ever deleted together
--    (the sweeper deletes whole families, a user's deletion cascades through the family), and a pointer to a row that
--    is gone reads as "no current successor", i.e. not retryable, which is the safe reading.
ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_replaced_by_fkey;
DROP INDEX refresh_tokens_replaced_by;

-- 3. refresh_tokens.user_id is the family's user_id (the store writes both from the same value), and deleting a user
--    already cascades to the family and through it to its tokens. The foreign key's check on every INSERT took a
--    FOR KEY SHARE lock on the user's row: a WAL record per rotation, and a MultiXact whenever two rotations of one
--    user's families (two devices) overlapped. Dropping it also removes the unindexed cascade noted in bench/README.md
--    (deleting a user scanned refresh_tokens by user_id).
ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_user_id_fkey;

-- 4. refresh_token_families_user (user_id WHERE revoked_at IS NULL) is covered by refresh_token_families_user_all
--    (sql/0009, every family by user_id), which serves every query by user; the partial one cost an index insert per
--    new family and made a revocation's UPDATE non-HOT (it changes the predicate's column).
DROP INDEX refresh_token_families_user;

-- 5. Room on each page for the new version of its rows, so that the one UPDATE a refresh token gets (its rotation) and
--    the two a code gets (consumption, then the record of what it issued) stay on the page (HOT). Applies to pages
--    filled from now on.
ALTER TABLE refresh_tokens SET (fillfactor = 70);
ALTER TABLE authorization_codes SET (fillfactor = 70);
