//! Who assigns a table's keys and which columns point at them (protocol.md §12):
//! `keyAssigned: "server"` with an optional `keyPattern`, and `references` from a
//! column to the table whose keys it holds. Parsed per table, checked against the whole
//! profile, and answered by [`Profile::references_to`], which the client uses to rewrite
//! temporary keys and the server to map them.

use super::{collect_related, column, err, Profile, TableDef};
use crate::error::Result;
use crate::keys::KeyPattern;
use crate::value::type_name;
use serde_json::{Map, Value};

/// A table's key fields, as parsed.
pub(super) struct KeyFields {
    pub key_assigned: bool,
    pub key_pattern: Option<KeyPattern>,
    pub references: Vec<(String, String)>,
}

/// `keyAssigned`, `keyPattern` and `references` of the table at `path`, whose key column
/// is `key` and whose column selection is `columns`.
pub(super) fn parse(
    obj: &Map<String, Value>,
    path: &str,
    key: &str,
    columns: &Option<Vec<String>>,
) -> Result<KeyFields> {
    let key_assigned = match obj.get("keyAssigned") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) if s == "server" => true,
        Some(other) => {
            return Err(err(
                &format!("{path}.keyAssigned"),
                format!(
                    "must be \"server\" (or absent: the client assigns keys), got {}",
                    crate::value::to_text(other)
                ),
            ))
        }
    };
    let key_pattern = match obj.get("keyPattern") {
        None | Some(Value::Null) => None,
        Some(_) if !key_assigned => {
            return Err(err(
                &format!("{path}.keyPattern"),
                "needs keyAssigned: \"server\" (only keys the server assigns follow a pattern)",
            ))
        }
        Some(Value::String(s)) => {
            Some(KeyPattern::parse(s).map_err(|e| err(&format!("{path}.keyPattern"), e))?)
        }
        Some(other) => {
            return Err(err(
                &format!("{path}.keyPattern"),
                format!(
                    "must be a string such as \"WO-{{n:05}}\", got {}",
                    type_name(other)
                ),
            ))
        }
    };
    let mut references = Vec::new();
    match obj.get("references") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (col, table) in m {
                let p = format!("{path}.references.{col}");
                let c = column(&Value::String(col.clone()), &p)?;
                if c == key {
                    return Err(err(&p, "the key column cannot reference another table"));
                }
                if columns.as_ref().is_some_and(|cols| !cols.contains(&c)) {
                    return Err(err(&p, format!("'{c}' is not among the table's columns")));
                }
                let Some(t) = table.as_str() else {
                    return Err(err(
                        &p,
                        format!("must be a table name, got {}", type_name(table)),
                    ));
                };
                references.push((c, t.to_string()));
            }
        }
        Some(other) => {
            return Err(err(
                &format!("{path}.references"),
                format!(
                    "must be an object mapping column names to tables, got {}",
                    type_name(other)
                ),
            ))
        }
    }
    Ok(KeyFields {
        key_assigned,
        key_pattern,
        references,
    })
}

/// Every table named by a `references` entry must be in the profile.
pub(super) fn check(profile: &Profile) -> Result<()> {
    for (name, t) in &profile.tables {
        for (col, target) in &t.references {
            if !profile.tables.contains_key(target) {
                return Err(err(
                    &format!("tables.{name}.references.{col}"),
                    format!("unknown table '{target}'"),
                ));
            }
        }
    }
    Ok(())
}

/// The key fields of `t` written into its normalized JSON object `m` (none when the table
/// has none, so a profile without them reads as before).
pub(super) fn to_json(t: &TableDef, m: &mut Map<String, Value>) {
    if t.key_assigned {
        m.insert("keyAssigned".into(), "server".into());
    }
    if let Some(p) = &t.key_pattern {
        m.insert("keyPattern".into(), p.as_str().into());
    }
    if !t.references.is_empty() {
        let refs: Map<String, Value> = t
            .references
            .iter()
            .map(|(c, t)| (c.clone(), Value::String(t.clone())))
            .collect();
        m.insert("references".into(), Value::Object(refs));
    }
}

impl Profile {
    /// Every column of every table that holds keys of `table`, as (table, column): the
    /// declared `references`, and the columns of `related` scopes (a scope
    /// `related: { table, column }` on T means T.column holds keys of `table`); each pair
    /// once, in table order.
    pub fn references_to(&self, table: &str) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        for (name, def) in &self.tables {
            for (col, target) in &def.references {
                if target == table && !out.contains(&(name.as_str(), col.as_str())) {
                    out.push((name.as_str(), col.as_str()));
                }
            }
            let mut rels = Vec::new();
            collect_related(&def.scope, "", &mut rels);
            for (_, r) in rels {
                if r.table == table && !out.contains(&(name.as_str(), r.column.as_str())) {
                    out.push((name.as_str(), r.column.as_str()));
                }
            }
        }
        out
    }

    /// The lookups of `table`: (column, the table whose keys it holds), its declared
    /// `references` then the columns of its `related` scopes, each column once. What
    /// OData's `$expand` follows (`crate::expand`).
    pub fn lookups(&self, table: &str) -> Vec<(&str, &str)> {
        let Some(def) = self.tables.get(table) else {
            return Vec::new();
        };
        let mut out: Vec<(&str, &str)> = Vec::new();
        let mut rels = Vec::new();
        collect_related(&def.scope, "", &mut rels);
        let related = rels.into_iter().map(|(_, r)| (&r.column, &r.table));
        for (col, target) in def.references.iter().map(|(c, t)| (c, t)).chain(related) {
            if !out.iter().any(|(c, _)| c == col) {
                out.push((col.as_str(), target.as_str()));
            }
        }
        out
    }

    /// The columns of `table` that hold keys the server assigns: (column, the table whose
    /// keys it holds), from [`Profile::references_to`] of every `keyAssigned` table. The
    /// columns whose temporary keys are replaced by real ones.
    pub fn assigned_references(&self, table: &str) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        for (target, def) in &self.tables {
            if !def.key_assigned {
                continue;
            }
            for (t, c) in self.references_to(target) {
                if t == table {
                    out.push((c, target.as_str()));
                }
            }
        }
        out
    }
}
