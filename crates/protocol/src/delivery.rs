//! A delivery: a manifest, whose SHA-256 the provider puts on chain with
//! `deliver(id, through_epoch, location, digest, empty)`, and the segments it
//! lists. Each
//! delivery's manifest covers every epoch delivered so far.
//!
//! A segment holds one sensor's epoch of an agreement: the capsule re-encrypted for
//! the requester, then the epoch's signed batches ([`crate::batch`]) as the sensor
//! uploaded them, in sequence order:
//!
//! ```text
//! u16_be(len) || re-encrypted capsule || u32_be(count) || (u32_be(len) || batch)*
//! ```
//!
//! The manifest lists every (sensor, epoch) of the delivered range once: as a
//! segment, or as an empty entry for an epoch of which the sensor uploaded nothing.
//! The requester checks the manifest against the digest on chain, that it holds
//! exactly the agreement's (sensor, epoch)s ([`Manifest::check_covers`]), and each
//! segment against the manifest, and every batch against the sensor's key on chain
//! ([`Segment::verify`]), before it decrypts anything. The empty entries are
//! the ones the provider named on chain ([`Manifest::check_empty`]): those it is
//! not paid for, and no others.

use crate::{
	batch::{UnverifiedBatch, VerifiedBatch},
	malformed, sha256, Error,
};
use cbpre::{Meta, PublicKey, ReEncryptedCapsule};
pub use sensorshare_market::EmptyEpoch;
use serde::{Deserialize, Serialize};

/// The manifest format this crate writes and reads: 2 lists empty epochs, 3 has
/// segments of signed batches.
pub const MANIFEST_VERSION: u32 = 3;

/// What a delivery holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
	/// The format, [`MANIFEST_VERSION`].
	pub version: u32,
	/// The agreement delivered.
	pub agreement: u64,
	/// The requester's identity, hex: every capsule is re-encrypted for it.
	pub requester: String,
	/// The first epoch of the agreement.
	pub from_epoch: u64,
	/// The last epoch this delivery covers (inclusive): the `through_epoch` of its
	/// `deliver`, the agreement's last epoch only once it is delivered in full.
	pub to_epoch: u64,
	/// One segment per sensor and epoch that has data, in the agreement's order.
	pub segments: Vec<SegmentEntry>,
	/// Each sensor and epoch of the delivered range without data (no capsule and no
	/// records), in the agreement's order.
	pub empty: Vec<EmptyEntry>,
}

/// A sensor's epoch that holds no data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmptyEntry {
	/// The sensor's identity, hex.
	pub sensor: String,
	/// The epoch.
	pub epoch: u64,
}

/// A segment of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEntry {
	/// The sensor's identity, hex.
	pub sensor: String,
	/// The epoch.
	pub epoch: u64,
	/// The segment's name within the delivery.
	pub name: String,
	/// Its length in bytes.
	pub size: u64,
	/// SHA-256 of its bytes, hex.
	pub sha256: String,
	/// How many records its batches hold.
	pub records: u32,
}

impl Manifest {
	/// The manifest's bytes, as stored and digested.
	pub fn to_bytes(&self) -> Vec<u8> {
		// Serializing plain strings and integers to JSON cannot fail.
		serde_json::to_vec_pretty(self).unwrap_or_default()
	}

	/// Parses a manifest after checking its bytes against the digest on chain.
	pub fn from_bytes_checked(bytes: &[u8], digest: &[u8; 32]) -> Result<Self, Error> {
		if &sha256(bytes) != digest {
			return Err(Error::DigestMismatch("manifest".into()));
		}
		Self::from_bytes_unchecked(bytes)
	}

	/// Parses a manifest whose digest is not on chain yet: the caller checks
	/// [`sha256`] of `bytes` against the chain's once it is.
	pub fn from_bytes_unchecked(bytes: &[u8]) -> Result<Self, Error> {
		let m: Manifest =
			serde_json::from_slice(bytes).map_err(|e| Error::Manifest(e.to_string()))?;
		if m.version != MANIFEST_VERSION {
			return Err(Error::Manifest(format!("unknown version {}", m.version)));
		}
		Ok(m)
	}

