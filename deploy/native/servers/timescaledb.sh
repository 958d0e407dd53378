# shellcheck shell=bash
# TimescaleDB for the stack's PostgreSQL. Sourced by deploy/native/lib.sh.
#
# Where it comes from, first that works: an extension already installed in this PostgreSQL;
# the Debian package timescaledb-2-postgresql-<major> when an apt source offers it (Timescale's
# own repository, where a user has added it); a build of the release source named by
# TIMESCALEDB_SOURCE (a path or a URL), with the project's patches (deploy/native/patches/),
# cached per TimescaleDB version and PostgreSQL minor release. When none works the stack runs
# on plain PostgreSQL, and migrate says what that lacks.

# 2.28.3: the newest release that builds against PostgreSQL 15, Debian 12's (2.29 does not compile)
TIMESCALEDB_VERSION=${TIMESCALEDB_VERSION:-2.28.3}
TIMESCALEDB_SOURCE=${TIMESCALEDB_SOURCE:-https://github.com/timescale/timescaledb/archive/refs/tags/$TIMESCALEDB_VERSION.tar.gz}
TIMESCALEDB_BUILD_PACKAGES=(postgresql-server-dev-15 libssl-dev libkrb5-dev cmake gcc make patch)

pg_config_bin() { echo "$(pg_bin_dir)/pg_config"; }
pg_major() { "$(pg_config_bin)" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/'; }
# the minor release of the installed server binary (15.20), which a cached build is made for
pg_release() { "$(pg_bin_dir)/postgres" --version | sed -E 's/.* ([0-9]+\.[0-9]+).*/\1/'; }

# the version of the timescaledb extension installed in this PostgreSQL, if any
timescaledb_installed_version() {
  local control
  control="$("$(pg_config_bin)" --sharedir)/extension/timescaledb.control"
  [[ -f $control && -f "$("$(pg_config_bin)" --pkglibdir)/timescaledb.so" ]] || return 1
  sed -nE "s/^default_version *= *'([^']+)'.*/\1/p" "$control"
}

ensure_timescaledb() {
  local version package
  if version=$(timescaledb_installed_version); then
    say "TimescaleDB $version installed in PostgreSQL $(pg_release)"
    return 0
  fi
  package="timescaledb-2-postgresql-$(pg_major)"
  if [[ $EUID -eq 0 ]] && apt-cache policy "$package" 2>/dev/null | grep -qE 'Candidate: [0-9]'; then
    ensure_apt_packages "$package"
    version=$(timescaledb_installed_version) || die "the package $package installed no timescaledb extension"
    say "TimescaleDB $version installed from the Debian package $package"
    return 0
  fi
  timescaledb_build_and_install ||
    warn "TimescaleDB is not available: PostgreSQL runs without it (plain tables, no compression, retention or continuous aggregates)." \
      "To get it, set TIMESCALEDB_SOURCE to the TimescaleDB $TIMESCALEDB_VERSION release archive (a .tar.gz path or URL) and run npm run stack:up again," \
      "or add Timescale's apt repository (package $package)."
}

timescaledb_build_and_install() {
  local release key cache
  [[ $EUID -eq 0 ]] || {
    warn "building TimescaleDB installs into PostgreSQL's folders, which needs root"
    return 1
  }
  ensure_apt_packages "${TIMESCALEDB_BUILD_PACKAGES[@]}"
  # postgresql-server-dev upgrades the server package to its own minor release: read it after
  release=$(pg_release)
  key="timescaledb-$TIMESCALEDB_VERSION-pg$release"
  cache=$(cached_build "$key" "TimescaleDB $TIMESCALEDB_VERSION for PostgreSQL $release from $TIMESCALEDB_SOURCE (about 5 min on 2 cores)" \
    "$TIMESCALEDB_SOURCE" timescaledb_build) || return 1
  # the staged files (shared objects, control file, SQL scripts, licences) into PostgreSQL's folders
  cp -a "$cache/root/." /
  say "TimescaleDB $(timescaledb_installed_version) installed in PostgreSQL $release (build cached in $cache)"
}

# timescaledb_build SRC OUT: configure, patch, compile, and stage the install under OUT/root
timescaledb_build() {
  local src=$1 out=$2 p
  cd "$src" || return 1
  grep -q "^version = $TIMESCALEDB_VERSION\$" version.config ||
    { echo "TIMESCALEDB_SOURCE is not TimescaleDB $TIMESCALEDB_VERSION: $(grep '^version' version.config)"; return 1; }
  for p in "$STACK_NATIVE_DIR/patches/timescaledb-$TIMESCALEDB_VERSION"-*.patch; do
    [[ -f $p ]] || continue
    echo "applying $(basename "$p")"
    patch -p1 <"$p" || return 1
  done
  ./bootstrap -DPG_CONFIG="$(pg_config_bin)" -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF \
    -DLINTER=OFF -DSEND_TELEMETRY_DEFAULT=OFF -DCMAKE_BUILD_TYPE=Release || return 1
  make -C build -j"$(nproc)" || return 1
  make -C build install DESTDIR="$out/root" || return 1
  # the Timescale License allows this build for internal use; its text goes along
  mkdir -p "$out/root/usr/share/doc/timescaledb"
  cp LICENSE LICENSE-APACHE tsl/LICENSE-TIMESCALE NOTICE "$out/root/usr/share/doc/timescaledb/" 2>/dev/null || true
}
