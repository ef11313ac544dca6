//! Why a step of the market failed.

use sensorshare_chain_client::Error as ChainError;
use sensorshare_worker_client::ClientError;

/// Why a step of the market failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
	/// The chain could not be reached, or refused the transaction.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// The cloud worker could not be reached or refused, or what it delivered does
	/// not check out.
	#[error(transparent)]
	Worker(#[from] ClientError),
	/// A key file or a pending key request could not be read or written.
	#[error(transparent)]
	KeyFile(#[from] sensorshare_protocol::keyfile::KeyFileError),
	/// A CA's answer or a key does not verify.
	#[error(transparent)]
	Crypto(#[from] cbpre::Error),
	/// The account has no identity on chain.
	#[error("this account has no identity on chain: register one first")]
	NotRegistered,
	/// No sensor is registered under this identity.
	#[error("unknown sensor {0}")]
	UnknownSensor(String),
	/// The agreement is not open on chain (settled, refunded, or never made).
	#[error("no open agreement {0} (settled or never made)")]
	UnknownAgreement(u64),
	/// The agreement has no delivery on chain yet.
	#[error("agreement {0} is not delivered yet")]
	NotDelivered(u64),
	/// The key is not the one the agreement's requester registered.
	#[error("this key is not the key of agreement {0}'s requester")]
	WrongKey(u64),
	/// The chain has no CA key to check a certificate against.
	#[error("the chain has no CA key")]
	NoCaKey,
	/// The delivery on chain is not the one downloaded ahead of it.
	#[error("agreement {0}: the digest on chain is not that of the data downloaded")]
	DigestMismatch(u64),
	/// The sensor-epochs named empty on chain, which are not paid for, are not
	/// those the manifest downloaded ahead lists as empty.
	#[error("agreement {0}: the epochs named empty on chain are not those the delivery lists")]
	EmptyMismatch(u64),
	/// The request makes no sense (no sensors, a range that ends before it starts,
	/// sensors of different epoch lengths).
	#[error("{0}")]
	Invalid(String),
	/// A file could not be read or written.
	#[error("{path}: {source}")]
	Io {
		/// The file.
		path: std::path::PathBuf,
		/// What the operating system reported.
		source: std::io::Error,
	},
}
