// harness.mjs: serves the packaged module (pkg-web/) and a bare test page, and drives headless Chromium with playwright-core.
import path from "node:path";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { createStaticServer, listen } from "../../scripts/serve.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const CHROMIUM_FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
  "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** Starts the server and a browser; `page()` opens a tab of the test page with `window.ot` loaded. */
export async function startHarness() {
  if (!existsSync(path.join(ROOT, "pkg-web", "offline_tables.js"))) {
    throw new Error("pkg-web/ is missing: run scripts/build.sh web first");
  }
  const server = createStaticServer({
    "/": path.join(ROOT, "tests", "e2e", "static"),
    "/pkg-web/": path.join(ROOT, "pkg-web"),
  });
  const port = await listen(server, 0);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_FLAGS,
    headless: true,
  });
  const context = await browser.newContext();
  const url = `http://127.0.0.1:${port}/`;
  return {
    context,
    url,
    async page() {
      const p = await context.newPage();
      p.on("pageerror", (e) => console.error("page error:", e.message));
      await p.goto(url);
      await p.waitForFunction(() => window.ot !== undefined, null, { timeout: 10_000 });
      return p;
    },
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
