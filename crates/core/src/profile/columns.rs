//! The columns a table keeps offline: a column selection (`columns`: only those, plus the
//! key, are downloaded and stored) and file columns (`files`: a column whose value is a
//! file's metadata, the file itself travelling apart). Parsed and checked against the
//! table's key and indexes.

use super::{column, err};
use crate::by_name::ByName;
use crate::error::Result;
use crate::value::{object, type_name};
use serde_json::{Map, Value};

/// A file's size limit when the profile gives none.
pub const DEFAULT_FILE_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// The largest `maxBytes` a profile may give: 4 GiB, Power Apps' limit for a device's files.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// When a file column's files reach the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Download {
    /// With the rows, on every sync: readable offline once downloaded.
    #[default]
    Sync,
    /// When the app reads the file (`getFile`) while online; kept from then on.
    View,
}

impl Download {
    pub fn as_str(self) -> &'static str {
        match self {
            Download::Sync => "sync",
            Download::View => "view",
        }
    }
}

/// A file column.
#[derive(Debug, Clone, PartialEq)]
pub struct FileDef {
    pub download: Download,
    pub max_bytes: u64,
}

/// `columns`: None keeps every column.
pub(super) fn parse_columns(
    v: Option<&Value>,
    path: &str,
    key: &str,
) -> Result<Option<Vec<String>>> {
    let items = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(err(
                &format!("{path}.columns"),
                format!("must be an array of column names, got {}", type_name(other)),
            ))
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}.columns[{i}]");
        let c = column(item, &p)?;
        if out.contains(&c) {
            return Err(err(&p, format!("'{c}' is listed twice")));
        }
        // The key is always kept; naming it is allowed and changes nothing.
        if c != key {
            out.push(c);
        }
    }
    Ok(Some(out))
}

/// `files`: a map from column name to `{ download, maxBytes }`.
pub(super) fn parse_files(v: Option<&Value>, path: &str, key: &str) -> Result<ByName<FileDef>> {
    let map = match v {
        None | Some(Value::Null) => return Ok(ByName::default()),
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(err(
                &format!("{path}.files"),
                format!(
                    "must be an object mapping column names to files, got {}",
                    type_name(other)
                ),
            ))
        }
    };
    let mut out = ByName::default();
    for (name, def) in map {
        let p = format!("{path}.files.{name}");
        let c = column(&Value::String(name.clone()), &p)?;
        if c == key {
            return Err(err(&p, "the key column cannot hold a file"));
        }
        let def = match def {
            Value::Object(o) => o,
            other => {
                return Err(err(
                    &p,
                    format!("must be an object, got {}", type_name(other)),
                ))
            }
        };
        let download = match def.get("download") {
            None | Some(Value::Null) => Download::default(),
            Some(Value::String(s)) if s == "sync" => Download::Sync,
            Some(Value::String(s)) if s == "view" => Download::View,
            Some(other) => {
                return Err(err(
                    &format!("{p}.download"),
                    format!(
                        "must be \"sync\" or \"view\", got {}",
                        crate::value::to_text(other)
                    ),
                ))
            }
        };
        let max_bytes = match def.get("maxBytes") {
            None | Some(Value::Null) => DEFAULT_FILE_MAX_BYTES,
            Some(v) => match v.as_f64() {
                Some(f) if f.fract() == 0.0 && f >= 1.0 && f <= MAX_FILE_BYTES as f64 => f as u64,
                _ => {
                    return Err(err(
                        &format!("{p}.maxBytes"),
                        format!(
                            "must be an integer from 1 to {MAX_FILE_BYTES}, got {}",
                            crate::value::to_text(v)
                        ),
                    ))
                }
            },
        };
        out.insert(
            c,
            FileDef {
                download,
                max_bytes,
            },
        );
    }
    Ok(out)
}

/// Indexes and file columns must be among the selected columns.
pub(super) fn check_selection(
    columns: &Option<Vec<String>>,
    indexes: &[String],
    files: &ByName<FileDef>,
    path: &str,
) -> Result<()> {
    let Some(cols) = columns else {
        return Ok(());
    };
    let missing = |c: &String| !cols.contains(c);
    if let Some((i, c)) = indexes.iter().enumerate().find(|(_, c)| missing(c)) {
        return Err(err(
            &format!("{path}.indexes[{i}]"),
            format!("'{c}' is not among the table's columns"),
        ));
    }
    if let Some(c) = files.keys().find(|c| missing(c)) {
        return Err(err(
            &format!("{path}.files.{c}"),
            format!("'{c}' is not among the table's columns"),
        ));
    }
    Ok(())
}

pub(super) fn files_to_json(files: &ByName<FileDef>) -> Value {
    let m: Map<String, Value> = files
        .iter()
        .map(|(c, f)| {
            let o = object(vec![
                ("download", f.download.as_str().into()),
                ("maxBytes", f.max_bytes.into()),
            ]);
            (c.clone(), o)
        })
        .collect();
    Value::Object(m)
}

impl super::TableDef {
    /// Whether the device keeps `column` of this table's rows.
    pub fn keeps(&self, column: &str) -> bool {
        match &self.columns {
            None => true,
            Some(cols) => column == self.key || cols.iter().any(|c| c == column),
        }
    }

    /// The first of `columns` the device does not keep, if any: what a write or a query
    /// naming it is refused for.
    pub fn unselected<'a>(
        &self,
        columns: impl IntoIterator<Item = &'a String>,
    ) -> Option<&'a String> {
        self.columns.as_ref()?;
        columns.into_iter().find(|c| !self.keeps(c))
    }

    /// `row` with only the columns the device keeps (the row itself when all are kept).
    pub fn project(&self, row: Map<String, Value>) -> Map<String, Value> {
        match &self.columns {
            None => row,
            Some(_) => row.into_iter().filter(|(c, _)| self.keeps(c)).collect(),
        }
    }
}
