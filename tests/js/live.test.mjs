// live.test.mjs: node --test for src/driver/live.js, the live queries' conversion of the rows a change wrote.
import { test } from "node:test";
import assert from "node:assert/strict";
import { changedJson } from "../../src/driver/live.js";

test("changedJson gives the keys and the rows' picked columns, a deleted row as null", () => {
  const rows = [{ id: "a", city: "Paris", notes: "long", n: 1 }, undefined, { id: 3, n: undefined }];
  assert.equal(
    changedJson(["a", "b", 3], rows, ["city", "id", "n"]),
    JSON.stringify([["a", "b", 3], [{ city: "Paris", id: "a", n: 1 }, null, { id: 3 }]]),
  );
  assert.equal(changedJson([], [], ["id"]), "[[],[]]");
});
