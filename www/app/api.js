// api.js: the demo's data layer: REST calls to the data API (/api/data/…, docs/protocol.md §8), made with fetch() or, when the device chose it (`?client=axios` once, kept in localStorage), with axios as it comes (XMLHttpRequest). Online they reach the server; once the store intercepts requests, the same calls are answered from the local store.
import axios from "axios";

let token = null;
let afterWrite = () => {};

/** The bearer token sent with every request, and a hook run after each successful write. */
export function configure(options) {
  token = options.token;
  afterWrite = options.afterWrite ?? afterWrite;
}

/** A failed request: `status` 0 and code `network` when no answer came (offline). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  get offline() {
    return this.status === 0;
  }
}

const CLIENT_KEY = "field-service.client";
/** "axios" or "fetch": which HTTP client the data layer uses on this device. */
export function httpClient() {
  const asked = new URLSearchParams(location.search).get("client");
  if (asked === "axios" || asked === "fetch") localStorage.setItem(CLIENT_KEY, asked);
  return localStorage.getItem(CLIENT_KEY) === "axios" ? "axios" : "fetch";
}

/** One request with fetch: `{ status, ok, statusText, data }`, or null when no answer came. */
async function withFetch(method, path, headers, body) {
  try {
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    return { status: res.status, ok: res.ok, statusText: res.statusText, data };
  } catch {
    return null;
  }
}

/** The same with axios's default browser adapter (XMLHttpRequest). */
async function withAxios(method, path, headers, body) {
  try {
    const res = await axios.request({ method, url: path, headers, data: body, validateStatus: () => true });
    const data = res.status === 204 || res.data === "" ? null : res.data;
    return { status: res.status, ok: res.status >= 200 && res.status < 300, statusText: res.statusText, data };
  } catch {
    return null;
  }
}

async function request(method, path, body) {
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await (httpClient() === "axios" ? withAxios : withFetch)(method, path, headers, body);
  if (res === null) throw new ApiError(0, "network", "No connection: the server could not be reached.");
  if (!res.ok) {
    throw new ApiError(res.status, res.data?.error?.code ?? `http_${res.status}`, res.data?.error?.message ?? res.statusText);
  }
  return res.data;
}

/** A string key in a URL is quoted ('…', with ' doubled), so keys that look like numbers stay strings. */
const keyPath = (key) => encodeURIComponent(typeof key === "string" ? `'${key.replaceAll("'", "''")}'` : String(key));

/** An OData string literal: `'O''Brien'`. */
export const literal = (value) => (typeof value === "string" ? `'${value.replaceAll("'", "''")}'` : JSON.stringify(value));

/**
 * `GET /api/data/{table}` with `{ filter, orderby, top, skip, select, count, expand }` (OData text, see protocol §8);
 * answers `{ value, count? }`.
 */
export function list(table, options = {}) {
  const params = Object.entries(options)
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => `$${k}=${encodeURIComponent(Array.isArray(v) ? v.join(",") : String(v))}`);
  return request("GET", `/api/data/${table}${params.length ? `?${params.join("&")}` : ""}`);
}

/** `GET /api/data/{table}/{key}`: the row, or null when it is missing or out of scope. */
export async function get(table, key) {
  try {
    return await request("GET", `/api/data/${table}/${keyPath(key)}`);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

/** `PATCH /api/data/{table}/{key}` with the changed columns; answers the new row. */
export async function patch(table, key, columns) {
  const row = await request("PATCH", `/api/data/${table}/${keyPath(key)}`, columns);
  afterWrite(table, key);
  return row;
}
