//! The one-command demo: start the stack, run the paper's flow printing each step
//! with its block and the time it took, then leave the chain up for polkadot.js apps
//! until asked to stop.

use crate::{
	flow::{self, FlowConfig, FlowOutcome},
	stack::{Stack, StackConfig},
	Error,
};
use sensorshare_chain_client::format_units;
use std::{
	future::Future,
	time::{Duration, Instant},
};

/// What the demo runs.
#[derive(Debug, Clone)]
pub struct DemoConfig {
	/// The processes.
	pub stack: StackConfig,
	/// The data user's part.
	pub flow: FlowConfig,
}

fn line(at: Duration, block: Option<u32>, what: &str) {
	let block = block.map_or_else(|| "      ".to_string(), |b| format!("#{b:<5}"));
	println!("[{:>7.2} s] {block} {what}", at.as_secs_f64());
}

/// Runs the demo until `shutdown` completes, then stops every process cleanly.
pub async fn run(config: DemoConfig, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
	let started = Instant::now();
	println!("SensorShare demo: every process logs to {}", config.stack.dir.display());
	println!("[   time  ] block  step");
	let mut stack =
		Stack::start(config.stack.clone(), |s| line(started.elapsed(), Some(s.block), &s.what))
			.await?;
	let flow_started = started.elapsed();
	let outcome =
		flow::run(&stack, &config.flow, |s| line(flow_started + s.at, s.block, &s.what)).await;
	match outcome {
		Ok(outcome) => summary(&outcome),
		Err(e) => {
			stack.stop(Duration::from_secs(5)).await;
			return Err(e);
		},
	}
	println!();
	println!("The chain keeps running, with the sensors streaming and the agent answering:");
	println!("  polkadot.js apps: https://polkadot.js.org/apps/?rpc={}", stack.url);
	println!("  (Developer → Chain state → dataMarket shows sensors and agreements;");
	println!("   Network → Explorer shows the blocks above and their events.)");
	println!("  Try: sensorshare --chain-url {} sensors list", stack.url);
	println!("Press Ctrl-C to stop.");
	tokio::pin!(shutdown);
	let mut check = tokio::time::interval(Duration::from_secs(1));
	loop {
		tokio::select! {
			_ = &mut shutdown => break,
			_ = check.tick() => if let Some(name) = stack.exited() {
				eprintln!(
					"{name} stopped unexpectedly: see {}",
					config.stack.dir.join(format!("{name}.log")).display()
				);
				break;
			},
		}
	}
	println!("Stopping the agent, the sensors, the worker and the chain…");
	stack.stop(Duration::from_secs(10)).await;
	println!("Stopped.");
	Ok(())
}

fn summary(o: &FlowOutcome) {
	let readings: usize = o.fetched.epochs.iter().map(|e| e.readings.len()).sum();
	println!();
	println!(
		"Agreement {} done: {readings} readings of epochs {}..={} decrypted; download {:.0?}, Decrypt2 {:.1?}, records opened in {:.1?}.",
		o.agreement, o.epochs.0, o.epochs.1, o.fetched.download, o.fetched.decrypt2, o.fetched.open
	);
	let show = |who: &str, c: &flow::BalanceChange| {
		let net = c.net_of_fees();
		let sign = if net < 0 { "-" } else { "+" };
		println!(
			"  {who:<10} {sign}{} by the agreement; {} paid in transaction fees",
			format_units(net.unsigned_abs()),
			format_units(c.fees)
		);
	};
	println!("Balances from the request to the settlement:");
	show("owner", &o.owner);
	show("provider", &o.provider);
	show("requester", &o.requester);
}
