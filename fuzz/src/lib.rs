//! What the fuzz targets share: a fixed market of a CA, a sensor and a buyer, made
//! once per process, so that each input is checked against real keys.

#![forbid(unsafe_code)]

use cbpre::{CaSecretKey, DataKey, Identity, Meta, PublicKey, SecretKey};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use std::sync::OnceLock;

/// The fixed market.
pub struct World {
	/// The CA.
	pub ca: CaSecretKey,
	/// Sensor `tag-1`.
	pub sensor: SecretKey,
	/// Buyer `bob`.
	pub bob: SecretKey,
	/// Bob's public key, as the chain derives it.
	pub bob_public: PublicKey,
	/// The meta of the sensor's epoch 7.
	pub meta: Meta,
	/// That epoch's data key.
	pub data_key: DataKey,
}

/// A seeded RNG: the targets are deterministic.
pub fn rng(seed: u64) -> ChaCha20Rng {
	ChaCha20Rng::seed_from_u64(seed)
}

fn enroll(ca: &CaSecretKey, id: &[u8], seed: u64) -> SecretKey {
	let mut rng = rng(seed);
	let id = Identity::new(id).expect("a valid identity");
	let request = cbpre::KeyRequest::new_with_rng(id, &mut rng);
	let response = ca.issue_with_rng(request.message(), &mut rng).expect("issued");
	request.finish(&response, &ca.public_key()).expect("finished")
}

/// The market, made on first use.
pub fn world() -> &'static World {
	static WORLD: OnceLock<World> = OnceLock::new();
	WORLD.get_or_init(|| {
		let ca = CaSecretKey::generate_with_rng(&mut rng(1));
		let sensor = enroll(&ca, b"tag-1", 2);
		let bob = enroll(&ca, b"bob", 3);
		let bob_public =
			PublicKey::derive(bob.id(), bob.certificate(), &ca.public_key()).expect("derived");
		let meta = Meta::new(*sensor.id(), 7);
		let data_key = sensor.data_key(&meta).expect("the data key");
		World { ca, sensor, bob, bob_public, meta, data_key }
	})
}
