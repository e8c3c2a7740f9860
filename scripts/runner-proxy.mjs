#!/usr/bin/env node
// runner-proxy.mjs: the HTTP proxy between scripts/browser-tests.sh's headless Chromium and the test runner's file
// server, opening a new upstream connection for every request.
//
// Why: the runner's server (wasm-bindgen-test-runner 0.2.130: rouille 3.6 on tiny_http 0.12) now and then never
// answers a request that arrives on a connection it has already answered one on, so the test page never finishes
// loading (seen in Chromium's net log; 3 of 6 starts under load here). Chromium keeps connections alive and cannot be
// told not to; through this proxy the runner only ever sees one request per connection (`Connection: close`), while
// Chromium talks keep-alive to Node's HTTP server. Chromium sends only the runner's origin here (a PAC script that
// browser-tests.sh writes); every other request, the reference server's included, goes direct.
//
// Usage: node scripts/runner-proxy.mjs <upstream host:port>   prints the port it listens on (127.0.0.1), then serves
// until it is stopped, logging each request's method and path to stderr.
import http from "node:http";

const [upstream] = process.argv.slice(2);
const m = /^([\d.]+):(\d+)$/.exec(upstream ?? "");
if (!m) {
  console.error("usage: node scripts/runner-proxy.mjs <upstream ip:port>");
  process.exit(2);
}

const server = http.createServer((req, res) => {
  // A proxy request names the whole URL: forward it to its own origin (the runner's, or a test's closed port).
  const target = new URL(req.url, `http://${upstream}`);
  console.error(`${req.method} ${target.host}${target.pathname}`);
  const headers = { ...req.headers, host: target.host, connection: "close" };
  delete headers["proxy-connection"];
  const options = { host: target.hostname, port: target.port || 80, method: req.method, path: target.pathname + target.search, headers, agent: false };
  const up = http.request(options, (answer) => {
    const out = { ...answer.headers };
    delete out.connection;
    res.writeHead(answer.statusCode, out);
    answer.pipe(res);
    answer.on("aborted", () => res.destroy());
  });
  // An upstream failure reaches the page as one (a dropped connection), not as an answer nobody gave.
  up.on("error", () => res.destroy());
  res.on("close", () => up.destroy());
  req.pipe(up);
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
