//! Profile parsing and validation: the example profile, defaults, every rejection with
//! its code and the path it names, and the JSON round trip.

mod fuzz_support;

use fuzz_support::TABLE_FIELDS;
use offline_tables_core::profile::{Related, Window, DEFAULT_SYNC_INTERVAL_SECONDS};
use offline_tables_core::query::{parse_filter, CmpOp};
use offline_tables_core::{ConflictPolicy, ErrorCode, Filter, Profile, Scope};
use serde_json::{json, Value};

fn example() -> Value {
    json!({ "version": 1, "tables": {
      "accounts":   { "key": "id", "indexes": ["ownerId", "city"], "conflict": "merge",
                      "syncIntervalSeconds": 300, "scope": { "owner": "ownerId" } },
      "workorders": { "key": "id", "indexes": ["accountId", "status", "modifiedOn"], "conflict": "manual",
                      "scope": { "related": { "table": "accounts", "column": "accountId" },
                                 "modifiedWithinDays": { "column": "modifiedOn", "days": 30 } } },
      "products":   { "key": "id", "readOnly": true, "scope": "all" } } })
}

/// The example profile with `f` applied to its JSON.
fn with(f: impl FnOnce(&mut Value)) -> Value {
    let mut v = example();
    f(&mut v);
    v
}

/// Asserts that `v` is rejected as an invalid profile with a message that starts with
/// `profile.<path>: ` and contains `needle`.
#[track_caller]
fn rejects(v: Value, path: &str, needle: &str) {
    let e = match Profile::from_json(&v) {
        Ok(p) => panic!("expected {path} to be rejected, parsed {p:?}"),
        Err(e) => e,
    };
    assert_eq!(e.code, ErrorCode::InvalidProfile, "{e}");
    let prefix = format!("profile.{path}: ");
    assert!(
        e.message.starts_with(&prefix),
        "message should start with {prefix:?}: {:?}",
        e.message
    );
    assert!(
        e.message.contains(needle),
        "message should contain {needle:?}: {:?}",
        e.message
    );
}

#[test]
fn example_profile_parses_with_defaults() {
    let p = Profile::from_json(&example()).unwrap();
    assert_eq!(p.version, 1);
    assert_eq!(
        p.tables.keys().collect::<Vec<_>>(),
        ["accounts", "products", "workorders"]
    );

    let a = p.table("accounts").unwrap();
    assert_eq!(a.key, "id");
    assert_eq!(a.indexes, ["ownerId", "city"]);
    assert_eq!(a.conflict, ConflictPolicy::Merge);
    assert_eq!(a.sync_interval_seconds, 300);
    assert!(!a.read_only);
    assert_eq!(
        a.scope,
        Scope::Where {
            owner: Some("ownerId".into()),
            related: None,
            modified_within_days: None,
            filter: None,
            any_of: None,
        }
    );

    let w = p.table("workorders").unwrap();
    assert_eq!(w.indexes, ["accountId", "status", "modifiedOn"]);
    assert_eq!(w.conflict, ConflictPolicy::Manual);
    assert_eq!(w.sync_interval_seconds, DEFAULT_SYNC_INTERVAL_SECONDS);
    assert_eq!(DEFAULT_SYNC_INTERVAL_SECONDS, 300);
    assert!(!w.read_only);
    assert_eq!(
        w.scope,
        Scope::Where {
            owner: None,
            related: Some(Related {
                table: "accounts".into(),
                column: "accountId".into()
            }),
            modified_within_days: Some(Window {
                column: "modifiedOn".into(),
                days: 30
            }),
            filter: None,
            any_of: None,
        }
    );

    let pr = p.table("products").unwrap();
    assert!(pr.read_only);
    assert!(pr.indexes.is_empty());
    assert_eq!(pr.conflict, ConflictPolicy::ServerWins);
    assert_eq!(pr.scope, Scope::All);
}

