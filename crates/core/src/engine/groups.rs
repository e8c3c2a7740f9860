//! Sync groups in the engine: when each group last pulled to its end, which ones a
//! cycle wants, the pull in progress, and the interval timer armed from them.

use super::{Config, Engine, Instruction, Timer};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Group {
    pub(super) interval_ms: u64,
    pub(super) pulled_at: Option<u64>,
    pub(super) wanted: bool,
}

/// Which groups a trigger wants pulled.
pub(super) enum Want<'a> {
    All,
    /// Those whose interval has passed since their last pull.
    Due,
    These(&'a [usize]),
}

impl Group {
    /// One group per interval of `config` (one group at `interval_ms` when it has none).
    pub(super) fn all(config: &Config) -> Vec<Group> {
        let intervals = match config.group_intervals_ms.is_empty() {
            true => vec![config.interval_ms],
            false => config.group_intervals_ms.clone(),
        };
        intervals
            .into_iter()
            .map(|interval_ms| Group {
                interval_ms,
                pulled_at: None,
                wanted: false,
            })
            .collect()
    }
}

impl Engine {
    /// The interval timer, at the next time a group's interval passes (each group from
    /// its last pull; one never pulled counts from now).
    pub(super) fn interval(&self, now: u64) -> Instruction {
        let at = self
            .groups
            .iter()
            .map(|g| {
                g.pulled_at
                    .unwrap_or(now)
                    .max(now.saturating_sub(g.interval_ms))
                    + g.interval_ms
            })
            .min()
            .unwrap_or(now + self.config.interval_ms);
        Instruction::SetTimer {
            timer: Timer::Interval,
            at: at.max(now + 1),
        }
    }

    /// The groups `pick` chooses become the pull in progress; wanted again if it fails,
    /// while triggers from now on want groups for the next cycle.
    pub(super) fn begin_pull(&mut self, pick: impl Fn(&Group) -> bool) {
        self.pulling.clear();
        for (i, g) in self.groups.iter_mut().enumerate() {
            if pick(g) {
                g.wanted = false;
                self.pulling.push(i);
            }
        }
    }

    /// A pull stopped before its end: its groups are wanted again.
    pub(super) fn abandon_pull(&mut self) {
        for g in self.pulling.drain(..) {
            self.groups[g].wanted = true;
        }
    }

    pub(super) fn want(&mut self, now: u64, which: Want) {
        for (i, g) in self.groups.iter_mut().enumerate() {
            g.wanted |= match which {
                Want::All => true,
                Want::Due => g.pulled_at.map_or(true, |t| now >= t + g.interval_ms),
                Want::These(these) => these.contains(&i),
            };
        }
    }
}
