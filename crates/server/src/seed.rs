//! Seed files whose dates do not age: a seed `{ "table": [rows], ... }` may carry a
//! top-level `"$anchor": "<RFC 3339 timestamp>"` (not a table), the day its dates were
//! written for. Every string in its rows that is an RFC 3339 date-time is then moved by
//! (now − anchor) when it is loaded, in the same format (separator, fraction digits,
//! offset as written), so "modified five days ago" stays five days ago whatever the
//! date. `now` is the caller's clock: the binary's, or a test's fixed one.

use crate::error::AppResult;
use offline_tables_core::Error;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The seed's top-level entry naming the moment its dates were written for.
pub const ANCHOR: &str = "$anchor";

/// The seed's tables (without `$anchor`), their timestamps moved by `now_ms` − anchor
/// when the seed has an anchor.
pub fn tables_at(seed: &Value, now_ms: i64) -> AppResult<Map<String, Value>> {
    let mut tables = seed
        .as_object()
        .cloned()
        .ok_or_else(|| Error::invalid_argument("the seed must be an object { table: [rows] }"))?;
    // `shift_remove` keeps the tables in file order: rows are seeded (and versioned) in it.
    let Some(anchor) = tables.shift_remove(ANCHOR) else {
        return Ok(tables);
    };
    let anchor_ms = anchor
        .as_str()
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .ok_or_else(|| {
            Error::invalid_argument(format!(
                "seed.{ANCHOR} must be an RFC 3339 timestamp such as \"2026-11-25T00:00:00Z\", got {anchor}"
            ))
        })?;
    let delta_ms = now_ms - anchor_ms;
    if delta_ms != 0 {
        for rows in tables.values_mut() {
            shift_all(rows, delta_ms);
        }
    }
    Ok(tables)
}

/// Moves every RFC 3339 date-time string in `v`, at any depth.
fn shift_all(v: &mut Value, delta_ms: i64) {
    match v {
        Value::String(s) => {
            if let Some(moved) = shift_timestamp(s, delta_ms) {
                *s = moved;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| shift_all(i, delta_ms)),
        Value::Object(map) => map.values_mut().for_each(|i| shift_all(i, delta_ms)),
        _ => {}
    }
}

/// `text` moved by `delta_ms` and written as it was (`T` or `t`, as many fraction digits,
/// the same offset; extra precision is cut), or None when it is not an RFC 3339
/// date-time (a plain date, for one, is left alone).
pub fn shift_timestamp(text: &str, delta_ms: i64) -> Option<String> {
    let parsed = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let moved = (parsed + time::Duration::milliseconds(delta_ms)).to_offset(parsed.offset());
    // RFC 3339: `YYYY-MM-DDThh:mm:ss` (19 ASCII characters), `.digits`, then the offset.
    let separator = text.get(10..11)?;
    let rest = text.get(19..)?;
    let digits = rest
        .strip_prefix('.')
        .map_or(0, |f| f.bytes().take_while(u8::is_ascii_digit).count());
    let offset = &rest[if digits > 0 { digits + 1 } else { 0 }..];
    let mut out = format!(
        "{:04}-{:02}-{:02}{separator}{:02}:{:02}:{:02}",
        moved.year(),
        u8::from(moved.month()),
        moved.day(),
        moved.hour(),
        moved.minute(),
        moved.second()
    );
    if digits > 0 {
        let nanos = format!("{:09}", moved.nanosecond());
        out.push('.');
        // Beyond nanoseconds the original digits could not be kept anyway.
        out.push_str(&format!("{nanos:0<digits$}")[..digits]);
    }
    out.push_str(offset);
    Some(out)
}

/// A table's name and its rows, in the order they are loaded.
pub type TableRows = (String, Vec<Map<String, Value>>);

/// The seed's tables as (table, rows) in file order, for `bulk::load`.
pub fn row_lists(tables: Map<String, Value>) -> AppResult<Vec<TableRows>> {
    tables
        .into_iter()
        .map(|(table, rows)| {
            let Value::Array(list) = rows else {
                return Err(Error::invalid_argument(format!(
                    "seed.{table} must be an array of rows"
                ))
                .into());
            };
            let rows = list
                .into_iter()
                .enumerate()
                .map(|(i, r)| match r {
                    Value::Object(m) => Ok(m),
                    _ => Err(Error::invalid_argument(format!(
                        "seed.{table}[{i}] is not an object"
                    ))
                    .into()),
                })
                .collect::<AppResult<Vec<_>>>()?;
            Ok((table, rows))
        })
        .collect()
}
