// offline-tables: TypeScript types of the public API (embedded into the generated .d.ts).
// The classes are declared here too, typed by the app's schema (`OfflineStore<Schema>`,
// `Table<R>`): scripts/typings.mjs (run by scripts/build.sh) replaces wasm-bindgen's untyped
// declarations of them with these, after checking that these name every member the wasm has.

// Only what is exported below exists for an importer (keyColumn is a type-level brand).
export {};

/** A JSON value as stored in a row. Rows must round-trip through JSON unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** A row: the app's own plain object. No hidden fields are added to it. */
export type Row = { [column: string]: JsonValue };
/** A primary key: a string or a finite number. */
export type Key = string | number;

/** How conflicts on a table are settled when syncing. */
export type ConflictPolicy = "server-wins" | "client-wins" | "merge" | "manual";

/** Which rows of a table go offline for a user (enforced by the server). */
export type Scope =
  | "all"
  | {
      owner?: string;
      related?: { table: string; column: string };
      modifiedWithinDays?: { column: string; days: number };
      filter?: string;
      anyOf?: Scope[];
    };

export interface TableProfile {
  /** Primary key column (string or number values). */
  key: string;
  /** Columns with an IndexedDB index, used by queries. */
  indexes?: string[];
  conflict?: ConflictPolicy;
  syncIntervalSeconds?: number;
  readOnly?: boolean;
  scope?: Scope;
  /**
   * The columns the device keeps besides the key (default: every column). The server
   * sends only these and keeps the others; a local write naming another column rejects
   * with `invalid_argument`. Indexes must be among them.
   */
  columns?: string[];
  /** File columns (putFile, getFile, deleteFile): "sync" downloads the files with the rows,
   * "view" when getFile asks; maxBytes (default 10 MiB) is checked by putFile too. */
  files?: { [column: string]: { download?: "sync" | "view"; maxBytes?: number } };
  /** "server": the server numbers this table's rows. `insert(row)` without a key gives the
   * row a temporary key (`"~tmp:…"`) until the push's answer replaces it everywhere. */
  keyAssigned?: "server";
  /** The server's key format for `keyAssigned: "server"`, e.g. "WO-{n:05}" (default: an
   * integer sequence per table). */
  keyPattern?: string;
  /** Columns holding another table's key (column → table): a temporary key in them is
   * rewritten with the real one. `related` scopes count as references too. */
  references?: { [column: string]: string };
}

/** The offline profile: which tables go offline, and how. */
export interface Profile {
  /** Schema version: opening with a higher version upgrades the local database. */
  version: number;
  tables: { [table: string]: TableProfile };
}

export interface ServerOptions {
  /** Base URL of the sync server, e.g. "https://example.com". */
  url: string;
  /** Bearer token sent with every request. */
  token?: string;
  /** Called once after a 401 to get a fresh token. */
  getToken?: () => string | Promise<string>;
  /** A request with no answer after this many milliseconds fails and is retried (default 30000). */
  timeoutMs?: number;
}

export interface SyncOptions {
  /**
   * Sync by itself (default true): at open, shortly after local writes, when the network
   * comes back, when the page becomes visible, and every `intervalSeconds`. When false,
   * only `store.sync()` syncs.
   */
  auto?: boolean;
  /**
   * Seconds between syncs while online (default: the profile's shortest
   * syncIntervalSeconds; one sync serves every table).
   */
  intervalSeconds?: number;
}

export interface OpenOptions {
  /** IndexedDB database name. */
  name: string;
  /** The offline profile; with a server it may be left out: the server's is fetched and kept. */
  profile?: Profile;
  /** Sync with this server in the background (push local changes, pull the server's). */
  server?: ServerOptions;
  sync?: SyncOptions;
  /**
   * The signed-in user this store is for. The first open with a user binds the store to
   * it (a store that synced is bound to the user of its first pull's token); opening a
   * store bound to another user rejects with `user_mismatch` before anything is read,
   * so one person's rows are never served to the next person on the same browser.
   * Delete the other user's store with `OfflineStore.deleteDatabase(name)`, or use a
   * database name per user.
   */
  user?: string;
}

