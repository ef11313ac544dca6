//! A sensor's batch: records of one epoch, uploaded in one request under one
//! signature.
//!
//! ```text
//! signature(64) || u64_be(sequence) || u32_be(count) || (u32_be(len) || record)*count
//! ```
//!
//! The signature is the sensor's Schnorr signature, with its CB-PRE key, over
//!
//! ```text
//! "SENSORSHARE-V1-RECORD-BATCH" || enc(meta) || u64_be(sequence) || u32_be(count)
//!   || SHA-256(record_1) || … || SHA-256(record_count)
//! ```
//!
//! where `meta` is the sensor's identity and the epoch. A batch holds 1 to
//! [`MAX_BATCH_RECORDS`] records and at most [`MAX_BATCH_BYTES`] bytes, all of one
//! epoch; its sequence number is the sensor's count of batches in that epoch, from
//! 0. The cloud stores each batch whole, signature included, under
//! `(sensor, epoch, sequence)`, and a delivery's segment carries the batches as
//! stored: the buyer checks every batch against the sensor's key on chain before it
//! opens any of its records, so a record the sensor did not sign (one sealed by the
//! cloud, or by another buyer of the epoch, under the epoch's data key) is refused.

use crate::{domain, header::RecordHeader, malformed, sha256, Error};
use cbpre::{rand_core::CryptoRngCore, Meta, PublicKey, SealedRecord, SecretKey, Signature};

/// The most records a batch holds.
pub const MAX_BATCH_RECORDS: usize = 1024;
/// The longest batch, in bytes.
pub const MAX_BATCH_BYTES: usize = 1 << 20;
/// The bytes of a batch before its records: signature, sequence, count.
pub const BATCH_HEAD_LEN: usize = cbpre::SIGNATURE_LEN + 8 + 4;

/// The message a sensor signs for batch `sequence` of `meta` holding `records`.
pub fn batch_message<'a>(
	meta: &Meta,
	sequence: u64,
	records: impl ExactSizeIterator<Item = &'a [u8]>,
) -> Vec<u8> {
	let mut msg = Vec::with_capacity(domain::RECORD_BATCH.len() + 73 + 12 + 32 * records.len());
	msg.extend_from_slice(domain::RECORD_BATCH);
	msg.extend_from_slice(&meta.encode());
	msg.extend_from_slice(&sequence.to_be_bytes());
	// At most MAX_BATCH_RECORDS, checked by the encoder and the decoder.
	msg.extend_from_slice(&(records.len() as u32).to_be_bytes());
	for r in records {
		msg.extend_from_slice(&sha256(r));
	}
	msg
}

/// The bytes of batch `sequence` of `sensor`'s `epoch`, holding `records` (sealed,
/// in their byte form) and signed by the sensor. Refused if it holds no record, more
/// than [`MAX_BATCH_RECORDS`], or more than [`MAX_BATCH_BYTES`] in all.
pub fn sign_batch_with_rng<'a>(
	sensor: &SecretKey,
	epoch: u64,
	sequence: u64,
	records: impl ExactSizeIterator<Item = &'a [u8]> + Clone,
	rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, Error> {
	let count = records.len();
	let len = BATCH_HEAD_LEN + records.clone().map(|r| 4 + r.len()).sum::<usize>();
	check_size(count, len)?;
	let meta = Meta::new(*sensor.id(), epoch);
	let sig = sensor.sign_with_rng(&batch_message(&meta, sequence, records.clone()), rng)?;
	let mut out = Vec::with_capacity(len);
	out.extend_from_slice(&sig.to_bytes());
	out.extend_from_slice(&sequence.to_be_bytes());
	out.extend_from_slice(&(count as u32).to_be_bytes());
	for r in records {
		out.extend_from_slice(&(r.len() as u32).to_be_bytes());
		out.extend_from_slice(r);
	}
	Ok(out)
}

/// How many records a batch of `len` bytes could hold at most, and whether its
/// size is allowed.
fn check_size(count: usize, len: usize) -> Result<(), Error> {
	if count == 0 {
		return Err(malformed("batch", "no records"));
	}
	if count > MAX_BATCH_RECORDS {
		return Err(malformed("batch", format!("{count} records, at most {MAX_BATCH_RECORDS}")));
	}
	if len > MAX_BATCH_BYTES {
		return Err(malformed("batch", format!("{len} bytes, at most {MAX_BATCH_BYTES}")));
	}
	Ok(())
}

