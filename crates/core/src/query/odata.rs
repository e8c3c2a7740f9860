//! Parses the OData-style string form of a query, the subset that REST URLs use
//! (protocol.md §8): `$filter`, `$orderby`, `$top`, `$skip`, `$select`, `$count`.
//!
//! `$filter`: `eq ne gt ge lt le`, `and or not`, parentheses, `column in (...)`; the
//! boolean functions `startswith`, `endswith`, `contains`; the value functions
//! `tolower toupper trim length concat indexof substring` (functions.rs), nesting
//! (`contains(tolower(name),'cafe')`, `length(name) gt 3`); literals 'text' (`''` for a
//! quote), numbers, `true false null`, dates `2026-11-01`, datetime-offsets
//! `2026-11-01T00:00:00Z` / `+02:00` / fractional seconds, compared as instants (a date
//! is midnight UTC), and GUIDs, compared with strings case-insensitively (literals.rs).
//! `column op literal`, `startswith(column,'text')`, `contains(column,'text')` keep their
//! plain `Filter` forms, which the planner can read from an index; everything else is a
//! `Filter::Compare` or `Filter::Text` over `Expr`s. Not supported (`invalid_argument`):
//! other functions (`round`, `year`, `now`…), arithmetic (`add`, `sub`…), `has`, lambda
//! operators (`any`, `all`), a column on the right of an operator, `in` on a function,
//! duration and other typed literals.

use super::functions::text_op;
use super::literals::{is_date_start, is_guid, Instant};
use super::object::check_column;
use super::{CmpOp, Direction, Expr, Filter, Query};
use crate::error::{Error, Result};
use serde_json::Value;

pub(super) fn parse_query_string(s: &str) -> Result<Query> {
    let s = s.strip_prefix('?').unwrap_or(s);
    let mut params = Vec::new();
    for part in split_outside_quotes(s, '&') {
        if part.is_empty() {
            continue;
        }
        let (name, value) = part.split_once('=').ok_or_else(|| {
            Error::invalid_argument(format!("query parameter '{part}' has no '=value'"))
        })?;
        params.push((name, value));
    }
    parse_params(&params)
}

/// Not generic over the parameters' iterator: compiled once, not once per caller's type.
pub(super) fn parse_params(params: &[(&str, &str)]) -> Result<Query> {
    let mut q = Query::default();
    let mut seen = Vec::new();
    for &(name, value) in params {
        if seen.contains(&name) {
            return Err(Error::invalid_argument(format!("{name} is given twice")));
        }
        seen.push(name);
        match name {
            "$filter" => q.filter = Some(parse_filter(value)?),
            "$orderby" => q.order_by = parse_orderby(value)?,
            "$top" => q.limit = Some(parse_count(name, value)?),
            "$skip" => q.offset = parse_count(name, value)?,
            "$select" => q.select = Some(parse_select(value)?),
            "$count" => {
                q.count = match value.trim() {
                    "true" => true,
                    "false" => false,
                    v => {
                        return Err(Error::invalid_argument(format!(
                            "$count must be true or false, got '{v}'"
                        )))
                    }
                }
            }
            other => {
                return Err(Error::invalid_argument(format!(
                    "unknown query option '{other}' (expected $filter, $orderby, $top, $skip, $select, $count)"
                )))
            }
        }
    }
    Ok(q)
}

fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in s.char_indices() {
        if c == '\'' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&s[start..i]);
            start = i + 1;
        }
    }
    out.push(&s[start..]);
    out
}

fn parse_count(name: &str, v: &str) -> Result<u64> {
    let v = v.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = v.parse::<u64>() {
            return Ok(n);
        }
    }
    Err(Error::invalid_argument(format!(
        "{name} must be a non-negative integer, got '{v}'"
    )))
}

/// `$select`'s columns.
pub fn parse_select(v: &str) -> Result<Vec<String>> {
    // Loops, not `collect::<Result<Vec<_>>>()`: that adapter is compiled once per item
    // type and is several times the size of the loop (as in `protocol::wire::list`).
    let mut out = Vec::new();
    for c in v.split(',') {
        let c = c.trim();
        check_column(c, "$select")?;
        out.push(c.to_string());
    }
    Ok(out)
}

