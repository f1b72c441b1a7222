#!/usr/bin/env bash
# A local N-node Kafka 4.1 KRaft cluster (default 3) for replication tests.
#
# Why this exists: kafka.sh runs one broker, where every topic has a single
# replica and a dead broker is a dead cluster. What replication buys (a broker
# SIGKILLed mid-stream costs nothing) can only be shown on several brokers.
# Each node here is a combined broker+controller on 127.0.0.1 with its own data
# dir, all voters of one static quorum (controller.quorum.voters) and formatted
# with one shared cluster id. The jars are kafka.sh's: `kafka.sh assemble`
# fills the cache once and this script reads the same cache.
#
# The cluster replicates everything by default: topics created without a
# replication factor, consumer-group offsets, transaction and share-group state
# get min(N, 3) replicas, and an acks=all write needs all but one of them in sync
# (min.insync.replicas=2 for three; 1 for one or two nodes), so one node may die
# without a write being refused or lost.
#
# Usage: cluster.sh [--dir DIR] up [N] | down [--purge] | kill NODE | start NODE | status
#   up [N]      format (first time) and start every node of an N-node cluster,
#               wait until each has started; prints
#               KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:P1,127.0.0.1:P2,... on stdout
#               (all other messages go to stderr, so `eval "$(cluster.sh up)"`
#               works). A cluster already in DIR keeps its size and ports.
#   down        stop every node (SIGTERM, SIGKILL after 30 s); --purge also
#               deletes DIR, so the next `up` makes a new cluster
#   kill NODE   SIGKILL node NODE (1..N) and wait until it is gone
#   start NODE  start node NODE again, wait until it has started
#   status      one line per node, then the quorum's leader; exit 0 if every
#               node answers, 1 otherwise
#
# Unlike kafka.sh, KAFKA_BOOTSTRAP_SERVERS is ignored: this cluster is always
# a cluster of its own, beside any other.
#
# Environment:
#   CROWDLOG_STATE_DIR                 DIR is $CROWDLOG_STATE_DIR/kafka-cluster
#                                      (default <repo>/.state/kafka-cluster)
#   CROWDLOG_CACHE_DIR                 jar cache root, as for kafka.sh
#   CROWDLOG_CLUSTER_PORTS             client ports, comma-separated, one per node
#                                      (default 19092, 19093, ...)
#   CROWDLOG_CLUSTER_CONTROLLER_PORTS  KRaft ports, likewise (default 19192, ...)
#   CROWDLOG_CLUSTER_HEAP              each node's -Xmx (default 384m)
# The ports are read by the first `up` only and kept in DIR/cluster.env.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
readonly SCRIPT_DIR REPO_ROOT
# kafka.sh names the version, hence the cache directory; read it rather than repeat it.
KAFKA_VERSION=$(sed -n 's/^readonly KAFKA_VERSION=//p' "$SCRIPT_DIR/kafka.sh")
[[ -n $KAFKA_VERSION ]] || { echo "cluster.sh: error: no KAFKA_VERSION in kafka.sh" >&2; exit 1; }
LIBS="${CROWDLOG_CACHE_DIR:-${HOME:?HOME is not set}/.cache/crowdlog}/kafka-$KAFKA_VERSION/libs"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
HEAP="${CROWDLOG_CLUSTER_HEAP:-384m}"
READY_LINE="Kafka Server started"     # logged by KafkaRaftServer at INFO
READY_TIMEOUT=120                     # a restart after SIGKILL recovers its logs first
STOP_TIMEOUT=30

SERVICE=cluster.sh
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

DIR="${CROWDLOG_STATE_DIR:-$REPO_ROOT/.state}/kafka-cluster"
if [[ ${1:-} == --dir ]]; then
  [[ -n ${2:-} ]] || die "--dir needs a directory"
  DIR=$2
  shift 2
fi
DIR=$(realpath -m "$DIR")   # the pid check matches the absolute properties path
readonly DIR
CLUSTER_ENV="$DIR/cluster.env"

# Set by load_cluster: the node count, the shared cluster id, the ports per node (index 1..N).
NODES=0
CLUSTER_ID=""
declare -a PORTS=() CPORTS=()

node_dir() { echo "$DIR/node-$1"; }

# Pid of node $1 if it is alive and is that node's JVM.
live_pid() {
  pid_alive_as "$(node_dir "$1")/kafka.pid" " kafka.Kafka $(node_dir "$1")/server.properties"
}

