//! The status board: what the sync status and `sync()`'s answer carry besides the
//! engine's state. The counts (pending changes, kept conflicts, sync errors) and whether
//! a recount runs, the rows written since the last recount, the report of the cycles
//! since the last `sync()` answer, and the first download's progress. It keeps them; the
//! sync driver reads the database and decides when.

use crate::api::convert;
use crate::driver::initial::Progress;
use crate::driver::pending::PendingRows;
use offline_tables_core::engine::Status;
use offline_tables_core::protocol::{Estimate, PullResponse};
use offline_tables_core::Key;
use std::cell::{Cell, RefCell};
use wasm_bindgen::JsValue;

/// The counts the status carries besides the engine's state.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(super) struct Counts {
    pub(super) pending: u32,
    pub(super) conflicts: u32,
    pub(super) errors: u32,
    /// Queued file uploads (and deletes), and the bytes of the uploads.
    pub(super) files: (u32, f64),
}

/// What the sync cycles since the last `sync()` answer did.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(super) struct Report {
    pub(super) pushed: u32,
    pub(super) pulled: u32,
    pub(super) conflicts: u32,
    pub(super) errors: u32,
    pub(super) started_at: Option<u64>,
}

/// What a local write did to the pending count (`Board::rows_written`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Written {
    /// No recount has run yet, so the count is not known: one is needed.
    Unknown,
    Changed,
    Unchanged,
}

/// The status board of one syncing store (see the module's doc).
#[derive(Default)]
pub(super) struct Board {
    counts: Cell<Counts>,
    /// A background recount runs; `recount_again`: another was asked for meanwhile.
    recounting: Cell<bool>,
    recount_again: Cell<bool>,
    report: Cell<Report>,
    /// The rows with pending changes, counted at once on a local write.
    pending_rows: RefCell<PendingRows>,
    /// Where the first download stands.
    initial: RefCell<Progress>,
}

