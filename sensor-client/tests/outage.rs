//! Readings taken while the cloud is unreachable wait on disk, survive a kill of the
//! sensor client in the middle of writing a batch (a torn entry at the end of its
//! log), and all reach the cloud once it is back.

use sensorshare_chain_client::dev_node::{
	free_port, DevNode, KillOnDrop, SensorRun, WorkerProcess,
};
use sensorshare_protocol::{
	batch::{batch_head, UnverifiedBatch, BATCH_HEAD_LEN},
	sha256,
};
use sensorshare_sensor_client::log::{Kind, Log};
use std::{
	collections::BTreeSet,
	path::Path,
	process::{Command, Stdio},
	time::{Duration, Instant},
};

fn sensor(args: &[String], log: &Path) -> KillOnDrop {
	KillOnDrop(
		Command::new(env!("CARGO_BIN_EXE_sensorshare-sensor"))
			.args(args)
			.stdout(Stdio::null())
			.stderr(std::fs::File::create(log).expect("log"))
			.spawn()
			.expect("the sensor client starts"),
	)
}

/// The digests of the records waiting in the sensor's upload log.
fn queued_records(queue: &Path) -> BTreeSet<String> {
	let log = Log::open(queue, u64::MAX).expect("the upload log");
	let entries = log.read(log.head(), usize::MAX).expect("read");
	entries.iter().filter(|e| e.kind == Kind::Batch).flat_map(|e| record_digests(&e.body)).collect()
}

/// The digests of the records of a batch (decoded strictly, not verified: the test
/// only compares what was logged with what was stored).
fn record_digests(batch: &[u8]) -> Vec<String> {
	UnverifiedBatch::from_bytes(batch).expect("a batch");
	let (_, count) = batch_head(batch).expect("a batch's head");
	let mut rest = &batch[BATCH_HEAD_LEN..];
	let mut out = Vec::new();
	for _ in 0..count {
		let len = u32::from_be_bytes(rest[..4].try_into().expect("a length")) as usize;
		out.push(hex::encode(sha256(&rest[4..4 + len])));
		rest = &rest[4 + len..];
	}
	out
}

/// The digests of the records the store holds, in its batches.
fn stored_records(store: &Path) -> BTreeSet<String> {
	let mut out = BTreeSet::new();
	let mut stack = vec![store.to_path_buf()];
	while let Some(dir) = stack.pop() {
		for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
			let p = entry.path();
			if p.is_dir() {
				stack.push(p);
			} else if p.parent().is_some_and(|d| d.ends_with("batches")) {
				out.extend(record_digests(&std::fs::read(&p).expect("a stored batch")));
			}
		}
	}
	out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_wait_through_an_outage_and_a_kill_mid_batch_then_all_arrive() {
	let mut node = DevNode::start(&[]).expect("the node starts");
	let _chain = node.client().await;
	let url = node.url();
	let dir = tempfile::tempdir().expect("tempdir");
	let d = dir.path();
	let key = d.join("tag.key");
	let key_s = key.to_str().expect("utf-8");
	let queue = d.join("queue");
	let port = free_port();
	let cloud = format!("http://127.0.0.1:{port}");

	let out = Command::new(env!("CARGO_BIN_EXE_sensorshare-sensor"))
		.args(["--chain-url", &url, "register", "--id", "tag-outage", "--key", key_s, "--dev-ca"])
		.args(["--owner", "//Alice", "--epoch-secs", "5"])
		.output()
		.expect("register runs");
	assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
	#[cfg(unix)]
	{
		use std::os::unix::fs::PermissionsExt;
		let mode = std::fs::metadata(&key).expect("key file").permissions().mode();
		assert_eq!(mode & 0o777, 0o600, "the key file is the owner's only");
	}

	// The cloud is down: readings queue up. Then the sensor client is killed.
	let run = SensorRun {
		chain_url: url.clone(),
		key: key.clone(),
		cloud: cloud.clone(),
		interval_ms: 50,
		queue_dir: queue.clone(),
		seed: None,
		marker: None,
	}
	.args();
	let mut first = sensor(&run, &d.join("sensor-1.log"));
	tokio::time::sleep(Duration::from_secs(3)).await;
	first.0.kill().expect("SIGKILL");
	let _ = first.0.wait();
	let waiting = queued_records(&queue);
	assert!(waiting.len() >= 10, "readings were queued during the outage: {}", waiting.len());
	// The kill came in the middle of a batch's write: the log's newest segment ends
	// in part of an entry (its length says 4000 bytes; 100 follow).
	let newest = std::fs::read_dir(&queue)
		.expect("the log")
		.flatten()
		.map(|e| e.path())
		.filter(|p| p.extension().is_some_and(|e| e == "seg"))
		.max()
		.expect("a segment");
	let mut torn = 4000u32.to_be_bytes().to_vec();
	torn.extend_from_slice(&[0xab; 104]);
	std::fs::OpenOptions::new()
		.append(true)
		.open(&newest)
		.and_then(|mut f| std::io::Write::write_all(&mut f, &torn))
		.expect("a torn write");

	// The cloud comes back, and so does the sensor client: every queued reading arrives.
	let worker = WorkerProcess::start(&url, port, d).expect("the worker starts");
	let store = worker.store.clone();
	let _second = sensor(&run, &d.join("sensor-2.log"));
	let started = Instant::now();
	loop {
		let stored = stored_records(&store);
		let missing = waiting.difference(&stored).count();
		if missing == 0 {
			break;
		}
		assert!(
			started.elapsed() < Duration::from_secs(60),
			"{missing} of {} queued readings never arrived\n{}",
			waiting.len(),
			std::fs::read_to_string(d.join("sensor-2.log")).unwrap_or_default()
		);
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	assert!(
		std::fs::read_dir(queue.join("rejected")).map_or(true, |mut d| d.next().is_none()),
		"nothing was refused"
	);
	let log = std::fs::read_to_string(d.join("sensor-2.log")).unwrap_or_default();
	assert!(log.contains("dropping a torn entry"), "the torn tail was seen and dropped:\n{log}");
}
