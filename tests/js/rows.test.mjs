// rows.test.mjs: node --test for src/storage/rows.js, the storage layer's checks and column helpers over
// the app's own JS objects (what a row may hold, keys, patches, picking and gathering columns, JSON text).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  checkKey, checkJson, prepareRows, unkept, mergePatch, pick, pickJson, gather, describe, jsonText, lookupKeys, withLookups,
} from "../../src/storage/rows.js";

test("checkKey takes strings and finite numbers only", () => {
  assert.equal(checkKey("a", "key"), null);
  assert.equal(checkKey(0, "key"), null);
  assert.equal(checkKey(-1.5, "key"), null);
  assert.equal(checkKey(NaN, "key"), "key is NaN, not a finite number");
  assert.equal(checkKey(Infinity, "key"), "key is Infinity, not a finite number");
  assert.equal(checkKey(undefined, "key"), "key is missing");
  assert.equal(checkKey(null, "key"), "key must be a string or a finite number, got null");
  assert.equal(checkKey([1], "key"), "key must be a string or a finite number, got object");
  assert.equal(checkKey(true, "key"), "key must be a string or a finite number, got boolean");
});

test("checkJson accepts plain JSON objects, undefined columns included", () => {
  assert.equal(checkJson({ a: 1, b: "x", c: [1, { d: null }], e: true, f: undefined }, "row"), null);
  assert.equal(checkJson(Object.create(null), "row"), null);
});

test("checkJson names what JSON cannot hold, with its path", () => {
  class Money { constructor() { this.cents = 1; } }
  const circular = { a: {} };
  circular.a.back = circular;
  const cases = [
    [[], "row must be an object"],
    [null, "row must be an object"],
    [{ a: () => 1 }, "row.a is a function, which JSON cannot hold"],
    [{ a: Symbol("s") }, "row.a is a symbol, which JSON cannot hold"],
    [{ a: 1n }, "row.a is a bigint, which JSON cannot hold"],
    [{ a: NaN }, "row.a is NaN, which JSON cannot hold"],
    [{ a: [1, undefined] }, "row.a[1] is undefined, which JSON cannot hold"],
    [{ a: new Date(0) }, "row.a is a Date; rows hold JSON values only (store dates as ISO strings)"],
    [{ a: new Money() }, "row.a is a Money; rows hold JSON values only (store dates as ISO strings)"],
    [{ a: new Map() }, "row.a is a Map; rows hold JSON values only (store dates as ISO strings)"],
    [{ [Symbol("k")]: 1 }, "row has a symbol-keyed property, which JSON cannot hold"],
    [JSON.parse('{"__proto__": {"x": 1}}'), "row has a column named __proto__, which JavaScript objects cannot carry safely"],
    [{ a: "x\uD800y" }, "row.a holds a lone UTF-16 surrogate, which JSON text cannot carry to the server"],
    [{ ["k\uDC00"]: 1 }, "row has a column name with a lone UTF-16 surrogate"],
    [circular, "row.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a.back.a is nested more than 64 levels deep (or circular)"],
  ];
  for (const [value, message] of cases) assert.equal(checkJson(value, "row"), message);
  assert.equal(checkJson({ a: "\uD83D\uDE00" }, "row"), null, "a surrogate pair is fine");
});

test("prepareRows returns the keys in order, or the first problem", () => {
  assert.deepEqual(prepareRows([{ id: "a" }, { id: 2 }], "id", "rows"), ["a", 2]);
  assert.equal(prepareRows({ id: "a" }, "id", "rows"), "rows must be an array of rows");
  assert.equal(prepareRows([{ id: "a" }, 5], "id", "rows"), "rows[1] must be an object");
  assert.equal(prepareRows([{ x: 1 }], "id", "row"), "row.id (the key) is missing");
  assert.equal(prepareRows([{ id: "a" }, { id: NaN }], "id", "rows"), "rows[1].id (the key) is NaN, not a finite number");
  assert.equal(prepareRows([{ id: "a", d: new Date(0) }], "id", "rows"), "rows[0].d is a Date; rows hold JSON values only (store dates as ISO strings)");
});

test("unkept finds the first column a selection does not keep, undefined ones included", () => {
  const kept = ["id", "status"];
  assert.equal(unkept([{ id: 1, status: "a" }, { id: 2 }], kept), null);
  assert.equal(unkept([], kept), null);
  assert.deepEqual(unkept([{ id: 1 }, { id: 2, status: "b", cost: 3, more: 4 }], kept), [1, "cost"]);
  assert.deepEqual(unkept([{ id: 1, cost: undefined }], kept), [0, "cost"]);
});

