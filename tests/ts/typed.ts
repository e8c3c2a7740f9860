// typed.ts: type-level test of typed tables (OfflineStore.open<Schema>): rows, keys, where, orderBy, select, live,
// transactions and server-assigned keys typed by the schema; wrong columns, values and table names rejected.
import { OfflineStore, Table, TransactionTable } from "../../pkg";
import type { ChangeEvent, JsonValue, Key, Keyed, OfflineTablesError, Profile, Row, SyncError, TempKey, TypedQuery } from "../../pkg";

// An interface (no index signature) works as a row type, nested objects included.
interface Geo {
  lat: number;
  lon: number;
}
interface Account {
  id: string;
  name: string;
  city: string | null;
  ownerId: string;
  rating?: number;
  active: boolean;
  tags: string[];
  geo?: Geo;
}
type WorkOrder = { id: number; accountId: string; status: "open" | "done"; title: string; hours: number };
type Note = { id: string; text: string; meta?: JsonValue };

type Schema = {
  accounts: Keyed<Account, "id">;
  workorders: Keyed<WorkOrder, "id", "server">;
  notes: Note;
};

const profile: Profile = {
  version: 1,
  tables: {
    accounts: { key: "id", indexes: ["ownerId", "city"] },
    workorders: { key: "id", keyAssigned: "server", keyPattern: "WO-{n:05}", references: { accountId: "accounts" } },
    notes: { key: "id" },
  },
};

export async function typed(): Promise<void> {
  const store: OfflineStore<Schema> = await OfflineStore.open<Schema>({ name: "typed", profile });
  const accounts: Table<Schema["accounts"]> = store.table("accounts");

  // Rows in and out are Accounts.
  const key: string = await accounts.put({ id: "a1", name: "Acme", city: "Lyon", ownerId: "u1", active: true, tags: [] });
  await accounts.bulkPut([{ id: "a2", name: "Blue", city: null, ownerId: "u2", active: false, tags: ["x"], geo: { lat: 1, lon: 2 } }]);
  const one: Account | undefined = await accounts.get(key);
  const name: string | undefined = one?.name;
  const many: (Account | undefined)[] = await accounts.getMany(["a1", "a2"]);
  const updated: Account = await accounts.update("a1", { city: "Lille", rating: undefined });
  await accounts.delete("a2");
  await accounts.bulkDelete(["a1"]);

  // Queries: typed columns, operators by the column's type, and `or`.
  const rows: Account[] = await accounts.query({
    where: {
      city: { in: ["Lyon", "Paris", null] },
      name: { startsWith: "Ac" },
      ownerId: "u1",
      rating: { gte: 3, lt: 5 },
      active: true,
      tags: ["x"],
      geo: { eq: { lat: 1, lon: 2 } },
      or: [{ city: { contains: "ar" } }, { rating: null }],
    },
    orderBy: [["name", "desc"], "city"],
    limit: 10,
    offset: 0,
  });
  const all: Account[] = await accounts.query();
  const ordered: Account[] = await accounts.query({ orderBy: "city" });
  // select narrows the rows to the selected columns.
  const picked = await accounts.query({ where: { ownerId: "u1" }, select: ["id", "name"] });
  const pickedName: string = picked[0]?.name ?? "";
  const byString: Account[] = await accounts.query("$filter=city eq 'Lyon'");
  const n: number = await accounts.count({ where: { active: false } });
  const prebuilt: TypedQuery<Schema["accounts"]> = { where: { city: "Lyon" }, orderBy: "name" };
  const fromPrebuilt: Account[] = await accounts.query(prebuilt);

  // Live queries.
  const stop: () => void = accounts.live(
    { where: { city: "Lyon" }, orderBy: "name" },
    (live: Account[]) => void live.map((a) => a.name),
    (e: OfflineTablesError) => void e.code,
  );
  stop();
  const stopPicked = accounts.live({ select: ["id", "city"] }, (live) => {
    const city: string | null = live[0]?.city ?? null;
    void city;
  });
  stopPicked();
  const stopCount: () => void = accounts.liveCount({ where: { active: true } }, (count: number) => void count);
  stopCount();

  // Server-assigned keys: insert may leave the key out and gives a temporary key.
  const workorders = store.table("workorders");
  const woKey: number | TempKey = await workorders.insert({ accountId: "a1", status: "open", title: "Fix", hours: 2 });
  const tmp: TempKey = "~tmp:1";
  const wo = await workorders.get(tmp);
  const woId: number | TempKey | undefined = wo?.id;
  await workorders.update(woKey, { status: "done" });
  const open: WorkOrder["id"][] = (await workorders.query({ where: { status: "open", hours: { gt: 1 } } })).map((w) => Number(w.id));

  // A plain row type (no Keyed) takes any Key.
  const notes = store.table("notes");
  await notes.get(1);
  await notes.insert({ id: "n1", text: "hello" });
  const noteText: string | undefined = (await notes.get("n1"))?.text;
  // A free-form JSON column takes any JSON value, and every operator.
  await notes.put({ id: "n2", text: "x", meta: { tags: ["a"], n: 1, deep: [{ ok: true }] } });
  await notes.query({ where: { meta: { eq: { n: 1 } }, text: { contains: "x" }, or: [{ meta: { gt: 1 } }, { meta: [1, 2] }] } });

  // Transactions: the listed tables, typed as on Table.
  const made: number | TempKey = await store.transaction(["accounts", "workorders"], async (tx) => {
    const txAccounts: TransactionTable<Schema["accounts"]> = tx.table("accounts");
    await txAccounts.put({ id: "a3", name: "Cedar", city: "Nice", ownerId: "u1", active: true, tags: [] });
    const seen: Account | undefined = await txAccounts.get("a3");
    const inTx: { id: string }[] = await txAccounts.query({ where: { city: "Nice" }, select: ["id"] });
    const c: number = await txAccounts.count();
    await fetch("/elsewhere"); // awaiting other promises inside is allowed
    void [seen, inTx, c];
    return tx.table("workorders").insert({ accountId: "a3", status: "open", title: "Install", hours: 1 });
  });
  const sync: number = await store.transaction(["notes"], (tx) => {
    void tx.table("notes").delete("n1");
    return 1;
  });

  // Change events report renamed keys; sync errors of a transaction name their unit.
  store.on("change", (e: ChangeEvent) => {
    for (const r of e.renamed ?? []) {
      const from: Key = r.from;
      const to: Key = r.to;
      void [from, to];
    }
  });
  const errors: SyncError[] = await store.syncErrors();
  const unit: string | undefined = errors[0]?.unit;
  const changed: Row | null | undefined = errors[0]?.changes?.[0]?.row;

  void [name, many, updated, rows, all, ordered, pickedName, byString, n, fromPrebuilt, woId, open, noteText, made, sync,
    unit, changed];
}

