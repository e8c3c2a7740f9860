#!/usr/bin/env bash
# start.sh (npm start): sets up, builds the wasm package, the demo PWA (www/ -> www/dist) and the reference
# server, then runs the server on its embedded SQLite database with the demo profile, seed and development
# tokens, serving the demo from the same origin at http://localhost:${PORT:-8080}.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

scripts/setup.sh
scripts/build.sh bundler
echo "build: webpack (www/ -> www/dist)"
node_modules/.bin/webpack --config webpack.config.js --mode production
echo "build: cargo build --release -p offline-tables-server"
cargo build --release -q -p offline-tables-server

PORT="${PORT:-8080}"
DATA="${DATA:-$ROOT/data}"
cat <<MSG

  offline-tables demo: http://localhost:$PORT/   (sign in as alice, bob or carol)
  reference server on SQLite: $DATA/demo.db (delete it to start over with the seed of demo/seed.json)
  development users (Authorization: Bearer <token>):
    alice  dev-token-alice
    bob    dev-token-bob
    carol  dev-token-carol
  try: curl -H 'Authorization: Bearer dev-token-alice' 'http://localhost:$PORT/api/data/accounts?\$count=true'

MSG
exec target/release/offline-tables-server \
  --profile demo/profile.json --seed demo/seed.json --tokens demo/tokens.json \
  --db "sqlite:$DATA/demo.db" --listen "127.0.0.1:$PORT" --static www/dist
