-- bench/seed.sh: :n revoked access-token ids, streamed with COPY (binary) into
-- revoked_tokens (jti, expires_at, revoked_at).
-- A revocation is worth keeping only until its token's exp (ACCESS_TOKEN_EXPIRE_MINUTES, 60 by default), so a
-- deployment holds few live ones against many expired rows (until the sweeper deletes them): the first :live
-- rows are live (exp spread over the next hour, revoked up to an hour ago), the rest expired over the last 30 days.
COPY (
  SELECT 'seed-jti-' || n,
         CASE WHEN n < :live THEN now() + make_interval(secs => 60 + n % 3540)
              ELSE now() - make_interval(secs => 1 + n % 2592000) END AS expires_at,
         CASE WHEN n < :live THEN now() - make_interval(secs => n % 3540)
              ELSE now() - make_interval(secs => 3600 + n % 2592000) END
  FROM generate_series(0, :n - 1) n
) TO STDOUT (FORMAT binary);
