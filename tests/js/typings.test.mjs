// typings.test.mjs: node --test for scripts/typings.mjs, which replaces wasm-bindgen's untyped class declarations with
// the typed ones of src/api/types.d.ts, on text shaped as wasm-bindgen writes it (and on the real types.d.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { applyTypings, classes } from "../../scripts/typings.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const typed = `export type Row = { [c: string]: unknown };
/** Typed. */
export class Table<R = Row> {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /** The row. { not a brace that counts } */
    get(key: string): Promise<R | undefined>;
    live(
        query: string,
        listener: (rows: R[]) => void,
    ): () => void;
    static open<S>(options: { name: string }): Promise<Table<S>>;
    readonly name: string;
}
`;
const generated = `
/**
 * One table.
 */
export class Table {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * The row with \`key\`.
     */
    get(key: Key): Promise<Row | undefined>;
    static open(options: OpenOptions): Promise<Table>;
    readonly name: string;
}

export class Other {
    private constructor();
    x(): void;
}
`;

test("the untyped duplicate and its doc comment are removed; other classes stay", () => {
  const { text, notes, replaced } = applyTypings(typed + generated);
  assert.deepEqual(replaced, ["Table"]);
  assert.equal(text.match(/^export class Table/gm).length, 1);
  assert.match(text, /^export class Table<R = Row> \{$/m);
  assert.ok(!text.includes("One table."), "the generated doc comment went with its class");
  assert.match(text, /^export class Other \{$/m);
  assert.deepEqual(notes, ["Table: typed but not in the wasm: live"]);
});

test("members are read at the class's top level only", () => {
  const [table] = classes(typed);
  assert.deepEqual([...table.members].sort(), ["[Symbol.dispose]", "constructor", "free", "get", "live", "name", "static open"]);
});

test("a member the wasm exports and the typed class lacks fails, naming it", () => {
  const withExtra = generated.replace("    readonly name: string;", "    readonly name: string;\n    bulkGet(keys: Key[]): Promise<Row[]>;");
  assert.throws(() => applyTypings(typed + withExtra, "x.d.ts"), /x\.d\.ts: Table exports bulkGet, which src\/api\/types\.d\.ts does not type/);
  // A static member is not an instance one.
  const staticGet = generated.replace("    get(key: Key)", "    static get(key: Key)");
  assert.throws(() => applyTypings(typed + staticGet), /Table exports static get/);
});

test("a file already done is left as it is", () => {
  const once = applyTypings(typed + generated).text;
  const twice = applyTypings(once);
  assert.equal(twice.text, once);
  assert.deepEqual(twice.replaced, []);
});

test("src/api/types.d.ts declares the public classes generic, each with free and Symbol.dispose", () => {
  const decls = classes(readFileSync(path.join(ROOT, "src", "api", "types.d.ts"), "utf8"));
  assert.deepEqual(decls.map((c) => [c.name, c.generic]), [
    ["OfflineStore", true], ["Table", true], ["Transaction", true], ["TransactionTable", true],
  ]);
  for (const c of decls) for (const m of ["free", "[Symbol.dispose]", "constructor"]) assert.ok(c.members.has(m), `${c.name}.${m}`);
});
