//! The DEM: readings sealed as XChaCha20-Poly1305 records under a capsule's data key.

use crate::{domain, encoding::Meta, Error};
use alloc::vec::Vec;
use chacha20poly1305::{
	aead::{AeadInPlace, KeyInit},
	Key, Tag, XChaCha20Poly1305, XNonce,
};
use core::fmt;
use rand_core::CryptoRngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of a record's nonce.
pub const NONCE_LEN: usize = 24;
/// Length of a record's authentication tag.
pub const TAG_LEN: usize = 16;
/// The longest clear header a record may carry.
pub const MAX_HEADER_LEN: usize = 1024;

/// A 32-byte data key `M` for one `(sensor, epoch)`. Wiped on drop, never shown.
#[derive(Clone)]
pub struct DataKey([u8; 32]);

impl DataKey {
	/// A data key from its bytes.
	pub fn from_bytes(bytes: [u8; 32]) -> Self {
		DataKey(bytes)
	}

	/// `a xor b`, written into the key itself: no copy of `M` is left behind.
	pub(crate) fn xor(a: &[u8; 32], b: &[u8; 32]) -> Self {
		let mut key = DataKey([0; 32]);
		for (k, (a, b)) in key.0.iter_mut().zip(a.iter().zip(b)) {
			*k = a ^ b;
		}
		key
	}

	/// The key's bytes.
	pub fn as_bytes(&self) -> &[u8; 32] {
		&self.0
	}

	/// Seals `plaintext` with a fresh random nonce: associated data
	/// `"CBPRE-V1-DEM" || enc(meta) || header`.
	pub fn seal_with_rng(
		&self,
		meta: &Meta,
		header: &[u8],
		plaintext: &[u8],
		rng: &mut impl CryptoRngCore,
	) -> Result<SealedRecord, Error> {
		let mut nonce = [0u8; NONCE_LEN];
		rng.fill_bytes(&mut nonce);
		self.seal_with_nonce(meta, header, plaintext, nonce)
	}

	/// Seals with an explicit nonce. A nonce must never repeat under one key: use
	/// [`Self::seal_with_rng`] unless replaying known-answer tests.
	pub fn seal_with_nonce(
		&self,
		meta: &Meta,
		header: &[u8],
		plaintext: &[u8],
		nonce: [u8; NONCE_LEN],
	) -> Result<SealedRecord, Error> {
		if header.len() > MAX_HEADER_LEN {
			return Err(Error::HeaderTooLong(header.len()));
		}
		let mut body = Vec::with_capacity(plaintext.len() + TAG_LEN);
		body.extend_from_slice(plaintext);
		let tag = XChaCha20Poly1305::new(Key::from_slice(&self.0))
			.encrypt_in_place_detached(
				XNonce::from_slice(&nonce),
				&associated_data(meta, header),
				&mut body,
			)
			.map_err(|_| Error::RecordOpenFailed)?;
		body.extend_from_slice(&tag);
		Ok(SealedRecord { nonce, header: header.to_vec(), body })
	}

	/// Opens a record sealed under this key for `meta`.
	pub fn open(&self, meta: &Meta, record: &SealedRecord) -> Result<Vec<u8>, Error> {
		let split = record.body.len() - TAG_LEN;
		let mut plain = record.body[..split].to_vec();
		let tag = Tag::from_slice(&record.body[split..]);
		XChaCha20Poly1305::new(Key::from_slice(&self.0))
			.decrypt_in_place_detached(
				XNonce::from_slice(&record.nonce),
				&associated_data(meta, &record.header),
				&mut plain,
				tag,
			)
			.map_err(|_| Error::RecordOpenFailed)?;
		Ok(plain)
	}
}

fn associated_data(meta: &Meta, header: &[u8]) -> Vec<u8> {
	let mut ad = Vec::with_capacity(domain::DEM.len() + 73 + header.len());
	ad.extend_from_slice(domain::DEM);
	meta.encode_into(&mut ad);
	ad.extend_from_slice(header);
	ad
}

impl Drop for DataKey {
	fn drop(&mut self) {
		self.0.zeroize();
	}
}
impl ZeroizeOnDrop for DataKey {}

impl PartialEq for DataKey {
	fn eq(&self, other: &Self) -> bool {
		use subtle::ConstantTimeEq;
		bool::from(self.0.ct_eq(&other.0))
	}
}
impl Eq for DataKey {}

impl fmt::Debug for DataKey {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str("DataKey(<redacted>)")
	}
}

/// A sealed record: its nonce, its clear header (which the cloud filters on) and the
/// AEAD body (ciphertext and tag).
#[derive(Clone, PartialEq, Eq)]
pub struct SealedRecord {
	nonce: [u8; NONCE_LEN],
	header: Vec<u8>,
	body: Vec<u8>,
}

impl SealedRecord {
	/// The clear header.
	pub fn header(&self) -> &[u8] {
		&self.header
	}

	/// Length of the plaintext inside.
	pub fn plaintext_len(&self) -> usize {
		self.body.len() - TAG_LEN
	}

	/// `nonce || u16_be(len(header)) || header || ciphertext || tag`.
	pub fn to_bytes(&self) -> Vec<u8> {
		let mut v = Vec::with_capacity(NONCE_LEN + 2 + self.header.len() + self.body.len());
		v.extend_from_slice(&self.nonce);
		// The header is at most MAX_HEADER_LEN bytes, which fits in a u16.
		v.extend_from_slice(&(self.header.len() as u16).to_be_bytes());
		v.extend_from_slice(&self.header);
		v.extend_from_slice(&self.body);
		v
	}

	/// Decodes `nonce || u16_be(len(header)) || header || ciphertext || tag` strictly.
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
		let least = NONCE_LEN + 2 + TAG_LEN;
		if bytes.len() < least {
			return Err(Error::InvalidLength { expected: least, got: bytes.len() });
		}
		let mut nonce = [0u8; NONCE_LEN];
		nonce.copy_from_slice(&bytes[..NONCE_LEN]);
		let hlen = u16::from_be_bytes([bytes[NONCE_LEN], bytes[NONCE_LEN + 1]]) as usize;
		if hlen > MAX_HEADER_LEN {
			return Err(Error::HeaderTooLong(hlen));
		}
		let rest = &bytes[NONCE_LEN + 2..];
		if rest.len() < hlen + TAG_LEN {
			return Err(Error::InvalidLength { expected: least + hlen, got: bytes.len() });
		}
		let (header, body) = rest.split_at(hlen);
		Ok(SealedRecord { nonce, header: header.to_vec(), body: body.to_vec() })
	}
}

impl fmt::Debug for SealedRecord {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("SealedRecord")
			.field("header_len", &self.header.len())
			.field("body_len", &self.body.len())
			.finish()
	}
}
