//! Following finalized blocks in order.

use crate::{ChainClient, Error, MarketEvent, H256};
use futures::{stream::BoxStream, StreamExt};
use std::time::Duration;

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
}

impl Follower {
	/// Follows from block `from` (which may be finalized already, or not yet).
	pub fn new(client: ChainClient, from: u32) -> Self {
		Follower { client, next: from, head: None, heads: None }
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

	async fn wait_for_head(&mut self) -> Result<(), Error> {
		let heads = match &mut self.heads {
			Some(h) => h,
			None => {
				let stream = self.client.api().blocks().subscribe_finalized().await?;
				self.heads
					.insert(stream.map(|b| b.map(|b| b.number()).map_err(Error::from)).boxed())
			},
		};
		match heads.next().await {
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
