//! offline-tables: an offline-first local store for progressive web apps. The app's
//! tables live in IndexedDB and are read and written locally, always; every write is
//! logged in an outbox, in the same transaction, for sync to push.

pub mod api;
pub mod driver;
pub mod error;
pub mod storage;
pub mod transport;

pub use api::{OfflineStore, Table};
pub use error::{Error, ErrorCode};