/** A conflict kept for the app (tables with `conflict: "manual"`). */
export interface Conflict {
  id: number;
  table: string;
  key: Key;
  /** The server's row the local change was made against (null: none). */
  base: Row | null;
  /** The local row as pushed (null: deleted locally). */
  local: Row | null;
  /** The server's current row (null: deleted on the server). */
  server: Row | null;
  serverVersion: string | null;
}

/** Why a change was refused. "conflict": a transaction refused as a whole because one of
 * its changes met a conflict its table's policy settles for the server. */
export type SyncErrorReason =
  | "validation" | "permission" | "read_only" | "other" | "payload_too_large" | "conflict";

/** A change the server refused for good; the row shows the server's state again. */
export interface SyncError {
  id: number;
  table: string;
  key: Key;
  /** "file": the server refused a file's bytes (its row's change was applied); not retried. */
  op: MutationOp | "file";
  row: Row | null;
  /** The file column, for op "file". */
  column?: string;
  reason: SyncErrorReason;
  message: string;
  /** The transaction the refused change was part of: the server refused all its changes
   * together, and this one error stands for them. */
  unit?: string;
  /** For a transaction: every change of it that was refused. */
  changes?: { table: string; key: Key; op: MutationOp; row: Row | null }[];
}

/** A file column's value: the file's metadata (protocol §11). The bytes travel apart. */
export interface FileMeta {
  /** A File's name; "" for a Blob. */
  name: string;
  /** A MIME type; "" when unknown. */
  type: string;
  size: number;
  /** "sha256-" and 64 lowercase hex digits of the bytes. */
  hash: string;
}

export type SyncState = "idle" | "syncing" | "offline" | "error" | "unauthorized";

export type SyncErrorCode =
  | "network" | "timeout" | "server" | "unauthorized" | "malformed" | "storage" | "quota_exceeded"
  /** The token is another user's than the store's: nothing was pushed or pulled. */
  | "user_mismatch";

/** The first download, table by table. */
export interface InitialSync {
  /** True once the first download reached its end (kept across launches). */
  done: boolean;
  tables: {
    [table: string]: {
      /** Rows downloaded so far. */
      rows: number;
      /** Rows the server said the download holds (null: the server gave no estimate). */
      total: number | null;
      done: boolean;
    };
  };
  /** Files of `download: "sync"` columns: downloaded so far, and to download (null until
   * the rows are in). The download is done once its rows and these files are. */
  files: { done: number; total: number | null };
}

export interface SyncStatus {
  online: boolean;
  state: SyncState;
  /** Milliseconds since the epoch of the last complete sync. */
  lastSyncAt: number | null;
  lastError: string | null;
  /** A stable code for lastError, to act on: "quota_exceeded" means the first download
   * would not fit (or a page did not), and nothing was half-written. */
  errorCode: SyncErrorCode | null;
  /** Rows with local changes not yet pushed. Counts a put's, bulkPut's or update's rows
   * once its promise has resolved; a delete shows at the next background recount. */
  pending: number;
  /** Conflicts kept for the app (see conflicts()). */
  conflicts: number;
  /** Changes the server refused (see syncErrors()). */
  errors: number;
  /** Queued file uploads and deletes (putFile, deleteFile), and the bytes of the uploads. */
  files: { pending: number; pendingBytes: number };
  /** The first download's progress. */
  initialSync: InitialSync;
}

/** What the store holds (`usage()`), for a status page. */
export interface StorageUsage {
  /** Per table: its rows, and their size as JSON in bytes (UTF-16 code units). */
  tables: { [table: string]: { rows: number; bytes: number } };
  /** Per table: when its last pull ran to its end (ms since the epoch); absent before. */
  lastSyncAt: { [table: string]: number };
  /** Files kept here (their count and bytes), and the uploads and deletes still queued. */
  files: { count: number; bytes: number; pending: number };
  /** The browser's estimate for the whole origin, in bytes (null when it gives none). */
  usage: number | null;
  quota: number | null;
}

/** What `sync()` pulls. */
export interface SyncRequest {
  /** These tables and those that pull with them (a parent and its `related` children);
   * default: every table. Pushes always go, whatever the tables. */
  tables?: string[];
}

