#!/usr/bin/env bash
# Start the native stack (Mosquitto, PostgreSQL, Kafka, Apicurio Registry, Prometheus) on 127.0.0.1,
# installing what is missing first. Idempotent: with everything running it only checks that
# each service answers. See deploy/native/README.md.   Usage: npm run stack:up
set -euo pipefail
# shellcheck source=deploy/native/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

say "native stack in $(rel "$STACK_DIR") (Kafka $STACK_KAFKA_VERSION$(kafka_multi && echo " x $STACK_KAFKA_BROKERS brokers"), Apicurio Registry $STACK_APICURIO_VERSION)"
stack_lock
# before anything is installed or saved: the ports do not collide, and the Kafka there is of
# the mode asked for (one or three brokers)
stack_check_ports
kafka_check_mode
stack_prepare_dirs
stack_install
stack_save_settings

# PostgreSQL first (the registry stores its schemas there), then the others; the two JVMs
# and Prometheus start side by side and are waited for afterwards.
svc_up postgres
svc_up mosquitto
svc_start kafka
svc_start registry
svc_start prometheus
svc_wait prometheus
svc_wait kafka
svc_wait registry

write_env_file
say "stack is up:"
for s in $(stack_units); do echo "    $s: pid $(svc_pid "$s"), $STACK_HOST:$(svc_port "$s")"; done
echo "    Mosquitto $(mosquitto_version), persistence: $(mosquitto_persistence_mode)"
echo "    environment for the services and tests: $(rel "$STACK_DIR/env")  (set -a; . $(rel "$STACK_DIR/env"); set +a)"
sed 's/^/      /' "$STACK_DIR/env"
echo "    logs: $(rel "$STACK_LOGS")/   stop: npm run stack:down"
