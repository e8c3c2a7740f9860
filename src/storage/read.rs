//! Reads: get, getMany, query and count. Queries are planned by the core onto the
//! primary key or an index; rows the plan reads come back as the stored JS objects,
//! and only the columns a filter or sort needs are converted for evaluation.

use super::{js, wait, Db};
use crate::error::{Error, Result};
use js_sys::{Array, Uint32Array};
use offline_tables_core::protocol::wire;
use offline_tables_core::query::{compare_rows, Bound, KeyRange, Plan, Source};
use offline_tables_core::Query;
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;
use web_sys::{IdbKeyRange, IdbObjectStore};

fn bound_js(b: &Bound) -> JsValue {
    match b {
        Bound::Num(n) => JsValue::from_f64(*n),
        Bound::Str(s) => JsValue::from_str(s),
        Bound::AfterStrings => Array::new().into(),
    }
}

/// The IndexedDB range. The core never plans an empty range, so a failure here is a
/// bug worth reporting rather than a silently shorter answer.
fn range_js(r: &KeyRange) -> Result<JsValue> {
    let range = if r.is_only() {
        IdbKeyRange::only(&bound_js(&r.lower.0))
    } else {
        IdbKeyRange::bound_with_lower_open_and_upper_open(
            &bound_js(&r.lower.0),
            &bound_js(&r.upper.0),
            r.lower.1,
            r.upper.1,
        )
    };
    range
        .map(JsValue::from)
        .map_err(|e| Error::from_js(&e, "building a key range"))
}

/// The key ranges a source reads (`undefined`: everything).
fn source_ranges(source: &Source) -> Result<Vec<JsValue>> {
    match source {
        Source::Scan => Ok(vec![JsValue::UNDEFINED]),
        Source::PrimaryKey(rs) | Source::Index { ranges: rs, .. } => {
            rs.iter().map(range_js).collect()
        }
    }
}

/// One end of a key range as a JS key, and whether it is open.
type End = Option<(JsValue, bool)>;

/// The bounds of a source read in primary-key order by one range, if it is one.
fn key_ordered_bounds(source: &Source) -> Option<(End, End)> {
    match source {
        Source::Scan => Some((None, None)),
        Source::PrimaryKey(rs) if rs.len() == 1 => {
            let r = &rs[0];
            Some((
                Some((bound_js(&r.lower.0), r.lower.1)),
                Some((bound_js(&r.upper.0), r.upper.1)),
            ))
        }
        _ => None,
    }
}

enum Reader {
    Store(IdbObjectStore),
    Index(web_sys::IdbIndex),
}

impl Reader {
    fn get_all(&self, range: &JsValue, limit: Option<u32>) -> Result<web_sys::IdbRequest, JsValue> {
        match (self, limit) {
            (Reader::Store(s), None) => s.get_all_with_key(range),
            (Reader::Store(s), Some(n)) => s.get_all_with_key_and_limit(range, n),
            (Reader::Index(i), None) => i.get_all_with_key(range),
            (Reader::Index(i), Some(n)) => i.get_all_with_key_and_limit(range, n),
        }
    }
    fn count(&self, range: &JsValue) -> Result<web_sys::IdbRequest, JsValue> {
        match self {
            Reader::Store(s) => s.count_with_key(range),
            Reader::Index(i) => i.count_with_key(range),
        }
    }
}

impl Db {
    pub async fn get_row(&self, table: &str, key: &JsValue) -> Result<JsValue> {
        self.table(table)?;
        super::write::check_key(key, "get: key")?;
        let ctx = format!("get on '{table}'");
        let tx = self.tx(&[table], false, &ctx)?;
        let req = tx.store(table)?.get(key).map_err(|e| tx.fail(e))?;
        wait(&req, &ctx).await
    }

    pub async fn get_rows(&self, table: &str, keys: &JsValue) -> Result<Array> {
        self.table(table)?;
        let keys: &Array = keys
            .dyn_ref()
            .ok_or_else(|| Error::invalid_argument("getMany: keys must be an array"))?;
        for (i, k) in keys.iter().enumerate() {
            super::write::check_key(&k, &format!("getMany: keys[{i}]"))?;
        }
        let ctx = format!("getMany on '{table}'");
        let tx = self.tx(&[table], false, &ctx)?;
        let store = tx.store(table)?;
        let reqs = issue(keys.length() as usize, &mut |i| {
            store.get(&keys.get(i as u32))
        })
        .map_err(|e| tx.fail(e))?;
        let out = Array::new_with_length(reqs.len() as u32);
        for (i, r) in reqs.iter().enumerate() {
            out.set(i as u32, wait(r, &ctx).await?);
        }
        Ok(out)
    }

