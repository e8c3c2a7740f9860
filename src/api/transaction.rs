//! `store.transaction(tables, fn)`: the app's writes inside `fn` are checked as they are
//! made and buffered; reads see them laid over the stored rows; when `fn` resolves they
//! commit together in one IndexedDB transaction (`Db::commit_unit`) and go to the
//! server as one unit. A throw, or a write that fails, leaves nothing behind. Because
//! nothing is written before the end, `fn` may await anything (fetch, timers) without
//! IndexedDB committing part of it early.

use super::convert;
use super::promise;
use crate::error::{Error, Thrown};
use crate::storage::js;
use crate::storage::transaction::TxWrite;
use crate::storage::write::check_key;
use crate::storage::Db;
use js_sys::{Array, Function, Promise};
use offline_tables_core::{ErrorCode, Key};
use serde_json::{Map, Value};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// The most writes one transaction may buffer: its unit goes to the server in one push.
pub const MAX_WRITES: usize = 500;

/// One transaction's state, shared by its `Transaction` and `TransactionTable`s.
struct State {
    db: Rc<Db>,
    tables: Vec<String>,
    writes: RefCell<Vec<TxWrite>>,
    /// Each written row's state after the buffered writes (undefined: deleted).
    overlay: RefCell<Vec<(String, Key, JsValue)>>,
    /// Calls still running (a write not awaited by the app must still count).
    running: RefCell<Vec<Promise>>,
    open: Cell<bool>,
}

impl State {
    fn check_open(&self, table: &str) -> Result<(), Error> {
        if !self.open.get() {
            return Err(Error::invalid_argument(
                "the transaction has ended: its table can no longer be used",
            ));
        }
        if !self.tables.iter().any(|t| t == table) {
            return Err(Error::invalid_argument(format!(
                "transaction: '{table}' is not one of the tables it was started with"
            )));
        }
        Ok(())
    }

    fn overlaid(&self, table: &str, key: &Key) -> Option<JsValue> {
        self.overlay
            .borrow()
            .iter()
            .find(|(t, k, _)| t == table && k == key)
            .map(|(_, _, v)| v.clone())
    }

    /// The row as the transaction sees it: its own write, else the stored row.
    async fn current(&self, table: &str, key: &JsValue) -> Result<JsValue, Error> {
        match self.overlaid(table, &key_of(key)?) {
            Some(v) => Ok(v),
            None => {
                self.db.ready().await;
                self.db.get_row(table, key).await
            }
        }
    }

    fn record(&self, w: TxWrite, key: &JsValue, after: JsValue) -> Result<(), Error> {
        let mut writes = self.writes.borrow_mut();
        if writes.len() >= MAX_WRITES {
            return Err(Error::invalid_argument(format!(
                "a transaction writes at most {MAX_WRITES} rows"
            )));
        }
        let table = w.table().to_string();
        let k = key_of(key)?;
        writes.push(w);
        let mut overlay = self.overlay.borrow_mut();
        overlay.retain(|(t, ok, _)| !(*t == table && *ok == k));
        overlay.push((table, k, after));
        Ok(())
    }

    /// Runs `fut` as one of the transaction's calls, which the commit waits for.
    fn call(
        self: &Rc<Self>,
        fut: impl std::future::Future<Output = Result<JsValue, Error>> + 'static,
    ) -> Promise {
        let p = promise(fut);
        self.running.borrow_mut().push(p.clone());
        p
    }
}

fn key_of(k: &JsValue) -> Result<Key, Error> {
    crate::storage::outbox::key_of(k)
        .ok_or_else(|| Error::invalid_argument("a key must be a string or a finite number"))
}

fn json_row(v: &JsValue) -> Result<Map<String, Value>, Error> {
    match js::from_js::<Value>(v, false) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Error::storage("transaction: a row does not read as JSON")),
    }
}

/// What `fn` gets: `tx.table(name)` for each table the transaction was started with.
#[wasm_bindgen]
pub struct Transaction {
    state: Rc<State>,
}

#[wasm_bindgen]
impl Transaction {
    /// The table `name`, read and written inside this transaction.
    pub fn table(&self, name: &str) -> Result<TransactionTable, Thrown> {
        self.state.check_open(name)?;
        Ok(TransactionTable {
            state: self.state.clone(),
            name: name.to_string(),
        })
    }
}

/// A table inside a transaction: `get`, `query`, `count`, `put`, `insert`, `update`,
/// `delete`, as on `Table`, seeing the transaction's own writes.
#[wasm_bindgen]
pub struct TransactionTable {
    state: Rc<State>,
    name: String,
}

