//! Query planning: directed cases, and the seeded property test that a planned read
//! through a simulated IndexedDB returns exactly what a scan returns.

#![allow(unused_imports)] // the shared import list serves both test files

mod common;
use common::*;
use offline_tables_core::query::{
    compare_rows, parse_filter, project, Bound, CmpOp, Direction, KeyRange, Plan, Source,
};
use offline_tables_core::{ErrorCode, Filter, Query};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

// ---------------------------------------------------------------------------------------
// Planning: directed cases

fn indexes() -> Vec<String> {
    vec!["a".into(), "b".into()]
}

fn plan_of(s: &str) -> Plan {
    Plan::new(&odata(s), "id", &indexes())
}

#[test]
fn plan_primary_key_in_is_sorted_and_key_ordered() {
    let p = plan_of("$filter=id in ('b', 2, 'a', 2.0, 1)&$top=3&$skip=1");
    assert_eq!(
        p.source,
        Source::PrimaryKey(vec![
            KeyRange::only(Bound::Num(1.0)),
            KeyRange::only(Bound::Num(2.0)),
            KeyRange::only(Bound::Str("a".into())),
            KeyRange::only(Bound::Str("b".into())),
        ])
    );
    assert_eq!(p.residual, None);
    assert!(!p.needs_sort);
    assert_eq!(p.read_limit, Some(4));
}

#[test]
fn plan_prefers_equality_and_keeps_the_rest_as_residual() {
    let p = plan_of("$filter=a gt 3 and b eq 'x' and c eq 1&$orderby=a");
    assert_eq!(
        p.source,
        Source::Index {
            column: "b".into(),
            ranges: vec![KeyRange::only(Bound::Str("x".into()))]
        }
    );
    assert_eq!(
        p.residual,
        Some(Filter::And(vec![
            cmp("a", CmpOp::Gt, json!(3)),
            cmp("c", CmpOp::Eq, json!(1))
        ]))
    );
    assert!(p.needs_sort);
    assert_eq!(p.read_limit, None);
    // Only the first bound of each side is consumed; the others stay.
    let p = plan_of("$filter=a gt 3 and a gt 5 and a lt 9");
    assert_eq!(
        p.source,
        Source::Index {
            column: "a".into(),
            ranges: vec![KeyRange {
                lower: (Bound::Num(3.0), true),
                upper: (Bound::Num(9.0), true)
            }]
        }
    );
    assert_eq!(p.residual, Some(cmp("a", CmpOp::Gt, json!(5))));
    // Equalities on non-keys, ne, not and or leave a scan.
    for s in [
        "$filter=a eq null",
        "$filter=a ne 1",
        "$filter=not (a eq 1)",
        "$filter=a eq 1 or b eq 2",
        "$filter=a in (1, null)",
    ] {
        let p = plan_of(s);
        assert_eq!(p.source, Source::Scan, "{s}");
        assert_eq!(p.residual, odata(s).filter, "{s}");
    }
    // A string range is bounded below arrays; a number range is all numbers.
    assert_eq!(
        plan_of("$filter=a ge 'm'").source,
        Source::Index {
            column: "a".into(),
            ranges: vec![KeyRange {
                lower: (Bound::Str("m".into()), false),
                upper: (Bound::AfterStrings, true)
            }]
        }
    );
    assert_eq!(
        plan_of("$filter=a lt 0").source,
        Source::Index {
            column: "a".into(),
            ranges: vec![KeyRange {
                lower: (Bound::Num(f64::NEG_INFINITY), false),
                upper: (Bound::Num(0.0), true)
            }]
        }
    );
}

