#!/usr/bin/env bash
# Local throw-away PostgreSQL server for crowdlog's tests.
#
# Why this exists: crowdlog's projections and tests need a real PostgreSQL,
# and the machines we develop and run CI on have no Docker engine. So we run
# the distribution's PostgreSQL binaries (installed from Debian's apt if
# missing) on a private cluster kept in the repo's state dir: loopback only,
# its own port and socket directory, so it never collides with a system
# cluster. If CROWDLOG_TEST_POSTGRES_URL is set, that server is used instead
# and nothing is started. Users with Docker can use infra/docker-compose.yml.
#
# PostgreSQL refuses to run as root; when we are root, initdb/pg_ctl run as the
# `postgres` OS user (created by the Debian package), which must own the data
# dir and be able to traverse its parent directories.
#
# Usage: postgres.sh up | down [--purge] | url
#   up     install if needed, initdb once, start, wait until ready, create the
#          crowdlog database; prints CROWDLOG_TEST_POSTGRES_URL=... on stdout
#          (all other messages go to stderr, so `eval "$(postgres.sh up)"` works)
#   down   fast shutdown; --purge also deletes the cluster
#   url    print the SQLAlchemy URL of the test database
#
# Environment:
#   CROWDLOG_TEST_POSTGRES_URL  use this server instead
#   CROWDLOG_STATE_DIR          runtime state (default <repo>/.state)
#   CROWDLOG_PG_PORT            TCP port      (default 55432)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
readonly SCRIPT_DIR REPO_ROOT

STATE="${CROWDLOG_STATE_DIR:-$REPO_ROOT/.state}/postgres"
DATA="$STATE/data"
SOCKET_DIR="$STATE/run"
LOGFILE="$STATE/postgres.log"
PORT="${CROWDLOG_PG_PORT:-55432}"
DB_USER=crowdlog
DB_PASSWORD=crowdlog
DB_NAME=crowdlog
URL="postgresql+psycopg://$DB_USER:$DB_PASSWORD@127.0.0.1:$PORT/$DB_NAME"
PG_OS_USER=postgres
READY_TIMEOUT=60

SERVICE=postgres.sh
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

is_root() { [[ $(id -u) -eq 0 ]]; }

# Run a server-side command as the user that owns the cluster. The working
# directory is / because the postgres user may not be able to enter ours.
as_owner() {
  if is_root; then
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    "$@"
  fi
}

# Directory holding initdb/pg_ctl: the cluster's own major version if it
# exists already, else the highest /usr/lib/postgresql/*/bin with a server,
# else $PATH.
find_bindir() {
  local version dir
  if [[ -f $DATA/PG_VERSION ]]; then
    version=$(<"$DATA/PG_VERSION")
    [[ -x /usr/lib/postgresql/$version/bin/pg_ctl ]] && { echo "/usr/lib/postgresql/$version/bin"; return 0; }
  fi
  # A client-only install also has a bin dir there (psql, pg_isready).
  while read -r dir; do
    [[ -x $dir/initdb && -x $dir/pg_ctl ]] && { echo "$dir"; return 0; }
  done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -Vr)
  if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
    dirname "$(command -v pg_ctl)"
    return 0
  fi
  return 1
}

ensure_installed() {
  BINDIR=$(find_bindir) && return 0
  if is_root && command -v apt-get >/dev/null; then
    log "PostgreSQL server not found; installing it with apt-get (one-off)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    BINDIR=$(find_bindir) && return 0
  fi
  die "no PostgreSQL server binaries (initdb, pg_ctl) found under /usr/lib/postgresql/*/bin or on PATH;" \
    "install PostgreSQL (e.g. 'apt-get install postgresql'), or set CROWDLOG_TEST_POSTGRES_URL"
}

# As root: hand the state dir to the postgres user and make sure that user can
# reach it (e.g. a checkout under /root or a 0700 home needs o+x on the way).
prepare_state_dir() {
  mkdir -p "$STATE"
  is_root || return 0
  id "$PG_OS_USER" >/dev/null 2>&1 \
    || die "running as root, but there is no '$PG_OS_USER' OS user to run PostgreSQL as"
  local dir
  dir=$(dirname "$STATE")
  while [[ $dir != / ]]; do
    if ! runuser -u "$PG_OS_USER" -- test -x "$dir"; then
      log "chmod o+x $dir (so the $PG_OS_USER user can reach the state dir)"
      chmod o+x "$dir"
    fi
    dir=$(dirname "$dir")
  done
  chown -R "$PG_OS_USER:" "$STATE"
  chmod 700 "$STATE"
}

pg_ctl_() { as_owner "$BINDIR/pg_ctl" -D "$DATA" "$@"; }
is_running() { [[ -f $DATA/PG_VERSION ]] && pg_ctl_ status >/dev/null 2>&1; }

# True if something accepts TCP connections on 127.0.0.1:$1.

