#!/usr/bin/env bash
# Builds the node and starts a development chain on ws://127.0.0.1:9944: a block
# as soon as a transaction arrives, finalized at once; dev accounts funded, the
# published dev CA key and one dev storage provider (Ferdie) in genesis. The chain
# lives in a temporary directory and is gone when the node stops (Ctrl-C).
# Extra arguments go to the node, e.g. `scripts/dev.sh --sealing 13000`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p sensorshare-node
echo "dev chain: ws://127.0.0.1:9944 -- polkadot.js apps: https://polkadot.js.org/apps/?rpc=ws://127.0.0.1:9944"
exec target/release/sensorshare-node --dev "$@"
