#!/usr/bin/env bash
# test.sh: the project's full check (npm test): setup, fmt, clippy (native + wasm32), PostgreSQL, the release build's lack of the fault layer, cargo test, browser tests, package build and npm pack, demo build, TypeScript check, end-to-end tests (the packed package and the README's examples included).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
# wasm-bindgen-test-runner reads Chromium's capabilities (flags for headless, root, no network) from here.
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$ROOT/webdriver.json"

step() {
  echo
  echo "==> $*"
  local t0=$SECONDS
  "$@"
  echo "<== ok ($((SECONDS - t0))s): $*"
}

step scripts/setup.sh
step cargo fmt --all --check
# The committed XHR interceptor bundle is the bundle of src/api/xhr.js and the pinned @mswjs/interceptors.
step node scripts/bundle-js.mjs --check
# The server's fault layer (crates/server/src/faults.rs) and its tests exist only with its test-faults feature: every
# cargo step below that builds or lints the server's tests has it. The release binary (npm start) does not, and
# no-test-faults.sh checks that a build with the default features refuses --test-faults and holds no /_test/ route.
step cargo clippy --workspace --all-targets --features offline-tables-server/test-faults -- -D warnings
step cargo clippy --target wasm32-unknown-unknown -p offline-tables --all-targets -- -D warnings
# The server tests also run against PostgreSQL: start it and export its URL.
step scripts/postgres.sh target/postgres.env
# shellcheck source=/dev/null
source target/postgres.env
step scripts/no-test-faults.sh
step cargo test --workspace --features offline-tables-server/test-faults
# The load tool's smoke run (crates/loadtest: 20 clients, 5 s, debug build): every push applied exactly once and each
# client's rows equal to its scope, on SQLite and on two server processes over one PostgreSQL database.
step scripts/load.sh sqlite --smoke --port 8795
step scripts/load.sh postgres --smoke --port 8795
# The JavaScript modules the wasm imports (src/storage/rows.js), tested on their own.
step node --test tests/js/
step scripts/test-server.sh target/test-server.env
source target/test-server.env
trap 'kill "$OT_TEST_SERVER_PID" 2>/dev/null || true' EXIT
step scripts/browser-tests.sh
step scripts/build.sh all
# The published package (target/npm/*.tgz), which tests/e2e/package.test.mjs installs into a scratch project.
step node scripts/pack.mjs
# The size budget (scripts/size.mjs: wasm and glue, gzipped): over it fails the run.
step node scripts/size.mjs --check
# The demo's e2e test (tests/e2e/demo.test.mjs) serves the built demo: www/ -> www/dist.
step node_modules/.bin/webpack --config webpack.config.js --mode production
step node_modules/.bin/tsc --noEmit -p tests/ts
step node --test tests/e2e/

echo
echo "all checks passed"
