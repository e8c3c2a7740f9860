//! Parses the JS query object form: `{ where, orderBy, limit, offset, select }`.

use super::{is_column_name, CmpOp, Direction, Expr, Filter, Fun, Query, TextOp};
use crate::error::{Error, Result};
use crate::value::type_name;
use serde_json::{Map, Value};

const OPERATORS: &str = "eq, ne, gt, gte, lt, lte, in, startsWith, endsWith, contains, ignoreCase";

pub(super) fn parse_query(v: &Value) -> Result<Query> {
    let obj = match v {
        Value::Null => return Ok(Query::default()),
        Value::Object(o) => o,
        other => {
            return Err(Error::invalid_argument(format!(
                "query must be an object or an OData string, got {}",
                type_name(other)
            )))
        }
    };
    let mut q = Query::default();
    for (field, val) in obj {
        if val.is_null() {
            continue;
        }
        match field.as_str() {
            "where" => q.filter = parse_where(val, "where")?,
            "orderBy" => q.order_by = parse_order_by(val)?,
            "limit" => q.limit = Some(count_arg(val, "limit")?),
            "offset" => q.offset = count_arg(val, "offset")?,
            "select" => q.select = Some(parse_select(val)?),
            other => {
                return Err(Error::invalid_argument(format!(
                    "unknown query field '{other}' (expected where, orderBy, limit, offset, select)"
                )))
            }
        }
    }
    Ok(q)
}

pub(super) fn count_arg(v: &Value, what: &str) -> Result<u64> {
    match v.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_991.0 => Ok(f as u64),
        _ => Err(Error::invalid_argument(format!(
            "{what} must be a non-negative integer, got {}",
            crate::value::to_text(v)
        ))),
    }
}

pub(super) fn check_column(name: &str, path: &str) -> Result<()> {
    if is_column_name(name) {
        Ok(())
    } else {
        Err(Error::invalid_argument(format!(
            "{path}: '{name}' is not a valid column name (letters, digits and _, not starting with a digit)"
        )))
    }
}

fn parse_where(v: &Value, path: &str) -> Result<Option<Filter>> {
    let obj = v.as_object().ok_or_else(|| {
        Error::invalid_argument(format!("{path} must be an object, got {}", type_name(v)))
    })?;
    let mut parts = Vec::new();
    for (column, cond) in obj {
        let here = format!("{path}.{column}");
        if column == "or" {
            let alts = cond.as_array().ok_or_else(|| {
                Error::invalid_argument(format!("{here} must be an array of where objects"))
            })?;
            if alts.is_empty() {
                return Err(Error::invalid_argument(format!(
                    "{here} must hold at least one alternative"
                )));
            }
            let mut ors = Vec::new();
            for (i, alt) in alts.iter().enumerate() {
                match parse_where(alt, &format!("{here}[{i}]"))? {
                    Some(f) => ors.push(f),
                    // An empty alternative matches every row, so the whole `or` does.
                    None => {
                        ors.clear();
                        break;
                    }
                }
            }
            if !ors.is_empty() {
                parts.push(if ors.len() == 1 {
                    ors.pop().unwrap()
                } else {
                    Filter::Or(ors)
                });
            }
            continue;
        }
        check_column(column, path)?;
        match cond {
            Value::Object(ops) => parts.extend(parse_operators(column, ops, &here)?),
            value => parts.push(Filter::Cmp {
                column: column.clone(),
                op: CmpOp::Eq,
                value: value.clone(),
            }),
        }
    }
    Ok(Filter::and(parts))
}

fn parse_operators(column: &str, ops: &Map<String, Value>, path: &str) -> Result<Vec<Filter>> {
    if ops.is_empty() {
        return Err(Error::invalid_argument(format!(
            "{path}: empty operator object (use one of {OPERATORS})"
        )));
    }
    let ignore_case = match ops.get("ignoreCase") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(Error::invalid_argument(format!(
                "{path}.ignoreCase: needs true or false, got {}",
                type_name(v)
            )))
        }
    };
    if ops.len() == 1 && ops.contains_key("ignoreCase") {
        return Err(Error::invalid_argument(format!(
            "{path}: ignoreCase alone compares nothing (add eq, ne, in, startsWith, endsWith or contains)"
        )));
    }
    let mut out = Vec::new();
    for (op, arg) in ops {
        if op == "ignoreCase" {
            continue;
        }
        let col = column.to_string();
        let cmp = |op: CmpOp| Filter::Cmp {
            column: col.clone(),
            op,
            value: arg.clone(),
        };
        let range_arg = || -> Result<()> {
            if arg.is_string() || arg.is_number() {
                Ok(())
            } else {
                Err(Error::invalid_argument(format!(
                    "{path}.{op}: needs a string or a number, got {}",
                    type_name(arg)
                )))
            }
        };
        let string_arg = || -> Result<String> {
            arg.as_str().map(str::to_string).ok_or_else(|| {
                Error::invalid_argument(format!(
                    "{path}.{op}: needs a string, got {}",
                    type_name(arg)
                ))
            })
        };
        let f = match op.as_str() {
            "eq" => cmp(CmpOp::Eq),
            "ne" => cmp(CmpOp::Ne),
            "gt" => range_arg().map(|_| cmp(CmpOp::Gt))?,
            "gte" => range_arg().map(|_| cmp(CmpOp::Gte))?,
            "lt" => range_arg().map(|_| cmp(CmpOp::Lt))?,
            "lte" => range_arg().map(|_| cmp(CmpOp::Lte))?,
            "in" => Filter::In {
                column: col.clone(),
                values: arg.as_array().cloned().ok_or_else(|| {
                    Error::invalid_argument(format!(
                        "{path}.in: needs an array, got {}",
                        type_name(arg)
                    ))
                })?,
            },
            "startsWith" => Filter::StartsWith {
                column: col.clone(),
                prefix: string_arg()?,
            },
            "contains" => Filter::Contains {
                column: col.clone(),
                needle: string_arg()?,
            },
            "endsWith" => Filter::Text {
                op: TextOp::EndsWith,
                left: Expr::Column(col.clone()),
                right: Expr::Literal(Value::String(string_arg()?)),
            },
            other => {
                return Err(Error::invalid_argument(format!(
                    "{path}: unknown operator '{other}' (expected one of {OPERATORS})"
                )))
            }
        };
        out.push(match ignore_case {
            true => folded(f, &format!("{path}.{op}"))?,
            false => f,
        });
    }
    Ok(out)
}

