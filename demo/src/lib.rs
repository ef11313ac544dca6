//! The whole of SensorShare on one machine: the processes of a deployment on a local
//! dev chain ([`stack`]), the data user's side of the paper's flow ([`flow`],
//! [`market`]), and the statistics of the paper's experiments ([`stats`]).
//!
//! `sensorshare-demo` runs the flow and leaves the chain up for polkadot.js apps;
//! `tests/e2e.rs` runs it in CI and checks every balance; `benches/paper.rs`
//! reproduces the paper's section VI.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod demo;
pub mod experiments;
pub mod flow;
pub mod market;
pub mod plots;
pub mod report;
pub mod stack;
pub mod stats;

/// Why the demo failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
	/// A file or process could not be opened or started.
	#[error("{0}: {1}")]
	Io(String, std::io::Error),
	/// A process failed or stopped.
	#[error("{0}")]
	Process(String),
	/// The chain failed or refused.
	#[error(transparent)]
	Chain(#[from] sensorshare_chain_client::Error),
	/// The cloud worker failed or refused.
	#[error(transparent)]
	Worker(#[from] sensorshare_worker_client::ClientError),
	/// A step of the market failed.
	#[error(transparent)]
	Market(#[from] sensorshare_market_client::Error),
	/// A key could not be made.
	#[error("crypto: {0}")]
	Crypto(String),
	/// Something did not happen in time.
	#[error("timed out waiting for {0}")]
	Timeout(String),
	/// The chain or the worker said something unexpected.
	#[error("{0}")]
	Unexpected(String),
}
