#!/usr/bin/env bash
# Start-up and memory (issue 14): starts `authly serve --embedded` on a fresh data dir, stops it, and
# starts it again on the same (now existing) data dir. For each start it prints the milliseconds from
# launch until GET /health/ready answers 200 (polled every 20 ms, no fixed sleeps as synchronisation),
# the server's RSS after IDLE seconds of idleness, and its RSS after 300 more requests (100 each of
# /health/live, discovery and client_credentials).
#
# Extra runtime settings are passed through the environment, e.g.
#   DOTNET_TieredPGO=0 bench/startup.sh      DOTNET_gcServer=0 bench/startup.sh
# AUTHLY_DLL picks another build (e.g. a ReadyToRun publish). Knobs: IDLE=10 (s)  ROUNDS=1 (restarts).
# Pairwise comparison on a loaded machine: ALT_ENV="DOTNET_gcServer=1" (and/or ALT_DLL=…) makes every round
# restart on the same data dir back to back: once as given, then once per ';'-separated ALT_ENV entry
# ("alt" rows; ALT_ENV="A=1;A=1 B=0" compares three), with ALT_DLL's build when given.
set -euo pipefail
IDLE=${IDLE:-10}
ROUNDS=${ROUNDS:-1}
DOTNET=${DOTNET:-dotnet}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dll=${AUTHLY_DLL:-Authly.Cli/bin/Release/net10.0/authly.dll}
if [[ -z "${AUTHLY_DLL:-}" ]]; then
  $DOTNET build Authly.Cli -c Release -nologo -v quiet >/dev/null 2>&1 || { echo "startup: build failed" >&2; exit 2; }
fi
data_dir=$(mktemp -d /tmp/authly-startup.XXXXXX)
port=$((20000 + RANDOM % 40000))
base="http://127.0.0.1:$port"
password="startup-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')"
pid=""
stop() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    # The server stops its PostgreSQL and Redis on SIGTERM; wait for it (bounded).
    wait "$pid" 2>/dev/null || true   # it stops its PostgreSQL and Redis first
  fi
  pid=""
}
cleanup() { stop; rm -rf "$data_dir"; }
trap cleanup EXIT INT TERM
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

start() {
  local label=$1 extra_env=${2:-} run_dll=${3:-$dll} t0 ready
  t0=$(now_ms)
  # shellcheck disable=SC2086 # ALT_ENV is a list of NAME=value words
  env $extra_env AUTHLY_ADMIN_PASSWORD="$password" $DOTNET "$run_dll" serve --embedded --host 127.0.0.1 --port "$port" --data-dir "$data_dir" \
    >>"$data_dir.log" 2>&1 &
  pid=$!
  until curl -sf -o /dev/null "$base/health/ready"; do
    kill -0 "$pid" 2>/dev/null || { echo "startup: the server exited" >&2; tail -20 "$data_dir.log" >&2; exit 2; }
    (( $(now_ms) - t0 < 120000 )) || { echo "startup: not ready in 120 s" >&2; exit 2; }
    sleep 0.02
  done
  ready=$(( $(now_ms) - t0 ))
  sleep "$IDLE"   # idleness is what is measured here, not a synchronisation
  local idle_rss; idle_rss=$(rss_mb "$pid")
  local token; token=$(curl -sf "$base/api/v1/oauth/token" -d grant_type=password -d username=admin \
    --data-urlencode "password=$password" -d scope=admin:clients:write | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
  local client id secret
  client=$(curl -sf "$base/admin/clients" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"client_name":"startup","client_type":"confidential","scope":"read","grant_types":["client_credentials"]}')
  id=$(sed -n 's/.*"client_id":"\([^"]*\)".*/\1/p' <<<"$client"); secret=$(sed -n 's/.*"client_secret":"\([^"]*\)".*/\1/p' <<<"$client")
  for _ in $(seq 100); do
    curl -sf -o /dev/null "$base/health/live"
    curl -sf -o /dev/null "$base/.well-known/openid-configuration"
    curl -sf -o /dev/null -u "$id:$secret" "$base/api/v1/oauth/token" -d grant_type=client_credentials
  done
  printf '%-10s ready %5d ms   RSS idle %6s MB (after %ss)   RSS after 300 requests %6s MB\n' "$label" "$ready" "$idle_rss" "$IDLE" "$(rss_mb "$pid")"
}

echo "authly start-up ($dll${DOTNET_TieredPGO:+ TieredPGO=$DOTNET_TieredPGO}${DOTNET_gcServer:+ gcServer=$DOTNET_gcServer}${DOTNET_GCConserveMemory:+ GCConserveMemory=$DOTNET_GCConserveMemory}${DOTNET_TieredCompilation:+ TieredCompilation=$DOTNET_TieredCompilation}${DOTNET_TC_QuickJitForLoops:+ QuickJitForLoops=$DOTNET_TC_QuickJitForLoops}${DOTNET_ReadyToRun:+ ReadyToRun=$DOTNET_ReadyToRun})${ALT_ENV:+; alt: $ALT_ENV}${ALT_DLL:+; alt dll: $ALT_DLL}"
start "first"
for r in $(seq "$ROUNDS"); do
  stop
  start "restart$r"
  if [[ -n "${ALT_ENV:-}${ALT_DLL:-}" ]]; then
    IFS=';' read -r -a alts <<<"${ALT_ENV:- }"
    for a in "${!alts[@]}"; do
      stop
      start "alt$r.$((a + 1))" "${alts[$a]}" "${ALT_DLL:-$dll}"
      [[ -z "${alts[$a]// }" ]] || echo "           alt$r.$((a + 1)) = ${alts[$a]}"
    done
  fi
done
