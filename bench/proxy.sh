#!/usr/bin/env bash
# Proxy benchmark (`make bench-proxy`): what `authly proxy postgres|redis` costs over talking to
# PostgreSQL and Redis directly. Starts its own `authly serve --embedded` (temporary data dir,
# loopback only, rate limiting off), takes one token with database:read cache:read cache:write
# (password grant, as the admin), starts both proxies against the embedded PostgreSQL and Redis,
# and measures, at 1 connection (latency) and at HIGH connections (throughput), each run after
# a short warm-up at the same concurrency:
#   SELECT 1  direct (pgbench)  | PostgreSQL wire listener (pgbench, token as password) | POST /query (wrk)
#   GET k     direct (redis-benchmark) | RESP listener (redis-benchmark -a token) | POST /command (wrk)
# Any failed request (pgbench failure, redis error reply, wrk non-2xx/unexpected body/socket
# error) marks the run FAILED and the script exits 1. Raw output goes to
# bench/results/proxy-<time>/. See bench/README.md for the figures.
#
# Knobs (environment): DURATION=10 (s per pgbench/wrk run)  WARMUP=3 (s)  HIGH=16 (connections)
#   REQUESTS=20000 (redis-benchmark requests at 1 connection; 5x that at HIGH)
#   CLI_DIR=/tmp/authly-bench-proxy-cli (where the CLI is built; not the project's bin/)
set -euo pipefail

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
HIGH=${HIGH:-16}
REQUESTS=${REQUESTS:-20000}
CLI_DIR=${CLI_DIR:-${TMPDIR:-/tmp}/authly-bench-proxy-cli}
DOTNET=${DOTNET:-dotnet}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
results="bench/results/proxy-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$results"
summary="$results/summary.txt"
say() { echo "$*" | tee -a "$summary"; }

for tool in wrk curl redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "bench-proxy: '$tool' is missing (apt-get install wrk curl redis-tools)" >&2; exit 2; }
done
# pgbench and psql come with the PostgreSQL server package that --embedded runs.
pg_tool() { command -v "$1" || ls /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | tail -1; }
psql=$(pg_tool psql)
pgbench=$(pg_tool pgbench)
[[ -n "$psql" && -n "$pgbench" ]] || { echo "bench-proxy: psql/pgbench are missing (apt-get install postgresql)" >&2; exit 2; }

echo "Building the CLI (Release) into $CLI_DIR …"
$DOTNET build Authly.Cli -c Release -o "$CLI_DIR" -nologo -v quiet >"$results/build.log" 2>&1 || { cat "$results/build.log"; exit 2; }
authly=("$DOTNET" "$CLI_DIR/authly.dll")

# Below the kernel's ephemeral range, so that no client connection of this run (pgbench, wrk and
# redis-benchmark open thousands) can be holding a port chosen here.
ephemeral_low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((10000 + RANDOM % (ephemeral_low - 10000)))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo "bench-proxy: no free port found" >&2; exit 2
}

data_dir=$(mktemp -d /tmp/authly-bench-proxy.XXXXXX)
port=$(free_port)
base="http://127.0.0.1:$port"
server_pid=""
proxy_pids=()
proxy_logs=()

stop() {  # stop PID SECONDS: SIGTERM, then SIGKILL after SECONDS (and status 1)
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq $(($2 * 2))); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true
  return 1
}
cleanup() {
  local status=$? pid i
  for pid in "${proxy_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in "${!proxy_pids[@]}"; do
    stop "${proxy_pids[$i]}" 10 || echo "bench-proxy: the proxy logging to ${proxy_logs[$i]} did not exit within 10 s of SIGTERM; killed" | tee -a "$summary"
  done
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    # SIGTERM lets `authly serve --embedded` stop its PostgreSQL and Redis.
    stop "$server_pid" 30 || true
    # If it had to be killed, its children would be orphaned: they are the only processes naming
    # this unique directory.
    for pid in $(pgrep -f "$data_dir" || true); do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  rm -rf "$data_dir"
  exit "$status"
}
trap cleanup EXIT INT TERM

