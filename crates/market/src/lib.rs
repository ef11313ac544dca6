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
//! - [`price`]: what a request costs, in escrow and in deposit.
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
pub use price::{quote, Quote, Rates};
