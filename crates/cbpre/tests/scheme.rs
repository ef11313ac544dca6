//! The spec's "Properties to keep", where a test can show them, and the serde/SCALE
//! wire format.

mod common;

use cbpre::{Capsule, Meta, PublicKey, ReEncryptedCapsule, ReKey};
use common::World;

#[test]
fn encryption_is_deterministic_per_meta_so_a_restarted_sensor_reseals_under_the_same_key() {
	let mut w = World::new(20);
	let a = w.enroll(b"sensor");
	assert_eq!(a.encapsulate(42).unwrap(), a.encapsulate(42).unwrap());
	assert_ne!(a.encapsulate(42).unwrap().0, a.encapsulate(43).unwrap().0);
}

#[test]
fn the_cloud_alone_sees_only_values_independent_of_the_message() {
	// What the cloud holds, C_A and rk, is the same whatever pad B's key gives:
	// C_A = M xor pad_A and rk = pad_A xor pad_B, so C_A xor rk = M xor pad_B is
	// still masked by a pad that needs d_B. Check that neither C_A nor C_B equals M
	// and that rk alone does not unmask C_A.
	let mut w = World::new(21);
	let (a, b) = (w.enroll(b"sensor"), w.enroll(b"bob"));
	let (m, capsule) = a.encapsulate(1).unwrap();
	let rk = a.rekey(capsule.meta(), &w.public_of(&b)).unwrap();
	let d = capsule.verify(a.public_key()).unwrap().re_encrypt(&rk, *b.id());
	assert_ne!(capsule.c_a(), m.as_bytes());
	assert_ne!(d.c_b(), m.as_bytes());
	assert_ne!(&rk.to_bytes(), m.as_bytes());
}

#[test]
fn access_is_granted_per_epoch() {
	let mut w = World::new(22);
	let (a, b) = (w.enroll(b"sensor"), w.enroll(b"bob"));
	let b_pub = w.public_of(&b);
	for epoch in 10..14u64 {
		let (m, capsule) = a.encapsulate(epoch).unwrap();
		let rk = a.rekey(&Meta::new(*a.id(), epoch), &b_pub).unwrap();
		let d = capsule.verify(a.public_key()).unwrap().re_encrypt(&rk, *b.id());
		assert_eq!(b.decrypt2(a.public_key(), &d).unwrap(), m);
		// The re-key of this epoch is useless for the next one.
		let (m_next, next) = a.encapsulate(epoch + 1).unwrap();
		let wrong = next.verify(a.public_key()).unwrap().re_encrypt(&rk, *b.id());
		assert_ne!(b.decrypt2(a.public_key(), &wrong).unwrap(), m_next);
	}
}

#[test]
fn anyone_can_check_a_delivery_against_the_chain() {
	let mut w = World::new(23);
	let (a, b) = (w.enroll(b"sensor"), w.enroll(b"bob"));
	let (_, capsule) = a.encapsulate(1).unwrap();
	let rk = a.rekey(capsule.meta(), &w.public_of(&b)).unwrap();
	let d = capsule.verify(a.public_key()).unwrap().re_encrypt(&rk, *b.id());
	assert!(d.matches_rekey(&rk));
	assert!(d.original().verify(a.public_key()).is_ok(), "C_A is signed by the sensor");
	assert!(!d.matches_rekey(&ReKey::from_bytes(&[1u8; 32]).unwrap()));
}

#[test]
fn the_public_key_derived_from_a_certificate_is_the_key_pairs() {
	let mut w = World::new(24);
	let a = w.enroll(b"\x24\x71\x89\x63\xab\x07");
	assert_eq!(&PublicKey::derive(a.id(), a.certificate(), &w.ca_pub).unwrap(), a.public_key());
	let other_ca = World::new(25);
	assert_ne!(
		&PublicKey::derive(a.id(), a.certificate(), &other_ca.ca_pub).unwrap(),
		a.public_key()
	);
}

#[test]
fn serde_json_carries_hex_and_round_trips() {
	let mut w = World::new(26);
	let (a, b) = (w.enroll(b"sensor"), w.enroll(b"bob"));
	let (_, capsule) = a.encapsulate(1).unwrap();
	let json = serde_json::to_string(&capsule).unwrap();
	assert_eq!(json, format!("\"{}\"", hex::encode(capsule.to_bytes())));
	assert_eq!(serde_json::from_str::<Capsule>(&json).unwrap(), capsule);
	let pk = serde_json::to_string(a.public_key()).unwrap();
	assert_eq!(&serde_json::from_str::<PublicKey>(&pk).unwrap(), a.public_key());
	assert!(serde_json::from_str::<PublicKey>("\"02ff\"").is_err());
	let rk = a.rekey(capsule.meta(), b.public_key()).unwrap();
	let d = capsule.verify(a.public_key()).unwrap().re_encrypt(&rk, *b.id());
	let json = serde_json::to_string(&d).unwrap();
	assert_eq!(serde_json::from_str::<ReEncryptedCapsule>(&json).unwrap(), d);
}

#[test]
fn scale_carries_the_same_bytes_and_rejects_invalid_ones() {
	use codec::{Decode, Encode};
	let mut w = World::new(27);
	let a = w.enroll(b"sensor");
	let pk = *a.public_key();
	assert_eq!(pk.encode(), pk.to_bytes().to_vec());
	assert_eq!(PublicKey::decode(&mut &pk.encode()[..]).unwrap(), pk);
	assert!(PublicKey::decode(&mut &[0u8; 33][..]).is_err());
	let (_, capsule) = a.encapsulate(1).unwrap();
	assert_eq!(Capsule::decode(&mut &capsule.encode()[..]).unwrap(), capsule);
}
