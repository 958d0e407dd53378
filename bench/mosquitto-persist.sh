#!/usr/bin/env bash
# Broker CPU per QoS 1 message queued for a stopped persistent session, for Mosquitto builds with
# the SQLite persistence plugin at flush period 0 (deploy/native/README.md, "Mosquitto 2.1": what
# the commit-before-PUBACK patch costs). Each build gets a throwaway broker on its own port and
# data folder; Debian's mosquitto_pub publishes N messages with 100 in flight; the broker's CPU
# comes from /proc/<pid>/stat. Builds alternate, ROUNDS times, because the machine is shared.
#   bench/mosquitto-persist.sh N PREFIX... (a PREFIX holds sbin/mosquitto and lib/mosquitto_persist_sqlite.so)
set -euo pipefail
(($# >= 2)) || { echo "usage: $0 N PREFIX..." >&2; exit 2; }
n=$1
shift
rounds=${ROUNDS:-3}
payload='{"device_id":"q-1","temperature":21.5,"humidity":48.25,"battery":87,"timestamp":1796636256663}'

one() {
  local prefix=$1 port=$2 dir pid c0 c1 t0 t1
  dir=$(mktemp -d)
  cat >"$dir/mosquitto.conf" <<CONF
user $(id -un)
listener $port 127.0.0.1
allow_anonymous true
global_plugin $prefix/lib/mosquitto_persist_sqlite.so
persistence_location $dir/
plugin_opt_flush_period 0
plugin_opt_sync normal
max_inflight_messages 1000
max_queued_messages 1000000
log_dest none
CONF
  "$prefix/sbin/mosquitto" -c "$dir/mosquitto.conf" 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do mosquitto_pub -p "$port" -t probe -m x 2>/dev/null && break; sleep 0.1; done
  # the stopped bridge: a persistent session subscribed at QoS 1, gone at once
  mosquitto_sub -p "$port" -i bench-session -c -q 1 -t bench/t -E
  c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  t0=$(date +%s%N)
  mosquitto_pub -p "$port" -q 1 -t bench/t -M 100 --repeat "$n" -m "$payload"
  t1=$(date +%s%N)
  c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  # clock ticks are 10 ms: CPU per message in µs = ticks * 10000 / n
  printf '%s: %d msg/s, broker CPU %d µs/msg\n' "$prefix" $((n * 1000000000 / (t1 - t0))) $(((c1 - c0) * 10000 / n))
}

port=${BENCH_MQTT_PORT:-11990}
for _ in $(seq "$rounds"); do
  for prefix in "$@"; do one "$prefix" "$port"; done
done
