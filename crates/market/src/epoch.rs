//! The time of the market: epoch `t` of a sensor with epochs of `epoch_secs` seconds
//! covers `[t * epoch_secs, (t + 1) * epoch_secs)` seconds since the Unix epoch.
//!
//! Every function refuses (`None`) what does not fit a `u64` and an epoch length of
//! zero, instead of wrapping: the pallet runs without overflow checks.

/// The epoch that second `secs` (since the Unix epoch) falls in.
pub fn of_secs(secs: u64, epoch_secs: u64) -> Option<u64> {
	secs.checked_div(epoch_secs)
}

/// The epoch that millisecond `ms` (since the Unix epoch) falls in.
pub fn of_millis(ms: u64, epoch_secs: u64) -> Option<u64> {
	of_secs(ms / 1000, epoch_secs)
}

/// The first second of `epoch`.
pub fn start_secs(epoch: u64, epoch_secs: u64) -> Option<u64> {
	epoch.checked_mul(epoch_secs)
}

/// The second `epoch` ends at: the first second of the next epoch.
pub fn end_secs(epoch: u64, epoch_secs: u64) -> Option<u64> {
	epoch.checked_add(1)?.checked_mul(epoch_secs)
}

/// Whether millisecond `ms` falls in `epoch`.
pub fn contains_millis(epoch: u64, epoch_secs: u64, ms: u64) -> bool {
	of_millis(ms, epoch_secs) == Some(epoch)
}

/// How many epochs `from_epoch..=to_epoch` covers: `None` when `to_epoch` comes
/// before `from_epoch` or the count does not fit a `u64` (the whole range of `u64`).
pub fn count(from_epoch: u64, to_epoch: u64) -> Option<u64> {
	to_epoch.checked_sub(from_epoch)?.checked_add(1)
}

/// How far an agreement has come: its epochs, and how many of them, from the first,
/// have their re-keys on chain and are delivered. The pallet and every client read
/// "what is next" from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
	/// The first epoch.
	pub from_epoch: u64,
	/// The last epoch (inclusive).
	pub to_epoch: u64,
	/// Epochs, from the first, with re-keys on chain.
	pub rekeyed: u32,
	/// Epochs, from the first, delivered.
	pub delivered: u32,
}

impl Progress {
	/// The progress of an agreement on `from_epoch..=to_epoch` with `rekeyed` epochs
	/// re-keyed and `delivered` delivered.
	pub const fn new(from_epoch: u64, to_epoch: u64, rekeyed: u32, delivered: u32) -> Self {
		Progress { from_epoch, to_epoch, rekeyed, delivered }
	}

	/// How many epochs the agreement covers (`u64::MAX` for a range that does not
	/// fit, which the pallet never makes).
	pub fn epochs(&self) -> u64 {
		count(self.from_epoch, self.to_epoch).unwrap_or(u64::MAX)
	}

	/// The first epoch without re-keys, if any is left.
	pub fn next_rekey_epoch(&self) -> Option<u64> {
		self.after(self.rekeyed)
	}

	/// The first epoch not yet delivered, if any is left.
	pub fn next_delivery_epoch(&self) -> Option<u64> {
		self.after(self.delivered)
	}

	/// The last epoch with re-keys on chain, if any.
	pub fn last_rekeyed_epoch(&self) -> Option<u64> {
		self.last_of(self.rekeyed)
	}

	/// The last epoch delivered, if any.
	pub fn last_delivered_epoch(&self) -> Option<u64> {
		self.last_of(self.delivered)
	}

	/// Whether every epoch has its re-keys.
	pub fn all_rekeyed(&self) -> bool {
		u64::from(self.rekeyed) >= self.epochs()
	}

	/// The epochs re-keyed and not yet delivered, `(first, last)`: what the provider
	/// delivers next.
	pub fn undelivered(&self) -> Option<(u64, u64)> {
		let last = self.last_rekeyed_epoch()?;
		let first = self.from_epoch.checked_add(u64::from(self.delivered))?;
		(first <= last).then_some((first, last))
	}

	/// The epoch `done` epochs after the first, if it is one of the agreement's.
	fn after(&self, done: u32) -> Option<u64> {
		self.from_epoch.checked_add(u64::from(done)).filter(|e| *e <= self.to_epoch)
	}

	/// The last of the first `done` epochs, if `done > 0`.
	fn last_of(&self, done: u32) -> Option<u64> {
		let done = done.checked_sub(1)?;
		self.from_epoch.checked_add(u64::from(done)).filter(|e| *e <= self.to_epoch)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_second_belongs_to_one_epoch_which_starts_and_ends_on_its_multiples() {
		assert_eq!(of_secs(119, 60), Some(1));
		assert_eq!(of_secs(120, 60), Some(2));
		assert_eq!(of_millis(119_999, 60), Some(1));
		assert_eq!(of_secs(5, 0), None, "no epoch of zero seconds");
		assert_eq!(start_secs(2, 60), Some(120));
		assert_eq!(end_secs(2, 60), Some(180));
		assert_eq!(end_secs(u64::MAX, 1), None);
		assert_eq!(start_secs(u64::MAX, 2), None);
		assert!(contains_millis(2, 60, 120_000));
		assert!(!contains_millis(2, 60, 180_000));
	}

	#[test]
	fn a_range_counts_its_epochs_and_refuses_what_does_not_fit() {
		assert_eq!(count(10, 12), Some(3));
		assert_eq!(count(7, 7), Some(1));
		assert_eq!(count(12, 10), None, "the last epoch before the first");
		assert_eq!(count(0, u64::MAX), None, "2^64 epochs do not fit a u64");
		assert_eq!(count(1, u64::MAX), Some(u64::MAX));
	}

	#[test]
	fn progress_names_the_next_epoch_to_rekey_and_to_deliver() {
		let p = Progress { from_epoch: 10, to_epoch: 13, rekeyed: 0, delivered: 0 };
		assert_eq!(p.epochs(), 4);
		assert_eq!(p.next_rekey_epoch(), Some(10));
		assert_eq!(p.last_rekeyed_epoch(), None);
		assert_eq!(p.undelivered(), None, "nothing re-keyed, nothing to deliver");

		let p = Progress { rekeyed: 3, delivered: 1, ..p };
		assert_eq!(p.next_rekey_epoch(), Some(13));
		assert_eq!(p.next_delivery_epoch(), Some(11));
		assert_eq!(p.last_rekeyed_epoch(), Some(12));
		assert_eq!(p.last_delivered_epoch(), Some(10));
		assert_eq!(p.undelivered(), Some((11, 12)));
		assert!(!p.all_rekeyed());

		let p = Progress { rekeyed: 4, delivered: 4, ..p };
		assert!(p.all_rekeyed());
		assert_eq!(p.next_rekey_epoch(), None);
		assert_eq!(p.next_delivery_epoch(), None);
		assert_eq!(p.undelivered(), None);
		assert_eq!(p.last_delivered_epoch(), Some(13));
	}
}
