#!/usr/bin/env bash
# The test suite, as CI runs it: every crate's tests (the node's starts a real dev
# chain), the pallet's benchmarks run as tests, every fuzz target for 15 s, and the
# no_std wasm build of the crypto crate that the runtime embeds.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "tests of every crate"
cargo test --release --locked --workspace --exclude pallet-data-market

step "pallet tests, with its benchmarks run as tests"
cargo test --release --locked -p pallet-data-market --features runtime-benchmarks

step "every decoder fuzzed for 15 s (scripts/fuzz.sh; longer: scripts/fuzz.sh 600)"
bash scripts/fuzz.sh 15

step "cbpre builds no_std for wasm32-unknown-unknown"
cargo build --release --locked -p cbpre --no-default-features --target wasm32-unknown-unknown
