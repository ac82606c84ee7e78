# shellcheck shell=bash
# Shared by Authly's helper commands (psql, redis, simple-auth-flow, run-end-to-end-test,
# unlock-admin-account, authly-entrypoint, authly-banner). Sourced, never run.
#
# Nothing here cares whether it runs in a container. Everything is found from:
#   AUTHLY_URL        the server (default http://127.0.0.1:${AUTHLY_PORT:-8000})
#   AUTHLY_DATA_DIR   the embedded data directory (default /data): authly/*.password,
#                     postgres/postmaster.pid (PostgreSQL's port), redis/redis.conf (Redis's port)
#   DATABASE_URL, REDIS_URL   external services, when Authly runs against them instead

AUTHLY_URL=${AUTHLY_URL:-http://127.0.0.1:${AUTHLY_PORT:-8000}}
AUTHLY_URL=${AUTHLY_URL%/}
AUTHLY_DATA_DIR=${AUTHLY_DATA_DIR:-/data}
AUTHLY_ADMIN_USERNAME=${AUTHLY_ADMIN_USERNAME:-admin}
AUTHLY_REDIS_PREFIX=${AUTHLY_REDIS_PREFIX:-authly:}

authly_die() { echo "$(basename "$0"): $*" >&2; exit 1; }
authly_warn() { echo "$(basename "$0"): $*" >&2; }

authly_need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || authly_die "'$tool' is needed (Debian: apt-get install $tool)"
  done
}

# A generated secret of the embedded services: postgres.password, redis.password, jwt.secret …
authly_secret() {
  local file="$AUTHLY_DATA_DIR/authly/$1"
  [[ -r $file ]] || return 1
  tr -d '\n\r' <"$file"
}

# PostgreSQL's port: AUTHLY_EMBEDDED_PG_PORT, else the running server's postmaster.pid (4th line), else 5432.
authly_pg_port() {
  if [[ -n ${AUTHLY_EMBEDDED_PG_PORT:-} && ${AUTHLY_EMBEDDED_PG_PORT} != 0 ]]; then echo "$AUTHLY_EMBEDDED_PG_PORT"; return; fi
  local pid_file="$AUTHLY_DATA_DIR/postgres/postmaster.pid" port=""
  [[ -r $pid_file ]] && port=$(sed -n 4p "$pid_file" | tr -d '[:space:]')
  echo "${port:-5432}"
}

# Redis's port: AUTHLY_EMBEDDED_REDIS_PORT, else the 'port' line of the generated redis.conf, else 6379.
authly_redis_port() {
  if [[ -n ${AUTHLY_EMBEDDED_REDIS_PORT:-} && ${AUTHLY_EMBEDDED_REDIS_PORT} != 0 ]]; then echo "$AUTHLY_EMBEDDED_REDIS_PORT"; return; fi
  local conf="$AUTHLY_DATA_DIR/redis/redis.conf" port=""
  [[ -r $conf ]] && port=$(awk '$1 == "port" { print $2; exit }' "$conf")
  echo "${port:-6379}"
}

# Is Redis at hand: REDIS_URL, or an embedded one under AUTHLY_DATA_DIR?
authly_has_redis() { [[ -n ${REDIS_URL:-} ]] || [[ -r "$AUTHLY_DATA_DIR/authly/redis.password" ]]; }

# redis-cli against Authly's Redis; arguments are a Redis command.
authly_redis_cli() {
  if [[ -n ${REDIS_URL:-} ]]; then
    redis-cli --no-auth-warning -u "$REDIS_URL" "$@"
  else
    local password
    password=$(authly_secret redis.password) ||
      authly_die "no Redis password in $AUTHLY_DATA_DIR/authly/redis.password (set AUTHLY_DATA_DIR, or REDIS_URL for an external Redis)"
    REDISCLI_AUTH=$password redis-cli -h 127.0.0.1 -p "$(authly_redis_port)" "$@"
  fi
}

# HTTP with curl: authly_http METHOD PATH [curl args…]. Sets HTTP_STATUS and HTTP_BODY.
HTTP_STATUS=0
HTTP_BODY=""
authly_http() {
  local method=$1 path=$2 out
  shift 2
  out=$(curl -sS -X "$method" --max-time 30 -w '\n%{http_code}' "$@" "$AUTHLY_URL$path" 2>&1) || {
    HTTP_STATUS=0
    HTTP_BODY=$(printf '%s' "${out%$'\n'000}")
    return 0
  }
  HTTP_STATUS=${out##*$'\n'}
  HTTP_BODY=${out%$'\n'*}
}

# The admin password: --password, AUTHLY_ADMIN_PASSWORD, or (on a terminal) a prompt.
authly_admin_password() {
  if [[ -n ${AUTHLY_ADMIN_PASSWORD:-} ]]; then printf '%s' "$AUTHLY_ADMIN_PASSWORD"; return 0; fi
  if [[ -t 0 ]]; then
    local pw
    read -rsp "Password for $AUTHLY_ADMIN_USERNAME: " pw </dev/tty
    echo >&2
    printf '%s' "$pw"
    return 0
  fi
  return 1
}

# Password grant for the first-party CLI (no client): authly_password_token USER PASSWORD SCOPE.
# Sets HTTP_STATUS/HTTP_BODY; prints nothing.
authly_password_token() {
  authly_http POST /api/v1/oauth/token --data-urlencode grant_type=password \
    --data-urlencode "username=$1" --data-urlencode "password=$2" --data-urlencode "scope=$3"
}

# RFC 7662 §2.1: outside embedded mode introspection answers authenticated callers only. The
# helpers introspect with a token of their own that carries only the 'introspect' scope (an admin
# may hold it), apart from the tokens they revoke. authly_introspection_login USER PASSWORD sets
# AUTHLY_INTROSPECT_AUTH (curl arguments); if the server grants no such token, it stays empty and
# introspection is anonymous, which embedded mode answers. HTTP_STATUS/HTTP_BODY are overwritten.
AUTHLY_INTROSPECT_AUTH=()
authly_introspection_login() {
  authly_password_token "$1" "$2" introspect
  AUTHLY_INTROSPECT_AUTH=()
  if [[ $HTTP_STATUS == 200 ]] && jq -e '.scope | split(" ") | index("introspect")' <<<"$HTTP_BODY" >/dev/null 2>&1; then
    AUTHLY_INTROSPECT_AUTH=(-H "Authorization: Bearer $(jq -r .access_token <<<"$HTTP_BODY")")
  fi
}
# authly_introspect TOKEN: POST /api/v1/oauth/introspect as the caller set up above.
authly_introspect() { authly_http POST /api/v1/oauth/introspect "${AUTHLY_INTROSPECT_AUTH[@]}" --data-urlencode "token=$1"; }

# Explains the usual reason an admin call from outside the container is refused.
authly_admin_hint() {
  if [[ $HTTP_STATUS == 403 && $HTTP_BODY == *ADMIN_API_LOCALHOST_ONLY* ]]; then
    authly_warn "the admin API answers loopback callers only (AUTHLY_ADMIN_API_LOCALHOST_ONLY=true):" \
      "run this inside the container (docker exec -it <container> $(basename "$0")) or on the server's machine."
  fi
}
