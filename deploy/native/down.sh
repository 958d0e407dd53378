#!/usr/bin/env bash
# Stop the native stack (SIGTERM, then SIGKILL after a timeout). Data is kept.
#   down.sh           stop everything
#   down.sh --purge   stop, then delete data, logs, configs and .stack/env (keeps the
#                     downloaded Kafka jars and Apicurio Registry)
set -euo pipefail
# shellcheck source=deploy/native/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=0
case ${1:-} in
  "") ;;
  --purge) purge=1 ;;
  *) die "usage: $0 [--purge]" ;;
esac

stack_lock
say "stopping the native stack in $(rel "$STACK_DIR")"
# reverse order: the registry before the database it uses
for ((i = ${#STACK_SERVICES[@]} - 1; i >= 0; i--)); do
  s=${STACK_SERVICES[i]}
  if svc_pid "$s" >/dev/null; then svc_stop "$s"; else say "$s not running"; fi
done
rm -f "$STACK_RUN"/*.pid

if ((purge)); then
  say "purging data, logs, configs and env (keeping $(rel "$STACK_DIR/kafka"), $(rel "$STACK_DIR/apicurio"))"
  rm -rf "$STACK_DATA" "$STACK_LOGS" "$STACK_RUN" "$STACK_CONF" "$STACK_DIR/tmp" "$STACK_DIR/env"
fi
say "done"
