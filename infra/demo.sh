#!/usr/bin/env bash
# `make demo`: the pipeline end to end on a real broker. Starts Kafka (left running for you to
# explore; `make kafka-down` stops it), creates the topics, ingests the sample provider feed,
# then runs a simulated world of athletes through the pipeline (the stage runner for tasks,
# consensus, workers and enrichment, a simulated crowd answering the HITs, simulated social
# platforms, the prediction service learning from simulated partnered posts), scores it against
# the world's ground truth, redacts a bad feed (the lineage stage retracts everything derived
# from it), indexes the whole log into SQL, shows the auditor's tools (lineage, audit, a what-if
# redaction, replay, export), and ends with whom to partner with, the model's error and a
# screenshot of each page of the console over the index.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
crowdlog=.venv/bin/crowdlog

eval "$(bash infra/kafka/kafka.sh up)"
export KAFKA_BOOTSTRAP_SERVERS
mkdir -p .state
# Each run gets its own topics and database, so a rerun shows that run alone.
export CROWDLOG_TOPIC_PREFIX=${CROWDLOG_TOPIC_PREFIX:-demo-$(date +%Y%m%d-%H%M%S).}
rm -f .state/demo.db
export CROWDLOG_DATABASE_URL=${CROWDLOG_DATABASE_URL:-sqlite:///.state/demo.db}
export CROWDLOG_LOG_LEVEL=${CROWDLOG_LOG_LEVEL:-warning}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "topics on $KAFKA_BOOTSTRAP_SERVERS"
$crowdlog topics create

world=.state/demo-world
athletes=${DEMO_ATHLETES:-2000}
step "a simulated world of $athletes athletes (5% namesakes, 10% spammers) in $world"
$crowdlog world generate --athletes "$athletes" --seed 1 --out "$world"

step "pipeline: worker (crowd stages + enrichment), prediction service, simulated crowd"
export CROWDLOG_GOLD_FILE=$world/gold.csv
# The simulated platforms serve the world's profiles; profiles older than two minutes are
# fetched again (the "nightly job", sped up so the demo shows it).
export CROWDLOG_WORLD_DIR=$world CROWDLOG_REFRESH_AGE=${DEMO_REFRESH_AGE:-120}
export CROWDLOG_STATE_DIR=.state/demo-services
rm -rf "$CROWDLOG_STATE_DIR"
$crowdlog worker --loglevel warn > .state/demo-worker.log 2>&1 &
worker=$!
$crowdlog predict > .state/demo-predict.log 2>&1 &
predictor=$!
stop_services() {
  kill "$worker" "$predictor" ${lineage:-} 2>/dev/null || true
  wait "$worker" "$predictor" ${lineage:-} 2>/dev/null || true
}
trap stop_services EXIT
$crowdlog ingest "$world/provider.csv" --provider acme --no-progress
$crowdlog crowd simulate --world "$world"

step "partnered posts: page views observed on our platform, learned online"
$crowdlog partners simulate --world "$world" --rate 300 --idle-timeout 20
sleep 5  # the last outcomes reach the model

step "ingest examples/providers/acme_athletes.csv (6 bad rows on purpose, see its README)"
$crowdlog ingest examples/providers/acme_athletes.csv --provider acme-sample

step "lineage: the acme-sample feed turns out to be wrong; redact it and everything derived"
$crowdlog propagate > .state/demo-lineage.log 2>&1 &
lineage=$!
sleep 10  # the sample's records reach the stages (HITs, handles it already knew)
$crowdlog redact --source provider:acme-sample --by demo \
  --reason "acme-sample sent rows for athletes it does not cover"
sleep 20  # the lineage stage retracts, the stages follow
stop_services
cat .state/demo-predict.log .state/demo-lineage.log

step "scored against the world's ground truth (the pipeline never read it)"
$crowdlog world score "$world"

step "event index sink into $CROWDLOG_DATABASE_URL (stops after 5 idle seconds)"
$crowdlog sink event-index --idle-timeout 5

step "what landed"
$crowdlog index summary --latest 8

step "an auditor's tools: lineage of a redacted record, the audit, a what-if, a replay, an export"
$crowdlog lineage acme-sample:nba-0001 --depth 3
$crowdlog audit verify
$crowdlog redact --stage consensus --version 1.0.0+dawid-skene --dry-run --by demo \
  --reason "what if every Dawid-Skene decision had to go?"
rm -f .state/demo-replay.db
$crowdlog replay --into sqlite:///.state/demo-replay.db --checksum
$crowdlog export --topic consensus.results .state/demo-decisions.avro

step "whom to partner with: the top 20 by predicted page views per post"
$crowdlog rank --top 20

step "the model's error as outcomes arrived (progressive validation)"
$crowdlog prediction plot --out .state/demo-model-error.png

step "the console over the index: a screenshot of each page (crowdlog console --database ...)"
bash infra/browser/install.sh
rm -rf .state/screenshots
.venv/bin/python infra/console/screenshots.py --database "$CROWDLOG_DATABASE_URL" \
  --athlete acme:nba-0001 --out .state/screenshots

printf '\nKafka is still running at %s (make kafka-down stops it).\n' "$KAFKA_BOOTSTRAP_SERVERS"
printf 'Try: CROWDLOG_TOPIC_PREFIX=%s %s tail %sconsensus.results --from-beginning --idle-timeout 3\n' "$CROWDLOG_TOPIC_PREFIX" "$crowdlog" "$CROWDLOG_TOPIC_PREFIX"
