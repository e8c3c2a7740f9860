//! `table.live` and `table.liveCount` on local writes: the result at once, one call per
//! committed write that alters it (a bulkPut of 50 rows included), none for writes that
//! leave it as it was, and, for a write the core decides cannot matter, not even a read
//! of IndexedDB (counted on `IDBObjectStore`/`IDBIndex` reads). Windows with offset and
//! limit, counts entering and leaving, unsubscribe and close, bad queries.
//! Remote and other-tab changes: `driver/live.rs`.

use crate::common::*;
use js_sys::Function;
use offline_tables::Table;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

#[wasm_bindgen(inline_js = r#"
export function recorder() {
  const f = (v) => { f.calls.push(JSON.stringify(v)); };
  f.calls = [];
  return f;
}
export function takeCalls(f) { return f.calls.splice(0); }
let reads = 0, spying = false;
export function spyReads() {
  if (spying) return;
  spying = true;
  for (const proto of [IDBObjectStore.prototype, IDBIndex.prototype]) {
    for (const m of ["get", "getAll", "getAllKeys", "count", "openCursor", "openKeyCursor"]) {
      const orig = proto[m];
      proto[m] = function (...args) { reads++; return orig.apply(this, args); };
    }
  }
}
export function takeReads() { const n = reads; reads = 0; return n; }
"#)]
extern "C" {
    fn recorder() -> Function;
    #[wasm_bindgen(js_name = takeCalls)]
    fn take_calls_js(f: &Function) -> Vec<String>;
    #[wasm_bindgen(js_name = spyReads)]
    pub fn spy_reads();
    /// IndexedDB reads (get, getAll, count, cursors, on stores and indexes) since the last call.
    #[wasm_bindgen(js_name = takeReads)]
    pub fn take_reads() -> u32;
}

/// A listener that records the JSON of what it is called with.
pub struct Calls(pub Function);

impl Calls {
    pub fn new() -> Calls {
        Calls(recorder())
    }
    pub fn take(&self) -> Vec<String> {
        take_calls_js(&self.0)
    }
    /// Waits (up to `ms`) until `n` calls came, then a little more for any extra one,
    /// and gives them all.
    pub async fn wait_for(&self, n: usize, ms: u32) -> Vec<String> {
        let mut got = Vec::new();
        let mut waited = 0;
        while got.len() < n && waited < ms {
            pause(10).await;
            waited += 10;
            got.extend(self.take());
        }
        pause(30).await;
        got.extend(self.take());
        got
    }
    /// The calls that came within `ms` (expected: none).
    pub async fn none_within(&self, ms: u32) -> Vec<String> {
        pause(ms).await;
        self.take()
    }
}

pub fn live(t: &Table, q: &str, calls: &Calls) -> Function {
    t.live(js(q), calls.0.clone(), None)
        .unwrap_or_else(|e| panic!("live({q}): {e}"))
}

pub fn live_count(t: &Table, q: &str, calls: &Calls) -> Function {
    t.live_count(js(q), calls.0.clone(), None)
        .unwrap_or_else(|e| panic!("liveCount({q}): {e}"))
}

