// files.js: the HTTP requests of file columns (protocol.md §11), from JavaScript where the Blob is: PUT with the bytes
// and X-File-Hash, GET of the bytes, DELETE; the bearer token as for sync requests, a timeout through AbortController.

/** The URL segment of a key: strings quoted ('a1', quotes doubled), numbers as they are; percent-encoded. */
function keySegment(k) {
  return encodeURIComponent(typeof k === "string" ? `'${k.replace(/'/g, "''")}'` : String(k));
}

/** The URL of a cell's file under the server's base URL. */
function fileUrl(base, table, key, column) {
  return `${base}/api/files/${encodeURIComponent(table)}/${keySegment(key)}/${encodeURIComponent(column)}`;
}

/**
 * Sends `method` to the file URL; resolves to `{ status, blob }` (status 0: no answer — offline, a timeout; blob: a
 * GET's bytes on 200). Never rejects.
 */
async function fileRequest(method, url, token, blob, hash, type, timeoutMs) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (method === "PUT") {
      headers["x-file-hash"] = hash;
      headers["content-type"] = type || "application/octet-stream";
    }
    const resp = await fetch(url, { method, headers, body: method === "PUT" ? blob : undefined, signal: ctl.signal, cache: "no-store" });
    const out = { status: resp.status, blob: undefined };
    if (method === "GET" && resp.status === 200) out.blob = await resp.blob();
    else await resp.arrayBuffer().catch(() => {});
    return out;
  } catch (_) {
    return { status: 0, blob: undefined };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sends the queued uploads and deletes (`{ table, key, column, op, hash, type, blob }`), one at a time; resolves to
 * their statuses, in order (0: not answered; after one goes unanswered, the rest are not sent).
 */
export async function sendFiles(base, token, timeoutMs, queue) {
  const out = [];
  for (const u of Array.isArray(queue) ? queue : []) {
    const put = u.op === "put";
    const r = out.includes(0) ? { status: 0 } : await fileRequest(put ? "PUT" : "DELETE", fileUrl(base, u.table, u.key, u.column),
      token, u.blob, u.hash, u.type, timeoutMs);
    out.push(r.status);
  }
  return out;
}

/** GETs the files of `cells` (`{ table, key, column }`), one at a time: `[{ status, blob }]`, as `sendFiles` stops. */
export async function getFiles(base, token, timeoutMs, cells) {
  const out = [];
  let gone = false;
  for (const c of cells) {
    const r = gone ? { status: 0, blob: undefined } : await fileRequest("GET", fileUrl(base, c.table, c.key, c.column), token, undefined, "", "", timeoutMs);
    gone = r.status === 0;
    out.push(r);
  }
  return out;
}
