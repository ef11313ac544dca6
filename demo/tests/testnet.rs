//! The whole flow on the local testnet, the chain the paper's Fig. 3 also runs on:
//! four validators under Aura and GRANDPA, the services following the blocks
//! GRANDPA finalizes, one validator down while the agreement runs. Blocks come
//! every 2 seconds (`--chain local-2s`) to keep CI short; the experiments use
//! `local-13s`.

mod common;

use sensorshare_chain_client::api;
use sensorshare_demo::{
	market::block_time_ms,
	stack::{ChainSetup, Stack, StackConfig},
};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_of_four_validators_down_the_chain_finalizes_a_whole_agreement_and_the_validator_catches_up(
) {
	let dir = tempfile::tempdir().expect("tempdir");
	let mut config = StackConfig::new(dir.path());
	config.chain = ChainSetup::Testnet("local-2s".into());
	config.epoch_secs = 2;
	config.interval_ms = 100;
	let mut stack = Stack::start(config, |_| {}).await.expect("the stack starts");
	assert_eq!(stack.peers.len(), 3, "Alice and three peers validate");

	// Dave's node dies (SIGKILL): three of four votes are still more than two thirds.
	stack.peers[2].kill();
	let (down_at, _) = stack.chain.finalized_head().await.expect("the finalized head");
	let outcome = common::run_the_flow_on(&stack, "worker.log").await;
	common::assert_everyone_was_paid_exactly(&stack, &outcome).await;
	common::assert_every_epoch_was_delivered(&outcome);
	let (finalized, _) = stack.chain.finalized_head().await.expect("the finalized head");
	assert!(finalized >= down_at + 5, "finality stalled with Dave down: {down_at} → {finalized}");

	// Dave's node restarts on its base path and catches up with what was finalized
	// without it.
	stack.peers[2].restart().expect("Dave's node starts again");
	let dave = stack.peers[2].client().await;
	let started = Instant::now();
	loop {
		let (n, _) = dave.finalized_head().await.expect("Dave's finalized head");
		if n >= finalized {
			break;
		}
		assert!(started.elapsed() < Duration::from_secs(120), "Dave is at {n} of {finalized}");
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	let hash = stack.chain.block_hash(finalized).await.expect("read").expect("a finalized block");
	assert_eq!(dave.block_hash(finalized).await.expect("read"), Some(hash), "one chain");

	// The runtime reports the genesis's slot, and Aura authored by it: no two blocks
	// in one slot, and most a slot apart (the default slot is 6 seconds).
	let slot = stack.chain.api().constants().at(&api::constants().aura().slot_duration());
	assert_eq!(slot.expect("Aura's slot duration"), 2_000);
	let (head, _) = stack.chain.finalized_head().await.expect("the finalized head");
	let mut times = Vec::new();
	for n in 1..=head {
		let hash = stack.chain.block_hash(n).await.expect("read").expect("a finalized block");
		times.push(block_time_ms(&stack.chain, hash).await);
	}
	let mut gaps: Vec<u64> = times.windows(2).map(|w| w[1].saturating_sub(w[0])).collect();
	gaps.sort_unstable();
	assert!(gaps.len() >= 5, "{} blocks finalized", head);
	assert!(gaps[0] >= 1_500, "two blocks in one slot: {gaps:?}");
	assert!(gaps[gaps.len() / 2] <= 2_500, "the blocks are not a slot apart: {gaps:?}");
	stack.stop(Duration::from_secs(10)).await;
}