	/// Checks that the manifest covers `sensors × from_epoch..=through_epoch` (the
	/// agreement's sensors and the epochs delivered) exactly: each (sensor, epoch)
	/// once, as a segment or an empty entry, and nothing else. A dishonest provider
	/// cannot leave an epoch out, list one twice, or slip in a segment of another
	/// agreement of the same requester (its re-key would still open it).
	pub fn check_covers(
		&self,
		sensors: &[cbpre::Identity],
		from_epoch: u64,
		through_epoch: u64,
	) -> Result<(), Error> {
		let incomplete = |reason: String| Err(Error::Incomplete(reason));
		if self.from_epoch != from_epoch || self.to_epoch != through_epoch {
			return incomplete(format!(
				"the manifest covers epochs {}..={}, not {from_epoch}..={through_epoch}",
				self.from_epoch, self.to_epoch
			));
		}
		let wanted: Vec<String> = sensors.iter().map(|s| hex::encode(s.as_bytes())).collect();
		let listed = self
			.segments
			.iter()
			.map(|s| (&s.sensor, s.epoch))
			.chain(self.empty.iter().map(|e| (&e.sensor, e.epoch)));
		let mut seen = std::collections::BTreeSet::new();
		for (sensor, epoch) in listed {
			if !wanted.contains(sensor) || !(from_epoch..=through_epoch).contains(&epoch) {
				return incomplete(format!(
					"sensor {sensor} epoch {epoch} is not in the agreement"
				));
			}
			if !seen.insert((sensor.as_str(), epoch)) {
				return incomplete(format!("sensor {sensor} epoch {epoch} is listed twice"));
			}
		}
		// Every entry is distinct and inside the range: the range is covered once the
		// counts agree, and otherwise the first (sensor, epoch) not seen is missing.
		for sensor in &wanted {
			for epoch in from_epoch..=through_epoch {
				if !seen.contains(&(sensor.as_str(), epoch)) {
					return incomplete(format!("sensor {sensor} epoch {epoch} is missing"));
				}
			}
		}
		Ok(())
	}
}

impl Manifest {
	/// The manifest's empty entries of epochs from `from_epoch` on, as the chain
	/// names them: by the sensor's place in `sensors` (the agreement's order) and
	/// the epoch, in ascending order. An entry of a sensor not in `sensors` is left
	/// out ([`Self::check_covers`] refuses such a manifest).
	pub fn empty_epochs(&self, sensors: &[cbpre::Identity], from_epoch: u64) -> Vec<EmptyEpoch> {
		let places: Vec<String> = sensors.iter().map(|s| hex::encode(s.as_bytes())).collect();
		let mut out: Vec<EmptyEpoch> = self
			.empty
			.iter()
			.filter(|e| e.epoch >= from_epoch)
			.filter_map(|e| {
				let sensor = places.iter().position(|s| *s == e.sensor)?;
				Some(EmptyEpoch { sensor: u32::try_from(sensor).ok()?, epoch: e.epoch })
			})
			.collect();
		out.sort_unstable();
		out
	}

	/// Checks that the manifest's empty entries are exactly `on_chain`, the
	/// sensor-epochs that the provider named empty on chain for the agreement
	/// (whose sensors are `sensors`): an epoch the manifest calls empty but the
	/// chain does not would be paid for without data.
	pub fn check_empty(
		&self,
		sensors: &[cbpre::Identity],
		on_chain: &[EmptyEpoch],
	) -> Result<(), Error> {
		let listed = self.empty_epochs(sensors, self.from_epoch);
		let mut on_chain = on_chain.to_vec();
		on_chain.sort_unstable();
		let name = |e: &EmptyEpoch| {
			let sensor = sensors.get(e.sensor as usize).map(|s| hex::encode(s.as_bytes()));
			format!("sensor {} epoch {}", sensor.unwrap_or_else(|| e.sensor.to_string()), e.epoch)
		};
		if let Some(e) = listed.iter().find(|e| on_chain.binary_search(e).is_err()) {
			return Err(Error::Incomplete(format!(
				"the manifest lists {} as empty, but the chain was told it has data",
				name(e)
			)));
		}
		if let Some(e) = on_chain.iter().find(|e| listed.binary_search(e).is_err()) {
			return Err(Error::Incomplete(format!(
				"the chain was told {} is empty, but the manifest does not list it so",
				name(e)
			)));
		}
		Ok(())
	}
}

