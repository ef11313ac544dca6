//! Building a delivery: re-encrypt each capsule of an agreement for its requester and
//! write it with the epoch's records, then the manifest whose digest goes on chain.
//!
//! A subscription is delivered in steps, as its epochs are re-keyed. Each step's
//! manifest lists every segment delivered so far: those of the previous manifest,
//! which are never rewritten (the previous digest on chain still vouches for them),
//! and the new epochs' segments.

use crate::store::{delivery_prefix, Store, StoreError};
use bytes::Bytes;
use cbpre::{Capsule, Identity, PublicKey, ReKey};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use sensorshare_protocol::{
	delivery::{encode_segment, Manifest, SegmentEntry, MANIFEST_VERSION},
	sha256,
};
use serde::{Deserialize, Serialize};

/// How many records are read from the store at once.
const READ_CONCURRENCY: usize = 32;

/// One accepted agreement, with all the chain says about it.
#[derive(Debug, Clone)]
pub struct Job {
	/// The agreement.
	pub agreement: u64,
	/// The requester's account (32 bytes), for the access list.
	pub requester_account: [u8; 32],
	/// The requester's identity: capsules are re-encrypted for it.
	pub requester: Identity,
	/// The requester's public key, which download challenges are checked against.
	pub requester_key: PublicKey,
	/// The agreement's first epoch.
	pub from_epoch: u64,
	/// The last epoch this delivery covers (inclusive).
	pub through_epoch: u64,
	/// The last epoch of the previous delivery on chain, if there is one.
	pub delivered_through: Option<u64>,
	/// The agreement's sensors and their public keys, in the agreement's order.
	pub sensors: Vec<(Identity, PublicKey)>,
	/// For each sensor, one re-key per epoch from `from_epoch`, at least up to
	/// `through_epoch`.
	pub rekeys: Vec<Vec<ReKey>>,
}

/// Who may read a delivery: stored beside it, so downloads work after the agreement
/// is settled and gone from the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
	/// The requester's account, hex.
	pub account: String,
	/// The requester's identity, hex.
	pub id: String,
	/// The requester's public key, hex (33 bytes, compressed).
	pub public_key: String,
}

/// A written delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
	/// The digest of the manifest, for `deliver`.
	pub digest: [u8; 32],
	/// The store prefix of the delivery.
	pub prefix: String,
	/// Bytes of records delivered.
	pub record_bytes: u64,
	/// Segments written.
	pub segments: usize,
	/// Whether the delivery was found already written (a restart after a crash).
	pub resumed: bool,
	/// Time spent verifying and re-encrypting capsules.
	pub reencrypt: std::time::Duration,
}

/// Why a delivery could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
	/// The store failed.
	#[error(transparent)]
	Store(#[from] StoreError),
	/// The chain gave a number of re-keys that does not fit the agreement.
	#[error("agreement {0}: the re-keys do not match its sensors and epochs")]
	ReKeyShape(u64),
	/// A stored capsule no longer decodes or verifies (the store was tampered with).
	#[error("stored capsule of {sensor} epoch {epoch}: {source}")]
	BadCapsule {
		/// The sensor, hex.
		sensor: String,
		/// The epoch.
		epoch: u64,
		/// Why.
		source: cbpre::Error,
	},
	/// A stored manifest cannot be read back.
	#[error("stored manifest of agreement {0} is unreadable")]
	BadManifest(u64),
}

/// The path in the store of the manifest of the delivery through `through_epoch`.
pub fn manifest_path(agreement: u64, through_epoch: u64) -> Path {
	Path::from(format!("{}/manifests/{through_epoch:020}.json", delivery_prefix(agreement)))
}

/// The access list's path in the store.
pub fn access_path(agreement: u64) -> Path {
	Path::from(format!("{}/access.json", delivery_prefix(agreement)))
}

/// A segment's path in the store.
pub fn segment_path(agreement: u64, name: &str) -> Path {
	Path::from(format!("{}/segments/{name}", delivery_prefix(agreement)))
}

