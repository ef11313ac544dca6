#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine needs to build and test SensorShare:
# a C toolchain with clang (the wasm runtime and librocksdb-free sc-* crates still
# build C through cc), protoc (libp2p/litep2p), D-Bus headers (btleplug on Linux),
# and the Rust toolchain pinned in rust-toolchain.toml with its wasm targets.
# Idempotent: safe to run again.
set -euo pipefail

packages=(build-essential clang libclang-dev lld protobuf-compiler libdbus-1-dev pkg-config git curl ca-certificates fonts-dejavu-core)
# dbus-daemon: the private bus of the sensor client's emulated-BlueZ test.
packages+=(dbus)
# python3 with venv: the S3-compatible test server (moto) of the cloud worker's tests.
command -v python3 >/dev/null 2>&1 && python3 -m venv --help >/dev/null 2>&1 || packages+=(python3 python3-venv)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	sudo=""
	[[ $(id -u) -eq 0 ]] || sudo="sudo"
	echo "setup: installing ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v rustup >/dev/null 2>&1; then
	echo "setup: rustup is required; install it from your distribution (apt-get install rustup) or rustup.rs" >&2
	exit 1
fi
cd "$(dirname "$0")/.."
# rust-toolchain.toml names the channel, components and targets; `rustup show`
# installs whatever of it is missing. The explicit adds cover older rustups.
rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
rustup target add wasm32-unknown-unknown wasm32v1-none >/dev/null
rustup component add rust-src rustfmt clippy >/dev/null
# moto, the S3-compatible server the cloud worker's S3 test starts, in a venv of the
# checkout (.tools/, ignored by git).
if [[ ! -x .tools/moto/bin/moto_server ]]; then
	echo "setup: installing moto (S3 test server) into .tools/moto"
	python3 -m venv .tools/moto
	.tools/moto/bin/pip install -q 'moto[server]==5.2.1'
fi
# dbus-next, for the emulated BlueZ (sensor-client/tests/bluez/emulator.py) that the
# sensor client's BLE test talks to, in a venv of the checkout.
if [[ ! -x .tools/bluez/bin/python ]] || ! .tools/bluez/bin/python -c 'import dbus_next' 2>/dev/null; then
	echo "setup: installing dbus-next (emulated BlueZ) into .tools/bluez"
	python3 -m venv .tools/bluez
	.tools/bluez/bin/pip install -q 'dbus-next==0.2.3'
fi
# cargo-fuzz, for the fuzz targets in fuzz/ (scripts/fuzz.sh). It drives libFuzzer
# through rustc flags that need a nightly compiler; the script runs the pinned
# stable one with RUSTC_BOOTSTRAP=1 instead, as no second toolchain is needed.
if ! cargo fuzz --version 2>/dev/null | grep -q '0.12.0'; then
	echo "setup: installing cargo-fuzz 0.12.0"
	cargo install --locked cargo-fuzz --version 0.12.0
fi
echo "setup: done"
