//! Dispatch of the command line to the service and the maintenance commands.

use crate::{
	chain_spec,
	cli::{Cli, Sealing, Subcommand},
	service,
};
use sc_cli::SubstrateCli;
use sc_service::{ChainType, PartialComponents};

impl SubstrateCli for Cli {
	fn impl_name() -> String {
		"SensorShare Node".into()
	}

	fn impl_version() -> String {
		env!("SUBSTRATE_CLI_IMPL_VERSION").into()
	}

	fn description() -> String {
		env!("CARGO_PKG_DESCRIPTION").into()
	}

	fn author() -> String {
		env!("CARGO_PKG_AUTHORS").into()
	}

	fn support_url() -> String {
		"https://example.invalid/sensorshare/issues".into()
	}

	fn copyright_start_year() -> i32 {
		2026
	}

	fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
		if let Some(local) = chain_spec::Local::of(id) {
			return Ok(Box::new(chain_spec::local_testnet(local)?));
		}
		Ok(match id {
			"dev" => Box::new(chain_spec::development()?),
			"" => Box::new(chain_spec::local_testnet(chain_spec::Local::default())?),
			path => {
				Box::new(chain_spec::ChainSpec::from_json_file(std::path::PathBuf::from(path))?)
			},
		})
	}
}

/// The sealing mode for `config`'s chain: the flag, or the chain type's default.
fn sealing(flag: Option<Sealing>, config: &sc_service::Configuration) -> Sealing {
	flag.unwrap_or(match config.chain_spec.chain_type() {
		ChainType::Development => Sealing::Instant,
		_ => Sealing::Aura,
	})
}

/// Parses the command line and runs what it asks for.
pub fn run() -> sc_cli::Result<()> {
	let cli = Cli::from_args();

	match &cli.subcommand {
		Some(Subcommand::Key(cmd)) => cmd.run(&cli),
		Some(Subcommand::BuildSpec(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.chain_spec, config.network))
		},
		Some(Subcommand::CheckBlock(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let mode = sealing(cli.sealing, &config);
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config, mode)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		},
		Some(Subcommand::ExportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let mode = sealing(cli.sealing, &config);
				let PartialComponents { client, task_manager, .. } =
					service::new_partial(&config, mode)?;
				Ok((cmd.run(client, config.database), task_manager))
			})
		},
		Some(Subcommand::ExportState(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let mode = sealing(cli.sealing, &config);
				let PartialComponents { client, task_manager, .. } =
					service::new_partial(&config, mode)?;
				Ok((cmd.run(client, config.chain_spec), task_manager))
			})
		},
		Some(Subcommand::ImportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let mode = sealing(cli.sealing, &config);
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config, mode)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		},
		Some(Subcommand::PurgeChain(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.database))
		},
		Some(Subcommand::Revert(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let mode = sealing(cli.sealing, &config);
				let PartialComponents { client, task_manager, backend, .. } =
					service::new_partial(&config, mode)?;
				let aux_revert = Box::new(|client, _, blocks| {
					sc_consensus_grandpa::revert(client, blocks)?;
					Ok(())
				});
				Ok((cmd.run(client, backend, Some(aux_revert)), task_manager))
			})
		},
		#[cfg(feature = "runtime-benchmarks")]
		Some(Subcommand::Benchmark(cmd)) => {
			use frame_benchmarking_cli::BenchmarkCmd;
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| match cmd {
				BenchmarkCmd::Pallet(cmd) => cmd.run_with_spec::<sp_runtime::traits::HashingFor<
					sensorshare_runtime::opaque::Block,
				>, ()>(Some(config.chain_spec)),
				_ => Err("only `benchmark pallet` is built into this node".into()),
			})
		},
		None => {
			let runner = cli.create_runner(&cli.run)?;
			let archive = cli.run.import_params.pruning_params.state_pruning.is_none();
			runner.run_node_until_exit(|mut config| async move {
				let mode = sealing(cli.sealing, &config);
				// A dev chain keeps every block's state unless told otherwise, so that
				// followers and polkadot.js read the events of any block: at a block
				// per transaction the default 256 blocks are a few seconds of load.
				if archive && config.chain_spec.chain_type() == ChainType::Development {
					config.state_pruning = Some(sc_service::PruningMode::ArchiveAll);
				}
				match config.network.network_backend {
					sc_network::config::NetworkBackendType::Libp2p => {
						service::new_full::<sc_network::NetworkWorker<_, _>>(config, mode).await
					},
					sc_network::config::NetworkBackendType::Litep2p => {
						service::new_full::<sc_network::Litep2pNetworkBackend>(config, mode).await
					},
				}
				.map_err(sc_cli::Error::Service)
			})
		},
	}
}
