//! A `sensorshare-node --dev` for tests, on free loopback ports, killed on drop.
//!
//! The binary is `$SENSORSHARE_NODE` if set, else `sensorshare-node` in the cargo
//! target directory the test runs from (`cargo test --workspace` builds it).

use crate::{ChainClient, Error};
use std::{
	net::TcpListener,
	path::PathBuf,
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

/// How long the node may take to open its RPC port.
const STARTUP: Duration = Duration::from_secs(120);

/// A running dev node.
pub struct DevNode {
	child: Child,
	rpc_port: u16,
	log: PathBuf,
	base: tempfile::TempDir,
}

/// Where the node binary is.
pub fn node_binary() -> PathBuf {
	workspace_binary("sensorshare-node", "SENSORSHARE_NODE")
}

/// Where a binary of this workspace is: `$env` if set, else in the cargo target
/// directory of the running program: beside it (a binary in `target/<profile>`), or
/// one level up (a test or bench in `target/<profile>/deps`).
pub fn workspace_binary(name: &str, env: &str) -> PathBuf {
	if let Some(path) = std::env::var_os(env) {
		return PathBuf::from(path);
	}
	let exe = std::env::current_exe().unwrap_or_default();
	let dir = exe.parent().map(PathBuf::from).unwrap_or_default();
	let beside = dir.join(name);
	if beside.is_file() {
		return beside;
	}
	dir.parent().map(|profile| profile.join(name)).unwrap_or(beside)
}

/// A free loopback port.
pub fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0)
}

impl DevNode {
	/// Starts `sensorshare-node --dev` with `extra` arguments.
	pub fn start(extra: &[&str]) -> std::io::Result<Self> {
		Self::start_on(free_port(), extra)
	}

	/// Starts `sensorshare-node --dev` with its RPC on `rpc_port` and `extra`
	/// arguments.
	pub fn start_on(rpc_port: u16, extra: &[&str]) -> std::io::Result<Self> {
		let base = tempfile::tempdir()?;
		let log = base.path().join("node.log");
		let p2p_port = free_port();
		let child = Command::new(node_binary())
			.args(["--dev", "--no-mdns", "--no-prometheus", "--no-telemetry"])
			.arg("--base-path")
			.arg(base.path().join("chain"))
			.args(["--rpc-port", &rpc_port.to_string(), "--port", &p2p_port.to_string()])
			.args(extra)
			.stdout(Stdio::null())
			.stderr(std::fs::File::create(&log)?)
			.spawn()?;
		Ok(DevNode { child, rpc_port, log, base })
	}

	/// The node's WebSocket URL.
	pub fn url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// A scratch directory that lives as long as the node.
	pub fn dir(&self) -> &std::path::Path {
		self.base.path()
	}

	/// Connects, waiting for the node to come up; panics with its log if it does not.
	pub async fn client(&mut self) -> ChainClient {
		let started = Instant::now();
		loop {
			match ChainClient::connect_with_timeout(&self.url(), Duration::from_secs(2)).await {
				Ok(c) => return c,
				Err(e @ Error::Connect { .. }) => {
					if let Ok(Some(status)) = self.child.try_wait() {
						panic!("the node exited with {status}:\n{}", self.log_text());
					}
					assert!(
						started.elapsed() < STARTUP,
						"no RPC after {STARTUP:?} ({e}):\n{}",
						self.log_text()
					);
					tokio::time::sleep(Duration::from_millis(250)).await;
				},
				Err(e) => panic!("connecting to the dev node: {e}\n{}", self.log_text()),
			}
		}
	}

	/// The node's process id.
	pub fn pid(&self) -> u32 {
		self.child.id()
	}

	/// What the node logged so far.
	pub fn log_text(&self) -> String {
		std::fs::read_to_string(&self.log).unwrap_or_default()
	}
}

impl Drop for DevNode {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

/// A child process killed (and reaped) on drop.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
	fn drop(&mut self) {
		let _ = self.0.kill();
		let _ = self.0.wait();
	}
}

/// A `sensorshare-cloud-worker` as the dev chain's storage provider (Ferdie) on
/// `port`, storing in `dir/store`, logging to `dir/worker.log`; killed on drop.
pub struct WorkerProcess {
	/// The process.
	pub process: KillOnDrop,
	/// Its base URL.
	pub url: String,
	/// Its store directory.
	pub store: PathBuf,
}

impl WorkerProcess {
	/// Starts the worker (`$SENSORSHARE_WORKER` or the workspace's binary).
	pub fn start(chain_url: &str, port: u16, dir: &std::path::Path) -> std::io::Result<Self> {
		let url = format!("http://127.0.0.1:{port}");
		let store = dir.join("store");
		let child =
			Command::new(workspace_binary("sensorshare-cloud-worker", "SENSORSHARE_WORKER"))
				.args(["--listen", &format!("127.0.0.1:{port}"), "--public-url", &url])
				.args(["--chain-url", chain_url])
				.arg("--store-dir")
				.arg(&store)
				.arg("--state-dir")
				.arg(dir.join("worker"))
				.env("SENSORSHARE_PROVIDER_SURI", "//Ferdie")
				.stdout(Stdio::null())
				.stderr(std::fs::File::create(dir.join("worker.log"))?)
				.spawn()?;
		Ok(WorkerProcess { process: KillOnDrop(child), url, store })
	}
}
