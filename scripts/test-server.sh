#!/usr/bin/env bash
# test-server.sh: starts the reference server for the browser tests in the background (fresh SQLite file, the
# tests/fixtures profile, seed and tokens, any CORS origin, and --test-faults so tests can break requests on purpose
# through /_test/faults, see crates/server/src/faults.rs: so it builds the debug binary with the test-faults feature);
# writes `export OT_TEST_SERVER=...` and its pid to the file given.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
OUT="${1:?usage: test-server.sh ENV_FILE}"
PORT="${OT_TEST_SERVER_PORT:-8788}"
DIR="$ROOT/target/test-server"

if [ -f "$DIR/pid" ] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then
  kill "$(cat "$DIR/pid")" || true
  sleep 0.5
fi
rm -rf "$DIR"
mkdir -p "$DIR"
cargo build-tested -q
target/debug/offline-tables-server \
  --profile tests/fixtures/profile.json --seed tests/fixtures/seed.json --tokens tests/fixtures/tokens.json \
  --db "sqlite:$DIR/db.sqlite" --listen "127.0.0.1:$PORT" --cors-origin '*' --test-faults \
  >"$DIR/log" 2>&1 &
echo $! >"$DIR/pid"
for _ in $(seq 1 100); do
  if curl -sf -H 'Authorization: Bearer dev-token-alice' "http://127.0.0.1:$PORT/sync/profile" >/dev/null; then
    echo "export OT_TEST_SERVER=http://127.0.0.1:$PORT" >"$OUT"
    echo "export OT_TEST_SERVER_PID=$(cat "$DIR/pid")" >>"$OUT"
    echo "ok: reference server for browser tests on http://127.0.0.1:$PORT (log: $DIR/log)"
    exit 0
  fi
  sleep 0.2
done
echo "test-server.sh: the server did not start; its log:" >&2
cat "$DIR/log" >&2
exit 1
