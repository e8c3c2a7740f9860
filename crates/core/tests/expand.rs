//! `$expand` (core `expand`, protocol.md §8): navigation names, the grammar of the option
//! and its refusals, the keys a page looks up and the values rows get; and properties:
//! no input panics or fails other than with a clean 400, and every well-formed `$expand`
//! printed from a random choice of lookups parses back to that choice.
//!
//! Cases per property: `PROPTEST_CASES` (default 500).

mod fuzz_support;

use fuzz_support::check;
use offline_tables_core::expand::{self, navigation_name, Expand};
use offline_tables_core::rest::listing;
use offline_tables_core::{ErrorCode, Key, Profile};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn profile() -> Profile {
    Profile::from_json(&json!({ "version": 1, "tables": {
        "accounts": { "key": "id", "scope": { "owner": "ownerId" } },
        "contacts": { "key": "cid", "columns": ["name", "phone"], "scope": "all" },
        "workorders": { "key": "id",
            "references": { "contactId": "contacts", "site": "accounts" },
            "scope": { "anyOf": [
                { "related": { "table": "accounts", "column": "accountId" } },
                { "related": { "table": "accounts", "column": "billing_account_id" } } ] } } } }))
    .unwrap()
}

fn refusal(value: &str) -> String {
    let e = expand::parse(value, &profile(), "workorders").unwrap_err();
    assert_eq!(
        (e.http_status(), e.code),
        (400, ErrorCode::InvalidArgument),
        "{value}"
    );
    e.message
}

#[test]
fn navigation_names_drop_the_id_suffix() {
    for (col, name) in [
        ("accountId", Some("account")),
        ("account_id", Some("account")),
        ("accountID", Some("account")),
        ("billing_account_id", Some("billing_account")),
        ("Id", None),
        ("_id", None),
        ("a__id", None),
        ("site", None),
        ("identity", None),
    ] {
        assert_eq!(navigation_name(col), name, "{col}");
    }
    // `references` first, then `related` columns; a column without the suffix is no navigation.
    let names: Vec<_> = expand::navigations(&profile(), "workorders")
        .into_iter()
        .map(|(n, c, t)| format!("{n}={c}>{t}"))
        .collect();
    assert_eq!(
        names,
        [
            "contact=contactId>contacts",
            "account=accountId>accounts",
            "billing_account=billing_account_id>accounts"
        ]
    );
}

#[test]
fn expand_items_select_and_refusals() {
    let p = profile();
    let got = expand::parse(" account ,contact($select=phone,cid)", &p, "workorders").unwrap();
    assert_eq!(
        got,
        [
            Expand {
                name: "account".into(),
                column: "accountId".into(),
                table: "accounts".into(),
                select: None
            },
            Expand {
                name: "contact".into(),
                column: "contactId".into(),
                table: "contacts".into(),
                // The related key first, once.
                select: Some(vec!["cid".into(), "phone".into()]),
            },
        ]
    );
    assert!(refusal("site")
        .contains("the lookups of 'workorders' are contact, account, billing_account"));
    assert!(refusal("*").contains("name each lookup"));
    assert!(refusal("account/owner").contains("name each lookup"));
    assert!(refusal("account($top=1)").contains("only $select"));
    assert!(refusal("account($select=id;$expand=x)").contains("only $select"));
    assert!(refusal("account($select=id").contains("not closed"));
    assert!(refusal("account)").contains("closes nothing"));
    assert!(refusal("account($select=id)x").contains("text after"));
    assert!(refusal("account,,contact").contains("empty"));
    assert!(refusal("account,account").contains("given twice"));
    assert!(refusal("contact($select=email)")
        .contains("column 'email' is not among the columns of 'contacts'"));
    let e = expand::parse("x", &p, "accounts").unwrap_err();
    assert!(
        e.message.contains("'accounts' has no lookups to expand"),
        "{}",
        e.message
    );
    // Through the REST query string: decoded, once, after the query's own checks.
    let (q, ex) = listing(
        Some("$top=2&%24expand=contact(%24select%3Dname)"),
        &p,
        "workorders",
    )
    .unwrap();
    assert_eq!((q.limit, ex.len()), (Some(2), 1));
    let e = listing(Some("$expand=account&$expand=contact"), &p, "workorders").unwrap_err();
    assert!(
        e.message.contains("$expand is given twice"),
        "{}",
        e.message
    );
    let e = listing(Some("$top=x&$expand=nope"), &p, "workorders").unwrap_err();
    assert!(
        e.message.starts_with("$top"),
        "the query's errors come first: {}",
        e.message
    );
}

