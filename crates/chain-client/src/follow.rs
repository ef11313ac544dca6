//! Following finalized blocks in order.

use crate::{ChainClient, Error, MarketEvent, H256};
use futures::{stream::BoxStream, StreamExt};
use std::time::Duration;

/// How long the finalized-head subscription may be silent before the follower asks
/// the node for its finalized head.
const HEADS_SILENCE: Duration = Duration::from_secs(2);

/// A finalized block and its data-market events.
#[derive(Debug, Clone)]
pub struct MarketBlock {
	/// The block's number.
	pub number: u32,
	/// The block's hash.
	pub hash: H256,
	/// Its data-market events, in order.
	pub events: Vec<MarketEvent>,
}

/// Yields every finalized block from a given number on, in order, each exactly once:
/// across reconnects and finality jumps it fetches the blocks in between by number.
pub struct Follower {
	client: ChainClient,
	next: u32,
	head: Option<u32>,
	heads: Option<BoxStream<'static, Result<u32, Error>>>,
	/// When the subscription last gave a head, or the head was last read: kept
	/// here, since callers may drop a [`Self::next`] in progress (in a `select!`).
	heard: tokio::time::Instant,
}

impl Follower {
	/// Follows from block `from` (which may be finalized already, or not yet).
	pub fn new(client: ChainClient, from: u32) -> Self {
		Follower { client, next: from, head: None, heads: None, heard: tokio::time::Instant::now() }
	}

	/// The number of the next block [`Self::next`] returns.
	pub fn position(&self) -> u32 {
		self.next
	}

	/// The next finalized block. Waits for one if the follower has caught up; waits
	/// out a lost connection.
	pub async fn next(&mut self) -> Result<MarketBlock, Error> {
		loop {
			if self.head.is_some_and(|h| self.next <= h) {
				let number = self.next;
				let hash = self.client.block_hash(number).await?.ok_or_else(|| {
					Error::InvalidChainData(format!("finalized block {number} has no hash"))
				})?;
				let events = self.client.market_events(hash).await?;
				self.next = number.saturating_add(1);
				return Ok(MarketBlock { number, hash, events });
			}
			self.wait_for_head().await?;
		}
	}

	/// After a silence of the subscription: the node drops a subscription whose
	/// buffer fills while the connection is backed up (many transactions watched on
	/// it at once), without telling the client. If the finalized head has moved on
	/// meanwhile, the subscription is taken for lost: the head read now lets
	/// [`Self::next`] fetch the blocks in between, and the next wait resubscribes.
	async fn check_head(&mut self) -> Result<(), Error> {
		self.heard = tokio::time::Instant::now();
		let (number, _) = match self.client.finalized_head().await {
			Ok(head) => head,
			Err(e) if e.is_transient() => return Ok(()),
			Err(e) => return Err(e),
		};
		if self.head.is_none_or(|h| number > h) && number >= self.next {
			if let Some(seen) = self.head {
				tracing::warn!(
					head = number,
					seen,
					"finalized-block subscription silent while the chain moved on; resubscribing"
				);
			}
			self.heads = None;
			self.head = Some(number);
		}
		Ok(())
	}

	async fn wait_for_head(&mut self) -> Result<(), Error> {
		let heads = match &mut self.heads {
			Some(h) => h,
			None => {
				let stream = self.client.api().blocks().subscribe_finalized().await?;
				self.heads
					.insert(stream.map(|b| b.map(|b| b.number()).map_err(Error::from)).boxed())
			},
		};
		let next = match tokio::time::timeout_at(self.heard + HEADS_SILENCE, heads.next()).await {
			Ok(next) => next,
			Err(_) => return self.check_head().await,
		};
		self.heard = tokio::time::Instant::now();
		match next {
			Some(Ok(n)) => {
				self.head = Some(self.head.map_or(n, |h| h.max(n)));
				Ok(())
			},
			Some(Err(e)) => {
				self.heads = None;
				if e.is_transient() {
					tracing::warn!(error = %e, "finalized-block subscription lost; resubscribing");
					tokio::time::sleep(Duration::from_millis(500)).await;
					Ok(())
				} else {
					Err(e)
				}
			},
			None => {
				self.heads = None;
				tokio::time::sleep(Duration::from_millis(500)).await;
				Ok(())
			},
		}
	}
}
