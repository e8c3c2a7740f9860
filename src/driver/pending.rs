//! The rows with pending local changes, as the status counts them between recounts: so
//! that once a write's promise has resolved, `store.status().pending` counts it
//! (read-your-writes). A recount reads the whole outbox and runs in the background,
//! throttled (`Syncer::refresh_counts`). A put, insert or update is counted at once and
//! needs no recount: storage tells the driver (`Heard::LocalPut`) after the commit and
//! before the write resolves.

use offline_tables_core::Key;
use std::collections::BTreeSet;

// A set, not a sorted list: 10,000 single writes queued offline each insert one row.
type Rows = BTreeSet<(String, Key)>;

#[derive(Debug, Default)]
pub struct PendingRows {
    /// None until the first recount: before it, what was pending at launch is unknown.
    rows: Option<Rows>,
    /// Recounts under way, and the rows written locally since the oldest of them began:
    /// its read of the outbox may have come before those writes.
    recounts: u32,
    written_meanwhile: Vec<(String, Key)>,
}

impl PendingRows {
    /// A local write committed on `keys` of `table`: every one has a pending change now.
    /// The new count, when it is known.
    /// A recount under way hears of them too, even the first: its read of the outbox
    /// may have come before this write.
    pub fn written(&mut self, table: &str, keys: impl IntoIterator<Item = Key>) -> Option<u32> {
        for k in keys {
            if self.recounts > 0 {
                self.written_meanwhile.push((table.to_string(), k.clone()));
            }
            if let Some(rows) = self.rows.as_mut() {
                rows.insert((table.to_string(), k));
            }
        }
        self.rows.as_ref().map(|rows| rows.len() as u32)
    }

    pub fn recount_started(&mut self) {
        self.recounts += 1;
    }

    /// A recount read `pending` (the outbox's rows, in any order); the count to show.
    pub fn recounted(&mut self, pending: impl IntoIterator<Item = (String, Key)>) -> u32 {
        let mut rows = Rows::new();
        rows.extend(pending);
        rows.extend(self.written_meanwhile.iter().cloned());
        self.recounts = self.recounts.saturating_sub(1);
        if self.recounts == 0 {
            self.written_meanwhile.clear();
        }
        let n = rows.len() as u32;
        self.rows = Some(rows);
        n
    }

    /// A recount that could not read: it no longer holds writes back.
    pub fn recount_failed(&mut self) {
        self.recounts = self.recounts.saturating_sub(1);
        if self.recounts == 0 {
            self.written_meanwhile.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Key {
        Key::Str(s.into())
    }

    #[test]
    fn writes_count_once_per_row_and_only_after_a_first_recount() {
        let mut p = PendingRows::default();
        assert_eq!(p.written("t", [k("a")]), None);
        p.recount_started();
        assert_eq!(p.recounted([("t".into(), k("x"))]), 1);
        assert_eq!(p.written("t", [k("a"), k("b")]), Some(3));
        assert_eq!(p.written("t", [k("a")]), Some(3));
        assert_eq!(p.written("u", [k("a")]), Some(4));
    }

    #[test]
    fn a_write_during_a_recount_survives_its_older_reading() {
        let mut p = PendingRows::default();
        p.recount_started();
        p.recounted([]);
        p.recount_started();
        assert_eq!(p.written("t", [k("new")]), Some(1));
        // The recount read the outbox before the write: the write still counts.
        assert_eq!(p.recounted([("t".into(), k("old"))]), 2);
        // The next recount, with nothing written meanwhile, is the outbox alone.
        p.recount_started();
        assert_eq!(p.recounted([]), 0);
    }

    #[test]
    fn a_write_during_the_first_recount_is_in_its_count() {
        let mut p = PendingRows::default();
        p.recount_started();
        // Not known yet: the caller asks for a recount, this one still counts it.
        assert_eq!(p.written("t", [k("new")]), None);
        assert_eq!(p.recounted([]), 1);
    }
}
