-- bench/seed.sh: :families refresh-token families, streamed with COPY (binary) into
-- refresh_token_families (id, user_id, client_id, created_at, revoked_at, revoked_reason).
-- Family f belongs to user f % :users and client f % :clients. By f % 10: 0 = dead (every member and its
-- access token expired over a day ago: the sweeper's to delete), 1 = revoked (reuse or logout, within the
-- last day), 2-9 = live. Its size is 1 + f % 7 tokens (4 on average); refresh_tokens.sql builds the members
-- with the same times, so created_at is when its first token was issued.
COPY (
  SELECT md5('seed-family-' || f)::uuid,
         md5('seed-user-' || (f % :users))::uuid,
         'seed-client-' || (f % :clients),
         now() - make_interval(secs => (f % 86400) + (f % 7) * 3600
                                    + CASE WHEN f % 10 = 0 THEN (:lifetime_days + 1) * 86400 ELSE 0 END),
         CASE WHEN f % 10 = 1 THEN now() - make_interval(secs => f % 86400) END,
         CASE WHEN f % 10 = 1 THEN 'refresh token reuse detected' END
  FROM generate_series(0, :families - 1) f
) TO STDOUT (FORMAT binary);
