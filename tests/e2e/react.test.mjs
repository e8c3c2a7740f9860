// react.test.mjs: offline-tables/react as npm users get it. Installs the packed tarball (target/npm/*.tgz) into a scratch
// project, type-checks a TSX app against its declarations, bundles a React app (react and react-dom from npm, this
// repository's devDependencies) with webpack, and drives it in headless Chromium against the reference server: the first
// render shows the rows, a write re-renders them, an equal inline query does not re-subscribe and another one does,
// useSyncStatus follows a sync, and unmounting unsubscribes (the real Table.live and liveCount, counted by a wrapper).
// The README's *Typed tables* (```ts) and *React* (```tsx) examples are type-checked, compiled by tsc, bundled and run.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { createStaticServer, listen } from "../../scripts/serve.mjs";
import { CHROMIUM_FLAGS, restAs } from "./harness.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SERVER = process.env.OT_TEST_SERVER;
const NPM_DIR = path.join(ROOT, "target", "npm");
// rhea: a user no other test writes for (tests/fixtures/tokens.json).
const TOKEN = "dev-token-rhea";

let scratch, pkgDir, browser, httpServer, base;

/** The README's one fenced block with this info string whose text includes `marker` (package.test.mjs has the same:
 * importing it would run its tests here). */
function readmeBlock(lang, marker) {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/^```(\S+)[^\n]*\n([\s\S]*?)^```$/gm)].filter(([, l, body]) => l === lang && body.includes(marker));
  assert.equal(blocks.length, 1, `README.md: one \`\`\`${lang} block with ${marker}`);
  return blocks[0][2];
}

// The app: a list of one tag's notes (useLiveQuery by table name, an inline query object), their count (useLiveCount on
// a Table), the store's name (useStore) and its sync status (useSyncStatus). Plain JS (no JSX), as webpack takes it.
const APP = `
import { Component, createElement as h } from "react";
import { createRoot } from "react-dom/client";
import { OfflineStore, Table } from "offline-tables";
import { StoreProvider, useLiveCount, useLiveQuery, useStore, useSyncStatus } from "offline-tables/react";

// The hooks' subscriptions, counted around the real methods (the listener calls too).
const live = { subscribed: 0, unsubscribed: 0, calls: 0 };
for (const method of ["live", "liveCount"]) {
  const real = Table.prototype[method];
  Table.prototype[method] = function (query, listener, onError) {
    live.subscribed++;
    const stop = real.call(this, query, (v) => { live.calls++; listener(v); }, onError);
    return () => { live.unsubscribed++; stop(); };
  };
}
window.live = live;
window.renders = 0;

function Notes({ tag }) {
  const store = useStore();
  const rows = useLiveQuery("notes", { where: { tag }, orderBy: "id" });
  const count = useLiveCount(store.table("notes"), { where: { tag } });
  const status = useSyncStatus();
  window.renders++;
  return h("div", null,
    h("p", { id: "store" }, store.name),
    h("p", { id: "count" }, count === undefined ? "-" : String(count)),
    h("p", { id: "status" }, status ? status.state + " " + status.pending + " " + (status.lastSyncAt ? "synced" : "never") : "none"),
    rows === undefined ? h("p", { id: "loading" }, "loading")
      : h("ul", { id: "rows" }, rows.map((r) => h("li", { key: r.id }, r.text))));
}

let store, root;
window.start = async ({ name, url, token, tag, seed }) => {
  store = await OfflineStore.open({ name, server: { url, token }, sync: { auto: false } });
  await store.table("notes").bulkPut(seed);
  window.store = store;
  root = createRoot(document.getElementById("root"));
  root.render(h(StoreProvider, { store }, h(Notes, { tag })));
};
window.rerender = (tag) => root.render(h(StoreProvider, { store }, h(Notes, { tag })));
window.unmount = () => root.unmount();

// A bad query reaches an error boundary, with its code.
class Boundary extends Component {
  constructor(props) { super(props); this.state = { error: null }; }
  static getDerivedStateFromError(error) { return { error }; }
  render() { return this.state.error ? h("p", { id: "caught" }, this.state.error.code) : this.props.children; }
}
function Bad() {
  const rows = useLiveQuery("notes", { where: { tag: { near: 1 } } });
  return h("p", null, String(rows));
}
window.renderBad = () => {
  const el = document.createElement("div");
  document.body.append(el);
  createRoot(el).render(h(StoreProvider, { store }, h(Boundary, null, h(Bad))));
};
window.ready = true;
`;

