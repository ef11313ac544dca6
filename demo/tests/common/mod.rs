//! What every end-to-end run must show, whatever chain it ran on.
#![allow(dead_code)]

use sensorshare_chain_client::{signer_from_uri, UNIT};
use sensorshare_demo::{
	flow::{self, FlowConfig, FlowOutcome},
	stack::{Stack, StackConfig},
};

/// Starts the stack and runs the demo's flow on it; if the flow fails, panics with
/// the log `log` (`agent.log`, `worker.log`) of the stack's directory.
pub async fn run_the_flow(config: StackConfig, log: &str) -> (Stack, FlowOutcome) {
	let stack = Stack::start(config, |_| {}).await.expect("the stack starts");
	let outcome = run_the_flow_on(&stack, log).await;
	(stack, outcome)
}

/// Runs the demo's flow on a running stack; if it fails, panics with the log `log`.
pub async fn run_the_flow_on(stack: &Stack, log: &str) -> FlowOutcome {
	let log = stack.config.dir.join(log);
	flow::run(stack, &FlowConfig::default(), |s| eprintln!("{s:?}")).await.unwrap_or_else(|e| {
		let text = std::fs::read_to_string(&log).unwrap_or_default();
		panic!("the flow failed: {e}\n{}:\n{text}", log.display())
	})
}

/// Two sensors × two epochs at 1 unit: the owner got the price, the provider its fee
/// per sensor and epoch, the requester paid both and nothing more, to the unit (the
/// transaction fees are read from the chain's events).
pub async fn assert_everyone_was_paid_exactly(stack: &Stack, outcome: &FlowOutcome) {
	let ferdie = signer_from_uri("//Ferdie").expect("dev account").public_key().to_account_id();
	let (_, fee_per_epoch) = stack.chain.provider(&ferdie).await.expect("read").expect("Ferdie");
	assert_eq!(outcome.price, 4 * UNIT);
	assert_eq!(outcome.fee, 4 * fee_per_epoch);
	assert_eq!(outcome.paid, (outcome.price, outcome.fee), "the escrow paid out in full");
	assert_eq!(outcome.owner.net_of_fees(), outcome.price as i128, "the owner got the price");
	assert_eq!(outcome.provider.net_of_fees(), outcome.fee as i128, "the provider got its fee");
	assert_eq!(
		outcome.requester.net_of_fees(),
		-((outcome.price + outcome.fee) as i128),
		"the requester paid price and fee, nothing more"
	);
	assert!(outcome.requester.fees > 0 && outcome.owner.fees > 0 && outcome.provider.fees > 0);
}

/// Every epoch of both sensors was delivered and decrypted.
pub fn assert_every_epoch_was_delivered(outcome: &FlowOutcome) {
	let (first, last) = outcome.epochs;
	let mut got: Vec<(Vec<u8>, u64)> =
		outcome.fetched.epochs.iter().map(|e| (e.sensor.as_bytes().to_vec(), e.epoch)).collect();
	got.sort();
	let want: Vec<(Vec<u8>, u64)> = [b"tag-1".to_vec(), b"tag-2".to_vec()]
		.into_iter()
		.flat_map(|s| (first..=last).map(move |e| (s.clone(), e)))
		.collect();
	assert_eq!(got, want);
}
