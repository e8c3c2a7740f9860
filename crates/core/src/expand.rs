//! OData's `$expand` of single-valued lookups (protocol.md §8), shared by the reference
//! server and the client's fetch interceptor: which navigation properties a table has,
//! the option's grammar (`account`, `account($select=name,city)`, several separated by
//! commas), which keys a page of rows looks up, and the value each row gets.
//!
//! A lookup is a column of the table that holds keys of another: a declared `references`
//! entry, or the column of a `related` scope (`Profile::lookups`). Its navigation property
//! is the column without its `Id` suffix (`accountId`, `account_id`, `accountID` all give
//! `account`). The row gets the related row as that property, `null` when the column is
//! empty or names no row the caller sees.

use crate::error::Error;
use crate::query::parse_select;
use crate::rest::RestResult;
use crate::{Key, Profile};
use serde_json::{Map, Value};

/// One navigation property to expand.
#[derive(Debug, Clone, PartialEq)]
pub struct Expand {
    /// The property the related row is answered under (`account`).
    pub name: String,
    /// The lookup column (`accountId`).
    pub column: String,
    /// The table whose keys it holds (`accounts`).
    pub table: String,
    /// The related row's columns: its key, then `$select`'s inside the parentheses. None:
    /// every column the row is sent with.
    pub select: Option<Vec<String>>,
}

/// The navigation property of a lookup column: the column without `Id`, `ID` or `_id`
/// (None when it has no such suffix, or nothing before it).
pub fn navigation_name(column: &str) -> Option<&str> {
    ["_id", "Id", "ID"]
        .iter()
        .find_map(|s| column.strip_suffix(s))
        .filter(|n| !n.is_empty() && !n.ends_with('_'))
}

/// The navigation properties of `table`: (name, column, related table), in the order of
/// `Profile::lookups`, each name once.
pub fn navigations<'p>(profile: &'p Profile, table: &str) -> Vec<(&'p str, &'p str, &'p str)> {
    let mut out: Vec<(&str, &str, &str)> = Vec::new();
    for (column, target) in profile.lookups(table) {
        if let Some(name) = navigation_name(column) {
            if !out.iter().any(|(n, _, _)| *n == name) {
                out.push((name, column, target));
            }
        }
    }
    out
}

fn refused(message: impl std::fmt::Display) -> Error {
    Error::invalid_argument(format!("$expand: {message}"))
}

/// The items of a `$expand` value: split at commas outside parentheses.
fn items(value: &str) -> RestResult<Vec<&str>> {
    let (mut out, mut start, mut depth) = (Vec::new(), 0, 0u32);
    for (i, c) in value.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Err(refused("a ')' closes nothing")),
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth > 0 {
        return Err(refused("a '(' is not closed"));
    }
    out.push(&value[start..]);
    Ok(out)
}

/// Parses `$expand` of a listing of `table`: each item a navigation property of the
/// table, with at most `$select` inside its parentheses, naming columns the related table
/// keeps. Anything else is refused with `invalid_argument`, naming what is supported.
pub fn parse(value: &str, profile: &Profile, table: &str) -> RestResult<Vec<Expand>> {
    let navs = navigations(profile, table);
    let known = || match navs.is_empty() {
        true => format!("'{table}' has no lookups to expand"),
        false => {
            let names: Vec<&str> = navs.iter().map(|(n, _, _)| *n).collect();
            format!("the lookups of '{table}' are {}", names.join(", "))
        }
    };
    let mut out: Vec<Expand> = Vec::new();
    for item in items(value)? {
        let item = item.trim();
        let (name, options) = match item.split_once('(') {
            Some((n, rest)) => match rest.strip_suffix(')') {
                Some(inner) => (n.trim(), Some(inner)),
                None => return Err(refused(format!("'{item}' has text after its ')'"))),
            },
            None => (item, None),
        };
        if name.is_empty() {
            return Err(refused("an item is empty"));
        }
        if name == "*" || name.contains('/') {
            return Err(refused(format!(
                "'{name}' is not supported: name each lookup ({})",
                known()
            )));
        }
        let Some(&(_, column, target)) = navs.iter().find(|(n, _, _)| *n == name) else {
            return Err(refused(format!("'{name}' is not a lookup; {}", known())));
        };
        if out.iter().any(|e| e.name == name) {
            return Err(refused(format!("'{name}' is given twice")));
        }
        let def = crate::rest::table(profile, target)?;
        let select = match options.map(str::trim) {
            None | Some("") => None,
            Some(opts) => Some(nested_select(opts, name, &def.key)?),
        };
        if let Some(c) = select.as_deref().and_then(|s| def.unselected(s)) {
            return Err(Error::unselected(
                &format!("$expand: {name}: $select: "),
                target,
                c,
            ));
        }
        out.push(Expand {
            name: name.to_string(),
            column: column.to_string(),
            table: target.to_string(),
            select,
        });
    }
    Ok(out)
}

/// `$select=a,b` inside an item's parentheses, the related key first.
fn nested_select(opts: &str, name: &str, key: &str) -> RestResult<Vec<String>> {
    let Some(cols) = opts.strip_prefix("$select=") else {
        let option = opts.split('=').next().unwrap_or(opts);
        return Err(refused(format!(
            "{name}: only $select is supported inside the parentheses, got '{option}'"
        )));
    };
    if cols.contains(';') {
        return Err(refused(format!(
            "{name}: only $select is supported inside the parentheses"
        )));
    }
    let cols = parse_select(cols).map_err(|e| refused(format!("{name}: {}", e.message)))?;
    let mut out = vec![key.to_string()];
    out.extend(cols.into_iter().filter(|c| c != key));
    Ok(out)
}

/// The key a lookup cell holds (None: empty, or not a string or a finite number).
pub fn key_of(cell: Option<&Value>) -> Option<Key> {
    match cell {
        Some(v @ (Value::String(_) | Value::Number(_))) => Key::from_json(v, "lookup").ok(),
        _ => None,
    }
}

/// The distinct keys the `column` of `rows` hold, in first-seen order: what one keyed read
/// of the related table fetches for a page.
pub fn keys<'a>(rows: impl IntoIterator<Item = &'a Map<String, Value>>, column: &str) -> Vec<Key> {
    let mut out: Vec<Key> = Vec::new();
    for row in rows {
        if let Some(k) = key_of(row.get(column)) {
            if !out.contains(&k) {
                out.push(k);
            }
        }
    }
    out
}

/// The navigation property's value for the related row found (None: none the caller
/// sees), projected onto the expand's `$select`.
pub fn value(related: Option<&Map<String, Value>>, expand: &Expand) -> Value {
    match (related, &expand.select) {
        (None, _) => Value::Null,
        (Some(r), None) => Value::Object(r.clone()),
        (Some(r), Some(cols)) => Value::Object(crate::query::project(r, cols)),
    }
}
