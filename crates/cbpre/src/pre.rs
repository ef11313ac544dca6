//! Encrypt, ReKeyGen, ReEncrypt, Verify, Decrypt1 and Decrypt2.

use crate::{
	encoding::{decode_scalar, encode_scalar, scalar_eq, Identity, Meta},
	fixed_base::mul_base,
	hash::{h2, h3, h4, xor32},
	keys::{PublicKey, SecretKey},
	msm::mul2_vartime,
	DataKey, Error, SCALAR_LEN,
};
use alloc::vec::Vec;
use core::fmt;
use p256::{elliptic_curve::Field, AffinePoint, ProjectivePoint, Scalar};
use zeroize::Zeroizing;

/// Length of `C_A`, `C_B` and a re-key.
pub const PAD_LEN: usize = 32;

/// A capsule `(C_A, meta, h, s)` as it arrives from outside: well-formed, but not yet
/// checked against its owner's key. [`Capsule::verify`] turns it into a
/// [`VerifiedCapsule`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Capsule {
	c_a: [u8; PAD_LEN],
	meta: Meta,
	h: Scalar,
	s: Scalar,
}

/// A capsule whose `(h, s)` verifies against the owner's public key: `R = s*G + h*P_A`
/// is not the identity and `h == H4(C_A, meta, R)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct VerifiedCapsule(Capsule);

/// A re-encryption key `rk = H3(meta, r*P_A) xor H3(meta, r*P_B)`, valid for one meta.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ReKey(pub(crate) [u8; PAD_LEN]);

/// A re-encrypted capsule `(C_B, C_A, meta, id_B, h, s)`, as the delegate receives it.
/// Decrypt2 checks `(h, s)` before it uses anything.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ReEncryptedCapsule {
	c_b: [u8; PAD_LEN],
	c_a: [u8; PAD_LEN],
	meta: Meta,
	id_b: Identity,
	h: Scalar,
	s: Scalar,
}

fn check_h(c_a: &[u8; PAD_LEN], meta: &Meta, h: &Scalar, r: &AffinePoint) -> Result<(), Error> {
	if bool::from(r.is_identity()) {
		return Err(Error::InvalidCapsule);
	}
	if scalar_eq(&h4(c_a, meta, r)?, h) {
		Ok(())
	} else {
		Err(Error::InvalidCapsule)
	}
}

/// `R = s*G + h*P_A`.
fn commitment(s: &Scalar, h: &Scalar, owner: &PublicKey) -> AffinePoint {
	mul2_vartime(s, &AffinePoint::GENERATOR, h, &owner.0.to_affine())
}

impl SecretKey {
	/// The data key of this owner's `meta`: `dek(d_A, meta)`. A restarted sensor
	/// derives the same key and seals the rest of its epoch under it.
	pub fn data_key(&self, meta: &Meta) -> Result<DataKey, Error> {
		crate::hash::dek(&self.d, meta).map(DataKey::from_bytes)
	}

	/// The data key and capsule of this owner's epoch `epoch`: the data key is
	/// [`Self::data_key`], and the capsule Encrypt's of it.
	///
	/// The only way to make a capsule outside [`crate::hazmat`]: Encrypt's nonce
	/// `r = H2(d_A, meta)` does not depend on the data key, so two capsules for one
	/// meta with different keys give away `d_A = (s1 - s2) / (h2 - h1)`. Tying the
	/// key to the meta makes every capsule of a meta the same:
	///
	/// ```
	/// use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
	/// let sensor = cbpre::dev::enroll_with_rng(b"tag-1", &mut ChaCha20Rng::from_seed([1; 32]))?;
	/// let meta = cbpre::Meta::new(*sensor.id(), 7);
	/// let (m, capsule) = sensor.encapsulate(7)?;
	/// assert_eq!(sensor.encapsulate(7)?.1.to_bytes(), capsule.to_bytes());
	/// assert_eq!(sensor.decrypt1(&capsule)?, sensor.data_key(&meta)?);
	/// # let _ = m;
	/// # Ok::<(), cbpre::Error>(())
	/// ```
	///
	/// and there is no public `encrypt` taking a key of the caller's:
	///
	/// ```compile_fail
	/// use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
	/// let sensor = cbpre::dev::enroll_with_rng(b"tag-1", &mut ChaCha20Rng::from_seed([1; 32]))?;
	/// let meta = cbpre::Meta::new(*sensor.id(), 7);
	/// let _ = sensor.encrypt(&cbpre::DataKey::from_bytes([9; 32]), &meta)?;
	/// # Ok::<(), cbpre::Error>(())
	/// ```
	pub fn encapsulate(&self, epoch: u64) -> Result<(DataKey, Capsule), Error> {
		let meta = Meta::new(self.id, epoch);
		let m = self.data_key(&meta)?;
		let capsule = self.encrypt(&m, &meta)?;
		Ok((m, capsule))
	}

