//! The worker's state is bound to its chain: its store and cursor live in the
//! chain's namespace, and started against another chain with the same genesis (a
//! dev chain made afresh, as `scripts/dev.sh` does each time) it refuses with a
//! clear error instead of waiting for the old chain's height or resuming its
//! deliveries.

mod common;

use common::*;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_started_against_a_fresh_chain_refuses_the_old_chains_state() {
	let dir = tempfile::tempdir().expect("tempdir");
	let first = Chain::start().await;
	let (config, url) = worker_config(&first.node.url(), dir.path());
	let mut worker = spawn_worker(&config, dir.path(), "worker-1.log", &[]);
	wait_for_health(&url).await;
	let client = sensorshare_worker_client::WorkerClient::new(&url);
	let sensor = enroll("sensor-1", 1);
	let bob = enroll("bob", 2);
	first.register_sensor("//Alice", &sensor, "//Ferdie").await;
	first.register_identity("//Bob", &bob).await;
	upload_epoch(&client, &sensor, 10, 3).await;
	let id = first.request("//Bob", &[&sensor], 10, 10).await;
	first.accept("//Alice", id, &[&sensor], &public_key(&bob)).await;
	first.delivered(id, Duration::from_secs(60)).await;
	let genesis = first.client.genesis_hash();
	let namespace = sensorshare_cloud_worker::store::namespace(&genesis);
	let ours = dir.path().join("store").join(&namespace);
	assert!(ours.join("deliveries").is_dir(), "deliveries are in the chain's namespace");
	assert!(ours.join("sensors").is_dir(), "and so are uploads");
	assert!(dir.path().join("state").join(&namespace).join("cursor").is_file());
	let _ = worker.kill();
	let _ = worker.wait();
	drop(first);

	// A fresh dev chain: the same genesis, none of the old blocks.
	let second = Chain::start().await;
	assert_eq!(second.client.genesis_hash(), genesis);
	let (config, _) = worker_config(&second.node.url(), dir.path());
	let mut worker = spawn_worker(&config, dir.path(), "worker-2.log", &[]);
	let started = Instant::now();
	let status = loop {
		if let Some(status) = worker.try_wait().expect("wait") {
			break status;
		}
		assert!(started.elapsed() < Duration::from_secs(60), "the worker neither ran nor refused");
		tokio::time::sleep(Duration::from_millis(100)).await;
	};
	assert!(!status.success());
	let log = std::fs::read_to_string(dir.path().join("worker-2.log")).expect("log");
	assert!(log.contains("of another chain with this genesis"), "{log}");
}
