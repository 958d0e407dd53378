# shellcheck shell=bash
# Apache Kafka (KRaft) of the native stack: jars from Maven Central, one or three nodes.
# Sourced by deploy/native/lib.sh; uses its helpers (say, die, launch, wait_ready, ...).

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

