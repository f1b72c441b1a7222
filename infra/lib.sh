# Shared by infra's service scripts (kafka, cluster, registry, postgres), which source it after
# setting SERVICE (the name their messages start with). Why one file: the same lock, port probe,
# pid check and stop sequence were written out in each script, and must behave the same in all.

log() { echo "$SERVICE: $*" >&2; }
die() { log "error: $*"; exit 1; }

# True if something accepts TCP connections on host $1, port $2.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# Serialise concurrent invocations (parallel test workers calling `up`) on directory $1.
lock() {
  mkdir -p "$1"
  exec 9>"$1/.lock"
  flock 9
}

# The pid in pid file $1 if that process is alive and its command line contains $2: guards
# against a stale pid file whose pid was reused by another process (and a zombie, whose
# command line is empty).
pid_alive_as() {
  local pid
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ $(ps -ww -p "$pid" -o args= 2>/dev/null) == *"$2"* ]] || return 1
  echo "$pid"
}

# SIGTERM pid $1, SIGKILL it if it is still there after $2 seconds; return once it is gone.
stop_pid() {
  local pid=$1 deadline=$((SECONDS + $2))
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running after ${2}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
}
