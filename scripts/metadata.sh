#!/usr/bin/env bash
# Regenerates crates/chain-client/metadata/sensorshare.scale from the runtime, for the
# chain client's compile-time codegen. Run after any change to the runtime's calls,
# storage, events or errors; `cargo test` fails until the file is current.
#
# `--workspace` keeps the feature set of the test command, so nothing is rebuilt
# that `scripts/test.sh` has built; `--test metadata` builds only the runtime's test.
set -euo pipefail
cd "$(dirname "$0")/.."
UPDATE_METADATA=1 cargo test --release --locked --workspace --exclude pallet-data-market \
	--test metadata
ls -l crates/chain-client/metadata/sensorshare.scale
