#!/usr/bin/env bash
# A throw-away PostgreSQL server on loopback for the tests that need a real one (the verifier's shared
# nonce/state store; the issuer's workflow, service and console stores, two service instances on one database).
# Installs Debian's `postgresql` with apt-get when its binaries are missing, creates a cluster in <dir> owned by a
# non-root account (initdb refuses root), starts it on 127.0.0.1 on a free port with
# trust authentication (loopback only) and prints one line to eval:
#
#   eval "$(scripts/ci/postgres.sh start .tmp/pg)"   # exports MCID_TEST_PG_URL=postgres://postgres@127.0.0.1:<port>/postgres
#   ...tests...
#   scripts/ci/postgres.sh stop .tmp/pg
#
# Progress goes to stderr; stdout carries only the export line.
set -euo pipefail

usage() { echo "usage: $0 start|stop <data-dir>" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$2

find_bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$found" ] && [ -x "$found/initdb" ] && [ -x "$found/pg_ctl" ] && echo "$found"
}

run_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$owner" -- "$@"; else "$@"; fi
}

case "$action" in
  start)
    bin=$(find_bin || true)
    if [ -z "$bin" ]; then
      if [ "$(id -u)" -ne 0 ]; then echo "PostgreSQL is not installed and this is not root: apt-get install postgresql first." >&2; exit 1; fi
      echo "Installing Debian's postgresql (apt-get)…" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      apt-get install -y -qq --no-install-recommends postgresql >&2
      bin=$(find_bin)
    fi
    if [ "$(id -u)" -eq 0 ]; then
      owner=postgres
      id "$owner" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$owner"
    else
      owner=$(id -un)
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -f "$dir/postmaster.pid" ]; then "$0" stop "$dir" >&2 || true; fi
    rm -rf "$dir/data"
    mkdir -p "$dir/data"
    [ "$(id -u)" -eq 0 ] && chown -R "$owner" "$dir"
    # The data dir's parents must be traversable by the owner.
    [ "$(id -u)" -eq 0 ] && chmod o+x "$dir" "$(dirname "$dir")" 2>/dev/null || true
    run_as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-instructions >/dev/null
    port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close()})')
    run_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir/data -c fsync=off -c max_connections=50" start >&2
    echo "$port" > "$dir/port"
    echo "export MCID_TEST_PG_URL=postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    bin=$(find_bin || true)
    [ -n "$bin" ] && [ -d "$dir/data" ] || exit 0
    if [ "$(id -u)" -eq 0 ]; then owner=$(stat -c %U "$dir/data"); else owner=$(id -un); fi
    run_as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    ;;
  *) usage ;;
esac
