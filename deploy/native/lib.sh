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
STACK_SETTING_NAMES=(STACK_MQTT_PORT STACK_PG_PORT STACK_KAFKA_PORT STACK_KAFKA_CONTROLLER_PORT STACK_REGISTRY_PORT
  STACK_PROMETHEUS_PORT STACK_BRIDGE_METRICS_PORT STACK_WRITER_METRICS_PORT STACK_DETECTOR_METRICS_PORT STACK_KAFKA_BROKERS)
declare -A STACK_DEFAULTS=(
  [STACK_MQTT_PORT]=1883
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

# run_logged DESC LOGFILE CMD...: run a long command with its output in LOGFILE, print a line
# every 15 s so a long download does not look hung, and show the log's tail if it fails.
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
    if ((n % 15 == 0)); then say "  ... still working: $desc (${n}s)"; fi
  done
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

pg_bin_dir() {
  local d
  if [[ -n ${STACK_PG_BIN:-} ]]; then
    [[ -x $STACK_PG_BIN/initdb ]] && echo "$STACK_PG_BIN" && return 0
    return 1
  fi
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n $d && -x $d/initdb ]] && echo "$d"
}

mosquitto_bin() { command -v mosquitto 2>/dev/null || { [[ -x /usr/sbin/mosquitto ]] && echo /usr/sbin/mosquitto; }; }
prometheus_bin() { command -v prometheus 2>/dev/null || { [[ -x /usr/bin/prometheus ]] && echo /usr/bin/prometheus; }; }

