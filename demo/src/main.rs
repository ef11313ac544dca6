//! `sensorshare-demo`: the whole SensorShare flow on a local dev chain, step by step,
//! then the chain left running for polkadot.js apps until Ctrl-C.

use clap::Parser;
use sensorshare_demo::{
	demo::{self, DemoConfig},
	flow::FlowConfig,
	stack::{ChainSetup, StackConfig},
};
use std::path::PathBuf;

#[derive(Parser)]
#[command(version, about)]
struct Args {
	/// The node's RPC port (polkadot.js apps connects to 9944 by default).
	#[arg(long, default_value_t = 9944)]
	rpc_port: u16,
	/// The cloud worker's port.
	#[arg(long, default_value_t = 8088)]
	worker_port: u16,
	/// Epoch length of the simulated sensors, in seconds.
	#[arg(long, default_value_t = 5)]
	epoch_secs: u64,
	/// Whole epochs to record and request.
	#[arg(long, default_value_t = 2)]
	epochs: u64,
	/// Milliseconds between a sensor's readings.
	#[arg(long, default_value_t = 250)]
	interval_ms: u64,
	/// Block time in milliseconds instead of a block per transaction (13000: the
	/// paper's Ethereum).
	#[arg(long, conflicts_with = "testnet")]
	sealing: Option<u64>,
	/// Run the local testnet of four validators under Aura and GRANDPA instead of
	/// the dev chain: `local` (6-second blocks) or `local-13s` (13-second blocks).
	#[arg(long, value_name = "CHAIN")]
	testnet: Option<String>,
	/// Where keys, the store and the logs go (a fresh temporary directory by default).
	#[arg(long)]
	dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
	sensorshare_service::init_tracing("warn");
	let args = Args::parse();
	let temp = tempfile::Builder::new().prefix("sensorshare-demo-").tempdir()?;
	let dir = args.dir.unwrap_or_else(|| temp.path().to_path_buf());
	let mut stack = StackConfig::new(&dir);
	stack.rpc_port = args.rpc_port;
	stack.worker_port = args.worker_port;
	stack.epoch_secs = args.epoch_secs;
	stack.interval_ms = args.interval_ms;
	if let Some(ms) = args.sealing {
		stack.chain = ChainSetup::Dev(vec!["--sealing".into(), ms.to_string()]);
	}
	if let Some(spec) = args.testnet {
		stack.chain = ChainSetup::Testnet(spec);
	}
	let flow = FlowConfig { epochs: args.epochs, ..FlowConfig::default() };
	demo::run(DemoConfig { stack, flow }, sensorshare_service::shutdown_signal()).await?;
	Ok(())
}
