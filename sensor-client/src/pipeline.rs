//! The sensor's pipeline: readings in, sealed and signed uploads out.
//!
//! For each epoch the sensor derives its data key and capsule (deterministically, so
//! a restart mid-epoch gives the same ones), queues the capsule, then seals every
//! reading as a record under the epoch's key with a clear timestamp header, signs it
//! and queues it. The uploader drains the queue to the cloud in order, retrying with
//! backoff while the cloud is unreachable.

use crate::queue::{Kind, Queue, QueueError};
use cbpre::{rand_core::CryptoRngCore, DataKey, Meta, SecretKey};
use sensorshare_protocol::{header::RecordHeader, reading::Reading, upload::sign_record_with_rng};
use sensorshare_worker_client::{ClientError, StatusCode, WorkerClient};
use std::{sync::Arc, time::Duration};
use tokio::sync::Notify;

/// Why a reading could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
	/// The scheme failed (a key that does not work).
	#[error(transparent)]
	Crypto(#[from] cbpre::Error),
	/// A record could not be signed.
	#[error(transparent)]
	Sign(#[from] sensorshare_protocol::Error),
	/// The queue is full or the disk failed.
	#[error(transparent)]
	Queue(#[from] QueueError),
	/// The epoch length is zero.
	#[error("epochs must last at least one second")]
	ZeroEpoch,
}

/// Seals readings into the queue.
pub struct Sealer<R> {
	key: SecretKey,
	epoch_secs: u64,
	queue: Arc<Queue>,
	wake: Arc<Notify>,
	rng: R,
	current: Option<(u64, DataKey)>,
}

impl<R: CryptoRngCore> Sealer<R> {
	/// A sealer for `key`'s sensor with epochs of `epoch_secs`.
	pub fn new(
		key: SecretKey,
		epoch_secs: u64,
		queue: Arc<Queue>,
		wake: Arc<Notify>,
		rng: R,
	) -> Result<Self, PipelineError> {
		if epoch_secs == 0 {
			return Err(PipelineError::ZeroEpoch);
		}
		Ok(Sealer { key, epoch_secs, queue, wake, rng, current: None })
	}

	/// Seals a reading taken at `timestamp_ms` and queues it (after the epoch's
	/// capsule, the first time the epoch is seen).
	pub fn push(&mut self, timestamp_ms: u64, reading: &Reading) -> Result<u64, PipelineError> {
		let epoch = sensorshare_market::epoch::of_millis(timestamp_ms, self.epoch_secs)
			.ok_or(PipelineError::ZeroEpoch)?;
		let meta = Meta::new(*self.key.id(), epoch);
		let m = match &self.current {
			Some((e, m)) if *e == epoch => m.clone(),
			_ => {
				let (m, capsule) = self.key.encapsulate(epoch)?;
				self.queue.push(Kind::Capsule, epoch, &capsule.to_bytes())?;
				self.current = Some((epoch, m.clone()));
				m
			},
		};
		let header = RecordHeader::new(timestamp_ms).to_bytes();
		let record = m.seal_with_rng(&meta, &header, &reading.to_bytes(), &mut self.rng)?;
		let body = sign_record_with_rng(&self.key, epoch, &record, &mut self.rng)?;
		self.queue.push(Kind::Record, epoch, &body)?;
		self.wake.notify_one();
		Ok(epoch)
	}
}

/// Drains the queue to the cloud until `shutdown`; returns when it is told to stop.
pub async fn upload(
	sensor: cbpre::Identity,
	queue: Arc<Queue>,
	wake: Arc<Notify>,
	cloud: WorkerClient,
	mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), QueueError> {
	let mut backoff = Duration::from_millis(250);
	loop {
		if *shutdown.borrow() {
			return Ok(());
		}
		let Some(item) = queue.peek()? else {
			tokio::select! {
				_ = wake.notified() => {},
				_ = shutdown.changed() => {},
			}
			continue;
		};
		let sent = match item.kind {
			Kind::Capsule => {
				cloud.upload_capsule_bytes(&sensor, item.epoch, item.body.clone()).await
			},
			Kind::Record => cloud.upload_record_body(&sensor, item.epoch, item.body.clone()).await,
		};
		match sent {
			Ok(_) => {
				queue.remove(&item)?;
				backoff = Duration::from_millis(250);
			},
			// Unreachable, failing on its side, or not knowing the sensor yet (its node
			// has not seen the registration, or remembers it unknown for a moment):
			// later will do.
			Err(e) if e.is_transient() || e.status() == Some(StatusCode::NOT_FOUND) => {
				tracing::warn!(error = %e, waiting = queue.len(), retry_in = ?backoff, "upload not taken yet; retrying");
				tokio::select! {
					_ = tokio::time::sleep(backoff) => {},
					_ = shutdown.changed() => {},
				}
				backoff = (backoff * 2).min(Duration::from_secs(30));
			},
			Err(e) => {
				log_refusal(&e, &item.path);
				queue.reject(&item.path)?;
			},
		}
	}
}

fn log_refusal(e: &ClientError, path: &std::path::Path) {
	tracing::error!(error = %e, item = %path.display(), "the cloud refused an upload; set aside");
}

#[cfg(test)]
mod tests {
	use super::*;
	use cbpre::{dev, Capsule};
	use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
	use sensorshare_protocol::{reading::Quantity, upload::UnverifiedRecordUpload};

	#[test]
	fn readings_are_queued_as_a_capsule_per_epoch_then_signed_sealed_records() {
		let dir = tempfile::tempdir().expect("tempdir");
		let queue = Arc::new(Queue::open(dir.path(), 100).expect("queue"));
		let key = dev::enroll_with_rng(b"tag", &mut ChaCha20Rng::seed_from_u64(1)).expect("enrol");
		let public = *key.public_key();
		let id = *key.id();
		let mut sealer = Sealer::new(
			key.clone(),
			60,
			queue.clone(),
			Arc::new(Notify::new()),
			ChaCha20Rng::seed_from_u64(2),
		)
		.expect("sealer");
		let reading = |v| Reading::new([(Quantity::Pressure, v)]);
		// Two readings in epoch 1, one in epoch 2.
		assert_eq!(sealer.push(60_000, &reading(1.0)).expect("push"), 1);
		assert_eq!(sealer.push(119_999, &reading(2.0)).expect("push"), 1);
		assert_eq!(sealer.push(120_000, &reading(3.0)).expect("push"), 2);

		let mut items = Vec::new();
		while let Some(item) = queue.peek().expect("peek") {
			queue.remove(&item).expect("remove");
			items.push(item);
		}
		let kinds: Vec<(Kind, u64)> = items.iter().map(|i| (i.kind, i.epoch)).collect();
		assert_eq!(
			kinds,
			[
				(Kind::Capsule, 1),
				(Kind::Record, 1),
				(Kind::Record, 1),
				(Kind::Capsule, 2),
				(Kind::Record, 2)
			]
		);
		let mut values = Vec::new();
		for item in &items {
			let meta = Meta::new(id, item.epoch);
			match item.kind {
				Kind::Capsule => {
					let c = Capsule::from_bytes(&item.body).expect("decodes");
					assert_eq!(c.meta(), &meta);
					c.verify(&public).expect("verifies against the sensor's key");
				},
				Kind::Record => {
					let up = UnverifiedRecordUpload::from_bytes(&item.body).expect("decodes");
					let rec = up.verify(&public, &meta).expect("signed by the sensor");
					let sealed =
						cbpre::SealedRecord::from_bytes(rec.record_bytes()).expect("record");
					let m = key.data_key(&meta).expect("data key");
					let plain = m.open(&meta, &sealed).expect("opens under the epoch's key");
					values
						.push(Reading::from_bytes(&plain).expect("reading").0[&Quantity::Pressure]);
				},
			}
		}
		assert_eq!(values, [1.0, 2.0, 3.0]);
	}

	#[test]
	fn a_zero_epoch_length_is_refused() {
		let dir = tempfile::tempdir().expect("tempdir");
		let queue = Arc::new(Queue::open(dir.path(), 1).expect("queue"));
		let key = dev::enroll_with_rng(b"tag", &mut ChaCha20Rng::seed_from_u64(1)).expect("enrol");
		let sealer =
			Sealer::new(key, 0, queue, Arc::new(Notify::new()), ChaCha20Rng::seed_from_u64(2));
		assert!(matches!(sealer, Err(PipelineError::ZeroEpoch)));
	}
}