impl SegmentEntry {
	/// Checks a downloaded segment against this entry and decodes it.
	pub fn open(&self, bytes: &[u8]) -> Result<Segment, Error> {
		if bytes.len() as u64 != self.size || hex::encode(sha256(bytes)) != self.sha256 {
			return Err(Error::DigestMismatch(format!("segment {}", self.name)));
		}
		let segment = Segment::from_bytes(bytes)?;
		let records: u64 = segment.batches.iter().map(|b| b.headers().len() as u64).sum();
		if records != u64::from(self.records) {
			return Err(malformed("segment", "record count differs from the manifest"));
		}
		Ok(segment)
	}
}

/// One sensor's epoch, re-encrypted for the requester.
#[derive(Debug, Clone)]
pub struct Segment {
	/// The capsule, re-encrypted for the requester.
	pub capsule: ReEncryptedCapsule,
	/// The epoch's batches, as the sensor signed them (not yet checked).
	pub batches: Vec<UnverifiedBatch>,
}

/// Writes a segment from a re-encrypted capsule and batches in their byte form.
pub fn encode_segment<'a>(
	capsule: &ReEncryptedCapsule,
	batches: impl ExactSizeIterator<Item = &'a [u8]> + Clone,
) -> Vec<u8> {
	let total: usize = batches.clone().map(|b| 4 + b.len()).sum();
	// A segment holds at most u32::MAX batches: the worker's quotas keep far below.
	let mut out = segment_head(capsule, batches.len() as u32);
	out.reserve(total);
	for b in batches {
		out.extend_from_slice(&batch_frame(b));
		out.extend_from_slice(b);
	}
	out
}

/// The start of a segment: the re-encrypted capsule, framed by its length, and the
/// number of batches that follow, each framed by [`batch_frame`]. A writer that
/// streams a segment writes this, then each batch's frame and bytes.
pub fn segment_head(capsule: &ReEncryptedCapsule, batches: u32) -> Vec<u8> {
	let capsule = capsule.to_bytes();
	let mut out = Vec::with_capacity(2 + capsule.len() + 4);
	// A re-encrypted capsule is a few hundred bytes, well within a u16.
	out.extend_from_slice(&(capsule.len() as u16).to_be_bytes());
	out.extend_from_slice(&capsule);
	out.extend_from_slice(&batches.to_be_bytes());
	out
}

/// What comes before a batch's bytes in a segment: its length (a batch is at most
/// [`crate::batch::MAX_BATCH_BYTES`], far below u32::MAX).
pub fn batch_frame(batch: &[u8]) -> [u8; 4] {
	(batch.len() as u32).to_be_bytes()
}

impl Segment {
	/// Decodes a segment strictly: the capsule, then each batch decoded strictly.
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
		let mut rest = bytes;
		let capsule_len = usize::from(u16::from_be_bytes(take_array(&mut rest)?));
		let capsule = ReEncryptedCapsule::from_bytes(take(&mut rest, capsule_len)?)?;
		let count = u32::from_be_bytes(take_array(&mut rest)?);
		let mut batches = Vec::new();
		for _ in 0..count {
			let len = u32::from_be_bytes(take_array(&mut rest)?);
			batches.push(UnverifiedBatch::from_bytes(take(&mut rest, len as usize)?)?);
		}
		if !rest.is_empty() {
			return Err(malformed("segment", "trailing bytes"));
		}
		Ok(Segment { capsule, batches })
	}

	/// Checks every batch against `sensor`'s key for `meta` (the segment's sensor
	/// and epoch), and that their sequence numbers strictly ascend (no batch twice):
	/// no record that the sensor did not sign gets through.
	pub fn verify(self, sensor: &PublicKey, meta: &Meta) -> Result<Vec<VerifiedBatch>, Error> {
		let mut out: Vec<VerifiedBatch> = Vec::with_capacity(self.batches.len());
		for batch in self.batches {
			let batch = batch.verify(sensor, meta)?;
			if out.last().is_some_and(|prev| prev.sequence() >= batch.sequence()) {
				return Err(Error::Incomplete(format!(
					"batch {} of sensor {} epoch {} is out of order or repeated",
					batch.sequence(),
					hex::encode(meta.id.as_bytes()),
					meta.epoch
				)));
			}
			out.push(batch);
		}
		Ok(out)
	}
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], Error> {
	if rest.len() < n {
		return Err(malformed("segment", "truncated"));
	}
	let (head, tail) = rest.split_at(n);
	*rest = tail;
	Ok(head)
}