	/// Encrypt: `r = H2(d_A, meta)`, `R = r*G`, `C_A = M xor H3(meta, r*P_A)`,
	/// `h = H4(C_A, meta, R)`, `s = r - h*d_A`. Deterministic: one capsule per meta.
	/// Safe only for `m = dek(d_A, meta)` (see [`Self::encapsulate`]).
	///
	/// `r*P_A` is computed as `(r*d_A)*G`: the same point, since this key's `P_A` is
	/// `d_A*G` (made from `d_A` by `SecretKey::from_scalar`, its only constructor),
	/// and a fixed-base product from the table, like `R`.
	pub(crate) fn encrypt(&self, m: &DataKey, meta: &Meta) -> Result<Capsule, Error> {
		let r = Zeroizing::new(h2(&self.d, meta)?);
		let big_r = mul_base(&r);
		let rd = Zeroizing::new(*r * self.d);
		let pad = Zeroizing::new(h3(meta, &mul_base(&rd))?);
		let c_a = xor32(m.as_bytes(), &pad);
		let h = h4(&c_a, meta, &big_r)?;
		let hd = Zeroizing::new(h * self.d);
		let s = *r - *hd;
		if bool::from(s.is_zero()) {
			return Err(Error::ZeroScalar);
		}
		Ok(Capsule { c_a, meta: *meta, h, s })
	}

	/// ReKeyGen: the re-key that turns this owner's capsule for `meta` into one for
	/// `delegatee` (whose key comes from [`PublicKey::derive`]).
	pub fn rekey(&self, meta: &Meta, delegatee: &PublicKey) -> Result<ReKey, Error> {
		let r = Zeroizing::new(h2(&self.d, meta)?);
		// `r*P_A = (r*d_A)*G`, from the table (see `encrypt`).
		let rd = Zeroizing::new(*r * self.d);
		let pad_a = Zeroizing::new(h3(meta, &mul_base(&rd))?);
		let pad_b = Zeroizing::new(h3(meta, &(delegatee.0 * *r))?);
		Ok(ReKey(xor32(&pad_a, &pad_b)))
	}

	/// Decrypt1: the owner opens its own capsule. Checks `s == r - h*d_A` and
	/// `h == H4(C_A, meta, r*G)`, so any change to the capsule is detected.
	pub fn decrypt1(&self, capsule: &Capsule) -> Result<DataKey, Error> {
		let r = Zeroizing::new(h2(&self.d, &capsule.meta)?);
		let hd = Zeroizing::new(capsule.h * self.d);
		if !scalar_eq(&capsule.s, &(*r - *hd)) {
			return Err(Error::NotCapsuleOwner);
		}
		check_h(&capsule.c_a, &capsule.meta, &capsule.h, &mul_base(&r).to_affine())?;
		let rd = Zeroizing::new(*r * self.d);
		let pad = Zeroizing::new(h3(&capsule.meta, &mul_base(&rd))?);
		Ok(DataKey::xor(&capsule.c_a, &pad))
	}