# A comma-separated list of $1 port numbers from $2, or $1 consecutive ones from $3.
port_list() {
  local count=$1 given=$2 first=$3 i
  if [[ -n $given ]]; then
    [[ $given =~ ^[0-9]+(,[0-9]+)*$ ]] || die "not a comma-separated list of ports: $given"
    local -a list
    IFS=, read -ra list <<<"$given"
    ((${#list[@]} == count)) || die "$count nodes need $count ports, got: $given"
    echo "$given"
  else
    local out=()
    for ((i = 0; i < count; i++)); do out+=($((first + i))); done
    (IFS=,; echo "${out[*]}")
  fi
}

new_cluster() {
  local count=$1 ports cports cluster_id
  [[ $count =~ ^[1-9][0-9]*$ ]] || die "the node count must be a positive number, not '$count'"
  ports=$(port_list "$count" "${CROWDLOG_CLUSTER_PORTS:-}" 19092)
  cports=$(port_list "$count" "${CROWDLOG_CLUSTER_CONTROLLER_PORTS:-}" 19192)
  [[ $(tr , '\n' <<<"$ports,$cports" | sort | uniq -d) == "" ]] \
    || die "client and controller ports must all differ: $ports / $cports"
  cluster_id=$("$JAVA" -cp "$LIBS/*" kafka.tools.StorageTool random-uuid)
  printf 'NODES=%s\nCLUSTER_ID=%s\nPORTS=%s\nCPORTS=%s\n' \
    "$count" "$cluster_id" "$ports" "$cports" >"$CLUSTER_ENV.tmp"
  mv "$CLUSTER_ENV.tmp" "$CLUSTER_ENV"
  log "new $count-node cluster in $DIR (cluster id $cluster_id)"
}

load_cluster() {
  [[ -f $CLUSTER_ENV ]] || die "no cluster in $DIR; run 'cluster.sh up' first"
  local key value ports="" cports=""
  while IFS='=' read -r key value; do
    case $key in
      NODES) NODES=$value ;;
      CLUSTER_ID) CLUSTER_ID=$value ;;
      PORTS) ports=$value ;;
      CPORTS) cports=$value ;;
    esac
  done <"$CLUSTER_ENV"
  IFS=, read -ra PORTS <<<"0,$ports"     # a dummy at index 0: nodes count from 1
  IFS=, read -ra CPORTS <<<"0,$cports"
}

check_node() {
  [[ $1 =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= NODES)) || die "no node '$1' (nodes are 1..$NODES)"
}

bootstrap() {
  local i out=()
  for ((i = 1; i <= NODES; i++)); do out+=("127.0.0.1:${PORTS[i]}"); done
  (IFS=,; echo "${out[*]}")
}

write_server_properties() {
  local node=$1 dir voters="" i replicas insync
  dir=$(node_dir "$node")
  for ((i = 1; i <= NODES; i++)); do voters+="${voters:+,}$i@127.0.0.1:${CPORTS[i]}"; done
  replicas=$((NODES < 3 ? NODES : 3))
  insync=$((replicas > 1 ? replicas - 1 : 1))
  mkdir -p "$dir"
  cat >"$dir/server.properties" <<EOF
# Generated by infra/kafka/cluster.sh; edits are overwritten on the next 'up' or 'start'.
# Node $node of $NODES, combined KRaft broker+controller, static quorum, loopback only.
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:${PORTS[node]},CONTROLLER://127.0.0.1:${CPORTS[node]}
advertised.listeners=PLAINTEXT://127.0.0.1:${PORTS[node]}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data

# Everything replicated: one node may die without a write lost or refused
# (an acks=all write needs min.insync.replicas in sync: all but one, at least one).
default.replication.factor=$replicas
min.insync.replicas=$insync
offsets.topic.replication.factor=$replicas
transaction.state.log.replication.factor=$replicas
transaction.state.log.min.isr=$insync
share.coordinator.state.topic.replication.factor=$replicas
share.coordinator.state.topic.min.isr=$insync
unclean.leader.election.enable=false
# Fewer partitions than the defaults (50): on a small test machine, 150 replicas of
# mostly idle internal partitions only slow the nodes down.
offsets.topic.num.partitions=12
transaction.state.log.num.partitions=12

num.partitions=3
# Test-friendly: consumers join groups at once; topics are created explicitly.
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
}

