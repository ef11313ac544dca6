//! Delivery throughput beside a plain copy of the same bytes, in one run.
//!
//! A store on the local filesystem holds sensors' epochs of sealed records, in
//! signed batches of 100. A delivery verifies and re-encrypts each epoch's capsule,
//! reads its batches and writes them as a segment, then the manifest; the plain copy
//! reads the same batch objects and writes the same bytes, one object per epoch,
//! with no crypto and no framing. Both alternate, several rounds; the table gives the median.
//!
//! `cargo bench --locked -p sensorshare-cloud-worker --bench delivery`

use bytes::Bytes;
use cbpre::{dev, PublicKey};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use sensorshare_chain_client::Progress;
use sensorshare_cloud_worker::{
	config::StorageConfig,
	deliver::{write_delivery, Job, Requester},
	store::Store,
};
use sensorshare_protocol::{batch::sign_batch_with_rng, header::RecordHeader};
use std::time::{Duration, Instant};

const SENSORS: usize = 4;
const EPOCHS: u32 = 4;
const ROUNDS: usize = 7;
/// Records in a batch, as the sensor client cuts them by default.
const BATCH: usize = 100;

struct Fixture {
	store: Store,
	job: Job,
	bytes: u64,
	_dir: tempfile::TempDir,
}

async fn fixture(records_per_epoch: usize, reading_len: usize) -> Fixture {
	let mut rng = ChaCha20Rng::seed_from_u64(1);
	let dir = tempfile::tempdir().expect("tempdir");
	let store = Store::open(&StorageConfig::Fs { path: dir.path().to_path_buf() }).expect("store");
	let bob = dev::enroll_with_rng(b"bob", &mut rng).expect("enrol");
	let bob_key =
		PublicKey::derive(bob.id(), bob.certificate(), &dev::ca().public_key()).expect("derive");
	let mut sensors = Vec::new();
	let mut rekeys = Vec::new();
	let mut bytes = 0u64;
	for s in 0..SENSORS {
		let sensor =
			dev::enroll_with_rng(format!("sensor-{s}").as_bytes(), &mut rng).expect("enrol");
		let mut per_epoch = Vec::new();
		for epoch in 0..u64::from(EPOCHS) {
			let (m, capsule) = sensor.encapsulate(epoch).expect("encapsulate");
			let id = sensor.id().as_bytes();
			store.put_capsule(id, epoch, Bytes::from(capsule.to_bytes())).await.expect("put");
			let records: Vec<Vec<u8>> = (0..records_per_epoch)
				.map(|i| {
					let ts = epoch * 60_000 + i as u64;
					let header = RecordHeader::new(ts).to_bytes();
					let reading = vec![0x42u8; reading_len];
					let record =
						m.seal_with_rng(capsule.meta(), &header, &reading, &mut rng).expect("seal");
					record.to_bytes()
				})
				.collect();
			// In signed batches of up to BATCH records, as sensors upload them.
			for (seq, chunk) in records.chunks(BATCH).enumerate() {
				let batch = sign_batch_with_rng(
					&sensor,
					epoch,
					seq as u64,
					chunk.iter().map(Vec::as_slice),
					&mut rng,
				)
				.expect("sign");
				bytes += batch.len() as u64;
				store.put_batch(id, epoch, seq as u64, Bytes::from(batch)).await.expect("put");
			}
			per_epoch.push(sensor.rekey(capsule.meta(), &bob_key).expect("rekey"));
		}
		sensors.push((*sensor.id(), *sensor.public_key()));
		rekeys.push(per_epoch);
	}
	// Every epoch re-keyed, none delivered: one delivery of them all.
	let last = u64::from(EPOCHS) - 1;
	let progress = Progress { from_epoch: 0, to_epoch: last, rekeyed: EPOCHS, delivered: 0 };
	let job = Job {
		agreement: 0,
		requester: Requester { account: [0; 32], id: *bob.id(), key: bob_key },
		progress,
		previous_digest: None,
		sensors,
		rekeys,
	};
	Fixture { store, job, bytes, _dir: dir }
}

/// Reads every batch object of the job and writes the same bytes, one object per
/// sensor and epoch.
async fn plain_copy(store: &Store, job: &Job, round: usize) {
	let (first, last) = job.progress.undelivered().expect("epochs to deliver");
	for (sensor, _) in &job.sensors {
		for epoch in first..=last {
			let paths = store.batch_paths(sensor.as_bytes(), epoch).await.expect("list");
			let records: Vec<Bytes> = futures::stream::iter(paths)
				.map(|p| async move { store.get(&p).await })
				.buffered(32)
				.try_collect()
				.await
				.expect("read");
			let mut out = Vec::with_capacity(records.iter().map(|r| r.len()).sum());
			for r in &records {
				out.extend_from_slice(r);
			}
			let path =
				Path::from(format!("copies/{round}/{}-{epoch}", hex::encode(sensor.as_bytes())));
			store.put(&path, Bytes::from(out)).await.expect("write");
		}
	}
}

fn median(mut v: Vec<Duration>) -> Duration {
	v.sort();
	v[v.len() / 2]
}

fn mbps(bytes: u64, d: Duration) -> f64 {
	bytes as f64 / d.as_secs_f64() / 1e6
}

fn main() {
	let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
	println!(
		"| records/epoch × reading | MB of batches | delivery MB/s | plain copy MB/s | ratio |"
	);
	println!("|---|---|---|---|---|");
	for (records, reading_len) in [(250usize, 64usize), (250, 1024), (50, 16 * 1024)] {
		let f = rt.block_on(fixture(records, reading_len));
		let (mut deliver, mut copy) = (Vec::new(), Vec::new());
		for round in 0..ROUNDS {
			let job = Job { agreement: round as u64, ..f.job.clone() };
			let t = Instant::now();
			rt.block_on(write_delivery(&f.store, &job)).expect("delivery");
			deliver.push(t.elapsed());
			let t = Instant::now();
			rt.block_on(plain_copy(&f.store, &f.job, round));
			copy.push(t.elapsed());
		}
		let (d, c) = (median(deliver), median(copy));
		println!(
			"| {records} × {reading_len} B | {:.1} | {:.0} | {:.0} | {:.2}× |",
			f.bytes as f64 / 1e6,
			mbps(f.bytes, d),
			mbps(f.bytes, c),
			c.as_secs_f64() / d.as_secs_f64()
		);
	}
}
