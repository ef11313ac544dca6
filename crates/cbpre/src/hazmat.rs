//! The scheme's raw building blocks, for known-answer tests and other
//! implementations: the hashes H1..H4 and the capsule nonce. Nothing here is needed
//! to use the scheme; the typed API in the crate root is the safe way.

use crate::{
	encoding::{encode_point, encode_scalar, Identity, Meta},
	hash, Certificate, Error, SecretKey, POINT_LEN, SCALAR_LEN,
};
use p256::ProjectivePoint;

/// `scalar(H1(Cert, id))`.
pub fn h1(cert: &Certificate, id: &Identity) -> Result<[u8; SCALAR_LEN], Error> {
	hash::h1(&cert.0, id).map(|s| encode_scalar(&s))
}

/// `scalar(H2(d, meta))`: the capsule nonce `r` of `key`'s capsule for `meta`.
pub fn h2(key: &SecretKey, meta: &Meta) -> Result<[u8; SCALAR_LEN], Error> {
	hash::h2(&key.d, meta).map(|s| encode_scalar(&s))
}

/// `point(R)` with `R = H2(d, meta)*G`: the commitment inside `key`'s capsule for `meta`.
pub fn commitment(key: &SecretKey, meta: &Meta) -> Result<[u8; POINT_LEN], Error> {
	let r = hash::h2(&key.d, meta)?;
	Ok(encode_point(&(ProjectivePoint::GENERATOR * r)))
}