# wait_for URL PID LOG NAME: until URL answers 2xx, or PID exits, or 120 s pass.
wait_for() {
  for i in $(seq 240); do
    curl -sf "$1" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { echo "bench-proxy: $4 exited:" >&2; tail -30 "$3" >&2; exit 2; }
    ((i < 240)) || { echo "bench-proxy: $4 did not become ready in 120 s" >&2; tail -30 "$3" >&2; exit 2; }
    sleep 0.5
  done
}

admin_password="bench-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
echo "Starting the server on $base (data in $data_dir) …"
AUTHLY_ADMIN_PASSWORD="$admin_password" RATE_LIMIT_MAX_REQUESTS=0 \
  "${authly[@]}" serve --embedded --host 127.0.0.1 --port "$port" --data-dir "$data_dir" >"$results/server.log" 2>&1 &
server_pid=$!
wait_for "$base/health/ready" "$server_pid" "$results/server.log" "the server"

# The banner shows no passwords: the embedded services' URLs are in a 0600 file in the data dir.
database_url=$(sed -n 's/^DATABASE_URL=//p' "$data_dir/authly/credentials.env")
redis_url=$(sed -n 's/^REDIS_URL=//p' "$data_dir/authly/credentials.env")
[[ -n "$database_url" && -n "$redis_url" ]] || { echo "bench-proxy: no DATABASE_URL/REDIS_URL in $data_dir/authly/credentials.env" >&2; exit 2; }
# postgresql://user:password@host:port/database and redis://[user]:password@host:port[/db]
pg_user=$(sed -n 's|^[a-z]*://\([^:@/]*\).*|\1|p' <<<"$database_url")
pg_db=$(sed -n 's|^[a-z]*://[^/]*/\([^?]*\).*|\1|p' <<<"$database_url")
redis_pass=$(sed -n 's|^[a-z]*://[^:@/]*:\([^@]*\)@.*|\1|p' <<<"$redis_url")
redis_host=$(sed -n 's|^[a-z]*://\([^@]*@\)\{0,1\}\([^:/]*\):\([0-9]*\).*|\2|p' <<<"$redis_url")
redis_port=$(sed -n 's|^[a-z]*://\([^@]*@\)\{0,1\}\([^:/]*\):\([0-9]*\).*|\3|p' <<<"$redis_url")
[[ -n "$pg_user" && -n "$pg_db" && -n "$redis_port" ]] || { echo "bench-proxy: could not parse $database_url / $redis_url" >&2; exit 2; }
redis_bench_direct=(-h "$redis_host" -p "$redis_port")
[[ -z "$redis_pass" ]] || redis_bench_direct+=(-a "$redis_pass")
redis_direct=("${redis_bench_direct[@]}")
[[ -z "$redis_pass" ]] || redis_direct+=(--no-auth-warning)

json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
# The client-less password grant yields only the CLI's admin:*/account:* scopes, so the proxy scopes come
# through a client registered for the password grant (as any script must).
admin_token=$(curl -sf "$base/api/v1/oauth/token" -d grant_type=password -d username=admin \
  --data-urlencode "password=$admin_password" -d scope=admin:clients:write | json_field access_token)
client=$(curl -sf "$base/admin/clients" -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
  -d '{"client_name":"bench-proxy","client_type":"confidential","scope":"database:read cache:read cache:write","grant_types":["password"]}')
token=$(curl -sf "$base/api/v1/oauth/token" -u "$(json_field client_id <<<"$client"):$(json_field client_secret <<<"$client")" \
  -d grant_type=password -d username=admin --data-urlencode "password=$admin_password" \
  --data-urlencode "scope=database:read cache:read cache:write" | json_field access_token)
[[ -n "$token" ]] || { echo "bench-proxy: no token from the password grant" >&2; exit 2; }
# The proxies introspect as a confidential client, as they must against a production Authly (RFC 7662 §2.1).
proxy_client=$(curl -sf "$base/admin/clients" -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
  -d '{"client_name":"bench-proxy-introspection","client_type":"confidential","scope":"read","grant_types":["client_credentials"]}')
AUTHLY_PROXY_CLIENT_ID=$(json_field client_id <<<"$proxy_client")
AUTHLY_PROXY_CLIENT_SECRET=$(json_field client_secret <<<"$proxy_client")
[[ -n "$AUTHLY_PROXY_CLIENT_ID" && -n "$AUTHLY_PROXY_CLIENT_SECRET" ]] || { echo "bench-proxy: could not create the proxies' client" >&2; exit 2; }
export AUTHLY_PROXY_CLIENT_ID AUTHLY_PROXY_CLIENT_SECRET

