//! The SensorTag path without hardware: the client's real BLE session (btleplug,
//! bluez-async, D-Bus) against an emulated BlueZ (`tests/bluez/emulator.py`) on a
//! private `dbus-daemon`. The emulator shows a device that vanishes mid-scan, a tag
//! whose notifications carry chosen raw payloads, and drops the link on command.
//!
//! Needs `dbus-daemon` and the emulator's Python (`scripts/setup.sh` installs both;
//! `SENSORSHARE_BLUEZ_PYTHON` names another interpreter).

#![cfg(feature = "ble")]

use sensorshare_chain_client::dev_node::KillOnDrop;
use sensorshare_protocol::reading::{Quantity, Reading};
use sensorshare_sensor_client::ble::{self, TagTarget};
use std::{
	io::{BufRead, BufReader, Write},
	path::{Path, PathBuf},
	process::{ChildStdin, ChildStdout, Command, Stdio},
	time::{Duration, Instant},
};
use tokio::sync::mpsc;

/// A private bus whose policy lets the emulator own `org.bluez`.
struct Bus {
	_daemon: KillOnDrop,
	address: String,
	_dir: tempfile::TempDir,
}

fn start_bus() -> Bus {
	let dir = tempfile::tempdir().expect("a directory for the bus");
	let socket = dir.path().join("bus");
	let config = dir.path().join("bus.conf");
	std::fs::write(
		&config,
		format!(
			r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
"#,
			socket.display()
		),
	)
	.expect("the bus configuration");
	let mut daemon = Command::new("dbus-daemon")
		.arg(format!("--config-file={}", config.display()))
		.args(["--nofork", "--print-address"])
		.stdout(Stdio::piped())
		.stderr(Stdio::null())
		.spawn()
		.expect("dbus-daemon starts (Debian's dbus package; scripts/setup.sh installs it)");
	let mut address = String::new();
	BufReader::new(daemon.stdout.take().expect("piped"))
		.read_line(&mut address)
		.expect("dbus-daemon prints its address");
	Bus { _daemon: KillOnDrop(daemon), address: address.trim().to_string(), _dir: dir }
}

/// The emulated BlueZ, driven through its standard input.
struct Emulator {
	_process: KillOnDrop,
	input: ChildStdin,
	output: BufReader<ChildStdout>,
}

fn python() -> PathBuf {
	std::env::var_os("SENSORSHARE_BLUEZ_PYTHON")
		.map(PathBuf::from)
		.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/bluez/bin/python"))
}

impl Emulator {
	fn start(bus: &Bus) -> Self {
		let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bluez/emulator.py");
		let mut child = Command::new(python())
			.arg(script)
			.args(["--bus", &bus.address])
			.stdin(Stdio::piped())
			.stdout(Stdio::piped())
			.spawn()
			.expect("the emulator's Python (scripts/setup.sh makes .tools/bluez)");
		let input = child.stdin.take().expect("piped");
		let output = BufReader::new(child.stdout.take().expect("piped"));
		let mut emulator = Emulator { _process: KillOnDrop(child), input, output };
		assert_eq!(emulator.answer(), serde_json::json!({ "ready": true }));
		emulator
	}

	fn answer(&mut self) -> serde_json::Value {
		let mut line = String::new();
		self.output.read_line(&mut line).expect("the emulator answers");
		serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
	}

	fn command(&mut self, line: &str) -> serde_json::Value {
		writeln!(self.input, "{line}").expect("the emulator reads commands");
		let answer = self.answer();
		assert!(answer.get("error").is_none(), "{line}: {answer}");
		answer
	}

	fn stat(&mut self, name: &str) -> u64 {
		self.command("stats")[name].as_u64().unwrap_or_else(|| panic!("no stat {name}"))
	}
}

/// The next reading that has `quantity`, within `within`.
async fn reading_with(
	rx: &mut mpsc::Receiver<(u64, Reading)>,
	quantity: Quantity,
	within: Duration,
) -> Reading {
	let deadline = Instant::now() + within;
	loop {
		let left = deadline.saturating_duration_since(Instant::now());
		match tokio::time::timeout(left, rx.recv()).await {
			Ok(Some((_, reading))) if reading.0.contains_key(&quantity) => return reading,
			Ok(Some(_)) => continue,
			Ok(None) => panic!("the BLE session ended"),
			Err(_) => panic!("no {quantity:?} reading within {within:?}"),
		}
	}
}