export interface SyncResult {
  /** "completed": pushed and pulled everything; "offline": nothing attempted; "failed": retried later. */
  result: "completed" | "offline" | "failed";
  status: SyncStatus;
  /** Mutations the server applied in the cycle(s) this call waited for. */
  pushed: number;
  /** Changes pulled (upserts and removals). */
  pulled: number;
  /** Conflicts met (settled by policy or kept for the app). */
  conflicts: number;
  /** Changes the server refused. */
  errors: number;
  /** Milliseconds from the first request to the answer. */
  durationMs: number;
}

export interface Operators {
  eq?: JsonValue;
  ne?: JsonValue;
  gt?: JsonValue;
  gte?: JsonValue;
  lt?: JsonValue;
  lte?: JsonValue;
  in?: JsonValue[];
  startsWith?: string;
  endsWith?: string;
  contains?: string;
  /** Compare lower-cased (eq, ne, in, startsWith, endsWith, contains; strings only). */
  ignoreCase?: boolean;
}

/** Column conditions, AND-ed; `or` holds alternatives. A bare value means equality. */
export type Where = { or?: Where[] } & { [column: string]: JsonValue | Operators | Where[] | undefined };

export type OrderBy = string | Array<[string, "asc" | "desc"] | string>;

export interface QueryObject {
  where?: Where;
  orderBy?: OrderBy;
  limit?: number;
  offset?: number;
  select?: string[];
}

/** A query object, or the same query as an OData-style string:
 *  `"$filter=city eq 'Paris'&$orderby=name desc&$top=50&$skip=0&$select=id,name"`. */
export type Query = QueryObject | string;

export interface RowMeta {
  /**
   * The server state the row is known at: the version its last push settled at, or,
   * for a row downloaded and not edited since, the checkpoint of the pulls applied (at
   * or after the row's own version: versions are not kept row by row). For a pending
   * change, the version it was made against. Null until the server has seen the row.
   */
  version: string | null;
  /** True when the row has local changes not yet pushed. */
  pending: boolean;
  /** True when the row was deleted locally and the delete is not yet pushed. */
  deleted: boolean;
}

export type MutationOp = "insert" | "update" | "delete";

export interface PendingChange {
  table: string;
  key: Key;
  op: MutationOp;
  /** The row to send (null for a delete). */
  row: Row | null;
  /** The server version the change was made against (null for an insert). */
  baseVersion: string | null;
  /** The server's row the change was made against (null for an insert). */
  baseRow: Row | null;
}

export type ChangeSource = "local" | "remote" | "tab";

export interface ChangeEvent {
  table: string;
  keys: Key[];
  source: ChangeSource;
  /** Temporary keys the server replaced with the keys it assigned (`keyAssigned: "server"`). */
  renamed?: { from: Key; to: Key }[];
}

export type ErrorCode =
  | "invalid_argument"
  | "invalid_profile"
  | "unknown_table"
  | "not_found"
  | "read_only"
  | "quota_exceeded"
  | "storage"
  | "closed"
  | "network"
  | "unauthorized"
  | "conflict"
  | "user_mismatch"
  /** putFile: the file is above the column's maxBytes (nothing was stored). */
  | "payload_too_large"
  | "internal";

/** Every rejected promise of this package carries an Error with a stable `code`. */
export interface OfflineTablesError extends Error {
  code: ErrorCode;
}


// ---- Typed tables ---------------------------------------------------------------------
// `OfflineStore.open<Schema>(…)` types each table by its row type: `store.table("accounts")`
// is a `Table<Account>` whose methods take and give `Account`s, and whose queries name its
// columns. Without a schema every row is a `Row`, as before.

/** A temporary key: what `insert` gives a row of a `keyAssigned: "server"` table offline,
 * until the push's answer brings the server's key (see ChangeEvent.renamed). */
export type TempKey = `~tmp:${string}`;

/** The brand `Keyed` puts on a row type; it exists in types only, never in a row. */
declare const keyColumn: unique symbol;

