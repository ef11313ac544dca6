//! The owner agent as a running process, against a real node:
//! - two agents of one owner, each with its own sensors' keys: a request for a
//!   sensor one of them lacks the key of is left to the other, not rejected;
//! - an agent killed with its acceptance still in the pool: the next run waits for
//!   it to land and does not send a second;
//! - an agent re-keying many subscriptions when the node is paused still shuts
//!   down within its grace.

use sensorshare_chain_client::{
	dev_node::{self, DevNode, KillOnDrop},
	signer_from_uri, AgreementStatus, ChainClient,
};
use sensorshare_sensor_client::agent::SHUTDOWN_GRACE;
use std::{
	path::Path,
	process::{Command, Stdio},
	time::{Duration, Instant},
};

fn sensor_bin() -> Command {
	Command::new(env!("CARGO_BIN_EXE_sensorshare-sensor"))
}

fn agent(url: &str, keys: &[&Path], log: &Path) -> KillOnDrop {
	agent_with(url, keys, log, &[])
}

fn agent_with(url: &str, keys: &[&Path], log: &Path, extra: &[&str]) -> KillOnDrop {
	let mut cmd = sensor_bin();
	cmd.args(["--chain-url", url, "agent", "--owner", "//Alice"]).args(extra);
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

/// Registers sensor `id` of Alice's with `epoch_secs`-second epochs, its key at `key`.
fn register(url: &str, id: &str, key: &Path, epoch_secs: u64) {
	let out = sensor_bin()
		.args(["--chain-url", url, "register", "--id", id, "--dev-ca", "--owner", "//Alice"])
		.args(["--epoch-secs", &epoch_secs.to_string()])
		// Its readings of epoch 10 on are in the store (the tests upload them).
		.args(["--first-epoch", "0"])
		.arg("--key")
		.arg(key)
		.output()
		.expect("register runs");
	assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Bob, registered as a requester.
async fn register_bob(chain: &ChainClient) -> sensorshare_chain_client::Keypair {
	let bob = signer_from_uri("//Bob").expect("dev");
	let bob_key = cbpre::dev::enroll_with_rng(b"bob", &mut rand::rngs::OsRng).expect("enrol");
	chain.register_identity_with_rng(&bob, &bob_key, &mut rand::rngs::OsRng).await.expect("bob");
	bob
}

/// Waits up to `limit` for `done`, polling every 50 ms; panics with `what` if not.
async fn wait_for<F: std::future::Future<Output = bool>>(
	limit: Duration,
	what: &str,
	mut done: impl FnMut() -> F,
) {
	let started = Instant::now();
	while !done().await {
		assert!(started.elapsed() < limit, "{what} after {limit:?}");
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
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
		register(&url, id, key, 60);
	}
	let bob = register_bob(&chain).await;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_killed_with_its_acceptance_in_the_pool_is_followed_by_one_that_does_not_send_another(
) {
	// Blocks every 8 s: an acceptance waits in the pool for the next.
	let mut node = DevNode::start(&["--sealing", "8000"]).expect("the node starts");
	let chain = node.client().await;
	let url = node.url();
	let dir = tempfile::tempdir().expect("tempdir");
	let key = dir.path().join("tag-1.key");
	register(&url, "tag-1", &key, 60);
	let bob = register_bob(&chain).await;
	let alice = signer_from_uri("//Alice").expect("dev").public_key().to_account_id();
	let nonce = |chain: ChainClient, who| async move {
		chain.api().tx().account_nonce(&who).await.expect("the finalized nonce")
	};

	let mut first = agent(&url, &[&key], &dir.path().join("agent-1.log"));
	tokio::time::sleep(Duration::from_secs(2)).await;
	let before = nonce(chain.clone(), alice.clone()).await;
	let sensors = [cbpre::Identity::new(b"tag-1").expect("id")];
	let (id, _) = chain.request_data(&bob, &sensors, (10, 11), u128::MAX).await.expect("requested");
	// The agent's acceptance is in the pool: the agent dies before it hears more.
	wait_for(Duration::from_secs(30), "no acceptance in the pool", || {
		let (chain, alice) = (chain.clone(), alice.clone());
		async move { chain.has_unfinalized_transactions(&alice).await.expect("read") }
	})
	.await;
	let _ = first.0.kill();
	let _ = first.0.wait();
	let log_2 = dir.path().join("agent-2.log");
	let _second = agent(&url, &[&key], &log_2);
	assert_eq!(
		chain.agreement(id).await.expect("read").expect("open").status,
		AgreementStatus::Requested,
		"the second agent starts while the first's acceptance is still on its way"
	);

	wait_for(Duration::from_secs(60), "not accepted", || {
		let chain = chain.clone();
		async move {
			chain
				.agreement(id)
				.await
				.expect("read")
				.is_some_and(|a| a.status == AgreementStatus::Accepted)
		}
	})
	.await;
	// Two more blocks: a second acceptance sent by the new agent would be in one.
	tokio::time::sleep(Duration::from_secs(17)).await;
	let log = std::fs::read_to_string(&log_2).unwrap_or_default();
	assert_eq!(
		nonce(chain.clone(), alice.clone()).await,
		before + 1,
		"Alice sent one acceptance, not two:\n{log}"
	);
	assert!(log.contains("accepted by an earlier submission"), "{log}");
	assert!(!log.contains("could not answer"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_re_keying_many_subscriptions_when_the_node_is_paused_still_shuts_down_in_its_grace(
) {
	let mut node = DevNode::start(&[]).expect("the node starts");
	let chain = node.client().await;
	let url = node.url();
	let dir = tempfile::tempdir().expect("tempdir");
	let key = dir.path().join("tag-1.key");
	register(&url, "tag-1", &key, 2);
	let bob = register_bob(&chain).await;
	let log = dir.path().join("agent.log");
	let mut agent = agent_with(&url, &[&key], &log, &["--settle-secs", "0"]);
	tokio::time::sleep(Duration::from_secs(2)).await;

	// Twenty subscriptions of two-second epochs, from now on for two minutes.
	let sensors = [cbpre::Identity::new(b"tag-1").expect("id")];
	let now = sensorshare_market::epoch::of_secs(sensorshare_service::clock::now_secs(), 2)
		.expect("an epoch");
	let mut ids = Vec::new();
	for _ in 0..20 {
		let (id, _) = chain
			.request_data(&bob, &sensors, (now, now + 60), u128::MAX)
			.await
			.expect("requested");
		ids.push(id);
	}
	wait_for(Duration::from_secs(60), "the subscriptions are not all re-keyed", || {
		let (chain, ids) = (chain.clone(), ids.clone());
		async move {
			for id in ids {
				let a = chain.agreement(id).await.expect("read").expect("open");
				if a.status != AgreementStatus::Accepted || a.rekeyed == 0 {
					return false;
				}
			}
			true
		}
	})
	.await;

	// The node stops answering while epochs keep ending: every re-key hangs.
	node.pause().expect("paused");
	tokio::time::sleep(Duration::from_secs(3)).await;
	dev_node::signal(agent.0.id(), "TERM").expect("SIGTERM");
	let asked = Instant::now();
	let limit = SHUTDOWN_GRACE + Duration::from_secs(5);
	let exited = loop {
		if let Ok(Some(status)) = agent.0.try_wait() {
			break Some(status);
		}
		if asked.elapsed() > limit {
			break None;
		}
		tokio::time::sleep(Duration::from_millis(100)).await;
	};
	node.resume().expect("resumed");
	let text = std::fs::read_to_string(&log).unwrap_or_default();
	let status =
		exited.unwrap_or_else(|| panic!("the agent did not stop within {limit:?}:\n{text}"));
	assert!(status.success(), "{status}:\n{text}");
}