/// A call on a `TransactionTable`: one future for all of them (one state machine in the
/// wasm, not seven).
#[derive(Clone, Copy)]
enum Op {
    Get,
    Query,
    Count,
    Put,
    Insert,
    Update,
    Delete,
}

impl TransactionTable {
    fn op(&self, op: Op, a: JsValue, b: JsValue) -> Promise {
        let (s, t) = (self.state.clone(), self.name.clone());
        s.clone().call(async move {
            s.check_open(&t)?;
            s.run(op, &t, a, b).await
        })
    }
}

#[wasm_bindgen]
impl TransactionTable {
    #[wasm_bindgen(unchecked_return_type = "Promise<Row | undefined>")]
    pub fn get(&self, #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue) -> Promise {
        self.op(Op::Get, key, JsValue::UNDEFINED)
    }

    /// The rows matching `q`, with the transaction's writes laid over the stored rows.
    #[wasm_bindgen(unchecked_return_type = "Promise<Row[]>")]
    pub fn query(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "Query")] q: Option<JsValue>,
    ) -> Promise {
        self.op(Op::Query, q.unwrap_or_default(), JsValue::UNDEFINED)
    }

    /// How many rows match `q` (after its offset and limit), the transaction's writes
    /// included.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn count(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "Query")] q: Option<JsValue>,
    ) -> Promise {
        self.op(Op::Count, q.unwrap_or_default(), JsValue::UNDEFINED)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<Key>")]
    pub fn put(&self, #[wasm_bindgen(unchecked_param_type = "Row")] row: JsValue) -> Promise {
        self.op(Op::Put, row, JsValue::UNDEFINED)
    }

    /// Inserts `row`: `conflict` if a row with its key exists (here or stored).
    #[wasm_bindgen(unchecked_return_type = "Promise<Key>")]
    pub fn insert(&self, #[wasm_bindgen(unchecked_param_type = "Row")] row: JsValue) -> Promise {
        self.op(Op::Insert, row, JsValue::UNDEFINED)
    }

    /// Merges `patch` into the row (`not_found` if there is none); resolves to the row.
    #[wasm_bindgen(unchecked_return_type = "Promise<Row>")]
    pub fn update(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Partial<Row>")] patch: JsValue,
    ) -> Promise {
        self.op(Op::Update, key, patch)
    }

    /// Deletes the row (`not_found` if there is none).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn delete(&self, #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue) -> Promise {
        self.op(Op::Delete, key, JsValue::UNDEFINED)
    }
}

impl State {
    /// Carries out `op` on `t` with its arguments (`a`: the key, row or query; `b`: the
    /// patch of an update).
    async fn run(&self, op: Op, t: &str, a: JsValue, b: JsValue) -> Result<JsValue, Error> {
        let t = t.to_string();
        match op {
            Op::Get => {
                check_key(&a, "get: key")?;
                self.current(&t, &a).await
            }
            Op::Query | Op::Count => {
                let mut q = convert::query(a)?;
                if let Op::Count = op {
                    q.select = Some(Vec::new());
                }
                let rows = query(self, &t, &q).await?;
                Ok(match op {
                    Op::Count => JsValue::from(rows.length()),
                    _ => rows.into(),
                })
            }
            Op::Put | Op::Insert => {
                let what = if let Op::Put = op { "put" } else { "insert" };
                let def = self.db.writable(&t, what)?;
                if let Op::Insert = op {
                    crate::storage::write::give_temp_key(&def, &t, &a)?;
                }
                let key = self.db.checked_key(&a, &def, &t, what)?;
                if let Op::Insert = op {
                    if !self.current(&t, &key).await?.is_undefined() {
                        return Err(Error::new(
                            ErrorCode::Conflict,
                            format!(
                                "insert on '{t}': a row with key {} exists",
                                crate::storage::write::describe_key(&key)
                            ),
                        ));
                    }
                }
                let w = match op {
                    Op::Put => TxWrite::Put {
                        table: t,
                        row: a.clone(),
                    },
                    _ => TxWrite::Insert {
                        table: t,
                        row: a.clone(),
                    },
                };
                self.record(w, &key, a)?;
                Ok(key)
            }
            Op::Update => {
                self.db.checked_update(&t, &a, &b)?;
                let current = self.current(&t, &a).await?;
                if current.is_undefined() {
                    return Err(not_found("update", &t, &a));
                }
                let row = js::merge_patch(&current, &b);
                let w = TxWrite::Update {
                    table: t,
                    key: a.clone(),
                    patch: b,
                };
                self.record(w, &a, row.clone())?;
                Ok(row)
            }
            Op::Delete => {
                self.db.writable(&t, "delete")?;
                check_key(&a, "delete: key")?;
                if self.current(&t, &a).await?.is_undefined() {
                    return Err(not_found("delete", &t, &a));
                }
                let w = TxWrite::Delete {
                    table: t,
                    key: a.clone(),
                };
                self.record(w, &a, JsValue::UNDEFINED)?;
                Ok(JsValue::UNDEFINED)
            }
        }
    }
}

