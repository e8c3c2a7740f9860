//! Profile column selection (`columns`) and file columns (`files`): defaults, what the
//! device keeps, every rejection with the path it names, and the JSON round trip.

use offline_tables_core::profile::{Download, FileDef, DEFAULT_FILE_MAX_BYTES, MAX_FILE_BYTES};
use offline_tables_core::{ErrorCode, Profile};
use serde_json::{json, Map, Value};

fn profile(table: Value) -> Value {
    json!({ "version": 1, "tables": { "workorders": table } })
}

fn parse(table: Value) -> Profile {
    Profile::from_json(&profile(table)).unwrap_or_else(|e| panic!("{e}"))
}

#[track_caller]
fn rejects(table: Value, path: &str, needle: &str) {
    let e = Profile::from_json(&profile(table)).expect_err("should be rejected");
    assert_eq!(e.code, ErrorCode::InvalidProfile, "{e}");
    let prefix = format!("profile.tables.workorders.{path}: ");
    assert!(
        e.message.starts_with(&prefix),
        "{prefix:?} in {:?}",
        e.message
    );
    assert!(e.message.contains(needle), "{needle:?} in {:?}", e.message);
}

#[test]
fn without_columns_or_files_every_column_is_kept() {
    let p = parse(json!({ "key": "id" }));
    let t = p.table("workorders").unwrap();
    assert_eq!((&t.columns, t.files.len()), (&None, 0));
    assert!(t.keeps("anything"));
    let row: Map<String, Value> = json!({ "id": 1, "a": 2 }).as_object().unwrap().clone();
    assert_eq!(t.project(row.clone()), row);
    // Nothing new is written out for such a table.
    let out = p.to_json();
    let t = &out["tables"]["workorders"];
    assert!(
        t.get("columns").is_none() && t.get("files").is_none(),
        "{t}"
    );
}

#[test]
fn a_selection_keeps_its_columns_and_the_key() {
    let p = parse(json!({ "key": "id", "indexes": ["status"],
                          "columns": ["id", "status", "title", "photo", "report"],
                          "files": { "photo": { "download": "view", "maxBytes": 2048 },
                                     "report": {} } }));
    let t = p.table("workorders").unwrap();
    assert_eq!(
        t.columns.as_deref(),
        Some(
            &[
                "status".to_string(),
                "title".into(),
                "photo".into(),
                "report".into()
            ][..]
        ),
        "the key is kept without being listed"
    );
    assert!(t.keeps("id") && t.keeps("title") && !t.keeps("notes"));
    let row = json!({ "id": 7, "title": "T", "notes": "secret", "status": "open" });
    assert_eq!(
        Value::Object(t.project(row.as_object().unwrap().clone())),
        json!({ "id": 7, "title": "T", "status": "open" })
    );
    assert_eq!(
        t.files["photo"],
        FileDef {
            download: Download::View,
            max_bytes: 2048
        }
    );
    assert_eq!(
        t.files["report"],
        FileDef {
            download: Download::Sync,
            max_bytes: DEFAULT_FILE_MAX_BYTES
        }
    );
    let out = p.to_json();
    assert_eq!(Profile::from_json(&out).unwrap(), p, "round trip of {out}");
    assert_eq!(
        out["tables"]["workorders"]["files"]["report"],
        json!({ "download": "sync", "maxBytes": DEFAULT_FILE_MAX_BYTES })
    );
}

#[test]
fn the_largest_file_limit_is_four_gib() {
    let p = parse(json!({ "key": "id", "files": { "f": { "maxBytes": MAX_FILE_BYTES } } }));
    assert_eq!(p.table("workorders").unwrap().files["f"].max_bytes, 4 << 30);
}

#[test]
fn rejects_bad_selections_and_file_columns() {
    rejects(
        json!({ "key": "id", "columns": "title" }),
        "columns",
        "array of column names",
    );
    rejects(
        json!({ "key": "id", "columns": ["a", 1] }),
        "columns[1]",
        "column name",
    );
    rejects(
        json!({ "key": "id", "columns": ["a", "a"] }),
        "columns[1]",
        "listed twice",
    );
    rejects(
        json!({ "key": "id", "indexes": ["status"], "columns": ["title"] }),
        "indexes[0]",
        "'status' is not among the table's columns",
    );
    rejects(
        json!({ "key": "id", "columns": ["title"], "files": { "photo": {} } }),
        "files.photo",
        "not among the table's columns",
    );
    rejects(
        json!({ "key": "id", "files": [] }),
        "files",
        "must be an object",
    );
    rejects(
        json!({ "key": "id", "files": { "9x": {} } }),
        "files.9x",
        "not a valid column name",
    );
    rejects(
        json!({ "key": "id", "files": { "id": {} } }),
        "files.id",
        "key column",
    );
    rejects(
        json!({ "key": "id", "files": { "f": true } }),
        "files.f",
        "must be an object",
    );
    rejects(
        json!({ "key": "id", "files": { "f": { "download": "later" } } }),
        "files.f.download",
        "\"sync\" or \"view\"",
    );
    for bad in [json!(0), json!(1.5), json!("1"), json!(MAX_FILE_BYTES + 1)] {
        rejects(
            json!({ "key": "id", "files": { "f": { "maxBytes": bad } } }),
            "files.f.maxBytes",
            "integer from 1 to",
        );
    }
}
