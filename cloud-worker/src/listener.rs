//! The chain listener: follows finalized blocks and delivers every agreement accepted
//! for this provider, exactly once per step: when it is accepted, and for a
//! subscription again each time the owner adds re-keys, each delivery covering every
//! epoch re-keyed so far.
//!
//! Its part in [exactly once](crate#exactly-once): it keeps the [`Cursor`] behind the
//! first block with a delivery still running, and on start it delivers the open
//! agreements that have epochs re-keyed and not delivered, wherever their blocks lie.

use crate::{
	cursor::{Cursor, CursorError},
	deliver::{Deliverer, Outcome},
};
use sensorshare_chain_client::{AgreementStatus, Error as ChainError, Follower, MarketEvent};
use std::{
	collections::{BTreeMap, HashMap, HashSet},
	sync::Arc,
	time::Duration,
};
use tokio::{
	sync::{watch, Semaphore},
	task::{self, JoinSet},
};

/// The wait before a delivery whose task panicked runs again.
const PANIC_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Why the listener stopped.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
	/// The chain failed in a way that retrying does not fix.
	#[error("chain: {0}")]
	Chain(#[from] ChainError),
	/// The cursor file could not be read or written.
	#[error(transparent)]
	Cursor(#[from] CursorError),
	/// The cursor is of another chain with the same genesis (a dev chain started
	/// afresh): its block is not this chain's.
	#[error(
		"the cursor {cursor} is at block #{number} of another chain with this genesis (a dev chain started afresh?): remove it and the store's namespace of this chain, or give this chain its own --state-dir and --store-dir"
	)]
	OtherChain {
		/// The cursor's block.
		number: u32,
		/// The cursor's file.
		cursor: std::path::PathBuf,
	},
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

/// The running delivery tasks, at most `max_concurrent` at once.
struct Tasks {
	deliverer: Deliverer,
	shutdown: watch::Receiver<bool>,
	limit: Arc<Semaphore>,
	set: JoinSet<Outcome>,
	/// What each task delivers: the blocks that asked for it, and the agreement.
	jobs: HashMap<task::Id, (Vec<u32>, u64)>,
}

impl Tasks {
	fn new(deliverer: Deliverer, shutdown: watch::Receiver<bool>) -> Self {
		let limit = Arc::new(Semaphore::new(deliverer.max_concurrent.max(1)));
		Tasks { deliverer, shutdown, limit, set: JoinSet::new(), jobs: HashMap::new() }
	}

	fn is_empty(&self) -> bool {
		self.set.is_empty()
	}

	fn len(&self) -> usize {
		self.set.len()
	}

	/// Starts delivering agreement `id` for `blocks`, after `delay`.
	fn start(&mut self, blocks: Vec<u32>, id: u64, delay: Duration) {
		let (d, limit, shutdown) =
			(self.deliverer.clone(), self.limit.clone(), self.shutdown.clone());
		let handle = self.set.spawn(async move {
			tokio::time::sleep(delay).await;
			let _permit = limit.acquire_owned().await;
			d.deliver_until_done(id, shutdown).await
		});
		self.jobs.insert(handle.id(), (blocks, id));
	}

