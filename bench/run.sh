#!/usr/bin/env bash
# Load benchmark (`make bench`): RS256 signing alone on one core (bench/SignBench), then an HTTP
# floor (GET /health/live), discovery, JWKS, client_credentials issuance, introspection of a valid
# JWT, userinfo, the password grant, refresh_token rotation and authorization_code redemption,
# each with its database transactions per request, plus a bare-Kestrel reference (bench/BareFloor,
# "kestrel_floor") and client_credentials with ES256 (the server restarted with that algorithm), with wrk against a server this
# script starts itself (embedded PostgreSQL + Redis, temporary data dir, loopback only, rate
# limiting off) and stops at the end. Each wrk run is bounded; any non-2xx answer, unexpected
# body or socket error marks the run FAILED and the script exits 1. Raw output goes to
# bench/results/<time>/. See bench/README.md for the figures and how to read them.
#
# Knobs (environment): DURATION=15 (s per wrk run)  RUNS=2 (runs per scenario)  WARMUP=10 (s)
#   CONNECTIONS=16  THREADS=2  SIGN_ROUNDS=8 (1-s rounds per kind in SignBench)  SETTLE=11 (s;
#   PostgreSQL flushes a backend's statistics within 10 s of it going idle)  CODES=100000
#   (authorization codes minted per wrk thread before each authorization_code run; more than a
#   thread redeems in max(WARMUP, DURATION) seconds)  SCENARIOS= (space-separated scenario names to
#   run, e.g. "refresh_token authorization_code"; empty runs all; include floor for the x floor column)
#   SEED=0 (1: the flat-cost run: load bench/seed.sh's
#   data set into the server's database before the scenarios)  SCALE=1 (its size; 0.01 for a quick try)
set -euo pipefail

DURATION=${DURATION:-15}
RUNS=${RUNS:-2}
WARMUP=${WARMUP:-10}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
SIGN_ROUNDS=${SIGN_ROUNDS:-8}
SETTLE=${SETTLE:-11}
CODES=${CODES:-100000}
SCENARIOS=${SCENARIOS:-}
SEED=${SEED:-0}
SCALE=${SCALE:-1}
DOTNET=${DOTNET:-dotnet}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
results="bench/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$results"
summary="$results/summary.txt"
say() { echo "$*" | tee -a "$summary"; }

for tool in wrk curl openssl; do
  command -v "$tool" >/dev/null || { echo "bench: '$tool' is missing (apt-get install $tool)" >&2; exit 2; }
done
# The PostgreSQL server package that --embedded runs ships psql too.
psql=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -1)
[[ -n "$psql" ]] || { echo "bench: psql is missing (apt-get install postgresql-client)" >&2; exit 2; }

echo "Building (Release) …"
$DOTNET build Authly.Cli -c Release -nologo -v quiet >"$results/build.log" 2>&1 || { cat "$results/build.log"; exit 2; }
$DOTNET build bench/SignBench -c Release -nologo -v quiet >>"$results/build.log" 2>&1 || { cat "$results/build.log"; exit 2; }
$DOTNET build bench/BareFloor -c Release -nologo -v quiet >>"$results/build.log" 2>&1 || { cat "$results/build.log"; exit 2; }
$DOTNET build bench/HashBench -c Release -nologo -v quiet >>"$results/build.log" 2>&1 || { cat "$results/build.log"; exit 2; }

free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo "bench: no free port found" >&2; exit 2
}

data_dir=$(mktemp -d /tmp/authly-bench.XXXXXX)
port=$(free_port)
base="http://127.0.0.1:$port"
server_pid=""
bare_pid=""

cleanup() {
  local status=$?
  if [[ -n "$bare_pid" ]]; then kill -TERM "$bare_pid" 2>/dev/null || true; fi
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    # SIGTERM lets `authly serve --embedded` stop its PostgreSQL and Redis.
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$server_pid" 2>/dev/null; then
      kill -KILL "$server_pid" 2>/dev/null || true
      # Its children would be orphaned: they are the only processes naming this unique directory.
      for pid in $(pgrep -f "$data_dir" || true); do kill -KILL "$pid" 2>/dev/null || true; done
    fi
  fi
  rm -rf "$data_dir"
  exit "$status"
}
trap cleanup EXIT INT TERM

