//! The spec's encodings: `scalar(k)`, `point(Q)`, `enc(id)` and `enc(meta)`, with
//! strict decoding.

use crate::Error;
use alloc::vec::Vec;
use core::fmt;
use p256::{
	elliptic_curve::{
		sec1::{FromEncodedPoint, ToEncodedPoint},
		Field, Group, PrimeField,
	},
	AffinePoint, EncodedPoint, FieldBytes, ProjectivePoint, Scalar,
};
use subtle::ConstantTimeEq;

/// Length of `scalar(k)`.
pub const SCALAR_LEN: usize = 32;
/// Length of `point(Q)`: SEC1 compressed.
pub const POINT_LEN: usize = 33;
/// The longest identity.
pub const MAX_ID_LEN: usize = 64;

/// Decodes `scalar(k)`: 32 bytes big-endian in `[1, n-1]`.
pub(crate) fn decode_scalar(bytes: &[u8]) -> Result<Scalar, Error> {
	let arr: [u8; SCALAR_LEN] = bytes
		.try_into()
		.map_err(|_| Error::InvalidLength { expected: SCALAR_LEN, got: bytes.len() })?;
	let s: Option<Scalar> = Scalar::from_repr(FieldBytes::from(arr)).into();
	let s = s.ok_or(Error::ScalarOutOfRange)?;
	if bool::from(s.is_zero()) {
		return Err(Error::ZeroScalar);
	}
	Ok(s)
}

/// Encodes `scalar(k)`.
pub(crate) fn encode_scalar(s: &Scalar) -> [u8; SCALAR_LEN] {
	s.to_repr().into()
}

/// Decodes `point(Q)`: 33 bytes SEC1 compressed, on the curve, not the identity.
///
/// The SEC1 identity (the single byte `0x00`, or 33 zero bytes as some encoders
/// write it) is [`Error::IdentityPoint`].
pub(crate) fn decode_point(bytes: &[u8]) -> Result<ProjectivePoint, Error> {
	if bytes == [0u8] || (bytes.len() == POINT_LEN && bytes.iter().all(|b| *b == 0)) {
		return Err(Error::IdentityPoint);
	}
	if bytes.len() != POINT_LEN {
		return Err(Error::InvalidLength { expected: POINT_LEN, got: bytes.len() });
	}
	if bytes[0] != 0x02 && bytes[0] != 0x03 {
		return Err(Error::InvalidPointTag(bytes[0]));
	}
	let ep = EncodedPoint::from_bytes(bytes).map_err(|_| Error::PointNotOnCurve)?;
	let p: Option<AffinePoint> = AffinePoint::from_encoded_point(&ep).into();
	let p = p.ok_or(Error::PointNotOnCurve)?;
	Ok(ProjectivePoint::from(p))
}

/// Encodes `point(Q)`; the caller guarantees that `Q` is not the identity.
pub(crate) fn encode_point(p: &ProjectivePoint) -> [u8; POINT_LEN] {
	let mut out = [0u8; POINT_LEN];
	out.copy_from_slice(p.to_affine().to_encoded_point(true).as_bytes());
	out
}

/// Checks that a computed point is not the identity.
pub(crate) fn non_identity(p: ProjectivePoint) -> Result<ProjectivePoint, Error> {
	if bool::from(p.is_identity()) {
		Err(Error::IdentityPoint)
	} else {
		Ok(p)
	}
}

/// A computed point in either form: the variable-time multiplications yield affine
/// points, the constant-time ones projective points.
pub(crate) trait ToAffine {
	/// The affine form (one field inversion for a projective point).
	fn to_affine_point(&self) -> AffinePoint;
}

impl ToAffine for ProjectivePoint {
	fn to_affine_point(&self) -> AffinePoint {
		self.to_affine()
	}
}

impl ToAffine for AffinePoint {
	fn to_affine_point(&self) -> AffinePoint {
		*self
	}
}

/// `point(Q)` of an arbitrary computed point, for hashing.
pub(crate) fn point_bytes(p: &impl ToAffine) -> Result<[u8; POINT_LEN], Error> {
	let p = p.to_affine_point();
	if bool::from(p.is_identity()) {
		return Err(Error::IdentityPoint);
	}
	let mut out = [0u8; POINT_LEN];
	out.copy_from_slice(p.to_encoded_point(true).as_bytes());
	Ok(out)
}

/// A participant's identity: 1 to 64 bytes (a SensorTag uses its 6-byte BLE MAC).
#[derive(Clone, Copy)]
pub struct Identity {
	len: u8,
	bytes: [u8; MAX_ID_LEN],
}

