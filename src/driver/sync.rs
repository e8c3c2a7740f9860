//! The sync driver: runs the core engine in the page. It turns browser events (online,
//! offline, visibility, local writes in this or another tab) and timers into engine
//! events, and carries out the engine's instructions with the transport and storage
//! layers: freeze and push a batch, settle its outcomes, pull and apply pages (those
//! exchanges are in `sync/exchange.rs`), and keeps the status counts current
//! (`sync/counts.rs`). What it keeps besides the engine is in parts: the tabs'
//! leadership (`leadership.rs`), the engine's timers (`timers.rs`) and the status board
//! of counts, report and download progress (`board.rs`).

use crate::api::convert;
use crate::driver::board::{Board, Report};
use crate::driver::events::{Emitter, Heard};
use crate::driver::leadership::{Leadership, Message};
use crate::driver::timers::Timers;
use crate::storage::Db;
use crate::transport::Server;
use offline_tables_core::engine::{
    Config, Engine, Event, Failure, Finish, Instruction, Status, SyncState,
};
use offline_tables_core::ErrorCode;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

mod counts;
mod exchange;
mod files;

pub const PUSH_BATCH: usize = 500;
pub const PULL_LIMIT: u32 = 1000;

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

fn storage_failure(e: crate::error::Error) -> Failure {
    match e.code {
        ErrorCode::QuotaExceeded => Failure::QuotaExceeded { message: e.message },
        ErrorCode::UserMismatch => Failure::UserMismatch { message: e.message },
        _ => Failure::Storage { message: e.message },
    }
}

fn navigator_online() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|n| js_sys::Reflect::get(&n, &"onLine".into()))
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(true)
}

type Callback = Closure<dyn FnMut(JsValue)>;

pub struct Syncer {
    db: Rc<Db>,
    server: Server,
    engine: RefCell<Engine>,
    /// The lock, the channel to the other tabs, the mirror of the leader's status.
    leadership: Leadership,
    timers: Timers,
    /// The counts, the sync report and the first download's progress.
    board: Board,
    /// The resolve functions of the `sync()` calls the current cycle answers.
    /// The `(resolve, reject)` of each `sync()` waiting for the cycle's end.
    waiters: RefCell<Vec<(js_sys::Function, js_sys::Function)>>,
    pub status_events: Emitter,
    pub conflict_events: Emitter,
    pub error_events: Emitter,
    listeners: RefCell<Vec<(web_sys::EventTarget, &'static str, Callback)>>,
    stopped: Cell<bool>,
    /// The next page of a download, fetched while the current one was written.
    ahead: RefCell<Option<exchange::Ahead>>,
    /// The tables of each sync group, by the engine's group index; empty when the engine
    /// has one group of every table.
    groups: Vec<Vec<String>>,
}

impl Syncer {
    /// The sync server's base URL.
    pub fn server_url(&self) -> &str {
        &self.server.url
    }

    /// Joins the tabs syncing `db` with `server`: leads once it gets the lock, follows
    /// until then.
    pub fn start(db: Rc<Db>, server: Server, config: Config) -> Rc<Syncer> {
        let name = db.name.clone();
        let board = Board::new(db.profile().tables.keys());
        let groups = match config.group_intervals_ms.is_empty() {
            true => Vec::new(),
            false => db
                .profile()
                .sync_groups()
                .into_iter()
                .map(|g| g.tables)
                .collect(),
        };
        let me = Rc::new(Syncer {
            groups,
            db,
            server,
            engine: RefCell::new(Engine::new(config)),
            leadership: Leadership::default(),
            timers: Timers::default(),
            board,
            waiters: RefCell::default(),
            status_events: Emitter::default(),
            conflict_events: Emitter::default(),
            error_events: Emitter::default(),
            listeners: RefCell::default(),
            stopped: Default::default(),
            ahead: RefCell::new(None),
        });
        let (heard, granted) = (Rc::downgrade(&me), Rc::downgrade(&me));
        me.leadership.join(
            &name,
            move |m| {
                if let Some(me) = heard.upgrade() {
                    me.on_message(m);
                }
            },
            move |release: js_sys::Function| match granted.upgrade() {
                Some(me) if !me.stopped.get() => me.lead(release),
                _ => {
                    let _ = release.call0(&JsValue::UNDEFINED);
                }
            },
        );
        me
    }

    fn on_message(self: &Rc<Self>, m: Message) {
        let leader = self.leadership.is_leader();
        match m {
            Message::SyncRequest(groups) if leader => self.feed(Event::SyncRequested { groups }),
            Message::ListsChanged => self.refresh_counts(),
            Message::Finished(result) if !leader => {
                for (resolve, _) in self.waiters.borrow_mut().drain(..) {
                    let _ = resolve.call1(&JsValue::UNDEFINED, &result);
                }
            }
            Message::Conflict(c) if !leader => self.conflict_events.emit_value(&c),
            Message::SyncError(e) if !leader => self.error_events.emit_value(&e),
            Message::Status(status) if !leader => {
                self.leadership.mirror(&status);
                self.status_events.emit_value(&status);
            }
            _ => {}
        }
    }

