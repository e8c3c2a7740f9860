//! The REST data API: `/api/data/{table}` and `/api/data/{table}/{key}` with the OData
//! subset the client's fetch interceptor also answers. Same scope rules as sync; every
//! write gets a version and appears in pulls.

use crate::auth::User;
use crate::columns::sent;
use crate::db::{self, key_text};
use crate::error::AppResult;
use crate::js_json::JsJson;
use crate::json::{JsonBody, UrlPath as Path};
use crate::scope::{Scoper, Src};
use crate::AppState;
use axum::extract::{FromRequest, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use offline_tables_core::expand::{self, key_of, Expand};
use offline_tables_core::paging::{max_page_size, next_link, Paging};
use offline_tables_core::query::project;
use offline_tables_core::rest::{
    key_in_parentheses, key_segment, listing, new_row, parse_key_segment, patch_columns,
    patched_row, table, writable,
};
use offline_tables_core::scope::Caller;
use offline_tables_core::Error;
use offline_tables_core::{Filter, Key, Profile, Query};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

fn with_etag(status: StatusCode, version: i64, body: Value) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        headers.insert(header::ETAG, v);
    }
    (status, headers, JsJson(body)).into_response()
}

/// `405` with the methods a path takes, as axum's router answers another method.
fn not_allowed(allow: &'static str) -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, HeaderValue::from_static(allow))],
    )
        .into_response()
}

// `/api/data/{table}` also takes OData's `{table}({key})` (core `key_in_parentheses`):
// the same row as `/api/data/{table}/{key}`. These route each method on it.

pub async fn get_table(
    state: State<AppState>,
    user: User,
    Path(name): Path<String>,
    raw: RawQuery,
    headers: HeaderMap,
) -> AppResult<Response> {
    match key_in_parentheses(&name) {
        Some(parts) => read(state, user, Path(parts?)).await,
        None => list(state, user, Path(name), raw, headers).await,
    }
}

pub async fn post_table(
    state: State<AppState>,
    user: User,
    Path(name): Path<String>,
    req: Request,
) -> AppResult<Response> {
    if key_in_parentheses(&name).is_some() {
        return Ok(not_allowed("GET,HEAD,PATCH,DELETE"));
    }
    let body = JsonBody::from_request(req, &state.0).await?;
    create(state, user, Path(name), body).await
}

pub async fn patch_table(
    state: State<AppState>,
    user: User,
    Path(name): Path<String>,
    req: Request,
) -> AppResult<Response> {
    let Some(parts) = key_in_parentheses(&name) else {
        return Ok(not_allowed("GET,HEAD,POST"));
    };
    let parts = parts?;
    let body = JsonBody::from_request(req, &state.0).await?;
    patch(state, user, Path(parts), body).await
}

pub async fn delete_table(
    state: State<AppState>,
    user: User,
    Path(name): Path<String>,
) -> AppResult<Response> {
    let Some(parts) = key_in_parentheses(&name) else {
        return Ok(not_allowed("GET,HEAD,POST"));
    };
    remove(state, user, Path(parts?))
        .await
        .map(IntoResponse::into_response)
}

