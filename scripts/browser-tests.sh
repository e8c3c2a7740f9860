#!/usr/bin/env bash
# browser-tests.sh: runs the wasm browser tests (tests/browser, one test binary whose modules mirror src/) in one
# headless Chromium through `wasm-pack test`. Arguments are test-name filters, for iterating on part of the suite:
# `scripts/browser-tests.sh driver::sync::faults` or `scripts/browser-tests.sh first_download`.
#
# Start-up: the test runner's file server (wasm-bindgen-test-runner 0.2.130: rouille 3.6 on tiny_http 0.12) now and
# then never answers a request that arrives on a connection it already answered one on (Chromium's net log: a module
# request of the page, sent on a kept-alive connection, unanswered), so the page never loads and the tests never
# start: 3 of 6 starts under load on this 2-core machine. Chromium reaches the runner through scripts/runner-proxy.mjs,
# which gives every request a connection of its own (0 of 8 hung under the same load). Should a start still not print
# "running N tests" within 60 s, it is stopped and started again (five tries) and the script says how many starts it
# took; chromedriver's log and the runner's output of a stopped start are kept beside the run's log. Once tests run, a
# failure fails the step, and so does a run whose output stops growing for 180 s (a hung test).
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
proxy_pid=""
cleanup() {
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && stop "$pid"
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null
  sweep
}
trap cleanup EXIT

# The runner's file server is reached through scripts/runner-proxy.mjs (its header says why): the runner listens on a
# port chosen here, the proxy forwards to it, and a run-specific copy of the WebDriver capabilities points Chromium's
# PAC script at the proxy for the runner's origin only.
free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }
RUNNER="127.0.0.1:$(free_port)"
export WASM_BINDGEN_TEST_ADDRESS="$RUNNER"
node scripts/runner-proxy.mjs "$RUNNER" >"$LOGS/proxy.port" 2>"$LOGS/proxy.log" &
proxy_pid=$!
for _ in $(seq 1 50); do [ -s "$LOGS/proxy.port" ] && break; sleep 0.1; done
[ -s "$LOGS/proxy.port" ] || { cat "$LOGS/proxy.log" >&2; echo "FAILED: the runner proxy did not start" >&2; exit 1; }
PROXY="127.0.0.1:$(cat "$LOGS/proxy.port")"
CAPS="$LOGS/webdriver.json"
node -e '
  const [src, out, proxy, server] = process.argv.slice(1);
  const caps = JSON.parse(require("fs").readFileSync(src, "utf8"));
  caps["goog:chromeOptions"].args.push(
    "--proxy-server=http://" + proxy,
    // Chromium sends loopback requests direct whatever the proxy settings say, unless told otherwise (<-loopback>);
    // the reference server is reached direct, as an app reaches its server.
    "--proxy-bypass-list=<-loopback>;" + server);
  require("fs").writeFileSync(out, JSON.stringify(caps, null, 2));
' "$WASM_BINDGEN_TEST_WEBDRIVER_JSON" "$CAPS" "$PROXY" "${OT_TEST_SERVER#http://}"
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$CAPS"

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
