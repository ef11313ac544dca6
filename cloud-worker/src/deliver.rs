//! Delivering an agreement: re-encrypt each capsule of the agreement for its
//! requester and write it with the epoch's records, then the manifest whose digest
//! goes on chain ([`write_delivery`]); then submit `deliver` ([`Deliverer`]).
//!
//! A subscription is delivered in steps, as its epochs are re-keyed. Each step's
//! manifest lists every segment delivered so far: those of the previous manifest,
//! which are never rewritten (the previous digest on chain still vouches for them, and
//! the previous manifest is checked against it before it is extended), and the new
//! epochs' segments.
//!
//! Its part in [exactly once](crate#exactly-once): the manifest is written last, and a
//! delivery found written in the store is reused as it is; and before submitting, the
//! agreement's state on chain is checked again. So a restart never puts a second,
//! different digest on chain.

use crate::{
	api::Published,
	metrics::Metrics,
	store::{
		access_path, delivery_prefix, manifest_path, segment_name, segment_path, ObjectWriter,
		Store, StoreError,
	},
};
use bytes::Bytes;
use cbpre::{Capsule, Identity, PublicKey, ReKey};
use futures::{StreamExt, TryStreamExt};
use sensorshare_chain_client::{
	AccountId32, AgreementStatus, ChainClient, Error as ChainError, Keypair, MarketError, Progress,
};
use sensorshare_protocol::{
	batch::batch_head,
	delivery::{
		batch_frame, segment_head, EmptyEntry, EmptyEpoch, Manifest, SegmentEntry, MANIFEST_VERSION,
	},
	routes::Location,
	sha256,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{
	sync::Arc,
	time::{Duration, Instant},
};
use tokio::sync::watch;

/// How many batches are read from the store at once: at most 4 MiB in memory.
const READ_CONCURRENCY: usize = 4;

/// Who a delivery is for: the agreement's requester, as the chain registers it.
#[derive(Debug, Clone, Copy)]
pub struct Requester {
	/// Its account (32 bytes), for the access list.
	pub account: [u8; 32],
	/// Its identity: capsules are re-encrypted for it.
	pub id: Identity,
	/// Its public key, which download challenges are checked against.
	pub key: PublicKey,
}

impl Requester {
	/// The access list of its deliveries.
	fn access(&self) -> Access {
		Access {
			account: hex::encode(self.account),
			id: hex::encode(self.id.as_bytes()),
			public_key: hex::encode(self.key.to_bytes()),
		}
	}
}

/// One accepted agreement, with all the chain says about it.
#[derive(Debug, Clone)]
pub struct Job {
	/// The agreement.
	pub agreement: u64,
	/// Its requester.
	pub requester: Requester,
	/// How far it has come on chain. The delivery covers its epochs from the first
	/// through the last re-keyed: those of the previous delivery (through the last
	/// delivered), and those re-keyed and not yet delivered
	/// ([`Progress::undelivered`]), of which there must be some.
	pub progress: Progress,
	/// The digest on chain of the previous delivery's manifest, if there is one: the
	/// stored manifest is checked against it before it is extended.
	pub previous_digest: Option<[u8; 32]>,
	/// The agreement's sensors and their public keys, in the agreement's order.
	pub sensors: Vec<(Identity, PublicKey)>,
	/// For each sensor, one re-key per epoch from the first, at least through the last
	/// re-keyed.
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
	/// The sensor-epochs this delivery newly covers that are empty, as `deliver`
	/// names them on chain.
	pub empty: Vec<EmptyEpoch>,
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
		/// The check of the capsule that failed.
		source: cbpre::Error,
	},
	/// A stored manifest cannot be read back, or the previous one, to be extended, is
	/// not the one whose digest is on chain.
	#[error("stored manifest of agreement {0} is unreadable or not the one on chain")]
	BadManifest(u64),
	/// An epoch holds more records than a segment can count (u32): the quotas keep
	/// far below, so the store was written around them.
	#[error("sensor {sensor} epoch {epoch} holds {records} records, more than a segment counts")]
	TooManyRecords {
		/// The sensor, hex.
		sensor: String,
		/// The epoch.
		epoch: u64,
		/// How many.
		records: usize,
	},
	/// An epoch has records but not yet their capsule: delivered once it is there.
	#[error("sensor {sensor} epoch {epoch} has records but no capsule yet; waiting for it")]
	CapsuleMissing {
		/// The sensor, hex.
		sensor: String,
		/// The epoch.
		epoch: u64,
	},
}

