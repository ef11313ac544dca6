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

/// What the chain said of an identity, and when: its sensor, or none.
type Cached = (Option<Sensor>, Instant);

/// Sensors by identity, from the chain.
pub struct Directory {
	chain: ChainClient,
	provider: AccountId32,
	ttl: Duration,
	unknown_ttl: Duration,
	cache: Mutex<HashMap<Vec<u8>, Cached>>,
	lookups: prometheus::IntCounter,
}

impl Directory {
	/// A directory over `chain`, for the storage provider `provider`, that keeps a
	/// registration found for `ttl` and an identity found unregistered for
	/// `unknown_ttl` (junk uploads cost one lookup each that long, and a sensor
	/// registered a moment ago is seen that late), counting the lookups it makes on
	/// chain in `lookups`.
	pub fn new(
		chain: ChainClient,
		provider: AccountId32,
		(ttl, unknown_ttl): (Duration, Duration),
		lookups: prometheus::IntCounter,
	) -> Self {
		let cache = Mutex::new(HashMap::new());
		Directory { chain, provider, ttl, unknown_ttl, cache, lookups }
	}

	/// This worker's provider account.
	pub fn provider(&self) -> AccountId32 {
		self.provider.clone()
	}

	/// A sensor's registration, from the cache while it is fresh.
	pub async fn sensor(&self, id: &cbpre::Identity) -> Result<Option<Sensor>, DirectoryError> {
		let key = id.as_bytes().to_vec();
		{
			let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
			if let Some((s, at)) = cache.get(&key) {
				let ttl = if s.is_some() { self.ttl } else { self.unknown_ttl };
				if at.elapsed() < ttl {
					return Ok(s.clone());
				}
			}
		}
		self.lookups.inc();
		let found = self.chain.sensor(&key).await?;
		let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
		if cache.len() >= MAX_CACHED {
			cache.clear();
		}
		cache.insert(key, (found.clone(), Instant::now()));
		Ok(found)
	}

	/// The number of the last finalized block: the chain is reachable.
	pub async fn finalized_number(&self) -> Result<u32, DirectoryError> {
		Ok(self.chain.finalized_head().await?.0)
	}
}
