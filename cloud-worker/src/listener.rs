//! The chain listener: follows finalized blocks and delivers every agreement accepted
//! for this provider, exactly once per step: when it is accepted, and for a
//! subscription again each time the owner adds re-keys, each delivery covering every
//! epoch re-keyed so far.
//!
//! Exactly once rests on three things. The cursor (the last finalized block whose
//! deliveries are all done) is kept on disk and only moves past a block once its
//! deliveries are finalized. On start, the open agreements on chain are scanned, so
//! an acceptance whose block is behind the cursor but whose delivery was cut short is
//! not lost. And before submitting, the agreement's state on chain is checked, and a
//! delivery found written in the store is reused as it is, so a restart never puts a
//! second, different digest on chain.

use crate::{
	deliver::{write_delivery, DeliveryError, Job},
	metrics::Metrics,
	store::Store,
};
use sensorshare_chain_client::{
	AccountId32, AgreementStatus, ChainClient, Error as ChainError, Follower, Keypair, MarketEvent,
};
use std::{
	collections::{BTreeMap, HashMap, HashSet},
	path::PathBuf,
	sync::Arc,
	time::{Duration, Instant},
};
use tokio::{sync::Semaphore, task::JoinSet};

/// Attempts at a delivery that fails for a transient reason.
const ATTEMPTS: u32 = 5;

/// Why the listener stopped.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
	/// The chain failed in a way that retrying does not fix.
	#[error("chain: {0}")]
	Chain(#[from] ChainError),
	/// The cursor file could not be read or written.
	#[error("cursor {path}: {source}")]
	Cursor {
		/// The file.
		path: PathBuf,
		/// Why.
		source: std::io::Error,
	},
}

/// Why one delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
	/// The chain failed or refused.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// The delivery could not be written.
	#[error(transparent)]
	Delivery(#[from] DeliveryError),
	/// The chain's state does not allow a delivery.
	#[error("agreement {0}: {1}")]
	Inconsistent(u64, String),
}

impl JobError {
	fn is_transient(&self) -> bool {
		match self {
			JobError::Chain(e) => e.is_transient(),
			JobError::Delivery(DeliveryError::Store(_)) => true,
			_ => false,
		}
	}
}

/// The persistent cursor: the last finalized block fully handled.
pub struct Cursor {
	path: PathBuf,
}

impl Cursor {
	/// The cursor kept in `state_dir`.
	pub fn new(state_dir: &std::path::Path) -> Self {
		Cursor { path: state_dir.join("cursor") }
	}

	fn err(&self, source: std::io::Error) -> ListenerError {
		ListenerError::Cursor { path: self.path.clone(), source }
	}

	/// The last block handled, if any.
	pub fn load(&self) -> Result<Option<u32>, ListenerError> {
		match std::fs::read_to_string(&self.path) {
			Ok(s) => s
				.trim()
				.parse()
				.map(Some)
				.map_err(|e| self.err(std::io::Error::new(std::io::ErrorKind::InvalidData, e))),
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
			Err(e) => Err(self.err(e)),
		}
	}

	/// Records `block` as handled, atomically (write, sync, rename).
	pub fn store(&self, block: u32) -> Result<(), ListenerError> {
		use std::io::Write;
		let tmp = self.path.with_extension("tmp");
		let write = || -> std::io::Result<()> {
			if let Some(dir) = self.path.parent() {
				std::fs::create_dir_all(dir)?;
			}
			let mut f = std::fs::File::create(&tmp)?;
			writeln!(f, "{block}")?;
			f.sync_all()?;
			std::fs::rename(&tmp, &self.path)
		};
		write().map_err(|e| self.err(e))
	}
}

