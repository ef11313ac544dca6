//! Proof of possession of a registered key.
//!
//! The chain derives a participant's public key from its identity and certificate,
//! and anyone can read both from its storage. Without a proof, a random point
//! registers as a certificate whose key nobody holds, and a pair read from the
//! chain (or the transaction pool) registers again under another account. The proof
//! is a Schnorr signature by the derived key over
//!
//! ```text
//! "SENSORSHARE-V1-POSSESSION" || genesis hash (32) || account (SCALE) || kind (1) || len(id) (1) || id
//! ```
//!
//! so it is valid for one chain, one account and one kind of registration only.

use crate::domain;
use alloc::vec::Vec;
use cbpre::{Identity, PublicKey, SecretKey, Signature};
use rand_core::CryptoRngCore;

/// What is being registered: a byte of the signed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
	/// A data user's identity (`register_identity`, `update_identity`).
	Identity = 0,
	/// A sensor (`register_sensor`).
	Sensor = 1,
}

/// The signed message of a proof by `account` (its SCALE encoding, 32 bytes for an
/// `AccountId32`) on the chain whose block 0 is `genesis`, registering `id` as `kind`.
pub fn message(genesis: &[u8; 32], account: &[u8], kind: Kind, id: &Identity) -> Vec<u8> {
	let id = id.as_bytes();
	let mut msg = Vec::with_capacity(domain::POSSESSION.len() + 32 + account.len() + 2 + id.len());
	msg.extend_from_slice(domain::POSSESSION);
	msg.extend_from_slice(genesis);
	msg.extend_from_slice(account);
	msg.push(kind as u8);
	// An identity is at most `cbpre::MAX_ID_LEN` (64) bytes.
	msg.push(id.len() as u8);
	msg.extend_from_slice(id);
	msg
}

/// Signs the proof that `key`'s holder registers it as `kind` from `account` on the
/// chain whose block 0 is `genesis`.
pub fn prove_with_rng(
	key: &SecretKey,
	genesis: &[u8; 32],
	account: &[u8],
	kind: Kind,
	rng: &mut impl CryptoRngCore,
) -> Result<Signature, cbpre::Error> {
	key.sign_with_rng(&message(genesis, account, kind, key.id()), rng)
}

/// Checks a proof by `key`, the key the chain derived for `id`.
pub fn verify(
	key: &PublicKey,
	genesis: &[u8; 32],
	account: &[u8],
	kind: Kind,
	id: &Identity,
	proof: &Signature,
) -> Result<(), cbpre::Error> {
	key.verify_signature(&message(genesis, account, kind, id), proof)
}

#[cfg(test)]
mod tests {
	use super::*;
	use cbpre::{CaSecretKey, KeyRequest};
	use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

	const GENESIS: [u8; 32] = [7; 32];
	const ALICE: [u8; 32] = [1; 32];

	fn certified(id: &[u8], rng: &mut ChaCha20Rng) -> SecretKey {
		let ca = CaSecretKey::from_bytes(&cbpre::dev::DEV_CA_SECRET).expect("dev CA");
		let request = KeyRequest::new_with_rng(Identity::new(id).expect("id"), rng);
		let response = ca.issue_with_rng(request.message(), rng).expect("issued");
		request.finish(&response, &ca.public_key()).expect("certified")
	}

	#[test]
	fn the_message_is_the_tag_the_chain_the_account_the_kind_and_the_id() {
		let id = Identity::new(b"tag-1").expect("id");
		let msg = message(&GENESIS, &ALICE, Kind::Sensor, &id);
		let mut expected = b"SENSORSHARE-V1-POSSESSION".to_vec();
		expected.extend_from_slice(&GENESIS);
		expected.extend_from_slice(&ALICE);
		expected.extend_from_slice(&[1, 5]);
		expected.extend_from_slice(b"tag-1");
		assert_eq!(msg, expected);
	}

	#[test]
	fn a_proof_holds_for_its_chain_account_kind_and_key_only() {
		let mut rng = ChaCha20Rng::seed_from_u64(1);
		let key = certified(b"bob", &mut rng);
		let other = certified(b"eve", &mut rng);
		let proof = prove_with_rng(&key, &GENESIS, &ALICE, Kind::Identity, &mut rng).expect("sig");
		let check = |k: &SecretKey, genesis: &[u8; 32], account: &[u8], kind| {
			verify(k.public_key(), genesis, account, kind, key.id(), &proof)
		};
		assert_eq!(check(&key, &GENESIS, &ALICE, Kind::Identity), Ok(()));
		assert!(check(&key, &[8; 32], &ALICE, Kind::Identity).is_err(), "another chain");
		assert!(check(&key, &GENESIS, &[2; 32], Kind::Identity).is_err(), "another account");
		assert!(check(&key, &GENESIS, &ALICE, Kind::Sensor).is_err(), "another kind");
		assert!(check(&other, &GENESIS, &ALICE, Kind::Identity).is_err(), "another key");
	}
}
