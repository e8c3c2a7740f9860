// usage.ts: type-level test of the generated package: every API call with correct types, and wrong types rejected (tsc --noEmit -p tests/ts).
import { OfflineStore, Table } from "../../pkg";
import type {
  ChangeEvent,
  SyncErrorReason,
  ChangeSource,
  ErrorCode,
  InterceptOptions,
  JsonValue,
  Key,
  OfflineTablesError,
  OpenOptions,
  PendingChange,
  Profile,
  Query,
  Row,
  RowMeta,
  Conflict,
  FileMeta,
  SyncError,
  SyncResult,
  SyncStatus,
} from "../../pkg";

const profile: Profile = {
  version: 1,
  tables: {
    accounts: {
      key: "id",
      indexes: ["ownerId", "city"],
      conflict: "merge",
      syncIntervalSeconds: 300,
      scope: { owner: "ownerId" },
    },
    workorders: {
      key: "id",
      indexes: ["accountId", "status", "modifiedOn"],
      conflict: "manual",
      scope: {
        related: { table: "accounts", column: "accountId" },
        modifiedWithinDays: { column: "modifiedOn", days: 30 },
      },
    },
    products: { key: "id", readOnly: true, scope: "all" },
    visits: { key: "id", columns: ["ownerId", "status"], scope: { owner: "ownerId" } },
  },
};

function isOfflineTablesError(err: unknown): err is OfflineTablesError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === "string";
}

export async function usage(): Promise<void> {
  const options: OpenOptions = { name: "usage-db", profile };
  const store: OfflineStore = await OfflineStore.open(options);
  const name: string = store.name;
  const storeProfile: Profile = store.profile;
  const version: number = storeProfile.tables["accounts"] ? storeProfile.version : 0;

  const accounts: Table = store.table("accounts");
  const tableName: string = accounts.name;

  const key: Key = await accounts.put({ id: "A1", name: "Acme", city: "Lyon", tags: ["a", "b"], geo: { lat: 45.7 } });
  await accounts.bulkPut([
    { id: "A2", name: "Blue", city: "Paris", ownerId: "u1" },
    { id: 3, name: "Cedar", city: null, active: true },
  ]);
  const one: Row | undefined = await accounts.get(key);
  const byNumber: Row | undefined = await accounts.get(3);
  const many: (Row | undefined)[] = await accounts.getMany(["A1", "A2", 3]);
  const updated: Row = await accounts.update("A1", { city: "Lille" });
  const cityValue: JsonValue | undefined = updated["city"];

  const all: Row[] = await accounts.query();
  const q: Query = {
    where: { city: "Lyon", name: { startsWith: "Ac" }, ownerId: { in: ["u1", "u2"] }, or: [{ city: { contains: "ar" } }] },
    orderBy: [["name", "desc"], "city"],
    limit: 10,
    offset: 0,
    select: ["id", "name"],
  };
  const some: Row[] = await accounts.query(q);
  const byString: Row[] = await accounts.query("$filter=city eq 'Paris'&$orderby=name desc&$top=50&$skip=0&$select=id,name");
  const ordered: Row[] = await accounts.query({ where: { modifiedOn: { gte: "2024-01-01", lt: "2025-01-01" } }, orderBy: "name" });
  const total: number = await accounts.count();
  const matching: number = await accounts.count({ where: { city: { ne: "Paris" } } });
  const matchingByString: number = await accounts.count("$filter=city eq 'Paris'");

  const meta: RowMeta | undefined = await accounts.meta("A1");
  if (meta) {
    const serverVersion: string | null = meta.version;
    const flags: boolean = meta.pending || meta.deleted;
    void serverVersion;
    void flags;
  }

  await accounts.delete("A2");
  await accounts.bulkDelete([3, "A1"]);

  const changes: PendingChange[] = await store.pending();
  for (const change of changes) {
    const op: "insert" | "update" | "delete" = change.op;
    const row: Row | null = change.row;
    const base: Row | null = change.baseRow;
    const baseVersion: string | null = change.baseVersion;
    const changeKey: Key = change.key;
    const changeTable: string = change.table;
    void [op, row, base, baseVersion, changeKey, changeTable];
  }
  const pendingCount: number = await store.pendingCount();

  const unsubscribe: () => void = store.on("change", (event: ChangeEvent) => {
    const source: ChangeSource = event.source;
    const keys: Key[] = event.keys;
    const table: string = event.table;
    void [source, keys, table];
  });
  unsubscribe();

  try {
    store.table("nope");
  } catch (err) {
    if (isOfflineTablesError(err)) {
      const code: ErrorCode = err.code;
      void code;
    }
  }
  await accounts.get("missing").catch((err: unknown) => {
    if (isOfflineTablesError(err) && err.code === "quota_exceeded") throw err;
  });

  store.close();
  await OfflineStore.deleteDatabase("usage-db");

  // Sync with the reference server.
  const synced = await OfflineStore.open({
    name: "synced-db",
    profile,
    server: { url: "https://example.com", token: "t", getToken: async () => "fresh" },
    sync: { intervalSeconds: 60 },
  });
  const result: SyncResult = await synced.sync();
  const outcome: "completed" | "offline" | "failed" = result.result;
  const moved: number = result.pushed + result.pulled + result.conflicts + result.errors + result.durationMs;
  void moved;
  const status: SyncStatus | null = synced.status();
  const off: () => void = synced.on("status", (s: SyncStatus) => {
    const state: "idle" | "syncing" | "offline" | "error" | "unauthorized" = s.state;
    const last: number | null = s.lastSyncAt;
    const counts: number = s.pending + s.conflicts + s.errors + s.files.pending + s.files.pendingBytes;
    void [state, last, counts];
  });
  off();
  synced.on("conflict", (c) => { const local: Row | null = c.local; void local; });
  synced.on("syncerror", (e) => { const message: string = e.message; void message; });
  const conflicts: Conflict[] = await synced.conflicts();
  for (const c of conflicts) {
    const local: Row | null = c.local;
    const server: Row | null = c.server;
    await synced.resolveConflict(c.id, "local");
    await synced.resolveConflict(c.id, "server");
    await synced.resolveConflict(c.id, { ...(server ?? {}), ...(local ?? {}) });
  }
  const errors: SyncError[] = await synced.syncErrors();
  for (const e of errors) {
    const reason: "validation" | "permission" | "read_only" | "other" | "payload_too_large" | "conflict" = e.reason;
    const named: SyncErrorReason = reason;
    // @ts-expect-error a unit's error is never "transaction": it names its culprit's reason
    const never: SyncError["reason"] = "transaction";
    void [named, never];
    const fileColumn: string | undefined = e.column;
    void [reason, fileColumn];
    await synced.retrySyncError(e.id);
    await synced.discardSyncError(e.id);
  }
  void [outcome, status];

  // The app's own REST requests, answered locally.
  const intercept: InterceptOptions = { prefix: "/api/data/" };
  const uninstall: () => void = synced.interceptFetch(intercept);
  const local: Response = await fetch("/api/data/accounts?$filter=city eq 'Lyon'&$count=true");
  const listing = (await local.json()) as { value: Row[]; count?: number };
  const fromStore: boolean = local.headers.get("x-offline-tables") === "local";
  uninstall();
  synced.interceptFetch()();
  synced.interceptFetch({ prefix: "https://api.example.com/api/data/" })();
  // The same handler for a Service Worker's fetch event.
  const answered: Response | undefined = await synced.handleFetch(new Request("/api/data/accounts/A1"));
  const viaPrefix: Response | undefined = await synced.handleFetch(new Request("https://x/y/t"), { prefix: "https://x/y/" });
  const response: Response = answered ?? (await fetch("/api/data/accounts/A1"));
  void [listing, fromStore, viaPrefix, response];

  // File columns.
  const photos: Table = synced.table("inspections");
  const fileMeta: FileMeta = await photos.putFile("i1", "photo", new Blob(["x"], { type: "image/png" }));
  const hash: string = fileMeta.hash;
  const sized: number = fileMeta.size;
  const blob: Blob | undefined = await photos.getFile("i1", "photo");
  await photos.deleteFile(1, "photo");
  const used = await synced.usage();
  const kept: number = used.files.count + used.files.bytes + used.files.pending;
  void [hash, sized, blob, kept];

  void [name, version, tableName, one, byNumber, many, cityValue, all, some, byString, ordered, total, matching,
    matchingByString, pendingCount];
}