    fn reader(&self, store: IdbObjectStore, source: &Source, ctx: &str) -> Result<Reader> {
        Ok(match source {
            Source::Index { column, .. } => {
                Reader::Index(store.index(column).map_err(|e| Error::from_js(&e, ctx))?)
            }
            _ => Reader::Store(store),
        })
    }

    /// Reads the rows the plan's source covers, in source order.
    async fn read_source(&self, table: &str, plan: &Plan, ctx: &str) -> Result<Array> {
        let tx = self.tx(&[table], false, ctx)?;
        let reader = self.reader(tx.store(table)?, &plan.source, ctx)?;
        let limit = plan.read_limit.map(|n| n.min(u32::MAX as u64) as u32);
        let ranges = source_ranges(&plan.source)?;
        let reqs = issue(ranges.len(), &mut |i| reader.get_all(&ranges[i], limit))
            .map_err(|e| tx.fail(e))?;
        let mut out: Option<Array> = None;
        for r in &reqs {
            let rows: Array = wait(r, ctx).await?.into();
            out = Some(match out {
                None => rows,
                Some(acc) => acc.concat(&rows),
            });
        }
        Ok(out.unwrap_or_default())
    }

    pub async fn query_rows(&self, table: &str, q: &Query) -> Result<Array> {
        let def = self.table(table)?;
        let plan = Plan::new(q, &def.key, &def.indexes);
        if plan.read_limit == Some(0) || q.limit == Some(0) {
            return Ok(Array::new());
        }
        let ctx = format!("query on '{table}'");
        if let (Some(limit), Some(residual), false) = (q.limit, &plan.residual, plan.needs_sort) {
            if let Some(bounds) = key_ordered_bounds(&plan.source) {
                let needed = q.offset.saturating_add(limit);
                return self
                    .scan_until(table, q, residual, bounds, needed, &ctx)
                    .await;
            }
        }
        let rows = self.read_source(table, &plan, &ctx).await?;
        let select: JsValue = match &q.select {
            Some(cols) => cols
                .iter()
                .map(|c| JsValue::from_str(c))
                .collect::<Array>()
                .into(),
            None => JsValue::NULL,
        };
        let offset = q.offset.min(u32::MAX as u64) as u32;
        let end = q
            .limit
            .map(|l| q.offset.saturating_add(l).min(u32::MAX as u64) as u32)
            .unwrap_or(u32::MAX);
        if plan.residual.is_none() && !plan.needs_sort {
            let rows = if offset > 0 || end < rows.length() {
                rows.slice(offset, end.min(rows.length()))
            } else {
                rows
            };
            if select.is_null() {
                return Ok(rows);
            }
            let all = Uint32Array::new_with_length(rows.length());
            for i in 0..rows.length() {
                all.set_index(i, i);
            }
            return Ok(js::gather(&rows, &all, &select));
        }
        let mut cols = q.columns();
        if !cols.contains(&def.key) {
            cols.push(def.key.clone());
        }
        let cols_js: Array = cols.iter().map(|c| JsValue::from_str(c)).collect();
        let picked: Vec<Map<String, Value>> = wire::from_str(&js::pick_json(&rows, &cols_js))
            .map_err(|e| Error::storage(format!("{ctx}: reading stored rows: {e}")))?;
        let mut order: Vec<u32> = (0..picked.len() as u32)
            .filter(|&i| {
                // Not `is_none_or`: it needs Rust 1.82 and the MSRV is 1.81.
                plan.residual
                    .as_ref()
                    .map_or(true, |f| f.matches(&picked[i as usize]))
            })
            .collect();
        if plan.needs_sort {
            offline_tables_core::sort::sort_by(&mut order, |&a, &b| {
                compare_rows(
                    &picked[a as usize],
                    &picked[b as usize],
                    &q.order_by,
                    &def.key,
                )
            });
        }
        let from = (offset as usize).min(order.len());
        let to = (end as usize).min(order.len());
        let order = Uint32Array::from(&order[from..to]);
        Ok(js::gather(&rows, &order, &select))
    }

