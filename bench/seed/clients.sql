-- bench/seed.sh: :n confidential clients, streamed with COPY (binary) into
-- clients (id, client_id, client_name, client_type, client_secret_hash, redirect_uris, grant_types,
--          token_endpoint_auth_method).
-- The secret hash is SHA-256 of a random value: no seeded client can authenticate.
COPY (
  SELECT md5('seed-client-' || n)::uuid,
         'seed-client-' || n,
         'Seed client ' || n,
         'confidential',
         sha256(convert_to('secret-' || n || :'nonce', 'UTF8')),
         ARRAY['https://seed' || n || '.example/cb'],
         ARRAY['authorization_code', 'refresh_token'],
         'client_secret_basic'
  FROM generate_series(0, :n - 1) n
) TO STDOUT (FORMAT binary);