// Untyped stores keep working as before, with any table name and Row rows.
export async function untyped(): Promise<void> {
  const store = await OfflineStore.open({ name: "plain" });
  const rows: Row[] = await store.table("anything").query({ where: { whatever: { gt: 1 } } });
  const stop = store.table("t").live({ select: ["a"] }, (live: Row[]) => void live);
  stop();
  await store.transaction(["a", "b"], async (tx) => {
    await tx.table("a").put({ id: 1, x: [1, { y: null }] });
  });
  void rows;
}

// ---- wrong use must be rejected ------------------------------------------------------

export async function rejectedTyped(store: OfflineStore<Schema>): Promise<void> {
  const accounts = store.table("accounts");
  // @ts-expect-error no such table in the schema
  store.table("acounts");
  // @ts-expect-error no such column in where
  await accounts.query({ where: { nmae: "Acme" } });
  // @ts-expect-error a column's value has its type (name is a string)
  await accounts.query({ where: { name: 42 } });
  // @ts-expect-error an operator's value has the column's type
  await accounts.query({ where: { rating: { gte: "3" } } });
  // @ts-expect-error startsWith is for string columns only
  await accounts.query({ where: { rating: { startsWith: "3" } } });
  // @ts-expect-error ignoreCase is for string columns only
  await accounts.query({ where: { rating: { eq: 3, ignoreCase: true } } });
  await accounts.query({ where: { name: { endsWith: "co", ignoreCase: true } } });
  // @ts-expect-error in takes the column's values
  await accounts.query({ where: { active: { in: ["yes"] } } });
  // @ts-expect-error no such column in an or alternative
  await accounts.query({ where: { or: [{ town: "Lyon" }] } });
  // @ts-expect-error a bare object is read as operators: compare an object column with eq
  await accounts.query({ where: { geo: { lat: 1, lon: 2 } } });
  // @ts-expect-error a literal-typed column takes only its values
  await store.table("workorders").query({ where: { status: "closed" } });
  // @ts-expect-error no such column in orderBy
  await accounts.query({ orderBy: "town" });
  // @ts-expect-error no such column in an orderBy pair
  await accounts.query({ orderBy: [["town", "asc"]] });
  // @ts-expect-error no such column in select
  await accounts.query({ select: ["id", "town"] });
  // @ts-expect-error a selected row has only the selected columns
  const city: string | null = (await accounts.query({ select: ["id"] }))[0]!.city;
  // @ts-expect-error put takes a whole Account (name is missing)
  await accounts.put({ id: "a1", city: null, ownerId: "u", active: true, tags: [] });
  // @ts-expect-error no such column in put
  await accounts.put({ id: "a1", name: "x", city: null, ownerId: "u", active: true, tags: [], town: "Lyon" });
  // @ts-expect-error a row's value has its column's type
  await accounts.put({ id: "a1", name: 1, city: null, ownerId: "u", active: true, tags: [] });
  // @ts-expect-error the key of accounts is a string
  await accounts.get(1);
  // @ts-expect-error update's patch leaves the key out
  await accounts.update("a1", { id: "a2" });
  // @ts-expect-error update's patch names columns of the row
  await accounts.update("a1", { town: "Lyon" });
  // @ts-expect-error get resolves to an Account, not a WorkOrder
  const wrong: WorkOrder | undefined = await accounts.get("a1");
  // @ts-expect-error insert into a client-keyed table needs the key
  await accounts.insert({ name: "x", city: null, ownerId: "u", active: true, tags: [] });
  // @ts-expect-error a live listener gets Accounts
  accounts.live({}, (rows: WorkOrder[]) => void rows);
  // @ts-expect-error liveCount's listener gets a number
  accounts.liveCount({}, (rows: Account[]) => void rows);
  // @ts-expect-error a transaction names tables of the schema
  await store.transaction(["acounts"], async () => {});
  await store.transaction(["notes"], async (tx) => {
    // @ts-expect-error only the tables the transaction was started with
    tx.table("accounts");
  });
  void [city, wrong];
}

// A schema's rows hold JSON values only.
// @ts-expect-error a Date is not a JSON value
export const dated = OfflineStore.open<{ events: { id: string; at: Date } }>({ name: "x" });
// @ts-expect-error nor is a function
export const withFn = OfflineStore.open<{ events: { id: string; run: () => void } }>({ name: "x" });
