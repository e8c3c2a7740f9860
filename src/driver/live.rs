//! Live queries (`table.live`, `table.liveCount`): a store's open subscriptions, told of
//! every committed change (local, pulled, settled, another tab's) by the change emitter.
//! Each asks the core (`offline_tables_core::live`) whether the change can alter its
//! result, from the rows the change wrote, and reads the store again only when it can;
//! a result goes to the listener only when its JSON text differs from the last one it
//! got. Changes that arrive while a read runs make it run once more when it ends: one
//! more read however many arrived, never one per change.

use crate::error::{Error, Result};
use crate::storage::{js, Db};
use js_sys::{Array, Function, Uint32Array};
use offline_tables_core::live::{After, Change, Counted, Row, Window};
use offline_tables_core::protocol::wire;
use offline_tables_core::{Key, Query};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/driver/live.js")]
extern "C" {
    /// The JSON text of `rows` holding only `cols` and their key (`keys[i]` in `key_col`);
    /// a deleted row holds its key and `"": 1` (no column has an empty name).
    #[wasm_bindgen(js_name = changedJson)]
    fn changed_json(keys: &Array, rows: &Array, cols: &Array, key_col: &str) -> String;
    /// What `deliver` and `fail` call.
    fn listeners(listener: &Function, on_error: Option<&Function>) -> JsValue;
    /// Calls the listener with `result` unless its JSON text is the last one's.
    fn deliver(to: &JsValue, result: &JsValue);
    /// Calls `onError` with `err`, or logs it.
    fn fail(to: &JsValue, err: &JsValue);
}

/// What a live query follows: rows (`live`) or their count (`liveCount`).
pub enum Kind {
    Rows(Window),
    Count(Counted),
}

impl Kind {
    fn read_query(&self) -> Query {
        match self {
            Kind::Rows(w) => w.read_query(),
            Kind::Count(c) => c.read_query(),
        }
    }

