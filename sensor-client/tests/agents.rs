//! Two agents of one owner, each with its own sensors' keys, as running processes:
//! a request for a sensor one of them lacks the key of is left to the other, not
//! rejected.

use sensorshare_chain_client::{
	dev_node::{DevNode, KillOnDrop},
	signer_from_uri, AgreementStatus,
};
use std::{
	path::Path,
	process::{Command, Stdio},
	time::{Duration, Instant},
};

fn sensor_bin() -> Command {
	Command::new(env!("CARGO_BIN_EXE_sensorshare-sensor"))
}

fn agent(url: &str, keys: &[&Path], log: &Path) -> KillOnDrop {
	let mut cmd = sensor_bin();
	cmd.args(["--chain-url", url, "agent", "--owner", "//Alice"]);
	for k in keys {
		cmd.arg("--key").arg(k);
	}
	let child = cmd
		.stdout(Stdio::null())
		.stderr(std::fs::File::create(log).expect("log"))
		.spawn()
		.expect("the agent starts");
	KillOnDrop(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_a_sensor_an_agent_has_no_key_of_is_left_to_the_agent_that_has_it() {
	let mut node = DevNode::start(&[]).expect("the node starts");
	let chain = node.client().await;
	let url = node.url();
	let dir = tempfile::tempdir().expect("tempdir");
	let d = dir.path();
	let (k1, k2) = (d.join("tag-1.key"), d.join("tag-2.key"));
	for (id, key) in [("tag-1", &k1), ("tag-2", &k2)] {
		let out = sensor_bin()
			.args(["--chain-url", &url, "register", "--id", id, "--dev-ca", "--owner", "//Alice"])
			.arg("--key")
			.arg(key)
			.output()
			.expect("register runs");
		assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
	}
	let bob = signer_from_uri("//Bob").expect("dev");
	let bob_key = cbpre::dev::enroll_with_rng(b"bob", &mut rand::rngs::OsRng).expect("enrol");
	chain.register_identity_with_rng(&bob, &bob_key, &mut rand::rngs::OsRng).await.expect("bob");

	// The first site's agent holds tag-1's key only.
	let _site_1 = agent(&url, &[&k1], &d.join("agent-1.log"));
	tokio::time::sleep(Duration::from_secs(2)).await;
	let sensors =
		[cbpre::Identity::new(b"tag-1").expect("id"), cbpre::Identity::new(b"tag-2").expect("id")];
	let (id, _) = chain.request_data(&bob, &sensors, (10, 11), u128::MAX).await.expect("requested");
	tokio::time::sleep(Duration::from_secs(4)).await;
	let a = chain.agreement(id).await.expect("read").expect("still open");
	assert_eq!(a.status, AgreementStatus::Requested, "not rejected for want of a key");
	let log = std::fs::read_to_string(d.join("agent-1.log")).unwrap_or_default();
	assert!(log.contains("left to the agent that has it"), "{log}");

	// The agent that holds both keys accepts it.
	let _site_2 = agent(&url, &[&k1, &k2], &d.join("agent-2.log"));
	let started = Instant::now();
	loop {
		let a = chain.agreement(id).await.expect("read").expect("open");
		if a.status == AgreementStatus::Accepted {
			break;
		}
		assert!(
			started.elapsed() < Duration::from_secs(60),
			"not accepted: {a:?}\n{}",
			std::fs::read_to_string(d.join("agent-2.log")).unwrap_or_default()
		);
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}