/// `f`, one operator's condition, with `ignoreCase: true`: the column and the value
/// compared lower-cased (OData's `tolower(column) eq 'value'`, the same Unicode case
/// mapping), so only strings match. Ranges are refused: lower-casing reorders strings.
fn folded(f: Filter, path: &str) -> Result<Filter> {
    let lower = |c: &str| Expr::Call {
        fun: Fun::ToLower,
        args: vec![Expr::Column(c.to_string())],
    };
    let text = |v: &str| Expr::Literal(Value::String(v.to_lowercase()));
    let eq = |column: &str, v: &Value, op| {
        v.as_str().map(|v| Filter::Compare {
            left: lower(column),
            op,
            right: text(v),
        })
    };
    let search = |op, column: &str, v: &str| {
        Some(Filter::Text {
            op,
            left: lower(column),
            right: text(v),
        })
    };
    let out = match &f {
        Filter::Cmp {
            column,
            op: op @ (CmpOp::Eq | CmpOp::Ne),
            value,
        } => eq(column, value, *op),
        // A loop, not `collect::<Option<Vec<_>>>()` (see `odata::parse_select`).
        Filter::In { column, values } => (|| {
            let mut alts = Vec::with_capacity(values.len());
            for v in values {
                alts.push(eq(column, v, CmpOp::Eq)?);
            }
            Some(Filter::Or(alts))
        })(),
        Filter::StartsWith { column, prefix } => search(TextOp::StartsWith, column, prefix),
        Filter::Contains { column, needle } => search(TextOp::Contains, column, needle),
        Filter::Text {
            op,
            left: Expr::Column(c),
            right: Expr::Literal(Value::String(v)),
        } => search(*op, c, v),
        _ => None,
    };
    out.ok_or_else(|| {
        Error::invalid_argument(format!(
            "{path}: ignoreCase applies to string values of eq, ne, in, startsWith, endsWith and contains"
        ))
    })
}

fn parse_order_by(v: &Value) -> Result<Vec<(String, Direction)>> {
    let one = |item: &Value, path: &str| -> Result<(String, Direction)> {
        match item {
            Value::String(c) => {
                check_column(c, path)?;
                Ok((c.clone(), Direction::Asc))
            }
            Value::Array(pair) if pair.len() == 2 => {
                let c = pair[0].as_str().ok_or_else(|| {
                    Error::invalid_argument(format!("{path}[0] must be a column name"))
                })?;
                check_column(c, path)?;
                let dir = match pair[1].as_str() {
                    Some("asc") => Direction::Asc,
                    Some("desc") => Direction::Desc,
                    _ => {
                        return Err(Error::invalid_argument(format!(
                            "{path}[1] must be \"asc\" or \"desc\", got {}",
                            crate::value::to_text(&pair[1])
                        )))
                    }
                };
                Ok((c.to_string(), dir))
            }
            other => Err(Error::invalid_argument(format!(
                "{path} must be a column name or [column, \"asc\" | \"desc\"], got {}",
                crate::value::to_text(other)
            ))),
        }
    };
    // `["name", "desc"]` is one column and its direction, not two columns.
    if let Some([Value::String(_), Value::String(d)]) = v.as_array().map(Vec::as_slice) {
        if d == "asc" || d == "desc" {
            return Ok(vec![one(v, "orderBy")?]);
        }
    }
    match v {
        Value::String(_) => Ok(vec![one(v, "orderBy")?]),
        Value::Array(items) => {
            // A loop, not `collect::<Result<Vec<_>>>()` (see `odata::parse_select`).
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(one(item, &format!("orderBy[{i}]"))?);
            }
            Ok(out)
        }
        other => Err(Error::invalid_argument(format!(
            "orderBy must be a column name or an array, got {}",
            type_name(other)
        ))),
    }
}

fn parse_select(v: &Value) -> Result<Vec<String>> {
    let items = v.as_array().ok_or_else(|| {
        Error::invalid_argument(format!(
            "select must be an array of column names, got {}",
            type_name(v)
        ))
    })?;
    let mut out = Vec::with_capacity(items.len());
    for (i, c) in items.iter().enumerate() {
        let c = c
            .as_str()
            .ok_or_else(|| Error::invalid_argument(format!("select[{i}] must be a column name")))?;
        check_column(c, &format!("select[{i}]"))?;
        out.push(c.to_string());
    }
    Ok(out)
}