fn take_array<const N: usize>(rest: &mut &[u8]) -> Result<[u8; N], Error> {
	let mut out = [0u8; N];
	out.copy_from_slice(take(rest, N)?);
	Ok(out)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{batch::sign_batch_with_rng, header::RecordHeader};
	use cbpre::dev;
	use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

	fn delivery() -> (Vec<u8>, SegmentEntry, cbpre::SecretKey, cbpre::SecretKey) {
		let mut rng = ChaCha20Rng::seed_from_u64(6);
		let sensor = dev::enroll_with_rng(b"sensor", &mut rng).expect("enrol");
		let bob = dev::enroll_with_rng(b"bob", &mut rng).expect("enrol");
		let (m, capsule) = sensor.encapsulate(4).expect("encapsulate");
		let records: Vec<Vec<u8>> = (0..3)
			.map(|i| {
				let h = RecordHeader::new(4 * 60_000 + i).to_bytes();
				m.seal_with_rng(capsule.meta(), &h, b"reading", &mut rng).expect("seal").to_bytes()
			})
			.collect();
		// Two batches: records 0 and 1, then 2.
		let batches: Vec<Vec<u8>> = [(0, &records[..2]), (1, &records[2..])]
			.into_iter()
			.map(|(seq, recs)| {
				let recs = recs.iter().map(Vec::as_slice);
				sign_batch_with_rng(&sensor, 4, seq, recs, &mut rng).expect("batch")
			})
			.collect();
		let bob_pk = PublicKey::derive(bob.id(), bob.certificate(), &dev::ca().public_key())
			.expect("derive");
		let rk = sensor.rekey(capsule.meta(), &bob_pk).expect("rekey");
		let rcap = capsule.verify(sensor.public_key()).expect("verify").re_encrypt(&rk, *bob.id());
		let bytes = encode_segment(&rcap, batches.iter().map(Vec::as_slice));
		let entry = SegmentEntry {
			sensor: hex::encode(sensor.id().as_bytes()),
			epoch: 4,
			name: "seg".into(),
			size: bytes.len() as u64,
			sha256: hex::encode(sha256(&bytes)),
			records: 3,
		};
		(bytes, entry, sensor, bob)
	}

	#[test]
	fn a_segment_opens_to_records_the_requester_can_read() {
		let (bytes, entry, sensor, bob) = delivery();
		let segment = entry.open(&bytes).expect("opens");
		let m = bob.decrypt2(sensor.public_key(), &segment.capsule).expect("decrypt2");
		let meta = Meta::new(*sensor.id(), 4);
		let batches = segment.verify(sensor.public_key(), &meta).expect("the sensor's batches");
		let records: Vec<_> = batches.iter().flat_map(|b| b.records()).collect();
		assert_eq!(records.len(), 3);
		for (_, r) in records {
			assert_eq!(m.open(&meta, r).expect("open"), b"reading");
		}
	}

	#[test]
	fn a_segment_with_a_batch_another_key_signed_or_repeated_is_refused() {
		let (bytes, entry, sensor, bob) = delivery();
		let meta = Meta::new(*sensor.id(), 4);
		let segment = entry.open(&bytes).expect("opens");
		// A batch the sensor did not sign: sealed under the epoch's data key (which
		// the requester, or any buyer of the epoch, knows) and signed by another key.
		let m = bob.decrypt2(sensor.public_key(), &segment.capsule).expect("decrypt2");
		let header = RecordHeader::new(4 * 60_000 + 9).to_bytes();
		let mut rng = ChaCha20Rng::seed_from_u64(8);
		let forged = m.seal_with_rng(&meta, &header, b"forged", &mut rng).expect("seal");
		let forger = dev::enroll_with_rng(b"sensor", &mut rng).expect("same id, other key");
		let forged_batch =
			sign_batch_with_rng(&forger, 4, 2, [&forged.to_bytes()[..]].into_iter(), &mut rng)
				.expect("batch");
		let verified = segment.clone().verify(sensor.public_key(), &meta).expect("verify");
		let mut with_forged: Vec<Vec<u8>> =
			verified.iter().map(|b| b.as_bytes().to_vec()).collect();
		with_forged.push(forged_batch);
		let tampered = encode_segment(&segment.capsule, with_forged.iter().map(Vec::as_slice));
		let tampered = Segment::from_bytes(&tampered).expect("well-formed");
		assert!(matches!(
			tampered.verify(sensor.public_key(), &meta),
			Err(Error::Crypto(cbpre::Error::InvalidSignature))
		));
		let twice = [verified[0].as_bytes(), verified[0].as_bytes()];
		let twice = Segment::from_bytes(&encode_segment(&segment.capsule, twice.into_iter()))
			.expect("well-formed");
		assert!(matches!(twice.verify(sensor.public_key(), &meta), Err(Error::Incomplete(_))));
	}

	#[test]
	fn a_segment_that_differs_from_its_entry_is_refused() {
		let (mut bytes, entry, ..) = delivery();
		let last = bytes.len() - 1;
		bytes[last] ^= 1;
		assert!(matches!(entry.open(&bytes), Err(Error::DigestMismatch(_))));
		assert!(matches!(Segment::from_bytes(&bytes[..10]), Err(Error::Malformed { .. })));
		let mut longer = bytes.clone();
		longer.push(0);
		assert!(matches!(Segment::from_bytes(&longer), Err(Error::Malformed { .. })));
	}

	#[test]
	fn a_manifest_is_accepted_only_with_the_digest_on_chain() {
		let (_, entry, ..) = delivery();
		let manifest = Manifest {
			version: MANIFEST_VERSION,
			agreement: 1,
			requester: hex::encode(b"bob"),
			from_epoch: 4,
			to_epoch: 4,
			segments: vec![entry],
			empty: Vec::new(),
		};
		let bytes = manifest.to_bytes();
		let digest = sha256(&bytes);
		assert_eq!(Manifest::from_bytes_checked(&bytes, &digest), Ok(manifest));
		assert!(matches!(
			Manifest::from_bytes_checked(&bytes, &[0; 32]),
			Err(Error::DigestMismatch(_))
		));
		assert!(matches!(
			Manifest::from_bytes_checked(b"{}", &sha256(b"{}")),
			Err(Error::Manifest(_))
		));
	}

	fn manifest(segments: &[(&[u8], u64)], empty: &[(&[u8], u64)], from: u64, to: u64) -> Manifest {
		let entry = |(sensor, epoch): &(&[u8], u64)| SegmentEntry {
			sensor: hex::encode(sensor),
			epoch: *epoch,
			name: format!("{}-{epoch}", hex::encode(sensor)),
			size: 0,
			sha256: String::new(),
			records: 0,
		};
		Manifest {
			version: MANIFEST_VERSION,
			agreement: 1,
			requester: hex::encode(b"bob"),
			from_epoch: from,
			to_epoch: to,
			segments: segments.iter().map(entry).collect(),
			empty: empty
				.iter()
				.map(|(s, e)| EmptyEntry { sensor: hex::encode(s), epoch: *e })
				.collect(),
		}
	}

	fn incomplete(m: &Manifest, sensors: &[&[u8]], from: u64, to: u64) -> String {
		let ids: Vec<cbpre::Identity> =
			sensors.iter().map(|s| cbpre::Identity::new(s).expect("id")).collect();
		match m.check_covers(&ids, from, to) {
			Err(Error::Incomplete(reason)) => reason,
			other => panic!("not refused as incomplete: {other:?}"),
		}
	}

	#[test]
	fn a_manifest_covering_every_sensor_and_epoch_once_is_complete_with_empty_epochs() {
		let m = manifest(&[(b"t1", 4), (b"t1", 5), (b"t2", 5)], &[(b"t2", 4)], 4, 5);
		let ids =
			[cbpre::Identity::new(b"t1").expect("id"), cbpre::Identity::new(b"t2").expect("id")];
		assert_eq!(m.check_covers(&ids, 4, 5), Ok(()));
	}

	#[test]
	fn a_manifest_missing_repeating_or_straying_from_the_agreement_is_incomplete() {
		let (t1, t2): (&[u8], &[u8]) = (b"t1", b"t2");
		let missing = manifest(&[(t1, 4), (t1, 5), (t2, 5)], &[], 4, 5);
		assert!(incomplete(&missing, &[t1, t2], 4, 5).contains("epoch 4 is missing"));
		let twice = manifest(&[(t1, 4), (t1, 4), (t1, 5)], &[], 4, 5);
		assert!(incomplete(&twice, &[t1], 4, 5).contains("listed twice"));
		let empty_and_segment = manifest(&[(t1, 4), (t1, 5)], &[(t1, 5)], 4, 5);
		assert!(incomplete(&empty_and_segment, &[t1], 4, 5).contains("listed twice"));
		let earlier = manifest(&[(t1, 3), (t1, 4), (t1, 5)], &[], 4, 5);
		assert!(incomplete(&earlier, &[t1], 4, 5).contains("epoch 3 is not in the agreement"));
		let other_sensor = manifest(&[(t1, 4), (t2, 4)], &[], 4, 4);
		assert!(incomplete(&other_sensor, &[t1], 4, 4).contains("not in the agreement"));
		let shifted = manifest(&[(t1, 5)], &[], 5, 5);
		assert!(incomplete(&shifted, &[t1], 4, 5).contains("covers epochs 5..=5"));
	}

	#[test]
	fn the_empty_entries_are_named_by_the_sensors_place_as_on_chain() {
		let m = manifest(&[(b"t1", 4)], &[(b"t2", 5), (b"t1", 5), (b"t2", 4)], 4, 5);
		let ids =
			[cbpre::Identity::new(b"t1").expect("id"), cbpre::Identity::new(b"t2").expect("id")];
		let e = |sensor, epoch| EmptyEpoch { sensor, epoch };
		assert_eq!(m.empty_epochs(&ids, 4), vec![e(0, 5), e(1, 4), e(1, 5)]);
		assert_eq!(m.empty_epochs(&ids, 5), vec![e(0, 5), e(1, 5)], "only the new ones");
		assert_eq!(m.check_empty(&ids, &[e(1, 5), e(0, 5), e(1, 4)]), Ok(()));
	}

	#[test]
	fn empty_entries_that_differ_from_the_chains_are_refused() {
		let m = manifest(&[(b"t1", 4)], &[(b"t1", 5)], 4, 5);
		let ids = [cbpre::Identity::new(b"t1").expect("id")];
		let e = |sensor, epoch| EmptyEpoch { sensor, epoch };
		let Err(Error::Incomplete(unpaid)) = m.check_empty(&ids, &[]) else {
			panic!("an empty entry the chain does not know is refused")
		};
		assert!(unpaid.contains("epoch 5 as empty"), "{unpaid}");
		let Err(Error::Incomplete(extra)) = m.check_empty(&ids, &[e(0, 4), e(0, 5)]) else {
			panic!("an empty epoch on chain that the manifest delivers is refused")
		};
		assert!(extra.contains("epoch 4 is empty"), "{extra}");
	}
}
