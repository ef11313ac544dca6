//! SensorShare's wire formats, shared by the sensor client, the cloud worker and the
//! data user's CLI.
//!
//! - [`header`]: the clear header of every sealed record (its timestamp), which the
//!   cloud files records by without reading them.
//! - [`batch`]: a sensor's signed batch of records of one epoch, which the cloud
//!   stores and delivers whole and the buyer verifies; capsules need no signature,
//!   they verify by themselves.
//! - [`auth`]: the challenge a requester signs to download its delivery.
//! - [`delivery`]: the manifest whose digest goes on chain, and the segments it lists
//!   (one re-encrypted capsule and its records per sensor and epoch).
//! - [`routes`]: the worker's HTTP routes and the URLs clients build for them, the
//!   longest a download waits, and the delivery location put on chain.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod batch;
pub mod delivery;
pub mod domain;
pub mod header;
pub mod keyfile;
pub mod reading;
pub mod routes;

pub use cbpre;

/// Why a message of the protocol was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
	/// The message is shorter than its fixed part, or its lengths do not add up.
	#[error("malformed {what}: {reason}")]
	Malformed {
		/// Which message.
		what: &'static str,
		/// What is wrong with it.
		reason: String,
	},
	/// The record header is not a version 1 header.
	#[error("unknown record header version {0}")]
	UnknownHeaderVersion(u8),
	/// A digest does not match the bytes it covers.
	#[error("digest mismatch for {0}")]
	DigestMismatch(String),
	/// A cryptographic check failed (a signature, a capsule, a record).
	#[error(transparent)]
	Crypto(#[from] cbpre::Error),
	/// A manifest is not valid JSON of the expected shape.
	#[error("invalid manifest: {0}")]
	Manifest(String),
	/// A delivery does not hold what its agreement bought: a (sensor, epoch)
	/// missing, listed twice, or outside the agreement, or a record dated outside
	/// its epoch.
	#[error("incomplete delivery: {0}")]
	Incomplete(String),
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
	use sha2::{Digest, Sha256};
	Sha256::digest(bytes).into()
}

pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> Error {
	Error::Malformed { what, reason: reason.into() }
}