/// What a delivery task needs.
#[derive(Clone)]
pub struct Deliverer {
	/// The chain.
	pub chain: ChainClient,
	/// The provider's account key, which signs `deliver`.
	pub signer: Arc<Keypair>,
	/// The provider's account.
	pub provider: AccountId32,
	/// The store.
	pub store: Store,
	/// The URL requesters download from.
	pub public_url: String,
	/// Metrics.
	pub metrics: Metrics,
	/// Deliveries in progress at once.
	pub max_concurrent: usize,
	/// Wakes the downloads waiting for a delivery.
	pub published: crate::api::Published,
}

impl Deliverer {
	/// Delivers what agreement `id` has re-keyed and not yet delivered, if it is ours,
	/// retrying transient failures.
	async fn deliver_with_retries(&self, id: u64) {
		let started = Instant::now();
		let mut delay = Duration::from_millis(200);
		for attempt in 1..=ATTEMPTS {
			match self.deliver(id).await {
				Ok(true) => {
					self.metrics.deliveries.inc();
					self.metrics.delivery_seconds.observe(started.elapsed().as_secs_f64());
					return;
				},
				Ok(false) => return,
				Err(e) if e.is_transient() && attempt < ATTEMPTS => {
					tracing::warn!(agreement = id, attempt, error = %e, "delivery failed; retrying");
					tokio::time::sleep(delay).await;
					delay *= 2;
				},
				Err(e) => {
					tracing::error!(agreement = id, error = %e, "delivery failed");
					return;
				},
			}
		}
	}

	/// Delivers the epochs of agreement `id` that are re-keyed and not yet delivered:
	/// true if this call put a delivery on chain, false if there was nothing to do
	/// (not ours, not accepted, nothing new re-keyed).
	pub async fn deliver(&self, id: u64) -> Result<bool, JobError> {
		let Some(agreement) = self.chain.agreement(id).await? else { return Ok(false) };
		if agreement.provider != self.provider || agreement.status != AgreementStatus::Accepted {
			return Ok(false);
		}
		let delivered_through = agreement.last_delivered_epoch();
		let Some(through_epoch) =
			agreement.last_rekeyed_epoch().filter(|t| delivered_through.is_none_or(|d| d < *t))
		else {
			return Ok(false);
		};
		let requester = self.chain.identity(&agreement.requester).await?.ok_or_else(|| {
			JobError::Inconsistent(id, "the requester has no identity on chain".into())
		})?;
		let rekeys = self
			.chain
			.rekeys(id)
			.await?
			.ok_or_else(|| JobError::Inconsistent(id, "accepted without re-keys".into()))?;
		let mut sensors = Vec::with_capacity(agreement.sensors.len());
		for s in &agreement.sensors {
			let sensor = self.chain.sensor(s.as_bytes()).await?.ok_or_else(|| {
				JobError::Inconsistent(id, format!("sensor {} is gone", hex::encode(s.as_bytes())))
			})?;
			sensors.push((sensor.id, sensor.public_key));
		}
		let job = Job {
			agreement: id,
			requester_account: requester.account.0,
			requester: requester.id,
			requester_key: requester.public_key,
			from_epoch: agreement.from_epoch,
			through_epoch,
			delivered_through,
			sensors,
			rekeys,
		};
		let started = Instant::now();
		let written = write_delivery(&self.store, &job).await?;
		self.metrics.write_seconds.observe(started.elapsed().as_secs_f64());
		self.metrics.reencrypt_seconds.inc_by(written.reencrypt.as_secs_f64());
		self.metrics.delivered_bytes.inc_by(written.record_bytes);
		self.published.notify();

		// The chain may have moved on while the delivery was written.
		match self.chain.agreement(id).await? {
			Some(a)
				if a.status == AgreementStatus::Accepted
					&& a.last_delivered_epoch() == delivered_through => {},
			other => {
				tracing::info!(
					agreement = id,
					status = ?other.map(|a| (a.status, a.last_delivered_epoch())),
					"the agreement moved on while its delivery was written; not submitting"
				);
				return Ok(false);
			},
		}
		let location = format!(
			"{}/v1/deliveries/{id}/manifests/{through_epoch}",
			self.public_url.trim_end_matches('/')
		);
		match self.chain.deliver(&self.signer, id, through_epoch, &location, written.digest).await {
			Ok(included) => {
				tracing::info!(
					agreement = id,
					through_epoch,
					block = included.block_number,
					segments = written.segments,
					bytes = written.record_bytes,
					resumed = written.resumed,
					"delivered"
				);
				Ok(true)
			},
			// Delivered by an earlier submission of ours that was still in flight.
			Err(e)
				if matches!(
					e.refusal(),
					Some("AgreementNotAccepted" | "EpochDeliveredAlready")
				) =>
			{
				tracing::info!(agreement = id, error = %e, "delivered already");
				Ok(false)
			},
			Err(e) => Err(e.into()),
		}
	}
}