	/// Decrypt2: the delegate opens a re-encrypted capsule of the owner `owner`.
	/// Checks that the capsule was re-encrypted for this key's identity
	/// ([`Error::NotDelegatee`] otherwise); `R = s*G + h*P_A`; checks
	/// `h == H4(C_A, meta, R)`; `M = C_B xor H3(meta, d_B*R)`.
	///
	/// A wrong `C_B` gives a wrong data key, and every record then fails to open.
	pub fn decrypt2(
		&self,
		owner: &PublicKey,
		capsule: &ReEncryptedCapsule,
	) -> Result<DataKey, Error> {
		if capsule.delegatee() != &self.id {
			return Err(Error::NotDelegatee);
		}
		let big_r = commitment(&capsule.s, &capsule.h, owner);
		check_h(&capsule.c_a, &capsule.meta, &capsule.h, &big_r)?;
		let pad = Zeroizing::new(h3(&capsule.meta, &(ProjectivePoint::from(big_r) * self.d))?);
		Ok(DataKey::xor(&capsule.c_b, &pad))
	}
}

impl Capsule {
	/// Length of a capsule with an identity of `id_len` bytes.
	pub const fn encoded_len(id_len: usize) -> usize {
		PAD_LEN + 1 + id_len + 8 + 2 * SCALAR_LEN
	}

	/// Verify (anyone, public data only): `R = s*G + h*P_A` is not the identity and
	/// `h == H4(C_A, meta, R)`.
	pub fn verify(&self, owner: &PublicKey) -> Result<VerifiedCapsule, Error> {
		check_h(&self.c_a, &self.meta, &self.h, &commitment(&self.s, &self.h, owner))?;
		Ok(VerifiedCapsule(*self))
	}

	/// The capsule's metadata `(id_A, t)`.
	pub fn meta(&self) -> &Meta {
		&self.meta
	}

	/// `C_A`.
	pub fn c_a(&self) -> &[u8; PAD_LEN] {
		&self.c_a
	}

	/// `C_A || enc(meta) || scalar(h) || scalar(s)`.
	pub fn to_bytes(&self) -> Vec<u8> {
		let mut v = Vec::with_capacity(Self::encoded_len(self.meta.id.as_bytes().len()));
		v.extend_from_slice(&self.c_a);
		self.meta.encode_into(&mut v);
		v.extend_from_slice(&encode_scalar(&self.h));
		v.extend_from_slice(&encode_scalar(&self.s));
		v
	}

	/// Decodes `C_A || enc(meta) || scalar(h) || scalar(s)` strictly.
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
		let (c_a, rest) = split_pad(bytes, Self::encoded_len(1))?;
		let (meta, rest) = Meta::decode_prefix(rest)?;
		let (h, s) = decode_hs(rest, Self::encoded_len(meta.id.as_bytes().len()), bytes.len())?;
		Ok(Capsule { c_a, meta, h, s })
	}
}

fn split_pad(bytes: &[u8], least: usize) -> Result<([u8; PAD_LEN], &[u8]), Error> {
	if bytes.len() < least {
		return Err(Error::InvalidLength { expected: least, got: bytes.len() });
	}
	let (pad, rest) = bytes.split_at(PAD_LEN);
	let mut out = [0u8; PAD_LEN];
	out.copy_from_slice(pad);
	Ok((out, rest))
}

fn decode_hs(rest: &[u8], expected: usize, got: usize) -> Result<(Scalar, Scalar), Error> {
	if rest.len() != 2 * SCALAR_LEN {
		return Err(Error::InvalidLength { expected, got });
	}
	Ok((decode_scalar(&rest[..SCALAR_LEN])?, decode_scalar(&rest[SCALAR_LEN..])?))
}

impl VerifiedCapsule {
	/// The capsule.
	pub fn capsule(&self) -> &Capsule {
		&self.0
	}

