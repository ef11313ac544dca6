//! What the data market's chain and its clients must agree on, in one `no_std`
//! crate that the pallet and every client build: the message a registration's
//! proof of possession signs, and the arithmetic of an agreement's epochs.
//!
//! - [`possession`]: the proof that whoever registers an identity or a sensor holds
//!   the key derived from its certificate, bound to the chain, the account and the
//!   kind of registration;
//! - [`epoch`]: the epoch of a time, when an epoch starts and ends, how many a
//!   range covers, and an agreement's [`epoch::Progress`]: the next epoch to re-key
//!   and to deliver;
//! - [`price`]: what a request costs, in escrow and in deposit, and what a closing
//!   agreement owes;
//! - [`EmptyEpoch`]: a sensor-epoch delivered without data, which is not paid for.
//!
//! Every computation is checked: what overflows is refused, never wrapped.

#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod domain;
pub mod epoch;
pub mod possession;
pub mod price;

pub use epoch::{count as epochs, Progress};

/// A sensor's epoch of an agreement that its provider delivered without data (the
/// sensor sent nothing in it): the manifest lists it as empty, the provider names
/// it when it records the delivery on chain, and its price and fee go back to the
/// requester when the agreement closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
	feature = "scale",
	derive(
		codec::Encode,
		codec::Decode,
		codec::DecodeWithMemTracking,
		codec::MaxEncodedLen,
		scale_info::TypeInfo
	)
)]
pub struct EmptyEpoch {
	/// The sensor's place in the agreement's list of sensors, from 0.
	pub sensor: u32,
	/// The epoch.
	pub epoch: u64,
}
pub use price::{due, quote, Due, Quote, Rates};
