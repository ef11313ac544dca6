//! The paper's flow with the real binaries: a dev chain, the cloud worker, two
//! simulated sensors streaming through `sensorshare-sensor run`, the owner agent,
//! and a data user with `sensorshare`. The user gets exactly the readings of the
//! range and sensor requested, decrypted. Then a subscription: a range reaching
//! into the future, re-keyed by the agent and delivered by the worker epoch by epoch.

use sensorshare_chain_client::{
	dev_node::{free_port, workspace_binary, DevNode, KillOnDrop, SensorRun, WorkerProcess},
	AgreementStatus,
};
use std::{
	path::{Path, PathBuf},
	process::{Command, Output, Stdio},
	time::{Duration, Instant},
};

const EPOCH_SECS: u64 = 2;

fn spawn(bin: &Path, args: &[&str], log: &Path) -> KillOnDrop {
	KillOnDrop(
		Command::new(bin)
			.args(args)
			.stdout(Stdio::null())
			.stderr(std::fs::File::create(log).expect("log"))
			.spawn()
			.unwrap_or_else(|e| panic!("{}: {e}", bin.display())),
	)
}

fn run(bin: &Path, args: &[&str]) -> Output {
	let out = Command::new(bin).args(args).output().expect("runs");
	assert!(
		out.status.success(),
		"{} {args:?} failed:\n{}{}",
		bin.display(),
		String::from_utf8_lossy(&out.stdout),
		String::from_utf8_lossy(&out.stderr)
	);
	out
}

use sensorshare_protocol::batch::UnverifiedBatch;
use sensorshare_service::clock::now_secs;

/// `sensorshare fetch` of agreement `id` with key file `key` into `json`: the rows.
fn fetch_rows(cli: &Path, url: &str, id: u64, key: &str, json: &Path) -> Vec<serde_json::Value> {
	let id = id.to_string();
	let out = json.to_str().expect("utf-8");
	run(cli, &["--chain-url", url, "fetch", &id, "--key", key, "--out", out]);
	serde_json::from_slice(&std::fs::read(json).expect("written")).expect("JSON rows")
}

/// `sensorshare request` by Bob of `sensor` from `from` to `to`: the agreement.
fn request(cli: &Path, url: &str, sensor: &str, from: &str, to: &str) -> u64 {
	let args = ["--account", "//Bob", "--sensors", sensor, "--from", from, "--to", to, "--yes"];
	agreement_number(&run(cli, &[&["--chain-url", url, "request"][..], &args].concat()))
}

/// The agreement number `sensorshare request` printed.
fn agreement_number(out: &Output) -> u64 {
	let text = String::from_utf8_lossy(&out.stdout);
	text.split("Agreement ")
		.nth(1)
		.and_then(|t| t.split_whitespace().next())
		.and_then(|n| n.parse().ok())
		.unwrap_or_else(|| panic!("no agreement number in {text:?}"))
}