fn parse_orderby(v: &str) -> Result<Vec<(String, Direction)>> {
    let mut out = Vec::new();
    for item in v.split(',') {
        let mut words = item.split_whitespace();
        let column = words.next().unwrap_or("");
        check_column(column, "$orderby")?;
        let dir = match words.next() {
            None | Some("asc") => Direction::Asc,
            Some("desc") => Direction::Desc,
            Some(w) => {
                return Err(Error::invalid_argument(format!(
                    "$orderby: expected asc or desc after '{column}', got '{w}'"
                )))
            }
        };
        if let Some(extra) = words.next() {
            return Err(Error::invalid_argument(format!(
                "$orderby: unexpected '{extra}' after '{item}'"
            )));
        }
        out.push((column.to_string(), dir));
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    Str(String),
    Num(Value),
    DateTime(Instant),
    Guid(String),
    LParen,
    RParen,
    Comma,
}

fn describe(t: Option<&(Tok, usize)>) -> String {
    match t {
        None => "the end".into(),
        Some((Tok::Ident(s), _)) => format!("'{s}'"),
        Some((Tok::Str(s), _)) => format!("'{}'", s.replace('\'', "''")),
        Some((Tok::Num(n), _)) => crate::value::to_text(n),
        Some((Tok::DateTime(t), _)) => t.to_string(),
        Some((Tok::Guid(g), _)) => g.clone(),
        Some((Tok::LParen, _)) => "'('".into(),
        Some((Tok::RParen, _)) => "')'".into(),
        Some((Tok::Comma, _)) => "','".into(),
    }
}

fn tokenize(s: &str) -> Result<Vec<(Tok, usize)>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                out.push((Tok::LParen, start));
                i += 1
            }
            b')' => {
                out.push((Tok::RParen, start));
                i += 1
            }
            b',' => {
                out.push((Tok::Comma, start));
                i += 1
            }
            b'\'' => {
                let mut text = String::new();
                i += 1;
                loop {
                    let rest = &s[i..];
                    let Some(q) = rest.find('\'') else {
                        return Err(Error::invalid_argument(format!(
                            "$filter: unterminated string starting at position {start}"
                        )));
                    };
                    text.push_str(&rest[..q]);
                    i += q + 1;
                    if b.get(i) == Some(&b'\'') {
                        text.push('\'');
                        i += 1;
                    } else {
                        break;
                    }
                }
                out.push((Tok::Str(text), start));
            }
            c if c.is_ascii_hexdigit()
                && s.get(i..i + 36).is_some_and(is_guid)
                && !b
                    .get(i + 36)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') =>
            {
                i += 36;
                out.push((Tok::Guid(s[start..i].to_ascii_lowercase()), start));
            }
            b'0'..=b'9' if is_date_start(&b[i..]) => {
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'-' | b'+' | b':' | b'.'))
                {
                    i += 1;
                }
                let text = &s[start..i];
                let t = Instant::parse(text).map_err(|why| {
                    Error::invalid_argument(format!(
                        "$filter: '{text}' at position {start} is not a valid date or datetime: {why}"
                    ))
                })?;
                out.push((Tok::DateTime(t), start));
            }
            b'-' | b'0'..=b'9' => {
                i += 1;
                while i < b.len() && matches!(b[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    i += 1;
                }
                let text = &s[start..i];
                let n: Value = serde_json::from_str(text)
                    .ok()
                    .filter(Value::is_number)
                    .ok_or_else(|| {
                        Error::invalid_argument(format!(
                            "$filter: '{text}' at position {start} is not a number"
                        ))
                    })?;
                out.push((Tok::Num(n), start));
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push((Tok::Ident(s[start..i].to_string()), start));
            }
            _ => {
                let ch = s[i..].chars().next().unwrap_or('?');
                return Err(Error::invalid_argument(format!(
                    "$filter: unexpected character '{ch}' at position {start}"
                )));
            }
        }
    }
    Ok(out)
}

/// Parses an OData `$filter` expression.
pub fn parse_filter(s: &str) -> Result<Filter> {
    let toks = tokenize(s)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let f = p.or_expr()?;
    if p.pos < p.toks.len() {
        return Err(p.error("'and', 'or' or the end"));
    }
    Ok(f)
}

/// How deep `not` and parentheses may nest. The parser recurses once per level, so
/// without a bound a hostile `$filter` of 100,000 `(` overflows the stack and aborts the
/// process; no real filter comes near this.
pub const MAX_FILTER_NESTING: usize = 64;

pub(super) struct Parser {
    pub(super) toks: Vec<(Tok, usize)>,
    pub(super) pos: usize,
    /// `not`s and open parentheses around the current position.
    pub(super) depth: usize,
}