admin_password="bench-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
echo "Starting the server on $base (data in $data_dir) …"
# The password guard reserves an attempt before each Argon2 check, so 16 concurrent good logins
# as one user from one address would lock it (AUTHLY_LOCKOUT_*): lifted for the bench server only.
# start_server [VAR=value ...]: the bench server on $port and $data_dir, with extra settings (the ES256 run).
start_server() {
  env AUTHLY_ADMIN_PASSWORD="$admin_password" RATE_LIMIT_MAX_REQUESTS=0 AUTHLY_LOCKOUT_MAX_ATTEMPTS=1000 AUTHLY_LOCKOUT_IP_MAX_ATTEMPTS=1000000 "$@" \
    $DOTNET Authly.Cli/bin/Release/net10.0/authly.dll serve --embedded --host 127.0.0.1 --port "$port" --data-dir "$data_dir" \
    >>"$results/server.log" 2>&1 &
  server_pid=$!
  local i
  for i in $(seq 240); do
    curl -sf "$base/health/ready" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { echo "bench: the server exited:" >&2; tail -30 "$results/server.log" >&2; exit 2; }
    ((i < 240)) || { echo "bench: the server did not become ready in 120 s" >&2; tail -30 "$results/server.log" >&2; exit 2; }
    sleep 0.5
  done
}
start_server

json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
admin_token=$(curl -sf "$base/api/v1/oauth/token" -d grant_type=password -d username=admin \
  --data-urlencode "password=$admin_password" -d scope=admin:clients:write | json_field access_token)
redirect_uri="https://bench.example/cb"
client=$(curl -sf "$base/admin/clients" -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
  -d '{"client_name":"bench","client_type":"confidential","scope":"read openid profile","redirect_uris":["'"$redirect_uri"'"],
       "grant_types":["client_credentials","password","refresh_token","authorization_code"]}')
client_id=$(json_field client_id <<<"$client")
client_secret=$(json_field client_secret <<<"$client")
basic="Basic $(printf '%s:%s' "$client_id" "$client_secret" | base64 -w0)"
access_token=$(curl -sf "$base/api/v1/oauth/token" -H "Authorization: $basic" -d grant_type=client_credentials | json_field access_token)
[[ -n "$client_id" && -n "$access_token" ]] || { echo "bench: could not create the bench client or its token" >&2; exit 2; }
# A user's token for userinfo (OIDC Core §5.3: openid), from the password grant as the admin user.
user_token=$(curl -sf "$base/api/v1/oauth/token" -H "Authorization: $basic" -d grant_type=password -d username=admin \
  --data-urlencode "password=$admin_password" -d "scope=openid profile" | json_field access_token)
