//! Seed dates that do not age: a seed's `$anchor` moves every RFC 3339 date-time in its
//! rows by (now − anchor), in the format it was written in; the fixture seed loads as
//! written at the tests' fixed "now" and keeps its meaning at any later date. (The binary,
//! on the real clock, is checked in `binary.rs`.)

mod common;

use common::*;
use offline_tables_core::ErrorCode;
use offline_tables_server::seed::{shift_timestamp, tables_at};
use serde_json::json;

#[test]
fn timestamps_move_and_keep_their_format() {
    let cases = [
        ("2026-11-20T20:02:33Z", 10 * DAY, "2026-11-30T20:02:33Z"),
        ("2026-03-01T00:00:00Z", -DAY, "2026-02-28T00:00:00Z"),
        (
            "2026-11-20T20:02:33.250Z",
            1_500,
            "2026-11-20T20:02:34.750Z",
        ),
        ("2026-11-20T20:02:33.5Z", 250, "2026-11-20T20:02:33.7Z"),
        (
            "2026-11-20T23:30:00+02:00",
            3_600_000,
            "2026-11-21T00:30:00+02:00",
        ),
        ("2026-11-20t20:02:33z", DAY, "2026-11-21t20:02:33z"),
        // Seconds precision stays seconds precision.
        ("2026-11-20T20:02:33Z", 999, "2026-11-20T20:02:33Z"),
        ("2026-12-31T23:59:59Z", 1_000, "2027-01-01T00:00:00Z"),
    ];
    for (text, delta, expected) in cases {
        assert_eq!(
            shift_timestamp(text, delta).as_deref(),
            Some(expected),
            "{text} + {delta} ms"
        );
    }
    for not_a_timestamp in [
        "2026-06-01",
        "hello",
        "2026-13-01T00:00:00Z",
        "2026-11-20T20:02:33",
        "2026-11-20T20:02:33+0200",
        "",
    ] {
        assert_eq!(
            shift_timestamp(not_a_timestamp, DAY),
            None,
            "{not_a_timestamp}"
        );
    }
}

#[test]
fn an_anchored_seed_moves_its_dates_to_now_and_only_its_dates() {
    let seed = json!({
        "$anchor": "2026-11-25T00:00:00Z",
        "t": [ { "id": "2026-11-20T00:00:00Z", "n": 5, "date": "2026-11-20",
                 "at": "2026-11-20T08:00:00Z", "nested": { "list": ["2026-11-01T00:00:00Z", "x"] } } ]
    });
    // At the anchor: as written, without the anchor entry.
    let same = tables_at(&seed, NOW).unwrap();
    assert_eq!(json!(same), json!({ "t": seed["t"].clone() }));
    // Ten days later: every date-time string moved by ten days, at any depth.
    let later = tables_at(&seed, NOW + 10 * DAY).unwrap();
    assert_eq!(
        json!(later),
        json!({ "t": [ { "id": "2026-11-30T00:00:00Z", "n": 5, "date": "2026-11-20",
                         "at": "2026-11-30T08:00:00Z",
                         "nested": { "list": ["2026-11-11T00:00:00Z", "x"] } } ] })
    );
    // No anchor: nothing moves.
    let plain = json!({ "t": [ { "at": "2026-11-20T08:00:00Z" } ] });
    assert_eq!(json!(tables_at(&plain, NOW + 10 * DAY).unwrap()), plain);

    // Tables stay in file order (rows are seeded, and get versions, in it).
    let order = json!({ "$anchor": "2026-11-25T00:00:00Z", "b": [], "a": [], "c": [] });
    let keys: Vec<String> = tables_at(&order, NOW).unwrap().keys().cloned().collect();
    assert_eq!(keys, ["b", "a", "c"]);

    for bad in [
        json!({ "$anchor": "yesterday" }),
        json!({ "$anchor": 1 }),
        json!([]),
    ] {
        let e = tables_at(&bad, NOW).unwrap_err().0;
        assert_eq!(e.code, ErrorCode::InvalidArgument, "{bad}: {}", e.message);
    }
}

#[tokio::test]
async fn the_fixture_seed_loads_as_written_at_the_tests_now() {
    let ctx = Ctx::demo(Kind::Sqlite).await;
    let seed = demo_seed();
    assert_eq!(seed["$anchor"], json!("2026-11-25T00:00:00Z"));
    let rows = ctx.server_rows("workorders").await;
    assert_eq!(rows.len(), seed["workorders"].as_array().unwrap().len());
    for w in seed["workorders"].as_array().unwrap() {
        let id = w["id"].as_str().unwrap();
        assert_eq!(rows[id].1, *w, "{id} is loaded as written");
    }
}

#[tokio::test]
async fn seeded_later_the_same_rows_are_in_the_time_window() {
    // Alice's work orders seeded on the tests' day, and on a server whose clock is a
    // year later: the same ones are recent.
    let mut seen = Vec::new();
    for later in [0, 365 * DAY] {
        let ctx = Ctx::new(Kind::Sqlite, demo_profile(), 2 * 1024 * 1024).await;
        ctx.advance(later);
        ctx.seed(&demo_seed()).await;
        let alice = Replica::synced(&ctx, ALICE, "alice-1").await;
        seen.push(alice.keys("workorders"));
        let (_, w2) = alice.row("workorders", "w2").unwrap();
        let expected = shift_timestamp("2026-11-20T20:02:33Z", later).unwrap();
        assert_eq!(w2["modifiedOn"], json!(expected));
    }
    assert_eq!(seen[0], strs(&["w10", "w2", "w6"]));
    assert_eq!(seen[0], seen[1]);
}
