//! Faults injected into the real parts under a running worker binary: a store that
//! stops being writable, a node that stops answering. No delivery is lost and none
//! is made twice.

mod common;

use common::*;
use sensorshare_chain_client::AgreementStatus;
use std::{
	path::{Path, PathBuf},
	time::{Duration, Instant},
};

/// How long each fault lasts.
const OUTAGE: Duration = Duration::from_secs(30);

/// Sends `signal` (`STOP`, `CONT`) to process `pid`.
fn signal(pid: u32, signal: &str) {
	sensorshare_chain_client::dev_node::signal(pid, signal).expect("the signal is sent");
}

/// A directory of the store swapped for a plain file: every write below it fails,
/// even as root, until [`Swapped::restore`].
struct Swapped {
	path: PathBuf,
	away: PathBuf,
}

impl Swapped {
	fn swap(path: &Path) -> Self {
		let away = path.with_extension("away");
		std::fs::create_dir_all(path).expect("the directory");
		std::fs::rename(path, &away).expect("moved away");
		std::fs::write(path, b"not a directory").expect("a plain file in its place");
		Swapped { path: path.to_path_buf(), away }
	}

	fn restore(self) {
		std::fs::remove_file(&self.path).expect("the plain file goes");
		std::fs::rename(&self.away, &self.path).expect("the directory is back");
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_outlast_an_unwritable_store_and_a_paused_node_each_exactly_once() {
	let running = Running::start(|_| {}, &[]).await;
	let Running { chain, dir, client, sensor, bob, .. } = &running;
	for epoch in 0..4 {
		upload_epoch(client, sensor, epoch, 10).await;
	}
	let (start, _) = chain.client.finalized_head().await.expect("head");
	let accept = |i: usize| async move {
		let e = (i % 4) as u64;
		let id = chain.request("//Bob", &[sensor], e, e).await;
		chain.accept("//Alice", id, &[sensor], &public_key(bob)).await;
		id
	};

	// Ten agreements accepted while the store cannot be written.
	let namespace = sensorshare_cloud_worker::store::namespace(&chain.client.genesis_hash());
	let store = dir.path().join("store").join(namespace);
	let swapped = Swapped::swap(&store.join("deliveries"));
	let mut ids = Vec::new();
	for i in 0..10 {
		ids.push(accept(i).await);
	}
	tokio::time::sleep(OUTAGE).await;
	for id in &ids {
		let a = chain.client.agreement(*id).await.expect("read").expect("open");
		assert_eq!(a.status, AgreementStatus::Accepted, "nothing is delivered without a store");
	}
	swapped.restore();

	// Ten more, and the node stops answering right after their acceptance.
	for i in 10..20 {
		ids.push(accept(i).await);
	}
	signal(chain.node.pid(), "STOP");
	tokio::time::sleep(OUTAGE).await;
	signal(chain.node.pid(), "CONT");

	let started = Instant::now();
	for id in &ids {
		let left = Duration::from_secs(180).saturating_sub(started.elapsed());
		chain.delivered(*id, left).await;
	}
	assert_each_delivered_once_as_stored(chain, start, &ids, client, &[sensor], bob).await;
	assert!(running.log().contains("delivery failed; retrying"), "the outage was outlasted");
}
