//! A query's result with a transaction's uncommitted writes laid over the stored rows:
//! what `tx.table(t).query(q)` answers inside `store.transaction` before anything is
//! written to IndexedDB.

use super::eval::compare_rows;
use super::Query;
use crate::value::Key;
use serde_json::{Map, Value};

impl Query {
    /// The query to read the stored rows with, for `overlay` over `writes` buffered
    /// writes: from the first row, and `writes` more rows than the window needs (each
    /// write can take at most one stored row out of it); every column.
    pub fn for_overlay(&self, writes: usize) -> Query {
        Query {
            offset: 0,
            limit: self
                .limit
                .map(|l| l.saturating_add(self.offset).saturating_add(writes as u64)),
            select: None,
            count: false,
            ..self.clone()
        }
    }

    /// The result of the query over `stored` (the rows `for_overlay` read, in order) with
    /// `written` laid over them (each buffered row's key and final state, None when
    /// deleted): indexes into `stored` followed by `written`, in the result's order,
    /// after the offset and the limit.
    pub fn overlay(
        &self,
        key_col: &str,
        stored: &[Map<String, Value>],
        written: &[(Key, Option<Map<String, Value>>)],
    ) -> Vec<u32> {
        let key_of =
            |row: &Map<String, Value>| row.get(key_col).and_then(|v| Key::from_json(v, "").ok());
        let overwritten = |k: &Option<Key>| {
            k.as_ref()
                .is_some_and(|k| written.iter().any(|(w, _)| w == k))
        };
        let mut picked: Vec<(u32, &Map<String, Value>)> = stored
            .iter()
            .enumerate()
            .filter(|(_, r)| !overwritten(&key_of(r)))
            .map(|(i, r)| (i as u32, r))
            .collect();
        for (i, (_, row)) in written.iter().enumerate() {
            if let Some(row) = row.as_ref().filter(|r| self.matches(r)) {
                picked.push(((stored.len() + i) as u32, row));
            }
        }
        crate::sort::sort_by(&mut picked, |a, b| {
            compare_rows(a.1, b.1, &self.order_by, key_col)
        });
        let limit = self.limit.unwrap_or(u64::MAX);
        picked
            .into_iter()
            .skip(self.offset.min(usize::MAX as u64) as usize)
            .take(limit.min(usize::MAX as u64) as usize)
            .map(|(i, _)| i)
            .collect()
    }
}