/// Writes the delivery of `job`, or finds it written: the manifest is written last,
/// so a manifest in the store means a complete delivery, and its digest is the one
/// to put on chain (a restarted worker never puts a second digest on chain).
pub async fn write_delivery(store: &Store, job: &Job) -> Result<Written, DeliveryError> {
	let prefix = delivery_prefix(job.agreement);
	if let Some((manifest, bytes)) = read_manifest(store, job.agreement, job.through_epoch).await? {
		return Ok(Written {
			digest: sha256(&bytes),
			prefix,
			record_bytes: 0,
			segments: manifest.segments.len(),
			resumed: true,
			reencrypt: Default::default(),
		});
	}
	let epochs = job.through_epoch.checked_sub(job.from_epoch).map(|d| d.saturating_add(1));
	let shape_ok = job.rekeys.len() == job.sensors.len()
		&& job.rekeys.iter().all(|r| epochs.is_some_and(|e| r.len() as u64 >= e))
		&& job.delivered_through.is_none_or(|d| d < job.through_epoch);
	if !shape_ok {
		return Err(DeliveryError::ReKeyShape(job.agreement));
	}

	let access = Access {
		account: hex::encode(job.requester_account),
		id: hex::encode(job.requester.as_bytes()),
		public_key: hex::encode(job.requester_key.to_bytes()),
	};
	let access = serde_json::to_vec(&access).unwrap_or_default();
	store.put(&access_path(job.agreement), Bytes::from(access)).await?;

	// The segments the previous delivery vouched for stay as they are.
	let previous = match job.delivered_through {
		Some(prev) => read_manifest(store, job.agreement, prev).await?.map(|(m, _)| (prev, m)),
		None => None,
	};
	let (first_new, mut segments) = match previous {
		Some((prev, m)) => (prev.saturating_add(1), m.segments),
		None => (job.from_epoch, Vec::new()),
	};
	let mut tally = Tally::default();
	for ((sensor, sensor_key), rekeys) in job.sensors.iter().zip(&job.rekeys) {
		for (epoch, rk) in (job.from_epoch..=job.through_epoch).zip(rekeys) {
			if epoch < first_new {
				continue;
			}
			let Some(entry) =
				write_segment(store, job, sensor, sensor_key, epoch, rk, &mut tally).await?
			else {
				continue;
			};
			segments.push(entry);
		}
	}
	// In the agreement's sensor order, each sensor's epochs ascending.
	let order: Vec<String> = job.sensors.iter().map(|(s, _)| hex::encode(s.as_bytes())).collect();
	segments.sort_by_key(|e| (order.iter().position(|s| *s == e.sensor), e.epoch));
	let manifest = Manifest {
		version: MANIFEST_VERSION,
		agreement: job.agreement,
		requester: hex::encode(job.requester.as_bytes()),
		from_epoch: job.from_epoch,
		to_epoch: job.through_epoch,
		segments,
	};
	let bytes = manifest.to_bytes();
	let digest = sha256(&bytes);
	store.put(&manifest_path(job.agreement, job.through_epoch), Bytes::from(bytes)).await?;
	Ok(Written {
		digest,
		prefix,
		record_bytes: tally.record_bytes,
		segments: manifest.segments.len(),
		resumed: false,
		reencrypt: tally.reencrypt,
	})
}

/// What writing segments took.
#[derive(Default)]
struct Tally {
	record_bytes: u64,
	reencrypt: std::time::Duration,
}

/// The stored manifest of the delivery through `through_epoch`, and its bytes.
async fn read_manifest(
	store: &Store,
	agreement: u64,
	through_epoch: u64,
) -> Result<Option<(Manifest, Bytes)>, DeliveryError> {
	let Some(bytes) = store.get_opt(&manifest_path(agreement, through_epoch)).await? else {
		return Ok(None);
	};
	let manifest =
		serde_json::from_slice(&bytes).map_err(|_| DeliveryError::BadManifest(agreement))?;
	Ok(Some((manifest, bytes)))
}

/// Re-encrypts one sensor's epoch and writes it as a segment; `None` if the sensor
/// uploaded nothing for the epoch.
async fn write_segment(
	store: &Store,
	job: &Job,
	sensor: &Identity,
	sensor_key: &PublicKey,
	epoch: u64,
	rk: &ReKey,
	tally: &mut Tally,
) -> Result<Option<SegmentEntry>, DeliveryError> {
	let sensor_hex = hex::encode(sensor.as_bytes());
	let Some(capsule) = store.capsule(sensor.as_bytes(), epoch).await? else {
		return Ok(None);
	};
	let bad = |source| DeliveryError::BadCapsule { sensor: sensor_hex.clone(), epoch, source };
	let started = std::time::Instant::now();
	let capsule = Capsule::from_bytes(&capsule).map_err(bad)?.verify(sensor_key).map_err(bad)?;
	let re_encrypted = capsule.re_encrypt(rk, job.requester);
	tally.reencrypt += started.elapsed();

	let paths = store.record_paths(sensor.as_bytes(), epoch).await?;
	let records: Vec<Bytes> = futures::stream::iter(paths)
		.map(|p| async move { store.get(&p).await })
		.buffered(READ_CONCURRENCY)
		.try_collect()
		.await?;
	tally.record_bytes += records.iter().map(|r| r.len() as u64).sum::<u64>();

	let bytes = encode_segment(&re_encrypted, records.iter().map(|r| r.as_ref()));
	let name = format!("{sensor_hex}-{epoch:020}");
	let entry = SegmentEntry {
		sensor: sensor_hex,
		epoch,
		name: name.clone(),
		size: bytes.len() as u64,
		sha256: hex::encode(sha256(&bytes)),
		records: records.len() as u32,
	};
	store.put(&segment_path(job.agreement, &name), Bytes::from(bytes)).await?;
	Ok(Some(entry))
}

/// The access list of a written delivery.
pub async fn read_access(store: &Store, agreement: u64) -> Result<Option<Access>, StoreError> {
	match store.get_opt(&access_path(agreement)).await? {
		None => Ok(None),
		Some(b) => {
			serde_json::from_slice(&b).map(Some).map_err(|_| StoreError::CorruptAccess(agreement))
		},
	}
}
