//! The scheme's raw building blocks, for known-answer tests and other
//! implementations: the hashes H1..H4, the capsule nonce, and Encrypt of any data
//! key. Nothing here is needed to use the scheme; the typed API in the crate root is
//! the safe way, and some of what is here leaks a key if misused.

use crate::{
	encoding::{encode_point, encode_scalar, Identity, Meta},
	fixed_base::mul_base,
	hash, Capsule, Certificate, DataKey, Error, SecretKey, POINT_LEN, SCALAR_LEN,
};
use zeroize::Zeroizing;

/// `scalar(H1(Cert, id))`.
pub fn h1(cert: &Certificate, id: &Identity) -> Result<[u8; SCALAR_LEN], Error> {
	hash::h1(&cert.0, id).map(|s| encode_scalar(&s))
}

/// `scalar(H2(d, meta))`: the capsule nonce `r` of `key`'s capsule for `meta`. Anyone
/// who has it and the capsule has the key: `d = (r - s) / h`.
pub fn h2(key: &SecretKey, meta: &Meta) -> Result<Zeroizing<[u8; SCALAR_LEN]>, Error> {
	let r = Zeroizing::new(hash::h2(&key.d, meta)?);
	Ok(Zeroizing::new(encode_scalar(&r)))
}

/// Encrypt of any data key `m` for `meta`.
///
/// **Leaks the key if misused.** The nonce `r = H2(d_A, meta)` depends on the meta
/// only, so two capsules of one meta under different data keys give away
/// `d_A = (s1 - s2) / (h2 - h1)` to whoever sees both (the cloud does, when a
/// conflicting capsule arrives). Use [`SecretKey::encapsulate`], whose data key is
/// `dek(d_A, meta)`; this is for known-answer tests and for tests that need a second
/// capsule of a meta.
pub fn encrypt(key: &SecretKey, m: &DataKey, meta: &Meta) -> Result<Capsule, Error> {
	key.encrypt(m, meta)
}

/// `point(R)` with `R = H2(d, meta)*G`: the commitment inside `key`'s capsule for `meta`.
pub fn commitment(key: &SecretKey, meta: &Meta) -> Result<[u8; POINT_LEN], Error> {
	let r = Zeroizing::new(hash::h2(&key.d, meta)?);
	Ok(encode_point(&mul_base(&r)))
}
