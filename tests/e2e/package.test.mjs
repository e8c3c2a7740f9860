// package.test.mjs: the published package as npm users get it. Installs the packed tarball (target/npm/*.tgz, from
// scripts/pack.mjs) into a scratch project in a temp dir, checks its package.json and type declarations, then in
// headless Chromium: a webpack build (`import … from "offline-tables"`) that opens a store syncing with the reference
// server and starts a dedicated worker bundled with it, and a plain <script type="module"> page without a bundler
// (the README's example, verbatim) whose module worker imports `offline-tables/web`; and fetch interception from
// both entries (`interceptFetch` in the webpack page, `handleFetch` in a plain module worker).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { createStaticServer, listen } from "../../scripts/serve.mjs";
import { CHROMIUM_FLAGS, restAs } from "./harness.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SERVER = process.env.OT_TEST_SERVER;
const NPM_DIR = path.join(ROOT, "target", "npm");

let scratch, pkgDir, browser, httpServer, base;

/** The README's fenced block with this info string whose text includes `marker`. */
export function readmeBlock(lang, marker) {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/^```(\S+)[^\n]*\n([\s\S]*?)^```$/gm)].filter(([, l, body]) => l === lang && body.includes(marker));
  assert.equal(blocks.length, 1, `README.md: one \`\`\`${lang} block with ${marker}`);
  return blocks[0][2];
}

before(async () => {
  assert.ok(SERVER, "OT_TEST_SERVER is not set: run through npm test, which starts the reference server");
  const tarball = existsSync(NPM_DIR) && readdirSync(NPM_DIR).find((f) => /^offline-tables-.*\.tgz$/.test(f));
  assert.ok(tarball, "target/npm/offline-tables-*.tgz is missing: run node scripts/pack.mjs (after scripts/build.sh all)");
  scratch = mkdtempSync(path.join(tmpdir(), "ot-package-"));
  writeFileSync(path.join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  // From the file only: the package has no dependencies, so nothing is fetched.
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--no-save", path.join(NPM_DIR, tarball)], { cwd: scratch, stdio: "pipe" });
  pkgDir = path.join(scratch, "node_modules", "offline-tables");

  // A webpack 5 app: the bundler build, in the page and in a dedicated worker.
  mkdirSync(path.join(scratch, "src"));
  writeFileSync(path.join(scratch, "src", "index.js"), `
import { OfflineStore } from "offline-tables";
window.OfflineStore = OfflineStore;
window.fromWorker = (msg) => new Promise((resolve) => {
  const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  // The bundled worker's module waits for the wasm before its code runs: it says when it listens.
  worker.onmessage = (e) => {
    if (e.data === "ready") worker.postMessage(msg);
    else { resolve(e.data); worker.terminate(); }
  };
  worker.onerror = (e) => resolve({ error: e.message ?? String(e) });
});
window.ready = true;
`);
  writeFileSync(path.join(scratch, "src", "worker.js"), `
import { OfflineStore } from "offline-tables";
self.onmessage = async ({ data: { name } }) => {
  try {
    const store = await OfflineStore.open({ name, profile: { version: 1, tables: { notes: { key: "id" } } } });
    await store.table("notes").put({ id: "w1", text: "from a bundled worker" });
    const row = await store.table("notes").get("w1");
    const pending = await store.pendingCount();
    store.close();
    await OfflineStore.deleteDatabase(name);
    self.postMessage({ row, pending });
  } catch (e) { self.postMessage({ error: String(e), code: e.code }); }
};
self.postMessage("ready");
`);
  writeFileSync(path.join(scratch, "webpack.config.cjs"), `
module.exports = {
  mode: "production",
  context: __dirname,
  entry: "./src/index.js",
  output: { path: require("node:path").join(__dirname, "dist"), publicPath: "/dist/", clean: true },
  experiments: { asyncWebAssembly: true },
  performance: { hints: false },
};
`);
  execFileSync(path.join(ROOT, "node_modules", ".bin", "webpack"), ["--config", path.join(scratch, "webpack.config.cjs")], { cwd: scratch, stdio: "pipe" });
  writeFileSync(path.join(scratch, "bundled.html"), `<!doctype html><meta charset="utf-8"><title>webpack</title><link rel="icon" href="data:,"><script src="/dist/main.js"></script>`);

  // A plain page: the README's example as written, and a module worker on the web build.
  writeFileSync(path.join(scratch, "plain.html"), `<!doctype html><meta charset="utf-8"><title>plain</title><link rel="icon" href="data:,"><body>\n${readmeBlock("html", "offline-tables/web")}</body>`);
  writeFileSync(path.join(scratch, "plain-worker.js"), `
import init, { OfflineStore } from "/node_modules/offline-tables/web.js";
await init();
self.onmessage = async ({ data: { name, url, token, key } }) => {
  try {
    const store = await OfflineStore.open({ name, server: { url, token }, sync: { auto: false } });
    await store.table("accounts").put({ id: key, ownerId: "tara", name: "From a worker", city: "Lyon" });
    const sync = await store.sync();
    const row = await store.table("accounts").get(key);
    store.close();
    await OfflineStore.deleteDatabase(name);
    self.postMessage({ result: sync.result, pushed: sync.pushed, row });
  } catch (e) { self.postMessage({ error: String(e), code: e.code }); }
};
self.postMessage("ready");
`);
  // A plain module worker on the web build: a Service Worker-style handler answering from the store.
  writeFileSync(path.join(scratch, "fetch-worker.js"), `
import init, { OfflineStore } from "/node_modules/offline-tables/web.js";
await init();
self.onmessage = async ({ data: { name } }) => {
  try {
    const store = await OfflineStore.open({ name, profile: { version: 1, tables: { notes: { key: "id" } } } });
    await store.table("notes").put({ id: "n1", text: "answered by the web build" });
    const res = await store.handleFetch(new Request(new URL("/api/data/notes/n1", self.location.href)));
    const other = await store.handleFetch(new Request(new URL("/elsewhere", self.location.href)));
    const out = { status: res.status, local: res.headers.get("x-offline-tables"), body: await res.json(), other: other === undefined };
    store.close();
    await OfflineStore.deleteDatabase(name);
    self.postMessage(out);
  } catch (e) { self.postMessage({ error: String(e), code: e.code }); }
};
self.postMessage("ready");
`);

  httpServer = createStaticServer({ "/": scratch });
  base = `http://127.0.0.1:${await listen(httpServer, 0)}`;
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_FLAGS, headless: true });
});

