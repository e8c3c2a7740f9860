//! `GET /api/data/{table}` rows read through `ot_index` (members.rs): only the caller's
//! two buckets, over the index range the core's planner picks for `$filter` (the same
//! `Plan` the client uses on IndexedDB), in index order, stopping once `$top` + `$skip`
//! rows passed when that order is the answer's order. Every candidate is then checked
//! with the core's evaluator (the whole filter) and the exact scope, so the answer is
//! the one a scan would give; what the planner cannot narrow (`or`, `not`, `ne`,
//! `contains`, columns that are not indexed, comparisons with null or booleans) reads
//! the caller's rows of the table, never other users'.

use crate::db::{parse_data, Db};
use crate::error::AppResult;
use crate::members::buckets_of;
use crate::scope::Scoper;
use crate::sortkey;
use offline_tables_core::query::{compare_rows, Plan, Source};
use offline_tables_core::{Query, TableDef};
use serde_json::{Map, Value};
use sqlx::Row;

/// Index entries of one column in `lo <= v < hi`, in (v, ks) order.
const RANGE: &str = "SELECT i.v, i.ks, r.data FROM ot_index i JOIN ot_rows r ON r.tbl = i.tbl AND r.key = i.key \
     WHERE i.bucket = $1 AND i.tbl = $2 AND i.col = $3 AND i.v >= $4 AND i.v < $5 ORDER BY i.v, i.ks LIMIT $6";
/// Index entries of one column equal to `v`, after key `ks`, in key order.
const EQUAL: &str = "SELECT i.v, i.ks, r.data FROM ot_index i JOIN ot_rows r ON r.tbl = i.tbl AND r.key = i.key \
     WHERE i.bucket = $1 AND i.tbl = $2 AND i.col = $3 AND i.v = $4 AND i.ks > $5 ORDER BY i.ks LIMIT $6";

/// How one range is read.
enum Read {
    /// Every entry at once (the rows are sorted afterwards anyway).
    All(String, String),
    /// The key column: continue after the last key seen.
    Keys(String, String),
    /// One value of another column: continue after the last key seen.
    Equal(String),
}

/// The rows of `table` the caller sees that pass `q`, ordered, before `$skip`/`$top`;
/// with `$count` or without a usable order, all of them.
pub async fn rows(
    db: &Db,
    scoper: &mut Scoper<'_>,
    table: &str,
    def: &TableDef,
    q: &Query,
) -> AppResult<Vec<Map<String, Value>>> {
    let plan = Plan::new(q, &def.key, &def.indexes);
    let need = if q.count { None } else { plan.read_limit };
    let (column, reads): (&str, Vec<Read>) = match &plan.source {
        Source::Scan => {
            let (lo, hi) = sortkey::everything();
            (&def.key, vec![Read::Keys(lo, hi)])
        }
        Source::PrimaryKey(ranges) => (
            &def.key,
            ranges
                .iter()
                .map(|r| {
                    let (lo, hi) = sortkey::range(r);
                    Read::Keys(lo, hi)
                })
                .collect(),
        ),
        Source::Index { column, ranges } => (
            column,
            ranges
                .iter()
                .map(|r| match (&r.lower.0, r.is_only(), need) {
                    (b, true, Some(_)) => Read::Equal(sortkey::bound(b)),
                    _ => {
                        let (lo, hi) = sortkey::range(r);
                        Read::All(lo, hi)
                    }
                })
                .collect(),
        ),
    };
    let batch = need.map_or(i64::MAX, |n| (n as i64).clamp(50, 1000));
    let mut out = Vec::new();
    for bucket in buckets_of(scoper.caller) {
        let mut found = 0u64;
        'ranges: for read in &reads {
            let (mut lo, mut after_ks) = (String::new(), String::new());
            loop {
                let limit = if matches!(read, Read::All(..)) {
                    i64::MAX
                } else {
                    batch
                };
                let rows = match read {
                    Read::All(l, h) | Read::Keys(l, h) => {
                        let from = if lo.is_empty() { l } else { &lo };
                        sqlx::query(RANGE)
                            .bind(bucket.as_str())
                            .bind(table)
                            .bind(column)
                            .bind(from.as_str())
                            .bind(h.as_str())
                            .bind(limit)
                            .fetch_all(&db.pool)
                            .await?
                    }
                    Read::Equal(v) => {
                        sqlx::query(EQUAL)
                            .bind(bucket.as_str())
                            .bind(table)
                            .bind(column)
                            .bind(v.as_str())
                            .bind(after_ks.as_str())
                            .bind(batch)
                            .fetch_all(&db.pool)
                            .await?
                    }
                };
                let full = rows.len() as i64 == limit;
                for r in rows {
                    let v: String = r.try_get(0)?;
                    let ks: String = r.try_get(1)?;
                    lo = sortkey::after(&v);
                    after_ks = ks;
                    let Some(row) = parse_data(r.try_get(2)?)? else {
                        continue;
                    };
                    if q.matches(&row) && scoper.row_in_scope(table, &row).await? {
                        out.push(row);
                        found += 1;
                        if need.is_some_and(|n| found >= n) {
                            break 'ranges;
                        }
                    }
                }
                if !full || matches!(read, Read::All(..)) {
                    break;
                }
            }
        }
    }
    out.sort_by(|a, b| compare_rows(a, b, &q.order_by, &def.key));
    Ok(out)
}
