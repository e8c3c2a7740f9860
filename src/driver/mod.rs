//! The driver: turns browser events into store events (and, with sync, engine events).

mod board;
pub mod events;
pub mod initial;
pub mod leadership;
pub mod live;
pub mod pending;
pub mod sync;
mod timers;
