//! The REST data API's rules (protocol.md §8) shared by the reference server and the
//! client's fetch interceptor: its routes, keys in URL segments, query strings, the
//! checks of written rows, and its errors with their status codes and messages, so both
//! answer the same request alike.

use crate::error::Error;
use crate::expand::Expand;
use crate::value::check_row;
use crate::{Key, Profile, Query, TableDef};
use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{Map, Value};
use std::fmt;

/// A result of the REST rules: its error is the project's one `Error`, answered with
/// `Error::http_status` and `Error::body`.
pub type RestResult<T> = std::result::Result<T, Error>;

/// The REST API's own refusals, worded once for the server and the interceptor.
impl Error {
    /// A path under the API that no route answers.
    pub fn no_endpoint() -> Self {
        Self::not_found("no such endpoint")
    }
    /// A path segment that is not UTF-8 once percent-decoded.
    pub fn bad_segment() -> Self {
        Self::invalid_argument("invalid URL: a path segment is not UTF-8 once percent-decoded")
    }
    pub fn malformed_json(e: impl fmt::Display) -> Self {
        Self::invalid_argument(format!("malformed JSON body: {e}"))
    }
    /// A request body's bytes as text, for `serde_json::from_str`: the server and the
    /// fetch interceptor both read bodies through this and serde_json, so they refuse
    /// the same bodies with the same words.
    pub fn body_text(bytes: &[u8]) -> Result<&str, Error> {
        std::str::from_utf8(bytes).map_err(|e| {
            Self::malformed_json(format_args!(
                "the body is not UTF-8 (at byte {})",
                e.valid_up_to()
            ))
        })
    }
    /// No live row `key` that the caller can see (rows outside the scope are not revealed).
    pub fn no_row(table: &str, key: &Key) -> Self {
        Self::not_found(format!("no row {key} in '{table}'"))
    }
    /// A column the table's profile does not select (`columns`, protocol.md §2), named by
    /// a write or a query (`context`, e.g. `"$filter: "`, goes first): the device neither
    /// holds nor writes it.
    pub fn unselected(context: &str, table: &str, column: &str) -> Self {
        Self::invalid_argument(format!(
            "{context}column '{column}' is not among the columns of '{table}' in the offline profile"
        ))
    }
    /// `POST` of a key that a live row has.
    pub fn exists(table: &str, key: &Key) -> Self {
        Self::conflict(format!("a row with key {key} already exists in '{table}'"))
    }
}

/// What a request under the API asks for. Table and key segments are percent-decoded;
/// the key is read (`parse_key_segment`) by the handler, after the table is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET {table}`
    List { table: String },
    /// `POST {table}`
    Create { table: String },
    /// `GET {table}/{key}`
    Read { table: String, key: String },
    /// `PATCH {table}/{key}`
    Update { table: String, key: String },
    /// `DELETE {table}/{key}`
    Delete { table: String, key: String },
}

impl Route {
    /// The route of `method` on `path`, the URL path after the API's prefix (still
    /// percent-encoded), as the reference server's router matches it: None when no
    /// route does (another method, an empty last segment, more segments), an error when
    /// a segment does not decode. `{table}({key})` (OData's key in parentheses) is the
    /// same row as `{table}/{key}`.
    pub fn parse(method: &str, path: &str) -> Option<RestResult<Route>> {
        let segments: Vec<&str> = path.split('/').collect();
        let route = match (method, segments.as_slice()) {
            ("GET" | "POST" | "PATCH" | "DELETE", [table]) if !table.is_empty() => {
                let table = match decode_segment(table) {
                    Ok(t) => t,
                    Err(e) => return Some(Err(e)),
                };
                if let Some(parts) = key_in_parentheses(&table) {
                    let (table, key) = match parts {
                        Ok(p) => p,
                        Err(e) if method != "POST" => return Some(Err(e)),
                        Err(_) => return None,
                    };
                    return Some(Ok(match method {
                        "GET" => Route::Read { table, key },
                        "PATCH" => Route::Update { table, key },
                        "DELETE" => Route::Delete { table, key },
                        _ => return None,
                    }));
                }
                if method == "GET" {
                    Route::List { table }
                } else if method == "POST" {
                    Route::Create { table }
                } else {
                    return None;
                }
            }
            ("GET" | "PATCH" | "DELETE", [table, key]) if !key.is_empty() => {
                let (table, key) = match (decode_segment(table), decode_segment(key)) {
                    (Ok(t), Ok(k)) => (t, k),
                    (Err(e), _) | (_, Err(e)) => return Some(Err(e)),
                };
                match method {
                    "GET" => Route::Read { table, key },
                    "PATCH" => Route::Update { table, key },
                    _ => Route::Delete { table, key },
                }
            }
            _ => return None,
        };
        Some(Ok(route))
    }

