#!/usr/bin/env bash
# Reproduces the paper's experiments (section VI) on this machine and writes
# results/RESULTS.md with the figures beside it:
#   - on the dev chain: Fig. 3 (10 runs), Fig. 4 (1, 5, ..., 50 concurrent requests,
#     10 rounds each, then 100, 500 and 1000), and the chain's throughput;
#   - on 13-second blocks (the paper's Ethereum), twice: on a dev node sealing on a
#     timer, and on the local testnet of four validators under Aura and GRANDPA
#     (`--chain local-13s`): Fig. 3 (10 runs) and Fig. 4 (3 rounds a level, then
#     100, 500 and 1000).
# Takes about 70 minutes; `--quick` gives a short run of each, for a look.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --workspace --bins
mkdir -p results
# cargo runs benches from their package directory: give it the absolute path.
bench() { cargo bench --locked --workspace --bench paper -- --out "$PWD/results" "$@"; }
bench --setting dev "$@"
bench --setting blocks13s "$@"
bench --setting aura13s "$@"
{
	echo "# SensorShare: the paper's experiments on this machine"
	echo
	echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(uname -m)) by \`bash scripts/experiments.sh${*:+ $*}\`."
	echo
	cat results/dev.md results/13s.md results/aura13s.md
} > results/RESULTS.md
echo "written: results/RESULTS.md"