/// The sequence number and record count of a batch, read from its first
/// [`BATCH_HEAD_LEN`] bytes without decoding the rest (what a store counts).
pub fn batch_head(bytes: &[u8]) -> Result<(u64, u32), Error> {
	let head = bytes
		.get(cbpre::SIGNATURE_LEN..BATCH_HEAD_LEN)
		.ok_or_else(|| malformed("batch", "shorter than its head"))?;
	let (seq, count) = head.split_at(8);
	let seq = u64::from_be_bytes(seq.try_into().map_err(|_| malformed("batch", "head"))?);
	let count = u32::from_be_bytes(count.try_into().map_err(|_| malformed("batch", "head"))?);
	Ok((seq, count))
}

/// A batch as it arrives: well-formed, its signature not yet checked.
#[derive(Debug, Clone)]
pub struct UnverifiedBatch {
	signature: Signature,
	sequence: u64,
	records: Vec<(RecordHeader, SealedRecord)>,
	bytes: Vec<u8>,
}

/// A batch whose signature verified against its sensor's key for its epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBatch {
	sequence: u64,
	records: Vec<(RecordHeader, SealedRecord)>,
	bytes: Vec<u8>,
}

impl UnverifiedBatch {
	/// Decodes a batch strictly: the head, then exactly `count` sealed records with
	/// [`RecordHeader`]s, within the size limits, and nothing after them.
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
		let (sequence, count) = batch_head(bytes)?;
		let count = count as usize;
		check_size(count, bytes.len())?;
		let signature = Signature::from_bytes(&bytes[..cbpre::SIGNATURE_LEN])?;
		let mut rest = &bytes[BATCH_HEAD_LEN..];
		let mut records = Vec::with_capacity(count);
		for _ in 0..count {
			let (len, tail) = rest
				.split_first_chunk::<4>()
				.ok_or_else(|| malformed("batch", "truncated before a record's length"))?;
			let len = u32::from_be_bytes(*len) as usize;
			if tail.len() < len {
				return Err(malformed("batch", "truncated inside a record"));
			}
			let (record, tail) = tail.split_at(len);
			let record = SealedRecord::from_bytes(record)?;
			let header = RecordHeader::from_bytes(record.header())?;
			records.push((header, record));
			rest = tail;
		}
		if !rest.is_empty() {
			return Err(malformed("batch", "trailing bytes"));
		}
		Ok(UnverifiedBatch { signature, sequence, records, bytes: bytes.to_vec() })
	}

	/// Its sequence number (not yet authenticated).
	pub fn sequence(&self) -> u64 {
		self.sequence
	}

	/// Its records' clear headers (not yet authenticated).
	pub fn headers(&self) -> impl ExactSizeIterator<Item = &RecordHeader> {
		self.records.iter().map(|(h, _)| h)
	}

	/// Checks the signature by `sensor`'s key for `meta` (the sensor's identity and
	/// the epoch the batch is filed under).
	pub fn verify(self, sensor: &PublicKey, meta: &Meta) -> Result<VerifiedBatch, Error> {
		let records = self.records.iter().map(|(_, r)| r.to_bytes()).collect::<Vec<_>>();
		let msg = batch_message(meta, self.sequence, records.iter().map(Vec::as_slice));
		sensor.verify_signature(&msg, &self.signature)?;
		Ok(VerifiedBatch { sequence: self.sequence, records: self.records, bytes: self.bytes })
	}
}

impl VerifiedBatch {
	/// Its sequence number within its sensor's epoch.
	pub fn sequence(&self) -> u64 {
		self.sequence
	}

	/// Its records, in the order the sensor signed them, with their clear headers.
	pub fn records(&self) -> &[(RecordHeader, SealedRecord)] {
		&self.records
	}

	/// How many records it holds (at least one).
	pub fn len(&self) -> usize {
		self.records.len()
	}

	/// Whether it holds no record (never: a batch holds at least one).
	pub fn is_empty(&self) -> bool {
		self.records.is_empty()
	}