#[test]
fn minimal_table_takes_every_default() {
    let p =
        Profile::from_json(&json!({ "version": 7, "tables": { "t": { "key": "k" } } })).unwrap();
    assert_eq!(p.version, 7);
    let t = p.table("t").unwrap();
    assert_eq!(t.conflict, ConflictPolicy::ServerWins);
    assert_eq!(t.sync_interval_seconds, 300);
    assert!(!t.read_only);
    assert_eq!(t.scope, Scope::All);
    assert!(t.indexes.is_empty());
    // Explicit nulls mean "default" too.
    let p2 = Profile::from_json(&json!({ "version": 7, "tables": { "t": {
        "key": "k", "indexes": null, "conflict": null, "syncIntervalSeconds": null,
        "readOnly": null, "scope": null } } }))
    .unwrap();
    assert_eq!(p, p2);
}

#[test]
fn every_conflict_policy_parses() {
    for (name, policy) in [
        ("server-wins", ConflictPolicy::ServerWins),
        ("client-wins", ConflictPolicy::ClientWins),
        ("merge", ConflictPolicy::Merge),
        ("manual", ConflictPolicy::Manual),
    ] {
        let p = Profile::from_json(&with(|v| v["tables"]["products"]["conflict"] = json!(name)))
            .unwrap();
        assert_eq!(p.tables["products"].conflict, policy);
        assert_eq!(policy.as_str(), name);
    }
}

#[test]
fn from_json_str_parses_and_reports_bad_json() {
    let p = Profile::from_json_str(&example().to_string()).unwrap();
    assert_eq!(p, Profile::from_json(&example()).unwrap());
    let e = Profile::from_json_str("{ \"version\": 1, ").unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidProfile);
    assert!(e.message.starts_with("profile is not valid JSON"), "{e}");
    let e = Profile::from_json_str("[1]").unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidProfile);
    assert_eq!(e.message, "profile must be an object, got an array");
}

#[test]
fn unknown_table_lookup_is_its_own_code() {
    let p = Profile::from_json(&example()).unwrap();
    let e = p.table("invoices").unwrap_err();
    assert_eq!(e.code, ErrorCode::UnknownTable);
    assert!(e.message.contains("'invoices'"), "{e}");
}

#[test]
fn rejects_bad_relations() {
    rejects(
        with(|v| v["tables"]["workorders"]["scope"]["related"]["table"] = json!("customers")),
        "tables.workorders.scope.related.table",
        "unknown table 'customers'",
    );
    rejects(
        with(|v| v["tables"]["workorders"]["scope"]["related"]["table"] = json!("workorders")),
        "tables.workorders.scope.related.table",
        "itself",
    );
    rejects(
        with(|v| v["tables"]["workorders"]["scope"]["related"]["table"] = json!(3)),
        "tables.workorders.scope.related.table",
        "must be a table name",
    );
    rejects(
        with(|v| v["tables"]["workorders"]["scope"]["related"] = json!("accounts")),
        "tables.workorders.scope.related",
        "{ table, column }",
    );
    rejects(
        with(|v| v["tables"]["workorders"]["scope"]["related"]["column"] = json!("account id")),
        "tables.workorders.scope.related.column",
        "'account id' is not a valid column name",
    );
    // Inside anyOf, the path says which alternative.
    rejects(
        with(|v| {
            v["tables"]["workorders"]["scope"] = json!({ "anyOf": [
                { "owner": "ownerId" },
                { "related": { "table": "nope", "column": "accountId" } } ] })
        }),
        "tables.workorders.scope.anyOf[1].related.table",
        "unknown table 'nope'",
    );
}

