//! `sensorshare-sensor run`: read the tag (or a simulated one), seal every reading
//! into signed batches and upload them, logging them on disk while the cloud is away.

use crate::{
	log::{Log, LogError},
	pipeline::{upload, BatchLimits, PipelineError, Sealer},
	simulated::SimulatedTag,
};
use sensorshare_chain_client::{ChainClient, Error as ChainError};
use sensorshare_protocol::{keyfile, reading::Reading};
use sensorshare_worker_client::WorkerClient;
use std::{path::PathBuf, sync::Arc, time::Duration};
use tokio::sync::{mpsc, watch, Notify};

/// What `run` streams, from where to where.
#[derive(Debug, Clone)]
pub struct StreamConfig {
	/// The node's WebSocket RPC.
	pub chain_url: String,
	/// The sensor's key file.
	pub key: PathBuf,
	/// The cloud worker's base URL.
	pub cloud: String,
	/// The SensorTag's address or name; without it (or without Bluetooth) a
	/// simulated tag.
	pub tag: Option<String>,
	/// Seed of the simulated tag.
	pub seed: u64,
	/// Added to every simulated reading (tests).
	pub marker: Option<f64>,
	/// Time between readings.
	pub interval: Duration,
	/// The upload log: where batches wait while the cloud is unreachable.
	pub queue_dir: PathBuf,
	/// The most bytes of batches kept waiting.
	pub queue_max_bytes: u64,
	/// When a batch is cut.
	pub batch: BatchLimits,
}

/// Why streaming stopped.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
	/// The key file could not be read.
	#[error(transparent)]
	KeyFile(#[from] keyfile::KeyFileError),
	/// The chain could not be reached.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// The sensor is not on chain.
	#[error("this sensor is not registered on chain: run `register` first")]
	NotRegistered,
	/// The upload log failed.
	#[error(transparent)]
	Log(#[from] LogError),
	/// The pipeline could not start.
	#[error(transparent)]
	Pipeline(#[from] PipelineError),
	/// The uploader stopped unexpectedly.
	#[error("the uploader stopped: {0}")]
	Uploader(#[from] tokio::task::JoinError),
}

/// Streams until `shutdown` turns true; waiting uploads stay on disk for next time.
pub async fn run(config: StreamConfig, shutdown: watch::Receiver<bool>) -> Result<(), StreamError> {
	// The fixed-base table the sensor's multiplications read, built before the first.
	cbpre::warm_up();
	let key = keyfile::load_secret_key(&config.key)?;
	let chain = ChainClient::connect(&config.chain_url).await?;
	let sensor = chain.sensor(key.id().as_bytes()).await?.ok_or(StreamError::NotRegistered)?;
	let log = Arc::new(Log::open(&config.queue_dir, config.queue_max_bytes)?);
	let wake = Arc::new(Notify::new());
	let id = *key.id();
	let (epoch_secs, rng) = (sensor.epoch_secs, rand::rngs::OsRng);
	let mut sealer = Sealer::new(key, epoch_secs, log.clone(), wake.clone(), rng, config.batch)?;
	let uploader = tokio::spawn(upload(
		id,
		log.clone(),
		wake.clone(),
		WorkerClient::new(&config.cloud),
		shutdown.clone(),
	));
	let (tx, mut rx) = mpsc::channel(1024);
	spawn_source(&config, tx, shutdown.clone()).await;
	tracing::info!(sensor = %hex::encode(id.as_bytes()), epoch_secs = sensor.epoch_secs, cloud = %config.cloud, "streaming");
	let mut stop = shutdown;
	loop {
		// The batch being collected is cut at its linger, readings or not.
		let due = sealer.due();
		let linger = async {
			match due {
				Some(at) => tokio::time::sleep_until(at.into()).await,
				None => std::future::pending().await,
			}
		};
		tokio::select! {
			_ = stop.changed() => break,
			_ = linger => if let Err(e) = sealer.cut() {
				tracing::error!(error = %e, "a batch could not be logged; its readings are dropped");
			},
			reading = rx.recv() => match reading {
				Some((ts, reading)) => if let Err(e) = sealer.push(ts, &reading) {
					tracing::error!(error = %e, "reading dropped");
				},
				None => break,
			},
		}
	}
	// A clean stop loses nothing: the readings collected go into a last batch.
	if let Err(e) = sealer.cut() {
		tracing::error!(error = %e, "the last batch could not be logged");
	}
	uploader.await??;
	tracing::info!(
		waiting_bytes = log.waiting_bytes(),
		syncs = log.syncs(),
		"stopped; waiting uploads are kept on disk"
	);
	Ok(())
}

/// Starts the source of readings: the BLE tag if one is named and a Bluetooth
/// adapter is present, else the simulated tag.
async fn spawn_source(
	config: &StreamConfig,
	tx: mpsc::Sender<(u64, Reading)>,
	mut stop: watch::Receiver<bool>,
) {
	#[cfg(feature = "ble")]
	if let Some(name_or_address) = config.tag.clone() {
		use crate::ble;
		match ble::adapter().await {
			Ok(_) => {
				let target = ble::TagTarget { name_or_address, period: config.interval };
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
	if config.tag.is_some() {
		tracing::warn!("built without the `ble` feature: using a simulated tag");
	}
	let mut sim = SimulatedTag::new(config.seed);
	if let Some(m) = config.marker {
		sim = sim.with_marker(m);
	}
	let interval = config.interval;
	tokio::spawn(async move {
		let mut ticks = tokio::time::interval(interval);
		loop {
			tokio::select! {
				_ = stop.changed() => return,
				_ = ticks.tick() => {
					let ts = sensorshare_service::clock::now_ms();
					if tx.send((ts, sim.read(ts))).await.is_err() {
						return;
					}
				},
			}
		}
	});
}