	/// ReEncrypt: `C_B = C_A xor rk`; the output carries `C_A` too, which Decrypt2's
	/// check needs.
	#[inline]
	pub fn re_encrypt(&self, rk: &ReKey, delegatee: Identity) -> ReEncryptedCapsule {
		let c = &self.0;
		ReEncryptedCapsule {
			c_b: xor32(&c.c_a, &rk.0),
			c_a: c.c_a,
			meta: c.meta,
			id_b: delegatee,
			h: c.h,
			s: c.s,
		}
	}
}

impl ReKey {
	/// The re-key's 32 bytes.
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
		let arr: [u8; PAD_LEN] = bytes
			.try_into()
			.map_err(|_| Error::InvalidLength { expected: PAD_LEN, got: bytes.len() })?;
		Ok(ReKey(arr))
	}

	/// The re-key's 32 bytes.
	pub fn to_bytes(&self) -> [u8; PAD_LEN] {
		self.0
	}
}

impl ReEncryptedCapsule {
	/// Length of a re-encrypted capsule with identities of `a` and `b` bytes.
	pub const fn encoded_len(a: usize, b: usize) -> usize {
		2 * PAD_LEN + 1 + a + 8 + 1 + b + 2 * SCALAR_LEN
	}

	/// The metadata `(id_A, t)`.
	pub fn meta(&self) -> &Meta {
		&self.meta
	}

	/// The delegate's identity `id_B`.
	pub fn delegatee(&self) -> &Identity {
		&self.id_b
	}

	/// `C_B`.
	pub fn c_b(&self) -> &[u8; PAD_LEN] {
		&self.c_b
	}

	/// The original capsule, as the owner signed it.
	pub fn original(&self) -> Capsule {
		Capsule { c_a: self.c_a, meta: self.meta, h: self.h, s: self.s }
	}

	/// Anyone's check of a delivery against the chain: `C_B == C_A xor rk`.
	pub fn matches_rekey(&self, rk: &ReKey) -> bool {
		xor32(&self.c_a, &rk.0) == self.c_b
	}

	/// `C_B || C_A || enc(meta) || enc(id_B) || scalar(h) || scalar(s)`.
	pub fn to_bytes(&self) -> Vec<u8> {
		let mut v = Vec::with_capacity(Self::encoded_len(
			self.meta.id.as_bytes().len(),
			self.id_b.as_bytes().len(),
		));
		v.extend_from_slice(&self.c_b);
		v.extend_from_slice(&self.c_a);
		self.meta.encode_into(&mut v);
		self.id_b.encode_into(&mut v);
		v.extend_from_slice(&encode_scalar(&self.h));
		v.extend_from_slice(&encode_scalar(&self.s));
		v
	}

	/// Decodes `C_B || C_A || enc(meta) || enc(id_B) || scalar(h) || scalar(s)` strictly.
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
		let least = Self::encoded_len(1, 1);
		let (c_b, rest) = split_pad(bytes, least)?;
		let (c_a, rest) = split_pad(rest, least - PAD_LEN)
			.map_err(|_| Error::InvalidLength { expected: least, got: bytes.len() })?;
		let (meta, rest) = Meta::decode_prefix(rest)?;
		let (id_b, rest) = Identity::decode_prefix(rest)?;
		let expected = Self::encoded_len(meta.id.as_bytes().len(), id_b.as_bytes().len());
		let (h, s) = decode_hs(rest, expected, bytes.len())?;
		Ok(ReEncryptedCapsule { c_b, c_a, meta, id_b, h, s })
	}
}

impl fmt::Debug for Capsule {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "Capsule(")?;
		crate::wire::write_hex(f, &self.to_bytes())?;
		write!(f, ")")
	}
}

impl fmt::Debug for ReEncryptedCapsule {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "ReEncryptedCapsule(")?;
		crate::wire::write_hex(f, &self.to_bytes())?;
		write!(f, ")")
	}
}

impl fmt::Debug for ReKey {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "ReKey(")?;
		crate::wire::write_hex(f, &self.0)?;
		write!(f, ")")
	}
}
