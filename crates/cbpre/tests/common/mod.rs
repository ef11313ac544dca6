//! Shared set-up for the integration tests: a CA and certified participants from a
//! seeded RNG.

#![allow(dead_code)]

use cbpre::{CaPublicKey, CaSecretKey, Identity, KeyRequest, PublicKey, SecretKey};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

pub struct World {
	pub rng: ChaCha20Rng,
	pub ca: CaSecretKey,
	pub ca_pub: CaPublicKey,
}

impl World {
	pub fn new(seed: u64) -> Self {
		let mut rng = ChaCha20Rng::seed_from_u64(seed);
		let ca = CaSecretKey::generate_with_rng(&mut rng);
		let ca_pub = ca.public_key();
		World { rng, ca, ca_pub }
	}

	/// Runs the three steps of CertifiedUserKeyGen for `id`.
	pub fn enroll(&mut self, id: &[u8]) -> SecretKey {
		let request = KeyRequest::new_with_rng(Identity::new(id).expect("valid id"), &mut self.rng);
		let response = self.ca.issue_with_rng(request.message(), &mut self.rng).expect("issued");
		request.finish(&response, &self.ca_pub).expect("accepted")
	}

	/// The public key anyone derives for `key`'s identity and certificate.
	pub fn public_of(&self, key: &SecretKey) -> PublicKey {
		PublicKey::derive(key.id(), key.certificate(), &self.ca_pub).expect("derived")
	}
}
