#!/usr/bin/env bash
# no-test-faults.sh: checks that the server built with its default features, as `npm start` builds it, has no fault layer:
# it refuses --test-faults and holds none of the /_test/ routes' paths.
#   scripts/no-test-faults.sh            the debug build (cheap: npm test runs this, before the builds with the feature)
#   scripts/no-test-faults.sh --release  the release binary of scripts/start.sh itself (a long build when not there yet)
# The default features decide both, and only the optimisation differs between the two. The check leaves
# target/<profile>/offline-tables-server built without the feature: the test builds after it (cargo test,
# scripts/test-server.sh, load.sh --smoke) build it again with the feature.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
# Debug: the whole workspace, as the test builds select it (.cargo/config.toml says why), so the dependencies built
# here are the ones cargo test and build-tested reuse and only the server crate differs. Release: the server alone,
# as scripts/start.sh builds it.
profile=debug
flags=(--workspace)
if [[ "${1:-}" == --release ]]; then
  profile=release
  flags=(--release -p offline-tables-server)
fi
BIN="${CARGO_TARGET_DIR:-target}/$profile/offline-tables-server"

fail() {
  echo "no-test-faults.sh: $*" >&2
  exit 1
}

# Warnings fail too: code that only the feature uses would otherwise go unnoticed where nothing else builds without it.
build_log=$(cargo build "${flags[@]}" --message-format short 2>&1) || {
  echo "$build_log" >&2
  fail "the build without the test-faults feature failed"
}
if grep -q '^warning' <<<"$build_log"; then
  echo "$build_log" >&2
  fail "the build without the test-faults feature has warnings"
fi

# clap refuses the flag before anything else runs (exit 2), so no profile or database is needed.
set +e
out=$("$BIN" --test-faults 2>&1)
code=$?
set -e
if [[ $code -ne 2 ]] || ! grep -q "unexpected argument '--test-faults'" <<<"$out"; then
  echo "$out" >&2
  fail "$BIN accepted --test-faults or failed otherwise (exit $code)"
fi

# The routes' paths are string literals of faults.rs: a binary that holds one holds the fault layer.
if grep -q -a '/_test/' "$BIN"; then
  fail "$BIN holds '/_test/' strings: the fault layer is compiled in"
fi
echo "ok: $BIN (default features) refuses --test-faults and has no /_test/ route"
