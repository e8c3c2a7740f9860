//! Sync leadership across tabs: one tab of an origin holds a Web Lock per database and
//! syncs; the others forward `sync()` requests and mirror its status over a
//! BroadcastChannel. When the leader closes (or its tab dies) the browser releases the
//! lock and another tab takes over, resuming from the shared outbox and checkpoint.
//! `Leadership` holds this tab's side of it: the lock, the channel and the mirror.

use crate::api::convert::{self, ChannelMessage, ChannelMessageOut, Js};
use js_sys::Function;
use std::cell::{Cell, RefCell};
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

#[wasm_bindgen(inline_js = r#"
export function acquireLock(name, onAcquired) {
  const locks = globalThis.navigator && globalThis.navigator.locks;
  if (!locks) { onAcquired(() => {}); return; }
  locks.request(name, () => new Promise((release) => onAcquired(release))).catch(() => {});
}
// Background Sync: asks the browser to wake the Service Worker (its "sync" event, tag
// `tag`) once the network is back, even if every page is closed. From a page it goes
// through the registration that controls it; inside the worker, through its own. Where
// the API or a worker is missing, nothing happens: the open pages sync when online.
export function registerBackgroundSync(tag) {
  try {
    const reg = globalThis.registration;
    if (reg && reg.sync) { reg.sync.register(tag).catch(() => {}); return; }
    const sw = globalThis.navigator && globalThis.navigator.serviceWorker;
    if (!sw || !sw.controller) return;
    sw.ready.then((r) => r.sync && r.sync.register(tag)).catch(() => {});
  } catch (_) { /* best effort */ }
}
"#)]
extern "C" {
    /// Calls `on_acquired(release)` once this context holds the lock `name`; the lock is
    /// held until `release()` is called or the context goes away.
    #[wasm_bindgen(js_name = acquireLock)]
    fn acquire_lock(name: &str, on_acquired: &Function);
    /// Registers the Background Sync tag `tag` where the browser supports it.
    #[wasm_bindgen(js_name = registerBackgroundSync)]
    pub fn register_background_sync(tag: &str);
}

/// The Background Sync tag of the store `name`: a Service Worker's `sync` event with
/// this tag should call `store.sync()`.
pub fn background_sync_tag(name: &str) -> String {
    format!("offline-tables:{name}")
}

/// A message between the tabs of one database.
pub enum Message {
    /// A follower asks the leader to sync these sync groups (empty: all).
    SyncRequest(Vec<usize>),
    /// The leader finished a sync requested by anyone: `{ result, status }`.
    Finished(JsValue),
    /// The leader's status changed.
    Status(JsValue),
    /// The leader kept a conflict for the app.
    Conflict(JsValue),
    /// The server refused a change.
    SyncError(JsValue),
    /// A tab settled a kept conflict or a sync error: the leader recounts.
    ListsChanged,
}

impl Message {
    /// Read from the channel: its `kind` and `body` (None for a kind this tab does not know).
    fn read(kind: &str, body: JsValue) -> Option<Message> {
        Some(match kind {
            "sync" => Message::SyncRequest(
                js_sys::Array::from(&body)
                    .iter()
                    .filter_map(|g| g.as_f64().map(|g| g as usize))
                    .collect(),
            ),
            "finished" => Message::Finished(body),
            "status" => Message::Status(body),
            "conflict" => Message::Conflict(body),
            "syncerror" => Message::SyncError(body),
            "lists" => Message::ListsChanged,
            _ => return None,
        })
    }

    /// As sent on the channel: its `kind` and `body`.
    fn written(self) -> (&'static str, JsValue) {
        match self {
            Message::SyncRequest(groups) => (
                "sync",
                groups
                    .iter()
                    .map(|g| JsValue::from(*g as f64))
                    .collect::<js_sys::Array>()
                    .into(),
            ),
            Message::Finished(body) => ("finished", body),
            Message::Status(body) => ("status", body),
            Message::Conflict(body) => ("conflict", body),
            Message::SyncError(body) => ("syncerror", body),
            Message::ListsChanged => ("lists", JsValue::UNDEFINED),
        }
    }
}

