//! Pure core of offline-tables: the offline profile, the query language, keys and
//! value ordering, and outbox coalescing. No wasm or browser dependency, so it is
//! tested natively and shared by the wasm crate and the reference server.

pub mod by_name;
pub mod conflict;
pub mod engine;
pub mod error;
pub mod expand;
pub mod keys;
pub mod live;
pub mod outbox;
pub mod paging;
pub mod profile;
pub mod protocol;
pub mod query;
pub mod rest;
pub mod scope;
pub mod sort;
pub mod units;
pub mod value;

pub use error::{DomError, Error, ErrorCode, Origin, Result};
pub use outbox::{coalesce, Base, LogEntry, Mutation, MutationOp};
pub use profile::{ConflictPolicy, Profile, Scope, TableDef};
pub use query::{Filter, Query};
pub use value::Key;
