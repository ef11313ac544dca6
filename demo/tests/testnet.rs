//! The whole flow on the local testnet, the chain the paper's Fig. 3 also runs on:
//! three validators under Aura and GRANDPA, the services following the blocks
//! GRANDPA finalizes. Blocks come every 2 seconds (`--chain local-2s`) to keep CI
//! short; the experiments use `local-13s`.

mod common;

use sensorshare_chain_client::api;
use sensorshare_demo::{
	market::block_time_ms,
	stack::{ChainSetup, StackConfig},
};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_paper_flow_runs_on_three_validators_whose_slot_the_genesis_set() {
	let dir = tempfile::tempdir().expect("tempdir");
	let mut config = StackConfig::new(dir.path());
	config.chain = ChainSetup::Testnet("local-2s".into());
	config.epoch_secs = 2;
	config.interval_ms = 100;
	let (stack, outcome) = common::run_the_flow(config, "worker.log").await;
	common::assert_everyone_was_paid_exactly(&stack, &outcome).await;
	common::assert_every_epoch_was_delivered(&outcome);

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
