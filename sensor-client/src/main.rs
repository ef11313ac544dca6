//! `sensorshare-sensor`: register a sensor, stream its readings, answer requests.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use sensorshare_chain_client::{parse_units, signer_from_uri, AccountId32, ChainClient, Listing};
use sensorshare_protocol::keyfile::{self, Existing};
use sensorshare_sensor_client::{
	agent::{self, AcceptListedPrice, Agent, AskOnTerminal, Decider},
	pipeline::BatchLimits,
	register::{register, Certify, Registered},
	stream::{self, StreamConfig},
};
use std::{path::PathBuf, str::FromStr, time::Duration};

/// The SensorShare sensor client.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
	/// The node's WebSocket RPC.
	#[arg(long, global = true, default_value = "ws://127.0.0.1:9944")]
	chain_url: String,
	#[command(subcommand)]
	command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
	/// Get the sensor's certificate from the CA and register the sensor on chain.
	///
	/// With `--dev-ca`, the published dev CA of the dev chain issues it at once.
	/// Otherwise run twice: first with `--request-out` (writes the request for the CA
	/// and keeps the secret half in `<key>.pending`), then with `--ca-response`.
	Register {
		/// The sensor's identity: its BLE address (`A0:E6:F8:B6:D2:01`) or any name.
		#[arg(long)]
		id: String,
		/// Where the sensor's key is written (mode 0600).
		#[arg(long)]
		key: PathBuf,
		/// Use the dev chain's published CA.
		#[arg(long)]
		dev_ca: bool,
		/// Step 1: write the certificate request for the CA here.
		#[arg(long, conflicts_with_all = ["dev_ca", "ca_response"])]
		request_out: Option<PathBuf>,
		/// Step 2: the CA's response (from `sensorshare ca issue`).
		#[arg(long)]
		ca_response: Option<PathBuf>,
		/// The owner's account (secret URI; `//Alice` on a dev chain).
		#[arg(long, env = "SENSORSHARE_OWNER_SURI", hide_env_values = true)]
		owner: Option<String>,
		/// Price of one epoch of data, in SENS.
		#[arg(long, default_value = "1")]
		price: String,
		/// Epoch length in seconds.
		#[arg(long, default_value_t = 60)]
		epoch_secs: u64,
		/// The first epoch of which the sensor has data to sell (epochs before it
		/// cannot be requested); the current epoch by default. Give an earlier one
		/// only for readings already in the provider's store.
		#[arg(long)]
		first_epoch: Option<u64>,
		/// The storage provider's account (SS58), Ferdie's on a dev chain by default.
		#[arg(long, default_value = "5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL")]
		provider: String,
		/// Shown to buyers.
		#[arg(long, default_value = "TI SensorTag CC2650")]
		description: String,
		/// Replace a key file already at `--key` (never the key of a sensor that is
		/// registered on chain).
		#[arg(long)]
		force: bool,
	},
	/// Read the tag (or a simulated one), seal and upload every reading.
	Run {
		/// The sensor's key file.
		#[arg(long)]
		key: PathBuf,
		/// The cloud worker.
		#[arg(long, default_value = "http://127.0.0.1:8088")]
		cloud: String,
		/// The SensorTag's address or name; without it (or without Bluetooth) a
		/// simulated tag.
		#[arg(long)]
		tag: Option<String>,
		/// Seed of the simulated tag.
		#[arg(long, default_value_t = 1)]
		seed: u64,
		/// Add this marker value to every simulated reading (tests).
		#[arg(long, hide = true)]
		marker: Option<f64>,
		/// Milliseconds between readings.
		#[arg(long, default_value_t = 1000)]
		interval_ms: u64,
		/// The upload log: where batches wait while the cloud is unreachable.
		#[arg(long, default_value = "sensorshare-data/sensor-queue")]
		queue_dir: PathBuf,
		/// The most bytes of batches kept waiting in the log.
		#[arg(long, default_value_t = 256 << 20)]
		queue_max_bytes: u64,
		/// The most readings in one batch.
		#[arg(long, default_value_t = 100)]
		batch_records: usize,
		/// The longest a reading waits in memory for its batch (a crash loses at most
		/// this much; every batch is synced to disk as it is cut).
		#[arg(long, default_value_t = 1000)]
		batch_linger_ms: u64,
	},
	/// Answer requests for the owner's sensors: accept those that pay the listed
	/// price with their re-keys, reject the rest.
	Agent {
		/// The owner's account (secret URI).
		#[arg(long, env = "SENSORSHARE_OWNER_SURI", hide_env_values = true)]
		owner: String,
		/// Key files of the owner's sensors.
		#[arg(long = "key", required = true)]
		keys: Vec<PathBuf>,
		/// Ask on the terminal before accepting.
		#[arg(long)]
		ask: bool,
		/// Seconds to wait after a subscribed epoch ends before re-keying it, for
		/// the sensor's last readings of it to reach the cloud.
		#[arg(long, default_value_t = agent::DEFAULT_SETTLE_SECS)]
		settle_secs: u64,
	},
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
	sensorshare_service::init_tracing("info");
	let args = Args::parse();
	let shutdown = sensorshare_service::shutdown_watch(sensorshare_service::shutdown_signal());
	match args.command {
		Command::Register {
			id,
			key,
			dev_ca,
			request_out,
			ca_response,
			owner,
			price,
			epoch_secs,
			first_epoch,
			provider,
			description,
			force,
		} => {
			let id = cbpre::Identity::new(id.as_bytes()).context("the sensor's identity")?;
			let certify = match (dev_ca, request_out, ca_response) {
				(true, _, _) => Certify::DevCa,
				(_, Some(out), _) => Certify::RequestTo(out),
				(_, _, Some(response)) => Certify::Response(response),
				_ => bail!("give --dev-ca, --request-out or --ca-response"),
			};
			let owner = owner.map(|o| signer_from_uri(&o)).transpose()?;
			let listing = Listing {
				price_per_epoch: parse_units(&price)
					.context("--price: an amount in SENS, like 1.5")?,
				epoch_secs,
				first_epoch: first_epoch.unwrap_or_else(|| {
					let now = sensorshare_service::clock::now_secs();
					sensorshare_market::epoch::of_secs(now, epoch_secs).unwrap_or(0)
				}),
				provider: AccountId32::from_str(&provider)
					.map_err(|e| anyhow::anyhow!("--provider: {e}"))?,
				description,
			};
			let existing = if force { Existing::Replace } else { Existing::Refuse };
			let registered =
				register(&args.chain_url, id, &key, certify, owner.as_ref(), listing, existing);
			match registered.await? {
				Registered::RequestWritten(out) => println!(
					"Wrote the certificate request to {}; have the CA run `sensorshare ca issue {}` and come back with --ca-response.",
					out.display(),
					out.display()
				),
				Registered::OnChain(included) => println!(
					"Sensor {} registered in block {}; key in {}",
					hex::encode(id.as_bytes()),
					included.block_number,
					key.display()
				),
			}
		},
		Command::Run {
			key,
			cloud,
			tag,
			seed,
			marker,
			interval_ms,
			queue_dir,
			queue_max_bytes,
			batch_records,
			batch_linger_ms,
		} => {
			let config = StreamConfig {
				chain_url: args.chain_url,
				key,
				cloud,
				tag,
				seed,
				marker,
				interval: Duration::from_millis(interval_ms),
				queue_dir,
				queue_max_bytes,
				batch: BatchLimits {
					records: batch_records,
					linger: Duration::from_millis(batch_linger_ms),
					..BatchLimits::default()
				},
			};
			stream::run(config, shutdown).await?;
		},
		Command::Agent { owner, keys, ask, settle_secs } => {
			let owner = signer_from_uri(&owner)?;
			let keys =
				keys.iter().map(|k| keyfile::load_secret_key(k)).collect::<Result<_, _>>()?;
			let chain = ChainClient::connect(&args.chain_url).await?;
			let decider: Box<dyn Decider> =
				if ask { Box::new(AskOnTerminal) } else { Box::new(AcceptListedPrice) };
			Agent::new(chain, owner, keys, decider)
				.with_settle_secs(settle_secs)
				.run(shutdown)
				.await?;
		},
	}
	Ok(())
}