test("mergePatch copies, sets, and removes columns patched with undefined", () => {
  const current = { id: "a", city: "Paris", n: 1 };
  const out = mergePatch(current, { city: "Lyon", n: undefined, extra: [1] });
  assert.deepEqual(out, { id: "a", city: "Lyon", extra: [1] });
  assert.ok(!("n" in out));
  assert.deepEqual(current, { id: "a", city: "Paris", n: 1 }, "the stored row is not touched");
});

test("pick, pickJson and gather keep only the asked columns, present ones only", () => {
  const rows = [{ id: 1, a: "x", b: 2 }, { id: 2, b: 3 }];
  assert.deepEqual(pick(rows, ["id", "a"]), [{ id: 1, a: "x" }, { id: 2 }]);
  assert.equal(pickJson(rows, ["b"]), '[{"b":2},{"b":3}]');
  assert.deepEqual(gather(rows, Uint32Array.of(1, 0), null), [rows[1], rows[0]]);
  assert.equal(gather(rows, [0], null)[0], rows[0], "without columns: the row itself");
  assert.deepEqual(gather(rows, [1, 0], ["a"]), [{}, { a: "x" }]);
});

test("describe gives a message for any value", () => {
  assert.equal(describe(new TypeError("boom")), "TypeError: boom");
  assert.equal(describe("s"), '"s"');
  assert.equal(describe({ a: 1 }), '{"a":1}');
  assert.equal(describe(undefined), "undefined");
  assert.equal(describe(Symbol("x")), "Symbol(x)");
  const circular = {};
  circular.self = circular;
  assert.equal(describe(circular), "[object Object]");
});

test("jsonText: undefined drops out, or reads as null with nulls", () => {
  assert.equal(jsonText({ a: undefined, b: 1 }, false), '{"b":1}');
  assert.equal(jsonText({ a: undefined, b: 1 }, true), '{"a":null,"b":1}');
  assert.equal(jsonText(undefined, false), "null");
  assert.throws(() => jsonText({ a: 1n }, false), TypeError);
});

test("lookupKeys gives the distinct keys a lookup column holds, in first-seen order, and nothing else", () => {
  const rows = [{ a: "k1" }, { a: 2 }, { a: "k1" }, { a: null }, {}, { a: { x: 1 } }, { a: true }, { a: "2" }, { a: 2 }];
  assert.deepEqual(lookupKeys(rows, "a"), ["k1", 2, "2"]);
  assert.deepEqual(lookupKeys([], "a"), []);
});

test("withLookups sets each lookup to its related row, projected, or null, and projects the rows", () => {
  const rows = [{ id: 1, t: "x", a: "k1" }, { id: 2, t: "y", a: "k2" }, { id: 3, t: "z" }, { id: 4, a: 2 }];
  const navs = [{ name: "acc", column: "a", keys: ["k1", "k2", 2], found: [{ id: "k1", n: "one", c: "P" }, undefined, { id: 2, n: "num" }], cols: ["id", "n"] }];
  const out = withLookups(rows, ["id", "t"], navs);
  assert.deepEqual(out, [
    { id: 1, t: "x", acc: { id: "k1", n: "one" } },
    { id: 2, t: "y", acc: null },
    { id: 3, t: "z", acc: null },
    { id: 4, acc: { id: 2, n: "num" } },
  ]);
  assert.equal(JSON.stringify(Object.keys(out[0])), '["id","t","acc"]', "the lookup comes last");
  assert.equal(rows[0].acc, undefined, "with columns, the rows are copies");
  // Without columns, the whole rows and whole related rows; a string key never matches a number.
  const whole = withLookups([{ id: 1, a: "2" }], null, [{ name: "acc", column: "a", keys: [2], found: [{ id: 2 }], cols: null }]);
  assert.deepEqual(whole, [{ id: 1, a: "2", acc: null }]);
  const both = withLookups([{ id: 1, a: 2 }], null, [{ name: "acc", column: "a", keys: [2], found: [{ id: 2, n: 1 }], cols: null }]);
  assert.deepEqual(both, [{ id: 1, a: 2, acc: { id: 2, n: 1 } }]);
});
