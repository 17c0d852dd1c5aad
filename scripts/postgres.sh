#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the server's tests, on 127.0.0.1.
#
#   eval "$(bash scripts/postgres.sh start)"   # exports SEALSHARE_TEST_POSTGRES
#   SEALSHARE_TEST_STORE=postgres cargo test -p sealshare-server
#   bash scripts/postgres.sh stop
#
# `start` installs PostgreSQL from Debian's packages if initdb and pg_ctl are
# not found (on the PATH or under /usr/lib/postgresql/*/bin), makes a cluster
# in a new temporary folder (trust authentication, user `sealshare`, UTF-8),
# starts it on a free port with its socket in that folder, writes the
# folder's path to $SEALSHARE_POSTGRES_STATE (default
# ${TMPDIR:-/tmp}/sealshare-test-postgres) and prints, alone on stdout,
#   export SEALSHARE_TEST_POSTGRES=postgres://sealshare@127.0.0.1:PORT
#   export SEALSHARE_TEST_POSTGRES_CA=FOLDER/server.crt
# The cluster also accepts TLS (ssl=on), with a self-signed certificate
# made for it (openssl, installed from Debian if missing) that names only
# 127.0.0.1; SEALSHARE_TEST_POSTGRES_CA is that certificate, for the tests
# of sslmode=require. Run again while that cluster runs, it prints the
# same lines. `stop` stops
# the cluster and removes its folder; it does nothing if none runs.
# initdb refuses to run as root: as root, the cluster is run as `postgres`.
set -euo pipefail

state=${SEALSHARE_POSTGRES_STATE:-${TMPDIR:-/tmp}/sealshare-test-postgres}

say() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# Finds initdb and pg_ctl; sets $bin to their folder, or fails.
find_bin() {
  local dir
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    bin=$(dirname "$(command -v initdb)")
    return 0
  fi
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
    bin=$dir
    return 0
  fi
  return 1
}

# Installs the Debian package $1 (with sudo unless root).
apt_install() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -q >&2 || true
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "$1" >&2
}

install_postgres() {
  say "initdb/pg_ctl not found: installing PostgreSQL from Debian's packages"
  apt_install postgresql
}

# Runs a PostgreSQL program, as `postgres` when this is root.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

print_export() {
  echo "export SEALSHARE_TEST_POSTGRES=postgres://sealshare@127.0.0.1:$(cat "$1/port")"
  echo "export SEALSHARE_TEST_POSTGRES_CA=$1/server.crt"
}

# A self-signed certificate and key for the cluster in $1, naming 127.0.0.1.
make_certificate() {
  if ! command -v openssl >/dev/null 2>&1; then
    say "openssl not found: installing it from Debian's packages"
    apt_install openssl
  fi
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -addext basicConstraints=critical,CA:FALSE \
    -keyout "$1/server.key" -out "$1/server.crt" >"$1/openssl.log" 2>&1 ||
    { cat "$1/openssl.log" >&2; return 1; }
  chmod 600 "$1/server.key"
  chmod 644 "$1/server.crt"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$1/server.key" "$1/server.crt"
  fi
}

running() {
  [ -f "$state" ] || return 1
  local dir
  dir=$(cat "$state")
  [ -d "$dir/data" ] && [ -f "$dir/port" ] && find_bin && (cd "$dir" && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1)
}

start() {
  if running; then
    say "already running ($(cat "$state"))"
    print_export "$(cat "$state")"
    return 0
  fi
  find_bin || { install_postgres; find_bin || die "no initdb/pg_ctl after installing postgresql"; }
  local dir port tries=0
  dir=$(mktemp -d "${TMPDIR:-/tmp}/sealshare-pg.XXXXXX")
  chmod 755 "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root, and there is no postgres user to run the cluster as"
    chown postgres: "$dir"
  fi
  (cd "$dir" && as_owner "$bin/initdb" --auth=trust -U sealshare -E UTF8 --locale=C -D "$dir/data" >"$dir/initdb.log" 2>&1) ||
    { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }
  make_certificate "$dir" || { rm -rf "$dir"; die "could not make the cluster's certificate"; }
  until
    port=$(free_port)
    (cd "$dir" && as_owner "$bin/pg_ctl" -w -D "$dir/data" -l "$dir/server.log" \
      -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key" start >&2)
  do
    tries=$((tries + 1))
    if [ "$tries" -ge 3 ]; then
      cat "$dir/server.log" >&2 || true
      rm -rf "$dir"
      die "the cluster did not start"
    fi
    say "retrying on another port"
  done
  echo "$port" >"$dir/port"
  echo "$dir" >"$state"
  say "running in $dir on 127.0.0.1:$port"
  print_export "$dir"
}

stop() {
  [ -f "$state" ] || return 0
  local dir
  dir=$(cat "$state")
  if [ -d "$dir/data" ] && find_bin; then
    (cd "$dir" && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2) || true
  fi
  case "$dir" in
    */sealshare-pg.*) rm -rf "$dir" ;;
    *) say "not removing $dir: not a folder this script made" ;;
  esac
  rm -f "$state"
  say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop" ;;
esac