	/// Waits for the next task to end: its blocks and agreement if it is done with
	/// them, `None` if it is not (stopped by the shutdown, or it panicked and runs
	/// again: a panic never leaves the cursor frozen, nor the delivery dropped).
	async fn join_next(&mut self) -> Option<Option<(Vec<u32>, u64)>> {
		let ended = self.set.join_next_with_id().await?;
		let (task, outcome) = match ended {
			Ok((task, outcome)) => (task, Ok(outcome)),
			Err(e) => (e.id(), Err(e)),
		};
		let (blocks, id) = self.jobs.remove(&task)?;
		Some(match outcome {
			Ok(Outcome::Stopped) => None,
			Ok(_) => Some((blocks, id)),
			Err(e) if e.is_cancelled() => None,
			Err(e) => {
				tracing::error!(agreement = id, error = %e, "a delivery task panicked; starting it again");
				self.start(blocks, id, PANIC_RETRY_DELAY);
				None
			},
		})
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
	let loaded = cursor.load()?;
	if let Some((number, Some(hash))) = loaded {
		let ours = chain.block_hash(number).await?.map(|h| h.0);
		if ours != Some(hash) {
			return Err(ListenerError::OtherChain { number, cursor: cursor.path().to_path_buf() });
		}
	}
	let start = match loaded {
		Some((c, _)) => c.saturating_add(1),
		None => head,
	};
	// The hashes of the blocks the cursor may move to, as they are seen.
	let mut hashes: BTreeMap<u32, [u8; 32]> = BTreeMap::new();
	let mut pending = Pending::default();
	let mut tasks = Tasks::new(deliverer.clone(), shutdown.clone());
	let spawn = |tasks: &mut Tasks, pending: &mut Pending, block: u32, id: u64| {
		if pending.ask(block, id) {
			tasks.start(vec![block], id, Duration::ZERO);
		}
	};

	// Agreements accepted before the cursor whose delivery did not finish.
	let open = chain.agreements().await?;
	let unfinished: Vec<u64> = open
		.iter()
		.filter(|a| {
			a.provider == deliverer.provider
				&& a.status == AgreementStatus::Accepted
				&& a.progress().undelivered().is_some()
		})
		.map(|a| a.id)
		.collect();
	tracing::info!(from = start, head, unfinished = unfinished.len(), "following finalized blocks");
	for id in unfinished {
		spawn(&mut tasks, &mut pending, start.saturating_sub(1), id);
	}

	let mut follower = Follower::new(chain.clone(), start);
	let mut stored = loaded.map(|(n, _)| n);
	loop {
		tokio::select! {
			_ = shutdown.changed() => break,
			Some(done) = tasks.join_next(), if !tasks.is_empty() => {
				if let Some((blocks, id)) = done {
					if let Some(next) = pending.finish(&blocks, id) {
						tasks.start(next, id, Duration::ZERO);
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
					hashes.insert(block.number, block.hash.0);
				},
				Err(e) if e.is_transient() => {
					tracing::warn!(error = %e, "chain unavailable; waiting");
					tokio::time::sleep(Duration::from_secs(1)).await;
				},
				Err(e) => return Err(e.into()),
			},
		}
		if let Some(n) = pending.low_water().filter(|n| Some(*n) > stored) {
			if store_cursor(&cursor, &chain, &hashes, n).await? {
				stored = Some(n);
				hashes = hashes.split_off(&n);
			}
		}
	}
	tracing::info!(running = tasks.len(), "stopping: letting running deliveries finish");
	// Each running delivery stops at its next step; what is not done holds the
	// cursor, and is done after a restart.
	while let Some(done) = tasks.join_next().await {
		if let Some((blocks, id)) = done {
			pending.finish(&blocks, id);
		}
	}
	if let Some(n) = pending.low_water().filter(|n| Some(*n) > stored) {
		store_cursor(&cursor, &chain, &hashes, n).await?;
	}
	Ok(())
}

/// Moves the cursor to block `n`, with its hash (from `hashes`, else from the
/// chain): false if the hash cannot be had now, to be tried again at the next move.
async fn store_cursor(
	cursor: &Cursor,
	chain: &sensorshare_chain_client::ChainClient,
	hashes: &BTreeMap<u32, [u8; 32]>,
	n: u32,
) -> Result<bool, ListenerError> {
	let hash = match hashes.get(&n) {
		Some(h) => Some(*h),
		None => chain.block_hash(n).await.ok().flatten().map(|h| h.0),
	};
	let Some(hash) = hash else { return Ok(false) };
	cursor.store(n, &hash)?;
	Ok(true)
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
}
