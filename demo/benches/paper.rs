//! The paper's experiments (section VI), reproduced on this machine: Fig. 3 (the
//! latency of a request in its parts, with PRE and without), Fig. 4 (concurrent
//! requests) and the chain's throughput. Writes `results/<setting>.md` and PNG
//! figures; `scripts/experiments.sh` builds the binaries it starts and runs it.
//!
//! cargo bench -p sensorshare-demo --bench paper -- --setting dev|blocks13s|aura13s [--quick]

use clap::{Parser, ValueEnum};
use sensorshare_demo::{
	experiments::{Bench, PaperConfig},
	report,
	stack::{ChainSetup, Stack, StackConfig},
};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
enum Setting {
	/// The dev chain: a block per transaction, final at once.
	Dev,
	/// 13-second blocks, the paper's Ethereum block time, on a dev node: blocks on a
	/// timer, final at once.
	Blocks13s,
	/// 13-second blocks on the local testnet: four validators under Aura and GRANDPA
	/// (`sensorshare-node --chain local-13s`), finality a GRANDPA round after a block.
	Aura13s,
}

#[derive(Parser)]
struct Args {
	/// The chain to run on.
	#[arg(long, value_enum, default_value = "dev")]
	setting: Setting,
	/// A short run: 3 runs of Fig. 3, levels 1, 5 and 10 of Fig. 4, 100 transactions.
	#[arg(long)]
	quick: bool,
	/// Where the report and figures go.
	#[arg(long, default_value = "results")]
	out: PathBuf,
	/// Skip Fig. 4 and the throughput test.
	#[arg(long)]
	fig3_only: bool,
	/// Fig. 4's concurrency levels instead of 1, 5, …, 50 then 100, 500, 1000.
	#[arg(long, value_delimiter = ',')]
	fig4_levels: Option<Vec<usize>>,
	/// Rounds per level given with --fig4-levels.
	#[arg(long, default_value_t = 2)]
	fig4_reps: usize,
	/// Passed by `cargo bench`.
	#[arg(long, hide = true)]
	bench: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
	sensorshare_service::init_tracing("warn");
	let args = Args::parse();
	let dir = tempfile::Builder::new().prefix("sensorshare-paper-").tempdir()?;
	let mut stack = StackConfig::new(dir.path());
	stack.max_concurrent_deliveries = 256;
	let sealed_13s = ChainSetup::Dev(vec!["--sealing".into(), "13000".into()]);
	let (name, title, block_ms, chain) = match args.setting {
		Setting::Dev => {
			("dev", "dev chain, a block per transaction", None, ChainSetup::Dev(vec![]))
		},
		Setting::Blocks13s => ("13s", "13-second blocks (the paper's)", Some(13_000), sealed_13s),
		Setting::Aura13s => (
			"aura13s",
			"Aura + GRANDPA testnet of 4 validators, 13-second blocks",
			Some(13_000),
			ChainSetup::Testnet("local-13s".into()),
		),
	};
	stack.chain = chain;
	let full = !args.quick;
	let mut config = PaperConfig {
		name: name.into(),
		title: title.into(),
		fig3_runs: if full { 10 } else { 3 },
		fig4_levels: match (args.fig3_only, full) {
			(true, _) => vec![],
			(false, true) => [1].into_iter().chain((5..=50).step_by(5)).collect(),
			(false, false) => vec![1, 5, 10],
		},
		// The paper's 10 rounds a level; on 13-second blocks 3, for half an hour.
		fig4_reps: match (full, block_ms) {
			(false, _) => 2,
			(true, None) => 10,
			(true, Some(_)) => 3,
		},
		fig4_big_levels: if full && !args.fig3_only {
			vec![(100, 3), (500, 1), (1000, 1)]
		} else {
			vec![]
		},
		// The chain's throughput is the dev chain's; blocks on a timer only cap it.
		tps_count: match (args.fig3_only || block_ms.is_some(), full) {
			(true, _) => 0,
			(false, true) => 500,
			(false, false) => 100,
		},
		requesters: 50,
		block_ms,
	};
	if let Some(levels) = args.fig4_levels {
		(config.fig4_levels, config.fig4_reps) = (levels, args.fig4_reps);
		config.fig4_big_levels.clear();
	}
	std::fs::create_dir_all(&args.out)?;
	eprintln!("starting the stack for {title} (logs in {})", dir.path().display());
	let run = async {
		let stack = Stack::start(stack, |s| eprintln!("  #{} {}", s.block, s.what)).await?;
		let bench = Bench::prepare(stack, config.requesters).await?;
		eprintln!(
			"prepared: {} requesters, epochs {:?} recorded",
			config.requesters,
			bench.epochs()
		);
		report::run(&bench, &config, &args.out, |p| eprintln!("  {p}")).await
	};
	let md = match run.await {
		Ok(report) if report.incomplete.is_empty() => report.markdown,
		Ok(report) => {
			eprintln!("incomplete: {}", report.incomplete.join("; "));
			eprintln!("the logs stay in {}", dir.keep().display());
			report.markdown
		},
		Err(e) => {
			eprintln!("the logs stay in {}", dir.keep().display());
			return Err(e.into());
		},
	};
	let path = args.out.join(format!("{name}.md"));
	std::fs::write(&path, &md)?;
	println!("{md}");
	eprintln!("written: {}", path.display());
	Ok(())
}
