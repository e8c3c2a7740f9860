#!/usr/bin/env bash
# start.sh: sets up, builds the wasm package and the demo PWA (www/ -> www/dist), and serves it on http://localhost:${PORT:-8080}.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

scripts/setup.sh
scripts/build.sh bundler
echo "build: webpack (www/ -> www/dist)"
node_modules/.bin/webpack --config webpack.config.js --mode production
PORT="${PORT:-8080}"
exec node scripts/serve.mjs www/dist "$PORT"
