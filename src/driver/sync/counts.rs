//! The sync driver's counts of pending changes, kept conflicts and sync errors: a local
//! put counted at once, and the recounts that read the outbox and the lists, throttled,
//! into the status board (`driver/board.rs`).

use super::{navigator_online, now_ms, Syncer};
use crate::api::convert;
use crate::driver::board::Written;
use crate::driver::leadership;
use std::rc::Rc;

impl Syncer {
    /// Recounts pending changes, kept conflicts and sync errors; publishes on a change.
    ///
    /// A recount reads the whole outbox, so it must not run once per write: during a
    /// burst (10,000 writes queued offline) that would make each write cost as much as
    /// all before it, and keep the database busy for the writes. One recount runs at a
    /// time; asks meanwhile make one more, after a pause of twice the last recount's
    /// length (at least 100 ms), so recounts hold the database a third of the time at
    /// most and the status is never more than a recount or so behind.
    pub(super) fn refresh_counts(self: &Rc<Self>) {
        if !self.leadership.is_leader() || !self.board.ask_recount() {
            return;
        }
        let me = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                me.board.recount_round();
                let started = now_ms();
                me.recount().await;
                if !me.board.recount_wanted() || me.stopped.get() {
                    break;
                }
                let pause = (2 * now_ms().saturating_sub(started)).max(100);
                gloo_timers::future::TimeoutFuture::new(pause.min(5_000) as u32).await;
            }
            me.board.recounts_over();
        });
    }

    /// A put, insert or update of `keys` committed here (its promise resolves after):
    /// those rows have pending changes now, whatever they had before, so the status
    /// counts them at once (read-your-writes) and no recount is needed. Before the first
    /// recount the count is not known: then one is asked for. Deletes and other writes
    /// recount instead: deleting a row created here and never pushed leaves nothing
    /// pending.
    pub(super) fn rows_written(self: &Rc<Self>, table: &str, keys: &js_sys::Array) {
        if !self.leadership.is_leader() {
            return;
        }
        match self.board.rows_written(table, convert::keys(keys)) {
            Written::Unknown => self.refresh_counts(),
            Written::Changed => self.publish(),
            Written::Unchanged => {}
        }
        // Those rows are pending now, so no recount will see them for this.
        self.wake_when_online();
    }

    /// Offline with work to push: lets the browser wake the worker when it is back (a
    /// Background Sync tag; the recount did this alone before puts stopped recounting).
    fn wake_when_online(&self) {
        if !navigator_online() {
            leadership::register_background_sync(&leadership::background_sync_tag(&self.db.name));
        }
    }

    pub(super) async fn recount(&self) {
        self.board.recount_started();
        let (Ok(p), Ok(c), Ok(e)) = (
            self.db.pending().await,
            self.db.conflicts().await,
            self.db.sync_errors().await,
        ) else {
            self.board.recount_failed();
            return;
        };
        let files = match self.db.file_counts(false).await {
            Ok(f) => {
                let n = |name| {
                    crate::storage::files::field(&f, name)
                        .as_f64()
                        .unwrap_or(0.0)
                };
                (n("pending") as u32, n("pendingBytes"))
            }
            Err(_) => (0, 0.0),
        };
        let rows = p
            .iter()
            .map(|p| (p.mutation.table.clone(), p.mutation.key.clone()));
        let (counts, changed) = self.board.recounted(rows, c.length(), e.length(), files);
        if counts.pending > 0 {
            self.wake_when_online();
        }
        if changed {
            self.publish();
        }
    }
}