	/// The batch as signed and uploaded: what the cloud stores and delivers.
	pub fn as_bytes(&self) -> &[u8] {
		&self.bytes
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use cbpre::dev;
	use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

	fn records(sensor: &SecretKey, epoch: u64, n: u64, rng: &mut ChaCha20Rng) -> Vec<Vec<u8>> {
		let meta = Meta::new(*sensor.id(), epoch);
		let m = sensor.data_key(&meta).expect("data key");
		(0..n)
			.map(|i| {
				let header = RecordHeader::new(epoch * 60_000 + i).to_bytes();
				m.seal_with_rng(&meta, &header, b"21.5", rng).expect("seal").to_bytes()
			})
			.collect()
	}

	fn signed(sensor: &SecretKey, epoch: u64, seq: u64, recs: &[Vec<u8>]) -> Vec<u8> {
		let mut rng = ChaCha20Rng::seed_from_u64(seq);
		sign_batch_with_rng(sensor, epoch, seq, recs.iter().map(Vec::as_slice), &mut rng)
			.expect("signed")
	}

	#[test]
	fn a_signed_batch_verifies_for_its_sensor_and_epoch_and_gives_back_its_records() {
		let mut rng = ChaCha20Rng::seed_from_u64(1);
		let sensor = dev::enroll_with_rng(b"sensor-1", &mut rng).expect("enrol");
		let recs = records(&sensor, 7, 3, &mut rng);
		let bytes = signed(&sensor, 7, 4, &recs);
		assert_eq!(batch_head(&bytes), Ok((4, 3)));
		let batch = UnverifiedBatch::from_bytes(&bytes)
			.and_then(|b| b.verify(sensor.public_key(), &Meta::new(*sensor.id(), 7)))
			.expect("verifies");
		assert_eq!((batch.sequence(), batch.len()), (4, 3));
		assert_eq!(batch.as_bytes(), &bytes[..]);
		let back: Vec<Vec<u8>> = batch.records().iter().map(|(_, r)| r.to_bytes()).collect();
		assert_eq!(back, recs);
		assert_eq!(batch.records()[2].0, RecordHeader::new(7 * 60_000 + 2));

		let other_epoch = Meta::new(*sensor.id(), 8);
		let b = UnverifiedBatch::from_bytes(&bytes).expect("decodes");
		assert!(b.verify(sensor.public_key(), &other_epoch).is_err(), "signed for epoch 7");
	}

	#[test]
	fn a_record_added_removed_or_reordered_breaks_the_signature() {
		let mut rng = ChaCha20Rng::seed_from_u64(2);
		let sensor = dev::enroll_with_rng(b"sensor-1", &mut rng).expect("enrol");
		let meta = Meta::new(*sensor.id(), 7);
		let recs = records(&sensor, 7, 3, &mut rng);
		let sig = &signed(&sensor, 7, 0, &recs)[..cbpre::SIGNATURE_LEN];
		let forge = |recs: &[Vec<u8>], seq: u64| {
			let mut out = sig.to_vec();
			out.extend_from_slice(&seq.to_be_bytes());
			out.extend_from_slice(&(recs.len() as u32).to_be_bytes());
			for r in recs {
				out.extend_from_slice(&(r.len() as u32).to_be_bytes());
				out.extend_from_slice(r);
			}
			UnverifiedBatch::from_bytes(&out)
				.expect("well-formed")
				.verify(sensor.public_key(), &meta)
		};
		assert!(forge(&recs, 0).is_ok(), "the forger's framing is the real one");
		let mut more = recs.clone();
		more.extend(records(&sensor, 7, 1, &mut rng));
		assert!(forge(&more, 0).is_err(), "a record added");
		assert!(forge(&recs[..2], 0).is_err(), "a record removed");
		let swapped = vec![recs[1].clone(), recs[0].clone(), recs[2].clone()];
		assert!(forge(&swapped, 0).is_err(), "records reordered");
		assert!(forge(&recs, 1).is_err(), "another sequence number");
	}

	#[test]
	fn empty_oversized_and_ill_framed_batches_are_malformed() {
		let mut rng = ChaCha20Rng::seed_from_u64(3);
		let sensor = dev::enroll_with_rng(b"sensor-1", &mut rng).expect("enrol");
		let none: [&[u8]; 0] = [];
		let empty = sign_batch_with_rng(&sensor, 1, 0, none.into_iter(), &mut rng);
		assert!(matches!(empty, Err(Error::Malformed { .. })));
		let big = vec![0u8; MAX_BATCH_BYTES];
		let too_big = sign_batch_with_rng(&sensor, 1, 0, [&big[..]].into_iter(), &mut rng);
		assert!(matches!(too_big, Err(Error::Malformed { .. })));

		let bytes = signed(&sensor, 1, 0, &records(&sensor, 1, 2, &mut rng));
		for cut in [0, 10, BATCH_HEAD_LEN, BATCH_HEAD_LEN + 2, bytes.len() - 1] {
			assert!(UnverifiedBatch::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
		}
		let mut longer = bytes.clone();
		longer.push(0);
		assert!(matches!(UnverifiedBatch::from_bytes(&longer), Err(Error::Malformed { .. })));
		let mut overcount = bytes.clone();
		overcount[cbpre::SIGNATURE_LEN + 8..BATCH_HEAD_LEN]
			.copy_from_slice(&(MAX_BATCH_RECORDS as u32 + 1).to_be_bytes());
		assert!(matches!(UnverifiedBatch::from_bytes(&overcount), Err(Error::Malformed { .. })));
	}
}
