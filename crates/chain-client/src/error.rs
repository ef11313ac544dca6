//! The chain client's errors. A refusal by the data market is decoded into the
//! pallet's own `Error` enum ([`MarketError`]), so callers match its variants, not
//! their names.

/// The data market pallet's errors, as generated from the runtime's metadata.
pub use crate::api::runtime_types::pallet_data_market::pallet::Error as MarketError;

/// Why a chain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
	/// The node could not be reached.
	#[error("cannot reach the node at {url}: {reason}")]
	Connect {
		/// The node's URL.
		url: String,
		/// What the connection attempt reported.
		reason: String,
	},
	/// The data market refused a transaction with one of its errors.
	#[error("the chain refused the transaction: DataMarket::{error:?} ({docs})")]
	Market {
		/// The pallet's error.
		error: MarketError,
		/// Its documentation.
		docs: String,
	},
	/// The chain refused a transaction with another pallet's error.
	#[error("the chain refused the transaction: {pallet}::{name} ({docs})")]
	Refused {
		/// The pallet.
		pallet: String,
		/// The error's name, e.g. `UnknownSensor`.
		name: String,
		/// The error's documentation.
		docs: String,
	},
	/// The chain refused a transaction for another reason (bad origin, arithmetic…).
	#[error("the chain refused the transaction: {0}")]
	Dispatch(String),
	/// A transaction was not included before it expired.
	#[error("the transaction was dropped: {0}")]
	Dropped(String),
	/// The secret URI of an account is invalid.
	#[error("invalid secret URI: {0}")]
	SecretUri(String),
	/// A key could not sign (a proof of possession).
	#[error("signing failed: {0}")]
	Crypto(String),
	/// A request the chain would refuse, refused before it is sent.
	#[error("invalid request: {0}")]
	InvalidRequest(String),
	/// The chain holds data this client cannot make sense of.
	#[error("unexpected data on chain: {0}")]
	InvalidChainData(String),
	/// Any other RPC or decoding failure.
	#[error(transparent)]
	Subxt(#[from] Box<subxt::Error>),
}

impl From<subxt::Error> for Error {
	fn from(e: subxt::Error) -> Self {
		match e {
			subxt::Error::Runtime(subxt::error::DispatchError::Module(m)) => {
				let docs = m.details().map(|d| d.variant.docs.join(" ")).unwrap_or_default();
				match (m.as_root_error::<crate::api::Error>(), m.details()) {
					(Ok(crate::api::Error::DataMarket(error)), _) => Error::Market { error, docs },
					(_, Ok(d)) => Error::Refused {
						pallet: d.pallet.name().to_string(),
						name: d.variant.name.clone(),
						docs,
					},
					(_, Err(e)) => Error::Dispatch(e.to_string()),
				}
			},
			subxt::Error::Runtime(d) => Error::Dispatch(d.to_string()),
			other => Error::Subxt(Box::new(other)),
		}
	}
}

impl Error {
	/// The data market's error, if it refused the transaction.
	pub fn market_error(&self) -> Option<&MarketError> {
		match self {
			Error::Market { error, .. } => Some(error),
			_ => None,
		}
	}

	/// Whether a pallet refused the transaction (the data market or another): a
	/// verdict on the transaction, not a failure to reach the chain.
	pub fn is_refusal(&self) -> bool {
		matches!(self, Error::Market { .. } | Error::Refused { .. })
	}

	/// Whether the connection dropped and may come back: worth retrying.
	pub fn is_transient(&self) -> bool {
		match self {
			Error::Subxt(e) => {
				e.is_disconnected_will_reconnect() || matches!(**e, subxt::Error::Rpc(_))
			},
			Error::Connect { .. } => true,
			// Submitting again (with a fresh nonce) may well succeed.
			Error::Dropped(_) => true,
			// Every block near the deadline the call needs is full: a later block has
			// room.
			Error::Market { error, .. } => matches!(error, MarketError::DeadlinesFull),
			_ => false,
		}
	}
}
