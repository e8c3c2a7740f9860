//! The sync engine: a pure state machine. The driver feeds it events (local writes,
//! network changes, timers, visibility, manual requests, responses and failures) with
//! the current time and a random number, and carries out the instructions it returns
//! (send a push or a pull, set a timer, refresh the token, publish the status, finish a
//! sync). It holds no data and does no I/O, so any schedule replays exactly in a test.
//!
//! A sync cycle pushes first (batch after batch until the outbox is drained), then pulls
//! (page after page until the server has no more) the sync groups it wants: tables pull
//! in groups (`Profile::sync_groups`), each on its own interval. A start and `sync()`
//! want every group; writes, the network coming back, visibility and the interval timer
//! want the groups whose interval has passed since their last pull, and a cycle that
//! wants none only pushes. Failures back off exponentially with
//! jitter, capped, and the backoff resets on success or when the network comes back.
//! Offline, nothing is sent and nothing is an error. Responses to requests the engine no
//! longer waits for (duplicated, late) are ignored.

use crate::error::ErrorCode;
use groups::{Group, Want};
use serde::{Deserialize, Serialize};

mod groups;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// Quiet time after a local write before pushing.
    pub debounce_ms: u64,
    /// Time between syncs while online, for a single group.
    pub interval_ms: u64,
    /// The interval of each sync group, by group index; empty: one group, `interval_ms`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_intervals_ms: Vec<u64>,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// Sync by itself (on start, writes, network back, visibility, the interval); when
    /// false, only `sync()` starts a cycle.
    #[serde(default = "yes")]
    pub auto: bool,
}

fn yes() -> bool {
    true
}

