//! Tests of `src/api`: the store, its tables, queries and fetch interception.

mod intercept;
pub mod live;
mod query;
mod store;
mod table;
mod transaction;
mod usage;
