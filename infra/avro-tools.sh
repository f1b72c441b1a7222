#!/usr/bin/env bash
# Apache Avro's own command-line tools (avro-tools), fetched from Maven Central on first use.
#
# Why: `crowdlog export` promises files that any Avro tool reads, so the tests read them back
# with the reference implementation (Java), not only with fastavro, which wrote them. Like the
# local Kafka broker (infra/kafka/kafka.sh) the jar comes from Maven Central through mvn, into
# a cache outside the repo; later runs find it there and download nothing.
#
# Usage: avro-tools.sh jar            print the jar's path (fetching it if missing)
#        avro-tools.sh run ARGS...    java -jar avro-tools.jar ARGS... (e.g. tojson FILE.avro)
#
# Environment: CROWDLOG_CACHE_DIR (default ~/.cache/crowdlog), JAVA_HOME.
set -euo pipefail

readonly AVRO_VERSION=1.12.2
CACHE="${CROWDLOG_CACHE_DIR:-${HOME:?HOME is not set}/.cache/crowdlog}/avro-tools-$AVRO_VERSION"
JAR="$CACHE/avro-tools-$AVRO_VERSION.jar"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

log() { echo "avro-tools.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

fetch() {
  [[ -s $JAR ]] && return 0
  command -v mvn >/dev/null || die "mvn not found; install Maven to fetch avro-tools"
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9                      # parallel test workers: one downloads, the others wait
  [[ -s $JAR ]] && return 0
  log "fetching org.apache.avro:avro-tools:$AVRO_VERSION into $CACHE (~70 MB, once)"
  rm -rf "$CACHE/tmp"
  # The plugin version is pinned: without it Maven 3.8 falls back to a 2013-era plugin.
  if ! mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
      -Dartifact="org.apache.avro:avro-tools:$AVRO_VERSION" \
      -DoutputDirectory="$CACHE/tmp" >"$CACHE/mvn.log" 2>&1; then
    tail -n 30 "$CACHE/mvn.log" >&2
    die "maven could not fetch avro-tools (full log: $CACHE/mvn.log)"
  fi
  mv "$CACHE/tmp/avro-tools-$AVRO_VERSION.jar" "$JAR"   # appears only when complete
  rm -rf "$CACHE/tmp"
}

case "${1:-}" in
  jar) fetch; echo "$JAR" ;;
  run)
    shift
    command -v "$JAVA" >/dev/null || die "java not found (need a JDK 17+ on PATH or JAVA_HOME)"
    fetch
    exec "$JAVA" -jar "$JAR" "$@" ;;
  *) echo "usage: $0 jar | run ARGS..." >&2; exit 2 ;;
esac
