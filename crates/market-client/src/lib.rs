//! The market's parties as a library, over the chain client and the worker client:
//! each step of the paper's flow has one home here, which the CLI, the demo, the
//! sensor client and the tests call.
//!
//! - [`enrol`]: CertifiedUserKeyGen from the user's side, with the dev CA or in two
//!   steps with a real CA (a request out, the response in, checked against the
//!   chain's CA key); the same for a data user and a sensor.
//! - [`Requester`]: the data user: register, quote, request, fetch (finding the
//!   worker from the delivery's location on chain and the sensors' keys from the
//!   chain), fetch ahead, confirm, cancel.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod enrol;
mod error;
mod requester;

pub use error::Error;
pub use requester::{agreement, fetch, quote, Offer, Requester};
