//! The chain client's errors.

/// Why a chain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
	/// The node could not be reached.
	#[error("cannot reach the node at {url}: {reason}")]
	Connect {
		/// The node's URL.
		url: String,
		/// Why.
		reason: String,
	},
	/// The chain refused a transaction with one of its pallets' errors.
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
			subxt::Error::Runtime(subxt::error::DispatchError::Module(m)) => match m.details() {
				Ok(d) => Error::Refused {
					pallet: d.pallet.name().to_string(),
					name: d.variant.name.clone(),
					docs: d.variant.docs.join(" "),
				},
				Err(e) => Error::Dispatch(e.to_string()),
			},
			subxt::Error::Runtime(d) => Error::Dispatch(d.to_string()),
			other => Error::Subxt(Box::new(other)),
		}
	}
}

impl Error {
	/// The pallet error's name, if the chain refused with one.
	pub fn refusal(&self) -> Option<&str> {
		match self {
			Error::Refused { name, .. } => Some(name),
			_ => None,
		}
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
			Error::Refused { name, .. } => name == "DeadlinesFull",
			_ => false,
		}
	}
}