/**
 * A schema's row type with its key column named: `Keyed<Account, "id">` types `get` and
 * `delete` by `Account["id"]` and keeps the key out of `update`'s patch. For a
 * `keyAssigned: "server"` table, `Keyed<WorkOrder, "id", "server">`: `insert` may leave
 * the key out, and the key column may hold a `TempKey` until the server's key replaces it.
 * A plain row type (no `Keyed`) takes any `Key`.
 */
export type Keyed<R, K extends keyof R & string, By extends "client" | "server" = "client"> =
  (By extends "server" ? { [P in keyof R]: P extends K ? R[P] | TempKey : R[P] } : R)
  & { readonly [keyColumn]?: { column: K; by: By } };

/** What a schema's row types may hold: JSON values (interfaces, nested objects and
 * arrays welcome; no Date, Map, function or class instance). */
export type JsonShape<T> =
  T extends string | number | boolean | null | undefined ? T
  : T extends readonly (infer E)[] ? readonly JsonShape<E>[]
  : T extends (...args: never[]) => unknown ? never
  : T extends object ? { [P in keyof T]: JsonShape<T[P]> }
  : never;

/** A schema: table name → row type, each row type JSON-shaped. */
export type SchemaShape<Schema> = { [T in keyof Schema]: JsonShape<Schema[T]> };

/** The columns of rows R. */
export type Columns<R> = keyof R & string;

/** R's key column when its schema names one (`Keyed`), else never. */
export type KeyColumn<R> = typeof keyColumn extends keyof R
  ? NonNullable<R[typeof keyColumn]> extends { column: infer K extends string } ? K : never
  : never;

/** The keys of rows R: the key column's type (with `Keyed`), else any `Key`. */
export type KeyOf<R> = [KeyColumn<R>] extends [never] ? Key : R[KeyColumn<R> & keyof R] & Key;

/** What `insert` takes: R, without its key for a `Keyed<…, "server">` row type. */
export type InsertRow<R> = typeof keyColumn extends keyof R
  ? NonNullable<R[typeof keyColumn]> extends { by: "server" }
    ? Omit<R, KeyColumn<R>> & Partial<Pick<R, KeyColumn<R> & keyof R>>
    : R
  : R;

/** What `update` takes: some of R's columns, not its key (an undefined value removes a column). */
export type Patch<R> = string extends keyof R ? Partial<R> : Partial<Omit<R, KeyColumn<R>>>;

/** A column's value as a query compares it: a missing column reads as null. */
type Compared<V> = Exclude<V, undefined> | (undefined extends V ? null : never);
/** gt, gte, lt and lte compare strings with strings and numbers with numbers. */
type Ordered<V> = V extends string ? string : V extends number ? number : never;
/** A bare value means equality; an object is always read as operators (use `{ eq: {…} }`). */
type Bare<V> = V extends readonly unknown[] ? V : V extends object ? never : V;

/** The operators on one column whose values are V (startsWith, endsWith, contains and ignoreCase on strings only). */
export interface ColumnOperators<V> {
  eq?: V;
  ne?: V;
  gt?: Ordered<V>;
  gte?: Ordered<V>;
  lt?: Ordered<V>;
  lte?: Ordered<V>;
  in?: readonly V[];
  startsWith?: [Extract<V, string>] extends [never] ? never : string;
  endsWith?: [Extract<V, string>] extends [never] ? never : string;
  contains?: [Extract<V, string>] extends [never] ? never : string;
  /** Compare lower-cased (eq, ne, in, startsWith, endsWith, contains). */
  ignoreCase?: [Extract<V, string>] extends [never] ? never : boolean;
}

/** Conditions on R's columns, AND-ed; `or` holds alternatives. A bare value means equality. */
export type TypedWhere<R> = {
  [C in Exclude<Columns<R>, "or">]?: Bare<Compared<R[C]>> | ColumnOperators<Compared<R[C]>>;
} & { or?: TypedWhere<R>[] };

/** Ordering by R's columns: a column, or a list of columns and [column, direction] pairs. */
export type TypedOrderBy<R> = Columns<R> | ReadonlyArray<Columns<R> | readonly [Columns<R>, "asc" | "desc"]>;

