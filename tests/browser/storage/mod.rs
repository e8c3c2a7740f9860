//! Tests of `src/storage` on real IndexedDB: the outbox, pull apply, push settlement,
//! index scans, schema upgrades, quota errors and connections the browser closes.

mod forced_close;
mod index_scan;
mod outbox;
mod pull_apply;
mod push_settle;
mod quota;
mod upgrade;
