#!/usr/bin/env bash
# Loads a flat-cost data set (issue 14) into an Authly database, with COPY: at SCALE=1, 1,000,000 users,
# 100,000 clients, 10,000,000 refresh-token rows in 2,500,000 families (most live, a tenth dead, a tenth
# revoked; 1 to 7 members each, all but the last rotated) and 1,000,000 revoked access tokens, of which
# LIVE_REVOCATIONS (default 2% = 20,000 at SCALE=1) are live and the rest expired. Every row is valid for the
# schema (foreign keys, checks, unique hashes) and holds no usable secret: password hashes, client secrets
# and refresh tokens are hashes of values nobody has. What each table holds is described in bench/seed/*.sql,
# whose SELECT output (generate_series, run by PostgreSQL) is piped into COPY … FROM STDIN in binary form.
# Prints how long each table took, and ends with ANALYZE, as autovacuum would do after such a load.
#
# Usage: bench/seed.sh DATABASE_URL      (the database must be migrated, i.e. a server has started on it)
# Knobs: SCALE=1 (0.01 for a quick try)  LIVE_REVOCATIONS (default 2% of the revoked tokens)
#        REFRESH_TOKEN_EXPIRE_DAYS=7 (the server's setting: the members' lifetime)  PSQL (default: found)
set -euo pipefail

url=${1:?usage: bench/seed.sh DATABASE_URL}
SCALE=${SCALE:-1}
here=$(cd "$(dirname "$0")" && pwd)
psql=${PSQL:-$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -1)}
[[ -n "$psql" ]] || { echo "seed: psql is missing (apt-get install postgresql-client)" >&2; exit 2; }
awk -v s="$SCALE" 'BEGIN { exit !(s > 0 && s <= 10) }' || { echo "seed: SCALE must be a number in (0, 10], not '$SCALE'" >&2; exit 2; }

count() { awk -v s="$SCALE" -v n="$1" 'BEGIN { c = int(s * n + 0.5); print (c < 1 ? 1 : c) }'; }
users=$(count 1000000)
clients=$(count 100000)
families=$(count 2500000)            # 4 members on average: 10,000,000 refresh-token rows at SCALE=1
revoked=$(count 1000000)
live=${LIVE_REVOCATIONS:-$(count 20000)}
((live <= revoked)) || live=$revoked
lifetime_days=${REFRESH_TOKEN_EXPIRE_DAYS:-7}
# Makes this load's hashes differ from any other load's (the rows are otherwise deterministic).
nonce=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')

seeded=$("$psql" "$url" -XAtc "SELECT count(*) FROM users WHERE username LIKE 'seed-user-%'") ||
  { echo "seed: cannot read the users table (is the database migrated?)" >&2; exit 2; }
[[ "$seeded" == 0 ]] || { echo "seed: this database is seeded already" >&2; exit 2; }

# generator SQL-FILE N: the command line that prints the file's rows (COPY … TO STDOUT), for \copy … FROM PROGRAM.
# (\copy takes its line verbatim, so the command is written into it; none of its words holds a quote or a space.)
generator() {
  local cmd="$psql $url -X -q -v ON_ERROR_STOP=1 -v n=$2 -v users=$users -v clients=$clients -v families=$families"
  cmd+=" -v live=$live -v lifetime_days=$lifetime_days -v nonce=$nonce -f $here/seed/$1"
  [[ "$cmd" != *"'"* ]] || { echo "seed: a quote in the database URL or path is not supported" >&2; exit 2; }
  echo "$cmd"
}

# load TABLE COLUMNS SQL-FILE: SELECT … TO STDOUT in one session, COPY … FROM STDIN in another.
load() {
  local table=$1 columns=$2 file=$3 start rows
  start=$(date +%s.%N)
  "$psql" "$url" -X -q -v ON_ERROR_STOP=1 -v n="$4" -v users="$users" -v clients="$clients" -v families="$families" \
      -v live="$live" -v lifetime_days="$lifetime_days" -v nonce="$nonce" -f "$here/seed/$file" |
    "$psql" "$url" -X -q -v ON_ERROR_STOP=1 -c "COPY $table ($columns) FROM STDIN (FORMAT binary)"
  rows=$("$psql" "$url" -XAtc "SELECT count(*) FROM $table")
  printf 'seed: %-24s %10s rows in the table, %7.1f s\n' "$table" "$rows" "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
}

echo "seed: SCALE=$SCALE: $users users, $clients clients, $families refresh-token families (~$((families * 4)) tokens), $revoked revoked access tokens ($live live)"
total=$(date +%s)
load users "id, username, email, password_hash, is_active, is_verified, created_at, updated_at" users.sql "$users"
load clients "id, client_id, client_name, client_type, client_secret_hash, redirect_uris, grant_types, token_endpoint_auth_method" clients.sql "$clients"
start=$(date +%s.%N)
# Every seeded client may ask for the default scope, as a registered client would.
"$psql" "$url" -X -q -v ON_ERROR_STOP=1 -c "INSERT INTO client_scopes (client_id, scope_id)
  SELECT c.id, s.id FROM clients c, scopes s WHERE c.client_id LIKE 'seed-client-%' AND s.scope_name = 'read'"
printf 'seed: %-24s %10s rows in the table, %7.1f s\n' client_scopes "$("$psql" "$url" -XAtc "SELECT count(*) FROM client_scopes")" \
  "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
# A family and its members commit together: a family without members is what the server's sweeper deletes, and it
# would start on them between two separate loads.
families_program=$(generator refresh_token_families.sql "$families")
tokens_program=$(generator refresh_tokens.sql "$families")
"$psql" "$url" -X -q -v ON_ERROR_STOP=1 <<SQL
BEGIN;
SELECT clock_timestamp() AS t0 \gset
\copy refresh_token_families (id, user_id, client_id, created_at, revoked_at, revoked_reason) FROM PROGRAM '$families_program' (FORMAT binary)
SELECT format('seed: %-24s %10s rows in the table, %7s s', 'refresh_token_families', count(*), round(extract(epoch FROM clock_timestamp() - :'t0'), 1)) FROM refresh_token_families \g (format=unaligned tuples_only)
SELECT clock_timestamp() AS t0 \gset
\copy refresh_tokens (id, family_id, token_hash, user_id, client_id, scope, issued_at, expires_at, rotated_at, access_jti, access_expires_at, replaced_by) FROM PROGRAM '$tokens_program' (FORMAT binary)
SELECT format('seed: %-24s %10s rows in the table, %7s s', 'refresh_tokens', count(*), round(extract(epoch FROM clock_timestamp() - :'t0'), 1)) FROM refresh_tokens \g (format=unaligned tuples_only)
COMMIT;
SQL
load revoked_tokens "jti, expires_at, revoked_at" revoked_tokens.sql "$revoked"
start=$(date +%s.%N)
"$psql" "$url" -X -q -v ON_ERROR_STOP=1 -c "ANALYZE users, clients, client_scopes, refresh_token_families, refresh_tokens, revoked_tokens"
printf 'seed: %-24s %7.1f s\n' ANALYZE "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
echo "seed: done in $(( $(date +%s) - total )) s; database size $("$psql" "$url" -XAtc "SELECT pg_size_pretty(pg_database_size(current_database()))")"
