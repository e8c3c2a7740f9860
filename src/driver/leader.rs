//! Sync leadership across tabs: one tab of an origin holds a Web Lock per database and
//! syncs; the others forward `sync()` requests and mirror its status over a
//! BroadcastChannel. When the leader closes (or its tab dies) the browser releases the
//! lock and another tab takes over, resuming from the shared outbox and checkpoint.

use crate::api::convert::{self, ChannelMessage, ChannelMessageOut, Js};
use js_sys::Function;
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
    pub fn acquire_lock(name: &str, on_acquired: &Function);
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
    /// A follower asks the leader to sync.
    SyncRequest,
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

pub struct Channel {
    channel: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Channel {
    pub fn open(db_name: &str, mut on: impl FnMut(Message) + 'static) -> Option<Channel> {
        let channel = BroadcastChannel::new(&format!("offline-tables-sync:{db_name}")).ok()?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
            let Ok(ChannelMessage { kind, body }) = convert::from_js(m.data()) else {
                return;
            };
            match kind.as_str() {
                "sync" => on(Message::SyncRequest),
                "finished" => on(Message::Finished(body)),
                "status" => on(Message::Status(body)),
                "conflict" => on(Message::Conflict(body)),
                "syncerror" => on(Message::SyncError(body)),
                "lists" => on(Message::ListsChanged),
                _ => {}
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some(Channel {
            channel,
            _on_message: on_message,
        })
    }

    pub fn post(&self, kind: &str, body: &JsValue) {
        let msg = ChannelMessageOut {
            kind,
            body: Js(body),
        };
        let _ = self.channel.post_message(&convert::to_js(&msg));
    }

    pub fn close(&self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}
