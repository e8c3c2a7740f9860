//! Golden traces of the sync engine: recorded event → instruction sequences, one JSON file
//! per scenario in `tests/golden/`. A change in the engine's behaviour shows up as a diff
//! in these files. After an intended change, regenerate with `UPDATE_GOLDEN=1 cargo test
//! -p offline-tables-core --test engine_golden` and review the diff.

use offline_tables_core::engine::{Config, Engine, Event, Failure, Instruction, Timer};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Serialize, Deserialize)]
struct Step {
    now: u64,
    random: f64,
    event: Event,
    expect: Vec<Instruction>,
}

#[derive(Serialize, Deserialize)]
struct Trace {
    config: Config,
    steps: Vec<Step>,
}

fn check(name: &str, events: Vec<(u64, Event)>) {
    check_with(name, true, events)
}

fn config(auto: bool) -> Config {
    Config {
        debounce_ms: 1_000,
        interval_ms: 300_000,
        group_intervals_ms: Vec::new(),
        backoff_base_ms: 1_000,
        backoff_max_ms: 60_000,
        auto,
    }
}

fn check_with(name: &str, auto: bool, events: Vec<(u64, Event)>) {
    check_config(name, config(auto), events)
}

fn check_config(name: &str, config: Config, events: Vec<(u64, Event)>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.json"));
    let mut engine = Engine::new(config.clone());
    let steps: Vec<Step> = events
        .into_iter()
        .map(|(now, event)| {
            let random = 0.5;
            let expect = engine.step(now, random, event.clone());
            Step {
                now,
                random,
                event,
                expect,
            }
        })
        .collect();
    let actual = Trace { config, steps };
    let text = serde_json::to_string_pretty(&actual).unwrap() + "\n";
    if std::env::var("UPDATE_GOLDEN").is_ok() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let recorded = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing: run with UPDATE_GOLDEN=1", path.display()));
    // Replay the recorded events (not the ones above) so the file is the source of truth.
    let recorded: Trace = serde_json::from_str(&recorded).unwrap();
    let mut engine = Engine::new(recorded.config.clone());
    for (i, step) in recorded.steps.iter().enumerate() {
        let got = engine.step(step.now, step.random, step.event.clone());
        assert_eq!(got, step.expect, "{name}: step {i} ({:?})", step.event);
    }
    assert_eq!(
        text,
        serde_json::to_string_pretty(&recorded).unwrap() + "\n",
        "{name}: the scenario changed; regenerate"
    );
}

fn push_done(request: u64, more: bool) -> Event {
    Event::PushDone { request, more }
}
fn pull_done(request: u64, has_more: bool) -> Event {
    Event::PullDone { request, has_more }
}
fn failed(request: u64, failure: Failure) -> Event {
    Event::Failed { request, failure }
}

#[test]
fn a_full_cycle_pushes_batches_then_pulls_pages() {
    check(
        "full_cycle",
        vec![
            (0, Event::Started { online: true }),
            (10, push_done(1, true)),
            (20, push_done(2, false)),
            (30, pull_done(3, true)),
            (40, pull_done(4, false)),
            (
                300_040,
                Event::TimerFired {
                    timer: Timer::Interval,
                },
            ),
            (300_050, push_done(5, false)),
            (300_060, pull_done(6, false)),
        ],
    );
}

#[test]
fn offline_nothing_is_sent_and_online_syncs_at_once() {
    check(
        "offline_then_online",
        vec![
            (0, Event::Started { online: false }),
            (5, Event::LocalWrite),
            (6, Event::SyncRequested { groups: vec![] }),
            (7, Event::Visible),
            (9, Event::Online),
            (20, push_done(1, false)),
            (30, Event::Offline),
            (31, pull_done(2, true)),
            (40, Event::Online),
            (50, push_done(3, false)),
            (60, pull_done(4, false)),
        ],
    );
}

#[test]
fn failures_back_off_exponentially_and_online_resets() {
    check(
        "backoff",
        vec![
            (0, Event::Started { online: true }),
            (10, failed(1, Failure::Server { status: 503 })),
            (
                1_010,
                Event::TimerFired {
                    timer: Timer::Backoff,
                },
            ),
            (1_020, failed(2, Failure::Network)),
            (
                2_520,
                Event::TimerFired {
                    timer: Timer::Backoff,
                },
            ),
            (
                2_530,
                failed(
                    3,
                    Failure::Malformed {
                        message: "unexpected end of JSON".into(),
                    },
                ),
            ),
            (2_600, Event::Visible),
            (2_700, Event::Online),
            (2_710, push_done(4, false)),
            (2_720, pull_done(5, false)),
        ],
    );
}

#[test]
fn a_401_refreshes_the_token_once_then_reports_unauthorized() {
    check(
        "unauthorized",
        vec![
            (0, Event::Started { online: true }),
            (10, failed(1, Failure::Unauthorized)),
            (20, Event::TokenRefreshed { ok: true }),
            (30, push_done(2, false)),
            (40, failed(3, Failure::Unauthorized)),
            (50, Event::LocalWrite),
            (60, Event::SyncRequested { groups: vec![] }),
            (70, failed(4, Failure::Unauthorized)),
            (80, Event::TokenRefreshed { ok: false }),
        ],
    );
}

