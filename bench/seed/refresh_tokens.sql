-- bench/seed.sh: the members of every family (see refresh_token_families.sql), streamed with COPY (binary) into
-- refresh_tokens (id, family_id, token_hash, user_id, client_id, scope, issued_at, expires_at, rotated_at,
--                 access_jti, access_expires_at, replaced_by).
-- Member p of family f (p = 0 .. f % 7) was issued an hour after member p - 1 and rotated when p + 1 was
-- issued (rotated_at, replaced_by); the last one is current in a live family. Each lives :lifetime_days days
-- (REFRESH_TOKEN_EXPIRE_DAYS) and its access token 60 minutes. token_hash is SHA-256 of a value nobody holds.
COPY (
  SELECT md5('seed-token-' || f || '-' || p)::uuid,
         md5('seed-family-' || f)::uuid,
         sha256(convert_to('seed-refresh-' || f || '-' || p || :'nonce', 'UTF8')),
         md5('seed-user-' || (f % :users))::uuid,
         'seed-client-' || (f % :clients),
         'read',
         issued,
         issued + make_interval(days => :lifetime_days),
         CASE WHEN p < f % 7 THEN issued + interval '1 hour' END,
         'seed-at-' || f || '-' || p,
         issued + interval '60 minutes',
         CASE WHEN p < f % 7 THEN md5('seed-token-' || f || '-' || (p + 1))::uuid END
  FROM generate_series(0, :families - 1) f,
       LATERAL generate_series(0, f % 7) p,
       LATERAL (SELECT now() - make_interval(secs => (f % 86400) + (f % 7 - p) * 3600
                                              + CASE WHEN f % 10 = 0 THEN (:lifetime_days + 1) * 86400 ELSE 0 END)) i(issued)
) TO STDOUT (FORMAT binary);
