#!/usr/bin/env bash
# npm start: the native stack (up.sh), the schema and the topics, then the pipeline on it as
# background processes (bridge, writer, detector once the CLI has it, a simulated fleet), each
# logging to .stack/logs/<service>.log, and a live line of figures a second (cli/watch.ts).
# Ctrl-C stops the pipeline gracefully and leaves the stack running. See README.md.
#   Usage: npm start        DEVICE_COUNT (20) and INTERVAL (1 s) size the simulated fleet
set -euo pipefail
# shellcheck source=deploy/native/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$STACK_REPO_ROOT"
bash "$STACK_NATIVE_DIR/up.sh"
set -a
# shellcheck source=/dev/null
. "$STACK_DIR/env"
set +a

cli() { node --import tsx cli/index.ts "$@"; }
live() { node --import tsx cli/watch.ts "${LIVE_ARGS[@]}" "$@"; }

# The services' default METRICS_PORTs, which Prometheus scrapes (lib.sh keeps them).
declare -A PORT=(
  [bridge]=${STACK_BRIDGE_METRICS_PORT:-9464}
  [writer]=${STACK_WRITER_METRICS_PORT:-9465}
  [detector]=${STACK_DETECTOR_METRICS_PORT:-9466}
)
SERVICES=(bridge writer)
# The detector is started once the CLI has the command (it is being written).
usage=$(cli --help 2>&1 || true)
if grep -q '^  detector ' <<<"$usage"; then SERVICES+=(detector); else say "no detector command in cli/index.ts yet: not started"; fi
for s in "${SERVICES[@]}"; do
  if port_open "${PORT[$s]}"; then
    die "port ${PORT[$s]} (the $s's metrics) is taken, is another npm start running? $(port_owner "${PORT[$s]}")"
  fi
done

say "schema and topics"
# Their JSON logs would repeat the summaries they print; errors still show.
LOG_LEVEL=error cli migrate
LOG_LEVEL=error cli topics

declare -A PID=()
failed=0
stopping=0

# start NAME ARGS...: one pipeline command in the background. In its own session, so that a
# Ctrl-C in the terminal reaches only this script, which then stops them in order.
start() {
  local name=$1
  shift
  METRICS_PORT=${PORT[$name]:-0} setsid node --import tsx cli/index.ts "$@" >"$STACK_LOGS/$name.log" 2>&1 </dev/null &
  PID[$name]=$!
}

# stop NAMES...: SIGTERM (each drains and flushes, lib/lifecycle.ts), then wait for all of them
stop() {
  local name code
  for name in "$@"; do [[ -z ${PID[$name]:-} ]] || kill -TERM "${PID[$name]}" 2>/dev/null || true; done
  for name in "$@"; do
    [[ -n ${PID[$name]:-} ]] || continue
    code=0
    wait "${PID[$name]}" || code=$?
    unset "PID[$name]"
    if ((code == 0)); then
      say "$name stopped"
    else
      warn "$name exited with code $code (log: $(rel "$STACK_LOGS/$name.log"))"
      failed=1
    fi
  done
}

# stop_live: end the live line (it finishes its line, so messages start on a new one)
stop_live() {
  [[ -n ${live_pid:-} ]] || return 0
  kill -TERM "$live_pid" 2>/dev/null || true
  wait "$live_pid" || true
  live_pid=
}

# shutdown drain|now: the simulator first. With drain, the bridge then takes what the broker
# holds for it and the writer stores what the bridge produced, so that the table ends up with
# every reading the simulator published. Then the bridge, then the writer and the detector.
shutdown() {
  ((stopping == 0)) || return 0
  stopping=1
  trap '' INT TERM HUP
  stop_live
  say "stopping the pipeline (the stack keeps running)"
  stop simulator
  if [[ $1 == drain && -n ${PID[bridge]:-} && -n ${PID[writer]:-} ]]; then
    say "waiting until the bridge and the writer have caught up"
    live --drain || failed=1
  fi
  stop bridge
  stop writer detector
  say "pipeline stopped; logs in $(rel "$STACK_LOGS")/; the stack still runs: npm run stack:down stops it"
}
trap 'shutdown drain; exit "$failed"' INT TERM HUP
trap 'shutdown now' EXIT

for s in "${SERVICES[@]}"; do start "$s" "$s"; done
# Readings published before the bridge subscribes would reach no one: wait for its /healthz.
for _ in $(seq 1 120); do
  [[ $(http_status "http://$STACK_HOST:${PORT[bridge]}/healthz") != 200 ]] || break
  proc_alive "${PID[bridge]}" || { show_log_tail "$STACK_LOGS/bridge.log"; die "the bridge exited during start-up"; }
  sleep 0.5
done
[[ $(http_status "http://$STACK_HOST:${PORT[bridge]}/healthz") == 200 ]] || die "the bridge is not healthy after 60 s (log: $(rel "$STACK_LOGS/bridge.log"))"
start simulator simulate --device-count "${DEVICE_COUNT:-20}" --interval "${INTERVAL:-1}" --progress

LIVE_ARGS=(--simulator-log "$STACK_LOGS/simulator.log" --bridge "${PORT[bridge]}" --writer "${PORT[writer]}")
[[ -z ${PID[detector]:-} ]] || LIVE_ARGS+=(--detector "${PORT[detector]}")
say "running: ${SERVICES[*]} and a fleet of ${DEVICE_COUNT:-20} devices every ${INTERVAL:-1} s; logs in $(rel "$STACK_LOGS")/; Ctrl-C stops"
# A plain command, not the function: $! must be node itself for the kill in shutdown to reach it.
node --import tsx cli/watch.ts "${LIVE_ARGS[@]}" &
live_pid=$!

# Until Ctrl-C (the trap above), unless a process ends by itself: a simulator that was given a
# count or duration is a finished run, anything else a failure.
declare -A NAME_OF=()
for s in "${!PID[@]}"; do NAME_OF[${PID[$s]}]=$s; done
code=0
wait -n -p ended "${PID[@]}" "$live_pid" || code=$?
name=${NAME_OF[$ended]:-live line}
unset "PID[$name]"
if [[ $ended == "$live_pid" ]]; then live_pid=; else stop_live; fi
if [[ $name == simulator && $code == 0 ]]; then
  say "the simulator finished"
  shutdown drain
else
  [[ -z ${NAME_OF[$ended]:-} ]] || show_log_tail "$STACK_LOGS/$name.log"
  warn "$name exited with code $code"
  failed=1
  shutdown now
fi
exit "$failed"
