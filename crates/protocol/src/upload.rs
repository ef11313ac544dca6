//! A sensor's record upload: `signature(64) || record`.
//!
//! The signature is the sensor's Schnorr signature, with its CB-PRE key, over
//! `"SENSORSHARE-V1-RECORD-UPLOAD" || enc(meta) || SHA-256(record)`, where `meta` is
//! the sensor's identity and the record's epoch. The cloud accepts a record only
//! with a valid signature by the key the chain holds for the sensor, so nobody else
//! can fill a sensor's store, and a record signed for one epoch cannot be filed
//! under another.

use crate::{domain, header::RecordHeader, malformed, sha256, Error};
use cbpre::{rand_core::CryptoRngCore, Meta, PublicKey, SealedRecord, SecretKey, Signature};

/// The message a sensor signs for a record of `meta`.
pub fn record_message(meta: &Meta, record: &[u8]) -> Vec<u8> {
	let mut msg = Vec::with_capacity(domain::RECORD_UPLOAD.len() + 73 + 32);
	msg.extend_from_slice(domain::RECORD_UPLOAD);
	msg.extend_from_slice(&meta.encode());
	msg.extend_from_slice(&sha256(record));
	msg
}

/// The body of a record upload, signed by the sensor: `signature || record`.
pub fn sign_record_with_rng(
	sensor: &SecretKey,
	epoch: u64,
	record: &SealedRecord,
	rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, Error> {
	let record = record.to_bytes();
	let meta = Meta::new(*sensor.id(), epoch);
	let sig = sensor.sign_with_rng(&record_message(&meta, &record), rng)?;
	let mut body = Vec::with_capacity(cbpre::SIGNATURE_LEN + record.len());
	body.extend_from_slice(&sig.to_bytes());
	body.extend_from_slice(&record);
	Ok(body)
}

/// A record upload as it arrives: well-formed, its signature not yet checked.
#[derive(Debug)]
pub struct UnverifiedRecordUpload {
	signature: Signature,
	header: RecordHeader,
	record: Vec<u8>,
}

/// A record whose upload signature verified against its sensor's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRecord {
	header: RecordHeader,
	record: Vec<u8>,
}

impl UnverifiedRecordUpload {
	/// Decodes an upload body strictly: a signature, then a sealed record whose
	/// header is a [`RecordHeader`].
	pub fn from_bytes(body: &[u8]) -> Result<Self, Error> {
		if body.len() < cbpre::SIGNATURE_LEN {
			return Err(malformed("record upload", "shorter than a signature"));
		}
		let (sig, record) = body.split_at(cbpre::SIGNATURE_LEN);
		let signature = Signature::from_bytes(sig)?;
		let header = RecordHeader::from_bytes(SealedRecord::from_bytes(record)?.header())?;
		Ok(UnverifiedRecordUpload { signature, header, record: record.to_vec() })
	}

	/// The record's clear header (not yet authenticated).
	pub fn header(&self) -> &RecordHeader {
		&self.header
	}

	/// Checks the signature by `sensor`'s key for `meta` (the sensor's identity and
	/// the epoch the record is filed under).
	pub fn verify(self, sensor: &PublicKey, meta: &Meta) -> Result<VerifiedRecord, Error> {
		sensor.verify_signature(&record_message(meta, &self.record), &self.signature)?;
		Ok(VerifiedRecord { header: self.header, record: self.record })
	}
}

impl VerifiedRecord {
	/// The record's clear header.
	pub fn header(&self) -> &RecordHeader {
		&self.header
	}

	/// The sealed record's bytes.
	pub fn record_bytes(&self) -> &[u8] {
		&self.record
	}

	/// The record's content address: SHA-256 of its bytes.
	pub fn digest(&self) -> [u8; 32] {
		sha256(&self.record)
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::header::RecordHeader;
	use cbpre::{dev, Identity};
	use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

	fn sealed(sensor: &SecretKey, epoch: u64, rng: &mut ChaCha20Rng) -> SealedRecord {
		let meta = Meta::new(*sensor.id(), epoch);
		let m = sensor.data_key(&meta).expect("data key");
		let header = RecordHeader::new(epoch * 60_000).to_bytes();
		m.seal_with_rng(&meta, &header, b"21.5", rng).expect("seal")
	}

	#[test]
	fn a_signed_record_verifies_for_its_sensor_and_epoch_only() {
		let mut rng = ChaCha20Rng::seed_from_u64(1);
		let sensor = dev::enroll_with_rng(b"sensor-1", &mut rng).expect("enroll");
		let other = dev::enroll_with_rng(b"sensor-2", &mut rng).expect("enroll");
		let record = sealed(&sensor, 7, &mut rng);
		let body = sign_record_with_rng(&sensor, 7, &record, &mut rng).expect("sign");

		let meta = Meta::new(*sensor.id(), 7);
		let verified = UnverifiedRecordUpload::from_bytes(&body)
			.and_then(|u| u.verify(sensor.public_key(), &meta))
			.expect("verifies");
		assert_eq!(verified.record_bytes(), record.to_bytes());
		assert_eq!(verified.header(), &RecordHeader::new(7 * 60_000));

		let wrong_epoch = Meta::new(*sensor.id(), 8);
		let up = UnverifiedRecordUpload::from_bytes(&body).expect("decodes");
		assert!(up.verify(sensor.public_key(), &wrong_epoch).is_err());
		let up = UnverifiedRecordUpload::from_bytes(&body).expect("decodes");
		let other_meta = Meta::new(Identity::new(b"sensor-2").expect("id"), 7);
		assert!(up.verify(other.public_key(), &other_meta).is_err());
	}

	#[test]
	fn a_flipped_bit_anywhere_in_an_upload_is_refused() {
		let mut rng = ChaCha20Rng::seed_from_u64(2);
		let sensor = dev::enroll_with_rng(b"sensor-1", &mut rng).expect("enroll");
		let body = sign_record_with_rng(&sensor, 3, &sealed(&sensor, 3, &mut rng), &mut rng)
			.expect("sign");
		let meta = Meta::new(*sensor.id(), 3);
		for i in 0..body.len() * 8 {
			let mut b = body.clone();
			b[i / 8] ^= 1 << (i % 8);
			let ok = UnverifiedRecordUpload::from_bytes(&b)
				.and_then(|u| u.verify(sensor.public_key(), &meta))
				.is_ok();
			assert!(!ok, "bit {i} flipped and still accepted");
		}
	}

	#[test]
	fn a_short_upload_is_malformed() {
		assert!(matches!(
			UnverifiedRecordUpload::from_bytes(&[0u8; 10]),
			Err(Error::Malformed { .. })
		));
	}
}
