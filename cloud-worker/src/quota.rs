//! What one sensor may store: epochs within a window around now (no capsules for a
//! million future epochs, nor for epochs long gone), and at most so many records and
//! bytes per epoch. Over a quota, an upload is refused with its reason and nothing
//! is stored.
//!
//! An epoch's usage is counted from the store the first time the epoch is seen (so a
//! restart loses nothing), then kept in memory; a batch's records and bytes are
//! reserved before it is written and released if it turns out a repeat or the write
//! fails, so two uploads at once cannot both slip under the limit.

use crate::{
	config::Limits,
	store::{Store, StoreError},
};
use std::{collections::HashMap, sync::Mutex};

/// Epochs tracked at most; past it, those that left the window are forgotten.
const MAX_TRACKED: usize = 100_000;

/// Why an upload is over quota.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
	/// The epoch ended longer ago than uploads are taken for.
	#[error("epoch {epoch} ended more than {max_age_secs} s ago; uploads for it are closed")]
	EpochTooOld {
		/// The epoch.
		epoch: u64,
		/// The oldest an epoch may be, from its end.
		max_age_secs: u64,
	},
	/// The epoch starts further ahead than the clocks of sensor and worker can differ.
	#[error("epoch {epoch} starts more than {max_lead_secs} s from now")]
	EpochTooFarAhead {
		/// The epoch.
		epoch: u64,
		/// How far ahead an epoch may start.
		max_lead_secs: u64,
	},
	/// The batch would take the epoch over its records.
	#[error("epoch {epoch} would hold more than its {max} records")]
	TooManyRecords {
		/// The epoch.
		epoch: u64,
		/// Records per epoch.
		max: u64,
	},
	/// The batch would take the epoch over its bytes.
	#[error("epoch {epoch} would hold more than its {max} bytes")]
	TooManyBytes {
		/// The epoch.
		epoch: u64,
		/// Bytes per epoch.
		max: u64,
	},
}

/// An epoch's records and their bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
	records: u64,
	bytes: u64,
}

/// The sensors' quotas.
pub struct Quotas {
	max_age_secs: u64,
	max_lead_secs: u64,
	max_records: u64,
	max_bytes: u64,
	usage: Mutex<HashMap<(Vec<u8>, u64), Usage>>,
}

impl Quotas {
	/// The quotas `limits` set.
	pub fn new(limits: &Limits) -> Self {
		Quotas {
			max_age_secs: limits.max_upload_age_secs,
			max_lead_secs: limits.max_upload_lead_secs,
			max_records: limits.max_records_per_epoch,
			max_bytes: limits.max_bytes_per_epoch,
			usage: Mutex::new(HashMap::new()),
		}
	}

	/// Whether uploads for `epoch` (of `epoch_secs` seconds) are open at `now_secs`.
	pub fn check_epoch(
		&self,
		epoch: u64,
		epoch_secs: u64,
		now_secs: u64,
	) -> Result<(), QuotaError> {
		use sensorshare_market::epoch::{end_secs, start_secs};
		let too_far = QuotaError::EpochTooFarAhead { epoch, max_lead_secs: self.max_lead_secs };
		let start = start_secs(epoch, epoch_secs).ok_or(too_far.clone())?;
		if start > now_secs.saturating_add(self.max_lead_secs) {
			return Err(too_far);
		}
		let end = end_secs(epoch, epoch_secs).unwrap_or(u64::MAX);
		if end.saturating_add(self.max_age_secs) < now_secs {
			return Err(QuotaError::EpochTooOld { epoch, max_age_secs: self.max_age_secs });
		}
		Ok(())
	}

