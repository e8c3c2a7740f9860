//! Evaluates filters over rows, orders rows, and projects columns. Rows are JSON objects;
//! a missing column reads as `null`.

use super::functions::{eval, instant_of};
use super::{CmpOp, Direction, Expr, Filter, TextOp};
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
            } => compare(*op, column(row, c), value),
            Filter::Compare { left, op, right } => compare_exprs(left, *op, right, row),
            Filter::Text { op, left, right } => {
                let (l, r) = (eval(left, row), eval(right, row));
                let (Some(l), Some(r)) = (l.as_str(), r.as_str()) else {
                    return false;
                };
                match op {
                    TextOp::StartsWith => l.starts_with(r),
                    TextOp::EndsWith => l.ends_with(r),
                    TextOp::Contains => l.contains(r),
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

/// `v op value` by the rules of `Filter::Cmp`: `eq`/`ne` deep and type-strict, the
/// orderings only between values of one type.
fn compare(op: CmpOp, v: &Value, value: &Value) -> bool {
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

/// A `Filter::Compare`: instants when a side is a date or datetime literal, lower-cased
/// strings when a side is a GUID, else as `Filter::Cmp`.
fn compare_exprs(left: &Expr, op: CmpOp, right: &Expr, row: &Map<String, Value>) -> bool {
    let (l, r) = (eval(left, row), eval(right, row));
    let is = |f: fn(&Expr) -> bool| f(left) || f(right);
    if is(|e| matches!(e, Expr::DateTime(_))) {
        let o = match (instant_of(&l), instant_of(&r)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => None,
        };
        return match op {
            CmpOp::Eq => o == Some(Ordering::Equal),
            CmpOp::Ne => o != Some(Ordering::Equal),
            CmpOp::Gt => o == Some(Ordering::Greater),
            CmpOp::Gte => matches!(o, Some(Ordering::Greater | Ordering::Equal)),
            CmpOp::Lt => o == Some(Ordering::Less),
            CmpOp::Lte => matches!(o, Some(Ordering::Less | Ordering::Equal)),
        };
    }
    if is(|e| matches!(e, Expr::Guid(_))) {
        let lower = |v: Value| match v {
            Value::String(s) => Value::String(s.to_lowercase()),
            other => other,
        };
        return compare(op, &lower(l), &lower(r));
    }
    compare(op, &l, &r)
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
