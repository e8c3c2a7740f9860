// files.js: the file tests' view from outside the store: Blobs of known bytes, their text, and the server's file
// endpoints called directly (protocol.md §11), with the bearer token of a user.

/** A Blob of `n` bytes: `text` repeated (cut to n), with `type`. */
export function blobOf(text, n, type) {
  const s = text.repeat(Math.ceil(n / text.length)).slice(0, n);
  return new Blob([s], { type });
}

/** The text of a Blob (a promise). */
export function blobText(b) { return b.text(); }

/** True when `v` is a Blob. */
export function isBlob(v) { return v instanceof Blob; }

/** `method` on the server's file URL as `token`'s user: `{ status, text, etag }` (PUT sends `body` with `hash`). */
export async function serverFile(url, token, method, body, hash) {
  const headers = { authorization: `Bearer ${token}` };
  if (hash) headers["x-file-hash"] = hash;
  const resp = await fetch(url, { method, headers, body, cache: "no-store" });
  return { status: resp.status, text: await resp.text(), etag: resp.headers.get("etag") };
}
