# shellcheck shell=bash
# Mosquitto of the native stack.
# Sourced by deploy/native/lib.sh; uses its helpers (say, die, launch, wait_ready, ...).

mosquitto_bin() { command -v mosquitto 2>/dev/null || { [[ -x /usr/sbin/mosquitto ]] && echo /usr/sbin/mosquitto; }; }

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