impl Identity {
	/// An identity from its bytes.
	pub fn new(id: &[u8]) -> Result<Self, Error> {
		if id.is_empty() {
			return Err(Error::EmptyIdentity);
		}
		if id.len() > MAX_ID_LEN {
			return Err(Error::IdentityTooLong(id.len()));
		}
		let mut bytes = [0u8; MAX_ID_LEN];
		bytes[..id.len()].copy_from_slice(id);
		Ok(Identity { len: id.len() as u8, bytes })
	}

	/// The identity's bytes.
	pub fn as_bytes(&self) -> &[u8] {
		&self.bytes[..self.len as usize]
	}

	/// The length prefix of `enc(id)`.
	pub(crate) fn len_prefix(&self) -> [u8; 1] {
		[self.len]
	}

	/// `enc(id) = u8(len) || id`.
	pub fn encode(&self) -> Vec<u8> {
		let mut v = Vec::with_capacity(1 + self.len as usize);
		self.encode_into(&mut v);
		v
	}

	pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
		out.push(self.len);
		out.extend_from_slice(self.as_bytes());
	}

	/// Reads `enc(id)` from the front of `input`, returning the rest.
	pub(crate) fn decode_prefix(input: &[u8]) -> Result<(Self, &[u8]), Error> {
		let (&len, rest) =
			input.split_first().ok_or(Error::InvalidLength { expected: 2, got: input.len() })?;
		let len = len as usize;
		if len == 0 {
			return Err(Error::EmptyIdentity);
		}
		if len > MAX_ID_LEN {
			return Err(Error::IdentityTooLong(len));
		}
		if rest.len() < len {
			return Err(Error::InvalidLength { expected: 1 + len, got: input.len() });
		}
		let (id, rest) = rest.split_at(len);
		Ok((Identity::new(id)?, rest))
	}

	/// Decodes exactly `enc(id)`.
	pub fn decode(input: &[u8]) -> Result<Self, Error> {
		let (id, rest) = Self::decode_prefix(input)?;
		if !rest.is_empty() {
			return Err(Error::TrailingBytes);
		}
		Ok(id)
	}
}

impl PartialEq for Identity {
	fn eq(&self, other: &Self) -> bool {
		self.as_bytes() == other.as_bytes()
	}
}
impl Eq for Identity {}

impl core::hash::Hash for Identity {
	fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
		self.as_bytes().hash(state)
	}
}

impl fmt::Debug for Identity {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "Identity(")?;
		crate::wire::write_hex(f, self.as_bytes())?;
		write!(f, ")")
	}
}

/// A capsule's metadata `(id_A, t)`: the owner's identity and the epoch.
///
/// One capsule per meta: the same meta gives the same nonce `r` and the same pad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Meta {
	/// The owner's (sensor's) identity `id_A`.
	pub id: Identity,
	/// The epoch `t`.
	pub epoch: u64,
}

impl Meta {
	/// The metadata of `id`'s capsule for `epoch`.
	pub fn new(id: Identity, epoch: u64) -> Self {
		Meta { id, epoch }
	}

	/// `enc(meta) = enc(id_A) || u64_be(t)`.
	pub fn encode(&self) -> Vec<u8> {
		let mut v = Vec::with_capacity(1 + MAX_ID_LEN + 8);
		self.encode_into(&mut v);
		v
	}

	pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
		self.id.encode_into(out);
		out.extend_from_slice(&self.epoch.to_be_bytes());
	}

	/// The three pieces of `enc(meta)`, for hashing without allocation.
	pub(crate) fn parts(&self) -> ([u8; 1], &[u8], [u8; 8]) {
		(self.id.len_prefix(), self.id.as_bytes(), self.epoch.to_be_bytes())
	}

	/// Reads `enc(meta)` from the front of `input`, returning the rest.
	pub(crate) fn decode_prefix(input: &[u8]) -> Result<(Self, &[u8]), Error> {
		let (id, rest) = Identity::decode_prefix(input)?;
		if rest.len() < 8 {
			return Err(Error::InvalidLength {
				expected: input.len() - rest.len() + 8,
				got: input.len(),
			});
		}
		let (t, rest) = rest.split_at(8);
		let mut e = [0u8; 8];
		e.copy_from_slice(t);
		Ok((Meta { id, epoch: u64::from_be_bytes(e) }, rest))
	}

	/// Decodes exactly `enc(meta)`.
	pub fn decode(input: &[u8]) -> Result<Self, Error> {
		let (m, rest) = Self::decode_prefix(input)?;
		if !rest.is_empty() {
			return Err(Error::TrailingBytes);
		}
		Ok(m)
	}
}

/// Constant-time equality of scalars.
pub(crate) fn scalar_eq(a: &Scalar, b: &Scalar) -> bool {
	bool::from(a.ct_eq(b))
}
