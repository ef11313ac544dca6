//! The demo's data users (the market's [`Requester`]), and a log of the market's
//! events as the chain finalizes them, with when each was seen.

use crate::Error;
use rand::rngs::OsRng;
use sensorshare_chain_client::{
	api, signer_from_uri, AccountId32, Balance, ChainClient, Follower, Included, MarketEvent,
};
pub use sensorshare_market_client::Requester;
use std::{
	collections::HashMap,
	sync::{Arc, Mutex},
	time::Duration,
};
use tokio::sync::Notify;

/// Enrols `id` with the dev CA and registers it on chain for account `uri`: a data
/// user of the demo.
pub async fn register_requester(
	chain: &ChainClient,
	uri: &str,
	id: &str,
) -> Result<(Requester, Included), Error> {
	let key = cbpre::dev::enroll_with_rng(id.as_bytes(), &mut OsRng)
		.map_err(|e| Error::Crypto(e.to_string()))?;
	let requester = Requester::new(signer_from_uri(uri)?, key);
	let included = requester.register(chain).await?;
	Ok((requester, included))
}

/// What happened to an agreement: the block, and the block's time (the chain's
/// timestamp, milliseconds since the Unix epoch: when the block was authored).
#[derive(Debug, Clone, Default)]
pub struct Progress {
	/// `RequestAccepted`.
	pub accepted: Option<(u32, u64)>,
	/// The last `DataDelivered`: its last epoch.
	pub delivered: Option<(u64, u32, u64)>,
	/// `AgreementSettled`: the owner's and the provider's pay.
	pub settled: Option<(Balance, Balance, u32, u64)>,
}

/// Follows finalized blocks in the background and records every agreement's progress.
#[derive(Clone)]
pub struct EventLog {
	inner: Arc<(Mutex<HashMap<u64, Progress>>, Notify)>,
	task: Arc<tokio::task::JoinHandle<()>>,
}

impl EventLog {
	/// Follows `chain` from block `from`.
	pub fn follow(chain: ChainClient, from: u32) -> Self {
		let inner: Arc<(Mutex<HashMap<u64, Progress>>, Notify)> = Arc::default();
		let shared = inner.clone();
		let task = tokio::spawn(async move {
			let mut follower = Follower::new(chain.clone(), from);
			loop {
				let block = match follower.next().await {
					Ok(b) => b,
					Err(e) => {
						tracing::warn!(error = %e, "following the chain");
						tokio::time::sleep(Duration::from_millis(500)).await;
						continue;
					},
				};
				let now = if block.events.is_empty() {
					0
				} else {
					block_time_ms(&chain, block.hash).await
				};
				{
					let mut log = shared.0.lock().unwrap_or_else(|p| p.into_inner());
					for ev in block.events {
						match ev {
							MarketEvent::RequestAccepted { id, .. } => {
								log.entry(id).or_default().accepted = Some((block.number, now));
							},
							MarketEvent::DataDelivered { id, through_epoch, .. } => {
								log.entry(id).or_default().delivered =
									Some((through_epoch, block.number, now));
							},
							MarketEvent::AgreementSettled {
								id, owner_paid, provider_paid, ..
							} => {
								log.entry(id).or_default().settled =
									Some((owner_paid, provider_paid, block.number, now));
							},
							_ => {},
						}
					}
				}
				shared.1.notify_waiters();
			}
		});
		EventLog { inner, task: Arc::new(task) }
	}

	/// Waits until `done` holds of agreement `id`'s progress, at most `within`.
	pub async fn wait<T>(
		&self,
		id: u64,
		within: Duration,
		done: impl Fn(&Progress) -> Option<T>,
	) -> Result<T, Error> {
		let deadline = tokio::time::Instant::now() + within;
		loop {
			let notified = self.inner.1.notified();
			{
				let log = self.inner.0.lock().unwrap_or_else(|p| p.into_inner());
				if let Some(t) = log.get(&id).and_then(&done) {
					return Ok(t);
				}
			}
			if tokio::time::timeout_at(deadline, notified).await.is_err() {
				let log = self.inner.0.lock().unwrap_or_else(|p| p.into_inner());
				let so_far = log.get(&id).cloned().unwrap_or_default();
				return Err(Error::Timeout(format!(
					"agreement {id} after {within:?}, seen so far: {so_far:?}"
				)));
			}
		}
	}
}

impl Drop for EventLog {
	fn drop(&mut self) {
		if Arc::strong_count(&self.task) == 1 {
			self.task.abort();
		}
	}
}

/// When block `hash` was authored, by its timestamp (0 if it cannot be read).
pub async fn block_time_ms(chain: &ChainClient, hash: sensorshare_chain_client::H256) -> u64 {
	let now = api::storage().timestamp().now();
	match chain.api().storage().at(hash).fetch(&now).await {
		Ok(Some(ms)) => ms,
		_ => 0,
	}
}

/// The transaction fees each account (by its 32 bytes) paid in blocks `from..=to`.
pub async fn fees_paid(
	chain: &ChainClient,
	from: u32,
	to: u32,
) -> Result<HashMap<[u8; 32], Balance>, Error> {
	let mut fees: HashMap<[u8; 32], Balance> = HashMap::new();
	for n in from..=to {
		let Some(hash) = chain.block_hash(n).await? else { continue };
		for (who, fee) in chain.fees_paid(hash).await? {
			*fees.entry(who.0).or_default() += fee;
		}
	}
	Ok(fees)
}

/// An account's total balance (free and held).
pub async fn total_balance(chain: &ChainClient, who: &AccountId32) -> Result<Balance, Error> {
	Ok(chain.free_balance(who).await? + chain.reserved_balance(who).await?)
}
