//! The engine's timers in the page: at most one pending per kind (debounce, interval,
//! backoff), set and cleared as the engine's instructions say. When one fires is the
//! engine's to decide; this only keeps the browser timeouts.

use gloo_timers::callback::Timeout;
use offline_tables_core::engine::Timer;
use std::cell::RefCell;
use std::rc::Rc;

/// The pending timeout of each kind, by `slot` (an array: a map type would be more
/// wasm). Shared with the timeouts themselves, which leave their slot when they fire.
#[derive(Default)]
pub(super) struct Timers(Rc<RefCell<[Option<Timeout>; 3]>>);

fn slot(t: Timer) -> usize {
    match t {
        Timer::Debounce => 0,
        Timer::Interval => 1,
        Timer::Backoff => 2,
    }
}

impl Timers {
    /// Calls `fire` in `ms` milliseconds, in place of the pending timeout of this kind
    /// (which so never fires).
    pub(super) fn set(&self, timer: Timer, ms: u64, fire: impl FnOnce() + 'static) {
        let slots = Rc::downgrade(&self.0);
        let ms = ms.min(u32::MAX as u64) as u32;
        let t = Timeout::new(ms, move || {
            if let Some(slots) = slots.upgrade() {
                // Forgotten, not dropped: this callback is the timeout's own closure.
                slots.borrow_mut()[slot(timer)].take().map(|t| t.forget());
            }
            fire();
        });
        self.0.borrow_mut()[slot(timer)] = Some(t);
    }

    /// The pending timeout of this kind, if any, never fires.
    pub(super) fn clear(&self, timer: Timer) {
        self.0.borrow_mut()[slot(timer)] = None;
    }

    /// No pending timeout fires.
    pub(super) fn clear_all(&self) {
        *self.0.borrow_mut() = Default::default();
    }
}
