//! Plans a query onto IndexedDB: which index (or the primary key) and which key ranges
//! to read, what is left to filter, and whether rows must be sorted afterwards. Ranges
//! are bounded by type, so an index read returns exactly the rows a scan would match.

use super::{CmpOp, Filter, Query};
use crate::value::{cmp_utf16, Key};
use serde_json::Value;
use std::cmp::Ordering;

/// One end of a key range.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Num(f64),
    Str(String),
    /// Just above every string: IndexedDB's empty-array key, used exclusive.
    AfterStrings,
}

/// A key range; `bool` is true when that end is open (excluded).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRange {
    pub lower: (Bound, bool),
    pub upper: (Bound, bool),
}

impl KeyRange {
    pub fn only(b: Bound) -> KeyRange {
        KeyRange {
            lower: (b.clone(), false),
            upper: (b, false),
        }
    }
    /// True when the range holds a single key.
    pub fn is_only(&self) -> bool {
        !self.lower.1 && !self.upper.1 && self.lower.0 == self.upper.0
    }
    /// True when no key fits (`IDBKeyRange.bound` throws a DataError for such a range).
    fn is_empty(&self) -> bool {
        match cmp_bounds(&self.lower.0, &self.upper.0) {
            Ordering::Less => false,
            Ordering::Equal => self.lower.1 || self.upper.1,
            Ordering::Greater => true,
        }
    }
}