#[test]
fn pages_look_up_each_key_once_and_rows_get_the_related_row_or_null() {
    let rows: Vec<Map<String, Value>> = [
        json!({ "id": 1, "accountId": "a1" }),
        json!({ "id": 2, "accountId": 7 }),
        json!({ "id": 3, "accountId": "a1" }),
        json!({ "id": 4, "accountId": null }),
        json!({ "id": 5, "accountId": true }),
        json!({ "id": 6 }),
    ]
    .into_iter()
    .map(|v| v.as_object().unwrap().clone())
    .collect();
    assert_eq!(
        expand::keys(&rows, "accountId"),
        [Key::Str("a1".into()), Key::Num(7.0)]
    );
    let e = Expand {
        name: "account".into(),
        column: "accountId".into(),
        table: "accounts".into(),
        select: Some(vec!["id".into(), "name".into()]),
    };
    let related = json!({ "id": "a1", "name": "A", "city": "P" });
    assert_eq!(
        expand::value(related.as_object(), &e),
        json!({ "id": "a1", "name": "A" })
    );
    assert_eq!(expand::value(None, &e), Value::Null);
    let all = Expand { select: None, ..e };
    assert_eq!(expand::value(related.as_object(), &all), related);
}

#[test]
fn any_expand_text_parses_or_fails_with_400() {
    let strategy = prop_oneof![
        any::<String>(),
        "[a-z_*/ ]{0,12}(\\(([$a-z=,;() ]{0,16})\\)?)?(,[a-zA-Z_]{0,10}(\\([$a-z=,]{0,12}\\))?){0,3}",
    ];
    check("expand::any_text", 500, strategy, |text| {
        match expand::parse(&text, &profile(), "workorders") {
            Ok(items) => {
                let names: Vec<&str> = items.iter().map(|e| e.name.as_str()).collect();
                prop_assert!(names
                    .iter()
                    .all(|n| ["contact", "account", "billing_account"].contains(n)));
            }
            Err(e) => {
                prop_assert_eq!(
                    (e.http_status(), e.code),
                    (400, ErrorCode::InvalidArgument),
                    "{:?}",
                    text
                );
                prop_assert!(e.message.starts_with("$expand"), "{}", e.message);
            }
        }
        Ok(())
    });
}

#[test]
fn printed_choices_of_lookups_parse_back() {
    let navs = ["contact", "account", "billing_account"];
    let cols = prop::sample::subsequence(vec!["name", "phone", "cid"], 0..=3);
    let item = (
        prop::sample::select(navs.to_vec()),
        prop::option::of(cols),
        any::<bool>(),
    );
    let strategy = prop::collection::vec(item, 1..4);
    check("expand::round_trip", 500, strategy, |choice| {
        let mut seen = Vec::new();
        let mut parts = Vec::new();
        let mut want = Vec::new();
        for (name, select, spaced) in choice {
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
            let (column, table, key) = match name {
                "contact" => ("contactId", "contacts", "cid"),
                "account" => ("accountId", "accounts", "id"),
                _ => ("billing_account_id", "accounts", "id"),
            };
            // accounts selects every column; contacts only name and phone (and its key).
            let select = select.filter(|c| !c.is_empty()).map(|c| {
                c.into_iter()
                    .map(|c| {
                        if table == "accounts" && c == "cid" {
                            "id"
                        } else {
                            c
                        }
                    })
                    .collect::<Vec<_>>()
            });
            parts.push(match &select {
                Some(c) => format!(
                    "{name}($select={})",
                    c.join(if spaced { ", " } else { "," })
                ),
                None if spaced => format!(" {name} "),
                None => name.to_string(),
            });
            let select = select.map(|c| {
                let mut out = vec![key.to_string()];
                out.extend(c.into_iter().filter(|x| *x != key).map(str::to_string));
                out
            });
            want.push(Expand {
                name: name.into(),
                column: column.into(),
                table: table.into(),
                select,
            });
        }
        let text = parts.join(",");
        let got = expand::parse(&text, &profile(), "workorders");
        prop_assert_eq!(got.as_ref().ok(), Some(&want), "{:?}: {:?}", text, got);
        Ok(())
    });
}