# Debian packages: mosquitto (+ clients for the readiness probe), postgresql, prometheus (with
# promtool), a JDK >= 17, maven and curl. apt-get update and install run only when something is
# missing. Services the packages would start (the distribution's own mosquitto, postgresql and
# prometheus) are kept from starting.
ensure_system_packages() {
  local missing=() major policy_created=0
  mosquitto_bin >/dev/null || missing+=(mosquitto)
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

KAFKA_LIBS="$STACK_DIR/kafka/libs"
ensure_kafka_libs() {
  local marker="$KAFKA_LIBS/.version" args
  if [[ -f $marker && $(<"$marker") == "$STACK_KAFKA_VERSION" ]] && compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null; then
    say "Kafka $STACK_KAFKA_VERSION jars present ($(rel "$KAFKA_LIBS"))"
    return 0
  fi
  mapfile -t args < <(mvn_args)
  rm -rf "$KAFKA_LIBS"
  mkdir -p "$KAFKA_LIBS"
  run_logged "fetching Apache Kafka $STACK_KAFKA_VERSION jars with mvn (~45 MB)" "$STACK_LOGS/install-kafka.log" \
    mvn "${args[@]}" -f "$STACK_NATIVE_DIR/kafka/pom.xml" "-Dkafka.version=$STACK_KAFKA_VERSION" \
    "$MAVEN_DEPENDENCY_PLUGIN:copy-dependencies" "-DoutputDirectory=$KAFKA_LIBS" -DincludeScope=runtime
  echo "$STACK_KAFKA_VERSION" >"$marker"
  say "  $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars, $(du -sh "$KAFKA_LIBS" | cut -f1)"
}

apicurio_home() { echo "$STACK_DIR/apicurio/$STACK_APICURIO_VERSION"; }
# the runnable jar: quarkus-run.jar (fast-jar, 3.1 and later) or *-runner.jar (3.0, legacy-jar)
apicurio_jar() {
  local home jar
  home=$(apicurio_home)
  for jar in "$home/quarkus-run.jar" "$home"/*-runner.jar; do
    [[ -f $jar ]] && echo "$jar" && return 0
  done
  return 1
}
ensure_apicurio() {
  local home tarball args coords
  home=$(apicurio_home)
  if apicurio_jar >/dev/null; then
    say "Apicurio Registry $STACK_APICURIO_VERSION present ($(rel "$home"))"
    return 0
  fi
  coords="io.apicurio:apicurio-registry-app:$STACK_APICURIO_VERSION:tar.gz:all"
  tarball="$STACK_DIR/downloads/apicurio-registry-app-$STACK_APICURIO_VERSION-all.tar.gz"
  mapfile -t args < <(mvn_args)
  mkdir -p "$STACK_DIR/downloads"
  # dependency plugin 2.8's get, not 3.x's copy: the archive's parent pom
  # (io.apicurio:apicurio-registry:3.0.x) is missing from Maven Central, and 3.x refuses an
  # artifact whose descriptor it cannot read; 2.8 warns and copies the archive (-Ddest).
  run_logged "fetching Apicurio Registry $STACK_APICURIO_VERSION with mvn (~110 MB)" "$STACK_LOGS/install-registry.log" \
    mvn "${args[@]}" -f "$STACK_NATIVE_DIR/kafka/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:2.8:get \
    "-Dartifact=$coords" -Dtransitive=false "-Ddest=$tarball"
  [[ -s $tarball ]] || die "mvn reported success but did not write $tarball"
  rm -rf "$home.tmp"
  mkdir -p "$home.tmp"
  run_logged "unpacking Apicurio Registry into $(rel "$home")" "$STACK_LOGS/install-registry.log" tar -xzf "$tarball" -C "$home.tmp"
  rm -rf "$home"
  mv "$home.tmp" "$home"
  rm -f "$tarball" # Maven's local repository keeps a copy; the unpacked folder is what runs
  rmdir "$STACK_DIR/downloads" 2>/dev/null || true
  apicurio_jar >/dev/null || die "no quarkus-run.jar or *-runner.jar in $tarball"
}

stack_install() {
  ensure_system_packages
  ensure_kafka_libs
  ensure_apicurio
}

stack_prepare_dirs() {
  mkdir -p "$STACK_CONF" "$STACK_DATA" "$STACK_LOGS" "$STACK_RUN" "$STACK_DIR/tmp"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------
PG_DATA="$STACK_DATA/postgres"
PG_SOCKET_DIR="$STACK_RUN/postgres"
PG_LOG="$STACK_LOGS/postgres.log"
PG_CONF_FILE="$STACK_CONF/postgresql.conf"
PG_HBA_FILE="$STACK_CONF/pg_hba.conf"
# The OS user that owns the cluster: postgres when run as root (initdb refuses root), else
# the user running the stack. The database superuser has the same name (peer auth on the socket).
if [[ $EUID -eq 0 ]]; then PG_OS_USER=postgres; else PG_OS_USER=$(id -un); fi
PG_SUPERUSER=$PG_OS_USER
# Database roles: the application's, and the registry's own
PG_APP_USER=iot PG_APP_PASSWORD=iot_password PG_APP_DB=iot_analytics
PG_REGISTRY_USER=apicurio PG_REGISTRY_PASSWORD=apicurio_password PG_REGISTRY_DB=apicurio

as_pg_user() {
  if [[ $EUID -eq 0 ]]; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi
}

postgres_pid() {
  local pid
  [[ -s $PG_DATA/postmaster.pid ]] || return 1
  pid=$(head -n 1 "$PG_DATA/postmaster.pid")
  proc_alive "$pid" postgres && echo "$pid"
}
postgres_ready() { "$(pg_bin_dir)/pg_isready" -q -h "$STACK_HOST" -p "$STACK_PG_PORT" -t 2; }

postgres_configure() {
  local bin preload=""
  bin=$(pg_bin_dir) || die "PostgreSQL is not installed (run deploy/native/up.sh)"
  mkdir -p "$PG_SOCKET_DIR" "$STACK_LOGS"
  touch "$PG_LOG"
  if [[ $EUID -eq 0 ]]; then
    as_pg_user test -x "$STACK_DIR" ||
      die "user $PG_OS_USER cannot reach $STACK_DIR: a parent folder is not searchable (chmod o+x it, or set STACK_DIR elsewhere)"
    chown "$PG_OS_USER:" "$PG_SOCKET_DIR" "$PG_LOG"
  fi
  if [[ ! -s $PG_DATA/PG_VERSION ]]; then
    mkdir -p "$PG_DATA"
    [[ $EUID -ne 0 ]] || chown "$PG_OS_USER:" "$PG_DATA"
    chmod 700 "$PG_DATA"
    run_logged "initdb $(rel "$PG_DATA")" "$STACK_LOGS/install-postgres.log" \
      as_pg_user "$bin/initdb" -D "$PG_DATA" -U "$PG_SUPERUSER" --encoding=UTF8 --locale=C.UTF-8 \
      --auth-local=peer --auth-host=scram-sha-256
  fi
  # our settings live in conf/postgresql.conf, included last from the cluster's own file
  if ! grep -qF "include_if_exists = '$PG_CONF_FILE'" "$PG_DATA/postgresql.conf"; then
    printf "\n# native stack settings (generated from deploy/native/templates/postgresql.conf)\ninclude_if_exists = '%s'\n" \
      "$PG_CONF_FILE" >>"$PG_DATA/postgresql.conf"
  fi
  [[ ! -f "$("$bin/pg_config" --pkglibdir 2>/dev/null)/timescaledb.so" ]] || preload=timescaledb
  PG_PRELOAD=$preload PG_PORT=$STACK_PG_PORT render_template "$STACK_NATIVE_DIR/templates/postgresql.conf" "$PG_CONF_FILE"
  render_template "$STACK_NATIVE_DIR/templates/pg_hba.conf" "$PG_HBA_FILE"
}

# after a crash (service.sh postgres kill) postmaster.pid names a dead postmaster; postgres
# starts anyway once that pid is gone, but refuses while it lingers as an unreaped zombie
postgres_clear_stale_pid() {
  local f=$PG_DATA/postmaster.pid pid p
  [[ -s $f ]] || return 0
  pid=$(head -n 1 "$f")
  wait_reaped "$pid" 10 && return 0
  for p in /proc/[0-9]*; do
    if [[ $(readlink "$p/cwd" 2>/dev/null) == "$PG_DATA" ]] && proc_alive "${p#/proc/}"; then
      die "a process of the old postgres (pid ${p#/proc/}) is still running in $PG_DATA"
    fi
  done
  warn "removing postmaster.pid of the dead postmaster $pid (a zombie not yet reaped)"
  rm -f "$f"
}

postgres_start() {
  local pid
  if pid=$(postgres_pid); then
    say "postgres already running (pid $pid)"
    return 0
  fi
  postgres_clear_stale_pid
  ensure_port_free postgres "$STACK_PG_PORT"
  postgres_configure
  say "starting postgres on $STACK_HOST:$STACK_PG_PORT (data $(rel "$PG_DATA"))"
  # pg_ctl detaches the postmaster (own session) and waits until it accepts connections
  # (after crash recovery, which can take a while after a kill)
  without_lock as_pg_user "$(pg_bin_dir)/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 120 -s start 2>>"$PG_LOG" ||
    {
      show_log_tail "$PG_LOG"
      die "pg_ctl start failed"
    }
}

postgres_wait() {
  wait_ready postgres 30 "$PG_LOG"
  postgres_bootstrap
}

psql_admin() {
  as_pg_user "$(pg_bin_dir)/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$STACK_PG_PORT" -U "$PG_SUPERUSER" -d postgres "$@"
}

# roles and databases, idempotent (passwords are re-set each time)
postgres_bootstrap() {
  psql_admin >/dev/null <<SQL || die "creating roles and databases failed"
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_APP_USER') THEN CREATE ROLE $PG_APP_USER; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_REGISTRY_USER') THEN CREATE ROLE $PG_REGISTRY_USER; END IF;
END \$\$;
ALTER ROLE $PG_APP_USER WITH LOGIN CREATEDB PASSWORD '$PG_APP_PASSWORD';
ALTER ROLE $PG_REGISTRY_USER WITH LOGIN PASSWORD '$PG_REGISTRY_PASSWORD';
SELECT 'CREATE DATABASE $PG_APP_DB OWNER $PG_APP_USER' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_APP_DB') \gexec
SELECT 'CREATE DATABASE $PG_REGISTRY_DB OWNER $PG_REGISTRY_USER' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_REGISTRY_DB') \gexec
SQL
  say "  roles $PG_APP_USER, $PG_REGISTRY_USER and databases $PG_APP_DB, $PG_REGISTRY_DB in place"
}

postgres_stop() {
  local pid
  pid=$(postgres_pid) || return 0
  # SIGINT = "fast" shutdown: disconnects clients (SIGTERM would wait for them to leave)
  stop_pid postgres "$pid" INT 60
}

postgres_kill() {
  local pid
  pid=$(postgres_pid) || return 0
  say "killing postgres (SIGKILL postmaster $pid and its children)"
  kill_tree "$pid"
  wait_reaped "$pid" 10 || true
}

# ---------------------------------------------------------------------------------------------
# Mosquitto
# ---------------------------------------------------------------------------------------------
MQTT_LOG="$STACK_LOGS/mosquitto.log"
MQTT_CONF_FILE="$STACK_CONF/mosquitto.conf"
MQTT_DATA="$STACK_DATA/mosquitto"

mosquitto_pid() {
  local pid
  pid=$(cat "$(pid_file mosquitto)" 2>/dev/null) || return 1
  proc_alive "$pid" mosquitto && echo "$pid"
}
# a real MQTT round trip: CONNECT, PUBLISH QoS 1, PUBACK
mosquitto_ready() {
  timeout 5 mosquitto_pub -h "$STACK_HOST" -p "$STACK_MQTT_PORT" -i "stack-probe-$$" -q 1 -t stack/probe -m ping
}

mosquitto_start() {
  local pid
  if pid=$(mosquitto_pid); then
    say "mosquitto already running (pid $pid)"
    return 0
  fi
  ensure_port_free mosquitto "$STACK_MQTT_PORT"
  mkdir -p "$MQTT_DATA"
  # run as the unprivileged mosquitto user when we are root (mosquitto would switch to it anyway)
  MQTT_USER=$(id -un)
  if [[ $EUID -eq 0 ]] && id mosquitto >/dev/null 2>&1; then
    # shellcheck disable=SC2034 # used by the template
    MQTT_USER=mosquitto
    chown -R mosquitto: "$MQTT_DATA"
  fi
  MQTT_PORT=$STACK_MQTT_PORT MQTT_DATA_DIR="$MQTT_DATA/" render_template "$STACK_NATIVE_DIR/templates/mosquitto.conf" "$MQTT_CONF_FILE"
  say "starting mosquitto on $STACK_HOST:$STACK_MQTT_PORT (persistence $(rel "$MQTT_DATA"))"
  launch mosquitto "$MQTT_LOG" "$(mosquitto_bin)" -c "$MQTT_CONF_FILE"
}
mosquitto_wait() { wait_ready mosquitto 30 "$MQTT_LOG"; }
mosquitto_stop() {
  local pid
  pid=$(mosquitto_pid) || return 0
  stop_pid mosquitto "$pid" TERM 30 # SIGTERM: mosquitto saves its persistence file and exits
}
mosquitto_kill() {
  local pid
  pid=$(mosquitto_pid) || return 0
  say "killing mosquitto (SIGKILL $pid)"
  kill_tree "$pid"
}

# ---------------------------------------------------------------------------------------------
# Kafka (KRaft). Each node is one process that is broker and controller.
#   STACK_KAFKA_BROKERS=1 (default): one node, named kafka, on STACK_KAFKA_PORT (controller
#     STACK_KAFKA_CONTROLLER_PORT), data data/kafka/, log logs/kafka.log.
#   STACK_KAFKA_BROKERS=3: nodes kafka-1, kafka-2, kafka-3 (node ids 1-3, a 3-voter quorum),
#     node i on STACK_KAFKA_PORT + 2(i-1) (controller STACK_KAFKA_CONTROLLER_PORT + 2(i-1)),
#     data data/kafka-i/, log logs/kafka-i.log; replication 3, min.insync.replicas 2.
# As a service name, kafka means every node of the mode; kafka-i one node.
# ---------------------------------------------------------------------------------------------
KAFKA_CONF_DIR="$STACK_CONF/kafka" # the cluster id and the tools' log4j2 config (one node: its config too)
# every node name of either mode: stop and kill act on whatever of them runs
KAFKA_ALL_NODES=(kafka kafka-1 kafka-2 kafka-3)

kafka_multi() { ((STACK_KAFKA_BROKERS > 1)); }
# the node names of the configured mode, one a line
kafka_nodes() { if kafka_multi; then seq -f 'kafka-%g' 1 "$STACK_KAFKA_BROKERS"; else echo kafka; fi; }

# kafka_node_set NAME: KN_* = that node's id, ports, folders and logs
kafka_node_set() {
  local i
  KN_NAME=$1
  case $1 in
    kafka) i=1 KN_DATA="$STACK_DATA/kafka" KN_CONF_DIR="$KAFKA_CONF_DIR" ;;
    kafka-[1-9]) i=${1#kafka-} KN_DATA="$STACK_DATA/$1" KN_CONF_DIR="$STACK_CONF/$1" ;;
    *) die "not a Kafka node: $1" ;;
  esac
  KN_ID=$i
  KN_PORT=$((STACK_KAFKA_PORT + 2 * (i - 1)))
  KN_CONTROLLER_PORT=$((STACK_KAFKA_CONTROLLER_PORT + 2 * (i - 1)))
  KN_LOG="$STACK_LOGS/$1.log"        # log4j2 output
  KN_OUT="$STACK_LOGS/$1.stdout.log" # JVM stdout/stderr (crashes, GC warnings)
}
kafka_node_port() { kafka_node_set "$1" && echo "$KN_PORT"; }
kafka_node_controller_port() { kafka_node_set "$1" && echo "$KN_CONTROLLER_PORT"; }
# the bootstrap list clients get (KAFKA_BROKERS): every node
kafka_bootstrap() {
  local n list=()
  for n in $(kafka_nodes); do list+=("$STACK_HOST:$(kafka_node_port "$n")"); done
  (IFS=,; echo "${list[*]}")
}

# Broker defaults of the mode. Three nodes: 3 replicas and min.insync.replicas 2, so that
# acks=all means two brokers have the record: an acknowledged write survives the loss of any
# one broker, and writes go on while one is down (README.md, "Three Kafka brokers").
kafka_mode_settings() {
  if kafka_multi; then
    KAFKA_REPLICATION=3 KAFKA_MIN_ISR=2
    # three JVMs on a small machine: half the single broker's heap each
    KAFKA_HEAP=(-Xms256m -Xmx512m)
  else
    KAFKA_REPLICATION=1 KAFKA_MIN_ISR=1
    KAFKA_HEAP=(-Xms512m -Xmx1g)
  fi
}

# Kafka's command-line tools (StorageTool, TopicCommand...): small heap, log to the terminal
kafka_tool() {
  "$STACK_JAVA" -Xmx256m "-Dlog4j2.configurationFile=$KAFKA_CONF_DIR/log4j2-tools.xml" -cp "$KAFKA_LIBS/*" "$@"
}

# kafka_check_mode: the Kafka data (or processes) of this STACK_DIR belong to the configured
# mode; switching between one and three brokers needs a fresh Kafka, and says so
kafka_check_mode() {
  local n found=() made_with
  if kafka_multi; then
    made_with=1
    [[ ! -f $STACK_DATA/kafka/meta.properties ]] || found+=("data in $(rel "$STACK_DATA/kafka")")
    ! kafka_node_pid kafka >/dev/null || found+=("a running broker named kafka")
  else
    made_with=3
    for n in kafka-1 kafka-2 kafka-3; do
      [[ ! -f $STACK_DATA/$n/meta.properties ]] || found+=("data in $(rel "$STACK_DATA/$n")")
      ! kafka_node_pid "$n" >/dev/null || found+=("a running $n")
    done
  fi
  ((${#found[@]} == 0)) && return 0
  die "STACK_KAFKA_BROKERS=$STACK_KAFKA_BROKERS, but the Kafka of $STACK_DIR was made with STACK_KAFKA_BROKERS=$made_with (found: $(IFS=,; echo "${found[*]}" | sed 's/,/, /g')). The number of brokers cannot change in place. To switch: STACK_DIR=$STACK_DIR bash deploy/native/down.sh --purge (deletes this stack's data: Kafka topics, database, schemas; keeps the downloads), then up.sh with STACK_KAFKA_BROKERS=$STACK_KAFKA_BROKERS. To keep the current one: STACK_KAFKA_BROKERS=$made_with, or leave it unset (conf/stack.settings remembers it)."
}

kafka_node_pid() {
  local pid
  kafka_node_set "$1"
  pid=$(cat "$(pid_file "$1")" 2>/dev/null) || return 1
  proc_alive "$pid" "$KN_CONF_DIR/server.properties" && echo "$pid"
}

# a metadata request: KafkaJS from the repo's node_modules (fast); Kafka's own CLI otherwise.
# With three nodes the node must also be in the cluster's list of live brokers (registered
# with the controller quorum, not fenced).
kafka_node_ready() {
  local rc=2 target expect=()
  kafka_node_set "$1"
  port_open "$KN_PORT" || return 1
  target="$STACK_HOST:$KN_PORT"
  ! kafka_multi || expect=("$KN_ID")
  if command -v node >/dev/null; then
    rc=0
    node "$STACK_NATIVE_DIR/probe.js" kafka "$target" "${expect[@]}" || rc=$?
  fi
  ((rc == 2)) || return $rc
  timeout 30 kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$target" --list
}

kafka_node_configure() {
  local cluster_id_file="$KAFKA_CONF_DIR/cluster-id" cluster_id format_args=() n voters=()
  kafka_node_set "$1"
  kafka_mode_settings
  mkdir -p "$KAFKA_CONF_DIR" "$KN_CONF_DIR" "$KN_DATA"
  if kafka_multi; then
    # a static quorum of every node (the dynamic one of KIP-853 would need each node's
    # directory id at format time, and buys nothing here)
    for n in $(kafka_nodes); do voters+=("${n#kafka-}@$STACK_HOST:$(kafka_node_controller_port "$n")"); done
    kafka_node_set "$1"
    KAFKA_QUORUM="controller.quorum.voters=$(IFS=,; echo "${voters[*]}")"
  else
    # KRaft quorum: Kafka >= 3.9 takes a dynamic quorum (controller.quorum.bootstrap.servers and
    # format --standalone); older ones need the static controller.quorum.voters
    KAFKA_QUORUM="controller.quorum.bootstrap.servers=$STACK_HOST:$KN_CONTROLLER_PORT"
    if [[ $(printf '%s\n' "$STACK_KAFKA_VERSION" 3.9 | sort -V | head -n 1) == 3.9 ]]; then
      format_args=(--standalone)
    else
      # shellcheck disable=SC2034 # used by the template
      KAFKA_QUORUM="controller.quorum.voters=1@$STACK_HOST:$KN_CONTROLLER_PORT"
    fi
  fi
  # shellcheck disable=SC2034 # used by the templates
  KAFKA_LOG_FILE=$KN_LOG KAFKA_NODE_ID=$KN_ID KAFKA_NODE_PORT=$KN_PORT KAFKA_NODE_CONTROLLER_PORT=$KN_CONTROLLER_PORT KAFKA_NODE_DATA=$KN_DATA
  render_template "$STACK_NATIVE_DIR/templates/kafka-log4j2.xml" "$KN_CONF_DIR/log4j2.xml"
  render_template "$STACK_NATIVE_DIR/templates/kafka-tools-log4j2.xml" "$KAFKA_CONF_DIR/log4j2-tools.xml"
  render_template "$STACK_NATIVE_DIR/templates/kafka-server.properties" "$KN_CONF_DIR/server.properties"
  if [[ ! -f $KN_DATA/meta.properties ]]; then
    if [[ ! -s $cluster_id_file ]]; then
      # what kafka-storage random-uuid prints (16 random bytes, base64url, no padding, not
      # starting with '-'), without starting a JVM for it
      cluster_id=-
      while [[ $cluster_id == -* ]]; do
        cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
      done
      echo "$cluster_id" >"$cluster_id_file"
    fi
    cluster_id=$(tail -n 1 "$cluster_id_file")
    run_logged "formatting Kafka storage $(rel "$KN_DATA") (cluster id $cluster_id)" "$STACK_LOGS/install-kafka.log" \
      kafka_tool kafka.tools.StorageTool format -t "$cluster_id" -c "$KN_CONF_DIR/server.properties" "${format_args[@]}"
  fi
}

kafka_node_start() {
  local pid java
  if pid=$(kafka_node_pid "$1"); then
    say "$1 already running (pid $pid)"
    return 0
  fi
  kafka_check_mode
  kafka_node_set "$1"
  ensure_port_free "$1" "$KN_PORT"
  ensure_port_free "$1 controller" "$KN_CONTROLLER_PORT"
  kafka_node_configure "$1"
  kafka_mode_settings
  # the broker's JVM, as kafka-server-start.sh / kafka-run-class.sh set it up
  java=("$STACK_JAVA" "${KAFKA_HEAP[@]}" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$KN_CONF_DIR/log4j2.xml" "-Dkafka.logs.dir=$STACK_LOGS" -cp "$KAFKA_LIBS/*")
  if kafka_multi; then
    say "starting $1 (Kafka $STACK_KAFKA_VERSION, node $KN_ID of $STACK_KAFKA_BROKERS) on $STACK_HOST:$KN_PORT (controller :$KN_CONTROLLER_PORT, data $(rel "$KN_DATA"))"
  else
    say "starting kafka $STACK_KAFKA_VERSION on $STACK_HOST:$KN_PORT (controller :$KN_CONTROLLER_PORT, data $(rel "$KN_DATA"))"
  fi
  launch "$1" "$KN_OUT" "${java[@]}" kafka.Kafka "$KN_CONF_DIR/server.properties"
}

# a JVM that dies before log4j starts leaves its reason in the stdout log
kafka_node_wait() {
  kafka_node_set "$1"
  wait_ready_cmd "$1" 90 "kafka_node_ready $1" "kafka_node_pid $1" "$KN_OUT" "$KN_LOG"
}
kafka_node_stop() {
  local pid
  pid=$(kafka_node_pid "$1") || return 0
  stop_pid "$1" "$pid" TERM 60 # SIGTERM: controlled shutdown, flushes and closes the logs
}
kafka_node_kill() {
  local pid
  pid=$(kafka_node_pid "$1") || return 0
  say "killing $1 (SIGKILL $pid)"
  kill_tree "$pid"
}

# kafka as a whole. kafka_pid: the pids of the nodes that run (of either mode), exit 1 if none
kafka_pid() {
  local n pid pids=()
  for n in "${KAFKA_ALL_NODES[@]}"; do
    if pid=$(kafka_node_pid "$n"); then pids+=("$pid"); fi
  done
  ((${#pids[@]} > 0)) && echo "${pids[*]}"
}
# every node of the mode answers (probed side by side: each probe starts a node process)
kafka_ready() {
  local n pid pids=() rc=0
  for n in $(kafka_nodes); do
    kafka_node_ready "$n" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  return "$rc"
}
kafka_start() {
  local n
  kafka_check_mode
  for n in $(kafka_nodes); do kafka_node_start "$n"; done
}
kafka_wait() {
  local n
  for n in $(kafka_nodes); do svc_wait "$n"; done
}
# all nodes at once: SIGTERM to each first, so that none waits for a quorum the others
# already left
kafka_stop() {
  local n pid signalled=()
  for n in "${KAFKA_ALL_NODES[@]}"; do
    if pid=$(kafka_node_pid "$n"); then
      kill -TERM "$pid" 2>/dev/null || true
      signalled+=("$n (pid $pid)")
    fi
  done
  ((${#signalled[@]} < 2)) || say "SIGTERM to ${signalled[*]} at once"
  for n in "${KAFKA_ALL_NODES[@]}"; do kafka_node_stop "$n"; done
}
kafka_kill() {
  local n
  for n in "${KAFKA_ALL_NODES[@]}"; do kafka_node_kill "$n"; done
}

# ---------------------------------------------------------------------------------------------
# Apicurio Registry (Quarkus fast-jar), storage in the stack's PostgreSQL
# ---------------------------------------------------------------------------------------------
REGISTRY_LOG="$STACK_LOGS/registry.log"
REGISTRY_CONF_FILE="$STACK_CONF/registry/application.properties"
registry_url() { echo "http://$STACK_HOST:$STACK_REGISTRY_PORT/apis/ccompat/v7"; }

registry_pid() {
  local pid
  pid=$(cat "$(pid_file registry)" 2>/dev/null) || return 1
  proc_alive "$pid" "$STACK_DIR/apicurio/" && echo "$pid"
}
registry_ready() { [[ $(http_status "$(registry_url)/subjects") == 200 ]]; }

registry_start() {
  local pid jar
  if pid=$(registry_pid); then
    say "registry already running (pid $pid)"
    return 0
  fi
  postgres_ready || die "the registry keeps its data in PostgreSQL, which is not answering: start postgres first"
  ensure_port_free registry "$STACK_REGISTRY_PORT"
  jar=$(apicurio_jar) || die "Apicurio Registry $STACK_APICURIO_VERSION is not installed (run deploy/native/up.sh)"
  STACK_TMP="$STACK_DIR/tmp" render_template "$STACK_NATIVE_DIR/templates/registry.properties" "$REGISTRY_CONF_FILE"
  say "starting registry (Apicurio $STACK_APICURIO_VERSION) on $STACK_HOST:$STACK_REGISTRY_PORT, storage: postgres database $PG_REGISTRY_DB"
  launch registry "$REGISTRY_LOG" "$STACK_JAVA" -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    "-Djava.io.tmpdir=$STACK_DIR/tmp" "-Dquarkus.config.locations=$REGISTRY_CONF_FILE" \
    -jar "$jar"
}
# usually 15 s; up to a minute on a busy 2-core machine
registry_wait() { wait_ready registry 180 "$REGISTRY_LOG"; }
registry_stop() {
  local pid
  pid=$(registry_pid) || return 0
  stop_pid registry "$pid" TERM 30
}
registry_kill() {
  local pid
  pid=$(registry_pid) || return 0
  say "killing registry (SIGKILL $pid)"
  kill_tree "$pid"
}

# ---------------------------------------------------------------------------------------------
# Prometheus (Debian package): scrapes the pipeline's services on loopback, evaluates the
# alerting rules of deploy/prometheus/alerts.yml (the same file compose uses)
# ---------------------------------------------------------------------------------------------
PROM_LOG="$STACK_LOGS/prometheus.log"
PROM_CONF_DIR="$STACK_CONF/prometheus"
PROM_CONF_FILE="$PROM_CONF_DIR/prometheus.yml"
PROM_DATA="$STACK_DATA/prometheus"
# file_sd folder: <job>-*.json files here add scrape targets without a restart (tests put
# services started on random ports there); written to .stack/env as PROMETHEUS_TARGETS_DIR
PROM_TARGETS_DIR="$PROM_CONF_DIR/targets"
prometheus_url() { echo "http://$STACK_HOST:$STACK_PROMETHEUS_PORT"; }

prometheus_pid() {
  local pid
  pid=$(cat "$(pid_file prometheus)" 2>/dev/null) || return 1
  proc_alive "$pid" "$PROM_CONF_FILE" && echo "$pid"
}
# /-/ready answers 200 once the TSDB is open and the rules are loaded
prometheus_ready() { [[ $(http_status "$(prometheus_url)/-/ready") == 200 ]]; }

prometheus_configure() {
  mkdir -p "$PROM_TARGETS_DIR" "$PROM_DATA"
  # shellcheck disable=SC2034 # used by the template
  PROM_RULES_FILE="$STACK_REPO_ROOT/deploy/prometheus/alerts.yml"
  render_template "$STACK_NATIVE_DIR/templates/prometheus.yml" "$PROM_CONF_FILE"
}

prometheus_start() {
  local pid before
  if pid=$(prometheus_pid); then
    # a changed template or port setting takes effect without a restart: SIGHUP reloads
    before=$(cksum <"$PROM_CONF_FILE")
    prometheus_configure
    if [[ $(cksum <"$PROM_CONF_FILE") != "$before" ]]; then
      say "prometheus config changed: reloading (SIGHUP $pid)"
      kill -HUP "$pid"
    fi
    say "prometheus already running (pid $pid)"
    return 0
  fi
  ensure_port_free prometheus "$STACK_PROMETHEUS_PORT"
  prometheus_configure
  say "starting prometheus on $STACK_HOST:$STACK_PROMETHEUS_PORT (data $(rel "$PROM_DATA"), targets in $(rel "$PROM_TARGETS_DIR"))"
  launch prometheus "$PROM_LOG" "$(prometheus_bin)" "--config.file=$PROM_CONF_FILE" \
    "--storage.tsdb.path=$PROM_DATA" --storage.tsdb.retention.time=7d \
    "--web.listen-address=$STACK_HOST:$STACK_PROMETHEUS_PORT"
}
prometheus_wait() { wait_ready prometheus 60 "$PROM_LOG"; }
prometheus_stop() {
  local pid
  pid=$(prometheus_pid) || return 0
  stop_pid prometheus "$pid" TERM 30 # SIGTERM: closes the TSDB cleanly
}
prometheus_kill() {
  local pid
  pid=$(prometheus_pid) || return 0
  say "killing prometheus (SIGKILL $pid)"
  kill_tree "$pid"
}

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
    postgres | mosquitto | prometheus) ensure_system_packages ;;
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

# .stack/env: what the services and tests read (names as in the seed, plus Kafka, registry and
# Prometheus)
write_env_file() {
  cat >"$STACK_DIR/env.tmp" <<EOF
MQTT_BROKER=$STACK_HOST
MQTT_PORT=$STACK_MQTT_PORT
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
