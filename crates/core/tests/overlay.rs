//! A transaction's buffered writes laid over a query's stored rows give the same result
//! as the query over the table with the writes applied (checked over random tables,
//! queries and writes).

use offline_tables_core::query::compare_rows;
use offline_tables_core::{Key, Query};
use serde_json::{json, Map, Value};

/// A small deterministic generator (xorshift), so a failure replays.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn row(id: u64, n: u64) -> Map<String, Value> {
    json!({ "id": format!("r{id}"), "n": n })
        .as_object()
        .unwrap()
        .clone()
}

/// The query evaluated over whole rows: filter, order, window.
fn run(q: &Query, rows: &[Map<String, Value>]) -> Vec<Map<String, Value>> {
    let mut out: Vec<Map<String, Value>> = rows.iter().filter(|r| q.matches(r)).cloned().collect();
    out.sort_by(|a, b| compare_rows(a, b, &q.order_by, "id"));
    out.into_iter()
        .skip(q.offset as usize)
        .take(q.limit.unwrap_or(u64::MAX) as usize)
        .collect()
}

#[test]
fn overlay_matches_the_query_over_the_written_table() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..2000 {
        let table: Vec<Map<String, Value>> =
            (0..rng.below(12)).map(|i| row(i, rng.below(10))).collect();
        let mut text = format!("$filter=n ge {}", rng.below(6));
        if rng.below(2) == 0 {
            text += "&$orderby=n desc";
        }
        if rng.below(2) == 0 {
            text += &format!("&$top={}", rng.below(5));
        }
        if rng.below(2) == 0 {
            text += &format!("&$skip={}", rng.below(4));
        }
        let q = Query::from_odata(&text).unwrap();
        // Writes: puts of new or existing rows, and deletes; the last write of a key wins.
        let mut written: Vec<(Key, Option<Map<String, Value>>)> = Vec::new();
        for _ in 0..rng.below(5) {
            let id = rng.below(15);
            let state = (rng.below(3) != 0).then(|| row(id, rng.below(10)));
            let key = Key::Str(format!("r{id}"));
            written.retain(|(k, _)| *k != key);
            written.push((key, state));
        }
        let mut after: Vec<Map<String, Value>> = table
            .iter()
            .filter(|r| {
                !written
                    .iter()
                    .any(|(k, _)| Some(k.to_json()) == r.get("id").cloned())
            })
            .cloned()
            .collect();
        after.extend(written.iter().filter_map(|(_, r)| r.clone()));
        let stored = run(&q.for_overlay(written.len()), &table);
        let picked = q.overlay("id", &stored, &written);
        let got: Vec<Map<String, Value>> = picked
            .iter()
            .map(|&i| {
                let i = i as usize;
                match i < stored.len() {
                    true => stored[i].clone(),
                    false => written[i - stored.len()].1.clone().unwrap(),
                }
            })
            .collect();
        assert_eq!(
            got,
            run(&q, &after),
            "case {case}: {text}, writes {written:?}"
        );
    }
}
