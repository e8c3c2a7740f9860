# wasm-toolchain.sh: the pinned nightly Rust that builds the published .wasm (sourced by setup.sh and build.sh).
#
# Why a nightly: the size budget (issue 16: <= 250 kB gzipped, wasm + glue) needs it. With storage on
# indexed_db_futures and the boundary on serde-wasm-bindgen, a stable build is over it; rebuilding the standard
# library for size (`-Z build-std` with `optimize_for_size`) and letting a panic trap at once
# (`-C panic=immediate-abort`, `-Z location-detail=none`) brings it under (the kB it buys: docs/performance.md, *Size*).
# A panic in wasm32-unknown-unknown prints nothing either way (there is no stderr), so nothing a
# user sees changes: the module traps with "unreachable". Tests, clippy and the server stay on stable; only
# `scripts/build.sh` uses this one. Pinned to a date so a build today and a build next year make the same bytes.
# To build with stable instead (larger, same behaviour): WASM_TOOLCHAIN=stable scripts/build.sh
WASM_TOOLCHAIN="${WASM_TOOLCHAIN:-nightly-2026-10-30}"