/// Tracks which blocks still have deliveries to do, to move the cursor.
#[derive(Default)]
struct Pending {
	/// Block → deliveries it asked for that are not done.
	by_block: BTreeMap<u32, usize>,
	/// Agreements being delivered.
	agreements: HashSet<u64>,
	/// Agreements asked for again while being delivered (re-keys added meanwhile),
	/// with the blocks that asked: delivered once more when the running task ends.
	again: HashMap<u64, Vec<u32>>,
	/// The last block whose events were all seen.
	seen: Option<u32>,
}

impl Pending {
	/// The highest block with no delivery of it or an earlier block running.
	fn low_water(&self) -> Option<u32> {
		match self.by_block.keys().next() {
			Some(first) => first.checked_sub(1),
			None => self.seen,
		}
	}

	/// Counts a delivery of `id` asked for by `block`: true if it is to start now,
	/// false if one is running and this one is to follow it.
	fn ask(&mut self, block: u32, id: u64) -> bool {
		*self.by_block.entry(block).or_default() += 1;
		if self.agreements.insert(id) {
			return true;
		}
		self.again.entry(id).or_default().push(block);
		false
	}

	/// Records the delivery of `id` for `blocks` as done; the blocks of a delivery to
	/// follow it, if one was asked for meanwhile.
	fn finish(&mut self, blocks: &[u32], id: u64) -> Option<Vec<u32>> {
		for block in blocks {
			if let Some(n) = self.by_block.get_mut(block) {
				*n = n.saturating_sub(1);
				if *n == 0 {
					self.by_block.remove(block);
				}
			}
		}
		match self.again.remove(&id) {
			Some(next) => Some(next),
			None => {
				self.agreements.remove(&id);
				None
			},
		}
	}
}