# The PostgreSQL proxy refuses a superuser login and needs --role: a login that can do nothing but
# become a role with no rights on Authly's tables (as examples/postgres-proxy-rls.sql sets up).
proxy_db_password="bench-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
"$psql" "$database_url" -X -q -v ON_ERROR_STOP=1 -v pw="$proxy_db_password" >"$results/proxy-roles.log" 2>&1 <<'SQL' ||
CREATE ROLE authly_app NOLOGIN;
CREATE ROLE authly_proxy LOGIN NOINHERIT PASSWORD :'pw';
GRANT authly_app TO authly_proxy;
SQL
  { echo "bench-proxy: could not create the proxy's roles: $(cat "$results/proxy-roles.log")" >&2; exit 2; }
proxy_database_url="${database_url%%://*}://authly_proxy:$proxy_db_password@${database_url#*@}"

pg_http_port=$(free_port); pg_wire_port=$(free_port)
redis_http_port=$(free_port); redis_wire_port=$(free_port)
echo "Starting the proxies (PostgreSQL HTTP $pg_http_port, wire $pg_wire_port; Redis HTTP $redis_http_port, RESP $redis_wire_port) …"
"${authly[@]}" proxy postgres --authly-url "$base" --database-url "$proxy_database_url" --role authly_app --host 127.0.0.1 \
  --port "$pg_http_port" --wire-port "$pg_wire_port" >"$results/proxy-postgres.log" 2>&1 &
pg_proxy_pid=$!
proxy_pids+=("$pg_proxy_pid")
proxy_logs+=("$results/proxy-postgres.log")
disown "$pg_proxy_pid"
"${authly[@]}" proxy redis --authly-url "$base" --redis-url "$redis_url" --host 127.0.0.1 \
  --port "$redis_http_port" --wire-port "$redis_wire_port" >"$results/proxy-redis.log" 2>&1 &
redis_proxy_pid=$!
proxy_pids+=("$redis_proxy_pid")
proxy_logs+=("$results/proxy-redis.log")
disown "$redis_proxy_pid"
wait_for "http://127.0.0.1:$pg_http_port/health" "$pg_proxy_pid" "$results/proxy-postgres.log" "the PostgreSQL proxy"
wait_for "http://127.0.0.1:$redis_http_port/health" "$redis_proxy_pid" "$results/proxy-redis.log" "the Redis proxy"

# The value every GET reads: bench:key directly, and bench:key through the proxy (which stores it
# as user:<sub>:bench:key), both holding the same 16 bytes.
value=bench-value-0001
pg_query_body='{"query":"SELECT 1 AS one"}'
redis_get_body='{"command":"GET","args":["bench:key"]}'
redis-cli "${redis_direct[@]}" SET bench:key "$value" >"$results/setup.txt" 2>&1
curl -sf "http://127.0.0.1:$redis_http_port/command" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"command":"SET","args":["bench:key","'"$value"'"]}' >>"$results/setup.txt" 2>&1 \
  || { echo "bench-proxy: SET through POST /command failed" >&2; cat "$results/setup.txt" >&2; exit 2; }
