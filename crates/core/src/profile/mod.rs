//! The offline profile: which tables go offline, their keys and indexes, which rows
//! (scope), how often they sync and how conflicts are settled. Parsed from JSON and
//! validated in full, with messages that name the offending path.

use crate::by_name::ByName;
use crate::error::{Error, Result};
use crate::keys::KeyPattern;
use crate::query::{is_column_name, parse_filter, Filter};
use crate::value::{object, type_name};
use serde_json::{Map, Value};

mod columns;
mod groups;
mod keys;
pub use columns::{Download, FileDef, DEFAULT_FILE_MAX_BYTES, MAX_FILE_BYTES};
pub use groups::SyncGroup;

pub const DEFAULT_SYNC_INTERVAL_SECONDS: u32 = 300;
pub const MAX_PROFILE_VERSION: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConflictPolicy {
    #[default]
    ServerWins,
    ClientWins,
    Merge,
    Manual,
}

impl ConflictPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictPolicy::ServerWins => "server-wins",
            ConflictPolicy::ClientWins => "client-wins",
            ConflictPolicy::Merge => "merge",
            ConflictPolicy::Manual => "manual",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Related {
    pub table: String,
    pub column: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub column: String,
    pub days: u32,
}

/// Which rows of a table a user gets. The conditions of one object are AND-ed.
// A profile holds a handful of scopes, parsed once: boxing fields would only make the
// public type clumsier to match on.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    All,
    Where {
        owner: Option<String>,
        related: Option<Related>,
        modified_within_days: Option<Window>,
        filter: Option<(String, Filter)>,
        any_of: Option<Vec<Scope>>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    pub key: String,
    pub indexes: Vec<String>,
    pub conflict: ConflictPolicy,
    pub sync_interval_seconds: u32,
    pub read_only: bool,
    pub scope: Scope,
    /// The columns the device keeps besides the key (None: all of them).
    pub columns: Option<Vec<String>>,
    /// File columns, by name.
    pub files: ByName<FileDef>,
    /// `keyAssigned: "server"`: the server assigns the keys of new rows; a row inserted
    /// offline carries a temporary key until then (`crate::keys`).
    pub key_assigned: bool,
    /// How assigned keys are written (None: the integer itself). Only with `key_assigned`.
    pub key_pattern: Option<KeyPattern>,
    /// `references`: (column, table) — the column holds keys of that table. Pairs, not a
    /// map: the client's wasm pays for every map type. See [`Profile::references_to`].
    pub references: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub version: u32,
    pub tables: ByName<TableDef>,
}

fn err(path: &str, msg: impl std::fmt::Display) -> Error {
    Error::invalid_profile(format!("profile.{path}: {msg}"))
}

/// Table names: a letter, then letters, digits, `_` or `-`. Names starting with `_`
/// are kept for the store's own bookkeeping.
pub fn is_table_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && s.len() <= 64
}

fn column(v: &Value, path: &str) -> Result<String> {
    match v.as_str() {
        Some(s) if is_column_name(s) => Ok(s.to_string()),
        Some(s) => Err(err(
            path,
            format!("'{s}' is not a valid column name (letters, digits and _, not starting with a digit)"),
        )),
        None => Err(err(path, format!("must be a column name, got {}", type_name(v)))),
    }
}

fn int_in(v: &Value, path: &str, min: u32, max: u32) -> Result<u32> {
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f >= min as f64 && f <= max as f64 => Ok(f as u32),
        _ => Err(err(
            path,
            format!(
                "must be an integer from {min} to {max}, got {}",
                crate::value::to_text(v)
            ),
        )),
    }
}

impl Profile {
    /// Parses and validates a profile from JSON text.
    pub fn from_json_str(s: &str) -> Result<Profile> {
        let v: Value = serde_json::from_str(s)
            .map_err(|e| Error::invalid_profile(format!("profile is not valid JSON: {e}")))?;
        Profile::from_json(&v)
    }

    /// Parses and validates a profile. Unknown fields are ignored (newer servers may add
    /// some); unknown scope conditions are errors (a scope must be understood to hold).
    pub fn from_json(v: &Value) -> Result<Profile> {
        let obj = v.as_object().ok_or_else(|| {
            Error::invalid_profile(format!("profile must be an object, got {}", type_name(v)))
        })?;
        let version = int_in(
            obj.get("version").unwrap_or(&Value::Null),
            "version",
            1,
            MAX_PROFILE_VERSION,
        )?;
        let tables_v = obj
            .get("tables")
            .and_then(Value::as_object)
            .ok_or_else(|| err("tables", "must be an object mapping table names to tables"))?;
        if tables_v.is_empty() {
            return Err(err("tables", "must hold at least one table"));
        }
        let mut tables = ByName::default();
        for (name, t) in tables_v {
            let path = format!("tables.{name}");
            if !is_table_name(name) {
                return Err(err(
                    &path,
                    "a table name starts with a letter and holds letters, digits, _ or - (at most 64)",
                ));
            }
            tables.insert(name.clone(), parse_table(t, &path)?);
        }
        let profile = Profile { version, tables };
        profile.check_relations()?;
        keys::check(&profile)?;
        Ok(profile)
    }

