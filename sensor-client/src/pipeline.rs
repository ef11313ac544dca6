//! The sensor's pipeline: readings in, sealed records in signed batches out.
//!
//! For each epoch the sensor derives its data key and capsule (deterministically, so
//! a restart mid-epoch gives the same ones) and logs the capsule; then it seals
//! every reading as a record under the epoch's key with a clear timestamp header and
//! collects the records into a batch. A batch is cut when it holds
//! [`BatchLimits::records`] records or [`BatchLimits::bytes`] bytes, when its
//! epoch ends, or [`BatchLimits::linger`] after its first reading: then it is
//! signed once, numbered within its epoch, appended to the log and synced (one
//! `fsync` a batch). The uploader drains the log to the cloud in order, several
//! batches in flight, retrying with backoff while the cloud is unreachable.
//!
//! Readings not yet in a cut batch live in memory: a crash loses at most a linger's
//! worth of them, a clean stop none (it cuts the batch first).

use crate::log::{Entry, Kind, Log, LogError, Position};
use cbpre::{rand_core::CryptoRngCore, DataKey, Meta, SecretKey};
use futures::{stream::FuturesOrdered, StreamExt};
use sensorshare_protocol::{
	batch::{sign_batch_with_rng, BATCH_HEAD_LEN, MAX_BATCH_BYTES, MAX_BATCH_RECORDS},
	header::RecordHeader,
	reading::Reading,
};
use sensorshare_worker_client::{ClientError, StatusCode, WorkerClient};
use std::{
	sync::Arc,
	time::{Duration, Instant},
};
use tokio::sync::Notify;