echo >>"$results/setup.txt"
# What a good answer looks like, checked once here and then on every wrk response.
pg_answer=$(curl -sf "http://127.0.0.1:$pg_http_port/query" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$pg_query_body" || true)
redis_answer=$(curl -sf "http://127.0.0.1:$redis_http_port/command" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$redis_get_body" || true)
echo "POST /query $pg_query_body -> $pg_answer" >>"$results/setup.txt"
echo "POST /command $redis_get_body -> $redis_answer" >>"$results/setup.txt"
pg_expect='"one":1'
redis_expect='"result":"'$value'"'
[[ "$pg_answer" == *"$pg_expect"* ]] || { echo "bench-proxy: POST /query answered '$pg_answer', expected $pg_expect" >&2; exit 2; }
[[ "$redis_answer" == *"$redis_expect"* ]] || { echo "bench-proxy: POST /command answered '$redis_answer', expected $redis_expect" >&2; exit 2; }

# Do the wire listeners work for these tools? If not, those scenarios are skipped with a note.
pg_wire_note=""
if ! out=$(PGPASSWORD=$token PGCONNECT_TIMEOUT=5 timeout 15 "$psql" -h 127.0.0.1 -p "$pg_wire_port" -U "$pg_user" -d "$pg_db" -Atc 'SELECT 1' 2>&1) \
   || [[ "$out" != 1 ]]; then
  pg_wire_note="psql through the wire listener did not answer SELECT 1: $(head -1 <<<"$out")"
fi
echo "psql via wire -> ${out:-}" >>"$results/setup.txt"
redis_wire_note=""
out=$(timeout 15 redis-cli -h 127.0.0.1 -p "$redis_wire_port" -a "$token" --no-auth-warning GET bench:key 2>&1 || true)
[[ "$out" == "$value" ]] || redis_wire_note="redis-cli through the RESP listener did not answer GET: $(head -1 <<<"$out")"
echo "redis-cli via RESP -> $out" >>"$results/setup.txt"

failed=0
hz=$(getconf CLK_TCK)
process_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime
rows=()
# row SCENARIO CONNS RPS P50 P99 CPU_US NOTE
row() { rows+=("$(printf '%-38s %5s %9s %8s %8s %9s  %s' "$@")"); }
fail_row() {  # fail_row SCENARIO CONNS WHY
  failed=1
  row "$1" "$2" FAILED - - - "$3"
  say "$1 c$2: FAILED: $3"
}

# The proxy's CPU time per request during a measured run (the figure that says what the proxy costs).
cpu_per_request() {  # cpu_per_request TICKS_BEFORE TICKS_AFTER REQUESTS
  if (($3 > 0)); then echo $(( ($2 - $1) * 1000000 / hz / $3 )); else echo -; fi
}

# percentiles FILES…: p50 and p99 in ms of pgbench's per-transaction log (3rd column: latency in
# µs), and the percentage of transactions logged with 0 µs.
percentiles() {
  cat "$@" | awk '$3 ~ /^[0-9]+$/ {print $3}' | sort -n | awk '{a[NR] = $1; if ($1 == 0) z++}
    END { if (NR == 0) { print "- - 100"; exit }
          i50 = int(NR * 0.50); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
          printf "%.3f %.3f %.0f\n", a[i50] / 1000, a[i99] / 1000, 100 * z / NR }'
}

# pg_run ID NAME CONNS PROXY_PID(or -) PGBENCH-CONNECTION-ARGS…
pg_run() {
  local id=$1 name=$2 conns=$3 pid=$4 jobs out t0 t1
  shift 4
  # One pgbench thread per connection: a thread's clients share one lazily read clock, and with
  # 8 clients per thread half of the logged latencies came out as 0 µs.
  jobs=$conns
  out="$results/$id-c$conns"
  echo "$name c$conns: warm-up ${WARMUP}s, then ${DURATION}s …"
  "$pgbench" -n -M simple -f "$results/select1.sql" -c "$conns" -j "$jobs" -T "$WARMUP" "$@" >"$out-warmup.txt" 2>&1 || true
  mkdir -p "$out-log"
  [[ "$pid" == - ]] || t0=$(process_ticks "$pid")
  local status=0
  "$pgbench" -n -M simple -f "$results/select1.sql" -c "$conns" -j "$jobs" -T "$DURATION" \
    -l --log-prefix="$out-log/tx" "$@" >"$out.txt" 2>&1 || status=$?
  [[ "$pid" == - ]] || t1=$(process_ticks "$pid")
  local processed failures tps p50 p99 zeros note="" cpu=-
  processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out.txt")
  failures=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out.txt")
  tps=$(sed -n 's/^tps = \([0-9]*\).*/\1/p' "$out.txt" | tail -1)
  if ((status != 0)) || [[ -z "$processed" || "$processed" == 0 || "${failures:-0}" != 0 || -z "$tps" ]]; then
    fail_row "$name" "$conns" "pgbench exit $status, processed ${processed:-?}, failed ${failures:-?}; see $out.txt"
    return
  fi
  read -r p50 p99 zeros < <(percentiles "$out-log"/tx*)
  # Against the embedded PostgreSQL at 16 connections, pgbench 15 logged 0 µs for about half of
  # the transactions; percentiles of such a log mean nothing, so only the mean is given then.
  if ((zeros > 1)); then
    note="pgbench logged 0 us for $zeros% of transactions: no percentiles; mean $(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$out.txt") ms"
    p50=-; p99=-
  fi
  [[ "$pid" == - ]] || cpu=$(cpu_per_request "$t0" "$t1" "$processed")
  row "$name" "$conns" "$tps" "$p50" "$p99" "$cpu" "$note"
}

# redis_run ID NAME CONNS PROXY_PID(or -) REDIS-BENCHMARK-CONNECTION-ARGS…: GET bench:key.
# Whether every GET reached Redis and succeeded is read from Redis's own counters.
redis_run() {
  local id=$1 name=$2 conns=$3 pid=$4 requests out t0 t1
  shift 4
  requests=$((conns == 1 ? REQUESTS : 5 * REQUESTS))
  out="$results/$id-c$conns"
  echo "$name c$conns: warm-up, then $requests requests …"
  redis-benchmark "$@" -c "$conns" -n $((requests / 5)) --csv GET bench:key >"$out-warmup.txt" 2>&1 || true
  local before after status=0
  before=$(get_stats)
  [[ "$pid" == - ]] || t0=$(process_ticks "$pid")
  redis-benchmark "$@" -c "$conns" -n "$requests" --csv GET bench:key >"$out.txt" 2>"$out.err" || status=$?
  [[ "$pid" == - ]] || t1=$(process_ticks "$pid")
  after=$(get_stats)
  local line rps p50 p99 calls bad cpu=-
  line=$(grep '^"GET' "$out.txt" | tail -1 || true)
  rps=$(awk -F'","' '{printf "%.0f", $2}' <<<"$line")
  p50=$(awk -F'","' '{print $5}' <<<"$line")
  p99=$(awk -F'","' '{print $7}' <<<"$line")
  read -r calls bad < <(awk -v a="$after" -v b="$before" 'BEGIN { split(a, x, " "); split(b, y, " "); print x[1] - y[1], x[2] - y[2] }')
  echo "redis GET calls +$calls, rejected/failed +$bad" >>"$out.txt"
  if ((status != 0)) || [[ -z "$line" || -z "$rps" ]] || ((bad != 0 || calls < requests)) || grep -qi 'error' "$out.err" "$out.txt"; then
    fail_row "$name" "$conns" "redis-benchmark exit $status, GETs seen by Redis $calls of $requests, rejected/failed $bad; see $out.txt"
    return
  fi
  [[ "$pid" == - ]] || cpu=$(cpu_per_request "$t0" "$t1" "$requests")
  row "$name" "$conns" "$rps" "$p50" "$p99" "$cpu" ""
}
# "calls rejected+failed" of GET on the embedded Redis (Redis 7 counts both per command).
get_stats() {
  redis-cli "${redis_direct[@]}" INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_get:\(.*\)$/\1/p' \
    | awk -F, '{ c = 0; e = 0; for (i = 1; i <= NF; i++) { split($i, kv, "=");
        if (kv[1] == "calls") c = kv[2]; if (kv[1] == "rejected_calls" || kv[1] == "failed_calls") e += kv[2] } }
        END { print c + 0, e + 0 }'
}

# wrk_run ID NAME CONNS PROXY_PID URL BODY EXPECT
wrk_run() {
  local id=$1 name=$2 conns=$3 pid=$4 url=$5 body=$6 expect=$7 threads out t0 t1
  threads=$((conns < 2 ? conns : 2))
  out="$results/$id-c$conns"
  echo "$name c$conns: warm-up ${WARMUP}s, then ${DURATION}s …"
  WRK_BODY=$body WRK_AUTH="Bearer $token" WRK_EXPECT=$expect WRK_CONTENT_TYPE=application/json \
    wrk -t"$threads" -c"$conns" -d"${WARMUP}s" --timeout 5s -s bench/post.lua "$url" >"$out-warmup.txt" 2>&1 || true
  t0=$(process_ticks "$pid")
  WRK_BODY=$body WRK_AUTH="Bearer $token" WRK_EXPECT=$expect WRK_CONTENT_TYPE=application/json \
    wrk -t"$threads" -c"$conns" -d"${DURATION}s" --timeout 5s --latency -s bench/post.lua "$url" >"$out.txt" 2>&1 || true
  t1=$(process_ticks "$pid")
  local line rps p50 p99 requests non2xx unexpected sockerr
  line=$(grep '^RESULT ' "$out.txt" || echo "RESULT missing")
  rps=$(sed -n 's/.* rps=\([0-9]*\).*/\1/p' <<<"$line")
  requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$line")
  p50=$(sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p' <<<"$line")
  p99=$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' <<<"$line")
  non2xx=$(sed -n 's/.* non2xx=\([0-9]*\).*/\1/p' <<<"$line")
  unexpected=$(sed -n 's/.* unexpected=\([0-9]*\).*/\1/p' <<<"$line")
  sockerr=$(sed -n 's/.* socket_errors=\([0-9]*\).*/\1/p' <<<"$line")
  if [[ -z "$rps" || "$rps" == 0 || "$non2xx" != 0 || "$unexpected" != 0 || "$sockerr" != 0 ]]; then
    fail_row "$name" "$conns" "non-2xx ${non2xx:-?}, unexpected body ${unexpected:-?}, socket errors ${sockerr:-?}; see $out.txt"
    return
  fi
  row "$name" "$conns" "$rps" "$p50" "$p99" "$(cpu_per_request "$t0" "$t1" "$requests")" ""
}

echo 'SELECT 1;' >"$results/select1.sql"
say "Authly proxy benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg); pgbench/wrk ${DURATION}s, redis-benchmark $REQUESTS (c1) / $((5 * REQUESTS)) (c$HIGH) requests, each after a warm-up"
say ""

for conns in 1 "$HIGH"; do
  pg_run pg-direct "pg SELECT 1 direct (pgbench)" "$conns" - "$database_url"
  if [[ -z "$pg_wire_note" ]]; then
    PGPASSWORD=$token pg_run pg-wire "pg SELECT 1 proxy wire (pgbench)" "$conns" "$pg_proxy_pid" -h 127.0.0.1 -p "$pg_wire_port" -U "$pg_user" "$pg_db"
  else
    row "pg SELECT 1 proxy wire (pgbench)" "$conns" skipped - - - "see below"
  fi
  wrk_run pg-http "pg SELECT 1 proxy POST /query (wrk)" "$conns" "$pg_proxy_pid" "http://127.0.0.1:$pg_http_port/query" "$pg_query_body" "$pg_expect"
  redis_run redis-direct "redis GET direct (redis-benchmark)" "$conns" - "${redis_bench_direct[@]}"
  if [[ -z "$redis_wire_note" ]]; then
    redis_run redis-wire "redis GET proxy RESP (redis-benchmark)" "$conns" "$redis_proxy_pid" -h 127.0.0.1 -p "$redis_wire_port" -a "$token"
  else
    row "redis GET proxy RESP (redis-benchmark)" "$conns" skipped - - - "see below"
  fi
  wrk_run redis-http "redis GET proxy POST /command (wrk)" "$conns" "$redis_proxy_pid" "http://127.0.0.1:$redis_http_port/command" "$redis_get_body" "$redis_expect"
done

say ""
say "$(printf '%-38s %5s %9s %8s %8s %9s' scenario conns 'req/s' 'p50 ms' 'p99 ms' 'proxy CPU')"
say "$(printf '%-38s %5s %9s %8s %8s %9s' '' '' '' '' '' 'us/req')"
# Rows by service: PostgreSQL at 1 and HIGH connections, then Redis.
for prefix in "pg " "redis "; do
  for r in "${rows[@]}"; do [[ "$r" == "$prefix"* ]] && say "$r"; done
done
say ""
[[ -z "$pg_wire_note" ]] || say "PostgreSQL wire listener: skipped; $pg_wire_note"
[[ -z "$redis_wire_note" ]] || say "RESP listener: skipped; $redis_wire_note"
say "p50/p99: pgbench from its per-transaction log (-l), redis-benchmark and wrk their own; proxy CPU: the proxy process's user+system time per request"
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
say "raw output: $results"
if ((failed)); then
  say "RESULT: FAILED (a run had errors; its figures are not results)"
  exit 1
fi