#[test]
fn plan_startswith_ranges() {
    let range = |s: &str| match plan_of(s).source {
        Source::Index { ranges, .. } | Source::PrimaryKey(ranges) => Some(ranges),
        Source::Scan => None,
    };
    assert_eq!(
        range("$filter=startswith(a,'')"),
        Some(vec![KeyRange {
            lower: (Bound::Str("".into()), false),
            upper: (Bound::AfterStrings, true)
        }])
    );
    // The last UTF-16 unit of "😀" is 0xDE00, so the end is "😁" (0xD83D 0xDE01).
    assert_eq!(
        range("$filter=startswith(id,'x😀')"),
        Some(vec![KeyRange {
            lower: (Bound::Str("x😀".into()), false),
            upper: (Bound::Str("x😁".into()), true)
        }])
    );
    // No string ends just above U+10FFFF's last unit (0xDFFF): fall back to a scan.
    assert_eq!(range("$filter=startswith(a,'\u{10FFFF}')"), None);
}

/// Contradictory bounds must not produce a range IndexedDB rejects (`IDBKeyRange.bound`
/// throws a DataError when lower > upper, or when they are equal and one end is open).
#[test]
fn plan_contradictory_ranges_read_nothing() {
    for s in [
        "$filter=a gt 9 and a lt 3",
        "$filter=a gt 3 and a le 3",
        "$filter=a ge 3 and a lt 3",
        "$filter=a gt 3 and a lt 3",
        "$filter=id gt 'z' and id lt 'a'",
        "$filter=c eq 1 and b ge '｡' and b le '😀'",
    ] {
        let p = plan_of(s);
        match &p.source {
            Source::Index { ranges, .. } | Source::PrimaryKey(ranges) => {
                assert!(ranges.is_empty(), "{s} should read nothing: {p:?}")
            }
            Source::Scan => panic!("{s} should not scan"),
        }
    }
    // "😀" (0xD83D 0xDE00) is below "｡" (0xFF61) in UTF-16, though not by code point:
    // this range is not empty.
    let p = plan_of("$filter=b ge '😀' and b le '｡'");
    assert_eq!(
        p.source,
        Source::Index {
            column: "b".into(),
            ranges: vec![KeyRange {
                lower: (Bound::Str("😀".into()), false),
                upper: (Bound::Str("｡".into()), false)
            }]
        }
    );
    // Equal bounds, both closed, is a single key.
    let p = plan_of("$filter=a ge 3 and a le 3");
    assert_eq!(
        p.source,
        Source::Index {
            column: "a".into(),
            ranges: vec![KeyRange::only(Bound::Num(3.0))]
        }
    );
    assert!(!p.needs_sort);
}

// ---------------------------------------------------------------------------------------
// Planning: plan == scan, against a simulated IndexedDB

/// An IndexedDB key: numbers < strings (by UTF-16 units) < arrays (element-wise).
#[derive(Debug, Clone)]
enum IdbKey {
    Num(f64),
    Str(Vec<u16>),
    Arr(Vec<IdbKey>),
}

