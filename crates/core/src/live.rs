//! Live queries: whether a committed change can alter a live result, decided from the
//! rows the change wrote and the query alone, so that a change which cannot is never
//! read back from the store.
//!
//! A live list of rows (`Window`) holds the keys of what it last read. Its read starts
//! at row 0 whatever the query's `offset` (it reads `offset + limit` rows and delivers
//! the slice), so a row leaving before the delivered slice is one of the held rows too.
//! A change to a row is then harmless when the row is not held and its new state is
//! gone, fails the filter, or (the window being full) sorts after the last held row:
//! the rows before it in the new order are the held ones, unchanged. That holds for
//! every change of a transaction at once, so a batch is harmless when each change is.
//! A change whose new row is not known is always harmful (the row may have entered),
//! which keeps the decision sound when an emitter passes keys only.
//!
//! A live count (`Counted`) holds the keys of every row matching the filter, so the
//! new count follows from the changed rows without any read.

use crate::query::{compare_rows, Query};
use crate::value::Key;
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// A row as the decision reads it: its filter, order and key columns at least.
pub type Row = Map<String, Value>;

/// What a committed change left of one row.
#[derive(Debug, Clone, Copy)]
pub enum After<'a> {
    Deleted,
    Row(&'a Row),
    /// The emitter did not say (decided as "may have changed anything").
    Unknown,
}

/// One row a committed change wrote.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub key: Key,
    pub after: After<'a>,
}

impl<'a> Change<'a> {
    /// A temporary key `from` replaced by `to` (whose row is `after`): the row `from` is
    /// gone and the row `to` written.
    pub fn renamed(from: Key, to: Key, after: After<'a>) -> [Change<'a>; 2] {
        [
            Change {
                key: from,
                after: After::Deleted,
            },
            Change { key: to, after },
        ]
    }
}

/// Sorted keys, searched by bisection (a `BTreeSet` would be a few kB more of wasm).
#[derive(Debug, Clone, Default)]
struct Keys(Vec<Key>);

impl Keys {
    fn of(mut keys: Vec<Key>) -> Keys {
        crate::sort::sort(&mut keys);
        keys.dedup();
        Keys(keys)
    }
    fn has(&self, k: &Key) -> bool {
        self.0.binary_search(k).is_ok()
    }
    fn set(&mut self, k: &Key, present: bool) {
        match (self.0.binary_search(k), present) {
            (Err(i), true) => self.0.insert(i, k.clone()),
            (Ok(i), false) => {
                self.0.remove(i);
            }
            _ => {}
        }
    }
}

/// The keys of `rows` in their column `key_column` (rows without a valid key skipped:
/// stored rows always have one).
fn keys_of(rows: &[Row], key_column: &str) -> Keys {
    let mut keys = Vec::with_capacity(rows.len());
    for r in rows {
        if let Some(Ok(k)) = r.get(key_column).map(|v| Key::from_json(v, "key")) {
            keys.push(k);
        }
    }
    Keys::of(keys)
}

/// The columns of `query` a row is read for, and the key (which may come twice).
fn columns_of(query: &Query, key_column: &str) -> Vec<String> {
    let mut cols = query.columns();
    cols.push(key_column.to_string());
    cols
}

/// A live list of rows: the query and what its last read held.
#[derive(Debug, Clone)]
pub struct Window {
    query: Query,
    key_column: String,
    held: Keys,
    /// The last row read, when the read filled the window (`offset + limit` rows).
    last: Option<Row>,
    full: bool,
}

impl Window {
    /// A window of `query` over a table keyed by `key_column`, holding nothing yet.
    pub fn new(query: Query, key_column: &str) -> Window {
        Window {
            query,
            key_column: key_column.to_string(),
            held: Keys::default(),
            last: None,
            full: false,
        }
    }

    /// What to read: the query from row 0 to the end of its slice, whole rows.
    pub fn read_query(&self) -> Query {
        let q = &self.query;
        Query {
            limit: q.limit.map(|l| q.offset.saturating_add(l)),
            offset: 0,
            select: None,
            count: false,
            ..q.clone()
        }
    }

    /// The columns `hold` and `affected` read of a row, the key among them.
    pub fn columns(&self) -> Vec<String> {
        columns_of(&self.query, &self.key_column)
    }

