//! Download challenges and tokens, kept in memory: a restart only makes requesters
//! ask again.

use rand::RngCore;
use sensorshare_protocol::auth::CHALLENGE_LEN;
use std::{
	collections::HashMap,
	sync::Mutex,
	time::{Duration, Instant},
};

/// The most challenges and tokens kept at once; the oldest go first beyond it.
const MAX_ENTRIES: usize = 100_000;

/// Outstanding challenges and live tokens.
#[derive(Debug)]
pub struct Auth {
	challenge_ttl: Duration,
	token_ttl: Duration,
	inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
	/// Challenge → (agreement, expiry).
	challenges: HashMap<[u8; CHALLENGE_LEN], (u64, Instant)>,
	/// Token → (agreement, expiry).
	tokens: HashMap<[u8; 32], (u64, Instant)>,
}

impl Inner {
	fn prune(&mut self, now: Instant) {
		self.challenges.retain(|_, (_, exp)| *exp > now);
		self.tokens.retain(|_, (_, exp)| *exp > now);
	}
}

impl Auth {
	/// Challenges valid for `challenge_ttl`, tokens for `token_ttl`.
	pub fn new(challenge_ttl: Duration, token_ttl: Duration) -> Self {
		Auth { challenge_ttl, token_ttl, inner: Mutex::new(Inner::default()) }
	}

	fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
		// A panic while holding the lock leaves only expiring entries behind.
		self.inner.lock().unwrap_or_else(|e| e.into_inner())
	}

	/// The lifetime of a challenge.
	pub fn challenge_ttl(&self) -> Duration {
		self.challenge_ttl
	}

	/// The lifetime of a token.
	pub fn token_ttl(&self) -> Duration {
		self.token_ttl
	}

	/// A fresh challenge for `agreement`.
	pub fn challenge(&self, agreement: u64) -> [u8; CHALLENGE_LEN] {
		let mut c = [0u8; CHALLENGE_LEN];
		rand::rngs::OsRng.fill_bytes(&mut c);
		let now = Instant::now();
		let mut inner = self.lock();
		if inner.challenges.len() >= MAX_ENTRIES {
			inner.prune(now);
		}
		inner.challenges.insert(c, (agreement, now + self.challenge_ttl));
		c
	}

	/// Takes a challenge: true if it was issued for `agreement` and has not expired
	/// or been used. A challenge is good once.
	pub fn take_challenge(&self, agreement: u64, challenge: &[u8; CHALLENGE_LEN]) -> bool {
		let now = Instant::now();
		match self.lock().challenges.remove(challenge) {
			Some((a, exp)) => a == agreement && exp > now,
			None => false,
		}
	}

	/// A fresh token for `agreement`, hex.
	pub fn token(&self, agreement: u64) -> String {
		let mut t = [0u8; 32];
		rand::rngs::OsRng.fill_bytes(&mut t);
		let now = Instant::now();
		let mut inner = self.lock();
		if inner.tokens.len() >= MAX_ENTRIES {
			inner.prune(now);
		}
		inner.tokens.insert(t, (agreement, now + self.token_ttl));
		hex::encode(t)
	}

	/// Whether `token` is live for `agreement`.
	pub fn check_token(&self, agreement: u64, token: &str) -> bool {
		let Some(t) = hex::decode(token).ok().and_then(|t| <[u8; 32]>::try_from(t).ok()) else {
			return false;
		};
		let now = Instant::now();
		matches!(self.lock().tokens.get(&t), Some((a, exp)) if *a == agreement && *exp > now)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_challenge_is_good_once_and_for_its_agreement_only() {
		let auth = Auth::new(Duration::from_secs(60), Duration::from_secs(60));
		let c = auth.challenge(7);
		assert!(!auth.take_challenge(8, &c));
		let c = auth.challenge(7);
		assert!(auth.take_challenge(7, &c));
		assert!(!auth.take_challenge(7, &c));
	}

	#[test]
	fn an_expired_challenge_or_token_is_refused() {
		let auth = Auth::new(Duration::ZERO, Duration::ZERO);
		let c = auth.challenge(1);
		assert!(!auth.take_challenge(1, &c));
		let t = auth.token(1);
		assert!(!auth.check_token(1, &t));
	}

	#[test]
	fn a_token_opens_its_agreement_only() {
		let auth = Auth::new(Duration::from_secs(60), Duration::from_secs(60));
		let t = auth.token(3);
		assert!(auth.check_token(3, &t));
		assert!(!auth.check_token(4, &t));
		assert!(!auth.check_token(3, "not hex"));
		assert!(!auth.check_token(3, &hex::encode([0u8; 32])));
	}
}
