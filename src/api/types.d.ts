// offline-tables: TypeScript types of the public API (embedded into the generated .d.ts).

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
  reason: "validation" | "permission" | "read_only" | "other" | "payload_too_large";
  message: string;
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
  contains?: string;
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

// Declaration merging gives OfflineStore.on one overload per event.
export interface OfflineStore {
  /** Called after every committed write; `source` says where it came from. Returns an unsubscribe function. */
  on(event: "change", listener: (event: ChangeEvent) => void): () => void;
  /** Called on every sync status change. Returns an unsubscribe function. */
  on(event: "status", listener: (status: SyncStatus) => void): () => void;
  /** Called when a conflict is kept for the app (tables with `conflict: "manual"`); the id comes from conflicts(). */
  on(event: "conflict", listener: (conflict: Omit<Conflict, "id">) => void): () => void;
  /** Called when the server refuses a change for good; the id comes from syncErrors(). */
  on(event: "syncerror", listener: (error: Omit<SyncError, "id">) => void): () => void;
}