/// Writes the delivery of `job`, or finds it written: the manifest is written last,
/// so a manifest in the store means a complete delivery, and its digest is the one
/// to put on chain (a restarted worker never puts a second digest on chain).
pub async fn write_delivery(store: &Store, job: &Job) -> Result<Written, DeliveryError> {
	let shape = || DeliveryError::ReKeyShape(job.agreement);
	let through_epoch = job.progress.last_rekeyed_epoch().ok_or_else(shape)?;
	let prefix = delivery_prefix(job.agreement);
	let found = read_manifest(store, job.agreement, through_epoch, None).await?;
	if let Some((manifest, bytes)) = found {
		return Ok(Written {
			digest: sha256(&bytes),
			prefix,
			record_bytes: 0,
			segments: manifest.segments.len(),
			resumed: true,
			reencrypt: Default::default(),
			empty: job.new_empty(&manifest),
		});
	}
	let rekeyed = u64::from(job.progress.rekeyed);
	let shape_ok = job.rekeys.len() == job.sensors.len()
		&& job.rekeys.iter().all(|r| r.len() as u64 >= rekeyed);
	let (first_new, _) = job.progress.undelivered().filter(|_| shape_ok).ok_or_else(shape)?;

	let access = serde_json::to_vec(&job.requester.access()).unwrap_or_default();
	store.put(&access_path(job.agreement), Bytes::from(access)).await?;

	// The segments the previous delivery vouched for stay as they are.
	let previous = match job.progress.last_delivered_epoch() {
		Some(prev) => {
			read_manifest(store, job.agreement, prev, job.previous_digest.as_ref()).await?
		},
		None => None,
	};
	let (first_new, mut segments, mut empty) = match previous {
		Some((m, _)) => (first_new, m.segments, m.empty),
		None => (job.progress.from_epoch, Vec::new(), Vec::new()),
	};
	let mut tally = Tally::default();
	for ((sensor, sensor_key), rekeys) in job.sensors.iter().zip(&job.rekeys) {
		for (epoch, rk) in (job.progress.from_epoch..=through_epoch).zip(rekeys) {
			if epoch < first_new {
				continue;
			}
			match write_segment(store, job, sensor, sensor_key, epoch, rk, &mut tally).await? {
				Some(entry) => segments.push(entry),
				// Listed as empty: the requester sees it was not left out.
				None => empty.push(EmptyEntry { sensor: hex::encode(sensor.as_bytes()), epoch }),
			}
		}
	}
	// In the agreement's sensor order, each sensor's epochs ascending.
	let order: Vec<String> = job.sensors.iter().map(|(s, _)| hex::encode(s.as_bytes())).collect();
	segments.sort_by_key(|e| (order.iter().position(|s| *s == e.sensor), e.epoch));
	empty.sort_by_key(|e| (order.iter().position(|s| *s == e.sensor), e.epoch));
	let manifest = Manifest {
		version: MANIFEST_VERSION,
		agreement: job.agreement,
		requester: hex::encode(job.requester.id.as_bytes()),
		from_epoch: job.progress.from_epoch,
		to_epoch: through_epoch,
		segments,
		empty,
	};
	let bytes = manifest.to_bytes();
	let digest = sha256(&bytes);
	store.put(&manifest_path(job.agreement, through_epoch), Bytes::from(bytes)).await?;
	Ok(Written {
		digest,
		prefix,
		record_bytes: tally.record_bytes,
		segments: manifest.segments.len(),
		resumed: false,
		reencrypt: tally.reencrypt,
		empty: job.new_empty(&manifest),
	})
}

