-- bench/seed.sh: :n users, streamed with COPY (binary) into
-- users (id, username, email, password_hash, is_active, is_verified, created_at, updated_at).
-- Ids are md5-derived, so the other tables reach user k as md5('seed-user-' || k)::uuid without a lookup.
-- The password hash is a well-formed Argon2id PHC string (the server's default cost) of no known password:
-- a random salt and hash, so no seeded account can be signed into.
COPY (
  SELECT md5('seed-user-' || n)::uuid,
         'seed-user-' || n,
         'seed-user-' || n || '@seed.example',
         '$argon2id$v=19$m=19456,t=2,p=1$'
           || rtrim(encode(decode(md5('salt-' || n || :'nonce'), 'hex'), 'base64'), '=') || '$'
           || rtrim(encode(sha256(convert_to('hash-' || n || :'nonce', 'UTF8')), 'base64'), '='),
         n % 50 <> 0,                       -- 2% deactivated
         n % 3 <> 0,
         now() - make_interval(secs => n % 31536000),
         now() - make_interval(secs => n % 2592000)
  FROM generate_series(0, :n - 1) n
) TO STDOUT (FORMAT binary);
