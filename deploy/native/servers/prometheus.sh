# shellcheck shell=bash
# Prometheus of the native stack (Debian package).
# Sourced by deploy/native/lib.sh; uses its helpers (say, die, launch, wait_ready, ...).

prometheus_bin() { command -v prometheus 2>/dev/null || { [[ -x /usr/bin/prometheus ]] && echo /usr/bin/prometheus; }; }

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