impl Job {
	/// The empty entries of `manifest` among the epochs this job newly delivers.
	fn new_empty(&self, manifest: &Manifest) -> Vec<EmptyEpoch> {
		let ids: Vec<Identity> = self.sensors.iter().map(|(id, _)| *id).collect();
		let first_new = self.progress.next_delivery_epoch().unwrap_or(u64::MAX);
		manifest.empty_epochs(&ids, first_new)
	}
}

/// What writing segments took.
#[derive(Default)]
struct Tally {
	record_bytes: u64,
	reencrypt: std::time::Duration,
}

/// The stored manifest of the delivery through `through_epoch`, and its bytes. Its
/// bytes are checked against `digest` (from the chain) if one is given; its version
/// is checked in any case.
async fn read_manifest(
	store: &Store,
	agreement: u64,
	through_epoch: u64,
	digest: Option<&[u8; 32]>,
) -> Result<Option<(Manifest, Bytes)>, DeliveryError> {
	let Some(bytes) = store.get_opt(&manifest_path(agreement, through_epoch)).await? else {
		return Ok(None);
	};
	let manifest = match digest {
		Some(digest) => Manifest::from_bytes_checked(&bytes, digest),
		None => Manifest::from_bytes_unchecked(&bytes),
	}
	.map_err(|_| DeliveryError::BadManifest(agreement))?;
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
		// Records without their capsule: the capsule is on its way (a sensor retries
		// it), and the epoch is not delivered as if it were complete without it.
		if !store.batch_paths(sensor.as_bytes(), epoch).await?.is_empty() {
			return Err(DeliveryError::CapsuleMissing { sensor: sensor_hex, epoch });
		}
		return Ok(None);
	};
	let bad = |source| DeliveryError::BadCapsule { sensor: sensor_hex.clone(), epoch, source };
	let started = Instant::now();
	let capsule = Capsule::from_bytes(&capsule).map_err(bad)?.verify(sensor_key).map_err(bad)?;
	let re_encrypted = capsule.re_encrypt(rk, job.requester.id);
	tally.reencrypt += started.elapsed();

	// Streamed: each batch goes from the store into the segment as it is read,
	// signature and all, and the segment to the store in parts, so memory stays
	// bounded whatever the epoch's size (the listing of the batches' names aside).
	let paths = store.batch_paths(sensor.as_bytes(), epoch).await?;
	let too_many = || DeliveryError::TooManyRecords {
		sensor: sensor_hex.clone(),
		epoch,
		records: paths.len(),
	};
	let batches = u32::try_from(paths.len()).map_err(|_| too_many())?;
	let name = segment_name(sensor.as_bytes(), epoch);
	let mut segment = SegmentOut::new(store.writer(&segment_path(job.agreement, &name)).await?);
	let mut records = 0u64;
	let written = async {
		segment.write(&segment_head(&re_encrypted, batches)).await?;
		let mut stored = futures::stream::iter(paths.clone())
			.map(|p| async move { store.get(&p).await.map(|b| (p, b)) })
			.buffered(READ_CONCURRENCY);
		while let Some((path, batch)) = stored.try_next().await? {
			let (_, count) =
				batch_head(&batch).map_err(|_| StoreError::CorruptBatch(path.to_string()))?;
			records += u64::from(count);
			tally.record_bytes += batch.len() as u64;
			segment.write(&batch_frame(&batch)).await?;
			segment.write(&batch).await?;
		}
		Ok::<_, StoreError>(())
	}
	.await;
	let (size, digest) = match written {
		Ok(()) => segment.finish().await?,
		Err(e) => {
			segment.writer.abort().await;
			return Err(e.into());
		},
	};
	let records = u32::try_from(records).map_err(|_| too_many())?;
	Ok(Some(SegmentEntry {
		sensor: sensor_hex,
		epoch,
		name,
		size,
		sha256: hex::encode(digest),
		records,
	}))
}

