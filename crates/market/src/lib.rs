//! What the data market's chain and its clients must agree on, in one `no_std`
//! crate that the pallet and every client build: the message a registration's
//! proof of possession signs, and the arithmetic of an agreement's epochs.
//!
//! - [`possession`]: the proof that whoever registers an identity or a sensor holds
//!   the key derived from its certificate, bound to the chain, the account and the
//!   kind of registration;
//! - [`epochs`]: how many epochs a range covers, with every overflow refused.

#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod domain;
pub mod possession;

/// How many epochs `from_epoch..=to_epoch` covers: `None` when `to_epoch` comes
/// before `from_epoch` or the count does not fit a `u64` (the whole range of `u64`).
pub fn epochs(from_epoch: u64, to_epoch: u64) -> Option<u64> {
	to_epoch.checked_sub(from_epoch)?.checked_add(1)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_range_counts_its_epochs_and_refuses_what_does_not_fit() {
		assert_eq!(epochs(10, 12), Some(3));
		assert_eq!(epochs(7, 7), Some(1));
		assert_eq!(epochs(12, 10), None, "the last epoch before the first");
		assert_eq!(epochs(0, u64::MAX), None, "2^64 epochs do not fit a u64");
		assert_eq!(epochs(1, u64::MAX), Some(u64::MAX));
	}
}
