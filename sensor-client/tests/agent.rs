//! The owner agent against a real dev chain, when a submission's outcome was unknown
//! and it landed after the agent read the agreement: re-keys are never shifted onto
//! later epochs, and the agent's own re-keys already on chain count as posted.

use cbpre::SecretKey;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use sensorshare_chain_client::{
	dev_node::DevNode, signer_from_uri, Agreement, ChainClient, Listing, UNIT,
};
use sensorshare_sensor_client::agent::{self, AcceptListedPrice, Agent, Progress};
use sensorshare_service::clock::now_secs;
use std::{collections::HashMap, time::Duration};

const EPOCH_SECS: u64 = 60;

fn enroll(id: &str, seed: u64) -> SecretKey {
	cbpre::dev::enroll_with_rng(id.as_bytes(), &mut ChaCha20Rng::seed_from_u64(seed))
		.expect("enrolled")
}

/// A sensor of Alice's, Bob's and Eve's identities, and an accepted subscription of
/// Bob's to the three epochs before the current one and the current one, with the
/// re-keys of the first epoch only; the agreement as the agent would read it, the
/// sensor's key, and the two users' keys.
async fn subscription(chain: &ChainClient) -> (Agreement, SecretKey, SecretKey, SecretKey) {
	// Far enough from an epoch's end that none ends while the test runs.
	while now_secs() % EPOCH_SECS > EPOCH_SECS - 15 {
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
	let mut rng = ChaCha20Rng::seed_from_u64(9);
	let (alice, bob, eve) =
		(signer_from_uri("//Alice"), signer_from_uri("//Bob"), signer_from_uri("//Eve"));
	let (alice, bob, eve) = (alice.expect("dev"), bob.expect("dev"), eve.expect("dev"));
	let sensor = enroll("agent-tag", 1);
	let (bob_key, eve_key) = (enroll("agent-bob", 2), enroll("agent-eve", 3));
	let ferdie = signer_from_uri("//Ferdie").expect("dev").public_key().to_account_id();
	let listing = Listing {
		price_per_epoch: UNIT,
		epoch_secs: EPOCH_SECS,
		first_epoch: 0,
		provider: ferdie,
		description: "t".into(),
	};
	chain.register_sensor_with_rng(&alice, &sensor, listing, &mut rng).await.expect("sensor");
	chain.register_identity_with_rng(&bob, &bob_key, &mut rng).await.expect("bob");
	chain.register_identity_with_rng(&eve, &eve_key, &mut rng).await.expect("eve");
	let current = now_secs() / EPOCH_SECS;
	let (id, _) = chain
		.request_data(&bob, &[*sensor.id()], (current - 3, current), u128::MAX)
		.await
		.expect("requested");
	let a = chain.agreement(id).await.expect("read").expect("open");
	let keys = HashMap::from([(sensor.id().as_bytes().to_vec(), sensor.clone())]);
	let first = agent::rekeys(&a, a.from_epoch..a.from_epoch + 1, bob_key.public_key(), &keys)
		.expect("re-keys");
	chain.accept_request(&alice, id, first).await.expect("accepted");
	let a = chain.agreement(id).await.expect("read").expect("open");
	assert_eq!(a.rekeyed, 1);
	(a, sensor, bob_key, eve_key)
}

fn agent_of_alice(chain: &ChainClient, sensor: &SecretKey) -> Agent {
	let alice = signer_from_uri("//Alice").expect("dev");
	Agent::new(chain.clone(), alice, vec![sensor.clone()], Box::new(AcceptListedPrice))
		.with_settle_secs(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekeys_that_an_earlier_submission_posted_count_as_posted_and_nothing_shifts() {
	let mut node = DevNode::start(&[]).expect("the node starts");
	let chain = node.client().await;
	let (stale, sensor, bob_key, _) = subscription(&chain).await;
	let keys = HashMap::from([(sensor.id().as_bytes().to_vec(), sensor.clone())]);
	// The earlier submission of the two ended epochs lands after the agent read `stale`.
	let ended = stale.from_epoch + 1..stale.to_epoch;
	let earlier = agent::rekeys(&stale, ended.clone(), bob_key.public_key(), &keys).expect("rk");
	let alice = signer_from_uri("//Alice").expect("dev");
	chain.add_rekeys(&alice, stale.id, ended.start, earlier).await.expect("landed");

	let progress = agent_of_alice(&chain, &sensor).rekey(&stale).await.expect("no error");
	assert_eq!(progress, Progress::ReKeyed, "the re-keys on chain are the agent's own");
	let stored = chain.rekeys(stale.id).await.expect("read").expect("stored");
	assert_eq!(stored[0].len(), 3, "three epochs re-keyed, none twice");
	let all = agent::rekeys(&stale, stale.from_epoch..stale.to_epoch, bob_key.public_key(), &keys)
		.expect("rk");
	let stored: Vec<[u8; 32]> = stored[0].iter().map(|rk| rk.to_bytes()).collect();
	assert_eq!(stored, all[0], "each epoch's re-key is its own");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_rekeys_on_chain_are_not_taken_for_the_agents_own() {
	let mut node = DevNode::start(&[]).expect("the node starts");
	let chain = node.client().await;
	let (stale, sensor, _, eve_key) = subscription(&chain).await;
	let keys = HashMap::from([(sensor.id().as_bytes().to_vec(), sensor.clone())]);
	// Re-keys for another key than the requester's landed first.
	let ended = stale.from_epoch + 1..stale.to_epoch;
	let other = agent::rekeys(&stale, ended.clone(), eve_key.public_key(), &keys).expect("rk");
	let alice = signer_from_uri("//Alice").expect("dev");
	chain.add_rekeys(&alice, stale.id, ended.start, other).await.expect("landed");

	let progress = agent_of_alice(&chain, &sensor).rekey(&stale).await.expect("no error");
	assert_eq!(progress, Progress::Waiting);
	let stored = chain.rekeys(stale.id).await.expect("read").expect("stored");
	assert_eq!(stored[0].len(), 3, "the repeat was refused, not stored under later epochs");
}
