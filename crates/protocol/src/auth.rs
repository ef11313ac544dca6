//! Proof of identity for downloads.
//!
//! A provider hands out a fresh 32-byte challenge for an agreement; the requester
//! signs `"SENSORSHARE-V1-DOWNLOAD" || u64_be(agreement) || challenge` with the CB-PRE
//! key of the identity it registered on chain, and trades the signature for a
//! short-lived bearer token. Only the holder of that key can answer, and an answer
//! is good for one challenge of one agreement.

use crate::{domain, malformed, Error};
use cbpre::{rand_core::CryptoRngCore, PublicKey, SecretKey, Signature};
use serde::{Deserialize, Serialize};

/// Length of a challenge.
pub const CHALLENGE_LEN: usize = 32;

/// The message a requester signs to answer `challenge` for `agreement`.
pub fn challenge_message(agreement: u64, challenge: &[u8; CHALLENGE_LEN]) -> Vec<u8> {
	let mut msg = Vec::with_capacity(domain::DOWNLOAD_CHALLENGE.len() + 8 + CHALLENGE_LEN);
	msg.extend_from_slice(domain::DOWNLOAD_CHALLENGE);
	msg.extend_from_slice(&agreement.to_be_bytes());
	msg.extend_from_slice(challenge);
	msg
}

/// A provider's challenge, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
	/// The challenge, hex.
	pub challenge: String,
	/// Seconds the challenge stays valid.
	pub expires_in: u64,
}

/// A requester's answer to a challenge, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeAnswer {
	/// The challenge, hex, as the provider gave it.
	pub challenge: String,
	/// The signature, hex.
	pub signature: String,
}

/// A bearer token for an agreement's delivery, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
	/// The token, for `Authorization: Bearer <token>`.
	pub token: String,
	/// Seconds the token stays valid.
	pub expires_in: u64,
}

impl ChallengeAnswer {
	/// Answers `challenge` for `agreement` with the requester's key.
	pub fn sign_with_rng(
		key: &SecretKey,
		agreement: u64,
		challenge: &Challenge,
		rng: &mut impl CryptoRngCore,
	) -> Result<Self, Error> {
		let c = decode_challenge(&challenge.challenge)?;
		let sig = key.sign_with_rng(&challenge_message(agreement, &c), rng)?;
		Ok(ChallengeAnswer {
			challenge: challenge.challenge.clone(),
			signature: hex::encode(sig.to_bytes()),
		})
	}

	/// The challenge this answers.
	pub fn challenge(&self) -> Result<[u8; CHALLENGE_LEN], Error> {
		decode_challenge(&self.challenge)
	}

	/// Checks the answer for `agreement` against the requester's key.
	pub fn verify(&self, agreement: u64, requester: &PublicKey) -> Result<(), Error> {
		let c = self.challenge()?;
		let sig = hex::decode(&self.signature)
			.map_err(|e| malformed("challenge answer", format!("signature: {e}")))?;
		let sig = Signature::from_bytes(&sig)?;
		requester.verify_signature(&challenge_message(agreement, &c), &sig)?;
		Ok(())
	}
}

fn decode_challenge(hex_str: &str) -> Result<[u8; CHALLENGE_LEN], Error> {
	hex::decode(hex_str)
		.ok()
		.and_then(|b| b.try_into().ok())
		.ok_or_else(|| malformed("challenge", format!("expected {CHALLENGE_LEN} bytes in hex")))
}

#[cfg(test)]
mod tests {
	use super::*;
	use cbpre::dev;
	use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

	fn challenge() -> Challenge {
		Challenge { challenge: hex::encode([7u8; CHALLENGE_LEN]), expires_in: 60 }
	}

	#[test]
	fn an_answer_proves_the_key_for_one_agreement_and_challenge() {
		let mut rng = ChaCha20Rng::seed_from_u64(4);
		let bob = dev::enroll_with_rng(b"bob", &mut rng).expect("enrol");
		let eve = dev::enroll_with_rng(b"eve", &mut rng).expect("enrol");
		let answer = ChallengeAnswer::sign_with_rng(&bob, 9, &challenge(), &mut rng).expect("sign");
		assert_eq!(answer.verify(9, bob.public_key()), Ok(()));
		assert!(answer.verify(10, bob.public_key()).is_err());
		assert!(answer.verify(9, eve.public_key()).is_err());

		let mut replayed = answer.clone();
		replayed.challenge = hex::encode([8u8; CHALLENGE_LEN]);
		assert!(replayed.verify(9, bob.public_key()).is_err());
	}

	#[test]
	fn a_malformed_answer_is_refused_with_a_reason() {
		let mut rng = ChaCha20Rng::seed_from_u64(5);
		let bob = dev::enroll_with_rng(b"bob", &mut rng).expect("enrol");
		let bad = ChallengeAnswer { challenge: "zz".into(), signature: String::new() };
		assert!(matches!(bad.verify(1, bob.public_key()), Err(Error::Malformed { .. })));
		let bad = ChallengeAnswer { challenge: hex::encode([1u8; 32]), signature: "00".into() };
		assert!(matches!(bad.verify(1, bob.public_key()), Err(Error::Crypto(_))));
	}
}
