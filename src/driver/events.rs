//! Change events: listeners registered with `store.on("change", fn)`, called after every
//! committed write, and a BroadcastChannel per database so other tabs of the same
//! origin hear about writes too (they see `source: "tab"`). Every change also goes to the
//! store's live queries (`live.rs`), with the rows it wrote where the writer had them.

use crate::api::convert::{self, ChangeEvent, Js, TabChange, TabChangeOut};
use js_sys::{Array, Function};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Local,
    Remote,
    Tab,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Local => "local",
            Source::Remote => "remote",
            Source::Tab => "tab",
        }
    }
}

/// A committed write as the sync driver hears of it, before the app's listeners.
pub enum Heard<'a> {
    /// A put, insert or update here: every row of `keys` has a pending change now.
    LocalPut { table: &'a str, keys: &'a Array },
    /// Another local write (deletes, a settled conflict): what is pending may have
    /// grown or shrunk.
    LocalOther,
    /// A write in another tab.
    Tab,
}

/// The sync driver's hook (one per database): counts pending rows without a recount
/// where it can, and schedules a push.
pub type Observer = Rc<dyn Fn(Heard<'_>)>;

/// What a local write did, as `Emitter::emit_local` is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalWrite {
    Put,
    Other,
}

type OnMessage = Closure<dyn FnMut(MessageEvent)>;

/// The rows a change left, parallel to its keys (undefined: deleted); None: not known.
pub type Rows<'a> = Option<&'a Array>;

/// The most rows a change sends other tabs (more go as keys only).
const TAB_ROWS: u32 = 100;

#[derive(Default)]
struct Inner {
    listeners: RefCell<Vec<(u32, Function)>>,
    next_id: Cell<u32>,
    channel: RefCell<Option<BroadcastChannel>>,
    on_message: RefCell<Option<OnMessage>>,
    observer: RefCell<Option<Observer>>,
    live: super::live::Registry,
}

#[derive(Clone, Default)]
pub struct Emitter(Rc<Inner>);

fn event(table: &str, keys: &JsValue, source: Source) -> crate::error::Result<JsValue> {
    convert::to_js(&ChangeEvent {
        table,
        keys: Js(keys),
        source: source.as_str(),
        renamed: None,
    })
}

impl Inner {
    fn tell(&self, heard: Heard<'_>) {
        // Cloned out: the observer may stop the driver, which unsets it.
        let observer = self.observer.borrow().clone();
        if let Some(f) = observer {
            f(heard);
        }
    }

    fn call(&self, value: &JsValue) {
        // Listeners may unsubscribe while being called: iterate over a copy.
        let listeners: Vec<Function> = self
            .listeners
            .borrow()
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        for f in listeners {
            if let Err(e) = f.call1(&JsValue::UNDEFINED, value) {
                web_sys::console::error_2(&"offline-tables: a listener threw".into(), &e);
            }
        }
    }
}

impl Emitter {
    pub fn new(db_name: &str) -> Emitter {
        let emitter = Emitter::default();
        if let Ok(channel) = BroadcastChannel::new(&format!("offline-tables:{db_name}")) {
            let weak: Weak<Inner> = Rc::downgrade(&emitter.0);
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
                if let Some(inner) = weak.upgrade() {
                    let data = m.data();
                    if let Ok(m) = convert::from_js::<TabChange>(data.clone()) {
                        inner.tell(Heard::Tab);
                        if let Some(e) = convert::reported(event(&m.table, &m.keys, Source::Tab)) {
                            inner.call(&e);
                        }
                        // The rows, when the other tab sent them (`TabChangeOut`).
                        let rows = js_sys::Reflect::get(&data, &"rows".into()).unwrap_or_default();
                        inner.live.changed(&m.table, &m.keys, rows.dyn_ref());
                    }
                }
            });
            channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            *emitter.0.channel.borrow_mut() = Some(channel);
            *emitter.0.on_message.borrow_mut() = Some(on_message);
        }
        emitter
    }

    pub fn subscribe(&self, f: Function) -> u32 {
        let id = self.0.next_id.get() + 1;
        self.0.next_id.set(id);
        self.0.listeners.borrow_mut().push((id, f));
        id
    }

    pub fn unsubscribe(&self, id: u32) {
        self.0.listeners.borrow_mut().retain(|(i, _)| *i != id);
    }

    /// Sets (or, with None, unsets) the sync driver's hook.
    pub fn observe(&self, observer: Option<Observer>) {
        *self.0.observer.borrow_mut() = observer;
    }

    /// The store's live queries.
    pub fn live(&self) -> &super::live::Registry {
        &self.0.live
    }

    /// A local write committed: tells the sync driver what it did, then everyone else.
    pub fn emit_local(&self, table: &str, keys: &Array, wrote: LocalWrite) {
        self.emit_local_rows(table, keys, None, wrote);
    }

    /// `emit_local` with the rows written (see `emit_rows`).
    pub fn emit_local_rows(&self, table: &str, keys: &Array, rows: Rows, wrote: LocalWrite) {
        self.0.tell(match wrote {
            LocalWrite::Put => Heard::LocalPut { table, keys },
            LocalWrite::Other => Heard::LocalOther,
        });
        self.emit_rows(table, keys, rows, Source::Local);
    }

    /// Tells listeners here, and other tabs, that `keys` of `table` changed.
    pub fn emit(&self, table: &str, keys: &Array, source: Source) {
        self.emit_rows(table, keys, None, source);
    }

    /// `emit` with the rows the change left, when the writer has them: `rows[i]` is the
    /// row of `keys[i]` now, undefined when deleted (None: not known, so a live query
    /// whose result they might touch reads again).
    pub fn emit_rows(&self, table: &str, keys: &Array, rows: Rows, source: Source) {
        self.emit_with(table, keys, rows, source, None);
    }

    /// Tells listeners here, and other tabs, that temporary keys of `table` were replaced
    /// (`keys` holds both; `renamed` is `[{ from, to }]`). Live queries read again.
    pub fn emit_renamed(&self, table: &str, keys: &Array, source: Source, renamed: &Array) {
        self.emit_with(table, keys, None, source, Some(renamed));
    }

    fn emit_with(
        &self,
        table: &str,
        keys: &Array,
        rows: Rows,
        source: Source,
        renamed: Option<&Array>,
    ) {
        let e = convert::to_js(&ChangeEvent {
            table,
            keys: Js(keys),
            source: source.as_str(),
            renamed: renamed.map(|r| Js(r)),
        });
        if let Some(e) = convert::reported(e) {
            self.0.call(&e);
        }
        self.0.live.changed(table, keys, rows);
        if let Some(channel) = self.0.channel.borrow().as_ref() {
            // Large batches go by keys alone: cloning their rows into every tab's message
            // would cost the writer more than a live query there re-reading.
            let rows = rows.filter(|r| r.length() <= TAB_ROWS).map(|r| Js(r));
            let msg = TabChangeOut {
                table,
                keys: Js(keys),
                rows,
            };
            if let Some(msg) = convert::reported(convert::to_js(&msg)) {
                let _ = channel.post_message(&msg);
            }
        }
    }

    /// Calls the listeners here with `value` (status events: not shared with other tabs).
    pub fn emit_value(&self, value: &JsValue) {
        self.0.call(value);
    }

    pub fn close(&self) {
        if let Some(channel) = self.0.channel.borrow_mut().take() {
            channel.set_onmessage(None);
            channel.close();
        }
        self.0.on_message.borrow_mut().take();
        self.0.listeners.borrow_mut().clear();
        self.0.observer.borrow_mut().take();
        self.0.live.clear();
    }
}