#[test]
fn rejects_related_cycles() {
    // a -> b -> a
    let v = json!({ "version": 1, "tables": {
        "a": { "key": "id", "scope": { "related": { "table": "b", "column": "bId" } } },
        "b": { "key": "id", "scope": { "related": { "table": "a", "column": "aId" } } } } });
    rejects(v, "tables.b.scope.related.table", "cycle: a -> b -> a");

    // a -> b -> c -> a, the closing edge inside anyOf
    let v = json!({ "version": 1, "tables": {
        "a": { "key": "id", "scope": { "related": { "table": "b", "column": "bId" } } },
        "b": { "key": "id", "scope": { "related": { "table": "c", "column": "cId" } } },
        "c": { "key": "id", "scope": { "anyOf": [ { "owner": "o" },
               { "related": { "table": "a", "column": "aId" } } ] } } } });
    rejects(
        v,
        "tables.c.scope.anyOf[1].related.table",
        "cycle: a -> b -> c -> a",
    );

    // A diamond is not a cycle.
    let v = json!({ "version": 1, "tables": {
        "a": { "key": "id", "scope": { "anyOf": [
               { "related": { "table": "b", "column": "bId" } },
               { "related": { "table": "c", "column": "cId" } } ] } },
        "b": { "key": "id", "scope": { "related": { "table": "c", "column": "cId" } } },
        "c": { "key": "id" } } });
    Profile::from_json(&v).unwrap();
}

#[test]
fn rejects_bad_indexes_and_keys() {
    rejects(
        with(|v| v["tables"]["accounts"]["indexes"] = json!(["ownerId", "id"])),
        "tables.accounts.indexes[1]",
        "'id' is the key column",
    );
    rejects(
        with(|v| v["tables"]["accounts"]["indexes"] = json!(["city", "ownerId", "city"])),
        "tables.accounts.indexes[2]",
        "'city' is listed twice",
    );
    rejects(
        with(|v| v["tables"]["accounts"]["indexes"] = json!(["city", "2nd"])),
        "tables.accounts.indexes[1]",
        "'2nd' is not a valid column name",
    );
    rejects(
        with(|v| v["tables"]["accounts"]["indexes"] = json!(["city", 5])),
        "tables.accounts.indexes[1]",
        "must be a column name, got a number",
    );
    rejects(
        with(|v| v["tables"]["accounts"]["indexes"] = json!("city")),
        "tables.accounts.indexes",
        "must be an array",
    );
    rejects(
        with(|v| {
            v["tables"]["products"]
                .as_object_mut()
                .unwrap()
                .remove("key");
        }),
        "tables.products.key",
        "must be a column name, got null",
    );
    rejects(
        with(|v| v["tables"]["products"]["key"] = json!("")),
        "tables.products.key",
        "'' is not a valid column name",
    );
    rejects(
        with(|v| v["tables"]["products"]["key"] = json!("product.id")),
        "tables.products.key",
        "'product.id' is not a valid column name",
    );
    rejects(
        with(|v| v["tables"]["products"]["key"] = json!("é")),
        "tables.products.key",
        "not a valid column name",
    );
}

#[test]
fn rejects_bad_conflict_version_and_interval() {
    rejects(
        with(|v| v["tables"]["accounts"]["conflict"] = json!("last-write-wins")),
        "tables.accounts.conflict",
        "unknown policy 'last-write-wins'",
    );
    rejects(
        with(|v| v["tables"]["accounts"]["conflict"] = json!(true)),
        "tables.accounts.conflict",
        "must be a string",
    );
    for bad in [
        json!(0),
        json!(-1),
        json!(1.5),
        json!("1"),
        json!(1_000_001),
        json!(null),
    ] {
        rejects(
            with(|v| v["version"] = bad.clone()),
            "version",
            "must be an integer from 1 to 1000000",
        );
    }
    rejects(
        with(|v| {
            v.as_object_mut().unwrap().remove("version");
        }),
        "version",
        "got null",
    );
    for bad in [
        json!(4),
        json!(604_801),
        json!(30.5),
        json!("300"),
        json!(-300),
    ] {
        rejects(
            with(|v| v["tables"]["accounts"]["syncIntervalSeconds"] = bad.clone()),
            "tables.accounts.syncIntervalSeconds",
            "must be an integer from 5 to 604800",
        );
    }
    // The bounds themselves are fine, and an integral float is an integer.
    for ok in [json!(5), json!(604_800), json!(60.0)] {
        let p = Profile::from_json(&with(|v| {
            v["tables"]["accounts"]["syncIntervalSeconds"] = ok.clone()
        }))
        .unwrap();
        assert_eq!(
            p.tables["accounts"].sync_interval_seconds as f64,
            ok.as_f64().unwrap()
        );
    }
    assert_eq!(
        Profile::from_json(&with(|v| v["version"] = json!(1_000_000)))
            .unwrap()
            .version,
        1_000_000
    );
    rejects(
        with(|v| v["tables"]["products"]["readOnly"] = json!("yes")),
        "tables.products.readOnly",
        "must be true or false",
    );
}

