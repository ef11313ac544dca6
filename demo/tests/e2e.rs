//! The whole flow against the real binaries, as the demo runs it: a dev chain, the
//! cloud worker, two simulated sensors streaming, the owner's agent, and a data user.
//! Everyone is paid exactly what the agreement says, the user decrypts every reading
//! of the range, and no plaintext reading is ever at rest outside the sensor.

mod common;

use sensorshare_demo::stack::StackConfig;
use sensorshare_protocol::reading::{Quantity, Reading};
use std::{path::Path, time::Duration};

/// The ambient temperature every simulated reading carries: text no store may hold.
const MARKER: f64 = 4242.4242;

/// Every file under `dir`, and those whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> (Vec<String>, Vec<String>) {
	let (mut seen, mut found) = (Vec::new(), Vec::new());
	let mut stack = vec![dir.to_path_buf()];
	while let Some(d) = stack.pop() {
		for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
			let path = entry.path();
			if path.is_dir() {
				stack.push(path);
				continue;
			}
			seen.push(path.display().to_string());
			let bytes = std::fs::read(&path).unwrap_or_default();
			if bytes.windows(needle.len()).any(|w| w == needle) {
				found.push(path.display().to_string());
			}
		}
	}
	(seen, found)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_paper_flow_pays_everyone_exactly_and_no_plaintext_reading_is_stored() {
	let dir = tempfile::tempdir().expect("tempdir");
	let mut config = StackConfig::new(dir.path());
	config.epoch_secs = 2;
	config.interval_ms = 100;
	config.marker = Some(MARKER);
	let (stack, outcome) = common::run_the_flow(config, "agent.log").await;

	common::assert_everyone_was_paid_exactly(&stack, &outcome).await;
	common::assert_every_epoch_was_delivered(&outcome);

	// Each reading decrypted and carrying the marker.
	for epoch in &outcome.fetched.epochs {
		// 2-second epochs, a reading every 100 ms.
		assert!(epoch.readings.len() >= 15, "{} readings in an epoch", epoch.readings.len());
		for (header, plaintext) in &epoch.readings {
			let reading = Reading::from_bytes(plaintext).expect("a reading");
			assert_eq!(reading.0[&Quantity::AmbientTemperature], MARKER);
			assert_eq!(header.epoch(2), Some(epoch.epoch), "a reading of its epoch");
		}
	}

	// The store and the sensors' queues hold ciphertext only.
	let needle = MARKER.to_string();
	let (files, found) = files_containing(dir.path(), needle.as_bytes());
	let logs_or_keys = |f: &String| f.ends_with(".log");
	let found: Vec<_> = found.into_iter().filter(|f| !logs_or_keys(f)).collect();
	let searched = |what: &str| files.iter().filter(|f| f.contains(what)).count();
	assert!(
		searched("/batches/") > 5 && searched(".seg") > 0,
		"the store's batches and the sensors' upload logs were searched: {files:?}"
	);
	assert!(found.is_empty(), "plaintext readings at rest: {found:?}");
	stack.stop(Duration::from_secs(10)).await;
}
