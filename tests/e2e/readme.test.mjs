// readme.test.mjs: every ```js example of README.md runs, in order, in one headless-Chromium page against the reference
// server, so the docs cannot rot. (The ```html example runs from the packed tarball in package.test.mjs.)
//
// Which blocks: every fenced block whose info string's first word is `js` (```js), no marker needed and none
// skipped; other languages (```sh, ```html, ```json) are not run here. The README has at least EXPECTED_BLOCKS of them (the local-only
// store, the store with a server, queries, live queries, transactions, server-assigned keys, fetch interception), and the facts checked after the run name each one, so
// an example that is dropped, or no longer does what its text says, fails the test as surely as one that throws.
// The docs/ files hold no runnable examples: a ```js block there fails the test, since nothing would run it.
//
// How a block runs: as the body of an async function in the page, after these rewrites, and nothing else:
// - `import axios from "axios"` loads the real axios (node_modules, its ESM build);
// - `import { A, B } from "offline-tables"` takes A and B from the module the page loaded (pkg-web/, the same wasm as
//   the bundler build);
// - the README talks to `npm start`'s demo server as alice; here the URL is the test server's (OT_TEST_SERVER) and the
//   user is `sam` (`dev-token-alice` -> `dev-token-sam`, "alice" -> "sam"), whose rows no other test touches;
// - names a block declares at its top level (`const x`, `let x`, `const { a, b }`) stay visible to later blocks, as in
//   a REPL: later blocks read them through one shared scope;
// - in a block that calls `self.addEventListener("fetch", …)` (the Service Worker example), `self` is a stand-in that
//   records the listener; the test then sends it a fetch event and checks the answer came from the store.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startHarness, restAs } from "./harness.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SERVER = process.env.OT_TEST_SERVER;
const DEMO_URL = "http://localhost:8080";
const EXPECTED_BLOCKS = 7;

/** The README's ```js blocks, in order, with the line each starts at. */
export function jsBlocks(markdown) {
  const blocks = [];
  // The info string's first word is exactly `js` (```js, ```js title): not ```json, ```jsx.
  const re = /^```js(?:[ \t][^\n]*)?\n([\s\S]*?)^```$/gm;
  for (let m; (m = re.exec(markdown));) {
    blocks.push({ code: m[1], line: markdown.slice(0, m.index).split("\n").length + 1 });
  }
  return blocks;
}

/** Names declared at a block's top level (no indentation). */
export function topLevelNames(code) {
  const names = new Set();
  for (const line of code.split("\n")) {
    let m = /^(?:const|let|var)\s+([A-Za-z_$][\w$]*)/.exec(line);
    if (m) names.add(m[1]);
    m = /^(?:const|let|var)\s+\{([^}]*)\}/.exec(line);
    if (m) for (const part of m[1].split(",")) {
      const name = part.split(":").pop().split("=")[0].trim();
      if (name) names.add(name);
    }
    m = /^(?:async\s+)?function\s+([A-Za-z_$][\w$]*)/.exec(line);
    if (m) names.add(m[1]);
  }
  return [...names];
}

/** The block as the body of an async function of (__scope, __ot) returning the scope with its own names added. */
export function rewrite(code, scopeNames) {
  let body = code
    .replace(/^import\s+\{([^}]*)\}\s+from\s+"offline-tables";?$/gm, (_, names) => `const {${names}} = __ot;`)
    .replace(/^import\s+axios\s+from\s+"axios";?$/gm, 'const axios = (await import("/node_modules/axios/dist/esm/axios.js")).default;')
    .replaceAll(DEMO_URL, SERVER)
    .replaceAll("dev-token-alice", "dev-token-sam")
    .replaceAll('"alice"', '"sam"');
  assert.doesNotMatch(body, /^import\b/m, "an import the README test does not know how to run");
  const own = topLevelNames(body);
  const inherited = scopeNames.filter((n) => !own.includes(n));
  const usesSw = body.includes('self.addEventListener("fetch"');
  const prelude = [
    inherited.length ? `let { ${inherited.join(", ")} } = __scope;` : "",
    usesSw ? "const self = __scope.__fakeServiceWorker;" : "",
  ].join("\n");
  const all = [...new Set([...scopeNames, ...own])];
  return { body: `${prelude}\n${body}\nreturn { ...__scope, ${all.join(", ")} };`, names: all };
}

let h, page;
const errors = [];
before(async () => {
  assert.ok(SERVER, "OT_TEST_SERVER is not set: run through npm test, which starts the reference server");
  h = await startHarness();
  page = await h.page();
  page.on("pageerror", (e) => errors.push(e.message));
  await page.evaluate(() => {
    const listeners = [];
    window.__scope = {
      __fakeServiceWorker: { listeners, addEventListener: (type, fn) => listeners.push({ type, fn }) },
    };
  });
});
after(async () => {
  await page?.evaluate(async () => {
    window.__scope?.store?.close();
    window.__scope?.local?.close();
    await window.ot.OfflineStore.deleteDatabase("field-service");
    await window.ot.OfflineStore.deleteDatabase("todo");
  }).catch(() => {});
  await h?.close();
});

test("docs/ holds no ```js example that nothing runs", () => {
  const dir = path.join(ROOT, "docs");
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".md"))) {
    const blocks = jsBlocks(readFileSync(path.join(dir, f), "utf8"));
    assert.deepEqual(blocks.map((b) => b.line), [], `docs/${f}: a \`\`\`js block at these lines would never run; ` +
      "put runnable examples in the README (or teach this test to run them), other code in ```ts or ```text");
  }
});

