#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the PostgreSQL store's tests and for developers
# (docs/CLUSTER.md): a fresh data directory in a temporary directory, a free port on
# 127.0.0.1 only, password (SCRAM) authentication for the role `netsec`, run as the
# `postgres` OS user when started by root (PostgreSQL refuses to run as root).
#
#   tools/pg/cluster.sh install      install Debian's postgresql if no initdb is found (root)
#   tools/pg/cluster.sh start        start one; prints `export NAME=VALUE` lines for eval:
#                                    NETSEC_TEST_PG_URL (no password in it),
#                                    NETSEC_TEST_PG_PASSWORD_FILE, NETSEC_TEST_PG_DIR
#   tools/pg/cluster.sh stop DIR     stop the cluster in DIR and remove DIR
#   tools/pg/cluster.sh run          start one, print how to use it, stop it on Ctrl-C
#                                    (`deno task pg`)
# Progress and errors go to stderr; exit status non-zero on failure.
set -euo pipefail

say() { printf 'pg: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The newest PostgreSQL server binaries under /usr/lib/postgresql/<ver>/bin, or nothing.
find_bindir() {
  local dir best="" best_ver=0 ver
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] || continue
    ver=$(basename "$(dirname "$dir")")
    ver=${ver%%.*}
    if [[ "$ver" =~ ^[0-9]+$ ]] && [ "$ver" -gt "$best_ver" ]; then
      best_ver=$ver
      best=$dir
    fi
  done
  printf '%s' "$best"
}

cmd_install() {
  if [ -n "$(find_bindir)" ]; then
    say "PostgreSQL server binaries found in $(find_bindir)"
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin; install Debian's postgresql package (as root: apt-get install -y postgresql)"
  command -v apt-get >/dev/null 2>&1 || die "no PostgreSQL server binaries and no apt-get to install them"
  say "installing Debian's postgresql package"
  # No cluster of the package's own: the tests start throwaway ones, nothing is left running.
  mkdir -p /etc/postgresql-common
  if ! grep -qs '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf; then
    printf 'create_main_cluster = false\n' >>/etc/postgresql-common/createcluster.conf
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2 ||
    die "apt-get install postgresql failed"
  [ -n "$(find_bindir)" ] || die "postgresql installed but no initdb under /usr/lib/postgresql/*/bin"
}

# Runs a command as the cluster's owner: `postgres` when we are root, ourselves otherwise.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it).
free_port() {
  deno eval --quiet 'const l = Deno.listen({ hostname: "127.0.0.1", port: 0 }); console.log((l.addr as Deno.NetAddr).port); l.close();'
}

cmd_start() {
  local bindir dir port password attempt log
  bindir=$(find_bindir)
  [ -n "$bindir" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (run: tools/pg/cluster.sh install)"
  dir=$(mktemp -d "${TMPDIR:-/tmp}/netsec-pg.XXXXXX")
  chmod 0755 "$dir"
  password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
  printf '%s\n' "$password" >"$dir/password"
  chmod 0600 "$dir/password"
  mkdir "$dir/data" "$dir/socket"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "there is no postgres OS user to run the cluster as"
    chown postgres: "$dir/data" "$dir/socket"
    # initdb reads the password file as postgres: hand it a copy it may read.
    cp "$dir/password" "$dir/data.pw"
    chown postgres: "$dir/data.pw"
  else
    cp "$dir/password" "$dir/data.pw"
  fi
  log="$dir/initdb.log"
  if ! as_owner "$bindir/initdb" -D "$dir/data" -U netsec --pwfile="$dir/data.pw" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$log" 2>&1; then
    rm -f "$dir/data.pw"
    cat "$log" >&2
    rm -rf "$dir"
    die "initdb failed"
  fi
  rm -f "$dir/data.pw"
  # Loopback only: TCP on 127.0.0.1 with a password, the socket in our own directory.
  cat >"$dir/data/pg_hba.conf" <<HBA
local all all trust
host all all 127.0.0.1/32 scram-sha-256
HBA
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/socket -c fsync=on" start >/dev/null 2>&1; then
      say "PostgreSQL $(basename "$(dirname "$bindir")") listening on 127.0.0.1:$port (data in $dir)"
      printf 'export NETSEC_TEST_PG_URL=%q\n' "postgres://netsec@127.0.0.1:$port/postgres"
      printf 'export NETSEC_TEST_PG_PASSWORD_FILE=%q\n' "$dir/password"
      printf 'export NETSEC_TEST_PG_DIR=%q\n' "$dir"
      return 0
    fi
    say "start on port $port failed (attempt $attempt)"
  done
  tail -n 20 "$dir/data/server.log" >&2 || true
  rm -rf "$dir"
  die "PostgreSQL did not start"
}

cmd_stop() {
  local dir=${1:-} bindir
  [ -n "$dir" ] || die "usage: tools/pg/cluster.sh stop DIR"
  case "$dir" in
  */netsec-pg.*) ;;
  *) die "$dir is not a directory made by tools/pg/cluster.sh start" ;;
  esac
  [ -d "$dir" ] || return 0
  bindir=$(find_bindir)
  if [ -n "$bindir" ] && [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
      say "pg_ctl stop failed for $dir"
  fi
  rm -rf "$dir"
  say "stopped and removed $dir"
}

cmd_run() {
  local exports
  exports=$(cmd_start)
  eval "$exports"
  trap 'cmd_stop "$NETSEC_TEST_PG_DIR"' EXIT
  trap 'exit 0' INT TERM
  # A watchdog in its own session stops the cluster should this script be killed outright
  # (deno task may SIGKILL its child on Ctrl-C, and then no trap runs).
  setsid bash "$0" watch "$$" "$NETSEC_TEST_PG_DIR" </dev/null >/dev/null 2>&1 &
  cat <<INFO
A throwaway PostgreSQL cluster is running until you press Ctrl-C (then it is removed).

  store URL:      $NETSEC_TEST_PG_URL
  password file:  $NETSEC_TEST_PG_PASSWORD_FILE

Run the server on it:
  deno task server --store $NETSEC_TEST_PG_URL --store-password-file $NETSEC_TEST_PG_PASSWORD_FILE

Run the tests against it (in another shell):
$exports
  deno task test
INFO
  while :; do sleep 3600 & wait $!; done
}

# Waits until process PID is gone, then stops the cluster in DIR (see cmd_run).
cmd_watch() {
  local pid=${1:-} dir=${2:-}
  [ -n "$pid" ] && [ -n "$dir" ] || die "usage: tools/pg/cluster.sh watch PID DIR"
  while kill -0 "$pid" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
  cmd_stop "$dir"
}

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop "${2:-}" ;;
run) cmd_run ;;
watch) cmd_watch "${2:-}" "${3:-}" ;;
*)
  say "usage: tools/pg/cluster.sh install|start|stop DIR|run"
  exit 2
  ;;
esac