# Every node is formatted once, with the cluster's shared id (a node formatted with another
# id is refused by the others).
format_storage() {
  local node=$1 dir
  dir=$(node_dir "$node")
  [[ -f $dir/data/meta.properties ]] && return 0
  rm -rf "$dir/data"      # a half-finished earlier format must not block this one
  "$JAVA" -Dlog4j2.configurationFile="$SCRIPT_DIR/log4j2.properties" \
    -Dkafka.logs.dir="$dir" -cp "$LIBS/*" \
    kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$dir/server.properties" \
    >"$dir/format.log" 2>&1 \
    || { cat "$dir/format.log" >&2; die "formatting node $node failed"; }
}

# Start node $1 in the background; prints the server.log offset its readiness is read from.
launch() {
  local node=$1 dir p pid
  dir=$(node_dir "$node")
  for p in "${PORTS[node]}" "${CPORTS[node]}"; do
    port_open 127.0.0.1 "$p" && die "port $p (node $node) is already in use by another process"
  done
  write_server_properties "$node"
  format_storage "$node"
  stat -c %s "$dir/server.log" 2>/dev/null || echo 0
  # stdin/stdout/stderr detached and the lock fd closed, so callers that capture our output
  # (subprocess, $(...)) do not wait on the node.
  nohup "$JAVA" -Xms64m -Xmx"$HEAP" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$SCRIPT_DIR/log4j2.properties" \
    -Dkafka.logs.dir="$dir" \
    -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" \
    </dev/null >"$dir/stdout.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$dir/kafka.pid"
  log "node $node starting (pid $pid) on 127.0.0.1:${PORTS[node]} (logs: $dir/server.log)"
}

print_logs() {
  local f
  for f in "$(node_dir "$1")/server.log" "$(node_dir "$1")/stdout.log"; do
    [[ -s $f ]] || continue
    log "---- last 40 lines of $f ----"
    tail -n 40 "$f" >&2
  done
}

# Wait until node $1 is alive, its port answers and its log says it started after byte $2.
# A node starts only once a majority of the quorum is up, so nodes are waited for after all
# of them were launched.
wait_ready() {
  local node=$1 offset=$2 dir size deadline=$((SECONDS + READY_TIMEOUT))
  dir=$(node_dir "$node")
  while ((SECONDS < deadline)); do
    live_pid "$node" >/dev/null || { print_logs "$node"; die "node $node exited during startup"; }
    if port_open 127.0.0.1 "${PORTS[node]}"; then
      size=$(stat -c %s "$dir/server.log" 2>/dev/null || echo 0)
      ((size >= offset)) || offset=0   # the log rolled over meanwhile
      grep -q "$READY_LINE" < <(tail -c +"$((offset + 1))" "$dir/server.log" 2>/dev/null) \
        && return 0
    fi
    sleep 0.5
  done
  print_logs "$node"
  die "node $node was not ready within ${READY_TIMEOUT}s (it is left running; run 'cluster.sh down')"
}

# Wait up to $2 seconds until node $1's JVM is gone; a zombie counts as gone (live_pid checks
# the command line, which a zombie no longer has).
wait_gone() {
  local node=$1 deadline=$((SECONDS + $2))
  while live_pid "$node" >/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  ! live_pid "$node" >/dev/null
}

cmd_up() {
  local want=${1:-} node started=$SECONDS
  command -v "$JAVA" >/dev/null || die "java not found (need a JDK 17+ on PATH or JAVA_HOME)"
  # kafka.sh's own up path honours KAFKA_BOOTSTRAP_SERVERS; `assemble` only fills the cache.
  bash "$SCRIPT_DIR/kafka.sh" assemble
  mkdir -p "$DIR"
  lock "$DIR"
  if [[ ! -f $CLUSTER_ENV ]]; then
    new_cluster "${want:-3}"
  fi
  load_cluster
  [[ -z $want || $want == "$NODES" ]] \
    || die "$DIR holds a $NODES-node cluster; 'cluster.sh down --purge' before making one of $want"
  local -A offsets=()
  for ((node = 1; node <= NODES; node++)); do
    live_pid "$node" >/dev/null && continue
    offsets[$node]=$(launch "$node")
  done
  for ((node = 1; node <= NODES; node++)); do
    if [[ -n ${offsets[$node]:-} ]]; then
      wait_ready "$node" "${offsets[$node]}"
    elif ! port_open 127.0.0.1 "${PORTS[node]}"; then
      wait_ready "$node" 0          # started by an earlier `up` that is still coming up
    fi
  done
  log "$NODES nodes ready after $((SECONDS - started))s"
  echo "KAFKA_BOOTSTRAP_SERVERS=$(bootstrap)"
}

