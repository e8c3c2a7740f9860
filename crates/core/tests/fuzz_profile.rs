//! Property tests of the offline profile parser (`Profile::from_json_str`,
//! `Profile::from_json`) and of scope evaluation over the profiles it accepts: no input
//! panics, every refusal is a clean `invalid_profile`, and an accepted profile survives
//! `to_json` and parses back to itself.
//!
//! Cases per property: `PROPTEST_CASES` (default 500). The count of each property is
//! printed with `cargo test -p offline-tables-core --test fuzz_profile -- --nocapture`.

mod fuzz_support;

use fuzz_support::*;
use offline_tables_core::scope::{timestamp_ms, Caller, ScopeContext};
use offline_tables_core::{ErrorCode, Profile};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Map, Value};

const CASES: u32 = 500;

fn demo_profile() -> Value {
    let path = format!(
        "{}/../../tests/fixtures/profile.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect(&path)
}

/// Every kind of scope condition, nested.
fn rich_profile() -> Value {
    json!({ "version": 3, "tables": {
        "accounts": { "key": "id", "indexes": ["ownerId"], "scope": { "anyOf": [
            { "owner": "ownerId" },
            { "filter": "shared eq true and (region in ('EU', 'US') or not startswith(name, 'X'))" } ] } },
        "orders": { "key": "no", "conflict": "manual", "syncIntervalSeconds": 60, "scope": {
            "related": { "table": "accounts", "column": "accountId" },
            "modifiedWithinDays": { "column": "changed", "days": 7 } } },
        "lines": { "key": "id", "readOnly": true, "scope": { "anyOf": [
            { "related": { "table": "orders", "column": "orderNo" } }, "all" ] } },
        "products": { "key": "sku", "scope": "all" } } })
}

fn check_profile(p: &Profile) -> Result<(), TestCaseError> {
    // What a server serves (`to_json`) is what a client parses back.
    let again = Profile::from_json(&p.to_json())
        .map_err(|e| TestCaseError::fail(format!("to_json does not parse back: {e}")))?;
    prop_assert_eq!(&again, p);
    let text = p.to_json().to_string();
    let from_text = Profile::from_json_str(&text).ok();
    prop_assert_eq!(from_text.as_ref(), Some(p));
    Ok(())
}

fn check_outcome(r: offline_tables_core::Result<Profile>) -> Result<(), TestCaseError> {
    match r {
        Ok(p) => check_profile(&p),
        Err(e) => {
            prop_assert_eq!(e.code, ErrorCode::InvalidProfile, "{}", e.message);
            prop_assert!(e.message.starts_with("profile"), "{}", e.message);
            Ok(())
        }
    }
}

fn examples() -> impl Strategy<Value = Value> {
    prop_oneof![Just(demo_profile()), Just(rich_profile())]
}

#[test]
fn profile_text_parses_or_fails_cleanly() {
    let strategy = prop_oneof![
        any::<String>().prop_map(String::into_bytes),
        json_bytes((examples(), edits()).prop_map(|(doc, e)| mutate(doc, &e))),
    ];
    check("fuzz_profile::text", CASES, strategy, |bytes| {
        let text = String::from_utf8_lossy(&bytes);
        check_outcome(Profile::from_json_str(&text))
    });
}

#[test]
fn mutated_profiles_parse_or_fail_cleanly_and_round_trip() {
    let strategy = (examples(), edits()).prop_map(|(doc, e)| mutate(doc, &e));
    check("fuzz_profile::mutated", CASES, strategy, |v| {
        check_outcome(Profile::from_json(&v))
    });
}

#[test]
fn random_json_profiles_parse_or_fail_cleanly() {
    // Random values under the right top-level shape, so tables and scopes get reached.
    let table = json_value().prop_map(|scope| json!({ "key": "id", "scope": scope }));
    let strategy = prop_oneof![
        json_value(),
        prop::collection::vec((json_key(), table), 1..4).prop_map(|ts| {
            json!({ "version": 1, "tables": ts.into_iter().collect::<Map<_, _>>() })
        }),
    ];
    check("fuzz_profile::random", CASES, strategy, |v| {
        check_outcome(Profile::from_json(&v))
    });
}

#[test]
fn scopes_of_accepted_profiles_evaluate_any_row() {
    let row = prop::collection::vec(
        (
            prop::sample::select(vec![
                "id", "ownerId", "shared", "region", "name", "accountId", "changed", "orderNo",
            ])
            .prop_map(str::to_string),
            prop_oneof![
                json_value(),
                "[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?"
                    .prop_map(Value::String),
            ],
        ),
        0..8,
    )
    .prop_map(|kv| kv.into_iter().collect::<Map<_, _>>());
    // Now is the server's clock: any time from 1970 to year 2286.
    let strategy = (
        (examples(), edits()).prop_map(|(d, e)| mutate(d, &e)),
        row,
        0i64..10_000_000_000_000,
    );
    check(
        "fuzz_profile::scope_evaluation",
        CASES,
        strategy,
        |(doc, row, now)| {
            let Ok(p) = Profile::from_json(&doc) else {
                return Ok(());
            };
            let yes = |_: &str, _: &Value| true;
            let no = |_: &str, _: &Value| false;
            let alice = Caller::user("alice");
            for def in p.tables.values() {
                let ctx_yes = ScopeContext {
                    caller: &alice,
                    now_ms: now,
                    parent_in_scope: &yes,
                };
                let ctx_no = ScopeContext {
                    caller: &alice,
                    now_ms: now,
                    parent_in_scope: &no,
                };
                let with_parents = def.scope.matches(&row, &ctx_yes);
                let without = def.scope.matches(&row, &ctx_no);
                // A parent in scope can only let more rows in (scopes are monotone in it).
                prop_assert!(with_parents || !without);
                let _ = def.scope.columns();
            }
            Ok(())
        },
    );
}

#[test]
fn timestamps_parse_or_are_none_without_panicking() {
    let strategy = prop_oneof![
        any::<String>(),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,12})?)?([Zz]|[+-][0-9]{2}:[0-9]{2})?)?.{0,2}",
        "[0-9é-]{4,10}[T:]{0,2}[0-9é:.+-]{0,12}",
    ];
    check("fuzz_profile::timestamps", CASES, strategy, |s| {
        if let Some(ms) = timestamp_ms(&Value::String(s.clone())) {
            // Four-digit years only: the result stays within years 0..=9999 (± a day).
            prop_assert!(
                (-62_200_000_000_000..=253_500_000_000_000).contains(&ms),
                "{s}: {ms}"
            );
        }
        Ok(())
    });
}

/// Regressions: the parser's limits hold on hostile profiles.
#[test]
fn deeply_nested_and_huge_profiles_are_clean_errors() {
    // JSON nested past serde_json's limit: an error, not a stack overflow.
    let e = Profile::from_json_str(&"[".repeat(100_000)).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidProfile);
    let deep_scope = format!(
        r#"{{"version":1,"tables":{{"t":{{"key":"id","scope":{}"all"{}}}}}}}"#,
        r#"{"anyOf":["#.repeat(50_000),
        "]}".repeat(50_000)
    );
    assert_eq!(
        Profile::from_json_str(&deep_scope).unwrap_err().code,
        ErrorCode::InvalidProfile
    );
    // A filter nested past the parser's bound: refused with the path of the scope.
    let filter = format!("{}a eq 1{}", "(".repeat(10_000), ")".repeat(10_000));
    let e = Profile::from_json(&json!({ "version": 1, "tables": { "t": { "key": "id",
        "scope": { "filter": filter } } } }))
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidProfile);
    assert!(
        e.message
            .starts_with("profile.tables.t.scope.filter: $filter: nested"),
        "{}",
        e.message
    );
}
