#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers for the backend suite, then prints the admin URL the
# tests use (TESSERA_PG_URL). `.ci/run` runs it and exports the URL with TESSERA_REQUIRE_PG=1.
#
#   scripts/postgres.sh          ensure a server; print its URL on stdout
#
# Order: TESSERA_PG_URL if already set and answering; else 127.0.0.1:5432 (this project's
# machines run one, trust auth, database `test`); else install Debian's `postgresql` when its
# binaries are missing and start a private cluster under target/pg (port 55432, trust auth on
# loopback), which later runs reuse.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

answers() { # URL
  if command -v psql >/dev/null 2>&1; then
    psql "$1" -Atqc 'SELECT 1' >/dev/null 2>&1
  else
    return 1
  fi
}

if [ -n "${TESSERA_PG_URL:-}" ] && answers "$TESSERA_PG_URL"; then
  echo "$TESSERA_PG_URL"; exit 0
fi
default="postgres://postgres@127.0.0.1:5432/test"
if answers "$default"; then echo "$default"; exit 0; fi
# The server may run with only the postgres database.
if answers "postgres://postgres@127.0.0.1:5432/postgres"; then
  psql "postgres://postgres@127.0.0.1:5432/postgres" -Atqc 'CREATE DATABASE test' >/dev/null 2>&1 || true
  if answers "$default"; then echo "$default"; exit 0; fi
fi

bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "scripts/postgres.sh: installing Debian's postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq postgresql) >&2
  bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
fi

data="$root/target/pg/data"; port=55432
url="postgres://postgres@127.0.0.1:$port/test"
as_pg=()
# initdb and postgres refuse to run as root.
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); fi
mkdir -p "$root/target/pg"
if [ "$(id -u)" = 0 ]; then chown postgres "$root/target/pg"; fi
if [ ! -f "$data/PG_VERSION" ]; then
  "${as_pg[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust >/dev/null
fi
if ! "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$root/target/pg/server.log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" start >&2
fi
psql "postgres://postgres@127.0.0.1:$port/postgres" -Atqc 'CREATE DATABASE test' >/dev/null 2>&1 || true
if answers "$url"; then echo "$url"; exit 0; fi
echo "scripts/postgres.sh: no PostgreSQL answers (see $root/target/pg/server.log)" >&2
exit 1