/// Follows the chain until `shutdown` and delivers what is accepted for this provider.
pub async fn run(
	deliverer: Deliverer,
	cursor: Cursor,
	mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), ListenerError> {
	let chain = deliverer.chain.clone();
	let (head, _) = chain.finalized_head().await?;
	let start = match cursor.load()? {
		Some(c) => c.saturating_add(1),
		None => head,
	};
	let mut pending = Pending::default();
	let mut tasks: JoinSet<(Vec<u32>, u64)> = JoinSet::new();
	let limit = Arc::new(Semaphore::new(deliverer.max_concurrent.max(1)));
	let start_task = |tasks: &mut JoinSet<(Vec<u32>, u64)>, blocks: Vec<u32>, id: u64| {
		let d = deliverer.clone();
		let limit = limit.clone();
		tasks.spawn(async move {
			let _permit = limit.acquire_owned().await;
			d.deliver_with_retries(id).await;
			(blocks, id)
		});
	};
	let spawn =
		|tasks: &mut JoinSet<(Vec<u32>, u64)>, pending: &mut Pending, block: u32, id: u64| {
			if pending.ask(block, id) {
				start_task(tasks, vec![block], id);
			}
		};

	// Agreements accepted before the cursor whose delivery did not finish.
	let open = chain.agreements().await?;
	let unfinished: Vec<u64> = open
		.iter()
		.filter(|a| {
			a.provider == deliverer.provider
				&& a.status == AgreementStatus::Accepted
				&& a.rekeyed > a.delivered
		})
		.map(|a| a.id)
		.collect();
	tracing::info!(from = start, head, unfinished = unfinished.len(), "following finalized blocks");
	for id in unfinished {
		spawn(&mut tasks, &mut pending, start.saturating_sub(1), id);
	}

	let mut follower = Follower::new(chain, start);
	let mut stored = cursor.load()?;
	loop {
		tokio::select! {
			_ = shutdown.changed() => break,
			Some(done) = tasks.join_next(), if !tasks.is_empty() => {
				if let Ok((blocks, id)) = done {
					if let Some(next) = pending.finish(&blocks, id) {
						start_task(&mut tasks, next, id);
					}
				}
			},
			block = follower.next() => match block {
				Ok(block) => {
					for ev in &block.events {
						if let MarketEvent::RequestAccepted { id, .. }
						| MarketEvent::ReKeysAdded { id, .. } = ev
						{
							spawn(&mut tasks, &mut pending, block.number, *id);
						}
					}
					pending.seen = Some(block.number);
				},
				Err(e) if e.is_transient() => {
					tracing::warn!(error = %e, "chain unavailable; waiting");
					tokio::time::sleep(Duration::from_secs(1)).await;
				},
				Err(e) => return Err(e.into()),
			},
		}
		let low = pending.low_water();
		if low.is_some() && low > stored {
			if let Some(n) = low {
				cursor.store(n)?;
			}
			stored = low;
		}
	}
	tracing::info!(running = tasks.len(), "stopping: letting running deliveries finish");
	while let Some(done) = tasks.join_next().await {
		if let Ok((blocks, id)) = done {
			if let Some(next) = pending.finish(&blocks, id) {
				start_task(&mut tasks, next, id);
			}
		}
	}
	if let Some(n) = pending.low_water().filter(|n| Some(*n) > stored) {
		cursor.store(n)?;
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_cursor_stays_behind_the_first_block_with_a_running_delivery() {
		let mut p = Pending { seen: Some(10), ..Default::default() };
		assert_eq!(p.low_water(), Some(10));
		assert!(p.ask(7, 1));
		assert!(p.ask(7, 2));
		assert!(p.ask(9, 3));
		assert_eq!(p.low_water(), Some(6));
		assert_eq!(p.finish(&[7], 1), None);
		assert_eq!(p.finish(&[7], 2), None);
		assert_eq!(p.low_water(), Some(8));
		assert_eq!(p.finish(&[9], 3), None);
		assert_eq!(p.low_water(), Some(10));
	}

	#[test]
	fn re_keys_added_during_a_delivery_are_delivered_after_it_and_hold_the_cursor() {
		let mut p = Pending { seen: Some(20), ..Default::default() };
		assert!(p.ask(7, 1));
		assert!(!p.ask(12, 1), "a delivery of agreement 1 is running");
		assert!(!p.ask(15, 1));
		assert_eq!(p.finish(&[7], 1), Some(vec![12, 15]), "it runs once more, for both");
		assert_eq!(p.low_water(), Some(11));
		assert_eq!(p.finish(&[12, 15], 1), None);
		assert_eq!(p.low_water(), Some(20));
		assert!(p.ask(21, 1), "nothing runs for agreement 1 any more");
	}

	#[test]
	fn the_cursor_survives_a_restart_and_refuses_garbage() {
		let dir = tempfile::tempdir().expect("tempdir");
		let c = Cursor::new(dir.path());
		assert_eq!(c.load().expect("load"), None);
		c.store(42).expect("store");
		assert_eq!(Cursor::new(dir.path()).load().expect("load"), Some(42));
		std::fs::write(dir.path().join("cursor"), "x").expect("write");
		assert!(c.load().is_err());
	}
}