fn ids(n: std::ops::RangeInclusive<u32>, city: &str) -> String {
    let rows: Vec<String> = n
        .map(|i| format!(r#"{{"id":"b{i:02}","city":"{city}","n":{i}}}"#))
        .collect();
    format!("[{}]", rows.join(","))
}

/// The IndexedDB reads of writes outside `city: "Paris"` on `store` (a fresh one when
/// None): a put, an update, a delete, and a put to another table.
async fn unrelated_writes_reads(store: Option<&offline_tables::OfflineStore>) -> u32 {
    let fresh_one = match store {
        Some(_) => None,
        None => Some(fresh().await),
    };
    let store = store.or(fresh_one.as_ref()).unwrap();
    let t = store.table("accounts").unwrap();
    ok(t.put(js(r#"{"id":"u","city":"Lyon","n":1}"#))).await;
    take_reads();
    ok(t.put(js(r#"{"id":"d","city":"Lyon","n":0}"#))).await;
    ok(t.update("u".into(), js(r#"{"n":7}"#))).await;
    ok(t.delete("d".into())).await;
    ok(store
        .table("workorders")
        .unwrap()
        .put(js(r#"{"id":"w","city":"Paris"}"#)))
    .await;
    let n = take_reads();
    if let Some(s) = fresh_one {
        finish(s).await;
    }
    n
}

#[wasm_bindgen_test]
async fn a_live_query_gets_its_result_then_one_call_per_write_that_alters_it() {
    spy_reads();
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    ok(t.bulk_put(js(
        r#"[{"id":"a","city":"Paris","n":2},{"id":"b","city":"Lyon","n":1}]"#,
    )))
    .await;
    let calls = Calls::new();
    let off = live(
        &t,
        r#"{"where":{"city":"Paris"},"orderBy":"n","select":["id","n"]}"#,
        &calls,
    );
    assert_eq!(calls.wait_for(1, 2000).await, [r#"[{"id":"a","n":2}]"#]);

    // A matching row enters: one call with the new result.
    ok(t.put(js(r#"{"id":"c","city":"Paris","n":1}"#))).await;
    assert_eq!(
        calls.wait_for(1, 2000).await,
        [r#"[{"id":"c","n":1},{"id":"a","n":2}]"#]
    );

    // Outside the filter, or another table: no call, and no read beyond the writes' own
    // (counted for the same writes with no live query open, on another store).
    let reads_alone = unrelated_writes_reads(None).await;
    assert_eq!(unrelated_writes_reads(Some(&store)).await, reads_alone);
    assert_eq!(calls.none_within(100).await, Vec::<String>::new());

    // A held row rewritten with a column the result does not select: read, but no call.
    ok(t.update("a".into(), js(r#"{"owner":"x"}"#))).await;
    assert_eq!(calls.none_within(100).await, Vec::<String>::new());

    // A bulkPut of 50 matching rows: one call, with all of them.
    ok(t.bulk_put(js(&ids(1..=50, "Paris")))).await;
    let got = calls.wait_for(1, 2000).await;
    assert_eq!(got.len(), 1, "one call for one transaction: {got:?}");
    let rows: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 52);

    // A held row leaving the filter, and a deleted one: a call each.
    ok(t.update("a".into(), js(r#"{"city":"Lyon"}"#))).await;
    assert_eq!(calls.wait_for(1, 2000).await.len(), 1);
    ok(t.delete("c".into())).await;
    let got = calls.wait_for(1, 2000).await;
    assert_eq!(got.len(), 1);
    assert!(!got[0].contains(r#""id":"c""#) && !got[0].contains(r#""id":"a""#));

    // Unsubscribed (twice: idempotent): nothing more.
    off.call0(&JsValue::UNDEFINED).unwrap();
    off.call0(&JsValue::UNDEFINED).unwrap();
    ok(t.put(js(r#"{"id":"e","city":"Paris","n":0}"#))).await;
    assert_eq!(calls.none_within(100).await, Vec::<String>::new());
    finish(store).await;
}

#[wasm_bindgen_test]
async fn an_offset_and_limit_window_follows_rows_before_in_and_after_it() {
    spy_reads();
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    let five: Vec<String> = (1..=5)
        .map(|i| format!(r#"{{"id":"r{i}","n":{i}}}"#))
        .collect();
    ok(t.bulk_put(js(&format!("[{}]", five.join(","))))).await;
    let calls = Calls::new();
    let q = r#"{"orderBy":"n","offset":1,"limit":2,"select":["n"]}"#;
    let off = live(&t, q, &calls);
    assert_eq!(calls.wait_for(1, 2000).await, [r#"[{"n":2},{"n":3}]"#]);

    // After the full window: decided from the row alone, no read beyond the put's own
    // (counted for the same put on a store with no live query).
    let alone = fresh().await;
    let other = alone.table("accounts").unwrap();
    ok(other.bulk_put(js(&format!("[{}]", five.join(","))))).await;
    take_reads();
    ok(other.put(js(r#"{"id":"r9","n":9}"#))).await;
    let reads_alone = take_reads();
    finish(alone).await;
    take_reads();
    ok(t.put(js(r#"{"id":"r9","n":9}"#))).await;
    assert_eq!(calls.none_within(100).await, Vec::<String>::new());
    assert_eq!(take_reads(), reads_alone);

    // Before the window: everything shifts by one.
    ok(t.put(js(r#"{"id":"r0","n":0}"#))).await;
    assert_eq!(calls.wait_for(1, 2000).await, [r#"[{"n":1},{"n":2}]"#]);
    // A row before the window leaves (it is held: the read starts at row 0).
    ok(t.delete("r0".into())).await;
    assert_eq!(calls.wait_for(1, 2000).await, [r#"[{"n":2},{"n":3}]"#]);
    // A row in the window moves after it.
    ok(t.update("r2".into(), js(r#"{"n":20}"#))).await;
    assert_eq!(calls.wait_for(1, 2000).await, [r#"[{"n":3},{"n":4}]"#]);
    // The row that was first moves after the window: the window's rows are the same.
    ok(t.update("r1".into(), js(r#"{"n":30}"#))).await;
    assert_eq!(calls.wait_for(1, 2000).await, [r#"[{"n":4},{"n":5}]"#]);
    off.call0(&JsValue::UNDEFINED).unwrap();

    // An OData string works as in query().
    let odata = Calls::new();
    let _off = live(&t, r#""$filter=n ge 4&$orderby=n desc&$top=1""#, &odata);
    assert_eq!(odata.wait_for(1, 2000).await, [r#"[{"id":"r1","n":30}]"#]);
    finish(store).await;
}

/// Writes to a table holding b01..b03 in Paris; with `calls` (a live count of Paris
/// rows), checks what it gets after each.
async fn count_writes(t: &Table, calls: Option<&Calls>) {
    let next = |want: &'static str| async move {
        if let Some(c) = calls {
            assert_eq!(c.wait_for(1, 2000).await, [want]);
        }
    };
    ok(t.put(js(r#"{"id":"p","city":"Paris"}"#))).await;
    next("4").await;
    ok(t.update("p".into(), js(r#"{"city":"Lyon"}"#))).await;
    next("3").await;
    ok(t.put(js(r#"{"id":"q","city":"Lyon"}"#))).await;
    ok(t.update("b01".into(), js(r#"{"n":100}"#))).await;
    if let Some(c) = calls {
        assert_eq!(
            c.none_within(100).await,
            Vec::<String>::new(),
            "the count stays 3"
        );
    }
    ok(t.bulk_delete(js(r#"["b01","b02","q"]"#))).await;
    next("1").await;
}

#[wasm_bindgen_test]
async fn a_live_count_follows_rows_entering_and_leaving_without_reading() {
    spy_reads();
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    ok(t.bulk_put(js(&ids(1..=3, "Paris")))).await;
    let calls = Calls::new();
    let off = live_count(&t, r#"{"where":{"city":"Paris"}}"#, &calls);
    assert_eq!(calls.wait_for(1, 2000).await, ["3"]);

    // Rows entering, leaving, and staying out: the count follows each write from its
    // row, with no read beyond the writes' own (counted for the same writes on a store
    // with no live query).
    let alone = fresh().await;
    ok(alone
        .table("accounts")
        .unwrap()
        .bulk_put(js(&ids(1..=3, "Paris"))))
    .await;
    take_reads();
    count_writes(&alone.table("accounts").unwrap(), None).await;
    let reads_alone = take_reads();
    finish(alone).await;
    take_reads();
    count_writes(&t, Some(&calls)).await;
    assert_eq!(take_reads(), reads_alone);
    off.call0(&JsValue::UNDEFINED).unwrap();

    // With offset and limit, as count() gives it.
    let paged = Calls::new();
    let _off = live_count(&t, r#"{"offset":1,"limit":2}"#, &paged);
    assert_eq!(
        paged.wait_for(1, 2000).await,
        ["1"],
        "rows b03 and p: one after the offset"
    );
    ok(t.bulk_put(js(&ids(10..=12, "Lyon")))).await;
    assert_eq!(paged.wait_for(1, 2000).await, ["2"]);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_bad_query_throws_at_once_and_a_failing_read_calls_on_error() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    let f = Function::new_no_args("");
    for q in [
        r#"{"where":{"n":{"$near":1}}}"#,
        r#"{"limit":-1}"#,
        r#""$filter=(""#,
        "[1]",
    ] {
        match t.live(js(q), f.clone(), None) {
            Ok(_) => panic!("live({q}) should throw"),
            Err(e) => assert_eq!(e.code.as_str(), "invalid_argument", "{q}: {e}"),
        }
        match t.live_count(js(q), f.clone(), None) {
            Ok(_) => panic!("liveCount({q}) should throw"),
            Err(e) => assert_eq!(e.code.as_str(), "invalid_argument", "{q}: {e}"),
        }
    }
    // A read that fails (the store is closed) goes to onError with its code.
    let errors = Calls::new();
    let rows = Calls::new();
    store.close();
    t.live(js("{}"), rows.0.clone(), Some(errors.0.clone()))
        .unwrap();
    let got = errors.wait_for(1, 2000).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        js_sys::Reflect::get(&js(&got[0]), &"code".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("closed"),
        "{got:?}"
    );
    assert_eq!(rows.take(), Vec::<String>::new());
    delete(&store.name()).await;
}

#[wasm_bindgen_test]
async fn closing_the_store_stops_every_live_query() {
    let name = unique_name("live-close");
    let a = open(&name, PROFILE).await;
    let b = open(&name, PROFILE).await;
    let (rows, count) = (Calls::new(), Calls::new());
    live(&a.table("accounts").unwrap(), "{}", &rows);
    live_count(&a.table("accounts").unwrap(), "{}", &count);
    assert_eq!(rows.wait_for(1, 2000).await, ["[]"]);
    assert_eq!(count.wait_for(1, 2000).await, ["0"]);
    a.close();
    // Neither its own (refused) writes nor another store's reach it.
    code_of(a.table("accounts").unwrap().put(js(r#"{"id":"x"}"#))).await;
    ok(b.table("accounts").unwrap().put(js(r#"{"id":"y"}"#))).await;
    assert_eq!(rows.none_within(150).await, Vec::<String>::new());
    assert_eq!(count.take(), Vec::<String>::new());
    b.close();
    delete(&name).await;
}

#[wasm_bindgen_test]
async fn a_burst_of_writes_ends_in_the_last_result_with_no_more_calls_than_writes() {
    spy_reads();
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    let calls = Calls::new();
    let _off = live_count(&t, r#"{"where":{"n":{"gte":0}}}"#, &calls);
    let rows = Calls::new();
    let _off2 = live(&t, r#"{"orderBy":"n","select":["n"]}"#, &rows);
    assert_eq!(calls.wait_for(1, 2000).await, ["0"]);
    assert_eq!(rows.wait_for(1, 2000).await, ["[]"]);
    // 20 writes in flight at once, each its own transaction.
    let writes: Vec<_> = (0..20)
        .map(|i| {
            wasm_bindgen_futures::JsFuture::from(
                t.put(js(&format!(r#"{{"id":"k{i:02}","n":{i}}}"#))),
            )
        })
        .collect();
    take_reads();
    for w in writes {
        w.await.unwrap();
    }
    pause(200).await;
    let got = rows.take();
    assert!(!got.is_empty() && got.len() <= 20, "{} calls", got.len());
    let want: Vec<String> = (0..20).map(|i| format!(r#"{{"n":{i}}}"#)).collect();
    assert_eq!(got.last().unwrap(), &format!("[{}]", want.join(",")));
    // The count follows every put from its row, and ends at 20.
    let counts = calls.take();
    assert_eq!(counts.last().map(String::as_str), Some("20"));
    finish(store).await;
}

#[wasm_bindgen_test]
async fn unsubscribing_before_the_first_read_ends_and_a_throwing_listener_stop_nothing_else() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    // Stopped at once: not even the first result comes.
    let early = Calls::new();
    let off = live(&t, "{}", &early);
    off.call0(&JsValue::UNDEFINED).unwrap();
    let early_count = Calls::new();
    let off = live_count(&t, "{}", &early_count);
    off.call0(&JsValue::UNDEFINED).unwrap();

    // A listener that throws is logged; the write and the other live queries go on.
    let thrower = Function::new_with_args("rows", "throw new Error('listener failed on purpose')");
    t.live(js("{}"), thrower.clone(), None).unwrap();
    t.live_count(js("{}"), thrower, None).unwrap();
    let calls = Calls::new();
    let _off = live(&t, r#"{"select":["id"]}"#, &calls);
    assert_eq!(calls.wait_for(1, 2000).await, ["[]"]);
    assert_eq!(
        ok(t.put(js(r#"{"id":"a"}"#))).await.as_string().as_deref(),
        Some("a")
    );
    assert_eq!(calls.wait_for(1, 2000).await, [r#"[{"id":"a"}]"#]);
    assert_eq!(early.take(), Vec::<String>::new());
    assert_eq!(early_count.take(), Vec::<String>::new());
    finish(store).await;
}