impl Board {
    /// A board with nothing counted yet, for a store with these tables.
    pub(super) fn new<'a>(tables: impl Iterator<Item = &'a String>) -> Board {
        Board {
            initial: RefCell::new(Progress::new(tables)),
            ..Board::default()
        }
    }

    /// The status as JS: the engine's `status` with the counts and the download's progress.
    pub(super) fn status_js(&self, status: &Status) -> crate::error::Result<JsValue> {
        let c = self.counts.get();
        convert::to_js(&convert::StatusOut {
            status,
            pending: c.pending,
            conflicts: c.conflicts,
            errors: c.errors,
            files: convert::FilesOut {
                pending: c.files.0,
                pending_bytes: c.files.1,
            },
            initial_sync: convert::InitialSync(&self.initial.borrow()),
        })
    }

    // The counts.

    /// A put, insert or update committed on `keys` of `table`: those rows are pending.
    pub(super) fn rows_written(&self, table: &str, keys: impl IntoIterator<Item = Key>) -> Written {
        let Some(pending) = self.pending_rows.borrow_mut().written(table, keys) else {
            return Written::Unknown;
        };
        let counts = self.counts.get();
        if counts.pending == pending {
            return Written::Unchanged;
        }
        self.counts.set(Counts { pending, ..counts });
        Written::Changed
    }

    /// Asks for a recount: true when none runs, and the caller starts one; false when
    /// one runs, which then runs once more (`recount_wanted`).
    pub(super) fn ask_recount(&self) -> bool {
        if self.recounting.replace(true) {
            self.recount_again.set(true);
            return false;
        }
        true
    }

    /// A round of the running recount begins: it serves every ask made so far.
    pub(super) fn recount_round(&self) {
        self.recount_again.set(false);
    }

    /// Whether a recount was asked for since the round began.
    pub(super) fn recount_wanted(&self) -> bool {
        self.recount_again.get()
    }

    /// The running recount stops: the next ask starts one.
    pub(super) fn recounts_over(&self) {
        self.recounting.set(false);
    }

    /// A recount begins to read the outbox and the lists: writes from now on count on
    /// top of what it reads.
    pub(super) fn recount_started(&self) {
        self.pending_rows.borrow_mut().recount_started();
    }

    /// The recount could not read: the counts stay as they were.
    pub(super) fn recount_failed(&self) {
        self.pending_rows.borrow_mut().recount_failed();
    }

    /// The recount read the outbox's `pending` rows, `conflicts` kept conflicts and
    /// `errors` sync errors. The new counts, and whether they changed.
    pub(super) fn recounted(
        &self,
        pending: impl IntoIterator<Item = (String, Key)>,
        conflicts: u32,
        errors: u32,
        files: (u32, f64),
    ) -> (Counts, bool) {
        let counts = Counts {
            pending: self.pending_rows.borrow_mut().recounted(pending),
            conflicts,
            errors,
            files,
        };
        (counts, self.counts.replace(counts) != counts)
    }

    // The report.

    /// A push of the cycle was sent at `now`: the report's duration runs from the first.
    pub(super) fn push_sent(&self, now: u64) {
        let mut r = self.report.get();
        r.started_at.get_or_insert(now);
        self.report.set(r);
    }

    /// A push settled `applied` changes, `conflicts` conflicts (kept or settled by policy)
    /// and `errors` refusals.
    pub(super) fn pushed(&self, applied: u32, conflicts: u32, errors: u32) {
        let mut r = self.report.get();
        r.pushed += applied;
        r.conflicts += conflicts;
        r.errors += errors;
        self.report.set(r);
    }

    /// A pull wrote `changes` changes.
    pub(super) fn pulled(&self, changes: u32) {
        let mut r = self.report.get();
        r.pulled += changes;
        self.report.set(r);
    }

    /// The report so far, and a new one begins.
    pub(super) fn take_report(&self) -> Report {
        self.report.take()
    }

    // The first download.

    /// Whether the first download is over.
    pub(super) fn initial_done(&self) -> bool {
        self.initial.borrow().done
    }

    /// Whether the stored progress was read in this session.
    pub(super) fn progress_loaded(&self) -> bool {
        self.initial.borrow().loaded
    }

    /// The stored progress: whether the download is `done`, and the rows of each table.
    /// Only the first load in a session counts.
    pub(super) fn load_progress(&self, done: bool, rows: Vec<(String, u64)>) {
        let mut p = self.initial.borrow_mut();
        if !p.loaded {
            p.loaded = true;
            p.done = done;
            for (t, n) in rows {
                p.table(&t).rows = n;
            }
        }
    }

    /// True, once per session or after `estimate_failed`: the server's estimate is to be
    /// asked for now.
    pub(super) fn ask_estimate(&self) -> bool {
        let mut p = self.initial.borrow_mut();
        if p.estimated {
            return false;
        }
        p.estimated = true;
        true
    }

    /// The server's estimate of the download, per table.
    pub(super) fn set_estimate(&self, estimate: &Estimate) {
        self.initial.borrow_mut().set_estimate(estimate);
    }

    /// The estimate could not be had or would not fit: ask again at the next attempt.
    pub(super) fn estimate_failed(&self) {
        self.initial.borrow_mut().estimated = false;
    }

    /// A page of the first download was written.
    pub(super) fn page_written(&self, page: &PullResponse) {
        self.initial.borrow_mut().add_page(page);
    }

    /// The first download's files: `total` to download, `done` of them downloaded.
    pub(super) fn files_progress(&self, done: u64, total: u64) {
        self.initial.borrow_mut().files = (done, Some(total));
    }

    /// The first download is over (and stored as such).
    pub(super) fn initial_finished(&self) {
        self.initial.borrow_mut().done = true;
    }

    /// The download starts over, for a store with these tables.
    pub(super) fn restart_download<'a>(&self, tables: impl Iterator<Item = &'a String>) {
        *self.initial.borrow_mut() = Progress::new(tables);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Key {
        Key::Str(s.into())
    }

    #[test]
    fn a_write_counts_at_once_after_the_first_recount_only() {
        let b = Board::default();
        assert_eq!(b.rows_written("t", [k("a")]), Written::Unknown);
        b.recount_started();
        let (counts, changed) = b.recounted([("t".into(), k("x"))], 2, 1, (0, 0.0));
        assert!(changed);
        assert_eq!((counts.pending, counts.conflicts, counts.errors), (1, 2, 1));
        assert_eq!(b.rows_written("t", [k("x")]), Written::Unchanged);
        assert_eq!(b.rows_written("t", [k("b")]), Written::Changed);
        b.recount_started();
        let (_, changed) =
            b.recounted([("t".into(), k("x")), ("t".into(), k("b"))], 2, 1, (0, 0.0));
        assert!(!changed);
    }

    #[test]
    fn an_ask_during_a_recount_makes_one_more_round() {
        let b = Board::default();
        assert!(b.ask_recount());
        b.recount_round();
        assert!(!b.ask_recount());
        assert!(!b.ask_recount());
        assert!(b.recount_wanted());
        b.recount_round();
        assert!(!b.recount_wanted());
        b.recounts_over();
        assert!(b.ask_recount());
    }

    #[test]
    fn the_report_adds_up_until_taken() {
        let b = Board::default();
        b.push_sent(10);
        b.push_sent(20);
        b.pushed(3, 1, 1);
        b.pulled(5);
        b.pulled(2);
        let r = b.take_report();
        assert_eq!((r.pushed, r.pulled, r.conflicts, r.errors), (3, 7, 1, 1));
        assert_eq!(r.started_at, Some(10));
        assert_eq!(b.take_report(), Report::default());
    }

    #[test]
    fn the_estimate_is_asked_for_once_unless_it_failed() {
        let b = Board::default();
        assert!(b.ask_estimate());
        assert!(!b.ask_estimate());
        b.estimate_failed();
        assert!(b.ask_estimate());
    }

    #[test]
    fn only_the_first_load_of_the_progress_counts() {
        let tables = ["t".to_string()];
        let b = Board::new(tables.iter());
        assert!(!b.progress_loaded());
        b.load_progress(false, vec![("t".into(), 4)]);
        b.load_progress(true, vec![("t".into(), 9)]);
        assert!(b.progress_loaded() && !b.initial_done());
        assert_eq!(b.initial.borrow_mut().table("t").rows, 4);
        b.initial_finished();
        assert!(b.initial_done());
        b.restart_download(tables.iter());
        assert!(!b.initial_done() && !b.progress_loaded());
    }
}
