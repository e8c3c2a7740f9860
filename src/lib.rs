//! offline-tables: an offline-first local store for progressive web apps. The app's
//! tables live in IndexedDB and are read and written locally, always; every write is
//! logged in an outbox, in the same transaction, for sync to push.

mod api;
mod driver;
mod error;
mod storage;
mod transport;

pub use api::{OfflineStore, Table};
pub use error::{DomError, Error, ErrorCode, Result, Thrown};

/// What the browser tests (`tests/browser`) reach below the JS API: the storage layer
/// (`OfflineStore::db`), a pulled page as the transport splits it, and what applying one
/// answers. Not part of the supported API: hidden from the docs, it may change in any
/// release.
#[doc(hidden)]
pub mod testing {
    pub use crate::error::{to_js, FromJs};
    pub use crate::storage::pull_apply::RemoteChange;
    pub use crate::storage::{Applied, Db};
    pub use crate::transport::Pulled;
}

/// The wasm's allocator: talc instead of Rust's default dlmalloc, for size (`docs/performance.md`,
/// *Size*, gives what it buys), with the same `npm run bench:sync` figures within noise (*Speed*).
/// Single-threaded wasm only: the build has no atomics.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