struct Channel {
    channel: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Channel {
    fn open(db_name: &str, mut on: impl FnMut(Message) + 'static) -> Option<Channel> {
        let channel = BroadcastChannel::new(&format!("offline-tables-sync:{db_name}")).ok()?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
            let Ok(ChannelMessage { kind, body }) = convert::from_js(m.data()) else {
                return;
            };
            if let Some(m) = Message::read(&kind, body) {
                on(m);
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some(Channel {
            channel,
            _on_message: on_message,
        })
    }

    fn post(&self, m: Message) {
        let (kind, body) = m.written();
        let msg = ChannelMessageOut {
            kind,
            body: Js(&body),
        };
        if let Some(msg) = convert::reported(convert::to_js(&msg)) {
            let _ = self.channel.post_message(&msg);
        }
    }

    fn close(&self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}

type LockCallback = Closure<dyn FnMut(Function)>;

/// This tab's side of the sync of one database: whether it leads, the channel to the
/// other tabs, and, while it follows, the leader's status as last heard. It only holds
/// that state: the sync driver decides what to do with a message.
#[derive(Default)]
pub(crate) struct Leadership {
    /// True in the one tab that holds the sync lock.
    leader: Cell<bool>,
    /// The leader's last status, as a follower heard it.
    mirror: RefCell<Option<JsValue>>,
    channel: RefCell<Option<Channel>>,
    /// Releases the lock, once this tab holds it.
    release: RefCell<Option<Function>>,
    /// Called when the lock is granted: kept for as long as this tab may be granted it,
    /// even after `leave` (it then releases the lock at once).
    on_lock: RefCell<Option<LockCallback>>,
}

impl Leadership {
    /// Joins the tabs of the database `name`: opens the channel, whose messages go to
    /// `on_message`, and asks for the lock, whose release function goes to `on_lock` once
    /// this tab holds it (at once where the browser has no Web Locks).
    pub(crate) fn join(
        &self,
        name: &str,
        on_message: impl FnMut(Message) + 'static,
        on_lock: impl FnMut(Function) + 'static,
    ) {
        *self.channel.borrow_mut() = Channel::open(name, on_message);
        let on_lock = Closure::<dyn FnMut(Function)>::new(on_lock);
        acquire_lock(
            &format!("offline-tables-sync:{name}"),
            on_lock.as_ref().unchecked_ref(),
        );
        *self.on_lock.borrow_mut() = Some(on_lock);
    }

    /// This tab holds the lock now, until `release` is called.
    pub(crate) fn lead(&self, release: Function) {
        *self.release.borrow_mut() = Some(release);
        self.leader.set(true);
    }

    /// True when this tab is the one syncing.
    pub(crate) fn is_leader(&self) -> bool {
        self.leader.get()
    }

    /// A follower heard the leader's status.
    pub(crate) fn mirror(&self, status: &JsValue) {
        *self.mirror.borrow_mut() = Some(status.clone());
    }

    /// The leader's status as last heard, while this tab follows and has heard one.
    pub(crate) fn mirrored(&self) -> Option<JsValue> {
        if self.leader.get() {
            return None;
        }
        self.mirror.borrow().clone()
    }

    /// Tells the other tabs.
    pub(crate) fn post(&self, m: Message) {
        if let Some(c) = self.channel.borrow().as_ref() {
            c.post(m);
        }
    }

    /// Leaves the tabs: releases the lock if held, and closes the channel.
    pub(crate) fn leave(&self) {
        self.leader.set(false);
        if let Some(release) = self.release.borrow_mut().take() {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
        if let Some(c) = self.channel.borrow_mut().take() {
            c.close();
        }
    }
}
