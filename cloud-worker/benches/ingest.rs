//! Worker ingest: records per second the real worker takes from sensors, in signed
//! batches against one signed upload per record (the path before batches: one
//! request, one signature and one stored object per reading), side by side in one
//! run, with the load generator and the worker on this host; and what each costs
//! the store, in objects and requests per 1000 readings.
//!
//! A dev node and the worker binary run as in the tests; `SENSORS` sensors of the
//! dev provider upload 100-byte readings of epochs that have ended. Every upload is
//! sealed and signed before the clock starts, so the table measures the worker (and
//! HTTP on loopback), not the load generator's signing.
//!
//! `cargo bench --locked -p sensorshare-cloud-worker --bench ingest`
//! (`SENSORSHARE_INGEST_RECORDS` sets the records of the batched rows; the
//! one-per-request row takes a tenth of them.)

use cbpre::{dev, SecretKey};
use futures::StreamExt;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use sensorshare_chain_client::{
	dev_node::{free_port, DevNode, WorkerProcess},
	signer_from_uri, Listing, UNIT,
};
use sensorshare_protocol::{batch::sign_batch_with_rng, header::RecordHeader};
use sensorshare_worker_client::WorkerClient;
use std::{
	path::Path,
	time::{Duration, Instant},
};

/// Sensors uploading at once.
const SENSORS: usize = 8;
/// Uploads in flight at once, over all sensors.
const IN_FLIGHT: usize = 32;
/// Plaintext bytes of a reading.
const READING_BYTES: usize = 100;
/// Epoch length of the bench's sensors.
const EPOCH_SECS: u64 = 60;
/// Records of one sensor's epoch, within the worker's default quota of 100 000.
const PER_EPOCH: usize = 50_000;

/// One upload, ready to send: the sensor, the epoch and the signed batch.
struct Upload {
	sensor: cbpre::Identity,
	epoch: u64,
	body: Vec<u8>,
}

/// `records` readings of each sensor, in signed batches of `batch`, over epochs
/// from `first_epoch` on.
fn uploads(sensors: &[SecretKey], records: usize, batch: usize, first_epoch: u64) -> Vec<Upload> {
	let mut out = Vec::new();
	for (s, sensor) in sensors.iter().enumerate() {
		let mut rng = ChaCha20Rng::seed_from_u64(s as u64);
		let per_sensor = records / sensors.len();
		for (e, chunk_start) in (0..per_sensor).step_by(PER_EPOCH).enumerate() {
			let epoch = first_epoch + e as u64;
			let meta = cbpre::Meta::new(*sensor.id(), epoch);
			let m = sensor.data_key(&meta).expect("data key");
			let n = PER_EPOCH.min(per_sensor - chunk_start);
			let sealed: Vec<Vec<u8>> = (0..n)
				.map(|i| {
					let ts = epoch * EPOCH_SECS * 1000 + (i as u64 % (EPOCH_SECS * 1000));
					let header = RecordHeader::new(ts).to_bytes();
					let reading = [0x42u8; READING_BYTES];
					m.seal_with_rng(&meta, &header, &reading, &mut rng).expect("seal").to_bytes()
				})
				.collect();
			for (seq, chunk) in sealed.chunks(batch).enumerate() {
				let records = chunk.iter().map(Vec::as_slice);
				let body = sign_batch_with_rng(sensor, epoch, seq as u64, records, &mut rng)
					.expect("sign");
				out.push(Upload { sensor: *sensor.id(), epoch, body });
			}
		}
	}
	out
}

/// Every file under `dir`.
fn files(dir: &Path) -> usize {
	let mut n = 0;
	let mut stack = vec![dir.to_path_buf()];
	while let Some(d) = stack.pop() {
		for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
			let p = entry.path();
			if p.is_dir() {
				stack.push(p);
			} else {
				n += 1;
			}
		}
	}
	n
}

/// A row of the table.
struct Row {
	what: String,
	records: usize,
	secs: f64,
	objects: usize,
	requests: u64,
	http: usize,
}

async fn run(
	client: &WorkerClient,
	store: &Path,
	what: &str,
	sensors: &[SecretKey],
	records: usize,
	batch: usize,
	first_epoch: u64,
) -> Row {
	let uploads = uploads(sensors, records, batch, first_epoch);
	let http = uploads.len();
	let before = client.stats().await.expect("stats");
	let objects_before = files(store);
	let started = Instant::now();
	futures::stream::iter(uploads)
		.map(|u| async move {
			client.upload_batch_body(&u.sensor, u.epoch, u.body).await.expect("stored")
		})
		.buffer_unordered(IN_FLIGHT)
		.collect::<Vec<_>>()
		.await;
	let secs = started.elapsed().as_secs_f64();
	let after = client.stats().await.expect("stats");
	let requests = (after.store_puts + after.store_gets + after.store_lists)
		- (before.store_puts + before.store_gets + before.store_lists);
	Row { what: what.into(), records, secs, objects: files(store) - objects_before, requests, http }
}

fn main() {
	let records: usize = std::env::var("SENSORSHARE_INGEST_RECORDS")
		.ok()
		.and_then(|v| v.parse().ok())
		.unwrap_or(200_000);
	let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
	rt.block_on(async {
		let mut node = DevNode::start(&[]).expect("the node starts");
		let chain = node.client().await;
		let dir = tempfile::tempdir().expect("tempdir");
		let worker =
			WorkerProcess::start(&node.url(), free_port(), dir.path()).expect("the worker starts");
		let client = WorkerClient::new(&worker.url);
		worker.wait_listening(Duration::from_secs(60)).await.expect("the worker comes up");
		let alice = signer_from_uri("//Alice").expect("dev");
		let ferdie = signer_from_uri("//Ferdie").expect("dev").public_key().to_account_id();
		let mut rng = ChaCha20Rng::seed_from_u64(99);
		let sensors: Vec<SecretKey> = (0..SENSORS)
			.map(|i| dev::enroll_with_rng(format!("ingest-{i}").as_bytes(), &mut rng).expect("enrol"))
			.collect();
		for sensor in &sensors {
			let listing = Listing {
				price_per_epoch: UNIT,
				epoch_secs: EPOCH_SECS,
				first_epoch: 0,
				provider: ferdie.clone(),
				description: "ingest bench".into(),
			};
			chain.register_sensor_with_rng(&alice, sensor, listing, &mut rng).await.expect("sensor");
		}
		// Each row on epochs of its own, all ended and within the upload window.
		let now = sensorshare_service::clock::now_secs() / EPOCH_SECS;
		let rows = [
			("one record a request (the path before batches)", records / 10, 1, now - 1000),
			("batches of 10", records, 10, now - 800),
			("batches of 100", records, 100, now - 600),
		];
		let mut table = Vec::new();
		for (what, n, batch, first) in rows {
			table.push(run(&client, &worker.store, what, &sensors, n, batch, first).await);
		}
		let base = table[0].records as f64 / table[0].secs;
		println!(
			"\n| upload | records | records/s | × the one-per-request rate | HTTP requests / 1000 readings | objects / 1000 readings | store requests / 1000 readings |"
		);
		println!("|---|---|---|---|---|---|---|");
		for r in &table {
			let rate = r.records as f64 / r.secs;
			let per_1000 = |n: f64| n * 1000.0 / r.records as f64;
			println!(
				"| {} | {} | {:.0} | {:.1}× | {:.1} | {:.1} | {:.1} |",
				r.what,
				r.records,
				rate,
				rate / base,
				per_1000(r.http as f64),
				per_1000(r.objects as f64),
				per_1000(r.requests as f64),
			);
		}
		drop(worker);
	});
}