    fn columns(&self) -> Vec<String> {
        match self {
            Kind::Rows(w) => w.columns(),
            Kind::Count(c) => c.columns(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Idle,
    Reading,
    /// Reading, and a change arrived meanwhile: read again when done.
    Again,
    Stopped,
}

/// One open live query.
struct Live {
    id: u32,
    table: String,
    /// The table's key column.
    key: String,
    /// The query's `select` as `gather` takes it (an array of columns, or null).
    select: JsValue,
    kind: RefCell<Kind>,
    /// `kind.columns()`, the columns a changed row is read for.
    columns: Vec<String>,
    /// The listeners and the JSON text of the last result delivered (`live.js`).
    to: JsValue,
    db: Weak<Db>,
    state: Cell<State>,
    /// The last read failed: what is held is stale, so the next change reads.
    stale: Cell<bool>,
}

/// The open live queries of one store.
#[derive(Default)]
pub struct Registry {
    open: RefCell<Vec<Rc<Live>>>,
    next_id: Cell<u32>,
}

/// What to call back, as the app passed it.
pub struct Listeners {
    pub listener: Function,
    pub on_error: Option<Function>,
}

impl Registry {
    /// Opens a live query on `table` of `db` and starts its first read; returns its id.
    pub fn open(
        &self,
        db: &Rc<Db>,
        (table, key): (&str, &str),
        kind: Kind,
        select: JsValue,
        to: Listeners,
    ) -> u32 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        let live = Rc::new(Live {
            id,
            table: table.to_string(),
            key: key.to_string(),
            select,
            columns: kind.columns(),
            kind: RefCell::new(kind),
            to: listeners(&to.listener, to.on_error.as_ref()),
            db: Rc::downgrade(db),
            state: Cell::new(State::Idle),
            stale: Cell::new(false),
        });
        self.open.borrow_mut().push(live.clone());
        live.start();
        id
    }

    /// Stops the live query `id` (nothing when it is stopped already).
    pub fn close(&self, id: u32) {
        let mut open = self.open.borrow_mut();
        if let Some(i) = open.iter().position(|l| l.id == id) {
            open.swap_remove(i).state.set(State::Stopped);
        }
    }

    /// Stops every live query (the store closes).
    pub fn clear(&self) {
        for l in self.open.take() {
            l.state.set(State::Stopped);
        }
    }

    /// A change committed to `table`: `rows` parallel to `keys` (see `Emitter::emit_rows`).
    /// With no live query open on the table this returns before any conversion.
    pub fn changed(&self, table: &str, keys: &Array, rows: Option<&Array>) {
        let mut idle = Vec::new();
        for l in self.open.borrow().iter().filter(|l| l.table == table) {
            match l.state.get() {
                State::Idle => idle.push(l.clone()),
                // What the read gives may predate the change: read once more.
                State::Reading => l.state.set(State::Again),
                State::Again | State::Stopped => {}
            }
        }
        if idle.is_empty() {
            return;
        }
        let decoded = rows.and_then(|rows| decode(keys, rows, &idle));
        let mut changes = Vec::new();
        for row in decoded.iter().flatten() {
            let key = row.get(&idle[0].key).map(|k| Key::from_json(k, "key"));
            let Some(Ok(key)) = key else {
                return idle.iter().for_each(|l| l.start());
            };
            let after = match row.contains_key("") {
                true => After::Deleted,
                false => After::Row(row),
            };
            changes.push(Change { key, after });
        }
        for l in idle {
            if decoded.is_none() || l.stale.get() {
                l.start();
                continue;
            }
            let count = match &mut *l.kind.borrow_mut() {
                Kind::Rows(w) => match w.affected(&changes) {
                    true => None,
                    false => continue,
                },
                Kind::Count(c) => c.apply(&changes).then(|| c.count()),
            };
            match count {
                Some(n) => l.deliver(&JsValue::from(n as f64)),
                None => l.start(),
            }
        }
    }
}

/// The changed rows as `changed_json` gives them (their columns the `live` queries
/// read), or None when they do not read back as such (decided as unknown).
fn decode(keys: &Array, rows: &Array, live: &[Rc<Live>]) -> Option<Vec<Row>> {
    // Each column once: a hundred queries on one table mostly read the same few.
    let mut names: Vec<&str> = Vec::new();
    for c in live.iter().flat_map(|l| &l.columns) {
        if !names.contains(&c.as_str()) {
            names.push(c);
        }
    }
    let cols = Array::new();
    for c in names {
        cols.push(&JsValue::from_str(c));
    }
    wire::from_str(&changed_json(keys, rows, &cols, &live[0].key)).ok()
}

impl Live {
    /// Reads the result again, now or (while a read runs) once that read ends.
    fn start(self: &Rc<Self>) {
        match self.state.get() {
            State::Idle => {
                self.state.set(State::Reading);
                wasm_bindgen_futures::spawn_local(self.clone().read());
            }
            State::Reading => self.state.set(State::Again),
            State::Again | State::Stopped => {}
        }
    }

    async fn read(self: Rc<Self>) {
        loop {
            let Some(db) = self.db.upgrade() else {
                return self.state.set(State::Stopped);
            };
            db.ready().await;
            if self.state.get() == State::Stopped {
                return;
            }
            let q = self.kind.borrow().read_query();
            let got = db.query_rows(&self.table, &q).await;
            drop(db);
            if self.state.get() == State::Stopped {
                return;
            }
            let done = got.and_then(|rows| self.took(&rows));
            self.stale.set(done.is_err());
            if let Err(e) = done {
                self.failed(&e);
            }
            match self.state.get() {
                State::Again => self.state.set(State::Reading),
                State::Reading => return self.state.set(State::Idle),
                State::Idle | State::Stopped => return,
            }
        }
    }

    /// Holds what a read gave and delivers the result.
    fn took(&self, rows: &Array) -> Result<()> {
        let cols: Array = self.columns.iter().map(|c| JsValue::from_str(c)).collect();
        let picked: Vec<Row> = wire::from_str(&js::pick_json(rows, &cols))
            .map_err(|e| Error::storage(format!("live query on '{}': {e}", self.table)))?;
        let result: JsValue = match &mut *self.kind.borrow_mut() {
            Kind::Rows(w) => {
                let range = w.hold(&picked);
                let at: Vec<u32> = (range.start as u32..range.end as u32).collect();
                js::gather(rows, &Uint32Array::from(&at[..]), &self.select).into()
            }
            Kind::Count(c) => {
                c.hold(&picked);
                JsValue::from(c.count() as f64)
            }
        };
        self.deliver(&result);
        Ok(())
    }

    /// Calls the listener with `result` unless it is the one it got last.
    fn deliver(&self, result: &JsValue) {
        if self.state.get() != State::Stopped {
            deliver(&self.to, result);
        }
    }

    fn failed(&self, e: &Error) {
        fail(&self.to, &crate::error::to_js(e));
    }
}