#[test]
fn rejects_bad_table_names_and_shapes() {
    for bad in ["", "_outbox", "1table", "my table", "a.b", "ünï"] {
        let v = json!({ "version": 1, "tables": { bad: { "key": "id" } } });
        rejects(
            v,
            &format!("tables.{bad}"),
            "a table name starts with a letter",
        );
    }
    let long = "t".repeat(65);
    rejects(
        json!({ "version": 1, "tables": { long.clone(): { "key": "id" } } }),
        &format!("tables.{long}"),
        "at most 64",
    );
    for ok in ["a", "work-orders", "t_2", &"t".repeat(64)] {
        Profile::from_json(&json!({ "version": 1, "tables": { ok: { "key": "id" } } })).unwrap();
    }
    rejects(json!({ "version": 1 }), "tables", "must be an object");
    rejects(
        json!({ "version": 1, "tables": [] }),
        "tables",
        "must be an object",
    );
    rejects(
        json!({ "version": 1, "tables": {} }),
        "tables",
        "at least one table",
    );
    rejects(
        json!({ "version": 1, "tables": { "t": ["id"] } }),
        "tables.t",
        "must be an object, got an array",
    );
}

#[test]
fn rejects_bad_scopes() {
    let scope = |s: Value| with(|v| v["tables"]["accounts"]["scope"] = s);
    rejects(
        scope(json!({})),
        "tables.accounts.scope",
        "has no conditions",
    );
    rejects(
        scope(json!("none")),
        "tables.accounts.scope",
        "must be \"all\"",
    );
    rejects(
        scope(json!(["all"])),
        "tables.accounts.scope",
        "must be \"all\"",
    );
    rejects(
        scope(json!({ "owner": "ownerId", "team": "teamId" })),
        "tables.accounts.scope.team",
        "unknown scope condition 'team'",
    );
    rejects(
        scope(json!({ "owner": "owner id" })),
        "tables.accounts.scope.owner",
        "not a valid column name",
    );
    rejects(
        scope(json!({ "filter": "city eq" })),
        "tables.accounts.scope.filter",
        "$filter: expected a value",
    );
    rejects(
        scope(json!({ "filter": "city like 'x'" })),
        "tables.accounts.scope.filter",
        "expected an operator",
    );
    rejects(
        scope(json!({ "filter": "name eq 'x" })),
        "tables.accounts.scope.filter",
        "unterminated string",
    );
    rejects(
        scope(json!({ "filter": 3 })),
        "tables.accounts.scope.filter",
        "must be an OData $filter string",
    );
    rejects(
        scope(json!({ "anyOf": [] })),
        "tables.accounts.scope.anyOf",
        "non-empty array",
    );
    rejects(
        scope(json!({ "anyOf": { "owner": "ownerId" } })),
        "tables.accounts.scope.anyOf",
        "non-empty array",
    );
    rejects(
        scope(json!({ "anyOf": [ { "owner": "ownerId" }, {} ] })),
        "tables.accounts.scope.anyOf[1]",
        "has no conditions",
    );
    rejects(
        scope(json!({ "anyOf": [ { "anyOf": [ { "colour": "x" } ] } ] })),
        "tables.accounts.scope.anyOf[0].anyOf[0].colour",
        "unknown scope condition 'colour'",
    );
    for bad in [
        json!(0),
        json!(36_501),
        json!(1.5),
        json!("30"),
        json!(null),
    ] {
        rejects(
            scope(json!({ "modifiedWithinDays": { "column": "modifiedOn", "days": bad } })),
            "tables.accounts.scope.modifiedWithinDays.days",
            "must be an integer from 1 to 36500",
        );
    }
    rejects(
        scope(json!({ "modifiedWithinDays": { "days": 3 } })),
        "tables.accounts.scope.modifiedWithinDays.column",
        "must be a column name, got null",
    );
    rejects(
        scope(json!({ "modifiedWithinDays": 30 })),
        "tables.accounts.scope.modifiedWithinDays",
        "{ column, days }",
    );
}

