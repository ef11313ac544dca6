//! The errors of the scheme: each way that input can be wrong has its own variant.

use core::fmt;

/// What went wrong. Decoding never panics: bad input is always one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
	/// A byte string has the wrong length for what it encodes.
	InvalidLength {
		/// The length the encoding needs (the least length, for variable-length encodings).
		expected: usize,
		/// The length that was given.
		got: usize,
	},
	/// A point encodes the identity (point at infinity), which the scheme never accepts.
	IdentityPoint,
	/// A point's first byte is not the SEC1 compressed tag `0x02` or `0x03`.
	InvalidPointTag(u8),
	/// A point's x-coordinate is not that of a point on P-256.
	PointNotOnCurve,
	/// A scalar is zero.
	ZeroScalar,
	/// A scalar is not below the group order `n`.
	ScalarOutOfRange,
	/// An identity is empty.
	EmptyIdentity,
	/// An identity is longer than 64 bytes.
	IdentityTooLong(usize),
	/// A hash to the scalar field came out zero (probability about 2^-256).
	HashToZero,
	/// The CA's response does not give the key its certificate implies:
	/// `d_U * G != e * Cert_U + P_alpha`.
	CertificateMismatch,
	/// A capsule's `(h, s)` does not verify against the owner's public key.
	InvalidCapsule,
	/// `Decrypt1`: the capsule was not made with this secret key.
	NotCapsuleOwner,
	/// `Decrypt2`: the capsule was re-encrypted for another identity than this key's.
	NotDelegatee,
	/// A Schnorr signature does not verify.
	InvalidSignature,
	/// A record does not open: wrong data key, wrong metadata, or tampered bytes.
	RecordOpenFailed,
	/// A record's clear header is longer than [`crate::MAX_HEADER_LEN`].
	HeaderTooLong(usize),
	/// Bytes follow a complete encoding.
	TrailingBytes,
	/// `expand_message_xmd` was asked for an empty or over-long tag or output.
	InvalidXmdParameters,
}

impl fmt::Display for Error {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			Error::InvalidLength { expected, got } => {
				write!(f, "invalid length: expected {expected} bytes, got {got}")
			},
			Error::IdentityPoint => f.write_str("the identity point is not accepted"),
			Error::InvalidPointTag(t) => {
				write!(f, "invalid point tag 0x{t:02x}: expected SEC1 compressed (0x02 or 0x03)")
			},
			Error::PointNotOnCurve => f.write_str("point is not on the P-256 curve"),
			Error::ZeroScalar => f.write_str("scalar is zero"),
			Error::ScalarOutOfRange => f.write_str("scalar is not below the group order"),
			Error::EmptyIdentity => f.write_str("identity is empty"),
			Error::IdentityTooLong(n) => {
				write!(f, "identity is {n} bytes long, at most 64 allowed")
			},
			Error::HashToZero => f.write_str("hash to scalar gave zero"),
			Error::CertificateMismatch => {
				f.write_str("the CA's response does not match the certificate")
			},
			Error::InvalidCapsule => f.write_str("capsule does not verify against the owner's key"),
			Error::NotCapsuleOwner => f.write_str("capsule was not made with this secret key"),
			Error::NotDelegatee => {
				f.write_str("capsule was re-encrypted for another identity than this key's")
			},
			Error::InvalidSignature => f.write_str("signature does not verify"),
			Error::RecordOpenFailed => f.write_str("record does not open"),
			Error::HeaderTooLong(n) => write!(f, "record header is {n} bytes long, too long"),
			Error::TrailingBytes => f.write_str("trailing bytes after the encoding"),
			Error::InvalidXmdParameters => {
				f.write_str("expand_message_xmd: empty or over-long tag or output")
			},
		}
	}
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
