#!/usr/bin/env bash
# `make standalone-check`: checks docker-standalone/ and the compose files without a Docker
# engine, and runs the container's entrypoint and helper commands on this machine exactly as the
# image would (as a non-root user when started as root, like the image's `authly` user).
#
#   docker-standalone/tests/standalone-check.sh [PATH-TO-PUBLISHED-authly]    (default: out/authly)
#
# Static: shellcheck, compose files (docker-compose config), YAML/JSON parse, promtool config,
# rules and rule unit tests, nginx -t, Dockerfile ↔ Makefile consistency. Live: entrypoint on
# free ports → banner, run-end-to-end-test (N passed, 0 failed), simple-auth-flow --yes, psql and
# redis helpers, the PostgreSQL proxy's roles (authly-proxy-roles) and its start-up check,
# lockout + unlock-admin-account, dashboard/rule metric names against the live /metrics, a killed
# Redis restarted, SIGTERM stops everything, restart on the same data,
# `authly migrate` passthrough and the external-services mode. Last line: "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
cd "$root" || exit 1
ds=docker-standalone
bin=$root/$ds/bin
authly=$(readlink -f "${1:-out/authly}")
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; [[ -n ${2:-} ]] && printf '%s\n' "$2" | tail -n 25 | sed 's/^/     /'; return 0; }
# check NAME COMMAND…: runs the command, passes on exit 0, shows its output otherwise.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$out"; fi
}
have() { command -v "$1" >/dev/null 2>&1; }
python=python3
[[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c 'import yaml' 2>/dev/null && python=/usr/bin/python3

echo "== static checks"
scripts=("$bin"/* "$ds/share/authly/common.sh" "$ds"/tests/*.sh)
if have shellcheck; then
  check "shellcheck: ${#scripts[@]} scripts" shellcheck -x -P SCRIPTDIR "${scripts[@]}"
else
  bad "shellcheck is not installed (apt-get install shellcheck)"
fi
for f in "$bin"/*; do
  check "executable in git: $ds/bin/$(basename "$f")" bash -c "git ls-files -s -- '$ds/bin/$(basename "$f")' | grep -q '^100755'"
done

yaml_files=(docker-compose.yml docker-compose.standalone.yml "$ds"/config/prometheus/prometheus.yml "$ds"/config/prometheus/rules/*.yml
  "$ds"/config/prometheus/tests/*.yml "$ds"/config/grafana/provisioning/*/*.yml)
check "YAML parses: ${#yaml_files[@]} files" "$python" -c 'import sys, yaml
for f in sys.argv[1:]: yaml.safe_load(open(f))' "${yaml_files[@]}"
check "JSON parses: Grafana dashboard, pgAdmin servers" "$python" -c 'import sys, json
for f in sys.argv[1:]: json.load(open(f))' "$ds"/config/grafana/dashboards/*.json "$ds"/config/pgadmin/servers.json
check "Grafana: the dashboard uses the provisioned datasource uid" "$python" -c 'import json, yaml, sys
uid = yaml.safe_load(open(sys.argv[1]))["datasources"][0]["uid"]
d = json.load(open(sys.argv[2]))
bad = [p["title"] for p in d["panels"] if p["datasource"]["uid"] != uid or any(t["datasource"]["uid"] != uid for t in p["targets"])]
sys.exit("panels on another datasource: %s" % bad if bad else 0)' "$ds"/config/grafana/provisioning/datasources/prometheus.yml "$ds"/config/grafana/dashboards/authly.json

if have docker-compose; then
  check "compose: docker-compose.standalone.yml (all profiles)" \
    docker-compose -f docker-compose.standalone.yml --profile tools --profile monitoring --profile authz config -q
  check "compose: docker-compose.yml with its required settings" env POSTGRES_PASSWORD=x REDIS_PASSWORD=x JWT_SECRET_KEY=x \
    JWT_REFRESH_SECRET_KEY=x AUTHLY_ADMIN_PASSWORD=x docker-compose -f docker-compose.yml config -q
  check "compose: docker-compose.yml refuses to start without POSTGRES_PASSWORD" \
    bash -c '! env -u POSTGRES_PASSWORD docker-compose -f docker-compose.yml config -q 2>&1 >/dev/null | grep -q . && false || true'
else
  bad "docker-compose is not installed (apt-get install docker-compose): compose files not validated"
fi
check "compose: nginx's fixed address is Authly's only trusted proxy" "$python" -c 'import yaml
c = yaml.safe_load(open("docker-compose.yml"))
ip = c["services"]["nginx"]["networks"]["authly"]["ipv4_address"]
nodes = [n for n in c["services"] if n.startswith("authly-")]
assert len(nodes) >= 2, nodes
for n in nodes:
    assert c["services"][n]["environment"]["AUTHLY_TRUSTED_PROXIES"] == ip, n
conf = open("docker-standalone/config/nginx/nginx.conf").read()
for n in nodes:
    assert n + ":8000" in conf, n + " missing from the nginx upstream"
assert "X-Forwarded-For" in conf'

if have promtool; then
  check "promtool: prometheus.yml and rules" promtool check config "$ds/config/prometheus/prometheus.yml"
  check "promtool: alert unit tests" promtool test rules "$ds/config/prometheus/tests/authly.test.yml"
else
  bad "promtool is not installed (apt-get install prometheus): rules not validated"
fi
if have nginx || [[ -x /usr/sbin/nginx ]]; then
  ngx=$(mktemp -d)
  sed 's/server authly-[0-9]*:8000/server 127.0.0.1:8000/' "$ds/config/nginx/nginx.conf" >"$ngx/nginx.conf"
  check "nginx -t: nginx.conf (upstream hosts replaced by 127.0.0.1)" "$(command -v nginx || echo /usr/sbin/nginx)" -t -q -p "$ngx" -c "$ngx/nginx.conf"
  rm -rf "$ngx"
fi
publish_make=$(grep -Eo 'dotnet publish Authly.Cli -c Release -o [^ ]+|\$\(DOTNET\) publish Authly.Cli -c Release -o [^ ]+' Makefile | head -1)
check "Dockerfile builds with the Makefile's publish command ($publish_make)" \
  grep -Eq '^RUN dotnet publish Authly.Cli -c Release -o ' "$ds/Dockerfile"
check "Makefile has the publish command" test -n "$publish_make"
for pkg in postgresql redis-server curl jq procps less tini; do
  check "Dockerfile installs $pkg" grep -Eq "[[:space:]]$pkg([[:space:]]|\$)" "$ds/Dockerfile"
done
check "Dockerfile: entrypoint, healthcheck, volume, ports, non-root user" bash -c "
  grep -q 'authly-entrypoint' '$ds/Dockerfile' && grep -q 'HEALTHCHECK' '$ds/Dockerfile' && grep -q '/health/ready' '$ds/Dockerfile' &&
  grep -q 'VOLUME \[\"/data\"\]' '$ds/Dockerfile' && grep -q 'EXPOSE 8000 5432 6379' '$ds/Dockerfile' && grep -q '^USER authly' '$ds/Dockerfile'"
for f in "$bin"/*; do
  check "Dockerfile makes $(basename "$f") executable" grep -q "/usr/local/bin/$(basename "$f")" "$ds/Dockerfile"
done

echo "== live checks (entrypoint and helpers on this machine)"
if [[ ! -x $authly ]]; then
  bad "no published authly at $authly (make publish)"
  echo "$passed passed, $failed failed"
  exit 1
fi
work=$(mktemp -d /tmp/authly-standalone-check.XXXXXX)
chmod 755 "$work"
data=$work/data
mkdir -p "$data" "$work/home"
read -r http_port pg_port redis_port < <("$python" -c 'import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
url=http://127.0.0.1:$http_port
admin_pw="check-$(date +%s)-admin"
as_user=()
if [[ $(id -u) -eq 0 ]]; then
  # Like the image: an unprivileged user owns the data, and PostgreSQL runs as that user directly.
  chown -R nobody:nogroup "$data" "$work/home"
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
server_pid=""
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

# start_server LOG [ENV…]: the entrypoint in the background with the test's settings.
start_server() {
  local log=$1
  shift
  "${as_user[@]}" env HOME="$work/home" AUTHLY_BIN="$authly" AUTHLY_DATA_DIR="$data" AUTHLY_HOST=127.0.0.1 \
    AUTHLY_PORT="$http_port" AUTHLY_EMBEDDED_PG_PORT="$pg_port" AUTHLY_EMBEDDED_REDIS_PORT="$redis_port" \
    AUTHLY_ADMIN_PASSWORD="$admin_pw" "$@" "$bin/authly-entrypoint" >"$log" 2>&1 &
  server_pid=$!
}
wait_ready() {
  local i
  for ((i = 0; i < 180; i++)); do
    curl -fsS --max-time 2 "$url/health/ready" >/dev/null 2>&1 && return 0
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 1
  done
  return 1
}
helper() { "${as_user[@]}" env HOME="$work/home" AUTHLY_URL="$url" AUTHLY_DATA_DIR="$data" "$@"; }
stop_server() {
  kill -TERM "$server_pid"
  local rc=0
  wait "$server_pid" || rc=$?
  server_pid=""
  return "$rc"
}
port_closed() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

proxy_db_password="check-proxy-$(date +%s)"
start_server "$work/run1.log" AUTHLY_PROXY_DB_PASSWORD="$proxy_db_password"
if wait_ready; then ok "entrypoint: embedded Authly ready on $url (PostgreSQL $pg_port, Redis $redis_port)"; else
  bad "entrypoint: Authly did not become ready" "$(cat "$work/run1.log")"
  echo "$passed passed, $failed failed"
  exit 1
fi
if [[ ${#as_user[@]} -gt 0 ]]; then
  children_unprivileged() {
    local pg redis
    pg=$(pgrep -f -- "postgres -D $data/postgres" | head -n 1)
    redis=$(pgrep -f -- "redis-server 127.0.0.1:$redis_port" | head -n 1)
    ps -o user=,pid=,args= -p "$pg" -p "$redis"
    [[ -n $pg && -n $redis && $(ps -o user= -p "$pg") == nobody && $(ps -o user= -p "$redis") == nobody ]] &&
      ! pgrep -f -- "runuser.*$data" >/dev/null
  }
  check "PostgreSQL and Redis run as the unprivileged user (no runuser)" children_unprivileged
fi
for ((i = 0; i < 20; i++)); do grep -q "standalone is ready" "$work/run1.log" && break; sleep 0.5; done
check "banner: printed with API, docs, health, PostgreSQL and Redis URLs" bash -c "
  grep -q 'standalone is ready' '$work/run1.log' && grep -q '/api/v1' '$work/run1.log' && grep -q '/docs' '$work/run1.log' &&
  grep -q '/health' '$work/run1.log' && grep -q 'postgresql://authly@127.0.0.1:$pg_port/authly' '$work/run1.log' &&
  grep -q 'redis://127.0.0.1:$redis_port' '$work/run1.log' && grep -q 'run-end-to-end-test' '$work/run1.log' &&
  grep -q '$data/authly/credentials.env' '$work/run1.log'"
no_password_logged() {
  local name
  for name in postgres.password redis.password jwt.secret jwt-refresh.secret; do
    ! grep -qF -- "$(cat "$data/authly/$name")" "$work/run1.log" || { echo "$name is in the log"; return 1; }
  done
}
check "banner and log: no PostgreSQL, Redis or JWT secret printed (they stay in 0600 files)" no_password_logged
data_closed() {
  local open
  open=$(find "$data" -perm /g+rw,o+rwx -printf '%m %p\n' 2>&1 | head -5)
  [[ -z $open && $(stat -c %a "$data") == 700 && $(stat -c %a "$data/authly/credentials.env") == 600 ]] ||
    { echo "open to others: ${open:-$(stat -c '%a %n' "$data" "$data/authly/credentials.env")}"; return 1; }
}
check "data: $data is 0700 and nothing in it (Redis AOF, secrets, credentials.env) is open to group or others" data_closed
# shellcheck disable=SC2009 # pgrep cannot select by state and parent at once here
no_banner_left() { ! pgrep -f -- "authly-banner --wait" && ! ps -o stat=,args= --ppid "$server_pid" | grep '^Z'; }
check "banner: no stray banner process or zombie left" no_banner_left

e2e=$(helper AUTHLY_ADMIN_PASSWORD="$admin_pw" "$bin/run-end-to-end-test" comprehensive 2>&1)
e2e_rc=$?
last=$(tail -n 1 <<<"$e2e")
if [[ $e2e_rc -eq 0 && $last =~ ^[1-9][0-9]*\ passed,\ 0\ failed$ ]]; then ok "run-end-to-end-test: $last"; else bad "run-end-to-end-test (exit $e2e_rc): $last" "$e2e"; fi
auth_flow_ok() {
  local out
  if out=$(helper AUTHLY_ADMIN_PASSWORD="$admin_pw" "$bin/simple-auth-flow" --yes 2>&1) && grep -q "Step 7" <<<"$out" &&
    grep -q "Done." <<<"$out"; then return 0; fi
  echo "$out"
  return 1
}
check "simple-auth-flow --yes walks every step" auth_flow_ok
admins_is_one() { [[ $(helper "$bin/psql" -Atc "SELECT count(*) FROM users WHERE is_admin") == 1 ]]; }
check "psql: logs in with the stored password (one admin user)" admins_is_one
shortcut_runs() {
  local out
  if out=$(echo ":$1" | helper "$bin/psql" -v ON_ERROR_STOP=1 2>&1) && grep -q "row" <<<"$out"; then return 0; fi
  echo "$out"
  return 1
}
for shortcut in tables users clients scopes tokens stats; do
  check "psql: :$shortcut runs" shortcut_runs "$shortcut"
done
redis_pongs() { [[ $(helper "$bin/redis" PING) == PONG ]]; }
check "redis: PING answers PONG with the stored password" redis_pongs
# The authz profile's PostgreSQL proxy: the entrypoint created its login, role and database, it starts
# as that login, and it refuses Authly's superuser.
proxy_login_exists() {
  local i
  for ((i = 0; i < 60; i++)); do
    [[ $(helper "$bin/psql" -Atc "SELECT count(*) FROM pg_roles WHERE rolname IN ('authly_proxy', 'authly_app')" 2>/dev/null) == 2 ]] &&
      [[ $(helper "$bin/psql" -Atc "SELECT count(*) FROM pg_database WHERE datname = 'app'" 2>/dev/null) == 1 ]] && return 0
    sleep 0.5
  done
  grep 'authly-proxy-roles' "$work/run1.log"
  return 1
}
check "authly-proxy-roles: the entrypoint created authly_proxy, authly_app and the database app" proxy_login_exists
check "authly-proxy-roles: running it again changes nothing" helper AUTHLY_PROXY_DB_PASSWORD="$proxy_db_password" "$bin/authly-proxy-roles"
proxy_starts_as_its_login() {
  local port log=$work/pg-proxy.log pid i
  port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$authly" proxy postgres --authly-url "$url" --port "$port" --no-wire --role authly_app \
    --database-url "postgresql://authly_proxy:$proxy_db_password@127.0.0.1:$pg_port/app" >"$log" 2>&1 &
  pid=$!
  for ((i = 0; i < 60; i++)); do
    curl -fsS --max-time 2 "http://127.0.0.1:$port/health" 2>/dev/null | grep -q healthy && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  local rc=0
  curl -fsS --max-time 2 "http://127.0.0.1:$port/health" 2>/dev/null | grep -q healthy || rc=1
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  ((rc == 0)) || cat "$log"
  return "$rc"
}
check "pg proxy: starts as authly_proxy with --role authly_app on the database app" proxy_starts_as_its_login
proxy_refuses_the_superuser() {
  local out rc=0
  out=$(timeout 60 "$authly" proxy postgres --authly-url "$url" --port 0 --no-wire --role authly_app \
    --database-url "postgresql://authly:$(cat "$data/authly/postgres.password")@127.0.0.1:$pg_port/authly" 2>&1) || rc=$?
  [[ $rc -eq 2 ]] && grep -q "superuser" <<<"$out" && return 0
  echo "exit $rc: $out"
  return 1
}
check "pg proxy: refuses Authly's superuser (exit 2, says why)" proxy_refuses_the_superuser

# The image's layout: bin/ → /usr/local/bin, share/authly/ → /usr/local/share/authly.
mkdir -p "$work/prefix/bin" "$work/prefix/share"
cp -a "$bin/." "$work/prefix/bin/"
cp -a "$root/$ds/share/authly" "$work/prefix/share/"
installed_layout_works() {
  local stats banner
  stats=$(echo ":stats" | helper "$work/prefix/bin/psql" -At 2>&1)
  banner=$(helper "$work/prefix/bin/authly-banner" 2>&1)
  if [[ $(grep -c '|' <<<"$stats") -ge 5 ]] && grep -q "standalone is ready" <<<"$banner"; then return 0; fi
  printf '%s\n' "$stats" "$banner"
  return 1
}
check "installed layout (/usr/local/bin + /usr/local/share/authly): psql shortcuts and banner work" installed_layout_works

# Lock the admin out, then lift the lockout without the admin's token (Redis path).
lock_codes=""
for ((i = 0; i < 10; i++)); do
  lock_codes+=$(curl -s -o /dev/null -w '%{http_code} ' "$url/api/v1/oauth/token" -d grant_type=password -d username=admin -d "password=wrong-$i")
done
locked=$(curl -s -o /dev/null -w '%{http_code}' "$url/api/v1/oauth/token" -d grant_type=password -d username=admin --data-urlencode "password=$admin_pw")
check "lockout: 10 wrong passwords lock the admin (right password then gets 429)" test "$locked" = 429
unlock=$(helper AUTHLY_ADMIN_PASSWORD="$admin_pw" "$bin/unlock-admin-account" 2>&1)
check "unlock-admin-account: unlocks (admin API refused for the locked admin, then the database)" grep -q "^Unlocked 'admin'" <<<"$unlock"
after=$(curl -s -o /dev/null -w '%{http_code}' "$url/api/v1/oauth/token" -d grant_type=password -d username=admin --data-urlencode "password=$admin_pw")
check "unlock-admin-account: the admin signs in again" test "$after" = 200
check "unlock-admin-account: killed no process" kill -0 "$server_pid"

curl -fsS "$url/metrics" >"$work/metrics.txt"
check "dashboard and rules query only metrics and labels Authly exports" "$python" "$ds/tests/check-metric-names.py" \
  "$work/metrics.txt" "$ds/config/grafana/dashboards/authly.json" "$ds/config/prometheus/rules/authly.yml"

redis_pid=$(pgrep -f "redis-server 127.0.0.1:$redis_port" | head -1)
if [[ -n $redis_pid ]]; then
  kill -KILL "$redis_pid"
  for ((i = 0; i < 30; i++)); do grep -q "Redis is running again" "$work/run1.log" && break; sleep 0.5; done
  check "supervision: a killed Redis is started again" grep -q "Redis is running again" "$work/run1.log"
  check "supervision: the restarted Redis answers" redis_pongs
else
  bad "supervision: no redis-server on port $redis_port found"
fi

jwt_secret=$(cat "$data/authly/jwt.secret")
pg_password=$(cat "$data/authly/postgres.password")
stop_rc=0
stop_server || stop_rc=$?
check "SIGTERM: the server exits 0" test "$stop_rc" -eq 0
nothing_left() { ! pgrep -af -- "$data"; }
check "SIGTERM: no PostgreSQL or Redis process left" nothing_left
ports_closed() { port_closed "$http_port" && port_closed "$pg_port" && port_closed "$redis_port"; }
check "SIGTERM: HTTP, PostgreSQL and Redis ports are closed" ports_closed

echo "== restart on the same data"
# A chosen Redis password replaces the generated one; a chosen PostgreSQL password cannot replace
# the one the cluster was created with, so it is refused with a warning.
start_server "$work/run2.log" AUTHLY_REDIS_PASSWORD=chosen-redis-password-2 AUTHLY_POSTGRES_PASSWORD=another-pg-password-2
if wait_ready; then ok "restart: ready again on the existing data"; else bad "restart: not ready" "$(cat "$work/run2.log")"; fi
same_data() { [[ $(helper "$bin/psql" -Atc "SELECT count(*) FROM users") == 1 && $(cat "$data/authly/jwt.secret") == "$jwt_secret" ]]; }
check "restart: still one admin, secrets unchanged" same_data
check "restart: AUTHLY_REDIS_PASSWORD is the Redis password now" redis_pongs
check "restart: redis.password holds it" test "$(cat "$data/authly/redis.password")" = chosen-redis-password-2
check "restart: a different AUTHLY_POSTGRES_PASSWORD keeps the cluster's, with a warning" bash -c \
  "grep -q 'AUTHLY_POSTGRES_PASSWORD differs' '$work/run2.log' && [[ \$(cat '$data/authly/postgres.password') == '$pg_password' ]]"
redis_password=$(cat "$data/authly/redis.password")
check "restart: the existing admin password still works" test "$(curl -s -o /dev/null -w '%{http_code}' "$url/api/v1/oauth/token" \
  -d grant_type=password -d username=admin --data-urlencode "password=$admin_pw")" = 200

echo "== external services mode (DATABASE_URL/REDIS_URL: the running embedded servers)"
db_url="postgresql://authly:$pg_password@127.0.0.1:$pg_port/authly"
redis_url="redis://:$redis_password@127.0.0.1:$redis_port"
check "passthrough: 'authly-entrypoint authly migrate' runs the command" bash -c '"$@" 2>&1 | grep -q "up to date"' _ \
  env DATABASE_URL="$db_url" PATH="$(dirname "$authly"):$PATH" "$bin/authly-entrypoint" authly migrate
read -r ext_port < <("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
refused=$(env -u JWT_SECRET_KEY -u JWT_REFRESH_SECRET_KEY DATABASE_URL="$db_url" REDIS_URL="$redis_url" AUTHLY_BIN="$authly" \
  AUTHLY_HOST=127.0.0.1 AUTHLY_PORT="$ext_port" AUTHLY_BANNER=false timeout 60 "$bin/authly-entrypoint" 2>&1)
refused_rc=$?
check "external mode defaults to production and refuses the shipped secrets" bash -c "[[ $refused_rc -ne 0 ]] && grep -q JWT_SECRET_KEY <<<\"\$1\"" _ "$refused"
DATABASE_URL="$db_url" REDIS_URL="$redis_url" JWT_SECRET_KEY="$jwt_secret" JWT_REFRESH_SECRET_KEY="$jwt_secret-r" AUTHLY_BIN="$authly" \
  AUTHLY_HOST=127.0.0.1 AUTHLY_PORT="$ext_port" AUTHLY_BANNER=false AUTHLY_MIGRATE_ON_START=false "$bin/authly-entrypoint" >"$work/ext.log" 2>&1 &
ext_pid=$!
for ((i = 0; i < 60; i++)); do curl -fsS --max-time 2 "http://127.0.0.1:$ext_port/health/ready" >/dev/null 2>&1 && break; sleep 1; done
check "external mode: a second node on the same PostgreSQL and Redis is healthy" bash -c \
  "curl -fsS http://127.0.0.1:$ext_port/health | jq -e '.database == \"connected\" and .redis == \"connected\"'"
ext_e2e=$(AUTHLY_URL="http://127.0.0.1:$ext_port" AUTHLY_DATA_DIR=/nonexistent AUTHLY_ADMIN_PASSWORD="$admin_pw" "$bin/run-end-to-end-test" 2>&1)
ext_rc=$?
check "external mode: run-end-to-end-test against the second node ($(tail -n 1 <<<"$ext_e2e"))" test "$ext_rc" -eq 0
kill -TERM "$ext_pid"
wait "$ext_pid"
check "external mode: SIGTERM exits 0" test $? -eq 0

echo "== supervision gives up on a Redis that keeps dying"
# Three restarts in five minutes are allowed; the fourth death stops everything with exit 1, so
# a container's restart policy takes over.
for ((kill_no = 1; kill_no <= 4; kill_no++)); do
  redis_pid=$(pgrep -f "redis-server 127.0.0.1:$redis_port" | head -n 1)
  [[ -n $redis_pid ]] || break
  kill -KILL "$redis_pid"
  for ((i = 0; i < 40; i++)); do
    (($(grep -c "Redis is running again" "$work/run2.log") >= kill_no)) && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.5
  done
done
stop_rc=0
for ((i = 0; i < 60; i++)); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$server_pid" 2>/dev/null; then
  bad "supervision: still running after Redis died four times" "$(tail -n 20 "$work/run2.log")"
  stop_server || true
else
  wait "$server_pid" || stop_rc=$?
  server_pid=""
  check "supervision: after three restarts the fourth death exits non-zero (exit $stop_rc)" test "$stop_rc" -ne 0
  check "supervision: says why" grep -q "keeps exiting" "$work/run2.log"
  check "supervision: nothing left running after giving up" nothing_left
fi

echo
echo "$passed passed, $failed failed"
((failed == 0))
