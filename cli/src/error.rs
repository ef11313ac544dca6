//! The CLI's failures, each with its exit code.

use sensorshare_chain_client::{Error as ChainError, MarketError};
use sensorshare_market_client::Error as MarketClientError;
use sensorshare_worker_client::ClientError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
	/// A file could not be read or written.
	#[error("{0}")]
	Io(String),
	/// A key file is missing, malformed or does not match its certificate.
	#[error(transparent)]
	KeyFile(#[from] sensorshare_protocol::keyfile::KeyFileError),
	/// The input makes no sense (an unknown sensor, a bad amount or time).
	#[error("{0}")]
	Invalid(String),
	/// Something named does not exist on chain.
	#[error("{0}")]
	NotFound(String),
	/// The agreement is not delivered yet.
	#[error("agreement {0} is not delivered yet; try again later (`sensorshare status {0}`)")]
	NotDelivered(u64),
	/// The chain refused the transaction.
	#[error("{0}")]
	Refused(String),
	/// The chain could not be reached.
	#[error(transparent)]
	Chain(ChainError),
	/// The cloud worker refused or could not be reached.
	#[error(transparent)]
	Cloud(ClientError),
	/// A check failed: a bad signature, a wrong key, a digest that does not match.
	#[error("verification failed: {0}")]
	Verification(String),
	/// The user declined.
	#[error("cancelled")]
	Declined,
}

impl CliError {
	/// The process exit code: 1 other, 3 refused by the chain, 4 not found, 5 not
	/// delivered yet, 6 a failed verification, 7 unreachable, 8 declined.
	pub fn exit_code(&self) -> i32 {
		match self {
			CliError::Refused(_) => 3,
			CliError::NotFound(_) => 4,
			CliError::NotDelivered(_) => 5,
			CliError::Verification(_) => 6,
			CliError::Chain(e) if e.is_transient() => 7,
			CliError::Cloud(ClientError::Http(_)) => 7,
			CliError::Cloud(ClientError::Protocol(_) | ClientError::Crypto(_)) => 6,
			CliError::Declined => 8,
			_ => 1,
		}
	}
}

impl From<ChainError> for CliError {
	fn from(e: ChainError) -> Self {
		match &e {
			ChainError::Market { error, docs } => CliError::Refused(match error {
				MarketError::InsufficientBalance => {
					"not enough balance to pay the price into escrow".to_string()
				},
				MarketError::UnknownSensor => {
					"unknown sensor: no sensor is registered under this id".into()
				},
				other => format!("the chain refused: {other:?}: {docs}"),
			}),
			ChainError::Refused { pallet, name, docs } => {
				CliError::Refused(format!("the chain refused: {pallet}::{name}: {docs}"))
			},
			_ => CliError::Chain(e),
		}
	}
}

impl From<MarketClientError> for CliError {
	fn from(e: MarketClientError) -> Self {
		match e {
			MarketClientError::Chain(c) => c.into(),
			MarketClientError::Worker(w) => w.into(),
			MarketClientError::KeyFile(k) => CliError::KeyFile(k),
			MarketClientError::Crypto(c) => c.into(),
			MarketClientError::NotDelivered(id) => CliError::NotDelivered(id),
			e @ MarketClientError::NotRegistered => {
				CliError::NotFound(format!("{e} (`sensorshare identity register`)"))
			},
			e @ MarketClientError::UnknownSensor(_) => {
				CliError::NotFound(format!("{e} (see `sensorshare sensors list`)"))
			},
			e @ (MarketClientError::UnknownAgreement(_) | MarketClientError::NoCaKey) => {
				CliError::NotFound(e.to_string())
			},
			e @ (MarketClientError::WrongKey(_)
			| MarketClientError::DigestMismatch(_)
			| MarketClientError::EmptyMismatch(_)) => CliError::Verification(e.to_string()),
			MarketClientError::Invalid(reason) => CliError::Invalid(reason),
			e @ MarketClientError::Io { .. } => CliError::Io(e.to_string()),
		}
	}
}

impl From<ClientError> for CliError {
	fn from(e: ClientError) -> Self {
		match e {
			ClientError::Crypto(c) => CliError::Verification(format!(
				"{c} (is this the key of the identity that made the request?)"
			)),
			ClientError::Protocol(p) => CliError::Verification(p.to_string()),
			other => CliError::Cloud(other),
		}
	}
}

impl From<cbpre::Error> for CliError {
	fn from(e: cbpre::Error) -> Self {
		CliError::Verification(e.to_string())
	}
}

impl From<std::io::Error> for CliError {
	fn from(e: std::io::Error) -> Self {
		CliError::Io(e.to_string())
	}
}
