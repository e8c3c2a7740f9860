// files.js: the local side of file columns (protocol.md §11) over the raw IDBDatabase: hashing a Blob, reading a
// file cell, keeping a downloaded file, the upload queue and the counts. Blobs never cross into wasm; Rust writes the
// row and its outbox entry (storage/files.rs) and calls these for the rest.
//
// `_files`: key [table, key, column], value { meta, blob } (the bytes the row's column names, or named).
// `_uploads`: key [table, key, column], value { op: "put" | "delete", hash, size, type } (one per cell: the latest).

const FILES = "_files", UPLOADS = "_uploads", OUTBOX = "_outbox";

const done = (req) => new Promise((resolve, reject) => { req.onsuccess = () => resolve(req.result); req.onerror = () => reject(req.error); });
const finished = (tx) => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve();
  tx.onerror = () => reject(tx.error);
  tx.onabort = () => reject(tx.error || new DOMException("the transaction was aborted", "AbortError"));
});
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
/** The hash a row's column names, or undefined (a value without a well-formed hash names no file). */
const hashIn = (row, column) => {
  const m = row && row[column];
  return m && typeof m === "object" && typeof m.hash === "string" && /^sha256-[0-9a-f]{64}$/.test(m.hash) ? m.hash : undefined;
};
const rowId = (t, k) => `${t}\u0000${typeof k}\u0000${k}`;

/**
 * The FileMeta of `blob`: its name (a File's; "" for a Blob), type, size and SHA-256 (works in a Service Worker too);
 * a string saying what is wrong when `blob` is not a Blob (a File is one).
 */
export async function fileMeta(blob) {
  if (typeof Blob === "undefined" || !(blob instanceof Blob)) return "the file must be a Blob or a File";
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return { name: typeof blob.name === "string" ? blob.name : "", type: blob.type || "", size: blob.size, hash: "sha256-" + hex(digest) };
}

/** Issues, in `tx` (over `_files` and `_uploads`), the writes of a new file in a cell: its bytes and its upload. */
export function queuePut(tx, table, key, column, meta, blob) {
  tx.objectStore(FILES).put({ meta, blob }, [table, key, column]);
  tx.objectStore(UPLOADS).put({ op: "put", hash: meta.hash, size: meta.size, type: meta.type }, [table, key, column]);
}

/** Issues, in `tx`, the writes of a cleared cell: its bytes go, and a DELETE of the server's is queued. */
export function queueDelete(tx, table, key, column) {
  tx.objectStore(FILES).delete([table, key, column]);
  tx.objectStore(UPLOADS).put({ op: "delete", hash: null, size: 0, type: "" }, [table, key, column]);
}

/** `{ meta, blob }`: the row's metadata in `column` and the local bytes when they are those it names (else no blob). */
export async function readFile(db, table, key, column) {
  const tx = db.transaction([table, FILES], "readonly");
  const [row, rec] = await Promise.all([done(tx.objectStore(table).get(key)), done(tx.objectStore(FILES).get([table, key, column]))]);
  const hash = hashIn(row, column);
  return { meta: hash ? row[column] : undefined, blob: hash && rec && rec.meta && rec.meta.hash === hash ? rec.blob : undefined };
}

/**
 * Keeps downloaded bytes: `answers[i]` (`{ status, blob }`) of `cells[i]` (`{ table, key, column, meta }`), each
 * unless its row no longer names them (a local putFile meanwhile). One transaction; resolves to how many were kept.
 */
export async function keepFiles(db, cells, answers) {
  const got = cells.map((c, i) => [c, answers[i]]).filter(([, a]) => a && a.status === 200 && a.blob);
  if (got.length === 0) return 0;
  const tables = [...new Set(got.map(([c]) => c.table))];
  const tx = db.transaction([...tables, FILES], "readwrite");
  let kept = 0;
  await Promise.all(got.map(([c, a]) => done(tx.objectStore(c.table).get(c.key)).then((row) => {
    if (hashIn(row, c.column) !== c.meta.hash) return;
    tx.objectStore(FILES).put({ meta: row[c.column], blob: a.blob }, [c.table, c.key, c.column]);
    kept++;
  })));
  await finished(tx);
  return kept;
}

/**
 * The uploads ready to go: those whose row has nothing in the outbox (its change pushed and applied first).
 * `[{ table, key, column, op, hash, type, blob }]`; a put whose bytes are gone is dropped from the queue here.
 */
export async function readyUploads(db) {
  const tx = db.transaction([UPLOADS, FILES, OUTBOX], "readwrite");
  const [keys, values, log] = await Promise.all([
    done(tx.objectStore(UPLOADS).getAllKeys()), done(tx.objectStore(UPLOADS).getAll()), done(tx.objectStore(OUTBOX).getAll()),
  ]);
  const busy = new Set();
  for (const e of log) for (const k of e.k || []) busy.add(rowId(e.t, k));
  const out = [];
  const reads = [];
  keys.forEach(([table, key, column], i) => {
    if (busy.has(rowId(table, key))) return;
    const q = values[i];
    const item = { table, key, column, op: q.op, hash: q.hash, type: q.type || "", blob: undefined };
    out.push(item);
    if (q.op === "put") reads.push(done(tx.objectStore(FILES).get([table, key, column])).then((rec) => {
      if (rec && rec.meta && rec.meta.hash === q.hash) item.blob = rec.blob;
      else tx.objectStore(UPLOADS).delete([table, key, column]);
    }));
  });
  await Promise.all(reads);
  await finished(tx);
  return out.filter((u) => u.op !== "put" || u.blob !== undefined);
}

