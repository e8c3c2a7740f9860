// demo_server.mjs: starts the reference server binary as `npm start` does (demo profile, seed and tokens, the built demo from www/dist as --static) on a free port with a fresh SQLite file in a temp dir, for the demo's e2e tests and screenshots. Builds nothing: www/dist and the server binary must exist.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The server binary: $OT_SERVER_BIN, else the debug build (scripts/test-server.sh makes it), else the release one (npm start). */
function serverBinary() {
  const target = process.env.CARGO_TARGET_DIR ?? path.join(ROOT, "target");
  const candidates = [process.env.OT_SERVER_BIN, ...["debug", "release"].map((p) => path.join(target, p, "offline-tables-server"))];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) throw new Error(`no server binary (tried ${candidates.filter(Boolean).join(", ")}): cargo build -p offline-tables-server`);
  return found;
}

/** Starts the demo server; answers `{ url, rest(method, path, body, token), close() }`. */
export async function startDemoServer() {
  if (!existsSync(path.join(ROOT, "www", "dist", "index.html"))) {
    throw new Error("www/dist is missing: build the demo first (scripts/build.sh bundler && node_modules/.bin/webpack)");
  }
  const dir = mkdtempSync(path.join(tmpdir(), "ot-demo-"));
  const child = spawn(serverBinary(), [
    "--profile", "demo/profile.json", "--seed", "demo/seed.json", "--tokens", "demo/tokens.json",
    "--db", `sqlite:${path.join(dir, "demo.db")}`, "--listen", "127.0.0.1:0", "--static", "www/dist",
  ], { cwd: ROOT, env: { ...process.env, NO_COLOR: "1", RUST_LOG: "info" }, stdio: ["ignore", "pipe", "pipe"] });
  const log = [];
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo server did not start:\n${log.join("")}`)), 60_000);
    const onData = (chunk) => {
      log.push(String(chunk));
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(log.join(""));
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo server exited (${code}):\n${log.join("")}`));
    });
  });
  return {
    url,
    /** A REST call as `token`'s user, straight to the server (the browser's offline switch does not affect it). */
    async rest(method, urlPath, body, token = "dev-token-alice") {
      const r = await fetch(url + urlPath, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: r.status, body: r.status === 204 ? null : await r.json() };
    },
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill();
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A new device (a browser context of `contextOptions`) with the demo of `server` open, signed in as `user`.
 * `pullDelayMs` slows each pulled page down so that the first download's progress stays on screen.
 */
export async function signIn(browser, server, user, { contextOptions, pullDelayMs = 0 } = {}) {
  const context = await browser.newContext(contextOptions);
  if (pullDelayMs > 0) {
    await context.route("**/sync/pull", async (route) => {
      await new Promise((r) => setTimeout(r, pullDelayMs));
      await route.continue();
    });
  }
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(server.url);
  await page.click(`button.user[data-user=${user}]`);
  return { context, page };
}
