#!/usr/bin/env bash
# postgres.sh: idempotent local PostgreSQL for the server tests: installs Debian's package if
# missing, starts the cluster, creates role `ot` (password `ot`, may create databases) and
# database `ot`, then prints `export OT_TEST_POSTGRES_URL=...` (or writes it to the file given
# as $1, for scripts/test.sh to source). Progress goes to stderr.
set -euo pipefail
# runuser and pg_ctlcluster live in sbin, which a non-root user's PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"

ROLE=ot
PASSWORD=ot
DATABASE=ot

say() { printf '%s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { as_root runuser -u postgres -- "$@"; }
psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" "$@"; }

# 1. The package (server, client and the pg_ctlcluster wrappers).
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
  say "ok: postgresql $(ls /etc/postgresql | sort -V | tail -n 1) present"
else
  say "install: postgresql (apt-get)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
VERSION="$(ls /etc/postgresql | sort -V | tail -n 1)"
if [ ! -d "/etc/postgresql/$VERSION/main" ]; then
  say "create: cluster $VERSION/main"
  as_root pg_createcluster "$VERSION" main >&2
fi
PORT="$(awk -v v="$VERSION" '$1 == v && $2 == "main" { print $3 }' < <(pg_lsclusters --no-header))"
PORT="${PORT:-5432}"

# 2. The cluster (a session's processes end before CI runs, so start it every time).
if pg_lsclusters --no-header | awk -v v="$VERSION" '$1 == v && $2 == "main" { print $4 }' | grep -qx online; then
  say "ok: cluster $VERSION/main online on port $PORT"
else
  say "start: cluster $VERSION/main"
  as_root pg_ctlcluster --skip-systemctl-redirect "$VERSION" main start >&2
fi
for _ in $(seq 1 50); do
  if as_postgres pg_isready -q -p "$PORT"; then break; fi
  sleep 0.2
done
as_postgres pg_isready -q -p "$PORT" || { say "error: PostgreSQL did not become ready on port $PORT"; exit 1; }

# 3. The test role and database (the tests create and drop their own databases).
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" = "1" ]; then
  say "ok: role $ROLE present"
else
  say "create: role $ROLE"
  psql_admin -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'"
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" = "1" ]; then
  say "ok: database $DATABASE present"
else
  say "create: database $DATABASE"
  psql_admin -c "CREATE DATABASE $DATABASE OWNER $ROLE"
fi

LINE="export OT_TEST_POSTGRES_URL=postgres://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DATABASE"
if [ "$#" -ge 1 ]; then
  mkdir -p "$(dirname "$1")"
  printf '%s\n' "$LINE" > "$1"
  say "ok: wrote $1"
else
  printf '%s\n' "$LINE"
fi
