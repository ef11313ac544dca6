//! `sensorshare-sensor`: register a sensor, stream its readings, answer requests.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use sensorshare_chain_client::{parse_units, signer_from_uri, AccountId32, ChainClient, Listing};
use sensorshare_protocol::keyfile;
use sensorshare_sensor_client::{
	agent::{self, AcceptListedPrice, Agent, AskOnTerminal, Decider},
	pipeline::{upload, Sealer},
	queue::Queue,
	simulated::SimulatedTag,
};
use sensorshare_worker_client::WorkerClient;
use std::{path::PathBuf, str::FromStr, sync::Arc, time::Duration};

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
		/// The storage provider's account (SS58), Ferdie's on a dev chain by default.
		#[arg(long, default_value = "5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL")]
		provider: String,
		/// Shown to buyers.
		#[arg(long, default_value = "TI SensorTag CC2650")]
		description: String,
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
		/// Where uploads wait while the cloud is unreachable.
		#[arg(long, default_value = "sensorshare-data/sensor-queue")]
		queue_dir: PathBuf,
		/// The most uploads kept waiting.
		#[arg(long, default_value_t = 100_000)]
		queue_max: usize,
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
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
		)
		.with_writer(std::io::stderr)
		.init();
	let args = Args::parse();
	let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
	tokio::spawn(async move {
		shutdown_signal().await;
		let _ = stop_tx.send(true);
	});
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
			provider,
			description,
		} => {
			let id = cbpre::Identity::new(id.as_bytes()).context("the sensor's identity")?;
			let pending = key.with_extension("pending");
			let mut rng = rand::rngs::OsRng;
			let secret = if dev_ca {
				cbpre::dev::enroll_with_rng(id.as_bytes(), &mut rng)?
			} else if let Some(out) = request_out {
				let request = cbpre::KeyRequest::new_with_rng(id, &mut rng);
				keyfile::save_pending(&pending, &request)?;
				std::fs::write(&out, hex::encode(request.message().to_bytes()))?;
				println!(
					"Wrote the certificate request to {}; have the CA run `sensorshare ca issue {}` and come back with --ca-response.",
					out.display(),
					out.display()
				);
				return Ok(());
			} else if let Some(resp) = ca_response {
				let request = keyfile::load_pending(&pending)?;
				let text = std::fs::read_to_string(&resp)?;
				let response = cbpre::CertResponse::from_bytes(&hex::decode(text.trim())?)?;
				let chain = ChainClient::connect(&args.chain_url).await?;
				let ca = chain.ca_key().await?.context("the chain has no CA key")?;
				request.finish(&response, &ca)?
			} else {
				bail!("give --dev-ca, --request-out or --ca-response");
			};
			let owner = signer_from_uri(&owner.context("--owner is required to register")?)?;
			let price = parse_units(&price).context("--price: an amount in SENS, like 1.5")?;
			let provider =
				AccountId32::from_str(&provider).map_err(|e| anyhow::anyhow!("--provider: {e}"))?;
			let chain = ChainClient::connect(&args.chain_url).await?;
			let ca = chain.ca_key().await?.context("the chain has no CA key")?;
			keyfile::save_secret_key(&key, &secret, &ca)?;
			let _ = std::fs::remove_file(&pending);
			let listing = Listing { price_per_epoch: price, epoch_secs, provider, description };
			let included =
				chain.register_sensor_with_rng(&owner, &secret, listing, &mut rng).await?;
			println!(
				"Sensor {} registered in block {}; key in {}",
				hex::encode(secret.id().as_bytes()),
				included.block_number,
				key.display()
			);
		},
		Command::Run { key, cloud, tag, seed, marker, interval_ms, queue_dir, queue_max } => {
			let key = keyfile::load_secret_key(&key)?;
			let chain = ChainClient::connect(&args.chain_url).await?;
			let sensor = chain
				.sensor(key.id().as_bytes())
				.await?
				.context("this sensor is not registered on chain: run `register` first")?;
			let queue = Arc::new(Queue::open(&queue_dir, queue_max)?);
			let wake = Arc::new(tokio::sync::Notify::new());
			let id = *key.id();
			let mut sealer = Sealer::new(
				key,
				sensor.epoch_secs,
				queue.clone(),
				wake.clone(),
				rand::rngs::OsRng,
			)?;
			let uploader = tokio::spawn(upload(
				id,
				queue.clone(),
				wake.clone(),
				WorkerClient::new(&cloud),
				stop_rx.clone(),
			));
			let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
			spawn_source(
				tag,
				seed,
				marker,
				Duration::from_millis(interval_ms),
				tx,
				stop_rx.clone(),
			)
			.await;
			tracing::info!(sensor = %hex::encode(id.as_bytes()), epoch_secs = sensor.epoch_secs, %cloud, "streaming");
			let mut stop = stop_rx.clone();
			loop {
				tokio::select! {
					_ = stop.changed() => break,
					reading = rx.recv() => match reading {
						Some((ts, reading)) => if let Err(e) = sealer.push(ts, &reading) {
							tracing::error!(error = %e, "reading dropped");
						},
						None => break,
					},
				}
			}
			uploader.await??;
			tracing::info!(waiting = queue.len(), "stopped; waiting uploads are kept on disk");
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
				.run(stop_rx)
				.await?;
		},
	}
	Ok(())
}

fn now_ms() -> u64 {
	std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map_or(0, |d| d.as_millis() as u64)
}

/// Starts the source of readings: the BLE tag if one is named and a Bluetooth
/// adapter is present, else the simulated tag.
async fn spawn_source(
	tag: Option<String>,
	seed: u64,
	marker: Option<f64>,
	interval: Duration,
	tx: tokio::sync::mpsc::Sender<(u64, sensorshare_protocol::reading::Reading)>,
	mut stop: tokio::sync::watch::Receiver<bool>,
) {
	#[cfg(feature = "ble")]
	if let Some(name_or_address) = tag.clone() {
		use sensorshare_sensor_client::ble;
		match ble::adapter().await {
			Ok(_) => {
				let target = ble::TagTarget { name_or_address, period: interval };
				tokio::spawn(async move {
					if let Err(e) = ble::run(target, tx).await {
						tracing::error!(error = %e, "the SensorTag cannot be read");
					}
				});
				return;
			},
			Err(e) => tracing::warn!(error = %e, "no Bluetooth: using a simulated tag"),
		}
	}
	#[cfg(not(feature = "ble"))]
	if tag.is_some() {
		tracing::warn!("built without the `ble` feature: using a simulated tag");
	}
	tokio::spawn(async move {
		let mut sim = SimulatedTag::new(seed);
		if let Some(m) = marker {
			sim = sim.with_marker(m);
		}
		let mut ticks = tokio::time::interval(interval);
		loop {
			tokio::select! {
				_ = stop.changed() => return,
				_ = ticks.tick() => {
					let ts = now_ms();
					if tx.send((ts, sim.read(ts))).await.is_err() {
						return;
					}
				},
			}
		}
	});
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
	let term = async {
		match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
			Ok(mut s) => {
				s.recv().await;
			},
			Err(_) => std::future::pending().await,
		}
	};
	tokio::select! {
		_ = tokio::signal::ctrl_c() => {},
		_ = term => {},
	}
}