fn not_found(what: &str, table: &str, key: &JsValue) -> Error {
    Error::new(
        ErrorCode::NotFound,
        format!(
            "{what} on '{table}': no row with key {}",
            crate::storage::write::describe_key(key)
        ),
    )
}

/// `q` over the stored rows of `table` with the transaction's writes laid over them.
async fn query(s: &State, table: &str, q: &offline_tables_core::Query) -> Result<Array, Error> {
    let written: Vec<(Key, JsValue)> = s
        .overlay
        .borrow()
        .iter()
        .filter(|(t, _, _)| t == table)
        .map(|(_, k, v)| (k.clone(), v.clone()))
        .collect();
    s.db.ready().await;
    if written.is_empty() {
        return s.db.query_rows(table, q).await;
    }
    let stored =
        s.db.query_rows(table, &q.for_overlay(written.len()))
            .await?;
    let mut maps = Vec::with_capacity(stored.length() as usize);
    for r in stored.iter() {
        maps.push(json_row(&r)?);
    }
    let mut laid = Vec::with_capacity(written.len());
    let all = stored;
    for (k, v) in &written {
        let row = match v.is_undefined() {
            true => None,
            false => Some(json_row(v)?),
        };
        laid.push((k.clone(), row));
        all.push(v);
    }
    let key_col = s.db.table(table)?.key;
    let order = q.overlay(&key_col, &maps, &laid);
    let cols: JsValue = match &q.select {
        Some(c) => c.iter().map(JsValue::from).collect::<Array>().into(),
        None => JsValue::UNDEFINED,
    };
    Ok(js::gather(
        &all,
        &js_sys::Uint32Array::from(&order[..]),
        &cols,
    ))
}

/// Runs `f(tx)` and commits what it wrote (see the module's comment). Resolves to what
/// `f` resolved to; rejects with what `f` threw (nothing written), or with the error of
/// a write that failed or of the commit (nothing written either).
pub(crate) async fn run(db: Rc<Db>, tables: JsValue, f: Function) -> Result<JsValue, JsValue> {
    let to_js = |e: Error| crate::error::to_js(&e);
    let names = table_names(&db, &tables).map_err(to_js)?;
    let state = Rc::new(State {
        db: db.clone(),
        tables: names,
        writes: RefCell::new(Vec::new()),
        overlay: RefCell::new(Vec::new()),
        running: RefCell::new(Vec::new()),
        open: Cell::new(true),
    });
    let handle = Transaction {
        state: state.clone(),
    };
    let out = match f.call1(&JsValue::UNDEFINED, &handle.into()) {
        Ok(v) => JsFuture::from(Promise::resolve(&v)).await,
        Err(thrown) => Err(thrown),
    };
    // Calls the app started and did not await still count. One that failed wrote
    // nothing; whether that fails the transaction is the app's choice (it rejects `fn`).
    loop {
        let running: Vec<Promise> = state.running.borrow_mut().drain(..).collect();
        if running.is_empty() {
            break;
        }
        let list: Array = running.into_iter().collect();
        let _ = JsFuture::from(Promise::all_settled(&list)).await;
    }
    state.open.set(false);
    let value = out?;
    let writes = state.writes.take();
    db.ready().await;
    db.commit_unit(&unit_id(), &writes).await.map_err(to_js)?;
    Ok(value)
}

fn table_names(db: &Db, tables: &JsValue) -> Result<Vec<String>, Error> {
    let Some(list) = tables.dyn_ref::<Array>() else {
        return Err(Error::invalid_argument(
            "transaction: tables must be an array of table names",
        ));
    };
    let mut names = Vec::new();
    for t in list.iter() {
        let Some(name) = t.as_string() else {
            return Err(Error::invalid_argument(
                "transaction: tables must be an array of table names",
            ));
        };
        db.table(&name)?;
        names.push(name);
    }
    Ok(names)
}

/// A fresh unit id: random, so units of different stores never meet.
fn unit_id() -> String {
    let mut s = String::from("u-");
    for _ in 0..3 {
        s.push_str(&format!(
            "{:08x}",
            (js_sys::Math::random() * 4_294_967_296.0) as u64
        ));
    }
    s
}
