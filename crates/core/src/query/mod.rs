//! The query language: a typed query (filter, order, paging, projection) parsed from a
//! JS query object or an OData-style string, evaluated over rows, and planned onto
//! IndexedDB indexes.

mod eval;
mod functions;
mod literals;
mod object;
mod odata;
mod overlay;
mod plan;

pub use eval::{compare_rows, project};
pub use functions::Fun;
pub use literals::Instant;
pub use odata::{parse_filter, parse_select, MAX_FILTER_NESTING};
pub use plan::{Bound, KeyRange, Plan, Source};

use serde_json::Value;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl CmpOp {
    pub fn name(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Gt => "gt",
            CmpOp::Gte => "gte",
            CmpOp::Lt => "lt",
            CmpOp::Lte => "lte",
        }
    }
}

/// A value in a `$filter` where a function appears: a column, a literal, or a function
/// call (`tolower(name)`). Plain `column op literal` filters keep `Filter::Cmp` and the
/// like, so they can use indexes.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Column(String),
    Literal(Value),
    /// A date or datetime-offset literal: compared as an instant (see `Filter::Compare`).
    DateTime(Instant),
    /// A GUID literal, lower case: compared with strings case-insensitively.
    Guid(String),
    Call {
        fun: Fun,
        args: Vec<Expr>,
    },
}

impl Expr {
    /// Every column the expression reads.
    pub fn columns(&self, out: &mut Vec<String>) {
        match self {
            Expr::Column(c) => out.push(c.clone()),
            Expr::Call { args, .. } => args.iter().for_each(|a| a.columns(out)),
            Expr::Literal(_) | Expr::DateTime(_) | Expr::Guid(_) => {}
        }
    }
}

/// The boolean string functions of `$filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    StartsWith,
    EndsWith,
    Contains,
}

impl TextOp {
    pub fn name(self) -> &'static str {
        match self {
            TextOp::StartsWith => "startswith",
            TextOp::EndsWith => "endswith",
            TextOp::Contains => "contains",
        }
    }
}

/// A filter over the columns of one row. A missing column reads as `null`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Cmp {
        column: String,
        op: CmpOp,
        value: Value,
    },
    In {
        column: String,
        values: Vec<Value>,
    },
    StartsWith {
        column: String,
        prefix: String,
    },
    Contains {
        column: String,
        needle: String,
    },
    /// A comparison that is not `column op literal`: a function on either side, or a
    /// date, datetime or GUID literal. Same rules as `Cmp`; when a side is a `DateTime`,
    /// both sides are read as instants (strings holding an ISO date or datetime; anything
    /// else matches no ordering and is unequal); when a side is a `Guid`, strings compare
    /// lower-cased.
    Compare {
        left: Expr,
        op: CmpOp,
        right: Expr,
    },
    /// `startswith`, `endswith`, `contains` over expressions (false unless both are
    /// strings). `startswith(column,'text')` and `contains(column,'text')` stay
    /// `StartsWith` and `Contains`.
    Text {
        op: TextOp,
        left: Expr,
        right: Expr,
    },
}

impl Filter {
    /// Every column the filter reads.
    pub fn columns(&self, out: &mut Vec<String>) {
        match self {
            Filter::And(fs) | Filter::Or(fs) => fs.iter().for_each(|f| f.columns(out)),
            Filter::Not(f) => f.columns(out),
            Filter::Cmp { column, .. }
            | Filter::In { column, .. }
            | Filter::StartsWith { column, .. }
            | Filter::Contains { column, .. } => {
                out.push(column.clone());
            }
            Filter::Compare { left, right, .. } | Filter::Text { left, right, .. } => {
                left.columns(out);
                right.columns(out);
            }
        }
    }

    /// Joins conditions with AND, flattening and dropping an empty conjunction.
    pub fn and(parts: Vec<Filter>) -> Option<Filter> {
        let mut flat = Vec::new();
        for p in parts {
            match p {
                Filter::And(inner) => flat.extend(inner),
                other => flat.push(other),
            }
        }
        match flat.len() {
            0 => None,
            1 => flat.pop(),
            _ => Some(Filter::And(flat)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// A parsed query. Results are ordered by `order_by`, ties (and no `order_by`) by the
/// primary key ascending, so an index and a scan give the same rows in the same order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    pub filter: Option<Filter>,
    pub order_by: Vec<(String, Direction)>,
    pub limit: Option<u64>,
    pub offset: u64,
    pub select: Option<Vec<String>>,
    /// `$count=true` (REST responses include the total count).
    pub count: bool,
}

impl Query {
    /// Parses a JS query object (`{ where, orderBy, limit, offset, select }`).
    pub fn from_object(value: &Value) -> crate::Result<Query> {
        object::parse_query(value)
    }

    /// Parses an OData-style string: `$filter=...&$orderby=...&$top=..&$skip=..&$select=..`.
    /// The string is taken as is (not percent-decoded).
    pub fn from_odata(s: &str) -> crate::Result<Query> {
        odata::parse_query_string(s)
    }

    /// Parses already-decoded OData parameters (name, value), as a server gets them from a URL.
    pub fn from_odata_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> crate::Result<Query> {
        let params: Vec<(&str, &str)> = params.into_iter().collect();
        odata::parse_params(&params)
    }

    /// The columns a row must carry for filtering and ordering, sorted, each once.
    pub fn columns(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(f) = &self.filter {
            f.columns(&mut out);
        }
        out.extend(self.order_by.iter().map(|(c, _)| c.clone()));
        crate::sort::sort(&mut out);
        out.dedup();
        out
    }

    /// True when `row` passes the filter.
    pub fn matches(&self, row: &serde_json::Map<String, Value>) -> bool {
        // Not `is_none_or`: it needs Rust 1.82 and the MSRV is 1.81.
        self.filter.as_ref().map_or(true, |f| f.matches(row))
    }
}

/// Column names: identifiers, so they work as IndexedDB key paths and in OData.
/// `__proto__` is excluded: JavaScript objects cannot hold it as a plain column.
pub fn is_column_name(s: &str) -> bool {
    if s == "__proto__" {
        return false;
    }
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 128
}
