//! Transactions in the outbox: units of rows, merged through shared rows, and push
//! batches that keep each unit whole and contiguous.

use offline_tables_core::units::{RowId, Units};
use offline_tables_core::{Key, LogEntry};

fn s(k: &str) -> Key {
    Key::Str(k.into())
}

fn entry(seq: u64, table: &str, keys: &[&str], unit: Option<&str>) -> LogEntry {
    LogEntry {
        seq,
        table: table.into(),
        keys: keys.iter().map(|k| s(k)).collect(),
        unit: unit.map(str::to_string),
    }
}

fn row(t: &str, k: &str) -> RowId {
    (t.to_string(), s(k))
}

#[test]
fn rows_of_one_transaction_share_its_unit_and_plain_rows_have_none() {
    let log = [
        entry(1, "accounts", &["a1"], Some("u-1")),
        entry(2, "workorders", &["w1", "w2"], Some("u-1")),
        entry(3, "notes", &["n1"], None),
    ];
    let units = Units::of(&log);
    assert_eq!(units.unit_of("accounts", &s("a1")), Some("u-1"));
    assert_eq!(units.unit_of("workorders", &s("w2")), Some("u-1"));
    assert_eq!(units.unit_of("notes", &s("n1")), None);
    assert_eq!(
        units.unit_of("accounts", &s("w1")),
        None,
        "tables are apart"
    );
    assert!(Units::of(&log[2..]).is_empty());
}

#[test]
fn units_sharing_a_row_merge_under_the_smallest_id() {
    let log = [
        entry(1, "t", &["a", "b"], Some("u-b")),
        entry(2, "t", &["c"], Some("u-c")),
        entry(3, "t", &["b", "d"], Some("u-a")),
        entry(4, "t", &["d", "c"], Some("u-d")),
        entry(5, "t", &["e"], Some("u-e")),
        // A plain write on a unit's row does not make a new unit.
        entry(6, "t", &["a", "z"], None),
    ];
    let units = Units::of(&log);
    for k in ["a", "b", "c", "d"] {
        assert_eq!(units.unit_of("t", &s(k)), Some("u-a"), "row {k}");
    }
    assert_eq!(units.unit_of("t", &s("e")), Some("u-e"));
    assert_eq!(units.unit_of("t", &s("z")), None);
}

#[test]
fn a_batch_never_splits_a_unit_and_keeps_it_contiguous() {
    let log = [
        entry(1, "t", &["p1"], None),
        entry(2, "t", &["x1"], Some("u-x")),
        entry(3, "t", &["p2"], None),
        entry(4, "t", &["x2"], Some("u-x")),
        entry(5, "t", &["p3"], None),
    ];
    let units = Units::of(&log);
    let rows: Vec<RowId> = ["p1", "x1", "p2", "x2", "p3"]
        .iter()
        .map(|k| row("t", k))
        .collect();
    let none = |_: &RowId| false;
    // Room for all: the unit's second row moves up behind its first.
    assert_eq!(
        units.pick(&rows, 10, &none),
        ["p1", "x1", "x2", "p2", "p3"].map(|k| row("t", k))
    );
    // Room for two: the unit does not fit after p1, so the batch stops before it.
    assert_eq!(units.pick(&rows, 2, &none), [row("t", "p1")]);
    assert_eq!(
        units.pick(&rows, 3, &none),
        ["p1", "x1", "x2"].map(|k| row("t", k))
    );
    // A unit larger than the batch goes alone.
    assert_eq!(
        units.pick(&rows[1..], 1, &none),
        [row("t", "x1"), row("t", "x2")]
    );
}

#[test]
fn a_unit_with_a_held_row_waits_whole() {
    let log = [
        entry(1, "t", &["x1", "x2"], Some("u-x")),
        entry(2, "t", &["p1"], None),
    ];
    let units = Units::of(&log);
    let rows = [row("t", "x1"), row("t", "x2"), row("t", "p1")];
    let held = |r: &RowId| *r == row("t", "x2");
    assert_eq!(units.pick(&rows, 10, &held), [row("t", "p1")]);
}

mod fates {
    use offline_tables_core::conflict::Settlement;
    use offline_tables_core::protocol::RejectReason;
    use offline_tables_core::units::{fate, Fate};

    fn applied() -> Settlement {
        Settlement::Applied {
            version: "5".into(),
        }
    }
    fn rejected(reason: RejectReason) -> Settlement {
        Settlement::Reject {
            reason,
            message: "no".into(),
        }
    }
    fn resend() -> Settlement {
        Settlement::Resend {
            row: None,
            base_version: Some("7".into()),
            base_row: None,
        }
    }
    fn take_server() -> Settlement {
        Settlement::TakeServer {
            row: None,
            version: Some("7".into()),
        }
    }

    fn of(members: &[Settlement]) -> Fate {
        let named: Vec<(&str, String, &Settlement)> =
            members.iter().map(|s| ("t", "k".to_string(), s)).collect();
        fate(&named)
    }

    #[test]
    fn a_unit_lands_whole_goes_again_whole_or_is_refused_whole() {
        assert_eq!(of(&[applied(), applied()]), Fate::Applied);
        // A conflict its policy resends: the unit goes again with it.
        assert_eq!(
            of(&[resend(), rejected(RejectReason::Transaction)]),
            Fate::Retry
        );
        // A member refused for its own reason refuses the unit, with that reason.
        match of(&[
            rejected(RejectReason::Transaction),
            rejected(RejectReason::Permission),
        ]) {
            Fate::Refused { reason, message } => {
                assert_eq!(reason, "permission");
                assert!(message.contains("t k: no"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // A conflict settled for the server refuses it too, even beside a resend.
        match of(&[resend(), take_server(), rejected(RejectReason::Transaction)]) {
            Fate::Refused { reason, .. } => assert_eq!(reason, "conflict"),
            other => panic!("{other:?}"),
        }
        // A refusal outranks a conflict in naming the reason.
        match of(&[take_server(), rejected(RejectReason::Validation)]) {
            Fate::Refused { reason, .. } => assert_eq!(reason, "validation"),
            other => panic!("{other:?}"),
        }
    }
}