[[ -n "$user_token" ]] || { echo "bench: could not get a user token for userinfo" >&2; exit 2; }
# The banner shows no passwords; the embedded services' URLs are in a 0600 file in the data dir.
database_url=$(sed -n 's/^DATABASE_URL=//p' "$data_dir/authly/credentials.env")
[[ -n "$database_url" ]] || { echo "bench: no DATABASE_URL in $data_dir/authly/credentials.env" >&2; exit 2; }
# The server's resident memory (kB), from /proc: idle before anything ran, sampled during each scenario.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status"; }
rss_idle_kb=$(rss_kb)
if [[ "$SEED" == 1 ]]; then
  # The flat-cost run (issue 14): the same scenarios against a database holding a deployment's worth of rows.
  echo "Seeding the server's database (bench/seed.sh, SCALE=$SCALE) …"
  SCALE=$SCALE PSQL=$psql bench/seed.sh "$database_url" | tee "$results/seed.txt"
  [[ "${PIPESTATUS[0]}" == 0 ]] || { echo "bench: seeding failed" >&2; exit 2; }
  # The seeded dead rows (expired revocations, the dead tenth of the families: created more than the refresh
  # lifetime + 1 day ago) are the server's sweeper's to delete; the scenarios measure the steady state after it.
  echo "Waiting for the server's expired-row sweeper to delete the seeded dead rows …"
  sweep_start=$(date +%s)
  while :; do
    left=$("$psql" "$database_url" -XAtc "SELECT (SELECT count(*) FROM revoked_tokens WHERE expires_at < now())
      + (SELECT count(*) FROM refresh_token_families WHERE created_at < now() - make_interval(days => $(( ${REFRESH_TOKEN_EXPIRE_DAYS:-7} + 1 ))))")
    [[ "$left" == 0 ]] && break
    (( $(date +%s) - sweep_start < 1800 )) || { echo "bench: $left dead rows still there after 30 minutes" >&2; exit 2; }
    sleep 5
  done
  say_later="sweeper: deleted the seeded dead rows in $(( $(date +%s) - sweep_start )) s (rounds every AUTHLY_SWEEP_INTERVAL_SECONDS, 60 by default)"
  echo "$say_later"
fi

# Statements the server sends, per scenario: pg_stat_statements (the embedded PostgreSQL loads it when the
# package ships it), installed in the maintenance database so that reading it is not counted. Empty when
# it is not available: the stmt/req and blks/req columns then show "-".
pgss=""
enable_pgss() {
  pgss=""
  "$psql" "${database_url%/*}/postgres" -XAtqc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT count(*) FROM pg_stat_statements" \
    >/dev/null 2>&1 && pgss=1 || echo "bench: pg_stat_statements is not loaded; no statements per request" >&2
}
enable_pgss
# CPU time (ticks) of the embedded PostgreSQL: the postmaster, its backends, and the children it has reaped.
pg_ticks() {
  local pm pid t=0
  pm=$(head -1 "$(find "$data_dir" -name postmaster.pid 2>/dev/null | head -1)" 2>/dev/null) || { echo 0; return; }
  t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat" 2>/dev/null || echo 0)
  for pid in $(ps -o pid= --ppid "$pm" 2>/dev/null); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}

# What the server asked PostgreSQL during a scenario. PostgreSQL publishes a backend's counters
# within 10 s of it going idle (SETTLE). Each snapshot reads the tables' scan counts (one
# transaction in the authly database, which the next window subtracts), then the committed
# transactions and the statements (pg_stat_statements: calls other than transaction control and the
# pool's DISCARD ALL, and the shared buffers they touched), through the maintenance database so that
# those reads are not counted.
snapshot() {
  sleep "$SETTLE"
  "$psql" "$database_url" -Atc "SELECT relname || ' ' || (coalesce(seq_scan, 0) + coalesce(idx_scan, 0)) FROM pg_stat_user_tables ORDER BY 1" >"$1.tables"
  "$psql" "${database_url%/*}/postgres" -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = 'authly'" >"$1.commits"
  if [[ -n "$pgss" ]]; then
    "$psql" "${database_url%/*}/postgres" -XAtF ' ' -c "SELECT coalesce(sum(calls), 0), coalesce(sum(shared_blks_hit + shared_blks_read), 0)
      FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'authly')
        AND query !~* '^\s*(BEGIN|COMMIT|ROLLBACK|DISCARD|SAVEPOINT|RELEASE|SET|RESET)\y'" >"$1.stmts"
  else
    echo "- -" >"$1.stmts"
  fi
}
# db_report FROM TO: "N transactions (tables read: name +k ...)"
db_report() {
  local commits reads
  commits=$(( $(cat "$2.commits") - $(cat "$1.commits") - 1 ))
  reads=$(awk 'NR == FNR { before[$1] = $2; next } $2 > before[$1] { printf " %s +%d", $1, $2 - before[$1] }' "$1.tables" "$2.tables")
  echo "$commits transactions (tables read:${reads:- none})"
}

