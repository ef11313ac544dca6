//! Schnorr signatures with a participant's CB-PRE key, over P-256 and the scheme's
//! hashes. The cloud uses them to check that an upload comes from the sensor, and a
//! requester to prove its identity before a download. Not part of the paper's
//! scheme; its own domain tags keep it apart from capsules.

use crate::{
	domain,
	encoding::{decode_scalar, encode_point, encode_scalar, point_bytes, scalar_eq, ToAffine},
	fixed_base::mul_base,
	hash::hs,
	keys::{random_scalar, PublicKey, SecretKey},
	msm::mul2_vartime,
	Error, SCALAR_LEN,
};
use core::fmt;
use p256::{elliptic_curve::Field, AffinePoint, Scalar};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

/// Length of a signature: `scalar(e) || scalar(s)`.
pub const SIGNATURE_LEN: usize = 2 * SCALAR_LEN;

/// A Schnorr signature `(e, s)`: `e = Hs(point(R) || point(P) || msg)`, `s = k + e*d`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature {
	e: Scalar,
	s: Scalar,
}

fn challenge(r: &impl ToAffine, key: &PublicKey, msg: &[u8]) -> Result<Scalar, Error> {
	let r = point_bytes(r)?;
	hs(&[&r, &encode_point(&key.0), msg], domain::SIG)
}

impl SecretKey {
	/// Signs `msg`. The nonce is derived from the key, the message and 32 fresh bytes
	/// from `rng`, so a weak RNG alone does not leak the key.
	pub fn sign_with_rng(
		&self,
		msg: &[u8],
		rng: &mut impl CryptoRngCore,
	) -> Result<Signature, Error> {
		let fresh = Zeroizing::new(encode_scalar(&random_scalar(rng)));
		let d = Zeroizing::new(encode_scalar(&self.d));
		let k = Zeroizing::new(hs(&[d.as_ref(), fresh.as_ref(), msg], domain::SIG_NONCE)?);
		let r = mul_base(&k);
		let e = challenge(&r, &self.public, msg)?;
		let s = *k + e * self.d;
		if bool::from(s.is_zero()) {
			return Err(Error::ZeroScalar);
		}
		Ok(Signature { e, s })
	}
}

impl PublicKey {
	/// Checks a signature over `msg` by this key.
	pub fn verify_signature(&self, msg: &[u8], sig: &Signature) -> Result<(), Error> {
		let r = mul2_vartime(&sig.s, &AffinePoint::GENERATOR, &-sig.e, &self.0.to_affine());
		if bool::from(r.is_identity()) {
			return Err(Error::InvalidSignature);
		}
		if scalar_eq(&challenge(&r, self, msg)?, &sig.e) {
			Ok(())
		} else {
			Err(Error::InvalidSignature)
		}
	}
}

impl Signature {
	/// `scalar(e) || scalar(s)`.
	pub fn to_bytes(&self) -> [u8; SIGNATURE_LEN] {
		let mut out = [0u8; SIGNATURE_LEN];
		out[..SCALAR_LEN].copy_from_slice(&encode_scalar(&self.e));
		out[SCALAR_LEN..].copy_from_slice(&encode_scalar(&self.s));
		out
	}

	/// Decodes `scalar(e) || scalar(s)` strictly.
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
		if bytes.len() != SIGNATURE_LEN {
			return Err(Error::InvalidLength { expected: SIGNATURE_LEN, got: bytes.len() });
		}
		Ok(Signature {
			e: decode_scalar(&bytes[..SCALAR_LEN])?,
			s: decode_scalar(&bytes[SCALAR_LEN..])?,
		})
	}
}

impl fmt::Debug for Signature {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "Signature(")?;
		crate::wire::write_hex(f, &self.to_bytes())?;
		write!(f, ")")
	}
}
