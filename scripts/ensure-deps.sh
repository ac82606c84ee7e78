#!/usr/bin/env bash
# Installs what the server and the tests need from Debian when it is missing (as root), or says
# exactly what to install (otherwise): PostgreSQL server binaries and redis-server. (libsodium comes
# with the Geralt NuGet package since issue 15; only `hashbench compare` (make bench-argon2) asks for Debian's, to compare.)
set -euo pipefail
missing=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || [[ -x /usr/bin/redis-server ]] || missing+=(redis-server)
for extra in "$@"; do
  case "$extra" in
    # The browser tests (Category E2E) drive Debian's Chromium through its chromedriver.
    chromium) { command -v chromium && command -v chromedriver; } >/dev/null 2>&1 || missing+=(chromium chromium-driver) ;;
    # `hashbench compare` (make bench-argon2) compares Geralt's libsodium with Debian's (the binding Authly used before issue 15).
    libsodium23) ldconfig -p 2>/dev/null | grep -q 'libsodium\.so\.23' || [[ -e /usr/lib/x86_64-linux-gnu/libsodium.so.23 ]] || missing+=(libsodium23) ;;
    wrk) command -v wrk >/dev/null 2>&1 || missing+=(wrk) ;;
    nginx) command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light) ;;
    promtool) command -v promtool >/dev/null 2>&1 || missing+=(prometheus) ;;
    *) command -v "$extra" >/dev/null 2>&1 || missing+=("$extra") ;;
  esac
done
((${#missing[@]} == 0)) && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing from Debian: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's packages may start system services; Authly runs its own private instances instead.
  service redis-server stop >/dev/null 2>&1 || true
  service nginx stop >/dev/null 2>&1 || true
  service prometheus stop >/dev/null 2>&1 || true
else
  echo "Missing: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
