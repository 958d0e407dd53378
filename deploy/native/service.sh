#!/usr/bin/env bash
# One service of the native stack, for fault tests and by hand:
#   service.sh <mosquitto|postgres|kafka|registry|prometheus|all> <start|stop|kill|restart|status>
#   with STACK_KAFKA_BROKERS=3, also kafka-1, kafka-2, kafka-3: one broker (kafka: all three)
#     start    start it unless running, wait until it answers (installs it if missing)
#     stop     graceful stop (SIGTERM; postgres: fast shutdown), SIGKILL after a timeout
#     kill     SIGKILL, no shutdown: a crash
#     restart  stop, then start
#     status   one line; exit 0 if running and answering, 3 otherwise
set -euo pipefail
# shellcheck source=deploy/native/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { die "usage: $0 <mosquitto|postgres|kafka$(kafka_multi && printf '|%s' $(kafka_nodes))|registry|prometheus|all> <start|stop|kill|restart|status>"; }
(($# == 2)) || usage
name=$1 verb=$2
if [[ $name == all ]]; then
  services=("${STACK_SERVICES[@]}")
  # stop in reverse order (the registry before its database)
  [[ $verb != stop && $verb != kill ]] || services=(prometheus registry kafka mosquitto postgres)
else
  check_service_name "$name"
  services=("$name")
fi

[[ $verb == status ]] || stack_lock
rc=0
for s in "${services[@]}"; do
  case $verb in
    start)
      stack_prepare_dirs
      svc_install "$s"
      svc_up "$s"
      ;;
    stop) if svc_pid "$s" >/dev/null; then svc_stop "$s"; else say "$s not running"; fi ;;
    kill) if svc_pid "$s" >/dev/null; then svc_kill "$s"; else say "$s not running"; fi ;;
    restart)
      if svc_pid "$s" >/dev/null; then svc_stop "$s"; fi
      stack_prepare_dirs
      svc_up "$s"
      ;;
    status) svc_status "$s" || rc=3 ;;
    *) usage ;;
  esac
done
exit "$rc"