/// IndexedDB key order over bounds: numbers, then strings, then `AfterStrings`.
fn cmp_bounds(a: &Bound, b: &Bound) -> Ordering {
    let rank = |b: &Bound| match b {
        Bound::Num(_) => 0,
        Bound::Str(_) => 1,
        Bound::AfterStrings => 2,
    };
    match (a, b) {
        (Bound::Num(x), Bound::Num(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Bound::Str(x), Bound::Str(y)) => cmp_utf16(x, y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Where rows come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Every row of the table, in key order.
    Scan,
    /// Rows whose primary key is in one of the ranges (sorted, disjoint: key order).
    /// No range means no row (the filter contradicts itself, e.g. `id gt 9 and id lt 3`).
    PrimaryKey(Vec<KeyRange>),
    /// Rows whose indexed column is in one of the ranges (none: no row).
    Index {
        column: String,
        ranges: Vec<KeyRange>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub source: Source,
    /// What the rows read from `source` must still pass.
    pub residual: Option<Filter>,
    /// Rows must be sorted (by `order_by`, then key) after filtering.
    pub needs_sort: bool,
    /// When set, reading this many rows from `source` (in its order) is enough.
    pub read_limit: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Num,
    Str,
}

fn bound_of(v: &Value) -> Option<(Bound, Kind)> {
    match v {
        Value::String(s) => Some((Bound::Str(s.clone()), Kind::Str)),
        Value::Number(n) => n.as_f64().map(|f| (Bound::Num(f), Kind::Num)),
        _ => None,
    }
}

/// The smallest string greater than every string starting with `prefix`, if one exists.
fn prefix_end(prefix: &str) -> Option<Bound> {
    if prefix.is_empty() {
        return Some(Bound::AfterStrings);
    }
    let mut units: Vec<u16> = prefix.encode_utf16().collect();
    let last = units.last_mut()?;
    if *last == u16::MAX {
        return None;
    }
    *last += 1;
    String::from_utf16(&units).ok().map(Bound::Str)
}

/// Range conditions on one column for one type: the first lower and the first upper
/// bound, each with the index of its conjunct and whether it is open.
struct RangeSlot {
    column: String,
    kind: Kind,
    lower: Option<(usize, Bound, bool)>,
    upper: Option<(usize, Bound, bool)>,
}

struct Candidate {
    column: String,
    ranges: Vec<KeyRange>,
    consumed: Vec<usize>,
    score: u8,
}

impl Plan {
    pub fn new(query: &Query, key_column: &str, indexes: &[String]) -> Plan {
        let conjuncts: Vec<&Filter> = match &query.filter {
            None => vec![],
            Some(Filter::And(parts)) => parts.iter().collect(),
            Some(f) => vec![f],
        };
        let usable = |c: &str| c == key_column || indexes.iter().any(|i| i == c);
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut ranges: Vec<RangeSlot> = Vec::new();

        for (i, f) in conjuncts.iter().enumerate() {
            match f {
                Filter::Cmp { column, op, value } if usable(column) => {
                    let Some((b, kind)) = bound_of(value) else {
                        continue;
                    };
                    let slot = match ranges
                        .iter()
                        .position(|r| &r.column == column && r.kind == kind)
                    {
                        Some(p) => p,
                        None => {
                            ranges.push(RangeSlot {
                                column: column.clone(),
                                kind,
                                lower: None,
                                upper: None,
                            });
                            ranges.len() - 1
                        }
                    };
                    let r = &mut ranges[slot];
                    match op {
                        CmpOp::Eq => candidates.push(Candidate {
                            column: column.clone(),
                            ranges: vec![KeyRange::only(b)],
                            consumed: vec![i],
                            score: 0,
                        }),
                        CmpOp::Gt | CmpOp::Gte if r.lower.is_none() => {
                            r.lower = Some((i, b, *op == CmpOp::Gt))
                        }
                        CmpOp::Lt | CmpOp::Lte if r.upper.is_none() => {
                            r.upper = Some((i, b, *op == CmpOp::Lt))
                        }
                        _ => {}
                    }
                }
                Filter::In { column, values } if usable(column) => {
                    // A loop, not `collect::<Option<Vec<_>>>()` (see `odata::parse_select`).
                    let mut keys = Vec::with_capacity(values.len());
                    for v in values {
                        match Key::from_json(v, "") {
                            Ok(k) => keys.push(k),
                            Err(_) => break,
                        }
                    }
                    if keys.len() < values.len() {
                        continue;
                    }
                    crate::sort::sort(&mut keys);
                    keys.dedup();
                    candidates.push(Candidate {
                        column: column.clone(),
                        ranges: keys
                            .into_iter()
                            .map(|k| {
                                KeyRange::only(match k {
                                    Key::Num(n) => Bound::Num(n),
                                    Key::Str(s) => Bound::Str(s),
                                })
                            })
                            .collect(),
                        consumed: vec![i],
                        score: 1,
                    });
                }
                Filter::StartsWith { column, prefix } if usable(column) => {
                    if let Some(end) = prefix_end(prefix) {
                        candidates.push(Candidate {
                            column: column.clone(),
                            ranges: vec![KeyRange {
                                lower: (Bound::Str(prefix.clone()), false),
                                upper: (end, true),
                            }],
                            consumed: vec![i],
                            score: 2,
                        });
                    }
                }
                _ => {}
            }
        }
        for RangeSlot {
            column,
            kind,
            lower,
            upper,
        } in ranges
        {
            if lower.is_none() && upper.is_none() {
                continue;
            }
            let mut consumed = Vec::new();
            let (min, max) = match kind {
                Kind::Num => (
                    Bound::Num(f64::NEG_INFINITY),
                    (Bound::Num(f64::INFINITY), false),
                ),
                Kind::Str => (Bound::Str(String::new()), (Bound::AfterStrings, true)),
            };
            let score = if lower.is_some() && upper.is_some() {
                2
            } else {
                3
            };
            let lower = match lower {
                Some((i, b, open)) => {
                    consumed.push(i);
                    (b, open)
                }
                None => (min, false),
            };
            let upper = match upper {
                Some((i, b, open)) => {
                    consumed.push(i);
                    (b, open)
                }
                None => max,
            };
            let range = KeyRange { lower, upper };
            // Contradictory bounds (`a gt 9 and a lt 3`) match nothing: read no range
            // rather than hand IndexedDB one it rejects.
            let (ranges, score) = if range.is_empty() {
                (vec![], 0)
            } else {
                (vec![range], score)
            };
            candidates.push(Candidate {
                column,
                ranges,
                consumed,
                score,
            });
        }

        let best = candidates
            .into_iter()
            .min_by_key(|c| (c.score, c.column != key_column));
        let (source, residual) = match best {
            None => (Source::Scan, query.filter.clone()),
            Some(c) => {
                let rest: Vec<Filter> = conjuncts
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !c.consumed.contains(i))
                    .map(|(_, f)| (*f).clone())
                    .collect();
                let source = if c.column == key_column {
                    Source::PrimaryKey(c.ranges)
                } else {
                    Source::Index {
                        column: c.column,
                        ranges: c.ranges,
                    }
                };
                (source, Filter::and(rest))
            }
        };
        let key_ordered = match &source {
            Source::Scan | Source::PrimaryKey(_) => true,
            Source::Index { ranges, .. } => {
                ranges.len() <= 1 && ranges.iter().all(KeyRange::is_only)
            }
        };
        let needs_sort = !query.order_by.is_empty() || !key_ordered;
        let read_limit = match (&residual, needs_sort, query.limit) {
            (None, false, Some(limit)) => Some(limit.saturating_add(query.offset)),
            _ => None,
        };
        Plan {
            source,
            residual,
            needs_sort,
            read_limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(q: &str) -> Plan {
        Plan::new(
            &Query::from_odata(q).unwrap(),
            "id",
            &["city".into(), "age".into()],
        )
    }

    #[test]
    fn equality_on_an_index_is_exact_and_key_ordered() {
        let p = plan("$filter=city eq 'Paris' and name eq 'x'&$top=5");
        assert_eq!(
            p.source,
            Source::Index {
                column: "city".into(),
                ranges: vec![KeyRange::only(Bound::Str("Paris".into()))]
            }
        );
        assert!(p.residual.is_some());
        assert!(!p.needs_sort);
        assert_eq!(p.read_limit, None);
        assert_eq!(
            plan("$filter=city eq 'Paris'&$top=5&$skip=2").read_limit,
            Some(7)
        );
    }

    #[test]
    fn primary_key_wins_ties_and_ranges_are_bounded_by_type() {
        let p = plan("$filter=age gt 3 and id gt 'k'");
        assert_eq!(
            p.source,
            Source::PrimaryKey(vec![KeyRange {
                lower: (Bound::Str("k".into()), true),
                upper: (Bound::AfterStrings, true)
            }])
        );
        let p = plan("$filter=age ge 3 and age lt 9");
        assert_eq!(
            p.source,
            Source::Index {
                column: "age".into(),
                ranges: vec![KeyRange {
                    lower: (Bound::Num(3.0), false),
                    upper: (Bound::Num(9.0), true)
                }]
            }
        );
        assert!(p.residual.is_none());
        assert!(p.needs_sort, "a range on an index is not in key order");
    }

    #[test]
    fn or_and_unindexed_columns_scan() {
        assert_eq!(
            plan("$filter=city eq 'a' or city eq 'b'").source,
            Source::Scan
        );
        assert_eq!(plan("$filter=name eq 'a'").source, Source::Scan);
        assert_eq!(plan("$filter=city eq true").source, Source::Scan);
    }

    #[test]
    fn in_and_startswith_use_ranges() {
        let p = plan("$filter=city in ('b','a','b')");
        let Source::Index { ranges, .. } = p.source else {
            panic!()
        };
        assert_eq!(ranges.len(), 2);
        assert_eq!(ranges[0], KeyRange::only(Bound::Str("a".into())));
        let p = plan("$filter=startswith(city,'Pa')");
        let Source::Index { ranges, .. } = p.source else {
            panic!()
        };
        assert_eq!(ranges[0].upper, (Bound::Str("Pb".into()), true));
    }
}
