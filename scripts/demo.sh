#!/usr/bin/env bash
# The whole SensorShare flow on this machine, in one command: builds the binaries,
# starts a dev chain (RPC ws://127.0.0.1:9944), Ferdie's cloud worker (:8088), two
# simulated SensorTags of Alice's streaming readings and her agent, then runs the
# paper's flow as Bob (register, request, accept with re-keys, re-encrypt, deliver,
# fetch, decrypt, confirm, payment), printing each step with its block and time.
# The chain stays up for polkadot.js apps until Ctrl-C, which stops everything.
# Arguments go to sensorshare-demo (see --help), e.g. `--sealing 13000`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --workspace --bins
exec target/release/sensorshare-demo "$@"