    /// Takes the rows `read_query` read, in order (at least their `columns`), and gives
    /// the range of them to deliver.
    pub fn hold(&mut self, rows: &[Row]) -> std::ops::Range<usize> {
        let q = &self.query;
        self.held = keys_of(rows, &self.key_column);
        self.full = q
            .limit
            .is_some_and(|l| rows.len() as u64 >= q.offset.saturating_add(l));
        self.last = match self.full {
            true => rows.last().cloned(),
            false => None,
        };
        (q.offset.min(rows.len() as u64) as usize)..rows.len()
    }

    /// True when the committed `changes` may alter the result: read it again.
    pub fn affected(&self, changes: &[Change<'_>]) -> bool {
        changes.iter().any(|c| self.affected_by(c))
    }

    fn affected_by(&self, c: &Change<'_>) -> bool {
        if self.held.has(&c.key) {
            return true;
        }
        let row = match c.after {
            After::Deleted => return false,
            After::Unknown => return true,
            After::Row(r) => r,
        };
        if !self.query.matches(row) {
            return false;
        }
        match (&self.last, self.full) {
            (_, false) => true,
            (Some(last), true) => {
                compare_rows(row, last, &self.query.order_by, &self.key_column) == Ordering::Less
            }
            // A full window of no rows (`limit: 0`): nothing ever enters.
            (None, true) => false,
        }
    }
}

/// A live count: the query and the keys of every row matching its filter.
#[derive(Debug, Clone)]
pub struct Counted {
    query: Query,
    key_column: String,
    keys: Keys,
}

impl Counted {
    pub fn new(query: Query, key_column: &str) -> Counted {
        Counted {
            query,
            key_column: key_column.to_string(),
            keys: Keys::default(),
        }
    }

    /// What to read: the rows matching the filter, their keys only, in any order.
    pub fn read_query(&self) -> Query {
        Query {
            filter: self.query.filter.clone(),
            select: Some(vec![self.key_column.clone()]),
            ..Query::default()
        }
    }

    /// The columns `apply` reads of a changed row, the key among them.
    pub fn columns(&self) -> Vec<String> {
        columns_of(&self.query, &self.key_column)
    }

    /// Takes the rows `read_query` read.
    pub fn hold(&mut self, rows: &[Row]) {
        self.keys = keys_of(rows, &self.key_column);
    }

    /// Follows `changes`; false when one's row is unknown (read again: what is held is
    /// then partly followed, and replaced by the read).
    pub fn apply(&mut self, changes: &[Change<'_>]) -> bool {
        for c in changes {
            let present = match c.after {
                After::Unknown => return false,
                After::Deleted => false,
                After::Row(r) => self.query.matches(r),
            };
            self.keys.set(&c.key, present);
        }
        true
    }

    /// The count as `count(query)` gives it: after the query's offset and limit.
    pub fn count(&self) -> u64 {
        let n = (self.keys.0.len() as u64).saturating_sub(self.query.offset);
        self.query.limit.map_or(n, |l| n.min(l))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: Value) -> Row {
        v.as_object().unwrap().clone()
    }

    fn q(v: Value) -> Query {
        Query::from_object(&v).unwrap()
    }

    fn put(key: f64, r: &Row) -> Change<'_> {
        Change {
            key: Key::Num(key),
            after: After::Row(r),
        }
    }

    /// Notes 1..=5 with priority 1..=5, a window of the top 2 by priority after 1.
    fn window() -> Window {
        let mut w = Window::new(
            q(
                json!({ "where": { "done": false }, "orderBy": ["priority", "desc"], "limit": 2, "offset": 1 }),
            ),
            "id",
        );
        assert_eq!(w.read_query().limit, Some(3));
        assert_eq!(w.read_query().offset, 0);
        let rows: Vec<Row> = [5, 4, 3]
            .iter()
            .map(|&n| row(json!({ "id": n, "priority": n, "done": false })))
            .collect();
        assert_eq!(w.hold(&rows), 1..3);
        w
    }

    #[test]
    fn a_held_row_changing_is_affected_whatever_it_becomes() {
        let w = window();
        assert!(w.affected(&[Change {
            key: Key::Num(5.0),
            after: After::Deleted
        }]));
        let same = row(json!({ "id": 4, "priority": 4, "done": false }));
        assert!(w.affected(&[put(4.0, &same)]));
    }

