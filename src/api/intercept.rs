//! Fetch interception: the app's own REST requests (`{prefix}{table}[/{key}]`, the
//! reference server's data API, protocol.md §8) answered from the local store with the
//! responses the server gives online, through `interceptRequests` (alias
//! `interceptFetch`: wraps `globalThis.fetch` and patches `XMLHttpRequest`, xhr.js) or
//! `handleFetch` (for a Service Worker's `fetch` event).
//!
//! The routes, keys, query strings, row checks and error messages come from the core's
//! `rest` module, which the server uses too. Reads go through the local query planner,
//! writes through the storage layer's logged writes, so they sync like any other. File
//! GETs under the prefix's sibling `files/` (`/api/files/{table}/{key}/{column}`, §11)
//! are answered from the local bytes when the store has them, else go to the network.

use super::convert::{self, InterceptOptions, Js, ListBody};
use super::OfflineStore;
use crate::error::{Error, ErrorCode, FromJs, Thrown};
use crate::storage::outbox::key_js;
use crate::storage::Db;
use js_sys::{Function, Object, Promise, Reflect, Uint8Array, JSON};
use offline_tables_core::expand::Expand;
use offline_tables_core::paging::{max_page_size, next_link, Paging};
use offline_tables_core::rest::{self, RestResult, Route};
use offline_tables_core::{Key, Query};
use serde_json::Value;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(typescript_custom_section)]
const INTERCEPT_TYPES: &str = r#"
/**
 * Which requests `interceptRequests` (`interceptFetch`) and `handleFetch` answer from the local store: the
 * reference server's REST data API (`GET`/`POST {prefix}{table}`,
 * `GET`/`PATCH`/`DELETE {prefix}{table}/{key}`) under `prefix`. Other requests,
 * including other methods and paths under the prefix, go to the network untouched.
 */
export interface InterceptOptions {
  /**
   * Default "/api/data/". A path (starting with "/") matches requests to the page's (or
   * worker's) own origin under it; an http(s) URL like "https://api.example.com/api/data/"
   * matches requests under that origin and path. A missing trailing "/" is added.
   */
  prefix?: string;
}
"#;

#[wasm_bindgen(module = "/src/api/fetch.js")]
extern "C" {
    #[wasm_bindgen(js_name = resolvePrefix)]
    fn resolve_prefix(prefix: &str) -> Option<String>;
    #[wasm_bindgen(js_name = installFetch)]
    fn install_fetch(matches: &JsValue, answer: &JsValue) -> Function;
    fn respond(
        status: u16,
        body: Option<String>,
        etag: Option<String>,
        location: Option<String>,
        applied: Option<String>,
    ) -> JsValue;
}

#[wasm_bindgen(module = "/src/api/xhr.bundle.js")]
extern "C" {
    /// xhr.js: answers the matching XMLHttpRequest requests with `answer`'s Response.
    #[wasm_bindgen(js_name = installXhr)]
    fn install_xhr(matches: &JsValue, answer: &JsValue) -> Function;
}

/// The default prefix: the reference server's data API on the page's own origin.
const DEFAULT_PREFIX: &str = "/api/data/";

/// An answer before it becomes a JS `Response`.
struct Reply {
    status: u16,
    body: Option<String>,
    etag: Option<String>,
    location: Option<String>,
    /// `Preference-Applied`: the page size a list was cut to.
    applied: Option<String>,
}

impl Reply {
    fn json(status: u16, body: String) -> Reply {
        Reply {
            status,
            body: Some(body),
            etag: None,
            location: None,
            applied: None,
        }
    }

    fn error(e: &Error) -> Reply {
        Reply::json(
            e.http_status(),
            offline_tables_core::value::to_text(&e.body()),
        )
    }
}

/// The store's errors as the REST API reports them: the server's codes and statuses for
/// what it also refuses (`Error::http_status`), and a 500 carrying the store's own code
/// (`storage`, `quota_exceeded`, `closed`) for what only a local store can meet.
fn rest_error(e: Error) -> Error {
    match e.code {
        ErrorCode::Storage | ErrorCode::QuotaExceeded | ErrorCode::Closed => {
            Error::http(500, e.code, e.message)
        }
        _ => e,
    }
}

