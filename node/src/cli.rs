//! The node's command line: Substrate's standard flags plus `--sealing`.

use std::str::FromStr;

/// How the node seals blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealing {
	/// A block as soon as a transaction arrives, finalized at once (the dev default).
	Instant,
	/// A block every so many milliseconds, finalized at once.
	Interval(u64),
	/// Aura block production and GRANDPA finality (the default of other chains).
	Aura,
}

impl FromStr for Sealing {
	type Err = String;

	fn from_str(s: &str) -> Result<Self, Self::Err> {
		match s {
			"instant" => Ok(Sealing::Instant),
			"aura" => Ok(Sealing::Aura),
			ms => match ms.parse::<u64>() {
				Ok(0) => Err("a block time of 0 ms: use `instant`".into()),
				Ok(ms) => Ok(Sealing::Interval(ms)),
				Err(_) => Err(format!(
					"`{s}` is not a sealing mode: use `instant`, `aura` or a block time in milliseconds"
				)),
			},
		}
	}
}

/// The SensorShare node.
#[derive(Debug, clap::Parser)]
pub struct Cli {
	/// A maintenance command; none runs the node.
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	/// How to seal blocks: `instant` (a block per transaction, finalized at once),
	/// a block time in milliseconds (e.g. `13000`, finalized at once), or `aura`
	/// (Aura + GRANDPA). Default: `instant` for development chains, `aura` otherwise.
	#[arg(long, value_name = "MODE")]
	pub sealing: Option<Sealing>,

	#[allow(missing_docs)]
	#[clap(flatten)]
	pub run: sc_cli::RunCmd,
}

/// Maintenance commands.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management.
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Write a chain specification.
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a block as a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Runtime benchmarks (a node built with `--features runtime-benchmarks`).
	#[cfg(feature = "runtime-benchmarks")]
	#[command(subcommand)]
	Benchmark(frame_benchmarking_cli::BenchmarkCmd),
}