    pub fn table(&self) -> &str {
        match self {
            Route::List { table }
            | Route::Create { table }
            | Route::Read { table, .. }
            | Route::Update { table, .. }
            | Route::Delete { table, .. } => table,
        }
    }
}

/// `table(key)` in a decoded segment: the table and the key's text, read by
/// `parse_key_segment` as a `{key}` segment is (`('a1')` a string, `(1001)` a number,
/// an unquoted GUID a string). None when the segment does not end in `)` after a `(`;
/// an error for an empty key or OData's named keys (`(id='a1')`), which are not supported.
pub fn key_in_parentheses(seg: &str) -> Option<RestResult<(String, String)>> {
    let inner = seg.strip_suffix(')')?;
    let (table, key) = inner.split_once('(')?;
    if key.is_empty() {
        return Some(Err(Error::invalid_argument(format!(
            "the key in '{seg}' is empty: write {table}('text') or {table}(42)"
        ))));
    }
    if !key.starts_with('\'') && key.contains('=') {
        return Some(Err(Error::invalid_argument(format!(
            "named keys like '{seg}' are not supported: write the key alone, {table}('text') or {table}(42)"
        ))));
    }
    Some(Ok((table.to_string(), key.to_string())))
}

fn decode_segment(seg: &str) -> RestResult<String> {
    percent_decode_str(seg)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| Error::bad_segment())
}

/// The table `name` of the profile (`404` otherwise).
pub fn table<'a>(profile: &'a Profile, name: &str) -> RestResult<&'a TableDef> {
    profile
        .tables
        .get(name)
        .ok_or_else(|| Error::not_found(format!("unknown table '{name}'")))
}

/// The table `name` if it takes writes: `404` when unknown, `403` when read-only.
pub fn writable<'a>(profile: &'a Profile, name: &str) -> RestResult<&'a TableDef> {
    let def = table(profile, name)?;
    if def.read_only {
        return Err(Error::forbidden(format!("table '{name}' is read-only")));
    }
    Ok(def)
}

/// A key from a decoded URL segment: `'text'` (quotes doubled inside) is a string, a
/// JSON number is a number, anything else is a string.
pub fn parse_key_segment(seg: &str) -> RestResult<Key> {
    if let Some(inner) = seg.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return Ok(Key::Str(inner.replace("''", "'")));
    }
    if let Ok(v @ Value::Number(_)) = serde_json::from_str(seg) {
        return Key::from_json(&v, "key");
    }
    if seg.is_empty() {
        return Err(Error::invalid_argument("the key is empty"));
    }
    Ok(Key::Str(seg.to_string()))
}

/// The URL segment of `key` (for `Location`): strings quoted, percent-encoded.
pub fn key_segment(key: &Key) -> String {
    let text = match key {
        Key::Str(s) => format!("'{}'", s.replace('\'', "''")),
        Key::Num(_) => crate::value::to_text(&key.to_json()),
    };
    utf8_percent_encode(&text, NON_ALPHANUMERIC).to_string()
}

fn decode_param(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The query of a listing from the raw URL query string (without `?`). Only `$`
/// options are the query's; other parameters (cache busters...) are the app's.
pub fn parse_query(raw: Option<&str>) -> RestResult<Query> {
    let pairs = query_pairs(raw);
    Query::from_odata_params(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
}

/// The `$` options of a raw query string, decoded.
fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or("")
        .split('&')
        .filter(|p| p.starts_with('$') || p.starts_with("%24"))
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_param(n), decode_param(v))
        })
        .collect()
}

