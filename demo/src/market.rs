//! The data user's side of the market, and a log of the market's events as the
//! chain finalizes them, with when each was seen.

use crate::Error;
use cbpre::{Identity, PublicKey, SecretKey};
use rand::rngs::OsRng;
use sensorshare_chain_client::{
	api, signer_from_uri, AccountId32, Balance, ChainClient, Follower, Included, Keypair,
	MarketEvent,
};
use sensorshare_worker_client::{DeliveryRef, Fetched, WorkerClient};
use std::{
	collections::HashMap,
	sync::{Arc, Mutex},
	time::Duration,
};
use tokio::sync::Notify;

/// A data user: an account, and a CB-PRE key certified by the dev CA.
pub struct Requester {
	/// The account's secret URI.
	pub uri: String,
	/// The account.
	pub account: AccountId32,
	signer: Keypair,
	key: SecretKey,
}

impl Requester {
	/// Enrols `id` with the dev CA and registers it on chain for account `uri`.
	pub async fn register(
		chain: &ChainClient,
		uri: &str,
		id: &str,
	) -> Result<(Self, Included), Error> {
		let signer = signer_from_uri(uri)?;
		let key = cbpre::dev::enroll_with_rng(id.as_bytes(), &mut OsRng)
			.map_err(|e| Error::Crypto(e.to_string()))?;
		let included = chain.register_identity_with_rng(&signer, &key, &mut OsRng).await?;
		let account = signer.public_key().to_account_id();
		Ok((Requester { uri: uri.into(), account, signer, key }, included))
	}

	/// The account's key, which signs the user's transactions.
	pub fn signer(&self) -> &Keypair {
		&self.signer
	}

	/// The user's public key.
	pub fn public_key(&self) -> &PublicKey {
		self.key.public_key()
	}

	/// Requests epochs `from..=to` of `sensors`, paying at most `max`; the agreement.
	pub async fn request(
		&self,
		chain: &ChainClient,
		sensors: &[Identity],
		(from, to): (u64, u64),
		max: Balance,
	) -> Result<(u64, Included), Error> {
		Ok(chain.request_data(&self.signer, sensors, (from, to), max).await?)
	}

	/// Downloads, verifies and decrypts agreement `id`'s latest delivery.
	pub async fn fetch(
		&self,
		chain: &ChainClient,
		worker: &WorkerClient,
		id: u64,
	) -> Result<Fetched, Error> {
		let a = agreement(chain, id).await?;
		let ((_, digest), Some(through_epoch)) = (
			a.delivery.clone().ok_or_else(|| Error::Unexpected("not delivered".into()))?,
			a.last_delivered_epoch(),
		) else {
			return Err(Error::Unexpected(format!("agreement {id} is not delivered")));
		};
		let keys = sensor_keys(chain, &a).await?;
		let delivery = DeliveryRef { agreement: id, through_epoch, digest };
		Ok(worker.fetch(&delivery, &self.key, &keys, &mut OsRng, |_| {}).await?)
	}

	/// Downloads and decrypts agreement `id`'s delivery through `through_epoch` as
	/// soon as the worker has written it, waiting up to `wait`: before the delivery
	/// is on chain. [`Self::check_delivery`] compares it with the chain's later.
	pub async fn fetch_ahead(
		&self,
		chain: &ChainClient,
		worker: &WorkerClient,
		id: u64,
		through_epoch: u64,
		wait: Duration,
	) -> Result<Fetched, Error> {
		let a = agreement(chain, id).await?;
		let keys = sensor_keys(chain, &a).await?;
		Ok(worker
			.fetch_ahead(id, through_epoch, wait, &self.key, &keys, &mut OsRng, |_| {})
			.await?)
	}

	/// Whether the delivery of agreement `id` on chain is the one fetched ahead: the
	/// digest on chain is `digest`, the digest of what was downloaded
	/// ([`Fetched::digest`]).
	pub async fn check_delivery(
		&self,
		chain: &ChainClient,
		id: u64,
		digest: &[u8; 32],
	) -> Result<(), Error> {
		match agreement(chain, id).await?.delivery {
			Some((_, on_chain)) if on_chain == *digest => Ok(()),
			Some(_) => Err(Error::Unexpected(format!(
				"agreement {id}: the digest on chain is not that of the data downloaded"
			))),
			None => Err(Error::Unexpected(format!("agreement {id} is not delivered"))),
		}
	}

	/// Confirms agreement `id`: the escrow goes to the owner and the provider.
	pub async fn confirm(&self, chain: &ChainClient, id: u64) -> Result<Included, Error> {
		Ok(chain.confirm(&self.signer, id).await?)
	}
}

/// Agreement `id`, which must be on chain.
pub async fn agreement(
	chain: &ChainClient,
	id: u64,
) -> Result<sensorshare_chain_client::Agreement, Error> {
	chain.agreement(id).await?.ok_or_else(|| Error::Unexpected(format!("agreement {id} is gone")))
}

/// The public keys of agreement `a`'s sensors, from the chain.
async fn sensor_keys(
	chain: &ChainClient,
	a: &sensorshare_chain_client::Agreement,
) -> Result<HashMap<Identity, PublicKey>, Error> {
	let mut keys = HashMap::new();
	for s in &a.sensors {
		let sensor = chain
			.sensor(s.as_bytes())
			.await?
			.ok_or_else(|| Error::Unexpected("a sensor is gone".into()))?;
		keys.insert(sensor.id, sensor.public_key);
	}
	Ok(keys)
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
