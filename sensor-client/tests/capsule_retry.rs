//! A capsule the worker cannot take yet (it does not know the sensor for a moment)
//! is retried until it is stored, not set aside: without it the epoch's records
//! could never be delivered. The real node, worker and sensor client.

use sensorshare_chain_client::dev_node::{free_port, DevNode, SensorRun, WorkerProcess};
use sensorshare_worker_client::WorkerClient;
use std::{
	path::Path,
	process::Command,
	time::{Duration, Instant},
};

/// How long the worker remembers an identity it found unregistered.
const UNKNOWN_SECS: u64 = 10;

fn capsules(dir: &Path) -> usize {
	let mut n = 0;
	let mut stack = vec![dir.to_path_buf()];
	while let Some(d) = stack.pop() {
		for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
			let p = e.path();
			if p.is_dir() {
				stack.push(p);
			} else if p.file_name().is_some_and(|n| n == "capsule") {
				n += 1;
			}
		}
	}
	n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capsule_refused_while_the_worker_does_not_know_the_sensor_is_retried_until_stored() {
	let mut node = DevNode::start(&[]).expect("the node starts");
	let chain = node.client().await;
	let url = node.url();
	let dir = tempfile::tempdir().expect("tempdir");
	let d = dir.path();
	let config = format!("[limits]\nunknown_sensor_cache_secs = {UNKNOWN_SECS}\n");
	let worker = WorkerProcess::start_with(&url, free_port(), d, &config).expect("worker");
	let client = WorkerClient::new(&worker.url);
	let started = Instant::now();
	while client
		.upload_capsule_bytes(&cbpre::Identity::new(b"tag-late").expect("id"), 1, vec![])
		.await
		.map_err(|e| e.status())
		!= Err(Some(sensorshare_worker_client::StatusCode::NOT_FOUND))
	{
		assert!(started.elapsed() < Duration::from_secs(60), "the worker did not come up");
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
	// The worker now remembers "tag-late" as unregistered, for a while.

	let key = d.join("tag.key");
	let out = Command::new(env!("CARGO_BIN_EXE_sensorshare-sensor"))
		.args(["--chain-url", &url, "register", "--id", "tag-late", "--dev-ca"])
		.args(["--owner", "//Alice", "--epoch-secs", "5"])
		.arg("--key")
		.arg(&key)
		.output()
		.expect("register runs");
	assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
	assert!(chain.sensor(b"tag-late").await.expect("read").is_some());
	let queue = d.join("queue");
	let run = SensorRun {
		chain_url: url.clone(),
		key,
		cloud: worker.url.clone(),
		interval_ms: 200,
		queue_dir: queue.clone(),
		seed: None,
		marker: None,
	};
	let _sensor = run.spawn(&d.join("sensor.log")).expect("the sensor client starts");

	let store = worker.chain_store(&chain.genesis_hash());
	let started = Instant::now();
	while capsules(&store) == 0 {
		assert!(
			started.elapsed() < Duration::from_secs(UNKNOWN_SECS + 30),
			"no capsule stored\n{}",
			std::fs::read_to_string(d.join("sensor.log")).unwrap_or_default()
		);
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	let log = std::fs::read_to_string(d.join("sensor.log")).unwrap_or_default();
	assert!(log.contains("not registered"), "the first attempts were refused:\n{log}");
	let rejected = std::fs::read_dir(queue.join("rejected")).map_or(0, |d| d.count());
	assert_eq!(rejected, 0, "nothing was set aside:\n{log}");
}