/// What `GET {table}` asks for: the query, and the lookups to expand (`$expand`, see
/// `crate::expand`), checked as `list_query` checks the query. The query's errors come
/// first.
pub fn listing(
    raw: Option<&str>,
    profile: &Profile,
    name: &str,
) -> RestResult<(Query, Vec<Expand>)> {
    let def = table(profile, name)?;
    let (expand, options): (Vec<_>, Vec<_>) = query_pairs(raw)
        .into_iter()
        .partition(|(n, _)| n == "$expand");
    let q = Query::from_odata_params(options.iter().map(|(n, v)| (n.as_str(), v.as_str())))?;
    let q = selected_query(q, def, name)?;
    let expand = match expand.as_slice() {
        [] => Vec::new(),
        [(_, v)] => crate::expand::parse(v, profile, name)?,
        _ => return Err(Error::invalid_argument("$expand is given twice")),
    };
    Ok((q, expand))
}

/// The query of a listing of `table`, refused when its `$filter`, `$orderby` or
/// `$select` names a column the table does not select: the device has no such column to
/// answer it from, and the server sends none.
pub fn list_query(raw: Option<&str>, def: &TableDef, table: &str) -> RestResult<Query> {
    selected_query(parse_query(raw)?, def, table)
}

fn selected_query(q: Query, def: &TableDef, table: &str) -> RestResult<Query> {
    if def.columns.is_none() {
        return Ok(q);
    }
    // The columns `$filter` and `$orderby` read, then `$select`'s.
    let read = q.columns();
    let select = q.select.as_deref().unwrap_or_default();
    let Some(c) = def.unselected(&read).or_else(|| def.unselected(select)) else {
        return Ok(q);
    };
    let option = match () {
        _ if !read.contains(c) => "$select: ",
        _ if q.order_by.iter().any(|(o, _)| o == c) => "$orderby: ",
        _ => "$filter: ",
    };
    Err(Error::unselected(option, table, c))
}

/// The first column of `row` that `table` does not select, refused.
fn selected_only(row: &Map<String, Value>, def: &TableDef, table: &str) -> RestResult<()> {
    match def.unselected(row.keys()) {
        Some(c) => Err(Error::unselected("", table, c)),
        None => Ok(()),
    }
}

/// The row a `POST` body creates in `table` and its key (a `409` for an existing key is
/// the caller's to check). Its columns must be among the table's selected ones.
pub fn new_row(body: &Value, def: &TableDef, table: &str) -> RestResult<(Key, Map<String, Value>)> {
    let key = body
        .get(&def.key)
        .ok_or_else(|| {
            Error::invalid_argument(format!("the row has no {} (its key column)", def.key))
        })
        .and_then(|v| Key::from_json(v, &def.key))?;
    let row = check_row(body, &def.key, &key).map_err(Error::invalid_argument)?;
    selected_only(&row, def, table)?;
    Ok((key, row))
}

/// The columns of a `PATCH` body on `table`: among its selected ones.
pub fn patch_columns(body: Value, def: &TableDef, table: &str) -> RestResult<Map<String, Value>> {
    match body {
        Value::Object(cols) => selected_only(&cols, def, table).map(|()| cols),
        _ => Err(Error::invalid_argument(
            "the body must be a JSON object of columns",
        )),
    }
}

