//! Tests of `src/api`: the store, its tables, queries and fetch interception.

mod intercept;
mod query;
mod store;
mod table;
mod transaction;
mod usage;
