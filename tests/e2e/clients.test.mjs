// clients.test.mjs: the data code apps really have, unchanged, against store.interceptRequests in a page, offline:
// axios as it comes (its XMLHttpRequest adapter), axios with responseType "json", "text" and "", ky (fetch) and plain
// fetch, with URLs written by hand and by the odata-query builder. Every local answer equals, byte for byte, the
// reference server's answer online (status, content type, body text). An axios POST offline lands in the outbox and on
// the server once online; uninstalling restores fetch and XMLHttpRequest.
import { test } from "node:test";
import assert from "node:assert/strict";
import { harnessForFile } from "./harness.mjs";

const SERVER = process.env.OT_TEST_SERVER;
const READER = "dev-token-alice"; // read-only here: alice's seed rows and the products
const WRITER = "dev-token-cleo"; // a user no other test reads or writes for (tests/fixtures/tokens.json; crash.test is wendy)
let h;
harnessForFile((harness) => { h = harness; });

const BY_HAND = [
  "/api/data/accounts?$orderby=city desc,name&$count=true",
  "/api/data/accounts?$filter=city eq 'Paris' or city eq 'Nice'&$select=id,city",
  "/api/data/workorders?$filter=status ne 'closed' and startswith(title,'Work')&$orderby=modifiedOn desc,id",
  "/api/data/products/'p1'",
  "/api/data/products/'nope'",
  "/api/data/accounts?$filter=city eq",
  // OData v4 conventions (protocol §8): functions, typed literals, keys in parentheses.
  "/api/data/accounts?$filter=contains(tolower(name),'account') and length(city) ge 4&$orderby=id",
  "/api/data/accounts?$filter=toupper(substring(city,0,2)) eq 'PA' or indexof(city,'ic') eq 1",
  "/api/data/workorders?$filter=modifiedOn ge 2020-01-01T00:00:00Z&$orderby=id",
  "/api/data/accounts('a0')",
  "/api/data/accounts('nope')",
  "/api/data/accounts?$filter=round(city) eq 1",
  // $expand of a related scope's lookup (workorders.accountId -> accounts), answered from the local accounts.
  "/api/data/workorders?$orderby=id&$expand=account($select=name,city)",
  "/api/data/workorders?$select=id,title&$expand=account&$orderby=modifiedOn desc,id&$top=3&$count=true",
  "/api/data/workorders?$expand=owner",
  "/api/data/workorders?$expand=account($filter=city eq 'Paris')",
];
// odata-query's buildQuery options: the URLs it writes are computed in the page, from the real library.
const BUILT = [
  ["accounts", { filter: { city: "Paris" }, orderBy: "name", top: 5 }],
  ["accounts", { filter: { or: [{ city: "Paris" }, { city: "Nice" }] }, select: ["id", "city"], count: true }],
  ["products", { filter: { price: { gt: 10 } }, orderBy: ["price desc", "id"], skip: 1 }],
  ["workorders", { filter: { accountId: { in: ["a0", "a2"] } }, orderBy: "id" }],
  ["accounts", { filter: { name: { endswith: "2" } } }],
  ["accounts", { filter: { "tolower(city)": "paris", "length(name)": { gt: 3 } }, count: true }],
  ["workorders", { filter: { modifiedOn: { ge: { $date: "2020-01-01T00:00:00Z" } } }, orderBy: "id", top: 3 }],
  ["products", { key: "p1" }],
  ["workorders", { expand: { account: { select: ["name"] } }, orderBy: "id" }],
  ["workorders", { expand: ["account"], filter: { status: "open" }, top: 2 }],
];

async function server(path, token) {
  const r = await fetch(SERVER + path, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, type: r.headers.get("content-type"), text: await r.text() };
}

async function openPage(token) {
  const page = await h.page();
  const name = `e2e-clients-${token}-${Date.now()}`;
  await page.evaluate(async ([name, url, token]) => {
    const [{ default: axios }, { default: ky }, { default: buildQuery }] = await Promise.all([
      import("/node_modules/axios/dist/esm/axios.js"),
      import("/node_modules/ky/distribution/index.js"),
      import("/node_modules/odata-query/dist/index.mjs"),
    ]);
    Object.assign(window, { axios, ky, buildQuery });
    window.realFetch = window.fetch;
    window.RealXHR = window.XMLHttpRequest;
    window.store = await window.ot.OfflineStore.open({ name, server: { url, token }, sync: { auto: false } });
    await window.store.sync();
    window.uninstall = window.store.interceptRequests({ prefix: url + "/api/data/" });
  }, [name, SERVER, token]);
  return { page, name };
}

