//! Sensor registrations from the chain, cached for a short while so that a stream of
//! uploads does not ask the node for every record.

use sensorshare_chain_client::{AccountId32, ChainClient, Sensor};
use std::{
	collections::HashMap,
	sync::Mutex,
	time::{Duration, Instant},
};

/// The cache holds at most this many sensors; it is cleared when full.
const MAX_CACHED: usize = 10_000;

/// Why the chain could not be asked.
pub type DirectoryError = sensorshare_chain_client::Error;

/// Sensors by identity, from the chain.
pub struct Directory {
	chain: ChainClient,
	provider: AccountId32,
	ttl: Duration,
	cache: Mutex<HashMap<Vec<u8>, (Sensor, Instant)>>,
}

impl Directory {
	/// A directory over `chain`, for the storage provider `provider`.
	pub fn new(chain: ChainClient, provider: AccountId32, ttl: Duration) -> Self {
		Directory { chain, provider, ttl, cache: Mutex::new(HashMap::new()) }
	}

	/// This worker's provider account.
	pub fn provider(&self) -> AccountId32 {
		self.provider.clone()
	}

	/// A sensor's registration; only registrations found are cached, so a sensor
	/// registered a moment ago is seen at once.
	pub async fn sensor(&self, id: &cbpre::Identity) -> Result<Option<Sensor>, DirectoryError> {
		let key = id.as_bytes().to_vec();
		{
			let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
			if let Some((s, at)) = cache.get(&key) {
				if at.elapsed() < self.ttl {
					return Ok(Some(s.clone()));
				}
			}
		}
		let found = self.chain.sensor(&key).await?;
		if let Some(s) = &found {
			let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
			if cache.len() >= MAX_CACHED {
				cache.clear();
			}
			cache.insert(key, (s.clone(), Instant::now()));
		}
		Ok(found)
	}

	/// The number of the last finalized block: the chain is reachable.
	pub async fn finalized_number(&self) -> Result<u32, DirectoryError> {
		Ok(self.chain.finalized_head().await?.0)
	}
}