/// The timestamps of the records the store holds for a sensor's epochs.
fn stored_timestamps(
	store: &Path,
	sensor: &str,
	epochs: std::ops::RangeInclusive<u64>,
) -> Vec<u64> {
	let mut out = Vec::new();
	for e in epochs {
		let dir = store
			.join("sensors")
			.join(hex::encode(sensor))
			.join(format!("{e:020}"))
			.join("batches");
		for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
			let bytes = std::fs::read(entry.path()).expect("a stored batch");
			let batch = UnverifiedBatch::from_bytes(&bytes).expect("a batch");
			out.extend(batch.headers().map(|h| h.timestamp_ms));
		}
	}
	out.sort();
	out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_fetches_exactly_the_readings_of_the_range_and_sensor_requested() {
	let mut node = DevNode::start(&[]).expect("the node starts");
	let chain = node.client().await;
	let dir = tempfile::tempdir().expect("tempdir");
	let d = dir.path();
	let url = node.url();
	let sensor_bin = workspace_binary("sensorshare-sensor", "SENSORSHARE_SENSOR");
	let cli = PathBuf::from(env!("CARGO_BIN_EXE_sensorshare"));

	let worker = WorkerProcess::start(&url, free_port(), d).expect("the worker starts");
	let (cloud, store) = (worker.url.clone(), worker.chain_store(&chain.genesis_hash()));

	// Two sensors of Alice, registered with the dev CA and streaming every 100 ms.
	let mut sensors = Vec::new();
	for (tag, seed) in [("tag-1", 1), ("tag-2", 2)] {
		let key = d.join(format!("{tag}.key"));
		let key_s = key.to_str().expect("utf-8 path");
		run(
			&sensor_bin,
			&[
				"--chain-url",
				&url,
				"register",
				"--id",
				tag,
				"--key",
				key_s,
				"--dev-ca",
				"--owner",
				"//Alice",
				"--price",
				"1",
				"--epoch-secs",
				&EPOCH_SECS.to_string(),
			],
		);
		let run = SensorRun {
			chain_url: url.clone(),
			key: d.join(format!("{tag}.key")),
			cloud: cloud.clone(),
			interval_ms: 100,
			queue_dir: d.join(format!("{tag}.queue")),
			seed: Some(seed),
			marker: None,
		};
		sensors.push(run.spawn(&d.join(format!("{tag}.log"))).expect("the sensor client starts"));
	}
	let keys: Vec<String> = ["tag-1", "tag-2"]
		.iter()
		.map(|t| d.join(format!("{t}.key")).display().to_string())
		.collect();
	let _agent = spawn(
		&sensor_bin,
		&[
			"--chain-url",
			&url,
			"agent",
			"--owner",
			"//Alice",
			"--key",
			&keys[0],
			"--key",
			&keys[1],
			"--settle-secs",
			"1",
		],
		&d.join("agent.log"),
	);

	// Bob: a key from the dev CA and an identity on chain.
	let bob_key = d.join("bob.key");
	let bob = bob_key.to_str().expect("utf-8");
	run(&cli, &["--chain-url", &url, "keys", "new", "--id", "bob", "--key", bob, "--dev-ca"]);
	run(&cli, &["--chain-url", &url, "identity", "register", "--key", bob, "--account", "//Bob"]);

	// Let three whole epochs pass, plus one for the last uploads to land.
	let start = now_secs();
	let first = start / EPOCH_SECS + 1;
	let last = first + 2;
	while now_secs() < (last + 2) * EPOCH_SECS {
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	let (from, to) = ((first * EPOCH_SECS).to_string(), (last * EPOCH_SECS + 1).to_string());
	let id = request(&cli, &url, "tag-1", &from, &to);

	let started = Instant::now();
	loop {
		let a = chain.agreement(id).await.expect("read").expect("open");
		if a.status == AgreementStatus::Delivered {
			break;
		}
		assert!(
			started.elapsed() < Duration::from_secs(60),
			"not delivered: {a:?}\n{}",
			std::fs::read_to_string(d.join("agent.log")).unwrap_or_default()
		);
		tokio::time::sleep(Duration::from_millis(100)).await;
	}

	let json = d.join("readings.json");
	let rows = fetch_rows(&cli, &url, id, bob, &json);
	assert!(!rows.is_empty());
	let mut timestamps: Vec<u64> = rows
		.iter()
		.inspect(|r| {
			assert_eq!(r["sensor"], "tag-1", "only the sensor requested");
			let e = r["epoch"].as_u64().expect("epoch");
			assert!((first..=last).contains(&e), "epoch {e} outside {first}..={last}");
		})
		.filter(|r| r["quantity"] == "pressure")
		.map(|r| r["timestamp_ms"].as_u64().expect("timestamp"))
		.collect();
	timestamps.sort();
	assert_eq!(
		timestamps,
		stored_timestamps(&store, "tag-1", first..=last),
		"every reading of the range, once"
	);

	// CSV and a plot of it.
	let csv = d.join("readings.csv");
	run(
		&cli,
		&[
			"--chain-url",
			&url,
			"fetch",
			&id.to_string(),
			"--key",
			bob,
			"--out",
			csv.to_str().expect("utf-8"),
		],
	);
	let png = d.join("plot.png");
	run(&cli, &["plot", csv.to_str().expect("utf-8"), "--out", png.to_str().expect("utf-8")]);
	assert_eq!(&std::fs::read(&png).expect("png")[..4], b"\x89PNG");

	// Bob confirms; the agreement is settled.
	run(&cli, &["--chain-url", &url, "confirm", &id.to_string(), "--account", "//Bob"]);
	assert!(chain.agreement(id).await.expect("read").is_none(), "settled agreements leave storage");

	// A subscription: tag-2 from now for three more epochs. Nothing of it exists yet;
	// the agent re-keys each epoch once it has ended, the worker delivers each step.
	let id = request(&cli, &url, "tag-2", "now", &format!("now+{}s", 3 * EPOCH_SECS));
	let a = chain.agreement(id).await.expect("read").expect("open");
	let (first, last) = (a.from_epoch, a.to_epoch);
	assert!(last > first, "a range of several epochs: {a:?}");
	let started = Instant::now();
	let mut partly_delivered = false;
	loop {
		let a = chain.agreement(id).await.expect("read").expect("open");
		partly_delivered |= a.status == AgreementStatus::Accepted && a.delivered > 0;
		if a.status == AgreementStatus::Delivered {
			break;
		}
		assert!(
			started.elapsed() < Duration::from_secs(90),
			"subscription not delivered: {a:?}\n{}",
			std::fs::read_to_string(d.join("agent.log")).unwrap_or_default()
		);
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
	assert!(partly_delivered, "the subscription was delivered in steps, as epochs ended");
	let status = run(&cli, &["--chain-url", &url, "status", &id.to_string()]);
	let status = String::from_utf8_lossy(&status.stdout);
	let epochs = last - first + 1;
	assert!(status.contains(&format!("{epochs}/{epochs}")), "{status}");

	let json = d.join("subscription.json");
	let rows = fetch_rows(&cli, &url, id, bob, &json);
	let stored = stored_timestamps(&store, "tag-2", first..=last);
	let mut seen_epochs = std::collections::BTreeSet::new();
	for r in &rows {
		assert_eq!(r["sensor"], "tag-2", "only the sensor subscribed to");
		let e = r["epoch"].as_u64().expect("epoch");
		assert!((first..=last).contains(&e), "epoch {e} outside {first}..={last}");
		seen_epochs.insert(e);
		let ts = r["timestamp_ms"].as_u64().expect("timestamp");
		assert!(stored.binary_search(&ts).is_ok(), "a reading the sensor uploaded");
	}
	assert_eq!(seen_epochs, (first..=last).collect(), "readings of every epoch subscribed to");
	drop(sensors);
}