impl Parser {
    pub(super) fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s == w)
    }
    pub(super) fn error(&self, expected: &str) -> Error {
        let at = self
            .toks
            .get(self.pos)
            .map(|(_, p)| format!(" at position {p}"))
            .unwrap_or_default();
        Error::invalid_argument(format!(
            "$filter: expected {expected}, found {}{at}",
            describe(self.toks.get(self.pos))
        ))
    }
    pub(super) fn expect(&mut self, t: Tok, what: &str) -> Result<()> {
        if self.peek() == Some(&t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn or_expr(&mut self) -> Result<Filter> {
        let mut parts = vec![self.and_expr()?];
        while self.peek_word("or") {
            self.pos += 1;
            parts.push(self.and_expr()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap()
        } else {
            Filter::Or(parts)
        })
    }

    fn and_expr(&mut self) -> Result<Filter> {
        let mut parts = vec![self.unary()?];
        while self.peek_word("and") {
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Ok(Filter::and(parts).expect("at least one part"))
    }

    pub(super) fn nest(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_FILTER_NESTING {
            let at = self.toks.get(self.pos).map_or(0, |(_, p)| *p);
            return Err(Error::invalid_argument(format!(
                "$filter: nested more than {MAX_FILTER_NESTING} levels deep (not, parentheses) at position {at}"
            )));
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Filter> {
        if self.peek_word("not") {
            self.nest()?;
            self.pos += 1;
            let f = Filter::Not(Box::new(self.unary()?));
            self.depth -= 1;
            return Ok(f);
        }
        if self.peek() == Some(&Tok::LParen) {
            self.nest()?;
            self.pos += 1;
            let f = self.or_expr()?;
            self.expect(Tok::RParen, "')'")?;
            self.depth -= 1;
            return Ok(f);
        }
        let Some(Tok::Ident(name)) = self.peek().cloned() else {
            return Err(self.error("a column name, a function or '('"));
        };
        self.pos += 1;
        let left = if self.peek() == Some(&Tok::LParen) {
            if let Some(op) = text_op(&name) {
                return self.text_function(op);
            }
            self.call(&name)?
        } else {
            check_column(&name, "$filter")?;
            Expr::Column(name)
        };
        let op = match self.peek() {
            Some(Tok::Ident(w)) => match w.as_str() {
                "eq" => Some(CmpOp::Eq),
                "ne" => Some(CmpOp::Ne),
                "gt" => Some(CmpOp::Gt),
                "ge" => Some(CmpOp::Gte),
                "lt" => Some(CmpOp::Lt),
                "le" => Some(CmpOp::Lte),
                "in" => None,
                _ => return Err(self.error("an operator (eq, ne, gt, ge, lt, le, in)")),
            },
            _ => return Err(self.error("an operator (eq, ne, gt, ge, lt, le, in)")),
        };
        match op {
            Some(op) => {
                self.pos += 1;
                let right = self.value()?;
                if let Expr::Literal(value) = right {
                    if !(matches!(op, CmpOp::Eq | CmpOp::Ne)
                        || value.is_string()
                        || value.is_number())
                    {
                        let on = match &left {
                            Expr::Column(c) => c.clone(),
                            Expr::Call { fun, .. } => format!("{}(…)", fun.name()),
                            _ => String::new(),
                        };
                        return Err(Error::invalid_argument(format!(
                            "$filter: {} on '{on}' needs a string or a number, got {}",
                            op.name(),
                            crate::value::to_text(&value)
                        )));
                    }
                    return Ok(match left {
                        Expr::Column(column) => Filter::Cmp { column, op, value },
                        left => Filter::Compare {
                            left,
                            op,
                            right: Expr::Literal(value),
                        },
                    });
                }
                Ok(Filter::Compare { left, op, right })
            }
            None => {
                let Expr::Column(column) = left else {
                    return Err(self.error(
                        "an operator (eq, ne, gt, ge, lt, le; 'in' takes a column, not a function)",
                    ));
                };
                self.pos += 1;
                self.expect(Tok::LParen, "'(' after in")?;
                let mut values = Vec::new();
                if self.peek() != Some(&Tok::RParen) {
                    loop {
                        // Dates and GUIDs in a list compare as their canonical strings.
                        values.push(match self.literal_expr()? {
                            Expr::Literal(v) => v,
                            Expr::DateTime(t) => Value::String(t.to_string()),
                            Expr::Guid(g) => Value::String(g),
                            Expr::Column(_) | Expr::Call { .. } => unreachable!("a literal"),
                        });
                        if self.peek() == Some(&Tok::Comma) {
                            self.pos += 1;
                        } else {
                            break;
                        }
                    }
                }
                self.expect(Tok::RParen, "',' or ')'")?;
                Ok(Filter::In { column, values })
            }
        }
    }

    pub(super) fn literal(&mut self) -> Result<Value> {
        let v = match self.peek().cloned() {
            Some(Tok::Str(s)) => Value::String(s),
            Some(Tok::Num(n)) => n,
            Some(Tok::Ident(w)) if w == "true" => Value::Bool(true),
            Some(Tok::Ident(w)) if w == "false" => Value::Bool(false),
            Some(Tok::Ident(w)) if w == "null" => Value::Null,
            _ => return Err(self.error("a value ('text', a number, true, false or null)")),
        };
        self.pos += 1;
        Ok(v)
    }
}
