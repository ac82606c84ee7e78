-- Issue 14 (flat cost as data grows): indexes found missing by EXPLAIN (ANALYZE, BUFFERS) against a seeded database
-- (bench/seed.sh, bench/explain.sql; findings in bench/README.md).
--
-- Deleting a refresh_tokens row (the sweeper deleting a dead family, whose members go by cascade; a user's deletion)
-- runs the ON DELETE SET NULL of refresh_tokens.replaced_by, i.e. an UPDATE … WHERE replaced_by = <the row's id>:
-- without an index, one scan of the whole table per deleted token.
CREATE INDEX refresh_tokens_replaced_by ON refresh_tokens (replaced_by) WHERE replaced_by IS NOT NULL;
-- The sweeper examines only families created more than the refresh-token lifetime ago (a younger family's first
-- token is still alive); without this index every round's last batch read the whole table.
CREATE INDEX refresh_token_families_created ON refresh_token_families (created_at);
-- Revoking every family of a user (password change or reset, deactivation, sign-out everywhere) reads the user's
-- unrevoked families and those revoked within a day: the partial index refresh_token_families_user (unrevoked only)
-- cannot serve that OR, so it read the whole table (800 ms at 750,000 families, seeded).
CREATE INDEX refresh_token_families_user_all ON refresh_token_families (user_id);