/// `row` with the `PATCH` columns merged on, checked to keep its key `key`.
pub fn patched_row(
    mut row: Map<String, Value>,
    cols: Map<String, Value>,
    def: &TableDef,
    key: &Key,
) -> RestResult<Map<String, Value>> {
    for (c, v) in cols {
        row.insert(c, v);
    }
    check_row(&Value::Object(row), &def.key, key).map_err(Error::invalid_argument)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn route(method: &str, path: &str) -> Option<Route> {
        Route::parse(method, path).map(|r| r.unwrap())
    }

    #[test]
    fn routes_match_the_servers_router() {
        let t = |s: &str| s.to_string();
        assert_eq!(
            route("GET", "accounts"),
            Some(Route::List {
                table: t("accounts")
            })
        );
        assert_eq!(
            route("POST", "acc%6Funts"),
            Some(Route::Create {
                table: t("accounts")
            })
        );
        assert_eq!(
            route("GET", "accounts/a%2F1"),
            Some(Route::Read {
                table: t("accounts"),
                key: t("a/1")
            })
        );
        assert_eq!(
            route("PATCH", "accounts/'x'"),
            Some(Route::Update {
                table: t("accounts"),
                key: t("'x'")
            })
        );
        assert_eq!(
            route("DELETE", "accounts/1"),
            Some(Route::Delete {
                table: t("accounts"),
                key: t("1")
            })
        );
        // The server's router answers an empty table before a key (unknown table '').
        assert_eq!(
            route("GET", "/k"),
            Some(Route::Read {
                table: t(""),
                key: t("k")
            })
        );
        for (m, p) in [
            ("GET", ""),
            ("GET", "accounts/"),
            ("GET", "/"),
            ("GET", "a/b/c"),
            ("PUT", "accounts/a"),
            ("HEAD", "accounts"),
            ("patch", "accounts/a"),
            ("POST", "accounts/a"),
            ("PATCH", "accounts"),
            ("DELETE", "accounts"),
        ] {
            assert_eq!(route(m, p), None, "{m} {p}");
        }
        assert_eq!(
            Route::parse("GET", "accounts/%FF"),
            Some(Err(Error::bad_segment()))
        );
    }

    #[test]
    fn keys_in_parentheses_are_the_path_form() {
        let t = |s: &str| s.to_string();
        for (m, p, path_form) in [
            ("GET", "accounts('a1')", "accounts/'a1'"),
            ("GET", "accounts(%27a1%27)", "accounts/'a1'"),
            ("GET", "workorders(1001)", "workorders/1001"),
            ("PATCH", "accounts('O''Brien')", "accounts/'O''Brien'"),
            ("DELETE", "accounts('a%2F1)')", "accounts/'a%2F1)'"),
            (
                "GET",
                "accounts(01234567-89ab-cdef-0123-456789abcdef)",
                "accounts/01234567-89ab-cdef-0123-456789abcdef",
            ),
        ] {
            assert_eq!(route(m, p), route(m, path_form), "{m} {p}");
        }
        let Some(Route::Update { table, key }) = route("PATCH", "accounts('O''Brien')") else {
            panic!()
        };
        assert_eq!(
            (table, parse_key_segment(&key).unwrap()),
            (t("accounts"), Key::Str(t("O'Brien")))
        );
        let Some(Route::Read { key, .. }) = route("GET", "workorders(1001)") else {
            panic!()
        };
        assert_eq!(parse_key_segment(&key).unwrap(), Key::Num(1001.0));
        for p in ["accounts(id='a1')", "accounts(id=1,b=2)", "accounts()"] {
            let e = Route::parse("GET", p).unwrap().unwrap_err();
            assert_eq!(e.http_status(), 400, "{p}");
            assert!(e.message.contains("accounts('text')"), "{}", e.message);
        }
        assert!(Route::parse("GET", "accounts(id='a1')")
            .unwrap()
            .unwrap_err()
            .message
            .starts_with("named keys like 'accounts(id='a1')' are not supported"));
        // No POST to a row, no PATCH or DELETE of a table.
        for (m, p) in [
            ("POST", "accounts('a1')"),
            ("POST", "accounts()"),
            ("PATCH", "accounts"),
            ("DELETE", "accounts"),
        ] {
            assert_eq!(route(m, p), None, "{m} {p}");
        }
        // A table name with a parenthesis but no closing one is a table, as before.
        assert_eq!(
            route("GET", "acc(ounts"),
            Some(Route::List {
                table: t("acc(ounts")
            })
        );
    }

    #[test]
    fn keys_read_and_written_in_segments() {
        assert_eq!(parse_key_segment("1001").unwrap(), Key::Num(1001.0));
        assert_eq!(parse_key_segment("-1.5").unwrap(), Key::Num(-1.5));
        assert_eq!(
            parse_key_segment("'1001'").unwrap(),
            Key::Str("1001".into())
        );
        assert_eq!(
            parse_key_segment("'O''Brien'").unwrap(),
            Key::Str("O'Brien".into())
        );
        assert_eq!(parse_key_segment("a/1").unwrap(), Key::Str("a/1".into()));
        assert_eq!(
            parse_key_segment("1e999").unwrap(),
            Key::Str("1e999".into())
        );
        assert_eq!(parse_key_segment("").unwrap_err().http_status(), 400);
        for k in [Key::Num(1001.0), Key::Num(-0.5), Key::Str("O'B/1 é".into())] {
            let seg = percent_decode_str(&key_segment(&k))
                .decode_utf8()
                .unwrap()
                .into_owned();
            assert_eq!(parse_key_segment(&seg).unwrap(), k);
        }
        assert_eq!(key_segment(&Key::Num(7.0)), "7");
        assert_eq!(key_segment(&Key::Str("a'b".into())), "%27a%27%27b%27");
    }

    #[test]
    fn query_strings_decode_and_keep_only_dollar_options() {
        let q = parse_query(Some("%24filter=city+eq+'A%2BB'&cache=1&$top=2&$count=true")).unwrap();
        assert_eq!(q.limit, Some(2));
        assert!(q.count);
        assert!(q.filter.is_some());
        assert_eq!(parse_query(None).unwrap(), Query::default());
        let e = parse_query(Some("$top=1&$top=2")).unwrap_err();
        assert_eq!(
            (e.http_status(), e.code),
            (400, crate::ErrorCode::InvalidArgument)
        );
        assert_eq!(parse_query(Some("$nope=1")).unwrap_err().http_status(), 400);
    }

    #[test]
    fn writes_check_their_rows() {
        let profile =
            Profile::from_json(&json!({ "version": 1, "tables": { "t": { "key": "id" } } }))
                .unwrap();
        let def = table(&profile, "t").unwrap();
        let (k, row) = new_row(&json!({ "id": 3, "a": 1 }), def, "t").unwrap();
        assert_eq!((k, row.len()), (Key::Num(3.0), 2));
        let e = new_row(&json!([1]), def, "t").unwrap_err();
        assert_eq!(e.message, "the row has no id (its key column)");
        assert_eq!(
            new_row(&json!({ "id": null }), def, "t")
                .unwrap_err()
                .http_status(),
            400
        );
        let row = json!({ "id": "a", "x": 1 }).as_object().unwrap().clone();
        let cols = json!({ "x": null, "y": 2 }).as_object().unwrap().clone();
        let out = patched_row(row.clone(), cols, def, &Key::Str("a".into())).unwrap();
        assert_eq!(Value::Object(out), json!({ "id": "a", "x": null, "y": 2 }));
        let cols = json!({ "id": "b" }).as_object().unwrap().clone();
        let e = patched_row(row, cols, def, &Key::Str("a".into())).unwrap_err();
        assert_eq!(e.message, "the row's id is 'b', not the mutation's key 'a'");
        assert_eq!(
            patch_columns(json!([]), def, "t")
                .unwrap_err()
                .http_status(),
            400
        );
    }

    #[test]
    fn a_column_selection_refuses_bodies_and_options_naming_other_columns() {
        let profile = Profile::from_json(&json!({ "version": 1, "tables": {
            "v": { "key": "id", "columns": ["status"] } } }))
        .unwrap();
        let def = table(&profile, "v").unwrap();
        let msg = "column 'cost' is not among the columns of 'v' in the offline profile";
        let refused = |r: RestResult<Query>| {
            let e = r.unwrap_err();
            assert_eq!(e.http_status(), 400, "{e}");
            e.message
        };
        for (raw, option) in [
            ("$filter=status%20eq%20'a'%20or%20cost%20gt%201", "$filter"),
            ("$orderby=status,cost%20desc", "$orderby"),
            ("$select=id,cost", "$select"),
        ] {
            assert_eq!(
                refused(list_query(Some(raw), def, "v")),
                format!("{option}: {msg}")
            );
        }
        let q = list_query(
            Some("$filter=id%20eq%201&$orderby=status&$select=id,status"),
            def,
            "v",
        );
        assert_eq!(q.unwrap().select, Some(vec!["id".into(), "status".into()]));
        let e = new_row(&json!({ "id": 1, "status": "a", "cost": 2 }), def, "v").unwrap_err();
        assert_eq!((e.http_status(), e.message.as_str()), (400, msg));
        assert!(new_row(&json!({ "id": 1, "status": "a" }), def, "v").is_ok());
        let e = patch_columns(json!({ "cost": null }), def, "v").unwrap_err();
        assert_eq!(e.message, msg);
        assert!(patch_columns(json!({ "id": 1, "status": null }), def, "v").is_ok());
        // A table without a selection takes any column, known or not.
        let all = Profile::from_json(&json!({ "version": 1, "tables": { "t": { "key": "id" } } }))
            .unwrap();
        let t = table(&all, "t").unwrap();
        assert!(list_query(Some("$filter=cost%20gt%201&$select=cost"), t, "t").is_ok());
        assert!(patch_columns(json!({ "cost": 1 }), t, "t").is_ok());
    }

    #[test]
    fn errors_map_onto_statuses() {
        assert_eq!(
            Error::no_row("t", &Key::Str("a".into())).body(),
            json!({ "error": { "code": "not_found", "message": "no row 'a' in 't'" } })
        );
    }
}
