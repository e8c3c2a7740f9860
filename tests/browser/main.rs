//! The browser tests: one test binary, so one compile of the shared helpers and one
//! headless Chromium for the whole suite (`scripts/browser-tests.sh`). Its modules mirror
//! `src/`; the helpers they share are in `tests/common`. wasm-bindgen-test runs the tests
//! one at a time, so a test that swaps a global (`globalThis.indexedDB` in
//! `storage::quota` and `storage::forced_close`) puts it back before the next starts.

// Only for wasm32: natively (`cargo test --workspace`) this binary would compile web-sys and
// every test for nothing, since wasm-bindgen-test's tests need a browser.
#![cfg(target_arch = "wasm32")]

#[path = "../common/mod.rs"]
mod common;

mod api;
mod driver;
mod error;
mod storage;
mod transport;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