cmd_down() {
  local purge=false node pid
  [[ ${1:-} == --purge ]] && purge=true
  [[ $# -eq 0 || $purge == true ]] || die "usage: cluster.sh down [--purge]"
  if [[ ! -f $CLUSTER_ENV ]]; then
    log "no cluster in $DIR"
    $purge && rm -rf "$DIR"
    return 0
  fi
  lock "$DIR"
  load_cluster
  # All at once: a node stopping alone waits for a quorum the others would leave it without.
  local -a stopping=()
  for ((node = 1; node <= NODES; node++)); do
    if pid=$(live_pid "$node"); then
      kill -TERM "$pid" 2>/dev/null || true
      stopping+=("$node")
    fi
  done
  for node in "${stopping[@]}"; do
    wait_gone "$node" "$STOP_TIMEOUT" && continue
    log "node $node still running after ${STOP_TIMEOUT}s; sending SIGKILL"
    pid=$(live_pid "$node") && kill -KILL "$pid" 2>/dev/null
    wait_gone "$node" 10 || die "node $node does not stop"
  done
  log "stopped ${#stopping[@]} node(s)"
  for ((node = 1; node <= NODES; node++)); do rm -f "$(node_dir "$node")/kafka.pid"; done
  if $purge; then
    rm -rf "$DIR"
    log "purged $DIR"
  fi
}

cmd_kill() {
  local node=${1:?usage: cluster.sh kill NODE} pid
  load_cluster
  check_node "$node"
  pid=$(live_pid "$node") || die "node $node is not running"
  kill -KILL "$pid"
  wait_gone "$node" 10 || die "node $node (pid $pid) survived SIGKILL"
  log "killed node $node (pid $pid)"
}

cmd_start() {
  local node=${1:?usage: cluster.sh start NODE} offset started=$SECONDS
  load_cluster
  lock "$DIR"
  check_node "$node"
  if live_pid "$node" >/dev/null; then
    log "node $node is already running"
    return 0
  fi
  offset=$(launch "$node")
  wait_ready "$node" "$offset"
  log "node $node ready after $((SECONDS - started))s"
}

cmd_status() {
  local node pid up=0
  load_cluster
  for ((node = 1; node <= NODES; node++)); do
    if pid=$(live_pid "$node") && port_open 127.0.0.1 "${PORTS[node]}"; then
      echo "node $node: running (pid $pid) at 127.0.0.1:${PORTS[node]}"
      up=$((up + 1))
    elif [[ -n ${pid:-} ]]; then
      echo "node $node: starting (pid $pid), 127.0.0.1:${PORTS[node]} not answering yet"
    else
      echo "node $node: stopped"
    fi
  done
  quorum_leader
  ((up == NODES))
}

# The active controller, which clients cannot see (brokers answer for it). The assembled jars
# have no kafka-metadata-quorum tool, so it is read from what the running nodes last wrote
# durably on an election: their quorum-state files; the newest epoch names the leader.
quorum_leader() {
  local node state epoch leader best_epoch=-1 best=""
  for ((node = 1; node <= NODES; node++)); do
    live_pid "$node" >/dev/null || continue
    state=$(cat "$(node_dir "$node")/data/__cluster_metadata-0/quorum-state" 2>/dev/null) \
      || continue
    [[ $state =~ \"leaderId\":([0-9]+),\"leaderEpoch\":([0-9]+) ]] || continue
    leader=${BASH_REMATCH[1]} epoch=${BASH_REMATCH[2]}
    ((epoch > best_epoch)) && best_epoch=$epoch best=$leader
  done
  if [[ -n $best ]] && live_pid "$best" >/dev/null; then
    echo "quorum leader: node $best (epoch $best_epoch)"
  else
    echo "quorum leader: none known"
  fi
}

case "${1:-}" in
  up)     shift; cmd_up "$@" ;;
  down)   shift; cmd_down "$@" ;;
  kill)   shift; cmd_kill "$@" ;;
  start)  shift; cmd_start "$@" ;;
  status) cmd_status ;;
  *)      echo "usage: $0 [--dir DIR] up [N] | down [--purge] | kill NODE | start NODE | status" >&2
          exit 2 ;;
esac
