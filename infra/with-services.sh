#!/usr/bin/env bash
# Runs a command with the local Kafka broker (and, with --postgres, PostgreSQL; with --registry,
# the Schema Registry) up, then stops whatever this script started, even when the command fails
# or is interrupted.
#
# Why: `make test` and `make bench` must work on a fresh machine and must never leave a broker
# behind, while a developer's already-running broker (or an external cluster named by
# KAFKA_BOOTSTRAP_SERVERS) must be used as it is and left alone.
#
# The registry's URL is exported as CROWDLOG_TEST_SCHEMA_REGISTRY_URL only, never as the
# pipeline's CROWDLOG_SCHEMA_REGISTRY_URL: a test that wants the registry asks for it (the
# `schema_registry_url` fixture), every other test runs the pipeline without one as before. A
# registry named by CROWDLOG_TEST_SCHEMA_REGISTRY_URL or CROWDLOG_SCHEMA_REGISTRY_URL, or one
# already answering on the local port, is used as it is and left alone.
#
# Usage: infra/with-services.sh [--postgres] [--registry] -- COMMAND [ARGS...]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
want_postgres=false
want_registry=false
while [[ $# -gt 0 ]]; do
  case $1 in
    --postgres) want_postgres=true; shift ;;
    --registry) want_registry=true; shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[[ $# -gt 0 ]] || { echo "usage: $0 [--postgres] [--registry] -- COMMAND [ARGS...]" >&2; exit 2; }

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

if $want_registry; then
  if [[ -n ${CROWDLOG_TEST_SCHEMA_REGISTRY_URL:-} ]]; then
    :  # the tests' own registry: use it as it is
  elif [[ -n ${CROWDLOG_SCHEMA_REGISTRY_URL:-} ]]; then
    CROWDLOG_TEST_SCHEMA_REGISTRY_URL=$CROWDLOG_SCHEMA_REGISTRY_URL
  else
    bash "$HERE/registry/registry.sh" status >/dev/null 2>&1 || started+=(registry)
    line=$(bash "$HERE/registry/registry.sh" up)
    CROWDLOG_TEST_SCHEMA_REGISTRY_URL=${line#CROWDLOG_SCHEMA_REGISTRY_URL=}
  fi
  export CROWDLOG_TEST_SCHEMA_REGISTRY_URL
fi

"$@"
