// fetch.js: the fetch half of store.interceptRequests and the pieces both halves share: where relative URLs resolve,
// the prefix as an absolute URL, the globalThis.fetch wrapper (requests for which `matches` holds go to `answer`, the
// others, or those it leaves undefined, to the original fetch) and the local Response.
// What fetch resolves relative URLs against: the document's base URL (a <base> element
// counts), or the worker's location.
const base = () =>
  (globalThis.document && globalThis.document.baseURI) || (globalThis.location ? globalThis.location.href : undefined);
// The prefix as an absolute URL (origin + path ending in "/"), or null.
export function resolvePrefix(prefix) {
  let u;
  try { u = new URL(prefix, base()); } catch (_) { return null; }
  if ((u.protocol !== "http:" && u.protocol !== "https:") || u.search || u.hash) return null;
  return u.origin + (u.pathname.endsWith("/") ? u.pathname : u.pathname + "/");
}
// fetch() upper-cases these methods only; any other ("patch") is sent as written.
const NORMAL = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
const normalize = (m) => (NORMAL.includes(m.toUpperCase()) ? m.toUpperCase() : m);
// The method and absolute URL a fetch(input, init) call would send, without building a
// Request (which would take the body of a Request given as input); null if invalid.
function target(input, init) {
  let url, method = "GET";
  if (typeof Request !== "undefined" && input instanceof Request) {
    url = input.url;
    method = input.method;
  } else {
    try { url = new URL(String(input), base()).href; } catch (_) { return null; }
  }
  if (init && init.method !== undefined && init.method !== null) method = normalize(String(init.method));
  return [method, url];
}
export function installFetch(matches, answer) {
  const g = globalThis;
  const original = g.fetch;
  let active = true;
  const fetch = function fetch(input, init) {
    const t = active ? target(input, init) : null;
    if (t === null || !matches(t[0], t[1])) return original.apply(this, arguments);
    let req;
    // Arguments fetch() itself refuses reject the same way (a TypeError).
    try { req = new Request(input, init); } catch (e) { return Promise.reject(e); }
    if (req.signal && req.signal.aborted) {
      return Promise.reject(req.signal.reason !== undefined ? req.signal.reason : new DOMException("The operation was aborted.", "AbortError"));
    }
    const self = this;
    return answer(req).then((res) => (res === undefined ? original.call(self, req) : res));
  };
  g.fetch = fetch;
  return function uninstall() {
    active = false;
    // A wrapper installed after this one keeps calling it: it then only passes through.
    if (g.fetch === fetch) g.fetch = original;
  };
}
export function respond(status, body, etag, location, applied) {
  const headers = new Headers({ "x-offline-tables": "local" });
  if (body !== undefined) headers.set("content-type", "application/json");
  if (etag !== undefined) headers.set("etag", etag);
  if (location !== undefined) headers.set("location", location);
  if (applied !== undefined) headers.set("preference-applied", applied);
  return new Response(body === undefined ? null : body, { status, headers });
}