/// A segment being written to the store: its size and digest counted as it goes.
struct SegmentOut {
	writer: ObjectWriter,
	hasher: Sha256,
	size: u64,
}

impl SegmentOut {
	fn new(writer: ObjectWriter) -> Self {
		SegmentOut { writer, hasher: Sha256::new(), size: 0 }
	}

	async fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
		self.hasher.update(bytes);
		self.size += bytes.len() as u64;
		self.writer.write(bytes).await
	}

	/// Completes the segment: its size and SHA-256.
	async fn finish(self) -> Result<(u64, [u8; 32]), StoreError> {
		self.writer.finish().await?;
		Ok((self.size, self.hasher.finalize().into()))
	}
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

/// Why one delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
	/// The chain failed or refused.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// The delivery could not be written.
	#[error(transparent)]
	Delivery(#[from] DeliveryError),
	/// The chain's state does not allow a delivery.
	#[error("agreement {0}: {1}")]
	Inconsistent(u64, String),
}

impl JobError {
	fn is_transient(&self) -> bool {
		match self {
			JobError::Chain(e) => e.is_transient(),
			JobError::Delivery(DeliveryError::Store(_) | DeliveryError::CapsuleMissing { .. }) => {
				true
			},
			_ => false,
		}
	}
}

/// The wait before the first retry of a delivery that failed transiently.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(200);
/// The longest wait between two attempts at a delivery.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

/// How a delivery task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
	/// Put on chain.
	Delivered,
	/// Nothing to deliver (not ours, not accepted, delivered already, or lapsed).
	NothingToDo,
	/// A failure that retrying does not fix (logged and counted).
	Failed,
	/// Stopped by the shutdown before it was done: to be done after a restart.
	Stopped,
}

/// What a delivery task needs.
#[derive(Clone)]
pub struct Deliverer {
	/// The chain.
	pub chain: ChainClient,
	/// The provider's account key, which signs `deliver`.
	pub signer: Arc<Keypair>,
	/// The provider's account.
	pub provider: AccountId32,
	/// The store.
	pub store: Store,
	/// The URL requesters download from.
	pub public_url: String,
	/// Metrics.
	pub metrics: Metrics,
	/// Deliveries in progress at once.
	pub max_concurrent: usize,
	/// Wakes the downloads waiting for a delivery.
	pub published: Published,
}

impl Deliverer {
	/// Delivers what agreement `id` has re-keyed and not yet delivered, if it is ours,
	/// retrying a failure that can pass (the store or the chain unavailable) with
	/// capped backoff for as long as the agreement can still be delivered: until it
	/// is delivered, lapses at its deadline, or `shutdown` turns true.
	pub async fn deliver_until_done(
		&self,
		id: u64,
		mut shutdown: watch::Receiver<bool>,
	) -> Outcome {
		let started = Instant::now();
		let mut delay = FIRST_RETRY_DELAY;
		for attempt in 1u64.. {
			let result = tokio::select! {
				_ = async { let _ = shutdown.wait_for(|stop| *stop).await; } => return Outcome::Stopped,
				result = self.deliver(id) => result,
			};
			match result {
				Ok(true) => {
					self.metrics.deliveries.inc();
					self.metrics.delivery_seconds.observe(started.elapsed().as_secs_f64());
					return Outcome::Delivered;
				},
				Ok(false) => return Outcome::NothingToDo,
				Err(e) if e.is_transient() => {
					self.metrics.delivery_retries.inc();
					if matches!(e, JobError::Delivery(DeliveryError::CapsuleMissing { .. })) {
						self.metrics.capsules_missing.inc();
					}
					tracing::warn!(agreement = id, attempt, retry_in = ?delay, error = %e, "delivery failed; retrying");
					tokio::select! {
						_ = async { let _ = shutdown.wait_for(|stop| *stop).await; } => return Outcome::Stopped,
						_ = tokio::time::sleep(delay) => {},
					}
					delay = (delay * 2).min(MAX_RETRY_DELAY);
				},
				Err(e) => {
					self.metrics.delivery_failures.inc();
					tracing::error!(agreement = id, error = %e, "delivery failed for good");
					return Outcome::Failed;
				},
			}
		}
		Outcome::Failed
	}