pub async fn list(
    State(s): State<AppState>,
    User(user): User,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> AppResult<Response> {
    let profile = s.profile();
    let def = table(&profile, &name)?;
    let (q, expand) = listing(raw.as_deref(), &profile, &name)?;
    let prefer = headers.get("prefer").and_then(|v| v.to_str().ok());
    let paging = Paging::of(&q, max_page_size(prefer)?);
    crate::bulk::ensure(&s.db, &profile).await?;
    let now = (s.clock)();
    let mut scoper = Scoper::new(Src::Pool(&s.db), &profile, &user, now);
    let read = paging.read_query(&q);
    let rows = crate::list::rows(&s.db, &mut scoper, &name, def, &read).await?;
    let count = rows.len();
    let read_limit = read
        .limit
        .map_or(usize::MAX, |l| l.min(usize::MAX as u64) as usize);
    let window: Vec<_> = rows
        .into_iter()
        .skip(q.offset.min(usize::MAX as u64) as usize)
        .take(read_limit)
        .collect();
    let (keep, next) = paging.split(&q, window.len() as u64);
    let window: Vec<_> = window.into_iter().take(keep as usize).collect();
    let mut related = Vec::with_capacity(expand.len());
    for e in &expand {
        related.push(expanded(&s, &profile, &mut scoper, e, &window).await?);
    }
    let page: Vec<Value> = window
        .into_iter()
        .map(|r| {
            let navs: Vec<Value> = expand
                .iter()
                .zip(&related)
                .map(|(e, found)| {
                    let hit = key_of(r.get(&e.column)).and_then(|k| found.get(&key_text(&k)));
                    expand::value(hit, e)
                })
                .collect();
            let mut row = match &q.select {
                Some(cols) => project(&r, cols),
                None => sent(def, r),
            };
            for (e, v) in expand.iter().zip(navs) {
                row.insert(e.name.clone(), v);
            }
            Value::Object(row)
        })
        .collect();
    let mut body = json!({ "value": page });
    if q.count {
        body["count"] = json!(count);
        body["@odata.count"] = json!(count);
    }
    let mut out = HeaderMap::new();
    if let Some((skip, top)) = next {
        body["@odata.nextLink"] = json!(next_link(
            &list_url(&headers, &name),
            raw.as_deref(),
            skip,
            top
        ));
    }
    if let Some(v) = paging
        .applied()
        .and_then(|a| HeaderValue::from_str(&a).ok())
    {
        out.insert("preference-applied", v);
    }
    Ok((out, JsJson(body)).into_response())
}

/// The rows of `e.table` the lookups of `page` name and the caller sees, by key text, as
/// the related table sends them: one read through the caller's buckets of the related
/// table's keys (`list::rows` plans `key in (...)` onto the primary key), whatever the
/// size of the organisation.
async fn expanded(
    s: &AppState,
    profile: &Profile,
    scoper: &mut Scoper<'_>,
    e: &Expand,
    page: &[Map<String, Value>],
) -> AppResult<HashMap<String, Map<String, Value>>> {
    let keys = expand::keys(page, &e.column);
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let def = table(profile, &e.table)?;
    let q = Query {
        filter: Some(Filter::In {
            column: def.key.clone(),
            values: keys.iter().map(Key::to_json).collect(),
        }),
        ..Query::default()
    };
    let rows = crate::list::rows(&s.db, scoper, &e.table, def, &q).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        if let Some(k) = key_of(row.get(&def.key)) {
            out.insert(key_text(&k), sent(def, row));
        }
    }
    Ok(out)
}

/// This list's absolute URL as the client reached it: `X-Forwarded-Proto` (else http) and
/// `Host`, then the data API's path.
fn list_url(headers: &HeaderMap, table: &str) -> String {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scheme = text("x-forwarded-proto").unwrap_or("http");
    let host = text("host").unwrap_or("localhost");
    format!("{scheme}://{host}/api/data/{table}")
}

pub(crate) async fn visible(
    s: &AppState,
    profile: &Profile,
    user: &Caller,
    name: &str,
    key: &Key,
) -> AppResult<(db::Stored, Map<String, Value>)> {
    let stored = db::load(&s.db.pool, name, &key_text(key)).await?;
    let Some((stored, row)) = stored.and_then(|st| st.data.clone().map(|r| (st, r))) else {
        return Err(Error::no_row(name, key).into());
    };
    let mut scoper = Scoper::new(Src::Pool(&s.db), profile, user, (s.clock)());
    if !scoper.row_in_scope(name, &row).await? {
        return Err(Error::no_row(name, key).into());
    }
    Ok((stored, row))
}

pub async fn read(
    State(s): State<AppState>,
    User(user): User,
    Path((name, seg)): Path<(String, String)>,
) -> AppResult<Response> {
    let profile = s.profile();
    let def = table(&profile, &name)?;
    let key = parse_key_segment(&seg)?;
    let (stored, row) = visible(&s, &profile, &user, &name, &key).await?;
    Ok(with_etag(
        StatusCode::OK,
        stored.version,
        Value::Object(sent(def, row)),
    ))
}

