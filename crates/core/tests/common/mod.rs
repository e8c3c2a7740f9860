//! Helpers shared by the query, plan and query-fuzz tests.
#![allow(dead_code, unused_imports)]

use offline_tables_core::query::{
    compare_rows, parse_filter, project, Bound, CmpOp, Direction, KeyRange, Plan, Source,
};
use offline_tables_core::{Error, ErrorCode, Filter, Query};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

// ---------------------------------------------------------------------------------------
// Helpers

/// Every comparison operator.
pub const CMP_OPS: [CmpOp; 6] = [
    CmpOp::Eq,
    CmpOp::Ne,
    CmpOp::Gt,
    CmpOp::Gte,
    CmpOp::Lt,
    CmpOp::Lte,
];

pub fn obj(v: Value) -> Query {
    Query::from_object(&v).unwrap_or_else(|e| panic!("{v} should parse: {e}"))
}

pub fn odata(s: &str) -> Query {
    Query::from_odata(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}

pub fn row(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not a row: {other}"),
    }
}

pub fn cmp(column: &str, op: CmpOp, value: Value) -> Filter {
    Filter::Cmp {
        column: column.into(),
        op,
        value,
    }
}

/// Asserts that `what` was refused as an invalid argument, with `needle` in the message.
#[track_caller]
fn assert_invalid(what: &str, parsed: Result<Query, Error>, needle: &str) {
    match parsed {
        Ok(q) => panic!("{what} should be rejected, got {q:?}"),
        Err(e) => {
            assert_eq!(e.code, ErrorCode::InvalidArgument, "{e}");
            assert!(
                e.message.contains(needle),
                "message for {what} should contain {needle:?}: {:?}",
                e.message
            );
        }
    }
}

#[track_caller]
pub fn object_error(v: Value, needle: &str) {
    assert_invalid(&v.to_string(), Query::from_object(&v), needle);
}

#[track_caller]
pub fn odata_error(s: &str, needle: &str) {
    assert_invalid(&format!("{s:?}"), Query::from_odata(s), needle);
}
