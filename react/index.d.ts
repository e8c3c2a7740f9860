// offline-tables/react: typings of the React hooks (react/index.js), generic over a Table's row type.
import type { ReactElement, ReactNode } from "react";
import type { Columns, OfflineStore, QueryOf, Row, SchemaShape, Selected, SyncStatus, Table } from "offline-tables";

/**
 * An open store of either entry (`offline-tables` or `offline-tables/web`: two declarations of
 * one class), whatever its Schema: what StoreProvider and useSyncStatus take.
 */
export interface AnyStore {
  readonly name: string;
  table(name: string): unknown;
  status(): SyncStatus | null;
}

export interface StoreProviderProps {
  /** An open store: what useStore gives, and where the hooks find tables given by name. */
  store: AnyStore;
  children?: ReactNode;
}

/** `<StoreProvider store={store}>…</StoreProvider>`: the store of the components inside. */
export function StoreProvider(props: StoreProviderProps): ReactElement;

/** The store of the nearest StoreProvider (say its Schema: `useStore<Schema>()`); throws `invalid_argument` outside one. */
export function useStore<Schema extends SchemaShape<Schema> = Record<string, Row>>(): OfflineStore<Schema>;

/**
 * The rows of `query` on `table`, kept up to date (`table.live`): undefined until the first result, then each new
 * result. Unsubscribes on unmount; re-subscribes when the table's name, the query (compared as JSON text, so an inline
 * object does not re-subscribe each render) or `deps` change. A failure to read is thrown at render (for an error
 * boundary). With `select`, the rows are `Pick<R, …>`.
 */
export function useLiveQuery<R, S extends Columns<R> = Columns<R>>(
  table: Table<R>,
  query?: QueryOf<R, S>,
  deps?: readonly unknown[],
): Selected<R, S>[] | undefined;
/** As above, for a table of the provider's store by name; say its rows' type as `useLiveQuery<Account>("accounts", …)`. */
export function useLiveQuery<R = Row, S extends Columns<R> = Columns<R>>(
  table: string,
  query?: QueryOf<R, S>,
  deps?: readonly unknown[],
): Selected<R, S>[] | undefined;

/** How many rows match `query` on `table`, kept up to date (`table.liveCount`), as useLiveQuery. */
export function useLiveCount<R>(table: Table<R>, query?: QueryOf<R>, deps?: readonly unknown[]): number | undefined;
export function useLiveCount<R = Row>(table: string, query?: QueryOf<R>, deps?: readonly unknown[]): number | undefined;

/** The sync status of `store` (default: the provider's), updated on each of its "status" events; null for a store
 * without a server. */
export function useSyncStatus(store?: AnyStore): SyncStatus | null;
