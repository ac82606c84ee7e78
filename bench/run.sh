#!/usr/bin/env bash
# Load benchmark (`make bench`): RS256 signing alone on one core (bench/SignBench), then
# client_credentials issuance and introspection of a valid JWT, with wrk against a server this
# script starts itself (embedded PostgreSQL + Redis, temporary data dir, loopback only, rate
# limiting off) and stops at the end. Each wrk run is bounded; any non-2xx answer, unexpected
# body or socket error marks the run FAILED and the script exits 1. Raw output goes to
# bench/results/<time>/. See bench/README.md for the figures and how to read them.
#
# Knobs (environment): DURATION=15 (s per wrk run)  RUNS=2 (runs per scenario)  WARMUP=10 (s)
#   CONNECTIONS=16  THREADS=2  SIGN_ROUNDS=8 (1-s rounds per kind in SignBench)  SETTLE=11 (s;
#   PostgreSQL flushes a backend's statistics within 10 s of it going idle)
set -euo pipefail

DURATION=${DURATION:-15}
RUNS=${RUNS:-2}
WARMUP=${WARMUP:-10}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
SIGN_ROUNDS=${SIGN_ROUNDS:-8}
SETTLE=${SETTLE:-11}
DOTNET=${DOTNET:-dotnet}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
results="bench/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$results"
summary="$results/summary.txt"
say() { echo "$*" | tee -a "$summary"; }

for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "bench: '$tool' is missing (apt-get install $tool)" >&2; exit 2; }
done
# The PostgreSQL server package that --embedded runs ships psql too.
psql=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -1)
[[ -n "$psql" ]] || { echo "bench: psql is missing (apt-get install postgresql-client)" >&2; exit 2; }

echo "Building (Release) …"
$DOTNET build Authly.Cli -c Release -nologo -v quiet >"$results/build.log" 2>&1 || { cat "$results/build.log"; exit 2; }
$DOTNET build bench/SignBench -c Release -nologo -v quiet >>"$results/build.log" 2>&1 || { cat "$results/build.log"; exit 2; }

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

cleanup() {
  local status=$?
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
AUTHLY_ADMIN_PASSWORD="$admin_password" RATE_LIMIT_MAX_REQUESTS=0 \
  $DOTNET Authly.Cli/bin/Release/net10.0/authly.dll serve --embedded --host 127.0.0.1 --port "$port" --data-dir "$data_dir" \
  >"$results/server.log" 2>&1 &
server_pid=$!
for i in $(seq 240); do
  curl -sf "$base/health/ready" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "bench: the server exited:" >&2; tail -30 "$results/server.log" >&2; exit 2; }
  ((i < 240)) || { echo "bench: the server did not become ready in 120 s" >&2; tail -30 "$results/server.log" >&2; exit 2; }
  sleep 0.5
done

json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
admin_token=$(curl -sf "$base/api/v1/oauth/token" -d grant_type=password -d username=admin \
  --data-urlencode "password=$admin_password" -d scope=admin:clients:write | json_field access_token)
client=$(curl -sf "$base/admin/clients" -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
  -d '{"client_name":"bench","client_type":"confidential","scope":"read","grant_types":["client_credentials"]}')
client_id=$(json_field client_id <<<"$client")
client_secret=$(json_field client_secret <<<"$client")
basic="Basic $(printf '%s:%s' "$client_id" "$client_secret" | base64 -w0)"
access_token=$(curl -sf "$base/api/v1/oauth/token" -H "Authorization: $basic" -d grant_type=client_credentials | json_field access_token)
[[ -n "$client_id" && -n "$access_token" ]] || { echo "bench: could not create the bench client or its token" >&2; exit 2; }
# The banner shows no passwords; the embedded services' URLs are in a 0600 file in the data dir.
database_url=$(sed -n 's/^DATABASE_URL=//p' "$data_dir/authly/credentials.env")
[[ -n "$database_url" ]] || { echo "bench: no DATABASE_URL in $data_dir/authly/credentials.env" >&2; exit 2; }

# What the server asked PostgreSQL during a scenario. PostgreSQL publishes a backend's counters
# within 10 s of it going idle (SETTLE). Each snapshot reads the tables' scan counts (one
# transaction in the authly database, which the next window subtracts) and then the committed
# transactions, through the maintenance database so that read is not counted.
snapshot() {
  sleep "$SETTLE"
  "$psql" "$database_url" -Atc "SELECT relname || ' ' || (coalesce(seq_scan, 0) + coalesce(idx_scan, 0)) FROM pg_stat_user_tables ORDER BY 1" >"$1.tables"
  "$psql" "${database_url%/*}/postgres" -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = 'authly'" >"$1.commits"
}
# db_report FROM TO: "N transactions (tables read: name +k ...)"
db_report() {
  local commits reads
  commits=$(( $(cat "$2.commits") - $(cat "$1.commits") - 1 ))
  reads=$(awk 'NR == FNR { before[$1] = $2; next } $2 > before[$1] { printf " %s +%d", $1, $2 - before[$1] }' "$1.tables" "$2.tables")
  echo "$commits transactions (tables read:${reads:- none})"
}