	/// Delivers the epochs of agreement `id` that are re-keyed and not yet delivered:
	/// true if this call put a delivery on chain, false if there was nothing to do
	/// (not ours, not accepted, nothing new re-keyed).
	pub async fn deliver(&self, id: u64) -> Result<bool, JobError> {
		let Some(agreement) = self.chain.agreement(id).await? else { return Ok(false) };
		if agreement.provider != self.provider || agreement.status != AgreementStatus::Accepted {
			return Ok(false);
		}
		let progress = agreement.progress();
		let Some((_, through_epoch)) = progress.undelivered() else { return Ok(false) };
		let delivered_through = progress.last_delivered_epoch();
		let requester = self.chain.identity(&agreement.requester).await?.ok_or_else(|| {
			JobError::Inconsistent(id, "the requester has no identity on chain".into())
		})?;
		let rekeys = self
			.chain
			.rekeys(id)
			.await?
			.ok_or_else(|| JobError::Inconsistent(id, "accepted without re-keys".into()))?;
		let mut sensors = Vec::with_capacity(agreement.sensors.len());
		for s in &agreement.sensors {
			let sensor = self.chain.sensor(s.as_bytes()).await?.ok_or_else(|| {
				JobError::Inconsistent(id, format!("sensor {} is gone", hex::encode(s.as_bytes())))
			})?;
			sensors.push((sensor.id, sensor.public_key));
		}
		let job = Job {
			agreement: id,
			requester: Requester {
				account: requester.account.0,
				id: requester.id,
				key: requester.public_key,
			},
			progress,
			previous_digest: agreement.delivery.as_ref().map(|(_, digest)| *digest),
			sensors,
			rekeys,
		};
		let started = Instant::now();
		let written = write_delivery(&self.store, &job).await?;
		self.metrics.write_seconds.observe(started.elapsed().as_secs_f64());
		self.metrics.reencrypt_seconds.inc_by(written.reencrypt.as_secs_f64());
		self.metrics.delivered_bytes.inc_by(written.record_bytes);
		self.published.notify();

		// The chain may have moved on while the delivery was written.
		match self.chain.agreement(id).await? {
			Some(a)
				if a.status == AgreementStatus::Accepted
					&& a.last_delivered_epoch() == delivered_through => {},
			other => {
				tracing::info!(
					agreement = id,
					status = ?other.map(|a| (a.status, a.last_delivered_epoch())),
					"the agreement moved on while its delivery was written; not submitting"
				);
				return Ok(false);
			},
		}
		let location = Location::new(&self.public_url, id, through_epoch).to_url();
		let empty = &written.empty;
		match self
			.chain
			.deliver(&self.signer, id, through_epoch, &location, written.digest, empty)
			.await
		{
			Ok(included) => {
				tracing::info!(
					agreement = id,
					through_epoch,
					block = included.block_number,
					segments = written.segments,
					empty = written.empty.len(),
					bytes = written.record_bytes,
					resumed = written.resumed,
					"delivered"
				);
				Ok(true)
			},
			// Delivered by an earlier submission of ours that was still in flight.
			Err(e)
				if matches!(
					e.market_error(),
					Some(MarketError::AgreementNotAccepted | MarketError::EpochDeliveredAlready)
				) =>
			{
				tracing::info!(agreement = id, error = %e, "delivered already");
				Ok(false)
			},
			Err(e) => Err(e.into()),
		}
	}
}
