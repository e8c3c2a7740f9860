//! The value functions of `$filter` (`tolower`, `length`, `substring`…): their names, argument checks and evaluation.

use super::object::check_column;
use super::odata::{Parser, Tok};
use super::{Expr, Filter, Instant, TextOp};
use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// A function returning a value. Over a non-string argument (null, a number, a missing
/// column) each gives `null`. Lengths and positions count Unicode scalar values (Rust
/// `char`s), not UTF-16 units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fun {
    ToLower,
    ToUpper,
    Trim,
    Length,
    Concat,
    IndexOf,
    Substring,
}

/// What an argument must be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Int,
}

impl Fun {
    pub const ALL: [Fun; 7] = [
        Fun::ToLower,
        Fun::ToUpper,
        Fun::Trim,
        Fun::Length,
        Fun::Concat,
        Fun::IndexOf,
        Fun::Substring,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fun::ToLower => "tolower",
            Fun::ToUpper => "toupper",
            Fun::Trim => "trim",
            Fun::Length => "length",
            Fun::Concat => "concat",
            Fun::IndexOf => "indexof",
            Fun::Substring => "substring",
        }
    }

    /// The function named `name` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Fun> {
        Fun::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// True when the result is a string (else a number).
    pub fn returns_string(self) -> bool {
        !matches!(self, Fun::Length | Fun::IndexOf)
    }

    /// The argument kinds and how many are required.
    fn params(self) -> (&'static [Kind], usize) {
        match self {
            Fun::ToLower | Fun::ToUpper | Fun::Trim | Fun::Length => (&[Kind::Str], 1),
            Fun::Concat | Fun::IndexOf => (&[Kind::Str, Kind::Str], 2),
            Fun::Substring => (&[Kind::Str, Kind::Int, Kind::Int], 2),
        }
    }

    /// Checks the number and the literal types of `args` (columns are checked when read).
    pub(super) fn check(self, args: &[Expr]) -> Result<()> {
        let (kinds, required) = self.params();
        let name = self.name();
        if args.len() < required || args.len() > kinds.len() {
            let n = if required == kinds.len() {
                format!("{required}")
            } else {
                format!("{required} or {}", kinds.len())
            };
            return Err(Error::invalid_argument(format!(
                "$filter: {name} takes {n} argument{}, got {}",
                if kinds.len() == 1 { "" } else { "s" },
                args.len()
            )));
        }
        for (i, (a, k)) in args.iter().zip(kinds).enumerate() {
            let ok = match (a, k) {
                (Expr::Column(_), _) => true,
                (Expr::Call { fun, .. }, Kind::Str) => fun.returns_string(),
                (Expr::Call { fun, .. }, Kind::Int) => !fun.returns_string(),
                (Expr::Literal(Value::String(_)) | Expr::DateTime(_) | Expr::Guid(_), k) => {
                    *k == Kind::Str
                }
                (Expr::Literal(v), Kind::Int) => v.as_i64().is_some(),
                (Expr::Literal(_), Kind::Str) => false,
            };
            if !ok {
                let want = match k {
                    Kind::Str => "a string",
                    Kind::Int => "an integer",
                };
                return Err(Error::invalid_argument(format!(
                    "$filter: {name} takes {want} as argument {}, got {}",
                    i + 1,
                    describe(a)
                )));
            }
        }
        Ok(())
    }
}

fn describe(e: &Expr) -> String {
    match e {
        Expr::Column(c) => format!("column '{c}'"),
        Expr::Literal(Value::String(s)) => format!("'{}'", s.replace('\'', "''")),
        Expr::Literal(v) => crate::value::to_text(v),
        Expr::DateTime(t) => t.to_string(),
        Expr::Guid(g) => g.clone(),
        Expr::Call { fun, .. } => format!("{}(…)", fun.name()),
    }
}

static NULL: Value = Value::Null;

/// The value of `e` on `row` (a date literal reads as its canonical string).
pub(super) fn eval(e: &Expr, row: &Map<String, Value>) -> Value {
    match e {
        Expr::Column(c) => row.get(c).unwrap_or(&NULL).clone(),
        Expr::Literal(v) => v.clone(),
        Expr::DateTime(t) => Value::String(t.to_string()),
        Expr::Guid(g) => Value::String(g.clone()),
        Expr::Call { fun, args } => {
            let vals: Vec<Value> = args.iter().map(|a| eval(a, row)).collect();
            call(*fun, &vals).unwrap_or(Value::Null)
        }
    }
}

/// An integer argument (a number with no fraction).
fn int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
            .map(|f| f as i64)
    })
}

fn call(fun: Fun, a: &[Value]) -> Option<Value> {
    let s = a.first()?.as_str()?;
    Some(match fun {
        Fun::ToLower => Value::String(s.to_lowercase()),
        Fun::ToUpper => Value::String(s.to_uppercase()),
        Fun::Trim => Value::String(s.trim().to_string()),
        Fun::Length => Value::from(s.chars().count()),
        Fun::Concat => Value::String(format!("{s}{}", a.get(1)?.as_str()?)),
        Fun::IndexOf => {
            let needle = a.get(1)?.as_str()?;
            Value::from(s.find(needle).map_or(-1, |i| s[..i].chars().count() as i64))
        }
        Fun::Substring => {
            let start = int(a.get(1)?)?;
            let len = match a.get(2) {
                Some(n) => int(n)?,
                None => i64::MAX,
            };
            if start < 0 || len < 0 {
                return Some(Value::String(String::new()));
            }
            Value::String(
                s.chars()
                    .skip(usize::try_from(start).unwrap_or(usize::MAX))
                    .take(usize::try_from(len).unwrap_or(usize::MAX))
                    .collect(),
            )
        }
    })
}