fn assert_reads(reading: &Reading, quantity: Quantity, expected: f64) {
	let got = reading.0[&quantity];
	assert!((got - expected).abs() < 1e-6, "{quantity:?}: read {got}, expected {expected}");
}

/// One test: the bus address is the process's environment, which every step shares.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sensortag_is_found_past_a_vanishing_device_decoded_right_below_zero_and_reconnected() {
	let _ = tracing_subscriber::fmt()
		.with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
		.with_test_writer()
		.try_init();
	let bus = start_bus();
	// btleplug finds the system bus through this variable; nothing else here reads it.
	std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", &bus.address);
	let mut emulator = Emulator::start(&bus);
	// The first scan lists a device that is gone before its properties are read.
	emulator.command("ghost");
	// -5 °C object and -0.03125 °C die (TMP007: signed 14 bits in the top of an i16,
	// 0.03125 °C a step: -160 << 2 = 0xFD80, -1 << 2 = 0xFFFC).
	emulator.command("payload ir 80fdfcff");
	// -3.5 °C (BMP280: signed 24 bits in 0.01 °C, -350 = 0xFFFEA2) and 300 hPa.
	emulator.command("payload barometer a2feff307500");
	// Gyro x at +32767 and y at -32768: the ±250 °/s range at 131 LSB per °/s.
	emulator.command(&format!("payload movement ff7f0080{}", "00".repeat(14)));

	let (tx, mut rx) = mpsc::channel(64);
	let target = TagTarget {
		name_or_address: "CC2650 SensorTag".into(),
		period: Duration::from_millis(100),
	};
	let session = tokio::spawn(ble::run(target, tx));

	let within = Duration::from_secs(20);
	let ir = reading_with(&mut rx, Quantity::ObjectTemperature, within).await;
	assert_reads(&ir, Quantity::ObjectTemperature, -5.0);
	assert_reads(&ir, Quantity::AmbientTemperature, -0.03125);
	let baro = reading_with(&mut rx, Quantity::BarometerTemperature, within).await;
	assert_reads(&baro, Quantity::BarometerTemperature, -3.5);
	assert_reads(&baro, Quantity::Pressure, 300.0);
	let motion = reading_with(&mut rx, Quantity::GyroX, within).await;
	assert_reads(&motion, Quantity::GyroX, 32767.0 / 131.0);
	assert_reads(&motion, Quantity::GyroY, -32768.0 / 131.0);
	// The emulator's room-temperature payloads: HDC1000 0x6666 is 26214 / 65536 * 165 - 40
	// °C and 0x8000 50 %; OPT3001 0x1100 is 256 * 0.01 * 2^1 lux.
	let humidity = reading_with(&mut rx, Quantity::RelativeHumidity, within).await;
	assert_reads(&humidity, Quantity::HumidityTemperature, 26214.0 / 65536.0 * 165.0 - 40.0);
	assert_reads(&humidity, Quantity::RelativeHumidity, 50.0);
	let light = reading_with(&mut rx, Quantity::Illuminance, within).await;
	assert_reads(&light, Quantity::Illuminance, 5.12);

	// The scan that met the vanished device was stopped, like every other.
	assert_eq!(emulator.stat("connects"), 1);
	let stats = emulator.command("stats");
	assert_eq!(stats["discovering"], false, "discovery is not left running: {stats}");
	assert_eq!(stats["discoveries_started"], stats["discoveries_stopped"], "{stats}");

	// The link drops; the client notices, scans, connects again and streams on.
	emulator.command("drop");
	emulator.command("payload ir 800cc00b");
	let ir = reading_with(&mut rx, Quantity::ObjectTemperature, within).await;
	let ir = if ir.0[&Quantity::ObjectTemperature] < 0.0 {
		// A notification sent just before the drop.
		reading_with(&mut rx, Quantity::ObjectTemperature, within).await
	} else {
		ir
	};
	assert_reads(&ir, Quantity::ObjectTemperature, 25.0);
	assert_reads(&ir, Quantity::AmbientTemperature, 23.5);
	assert_eq!(emulator.stat("connects"), 2, "reconnected once");

	drop(rx);
	let _ = tokio::time::timeout(Duration::from_secs(5), session).await;
}
