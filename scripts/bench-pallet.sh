#!/usr/bin/env bash
# Runs the data market's benchmarks in the wasm runtime and writes
# pallets/data-market/src/weights.rs. Builds the node with the `benchmark`
# subcommand (`--features runtime-benchmarks`), which the default build leaves out;
# run it on the reference machine (2 cores), with nothing else running.
# STEPS and REPEAT override the sampling (defaults 25 and 10).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p sensorshare-node --features runtime-benchmarks
cp target/release/sensorshare-node target/release/sensorshare-node-bench
# Put the default node back, so that target/release holds what dev.sh runs.
trap 'cargo build --release --locked -p sensorshare-node' EXIT

target/release/sensorshare-node-bench benchmark pallet \
	--chain dev \
	--wasm-execution compiled \
	--pallet pallet_data_market \
	--extrinsic '*' \
	--steps "${STEPS:-25}" \
	--repeat "${REPEAT:-10}" \
	--template scripts/weight-template.hbs \
	--output pallets/data-market/src/weights.rs
