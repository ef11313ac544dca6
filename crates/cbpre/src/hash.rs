//! The hash functions H1..H4 and the data-key derivation, over RFC 9380's
//! `expand_message_xmd` with SHA-256.

use crate::{
	domain,
	encoding::{encode_scalar, point_bytes, Identity, Meta, ToAffine},
	Error,
};
use p256::{
	elliptic_curve::{
		hash2curve::{hash_to_field, ExpandMsg, ExpandMsgXmd, Expander},
		Field,
	},
	Scalar,
};
use sha2::Sha256;
use zeroize::Zeroize;

type Xmd = ExpandMsgXmd<Sha256>;

/// `expand_message_xmd(msg, dst, len)` with SHA-256 (RFC 9380, section 5.3.1), where
/// `msg` is the concatenation of `parts` and `len = out.len()`.
///
/// Fails with [`Error::InvalidXmdParameters`] for an empty or over-long tag, or an
/// output longer than 8160 bytes.
pub fn expand_message_xmd(parts: &[&[u8]], dst: &[u8], out: &mut [u8]) -> Result<(), Error> {
	if dst.is_empty() {
		// RFC 9380, section 3.1: tags MUST have nonzero length.
		return Err(Error::InvalidXmdParameters);
	}
	let dsts = [dst];
	let mut e =
		Xmd::expand_message(parts, &dsts, out.len()).map_err(|_| Error::InvalidXmdParameters)?;
	e.fill_bytes(out);
	Ok(())
}

fn xmd32(parts: &[&[u8]], dst: &[u8]) -> Result<[u8; 32], Error> {
	let mut out = [0u8; 32];
	expand_message_xmd(parts, dst, &mut out)?;
	Ok(out)
}

/// `Hs(msg, dst) = OS2IP(xmd(msg, dst, 48)) mod n`; zero is an error.
pub(crate) fn hs(parts: &[&[u8]], dst: &[u8]) -> Result<Scalar, Error> {
	let mut out = [Scalar::ZERO];
	hash_to_field::<Xmd, Scalar>(parts, &[dst], &mut out).map_err(|_| Error::HashToZero)?;
	if bool::from(out[0].is_zero()) {
		return Err(Error::HashToZero);
	}
	Ok(out[0])
}

/// `H1(Cert, id) = Hs(point(Cert) || enc(id), "CBPRE-V1-H1")`.
pub(crate) fn h1(cert: &impl ToAffine, id: &Identity) -> Result<Scalar, Error> {
	let c = point_bytes(cert)?;
	hs(&[&c, &id.len_prefix(), id.as_bytes()], domain::H1)
}

/// `H2(d, meta) = Hs(scalar(d) || enc(meta), "CBPRE-V1-H2")`.
pub(crate) fn h2(d: &Scalar, meta: &Meta) -> Result<Scalar, Error> {
	let mut d = encode_scalar(d);
	let (l, id, t) = meta.parts();
	let r = hs(&[&d, &l, id, &t], domain::H2);
	d.zeroize();
	r
}

/// `H3(meta, Q) = xmd(enc(meta) || point(Q), "CBPRE-V1-H3", 32)`.
pub(crate) fn h3(meta: &Meta, q: &impl ToAffine) -> Result<[u8; 32], Error> {
	let q = point_bytes(q)?;
	let (l, id, t) = meta.parts();
	xmd32(&[&l, id, &t, &q], domain::H3)
}

/// `H4(C, meta, R) = Hs(C || enc(meta) || point(R), "CBPRE-V1-H4")`.
pub(crate) fn h4(c: &[u8; 32], meta: &Meta, r: &impl ToAffine) -> Result<Scalar, Error> {
	let r = point_bytes(r)?;
	let (l, id, t) = meta.parts();
	hs(&[c, &l, id, &t, &r], domain::H4)
}

/// `dek(d, meta) = xmd(scalar(d) || enc(meta), "CBPRE-V1-DEK", 32)`.
pub(crate) fn dek(d: &Scalar, meta: &Meta) -> Result<[u8; 32], Error> {
	let mut d = encode_scalar(d);
	let (l, id, t) = meta.parts();
	let k = xmd32(&[&d, &l, id, &t], domain::DEK);
	d.zeroize();
	k
}

/// XOR of two 32-byte strings.
#[inline]
pub(crate) fn xor32(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
	let mut out = [0u8; 32];
	for i in 0..32 {
		out[i] = a[i] ^ b[i];
	}
	out
}