async function closePage({ page, name }) {
  await page.evaluate((n) => { window.uninstall(); window.store.close(); return window.ot.OfflineStore.deleteDatabase(n); }, name);
  await page.close();
}

test("offline, axios (XHR), ky and fetch get the server's answers byte for byte, for hand-written and built URLs", { timeout: 90_000 }, async (t) => {
  t.after(() => h.context.setOffline(false)); // a failure must not leave the next test offline
  const p = await openPage(READER);
  const built = await p.page.evaluate((b) => {
    // A date travels to the page as { $date }: the builder writes a Date as an unquoted datetime literal.
    const revive = (v) => (v && typeof v === "object" ? ("$date" in v ? new Date(v.$date) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, Array.isArray(x) ? x : revive(x)]))) : v);
    return b.map(([t, o]) => `/api/data/${t}${window.buildQuery(revive(o))}`);
  }, BUILT);
  const paths = [...BY_HAND.map((q) => encodeURI(q)), ...built];
  const online = [];
  for (const q of paths) online.push(await server(q, READER));
  assert.ok(online.filter((o) => o.status === 200 && o.text.length > 20).length >= 15, `most queries answer rows: ${JSON.stringify(online)}`);
  await h.context.setOffline(true);
  const local = await p.page.evaluate(async ([base, token, paths]) => {
    const auth = { authorization: `Bearer ${token}` };
    const out = [];
    for (const q of paths) {
      const url = base + q;
      const res = {};
      // axios as it comes: the XMLHttpRequest adapter in a browser; the raw text and the parsed JSON.
      const a = await window.axios.get(url, { headers: auth, responseType: "text", transformResponse: (x) => x, validateStatus: () => true });
      res.axios = { status: a.status, type: a.headers["content-type"], text: a.data, from: a.headers["x-offline-tables"], xhr: a.request instanceof XMLHttpRequest };
      const j = await window.axios.get(url, { headers: auth, validateStatus: () => true });
      res.axiosJson = j.data;
      // XMLHttpRequest by hand, responseType "" and "json", with its events.
      res.xhr = await new Promise((resolve) => {
        const x = new XMLHttpRequest();
        const events = [];
        x.onreadystatechange = () => events.push(`rs${x.readyState}`);
        x.onload = () => { events.push("load"); resolve({ status: x.status, type: x.getResponseHeader("content-type"), text: x.responseText, events }); };
        x.onerror = () => resolve({ error: true, events });
        x.open("GET", url);
        x.setRequestHeader("authorization", auth.authorization);
        x.send();
      });
      res.xhrJson = await new Promise((resolve) => {
        const x = new XMLHttpRequest();
        x.responseType = "json";
        x.onloadend = () => resolve(x.response);
        x.open("GET", url);
        x.setRequestHeader("authorization", auth.authorization);
        x.send();
      });
      const k = await window.ky.get(url, { headers: auth, throwHttpErrors: false, retry: 0 });
      res.ky = { status: k.status, type: k.headers.get("content-type"), text: await k.text() };
      const f = await fetch(url, { headers: auth });
      res.fetch = { status: f.status, type: f.headers.get("content-type"), text: await f.text() };
      out.push(res);
    }
    return out;
  }, [SERVER, READER, paths]);
  for (const [i, q] of paths.entries()) {
    const want = online[i];
    const got = local[i];
    assert.equal(got.axios.from, "local", `${q}: answered by the store`);
    assert.equal(got.axios.xhr, true, `${q}: axios used XMLHttpRequest`);
    for (const client of ["axios", "xhr", "ky", "fetch"]) {
      assert.equal(got[client].status, want.status, `${client} ${q}: ${got[client].text} vs ${want.text}`);
      assert.equal(got[client].type, want.type, `${client} ${q}: content-type`);
      assert.equal(got[client].text, want.text, `${client} ${q}: the body, byte for byte`);
    }
    assert.deepEqual(got.axiosJson, JSON.parse(want.text), `axios json ${q}`);
    assert.deepEqual(got.xhrJson, JSON.parse(want.text), `xhr responseType json ${q}`);
    assert.deepEqual(got.xhr.events.slice(-2), ["rs4", "load"], `${q}: readystatechange to DONE, then load`);
  }
  // Server-driven paging: Prefer odata.maxpagesize, then @odata.nextLink to the end; every page equal to the server's.
  const first = "/api/data/accounts?$orderby=id&$count=true&$select=id,city";
  const onlinePages = [];
  for (let url = SERVER + first; url;) {
    const r = await fetch(url, { headers: { authorization: `Bearer ${READER}`, prefer: "odata.maxpagesize=2" } });
    const text = await r.text();
    onlinePages.push({ status: r.status, applied: r.headers.get("preference-applied"), text });
    url = JSON.parse(text)["@odata.nextLink"];
  }
  assert.ok(onlinePages.length >= 2, `the seed pages: ${JSON.stringify(onlinePages)}`);
  assert.ok(onlinePages.slice(0, -1).every((p) => p.applied === "odata.maxpagesize=2"));
  const localPages = await p.page.evaluate(async ([url, token]) => {
    const pages = [];
    while (url) {
      const { data, status, headers } = await window.axios.get(url, { headers: { authorization: `Bearer ${token}`, prefer: "odata.maxpagesize=2" }, responseType: "text", transformResponse: (x) => x });
      pages.push({ status, applied: headers["preference-applied"] ?? null, text: data });
      url = JSON.parse(data)["@odata.nextLink"];
    }
    return pages;
  }, [SERVER + first, READER]);
  assert.equal(localPages.length, onlinePages.length, "as many pages");
  for (const [i, page] of localPages.entries()) {
    assert.equal(page.status, onlinePages[i].status);
    assert.equal(page.applied, onlinePages[i].applied);
    assert.equal(page.text, onlinePages[i].text, `page ${i}, byte for byte`);
  }
  // Requests outside the prefix still go to the network, and fail offline as it does.
  const other = await p.page.evaluate((url) => window.axios.get(url).then((r) => r.status, (e) => e.code), SERVER + "/sync/profile");
  assert.equal(other, "ERR_NETWORK");
  await h.context.setOffline(false);
  await closePage(p);
});

