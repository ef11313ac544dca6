//! Every error variant, from the input that causes it. Bad input is an error, never
//! a panic.

mod common;

use cbpre::{
	CaPublicKey, CaSecretKey, Capsule, CertRequest, CertResponse, Certificate, DataKey, Error,
	Identity, KeyRequest, Meta, PublicKey, ReEncryptedCapsule, ReKey, SealedRecord, SecretKey,
	Signature, MAX_HEADER_LEN,
};
use common::World;

/// The group order n, big-endian.
const N: [u8; 32] = [
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

#[test]
fn a_scalar_of_zero_is_refused() {
	assert_eq!(CaSecretKey::from_bytes(&[0u8; 32]).unwrap_err(), Error::ZeroScalar);
}

#[test]
fn a_scalar_not_below_the_order_is_refused() {
	assert_eq!(CaSecretKey::from_bytes(&N).unwrap_err(), Error::ScalarOutOfRange);
	assert_eq!(CaSecretKey::from_bytes(&[0xff; 32]).unwrap_err(), Error::ScalarOutOfRange);
	let mut below = N;
	below[31] -= 1;
	assert!(CaSecretKey::from_bytes(&below).is_ok(), "n - 1 is a valid scalar");
}

#[test]
fn a_scalar_of_the_wrong_length_is_refused() {
	assert_eq!(
		CaSecretKey::from_bytes(&[1u8; 31]).unwrap_err(),
		Error::InvalidLength { expected: 32, got: 31 }
	);
}

#[test]
fn the_identity_point_is_refused() {
	assert_eq!(PublicKey::from_bytes(&[0u8]).unwrap_err(), Error::IdentityPoint);
	assert_eq!(PublicKey::from_bytes(&[0u8; 33]).unwrap_err(), Error::IdentityPoint);
}

#[test]
fn a_point_off_the_curve_is_refused() {
	// x = 1 is not the x-coordinate of a P-256 point (1 - 3 + b is a non-residue).
	let mut bytes = [0u8; 33];
	bytes[0] = 0x02;
	bytes[32] = 1;
	assert_eq!(PublicKey::from_bytes(&bytes).unwrap_err(), Error::PointNotOnCurve);
	// x >= p is no field element at all.
	let mut big = [0xffu8; 33];
	big[0] = 0x03;
	assert_eq!(Certificate::from_bytes(&big).unwrap_err(), Error::PointNotOnCurve);
}

#[test]
fn a_point_with_a_wrong_tag_is_refused() {
	let mut w = World::new(3);
	let mut bytes = w.enroll(b"a").public_key().to_bytes();
	bytes[0] = 0x04;
	assert_eq!(PublicKey::from_bytes(&bytes).unwrap_err(), Error::InvalidPointTag(0x04));
}

#[test]
fn a_point_of_the_wrong_length_is_refused() {
	let uncompressed = [4u8; 65];
	assert_eq!(
		CaPublicKey::from_bytes(&uncompressed).unwrap_err(),
		Error::InvalidLength { expected: 33, got: 65 }
	);
}

#[test]
fn identities_are_one_to_sixty_four_bytes() {
	assert_eq!(Identity::new(b"").unwrap_err(), Error::EmptyIdentity);
	assert_eq!(Identity::new(&[7u8; 65]).unwrap_err(), Error::IdentityTooLong(65));
	assert!(Identity::new(&[7u8; 64]).is_ok());
	// In an encoding too: a length byte of 0 or above 64.
	assert_eq!(Meta::decode(&[0u8; 9]).unwrap_err(), Error::EmptyIdentity);
	let mut long = vec![65u8];
	long.extend_from_slice(&[1u8; 73]);
	assert_eq!(Meta::decode(&long).unwrap_err(), Error::IdentityTooLong(65));
}

#[test]
fn trailing_bytes_are_refused() {
	let mut enc = Identity::new(b"ab").unwrap().encode();
	enc.push(0);
	assert_eq!(Identity::decode(&enc).unwrap_err(), Error::TrailingBytes);
}

#[test]
fn truncated_and_overlong_capsules_are_refused() {
	let mut w = World::new(4);
	let a = w.enroll(b"sensor");
	let (_, capsule) = a.encapsulate(1).unwrap();
	let bytes = capsule.to_bytes();
	for len in [0, 31, 40, bytes.len() - 1] {
		assert!(matches!(Capsule::from_bytes(&bytes[..len]), Err(Error::InvalidLength { .. })));
	}
	let mut long = bytes.clone();
	long.push(0);
	assert!(matches!(Capsule::from_bytes(&long), Err(Error::InvalidLength { .. })));
	assert!(matches!(
		ReEncryptedCapsule::from_bytes(&bytes[..10]),
		Err(Error::InvalidLength { .. })
	));
	assert!(matches!(ReKey::from_bytes(&[0u8; 31]), Err(Error::InvalidLength { .. })));
}

#[test]
fn a_response_for_another_certificate_is_refused() {
	let mut w = World::new(5);
	let request = KeyRequest::new_with_rng(Identity::new(b"alice").unwrap(), &mut w.rng);
	let other = KeyRequest::new_with_rng(Identity::new(b"alice").unwrap(), &mut w.rng);
	let response = w.ca.issue_with_rng(other.message(), &mut w.rng).unwrap();
	assert_eq!(request.finish(&response, &w.ca_pub).unwrap_err(), Error::CertificateMismatch);
}

#[test]
fn a_response_from_another_ca_is_refused() {
	let mut w = World::new(6);
	let rogue = World::new(7);
	let request = KeyRequest::new_with_rng(Identity::new(b"alice").unwrap(), &mut w.rng);
	let response = rogue.ca.issue_with_rng(request.message(), &mut w.rng).unwrap();
	assert_eq!(request.finish(&response, &w.ca_pub).unwrap_err(), Error::CertificateMismatch);
}

#[test]
fn a_stored_key_that_does_not_match_its_certificate_is_refused() {
	let mut w = World::new(8);
	let (a, b) = (w.enroll(b"a"), w.enroll(b"b"));
	let err = SecretKey::from_parts(*a.id(), &*b.to_bytes(), *a.certificate(), &w.ca_pub);
	assert_eq!(err.unwrap_err(), Error::CertificateMismatch);
	let ok = SecretKey::from_parts(*a.id(), &*a.to_bytes(), *a.certificate(), &w.ca_pub).unwrap();
	assert_eq!(ok.public_key(), a.public_key());
}

#[test]
fn a_capsule_checked_against_another_key_is_invalid() {
	let mut w = World::new(9);
	let (a, b) = (w.enroll(b"a"), w.enroll(b"b"));
	let (_, capsule) = a.encapsulate(5).unwrap();
	assert_eq!(capsule.verify(b.public_key()).unwrap_err(), Error::InvalidCapsule);
	let rk = a.rekey(capsule.meta(), b.public_key()).unwrap();
	let d = capsule.verify(a.public_key()).unwrap().re_encrypt(&rk, *b.id());
	assert_eq!(b.decrypt2(b.public_key(), &d).unwrap_err(), Error::InvalidCapsule);
}

#[test]
fn decrypt1_by_another_key_is_refused() {
	let mut w = World::new(10);
	let (a, b) = (w.enroll(b"a"), w.enroll(b"b"));
	let (_, capsule) = a.encapsulate(5).unwrap();
	assert_eq!(b.decrypt1(&capsule).unwrap_err(), Error::NotCapsuleOwner);
}

#[test]
fn decrypt2_of_a_capsule_re_encrypted_for_another_identity_is_refused() {
	let mut w = World::new(14);
	let (a, b, c) = (w.enroll(b"a"), w.enroll(b"b"), w.enroll(b"c"));
	let (_, capsule) = a.encapsulate(5).unwrap();
	let rk = a.rekey(capsule.meta(), b.public_key()).unwrap();
	let for_b = capsule.verify(a.public_key()).unwrap().re_encrypt(&rk, *b.id());
	assert_eq!(c.decrypt2(a.public_key(), &for_b).unwrap_err(), Error::NotDelegatee);
	assert_eq!(b.decrypt2(a.public_key(), &for_b).unwrap(), a.decrypt1(&capsule).unwrap());
}

#[test]
fn a_signature_by_another_key_or_over_another_message_is_invalid() {
	let mut w = World::new(11);
	let (a, b) = (w.enroll(b"a"), w.enroll(b"b"));
	let sig = a.sign_with_rng(b"upload #1", &mut w.rng).unwrap();
	assert_eq!(a.public_key().verify_signature(b"upload #1", &sig), Ok(()));
	assert_eq!(a.public_key().verify_signature(b"upload #2", &sig), Err(Error::InvalidSignature));
	assert_eq!(b.public_key().verify_signature(b"upload #1", &sig), Err(Error::InvalidSignature));
	let sig = Signature::from_bytes(&sig.to_bytes()).unwrap();
	assert_eq!(a.public_key().verify_signature(b"upload #1", &sig), Ok(()));
}

#[test]
fn a_record_under_another_key_or_meta_does_not_open() {
	let mut w = World::new(12);
	let a = w.enroll(b"a");
	let (m, capsule) = a.encapsulate(5).unwrap();
	let record = m.seal_with_rng(capsule.meta(), b"h", b"body", &mut w.rng).unwrap();
	let other = DataKey::from_bytes([9u8; 32]);
	assert_eq!(other.open(capsule.meta(), &record).unwrap_err(), Error::RecordOpenFailed);
	let later = Meta::new(*a.id(), 6);
	assert_eq!(m.open(&later, &record).unwrap_err(), Error::RecordOpenFailed);
}

#[test]
fn an_overlong_record_header_is_refused() {
	let m = DataKey::from_bytes([1u8; 32]);
	let meta = Meta::new(Identity::new(b"a").unwrap(), 0);
	let header = vec![0u8; MAX_HEADER_LEN + 1];
	assert_eq!(
		m.seal_with_nonce(&meta, &header, b"x", [0u8; 24]).unwrap_err(),
		Error::HeaderTooLong(MAX_HEADER_LEN + 1)
	);
	let mut bytes = vec![0u8; 24];
	bytes.extend_from_slice(&((MAX_HEADER_LEN + 1) as u16).to_be_bytes());
	bytes.extend_from_slice(&vec![0u8; MAX_HEADER_LEN + 17]);
	assert_eq!(
		SealedRecord::from_bytes(&bytes).unwrap_err(),
		Error::HeaderTooLong(MAX_HEADER_LEN + 1)
	);
}

#[test]
fn xmd_refuses_an_empty_tag_and_an_overlong_output() {
	let mut out = vec![0u8; 32];
	assert_eq!(cbpre::expand_message_xmd(&[b"m"], b"", &mut out), Err(Error::InvalidXmdParameters));
	let mut huge = vec![0u8; 255 * 32 + 1];
	assert_eq!(
		cbpre::expand_message_xmd(&[b"m"], b"DST", &mut huge),
		Err(Error::InvalidXmdParameters)
	);
}

#[test]
fn malformed_key_exchange_messages_are_refused() {
	assert!(matches!(CertRequest::from_bytes(&[1, 7]), Err(Error::InvalidLength { .. })));
	assert!(matches!(CertResponse::from_bytes(&[0u8; 10]), Err(Error::InvalidLength { .. })));
	let mut zero_ra = vec![0u8; 32];
	zero_ra.extend_from_slice(&[2u8; 33]);
	assert_eq!(CertResponse::from_bytes(&zero_ra).unwrap_err(), Error::ZeroScalar);
}

#[test]
fn secrets_never_show_in_debug_output() {
	let mut w = World::new(13);
	let a = w.enroll(b"a");
	let secret_hex = hex::encode(*a.to_bytes());
	let (m, _) = a.encapsulate(1).unwrap();
	let request = KeyRequest::new_with_rng(Identity::new(b"x").unwrap(), &mut w.rng);
	let response = w.ca.issue_with_rng(request.message(), &mut w.rng).unwrap();
	for shown in [
		format!("{a:?}"),
		format!("{m:?}"),
		format!("{:?}", w.ca),
		format!("{request:?}"),
		format!("{response:?}"),
	] {
		assert!(shown.contains("redacted"), "{shown}");
		assert!(!shown.contains(&secret_hex));
		assert!(!shown.contains(&hex::encode(m.as_bytes())));
	}
}

#[test]
fn errors_read_as_sentences() {
	assert_eq!(
		Error::IdentityTooLong(70).to_string(),
		"identity is 70 bytes long, at most 64 allowed"
	);
	assert_eq!(
		Error::InvalidLength { expected: 33, got: 2 }.to_string(),
		"invalid length: expected 33 bytes, got 2"
	);
	assert_eq!(
		Error::NotDelegatee.to_string(),
		"capsule was re-encrypted for another identity than this key's"
	);
}
