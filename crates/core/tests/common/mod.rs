//! Helpers shared by the query and plan tests.
#![allow(dead_code, unused_imports)]

use offline_tables_core::query::{
    compare_rows, parse_filter, project, Bound, CmpOp, Direction, KeyRange, Plan, Source,
};
use offline_tables_core::{ErrorCode, Filter, Query};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

// ---------------------------------------------------------------------------------------
// Helpers

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

#[track_caller]
pub fn object_error(v: Value, needle: &str) {
    match Query::from_object(&v) {
        Ok(q) => panic!("{v} should be rejected, got {q:?}"),
        Err(e) => {
            assert_eq!(e.code, ErrorCode::InvalidArgument, "{e}");
            assert!(
                e.message.contains(needle),
                "message for {v} should contain {needle:?}: {:?}",
                e.message
            );
        }
    }
}

#[track_caller]
pub fn odata_error(s: &str, needle: &str) {
    match Query::from_odata(s) {
        Ok(q) => panic!("{s:?} should be rejected, got {q:?}"),
        Err(e) => {
            assert_eq!(e.code, ErrorCode::InvalidArgument, "{e}");
            assert!(
                e.message.contains(needle),
                "message for {s:?} should contain {needle:?}: {:?}",
                e.message
            );
        }
    }
}
