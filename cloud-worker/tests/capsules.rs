//! An epoch with records but no capsule yet is not delivered as if it were
//! complete: the running worker waits for the capsule, says so in its log and a
//! metric, and delivers the whole epoch once the capsule arrives.

mod common;

use common::*;
use sensorshare_chain_client::AgreementStatus;
use sensorshare_protocol::routes::Urls;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_epoch_missing_its_capsule_is_delivered_whole_once_the_capsule_arrives() {
	let running = Running::start(|_| {}, &[]).await;
	let Running { chain, url, client, sensor, bob, .. } = &running;

	// The epoch's records arrive; its capsule does not (yet).
	let (capsule, records) = epoch_data(sensor, 10, 4, 10);
	upload_batches(client, sensor, 10, &records).await;
	let id = chain.request("//Bob", &[sensor], 10, 10).await;
	chain.accept("//Alice", id, &[sensor], &public_key(bob)).await;
	tokio::time::sleep(Duration::from_secs(3)).await;
	let a = chain.client.agreement(id).await.expect("read").expect("open");
	assert_eq!(a.status, AgreementStatus::Accepted, "not delivered without its capsule");
	let log = running.log();
	assert!(log.contains("has records but no capsule yet"), "{log}");
	let metrics = reqwest::get(Urls::new(url).metrics()).await.expect("metrics");
	let metrics = metrics.text().await.expect("text");
	assert!(
		metrics
			.lines()
			.any(|l| l.starts_with("sensorshare_worker_capsules_missing_total ")
				&& !l.ends_with(" 0")),
		"{metrics}"
	);

	// The capsule comes: the whole epoch is delivered.
	client.upload_capsule(&capsule).await.expect("capsule upload");
	let (_, digest) = chain.delivered(id, Duration::from_secs(60)).await;
	let keys = sensor_keys(&[sensor]);
	let keys = expected(bob, &keys, 10);
	let got = client
		.download(&delivery(&chain.client, id, 10, digest).await, &keys, &mut rng(4), |_| {})
		.await
		.expect("downloads");
	assert_eq!(got.epochs.len(), 1);
	assert_eq!(got.epochs[0].readings.len(), 4, "every record of the epoch");
}