    /// Reads rows in key order in growing chunks, filtering as it goes, and stops once
    /// `needed` rows matched: a `limit` over a large table reads only what it must.
    async fn scan_until(
        &self,
        table: &str,
        q: &Query,
        residual: &offline_tables_core::Filter,
        (mut lower, upper): (End, End),
        needed: u64,
        ctx: &str,
    ) -> Result<Array> {
        let def = self.table(table)?;
        let mut cols = q.columns();
        if !cols.contains(&def.key) {
            cols.push(def.key.clone());
        }
        let cols_js: Array = cols.iter().map(|c| JsValue::from_str(c)).collect();
        let tx = self.tx(&[table], false, ctx)?;
        let store = tx.store(table)?;
        let matched = Array::new();
        let mut chunk = 128u32;
        loop {
            let range: JsValue = match (&lower, &upper) {
                (None, None) => Ok(JsValue::UNDEFINED),
                (Some((l, lo)), None) => {
                    IdbKeyRange::lower_bound_with_open(l, *lo).map(JsValue::from)
                }
                (None, Some((u, uo))) => {
                    IdbKeyRange::upper_bound_with_open(u, *uo).map(JsValue::from)
                }
                (Some((l, lo)), Some((u, uo))) => {
                    IdbKeyRange::bound_with_lower_open_and_upper_open(l, u, *lo, *uo)
                        .map(JsValue::from)
                }
            }
            .map_err(|e| tx.fail(e))?;
            let req = store
                .get_all_with_key_and_limit(&range, chunk)
                .map_err(|e| tx.fail(e))?;
            let rows: Array = wait(&req, ctx).await?.into();
            let picked: Vec<Map<String, Value>> =
                wire::from_str(&js::pick_json(&rows, &cols_js))
                    .map_err(|e| Error::storage(format!("{ctx}: reading stored rows: {e}")))?;
            for (i, row) in picked.iter().enumerate() {
                if residual.matches(row) {
                    matched.push(&rows.get(i as u32));
                }
            }
            if matched.length() as u64 >= needed || rows.length() < chunk {
                break;
            }
            let last = rows.get(rows.length() - 1);
            lower = Some((
                js_sys::Reflect::get(&last, &JsValue::from_str(&def.key))
                    .map_err(|e| tx.fail(e))?,
                true,
            ));
            chunk = (chunk * 2).min(4096);
        }
        let offset = q.offset.min(matched.length() as u64) as u32;
        let end = needed.min(matched.length() as u64) as u32;
        let order: Vec<u32> = (offset..end).collect();
        let select: JsValue = match &q.select {
            Some(cols) => cols
                .iter()
                .map(|c| JsValue::from_str(c))
                .collect::<Array>()
                .into(),
            None => JsValue::NULL,
        };
        Ok(js::gather(
            &matched,
            &Uint32Array::from(&order[..]),
            &select,
        ))
    }

    pub async fn count_rows(&self, table: &str, q: &Query) -> Result<u32> {
        let def = self.table(table)?;
        let plan = Plan::new(q, &def.key, &def.indexes);
        if plan.residual.is_some() || q.offset > 0 || q.limit.is_some() {
            return Ok(self
                .query_rows(
                    table,
                    &Query {
                        select: None,
                        ..q.clone()
                    },
                )
                .await?
                .length());
        }
        let ctx = format!("count on '{table}'");
        let tx = self.tx(&[table], false, &ctx)?;
        let reader = self.reader(tx.store(table)?, &plan.source, &ctx)?;
        let ranges = source_ranges(&plan.source)?;
        let reqs =
            issue(ranges.len(), &mut |i| reader.count(&ranges[i])).map_err(|e| tx.fail(e))?;
        let mut total = 0u32;
        for r in &reqs {
            total += wait(r, &ctx).await?.as_f64().unwrap_or(0.0) as u32;
        }
        Ok(total)
    }
}

/// Parses a query given from JS: an OData string, a query object, or nothing.
pub fn parse_query(q: &JsValue) -> Result<Query> {
    if q.is_undefined() || q.is_null() {
        return Ok(Query::default());
    }
    if let Some(s) = q.as_string() {
        return Ok(Query::from_odata(&s)?);
    }
    if !q.is_object() || js_sys::Array::is_array(q) {
        return Err(Error::invalid_argument(
            "query must be an object or an OData string",
        ));
    }
    let v: Value =
        js::from_js(q, true).map_err(|e| Error::invalid_argument(format!("query: {e}")))?;
    Ok(Query::from_object(&v)?)
}

/// Issues `n` requests (`make(i)`), all before any is awaited. One function behind `dyn`
/// rather than a `collect::<Result<Vec<_>, _>>()` per call site (each a copy in the wasm).
fn issue(
    n: usize,
    make: &mut dyn FnMut(usize) -> std::result::Result<web_sys::IdbRequest, JsValue>,
) -> std::result::Result<Vec<web_sys::IdbRequest>, JsValue> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(make(i)?);
    }
    Ok(out)
}
