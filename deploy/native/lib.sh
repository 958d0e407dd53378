# shellcheck shell=bash
# Shared functions of the native stack (up.sh, down.sh, service.sh source this file).
#
# Everything the stack owns lives under $STACK_DIR (default <repo>/.stack, git-ignored):
#   conf/   generated configs (from templates/), stack.settings (the ports in force)
#   data/   postgres/, mosquitto/, kafka/, prometheus/   (deleted by down.sh --purge)
#   logs/   one log per service + install logs    (deleted by down.sh --purge)
#   run/    pid files, the PostgreSQL socket dir  (deleted by down.sh --purge)
#   kafka/libs/, apicurio/<version>/              the artifacts (kept by --purge)
#   env     KEY=value lines for the services and tests: set -a; . .stack/env; set +a

STACK_NATIVE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STACK_REPO_ROOT="$(cd "$STACK_NATIVE_DIR/../.." && pwd)"
STACK_DIR="${STACK_DIR:-$STACK_REPO_ROOT/.stack}"
[[ $STACK_DIR == /* ]] || STACK_DIR="$PWD/$STACK_DIR"
STACK_CONF="$STACK_DIR/conf"
STACK_DATA="$STACK_DIR/data"
STACK_LOGS="$STACK_DIR/logs"
STACK_RUN="$STACK_DIR/run"
STACK_SETTINGS_FILE="$STACK_CONF/stack.settings"
STACK_SERVICES=(postgres mosquitto kafka registry prometheus)
STACK_HOST=127.0.0.1

# ---------------------------------------------------------------------------------------------
# Versions (environment > default)
# ---------------------------------------------------------------------------------------------
# Newest Kafka that KafkaJS 2.2.4 was verified against (README.md, "Versions").
STACK_KAFKA_VERSION=${STACK_KAFKA_VERSION:-4.4.0}
# Newest Apicurio Registry that runs on Java 17 (3.1 and later need Java 21), its ccompat API
# verified with @kafkajs/confluent-schema-registry 4.1 (README.md, "Versions").
STACK_APICURIO_VERSION=${STACK_APICURIO_VERSION:-3.0.9}
# the java that runs Kafka and the registry (17 or later)
STACK_JAVA=${STACK_JAVA:-java}

# ---------------------------------------------------------------------------------------------
# Ports: environment > what the last up.sh saved in conf/stack.settings > defaults.
# Saving them means service.sh and down.sh act on the ports up.sh used.
# ---------------------------------------------------------------------------------------------
STACK_SETTING_NAMES=(STACK_MQTT_PORT STACK_MQTT_TLS_PORT STACK_PG_PORT STACK_KAFKA_PORT STACK_KAFKA_CONTROLLER_PORT STACK_REGISTRY_PORT
  STACK_PROMETHEUS_PORT STACK_BRIDGE_METRICS_PORT STACK_WRITER_METRICS_PORT STACK_DETECTOR_METRICS_PORT STACK_KAFKA_BROKERS)
declare -A STACK_DEFAULTS=(
  [STACK_MQTT_PORT]=1883
  # Mosquitto's TLS listener (mqtts), with a certificate from the stack's own CA
  [STACK_MQTT_TLS_PORT]=8883
  [STACK_PG_PORT]=5432
  [STACK_KAFKA_PORT]=9092
  [STACK_KAFKA_CONTROLLER_PORT]=9093
  [STACK_REGISTRY_PORT]=8081
  [STACK_PROMETHEUS_PORT]=9090
  # where Prometheus looks for the pipeline's services (their METRICS_PORT defaults)
  [STACK_BRIDGE_METRICS_PORT]=9464
  [STACK_WRITER_METRICS_PORT]=9465
  [STACK_DETECTOR_METRICS_PORT]=9466
  # Kafka nodes: 1 (broker + controller in one process) or 3 (three such processes, replication
  # 3, min.insync.replicas 2); the Kafka section below says which ports each one takes
  [STACK_KAFKA_BROKERS]=1
)

stack_load_settings() {
  local name line saved
  declare -A saved_values=()
  if [[ -f $STACK_SETTINGS_FILE ]]; then
    while IFS= read -r line; do
      [[ $line =~ ^(STACK_[A-Z_]+)=(.*)$ ]] && saved_values[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    done <"$STACK_SETTINGS_FILE"
  fi
  for name in "${STACK_SETTING_NAMES[@]}"; do
    saved=${saved_values[$name]:-${STACK_DEFAULTS[$name]}}
    printf -v "$name" '%s' "${!name:-$saved}"
    export "${name?}"
  done
}

stack_save_settings() {
  local name
  mkdir -p "$STACK_CONF"
  {
    echo "# ports and Kafka brokers of this stack, written by deploy/native/up.sh, read by service.sh and down.sh; the environment overrides"
    for name in "${STACK_SETTING_NAMES[@]}"; do echo "$name=${!name}"; done
  } >"$STACK_SETTINGS_FILE"
}

stack_load_settings

# ---------------------------------------------------------------------------------------------
# Output with timing
# ---------------------------------------------------------------------------------------------
_now_ms() { date +%s%3N; }
STACK_T0=${STACK_T0:-$(_now_ms)}
export STACK_T0

_stamp() {
  local t=$(($(_now_ms) - STACK_T0))
  printf '[stack %4d.%ds]' $((t / 1000)) $(((t % 1000) / 100))
}
say() { echo "$(_stamp) $*"; }
warn() { echo "$(_stamp) WARNING: $*" >&2; }
die() {
  echo "$(_stamp) ERROR: $*" >&2
  exit 1
}
rel() { echo "${1#"$STACK_REPO_ROOT"/}"; }

[[ $STACK_KAFKA_BROKERS == 1 || $STACK_KAFKA_BROKERS == 3 ]] ||
  die "STACK_KAFKA_BROKERS=$STACK_KAFKA_BROKERS: the native stack runs 1 or 3 Kafka brokers"

# show_log_tail FILE [LINES]: what to look at when something failed
show_log_tail() {
  local file=$1 n=${2:-40}
  if [[ -s $file ]]; then
    echo "----- last $n lines of $(rel "$file") -----" >&2
    tail -n "$n" "$file" >&2
    echo "----- end of $(rel "$file") -----" >&2
  else
    echo "(log $(rel "$file") is empty or missing)" >&2
  fi
}

# run_logged DESC LOGFILE CMD...: run a long command with its output in LOGFILE, show that it
# is still working (on a terminal one line counting the seconds, elsewhere a line a minute),
# and show the log's tail if it fails.
run_logged() {
  local desc=$1 log=$2 start pid rc=0 n=0
  shift 2
  mkdir -p "$(dirname "$log")"
  say "$desc (log: $(rel "$log"))"
  start=$(_now_ms)
  echo "=== $(date -Is) $desc: $*" >>"$log"
  "$@" >>"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    n=$((n + 1))
    if [[ -t 1 ]]; then
      printf '\r%s  ... working (%ds)' "$(_stamp)" "$n"
    elif ((n % 60 == 0)); then
      say "  ... still working (${n}s)"
    fi
  done
  [[ ! -t 1 ]] || printf '\r\033[K'
  wait "$pid" || rc=$?
  if ((rc != 0)); then
    show_log_tail "$log" 40
    die "$desc failed (exit $rc)"
  fi
  say "  done: $desc ($(_secs_since "$start"))"
}

_secs_since() { local d=$(($(_now_ms) - $1 + 50)); echo "$((d / 1000)).$(((d % 1000) / 100))s"; }

# wait_ready NAME TIMEOUT_S LOGFILE...: poll NAME_ready every 0.5 s until it answers; fail
# with the logs' tails on timeout, or at once if the process is gone (NAME_pid fails)
wait_ready() {
  local name=$1 timeout=$2
  shift 2
  wait_ready_cmd "$name" "$timeout" "${name}_ready" "${name}_pid" "$@"
}
# wait_ready_cmd NAME TIMEOUT_S "READY_CMD ARGS" "PID_CMD ARGS" LOGFILE...: the same with other
# probes (words split at spaces)
wait_ready_cmd() {
  local name=$1 timeout=$2 ready=$3 alive=$4 start log
  shift 4
  start=$(_now_ms)
  # shellcheck disable=SC2086 # the commands are split into words on purpose
  while ! $ready >/dev/null 2>&1; do
    # shellcheck disable=SC2086
    if ! $alive >/dev/null; then
      for log in "$@"; do show_log_tail "$log" 60; done
      die "$name exited during start-up"
    fi
    if (($(_now_ms) - start > timeout * 1000)); then
      for log in "$@"; do show_log_tail "$log" 60; done
      die "$name: no answer after ${timeout}s"
    fi
    sleep 0.5
  done
  say "  $name answers ($(_secs_since "$start") waiting)"
}

# stack_lock: one up.sh / down.sh / service.sh at a time per stack folder (tests start the
# stack on demand, possibly from several processes at once). Released when the script exits.
STACK_LOCK_FD=
stack_lock() {
  mkdir -p "$STACK_DIR"
  exec {STACK_LOCK_FD}>"$STACK_DIR/.lock"
  if ! flock -n "$STACK_LOCK_FD"; then
    say "another up.sh / down.sh / service.sh is working on $(rel "$STACK_DIR"); waiting for it to finish"
    flock -w 900 "$STACK_LOCK_FD" || die "still locked after 900 s: $STACK_DIR/.lock"
  fi
}
# without_lock CMD...: run CMD without the lock's file descriptor, so that a server started by
# CMD does not hold the lock for its whole life
without_lock() {
  if [[ -n $STACK_LOCK_FD ]]; then "$@" {STACK_LOCK_FD}>&-; else "$@"; fi
}

# ---------------------------------------------------------------------------------------------
# Small probes
# ---------------------------------------------------------------------------------------------
# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$STACK_HOST/$1" 2>/dev/null; }

# port_owner PORT: the listening socket line of ss, for error messages
port_owner() { ss -ltnpH "sport = :$1" 2>/dev/null | head -n 3 || true; }

# http_status URL: the HTTP status code (000 when nothing answers)
http_status() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || true; }

# render_template SRC DST: copy SRC to DST replacing @NAME@ by the value of shell variable NAME
render_template() {
  local src=$1 dst=$2 text name value
  text=$(<"$src")
  while [[ $text =~ @([A-Z][A-Z0-9_]*)@ ]]; do
    name=${BASH_REMATCH[1]}
    [[ -v $name ]] || die "template $(rel "$src") uses @$name@ but \$$name is not set"
    value=${!name}
    text=${text//"@$name@"/"$value"}
  done
  mkdir -p "$(dirname "$dst")"
  printf '%s\n' "$text" >"$dst.tmp"
  mv -f "$dst.tmp" "$dst"
}

# ---------------------------------------------------------------------------------------------
# Processes: pid files under run/, processes started in their own session (setsid) so that
# Ctrl-C in the terminal that ran up.sh, or npm exiting, does not stop them.
# ---------------------------------------------------------------------------------------------
pid_file() { echo "$STACK_RUN/$1.pid"; }

# proc_alive PID [CMDLINE_SUBSTRING]: the process exists, is not a zombie, and (if given) its
# command line contains the substring (guards against a recycled pid after a reboot)
proc_alive() {
  local pid=$1 want=${2:-} state
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z ]] || return 1
  [[ -z $want ]] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$want"
}

# launch NAME LOGFILE CMD...: start CMD detached, in $STACK_DIR, output appended to LOGFILE,
# its pid in run/NAME.pid (written by the process itself, before exec)
launch() {
  local name=$1 log=$2 pidf
  shift 2
  pidf=$(pid_file "$name")
  rm -f "$pidf"
  mkdir -p "$STACK_RUN" "$(dirname "$log")"
  echo "=== $(date -Is) starting $name: $*" >>"$log"
  (
    [[ -z $STACK_LOCK_FD ]] || exec {STACK_LOCK_FD}>&-
    cd "$STACK_DIR" || exit 1
    exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidf" "$@" >>"$log" 2>&1 </dev/null
  ) &
  for _ in $(seq 1 50); do
    [[ -s $pidf ]] && return 0
    sleep 0.1
  done
  die "$name did not start (no pid file $pidf)"
}

# stop_pid NAME PID SIGNAL TIMEOUT_S: send SIGNAL, wait, then SIGKILL
stop_pid() {
  local name=$1 pid=$2 sig=$3 timeout=$4 start
  proc_alive "$pid" || return 0
  say "stopping $name (pid $pid, SIG$sig)"
  kill "-$sig" "$pid" 2>/dev/null || true
  start=$(_now_ms)
  while proc_alive "$pid"; do
    if (($(_now_ms) - start > timeout * 1000)); then
      warn "$name did not stop within ${timeout}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  say "  $name stopped ($(_secs_since "$start"))"
}

# kill_tree PID: SIGKILL a process and its direct children (a crash, for fault tests), and
# return once they are dead
kill_tree() {
  local pid=$1 children p start
  children=$(pgrep -P "$pid" 2>/dev/null || true)
  kill -KILL "$pid" 2>/dev/null || true
  # shellcheck disable=SC2086
  [[ -z $children ]] || kill -KILL $children 2>/dev/null || true
  start=$(_now_ms)
  for p in $pid $children; do
    while proc_alive "$p" && (($(_now_ms) - start < 10000)); do sleep 0.1; done
  done
}

# wait_reaped PID TIMEOUT_S: until the pid no longer exists at all. A killed daemon whose
# parent was init stays a zombie until init reaps it (here up to ~2 s), and some programs
# (PostgreSQL's lock file check) take a zombie for a live process.
wait_reaped() {
  local pid=$1 timeout=$2 start
  start=$(_now_ms)
  while kill -0 "$pid" 2>/dev/null; do
    (($(_now_ms) - start < timeout * 1000)) || return 1
    sleep 0.1
  done
}

# ensure_port_free NAME PORT: fail early, with a hint, if a process not of this stack listens
ensure_port_free() {
  local name=$1 port=$2
  if port_open "$port"; then
    port_owner "$port" >&2
    die "port $port (for $name) is already taken by a process this stack did not start; stop it or choose another port (see deploy/native/README.md, Ports)"
  fi
}

# ---------------------------------------------------------------------------------------------
# Installation
# ---------------------------------------------------------------------------------------------
java_major() {
  local v
  v=$("$STACK_JAVA" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}') || return 1
  [[ $v == 1.* ]] && v=${v#1.}
  echo "${v%%[.-]*}"
}

# Debian packages: mosquitto (the fallback when no 2.1 build can be had; clients for the readiness probe), postgresql, prometheus (with
# promtool), a JDK >= 17, maven and curl. apt-get update and install run only when something is
# missing. Services the packages would start (the distribution's own mosquitto, postgresql and
# prometheus) are kept from starting.
ensure_system_packages() {
  local missing=() major policy_created=0
  mosquitto_debian_bin >/dev/null || missing+=(mosquitto)
  command -v mosquitto_pub >/dev/null || missing+=(mosquitto-clients)
  pg_bin_dir >/dev/null || missing+=(postgresql)
  { prometheus_bin >/dev/null && command -v promtool >/dev/null; } || missing+=(prometheus)
  major=$(java_major 2>/dev/null || echo 0)
  if ((major < 17)); then
    [[ $STACK_JAVA == java ]] || die "STACK_JAVA=$STACK_JAVA is not a Java 17 or later"
    missing+=(openjdk-17-jdk-headless)
  fi
  command -v mvn >/dev/null || missing+=(maven)
  command -v curl >/dev/null || missing+=(curl)
  command -v setsid >/dev/null || missing+=(util-linux)
  command -v ss >/dev/null || missing+=(iproute2)
  if ((${#missing[@]} == 0)); then
    say "system packages present (mosquitto, postgresql $(basename "$(dirname "$(pg_bin_dir)")"), prometheus, java $(java_major), maven, curl)"
    return 0
  fi
  [[ $EUID -eq 0 ]] || die "missing packages: ${missing[*]}; run as root or install them (apt-get install ${missing[*]})"
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    # keep the packages' own services from starting (they would take ports 1883, 5432, 9090)
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_created=1
  fi
  run_logged "apt-get update (to install: ${missing[*]})" "$STACK_LOGS/install-apt.log" apt-get -qq update
  run_logged "apt-get install ${missing[*]}" "$STACK_LOGS/install-apt.log" \
    env DEBIAN_FRONTEND=noninteractive apt-get -qq -y install --no-install-recommends "${missing[@]}"
  ((policy_created == 0)) || rm -f /usr/sbin/policy-rc.d
  if [[ -d /run/systemd/system ]]; then
    # on a systemd machine the packages enable their services at boot: this stack runs its own
    local unit
    for unit in mosquitto postgresql prometheus; do
      if [[ " ${missing[*]} " == *" $unit "* ]]; then systemctl disable --now "$unit" >/dev/null 2>&1 || true; fi
    done
  fi
}

# mvn_args: batch mode, no download progress lines; STACK_MAVEN_REPO selects
# another local repository (default: Maven's own ~/.m2, shared with other clones of the repo)
mvn_args() {
  local args=(-B -ntp)
  [[ -z ${STACK_MAVEN_REPO:-} ]] || args+=("-Dmaven.repo.local=$STACK_MAVEN_REPO")
  printf '%s\n' "${args[@]}"
}
MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1


stack_install() {
  ensure_system_packages
  ensure_mosquitto
  ensure_timescaledb
  ensure_kafka_libs
  ensure_apicurio
}

stack_prepare_dirs() {
  mkdir -p "$STACK_CONF" "$STACK_DATA" "$STACK_LOGS" "$STACK_RUN" "$STACK_DIR/tmp"
}

# ---------------------------------------------------------------------------------------------
# Builds from release sources (servers that no reachable package offers: TimescaleDB,
# Mosquitto 2.1). Each build is kept in $STACK_BUILD_CACHE/<name>-<version>-<target>/, outside
# the stack folder, so a second stack, another clone or CI on the same machine reuses it.
# ---------------------------------------------------------------------------------------------
STACK_BUILD_CACHE=${STACK_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iot-pipeline/builds}

# ensure_apt_packages PKG...: install the Debian packages among PKG that are missing
ensure_apt_packages() {
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  ((${#missing[@]} > 0)) || return 0
  [[ $EUID -eq 0 ]] || die "missing packages: ${missing[*]}; run as root or install them (apt-get install ${missing[*]})"
  run_logged "apt-get update (to install: ${missing[*]})" "$STACK_LOGS/install-apt.log" apt-get -qq update
  run_logged "apt-get install ${missing[*]}" "$STACK_LOGS/install-apt.log" \
    env DEBIAN_FRONTEND=noninteractive apt-get -qq -y install --no-install-recommends "${missing[@]}"
}

# unpack_source SOURCE DIR: a release archive (.tar.gz), given as a path or an http(s) URL,
# unpacked into DIR without its top folder. Returns 1 (after saying why) when it cannot be had.
unpack_source() {
  local src=$1 dir=$2 archive
  rm -rf "$dir"
  mkdir -p "$dir"
  if [[ $src == http://* || $src == https://* ]]; then
    archive="$dir.tar.gz"
    say "downloading $src"
    if ! curl -fsSL --retry 2 --connect-timeout 15 -o "$archive" "$src"; then
      warn "could not download $src"
      return 1
    fi
  else
    archive=$src
    [[ -f $archive ]] || { warn "no file $archive"; return 1; }
  fi
  tar -xzf "$archive" -C "$dir" --strip-components=1 || { warn "$archive is not a .tar.gz release archive"; return 1; }
  [[ $archive != "$dir.tar.gz" ]] || rm -f "$archive"
}

# cached_build KEY LABEL SOURCE BUILDER: $STACK_BUILD_CACHE/KEY, built once from SOURCE.
# BUILDER SRC_DIR OUT_DIR runs in the unpacked source with its output in logs/build-KEY.log
# (one progress line names the log and the expected time, given in LABEL); OUT_DIR is what is
# kept. Prints the cache folder; returns 1 when SOURCE cannot be had.
cached_build() {
  local key=$1 label=$2 src=$3 builder=$4 out work
  out="$STACK_BUILD_CACHE/$key"
  if [[ -f $out/.complete ]]; then
    echo "$out"
    return 0
  fi
  work="$STACK_DIR/tmp/build-$key"
  unpack_source "$src" "$work/src" >&2 || return 1
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp"
  run_logged "building $label" "$STACK_LOGS/build-$key.log" "$builder" "$work/src" "$out.tmp" >&2
  date -Is >"$out.tmp/.complete"
  rm -rf "$out" "$work"
  mv "$out.tmp" "$out"
  echo "$out"
}

# One file per server: its install check, configuration, start, wait, stop and kill.
for _server in postgres timescaledb mosquitto kafka registry prometheus; do
  # shellcheck source=/dev/null
  . "$STACK_NATIVE_DIR/servers/$_server.sh"
done
unset _server

# ---------------------------------------------------------------------------------------------
# Generic service verbs (service.sh, up.sh, down.sh)
# ---------------------------------------------------------------------------------------------
check_service_name() {
  [[ " ${STACK_SERVICES[*]} " != *" $1 "* ]] || return 0
  if [[ $1 == kafka-[0-9]* ]]; then
    kafka_multi || die "$1: this stack runs one Kafka broker, named kafka (kafka-1 to kafka-3 exist with STACK_KAFKA_BROKERS=3)"
    [[ " $(kafka_nodes | tr '\n' ' ')" == *" $1 "* ]] || die "no Kafka node $1 (this stack has $(kafka_nodes | tr '\n' ' '))"
    return 0
  fi
  die "unknown service '$1' (one of: ${STACK_SERVICES[*]}$(kafka_multi && printf ' %s' $(kafka_nodes)))"
}

# stack_units: the services with kafka replaced by its nodes when there are several
stack_units() {
  local s
  for s in "${STACK_SERVICES[@]}"; do
    if [[ $s == kafka ]]; then kafka_nodes; else echo "$s"; fi
  done
}

# _svc NAME VERB: NAME_VERB, or kafka_node_VERB NAME for one Kafka node (kafka-2)
_svc() {
  if [[ $1 == kafka-[0-9]* ]]; then "kafka_node_$2" "$1"; else "$1_$2"; fi
}

# svc_install NAME: what NAME needs on disk (each part a quick no-op when present)
svc_install() {
  case $1 in
    postgres | prometheus) ensure_system_packages ;;
    mosquitto)
      ensure_system_packages
      ensure_mosquitto
      ;;
    kafka | kafka-[0-9]*) ensure_kafka_libs ;;
    registry) ensure_apicurio ;;
  esac
}

svc_pid() { _svc "$1" pid; }
svc_ready() { _svc "$1" ready >/dev/null 2>&1; }

# svc_start NAME: start unless running; svc_wait NAME: until it answers
svc_start() { _svc "$1" start; }
svc_wait() {
  if svc_pid "$1" >/dev/null && svc_ready "$1"; then
    [[ $1 != postgres ]] || postgres_bootstrap
    say "  $1 answers"
    return 0
  fi
  _svc "$1" wait
}
svc_up() {
  svc_start "$1"
  svc_wait "$1"
}
svc_stop() { _svc "$1" stop; }
svc_kill() { _svc "$1" kill; }

# svc_status NAME: one line (kafka with three nodes: one a node); exit 0 when running and
# answering, 3 otherwise
svc_status() {
  local pid n rc=0
  if [[ $1 == kafka ]] && kafka_multi; then
    for n in $(kafka_nodes); do svc_status "$n" || rc=3; done
    return "$rc"
  fi
  if pid=$(svc_pid "$1"); then
    if svc_ready "$1"; then
      echo "$1: running (pid $pid), answering on port $(svc_port "$1")"
      return 0
    fi
    echo "$1: running (pid $pid) but NOT answering on port $(svc_port "$1")"
    return 3
  fi
  echo "$1: stopped"
  return 3
}
svc_port() {
  case $1 in
    postgres) echo "$STACK_PG_PORT" ;;
    mosquitto) echo "$STACK_MQTT_PORT" ;;
    kafka) kafka_nodes | while read -r n; do kafka_node_port "$n"; done | paste -sd, ;;
    kafka-[0-9]*) kafka_node_port "$1" ;;
    registry) echo "$STACK_REGISTRY_PORT" ;;
    prometheus) echo "$STACK_PROMETHEUS_PORT" ;;
  esac
}

# .stack/env: what the services and tests read (the MQTT, PostgreSQL, Kafka, registry and
# Prometheus settings)
write_env_file() {
  cat >"$STACK_DIR/env.tmp" <<EOF
MQTT_BROKER=$STACK_HOST
MQTT_PORT=$STACK_MQTT_PORT
MQTT_TLS_PORT=$STACK_MQTT_TLS_PORT
MQTT_TLS_CA_FILE=$MQTT_TLS_DIR/ca.pem
KAFKA_BROKERS=$(kafka_bootstrap)
SCHEMA_REGISTRY_URL=$(registry_url)
POSTGRES_HOST=$STACK_HOST
POSTGRES_PORT=$STACK_PG_PORT
POSTGRES_DB=$PG_APP_DB
POSTGRES_USER=$PG_APP_USER
POSTGRES_PASSWORD=$PG_APP_PASSWORD
PROMETHEUS_URL=$(prometheus_url)
PROMETHEUS_TARGETS_DIR=$PROM_TARGETS_DIR
EOF
  if kafka_multi; then
    # what the topics command (cli/topics.ts) creates topics with
    kafka_mode_settings
    printf 'KAFKA_REPLICATION_FACTOR=%s\nKAFKA_MIN_INSYNC_REPLICAS=%s\n' "$KAFKA_REPLICATION" "$KAFKA_MIN_ISR" >>"$STACK_DIR/env.tmp"
  fi
  mv -f "$STACK_DIR/env.tmp" "$STACK_DIR/env"
}

# stack_check_ports: no two parts of the stack on one port (three Kafka nodes take
# STACK_KAFKA_PORT and STACK_KAFKA_CONTROLLER_PORT plus 2 and 4)
stack_check_ports() {
  local n port what
  declare -A owner=()
  _claim() {
    [[ $2 =~ ^[0-9]+$ ]] && (($2 >= 1 && $2 <= 65535)) || die "$1: port '$2' is not a port number"
    [[ -z ${owner[$2]:-} ]] || die "port $2 is set for both ${owner[$2]} and $1; move one of them (see deploy/native/README.md, Ports)"
    owner[$2]=$1
  }
  _claim STACK_MQTT_PORT "$STACK_MQTT_PORT"
  _claim STACK_MQTT_TLS_PORT "$STACK_MQTT_TLS_PORT"
  _claim STACK_PG_PORT "$STACK_PG_PORT"
  for n in $(kafka_nodes); do
    _claim "$n (from STACK_KAFKA_PORT)" "$(kafka_node_port "$n")"
    _claim "$n controller (from STACK_KAFKA_CONTROLLER_PORT)" "$(kafka_node_controller_port "$n")"
  done
  for what in STACK_REGISTRY_PORT STACK_PROMETHEUS_PORT STACK_BRIDGE_METRICS_PORT STACK_WRITER_METRICS_PORT STACK_DETECTOR_METRICS_PORT; do
    _claim "$what" "${!what}"
  done
  unset -f _claim
}
