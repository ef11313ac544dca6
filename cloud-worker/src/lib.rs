//! The SensorShare cloud worker: the paper's cloud storage server.
//!
//! Sensors upload capsules and signed records over HTTP; the worker stores them
//! (local filesystem or S3) after checking them against the sensor's key on chain.
//! It follows the chain's finalized blocks, and for every agreement accepted for its
//! provider account it re-encrypts the agreement's capsules with the on-chain re-keys,
//! writes the delivery, and submits `deliver` with the manifest's digest. Requesters
//! prove their identity with a signed challenge to download.
//!
//! # Exactly once
//!
//! Each step of an agreement is delivered exactly once, across crashes and restarts.
//! That rests on three things. The [cursor](cursor) (the last finalized block whose
//! deliveries are all done) is kept on disk and only moves past a block once its
//! deliveries are finalized. On start, the [listener](listener) scans the open
//! agreements on chain, so an acceptance whose block is behind the cursor but whose
//! delivery was cut short is not lost. And before submitting, the
//! [delivery](deliver) checks the agreement's state on chain, and reuses a delivery
//! found written in the store as it is, so a restart never puts a second, different
//! digest on chain.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod config;
pub mod cursor;
pub mod deliver;
pub mod directory;
pub mod http;
pub mod listener;
pub mod metrics;
pub mod quota;
pub mod store;

use config::Config;
use sensorshare_chain_client::{signer_from_uri, ChainClient};
use std::{future::Future, sync::Arc};

/// Why the worker could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
	/// No provider key is configured.
	#[error("no provider key: set SENSORSHARE_PROVIDER_SURI or `provider_suri` (//Ferdie on a dev chain)")]
	NoProviderKey,
	/// The provider key is not a registered storage provider.
	#[error("account {0} is not a registered storage provider on this chain")]
	NotAProvider(String),
	/// The chain failed.
	#[error(transparent)]
	Chain(#[from] sensorshare_chain_client::Error),
	/// The store failed.
	#[error(transparent)]
	Store(#[from] store::StoreError),
	/// The HTTP listener failed.
	#[error("HTTP server on {addr}: {source}")]
	Http {
		/// The address.
		addr: std::net::SocketAddr,
		/// What the operating system reported.
		source: std::io::Error,
	},
	/// The chain listener stopped.
	#[error(transparent)]
	Listener(#[from] listener::ListenerError),
	/// Metrics could not be registered.
	#[error("metrics: {0}")]
	Metrics(#[from] prometheus::Error),
}

/// Runs the worker until `shutdown` resolves, then stops accepting requests, lets
/// running deliveries finish and returns.
pub async fn run(
	config: Config,
	shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WorkerError> {
	let suri = config.provider_suri.clone().ok_or(WorkerError::NoProviderKey)?;
	let signer = Arc::new(signer_from_uri(suri.expose())?);
	let provider = signer.public_key().to_account_id();
	let chain = ChainClient::connect(&config.chain_url).await?;
	// Everything kept is this chain's own: another chain's is never read.
	let genesis = chain.genesis_hash();
	let store = store::Store::open(&config.storage)?.for_chain(&genesis);
	if chain.provider(&provider).await?.is_none() {
		return Err(WorkerError::NotAProvider(provider.to_string()));
	}
	let metrics = metrics::Metrics::new()?;
	let published = api::Published::default();
	let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
	let state = api::ApiState {
		store: store.clone(),
		directory: Arc::new(directory::Directory::new(
			chain.clone(),
			provider.clone(),
			(config.limits.sensor_cache_ttl(), config.limits.unknown_sensor_cache_ttl()),
			metrics.sensor_lookups.clone(),
		)),
		auth: Arc::new(auth::Auth::new(config.limits.challenge_ttl(), config.limits.token_ttl())),
		metrics: metrics.clone(),
		max_record_bytes: config.limits.max_record_bytes,
		published: published.clone(),
		quotas: Arc::new(quota::Quotas::new(&config.limits)),
		waiting: Arc::new(tokio::sync::Semaphore::new(config.limits.max_waiting)),
		stopping: stop_rx.clone(),
	};
	let tcp = tokio::net::TcpListener::bind(config.listen)
		.await
		.map_err(|source| WorkerError::Http { addr: config.listen, source })?;
	let addr = tcp.local_addr().unwrap_or(config.listen);
	tracing::info!(%addr, %provider, chain = %config.chain_url, "cloud worker listening");

	let (limits, http_metrics, http_stop) =
		(config.limits.clone(), metrics.clone(), stop_rx.clone());
	let http = tokio::spawn(async move {
		http::serve(tcp, api::router(state), &limits, http_metrics, http_stop).await
	});
	let deliverer = deliver::Deliverer {
		chain,
		signer,
		provider,
		store,
		public_url: config.public_url.clone(),
		metrics,
		max_concurrent: config.limits.max_concurrent_deliveries,
		published,
	};
	let cursor = cursor::Cursor::for_chain(&config.state_dir, &genesis);
	let mut follow = tokio::spawn(listener::run(deliverer, cursor, stop_rx));

	// Stop on the signal, or when the listener fails.
	let listener_result = tokio::select! {
		_ = shutdown => None,
		r = &mut follow => Some(r),
	};
	tracing::info!("shutting down");
	let _ = stop_tx.send(true);
	let listener_result = match listener_result {
		Some(r) => r,
		None => follow.await,
	};
	if let Err(e) = http.await {
		tracing::error!(error = %e, "the HTTP server stopped abnormally");
	}
	listener_result.unwrap_or(Ok(()))?;
	Ok(())
}