fn stringify(v: &JsValue) -> String {
    JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// Answers requests under one prefix from one store.
struct Interceptor {
    db: Rc<Db>,
    /// Absolute: origin and path, ending in `/`.
    prefix: String,
    /// Where file GETs are answered from local bytes: the prefix's sibling `files/` when
    /// it ends in `data/` (`/api/data/` → `/api/files/`, protocol §11), else none.
    files: Option<String>,
}

impl Interceptor {
    fn new(db: Rc<Db>, prefix: Option<String>, what: &str) -> Result<Interceptor, Error> {
        let text = prefix.unwrap_or_else(|| DEFAULT_PREFIX.to_string());
        let absolute = text.starts_with("http://") || text.starts_with("https://");
        let prefix = (absolute || text.starts_with('/'))
            .then(|| resolve_prefix(&text))
            .flatten()
            .ok_or_else(|| {
                Error::invalid_argument(format!(
                    "{what}: prefix '{text}' must be a path like \"/api/data/\" (on the page's own origin) or an http(s) URL like \"https://host/api/data/\", without query or fragment"
                ))
            })?;
        let files = prefix
            .strip_suffix("data/")
            .map(|base| format!("{base}files/"));
        Ok(Interceptor { db, prefix, files })
    }

    /// The route and raw query of a request, if it is one of ours.
    fn route(&self, method: &str, url: &str) -> Option<(RestResult<Route>, Option<String>)> {
        let rest = url.strip_prefix(&self.prefix)?;
        let rest = rest.split('#').next().unwrap_or("");
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q.to_string())),
            None => (rest, None),
        };
        Route::parse(method, path).map(|r| (r, query))
    }

    /// True for a `GET` under the files prefix (answered by `files.js` when the store
    /// has the bytes).
    fn is_file(&self, method: &str, url: &str) -> bool {
        method == "GET" && self.files.as_deref().is_some_and(|f| url.starts_with(f))
    }

    /// The path of `{prefix}{table}/{key}`, as the server writes `Location`.
    fn location(&self, table: &str, key: &Key) -> String {
        let path = self
            .prefix
            .find("//")
            .and_then(|i| self.prefix[i + 2..].find('/').map(|j| i + 2 + j))
            .map_or("/", |i| &self.prefix[i..]);
        format!("{path}{table}/{}", rest::key_segment(key))
    }

    /// The `Response` for `request`, or undefined when it is not ours (or the store is
    /// closed): the caller passes it on to the network.
    async fn answer(&self, request: JsValue) -> JsValue {
        let Ok(request) = request.dyn_into::<web_sys::Request>() else {
            return JsValue::UNDEFINED;
        };
        let (method, url) = (request.method(), request.url());
        let Some((route, query)) = self.route(&method, &url) else {
            if !self.is_file(&method, &url) {
                return JsValue::UNDEFINED;
            }
            self.db.ready().await;
            let files = self.files.as_deref().unwrap_or_default();
            return self.db.file_response(files, &url).await;
        };
        self.db.ready().await;
        if self.db.is_closed() {
            return JsValue::UNDEFINED;
        }
        let reply = match route {
            Ok(route) => self.run(route, query, &request).await,
            Err(e) => Err(e),
        }
        .unwrap_or_else(|e| Reply::error(&e));
        respond(
            reply.status,
            reply.body,
            reply.etag,
            reply.location,
            reply.applied,
        )
    }

    async fn run(
        &self,
        route: Route,
        query: Option<String>,
        request: &web_sys::Request,
    ) -> RestResult<Reply> {
        // The server's order: the body is read before the table is looked at.
        let body = match &route {
            Route::Create { .. } | Route::Update { .. } => Some(read_body(request).await?),
            _ => None,
        };
        let profile = self.db.profile();
        match (route, body) {
            (Route::List { table }, _) => {
                let (q, expand) = rest::listing(query.as_deref(), &profile, &table)?;
                let prefer = request.headers().get("prefer").ok().flatten();
                let paging = Paging::of(&q, max_page_size(prefer.as_deref())?);
                let base = format!("{}{table}", self.prefix);
                let list = Listing {
                    table: &table,
                    q: &q,
                    expand: &expand,
                    paging: &paging,
                };
                self.list(list, &base, query.as_deref()).await
            }
            (Route::Read { table, key }, _) => {
                rest::table(&profile, &table)?;
                let key = rest::parse_key_segment(&key)?;
                self.read(&table, &key).await
            }
            (Route::Create { table }, Some((value, row))) => {
                let def = rest::writable(&profile, &table)?;
                if def.key_assigned {
                    // The server gives the key: a temporary one until the push (see
                    // `give_temp_key`), in the answer and its Location.
                    let key = self.db.insert_row(&table, &row).await.map_err(rest_error)?;
                    let key = crate::storage::outbox::key_of(&key)
                        .ok_or_else(|| Error::invalid_argument("the row's key is not a key"))?;
                    return Ok(Reply {
                        location: Some(self.location(&table, &key)),
                        applied: None,
                        ..Reply::json(201, stringify(&row))
                    });
                }
                let (key, _) = rest::new_row(&value, def, &table)?;
                match self.db.insert_row(&table, &row).await {
                    Err(e) if e.code == ErrorCode::Conflict => Err(Error::exists(&table, &key)),
                    Err(e) => Err(rest_error(e)),
                    Ok(_) => Ok(Reply {
                        location: Some(self.location(&table, &key)),
                        applied: None,
                        ..Reply::json(201, stringify(&row))
                    }),
                }
            }
            (Route::Update { table, key }, Some((value, patch))) => {
                let def = rest::writable(&profile, &table)?;
                let key = self
                    .real_key(&table, rest::parse_key_segment(&key)?)
                    .await?;
                let cols = rest::patch_columns(value, def, &table)?;
                let kjs = key_js(&key);
                if let Some(v) = cols.get(&def.key) {
                    let only_key = serde_json::Map::from_iter([(def.key.clone(), v.clone())]);
                    if let Err(e) = rest::patched_row(only_key, Default::default(), def, &key) {
                        // The server looks for the row before it checks the key.
                        let row = self.db.get_row(&table, &kjs).await.map_err(rest_error)?;
                        return Err(if row.is_undefined() {
                            Error::no_row(&table, &key)
                        } else {
                            e
                        });
                    }
                    // Same key: leave the stored one (`-0` and `0` are one key).
                    let _ = Reflect::delete_property(
                        patch.unchecked_ref::<Object>(),
                        &def.key.as_str().into(),
                    );
                }
                match self.db.update_row(&table, &kjs, &patch).await {
                    Err(e) if e.code == ErrorCode::NotFound => Err(Error::no_row(&table, &key)),
                    Err(e) => Err(rest_error(e)),
                    Ok(row) => Ok(Reply::json(200, stringify(&row))),
                }
            }
            (Route::Delete { table, key }, _) => {
                rest::writable(&profile, &table)?;
                let key = self
                    .real_key(&table, rest::parse_key_segment(&key)?)
                    .await?;
                match self.db.delete_existing(&table, &key_js(&key)).await {
                    Err(e) if e.code == ErrorCode::NotFound => Err(Error::no_row(&table, &key)),
                    Err(e) => Err(rest_error(e)),
                    Ok(()) => Ok(Reply {
                        status: 204,
                        body: None,
                        etag: None,
                        location: None,
                        applied: None,
                    }),
                }
            }
            (Route::Create { .. } | Route::Update { .. }, None) => {
                unreachable!("writes read their body first")
            }
        }
    }

    /// `key`, or the server's key for it once a push has replaced it (a temporary key
    /// the app still holds).
    async fn real_key(&self, table: &str, key: Key) -> RestResult<Key> {
        if !offline_tables_core::keys::is_temp_key(&key) {
            return Ok(key);
        }
        let real = self
            .db
            .renamed_to(table, &key_js(&key))
            .await
            .map_err(rest_error)?;
        Ok(real
            .and_then(|k| crate::storage::outbox::key_of(&k))
            .unwrap_or(key))
    }

    /// `{ value, count?, @odata.count?, @odata.nextLink? }`: with `$count`, one read gives
    /// both the count and the page; with a page size, one row more than the page tells
    /// whether a next one follows.
    async fn list(&self, list: Listing<'_>, base: &str, raw: Option<&str>) -> RestResult<Reply> {
        let Listing {
            table,
            q,
            expand,
            paging,
        } = list;
        // With `$expand`, whole rows are read: a lookup column need not be selected.
        let select = match expand.is_empty() {
            true => q.select.clone(),
            false => None,
        };
        let read = Query {
            select: select.clone(),
            ..paging.read_query(q)
        };
        let (rows, total) = if q.count {
            let all = Query {
                limit: None,
                offset: 0,
                select,
                ..q.clone()
            };
            let rows = self.db.query_rows(table, &all).await.map_err(rest_error)?;
            let n = rows.length();
            let from = q.offset.min(n as u64) as u32;
            let to = read
                .limit
                .map_or(n as u64, |l| q.offset.saturating_add(l).min(n as u64))
                as u32;
            (rows.slice(from, to.max(from)), Some(n))
        } else {
            let rows = self.db.query_rows(table, &read).await.map_err(rest_error)?;
            (rows, None)
        };
        let (keep, next) = paging.split(q, rows.length() as u64);
        let rows = if (keep as u32) < rows.length() {
            rows.slice(0, keep as u32)
        } else {
            rows
        };
        let rows = match expand.is_empty() {
            true => rows,
            false => self
                .db
                .expand(&rows, q.select.as_deref(), expand)
                .await
                .map_err(rest_error)?,
        };
        let out = convert::to_js(&ListBody {
            value: Js(&rows),
            count: total,
            odata_count: total,
            next_link: next.map(|(skip, top)| next_link(base, raw, skip, top)),
        })
        .map_err(rest_error)?;
        let mut reply = Reply::json(200, stringify(&out));
        reply.applied = paging.applied();
        Ok(reply)
    }

    /// The row, with an `ETag` of its known server version when it has no pending change
    /// (see `RowMeta.version`: it may be later than the row's own version).
    async fn read(&self, table: &str, key: &Key) -> RestResult<Reply> {
        let (row, meta) = self
            .db
            .row_and_meta(table, &key_js(key))
            .await
            .map_err(rest_error)?;
        if row.is_undefined() {
            return Err(Error::no_row(table, key));
        }
        let etag = meta
            .filter(|m| !m.pending)
            .and_then(|m| m.version)
            .filter(|v| !v.contains('"'))
            .map(|v| format!("\"{v}\""));
        Ok(Reply {
            etag,
            ..Reply::json(200, stringify(&row))
        })
    }
}

