#!/usr/bin/env bash
# load.sh: the load test (crates/loadtest, goose): builds the server and the tool, starts the
# server on loopback, runs 1,000 simulated clients for 60 s, prints goose's report and a
# summary, and checks through the server that every push applied exactly once and every
# client's rows equal its scope. Exits non-zero on any error, loss, duplicate or mismatch.
#   scripts/load.sh [sqlite|postgres] [--smoke] [loadtest options, e.g. --clients 200 --port 8830]
# postgres: two server processes over one fresh database in scripts/postgres.sh's cluster
# (OT_TEST_POSTGRES_URL, set by that script when missing).
# --smoke: the debug build, 20 clients for 5 s: short enough for scripts/test.sh. The load test uses no fault, but
# the debug server binary is the tests' one (scripts/test-server.sh, tests/e2e), so it is built as they build it,
# with the test-faults feature; the release build is the one `npm start` runs, without it.
set -euo pipefail
cd "$(dirname "$0")/.."
db=sqlite
if [[ "${1:-}" == sqlite || "${1:-}" == postgres ]]; then db=$1; shift; fi
profile=release
extra=()
if [[ "${1:-}" == --smoke ]]; then
  shift
  profile=debug
  # goose's Random scheduler shuffles the weighted transactions once, and every client walks that one list: with
  # the default think time a client gets through about 4 of its 10 slots in 5 s, so a shuffle that puts the 3 pushes
  # last ran no push at all (seen: "0 mutations applied", FAIL). 100-400 ms walks the list about twice.
  extra=(--clients 20 --run-time 5 --start-rate 20 --wait-ms 100,400)
fi
if [[ $db == postgres && -z "${OT_TEST_POSTGRES_URL:-}" ]]; then
  eval "$(scripts/postgres.sh)"
fi
if [[ $profile == release ]]; then
  cargo build --release -q -p offline-tables-server -p offline-tables-loadtest
else
  cargo build-tested -q
fi
exec "target/$profile/offline-tables-loadtest" --db "$db" "${extra[@]}" "$@"
