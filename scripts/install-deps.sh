#!/usr/bin/env bash
# Installs what `make demo`, `make test` and `make bench` need and the
# machine lacks: PostgreSQL server binaries and pgbench (Debian package
# postgresql, whose postgresql-NN ships both; the client package does
# not have pgbench), redis-server
# (package redis-server; the tests of the shared rate limiter start a
# private one) and, for the console's browser tests, Chromium (package
# chromium) with axe-core, the accessibility checker the browser tests
# inject (from the npm registry, pinned with its integrity hash in
# scripts/browser-test/package-lock.json; package npm for the client).
# Runs apt-get as root, or through passwordless sudo; otherwise
# says what to run.
# INSTALL_DEPS=server skips redis-server and the browser (make demo needs
# only PostgreSQL).
set -euo pipefail

need=()

have_pg_server() {
  local d
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && [ -x "$d/pgbench" ] && return 0
  fi
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && [ -x "$d/pgbench" ] && return 0
  done
  return 1
}

have_pg_server || need+=(postgresql)
if [ "${INSTALL_DEPS:-all}" != "server" ]; then
  if ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/bin/redis-server ]; then
    need+=(redis-server)
  fi
  if ! command -v chromium >/dev/null 2>&1; then
    need+=(chromium)
  fi
  if ! command -v npm >/dev/null 2>&1; then
    need+=(npm)
  fi
fi

# The browser tests' JavaScript (axe-core), installed exactly as locked
# (npm ci checks every package's integrity hash) into .cache/browser-test,
# again whenever the lock changes.
browser_test_js() {
  [ "${INSTALL_DEPS:-all}" = "server" ] && return 0
  local root dir
  root=$(cd "$(dirname "$0")/.." && pwd)
  dir="$root/.cache/browser-test"
  if [ -f "$dir/node_modules/axe-core/axe.min.js" ] && cmp -s "$root/scripts/browser-test/package-lock.json" "$dir/package-lock.json"; then
    return 0
  fi
  echo "install-deps: installing the browser tests' axe-core from the npm registry (npm ci into .cache/browser-test)"
  mkdir -p "$dir"
  cp "$root/scripts/browser-test/package.json" "$root/scripts/browser-test/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) || {
    echo "install-deps: npm ci in $dir failed (is the npm registry reachable?)" >&2; exit 1; }
  [ -f "$dir/node_modules/axe-core/axe.min.js" ] || { echo "install-deps: axe-core installed but axe.min.js is missing" >&2; exit 1; }
}

# make lint's own analyzers parse SQL with libpg_query through cgo
# (pg_query_go): they need a C compiler.
if [ "${INSTALL_DEPS:-all}" != "server" ] && ! command -v gcc >/dev/null 2>&1; then
  need+=(gcc)
fi

if ! command -v go >/dev/null 2>&1; then
  echo "install-deps: Go is not installed: install Go 1.25 or newer (https://go.dev/doc/install)" >&2
  exit 1
fi

if [ ${#need[@]} -eq 0 ]; then
  browser_test_js
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
  else
    echo "install-deps: missing Debian packages: ${need[*]}" >&2
    echo "install-deps: run as root or with sudo:  sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${need[*]} with apt-get"
# Rampart runs its own private clusters; do not let the package create and
# start a system-wide 'main' cluster.
$SUDO mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.d/rampart.conf >/dev/null
# Likewise the tests run private redis-servers on their own sockets: keep
# the package from starting the system service on 6379 while installing
# (in a container that start can fail and fail the install). A
# policy-rc.d that already exists (Docker images ship one) is left alone.
if [[ " ${need[*]} " == *" redis-server "* ]] && [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\n# rampart install-deps: temporary, no service starts\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
have_pg_server || { echo "install-deps: postgresql installed but initdb/postgres/pgbench not found" >&2; exit 1; }
if [[ " ${need[*]} " == *" redis-server "* ]] && ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/bin/redis-server ]; then
  echo "install-deps: redis-server installed but not found" >&2; exit 1
fi
if [[ " ${need[*]} " == *" chromium "* ]] && ! command -v chromium >/dev/null 2>&1; then
  echo "install-deps: chromium installed but not on PATH" >&2; exit 1
fi
browser_test_js
echo "install-deps: done"
