//! Download challenges and tokens.
//!
//! A challenge is stateless: `expiry (8) || nonce (8) || tag (16)`, the tag an
//! HMAC-SHA256 under a key of this process over the agreement, the expiry and the
//! nonce. Issuing one stores nothing, so a flood of challenge requests costs no
//! memory and the honest requester's challenge is never pushed out by it. What is
//! kept is bounded by what only requesters can make: the challenges answered with a
//! valid signature (each is good once), and the tokens they were given, each kept
//! until it expires and at most [`MAX_ENTRIES`] of each, the oldest going first. A
//! restart only makes requesters ask again.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sensorshare_protocol::auth::CHALLENGE_LEN;
use std::{
	collections::{HashMap, VecDeque},
	sync::Mutex,
	time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use zeroize::Zeroizing;

/// The most used challenges and live tokens kept at once; the oldest go first.
pub const MAX_ENTRIES: usize = 100_000;

type HmacSha256 = Hmac<sha2::Sha256>;

/// Download challenges and live tokens.
pub struct Auth {
	challenge_ttl: Duration,
	token_ttl: Duration,
	key: Zeroizing<[u8; 32]>,
	inner: Mutex<Inner>,
}

impl std::fmt::Debug for Auth {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("Auth")
			.field("challenge_ttl", &self.challenge_ttl)
			.field("token_ttl", &self.token_ttl)
			.finish_non_exhaustive()
	}
}

/// Entries that expire, in the order they were made (every entry of a map lives
/// as long, so the oldest expires first).
#[derive(Debug)]
struct Expiring<K> {
	entries: HashMap<K, (u64, Instant)>,
	order: VecDeque<(K, Instant)>,
}

impl<K: Copy + Eq + std::hash::Hash> Expiring<K> {
	fn new() -> Self {
		Expiring { entries: HashMap::new(), order: VecDeque::new() }
	}

	/// Drops what expired by `now`, and the oldest beyond [`MAX_ENTRIES`].
	fn prune(&mut self, now: Instant) {
		while let Some((k, exp)) = self.order.front().copied() {
			if exp > now && self.order.len() < MAX_ENTRIES {
				break;
			}
			self.order.pop_front();
			if self.entries.get(&k).is_some_and(|(_, e)| *e == exp) {
				self.entries.remove(&k);
			}
		}
	}

	/// Adds `k` for `agreement` until `exp`: false if it is there already.
	fn insert(&mut self, k: K, agreement: u64, exp: Instant, now: Instant) -> bool {
		self.prune(now);
		if self.entries.contains_key(&k) {
			return false;
		}
		self.entries.insert(k, (agreement, exp));
		self.order.push_back((k, exp));
		true
	}

	fn get(&self, k: &K) -> Option<&(u64, Instant)> {
		self.entries.get(k)
	}

	fn len(&self) -> usize {
		self.entries.len()
	}
}

#[derive(Debug)]
struct Inner {
	/// Challenges answered, until they expire: each is good once.
	used: Expiring<[u8; CHALLENGE_LEN]>,
	/// Token → (agreement, expiry).
	tokens: Expiring<[u8; 32]>,
}