/** A query object on rows R; `select` (columns S) narrows the result rows to `Pick<R, S>`. */
export interface TypedQuery<R, S extends Columns<R> = Columns<R>> {
  where?: TypedWhere<R>;
  orderBy?: TypedOrderBy<R>;
  limit?: number;
  offset?: number;
  select?: readonly S[];
}

/** A query on rows R: a typed query object, or an OData string (which types do not check:
 * a string's `$select` still types its rows as R). Untyped rows take any `Query`. */
export type QueryOf<R, S extends Columns<R> = Columns<R>> = string extends keyof R ? Query : TypedQuery<R, S> | string;

/** The rows a query with `select: S[]` gives: `Pick<R, S>` (all of R without a select). */
export type Selected<R, S extends Columns<R>> = [Columns<R>] extends [S] ? R : Pick<R, S>;

// ---- The classes ----------------------------------------------------------------------

/**
 * A local offline store: the app's tables in IndexedDB, read and written locally.
 * `Schema` (table name → row type) types its tables; without it every row is a `Row`.
 *
 * ```ts
 * const store = await OfflineStore.open<{ accounts: Keyed<Account, "id"> }>({ name: "field-service", profile });
 * await store.table("accounts").put({ id: "a1", name: "Acme", ownerId: "u1" });
 * ```
 */