test("every js example of the README runs against the reference server", { timeout: 120_000 }, async () => {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const blocks = jsBlocks(readme);
  assert.ok(blocks.length >= EXPECTED_BLOCKS, `the README has its ${EXPECTED_BLOCKS} examples, found ${blocks.length}`);
  let names = [];
  for (const block of blocks) {
    const { body, names: next } = rewrite(block.code, names);
    const outcome = await page.evaluate(async (body) => {
      const AsyncFunction = (async () => {}).constructor;
      try {
        window.__scope = await new AsyncFunction("__scope", "__ot", body)(window.__scope, window.ot);
        return null;
      } catch (e) {
        return `${e.name}: ${e.message}${e.code ? ` (code ${e.code})` : ""}`;
      }
    }, body);
    assert.equal(outcome, null, `README.md line ${block.line}: the example failed:\n${block.code}`);
    names = next;
  }

  // What the quick start says happened, happened.
  const facts = await page.evaluate(async () => {
    const s = window.__scope;
    return {
      localHome: s.home.map((r) => [r.id, r.done]),
      localRow: await s.todos.get(1),
      inLyon: s.inLyon.map((r) => [r.id, r.city]),
      sameAsObjectQuery: JSON.stringify(s.same) === JSON.stringify(s.inLyon),
      queryForms: JSON.stringify(s.found) === JSON.stringify(s.foundToo) && Array.isArray(s.found),
      howMany: s.howMany,
      pending: await s.store.pendingCount(),
      intercepted: { value: Array.isArray(s.value), header: s.res.headers.get("x-offline-tables") },
      xhrAnswered: s.data?.id,
      fetchRestored: !String(window.fetch).includes("offline-tables"),
      swListeners: s.__fakeServiceWorker.listeners.map((l) => l.type),
      liveSeen: s.seen,
      created: s.created,
      txRows: [await s.store.table("accounts").get("a20"), await s.store.table("workorders").get("w20")].map((r) => r?.id),
      temp: s.temp,
      job: s.job,
      tasksOfJob: (await s.store.table("tasks").query({ where: { text: "Bring a wrench" } })).map((t) => t.jobId),
      stillFound: (await s.store.table("jobs").get(s.temp))?.id,
    };
  });
  // The local-only store: the put and the update are in IndexedDB, and the query found the row.
  assert.deepEqual(facts.localHome, [[1, true]], JSON.stringify(facts));
  assert.deepEqual(facts.localRow, { id: 1, text: "Buy milk", list: "home", done: true });
  assert.ok(facts.inLyon.some(([id, city]) => id === "a9" && city === "Lyon"), JSON.stringify(facts));
  assert.equal(facts.sameAsObjectQuery, true, "the OData query gives the object query's rows");
  assert.equal(facts.queryForms, true, "the query example's two forms agree");
  assert.equal(typeof facts.howMany, "number");
  assert.deepEqual(facts.intercepted, { value: true, header: "local" });
  assert.equal(facts.xhrAnswered, "a9", "axios (XMLHttpRequest) got the row from the store");
  assert.deepEqual(facts.swListeners, ["fetch"]);
  // The live query: its first result without Acme (a9 was in Lyon), a later one with it, and the last without it
  // again (the interception example's PATCH moved a9 to Nice).
  const seen = facts.liveSeen;
  assert.ok(!seen[0].includes("Acme") && seen.slice(1, -1).some((names) => names.includes("Acme")) &&
    !seen.at(-1).includes("Acme"), JSON.stringify(seen));

  // The transaction: both rows, and its query inside saw the work order it had just inserted.
  assert.equal(facts.created, 1);
  assert.deepEqual(facts.txRows, ["a20", "w20"]);
  // Server-assigned keys: a temporary key, then the server's, which the task points at too; the temporary key
  // still finds the job.
  assert.ok(String(facts.temp).startsWith("~tmp:"), JSON.stringify(facts));
  assert.match(String(facts.job?.id), /^JOB-\d{5}$/, JSON.stringify(facts));
  assert.deepEqual(facts.tasksOfJob, [facts.job.id]);
  assert.equal(facts.stillFound, facts.job.id);
  const jobOnServer = await restAs(SERVER, "dev-token-sam")("GET", `/api/data/jobs/'${facts.job.id}'`);
  assert.equal(jobOnServer.status, 200, JSON.stringify(jobOnServer.body));
  assert.equal(jobOnServer.body.title, "Fix the pump");

  // The Service Worker example: a fetch event under /api/data/ is answered from the store.
  const sw = await page.evaluate(async () => {
    const { fn } = window.__scope.__fakeServiceWorker.listeners[0];
    let answer;
    fn({ request: new Request(new URL("/api/data/accounts/a9", location.href)), respondWith: (p) => { answer = p; } });
    const r = await answer;
    return { status: r.status, header: r.headers.get("x-offline-tables"), row: await r.json() };
  });
  assert.deepEqual([sw.status, sw.header, sw.row.id], [200, "local", "a9"]);

  // The writes reached the server (sam's a9, with the intercepted PATCH once synced).
  const sync = await page.evaluate(() => window.__scope.store.sync());
  assert.equal(sync.result, "completed", JSON.stringify(sync.status));
  const row = await restAs(SERVER, "dev-token-sam")("GET", "/api/data/accounts/a9");
  assert.equal(row.status, 200);
  assert.equal(row.body.ownerId, "sam");
  assert.deepEqual(errors, []);
});
