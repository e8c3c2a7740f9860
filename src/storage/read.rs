//! Reads: get, getMany, query and count. Queries are planned by the core onto the
//! primary key or an index; rows the plan reads come back as the stored JS objects,
//! and only the columns a filter or sort needs are converted for evaluation.

use super::tx::{get, or_undefined, Tx};
use super::{js, Db};
use crate::error::{Error, FromJs, Result};
use indexed_db_futures::future::GetAllPrimitiveRequest;
use indexed_db_futures::index::Index;
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use indexed_db_futures::KeyRange as Range;
use js_sys::{Array, Uint32Array};
use offline_tables_core::protocol::wire;
use offline_tables_core::query::{compare_rows, Bound, KeyRange, Plan, Source};
use offline_tables_core::Query;
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

fn bound_js(b: &Bound) -> JsValue {
    match b {
        Bound::Num(n) => JsValue::from_f64(*n),
        Bound::Str(s) => JsValue::from_str(s),
        Bound::AfterStrings => Array::new().into(),
    }
}

/// The IndexedDB range of a planned one.
fn range_of(r: &KeyRange) -> Range<JsValue> {
    if r.is_only() {
        Range::Only(bound_js(&r.lower.0))
    } else {
        Range::Bound(
            bound_js(&r.lower.0),
            r.lower.1,
            bound_js(&r.upper.0),
            r.upper.1,
        )
    }
}