export class OfflineStore<Schema extends SchemaShape<Schema> = Record<string, Row>> {
  private constructor();
  free(): void;
  [Symbol.dispose](): void;
  /**
   * Opens (creating or upgrading) the database `name` with one object store per table
   * of `profile`. A higher `profile.version` upgrades the schema, keeping every row
   * and pending change. `Schema` is the app's word for its rows: it is not checked
   * against the profile or the stored rows.
   */
  static open<Schema extends SchemaShape<Schema> = Record<string, Row>>(options: OpenOptions): Promise<OfflineStore<Schema>>;
  /** Deletes the database `name` and everything in it, pending changes included. */
  static deleteDatabase(name: string): Promise<void>;
  /** The table `name` of the profile; throws `unknown_table` for any other name. */
  table<K extends keyof Schema & string>(name: K): Table<Schema[K]>;
  /**
   * Runs `fn(tx)` as one transaction over `tables` and resolves to what `fn` resolves to.
   *
   * - The writes made through `tx.table(name)` are checked as they are made and buffered;
   *   when `fn` resolves they commit together, in one IndexedDB transaction.
   * - A throw in `fn` (or a rejection of its promise) discards them all: nothing is
   *   written, and the transaction rejects with that error. A write that fails rejects
   *   and buffers nothing; awaited without a catch, it fails the whole transaction.
   * - `fn` may await anything (fetch, timers, other promises): nothing is written before
   *   it ends, so IndexedDB never commits part of it early.
   * - Reads inside (`get`, `query`, `count`) see the transaction's own writes.
   * - The changes go to the server as one unit: all applied or all refused, and a refusal
   *   is one sync error (`SyncError.unit`, with its `changes`).
   * - Only `tables` can be used inside; a table used after `fn` ended rejects.
   */
  transaction<N extends keyof Schema & string, T>(
    tables: readonly N[],
    fn: (tx: Transaction<Schema, N>) => Promise<T> | T,
  ): Promise<T>;
  /** Closes the database and stops syncing; later calls reject with `closed`. */
  close(): void;
  /**
   * Syncs now (push, then pull every table, or `options.tables` and the tables that
   * pull with them); resolves when that cycle ends. Offline, it resolves at once with
   * `result: "offline"`: nothing is attempted and nothing is an error.
   */
  sync(options?: SyncRequest): Promise<SyncResult>;
  /** The sync status (null for a store without a server). */
  status(): SyncStatus | null;
  /** The pending local changes, coalesced to one per row, in the order they were made. */
  pending(): Promise<PendingChange[]>;
  /** How many rows have pending local changes. */
  pendingCount(): Promise<number>;
  /** Conflicts kept for the app (tables with `conflict: "manual"`), oldest first. */
  conflicts(): Promise<Conflict[]>;
  /**
   * Settles a kept conflict: `"local"` pushes the local row against the server's
   * version, `"server"` takes the server's row, a row object is used as the result.
   */
  resolveConflict(id: number, choice: "local" | "server" | Row): Promise<void>;
  /** Changes the server refused for good, oldest first. */
  syncErrors(): Promise<SyncError[]>;
  /** Applies the refused change locally again so that it is pushed again. */
  retrySyncError(id: number): Promise<void>;
  /** Forgets a refused change (the row already shows the server's state). */
  discardSyncError(id: number): Promise<void>;
  /**
   * What the store holds, for a status page: its rows and their bytes per table, each
   * table's last complete pull, the files kept here and the uploads queued, and the
   * browser's estimate for the whole origin.
   */
  usage(): Promise<StorageUsage>;
  /**
   * The user this store belongs to: the `user` it was opened with, or the one whose
   * token its first pull used; `null` before either.
   */
  user(): Promise<string | null>;
  /**
   * Answers the app's REST requests under `prefix` (default `"/api/data/"`) from this
   * store, as the reference server answers them online, made with `fetch` or with
   * `XMLHttpRequest` (axios's default adapter): wraps `globalThis.fetch`, patches
   * `XMLHttpRequest`, and returns the function that restores both. Other requests go to
   * the network untouched.
   */
  interceptRequests(options?: InterceptOptions): () => void;
  /** The first name of `interceptRequests`: the same function (XMLHttpRequest included). */
  interceptFetch(options?: InterceptOptions): () => void;
  /**
   * The local answer to `request` if it is one of the REST requests under `prefix`
   * (default `"/api/data/"`), else undefined: for a Service Worker's `fetch` event.
   * Never rejects for a bad request: it gets the server's 4xx JSON answer.
   */
  handleFetch(request: Request, options?: InterceptOptions): Promise<Response | undefined>;
  /** Called after every committed write; `source` says where it came from. Returns an unsubscribe function. */
  on(event: "change", listener: (event: ChangeEvent) => void): () => void;
  /** Called on every sync status change. Returns an unsubscribe function. */
  on(event: "status", listener: (status: SyncStatus) => void): () => void;
  /** Called when a conflict is kept for the app (tables with `conflict: "manual"`); the id comes from conflicts(). */
  on(event: "conflict", listener: (conflict: Omit<Conflict, "id">) => void): () => void;
  /** Called when the server refuses a change for good; the id comes from syncErrors(). */
  on(event: "syncerror", listener: (error: Omit<SyncError, "id">) => void): () => void;
  /**
   * The Background Sync tag this store registers while offline with changes to push:
   * a Service Worker's `sync` event with this tag should `waitUntil(store.sync())`.
   */
  readonly backgroundSyncTag: string;
  /** The database name. */
  readonly name: string;
  /** The installed offline profile (with defaults filled in). */
  readonly profile: Profile;
}

/**
 * One table of the offline profile, its rows typed R. Every method returns a promise;
 * a rejected one carries an `Error` with a stable `code`.
 */
