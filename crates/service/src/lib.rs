//! What every SensorShare process shares, in one place: how it logs, how it learns
//! that it is to stop, and what time it is.
//!
//! A binary's `main` parses its arguments, calls [`init_tracing`], and hands
//! [`shutdown_signal`] (a future) to its library's `run(config, shutdown)`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::{
	future::Future,
	time::{SystemTime, UNIX_EPOCH},
};

/// Logs to standard error, filtered by `RUST_LOG`, else by `default` (`"info"`,
/// `"warn"`, or directives such as `"sensorshare=debug"`).
pub fn init_tracing(default: &str) {
	let filter = tracing_subscriber::EnvFilter::try_from_default_env()
		.unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
	tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
	let term = async {
		match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
			Ok(mut s) => {
				s.recv().await;
			},
			Err(_) => std::future::pending().await,
		}
	};
	tokio::select! {
		_ = tokio::signal::ctrl_c() => {},
		_ = term => {},
	}
}

/// `shutdown` as a watch that turns `true` once it resolves, for code that hands the
/// signal to several tasks.
pub fn shutdown_watch(
	shutdown: impl Future<Output = ()> + Send + 'static,
) -> tokio::sync::watch::Receiver<bool> {
	let (tx, rx) = tokio::sync::watch::channel(false);
	tokio::spawn(async move {
		shutdown.await;
		let _ = tx.send(true);
	});
	rx
}

/// The wall clock, in the units the protocol uses.
pub mod clock {
	use super::*;

	/// Milliseconds since the Unix epoch (0 for a clock set before 1970).
	pub fn now_ms() -> u64 {
		SystemTime::now()
			.duration_since(UNIX_EPOCH)
			.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
	}

	/// Seconds since the Unix epoch (0 for a clock set before 1970).
	pub fn now_secs() -> u64 {
		SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_clock_agrees_with_itself_in_both_units() {
		let (s, ms) = (clock::now_secs(), clock::now_ms());
		assert!(ms / 1000 >= s && ms / 1000 - s <= 1, "{s} s, {ms} ms");
		assert!(s > 1_700_000_000, "after November 2023");
	}

	#[tokio::test]
	async fn a_watch_turns_true_when_its_shutdown_resolves() {
		let (tx, rx) = tokio::sync::oneshot::channel::<()>();
		let mut watch = shutdown_watch(async move {
			let _ = rx.await;
		});
		assert!(!*watch.borrow());
		tx.send(()).expect("send");
		watch.changed().await.expect("changed");
		assert!(*watch.borrow());
	}
}
