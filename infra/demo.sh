#!/usr/bin/env bash
# `make demo`: the backbone end to end on a real broker. Starts Kafka (left running for you to
# explore; `make kafka-down` stops it), creates the topics, ingests the sample provider feed,
# runs the event index sink until the log is drained, and prints what landed in SQL.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
crowdlog=.venv/bin/crowdlog

eval "$(bash infra/kafka/kafka.sh up)"
export KAFKA_BOOTSTRAP_SERVERS
mkdir -p .state
export CROWDLOG_DATABASE_URL=${CROWDLOG_DATABASE_URL:-sqlite:///.state/demo.db}
export CROWDLOG_LOG_LEVEL=${CROWDLOG_LOG_LEVEL:-warning}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "topics on $KAFKA_BOOTSTRAP_SERVERS"
$crowdlog topics create

step "ingest examples/providers/acme_athletes.csv (6 bad rows on purpose, see its README)"
$crowdlog ingest examples/providers/acme_athletes.csv --provider acme

step "event index sink into $CROWDLOG_DATABASE_URL (stops after 5 idle seconds)"
$crowdlog sink event-index --idle-timeout 5

step "what landed"
$crowdlog index summary --latest 8

printf '\nKafka is still running at %s (make kafka-down stops it).\n' "$KAFKA_BOOTSTRAP_SERVERS"
printf 'Try: %s tail records.received --from-beginning --idle-timeout 3\n' "$crowdlog"