    pub fn table(&self, name: &str) -> Result<&TableDef> {
        self.tables
            .get(name)
            .ok_or_else(|| Error::unknown_table(name))
    }

    /// `related` must name another table of the profile, without cycles.
    fn check_relations(&self) -> Result<()> {
        for (name, t) in &self.tables {
            let mut rels = Vec::new();
            collect_related(&t.scope, &format!("tables.{name}.scope"), &mut rels);
            for (path, rel) in rels {
                if !self.tables.contains_key(&rel.table) {
                    return Err(err(
                        &format!("{path}.table"),
                        format!("unknown table '{}'", rel.table),
                    ));
                }
                if rel.table == *name {
                    return Err(err(
                        &format!("{path}.table"),
                        "a table cannot be related to itself",
                    ));
                }
            }
        }
        // Depth-first search for a cycle through `related`. The error names the
        // `related` entry that closes the cycle (`via`), not just a table's scope.
        fn visit<'a>(
            p: &'a Profile,
            t: &'a str,
            via: &str,
            stack: &mut Vec<&'a str>,
        ) -> Result<()> {
            if let Some(i) = stack.iter().position(|s| *s == t) {
                let mut cycle: Vec<&str> = stack[i..].to_vec();
                cycle.push(t);
                return Err(err(
                    via,
                    format!("related scopes form a cycle: {}", cycle.join(" -> ")),
                ));
            }
            stack.push(t);
            let mut rels = Vec::new();
            collect_related(&p.tables[t].scope, &format!("tables.{t}.scope"), &mut rels);
            for (path, r) in rels {
                visit(p, &r.table, &format!("{path}.table"), stack)?;
            }
            stack.pop();
            Ok(())
        }
        for name in self.tables.keys() {
            visit(self, name, "", &mut Vec::new())?;
        }
        Ok(())
    }

    pub fn to_json(&self) -> Value {
        let tables: Map<String, Value> = self
            .tables
            .iter()
            .map(|(n, t)| {
                let o = object(vec![
                    ("key", t.key.as_str().into()),
                    ("indexes", t.indexes.clone().into()),
                    ("conflict", t.conflict.as_str().into()),
                    ("syncIntervalSeconds", t.sync_interval_seconds.into()),
                    ("readOnly", t.read_only.into()),
                    ("scope", t.scope.to_json()),
                ]);
                let mut o = o;
                if let Value::Object(m) = &mut o {
                    if let Some(cols) = &t.columns {
                        m.insert("columns".into(), cols.clone().into());
                    }
                    if !t.files.is_empty() {
                        m.insert("files".into(), columns::files_to_json(&t.files));
                    }
                    keys::to_json(t, m);
                }
                (n.clone(), o)
            })
            .collect();
        object(vec![
            ("version", self.version.into()),
            ("tables", Value::Object(tables)),
        ])
    }
}

fn collect_related<'a>(scope: &'a Scope, path: &str, out: &mut Vec<(String, &'a Related)>) {
    if let Scope::Where {
        related, any_of, ..
    } = scope
    {
        if let Some(r) = related {
            out.push((format!("{path}.related"), r));
        }
        for (i, s) in any_of.iter().flatten().enumerate() {
            collect_related(s, &format!("{path}.anyOf[{i}]"), out);
        }
    }
}

fn parse_table(v: &Value, path: &str) -> Result<TableDef> {
    let obj = v
        .as_object()
        .ok_or_else(|| err(path, format!("must be an object, got {}", type_name(v))))?;
    let key = column(
        obj.get("key").unwrap_or(&Value::Null),
        &format!("{path}.key"),
    )?;
    let mut indexes = Vec::new();
    match obj.get("indexes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}.indexes[{i}]");
                let c = column(item, &p)?;
                if c == key {
                    return Err(err(
                        &p,
                        format!("'{c}' is the key column, which is always indexed"),
                    ));
                }
                if indexes.contains(&c) {
                    return Err(err(&p, format!("'{c}' is listed twice")));
                }
                indexes.push(c);
            }
        }
        Some(other) => {
            return Err(err(
                &format!("{path}.indexes"),
                format!("must be an array of column names, got {}", type_name(other)),
            ))
        }
    }
    let conflict = match obj.get("conflict") {
        None | Some(Value::Null) => ConflictPolicy::default(),
        Some(Value::String(s)) => match s.as_str() {
            "server-wins" => ConflictPolicy::ServerWins,
            "client-wins" => ConflictPolicy::ClientWins,
            "merge" => ConflictPolicy::Merge,
            "manual" => ConflictPolicy::Manual,
            other => {
                return Err(err(
                    &format!("{path}.conflict"),
                    format!(
                    "unknown policy '{other}' (expected server-wins, client-wins, merge or manual)"
                ),
                ))
            }
        },
        Some(other) => {
            return Err(err(
                &format!("{path}.conflict"),
                format!("must be a string, got {}", type_name(other)),
            ))
        }
    };
    let sync_interval_seconds = match obj.get("syncIntervalSeconds") {
        None | Some(Value::Null) => DEFAULT_SYNC_INTERVAL_SECONDS,
        Some(v) => int_in(v, &format!("{path}.syncIntervalSeconds"), 5, 7 * 24 * 3600)?,
    };
    let read_only = match obj.get("readOnly") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(err(
                &format!("{path}.readOnly"),
                format!(
                    "must be true or false, got {}",
                    crate::value::to_text(other)
                ),
            ))
        }
    };
    let scope = match obj.get("scope") {
        None | Some(Value::Null) => Scope::All,
        Some(s) => parse_scope(s, &format!("{path}.scope"))?,
    };
    let columns = columns::parse_columns(obj.get("columns"), path, &key)?;
    let files = columns::parse_files(obj.get("files"), path, &key)?;
    columns::check_selection(&columns, &indexes, &files, path)?;
    let keys = keys::parse(obj, path, &key, &columns)?;
    Ok(TableDef {
        key,
        indexes,
        conflict,
        sync_interval_seconds,
        read_only,
        scope,
        columns,
        files,
        key_assigned: keys.key_assigned,
        key_pattern: keys.key_pattern,
        references: keys.references,
    })
}