fn idb_cmp(a: &IdbKey, b: &IdbKey) -> Ordering {
    fn rank(k: &IdbKey) -> u8 {
        match k {
            IdbKey::Num(_) => 0,
            IdbKey::Str(_) => 1,
            IdbKey::Arr(_) => 2,
        }
    }
    match (a, b) {
        (IdbKey::Num(x), IdbKey::Num(y)) => x.partial_cmp(y).expect("no NaN keys"),
        (IdbKey::Str(x), IdbKey::Str(y)) => x.cmp(y),
        (IdbKey::Arr(x), IdbKey::Arr(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = idb_cmp(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

/// The key IndexedDB would index a value under, if it is a valid key.
fn idb_key(v: &Value) -> Option<IdbKey> {
    match v {
        Value::Number(n) => n.as_f64().map(IdbKey::Num),
        Value::String(s) => Some(IdbKey::Str(s.encode_utf16().collect())),
        Value::Array(items) => items
            .iter()
            .map(idb_key)
            .collect::<Option<_>>()
            .map(IdbKey::Arr),
        _ => None,
    }
}

fn bound_key(b: &Bound) -> IdbKey {
    match b {
        Bound::Num(n) => IdbKey::Num(*n),
        Bound::Str(s) => IdbKey::Str(s.encode_utf16().collect()),
        Bound::AfterStrings => IdbKey::Arr(vec![]),
    }
}

/// What `IDBKeyRange.bound` accepts.
#[track_caller]
fn assert_valid_range(r: &KeyRange, ctx: &str) {
    let o = idb_cmp(&bound_key(&r.lower.0), &bound_key(&r.upper.0));
    assert!(
        o == Ordering::Less || (o == Ordering::Equal && !r.lower.1 && !r.upper.1),
        "IDBKeyRange would throw DataError for {r:?} ({ctx})"
    );
}

fn in_range(k: &IdbKey, r: &KeyRange) -> bool {
    let lo = idb_cmp(k, &bound_key(&r.lower.0));
    let hi = idb_cmp(k, &bound_key(&r.upper.0));
    (lo == Ordering::Greater || (lo == Ordering::Equal && !r.lower.1))
        && (hi == Ordering::Less || (hi == Ordering::Equal && !r.upper.1))
}

/// splitmix64: small, seeded, good enough to drive random cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Pieces of strings chosen so UTF-16 and code point order disagree (astral vs U+E000..),
/// plus a case pair and the characters at the edges of the prefix-end computation.
const PIECES: &[&str] = &[
    "a",
    "b",
    "B",
    "é",
    "z",
    "｡",
    "\u{E000}",
    "😀",
    "😁",
    "\u{10FFFF}",
    "\u{D7FF}",
    "\u{FFFF}",
];

fn random_string(rng: &mut Rng) -> String {
    (0..rng.below(4)).map(|_| *rng.pick(PIECES)).collect()
}

fn random_number(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => json!(1.0),
        1 => json!(-0.0),
        2 => json!(2.5),
        3 => json!(-1.5),
        _ => json!(rng.below(7) as i64 - 3),
    }
}

fn random_scalar(rng: &mut Rng) -> Value {
    if rng.chance(50) {
        random_number(rng)
    } else {
        Value::String(random_string(rng))
    }
}

fn random_value(rng: &mut Rng) -> Value {
    match rng.below(14) {
        0..=4 => random_number(rng),
        5..=9 => Value::String(random_string(rng)),
        10 => Value::Bool(rng.chance(50)),
        11 => Value::Null,
        12 => match rng.below(5) {
            0 => json!([]),
            1 => json!([random_number(rng)]),
            2 => json!([random_string(rng), random_number(rng)]),
            3 => json!([true]),
            _ => json!([random_string(rng)]),
        },
        _ => json!({ "x": random_number(rng) }),
    }
}

const COLUMNS: &[&str] = &["id", "a", "a", "b", "b", "c", "zz"];

fn random_atom(rng: &mut Rng) -> Filter {
    let column = rng.pick(COLUMNS).to_string();
    match rng.below(12) {
        0..=5 => {
            let op = *rng.pick(&CMP_OPS);
            let value = if rng.chance(8) {
                random_value(rng)
            } else {
                random_scalar(rng)
            };
            Filter::Cmp { column, op, value }
        }
        6 | 7 => Filter::In {
            column,
            values: (0..rng.below(4))
                .map(|_| {
                    if rng.chance(10) {
                        random_value(rng)
                    } else {
                        random_scalar(rng)
                    }
                })
                .collect(),
        },
        8 | 9 => Filter::StartsWith {
            column,
            prefix: random_string(rng),
        },
        10 => Filter::Contains {
            column,
            needle: random_string(rng),
        },
        _ => {
            // A range on one column, the shape the planner works hardest on.
            let (lo, hi) = (random_scalar(rng), random_scalar(rng));
            let lop = *rng.pick(&[CmpOp::Gt, CmpOp::Gte]);
            let hop = *rng.pick(&[CmpOp::Lt, CmpOp::Lte]);
            Filter::And(vec![
                Filter::Cmp {
                    column: column.clone(),
                    op: lop,
                    value: lo,
                },
                Filter::Cmp {
                    column,
                    op: hop,
                    value: hi,
                },
            ])
        }
    }
}

fn random_term(rng: &mut Rng) -> Filter {
    match rng.below(10) {
        0 => Filter::Not(Box::new(random_atom(rng))),
        1 => Filter::Or(vec![random_atom(rng), random_atom(rng)]),
        _ => random_atom(rng),
    }
}

fn random_query(rng: &mut Rng) -> Query {
    let filter = match rng.below(10) {
        0 => None,
        1..=3 => Filter::and(vec![random_term(rng)]),
        _ => Filter::and((0..2 + rng.below(3)).map(|_| random_term(rng)).collect()),
    };
    let order_by = match rng.below(4) {
        0 | 1 => vec![],
        _ => (0..1 + rng.below(2))
            .map(|_| {
                let dir = if rng.chance(50) {
                    Direction::Asc
                } else {
                    Direction::Desc
                };
                (rng.pick(COLUMNS).to_string(), dir)
            })
            .collect(),
    };
    Query {
        filter,
        order_by,
        limit: if rng.chance(50) {
            Some(rng.below(8) as u64)
        } else {
            None
        },
        offset: if rng.chance(70) {
            0
        } else {
            rng.below(5) as u64
        },
        select: None,
        count: false,
    }
}

fn random_rows(rng: &mut Rng) -> Vec<Map<String, Value>> {
    let mut rows: Vec<Map<String, Value>> = Vec::new();
    let mut keys: Vec<IdbKey> = Vec::new();
    for _ in 0..rng.below(30) {
        let id = random_scalar(rng);
        let k = idb_key(&id).unwrap();
        if keys.iter().any(|x| idb_cmp(x, &k) == Ordering::Equal) {
            continue;
        }
        keys.push(k);
        let mut r = Map::new();
        r.insert("id".into(), id);
        for c in ["a", "b", "c"] {
            if !rng.chance(15) {
                r.insert(c.into(), random_value(rng));
            }
        }
        rows.push(r);
    }
    rows
}

/// The query answered the plain way: filter everything, sort, page.
fn by_scan(rows: &[Map<String, Value>], q: &Query) -> Vec<Map<String, Value>> {
    let mut out: Vec<Map<String, Value>> = rows.iter().filter(|r| q.matches(r)).cloned().collect();
    out.sort_by(|a, b| compare_rows(a, b, &q.order_by, "id"));
    page(out, q)
}

fn page(rows: Vec<Map<String, Value>>, q: &Query) -> Vec<Map<String, Value>> {
    rows.into_iter()
        .skip(q.offset as usize)
        .take(q.limit.map_or(usize::MAX, |l| l as usize))
        .collect()
}

/// The query answered through its plan, reading a simulated IndexedDB.
fn by_plan(rows: &[Map<String, Value>], q: &Query, indexes: &[String]) -> Vec<Map<String, Value>> {
    let plan = Plan::new(q, "id", indexes);
    let ctx = format!("{q:?} -> {plan:?}");
    let pk = |r: &Map<String, Value>| idb_key(&r["id"]).unwrap();
    let mut by_key: Vec<&Map<String, Value>> = rows.iter().collect();
    by_key.sort_by(|a, b| idb_cmp(&pk(a), &pk(b)));

    let mut read: Vec<&Map<String, Value>> = match &plan.source {
        Source::Scan => by_key.clone(),
        Source::PrimaryKey(ranges) => {
            for r in ranges {
                assert_valid_range(r, &ctx);
            }
            for w in ranges.windows(2) {
                let o = idb_cmp(&bound_key(&w[0].upper.0), &bound_key(&w[1].lower.0));
                assert!(
                    o == Ordering::Less || (o == Ordering::Equal && (w[0].upper.1 || w[1].lower.1)),
                    "primary key ranges must be sorted and disjoint: {ctx}"
                );
            }
            ranges
                .iter()
                .flat_map(|r| {
                    by_key
                        .iter()
                        .copied()
                        .filter(move |row| in_range(&pk(row), r))
                })
                .collect()
        }
        Source::Index { column, ranges } => {
            assert!(indexes.contains(column), "{column} is not an index: {ctx}");
            for r in ranges {
                assert_valid_range(r, &ctx);
            }
            // The index holds (value, primary key) for rows whose value is a valid key.
            let mut entries: Vec<(IdbKey, &Map<String, Value>)> = rows
                .iter()
                .filter_map(|r| r.get(column).and_then(idb_key).map(|k| (k, r)))
                .collect();
            entries.sort_by(|(ka, ra), (kb, rb)| {
                idb_cmp(ka, kb).then_with(|| idb_cmp(&pk(ra), &pk(rb)))
            });
            ranges
                .iter()
                .flat_map(|r| {
                    entries
                        .iter()
                        .filter(move |(k, _)| in_range(k, r))
                        .map(|(_, row)| *row)
                })
                .collect()
        }
    };
    if let Some(n) = plan.read_limit {
        assert!(
            plan.residual.is_none() && !plan.needs_sort,
            "read_limit with work left: {ctx}"
        );
        read.truncate(n as usize);
    }
    let mut out: Vec<Map<String, Value>> = read
        .into_iter()
        .filter(|r| plan.residual.as_ref().map_or(true, |f| f.matches(r)))
        .cloned()
        .collect();
    if plan.needs_sort {
        out.sort_by(|a, b| compare_rows(a, b, &q.order_by, "id"));
    } else {
        assert!(q.order_by.is_empty(), "an order_by needs a sort: {ctx}");
        for w in out.windows(2) {
            assert_eq!(
                idb_cmp(&pk(&w[0]), &pk(&w[1])),
                Ordering::Less,
                "source not in key order: {ctx}"
            );
            assert_eq!(
                compare_rows(&w[0], &w[1], &[], "id"),
                Ordering::Less,
                "compare_rows disagrees with key order"
            );
        }
    }
    page(out, q)
}

fn ids(rows: &[Map<String, Value>]) -> Vec<Value> {
    rows.iter().map(|r| r["id"].clone()).collect()
}

#[test]
fn plan_and_scan_agree_on_random_cases() {
    let index_sets: [Vec<String>; 3] =
        [indexes(), vec!["a".into(), "b".into(), "c".into()], vec![]];
    let mut rng = Rng(0x0FF1_14E7_AB1E);
    let mut through_index = 0;
    let mut through_key = 0;
    for case in 0..20_000 {
        let rows = random_rows(&mut rng);
        let q = random_query(&mut rng);
        let idx = &index_sets[case % 3];
        let want = by_scan(&rows, &q);
        let got = by_plan(&rows, &q, idx);
        assert_eq!(
            ids(&got),
            ids(&want),
            "case {case}: {q:?}\nplan {:?}\nrows {}",
            Plan::new(&q, "id", idx),
            serde_json::to_string(&rows).unwrap()
        );
        assert_eq!(got, want, "case {case}");
        match Plan::new(&q, "id", idx).source {
            Source::Index { .. } => through_index += 1,
            Source::PrimaryKey(_) => through_key += 1,
            Source::Scan => {}
        }
    }
    // The cases must exercise the planner, not only scans.
    assert!(through_index > 3_000, "only {through_index} index plans");
    assert!(through_key > 1_000, "only {through_key} primary key plans");
}

/// The same property through the parsers: queries written as OData text.
#[test]
fn plan_and_scan_agree_on_parsed_queries() {
    let mut rng = Rng(42);
    let texts = [
        "$filter=a eq 1",
        "$filter=a eq 1.0 and b gt 'a'&$top=2",
        "$filter=a ge -1 and a lt 2.5&$orderby=b desc",
        "$filter=b in ('a', 'b', 1, -3)&$top=3&$skip=1",
        "$filter=startswith(b,'😀')",
        "$filter=startswith(a,'a') and a ne 'a'",
        "$filter=id gt 0 and id le 2&$top=1",
        "$filter=id ge 'a'&$orderby=id desc&$top=4",
        "$filter=a gt 3 and a lt 1",
        "$filter=a eq '｡' or a eq '😀'",
        "$filter=c eq null",
        "$filter=a ne null and b lt '\u{E000}'",
        "$top=3&$skip=2",
        "$orderby=c,a desc&$top=5",
    ];
    for _ in 0..300 {
        let rows = random_rows(&mut rng);
        for t in texts {
            let q = odata(t);
            assert_eq!(by_plan(&rows, &q, &indexes()), by_scan(&rows, &q), "{t}");
        }
    }
}
