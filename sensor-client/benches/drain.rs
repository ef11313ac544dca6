//! The sensor's backlog after an outage: readings logged while the cloud was away,
//! then drained to the real worker, in batches of 100 against batches of one (the
//! shape before batches: one `fsync`, one request and one signature per reading),
//! side by side in one run.
//!
//! For each row the sealer logs the readings of two ended epochs into a fresh log
//! (as it would with the cloud unreachable), counting the log's `fsync`s; then the
//! uploader drains the log to a worker on this host, and the table gives the
//! records per second of the drain.
//!
//! `cargo bench --locked -p sensorshare-sensor-client --bench drain`
//! (`SENSORSHARE_DRAIN_READINGS` sets the readings of the batched row, 100 000 by
//! default; the row of batches of one takes a tenth of them.)

use cbpre::{dev, SecretKey};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use sensorshare_chain_client::{
	dev_node::{free_port, DevNode, WorkerProcess},
	signer_from_uri, Listing, UNIT,
};
use sensorshare_protocol::reading::{Quantity, Reading};
use sensorshare_sensor_client::{
	log::Log,
	pipeline::{upload, BatchLimits, Sealer},
};
use sensorshare_worker_client::WorkerClient;
use std::{
	sync::Arc,
	time::{Duration, Instant},
};
use tokio::sync::Notify;

const EPOCH_SECS: u64 = 60;

/// A row of the table.
struct Row {
	batch: usize,
	readings: usize,
	log_secs: f64,
	syncs: u64,
	drain_secs: f64,
}

async fn row(
	client: &WorkerClient,
	sensor: &SecretKey,
	dir: &std::path::Path,
	batch: usize,
	readings: usize,
	first_epoch: u64,
) -> Row {
	let log = Arc::new(Log::open(dir, u64::MAX).expect("the log"));
	let wake = Arc::new(Notify::new());
	// A linger longer than the run: batches are cut when full or at an epoch's end.
	let limits =
		BatchLimits { records: batch, linger: Duration::from_secs(3600), ..Default::default() };
	let rng = ChaCha20Rng::seed_from_u64(batch as u64);
	let mut sealer =
		Sealer::new(sensor.clone(), EPOCH_SECS, log.clone(), wake.clone(), rng, limits)
			.expect("sealer");
	let per_epoch = readings.div_ceil(2);
	let started = Instant::now();
	for i in 0..readings {
		let epoch = first_epoch + (i / per_epoch) as u64;
		let ts = epoch * EPOCH_SECS * 1000 + (i % per_epoch) as u64 % (EPOCH_SECS * 1000);
		sealer.push(ts, &Reading::new([(Quantity::Pressure, i as f64)])).expect("logged");
	}
	sealer.cut().expect("the last batch");
	let log_secs = started.elapsed().as_secs_f64();
	let syncs = log.syncs();

	// The cloud is back: drain.
	let (stop, stopped) = tokio::sync::watch::channel(false);
	let started = Instant::now();
	let uploader =
		tokio::spawn(upload(*sensor.id(), log.clone(), wake.clone(), client.clone(), stopped));
	wake.notify_one();
	while !log.is_empty() {
		tokio::time::sleep(Duration::from_millis(5)).await;
	}
	let drain_secs = started.elapsed().as_secs_f64();
	let _ = stop.send(true);
	uploader.await.expect("the uploader").expect("no log failure");
	Row { batch, readings, log_secs, syncs, drain_secs }
}

fn main() {
	let readings: usize = std::env::var("SENSORSHARE_DRAIN_READINGS")
		.ok()
		.and_then(|v| v.parse().ok())
		.unwrap_or(100_000);
	let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
	rt.block_on(async {
		let mut node = DevNode::start(&[]).expect("the node starts");
		let chain = node.client().await;
		let dir = tempfile::tempdir().expect("tempdir");
		let worker =
			WorkerProcess::start(&node.url(), free_port(), dir.path()).expect("the worker starts");
		let client = WorkerClient::new(&worker.url);
		worker.wait_listening(Duration::from_secs(60)).await.expect("the worker comes up");
		let mut rng = ChaCha20Rng::seed_from_u64(7);
		let sensor = dev::enroll_with_rng(b"drain-tag", &mut rng).expect("enrol");
		let listing = Listing {
			price_per_epoch: UNIT,
			epoch_secs: EPOCH_SECS,
			first_epoch: 0,
			provider: signer_from_uri("//Ferdie").expect("dev").public_key().to_account_id(),
			description: "drain bench".into(),
		};
		let alice = signer_from_uri("//Alice").expect("dev");
		chain.register_sensor_with_rng(&alice, &sensor, listing, &mut rng).await.expect("sensor");

		let now = sensorshare_service::clock::now_secs() / EPOCH_SECS;
		let mut table = Vec::new();
		for (batch, n, first) in [(1, readings / 10, now - 100), (100, readings, now - 50)] {
			let log_dir = dir.path().join(format!("log-{batch}"));
			table.push(row(&client, &sensor, &log_dir, batch, n, first).await);
		}
		let base = table[0].readings as f64 / table[0].drain_secs;
		println!(
			"\n| readings a batch | readings | logged in | fsyncs / 1000 readings | drain records/s | × batches of one |"
		);
		println!("|---|---|---|---|---|---|");
		for r in &table {
			let rate = r.readings as f64 / r.drain_secs;
			println!(
				"| {} | {} | {:.2} s | {:.1} | {:.0} | {:.1}× |",
				r.batch,
				r.readings,
				r.log_secs,
				r.syncs as f64 * 1000.0 / r.readings as f64,
				rate,
				rate / base,
			);
		}
		drop(worker);
	});
}
