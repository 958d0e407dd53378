# shellcheck shell=bash
# Mosquitto of the native stack. Sourced by deploy/native/lib.sh; uses its helpers (say, die,
# launch, wait_ready, cached_build, ...).
#
# Which broker: Mosquitto 2.1 built from the release source named by MOSQUITTO_SOURCE (a path or
# a URL), cached per version and target, with its SQLite persistence plugin writing every change
# as it happens. Debian 12 ships only 2.0, whose persistence is a snapshot of the whole database
# every autosave_interval: a SIGKILL loses what it acknowledged since the last one. That one is
# the fallback, with a warning, when the source cannot be had (RELIABILITY.md, "Broker crash").

MOSQUITTO_VERSION=${MOSQUITTO_VERSION:-2.1.2}
MOSQUITTO_SOURCE=${MOSQUITTO_SOURCE:-https://github.com/eclipse-mosquitto/mosquitto/archive/refs/tags/v$MOSQUITTO_VERSION.tar.gz}
MOSQUITTO_BUILD_PACKAGES=(libcjson-dev libsqlite3-dev libssl-dev cmake gcc make patch)
# SQLite's synchronous mode for the persistence plugin (templates/mosquitto-persist-sqlite.conf
# says why normal): normal or full
STACK_MQTT_SYNC=${STACK_MQTT_SYNC:-normal}
[[ $STACK_MQTT_SYNC == normal || $STACK_MQTT_SYNC == full ]] || die "STACK_MQTT_SYNC=$STACK_MQTT_SYNC: normal or full"

MQTT_LOG="$STACK_LOGS/mosquitto.log"
MQTT_CONF_FILE="$STACK_CONF/mosquitto.conf"
MQTT_DATA="$STACK_DATA/mosquitto"

# the project's patches to the release (deploy/native/patches/mosquitto-<version>-*.patch)
mosquitto_patches() { compgen -G "$STACK_NATIVE_DIR/patches/mosquitto-$MOSQUITTO_VERSION-*.patch" | sort || true; }
# the build's folder in the cache: one per version, distribution release, machine and set of
# patches (a changed patch makes a new build, not a stale one reused)
mosquitto_build_key() {
  local os patches
  os=$(. /etc/os-release 2>/dev/null && echo "$ID$VERSION_ID") || os=unknown
  patches=$(mosquitto_patches | xargs -r cat | sha256sum | cut -c1-8)
  echo "mosquitto-$MOSQUITTO_VERSION-$os-$(uname -m)-p$patches"
}
mosquitto_build_dir() {
  local dir
  dir="$STACK_BUILD_CACHE/$(mosquitto_build_key)"
  [[ -f $dir/.complete && -x $dir/sbin/mosquitto ]] && echo "$dir"
}

# Debian's broker: the fallback, and the one test/access.test.ts runs its own copy of
mosquitto_debian_bin() { [[ -x /usr/sbin/mosquitto ]] && echo /usr/sbin/mosquitto; }
# the broker to run: the 2.1 build when there is one, else Debian's
mosquitto_bin() {
  local dir
  if dir=$(mosquitto_build_dir); then echo "$dir/sbin/mosquitto"; return 0; fi
  mosquitto_debian_bin
}
# "2.1.2", from the binary's own usage text
mosquitto_version() { "$(mosquitto_bin)" -h 2>&1 | sed -nE 's/^mosquitto version ([0-9.]+).*/\1/p' | head -n 1; }
# what survives a SIGKILL, in one line (up.sh prints it)
mosquitto_persistence_mode() {
  if mosquitto_build_dir >/dev/null; then
    echo "SQLite persistence plugin, every change committed at once (flush period 0, sync $STACK_MQTT_SYNC)"
  else
    echo "snapshot every 2 s (persistence true, autosave_interval 2): a SIGKILL loses what was acknowledged since the last snapshot"
  fi
}

# ensure_mosquitto: the 2.1 build in the cache (building it once), or the Debian fallback with a
# warning. ensure_system_packages installs Debian's mosquitto and mosquitto-clients either way:
# the readiness probe uses its mosquitto_pub, and the fallback its broker.
ensure_mosquitto() {
  local cache
  if mosquitto_build_dir >/dev/null; then
    say "Mosquitto $MOSQUITTO_VERSION built in $(mosquitto_build_dir)"
    return 0
  fi
  if [[ $EUID -ne 0 ]] && ! dpkg-query -W -f='${Status}' libcjson-dev 2>/dev/null | grep -q 'ok installed'; then
    mosquitto_fallback_warning "building it needs libcjson-dev, which needs root to install"
    return 0
  fi
  ensure_apt_packages "${MOSQUITTO_BUILD_PACKAGES[@]}"
  if cache=$(cached_build "$(mosquitto_build_key)" "Mosquitto $MOSQUITTO_VERSION from $MOSQUITTO_SOURCE (1-4 min on 2 cores)" \
    "$MOSQUITTO_SOURCE" mosquitto_build); then
    say "Mosquitto $MOSQUITTO_VERSION built (cached in $cache)"
  else
    mosquitto_fallback_warning "its release source could not be had"
  fi
}

mosquitto_fallback_warning() {
  warn "Mosquitto $MOSQUITTO_VERSION is not available ($1): the stack runs Debian's Mosquitto $(mosquitto_version)." \
    "Its persistence is a snapshot every 2 s (autosave_interval), so a crash of the broker (SIGKILL, OOM kill, power loss)" \
    "loses the QoS 1 messages it acknowledged to devices since the last snapshot (up to 2 s of them, and whatever was queued" \
    "for a stopped bridge since then). To get $MOSQUITTO_VERSION, set MOSQUITTO_SOURCE to its release archive (a .tar.gz path" \
    "or URL) and run npm run stack:up again."
}

# mosquitto_build SRC OUT: patch (patches/mosquitto-<version>-*.patch: the PUBACK after the
# commit), configure, compile, install under OUT (the broker, clients, libraries and plugins). The rpath $ORIGIN/../lib makes the broker load this build's own libmosquitto and
# not Debian's 2.0 one, wherever the cache folder is moved.
mosquitto_build() {
  local src=$1 out=$2 p
  cd "$src" || return 1
  grep -qE "^set \(VERSION $MOSQUITTO_VERSION\)" CMakeLists.txt ||
    { echo "MOSQUITTO_SOURCE is not Mosquitto $MOSQUITTO_VERSION: $(grep -E '^set \(VERSION' CMakeLists.txt)"; return 1; }
  for p in $(mosquitto_patches); do
    echo "applying $(basename "$p")"
    patch -p1 <"$p" || return 1
  done
  # shellcheck disable=SC2016 # $ORIGIN is for the dynamic linker, not the shell
  cmake -S . -B build -DCMAKE_INSTALL_PREFIX="$out" -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_BUILD_TYPE=Release \
    -DWITH_DOCS=OFF -DWITH_TESTS=OFF -DWITH_PLUGIN_PERSIST_SQLITE=ON \
    -DCMAKE_INSTALL_RPATH='$ORIGIN/../lib' || return 1
  make -C build -j"$(nproc)" || return 1
  make -C build install || return 1
  [[ -f $out/lib/mosquitto_persist_sqlite.so ]] || { echo "the build made no lib/mosquitto_persist_sqlite.so"; return 1; }
  # EPL-2.0 / EDL-1.0: the licence goes along with the binaries
  mkdir -p "$out/share/doc/mosquitto"
  cp LICENSE.txt epl-v20 edl-v10 NOTICE.md "$out/share/doc/mosquitto/" 2>/dev/null || true
}

# mosquitto_plugin_dir BUILD USER: where USER can load the plugin from. The broker loads plugins
# after it has dropped root for USER, who may not reach the build cache (under /root, mode 700);
# then the build's lib/ is copied into the stack folder, which every server user reaches.
mosquitto_plugin_dir() {
  local build=$1 user=$2 copy
  if [[ $user == "$(id -un)" ]] || runuser -u "$user" -- test -r "$build/lib/mosquitto_persist_sqlite.so"; then
    echo "$build/lib"
    return 0
  fi
  copy="$STACK_DIR/mosquitto/$(basename "$build")"
  if ! cmp -s "$build/.complete" "$copy/.complete" 2>/dev/null; then
    rm -rf "$copy"
    mkdir -p "$copy"
    cp -a "$build/lib" "$build/.complete" "$copy/"
  fi
  echo "$copy/lib"
}

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
  local pid dir
  if pid=$(mosquitto_pid); then
    say "mosquitto already running (pid $pid)"
    # a broker started before the 2.1 build existed keeps running as it was
    [[ $(readlink -f "/proc/$pid/exe") == "$(readlink -f "$(mosquitto_bin)")" ]] ||
      warn "the running mosquitto is $(readlink -f "/proc/$pid/exe"), not $(mosquitto_bin): bash deploy/native/service.sh mosquitto restart switches to it (read deploy/native/README.md, \"Mosquitto 2.1\", first)"
    return 0
  fi
  ensure_port_free mosquitto "$STACK_MQTT_PORT"
  ensure_port_free "mosquitto (TLS)" "$STACK_MQTT_TLS_PORT"
  mkdir -p "$MQTT_DATA"
  # run as the unprivileged mosquitto user when we are root (mosquitto would switch to it anyway)
  MQTT_USER=$(id -un)
  if [[ $EUID -eq 0 ]] && id mosquitto >/dev/null 2>&1; then
    # shellcheck disable=SC2034 # used by the template
    MQTT_USER=mosquitto
    chown -R mosquitto: "$MQTT_DATA"
  fi
  # the persistence part of the config: the 2.1 plugin, or 2.0's snapshots
  if dir=$(mosquitto_build_dir); then
    if [[ -f $MQTT_DATA/mosquitto.db ]]; then
      # 2.0's snapshot is not read by the plugin: what it held for stopped sessions stays there
      mv "$MQTT_DATA/mosquitto.db" "$MQTT_DATA/mosquitto.db.from-2.0"
      warn "Mosquitto 2.0's persistence file is not read by 2.1's SQLite plugin: sessions and messages queued in it are not carried over (kept as $(rel "$MQTT_DATA")/mosquitto.db.from-2.0)"
    fi
    # shellcheck disable=SC2034 # used by the templates
    MQTT_PLUGIN_DIR=$(mosquitto_plugin_dir "$dir" "$MQTT_USER") MQTT_SYNC=$STACK_MQTT_SYNC
    MQTT_PERSISTENCE=$(<"$STACK_NATIVE_DIR/templates/mosquitto-persist-sqlite.conf")
  else
    MQTT_PERSISTENCE=$(<"$STACK_NATIVE_DIR/templates/mosquitto-persist-snapshot.conf")
  fi
  mosquitto_tls_files "$MQTT_USER"
  MQTT_PORT=$STACK_MQTT_PORT MQTT_TLS_PORT=$STACK_MQTT_TLS_PORT MQTT_DATA_DIR="$MQTT_DATA/" render_template "$STACK_NATIVE_DIR/templates/mosquitto.conf" "$MQTT_CONF_FILE"
  say "starting Mosquitto $(mosquitto_version) on $STACK_HOST:$STACK_MQTT_PORT, persistence in $(rel "$MQTT_DATA"): $(mosquitto_persistence_mode)"
  launch mosquitto "$MQTT_LOG" "$(mosquitto_bin)" -c "$MQTT_CONF_FILE"
}
mosquitto_wait() { wait_ready mosquitto 30 "$MQTT_LOG"; }