admin_id=$("$psql" "$database_url" -Atc "SELECT id FROM users WHERE lower(username) = 'admin'")
# PKCE (RFC 7636 §4.2, S256) for the minted codes: one verifier for all of them.
code_verifier=$(head -c 48 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
code_challenge=$(printf '%s' "$code_verifier" | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
mint=0
# Before each refresh_token wrk run: one fresh refresh token per connection (the pool bench/chain.lua
# rotates), plus one per thread: wrk calls request() once on its first thread to check the script,
# and the token that call takes is never sent.
mint_refresh_tokens() {
  local tokens=() t
  for _ in $(seq $((CONNECTIONS + THREADS))); do
    t=$(curl -sf "$base/api/v1/oauth/token" -H "Authorization: $basic" -d grant_type=password -d username=admin \
      --data-urlencode "password=$admin_password" -d scope=read | sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p')
    [[ -n "$t" ]] || { echo "bench: could not mint a refresh token" >&2; exit 2; }
    tokens+=("$t")
  done
  export WRK_MODE=refresh WRK_TOKENS="${tokens[*]}"
}
# Before each authorization_code wrk run: CODES codes per wrk thread, inserted as the authorize
# endpoint stores them (SHA-256 of the code, S256 challenge, five-minute life), in one statement.
mint_codes() {
  mint=$((mint + 1))
  local prefix="bench$mint-"
  "$psql" "$database_url" -q -v ON_ERROR_STOP=1 -c "
    INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, scope, code_challenge, auth_time, expires_at)
    SELECT sha256(convert_to('$prefix' || t || '-' || n, 'UTF8')), '$client_id', '$admin_id', '$redirect_uri', 'read',
           '$code_challenge', now(), now() + interval '5 minutes'
    FROM generate_series(0, $THREADS - 1) t, generate_series(1, $CODES) n" >/dev/null
  export WRK_MODE=code WRK_CODE_PREFIX=$prefix WRK_REDIRECT_URI=$redirect_uri WRK_CODE_VERIFIER=$code_verifier
}

say "Authly load benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
say "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency, $RUNS runs per scenario after a ${WARMUP}s warm-up; server: authly serve --embedded, RATE_LIMIT_MAX_REQUESTS=0"
if [[ "$SEED" == 1 ]]; then say "database: seeded by bench/seed.sh at SCALE=$SCALE: $(sed -n 's/^seed: SCALE=[^:]*: //p' "$results/seed.txt"); $say_later"
else say "database: empty (SEED=0)"; fi
say ""

echo "RS256 signing alone (bench/SignBench, one thread) …"
$DOTNET bench/SignBench/bin/Release/net10.0/signbench.dll "$SIGN_ROUNDS" 1 | tee "$results/signbench.txt"
sign_best=$(awk '/^JsonWebTokenHandler/ {print $3}' "$results/signbench.txt")
sign_cpu_us=$(sed -n 's/^JsonWebTokenHandler.*CPU *\([0-9]*\) us\/sig.*/\1/p' "$results/signbench.txt")
raw_best=$(awk '/^raw RSA/ {print $4}' "$results/signbench.txt")
say "RS256 signing, one thread: JsonWebTokenHandler.CreateToken best $sign_best sig/s ($sign_cpu_us us CPU/sig); raw RSA.SignData best $raw_best sig/s"
# The password grant's ceiling: Argon2id verification alone on one core, with the server's hasher and its cost.
echo "Argon2id verification alone (bench/HashBench, one thread) …"
$DOTNET bench/HashBench/bin/Release/net10.0/hashbench.dll "$SIGN_ROUNDS" 1 | tee "$results/hashbench.txt"
hash_best=$(awk '/^Argon2id verify/ {print $4}' "$results/hashbench.txt")
hash_cpu_us=$(sed -n 's/.*CPU *\([0-9]*\) us\/verify.*/\1/p' "$results/hashbench.txt")
say "Argon2id verification, one thread: best $hash_best verify/s ($hash_cpu_us us CPU each; $(sed -n 's/^Argon2id m=\([^(]*\) (.*/m=\1/p' "$results/hashbench.txt"))"
say ""

failed=0
hz=$(getconf CLK_TCK)
process_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime
machine_busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# run_wrk OUT SECONDS [--latency]: one wrk invocation of the current scenario (SCRIPT, PATH_ and the
# WRK_* environment set by `scenario`). Adds its requests to scenario_requests.
run_wrk() {
  local out=$1 seconds=$2; shift 2
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" --timeout 5s "$@" -s "$SCRIPT" "$base$PATH_" >"$out" 2>&1 || true
  local n
  n=$(sed -n 's/^RESULT requests=\([0-9]*\).*/\1/p' "$out")
  scenario_requests=$((scenario_requests + ${n:-0}))
}
# scenario NAME PATH BODY AUTH EXPECT: warm-up, then RUNS measured runs; prints each run, the best and
# the spread. METHOD (default POST), SCRIPT (default bench/post.lua) and BEFORE apply when set; BEFORE
# runs before every wrk invocation, outside the CPU window (it mints single-use credentials, which
# one invocation spends and the next cannot reuse).
scenario() {
  local name=$1 run out line
  PATH_=$2 SCRIPT=${SCRIPT:-bench/post.lua} BEFORE=${BEFORE:-}
  export WRK_BODY=$3 WRK_AUTH=$4 WRK_EXPECT=$5 WRK_METHOD=${METHOD:-POST} WRK_THREADS=$THREADS
  scenario_requests=0
  echo "$name: warm-up ${WARMUP}s …"
  if [[ -n "$BEFORE" ]]; then $BEFORE; fi
  run_wrk "$results/$name-warmup.txt" "$WARMUP"
  local rates=()
  best_rps=0
  best_cpu_us=0
  best_p50=0
  best_p99=0
  best_pg_us=0
  for run in $(seq "$RUNS"); do
    out="$results/$name-$run.txt"
    local server0 busy0 server1 busy1 pg0 pg1
    if [[ -n "$BEFORE" ]]; then $BEFORE; fi
    server0=$(process_ticks "$server_pid"); busy0=$(machine_busy_ticks); pg0=$(pg_ticks)
    run_wrk "$out" "$DURATION" --latency
    server1=$(process_ticks "$server_pid"); busy1=$(machine_busy_ticks); pg1=$(pg_ticks)
    line=$(grep '^RESULT ' "$out" || echo "RESULT missing")
    local rps p50 p99 non2xx unexpected sockerr
    rps=$(sed -n 's/.* rps=\([0-9]*\).*/\1/p' <<<"$line")
    p50=$(sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p' <<<"$line")
    p99=$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' <<<"$line")
    non2xx=$(sed -n 's/.* non2xx=\([0-9]*\).*/\1/p' <<<"$line")
    unexpected=$(sed -n 's/.* unexpected=\([0-9]*\).*/\1/p' <<<"$line")
    sockerr=$(sed -n 's/.* socket_errors=\([0-9]*\).*/\1/p' <<<"$line")
    if [[ -z "$rps" || "$rps" == 0 || "$non2xx" != 0 || "$unexpected" != 0 || "$sockerr" != 0 ]]; then
      failed=1
      say "$(printf '%-22s run %d: FAILED (non-2xx %s, unexpected body %s, socket errors %s; see %s)' "$name" "$run" "${non2xx:-?}" "${unexpected:-?}" "${sockerr:-?}" "$out")"
      continue
    fi
    rates+=("$rps")
    # Where the CPU went: the server's own time per request, and how many of the machine's cores
    # the server and everything else (wrk, PostgreSQL, other tenants of the machine) kept busy.
    local requests cpu_us server_cores other_cores pg_us
    requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$line")
    cpu_us=$(( (server1 - server0) * 1000000 / hz / requests ))
    # PostgreSQL's CPU per request (its postmaster and backends; 0 for the bare floor, which has none).
    pg_us=$(( (pg1 - pg0) * 1000000 / hz / requests ))
    server_cores=$(awk -v t=$((server1 - server0)) -v hz="$hz" -v d="$DURATION" 'BEGIN {printf "%.2f", t / hz / d}')
    other_cores=$(awk -v t=$((busy1 - busy0 - server1 + server0)) -v hz="$hz" -v d="$DURATION" 'BEGIN {printf "%.2f", t / hz / d}')
    say "$(printf '%-22s run %d: %6d req/s  p50 %6.2f ms  p99 %6.2f ms  non-2xx %d  | server CPU %4d us/req, PostgreSQL %4d us/req; cores busy: server %s, rest %s' \
      "$name" "$run" "$rps" "$p50" "$p99" "$non2xx" "$cpu_us" "$pg_us" "$server_cores" "$other_cores")"
    if ((rps > best_rps)); then best_rps=$rps; best_cpu_us=$cpu_us; best_p50=$p50; best_p99=$p99; best_pg_us=$pg_us; fi
  done
  if ((${#rates[@]} > 0)); then
    local lo hi
    lo=$(printf '%s\n' "${rates[@]}" | sort -n | head -1)
    hi=$(printf '%s\n' "${rates[@]}" | sort -n | tail -1)
    say "$(printf '%-22s best %d req/s (spread %d-%d over %d clean runs)' "$name" "$hi" "$lo" "$hi" "${#rates[@]}")"
  fi
  unset METHOD SCRIPT BEFORE
}

# measure NAME PATH BODY AUTH EXPECT: `scenario`, then the database snapshot after it, and one row of
# the closing table: best req/s, its p50/p99 and CPU per request, CPU as a multiple of the floor's,
# and committed transactions per request over the whole scenario (warm-up included).
rows=()
floor_cpu_us=0
snapshot "$results/db-0"
db_index=0
measure() {
  local name=$1 sampler rss_peak
  if [[ -n "$SCENARIOS" && " $SCENARIOS " != *" $name "* ]]; then
    last_best=0 last_cpu=0
    return 0
  fi
  # The server's RSS every half second while the scenario runs (warm-up included); its peak goes in the table.
  ( while kill -0 "$server_pid" 2>/dev/null; do rss_kb; sleep 0.5; done ) >"$results/$name.rss" 2>/dev/null &
  sampler=$!
  scenario "$@"
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  rss_peak=$(sort -n "$results/$name.rss" | tail -1)
  local from="$results/db-$db_index"
  db_index=$((db_index + 1))
  snapshot "$results/db-$db_index"
  local commits per_req times stmts blks
  commits=$(( $(cat "$results/db-$db_index.commits") - $(cat "$from.commits") - 1 ))
  per_req=$(awk -v c="$commits" -v n="$scenario_requests" 'BEGIN {printf (n > 0 ? "%.3f" : "-"), c / n}')
  # Statements and buffers per request over the whole scenario; the snapshot's own table read is one statement.
  read -r stmts blks < <(awk -v n="$scenario_requests" 'NR == FNR { c0 = $1; b0 = $2; next }
    { if ($1 == "-" || c0 == "-" || n == 0) print "- -"; else printf "%.2f %.1f\n", ($1 - c0 - 1) / n, ($2 - b0) / n }' "$from.stmts" "$results/db-$db_index.stmts")
  [[ "$name" == floor ]] && floor_cpu_us=$best_cpu_us
  times=$(awk -v c="$best_cpu_us" -v f="$floor_cpu_us" 'BEGIN {printf (f > 0 && c > 0 ? "%.1f" : "-"), c / f}')
  rows+=("$(printf '%-20s %8d %8.2f %8.2f %8d %8s %10s %7d %7d %9s %9s' "$name" "$best_rps" "$best_p50" "$best_p99" "$best_cpu_us" "$times" "$per_req" \
    "$(( ${rss_peak:-0} / 1024 ))" "$best_pg_us" "$stmts" "$blks")")
  say "database during $name: $(db_report "$from" "$results/db-$db_index"); $per_req per request ($scenario_requests requests); statements/req $stmts, buffers/req $blks"
  last_best=$best_rps last_cpu=$best_cpu_us
}

# The cheapest JSON answer the server gives: every other CPU figure is read as a multiple of it.
METHOD=GET measure floor /health/live "" "" '"status":"alive"'
# The same answer from a bare Kestrel minimal API (bench/BareFloor) on the same machine in the same run:
# the framework's share of the floor; the rest is Authly's middleware. No database, so no snapshot.
bare_port=$(free_port)
$DOTNET bench/BareFloor/bin/Release/net10.0/barefloor.dll "$bare_port" >"$results/barefloor.log" 2>&1 &
bare_pid=$!
for i in $(seq 120); do
  curl -sf "http://127.0.0.1:$bare_port/health/live" >/dev/null 2>&1 && break
  ((i < 120)) || { echo "bench: bench/BareFloor did not answer in 60 s" >&2; exit 2; }
  sleep 0.5
done
authly_base=$base authly_pid=$server_pid
base="http://127.0.0.1:$bare_port" server_pid=$bare_pid
METHOD=GET scenario kestrel_floor /health/live "" "" '"status":"alive"'
base=$authly_base server_pid=$authly_pid
kill -TERM "$bare_pid" 2>/dev/null || true
wait "$bare_pid" 2>/dev/null || true
bare_pid=""
rows+=("$(printf '%-20s %8d %8.2f %8.2f %8d %8s %10s' kestrel_floor "$best_rps" "$best_p50" "$best_p99" "$best_cpu_us" \
  "$(awk -v c="$best_cpu_us" -v f="$floor_cpu_us" 'BEGIN {printf (f > 0 && c > 0 ? "%.1f" : "-"), c / f}')" -)")
METHOD=GET measure discovery /.well-known/openid-configuration "" "" '"issuer":"'
METHOD=GET measure jwks /.well-known/jwks.json "" "" '"keys":['
# Revalidation by a cache that holds the current document (RFC 9110 §13.1.2): 304 with no body is the
# only right answer; a 200 (or anything else) counts as a failure.
etag_of() { curl -sf -o /dev/null -D - "$base$1" | sed -n 's/^[Ee][Tt][Aa][Gg]: *\([^\r]*\).*/\1/p'; }
discovery_etag=$(etag_of /.well-known/openid-configuration)
jwks_etag=$(etag_of /.well-known/jwks.json)
[[ -n "$discovery_etag" && -n "$jwks_etag" ]] || { echo "bench: discovery or JWKS answered without an ETag" >&2; exit 2; }
WRK_STATUS=304 WRK_IF_NONE_MATCH=$discovery_etag METHOD=GET measure discovery_304 /.well-known/openid-configuration "" "" ""
WRK_STATUS=304 WRK_IF_NONE_MATCH=$jwks_etag METHOD=GET measure jwks_304 /.well-known/jwks.json "" "" ""
measure client_credentials /api/v1/oauth/token "grant_type=client_credentials" "$basic" '"access_token":"'
issuance_best=$last_best
issuance_cpu_us=$last_cpu
# Authenticated as a resource server is (RFC 7662 §2.1), with the bench client's credentials.
measure introspection /api/v1/oauth/introspect "token=$access_token" "$basic" '"active":true'
introspection_best=$last_best
METHOD=GET measure userinfo /oidc/userinfo "" "Bearer $user_token" '"sub":"'
# One Argon2id verification per request: bounded by the cores, not by the engine.
measure password /api/v1/oauth/token "grant_type=password&username=admin&password=$admin_password&scope=read" "$basic" '"access_token":"'
password_best=$last_best
SCRIPT=bench/chain.lua BEFORE=mint_refresh_tokens measure refresh_token /api/v1/oauth/token "" "$basic" ""
SCRIPT=bench/chain.lua BEFORE=mint_codes measure authorization_code /api/v1/oauth/token "" "$basic" '"refresh_token":"'
# ES256 (AUTHLY_SIGNING_ALGORITHM=ES256): the same server restarted on the same data dir; at start it
# rotates to an ES256 key (the RS256 one stays in the JWKS). The bench client and its secret remain.
echo "Restarting the server with AUTHLY_SIGNING_ALGORITHM=ES256 …"
kill -TERM "$server_pid"
wait "$server_pid" 2>/dev/null || true   # it stops its PostgreSQL and Redis first
start_server AUTHLY_SIGNING_ALGORITHM=ES256
# The embedded PostgreSQL came back on a new free port: read its URL again.
database_url=$(sed -n 's/^DATABASE_URL=//p' "$data_dir/authly/credentials.env")
enable_pgss
snapshot "$results/db-$db_index"
measure client_credentials_es256 /api/v1/oauth/token "grant_type=client_credentials" "$basic" '"access_token":"'

say ""
say "$(printf '%-20s %8s %8s %8s %8s %8s %10s %7s %7s %9s %9s' scenario 'req/s' 'p50 ms' 'p99 ms' 'CPU us' 'x floor' 'xact/req' 'RSS MB' 'PG us' 'stmt/req' 'blks/req')"
for row in "${rows[@]}"; do
  say "$row"
  # The password grant's target (issue 14): 80% of (cores x one core's Argon2id verification rate), both from this run.
  if [[ "$row" == "password "* && -n "$hash_best" ]]; then
    say "$(awk -v r="$password_best" -v h="$hash_best" -v c="$(nproc)" 'BEGIN { t = 0.8 * c * h;
      printf "  password target: >= 0.8 x %d cores x %.1f verify/s = %.1f req/s: %s (%.0f%% of cores x one-core rate)", c, h, t, (r >= t ? "PASS" : "MISS"), 100 * r / (c * h) }')"
  fi
done
say "  (best run of each; CPU us = server CPU per request; x floor = that over the floor's; xact/req = pg_stat_database"
say "   commits over the whole scenario, warm-up included, per request; minting codes adds one per warm-up and run;"
say "   RSS MB = the server's peak VmRSS sampled every 0.5 s during the scenario; PG us = PostgreSQL's CPU per request in"
say "   that run; stmt/req, blks/req = pg_stat_statements calls (no BEGIN/COMMIT/DISCARD) and shared buffers per request)"
say "server RSS: $((rss_idle_kb / 1024)) MB idle after start$([[ "$SEED" == 1 ]] && echo " (before seeding)"), $(( $(rss_kb) / 1024 )) MB after the last scenario, peak $(awk '/^VmHWM:/ {print int($2 / 1024)}' "/proc/$server_pid/status") MB (VmHWM)"
revocations_held=$(curl -sf "$base/metrics" | sed -n 's/^authly_revoked_access_tokens \([0-9]*\).*/\1/p' || true)
say "revoked access tokens held in memory: ${revocations_held:-?} (authly_revoked_access_tokens); live rows in revoked_tokens: $("$psql" "$database_url" -XAtc "SELECT count(*) FROM revoked_tokens WHERE expires_at > now()") of $("$psql" "$database_url" -XAtc "SELECT count(*) FROM revoked_tokens")"
say ""
if ((issuance_best > 0)) && [[ -n "$sign_best" ]]; then
  pct=$((100 * issuance_best / sign_best))
  say "client_credentials: best $issuance_best req/s = $pct% of one core's RS256 signing ($sign_best sig/s); target >= 80%: $( ((pct >= 80)) && echo met || echo MISSED)"
  say "  server CPU per issued token $issuance_cpu_us us, of which one RS256 signature is $sign_cpu_us us"
fi
if ((introspection_best > 0)); then
  say "introspection: best $introspection_best req/s; target > 20000: $( ((introspection_best > 20000)) && echo met || echo MISSED)"
fi
say "  (pg_stat_database.xact_commit; a pooled connection's reset counts as one more transaction per round trip)"
say "raw output: $results"
if ((failed)); then
  say "RESULT: FAILED (a run had errors; its figures are not results)"
  exit 1
fi
