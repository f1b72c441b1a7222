#!/usr/bin/env bash
# Local single-node Kafka 4.1 broker for crowdlog development and tests.
#
# Why this exists: crowdlog's integration tests need a real broker, and the
# machines we develop and run CI on have a JDK and Maven but no Docker engine.
# So the broker is assembled from Maven Central (infra/kafka/pom.xml) into a
# cache outside the repo and run as a plain JVM: one combined KRaft
# broker+controller bound to 127.0.0.1 only. Users who do have Docker can use
# infra/docker-compose.yml instead; if KAFKA_BOOTSTRAP_SERVERS is set, that
# external cluster is used and this script starts nothing.
#
# Usage: kafka.sh up | down [--purge] | status | assemble
#   up        assemble if needed, format storage once, start, wait until ready;
#             prints KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:PORT on stdout (all other
#             messages go to stderr, so `eval "$(kafka.sh up)"` works)
#   down      stop the broker (SIGTERM, SIGKILL after 30 s); --purge also
#             deletes its data, so the next `up` formats a fresh cluster
#   status    exit 0 if the broker answers, 1 otherwise
#   assemble  download the broker jars into the cache (only when missing)
#
# Environment:
#   KAFKA_BOOTSTRAP_SERVERS         use this external cluster instead
#   CROWDLOG_CACHE_DIR              jar cache root  (default ~/.cache/crowdlog)
#   CROWDLOG_STATE_DIR              runtime state   (default <repo>/.state)
#   CROWDLOG_KAFKA_PORT             client port     (default 9092)
#   CROWDLOG_KAFKA_CONTROLLER_PORT  KRaft port      (default 9093)
#   CROWDLOG_KAFKA_SASL_SSL_PORT    also listen here with SASL_SSL (default: no
#                                   such listener); needs CROWDLOG_KAFKA_SSL_DIR
#   CROWDLOG_KAFKA_SSL_DIR          the SASL_SSL listener's TLS material:
#                                     broker.pem  private key (PKCS#8, not
#                                                 encrypted) and certificate chain
#                                     ca.pem      optional: the CA of client
#                                                 certificates, which are then
#                                                 required (mutual TLS)
#
# The SASL_SSL listener is how crowdlog is tested against a secured cluster
# (tests/integration/test_secured_cluster.py). It takes SCRAM-SHA-256 and
# SCRAM-SHA-512; the users are SCRAM credentials in the cluster's metadata,
# made through the PLAINTEXT listener (AdminClient alter_user_scram_credentials
# or kafka-configs --alter --add-config 'SCRAM-SHA-512=[password=...]'), so no
# password passes through this script. The PLAINTEXT client listener, the
# inter-broker and the controller listeners stay as they are, on loopback.
set -euo pipefail

readonly KAFKA_VERSION=4.1.2
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
readonly SCRIPT_DIR REPO_ROOT

CACHE="${CROWDLOG_CACHE_DIR:-${HOME:?HOME is not set}/.cache/crowdlog}/kafka-$KAFKA_VERSION"
LIBS="$CACHE/libs"
MARKER="$CACHE/assembled.ok"          # written only after a complete download
STATE="${CROWDLOG_STATE_DIR:-$REPO_ROOT/.state}/kafka"
DATA="$STATE/data"
PROPS="$STATE/server.properties"
PIDFILE="$STATE/kafka.pid"
SERVER_LOG="$STATE/server.log"        # written by log4j2 (log4j2.properties)
STDOUT_LOG="$STATE/stdout.log"        # JVM stdout/stderr: crashes, log4j errors
PORT="${CROWDLOG_KAFKA_PORT:-9092}"
CPORT="${CROWDLOG_KAFKA_CONTROLLER_PORT:-9093}"
SPORT="${CROWDLOG_KAFKA_SASL_SSL_PORT:-}"
SSL_DIR="${CROWDLOG_KAFKA_SSL_DIR:-}"
BOOTSTRAP="127.0.0.1:$PORT"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
READY_LINE="Kafka Server started"     # logged by KafkaRaftServer at INFO
READY_TIMEOUT=90
STOP_TIMEOUT=30

SERVICE=kafka.sh
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

# Pid from the pid file if that process is alive and is our broker.
live_pid() { pid_alive_as "$PIDFILE" " kafka.Kafka "; }

print_logs() {
  local f
  for f in "$SERVER_LOG" "$STDOUT_LOG"; do
    [[ -s $f ]] || continue
    log "---- last 50 lines of $f ----"
    tail -n 50 "$f" >&2
  done
}

