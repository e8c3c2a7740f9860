// intercept.js: requests through whatever globalThis.fetch is now, recorded as the page sees their answers
// (tests/browser/api/intercept.rs).

async function record(r) {
  const text = await r.text();
  return JSON.stringify({
    status: r.status, local: r.headers.get("x-offline-tables"), etag: r.headers.get("etag"),
    location: r.headers.get("location"), type: r.headers.get("content-type"), text,
  });
}
// fetch(url, { method, body, headers }) through whatever globalThis.fetch is now.
export async function call(url, method, body, token) {
  const headers = {};
  if (token) headers.authorization = "Bearer " + token;
  const init = { method, headers };
  if (body !== undefined) { init.body = body; headers["content-type"] = "application/json"; }
  return record(await fetch(url, init));
}
// The other forms of fetch's first argument: a Request, a URL object.
export async function callRequest(url) { return record(await fetch(new Request(url))); }
export async function callUrl(url) { return record(await fetch(new URL(url))); }
export async function callAborted(url) {
  const c = new AbortController();
  c.abort();
  try { await fetch(url, { signal: c.signal }); return "resolved"; } catch (e) { return e.name; }
}
// fetch(relative) under a <base href> element, which fetch resolves against.
export async function callUnderBase(href, relative) {
  const b = document.createElement("base");
  b.href = href;
  document.head.prepend(b);
  try { return await record(await fetch(relative)); } finally { b.remove(); }
}
export function currentFetch() { return globalThis.fetch; }
export function makeRequest(url, method, body) {
  return new Request(url, body === undefined ? { method } : { method, body });
}
export async function describe(response) {
  return response === undefined ? "undefined" : record(response);
}
