// react.tsx: type-level test of offline-tables/react (react/index.d.ts) with a typed store: hooks give the Table's
// rows (Pick<…> with select), counts and the sync status; wrong columns and wrong row types are rejected.
import { useState } from "react";
import type { OfflineStore, Keyed, Row, SyncStatus } from "offline-tables";
import { StoreProvider, useLiveCount, useLiveQuery, useStore, useSyncStatus } from "../../react";

interface Account {
  id: string;
  name: string;
  city: string | null;
}
type Schema = { accounts: Keyed<Account, "id"> };

export function App({ store }: { store: OfflineStore<Schema> }) {
  return (
    <StoreProvider store={store}>
      <Accounts city="Lyon" />
      <Status />
    </StoreProvider>
  );
}

function Accounts({ city }: { city: string }) {
  const store = useStore<Schema>();
  const [limit, setLimit] = useState(10);
  const rows = useLiveQuery(store.table("accounts"), { where: { city }, orderBy: "name", limit });
  const names = useLiveQuery(store.table("accounts"), { select: ["id", "name"] });
  const count: number | undefined = useLiveCount(store.table("accounts"), { where: { city: { ne: null } } });
  const byName: Account[] | undefined = useLiveQuery<Account>("accounts", { where: { name: { startsWith: "A" } } });
  const untyped: Row[] | undefined = useLiveQuery("anything", { where: { whatever: 1 } }, [limit]);
  if (!rows) return <p>Loading…</p>;
  const first: Account | undefined = rows[0];
  const firstName: string | undefined = names?.[0]?.name;
  // @ts-expect-error a selected row has only the selected columns
  const firstCity = names?.[0]?.city;
  // @ts-expect-error no such column in where
  useLiveQuery(store.table("accounts"), { where: { town: "Lyon" } });
  // @ts-expect-error rows are Accounts
  const wrong: { id: number }[] | undefined = useLiveQuery(store.table("accounts"));
  // @ts-expect-error a count is a number
  const notCount: string | undefined = useLiveCount(store.table("accounts"));
  void [count, byName, untyped, first, firstName, firstCity, wrong, notCount];
  return (
    <ul onClick={() => setLimit(limit + 10)}>
      {rows.map((a) => <li key={a.id}>{a.name}</li>)}
    </ul>
  );
}

function Status() {
  const status: SyncStatus | null = useSyncStatus();
  // @ts-expect-error the status may be null (a store without a server)
  const state: string = useSyncStatus().state;
  void state;
  return <p>{status ? `${status.state}, ${status.pending} pending` : "local only"}</p>;
}

export function WithoutProvider({ store }: { store: OfflineStore }) {
  const status = useSyncStatus(store);
  // @ts-expect-error StoreProvider needs a store
  const bad = <StoreProvider>{null}</StoreProvider>;
  void bad;
  return <p>{status?.state}</p>;
}
