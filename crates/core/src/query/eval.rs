//! Evaluates filters over rows, orders rows, and projects columns. Rows are JSON objects;
//! a missing column reads as `null`.

use super::{CmpOp, Direction, Filter};
use crate::value::{cmp_utf16, compare_same_type, compare_values, values_equal};
use serde_json::{Map, Value};
use std::cmp::Ordering;

static NULL: Value = Value::Null;

fn column<'a>(row: &'a Map<String, Value>, name: &str) -> &'a Value {
    row.get(name).unwrap_or(&NULL)
}

impl Filter {
    pub fn matches(&self, row: &Map<String, Value>) -> bool {
        match self {
            Filter::And(fs) => fs.iter().all(|f| f.matches(row)),
            Filter::Or(fs) => fs.iter().any(|f| f.matches(row)),
            Filter::Not(f) => !f.matches(row),
            Filter::Cmp {
                column: c,
                op,
                value,
            } => {
                let v = column(row, c);
                match op {
                    CmpOp::Eq => values_equal(v, value),
                    CmpOp::Ne => !values_equal(v, value),
                    CmpOp::Gt => compare_same_type(v, value) == Some(Ordering::Greater),
                    CmpOp::Gte => matches!(
                        compare_same_type(v, value),
                        Some(Ordering::Greater | Ordering::Equal)
                    ),
                    CmpOp::Lt => compare_same_type(v, value) == Some(Ordering::Less),
                    CmpOp::Lte => matches!(
                        compare_same_type(v, value),
                        Some(Ordering::Less | Ordering::Equal)
                    ),
                }
            }
            Filter::In { column: c, values } => {
                let v = column(row, c);
                values.iter().any(|x| values_equal(v, x))
            }
            Filter::StartsWith { column: c, prefix } => {
                matches!(column(row, c), Value::String(s) if s.starts_with(prefix.as_str()))
            }
            Filter::Contains { column: c, needle } => {
                matches!(column(row, c), Value::String(s) if s.contains(needle.as_str()))
            }
        }
    }
}

/// Orders two rows by `order_by`, then by the primary key column ascending.
pub fn compare_rows(
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    order_by: &[(String, Direction)],
    key_column: &str,
) -> Ordering {
    for (c, dir) in order_by {
        let o = compare_values(column(a, c), column(b, c));
        let o = if *dir == Direction::Desc {
            o.reverse()
        } else {
            o
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    compare_keys(column(a, key_column), column(b, key_column))
}

/// Key order: numbers before strings, strings by UTF-16 units (IndexedDB's order).
pub fn compare_keys(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => cmp_utf16(x, y),
        _ => compare_values(a, b),
    }
}

/// Keeps only the `select`ed columns of a row (absent columns stay absent).
pub fn project(row: &Map<String, Value>, select: &[String]) -> Map<String, Value> {
    select
        .iter()
        .filter_map(|c| row.get(c).map(|v| (c.clone(), v.clone())))
        .collect()
}