/// A string value read as an instant, if it is an ISO date or datetime.
pub(super) fn instant_of(v: &Value) -> Option<Instant> {
    v.as_str().and_then(|s| Instant::parse(s).ok())
}

// The parser's rules for function calls and their arguments.
impl Parser {
    /// `startswith`, `endswith` or `contains` after its name.
    pub(super) fn text_function(&mut self, op: TextOp) -> Result<Filter> {
        self.nest()?;
        self.expect(Tok::LParen, "'('")?;
        let left = self.arg()?;
        self.expect(Tok::Comma, "','")?;
        let right = self.arg()?;
        self.expect(Tok::RParen, "')'")?;
        self.depth -= 1;
        for (i, a) in [&left, &right].into_iter().enumerate() {
            let ok = match a {
                Expr::Column(_) | Expr::DateTime(_) | Expr::Guid(_) => true,
                Expr::Literal(v) => v.is_string(),
                Expr::Call { fun, .. } => fun.returns_string(),
            };
            if !ok {
                return Err(Error::invalid_argument(format!(
                    "$filter: {} takes a string as argument {}, got {}",
                    op.name(),
                    i + 1,
                    match a {
                        Expr::Literal(v) => crate::value::to_text(v),
                        Expr::Call { fun, .. } => format!("{}(…), a number", fun.name()),
                        _ => String::new(),
                    }
                )));
            }
        }
        Ok(match (op, left, right) {
            (TextOp::StartsWith, Expr::Column(column), Expr::Literal(Value::String(prefix))) => {
                Filter::StartsWith { column, prefix }
            }
            (TextOp::Contains, Expr::Column(column), Expr::Literal(Value::String(needle))) => {
                Filter::Contains { column, needle }
            }
            (op, left, right) => Filter::Text { op, left, right },
        })
    }

    /// A value function `name` (its name read, `(` next) and its arguments.
    pub(super) fn call(&mut self, name: &str) -> Result<Expr> {
        let Some(fun) = Fun::from_name(name) else {
            let known: Vec<&str> = [TextOp::StartsWith, TextOp::EndsWith, TextOp::Contains]
                .iter()
                .map(|t| t.name())
                .chain(Fun::ALL.iter().map(|f| f.name()))
                .collect();
            return Err(Error::invalid_argument(format!(
                "$filter: unknown function '{name}' (expected {})",
                known.join(", ")
            )));
        };
        self.nest()?;
        self.expect(Tok::LParen, "'('")?;
        let mut args = Vec::new();
        if self.peek() != Some(&Tok::RParen) {
            loop {
                args.push(self.arg()?);
                if self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        self.expect(Tok::RParen, "',' or ')'")?;
        self.depth -= 1;
        fun.check(&args)?;
        Ok(Expr::Call { fun, args })
    }

    /// A function's argument: a column (any name, `null` too), a literal or a value
    /// function.
    fn arg(&mut self) -> Result<Expr> {
        let Some(Tok::Ident(name)) = self.peek().cloned() else {
            return self.literal_expr();
        };
        self.pos += 1;
        if self.peek() == Some(&Tok::LParen) {
            if let Some(op) = text_op(&name) {
                return Err(Error::invalid_argument(format!(
                    "$filter: {} gives true or false and cannot be a function's argument",
                    op.name()
                )));
            }
            return self.call(&name);
        }
        check_column(&name, "$filter")?;
        Ok(Expr::Column(name))
    }

    /// The right side of a comparison: a literal or a value function.
    pub(super) fn value(&mut self) -> Result<Expr> {
        if let Some(Tok::Ident(name)) = self.peek().cloned() {
            let called = self.toks.get(self.pos + 1).map(|(t, _)| t) == Some(&Tok::LParen);
            if called && !matches!(name.as_str(), "true" | "false" | "null") {
                self.pos += 1;
                if let Some(op) = text_op(&name) {
                    return Err(Error::invalid_argument(format!(
                        "$filter: {} gives true or false and cannot be compared",
                        op.name()
                    )));
                }
                return self.call(&name);
            }
        }
        self.literal_expr()
    }

    /// A literal: a value, a date or datetime, or a GUID.
    pub(super) fn literal_expr(&mut self) -> Result<Expr> {
        let e = match self.peek().cloned() {
            Some(Tok::DateTime(t)) => Expr::DateTime(t),
            Some(Tok::Guid(g)) => Expr::Guid(g),
            _ => return self.literal().map(Expr::Literal),
        };
        self.pos += 1;
        Ok(e)
    }
}

/// The boolean string function `name` (case-insensitive).
pub(super) fn text_op(name: &str) -> Option<TextOp> {
    [TextOp::StartsWith, TextOp::EndsWith, TextOp::Contains]
        .into_iter()
        .find(|t| t.name().eq_ignore_ascii_case(name))
}
