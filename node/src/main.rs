//! The SensorShare node.

// `sc_cli::Error` and `sc_service::Error` are large, and they are the API of the
// Substrate crates the node is made of.
#![allow(clippy::result_large_err)]

mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
