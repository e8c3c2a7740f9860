// offline-tables/react: React hooks over a store: StoreProvider, useStore, useLiveQuery, useLiveCount, useSyncStatus.
// Plain JS that imports "react" only (a peer dependency): no wasm here, the app passes its store in.
import { createContext, createElement, useContext, useMemo, useSyncExternalStore } from "react";

const StoreContext = createContext(null);

/** An Error with a stable `code`, as every error of offline-tables carries. */
function invalid(message) {
  const e = new Error(message);
  e.code = "invalid_argument";
  return e;
}

/** `<StoreProvider store={store}>`: the store that useStore, and table names given to the hooks, refer to. */
export function StoreProvider({ store, children }) {
  if (!store || typeof store.table !== "function") throw invalid("StoreProvider: `store` must be an open OfflineStore");
  return createElement(StoreContext.Provider, { value: store }, children);
}

/** The store of the nearest StoreProvider; throws `invalid_argument` outside one. */
export function useStore() {
  const store = useContext(StoreContext);
  if (!store) throw invalid("useStore: no <StoreProvider store={…}> above this component");
  return store;
}

/** A live query's failure, as its snapshot (a change React sees), thrown at render. */
class Failed {
  constructor(error) {
    this.error = error;
  }
}

/**
 * A live query's value as an external store: `subscribe` starts `table.live` (or
 * `liveCount`) and keeps each result; `get` gives the last one (undefined before the
 * first, a Failed after an error).
 */
function liveSource(kind, table, query) {
  let value;
  return {
    subscribe(onChange) {
      const listener = (v) => {
        value = v;
        onChange();
      };
      const onError = (e) => {
        value = new Failed(e);
        onChange();
      };
      try {
        return kind === "count" ? table.liveCount(query, listener, onError) : table.live(query, listener, onError);
      } catch (e) {
        // A bad query throws at once: shown at render like a failed read.
        onError(e);
        return () => {};
      }
    },
    get: () => value,
  };
}

function useLive(kind, tableOrName, query, deps) {
  const provided = useContext(StoreContext);
  let table = tableOrName;
  if (typeof tableOrName === "string") {
    if (!provided) throw invalid(`${kind === "count" ? "useLiveCount" : "useLiveQuery"}("${tableOrName}"): a table name needs a <StoreProvider> above`);
    table = provided.table(tableOrName);
  } else if (!tableOrName || typeof tableOrName.live !== "function") {
    throw invalid("useLiveQuery: `table` must be a Table or a table name");
  }
  // Re-subscribe when what is asked changes, not when an equal query is a new object: compared as JSON text. A table
  // is compared by its name and store (store.table(name) gives a new object each call).
  const key = JSON.stringify([table.name, query ?? null, deps ?? null]);
  const source = useMemo(
    () => liveSource(kind, table, query),
    // `table` and `query` are what `key` says they are.
    [kind, key, typeof tableOrName === "string" ? provided : null],
  );
  const value = useSyncExternalStore(source.subscribe, source.get, source.get);
  if (value instanceof Failed) throw value.error;
  return value;
}

/**
 * The rows of `query` on `table` (a Table, or a table name of the provider's store), kept up to date: undefined until
 * the first result, then every new result. Unsubscribes on unmount; re-subscribes when the table, the query (as JSON
 * text) or `deps` change. A failure to read is thrown at render, for an error boundary.
 */
export function useLiveQuery(table, query, deps) {
  return useLive("rows", table, query, deps);
}

/** How many rows match `query` on `table`, kept up to date (as useLiveQuery). */
export function useLiveCount(table, query, deps) {
  return useLive("count", table, query, deps);
}

/** The status of `store` (default: the provider's) as an external store, refreshed by its "status" events. */
function statusSource(store) {
  let value = store.status();
  return {
    subscribe(onChange) {
      // A store without a server has no status and no status events.
      if (value === null) return () => {};
      const off = store.on("status", (status) => {
        value = status;
        onChange();
      });
      // A change between the first read and this subscription (status() gives a new object each call).
      const now = store.status();
      if (JSON.stringify(now) !== JSON.stringify(value)) {
        value = now;
        onChange();
      }
      return off;
    },
    get: () => value,
  };
}

/** The sync status of `store` (default: the provider's): `store.status()`, updated on each "status" event; null for a
 * store without a server. */
export function useSyncStatus(store) {
  const provided = useContext(StoreContext);
  const target = store ?? provided;
  if (!target) throw invalid("useSyncStatus: pass a store or put a <StoreProvider> above");
  const source = useMemo(() => statusSource(target), [target]);
  return useSyncExternalStore(source.subscribe, source.get, source.get);
}