/// The key ranges a source reads (None: everything).
fn source_ranges(source: &Source) -> Vec<Option<Range<JsValue>>> {
    match source {
        Source::Scan => vec![None],
        Source::PrimaryKey(rs) | Source::Index { ranges: rs, .. } => {
            rs.iter().map(|r| Some(range_of(r))).collect()
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

/// What a query reads from: the table or one of its indexes.
enum Reader<'r> {
    Store(&'r ObjectStore<'r>),
    Index(&'r Index<'r>),
}

type Rows = GetAllPrimitiveRequest<JsValue>;

/// Issues a getAll on `$src` over `$range` (everything when None), of at most `$limit`
/// rows (the crate types each combination apart).
macro_rules! get_all {
    ($src:expr, $range:expr, $limit:expr) => {{
        let all = $src.get_all::<JsValue>();
        match ($range, $limit) {
            (None, None) => all.primitive(),
            (None, Some(n)) => all.with_limit(n).primitive(),
            (Some(r), None) => all.with_query::<JsValue, _>(r.clone()).primitive(),
            (Some(r), Some(n)) => all
                .with_query::<JsValue, _>(r.clone())
                .with_limit(n)
                .primitive(),
        }
    }};
}

impl Reader<'_> {
    fn get_all(
        &self,
        range: &Option<Range<JsValue>>,
        limit: Option<u32>,
    ) -> indexed_db_futures::Result<Rows> {
        match self {
            Reader::Store(s) => get_all!(s, range, limit),
            Reader::Index(i) => get_all!(i, range, limit),
        }
    }

    fn count(
        &self,
        range: &Option<Range<JsValue>>,
    ) -> indexed_db_futures::Result<indexed_db_futures::future::BasicRequest<u32>> {
        match (self, range) {
            (Reader::Store(s), None) => s.count().primitive(),
            (Reader::Store(s), Some(r)) => {
                s.count().with_query::<JsValue, _>(r.clone()).primitive()
            }
            (Reader::Index(i), None) => i.count().primitive(),
            (Reader::Index(i), Some(r)) => {
                i.count().with_query::<JsValue, _>(r.clone()).primitive()
            }
        }
    }
}

/// Awaits a getAll: its rows as one array.
async fn rows_of(tx: &Tx<'_>, req: Rows) -> Result<Array> {
    let rows = req.await.map_err(|e| tx.fail(e))?;
    let out = Array::new_with_length(rows.len() as u32);
    for (i, row) in rows.enumerate() {
        out.set(i as u32, row.map_err(|e| tx.fail(e))?);
    }
    Ok(out)
}

impl Db {
    pub async fn get_row(&self, table: &str, key: &JsValue) -> Result<JsValue> {
        self.profile().table(table)?; // checked, not cloned: a `get` is the hot path
        super::write::check_key(key, "get: key")?;
        let ctx = format!("get on '{table}'");
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[table], false, &ctx)?;
        let req = get(&tx.store(table)?, key).map_err(|e| tx.fail(e))?;
        let row = or_undefined(tx.wait(req).await?);
        // A temporary key the server has replaced since: the row under its real key.
        let temp = key
            .as_string()
            .is_some_and(|k| k.starts_with(offline_tables_core::keys::TEMP_KEY_PREFIX));
        if row.is_undefined() && temp {
            if let Some(real) = self.renamed_to(table, key).await? {
                return Box::pin(self.get_row(table, &real)).await;
            }
        }
        Ok(row)
    }

    pub async fn get_rows(&self, table: &str, keys: &JsValue) -> Result<Array> {
        self.profile().table(table)?;
        let keys: &Array = keys
            .dyn_ref()
            .ok_or_else(|| Error::invalid_argument("getMany: keys must be an array"))?;
        for (i, k) in keys.iter().enumerate() {
            super::write::check_key(&k, &format!("getMany: keys[{i}]"))?;
        }
        let ctx = format!("getMany on '{table}'");
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[table], false, &ctx)?;
        let store = tx.store(table)?;
        let mut reqs = Vec::with_capacity(keys.length() as usize);
        for k in keys.iter() {
            reqs.push(get(&store, &k).map_err(|e| tx.fail(e))?);
        }
        let out = Array::new_with_length(reqs.len() as u32);
        for (i, r) in reqs.into_iter().enumerate() {
            out.set(i as u32, or_undefined(tx.wait(r).await?));
        }
        Ok(out)
    }

    /// The index a source reads, if it reads one.
    fn index_of<'s>(
        tx: &Tx<'_>,
        store: &'s ObjectStore<'s>,
        source: &Source,
    ) -> Result<Option<Index<'s>>> {
        match source {
            Source::Index { column, .. } => Ok(Some(store.index(column).map_err(|e| tx.fail(e))?)),
            _ => Ok(None),
        }
    }

    /// Reads the rows the plan's source covers, in source order.
    async fn read_source(&self, table: &str, plan: &Plan, ctx: &str) -> Result<Array> {
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[table], false, ctx)?;
        let store = tx.store(table)?;
        let index = Self::index_of(&tx, &store, &plan.source)?;
        let reader = match &index {
            Some(i) => Reader::Index(i),
            None => Reader::Store(&store),
        };
        let limit = plan.read_limit.map(|n| n.min(u32::MAX as u64) as u32);
        let mut reqs = Vec::new();
        for range in &source_ranges(&plan.source) {
            reqs.push(reader.get_all(range, limit).map_err(|e| tx.fail(e))?);
        }
        let mut out: Option<Array> = None;
        for r in reqs {
            let rows = rows_of(&tx, r).await?;
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
        let select = selected_columns(q);
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
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[table], false, ctx)?;
        let table_store = tx.store(table)?;
        let store = Reader::Store(&table_store);
        let matched = Array::new();
        let mut chunk = 128u32;
        loop {
            let range = match (&lower, &upper) {
                (None, None) => None,
                (Some((l, lo)), None) => Some(Range::LowerBound(l.clone(), *lo)),
                (None, Some((u, uo))) => Some(Range::UpperBound(u.clone(), *uo)),
                (Some((l, lo)), Some((u, uo))) => {
                    Some(Range::Bound(l.clone(), *lo, u.clone(), *uo))
                }
            };
            let req = store.get_all(&range, Some(chunk)).map_err(|e| tx.fail(e))?;
            let rows = rows_of(&tx, req).await?;
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
                    .map_err(|e| Error::from_js(&e, ctx))?,
                true,
            ));
            chunk = (chunk * 2).min(4096);
        }
        let offset = q.offset.min(matched.length() as u64) as u32;
        let end = needed.min(matched.length() as u64) as u32;
        let order: Vec<u32> = (offset..end).collect();
        let select = selected_columns(q);
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
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[table], false, &ctx)?;
        let store = tx.store(table)?;
        let index = Self::index_of(&tx, &store, &plan.source)?;
        let reader = match &index {
            Some(i) => Reader::Index(i),
            None => Reader::Store(&store),
        };
        let mut reqs = Vec::new();
        for range in &source_ranges(&plan.source) {
            reqs.push(reader.count(range).map_err(|e| tx.fail(e))?);
        }
        let mut total = 0u32;
        for r in reqs {
            total += tx.wait(r).await?;
        }
        Ok(total)
    }
}

/// The query's `select` as the gathering JS takes it: an array of column names, or null
/// for whole rows.
pub(crate) fn selected_columns(q: &Query) -> JsValue {
    columns_js(q.select.as_deref())
}

/// Columns as a JS array of names (null: none given).
pub(crate) fn columns_js(cols: Option<&[String]>) -> JsValue {
    match cols {
        Some(cols) => cols
            .iter()
            .map(|c| JsValue::from_str(c))
            .collect::<Array>()
            .into(),
        None => JsValue::NULL,
    }
}