/// Why a reading could not be logged.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
	/// The scheme failed (a key that does not work).
	#[error(transparent)]
	Crypto(#[from] cbpre::Error),
	/// A batch could not be signed.
	#[error(transparent)]
	Sign(#[from] sensorshare_protocol::Error),
	/// The log is full or the disk failed.
	#[error(transparent)]
	Log(#[from] LogError),
	/// The epoch length is zero.
	#[error("epochs must last at least one second")]
	ZeroEpoch,
	/// The batch limits allow no record.
	#[error("a batch must hold at least one record, within {MAX_BATCH_RECORDS} records and {MAX_BATCH_BYTES} bytes")]
	BadLimits,
}

/// When a batch is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
	/// The most records in a batch.
	pub records: usize,
	/// The most bytes in a batch (its head and every record with its length).
	pub bytes: usize,
	/// The longest a reading waits in memory for its batch to be cut.
	pub linger: Duration,
}

impl Default for BatchLimits {
	/// 100 records, 256 KiB, one second.
	fn default() -> Self {
		BatchLimits { records: 100, bytes: 256 << 10, linger: Duration::from_secs(1) }
	}
}

/// The epoch being collected into a batch.
struct Open {
	epoch: u64,
	key: DataKey,
	/// The next batch's number within the epoch.
	sequence: u64,
	/// Sealed records of the batch not yet cut, and their bytes in the batch.
	pending: Vec<Vec<u8>>,
	bytes: usize,
	/// When the first pending record came.
	since: Option<Instant>,
}

/// Seals readings into batches in the log.
pub struct Sealer<R> {
	key: SecretKey,
	epoch_secs: u64,
	log: Arc<Log>,
	wake: Arc<Notify>,
	rng: R,
	limits: BatchLimits,
	open: Option<Open>,
	/// The last batch logged before this sealer started, to number on from.
	resumed: Option<(u64, u64)>,
}

impl<R: CryptoRngCore> Sealer<R> {
	/// A sealer for `key`'s sensor with epochs of `epoch_secs`, cutting batches at
	/// `limits`.
	pub fn new(
		key: SecretKey,
		epoch_secs: u64,
		log: Arc<Log>,
		wake: Arc<Notify>,
		rng: R,
		limits: BatchLimits,
	) -> Result<Self, PipelineError> {
		if epoch_secs == 0 {
			return Err(PipelineError::ZeroEpoch);
		}
		if limits.records == 0
			|| limits.records > MAX_BATCH_RECORDS
			|| limits.bytes > MAX_BATCH_BYTES
			|| limits.bytes <= BATCH_HEAD_LEN
		{
			return Err(PipelineError::BadLimits);
		}
		let resumed = log.last_batch()?;
		Ok(Sealer { key, epoch_secs, log, wake, rng, limits, open: None, resumed })
	}

	/// Seals a reading taken at `timestamp_ms` into the epoch's batch (after logging
	/// the epoch's capsule, the first time the epoch is seen), cutting the batch
	/// first if its epoch has ended or it is full.
	pub fn push(&mut self, timestamp_ms: u64, reading: &Reading) -> Result<u64, PipelineError> {
		let epoch = sensorshare_market::epoch::of_millis(timestamp_ms, self.epoch_secs)
			.ok_or(PipelineError::ZeroEpoch)?;
		if self.open.as_ref().is_none_or(|o| o.epoch != epoch) {
			self.cut()?;
			let (key, capsule) = self.key.encapsulate(epoch)?;
			self.log.append(Kind::Capsule, epoch, &capsule.to_bytes())?;
			let sequence = match self.resumed {
				Some((e, last)) if e == epoch => last.saturating_add(1),
				_ => 0,
			};
			self.open =
				Some(Open { epoch, key, sequence, pending: Vec::new(), bytes: 0, since: None });
		}
		let meta = Meta::new(*self.key.id(), epoch);
		let header = RecordHeader::new(timestamp_ms).to_bytes();
		let Some(open) = self.open.as_mut() else { return Ok(epoch) };
		let record =
			open.key.seal_with_rng(&meta, &header, &reading.to_bytes(), &mut self.rng)?.to_bytes();
		if BATCH_HEAD_LEN + open.bytes + 4 + record.len() > self.limits.bytes {
			self.cut()?;
		}
		let Some(open) = self.open.as_mut() else { return Ok(epoch) };
		open.bytes += 4 + record.len();
		open.pending.push(record);
		open.since.get_or_insert_with(Instant::now);
		if open.pending.len() >= self.limits.records {
			self.cut()?;
		}
		Ok(epoch)
	}

	/// When the batch being collected is due to be cut, if it holds any reading.
	pub fn due(&self) -> Option<Instant> {
		self.open.as_ref().and_then(|o| o.since).map(|t| t + self.limits.linger)
	}

	/// Signs the batch being collected, if it holds any reading, logs it and syncs
	/// the log: the batch and everything logged before it are on disk.
	pub fn cut(&mut self) -> Result<(), PipelineError> {
		let Some(open) = self.open.as_mut().filter(|o| !o.pending.is_empty()) else {
			return Ok(());
		};
		let records = open.pending.iter().map(Vec::as_slice);
		let batch =
			sign_batch_with_rng(&self.key, open.epoch, open.sequence, records, &mut self.rng)?;
		self.log.append(Kind::Batch, open.epoch, &batch)?;
		self.log.sync()?;
		open.sequence = open.sequence.saturating_add(1);
		open.pending.clear();
		(open.bytes, open.since) = (0, None);
		self.wake.notify_one();
		Ok(())
	}
}

/// How many entries the uploader sends at once.
const IN_FLIGHT: usize = 4;

/// Drains the log to the cloud until `shutdown`, up to [`IN_FLIGHT`] entries at
/// once, moving the log's head past each entry once it and every one before it
/// are taken (a 4xx refusal sets the entry aside in `rejected/`).
pub async fn upload(
	sensor: cbpre::Identity,
	log: Arc<Log>,
	wake: Arc<Notify>,
	cloud: WorkerClient,
	mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), LogError> {
	let mut backoff = Duration::from_millis(250);
	// The entries after the head that are in flight end here.
	let mut read_to: Option<Position> = None;
	let mut in_flight = FuturesOrdered::new();
	loop {
		if *shutdown.borrow() {
			return Ok(());
		}
		if in_flight.len() < IN_FLIGHT {
			let from = read_to.unwrap_or_else(|| log.head());
			for entry in log.read(from, IN_FLIGHT - in_flight.len())? {
				read_to = Some(entry.next);
				let cloud = cloud.clone();
				in_flight.push_back(async move {
					let sent = send(&cloud, &sensor, &entry).await;
					(entry, sent)
				});
			}
		}
		if in_flight.is_empty() {
			tokio::select! {
				_ = wake.notified() => {},
				_ = shutdown.changed() => {},
			}
			continue;
		}
		let next = tokio::select! {
			next = in_flight.next() => next,
			_ = wake.notified() => continue,
			_ = shutdown.changed() => continue,
		};
		let Some((entry, sent)) = next else { continue };
		match sent {
			Ok(()) => {
				log.advance(entry.next)?;
				backoff = Duration::from_millis(250);
			},
			// Unreachable, failing on its side, or not knowing the sensor yet (its node
			// has not seen the registration, or remembers it unknown for a moment):
			// later will do. Everything from this entry on is sent again, in order.
			Err(e) if e.is_transient() || e.status() == Some(StatusCode::NOT_FOUND) => {
				tracing::warn!(error = %e, waiting_bytes = log.waiting_bytes(), retry_in = ?backoff, "upload not taken yet; retrying");
				in_flight.clear();
				read_to = None;
				tokio::select! {
					_ = tokio::time::sleep(backoff) => {},
					_ = shutdown.changed() => {},
				}
				backoff = (backoff * 2).min(Duration::from_secs(30));
			},
			Err(e) => {
				let kept = log.set_aside(&entry)?;
				tracing::error!(error = %e, entry = %kept.display(), "the cloud refused an upload; set aside");
				log.advance(entry.next)?;
			},
		}
	}
}

/// Uploads one entry of the log.
async fn send(
	cloud: &WorkerClient,
	sensor: &cbpre::Identity,
	entry: &Entry,
) -> Result<(), ClientError> {
	let body = entry.body.clone();
	match entry.kind {
		Kind::Capsule => cloud.upload_capsule_bytes(sensor, entry.epoch, body).await.map(|_| ()),
		Kind::Batch => cloud.upload_batch_body(sensor, entry.epoch, body).await.map(|_| ()),
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use cbpre::{dev, Capsule};
	use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
	use sensorshare_protocol::{batch::UnverifiedBatch, reading::Quantity};

	fn sealer(log: &Arc<Log>, key: &SecretKey, limits: BatchLimits) -> Sealer<ChaCha20Rng> {
		let (wake, rng) = (Arc::new(Notify::new()), ChaCha20Rng::seed_from_u64(2));
		Sealer::new(key.clone(), 60, log.clone(), wake, rng, limits).expect("sealer")
	}

	fn reading(v: f64) -> Reading {
		Reading::new([(Quantity::Pressure, v)])
	}

	#[test]
	fn readings_are_logged_as_a_capsule_per_epoch_then_signed_batches_that_never_span_epochs() {
		let dir = tempfile::tempdir().expect("tempdir");
		let log = Arc::new(Log::open(dir.path(), 1 << 20).expect("log"));
		let key = dev::enroll_with_rng(b"tag", &mut ChaCha20Rng::seed_from_u64(1)).expect("enrol");
		let limits = BatchLimits { records: 2, ..BatchLimits::default() };
		let mut sealer = sealer(&log, &key, limits);
		// Three readings in epoch 1 (a full batch of two, then one), one in epoch 2.
		for (ts, v) in [(60_000, 1.0), (61_000, 2.0), (119_999, 3.0), (120_000, 4.0)] {
			sealer.push(ts, &reading(v)).expect("push");
		}
		sealer.cut().expect("cut");

		let entries = log.read(log.head(), 100).expect("read");
		let kinds: Vec<(Kind, u64)> = entries.iter().map(|e| (e.kind, e.epoch)).collect();
		assert_eq!(
			kinds,
			[
				(Kind::Capsule, 1),
				(Kind::Batch, 1),
				(Kind::Batch, 1),
				(Kind::Capsule, 2),
				(Kind::Batch, 2)
			]
		);
		let mut values = Vec::new();
		let mut sequences = Vec::new();
		for entry in &entries {
			let meta = Meta::new(*key.id(), entry.epoch);
			match entry.kind {
				Kind::Capsule => {
					let c = Capsule::from_bytes(&entry.body).expect("decodes");
					assert_eq!(c.meta(), &meta);
					c.verify(key.public_key()).expect("verifies against the sensor's key");
				},
				Kind::Batch => {
					let batch = UnverifiedBatch::from_bytes(&entry.body)
						.and_then(|b| b.verify(key.public_key(), &meta))
						.expect("signed by the sensor");
					sequences.push((entry.epoch, batch.sequence(), batch.len()));
					let m = key.data_key(&meta).expect("data key");
					for (_, sealed) in batch.records() {
						let plain = m.open(&meta, sealed).expect("opens under the epoch's key");
						values.push(
							Reading::from_bytes(&plain).expect("reading").0[&Quantity::Pressure],
						);
					}
				},
			}
		}
		assert_eq!(values, [1.0, 2.0, 3.0, 4.0]);
		assert_eq!(sequences, [(1, 0, 2), (1, 1, 1), (2, 0, 1)], "numbered within each epoch");
		assert_eq!(log.syncs(), 3, "one fsync a batch, not one a reading");
	}

	#[test]
	fn a_restarted_sealer_numbers_on_from_the_last_batch_of_the_epoch() {
		let dir = tempfile::tempdir().expect("tempdir");
		let key = dev::enroll_with_rng(b"tag", &mut ChaCha20Rng::seed_from_u64(1)).expect("enrol");
		let limits = BatchLimits { records: 1, ..BatchLimits::default() };
		{
			let log = Arc::new(Log::open(dir.path(), 1 << 20).expect("log"));
			let mut sealer = sealer(&log, &key, limits);
			sealer.push(60_000, &reading(1.0)).expect("push");
			sealer.push(61_000, &reading(2.0)).expect("push");
			let all = log.read(log.head(), 10).expect("read");
			log.advance(all[all.len() - 1].next).expect("all taken");
		}
		let log = Arc::new(Log::open(dir.path(), 1 << 20).expect("log"));
		let mut sealer = sealer(&log, &key, limits);
		sealer.push(62_000, &reading(3.0)).expect("push");
		let batch = log.read(log.head(), 10).expect("read").into_iter().last().expect("a batch");
		assert_eq!(sensorshare_protocol::batch::batch_head(&batch.body), Ok((2, 1)));
	}

	#[test]
	fn a_batch_is_due_a_linger_after_its_first_reading() {
		let dir = tempfile::tempdir().expect("tempdir");
		let log = Arc::new(Log::open(dir.path(), 1 << 20).expect("log"));
		let key = dev::enroll_with_rng(b"tag", &mut ChaCha20Rng::seed_from_u64(1)).expect("enrol");
		let mut sealer = sealer(&log, &key, BatchLimits::default());
		assert_eq!(sealer.due(), None);
		let before = Instant::now();
		sealer.push(60_000, &reading(1.0)).expect("push");
		let due = sealer.due().expect("due");
		assert!(
			due >= before + Duration::from_secs(1)
				&& due <= Instant::now() + Duration::from_secs(1)
		);
		sealer.cut().expect("cut");
		assert_eq!(sealer.due(), None);
	}

	#[test]
	fn a_zero_epoch_length_or_empty_batches_are_refused() {
		let dir = tempfile::tempdir().expect("tempdir");
		let log = Arc::new(Log::open(dir.path(), 1 << 20).expect("log"));
		let key = dev::enroll_with_rng(b"tag", &mut ChaCha20Rng::seed_from_u64(1)).expect("enrol");
		let new = |epoch_secs, limits| {
			let (wake, rng) = (Arc::new(Notify::new()), ChaCha20Rng::seed_from_u64(2));
			Sealer::new(key.clone(), epoch_secs, log.clone(), wake, rng, limits)
		};
		assert!(matches!(new(0, BatchLimits::default()), Err(PipelineError::ZeroEpoch)));
		let none = BatchLimits { records: 0, ..BatchLimits::default() };
		assert!(matches!(new(60, none), Err(PipelineError::BadLimits)));
	}
}