after(async () => {
  await browser?.close();
  httpServer?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function open(url) {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(url);
  return { page, errors };
}

test("the tarball holds the build, types, README, LICENSE, CHANGELOG and a complete package.json", () => {
  const pkg = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8"));
  const dev = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
  for (const field of ["name", "version", "description", "license", "repository", "type", "exports", "types", "files", "sideEffects", "keywords"]) {
    assert.ok(pkg[field] !== undefined, `package.json has ${field}`);
  }
  assert.equal(pkg.name, "offline-tables");
  assert.equal(pkg.version, dev.version);
  assert.equal(pkg.private, undefined, "publishable");
  assert.match(pkg.version, /^\d+\.\d+\.\d+(-[\w.]+)?$/, "semver");
  assert.equal(pkg.type, "module");
  assert.deepEqual(Object.keys(pkg.dependencies ?? {}), [], "no runtime dependencies");
  const protocol = readFileSync(path.join(ROOT, "crates", "core", "src", "protocol", "mod.rs"), "utf8");
  assert.equal(pkg.offlineTables?.protocolVersion, Number(/PROTOCOL_VERSION: u32 = (\d+)/.exec(protocol)[1]));
  assert.ok(readFileSync(path.join(pkgDir, "CHANGELOG.md"), "utf8").includes(`## ${pkg.version}`), "CHANGELOG has this version");
  const build = ["offline_tables_bg.wasm", "offline_tables.js", "offline_tables_bg.js", "offline_tables.d.ts", "web.js", "web.d.ts"];
  for (const f of ["README.md", "LICENSE", ...build]) {
    assert.ok(existsSync(path.join(pkgDir, f)), `${f} is in the tarball`);
  }
  // One .wasm, fetch interception included, for both entries.
  assert.deepEqual(readdirSync(pkgDir, { recursive: true }).filter((f) => f.endsWith(".wasm")), ["offline_tables_bg.wasm"]);
  assert.match(readFileSync(path.join(pkgDir, "offline_tables.d.ts"), "utf8"), /interceptFetch\(/);
  assert.match(readFileSync(path.join(pkgDir, "offline_tables.d.ts"), "utf8"), /handleFetch\(/);
  // The web entry's types are the bundler entry's (one declaration of each class), and init()'s.
  const webTypes = readFileSync(path.join(pkgDir, "web.d.ts"), "utf8");
  assert.match(webTypes, /^export \* from "\.\/offline_tables\.js";$/m);
  assert.match(webTypes, /^export default function __wbg_init/m);
  assert.doesNotMatch(webTypes, /^export class /m, "no second declaration of the classes");
  // Every path the manifest points at exists.
  const targets = [pkg.main, pkg.module, pkg.types, ...Object.values(pkg.exports).flatMap((e) => (typeof e === "string" ? [e] : Object.values(e)))];
  for (const t of targets) assert.ok(existsSync(path.join(pkgDir, t)), `${t} exists`);
  assert.equal(readFileSync(path.join(pkgDir, "README.md"), "utf8"), readFileSync(path.join(ROOT, "README.md"), "utf8"));
});

test("the declarations type-check an app importing both entry points", () => {
  writeFileSync(path.join(scratch, "app.ts"), `
import { OfflineStore, type OpenOptions, type SyncStatus, type OfflineTablesError, type Row } from "offline-tables";
import init, { OfflineStore as WebStore } from "offline-tables/web";
const options: OpenOptions = { name: "x", profile: { version: 1, tables: { t: { key: "id", conflict: "merge" } } } };
export async function main(): Promise<void> {
  await init();
  const store: OfflineStore = await OfflineStore.open(options);
  const web: WebStore = await WebStore.open(options);
  const row: Row | undefined = await store.table("t").get(1);
  const s: SyncStatus | null = store.status();
  store.on("status", (st) => st.state satisfies SyncStatus["state"]);
  try { await store.table("t").put({ id: 1 }); } catch (e) { (e as OfflineTablesError).code satisfies string; }
  // @ts-expect-error the prefix is a string
  store.interceptFetch({ prefix: 1 });
  const uninstall: () => void = store.interceptFetch({ prefix: "/api/data/" });
  // @ts-expect-error the prefix is a string
  store.interceptRequests({ prefix: 1 });
  const uninstallBoth: () => void = store.interceptRequests();
  void uninstallBoth;
  const answered: Response | undefined = await web.handleFetch(new Request("/api/data/t/1"));
  void row; void s; void web; void uninstall; void answered;
}
`);
  writeFileSync(path.join(scratch, "tsconfig.json"), JSON.stringify({
    compilerOptions: { target: "es2022", module: "esnext", moduleResolution: "bundler", lib: ["esnext", "dom"], types: [], strict: true, noEmit: true, skipLibCheck: false },
    files: ["app.ts"],
  }));
  try {
    execFileSync(path.join(ROOT, "node_modules", ".bin", "tsc"), ["-p", scratch], { cwd: scratch, stdio: "pipe" });
  } catch (e) {
    assert.fail(`tsc: ${e.stdout}${e.stderr}`);
  }
});

test("webpack: the bundler build opens a store and syncs with the reference server", { timeout: 60_000 }, async () => {
  const { page, errors } = await open(`${base}/bundled.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 15_000 });
  const key = `pkg-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const name = `package-webpack-${key}`;
  const out = await page.evaluate(async ([name, url, key]) => {
    const store = await window.OfflineStore.open({ name, server: { url, token: "dev-token-sam" }, sync: { auto: false } });
    await store.table("accounts").put({ id: key, ownerId: "sam", name: "From the webpack build", city: "Nice" });
    const sync = await store.sync();
    const pending = await store.pendingCount();
    store.close();
    await window.OfflineStore.deleteDatabase(name);
    return { result: sync.result, pushed: sync.pushed, pending };
  }, [name, SERVER, key]);
  assert.deepEqual(out, { result: "completed", pushed: 1, pending: 0 }, `errors: ${errors.join("; ")}`);
  const rest = restAs(SERVER, "dev-token-sam");
  const got = await rest("GET", `/api/data/accounts/${key}`);
  assert.equal(got.status, 200);
  assert.equal(got.body.name, "From the webpack build");
  assert.deepEqual(errors, []);
  await page.close();
});

test("webpack: the bundler build runs in a dedicated worker", { timeout: 60_000 }, async () => {
  const { page, errors } = await open(`${base}/bundled.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 15_000 });
  const out = await page.evaluate((name) => window.fromWorker({ name }), `package-webpack-worker-${Date.now()}`);
  assert.deepEqual(out, { row: { id: "w1", text: "from a bundled worker" }, pending: 1 }, `errors: ${errors.join("; ")}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test("plain <script type=module> page: the README's example runs as written", { timeout: 60_000 }, async () => {
  const { page, errors } = await open(`${base}/plain.html`);
  await page.waitForFunction(() => document.body.textContent.includes("Works without a bundler"), null, { timeout: 15_000 })
    .catch(() => assert.fail(`the page never showed the row; errors: ${errors.join("; ")}`));
  assert.deepEqual(errors, []);
  await page.close();
});

test("plain page: the web build in a module worker syncs with the reference server", { timeout: 60_000 }, async () => {
  const { page, errors } = await open(`${base}/plain.html`);
  const key = `pkgw-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const out = await page.evaluate(([url, key]) => new Promise((resolve) => {
    const worker = new Worker("/plain-worker.js", { type: "module" });
    worker.onerror = (e) => resolve({ error: e.message ?? String(e) });
    worker.onmessage = (e) => {
      if (e.data === "ready") worker.postMessage({ name: `package-plain-worker-${key}`, url, token: "dev-token-tara", key });
      else { resolve(e.data); worker.terminate(); }
    };
  }), [SERVER, key]);
  assert.equal(out.error, undefined, `worker: ${out.error} (${out.code})`);
  assert.equal(out.result, "completed");
  assert.equal(out.pushed, 1);
  assert.equal(out.row.name, "From a worker");
  const got = await restAs(SERVER, "dev-token-tara")("GET", `/api/data/accounts/${key}`);
  assert.equal(got.status, 200);
  assert.deepEqual(errors, []);
  await page.close();
});

test("webpack: the bundler build answers fetch and XMLHttpRequest from the store", { timeout: 60_000 }, async () => {
  const { page, errors } = await open(`${base}/bundled.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 15_000 });
  const out = await page.evaluate(async (name) => {
    const store = await window.OfflineStore.open({ name, profile: { version: 1, tables: { notes: { key: "id" } } } });
    await store.table("notes").put({ id: "f1", text: "from the bundler build" });
    const uninstall = store.interceptRequests();
    const res = await fetch("/api/data/notes/f1");
    const got = { status: res.status, local: res.headers.get("x-offline-tables"), body: await res.json() };
    // The XHR half ships in the tarball's bundler entry too.
    got.xhr = await new Promise((resolve) => {
      const x = new XMLHttpRequest();
      x.responseType = "json";
      x.onload = () => resolve({ status: x.status, local: x.getResponseHeader("x-offline-tables"), body: x.response });
      x.onerror = () => resolve("error");
      x.open("GET", "/api/data/notes/f1");
      x.send();
    });
    uninstall();
    store.close();
    await window.OfflineStore.deleteDatabase(name);
    return got;
  }, `package-intercept-${Date.now()}`);
  const row = { id: "f1", text: "from the bundler build" };
  assert.deepEqual(out, { status: 200, local: "local", body: row, xhr: { status: 200, local: "local", body: row } }, `errors: ${errors.join("; ")}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test("plain page: offline-tables/web in a module worker answers a Request with handleFetch", { timeout: 60_000 }, async () => {
  const { page, errors } = await open(`${base}/plain.html`);
  const out = await page.evaluate((name) => new Promise((resolve) => {
    const worker = new Worker("/fetch-worker.js", { type: "module" });
    worker.onerror = (e) => resolve({ error: e.message ?? String(e) });
    worker.onmessage = (e) => {
      if (e.data === "ready") worker.postMessage({ name });
      else { resolve(e.data); worker.terminate(); }
    };
  }), `package-fetch-worker-${Date.now()}`);
  assert.deepEqual(out, { status: 200, local: "local", body: { id: "n1", text: "answered by the web build" }, other: true }, `errors: ${errors.join("; ")}`);
  assert.deepEqual(errors, []);
  await page.close();
});