    /// This tab got the lock: listen to the browser and start the engine.
    fn lead(self: &Rc<Self>, release: js_sys::Function) {
        self.leadership.lead(release);
        let global = js_sys::global();
        let online = navigator_online();
        if let Ok(target) = global.clone().dyn_into::<web_sys::EventTarget>() {
            self.listen(&target, "online", |_| Event::Online);
            self.listen(&target, "offline", |_| Event::Offline);
        }
        if let Ok(doc) = js_sys::Reflect::get(&global, &"document".into()) {
            if let Ok(doc) = doc.dyn_into::<web_sys::Document>() {
                let target: web_sys::EventTarget = doc.clone().into();
                self.listen(&target, "visibilitychange", |_| Event::Visible);
            }
        }
        // Local writes here and in other tabs: push soon, and count what is pending.
        // Remote changes (pulled pages, settled pushes) recount where they can change
        // the counts (`Syncer::push`, `Syncer::pull`): a download of a hundred pages
        // would otherwise recount after each.
        let weak = Rc::downgrade(self);
        self.db
            .events
            .observe(Some(Rc::new(move |heard: Heard<'_>| {
                let Some(me) = weak.upgrade() else {
                    return;
                };
                me.feed(Event::LocalWrite);
                match heard {
                    Heard::LocalPut { table, keys } => me.rows_written(table, keys),
                    Heard::LocalOther | Heard::Tab => me.refresh_counts(),
                }
            })));
        self.feed(Event::Started { online });
        self.refresh_counts();
        // The first download's state as stored, for a launch that cannot sync yet.
        let me = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if me.load_progress().await.is_ok() {
                me.publish();
            }
        });
        // Requests made while following are served now.
        if !self.waiters.borrow().is_empty() {
            self.feed(Event::SyncRequested { groups: Vec::new() });
        }
    }

    /// True when this tab is the one syncing.
    pub fn is_leader(&self) -> bool {
        self.leadership.is_leader()
    }

    fn listen(
        self: &Rc<Self>,
        target: &web_sys::EventTarget,
        name: &'static str,
        make: fn(&JsValue) -> Event,
    ) {
        let weak: Weak<Syncer> = Rc::downgrade(self);
        let cb = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            if let Some(me) = weak.upgrade() {
                if name == "visibilitychange" {
                    let visible = js_sys::Reflect::get(&js_sys::global(), &"document".into())
                        .and_then(|d| js_sys::Reflect::get(&d, &"visibilityState".into()))
                        .ok()
                        .and_then(|v| v.as_string())
                        .is_some_and(|v| v == "visible");
                    if !visible {
                        return;
                    }
                }
                me.feed(make(&e));
            }
        });
        let _ = target.add_event_listener_with_callback(name, cb.as_ref().unchecked_ref());
        self.listeners.borrow_mut().push((target.clone(), name, cb));
    }

    /// Stops: no more timers, listeners or requests started by this syncer.
    pub fn stop(&self) {
        self.stopped.set(true);
        self.leadership.leave();
        self.timers.clear_all();
        for (target, name, cb) in self.listeners.borrow_mut().drain(..) {
            let _ = target.remove_event_listener_with_callback(name, cb.as_ref().unchecked_ref());
        }
        self.db.events.observe(None);
        self.status_events.close();
        self.conflict_events.close();
        self.error_events.close();
    }

    pub fn status(&self) -> Status {
        self.engine.borrow().status().clone()
    }

    /// The status as JS: this tab's engine when leading, the leader's when following.
    pub fn status_js(&self) -> crate::error::Result<JsValue> {
        let mut status = self.status();
        if !self.leadership.is_leader() {
            if let Some(s) = self.leadership.mirrored() {
                return Ok(s);
            }
            // Not leading yet and nothing heard from a leader: what the browser says.
            status.online = navigator_online();
            if status.online {
                status.state = SyncState::Idle;
            }
        }
        self.board.status_js(&status)
    }

    /// Tells this tab's listeners and the followers about a kept conflict or a refusal.
    fn announce(
        &self,
        events: &Emitter,
        message: fn(JsValue) -> Message,
        entry: &serde_json::Value,
    ) {
        let Some(v) = convert::reported(convert::to_js(&convert::Json(entry))) else {
            return;
        };
        events.emit_value(&v);
        self.leadership.post(message(v));
    }

    /// Tells this tab's listeners and the followers the current status.
    fn publish(&self) {
        let Some(status) = convert::reported(self.status_js()) else {
            return;
        };
        self.status_events.emit_value(&status);
        self.leadership.post(Message::Status(status));
    }

    /// The app settled a kept conflict or a sync error here: the status counts change
    /// though no row may have (a discard), so the leader recounts.
    pub fn lists_changed(self: &Rc<Self>) {
        if self.leadership.is_leader() {
            self.refresh_counts();
        } else {
            self.leadership.post(Message::ListsChanged);
        }
    }

    /// The sync groups holding `tables` (None: every group, which is also what one group
    /// of every table gets).
    fn groups_of(&self, tables: Option<&[String]>) -> Vec<usize> {
        let Some(tables) = tables.filter(|_| !self.groups.is_empty()) else {
            return Vec::new();
        };
        let of: Vec<usize> = (0..self.groups.len())
            .filter(|&i| self.groups[i].iter().any(|t| tables.contains(t)))
            .collect();
        match of.len() == self.groups.len() {
            true => Vec::new(),
            false => of,
        }
    }

    /// The tables of the sync groups `groups` (None: every table).
    fn tables_of(&self, groups: &[usize]) -> Option<Vec<String>> {
        if groups.is_empty() {
            return None;
        }
        Some(
            groups
                .iter()
                .flat_map(|&g| self.groups[g].iter().cloned())
                .collect(),
        )
    }

    /// `store.sync()`, of the tables `tables` (and those they pull with) or of every table
    /// (None): resolves when the cycle it starts (or joins) ends.
    pub fn request_sync(self: &Rc<Self>, tables: Option<&[String]>) -> js_sys::Promise {
        let groups = self.groups_of(tables);
        let me = self.clone();
        let promise = js_sys::Promise::new(&mut |resolve, reject| {
            me.waiters.borrow_mut().push((resolve, reject));
        });
        if self.leadership.is_leader() {
            if !self.engine.borrow().busy() {
                // Report what this request's cycle does, not earlier automatic ones.
                self.board.take_report();
            }
            self.feed(Event::SyncRequested { groups });
        } else {
            self.leadership.post(Message::SyncRequest(groups));
        }
        promise
    }

    pub fn feed(self: &Rc<Self>, event: Event) {
        // A closed store does nothing more, whatever answers still arrive.
        if self.stopped.get() {
            return;
        }
        // Release the engine before acting: instructions may feed new events.
        let out = self
            .engine
            .borrow_mut()
            .step(now_ms(), js_sys::Math::random(), event);
        for i in out {
            self.run(i);
        }
    }

    fn run(self: &Rc<Self>, i: Instruction) {
        match i {
            Instruction::SendPush { request } => {
                self.board.push_sent(now_ms());
                let me = self.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let ev = me.push(request).await;
                    me.feed(ev);
                });
            }
            Instruction::SendPull { request, groups } => {
                let me = self.clone();
                let tables = self.tables_of(&groups);
                wasm_bindgen_futures::spawn_local(async move {
                    let ev = me.pull(request, tables).await;
                    me.feed(ev);
                });
            }
            Instruction::SetTimer { timer, at } => {
                let weak = Rc::downgrade(self);
                self.timers
                    .set(timer, at.saturating_sub(now_ms()), move || {
                        if let Some(me) = weak.upgrade() {
                            me.feed(Event::TimerFired { timer });
                        }
                    });
            }
            Instruction::ClearTimer { timer } => self.timers.clear(timer),
            Instruction::RefreshToken => {
                let me = self.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let ok = me.server.refresh_token().await;
                    me.feed(Event::TokenRefreshed { ok });
                });
            }
            Instruction::PublishStatus { .. } => {
                self.publish();
                self.refresh_counts();
            }
            Instruction::FinishSync { finish } => {
                // A page fetched ahead serves the next pull of this cycle only.
                self.ahead.borrow_mut().take();
                // The callers of this cycle, now: a sync() made from here on waits for
                // the next cycle. They get the status after a recount, so its pending
                // count is the one at the end of the cycle.
                let waiters: Vec<_> = self.waiters.borrow_mut().drain(..).collect();
                let report = self.board.take_report();
                let me = self.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    me.recount().await;
                    match me.sync_result(finish, report) {
                        Ok(result) => {
                            for (resolve, _) in waiters {
                                let _ = resolve.call1(&JsValue::UNDEFINED, &result);
                            }
                            me.leadership.post(Message::Finished(result));
                        }
                        Err(e) => {
                            let e = crate::error::to_js(&e);
                            for (_, reject) in waiters {
                                let _ = reject.call1(&JsValue::UNDEFINED, &e);
                            }
                        }
                    }
                });
            }
        }
    }

    /// `sync()`'s answer: `{ result, status, pushed, pulled, conflicts, errors, durationMs }`.
    fn sync_result(&self, finish: Finish, r: Report) -> crate::error::Result<JsValue> {
        convert::to_js(&convert::SyncResult {
            result: finish,
            status: convert::Js(&self.status_js()?),
            pushed: r.pushed,
            pulled: r.pulled,
            conflicts: r.conflicts,
            errors: r.errors,
            duration_ms: r.started_at.map_or(0, |t| now_ms().saturating_sub(t)),
        })
    }
}
