#!/usr/bin/env bash
# browser-tests.sh: runs the wasm browser tests (tests/*.rs) one file at a time in headless Chromium. On these machines
# chromedriver now and then never loads the test page: the page's scripts load but the test .wasm never arrives (seen
# with the DevTools protocol: "Loading scripts...", no wasm among the loaded resources; wasm-pack#783 reports the same),
# and the runner waits forever before the first test. A run that has not started its tests ("running N tests") within
# 30 s is stopped and started again (ten tries; a good start takes under 10 s even for the 35 MB debug builds); once
# tests run, a failure or a hang (4 minutes) fails the whole step.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="${WASM_BINDGEN_TEST_WEBDRIVER_JSON:-$ROOT/webdriver.json}"
LOGS="$ROOT/target/browser-tests"
mkdir -p "$LOGS"
# Compile every test file first, so the time limits below cover running, not building.
cargo build --tests --target wasm32-unknown-unknown -q >/dev/null 2>"$LOGS/build.log" || { cat "$LOGS/build.log" >&2; exit 1; }

# Each run gets its own temporary directory, removed after it: Chrome under chromedriver leaves its profile
# (org.chromium.Chromium.scoped_dir.*, ~26 MB a test file) and other empty directories behind, and a runner stopped
# by the retry below leaves its copy of the test .wasm (.tmp*, ~24 MB). In /tmp that was half a GB a run, tens of GB
# on a machine that runs the suite for weeks. All of them follow TMPDIR.
# A run the retry stops can leave its Chrome exiting for a moment, writing into that directory: the removal is
# retried. Cleaning up never fails the run. Processes are only ever stopped through the process group this script
# started (stop below), never by name: on a developer's machine a name matches other people's browsers too.
RUN_TMP="$LOGS/tmp"
sweep() {
  local _
  for _ in 1 2 3 4 5; do
    rm -rf -- "$RUN_TMP" 2>/dev/null && return 0
    sleep 1
  done
  echo "warn: could not remove $RUN_TMP" >&2
}
trap sweep EXIT

stop() { # the run's process group: wasm-pack, its test runner, chromedriver and the Chrome it started
  kill -- "-$1" 2>/dev/null || true
  sleep 1
  kill -9 -- "-$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# With arguments, only those test files run (`scripts/browser-tests.sh sync pull_apply`), for iterating on one.
files=(tests/*.rs)
[ "$#" -gt 0 ] && files=("${@/#/tests/}") && files=("${files[@]/%/.rs}")
for file in "${files[@]}"; do
  [ -f "$file" ] || { echo "FAILED: no test file $file" >&2; exit 1; }
  name="$(basename "$file" .rs)"
  log="$LOGS/$name.log"
  for attempt in $(seq 1 10); do
    sweep
    mkdir -p "$RUN_TMP"
    set -m
    TMPDIR="$RUN_TMP" wasm-pack test --headless --chrome -- --test "$name" >"$log" 2>&1 &
    pid=$!
    set +m
    started=""
    for _ in $(seq 1 30); do
      if grep -q "^running [0-9]* test" "$log"; then started=1; break; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    if [ -z "$started" ] && kill -0 "$pid" 2>/dev/null; then
      stop "$pid"
      echo "retry: $name: the browser did not start the tests within 30 s (attempt $attempt)"
      continue
    fi
    rc=0
    if [ -n "$started" ]; then
      for _ in $(seq 1 240); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      if kill -0 "$pid" 2>/dev/null; then stop "$pid"; rc=124; fi
    fi
    [ "$rc" -eq 0 ] && { wait "$pid" || rc=$?; }
    sweep
    if [ "$rc" -eq 0 ]; then
      echo "ok: $name ($(grep -o 'test result: .*' "$log" | head -n 1))"
      continue 2
    fi
    cat "$log" >&2
    echo "FAILED: $name (exit $rc; log: $log)" >&2
    exit 1
  done
  cat "$log" >&2
  echo "FAILED: $name: the browser never started the tests in 10 tries" >&2
  exit 1
done