export class Table<R = Row> {
  private constructor();
  free(): void;
  [Symbol.dispose](): void;
  /** The row with `key`, or undefined. */
  get(key: KeyOf<R>): Promise<R | undefined>;
  /** The rows with `keys`, in order (undefined where missing). */
  getMany(keys: KeyOf<R>[]): Promise<(R | undefined)[]>;
  /** Inserts or replaces `row`; resolves to its key. */
  put(row: R): Promise<KeyOf<R>>;
  /** Inserts or replaces `rows` in one transaction: all of them or none. */
  bulkPut(rows: R[]): Promise<void>;
  /**
   * Inserts `row`, which must be new; resolves to its key. In a `keyAssigned: "server"`
   * table the key may be left out: the row gets a temporary key (`"~tmp:…"`), which the
   * push's answer replaces with the server's, in the row and in the columns referencing it.
   */
  insert(row: InsertRow<R>): Promise<KeyOf<R>>;
  /**
   * Merges `patch` into the row with `key` (an undefined value removes a column);
   * resolves to the new row. Rejects with `not_found` when there is no such row.
   */
  update(key: KeyOf<R>, patch: Patch<R>): Promise<R>;
  /** Deletes the row with `key` (a missing row is not an error). */
  delete(key: KeyOf<R>): Promise<void>;
  /** Deletes the rows with `keys` in one transaction. */
  bulkDelete(keys: KeyOf<R>[]): Promise<void>;
  /**
   * The rows matching `q` (a query object or an OData string), ordered by `orderBy`
   * then key. Uses an index when the query allows it. With `select`, rows hold only
   * those columns.
   */
  query<S extends Columns<R> = Columns<R>>(q?: QueryOf<R, S>): Promise<Selected<R, S>[]>;
  /** How many rows match `q` (after its offset and limit). */
  count(q?: QueryOf<R>): Promise<number>;
  /**
   * Calls `listener` with the rows matching `query` at once, then after every committed
   * change (local, pulled or from another tab) that alters them, once per transaction;
   * never for a change that leaves them the same. `onError` gets a failure to read them.
   * Returns the function that unsubscribes (`close()` stops them all); throws
   * `invalid_argument` at once for a bad query.
   */
  live<S extends Columns<R> = Columns<R>>(
    query: QueryOf<R, S> | undefined,
    listener: (rows: Selected<R, S>[]) => void,
    onError?: (error: OfflineTablesError) => void,
  ): () => void;
  /** As `live`, for how many rows match `query`. */
  liveCount(
    query: QueryOf<R> | undefined,
    listener: (count: number) => void,
    onError?: (error: OfflineTablesError) => void,
  ): () => void;
  /**
   * Sync state of the row with `key`: `{ version, pending, deleted }`, or undefined
   * when the row is unknown. No hidden fields are ever added to rows themselves.
   */
  meta(key: KeyOf<R>): Promise<RowMeta | undefined>;
  /**
   * Attaches `blob` (a Blob or File) to the row `key` in the file column `column`: in
   * one transaction the row's column becomes its `FileMeta` (a write pushed as any),
   * the bytes are kept here and their upload is queued. Rejects with
   * `invalid_argument` (not a file column, not a Blob), `not_found` (no such row) or
   * `payload_too_large` (above the column's `maxBytes`; nothing is stored).
   */
  putFile(key: KeyOf<R>, column: Columns<R>, blob: Blob): Promise<FileMeta>;
  /**
   * The file in `column` of the row `key`: the local bytes when they are those the
   * row names; else, for a `download: "view"` column, fetched from the server (and
   * kept) when it answers; else undefined.
   */
  getFile(key: KeyOf<R>, column: Columns<R>): Promise<Blob | undefined>;
  /**
   * Clears `column` of the row `key` (a write pushed as any), drops the local bytes
   * and queues the server's delete. Rejects with `not_found` when there is no such row.
   */
  deleteFile(key: KeyOf<R>, column: Columns<R>): Promise<void>;
  readonly name: string;
}

/** What `store.transaction`'s `fn` gets: the tables N it was started with. */
export class Transaction<Schema extends SchemaShape<Schema> = Record<string, Row>, N extends keyof Schema & string = keyof Schema & string> {
  private constructor();
  free(): void;
  [Symbol.dispose](): void;
  /** The table `name`, read and written inside this transaction. */
  table<K extends N>(name: K): TransactionTable<Schema[K]>;
}

/**
 * A table inside a transaction: its writes are buffered until the transaction's `fn`
 * resolves, and its reads see them (see `OfflineStore.transaction`).
 */
export class TransactionTable<R = Row> {
  private constructor();
  free(): void;
  [Symbol.dispose](): void;
  get(key: KeyOf<R>): Promise<R | undefined>;
  query<S extends Columns<R> = Columns<R>>(q?: QueryOf<R, S>): Promise<Selected<R, S>[]>;
  count(q?: QueryOf<R>): Promise<number>;
  put(row: R): Promise<KeyOf<R>>;
  insert(row: InsertRow<R>): Promise<KeyOf<R>>;
  update(key: KeyOf<R>, patch: Patch<R>): Promise<R>;
  delete(key: KeyOf<R>): Promise<void>;
}