fn unix_secs() -> u64 {
	SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Auth {
	/// Challenges valid for `challenge_ttl`, tokens for `token_ttl`, under a fresh
	/// key.
	pub fn new(challenge_ttl: Duration, token_ttl: Duration) -> Self {
		let mut key = Zeroizing::new([0u8; 32]);
		rand::rngs::OsRng.fill_bytes(key.as_mut());
		let inner = Inner { used: Expiring::new(), tokens: Expiring::new() };
		Auth { challenge_ttl, token_ttl, key, inner: Mutex::new(inner) }
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

	/// The tag of a challenge for `agreement` with `expiry` and `nonce`.
	fn tag(&self, agreement: u64, expiry: &[u8; 8], nonce: &[u8; 8]) -> [u8; 16] {
		let mut mac = <HmacSha256 as Mac>::new_from_slice(self.key.as_ref())
			.unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
		mac.update(&agreement.to_be_bytes());
		mac.update(expiry);
		mac.update(nonce);
		let full = mac.finalize().into_bytes();
		let mut tag = [0u8; 16];
		tag.copy_from_slice(&full[..16]);
		tag
	}

	/// A fresh challenge for `agreement`; nothing is stored.
	pub fn challenge(&self, agreement: u64) -> [u8; CHALLENGE_LEN] {
		let expiry = unix_secs().saturating_add(self.challenge_ttl.as_secs()).to_be_bytes();
		let mut nonce = [0u8; 8];
		rand::rngs::OsRng.fill_bytes(&mut nonce);
		let mut c = [0u8; CHALLENGE_LEN];
		c[..8].copy_from_slice(&expiry);
		c[8..16].copy_from_slice(&nonce);
		c[16..].copy_from_slice(&self.tag(agreement, &expiry, &nonce));
		c
	}

	/// Whether `challenge` was issued here for `agreement` and has not expired
	/// (whether it was used is [`Self::use_challenge`]'s).
	pub fn check_challenge(&self, agreement: u64, challenge: &[u8; CHALLENGE_LEN]) -> bool {
		let (expiry, rest) = challenge.split_at(8);
		let (nonce, tag) = rest.split_at(8);
		let (Ok(expiry), Ok(nonce)) = (<[u8; 8]>::try_from(expiry), <[u8; 8]>::try_from(nonce))
		else {
			return false;
		};
		let expected = self.tag(agreement, &expiry, &nonce);
		let fresh = u64::from_be_bytes(expiry) >= unix_secs();
		bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], tag)) && fresh
	}

	/// Marks an answered challenge used: true the first time. Call it only once the
	/// answer's signature verified, so that only the requester can fill this set.
	pub fn use_challenge(&self, agreement: u64, challenge: &[u8; CHALLENGE_LEN]) -> bool {
		let now = Instant::now();
		let exp = now + self.challenge_ttl;
		self.lock().used.insert(*challenge, agreement, exp, now)
	}

	/// A fresh token for `agreement`, hex.
	pub fn token(&self, agreement: u64) -> String {
		let mut t = [0u8; 32];
		rand::rngs::OsRng.fill_bytes(&mut t);
		let now = Instant::now();
		self.lock().tokens.insert(t, agreement, now + self.token_ttl, now);
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

	/// How many used challenges and live tokens are kept.
	pub fn kept(&self) -> (usize, usize) {
		let inner = self.lock();
		(inner.used.len(), inner.tokens.len())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_challenge_is_good_once_and_for_its_agreement_only() {
		let auth = Auth::new(Duration::from_secs(60), Duration::from_secs(60));
		let c = auth.challenge(7);
		assert!(!auth.check_challenge(8, &c), "another agreement's");
		assert!(auth.check_challenge(7, &c));
		assert!(auth.use_challenge(7, &c));
		assert!(!auth.use_challenge(7, &c), "good once");
		let mut forged = auth.challenge(7);
		forged[0] ^= 1;
		assert!(!auth.check_challenge(7, &forged), "an expiry changed breaks the tag");
		let other = Auth::new(Duration::from_secs(60), Duration::from_secs(60));
		assert!(!other.check_challenge(7, &auth.challenge(7)), "another worker's");
	}

	#[test]
	fn an_expired_challenge_or_token_is_refused() {
		let auth = Auth::new(Duration::ZERO, Duration::ZERO);
		let mut c = auth.challenge(1);
		let past = 1_000u64.to_be_bytes();
		c[..8].copy_from_slice(&past);
		let tag = auth.tag(1, &past, &<[u8; 8]>::try_from(&c[8..16]).expect("8 bytes"));
		c[16..].copy_from_slice(&tag);
		assert!(!auth.check_challenge(1, &c), "expired in 1970");
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

	#[test]
	fn issuing_challenges_keeps_nothing_and_what_is_kept_is_bounded() {
		let auth = Auth::new(Duration::from_secs(60), Duration::from_secs(60));
		for i in 0..10_000 {
			auth.challenge(i % 3);
		}
		assert_eq!(auth.kept(), (0, 0));
		let now = Instant::now();
		let mut used = Expiring::new();
		for i in 0..(MAX_ENTRIES as u64 + 10) {
			used.insert(i, 0, now + Duration::from_secs(60), now);
		}
		assert_eq!(used.len(), MAX_ENTRIES, "the oldest went");
		assert!(used.get(&0).is_none() && used.get(&(MAX_ENTRIES as u64 + 9)).is_some());
	}
}