/// What a listing asks for: its table, query, lookups to expand and page size.
struct Listing<'a> {
    table: &'a str,
    q: &'a Query,
    expand: &'a [Expand],
    paging: &'a Paging,
}

/// The JSON body, parsed as the server parses it (serde_json), and as a JS value to
/// store (the same JSON text through `JSON.parse`).
async fn read_body(request: &web_sys::Request) -> RestResult<(Value, JsValue)> {
    let unreadable = |e: JsValue| {
        Error::invalid_argument(format!(
            "cannot read the request body: {}",
            Error::from_js(&e, "body").message
        ))
    };
    let buffer = JsFuture::from(request.array_buffer().map_err(unreadable)?)
        .await
        .map_err(unreadable)?;
    let bytes = Uint8Array::new(&buffer).to_vec();
    let text = Error::body_text(&bytes)?;
    let value: Value = serde_json::from_str(text).map_err(Error::malformed_json)?;
    // serde_json took it, so JSON.parse takes it too.
    let js =
        JSON::parse(text).map_err(|e| Error::malformed_json(crate::storage::js::describe(&e)))?;
    Ok((value, js))
}

#[wasm_bindgen]
impl OfflineStore {
    /// Answers the app's REST requests under `prefix` (default `"/api/data/"`) from this
    /// store, as the reference server answers them online, whether the app makes them
    /// with `fetch` or with `XMLHttpRequest` (axios's default adapter, older data layers):
    /// wraps `globalThis.fetch` and patches `XMLHttpRequest`, and returns the function
    /// that restores both. Other requests go to the network untouched.
    ///
    /// ```js
    /// const uninstall = store.interceptRequests({ prefix: "/api/data/" });
    /// const { value } = await (await fetch("/api/data/accounts?$top=10")).json();
    /// ```
    #[wasm_bindgen(js_name = interceptRequests, unchecked_return_type = "() => void")]
    pub fn intercept_requests(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "InterceptOptions")] options: Option<
            JsValue,
        >,
    ) -> Result<JsValue, Thrown> {
        self.install_interceptor(options, "interceptRequests")
    }

    /// The first name of `interceptRequests`, kept as an alias: the same function (it
    /// answers XMLHttpRequest too).
    #[wasm_bindgen(js_name = interceptFetch, unchecked_return_type = "() => void")]
    pub fn intercept_fetch(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "InterceptOptions")] options: Option<
            JsValue,
        >,
    ) -> Result<JsValue, Thrown> {
        self.install_interceptor(options, "interceptFetch")
    }

    fn install_interceptor(&self, options: Option<JsValue>, what: &str) -> Result<JsValue, Thrown> {
        let options = options_of(options, what)?;
        let me = Rc::new(Interceptor::new(self.db().clone(), options.prefix, what)?);
        if let Some(sync) = self
            .server_url()
            .and_then(|u| resolve_prefix(&format!("{u}/sync/")))
        {
            if sync.starts_with(&me.prefix) {
                return Err(Error::invalid_argument(format!(
                    "{what}: prefix '{}' covers the sync server's /sync/ endpoints",
                    me.prefix
                ))
                .into());
            }
        }
        let m = me.clone();
        let matches =
            Closure::<dyn Fn(String, String) -> bool>::new(move |method: String, url: String| {
                m.route(&method, &url).is_some() || m.is_file(&method, &url)
            })
            .into_js_value();
        let answer = Closure::<dyn Fn(JsValue) -> Promise>::new(move |request: JsValue| {
            let me = me.clone();
            super::promise(async move { Ok(me.answer(request).await) })
        })
        .into_js_value();
        let xhr = install_xhr(&matches, &answer);
        let fetch = install_fetch(&matches, &answer);
        let uninstall = Closure::<dyn Fn()>::new(move || {
            let _ = fetch.call0(&JsValue::UNDEFINED);
            let _ = xhr.call0(&JsValue::UNDEFINED);
        });
        Ok(uninstall.into_js_value())
    }

    /// The local answer to `request` if it is one of the REST requests under `prefix`
    /// (default `"/api/data/"`), else undefined: for a Service Worker's `fetch` event.
    /// Never rejects for a bad request: it gets the server's 4xx JSON answer.
    ///
    /// ```js
    /// self.addEventListener("fetch", (event) => {
    ///   event.respondWith(store.handleFetch(event.request).then((r) => r ?? fetch(event.request)));
    /// });
    /// ```
    #[wasm_bindgen(js_name = handleFetch, unchecked_return_type = "Promise<Response | undefined>")]
    pub fn handle_fetch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Request")] request: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "InterceptOptions")] options: Option<
            JsValue,
        >,
    ) -> Promise {
        let prepared = options_of(options, "handleFetch")
            .and_then(|o| Interceptor::new(self.db().clone(), o.prefix, "handleFetch"));
        if !request.is_instance_of::<web_sys::Request>() {
            return super::rejected(&Error::invalid_argument(
                "handleFetch: request must be a Request",
            ));
        }
        match prepared {
            Ok(me) => super::promise(async move { Ok(me.answer(request).await) }),
            Err(e) => super::rejected(&e),
        }
    }
}

/// The options, which must be an object or nothing.
fn options_of(options: Option<JsValue>, what: &str) -> Result<InterceptOptions, Error> {
    let options = options.unwrap_or_default();
    if options.is_undefined() || options.is_null() {
        return Ok(InterceptOptions::default());
    }
    if !options.is_object() {
        return Err(Error::invalid_argument(format!(
            "{what}: options must be an object like {{ prefix: \"/api/data/\" }}"
        )));
    }
    // Its one field: any failure to read it is a prefix that is not a string.
    convert::from_js(options)
        .map_err(|_| Error::invalid_argument(format!("{what}: prefix must be a string")))
}