/**
 * Settles the uploads sent (`queue[i]` answered `statuses[i]`, 0 for none) in one transaction: a put's 200/201, a
 * delete's 2xx, and 404 (the row is gone) or a put's 409 (the row names another file now) end it; a put's 413 ends it
 * as a sync error, returned (and kept in `_errors`); anything else (no answer, 5xx, 401) leaves it queued. An upload
 * queued again meanwhile (another putFile of the cell) stays.
 */
export async function settleUploads(db, queue, statuses) {
  const tx = db.transaction([UPLOADS, "_errors"], "readwrite");
  const store = tx.objectStore(UPLOADS);
  const errors = [];
  await Promise.all(queue.map((u, i) => {
    const s = statuses[i] || 0, put = u.op === "put";
    const tooLarge = put && s === 413;
    const ends = tooLarge || s === 404 || (put ? s === 200 || s === 201 || s === 409 : s >= 200 && s < 300);
    if (!ends) return null;
    const cell = [u.table, u.key, u.column];
    return done(store.get(cell)).then((q) => {
      if (q && q.op === u.op && q.hash === u.hash) store.delete(cell);
      if (!tooLarge) return;
      const error = {
        table: u.table, key: u.key, column: u.column, op: "file", row: null, reason: "payload_too_large",
        message: `the server refused the file of '${u.column}': larger than it accepts (413)`,
      };
      tx.objectStore("_errors").add(error);
      errors.push(error);
    });
  }));
  await finished(tx);
  return errors;
}

/**
 * After a pull, for each `[table, keyCol, columns, all]` of `specs` (`columns`: those downloaded on sync; `all`:
 * every file column): drops the local bytes no row names any more (unless an upload of them is queued), and returns
 * the cells of `columns` to download, `[{ table, key, column, meta }]`. One transaction.
 */
export async function filesToFetch(db, specs) {
  const tx = db.transaction([...specs.map((s) => s[0]), FILES, UPLOADS], "readwrite");
  const fetch = [];
  await Promise.all(specs.map(async ([table, keyCol, columns, all]) => {
    const range = IDBKeyRange.bound([table], [table, []]);
    const [rows, fkeys, frecs, queued] = await Promise.all([
      done(tx.objectStore(table).getAll()), done(tx.objectStore(FILES).getAllKeys(range)),
      done(tx.objectStore(FILES).getAll(range)), done(tx.objectStore(UPLOADS).getAllKeys(range)),
    ]);
    const cell = (k, c) => `${typeof k}\u0000${k}\u0000${c}`;
    const have = new Map();
    fkeys.forEach(([, k, c], i) => have.set(cell(k, c), frecs[i]));
    const waiting = new Set(queued.map(([, k, c]) => cell(k, c)));
    const named = new Set();
    for (const row of rows) {
      for (const c of all) {
        const hash = hashIn(row, c);
        if (!hash) continue;
        const id = cell(row[keyCol], c);
        const rec = have.get(id);
        const here = rec && rec.meta && rec.meta.hash === hash;
        if (here) named.add(id);
        else if (columns.includes(c)) fetch.push({ table, key: row[keyCol], column: c, meta: row[c] });
      }
    }
    fkeys.forEach((fk) => {
      const id = cell(fk[1], fk[2]);
      if (!named.has(id) && !waiting.has(id)) tx.objectStore(FILES).delete(fk);
    });
  }));
  await finished(tx);
  return fetch;
}

/**
 * With `kept`, `{ count, bytes, pending }`: the files kept locally and the queued uploads (`usage().files`); without,
 * `{ pending, pendingBytes }` of the queue alone (`status().files`: a recount reads no blob).
 */
export async function fileCounts(db, kept) {
  if (!db.objectStoreNames.contains(FILES)) return kept ? { count: 0, bytes: 0, pending: 0 } : { pending: 0, pendingBytes: 0 };
  const tx = db.transaction([FILES, UPLOADS], "readonly");
  const [files, queued] = await Promise.all([kept ? done(tx.objectStore(FILES).getAll()) : [], done(tx.objectStore(UPLOADS).getAll())]);
  let bytes = 0, pendingBytes = 0;
  for (const f of files) bytes += f.blob ? f.blob.size : 0;
  for (const q of queued) pendingBytes += q.op === "put" ? q.size || 0 : 0;
  return kept ? { count: files.length, bytes, pending: queued.length } : { pending: queued.length, pendingBytes };
}

/** A URL's key segment as a key ('a1' quoted with '' for a quote, or a number), or undefined. */
function keyOf(seg) {
  if (/^'.*'$/s.test(seg) && seg.length >= 2) return seg.slice(1, -1).replace(/''/g, "'");
  const n = Number(seg);
  return seg !== "" && /^-?[0-9.eE+-]+$/.test(seg) && Number.isFinite(n) ? n : undefined;
}

/**
 * The interceptor's answer to `GET {files}{table}/{key}/{column}` (`url`): a 200 Response with the local bytes when
 * the store has those the row names, else undefined (the request goes to the network).
 */
export async function fileResponse(db, files, url) {
  try {
    const parts = url.slice(files.length).split(/[?#]/)[0].split("/").map(decodeURIComponent);
    if (parts.length !== 3 || parts[0].startsWith("_") || !db.objectStoreNames.contains(parts[0])) return undefined;
    const key = keyOf(parts[1]);
    if (key === undefined) return undefined;
    const { meta, blob } = await readFile(db, parts[0], key, parts[2]);
    if (!blob) return undefined;
    const headers = { "x-offline-tables": "local", "content-type": meta.type || "application/octet-stream", etag: `"${meta.hash}"` };
    return new Response(blob, { status: 200, headers });
  } catch (_) {
    return undefined;
  }
}