cmd_assemble() {
  local pom="$SCRIPT_DIR/pom.xml" want
  want=$(sha256sum "$pom" | cut -d' ' -f1)
  # Cheap check first, then again under the lock (another process may be
  # assembling the same shared cache right now).
  [[ -f $MARKER && $(<"$MARKER") == "$want" ]] && return 0
  command -v mvn >/dev/null || die "mvn not found; install Maven to assemble Kafka"
  lock "$CACHE"
  [[ -f $MARKER && $(<"$MARKER") == "$want" ]] && return 0
  log "assembling Kafka $KAFKA_VERSION jars into $LIBS (first run downloads ~45 MB)"
  rm -rf "$LIBS" "$LIBS.tmp" "$MARKER"
  if ! mvn -q -B -f "$pom" dependency:copy-dependencies \
      -DoutputDirectory="$LIBS.tmp" -DincludeScope=runtime >"$CACHE/mvn.log" 2>&1; then
    tail -n 50 "$CACHE/mvn.log" >&2
    die "maven could not fetch the Kafka jars (full log: $CACHE/mvn.log)"
  fi
  mv "$LIBS.tmp" "$LIBS"
  echo "$want" >"$MARKER"
  local jars=("$LIBS"/*.jar)
  log "assembled ${#jars[@]} jars"
}

write_server_properties() {
  local listeners="PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT"
  local advertised="PLAINTEXT://127.0.0.1:$PORT"
  local protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if [[ -n $SPORT ]]; then
    listeners+=",SASL_SSL://127.0.0.1:$SPORT"
    advertised+=",SASL_SSL://127.0.0.1:$SPORT"
    protocols+=",SASL_SSL:SASL_SSL"
  fi
  mkdir -p "$STATE"
  cat >"$PROPS" <<EOF
# Generated by infra/kafka/kafka.sh on every 'up'; edits are overwritten.
# Single combined KRaft node with a static one-voter quorum, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$DATA

# One broker: every internal topic must make do with a single replica.
num.partitions=3
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Test-friendly: consumers join groups at once; topics are created explicitly.
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
  [[ -n $SPORT ]] || return 0
  cat >>"$PROPS" <<EOF

# The secured listener (CROWDLOG_KAFKA_SASL_SSL_PORT): TLS with the key and
# certificate of $SSL_DIR, SCRAM users from the cluster's metadata.
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$SSL_DIR/broker.pem
EOF
  if [[ -f $SSL_DIR/ca.pem ]]; then
    cat >>"$PROPS" <<EOF
listener.name.sasl_ssl.ssl.truststore.type=PEM
listener.name.sasl_ssl.ssl.truststore.location=$SSL_DIR/ca.pem
listener.name.sasl_ssl.ssl.client.auth=required
EOF
  fi
}

# Format the data dir once. With the static controller.quorum.voters setting
# the plain `format -t ID -c FILE` is the right call: Kafka 4.1 rejects
# --standalone / --initial-controllers when controller.quorum.voters is set
# (those flags are for dynamic quorums configured with
# controller.quorum.bootstrap.servers).
format_storage() {
  [[ -f $DATA/meta.properties ]] && return 0
  rm -rf "$DATA"      # a half-finished earlier format must not block this one
  local cluster_id
  cluster_id=$("$JAVA" -cp "$LIBS/*" kafka.tools.StorageTool random-uuid)
  log "formatting $DATA (cluster id $cluster_id)"
  "$JAVA" -Dlog4j2.configurationFile="$SCRIPT_DIR/log4j2.properties" \
    -Dkafka.logs.dir="$STATE" -cp "$LIBS/*" \
    kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS" >"$STATE/format.log" 2>&1 \
    || { cat "$STATE/format.log" >&2; die "formatting the Kafka storage failed"; }
}

# Wait until the broker process is alive, its port answers, and the log says
# it started (the port opens slightly before the broker is fully up).
# $1: byte offset of server.log before this start, to ignore older runs' lines.
wait_ready() {
  local pid=$1 offset=$2 deadline=$((SECONDS + READY_TIMEOUT)) size
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || { print_logs; die "the broker exited during startup"; }
    if port_open 127.0.0.1 "$PORT"; then
      size=$(stat -c %s "$SERVER_LOG" 2>/dev/null || echo 0)
      ((size >= offset)) || offset=0   # the log rolled over meanwhile
      grep -q "$READY_LINE" < <(tail -c +"$((offset + 1))" "$SERVER_LOG" 2>/dev/null) && return 0
    fi
    sleep 0.5
  done
  print_logs
  die "the broker was not ready within ${READY_TIMEOUT}s (pid $pid is left running; run 'kafka.sh down')"
}

cmd_up() {
  if [[ -n ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
    log "KAFKA_BOOTSTRAP_SERVERS is set: using the external cluster at $KAFKA_BOOTSTRAP_SERVERS, starting nothing"
    echo "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS"
    return 0
  fi
  [[ $PORT =~ ^[0-9]+$ && $CPORT =~ ^[0-9]+$ && $PORT != "$CPORT" ]] \
    || die "CROWDLOG_KAFKA_PORT ($PORT) and CROWDLOG_KAFKA_CONTROLLER_PORT ($CPORT) must be two different port numbers"
  if [[ -n $SPORT ]]; then
    [[ $SPORT =~ ^[0-9]+$ && $SPORT != "$PORT" && $SPORT != "$CPORT" ]] \
      || die "CROWDLOG_KAFKA_SASL_SSL_PORT ($SPORT) must be a port number other than the client and controller ports"
    [[ -n $SSL_DIR && -f $SSL_DIR/broker.pem ]] \
      || die "the SASL_SSL listener needs CROWDLOG_KAFKA_SSL_DIR with broker.pem (key and certificate chain)"
    SSL_DIR=$(cd "$SSL_DIR" && pwd)   # the broker runs from elsewhere
  fi
  command -v "$JAVA" >/dev/null || die "java not found (need a JDK 17+ on PATH or JAVA_HOME)"
  cmd_assemble
  lock "$STATE"

  local pid offset
  if pid=$(live_pid); then
    if port_open 127.0.0.1 "$PORT"; then
      log "already running (pid $pid) at $BOOTSTRAP"
      echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
      return 0
    fi
    log "broker pid $pid is alive but not answering yet; waiting for it"
    wait_ready "$pid" 0
    echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
    return 0
  fi
  rm -f "$PIDFILE"
  for p in "$PORT" "$CPORT" $SPORT; do
    port_open 127.0.0.1 "$p" && die "port $p is already in use by another process;" \
      "set CROWDLOG_KAFKA_PORT/CROWDLOG_KAFKA_CONTROLLER_PORT/CROWDLOG_KAFKA_SASL_SSL_PORT, or KAFKA_BOOTSTRAP_SERVERS to use that cluster"
  done

  write_server_properties
  format_storage
  offset=$(stat -c %s "$SERVER_LOG" 2>/dev/null || echo 0)
  log "starting Kafka $KAFKA_VERSION on $BOOTSTRAP (logs: $SERVER_LOG)"
  # stdin/stdout/stderr detached and the lock fd closed, so callers that
  # capture our output (subprocess, $(...)) do not wait on the broker.
  nohup "$JAVA" -Xms256m -Xmx768m -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$SCRIPT_DIR/log4j2.properties" \
    -Dkafka.logs.dir="$STATE" \
    -cp "$LIBS/*" kafka.Kafka "$PROPS" \
    </dev/null >"$STDOUT_LOG" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PIDFILE"
  local started=$SECONDS
  wait_ready "$pid" "$offset"
  log "ready after $((SECONDS - started))s (pid $pid)${SPORT:+; SASL_SSL on 127.0.0.1:$SPORT}"
  echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
}

cmd_down() {
  local purge=false pid
  [[ ${1:-} == --purge ]] && purge=true
  [[ $# -eq 0 || $purge == true ]] || die "usage: kafka.sh down [--purge]"
  lock "$STATE"
  if pid=$(live_pid); then
    # Even with KAFKA_BOOTSTRAP_SERVERS set (e.g. exported from our own `up`),
    # a broker this script started is ours to stop.
    log "stopping broker (pid $pid)"
    stop_pid "$pid" "$STOP_TIMEOUT"
    log "stopped"
  elif [[ -n ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
    log "KAFKA_BOOTSTRAP_SERVERS is set: the external cluster at $KAFKA_BOOTSTRAP_SERVERS is not ours to stop"
  else
    log "not running"
  fi
  rm -f "$PIDFILE"
  if $purge; then
    rm -rf "$DATA" "$PROPS" "$STATE/format.log"
    log "purged $DATA; the next 'up' formats a new cluster"
  fi
}

cmd_status() {
  local pid
  if [[ -n ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
    local first=${KAFKA_BOOTSTRAP_SERVERS%%,*}
    if port_open "${first%:*}" "${first##*:}"; then
      echo "external cluster at $KAFKA_BOOTSTRAP_SERVERS: reachable"
      return 0
    fi
    echo "external cluster at $KAFKA_BOOTSTRAP_SERVERS: not reachable"
    return 1
  fi
  if pid=$(live_pid) && port_open 127.0.0.1 "$PORT"; then
    echo "running (pid $pid) at $BOOTSTRAP"
    return 0
  elif [[ -n ${pid:-} ]]; then
    echo "starting (pid $pid), $BOOTSTRAP not answering yet"
  else
    echo "not running ($BOOTSTRAP)"
  fi
  return 1
}

case "${1:-}" in
  up)       cmd_up ;;
  down)     shift; cmd_down "$@" ;;
  status)   cmd_status ;;
  assemble) cmd_assemble ;;
  *)        echo "usage: $0 up | down [--purge] | status | assemble" >&2; exit 2 ;;
esac