impl Default for Config {
    fn default() -> Self {
        Config {
            debounce_ms: 1_000,
            interval_ms: 300_000,
            backoff_base_ms: 1_000,
            backoff_max_ms: 300_000,
            auto: true,
            group_intervals_ms: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Timer {
    Debounce,
    Interval,
    Backoff,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Failure {
    /// No connection, DNS, CORS...
    Network,
    /// The request timed out (the driver aborted it).
    Timeout,
    /// A 5xx or unexpected status.
    Server { status: u16 },
    /// A 401: the token expired or is wrong.
    Unauthorized,
    /// A response that does not parse (truncated, not JSON, wrong shape).
    Malformed { message: String },
    /// The local database failed while preparing or applying.
    Storage { message: String },
    /// The browser's storage quota is too small: for the first download (checked before
    /// it starts) or for a page being applied (rolled back).
    QuotaExceeded { message: String },
    /// The server refused the token as another user's than the store's (a 403
    /// `user_mismatch`, or a pull answered for another user): nothing is sent or
    /// applied until a token of the store's user comes.
    UserMismatch { message: String },
}

impl Failure {
    /// What went wrong, in words.
    pub fn describe(&self) -> String {
        match self {
            Failure::Network => "the server could not be reached".into(),
            Failure::Timeout => "the request timed out".into(),
            Failure::Server { status } => format!("the server answered {status}"),
            Failure::Unauthorized => "the server refused the token (401)".into(),
            Failure::Malformed { message } => {
                format!("the server's response was malformed: {message}")
            }
            Failure::Storage { message } => format!("the local database failed: {message}"),
            Failure::QuotaExceeded { message } => message.clone(),
            Failure::UserMismatch { message } => message.clone(),
        }
    }

    /// A stable code for apps to act on (the status's `errorCode`).
    pub fn code(&self) -> ErrorCode {
        match self {
            Failure::Network => ErrorCode::Network,
            Failure::Timeout => ErrorCode::Timeout,
            Failure::Server { .. } => ErrorCode::Server,
            Failure::Unauthorized => ErrorCode::Unauthorized,
            Failure::Malformed { .. } => ErrorCode::Malformed,
            Failure::Storage { .. } => ErrorCode::Storage,
            Failure::QuotaExceeded { .. } => ErrorCode::QuotaExceeded,
            Failure::UserMismatch { .. } => ErrorCode::UserMismatch,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Event {
    /// The store opened.
    Started {
        online: bool,
    },
    /// A local write committed (in this tab or another).
    LocalWrite,
    Online,
    Offline,
    /// The page became visible.
    Visible,
    TimerFired {
        timer: Timer,
    },
    /// `store.sync()` was called, for the sync groups `groups` (empty: every group).
    SyncRequested {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        groups: Vec<usize>,
    },
    /// A push batch was answered and its outcomes applied; `more`: the outbox still holds
    /// mutations not yet sent.
    PushDone {
        request: u64,
        more: bool,
    },
    /// A pull page was applied with its checkpoint.
    PullDone {
        request: u64,
        has_more: bool,
    },
    /// The server asked the store to start over (a resync, or a new profile that needs
    /// one): the store was reset and pulls again from no checkpoint. More than
    /// `MAX_RESTARTS` in one cycle fail the sync as `malformed`, so a server that keeps
    /// asking cannot keep a download going in circles.
    PullRestarted {
        request: u64,
    },
    Failed {
        request: u64,
        failure: Failure,
    },
    /// The app's `getToken()` finished.
    TokenRefreshed {
        ok: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SyncState {
    Idle,
    Syncing,
    Offline,
    Error,
    Unauthorized,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub online: bool,
    pub state: SyncState,
    pub last_sync_at: Option<u64>,
    pub last_error: Option<String>,
    /// The stable code of `last_error` (see `Failure::code`).
    pub error_code: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Finish {
    /// The cycle pushed and pulled everything.
    Completed,
    /// Offline: nothing was attempted (not an error).
    Offline,
    /// The cycle failed; it will be retried (see the status's `lastError`).
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Instruction {
    /// Send the next push batch: the oldest unacknowledged mutations, the same ones again
    /// if the previous attempt got no answer. An empty outbox answers `PushDone { more:
    /// false }` without a request.
    SendPush {
        request: u64,
    },
    /// Send a pull of the sync groups `groups` (empty: every group), each table from
    /// its stored checkpoint.
    SendPull {
        request: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        groups: Vec<usize>,
    },
    SetTimer {
        timer: Timer,
        at: u64,
    },
    ClearTimer {
        timer: Timer,
    },
    /// Call the app's `getToken()` and answer `TokenRefreshed`.
    RefreshToken,
    PublishStatus {
        status: Status,
    },
    /// Resolve the pending `sync()` calls.
    FinishSync {
        finish: Finish,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    Idle,
    Pushing(u64),
    Pulling(u64),
    /// Waiting for `getToken()` before retrying the cycle.
    RefreshingToken,
    /// Waiting for the backoff timer.
    BackingOff,
    /// The token was refused and refreshing failed: wait for a new token or a request.
    Unauthorized,
}

/// The engine. `step(now, random, event)` returns what to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Engine {
    config: Config,
    online: bool,
    phase: Phase,
    /// Another cycle is due after this one (a write or a trigger arrived meanwhile).
    again: bool,
    /// `sync()` calls waiting for the end of a cycle.
    waiting: bool,
    failures: u32,
    token_refreshed: bool,
    /// What made the engine ask for a new token (reported if none comes).
    #[serde(default)]
    refused: Option<Failure>,
    next_request: u64,
    /// Resyncs the server asked for in this cycle (`Event::PullRestarted`).
    #[serde(default)]
    restarts: u32,
    /// Per sync group: when its last pull ran to its end, and whether a cycle should
    /// pull it.
    #[serde(default)]
    groups: Vec<Group>,
    /// The groups of the pull in progress.
    #[serde(default)]
    pulling: Vec<usize>,
    status: Status,
}

/// Resyncs one cycle may make before it fails: one is the protocol's own (a horizon or a
/// profile moved), a second can follow a profile change met during the first.
pub const MAX_RESTARTS: u32 = 2;

impl Engine {
    pub fn new(config: Config) -> Engine {
        Engine {
            groups: Group::all(&config),
            pulling: Vec::new(),
            config,
            online: false,
            phase: Phase::Idle,
            again: false,
            waiting: false,
            failures: 0,
            token_refreshed: false,
            refused: None,
            next_request: 1,
            restarts: 0,
            status: Status {
                online: false,
                state: SyncState::Offline,
                last_sync_at: None,
                last_error: None,
                error_code: None,
            },
        }
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    /// True while a cycle is running or about to retry.
    pub fn busy(&self) -> bool {
        !matches!(self.phase, Phase::Idle | Phase::Unauthorized)
    }

    /// Feeds one event; `random` is uniform in [0, 1) (for jitter).
    pub fn step(&mut self, now: u64, random: f64, event: Event) -> Vec<Instruction> {
        let mut out = Vec::new();
        let before = self.status.clone();
        match event {
            Event::Started { online } => {
                self.online = online;
                if self.config.auto {
                    if online {
                        out.push(self.interval(now));
                    }
                    self.want(now, Want::All);
                    self.request(now, &mut out);
                }
            }
            Event::LocalWrite if !self.config.auto => {}
            Event::LocalWrite => {
                if self.busy() {
                    self.again = true;
                } else if self.online && self.phase != Phase::Unauthorized {
                    out.push(Instruction::SetTimer {
                        timer: Timer::Debounce,
                        at: now + self.config.debounce_ms,
                    });
                }
            }
            Event::Online => {
                self.online = true;
                self.failures = 0;
                if self.phase == Phase::BackingOff {
                    out.push(Instruction::ClearTimer {
                        timer: Timer::Backoff,
                    });
                    self.phase = Phase::Idle;
                }
                if self.config.auto {
                    out.push(self.interval(now));
                    self.want(now, Want::Due);
                    self.request(now, &mut out);
                }
            }
            Event::Offline => {
                self.online = false;
                if self.phase == Phase::BackingOff {
                    out.push(Instruction::ClearTimer {
                        timer: Timer::Backoff,
                    });
                    self.phase = Phase::Idle;
                }
                out.push(Instruction::ClearTimer {
                    timer: Timer::Interval,
                });
                // A request in flight will fail and be handled then.
            }
            Event::Visible if self.config.auto => {
                self.want(now, Want::Due);
                self.request(now, &mut out)
            }
            Event::Visible => {}
            Event::SyncRequested { groups } => {
                self.waiting = true;
                match groups.is_empty() {
                    true => self.want(now, Want::All),
                    false => self.want(now, Want::These(&groups)),
                }
                // Asked for explicitly: retry now rather than at the end of the backoff.
                if self.phase == Phase::BackingOff {
                    out.push(Instruction::ClearTimer {
                        timer: Timer::Backoff,
                    });
                    self.phase = Phase::Idle;
                }
                self.request(now, &mut out);
            }
            Event::TimerFired { timer } => match timer {
                Timer::Debounce => {
                    self.want(now, Want::Due);
                    self.request(now, &mut out)
                }
                Timer::Interval => {
                    // Re-armed when the cycle ends, from the pulls it made.
                    self.want(now, Want::Due);
                    self.request(now, &mut out);
                }
                Timer::Backoff => {
                    if self.phase == Phase::BackingOff {
                        self.phase = Phase::Idle;
                        self.request(now, &mut out);
                    }
                }
            },
            Event::PushDone { request, more } => {
                if self.phase == Phase::Pushing(request) {
                    self.failures = 0;
                    if !self.online {
                        self.pause_offline(&mut out);
                    } else if more {
                        self.send_push(&mut out);
                    } else if self.groups.iter().any(|g| g.wanted) {
                        self.begin_pull(|g| g.wanted);
                        self.send_pull(&mut out);
                    } else {
                        // No group is due: the cycle only pushed.
                        self.cycle_done(now, &mut out);
                    }
                }
            }
            Event::PullDone { request, has_more } => {
                if self.phase == Phase::Pulling(request) {
                    self.failures = 0;
                    if has_more && !self.online {
                        self.pause_offline(&mut out);
                    } else if has_more {
                        self.send_pull(&mut out);
                    } else {
                        for &g in &self.pulling {
                            self.groups[g].pulled_at = Some(now);
                        }
                        self.pulling.clear();
                        self.cycle_done(now, &mut out);
                    }
                }
            }
            Event::PullRestarted { request } => {
                if self.phase == Phase::Pulling(request) {
                    self.restarts += 1;
                    if self.restarts > MAX_RESTARTS {
                        let message = format!(
                            "the server asked to start over {} times in one sync",
                            self.restarts
                        );
                        self.fail(now, random, Failure::Malformed { message }, &mut out);
                    } else if !self.online {
                        self.pause_offline(&mut out);
                    } else {
                        // The store started every table over: pull them all.
                        self.begin_pull(|_| true);
                        self.send_pull(&mut out);
                    }
                }
            }
            Event::Failed { request, failure } => {
                let current =
                    matches!(self.phase, Phase::Pushing(r) | Phase::Pulling(r) if r == request);
                if current {
                    self.fail(now, random, failure, &mut out);
                }
            }
            Event::TokenRefreshed { ok } => {
                if self.phase == Phase::RefreshingToken {
                    self.phase = Phase::Idle;
                    if ok {
                        self.request(now, &mut out);
                    } else {
                        self.phase = Phase::Unauthorized;
                        let refused = self.refused.take().unwrap_or(Failure::Unauthorized);
                        self.status.last_error = Some(match &refused {
                            Failure::Unauthorized => {
                                "the token was refused and could not be refreshed".into()
                            }
                            other => other.describe(),
                        });
                        self.status.error_code = Some(refused.code().as_str().into());
                        self.finish(Finish::Failed, &mut out);
                    }
                }
            }
        }
        self.refresh_status(before, &mut out);
        out
    }

    /// The cycle pushed and pulled what it wanted: idle, or the next cycle if a trigger
    /// came meanwhile.
    fn cycle_done(&mut self, now: u64, out: &mut Vec<Instruction>) {
        self.phase = Phase::Idle;
        self.token_refreshed = false;
        self.status.last_sync_at = Some(now);
        self.status.last_error = None;
        self.status.error_code = None;
        if self.config.auto && self.online {
            // Re-armed from the pulls just made.
            out.push(self.interval(now));
        }
        if self.again {
            self.again = false;
            self.start_cycle(out);
        } else {
            self.finish(Finish::Completed, out);
        }
    }

    /// A trigger: start a cycle now if possible, else remember to run one.
    fn request(&mut self, _now: u64, out: &mut Vec<Instruction>) {
        match self.phase {
            Phase::Pushing(_) | Phase::Pulling(_) | Phase::RefreshingToken => self.again = true,
            Phase::BackingOff => {}
            Phase::Idle | Phase::Unauthorized => {
                if !self.online {
                    self.finish(Finish::Offline, out);
                    return;
                }
                if self.phase == Phase::Unauthorized {
                    // A new trigger after a refused token: try once more.
                    self.token_refreshed = false;
                }
                out.push(Instruction::ClearTimer {
                    timer: Timer::Debounce,
                });
                self.start_cycle(out);
            }
        }
    }

    fn start_cycle(&mut self, out: &mut Vec<Instruction>) {
        self.restarts = 0;
        if self.online {
            self.send_push(out);
        } else {
            self.pause_offline(out);
        }
    }

    fn send_push(&mut self, out: &mut Vec<Instruction>) {
        let request = self.take_request();
        self.phase = Phase::Pushing(request);
        out.push(Instruction::SendPush { request });
    }

    fn send_pull(&mut self, out: &mut Vec<Instruction>) {
        let request = self.take_request();
        self.phase = Phase::Pulling(request);
        let groups = match self.pulling.len() == self.groups.len() {
            true => Vec::new(),
            false => self.pulling.clone(),
        };
        out.push(Instruction::SendPull { request, groups });
    }

    fn take_request(&mut self) -> u64 {
        let r = self.next_request;
        self.next_request += 1;
        r
    }

    /// The network went away mid-cycle: stop here; `Online` starts a new cycle, which
    /// resumes where this one stopped (the outbox and the checkpoint say where).
    fn pause_offline(&mut self, out: &mut Vec<Instruction>) {
        self.abandon_pull();
        self.phase = Phase::Idle;
        self.again = false;
        self.finish(Finish::Offline, out);
    }

    fn finish(&mut self, finish: Finish, out: &mut Vec<Instruction>) {
        if self.waiting {
            self.waiting = false;
            out.push(Instruction::FinishSync { finish });
        }
    }

    fn fail(&mut self, now: u64, random: f64, failure: Failure, out: &mut Vec<Instruction>) {
        self.abandon_pull();
        self.phase = Phase::Idle;
        // A refused or foreign token: ask the app for a new one once, then wait for a
        // new token or request instead of retrying with the same one.
        if matches!(
            failure,
            Failure::Unauthorized | Failure::UserMismatch { .. }
        ) {
            if self.token_refreshed {
                self.phase = Phase::Unauthorized;
                self.status.last_error = Some(failure.describe());
                self.status.error_code = Some(failure.code().as_str().into());
                self.finish(Finish::Failed, out);
            } else {
                self.token_refreshed = true;
                self.refused = Some(failure);
                self.phase = Phase::RefreshingToken;
                out.push(Instruction::RefreshToken);
            }
            return;
        }
        if !self.online {
            // Going offline is not an error: the next `Online` resumes.
            self.finish(Finish::Offline, out);
            return;
        }
        self.failures += 1;
        self.status.last_error = Some(failure.describe());
        self.status.error_code = Some(failure.code().as_str().into());
        let exp = self
            .config
            .backoff_base_ms
            .saturating_mul(1u64 << (self.failures - 1).min(20))
            .min(self.config.backoff_max_ms);
        // Full jitter between half and all of the delay spreads retries of many clients.
        let delay = exp / 2 + ((exp / 2) as f64 * random.clamp(0.0, 1.0)) as u64;
        self.phase = Phase::BackingOff;
        // Without auto sync, only the next `sync()` retries.
        if self.config.auto {
            out.push(Instruction::SetTimer {
                timer: Timer::Backoff,
                at: now + delay.max(1),
            });
        }
        self.finish(Finish::Failed, out);
    }

    fn refresh_status(&mut self, before: Status, out: &mut Vec<Instruction>) {
        self.status.online = self.online;
        self.status.state = match self.phase {
            Phase::Unauthorized => SyncState::Unauthorized,
            _ if !self.online => SyncState::Offline,
            Phase::Pushing(_) | Phase::Pulling(_) | Phase::RefreshingToken => SyncState::Syncing,
            Phase::BackingOff => SyncState::Error,
            Phase::Idle => SyncState::Idle,
        };
        if self.status != before {
            out.push(Instruction::PublishStatus {
                status: self.status.clone(),
            });
        }
    }
}