init_cluster() {
  [[ -f $DATA/PG_VERSION ]] && return 0
  log "initialising a new cluster in $DATA ($("$BINDIR/postgres" --version))"
  as_owner rm -rf "$DATA"   # a half-finished earlier initdb must not block this one
  as_owner "$BINDIR/initdb" -D "$DATA" -U "$DB_USER" --auth=trust \
    --encoding=UTF8 --locale=C >"$STATE/initdb.log" 2>&1 \
    || { cat "$STATE/initdb.log" >&2; die "initdb failed"; }
  echo "include_if_exists = 'crowdlog.conf'" | as_owner tee -a "$DATA/postgresql.conf" >/dev/null
}

# Rewritten on every `up`, so a changed CROWDLOG_PG_PORT takes effect.
write_config() {
  local sockets="$SOCKET_DIR"
  # A Unix socket path is limited to ~107 bytes; we connect over TCP anyway,
  # so a deep checkout simply gets no socket rather than a failed start.
  if (( ${#SOCKET_DIR} + ${#PORT} + 10 > 100 )); then
    log "state dir path too long for a Unix socket; TCP only"
    sockets=""
  fi
  as_owner mkdir -p "$SOCKET_DIR"
  as_owner tee "$DATA/crowdlog.conf" >/dev/null <<EOF
# Generated by infra/postgres/postgres.sh on every 'up'; edits are overwritten.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$sockets'
# A disposable test cluster: durability is traded for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

psql_() {
  local psql="$BINDIR/psql"
  [[ -x $psql ]] || psql=psql
  "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U "$DB_USER" "$@"
}

wait_ready() {
  local isready="$BINDIR/pg_isready" deadline=$((SECONDS + READY_TIMEOUT))
  [[ -x $isready ]] || isready=pg_isready
  until "$isready" -q -h 127.0.0.1 -p "$PORT" -d postgres -U "$DB_USER"; do
    if ((SECONDS >= deadline)) || ! is_running; then
      tail -n 50 "$LOGFILE" >&2 || true
      die "PostgreSQL did not become ready on 127.0.0.1:$PORT (log: $LOGFILE)"
    fi
    sleep 0.5
  done
}

cmd_url() { echo "${CROWDLOG_TEST_POSTGRES_URL:-$URL}"; }

cmd_up() {
  if [[ -n ${CROWDLOG_TEST_POSTGRES_URL:-} ]]; then
    log "CROWDLOG_TEST_POSTGRES_URL is set: using that server, starting nothing"
    echo "CROWDLOG_TEST_POSTGRES_URL=$CROWDLOG_TEST_POSTGRES_URL"
    return 0
  fi
  [[ $PORT =~ ^[0-9]+$ ]] || die "CROWDLOG_PG_PORT must be a port number, not '$PORT'"
  ensure_installed
  lock "$STATE"
  prepare_state_dir
  if is_running; then
    log "already running at 127.0.0.1:$PORT"
  else
    port_open 127.0.0.1 "$PORT" && die "port $PORT is already in use by another process;" \
      "set CROWDLOG_PG_PORT, or CROWDLOG_TEST_POSTGRES_URL to use that server"
    init_cluster
    write_config
    log "starting PostgreSQL on 127.0.0.1:$PORT (log: $LOGFILE)"
    # The lock fd is closed so the server does not hold it after we exit.
    pg_ctl_ -l "$LOGFILE" -w -t "$READY_TIMEOUT" start >/dev/null 9>&- \
      || { tail -n 50 "$LOGFILE" >&2 || true; die "pg_ctl start failed"; }
  fi
  wait_ready
  if [[ -z $(psql_ -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'") ]]; then
    log "creating database $DB_NAME"
    psql_ -d postgres -c "CREATE DATABASE $DB_NAME" \
      -c "ALTER ROLE $DB_USER PASSWORD '$DB_PASSWORD'"
  fi
  echo "CROWDLOG_TEST_POSTGRES_URL=$URL"
}

cmd_down() {
  local purge=false
  [[ ${1:-} == --purge ]] && purge=true
  [[ $# -eq 0 || $purge == true ]] || die "usage: postgres.sh down [--purge]"
  lock "$STATE"
  if [[ -f $DATA/PG_VERSION ]] && BINDIR=$(find_bindir) && is_running; then
    # Even with CROWDLOG_TEST_POSTGRES_URL set (e.g. exported from our own
    # `up`), a server this script started is ours to stop.
    log "stopping PostgreSQL"
    pg_ctl_ -m fast -w -t 60 stop >/dev/null
    log "stopped"
  elif [[ -n ${CROWDLOG_TEST_POSTGRES_URL:-} ]]; then
    log "CROWDLOG_TEST_POSTGRES_URL is set: that server is not ours to stop"
  else
    log "not running"
  fi
  if $purge; then
    rm -rf "$DATA" "$SOCKET_DIR" "$STATE/initdb.log"
    log "purged $DATA; the next 'up' creates a new cluster"
  fi
}

case "${1:-}" in
  up)   cmd_up ;;
  down) shift; cmd_down "$@" ;;
  url)  cmd_url ;;
  *)    echo "usage: $0 up | down [--purge] | url" >&2; exit 2 ;;
esac
