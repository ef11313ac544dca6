//! A worker killed with SIGKILL in the middle of a batch of deliveries, then
//! restarted, delivers each agreement exactly once.

mod common;

use common::*;
use sensorshare_chain_client::AgreementStatus;
use std::time::{Duration, Instant};

const AGREEMENTS: usize = 8;
const ONE_AT_A_TIME: &[&str] = &["--max-concurrent-deliveries", "1"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_delivers_each_agreement_exactly_once_after_restart() {
	// One delivery at a time, so that the kill lands between deliveries of the batch.
	let mut running = Running::start(|_| {}, ONE_AT_A_TIME).await;
	let (chain, client, sensor, bob) =
		(&running.chain, &running.client, &running.sensor, &running.bob);
	for epoch in 0..4 {
		upload_epoch(client, sensor, epoch, 40).await;
	}
	let (start, _) = chain.client.finalized_head().await.expect("head");

	// A batch of requests, accepted all at once: the owner submits every acceptance
	// before any is finalized.
	let mut ids = Vec::new();
	for i in 0..AGREEMENTS {
		let e = (i % 4) as u64;
		ids.push(chain.request("//Bob", &[sensor], e, e).await);
	}
	let mut accepts = Vec::new();
	for id in &ids {
		accepts.push((*id, all_rekeys(*id, &[sensor], &public_key(bob), &chain.client).await));
	}
	let owner = key("//Alice");
	let submissions =
		accepts.into_iter().map(|(id, rekeys)| chain.client.accept_request(&owner, id, rekeys));
	for r in futures::future::join_all(submissions).await {
		r.expect("accept_request");
	}

	// Kill the worker as soon as the first delivery is on chain.
	let started = Instant::now();
	loop {
		let mut delivered = 0;
		for id in &ids {
			let a = chain.client.agreement(*id).await.expect("read").expect("open");
			delivered += usize::from(a.status == AgreementStatus::Delivered);
		}
		if delivered > 0 {
			assert!(delivered < AGREEMENTS, "the whole batch was delivered before the kill");
			break;
		}
		assert!(started.elapsed() < Duration::from_secs(60), "no delivery within a minute");
		tokio::time::sleep(Duration::from_millis(20)).await;
	}
	running.worker.kill().expect("SIGKILL");
	running.worker.wait().expect("reaped");

	let restarted =
		spawn_worker(&running.config, running.dir.path(), "worker-2.log", ONE_AT_A_TIME);
	running.worker = restarted;
	let Running { chain, client, sensor, bob, url, .. } = &running;
	wait_for_health(url).await;
	for id in &ids {
		chain.delivered(*id, Duration::from_secs(90)).await;
	}
	assert_each_delivered_once_as_stored(chain, start, &ids, client, &[sensor], bob).await;
}
