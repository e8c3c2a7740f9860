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

/// The wasm's allocator: talc instead of Rust's default dlmalloc, for size (`docs/performance.md`,
/// *Size*, gives what it buys), with the same `npm run bench:sync` figures within noise (*Speed*).
/// Single-threaded wasm only: the build has no atomics.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
