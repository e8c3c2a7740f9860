// old_layout.js: a database as internal schema 4 left it (before file columns: no `_files`, no `_uploads`), built by
// hand at IndexedDB version `profile.version * 10 + 4`, with `rows` in `table` and the profile in `_meta`.

export function makeLayout4(name, profileText, table, keyPath, rows) {
  const profile = JSON.parse(profileText);
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, profile.version * 10 + 4);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore("_outbox", { keyPath: "seq", autoIncrement: true });
      db.createObjectStore("_base");
      db.createObjectStore("_meta");
      db.createObjectStore("_conflicts", { keyPath: "id", autoIncrement: true });
      db.createObjectStore("_errors", { keyPath: "id", autoIncrement: true });
      const t = db.createObjectStore(table, { keyPath });
      for (const r of rows) t.put(r);
      req.transaction.objectStore("_meta").put(profileText, "profile");
    };
    req.onsuccess = () => { req.result.close(); resolve(); };
    req.onerror = () => reject(req.error);
  });
}

/** The object store names of the database `name`. */
export function storeNames(name) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name);
    req.onsuccess = () => { const names = Array.from(req.result.objectStoreNames); req.result.close(); resolve(names); };
    req.onerror = () => reject(req.error);
  });
}
