# shellcheck shell=bash
# PostgreSQL of the native stack: install check, cluster, roles and databases, start/stop.
# Sourced by deploy/native/lib.sh; uses its helpers (say, die, launch, wait_ready, ...).

pg_bin_dir() {
  local d
  if [[ -n ${STACK_PG_BIN:-} ]]; then
    [[ -x $STACK_PG_BIN/initdb ]] && echo "$STACK_PG_BIN" && return 0
    return 1
  fi
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n $d && -x $d/initdb ]] && echo "$d"
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
  ! timescaledb_installed_version >/dev/null || preload=timescaledb
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
    if postgres_outdated; then
      say "restarting postgres (pid $pid): $POSTGRES_OUTDATED"
      postgres_stop
    else
      say "postgres already running (pid $pid)"
      return 0
    fi
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

# postgres_outdated: the running server is not what is installed (an upgraded binary, or
# TimescaleDB installed since it started and not preloaded); says why in POSTGRES_OUTDATED
postgres_outdated() {
  local running preload
  postgres_ready || return 1
  running=$(psql_admin -At -c 'SHOW server_version' 2>/dev/null | sed -E 's/^([0-9]+\.[0-9]+).*/\1/') || return 1
  preload=$(psql_admin -At -c 'SHOW shared_preload_libraries' 2>/dev/null) || return 1
  if [[ -n $running && $running != "$(pg_release)" ]]; then
    POSTGRES_OUTDATED="it runs $running, PostgreSQL $(pg_release) is installed"
  elif timescaledb_installed_version >/dev/null && [[ $preload != *timescaledb* ]]; then
    POSTGRES_OUTDATED="TimescaleDB is installed but not loaded"
  else
    return 1
  fi
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