#[test]
fn scope_filter_and_any_of_parse() {
    let p = Profile::from_json(&with(|v| {
        v["tables"]["accounts"]["scope"] = json!({
            "filter": "status eq 'open' and priority ge 2",
            "anyOf": [ { "owner": "ownerId" }, "all",
                       { "modifiedWithinDays": { "column": "modifiedOn", "days": 36500 } } ] })
    }))
    .unwrap();
    let Scope::Where { filter, any_of, .. } = &p.tables["accounts"].scope else {
        panic!("expected a Where scope");
    };
    let (text, f) = filter.as_ref().unwrap();
    assert_eq!(text, "status eq 'open' and priority ge 2");
    assert_eq!(
        *f,
        Filter::And(vec![
            Filter::Cmp {
                column: "status".into(),
                op: CmpOp::Eq,
                value: json!("open")
            },
            Filter::Cmp {
                column: "priority".into(),
                op: CmpOp::Gte,
                value: json!(2)
            },
        ])
    );
    assert_eq!(*f, parse_filter(text).unwrap());
    let any_of = any_of.as_ref().unwrap();
    assert_eq!(any_of.len(), 3);
    assert_eq!(any_of[1], Scope::All);
}

#[test]
fn to_json_round_trips() {
    let cases = [
        example(),
        json!({ "version": 42, "tables": { "t": { "key": "k" } } }),
        with(|v| {
            v["tables"]["accounts"]["scope"] = json!({
                "owner": "ownerId",
                "filter": "not (city eq 'O''Brien' or startswith(name,'x')) and n in (1, -2.5, 'a')",
                "anyOf": [ "all", { "anyOf": [ { "owner": "a" }, { "related": {
                    "table": "products", "column": "productId" } } ] } ] });
            v["tables"]["products"]["conflict"] = json!("client-wins");
            v["tables"]["products"]["syncIntervalSeconds"] = json!(5);
        }),
    ];
    for v in cases {
        let p = Profile::from_json(&v).unwrap();
        let out = p.to_json();
        let again = Profile::from_json(&out).unwrap();
        assert_eq!(again, p, "round trip of {out}");
        // And through text, as it is stored.
        assert_eq!(Profile::from_json_str(&out.to_string()).unwrap(), p);
        // to_json spells every default out.
        for t in out["tables"].as_object().unwrap().values() {
            for field in TABLE_FIELDS {
                assert!(t.get(field).is_some(), "{field} missing from {t}");
            }
        }
    }
    let out = Profile::from_json(&example()).unwrap().to_json();
    assert_eq!(
        out["tables"]["products"],
        json!({ "key": "id", "indexes": [], "conflict": "server-wins",
                "syncIntervalSeconds": 300, "readOnly": true, "scope": "all" })
    );
    assert_eq!(
        out["tables"]["workorders"]["scope"],
        json!({ "related": { "table": "accounts", "column": "accountId" },
                "modifiedWithinDays": { "column": "modifiedOn", "days": 30 } })
    );
}

#[test]
fn unknown_fields_are_ignored() {
    let p = Profile::from_json(&with(|v| {
        v["generatedBy"] = json!("server 2.0");
        v["tables"]["products"]["description"] = json!("catalogue");
    }))
    .unwrap();
    assert_eq!(p, Profile::from_json(&example()).unwrap());
}
