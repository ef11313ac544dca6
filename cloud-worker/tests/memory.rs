//! The worker's memory stays bounded whatever an epoch's size: a delivery streams
//! the epoch's records from the store into its segment, written in parts, and a
//! download streams the segment from the store. Measured on the running worker: its
//! peak resident memory (`VmHWM`, reset once the uploads are in) while it delivers
//! an epoch of `SENSORSHARE_MEMORY_TEST_MIB` MiB (256 by default; the closing note
//! of issue 15 reports 1024) and serves it to the buyer.

mod common;

use common::*;
use futures::StreamExt;

/// The goal: under 100 MB, whatever the epoch's size.
const PEAK_RSS_LIMIT_KB: u64 = 100 * 1024;

/// A reading's size: records near the worker's 64 KiB limit.
const READING_BYTES: usize = 60 * 1024;
/// Readings in one batch: 16 of 60 KiB, just under the 1 MiB a batch may be.
const PER_BATCH: u64 = 16;

/// The worker's peak resident memory so far, in kB.
fn peak_rss_kb(pid: u32) -> u64 {
	let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the status");
	status
		.lines()
		.find_map(|l| l.strip_prefix("VmHWM:"))
		.and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
		.expect("VmHWM")
}

/// Resets the peak to the present (Linux's `clear_refs`, value 5).
fn reset_peak_rss(pid: u32) {
	std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("clear_refs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivering_and_serving_a_large_epoch_keeps_the_worker_under_100_mb() {
	let mib: u64 = std::env::var("SENSORSHARE_MEMORY_TEST_MIB")
		.ok()
		.and_then(|v| v.parse().ok())
		.unwrap_or(256);
	let epoch_bytes = mib * 1024 * 1024;
	let running = Running::start(
		|l| {
			l.max_bytes_per_epoch = epoch_bytes * 2;
			l.max_records_per_epoch = 1_000_000;
		},
		&[],
	)
	.await;
	let Running { chain, client, sensor, bob, worker, .. } = &running;
	let pid = worker.id();

	// One epoch of `mib` MiB, uploaded four records at a time.
	let epoch = 1;
	let n = epoch_bytes / READING_BYTES as u64;
	let (m, capsule) = sensor.encapsulate(epoch).expect("encapsulate");
	client.upload_capsule(&capsule).await.expect("the capsule");
	// In signed batches of up to PER_BATCH readings, just under the 1 MiB a batch may be.
	let batches = n.div_ceil(PER_BATCH);
	futures::stream::iter(0..batches)
		.map(|b| {
			let (m, meta) = (&m, capsule.meta());
			async move {
				let mut rng = rng(b);
				let records: Vec<_> = (b * PER_BATCH..((b + 1) * PER_BATCH).min(n))
					.map(|i| {
						let header = sensorshare_protocol::header::RecordHeader::new(
							epoch * EPOCH_SECS * 1000 + i % (EPOCH_SECS * 1000),
						)
						.to_bytes();
						let mut reading = vec![0u8; READING_BYTES];
						reading[..8].copy_from_slice(&i.to_be_bytes());
						m.seal_with_rng(meta, &header, &reading, &mut rng).expect("seal")
					})
					.collect();
				client.upload_batch(sensor, epoch, b, &records, &mut rng).await.expect("upload");
			}
		})
		.buffer_unordered(4)
		.collect::<Vec<()>>()
		.await;

	// From here on, the delivery and the download.
	reset_peak_rss(pid);
	let before = peak_rss_kb(pid);
	let id = chain.request("//Bob", &[sensor], epoch, epoch).await;
	chain.accept("//Alice", id, &[sensor], &public_key(bob)).await;
	let (_, digest) = chain.delivered(id, std::time::Duration::from_secs(600)).await;
	let keys = sensor_keys(&[sensor]);
	let keys = expected(bob, &keys, epoch);
	let fetched = client
		.download(&delivery(&chain.client, id, epoch, digest).await, &keys, &mut rng(9), |_| {})
		.await
		.expect("the delivery downloads and decrypts");
	assert_eq!(fetched.epochs.len(), 1);
	assert_eq!(fetched.epochs[0].readings.len() as u64, n, "every reading delivered");
	assert!(fetched.bytes >= epoch_bytes, "{} bytes downloaded", fetched.bytes);

	let peak = peak_rss_kb(pid);
	eprintln!(
		"worker peak RSS delivering and serving an epoch of {mib} MiB ({n} records): \
		 {peak} kB (before: {before} kB)"
	);
	assert!(peak < PEAK_RSS_LIMIT_KB, "peak RSS {peak} kB for an epoch of {mib} MiB");
}
