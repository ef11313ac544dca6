#!/usr/bin/env bash
# Cross-builds the sensor client for a Raspberry Pi (64-bit Raspberry Pi OS,
# aarch64-unknown-linux-gnu) on a Debian/Ubuntu x86_64 machine: the aarch64 C
# toolchain, D-Bus headers of the arm64 architecture (btleplug talks to BlueZ over
# D-Bus) and the Rust target. The binary lands in (the cargo target directory)
# target/aarch64-unknown-linux-gnu/release/sensorshare-sensor; copy it to the Pi with
# sensor-client/deploy/sensorshare-sensor.service.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
if ! dpkg-query -W -f='${Status}' libdbus-1-dev:arm64 2>/dev/null | grep -q "install ok installed" ||
	! command -v aarch64-linux-gnu-gcc >/dev/null; then
	$sudo dpkg --add-architecture arm64
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		gcc-aarch64-linux-gnu libc6-dev-arm64-cross libdbus-1-dev:arm64
fi
rustup target add aarch64-unknown-linux-gnu >/dev/null
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export PKG_CONFIG_ALLOW_CROSS=1
export PKG_CONFIG_PATH=/usr/lib/aarch64-linux-gnu/pkgconfig
export PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig
cargo build --release --locked --target aarch64-unknown-linux-gnu -p sensorshare-sensor-client
bin=${CARGO_TARGET_DIR:-target}/aarch64-unknown-linux-gnu/release/sensorshare-sensor
[[ -x $bin ]] || { echo "cross-pi: the build left no $bin" >&2; exit 1; }
file "$bin" 2>/dev/null || ls -l "$bin"
