#!/usr/bin/env bash
# Runs a command with the local Kafka broker (and, with --postgres, PostgreSQL) up, then stops
# whatever this script started, even when the command fails or is interrupted.
#
# Why: `make test` and `make bench` must work on a fresh machine and must never leave a broker
# behind, while a developer's already-running broker (or an external cluster named by
# KAFKA_BOOTSTRAP_SERVERS) must be used as it is and left alone.
#
# Usage: infra/with-services.sh [--postgres] -- COMMAND [ARGS...]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
want_postgres=false
while [[ $# -gt 0 ]]; do
  case $1 in
    --postgres) want_postgres=true; shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[[ $# -gt 0 ]] || { echo "usage: $0 [--postgres] -- COMMAND [ARGS...]" >&2; exit 2; }

started=()
cleanup() {
  local status=$?
  for service in "${started[@]}"; do
    bash "$HERE/$service/$service.sh" down || true
  done
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
  bash "$HERE/kafka/kafka.sh" status >/dev/null 2>&1 || started+=(kafka)
fi
eval "$(bash "$HERE/kafka/kafka.sh" up)"
export KAFKA_BOOTSTRAP_SERVERS

if $want_postgres; then
  if [[ -z ${CROWDLOG_TEST_POSTGRES_URL:-} ]]; then
    url=$(bash "$HERE/postgres/postgres.sh" url | sed 's/+psycopg//')
    psql "$url" -tAc 'select 1' >/dev/null 2>&1 || started+=(postgres)
  fi
  eval "$(bash "$HERE/postgres/postgres.sh" up)"
  export CROWDLOG_TEST_POSTGRES_URL
fi

"$@"