# The TLS listener's files in conf/tls/, made once: a CA of the stack's own (ca.pem, which
# clients trust with MQTT_CA_FILE) and the broker's certificate for localhost and 127.0.0.1,
# signed by it. The key stays readable by the broker's user only.
MQTT_TLS_DIR="$STACK_CONF/tls"
mosquitto_tls_files() {
  local user=$1 d=$MQTT_TLS_DIR
  if [[ ! -s $d/server.pem ]]; then
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=iot-pipeline native stack CA" \
      -keyout "$d/ca-key.pem" -out "$d/ca.pem" 2>/dev/null || die "openssl could not make the stack's CA in $d"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$d/server-key.pem" -out "$d/server.csr" 2>/dev/null &&
      openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial -days 3650 \
        -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n') -out "$d/server.pem" 2>/dev/null ||
      die "openssl could not make the broker's certificate in $d"
    rm -f "$d/server.csr" "$d/ca.srl"
    say "  TLS: made a CA and the broker's certificate in $(rel "$d") (clients: MQTT_CA_FILE=$(rel "$d")/ca.pem)"
  fi
  chmod 600 "$d/server-key.pem" "$d/ca-key.pem"
  [[ $EUID -ne 0 || $user == root ]] || chown "$user:" "$d/server-key.pem"
}
mosquitto_stop() {
  local pid
  pid=$(mosquitto_pid) || return 0
  stop_pid mosquitto "$pid" TERM 30 # SIGTERM: mosquitto commits (2.0: saves) its persistence and exits
}
mosquitto_kill() {
  local pid
  pid=$(mosquitto_pid) || return 0
  say "killing mosquitto (SIGKILL $pid)"
  kill_tree "$pid"
}