// A user's TSX against the installed package: typed rows through the hooks.
const TSX = `
import type { OfflineStore, Keyed } from "offline-tables";
import { StoreProvider, useLiveQuery, useSyncStatus } from "offline-tables/react";
type Note = { id: string; ownerId: string; tag: string; text: string };
type Schema = { notes: Keyed<Note, "id"> };
function List({ store }: { store: OfflineStore<Schema> }) {
  const rows = useLiveQuery(store.table("notes"), { where: { tag: "t" }, select: ["id", "text"] });
  const status = useSyncStatus(store);
  // @ts-expect-error no such column
  useLiveQuery(store.table("notes"), { where: { tg: "t" } });
  // @ts-expect-error only the selected columns
  void rows?.[0]?.tag;
  return <ul title={status?.state}>{rows?.map((r) => <li key={r.id}>{r.text}</li>)}</ul>;
}
export const App = ({ store }: { store: OfflineStore<Schema> }) => <StoreProvider store={store}><List store={store} /></StoreProvider>;

// A store of the web entry (its own declaration of the classes) works with the hooks alike.
import { OfflineStore as WebStore } from "offline-tables/web";
function WebList({ store }: { store: WebStore<Schema> }) {
  const rows = useLiveQuery(store.table("notes"), { orderBy: "text" });
  const first: Note | undefined = rows?.[0];
  // @ts-expect-error no such column
  useLiveQuery(store.table("notes"), { orderBy: "txt" });
  return <p title={useSyncStatus(store)?.state}>{first?.text}</p>;
}
export const WebApp = ({ store }: { store: WebStore<Schema> }) => <StoreProvider store={store}><WebList store={store} /></StoreProvider>;
`;

before(async () => {
  assert.ok(SERVER, "OT_TEST_SERVER is not set: run through npm test, which starts the reference server");
  const tarball = existsSync(NPM_DIR) && readdirSync(NPM_DIR).find((f) => /^offline-tables-.*\.tgz$/.test(f));
  assert.ok(tarball, "target/npm/offline-tables-*.tgz is missing: run node scripts/pack.mjs (after scripts/build.sh all)");
  scratch = mkdtempSync(path.join(tmpdir(), "ot-react-"));
  writeFileSync(path.join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  // React is an optional peer: installing the tarball alone fetches nothing.
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--no-save", path.join(NPM_DIR, tarball)], { cwd: scratch, stdio: "pipe" });
  pkgDir = path.join(scratch, "node_modules", "offline-tables");

  mkdirSync(path.join(scratch, "src"));
  writeFileSync(path.join(scratch, "src", "index.js"), APP);
  // react and react-dom come from this repository's node_modules (its devDependencies), after the app's own.
  writeFileSync(path.join(scratch, "webpack.config.cjs"), `
const path = require("node:path");
module.exports = {
  mode: "production",
  context: __dirname,
  entry: "./src/index.js",
  output: { path: path.join(__dirname, "dist"), publicPath: "/dist/", clean: true },
  resolve: { modules: ["node_modules", ${JSON.stringify(path.join(ROOT, "node_modules"))}] },
  experiments: { asyncWebAssembly: true },
  performance: { hints: false },
};
`);
  execFileSync(path.join(ROOT, "node_modules", ".bin", "webpack"), ["--config", path.join(scratch, "webpack.config.cjs")], { cwd: scratch, stdio: "pipe" });
  writeFileSync(path.join(scratch, "index.html"), `<!doctype html><meta charset="utf-8"><title>react</title><link rel="icon" href="data:,"><div id="root"></div><script src="/dist/main.js"></script>`);

  httpServer = createStaticServer({ "/": scratch });
  base = `http://127.0.0.1:${await listen(httpServer, 0)}`;
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_FLAGS, headless: true });
});

