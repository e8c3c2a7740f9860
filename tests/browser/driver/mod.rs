//! Tests of `src/driver`: change events, sync against the reference server, and a
//! store's binding to its user.

mod events;
mod live;
mod sync;
mod user_binding;
