#!/usr/bin/env bash
# build.sh: builds the wasm npm package's builds with wasm-pack. With every feature (the fetch interceptor too):
# pkg/ (--target bundler, the default) and pkg-web/ (--target web), which the demo and the tests load and the package
# ships as `offline-tables/full`; without the `intercept` feature: pkg-core/ and pkg-web-core/, the package's
# default entry `offline-tables` (scripts/pack.mjs assembles the package).
# Usage: scripts/build.sh [bundler] [web] [core-bundler] [core-web]   (`all` = the four)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# wasm-pack runs the first `wasm-opt` on PATH. Debian's binaryen 108 silently breaks wasm-bindgen
# modules (it exports the funcref table as `__wbindgen_externrefs`, so loading fails with
# "WebAssembly.Table.set(): Argument 1 is invalid for table"); use the npm `binaryen` one.
export PATH="$ROOT/node_modules/binaryen/bin:$HOME/.cargo/bin:$PATH"
if [ ! -x "$ROOT/node_modules/binaryen/bin/wasm-opt" ]; then
  echo "build.sh: node_modules/binaryen is missing: run scripts/setup.sh first" >&2
  exit 1
fi

# The published .wasm keeps source paths in its panic messages: make them the same wherever it is built
# (`/crates.io/<registry>/<crate>-<version>/...`, this repository's as relative paths), not the builder's home.
REGISTRY="${CARGO_HOME:-$HOME/.cargo}/registry/src"
export RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$REGISTRY=/crates.io --remap-path-prefix=$ROOT=/offline-tables"

# The pinned nightly and its size flags (why, and how to build with stable: scripts/wasm-toolchain.sh).
# shellcheck source=scripts/wasm-toolchain.sh
source "$ROOT/scripts/wasm-toolchain.sh"
cargo_args=()
if [ "$WASM_TOOLCHAIN" != stable ]; then
  export RUSTUP_TOOLCHAIN="$WASM_TOOLCHAIN"
  cargo_args=(-Z build-std=std,panic_abort -Z build-std-features=optimize_for_size)
  # Only the wasm target gets these (cargo applies RUSTFLAGS to build scripts and proc macros only
  # without --target, and wasm-pack always passes --target).
  RUSTFLAGS="$RUSTFLAGS -Z unstable-options -C panic=immediate-abort -Z location-detail=none"
fi

targets=("$@")
[ "${#targets[@]}" -eq 0 ] && targets=(bundler)
[ "${targets[*]}" = all ] && targets=(bundler web core-bundler core-web)

for t in "${targets[@]}"; do
  features=()
  case "$t" in
    bundler) target=bundler out=pkg ;;
    web) target=web out=pkg-web ;;
    core-bundler) target=bundler out=pkg-core features=(--no-default-features) ;;
    core-web) target=web out=pkg-web-core features=(--no-default-features) ;;
    *) echo "build.sh: unknown target '$t' (bundler|web|core-bundler|core-web|all)" >&2; exit 2 ;;
  esac
  # `wasm-release` (Cargo.toml): the release profile tuned for size (opt-level "z", panic = "abort").
  echo "build: wasm-pack build --profile wasm-release --target $target --out-dir $out ${features[*]} ($(rustc --version), $(wasm-opt --version))"
  wasm-pack --log-level warn build --profile wasm-release --target "$target" --out-dir "$out" . -- "${features[@]}" "${cargo_args[@]}"
  # The wasm's imports get short names, in the .wasm and the glue (why: scripts/short-imports.mjs).
  glue=offline_tables_bg.js
  [ "$target" = web ] && glue=offline_tables.js
  node scripts/short-imports.mjs "$out" "$glue"
done