after(async () => {
  await browser?.close();
  httpServer?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test("the tarball ships offline-tables/react as plain JS importing only react, an optional peer", () => {
  const pkg = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8"));
  assert.deepEqual(pkg.exports["./react"], { types: "./react/index.d.ts", default: "./react/index.js" });
  assert.ok(pkg.peerDependencies?.react, "react is a peer dependency");
  assert.equal(pkg.peerDependenciesMeta?.react?.optional, true);
  assert.deepEqual(Object.keys(pkg.dependencies ?? {}), []);
  const entry = readFileSync(path.join(pkgDir, "react", "index.js"), "utf8");
  const imports = [...entry.matchAll(/(?:^|[;\s])import\b[^"']*["']([^"']+)["']/g)].map((m) => m[1]);
  assert.deepEqual(imports, ["react"], "the entry imports react and nothing else");
  for (const f of ["offline_tables.js", "offline_tables_bg.js", "web.js"]) {
    assert.doesNotMatch(readFileSync(path.join(pkgDir, f), "utf8"), /["']react["']/, `${f} does not import react`);
  }
});

/** tsc on `files` in the scratch project (with `emit`, JS into out/), @types/react and @types/react-dom as an app has them. */
function tsc(files, emit = false) {
  for (const t of ["react", "react-dom"]) {
    const link = path.join(scratch, "node_modules", "@types", t);
    mkdirSync(path.dirname(link), { recursive: true });
    if (!existsSync(link)) symlinkSync(path.join(ROOT, "node_modules", "@types", t), link);
  }
  const config = `tsconfig-${files[0].replace(/\W/g, "_")}.json`;
  writeFileSync(path.join(scratch, config), JSON.stringify({
    compilerOptions: {
      target: "es2022", module: "esnext", moduleResolution: "bundler", lib: ["esnext", "dom"], types: [], jsx: "react-jsx",
      strict: true, skipLibCheck: false, ...(emit ? { outDir: "out", rootDir: "." } : { noEmit: true }),
    },
    files,
  }));
  try {
    execFileSync(path.join(ROOT, "node_modules", ".bin", "tsc"), ["-p", config], { cwd: scratch, stdio: "pipe" });
  } catch (e) {
    assert.fail(`tsc: ${e.stdout}${e.stderr}`);
  }
}

test("the React declarations type-check a TSX app on the installed package", () => {
  writeFileSync(path.join(scratch, "app.tsx"), TSX);
  tsc(["app.tsx"]);
});

test("the README's typed-tables and React examples compile and run", { timeout: 90_000 }, async () => {
  // One module, as a reader runs them one after the other; the README's server and user are the test's.
  const code = [readmeBlock("ts", "OfflineStore.open<Schema>"), readmeBlock("tsx", "offline-tables/react")].join("\n")
    .replaceAll("http://localhost:8080", SERVER).replaceAll("dev-token-alice", TOKEN).replaceAll('"alice"', '"rhea"');
  mkdirSync(path.join(scratch, "readme"), { recursive: true });
  writeFileSync(path.join(scratch, "readme", "app.tsx"), code);
  tsc(["readme/app.tsx"], true);
  execFileSync(path.join(ROOT, "node_modules", ".bin", "webpack"), [
    "--config", path.join(scratch, "webpack.config.cjs"), "--entry", "./out/readme/app.js", "--output-path", path.join(scratch, "readme-dist"),
    "--output-public-path", "/readme-dist/",
  ], { cwd: scratch, stdio: "pipe" });
  writeFileSync(path.join(scratch, "readme.html"), `<!doctype html><meta charset="utf-8"><title>readme</title><link rel="icon" href="data:,"><body><script src="/readme-dist/main.js"></script>`);
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(`${base}/readme.html`);
  await page.waitForFunction(() => [...document.querySelectorAll("li")].some((li) => li.textContent === "Bluebird"), null, { timeout: 20_000 })
    .catch(() => assert.fail(`the README's component never showed its row; errors: ${errors.join("; ")}`));
  assert.match(await page.locator("p.status").textContent(), /^(idle|syncing|offline), \d+ to push$/);
  // Its store synced by itself: the row is on the server, with the update.
  let got;
  for (let i = 0; i < 50 && got?.body?.rating !== 4; i++) {
    got = await restAs(SERVER, TOKEN)("GET", "/api/data/accounts/t1");
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(got.status, 200);
  assert.deepEqual({ name: got.body.name, city: got.body.city, rating: got.body.rating }, { name: "Bluebird", city: "Lyon", rating: 4 });
  assert.deepEqual(errors, []);
  await page.close();
});

test("useLiveQuery, useLiveCount, useStore and useSyncStatus in Chromium", { timeout: 90_000 }, async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(`${base}/index.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 15_000 });
  const run = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const tag = `react-${run}`;
  const other = `other-${run}`;
  const name = `react-${run}`;
  const note = (id, text, t = tag) => ({ id: `${run}-${id}`, ownerId: "rhea", tag: t, text });
  const text = (sel) => page.locator(sel).textContent();
  const items = () => page.locator("#rows li").allTextContents();
  const until = (what, fn, arg) => page.waitForFunction(fn, arg, { timeout: 15_000 })
    .catch(() => assert.fail(`${what}; errors: ${errors.join("; ")}`));

  // (a) The first render after the first result shows the rows.
  await page.evaluate((a) => window.start(a), { name, url: SERVER, token: TOKEN, tag, seed: [note(1, "first"), note(2, "second"), note(3, "elsewhere", other)] });
  await until("the rows never showed", () => document.querySelectorAll("#rows li").length === 2);
  assert.deepEqual(await items(), ["first", "second"]);
  await until("the count never showed", () => document.getElementById("count")?.textContent === "2");
  assert.equal(await text("#store"), name, "useStore gives the provider's store");
  const afterMount = await page.evaluate(() => ({ ...window.live }));
  assert.equal(afterMount.subscribed, 2, "one live query and one live count");
  assert.equal(afterMount.unsubscribed, 0);

  // An equal query in a new object (each render builds one) does not re-subscribe.
  await page.evaluate((t) => window.rerender(t), tag);
  await page.evaluate((t) => window.rerender(t), tag);
  assert.deepEqual(await page.evaluate(() => [window.live.subscribed, window.live.unsubscribed]), [2, 0]);

  // (b) A write re-renders with the new rows; a write to another tag's note leaves them as they are.
  await page.evaluate((r) => window.store.table("notes").put(r), note(4, "third"));
  await until("the new row never showed", () => document.querySelectorAll("#rows li").length === 3);
  assert.deepEqual(await items(), ["first", "second", "third"]);
  await until("the count never followed", () => document.getElementById("count")?.textContent === "3");
  await page.evaluate((r) => window.store.table("notes").put(r), note(5, "not this list", other));
  await page.waitForTimeout(300);
  assert.deepEqual(await items(), ["first", "second", "third"]);

  // useSyncStatus follows the store's status events through a sync.
  await until("the status never showed pending changes", () => /^idle [1-9]\d* never$/.test(document.getElementById("status")?.textContent ?? ""));
  const synced = await page.evaluate(() => window.store.sync().then((s) => s.result));
  assert.equal(synced, "completed");
  await until("the status never showed the sync", () => document.getElementById("status")?.textContent === "idle 0 synced");
  const onServer = await restAs(SERVER, TOKEN)("GET", `/api/data/notes/${run}-4`);
  assert.equal(onServer.status, 200);
  assert.equal(onServer.body.text, "third");

  // Another query re-subscribes: the old subscriptions end, the new ones show the other tag's rows.
  await page.evaluate((t) => window.rerender(t), other);
  await until("the other query's rows never showed", () => [...document.querySelectorAll("#rows li")].map((li) => li.textContent).join() === "elsewhere,not this list")
    .catch(async (e) => { throw new Error(`${e.message}; shown: ${await page.locator("#root").innerHTML()}`); });
  assert.deepEqual(await page.evaluate(() => [window.live.subscribed, window.live.unsubscribed]), [4, 2]);

  // (c) Unmounting unsubscribes: no listener is called for a later write that the query would see.
  await page.evaluate(() => window.unmount());
  assert.deepEqual(await page.evaluate(() => [window.live.subscribed, window.live.unsubscribed]), [4, 4]);
  const calls = await page.evaluate(() => window.live.calls);
  const renders = await page.evaluate(() => window.renders);
  await page.evaluate((r) => window.store.table("notes").put(r), note(6, "after unmount", other));
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => window.live.calls), calls, "no listener call after unmount");
  assert.equal(await page.evaluate(() => window.renders), renders, "no render after unmount");
  assert.equal(await page.locator("#rows").count(), 0);

  // A query the store refuses is thrown at render, for an error boundary.
  const before = errors.length;
  await page.evaluate(() => window.renderBad());
  await until("the bad query never reached the boundary", () => document.getElementById("caught")?.textContent === "invalid_argument");
  errors.splice(before); // React logs the error it gave the boundary

  await page.evaluate(async (n) => { window.store.close(); await window.store.constructor.deleteDatabase(n); }, name);
  assert.deepEqual(errors, []);
  await page.close();
});