// A row of numbers that JSON.stringify and serde_json print differently (protocol-wise the same values): integral
// floats with a fraction or an exponent, integers beyond 2^53 that serde_json keeps exactly, -0, small and huge floats.
// Sent as raw text, so the server reads the digits as written.
const NUMBERS = `"big":18446744073709551615,"f":1.8446744073709552e19,"min":-9223372036854775808,"odd":9007199254740993,` +
  `"one":1.0,"neg":-0.0,"e15":1e15,"e20":1e20,"tiny":1e-6,"e21":1e21,"e7":1e-7,"max":1.7976931348623157e308,` +
  `"denormal":5e-324,"plain":[0.1,1.5,100,-2.50],"nested":{"n":2e19}`;

test("numbers beyond 2^53, 1.0, -0 and exponents: the server prints them as the store's JSON.stringify does", { timeout: 60_000 }, async (t) => {
  t.after(() => h.context.setOffline(false));
  const id = `num-${Date.now()}`;
  const row = (key) => `{"id":"${key}","name":"Numbers","city":"Metz","ownerId":"cleo",${NUMBERS}}`;
  const post = await fetch(`${SERVER}/api/data/accounts`, {
    method: "POST", headers: { authorization: `Bearer ${WRITER}`, "content-type": "application/json" }, body: row(id),
  });
  const posted = await post.text();
  assert.equal(post.status, 201, posted);
  const patch = await fetch(`${SERVER}/api/data/accounts/'${id}'`, {
    method: "PATCH", headers: { authorization: `Bearer ${WRITER}`, "content-type": "application/json" }, body: `{"e16":1e16}`,
  });
  const patched = await patch.text();
  assert.equal(patch.status, 200, patched);
  const paths = [`/api/data/accounts/'${id}'`, `/api/data/accounts?$filter=id eq '${id}'&$count=true`,
    `/api/data/accounts?$filter=name eq 'Numbers'&$select=id,big,neg,plain,nested&$orderby=id desc`].map(encodeURI);
  const online = [];
  for (const q of paths) online.push(await server(q, WRITER));
  const p = await openPage(WRITER); // its first sync pulls the row
  await h.context.setOffline(true);
  const local = await p.page.evaluate(async ([base, token, paths, body]) => {
    const auth = { authorization: `Bearer ${token}` };
    const out = [];
    for (const q of paths) {
      const a = await window.axios.get(base + q, { headers: auth, responseType: "text", transformResponse: (x) => x });
      const f = await fetch(base + q, { headers: auth });
      out.push({ axios: a.data, fetch: await f.text(), from: a.headers["x-offline-tables"] });
    }
    // A POST offline answers the row as the server answered it online (another key: the first one exists).
    const created = await fetch(`${base}/api/data/accounts`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body });
    return { out, created: [created.status, await created.text()] };
  }, [SERVER, WRITER, paths, row(`${id}-local`)]);
  for (const [i, q] of paths.entries()) {
    assert.equal(online[i].status, 200, online[i].text);
    assert.equal(local.out[i].from, "local", q);
    assert.equal(local.out[i].axios, online[i].text, `axios ${q}: byte for byte`);
    assert.equal(local.out[i].fetch, online[i].text, `fetch ${q}: byte for byte`);
  }
  assert.equal(local.created[0], 201);
  assert.equal(local.created[1], posted.replace(id, `${id}-local`), "POST: byte for byte");
  // The PATCH answer online, in JS's digits too (the GETs above are the row it wrote).
  assert.equal(patched, online[0].text);
  await closePage(p);
});

