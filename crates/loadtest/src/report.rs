//! The run's summary: throughput, p50 and p99 latency and errors from goose's metrics (all
//! requests, and per request name), and the exactly-once and scope check.

use crate::verify::Check;
use goose::metrics::{GooseMetrics, GooseRequestMetricTimingData};
use serde_json::{json, Value};

pub struct Line {
    pub name: String,
    pub requests: usize,
    pub failures: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

pub struct Summary {
    pub backend: String,
    pub clients: usize,
    pub seconds: f64,
    pub total: Line,
    pub lines: Vec<Line>,
    pub goose_errors: usize,
    pub check: Check,
}

fn line(name: &str, t: &GooseRequestMetricTimingData, failures: usize) -> Line {
    Line {
        name: name.to_string(),
        requests: t.counter,
        failures,
        p50_ms: t.percentile_us(0.5) as f64 / 1000.0,
        p99_ms: t.percentile_us(0.99) as f64 / 1000.0,
    }
}

impl Summary {
    pub fn new(
        m: &GooseMetrics,
        seconds: f64,
        check: &Check,
        pg: bool,
        servers: usize,
        _seeded_at: i64,
    ) -> Summary {
        let mut all = GooseRequestMetricTimingData::default();
        // Every name's buckets, merged in order (goose's percentile walks them fastest first).
        let mut buckets = std::collections::BTreeMap::<u64, usize>::new();
        let mut lines = Vec::new();
        let mut failures = 0;
        let mut names: Vec<_> = m.requests.iter().collect();
        names.sort_by(|a, b| a.0.cmp(b.0));
        for (name, agg) in names {
            failures += agg.fail_count;
            let r = &agg.raw_data;
            for (bucket, count) in r.times_us.iter() {
                *buckets.entry(*bucket).or_default() += count;
            }
            if all.counter == 0 || r.minimum_time_us < all.minimum_time_us {
                all.minimum_time_us = r.minimum_time_us;
            }
            all.maximum_time_us = all.maximum_time_us.max(r.maximum_time_us);
            all.total_time_us += r.total_time_us;
            all.counter += r.counter;
            lines.push(line(name, r, agg.fail_count));
        }
        for (bucket, count) in buckets {
            all.times_us.insert(bucket, count);
        }
        let backend = if pg {
            format!("PostgreSQL, {servers} server processes")
        } else {
            "SQLite, 1 server process".to_string()
        };
        Summary {
            backend,
            clients: m.maximum_users,
            seconds: m.duration as f64,
            total: line("all requests", &all, failures),
            lines,
            goose_errors: m.errors.values().map(|e| e.occurrences).sum(),
            check: check.clone(),
        }
        .with_wall(seconds)
    }

    fn with_wall(mut self, wall: f64) -> Summary {
        // goose's duration counts whole seconds of the run proper; fall back on the wall time.
        if self.seconds == 0.0 {
            self.seconds = wall;
        }
        self
    }

    pub fn throughput(&self) -> f64 {
        self.total.requests as f64 / self.seconds.max(1.0)
    }

    pub fn passed(&self) -> bool {
        self.total.failures == 0
            && self.goose_errors == 0
            && self.check.ok()
            && self.check.applied > 0
    }

    pub fn print(&self) {
        let c = &self.check;
        println!();
        println!(
            "== offline-tables load test: {}, {} clients, {:.0} s ==",
            self.backend, self.clients, self.seconds
        );
        println!(
            "{:<34} {:>9} {:>8} {:>10} {:>10}",
            "request", "count", "errors", "p50 ms", "p99 ms"
        );
        for l in self.lines.iter().chain(std::iter::once(&self.total)) {
            println!(
                "{:<34} {:>9} {:>8} {:>10.1} {:>10.1}",
                l.name, l.requests, l.failures, l.p50_ms, l.p99_ms
            );
        }
        println!("throughput: {:.0} requests/s", self.throughput());
        println!(
            "check: {} clients, {} mutations applied, lost {}, duplicated {}, not applied {}, \
             clients not equal to their scope {}, fresh downloads not equal to the scope {}, settle errors {}",
            c.clients, c.applied, c.lost, c.duplicated, c.not_applied, c.client_mismatches, c.server_mismatches, c.errors
        );
        for p in &c.first_problems {
            println!("  problem: {p}");
        }
        println!("result: {}", if self.passed() { "PASS" } else { "FAIL" });
    }

    pub fn to_json(&self) -> Value {
        let c = &self.check;
        let l = |l: &Line| {
            json!({ "name": l.name, "requests": l.requests, "errors": l.failures,
                                   "p50Ms": l.p50_ms, "p99Ms": l.p99_ms })
        };
        json!({
            "backend": self.backend, "clients": self.clients, "seconds": self.seconds,
            "throughput": self.throughput(), "total": l(&self.total),
            "requests": self.lines.iter().map(l).collect::<Vec<_>>(),
            "check": { "applied": c.applied, "lost": c.lost, "duplicated": c.duplicated,
                       "notApplied": c.not_applied, "clientMismatches": c.client_mismatches,
                       "serverMismatches": c.server_mismatches, "errors": c.errors },
            "passed": self.passed(),
        })
    }
}
