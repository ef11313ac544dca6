//! `sensorshare-cloud-worker`: stores sensor ciphertexts, re-encrypts and delivers.

use anyhow::Context;
use clap::Parser;
use sensorshare_cloud_worker::config::{Config, StorageConfig};
use std::{net::SocketAddr, path::PathBuf};

/// The SensorShare cloud worker: stores what sensors upload, follows the chain, and
/// re-encrypts and delivers every agreement accepted for its provider account.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
	/// A TOML configuration file; flags override it.
	#[arg(long, short)]
	config: Option<PathBuf>,
	/// Where the HTTP API listens.
	#[arg(long)]
	listen: Option<SocketAddr>,
	/// The URL requesters reach this worker under.
	#[arg(long)]
	public_url: Option<String>,
	/// The node's WebSocket RPC.
	#[arg(long)]
	chain_url: Option<String>,
	/// The provider account's secret URI (`//Ferdie` on a dev chain).
	#[arg(long, env = "SENSORSHARE_PROVIDER_SURI", hide_env_values = true)]
	provider_suri: Option<String>,
	/// Store in this directory (instead of the configured store).
	#[arg(long)]
	store_dir: Option<PathBuf>,
	/// Where the worker keeps its cursor.
	#[arg(long)]
	state_dir: Option<PathBuf>,
	/// Deliveries in progress at once.
	#[arg(long)]
	max_concurrent_deliveries: Option<usize>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
	let args = Args::parse();
	sensorshare_service::init_tracing("info,sensorshare_cloud_worker=info");
	let mut config = match &args.config {
		Some(path) => {
			let text = std::fs::read_to_string(path)
				.with_context(|| format!("reading {}", path.display()))?;
			Config::from_toml(&text).with_context(|| format!("parsing {}", path.display()))?
		},
		None => Config::default(),
	};
	if let Some(v) = args.listen {
		config.listen = v;
	}
	if let Some(v) = args.public_url {
		config.public_url = v;
	}
	if let Some(v) = args.chain_url {
		config.chain_url = v;
	}
	if let Some(v) = args.provider_suri {
		config.provider_suri = Some(v.into());
	}
	if let Some(path) = args.store_dir {
		config.storage = StorageConfig::Fs { path };
	}
	if let Some(v) = args.state_dir {
		config.state_dir = v;
	}
	if let Some(v) = args.max_concurrent_deliveries {
		config.limits.max_concurrent_deliveries = v;
	}
	sensorshare_cloud_worker::run(config, sensorshare_service::shutdown_signal()).await?;
	Ok(())
}
