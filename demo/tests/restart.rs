//! The node killed and restarted on its base path under the running worker, agent
//! and two sensors: the services reconnect by themselves, and agreements made
//! before, across and after the restart each complete exactly once.

use sensorshare_chain_client::{AgreementStatus, MarketEvent};
use sensorshare_demo::{
	flow::whole_epochs,
	market::register_requester,
	stack::{Stack, StackConfig},
};
use std::{
	collections::HashMap,
	time::{Duration, Instant},
};

/// Waits until agreement `id` is delivered in full; its digest.
async fn delivered(stack: &Stack, id: u64) -> [u8; 32] {
	let started = Instant::now();
	loop {
		if let Ok(Some(a)) = stack.chain.agreement(id).await {
			if a.status == AgreementStatus::Delivered {
				return a.delivery.expect("delivered").1;
			}
		}
		assert!(
			started.elapsed() < Duration::from_secs(120),
			"agreement {id} not delivered\n{}",
			std::fs::read_to_string(stack.config.dir.join("agent.log")).unwrap_or_default()
		);
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agreements_before_across_and_after_a_node_restart_each_complete_once() {
	let dir = tempfile::tempdir().expect("tempdir");
	let mut config = StackConfig::new(dir.path());
	config.epoch_secs = 2;
	config.interval_ms = 100;
	let mut stack = Stack::start(config, |_| {}).await.expect("the stack starts");
	let (bob, _) = register_requester(&stack.chain, "//Bob", "bob").await.expect("Bob");
	let sensors: Vec<cbpre::Identity> = stack
		.config
		.sensors
		.iter()
		.map(|s| cbpre::Identity::new(s.as_bytes()).expect("id"))
		.collect();
	let (start, _) = stack.chain.finalized_head().await.expect("head");
	let mut ids = Vec::new();

	// Before.
	let epochs = whole_epochs(stack.config.epoch_secs, 1).await;
	let (id, _) = bob.request_epochs(&stack.chain, &sensors, epochs, u128::MAX).await.expect("req");
	delivered(&stack, id).await;
	ids.push(id);

	// Across: requested, and the node killed and restarted at once.
	let epochs = whole_epochs(stack.config.epoch_secs, 1).await;
	let (id, _) = bob.request_epochs(&stack.chain, &sensors, epochs, u128::MAX).await.expect("req");
	stack.node.restart().expect("the node restarts");
	delivered(&stack, id).await;
	ids.push(id);

	// After.
	let epochs = whole_epochs(stack.config.epoch_secs, 1).await;
	let (id, _) = bob.request_epochs(&stack.chain, &sensors, epochs, u128::MAX).await.expect("req");
	delivered(&stack, id).await;
	ids.push(id);

	// Once each: one acceptance and one delivery per agreement, in every block.
	tokio::time::sleep(Duration::from_secs(2)).await;
	let (head, _) = stack.chain.finalized_head().await.expect("head");
	let (mut accepted, mut deliveries) =
		(HashMap::<u64, usize>::new(), HashMap::<u64, usize>::new());
	for n in start..=head {
		let hash = stack.chain.block_hash(n).await.expect("hash").expect("block");
		for ev in stack.chain.market_events(hash).await.expect("events") {
			match ev {
				MarketEvent::RequestAccepted { id, .. } => *accepted.entry(id).or_default() += 1,
				MarketEvent::DataDelivered { id, .. } => *deliveries.entry(id).or_default() += 1,
				_ => {},
			}
		}
	}
	for id in &ids {
		assert_eq!(accepted.get(id), Some(&1), "agreement {id}: {accepted:?}");
		assert_eq!(deliveries.get(id), Some(&1), "agreement {id}: {deliveries:?}");
		let fetched = bob.fetch(&stack.chain, *id, |_| {}).await.expect("fetched and checked");
		assert_eq!(fetched.epochs.len(), sensors.len(), "every sensor's epoch");
		bob.confirm(&stack.chain, *id).await.expect("confirmed");
	}
	stack.stop(Duration::from_secs(5)).await;
}