say "Authly load benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
say "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency, $RUNS runs per scenario after a ${WARMUP}s warm-up; server: authly serve --embedded, RATE_LIMIT_MAX_REQUESTS=0"
say ""

echo "RS256 signing alone (bench/SignBench, one thread) …"
$DOTNET bench/SignBench/bin/Release/net10.0/signbench.dll "$SIGN_ROUNDS" 1 | tee "$results/signbench.txt"
sign_best=$(awk '/^JsonWebTokenHandler/ {print $3}' "$results/signbench.txt")
sign_cpu_us=$(sed -n 's/^JsonWebTokenHandler.*CPU *\([0-9]*\) us\/sig.*/\1/p' "$results/signbench.txt")
raw_best=$(awk '/^raw RSA/ {print $4}' "$results/signbench.txt")
say "RS256 signing, one thread: JsonWebTokenHandler.CreateToken best $sign_best sig/s ($sign_cpu_us us CPU/sig); raw RSA.SignData best $raw_best sig/s"
say ""

failed=0
hz=$(getconf CLK_TCK)
process_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime
machine_busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# scenario NAME PATH BODY AUTH EXPECT: warm-up, then RUNS measured runs; prints the best and the spread.
scenario() {
  local name=$1 path=$2 body=$3 auth=$4 expect=$5 run out line
  echo "$name: warm-up ${WARMUP}s …"
  WRK_BODY=$body WRK_AUTH=$auth WRK_EXPECT=$expect \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" --timeout 5s -s bench/post.lua "$base$path" >"$results/$name-warmup.txt" 2>&1 || true
  local rates=()
  best_rps=0
  best_cpu_us=0
  for run in $(seq "$RUNS"); do
    out="$results/$name-$run.txt"
    local server0 busy0 server1 busy1
    server0=$(process_ticks "$server_pid"); busy0=$(machine_busy_ticks)
    WRK_BODY=$body WRK_AUTH=$auth WRK_EXPECT=$expect \
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s --latency -s bench/post.lua "$base$path" >"$out" 2>&1 || true
    server1=$(process_ticks "$server_pid"); busy1=$(machine_busy_ticks)
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
    local requests cpu_us server_cores other_cores
    requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$line")
    cpu_us=$(( (server1 - server0) * 1000000 / hz / requests ))
    server_cores=$(awk -v t=$((server1 - server0)) -v hz="$hz" -v d="$DURATION" 'BEGIN {printf "%.2f", t / hz / d}')
    other_cores=$(awk -v t=$((busy1 - busy0 - server1 + server0)) -v hz="$hz" -v d="$DURATION" 'BEGIN {printf "%.2f", t / hz / d}')
    say "$(printf '%-22s run %d: %6d req/s  p50 %6.2f ms  p99 %6.2f ms  non-2xx %d  | server CPU %4d us/req; cores busy: server %s, rest %s' \
      "$name" "$run" "$rps" "$p50" "$p99" "$non2xx" "$cpu_us" "$server_cores" "$other_cores")"
    if ((rps > best_rps)); then best_rps=$rps; best_cpu_us=$cpu_us; fi
  done
  if ((${#rates[@]} > 0)); then
    local lo hi
    lo=$(printf '%s\n' "${rates[@]}" | sort -n | head -1)
    hi=$(printf '%s\n' "${rates[@]}" | sort -n | tail -1)
    say "$(printf '%-22s best %d req/s (spread %d-%d over %d clean runs)' "$name" "$hi" "$lo" "$hi" "${#rates[@]}")"
  fi
}

snapshot "$results/db-0"
scenario client_credentials /api/v1/oauth/token "grant_type=client_credentials" "$basic" '"access_token":"'
issuance_best=$best_rps
issuance_cpu_us=$best_cpu_us
snapshot "$results/db-1"
# Authenticated as a resource server is (RFC 7662 §2.1), with the bench client's credentials.
scenario introspection /api/v1/oauth/introspect "token=$access_token" "$basic" '"active":true'
introspection_best=$best_rps
snapshot "$results/db-2"

say ""
if ((issuance_best > 0)) && [[ -n "$sign_best" ]]; then
  pct=$((100 * issuance_best / sign_best))
  say "client_credentials: best $issuance_best req/s = $pct% of one core's RS256 signing ($sign_best sig/s); target >= 80%: $( ((pct >= 80)) && echo met || echo MISSED)"
  say "  server CPU per issued token $issuance_cpu_us us, of which one RS256 signature is $sign_cpu_us us"
fi
if ((introspection_best > 0)); then
  say "introspection: best $introspection_best req/s; target > 20000: $( ((introspection_best > 20000)) && echo met || echo MISSED)"
fi
say "database during client_credentials: $(db_report "$results/db-0" "$results/db-1")"
say "database during introspection:      $(db_report "$results/db-1" "$results/db-2")"
say "  (pg_stat_database.xact_commit; a pooled connection's reset counts as one more transaction per round trip)"
say "raw output: $results"
if ((failed)); then
  say "RESULT: FAILED (a run had errors; its figures are not results)"
  exit 1
fi
