#!/usr/bin/env bash
# Fuzzes every decoder that takes outside bytes (fuzz/fuzz_targets/, one target a
# decoder) with libFuzzer through cargo fuzz, each for SECS seconds (default 15, as
# CI runs them), starting from its seeds (fuzz/seeds/<target>, valid encodings
# written by `cargo run --example seed` in fuzz/) and what earlier runs found
# (fuzz/corpus/<target>, not committed). Prints the executions per target; a crash
# stops it with the input that caused it in fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh            every target, 15 s each
#   scripts/fuzz.sh 600        every target, 10 minutes each
#   scripts/fuzz.sh 600 manifest segment     only these
#
# The targets are safe Rust (the crates forbid unsafe code), so they are built
# without a sanitizer: libFuzzer's coverage and the targets' own assertions (each
# decoded value re-encodes to its input, or re-parses to itself) find the bugs.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-15}
shift || true
# cargo fuzz passes nightly-only flags; the pinned stable compiler takes them with
# RUSTC_BOOTSTRAP. The runtime is decoded natively: no wasm build.
export RUSTC_BOOTSTRAP=1 SKIP_WASM_BUILD=1
# The fuzz crate's own lock file must be current, as the project's is (--locked).
cargo metadata --locked --format-version 1 >/dev/null
cargo fuzz build --sanitizer none -O
targets=("$@")
((${#targets[@]})) || mapfile -t targets < <(cargo fuzz list)
printf '%-22s %14s %10s\n' target executions corpus
for t in "${targets[@]}"; do
	mkdir -p "corpus/$t"
	log=$(mktemp)
	if ! cargo fuzz run --sanitizer none -O "$t" "corpus/$t" "seeds/$t" -- \
		-max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		echo "fuzz: $t crashed; the input is in fuzz/artifacts/$t/" >&2
		exit 1
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	printf '%-22s %14s %10s\n' "$t" "${runs:-?}" "$(find "corpus/$t" -type f | wc -l)"
	rm -f "$log"
done
