#!/usr/bin/env bash
# build.sh: builds the wasm npm package with wasm-pack and the pinned nightly of scripts/wasm-toolchain.sh: pkg/
# (--target bundler) and pkg-web/ (--target web). Both come from one cargo build, so they hold the same .wasm;
# scripts/pack.mjs ships it once with both glues. The demo, the tests and the benchmarks load these two directories.
# Usage: scripts/build.sh [bundler] [web]   (no argument: bundler; `all`: both)
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
  cargo_args=(-- -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size)
  # Only the wasm target gets these (cargo applies RUSTFLAGS to build scripts and proc macros only
  # without --target, and wasm-pack always passes --target).
  RUSTFLAGS="$RUSTFLAGS -Z unstable-options -C panic=immediate-abort -Z location-detail=none"
fi

targets=("$@")
[ "${#targets[@]}" -eq 0 ] && targets=(bundler)
[ "${targets[*]}" = all ] && targets=(bundler web)

for t in "${targets[@]}"; do
  case "$t" in
    bundler) target=bundler out=pkg ;;
    web) target=web out=pkg-web ;;
    *) echo "build.sh: unknown target '$t' (bundler|web|all)" >&2; exit 2 ;;
  esac
  # `wasm-release` (Cargo.toml): the release profile tuned for size (opt-level "z", panic = "abort").
  echo "build: wasm-pack build --profile wasm-release --target $target --out-dir $out ($(rustc --version), $(wasm-opt --version))"
  # wasm-pack writes the snippets of this build but never deletes those of earlier ones (an `inline_js` that
  # moved leaves its old inlineN.js), and scripts/pack.mjs ships the whole directory.
  rm -rf "$out/snippets"
  wasm-pack --log-level warn build --profile wasm-release --target "$target" --out-dir "$out" . "${cargo_args[@]}"
  # The typed classes of src/api/types.d.ts (OfflineStore<Schema>, Table<R>) replace wasm-bindgen's untyped ones.
  node scripts/typings.mjs "$out/offline_tables.d.ts"
done