fn parse_scope(v: &Value, path: &str) -> Result<Scope> {
    let obj = match v {
        Value::String(s) if s == "all" => return Ok(Scope::All),
        Value::Object(o) => o,
        other => {
            return Err(err(
                path,
                format!(
                    "must be \"all\" or an object of conditions, got {}",
                    crate::value::to_text(other)
                ),
            ))
        }
    };
    if obj.is_empty() {
        return Err(err(path, "has no conditions (use \"all\" for every row)"));
    }
    let (mut owner, mut related, mut window, mut filter, mut any_of) =
        (None, None, None, None, None);
    for (k, val) in obj {
        let p = format!("{path}.{k}");
        match k.as_str() {
            "owner" => owner = Some(column(val, &p)?),
            "related" => {
                let o = val
                    .as_object()
                    .ok_or_else(|| err(&p, "must be { table, column }"))?;
                let table = match o.get("table").and_then(Value::as_str) {
                    Some(t) => t.to_string(),
                    None => return Err(err(&format!("{p}.table"), "must be a table name")),
                };
                let col = column(o.get("column").unwrap_or(&Value::Null), &format!("{p}.column"))?;
                related = Some(Related { table, column: col });
            }
            "modifiedWithinDays" => {
                let o = val
                    .as_object()
                    .ok_or_else(|| err(&p, "must be { column, days }"))?;
                let col = column(o.get("column").unwrap_or(&Value::Null), &format!("{p}.column"))?;
                let days = int_in(o.get("days").unwrap_or(&Value::Null), &format!("{p}.days"), 1, 36_500)?;
                window = Some(Window { column: col, days });
            }
            "filter" => {
                let s = val
                    .as_str()
                    .ok_or_else(|| err(&p, "must be an OData $filter string"))?;
                let f = parse_filter(s).map_err(|e| err(&p, e.message))?;
                filter = Some((s.to_string(), f));
            }
            "anyOf" => {
                let items = val
                    .as_array()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| err(&p, "must be a non-empty array of scopes"))?;
                // A loop, not `collect::<Result<Vec<_>>>()` (see `query::odata::parse_select`).
                let mut scopes = Vec::with_capacity(items.len());
                for (i, s) in items.iter().enumerate() {
                    scopes.push(parse_scope(s, &format!("{p}[{i}]"))?);
                }
                any_of = Some(scopes);
            }
            other => {
                return Err(err(
                    &p,
                    format!("unknown scope condition '{other}' (expected owner, related, modifiedWithinDays, filter, anyOf)"),
                ))
            }
        }
    }
    Ok(Scope::Where {
        owner,
        related,
        modified_within_days: window,
        filter,
        any_of,
    })
}

impl Scope {
    pub fn to_json(&self) -> Value {
        match self {
            Scope::All => "all".into(),
            Scope::Where {
                owner,
                related,
                modified_within_days,
                filter,
                any_of,
            } => {
                let mut o = Map::new();
                if let Some(c) = owner {
                    o.insert("owner".into(), c.as_str().into());
                }
                if let Some(r) = related {
                    o.insert(
                        "related".into(),
                        object(vec![
                            ("table", r.table.as_str().into()),
                            ("column", r.column.as_str().into()),
                        ]),
                    );
                }
                if let Some(w) = modified_within_days {
                    o.insert(
                        "modifiedWithinDays".into(),
                        object(vec![
                            ("column", w.column.as_str().into()),
                            ("days", w.days.into()),
                        ]),
                    );
                }
                if let Some((s, _)) = filter {
                    o.insert("filter".into(), s.as_str().into());
                }
                if let Some(list) = any_of {
                    o.insert(
                        "anyOf".into(),
                        Value::Array(list.iter().map(Scope::to_json).collect()),
                    );
                }
                Value::Object(o)
            }
        }
    }
}
