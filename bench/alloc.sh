#!/usr/bin/env bash
# Bytes allocated per request (issue 14): a load-independent measure of the engine's per-request work,
# for a machine whose CPU figures are too noisy to compare builds. Starts `authly serve --embedded`
# (ES256, access log on, rate limits off) on a fresh data dir, then for each scenario runs wrk for
# DURATION seconds while dotnet-counters records the runtime's dotnet.gc.heap.total_allocated, and prints
# bytes allocated per request (allocation during the wrk window / requests wrk completed).
# Background work (caches, the sweeper) allocates too; over a few thousand requests it is noise.
# Needs dotnet-counters (dotnet tool install -g dotnet-counters). Knobs: DURATION=6 WARMUP=3 CONNECTIONS=8 ATTACH=8
# SCENARIOS="floor introspection client_credentials_es256 discovery"  AUTHLY_DLL (another build)
# TRACE=<dir>: also a dotnet-trace CPU sample (dotnet-sampled-thread-time) of each wrk window, as speedscope JSON in <dir>.
set -euo pipefail
DURATION=${DURATION:-6}
ATTACH=${ATTACH:-8}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-8}
SCENARIOS=${SCENARIOS:-floor introspection client_credentials_es256 discovery}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PATH=$PATH:$HOME/.dotnet/tools
dll=${AUTHLY_DLL:-Authly.Cli/bin/Release/net10.0/authly.dll}
data_dir=$(mktemp -d /tmp/authly-alloc.XXXXXX)
port=$((20000 + RANDOM % 40000))
base="http://127.0.0.1:$port"
password="alloc-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')"
pid=""
stop() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  fi
  rm -rf "$data_dir"
}
trap stop EXIT INT TERM
AUTHLY_ADMIN_PASSWORD=$password RATE_LIMIT_MAX_REQUESTS=0 AUTHLY_SIGNING_ALGORITHM=ES256 \
  dotnet "$dll" serve --embedded --host 127.0.0.1 --port "$port" --data-dir "$data_dir" >"$data_dir.log" 2>&1 &
pid=$!
for _ in $(seq 1200); do
  curl -sf "$base/health/ready" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { echo "alloc: the server exited" >&2; tail -20 "$data_dir.log" >&2; exit 2; }
  sleep 0.1
done
json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
admin_token=$(curl -sf "$base/api/v1/oauth/token" -d grant_type=password -d username=admin \
  --data-urlencode "password=$password" -d scope=admin:clients:write | json_field access_token)
client=$(curl -sf "$base/admin/clients" -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
  -d '{"client_name":"alloc","client_type":"confidential","scope":"read","grant_types":["client_credentials"]}')
basic="Basic $(printf '%s:%s' "$(json_field client_id <<<"$client")" "$(json_field client_secret <<<"$client")" | base64 -w0)"
access_token=$(curl -sf "$base/api/v1/oauth/token" -H "Authorization: $basic" -d grant_type=client_credentials | json_field access_token)
[[ -n "$access_token" ]] || { echo "alloc: no bench client or token" >&2; exit 2; }

# measure NAME PATH: wrk with the WRK_* environment set by the caller; prints bytes per request.
measure() {
  local name=$1 path=$2 csv="$data_dir.$1.csv"
  wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" -s bench/post.lua "$base$path" >/dev/null 2>&1 || true
  rm -f "$csv"
  # --duration, not a signal: a background job of a script ignores SIGINT, dotnet-counters' way to stop.
  dotnet-counters collect -p "$pid" --counters 'System.Runtime[dotnet.gc.heap.total_allocated]' --refresh-interval 1 \
    --format csv -o "$csv" --duration "00:00:$(printf %02d $((ATTACH + DURATION + 20)))" >/dev/null 2>&1 &
  local counters=$! tracer=""
  if [[ -n "${TRACE:-}" ]]; then # a CPU sample of the same window, as speedscope JSON beside this script's results
    dotnet-trace collect -p "$pid" --profile dotnet-sampled-thread-time --duration "00:00:00:$(printf %02d "$DURATION")" \
      --format speedscope -o "$TRACE/$name.nettrace" >/dev/null 2>&1 &
    tracer=$!
  fi
  # dotnet-counters writes its CSV only when it ends, so its attach cannot be watched: wrk starts ATTACH seconds after it,
  # and the window runs 20 s past wrk; the idle intervals' background allocation is subtracted below.
  sleep "$ATTACH"
  local out
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/post.lua "$base$path" 2>&1 || true)
  wait "$counters" 2>/dev/null || true
  if [[ -n "$tracer" ]]; then wait "$tracer" 2>/dev/null || true; fi
  local requests failures
  requests=$(sed -n 's/^RESULT requests=\([0-9]*\).*/\1/p' <<<"$out")
  failures=$(sed -n 's/.* non2xx=\([0-9]*\) unexpected=\([0-9]*\).*/\1+\2/p' <<<"$out")
  # Rows: timestamp,provider,counter,type,value (bytes allocated in that interval). Every interval but the first (the
  # attach itself allocates in the server), less the background rate (the median of the last five, all idle) times their
  # number: the window holds all of wrk's run only if dotnet-counters attached within ATTACH seconds (said when not).
  local bytes
  bytes=$(awk -F, '/total_allocated/ { v[++n] = $NF } END {
    k = 0; for (i = n - 4; i <= n; i++) { x = v[i]; j = k++; while (j > 0 && t[j - 1] > x) { t[j] = t[j - 1]; j-- } t[j] = x }
    idle = t[2]
    for (i = 2; i <= n; i++) s += v[i]; s -= (n - 1) * idle
    if (v[1] > 20 * idle) print "alloc: the first interval was busy (attach late, or its own allocation): raise ATTACH" > "/dev/stderr"
    printf "%.0f", s }' "$csv")
  printf '%-26s %8s requests  %6s B/request  (failures %s)\n' "$name" "$requests" "$(( bytes / (requests > 0 ? requests : 1) ))" "${failures:-?}"
}
for s in $SCENARIOS; do
  unset WRK_BODY WRK_AUTH WRK_EXPECT
  case $s in
    floor) WRK_METHOD=GET WRK_EXPECT='"status":"alive"' measure floor /health/live ;;
    discovery) WRK_METHOD=GET WRK_EXPECT='"issuer":"' measure discovery /.well-known/openid-configuration ;;
    introspection) WRK_METHOD=POST WRK_BODY="token=$access_token" WRK_AUTH=$basic WRK_EXPECT='"active":true' \
      measure introspection /api/v1/oauth/introspect ;;
    client_credentials_es256) WRK_METHOD=POST WRK_BODY=grant_type=client_credentials WRK_AUTH=$basic \
      WRK_EXPECT='"access_token":"' measure client_credentials_es256 /api/v1/oauth/token ;;
    *) echo "alloc: unknown scenario $s" >&2 ;;
  esac
done