/// Writes `row` if it stays in the caller's scope, and commits; the new version.
#[allow(clippy::too_many_arguments)]
async fn store_in_scope(
    profile: &Profile,
    mut tx: db::Tx,
    user: &Caller,
    name: &str,
    key: &str,
    current: Option<&db::Stored>,
    row: &Map<String, Value>,
    now: i64,
) -> AppResult<i64> {
    if !Scoper::new(Src::Tx(&mut tx), profile, user, now)
        .row_in_scope(name, row)
        .await?
    {
        return Err(Error::forbidden("the row would be outside your scope").into());
    }
    let v = db::store(&mut tx, profile, name, key, current, Some(row), now).await?;
    tx.commit().await?;
    Ok(v)
}

pub async fn create(
    State(s): State<AppState>,
    User(user): User,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> AppResult<Response> {
    let profile = s.profile();
    let def = writable(&profile, &name)?;
    let mut body = body;
    let mut tx = s.db.begin().await?;
    db::lock_writes(&mut tx).await?;
    if def.key_assigned {
        // The server gives the key (protocol §12): the body must leave it out.
        if let Some(row) = body.as_object_mut() {
            if row.contains_key(&def.key) {
                return Err(Error::invalid_argument(format!(
                    "the server assigns the keys of '{name}': leave '{}' out",
                    def.key
                ))
                .into());
            }
            let key = crate::keys::next_key(&mut tx, &name, def).await?;
            row.insert(def.key.clone(), key.to_json());
        }
    }
    let (key, row) = new_row(&body, def, &name)?;
    let now = (s.clock)();
    let kt = key_text(&key);
    let current = db::load(&mut *tx, &name, &kt).await?;
    if current.as_ref().is_some_and(|c| c.data.is_some()) {
        return Err(Error::exists(&name, &key).into());
    }
    let v = store_in_scope(&profile, tx, &user, &name, &kt, current.as_ref(), &row, now).await?;
    crate::files::after_write(&s, &profile, &name, &kt).await;
    let mut resp = with_etag(StatusCode::CREATED, v, Value::Object(row));
    let location = format!("/api/data/{name}/{}", key_segment(&key));
    if let Ok(l) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    Ok(resp)
}

/// Opens a writing transaction and loads the live row `key` the caller can see (404
/// otherwise: rows outside the scope are not revealed).
async fn load_for_write(
    s: &AppState,
    profile: &Profile,
    user: &Caller,
    name: &str,
    key: &Key,
    now: i64,
) -> AppResult<(db::Tx, db::Stored, Map<String, Value>)> {
    let mut tx = s.db.begin().await?;
    db::lock_writes(&mut tx).await?;
    let current = db::load(&mut *tx, name, &key_text(key)).await?;
    let Some((stored, row)) = current.and_then(|c| c.data.clone().map(|r| (c, r))) else {
        return Err(Error::no_row(name, key).into());
    };
    if !Scoper::new(Src::Tx(&mut tx), profile, user, now)
        .row_in_scope(name, &row)
        .await?
    {
        return Err(Error::no_row(name, key).into());
    }
    Ok((tx, stored, row))
}

pub async fn patch(
    State(s): State<AppState>,
    User(user): User,
    Path((name, seg)): Path<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> AppResult<Response> {
    let profile = s.profile();
    let def = writable(&profile, &name)?;
    let key = parse_key_segment(&seg)?;
    let cols = patch_columns(body, def, &name)?;
    let now = (s.clock)();
    let kt = key_text(&key);
    let (tx, current, row) = load_for_write(&s, &profile, &user, &name, &key, now).await?;
    let current = Some(current);
    let row = patched_row(row, cols, def, &key)?;
    let v = store_in_scope(&profile, tx, &user, &name, &kt, current.as_ref(), &row, now).await?;
    crate::files::after_write(&s, &profile, &name, &kt).await;
    Ok(with_etag(StatusCode::OK, v, Value::Object(sent(def, row))))
}

pub async fn remove(
    State(s): State<AppState>,
    User(user): User,
    Path((name, seg)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let profile = s.profile();
    writable(&profile, &name)?;
    let key = parse_key_segment(&seg)?;
    let now = (s.clock)();
    let kt = key_text(&key);
    let (mut tx, current, _) = load_for_write(&s, &profile, &user, &name, &key, now).await?;
    let current = Some(current);
    db::store(&mut tx, &profile, &name, &kt, current.as_ref(), None, now).await?;
    tx.commit().await?;
    crate::files::after_write(&s, &profile, &name, &kt).await;
    Ok(StatusCode::NO_CONTENT)
}
