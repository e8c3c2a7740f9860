#!/usr/bin/env bash
# browser-tests.sh: runs the wasm browser tests (tests/browser, one test binary whose modules mirror src/) in one
# headless Chromium through `wasm-pack test`. Arguments are test-name filters, for iterating on part of the suite:
# `scripts/browser-tests.sh driver::sync::faults` or `scripts/browser-tests.sh first_download`.
#
# Start-up: now and then the page never finishes loading, so the tests never start. Chrome's net log (--log-net-log)
# of such a start shows why: one of the page's module requests (a wasm-bindgen snippet, snippets/*/inline4.js) is
# sent on a kept-alive connection and the test runner's file server (wasm-bindgen-test-runner 0.2.130: rouille 3.6
# on tiny_http 0.12) never answers it; chromedriver waits on the navigation. 2 of 6 starts did that on a loaded
# 2-core machine. With one test binary this costs one start a run, not one a test file: a run that has not printed
# "running N tests" within 60 s is stopped and started again (five tries), and the script says how many starts it
# took. chromedriver's log and the runner's output of a stopped start are kept beside the run's log. Once tests
# run, a failure fails the step, and so does a run whose output stops growing for 180 s (a hung test).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="${WASM_BINDGEN_TEST_WEBDRIVER_JSON:-$ROOT/webdriver.json}"
# The runner's limit for the whole binary (its default, 20 s, was made for one small file of tests).
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-1200}"
LOGS="$ROOT/target/browser-tests"
mkdir -p "$LOGS"
log="$LOGS/browser.log"
# Compile first, so the time limits below cover running, not building.
cargo build --tests --target wasm32-unknown-unknown -q >/dev/null 2>"$LOGS/build.log" || { cat "$LOGS/build.log" >&2; exit 1; }

# The run gets its own temporary directory, removed after it: Chrome under chromedriver leaves its profile
# (org.chromium.Chromium.scoped_dir.*) and a stopped runner leaves its copy of the test .wasm (.tmp*, ~60 MB) behind;
# all of them follow TMPDIR. A stopped run's Chrome can still be writing there for a moment: the removal is retried.
# Processes are only ever stopped through the process group this script started (stop below), never by name: on a
# developer's machine a name matches other people's browsers too.
RUN_TMP="$LOGS/tmp"
sweep() {
  local _
  for _ in 1 2 3 4 5; do
    rm -rf -- "$RUN_TMP" 2>/dev/null && return 0
    sleep 1
  done
  echo "warn: could not remove $RUN_TMP" >&2
}
pid=""
stop() { # the run's process group: wasm-pack, its test runner, chromedriver and the Chrome it started
  kill -- "-$1" 2>/dev/null || true
  sleep 1
  kill -9 -- "-$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && stop "$pid"
  sweep
}
trap cleanup EXIT

filters=("$@")
for attempt in 1 2 3 4 5; do
  sweep
  mkdir -p "$RUN_TMP"
  set -m
  # chromedriver's own log of each start, for when one does not start.
  TMPDIR="$RUN_TMP" CHROMEDRIVER_ARGS="--log-path=$LOGS/chromedriver-$attempt.log" wasm-pack test --headless --chrome -- --test browser ${filters[@]:+-- "${filters[@]}"} >"$log" 2>&1 &
  pid=$!
  set +m
  started=""
  for _ in $(seq 1 60); do
    if grep -q "^running [0-9]* test" "$log"; then started=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  if [ -z "$started" ] && kill -0 "$pid" 2>/dev/null; then
    stop "$pid"
    cp "$log" "$LOGS/browser.start-$attempt.log"
    echo "retry: the browser did not start the tests within 60 s (start $attempt; log: $LOGS/browser.start-$attempt.log)"
    continue
  fi
  rc=0
  if [ -n "$started" ]; then
    size=-1 still=0
    while kill -0 "$pid" 2>/dev/null; do
      now=$(stat -c %s "$log")
      if [ "$now" = "$size" ]; then still=$((still + 1)); else still=0 size=$now; fi
      if [ "$still" -ge 180 ]; then
        echo "FAILED: no test finished for 180 s; the last lines:" >&2
        tail -n 5 "$log" >&2
        stop "$pid"
        rc=124
        break
      fi
      sleep 1
    done
  fi
  [ "$rc" -eq 0 ] && { wait "$pid" || rc=$?; }
  pid=""
  if [ "$rc" -eq 0 ]; then
    echo "ok: browser tests ($(grep -o 'test result: .*' "$log" | head -n 1); Chrome started $attempt time(s))"
    exit 0
  fi
  cat "$log" >&2
  echo "FAILED: browser tests (exit $rc; log: $log)" >&2
  exit 1
done
cat "$log" >&2
echo "FAILED: the browser never started the tests in 5 tries" >&2
exit 1
