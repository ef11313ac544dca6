//! A sensor's quotas on the running worker binary: no capsules for epochs far ahead
//! or long gone, so many records and bytes per epoch; over quota, a 4xx with the
//! reason and nothing stored, and the count survives a restart.

mod common;

use cbpre::SecretKey;
use common::*;
use reqwest::StatusCode;
use sensorshare_protocol::header::RecordHeader;
use sensorshare_worker_client::{ClientError, WorkerClient};
use std::path::Path;

const MAX_RECORDS: u64 = 5;
const MAX_BYTES: u64 = 1500;

fn status(e: ClientError) -> (StatusCode, String) {
	match e {
		ClientError::Refused { status, reason } => (status, reason),
		other => panic!("expected a refusal, got {other}"),
	}
}

/// A batch of one record of `len` bytes of plaintext at second `secs` of `sensor`'s
/// `epoch`, numbered `secs`.
async fn upload(
	worker: &WorkerClient,
	sensor: &SecretKey,
	epoch: u64,
	secs: u64,
	len: usize,
) -> Result<(), ClientError> {
	let (m, capsule) = sensor.encapsulate(epoch).expect("encapsulate");
	let header = RecordHeader::new(secs * 1000).to_bytes();
	let mut r = rng(secs);
	let record = m.seal_with_rng(capsule.meta(), &header, &vec![7u8; len], &mut r).expect("seal");
	worker.upload_batch(sensor, epoch, secs, &[record], &mut r).await.map(|_| ())
}

/// Batches in the store: here, one record each.
fn records_stored(store: &Path) -> usize {
	files(store).iter().filter(|p| p.to_string_lossy().contains("/batches/")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_a_sensors_quota_are_refused_with_the_reason_and_store_nothing() {
	let chain = Chain::start().await;
	let dir = tempfile::tempdir().expect("tempdir");
	let (mut config, url) = worker_config(&chain.node.url(), dir.path());
	config.limits = sensorshare_cloud_worker::config::Limits {
		max_records_per_epoch: MAX_RECORDS,
		max_bytes_per_epoch: MAX_BYTES,
		..Default::default()
	};
	let mut worker = spawn_worker(&config, dir.path(), "worker-1.log", &[]);
	wait_for_health(&url).await;
	let client = WorkerClient::new(&url);
	let store = dir.path().join("store");
	let sensor = enroll("sensor-1", 1);
	chain.register_sensor("//Alice", &sensor, "//Ferdie").await;
	let now = sensorshare_service::clock::now_secs();
	let current = now / EPOCH_SECS;

	// Capsules for epochs far ahead, and long gone: refused, none stored.
	for epoch in [current + 10, current + 1_000_000_000, u64::MAX / EPOCH_SECS, current - 100_000] {
		let (_, capsule) = sensor.encapsulate(epoch).expect("encapsulate");
		let (code, reason) = status(client.upload_capsule(&capsule).await.expect_err("refused"));
		assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{reason}");
		assert!(reason.contains("over quota") && reason.contains("epoch"), "{reason}");
	}
	assert!(files(&store).is_empty(), "nothing stored: {:?}", files(&store));
	let (_, capsule) = sensor.encapsulate(current).expect("encapsulate");
	client.upload_capsule(&capsule).await.expect("the current epoch is open");

	// So many records an epoch: the next is a 429, and not stored.
	let first = current * EPOCH_SECS;
	for i in 0..MAX_RECORDS {
		upload(&client, &sensor, current, first + i, 10).await.expect("within the quota");
	}
	let (code, reason) =
		status(upload(&client, &sensor, current, first + 30, 10).await.expect_err("over"));
	assert_eq!(code, StatusCode::TOO_MANY_REQUESTS, "{reason}");
	assert!(reason.contains(&format!("{MAX_RECORDS} records")), "{reason}");
	assert_eq!(records_stored(&store), MAX_RECORDS as usize);

	// So many bytes an epoch: a record that would take the epoch over is a 413.
	let previous = current - 1;
	let at = previous * EPOCH_SECS;
	upload(&client, &sensor, previous, at, 1000).await.expect("within the bytes");
	let (code, reason) =
		status(upload(&client, &sensor, previous, at + 1, 1000).await.expect_err("over"));
	assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE, "{reason}");
	assert_eq!(records_stored(&store), MAX_RECORDS as usize + 1);

	// Restarted, the worker counts what the store holds: still full.
	let _ = worker.kill();
	let _ = worker.wait();
	let mut worker = spawn_worker(&config, dir.path(), "worker-2.log", &[]);
	wait_for_health(&url).await;
	let (code, _) =
		status(upload(&client, &sensor, current, first + 31, 10).await.expect_err("still over"));
	assert_eq!(code, StatusCode::TOO_MANY_REQUESTS);
	assert_eq!(records_stored(&store), MAX_RECORDS as usize + 1);
	let _ = worker.kill();
	let _ = worker.wait();
}