/// Another user's token: like a 401 (one refresh, then stop retrying), but reported as
/// `user_mismatch` whether the new token is refused again or none comes.
#[test]
fn another_users_token_asks_for_a_new_one_then_reports_user_mismatch() {
    let mismatch = || Failure::UserMismatch {
        message: "this store belongs to user 'alice'".into(),
    };
    check(
        "user_mismatch",
        vec![
            (0, Event::Started { online: true }),
            (10, failed(1, mismatch())),
            (20, Event::TokenRefreshed { ok: true }),
            (30, failed(2, mismatch())),
            (40, Event::LocalWrite),
            (50, Event::SyncRequested { groups: vec![] }),
            (60, failed(3, mismatch())),
            (70, Event::TokenRefreshed { ok: false }),
        ],
    );
}

#[test]
fn writes_are_debounced_and_writes_during_a_cycle_run_another() {
    check(
        "debounce",
        vec![
            (0, Event::Started { online: true }),
            (10, push_done(1, false)),
            (20, pull_done(2, false)),
            (100, Event::LocalWrite),
            (400, Event::LocalWrite),
            (
                1_400,
                Event::TimerFired {
                    timer: Timer::Debounce,
                },
            ),
            (1_410, Event::LocalWrite),
            // A write's cycle only pushes: no group's interval has passed.
            (1_420, push_done(3, false)),
            (1_430, push_done(4, false)),
        ],
    );
}

#[test]
fn each_sync_group_pulls_on_its_own_interval() {
    // Group 0 every 5 s, group 1 once a day: group 0's timer pulls group 0 alone; a
    // write pulls nothing; sync() pulls both; a day later both are due.
    let config = Config {
        group_intervals_ms: vec![5_000, 86_400_000],
        ..config(true)
    };
    check_config(
        "groups",
        config,
        vec![
            (0, Event::Started { online: true }),
            (10, push_done(1, false)),
            (20, pull_done(2, false)),
            (
                5_020,
                Event::TimerFired {
                    timer: Timer::Interval,
                },
            ),
            (5_030, push_done(3, false)),
            (5_040, pull_done(4, false)),
            (6_000, Event::LocalWrite),
            (
                7_000,
                Event::TimerFired {
                    timer: Timer::Debounce,
                },
            ),
            (7_010, push_done(5, false)),
            (8_000, Event::SyncRequested { groups: vec![] }),
            (8_010, push_done(6, false)),
            (8_020, pull_done(7, false)),
            (9_000, Event::SyncRequested { groups: vec![1] }),
            (9_010, push_done(8, false)),
            // A pull that fails wants its group again; a trigger during it waits.
            (9_020, failed(9, Failure::Network)),
            (
                9_770,
                Event::TimerFired {
                    timer: Timer::Backoff,
                },
            ),
            (9_780, push_done(10, false)),
            (9_790, pull_done(11, false)),
            // A day on, both groups are due: one pull of every table.
            (
                86_410_000,
                Event::TimerFired {
                    timer: Timer::Interval,
                },
            ),
            (86_410_010, push_done(12, false)),
            (86_410_020, pull_done(13, false)),
        ],
    );
}

#[test]
fn late_and_duplicated_responses_are_ignored() {
    check(
        "stale_responses",
        vec![
            (0, Event::Started { online: true }),
            (10, failed(1, Failure::Timeout)),
            (20, push_done(1, false)),
            (
                1_010,
                Event::TimerFired {
                    timer: Timer::Backoff,
                },
            ),
            (1_020, push_done(2, false)),
            (1_030, push_done(2, false)),
            (1_040, pull_done(3, false)),
            (1_050, pull_done(3, false)),
            (1_060, failed(3, Failure::Network)),
        ],
    );
}

#[test]
fn with_auto_sync_off_only_sync_requests_start_cycles() {
    check_with(
        "manual",
        false,
        vec![
            (0, Event::Started { online: true }),
            (5, Event::LocalWrite),
            (6, Event::Visible),
            (7, Event::Offline),
            (8, Event::Online),
            (9, Event::SyncRequested { groups: vec![] }),
            (20, push_done(1, false)),
            (25, Event::LocalWrite),
            (30, pull_done(2, false)),
            // A failure sets no backoff timer: the state says error until sync() again.
            (40, Event::SyncRequested { groups: vec![] }),
            (41, failed(3, Failure::Server { status: 503 })),
            (60_000, Event::Visible),
            (60_001, Event::SyncRequested { groups: vec![] }),
        ],
    );
}

#[test]
fn a_server_that_keeps_asking_to_start_over_fails_the_sync() {
    // Two resyncs in one cycle are the protocol's (a moved horizon, then a profile change
    // met on the way); a third fails the sync as malformed and backs off, instead of a
    // download going in circles. The next cycle may resync again.
    let restarted = |request| Event::PullRestarted { request };
    check(
        "restart_limit",
        vec![
            (0, Event::Started { online: true }),
            (10, push_done(1, false)),
            (20, pull_done(2, true)),
            (30, restarted(3)),
            (40, pull_done(4, true)),
            (50, restarted(5)),
            (60, restarted(6)),
            (
                1_060,
                Event::TimerFired {
                    timer: Timer::Backoff,
                },
            ),
            (1_070, push_done(7, false)),
            (1_080, restarted(8)),
            (1_090, pull_done(9, false)),
        ],
    );
}