// ---- wrong types must be rejected ----------------------------------------------

export async function rejected(store: OfflineStore, table: Table): Promise<void> {
  // @ts-expect-error table names are strings
  store.table(1);
  // @ts-expect-error limit is a number
  await table.query({ limit: "x" });
  // @ts-expect-error a key is a string or a number
  await table.get({});
  // @ts-expect-error open needs a name
  await OfflineStore.open({ profile });
  // @ts-expect-error a profile needs a version
  await OfflineStore.open({ name: "x", profile: { tables: {} } });
  // @ts-expect-error unknown conflict policy
  await OfflineStore.open({ name: "x", profile: { version: 1, tables: { t: { key: "id", conflict: "last-wins" } } } });
  // @ts-expect-error only "change" and "status" events exist
  store.on("sync", () => {});
  // @ts-expect-error a status listener gets a SyncStatus, not a ChangeEvent
  store.on("status", (e: ChangeEvent) => void e);
  // @ts-expect-error a conflict is resolved with "local", "server" or a row
  await store.resolveConflict(1, "mine");
  // @ts-expect-error server.url is a string
  await OfflineStore.open({ name: "x", profile, server: { url: 1 } });
  // @ts-expect-error a row is an object, not a number
  await table.put(42);
  // @ts-expect-error rows hold JSON values only
  await table.put({ id: "x", when: new Date() });
  // @ts-expect-error bulkPut takes an array of rows
  await table.bulkPut({ id: "x" });
  // @ts-expect-error getMany takes an array of keys
  await table.getMany("x");
  // @ts-expect-error update needs a patch
  await table.update("x");
  // @ts-expect-error count resolves to a number
  const n: string = await table.count();
  // @ts-expect-error get may resolve to undefined
  const row: Row = await table.get("x");
  // @ts-expect-error name is read-only
  store.name = "other";
  // @ts-expect-error orderBy direction is "asc" or "desc"
  await table.query({ orderBy: [["name", "down"]] });
  // @ts-expect-error the prefix is a string
  store.interceptFetch({ prefix: 1 });
  // @ts-expect-error interceptFetch returns the uninstall function, not a promise
  await store.interceptFetch().then(() => {});
  // @ts-expect-error handleFetch takes a Request, not a URL string
  await store.handleFetch("/api/data/accounts");
  // @ts-expect-error handleFetch may resolve to undefined (not ours)
  const sure: Response = await store.handleFetch(new Request("/api/data/accounts"));
  void [n, row, sure];
}
