// intercept.test.mjs: store.interceptFetch in a page, offline: for a set of REST queries, the local answers equal the
// server's answers online (same status, same rows in the same order, same counts, same error codes).
import { test } from "node:test";
import assert from "node:assert/strict";
import { harnessForFile } from "./harness.mjs";

const SERVER = process.env.OT_TEST_SERVER;
const TOKEN = "dev-token-alice"; // read-only here: alice's seed rows, the products
let h;
harnessForFile((harness) => { h = harness; });

const QUERIES = [
  "/api/data/accounts",
  "/api/data/accounts?$orderby=city desc,name&$count=true",
  "/api/data/accounts?$filter=city eq 'Paris' or city eq 'Nice'&$select=id,city",
  "/api/data/accounts?$top=2&$skip=1&$orderby=id&$count=true",
  "/api/data/workorders?$filter=status ne 'closed' and startswith(title,'Work')&$orderby=modifiedOn desc,id",
  "/api/data/workorders?$filter=accountId in ('a0','a2')&$count=true&$top=1",
  "/api/data/products?$filter=price gt 10&$orderby=price desc",
  "/api/data/products/'p1'",
  "/api/data/products/'nope'",
  "/api/data/nosuchtable",
  "/api/data/accounts?$filter=city eq",
  "/api/data/accounts?$orderby=",
];

async function server(path) {
  const r = await fetch(SERVER + path, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

test("offline, the interceptor answers every query as the server does online", { timeout: 60_000 }, async () => {
  const page = await h.page();
  const name = `e2e-intercept-${Date.now()}`;
  await page.evaluate(async ([name, url, token]) => {
    window.store = await window.ot.OfflineStore.open({ name, server: { url, token }, sync: { auto: false } });
    await window.store.sync();
    window.uninstall = window.store.interceptFetch({ prefix: url + "/api/data/" });
  }, [name, SERVER, TOKEN]);
  const online = [];
  for (const q of QUERIES) online.push(await server(encodeURI(q)));
  await h.context.setOffline(true);
  for (const [i, q] of QUERIES.entries()) {
    const local = await page.evaluate(async ([url, token]) => {
      const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      const text = await r.text();
      return { status: r.status, from: r.headers.get("x-offline-tables"), body: text ? JSON.parse(text) : null };
    }, [SERVER + encodeURI(q), TOKEN]);
    assert.equal(local.from, "local", q);
    assert.equal(local.status, online[i].status, `${q}: ${JSON.stringify(local.body)} vs ${JSON.stringify(online[i].body)}`);
    if (online[i].status < 400) assert.deepEqual(local.body, online[i].body, q);
    else assert.equal(local.body?.error?.code, online[i].body?.error?.code, q);
  }
  // Other requests pass through untouched (and fail offline, as the network does).
  const other = await page.evaluate((url) => fetch(url).then((r) => r.status, (e) => e.name), SERVER + "/sync/profile");
  assert.equal(other, "TypeError");
  await h.context.setOffline(false);
  await page.evaluate((n) => { window.uninstall(); window.store.close(); return window.ot.OfflineStore.deleteDatabase(n); }, name);
  await page.close();
});