    #[test]
    fn a_row_outside_the_filter_or_after_a_full_window_is_not() {
        let w = window();
        let done = row(json!({ "id": 9, "priority": 9, "done": true }));
        let low = row(json!({ "id": 1, "priority": 1, "done": false }));
        assert!(!w.affected(&[put(9.0, &done), put(1.0, &low)]));
        let gone = Change {
            key: Key::Num(2.0),
            after: After::Deleted,
        };
        assert!(!w.affected(&[gone]));
    }

    #[test]
    fn a_matching_row_sorting_into_the_window_or_an_unknown_one_is() {
        let w = window();
        let high = row(json!({ "id": 8, "priority": 8, "done": false }));
        assert!(w.affected(&[put(8.0, &high)]));
        // Same priority as the last held row (3): the key breaks the tie, 2 < 3.
        let tie = row(json!({ "id": 2, "priority": 3, "done": false }));
        assert!(w.affected(&[put(2.0, &tie)]));
        let unknown = Change {
            key: Key::Num(7.0),
            after: After::Unknown,
        };
        assert!(w.affected(&[unknown]));
    }

    #[test]
    fn a_window_not_full_takes_any_matching_row() {
        let mut w = Window::new(q(json!({ "limit": 10 })), "id");
        w.hold(&[row(json!({ "id": 1 }))]);
        let late = row(json!({ "id": 99 }));
        assert!(w.affected(&[put(99.0, &late)]));
        let mut none = Window::new(q(json!({ "limit": 0 })), "id");
        none.hold(&[]);
        assert!(!none.affected(&[put(99.0, &late)]));
    }

    #[test]
    fn a_rename_counts_as_both_keys() {
        let w = window();
        let r = row(json!({ "id": 40, "priority": 0, "done": false }));
        // `from` (5) is held: affected, though `to` sorts after the window.
        assert!(w.affected(&Change::renamed(
            Key::Num(5.0),
            Key::Num(40.0),
            After::Row(&r)
        )));
        assert!(!w.affected(&Change::renamed(
            Key::Num(6.0),
            Key::Num(40.0),
            After::Row(&r)
        )));
    }

    #[test]
    fn a_count_follows_rows_entering_and_leaving() {
        let mut c = Counted::new(
            q(json!({ "where": { "done": false }, "offset": 1, "limit": 2 })),
            "id",
        );
        assert_eq!(c.columns(), vec!["done".to_string(), "id".to_string()]);
        assert!(Window::new(q(json!({ "orderBy": "id" })), "id")
            .columns()
            .iter()
            .all(|c| c == "id"));
        c.hold(&[row(json!({ "id": 1 })), row(json!({ "id": 2 }))]);
        assert_eq!(c.count(), 1);
        let open = row(json!({ "id": 3, "done": false }));
        assert!(c.apply(&[put(3.0, &open)]));
        assert_eq!(c.count(), 2);
        let closed = row(json!({ "id": 1, "done": true }));
        let four = row(json!({ "id": 4, "done": false }));
        assert!(c.apply(&[put(1.0, &closed), put(4.0, &four)]));
        assert_eq!(
            c.count(),
            2,
            "2, 3 and 4 match: 3 after the offset, 2 within the limit"
        );
        let unknown = Change {
            key: Key::Num(5.0),
            after: After::Unknown,
        };
        assert!(!c.apply(&[unknown]));
    }

    #[test]
    fn a_filter_over_functions_reads_the_columns_inside_them() {
        let query = Query::from_odata(
            "$filter=contains(tolower(concat(first,last)),'x') or length(code) gt 3",
        )
        .unwrap();
        let mut c = Counted::new(query, "id");
        assert_eq!(c.columns(), ["code", "first", "last", "id"]);
        c.hold(&[]);
        let row_x = row(json!({ "id": 1, "first": "A", "last": "Xu" }));
        assert!(c.apply(&[put(1.0, &row_x)]));
        assert_eq!(c.count(), 1);
        let short = row(json!({ "id": 2, "code": "abc" }));
        let long = row(json!({ "id": 3, "code": "abcd" }));
        assert!(c.apply(&[put(2.0, &short), put(3.0, &long)]));
        assert_eq!(c.count(), 2, "1 and 3 match, 2 does not");
        let renamed = row(json!({ "id": 1, "first": "A", "last": "B" }));
        assert!(c.apply(&[put(1.0, &renamed)]));
        assert_eq!(c.count(), 1);
    }
}