test("an axios POST and PATCH offline land in the outbox, reach the server once online, and uninstall restores XHR", { timeout: 60_000 }, async (t) => {
  t.after(() => h.context.setOffline(false));
  const p = await openPage(WRITER);
  const id = `ax-${Date.now()}`;
  await h.context.setOffline(true);
  const offline = await p.page.evaluate(async ([base, token, id]) => {
    const auth = { authorization: `Bearer ${token}` };
    const created = await window.axios.post(`${base}/api/data/accounts`, { id, name: "Axios Ltd", city: "Metz", ownerId: "cleo" }, { headers: auth });
    const patched = await window.axios.patch(`${base}/api/data/accounts/'${id}'`, { city: "Nancy" }, { headers: auth });
    const bad = await window.axios.post(`${base}/api/data/accounts`, "{not json", { headers: { ...auth, "content-type": "application/json" }, validateStatus: () => true });
    // Raw XHR: a POST's upload events, and the binary response types.
    const upload = await new Promise((resolve) => {
      const x = new XMLHttpRequest();
      const events = [];
      for (const t of ["loadstart", "progress", "load", "loadend"]) x.upload.addEventListener(t, () => events.push(t));
      x.responseType = "json";
      x.onloadend = () => resolve({ status: x.status, city: x.response?.city, events });
      x.open("POST", `${base}/api/data/accounts`);
      x.setRequestHeader("authorization", auth.authorization);
      x.setRequestHeader("content-type", "application/json");
      x.send(JSON.stringify({ id: `${id}-x`, name: "Raw XHR", city: "Toul", ownerId: "cleo" }));
    });
    const binary = {};
    for (const type of ["arraybuffer", "blob"]) {
      binary[type] = await new Promise((resolve) => {
        const x = new XMLHttpRequest();
        x.responseType = type;
        x.onload = async () => resolve(type === "blob" ? await x.response.text() : new TextDecoder().decode(x.response));
        x.open("GET", `${base}/api/data/accounts/'${id}-x'`);
        x.setRequestHeader("authorization", auth.authorization);
        x.send();
      });
    }
    const text = await (await fetch(`${base}/api/data/accounts/'${id}-x'`, { headers: auth })).text();
    return {
      upload,
      binary: [binary.arraybuffer === text, binary.blob === text, JSON.parse(text).city],
      created: [created.status, created.data.city, created.headers["x-offline-tables"]],
      patched: [patched.status, patched.data.city],
      bad: [bad.status, bad.data?.error?.code],
      local: (await window.store.table("accounts").get(id))?.city,
      pending: (await window.store.status()).pending,
    };
  }, [SERVER, WRITER, id]);
  assert.deepEqual(offline.created, [201, "Metz", "local"]);
  assert.deepEqual(offline.upload, { status: 201, city: "Toul", events: ["loadstart", "progress", "load", "loadend"] });
  assert.deepEqual(offline.binary, [true, true, "Toul"]);
  assert.deepEqual(offline.patched, [200, "Nancy"]);
  assert.equal(offline.bad[0], 400);
  assert.equal(offline.bad[1], "invalid_argument");
  assert.equal(offline.local, "Nancy");
  assert.ok(offline.pending >= 1, `pending ${offline.pending}`);
  await h.context.setOffline(false);
  const synced = await p.page.evaluate(() => window.store.sync());
  assert.equal(synced.errors, 0, JSON.stringify(synced));
  const onServer = await server(`/api/data/accounts/'${id}'`, WRITER);
  assert.equal(onServer.status, 200, onServer.text);
  assert.equal(JSON.parse(onServer.text).city, "Nancy");
  // Uninstalled: fetch and XMLHttpRequest are the page's own again, and requests go to the network.
  const restored = await p.page.evaluate(async ([base, token, id]) => {
    window.uninstall();
    const r = await window.axios.get(`${base}/api/data/accounts/'${id}'`, { headers: { authorization: `Bearer ${token}` } });
    return { fetch: window.fetch === window.realFetch, xhr: window.XMLHttpRequest === window.RealXHR, from: r.headers["x-offline-tables"] ?? null, city: r.data.city };
  }, [SERVER, WRITER, id]);
  assert.deepEqual(restored, { fetch: true, xhr: true, from: null, city: "Nancy" });
  await p.page.evaluate((n) => { window.store.close(); return window.ot.OfflineStore.deleteDatabase(n); }, p.name);
  await p.page.close();
});
