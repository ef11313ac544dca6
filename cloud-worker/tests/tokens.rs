//! A download that outlasts its token: the client proves its identity again and the
//! delivery still downloads whole, from the running worker binary.

mod common;

use common::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_larger_than_a_tokens_lifetime_still_downloads() {
	let running = Running::start(|limits| limits.token_secs = 1, &[]).await;
	let Running { chain, client, sensor, bob, .. } = &running;
	for epoch in 10..=13 {
		upload_epoch(client, sensor, epoch, 3).await;
	}
	let id = chain.request("//Bob", &[sensor], 10, 13).await;
	chain.accept("//Alice", id, &[sensor], &public_key(bob)).await;
	let (_, digest) = chain.delivered(id, Duration::from_secs(60)).await;

	// Each segment takes 700 ms to "process": the four outlast the one-second token.
	let keys = sensor_keys(&[sensor]);
	let keys = expected(bob, &keys, 10);
	let slow = |_| std::thread::sleep(Duration::from_millis(700));
	let fetched = client
		.download(&delivery(&chain.client, id, 13, digest).await, &keys, &mut rng(3), slow)
		.await
		.expect("downloads with a fresh token");
	assert_eq!(fetched.epochs.len(), 4);
	assert!(fetched.epochs.iter().all(|e| e.readings.len() == 3));
}
