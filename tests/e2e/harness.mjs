// harness.mjs: serves the packaged module (pkg-web/) and a bare test page, and drives headless Chromium with playwright-core.
import path from "node:path";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { before, after } from "node:test";
import { chromium } from "playwright-core";
import { createStaticServer, listen } from "../../scripts/serve.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const CHROMIUM_FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
  "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/**
 * For a test file that drives pages against npm test's reference server (OT_TEST_SERVER): starts a harness before
 * the file's tests (they fail at once when the server is not set) and closes it after them. `ready` receives it.
 */
export function harnessForFile(ready) {
  let h;
  before(async () => {
    if (!process.env.OT_TEST_SERVER) {
      throw new Error("OT_TEST_SERVER is not set: run through npm test, which starts the reference server (scripts/test-server.sh)");
    }
    h = await startHarness();
    ready(h);
  });
  after(async () => { await h?.close(); });
}

/** Starts the server and a browser; `page()` opens a tab of the test page with `window.ot` loaded. */
export async function startHarness() {
  if (!existsSync(path.join(ROOT, "pkg-web", "offline_tables.js"))) {
    throw new Error("pkg-web/ is missing: run scripts/build.sh web first");
  }
  const server = createStaticServer({
    "/": path.join(ROOT, "tests", "e2e", "static"),
    "/pkg-web/": path.join(ROOT, "pkg-web"),
    // The real client libraries the interception tests drive (axios, ky, odata-query), as their ESM builds.
    "/node_modules/": path.join(ROOT, "node_modules"),
  });
  const port = await listen(server, 0);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_FLAGS,
    headless: true,
  });
  const context = await browser.newContext();
  const url = `http://127.0.0.1:${port}/`;
  /** Opens a tab of the test page in `ctx` and waits for `window.ot`. */
  async function pageIn(ctx) {
    const p = await ctx.newPage();
    p.on("pageerror", (e) => console.error("page error:", e.message));
    await p.goto(url);
    await p.waitForFunction(() => window.ot !== undefined, null, { timeout: 10_000 });
    return p;
  }
  return {
    context,
    url,
    browser,
    pageIn,
    /** A separate browser context (another device: its own IndexedDB, network switch and tabs). */
    newContext: () => browser.newContext(),
    page: () => pageIn(context),
    async close() {
      await browser.close();
      server.close();
    },
  };
}

/** REST calls to the reference server at `server` as the user of `token`: `rest(method, path, body?)` resolves to
 * `{ status, body }` (body null for a 204). */
export function restAs(server, token) {
  return async (method, path, body) => {
    const r = await fetch(server + path, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body && JSON.stringify(body),
    });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  };
}

/** Starts a reference server of its own (the debug binary, `--test-faults`, the test fixtures, a fresh SQLite file
 * in a temp folder, a free port), for tests whose fault rules must not disturb others. The binary must be built with the
 * test-faults feature (scripts/test-server.sh and cargo test in scripts/test.sh build it so). Resolves to
 * `{ url, log(), close() }`. */
// db: "sqlite" (a file in a scratch folder) or "postgres" (a fresh database on the server OT_TEST_POSTGRES_URL
// names, which npm test starts: scripts/postgres.sh; created with psql, dropped on close).
export async function startReferenceServer({
  bin = path.join(path.resolve(ROOT, process.env.CARGO_TARGET_DIR ?? "target"), "debug", "offline-tables-server"),
  db = "sqlite",
} = {}) {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run cargo build-tested first (.cargo/config.toml)`);
  const dir = mkdtempSync(path.join(tmpdir(), "ot-server-"));
  const fixtures = path.join(ROOT, "tests", "fixtures");
  let dbUrl = `sqlite:${path.join(dir, "db.sqlite")}`;
  let dropDb = () => {};
  if (db === "postgres") {
    const admin = process.env.OT_TEST_POSTGRES_URL;
    if (!admin) throw new Error("db: postgres needs OT_TEST_POSTGRES_URL (scripts/postgres.sh target/postgres.env)");
    const name = `ot_e2e_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
    execFileSync("psql", [admin, "-q", "-c", `CREATE DATABASE ${name}`], { stdio: ["ignore", "ignore", "pipe"] });
    const u = new URL(admin);
    u.pathname = `/${name}`;
    dbUrl = u.toString();
    dropDb = () => {
      try {
        execFileSync("psql", [admin, "-q", "-c", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], { stdio: ["ignore", "ignore", "pipe"] });
      } catch { /* a database left behind is only disk */ }
    };
  } else if (db !== "sqlite") {
    throw new Error(`db must be "sqlite" or "postgres", got ${db}`);
  }
  const child = spawn(bin, [
    "--profile", path.join(fixtures, "profile.json"), "--seed", path.join(fixtures, "seed.json"),
    "--tokens", path.join(fixtures, "tokens.json"), "--db", dbUrl,
    "--listen", "127.0.0.1:0", "--cors-origin", "*", "--test-faults",
  ], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1", RUST_LOG: process.env.RUST_LOG ?? "warn,offline_tables_server=info" } });
  let output = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the reference server did not start:\n${output}`)), 20_000);
    const onData = (d) => {
      output += d.toString();
      // eslint-disable-next-line no-control-regex
      const m = output.replace(/\x1b\[[0-9;]*m/g, "").match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const hint = output.includes("'--test-faults'")
        ? `\n${bin} was built without the test-faults feature: cargo build-tested (.cargo/config.toml)` : "";
      reject(new Error(`the reference server exited (${code}):\n${output}${hint}`));
    });
  });
  const keep = (d) => { output = (output + d.toString()).slice(-200_000); };
  child.stdout.removeAllListeners("data").on("data", keep);
  child.stderr.removeAllListeners("data").on("data", keep);
  child.removeAllListeners("exit");
  // A runner that exits abruptly (a signal, process.exit) takes its server along, and its folder.
  const onExit = () => { child.kill("SIGKILL"); rmSync(dir, { recursive: true, force: true }); dropDb(); };
  process.once("exit", onExit);
  return {
    url,
    db,
    log: () => output,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      process.removeListener("exit", onExit);
      rmSync(dir, { recursive: true, force: true });
      dropDb();
    },
  };
}
