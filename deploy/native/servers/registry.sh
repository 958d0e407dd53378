# shellcheck shell=bash
# Apicurio Registry of the native stack (its Confluent-compatible API), from Maven Central.
# Sourced by deploy/native/lib.sh; uses its helpers (say, die, launch, wait_ready, ...).

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

