#!/usr/bin/env bash
# setup.sh: idempotent installer for the wasm toolchain, headless Chromium and npm deps (fast when all present).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '%s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. wasm32 target
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "ok: rust target wasm32-unknown-unknown present"
else
  say "install: rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 1b. the pinned nightly that builds the published .wasm (why: scripts/wasm-toolchain.sh), with the
#     standard library's source (for -Z build-std) and the wasm32 target.
# shellcheck source=scripts/wasm-toolchain.sh
source "$ROOT/scripts/wasm-toolchain.sh"
if [ "$WASM_TOOLCHAIN" = stable ]; then
  say "ok: WASM_TOOLCHAIN=stable: the package builds with stable Rust"
elif rustup run "$WASM_TOOLCHAIN" rustc --version >/dev/null 2>&1 \
  && rustup component list --installed --toolchain "$WASM_TOOLCHAIN" | grep -q '^rust-src' \
  && rustup target list --installed --toolchain "$WASM_TOOLCHAIN" | grep -qx wasm32-unknown-unknown; then
  say "ok: rust $WASM_TOOLCHAIN with rust-src and wasm32-unknown-unknown present"
else
  say "install: rust $WASM_TOOLCHAIN with rust-src and wasm32-unknown-unknown (for the package build)"
  rustup toolchain install "$WASM_TOOLCHAIN" --profile minimal --component rust-src --target wasm32-unknown-unknown
fi

# 2. wasm-pack
if command -v wasm-pack >/dev/null 2>&1; then
  say "ok: $(wasm-pack --version) present"
else
  say "install: wasm-pack (cargo install, ~2 min)"
  cargo install wasm-pack --locked
fi

# 3. wasm-bindgen-cli at exactly the version of wasm-bindgen in Cargo.lock
WB_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if [ -z "$WB_VERSION" ]; then
  say "error: no wasm-bindgen package in Cargo.lock" >&2
  exit 1
fi
have_wb="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have_wb" = "$WB_VERSION" ]; then
  say "ok: wasm-bindgen-cli $WB_VERSION present"
else
  say "install: wasm-bindgen-cli $WB_VERSION (cargo install, ~4 min; had '${have_wb:-none}')"
  if ! cargo install wasm-bindgen-cli --version "$WB_VERSION" --locked --force; then
    # The crate's own lockfile can pin a dependency the registry no longer serves
    # (seen: webpki-roots 1.0.11); resolve afresh rather than fail.
    say "warn: --locked install failed; retrying without --locked"
    cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
  fi
fi

# 4. Chromium and chromedriver from apt. (wasm-opt comes from the npm `binaryen` package, see
#    scripts/build.sh: Debian's binaryen 108 produces broken wasm-bindgen modules.)
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ "${#missing[@]}" -eq 0 ]; then
  say "ok: chromium $(chromium --version 2>/dev/null | awk '{print $2}') and chromedriver present"
else
  say "install: ${missing[*]} (apt-get)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# 5. npm dependencies (stamp written after a successful install)
STAMP=node_modules/.setup-stamp
if [ -f "$STAMP" ] && [ ! package.json -nt "$STAMP" ] && { [ ! -f package-lock.json ] || [ ! package-lock.json -nt "$STAMP" ]; }; then
  say "ok: node_modules up to date"
else
  if [ -f package-lock.json ]; then
    say "install: npm ci"
    npm ci --no-audit --no-fund
  else
    say "install: npm install (no package-lock.json)"
    npm install --no-audit --no-fund
  fi
  touch "$STAMP"
fi
say "ok: wasm-opt $("$ROOT/node_modules/binaryen/bin/wasm-opt" --version | awk '{print $3}') (npm binaryen) present"