	/// Reserves room for a batch of `records` records and `bytes` bytes in
	/// `sensor`'s `epoch`: call [`Self::release`] if it is not stored after all.
	pub async fn reserve(
		&self,
		store: &Store,
		sensor: &[u8],
		epoch: u64,
		records: u64,
		bytes: u64,
	) -> Result<Result<(), QuotaError>, StoreError> {
		let key = (sensor.to_vec(), epoch);
		if !self.lock().contains_key(&key) {
			let (stored_records, stored) = store.epoch_usage(sensor, epoch).await?;
			let mut usage = self.lock();
			if usage.len() >= MAX_TRACKED {
				// The oldest half goes; what comes back is counted from the store.
				let mut epochs: Vec<u64> = usage.keys().map(|(_, e)| *e).collect();
				epochs.sort_unstable();
				let cut = epochs[epochs.len() / 2];
				usage.retain(|(_, e), _| *e > cut);
			}
			usage.entry(key.clone()).or_insert(Usage { records: stored_records, bytes: stored });
		}
		let mut usage = self.lock();
		let u = usage.entry(key).or_default();
		if u.records.saturating_add(records) > self.max_records {
			return Ok(Err(QuotaError::TooManyRecords { epoch, max: self.max_records }));
		}
		if u.bytes.saturating_add(bytes) > self.max_bytes {
			return Ok(Err(QuotaError::TooManyBytes { epoch, max: self.max_bytes }));
		}
		u.records = u.records.saturating_add(records);
		u.bytes = u.bytes.saturating_add(bytes);
		Ok(Ok(()))
	}

	/// Gives back a reservation of [`Self::reserve`] whose batch was not stored.
	pub fn release(&self, sensor: &[u8], epoch: u64, records: u64, bytes: u64) {
		if let Some(u) = self.lock().get_mut(&(sensor.to_vec(), epoch)) {
			u.records = u.records.saturating_sub(records);
			u.bytes = u.bytes.saturating_sub(bytes);
		}
	}

	fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Vec<u8>, u64), Usage>> {
		self.usage.lock().unwrap_or_else(|e| e.into_inner())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn quotas() -> Quotas {
		let limits = Limits {
			max_upload_age_secs: 600,
			max_upload_lead_secs: 30,
			max_records_per_epoch: 2,
			max_bytes_per_epoch: 100,
			..Limits::default()
		};
		Quotas::new(&limits)
	}

	#[test]
	fn uploads_are_open_for_epochs_near_now_only() {
		let q = quotas();
		let now = 1_000_000;
		let current = now / 60;
		assert_eq!(q.check_epoch(current, 60, now), Ok(()));
		assert_eq!(q.check_epoch(current + 1, 60, now), Ok(()), "starts within 30 s of now");
		assert!(matches!(
			q.check_epoch(current + 2, 60, now),
			Err(QuotaError::EpochTooFarAhead { .. })
		));
		assert!(matches!(
			q.check_epoch(u64::MAX, 60, now),
			Err(QuotaError::EpochTooFarAhead { .. })
		));
		assert_eq!(q.check_epoch(current - 10, 60, now), Ok(()), "ended 540 s ago");
		assert!(matches!(
			q.check_epoch(current - 12, 60, now),
			Err(QuotaError::EpochTooOld { .. })
		));
	}

	#[tokio::test]
	async fn an_epoch_takes_so_many_records_and_bytes_and_a_release_gives_room_back() {
		let dir = tempfile::tempdir().expect("tempdir");
		let store = Store::open(&crate::config::StorageConfig::Fs { path: dir.path().into() })
			.expect("store");
		let q = quotas();
		assert_eq!(q.reserve(&store, b"s", 1, 1, 60).await.expect("store"), Ok(()));
		assert!(matches!(
			q.reserve(&store, b"s", 1, 1, 60).await.expect("store"),
			Err(QuotaError::TooManyBytes { .. })
		));
		assert!(
			matches!(
				q.reserve(&store, b"s", 1, 2, 10).await.expect("store"),
				Err(QuotaError::TooManyRecords { .. })
			),
			"a batch of two would make three"
		);
		assert_eq!(q.reserve(&store, b"s", 1, 1, 40).await.expect("store"), Ok(()));
		assert!(matches!(
			q.reserve(&store, b"s", 1, 1, 0).await.expect("store"),
			Err(QuotaError::TooManyRecords { .. })
		));
		q.release(b"s", 1, 1, 40);
		assert_eq!(q.reserve(&store, b"s", 1, 1, 40).await.expect("store"), Ok(()));
		assert_eq!(q.reserve(&store, b"s", 2, 2, 60).await.expect("store"), Ok(()), "per epoch");
	}
}
