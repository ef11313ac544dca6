//! A `sensorshare-node --dev` for tests, or a local testnet of validators, on
//! free loopback ports, killed on drop.
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

/// A running node: a dev chain, or a validator of a [`Testnet`].
pub struct DevNode {
	child: Child,
	rpc_port: u16,
	p2p_port: u16,
	args: Vec<String>,
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
		Self::spawn(rpc_port, free_port(), &[&["--dev"], extra].concat())
	}

	/// Starts `sensorshare-node` with `args`, its RPC on `rpc_port` and its peer-to-peer
	/// port on `p2p_port`.
	fn spawn(rpc_port: u16, p2p_port: u16, args: &[&str]) -> std::io::Result<Self> {
		let base = tempfile::tempdir()?;
		let log = base.path().join("node.log");
		let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
		let child = Self::command(base.path(), rpc_port, p2p_port, &args, &log)?;
		Ok(DevNode { child, rpc_port, p2p_port, args, log, base })
	}

	fn command(
		base: &std::path::Path,
		rpc_port: u16,
		p2p_port: u16,
		args: &[String],
		log: &std::path::Path,
	) -> std::io::Result<Child> {
		let log = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
		Command::new(node_binary())
			.args(["--no-mdns", "--no-prometheus", "--no-telemetry"])
			.arg("--base-path")
			.arg(base.join("chain"))
			.args(["--rpc-port", &rpc_port.to_string(), "--port", &p2p_port.to_string()])
			.args(args)
			.stdout(Stdio::null())
			.stderr(log)
			.spawn()
	}

	/// Kills the node (SIGKILL, as a crash) if it runs, and starts it again on the
	/// same base path and ports: the chain goes on from what it had written.
	pub fn restart(&mut self) -> std::io::Result<()> {
		self.kill();
		self.child =
			Self::command(self.base.path(), self.rpc_port, self.p2p_port, &self.args, &self.log)?;
		Ok(())
	}

	/// Kills the node (SIGKILL) and waits for it to exit.
	pub fn kill(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
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

	/// Pauses the node (SIGSTOP): its sockets stay open and nothing answers.
	pub fn pause(&self) -> std::io::Result<()> {
		signal(self.pid(), "STOP")
	}

	/// Resumes a paused node (SIGCONT).
	pub fn resume(&self) -> std::io::Result<()> {
		signal(self.pid(), "CONT")
	}

	/// What the node logged so far.
	pub fn log_text(&self) -> String {
		std::fs::read_to_string(&self.log).unwrap_or_default()
	}
}

impl Drop for DevNode {
	fn drop(&mut self) {
		self.kill();
	}
}

/// The peer id of node key 1 (`--node-key 00…01`), the bootnode's in a [`Testnet`]
/// (and in `scripts/testnet.sh`).
const BOOTNODE_PEER_ID: &str = "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp";

/// The dev validators' flags (`--alice`, …) in the order a local testnet's genesis
/// takes its authorities (the runtime's `VALIDATOR_NAMES`).
const VALIDATORS: [&str; 6] = ["alice", "bob", "charlie", "dave", "eve", "ferdie"];

/// How many validators `local` and `local-<n>s` have: four, so that GRANDPA goes on
/// finalizing with one of them down.
pub const LOCAL_VALIDATORS: usize = 4;

/// A local testnet as `scripts/testnet.sh` runs it: validators (Alice, Bob, Charlie,
/// Dave by default) under Aura and GRANDPA, Alice's node the bootnode and the one
/// clients talk to.
pub struct Testnet {
	/// Alice's node.
	pub alice: DevNode,
	/// The other validators' nodes, in order (Bob's first).
	pub peers: Vec<DevNode>,
}

impl Testnet {
	/// Starts `validators` validators of `chain` (`local`, or `local-13s` for 13-second
	/// blocks: four validators; `local-<v>v` or `local-<n>s-<v>v` for `v`), Alice's RPC
	/// on `rpc_port`, every node with `extra` arguments. `validators` should be the
	/// number the chain names: fewer is a testnet with validators down from the start.
	pub fn start_on(
		rpc_port: u16,
		chain: &str,
		validators: usize,
		extra: &[&str],
	) -> std::io::Result<Self> {
		let names = VALIDATORS.get(..validators).filter(|n| !n.is_empty()).ok_or_else(|| {
			std::io::Error::other(format!("a testnet has 1 to {} validators", VALIDATORS.len()))
		})?;
		let bootnode_port = free_port();
		let bootnode = format!("/ip4/127.0.0.1/tcp/{bootnode_port}/p2p/{BOOTNODE_PEER_ID}");
		let validator = |name: &str, key: usize, rpc: u16, p2p: u16, boot: &[&str]| {
			let (flag, key) = (format!("--{name}"), format!("{key:064x}"));
			let own = ["--chain", chain, "--validator", &flag, "--node-key", &key];
			DevNode::spawn(rpc, p2p, &[&own[..], boot, extra].concat())
		};
		let alice = validator(names[0], 1, rpc_port, bootnode_port, &[])?;
		let peers = names[1..]
			.iter()
			.enumerate()
			.map(|(i, name)| {
				validator(name, i + 2, free_port(), free_port(), &["--bootnodes", &bootnode])
			})
			.collect::<std::io::Result<_>>()?;
		Ok(Testnet { alice, peers })
	}

	/// Connects to Alice's node once GRANDPA has finalized a block, which takes the
	/// nodes finding each other; panics with the logs if that takes more than
	/// two minutes.
	pub async fn client(&mut self) -> ChainClient {
		let client = self.alice.client().await;
		let started = Instant::now();
		loop {
			if matches!(client.finalized_head().await, Ok((n, _)) if n > 0) {
				return client;
			}
			if started.elapsed() > STARTUP {
				let logs = std::iter::once(&self.alice).chain(&self.peers).map(DevNode::log_text);
				panic!("no finality after {STARTUP:?}:\n{}", logs.collect::<Vec<_>>().join("\n"));
			}
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
	}
}

/// Sends `signal` (`STOP`, `CONT`, `TERM`, …) to process `pid`, with the system's
/// `kill` (this crate has no unsafe code).
pub fn signal(pid: u32, signal: &str) -> std::io::Result<()> {
	let status = Command::new("kill")
		.arg(format!("-{signal}"))
		.arg(pid.to_string())
		.stderr(Stdio::null())
		.status()?;
	if status.success() {
		Ok(())
	} else {
		Err(std::io::Error::other(format!("kill -{signal} {pid}: {status}")))
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
	/// Its HTTP port on loopback.
	pub port: u16,
}

impl WorkerProcess {
	/// Waits until the worker accepts connections on its port, at most `within`.
	pub async fn wait_listening(&self, within: Duration) -> std::io::Result<()> {
		let started = Instant::now();
		let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
		loop {
			match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
				Ok(_) => return Ok(()),
				Err(e) if started.elapsed() >= within => return Err(e),
				Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
			}
		}
	}

	/// Where the worker keeps the chain `genesis`'s objects: the worker's namespace
	/// of that chain (`chains/<genesis hex>`) in its store directory.
	pub fn chain_store(&self, genesis: &[u8; 32]) -> PathBuf {
		self.store.join("chains").join(hex::encode(genesis))
	}

	/// Starts the worker (`$SENSORSHARE_WORKER` or the workspace's binary).
	pub fn start(chain_url: &str, port: u16, dir: &std::path::Path) -> std::io::Result<Self> {
		Self::start_with(chain_url, port, dir, "")
	}

	/// Starts the worker with `config` (TOML) under its flags.
	pub fn start_with(
		chain_url: &str,
		port: u16,
		dir: &std::path::Path,
		config: &str,
	) -> std::io::Result<Self> {
		let url = format!("http://127.0.0.1:{port}");
		let store = dir.join("store");
		let toml = dir.join("worker.toml");
		std::fs::write(&toml, config)?;
		let child =
			Command::new(workspace_binary("sensorshare-cloud-worker", "SENSORSHARE_WORKER"))
				.arg("--config")
				.arg(&toml)
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
		Ok(WorkerProcess { process: KillOnDrop(child), url, store, port })
	}
}

/// `sensorshare-sensor run` of a simulated tag: its arguments, for the tests and the
/// demo that start sensors.
#[derive(Debug, Clone)]
pub struct SensorRun {
	/// The node's RPC.
	pub chain_url: String,
	/// The sensor's key file.
	pub key: PathBuf,
	/// The cloud worker's base URL.
	pub cloud: String,
	/// Milliseconds between readings.
	pub interval_ms: u64,
	/// Where uploads wait while the cloud is away.
	pub queue_dir: PathBuf,
	/// The simulated tag's seed, if not the default.
	pub seed: Option<u64>,
	/// A marker added to every reading, if any.
	pub marker: Option<f64>,
}

impl SensorRun {
	/// The command line after the binary's name.
	pub fn args(&self) -> Vec<String> {
		let mut args: Vec<String> = ["--chain-url", &self.chain_url, "run", "--key"]
			.iter()
			.map(|s| s.to_string())
			.collect();
		args.push(self.key.display().to_string());
		args.extend(["--cloud".into(), self.cloud.clone()]);
		args.extend(["--interval-ms".into(), self.interval_ms.to_string()]);
		args.extend(["--queue-dir".into(), self.queue_dir.display().to_string()]);
		if let Some(seed) = self.seed {
			args.extend(["--seed".into(), seed.to_string()]);
		}
		if let Some(m) = self.marker {
			args.extend(["--marker".into(), m.to_string()]);
		}
		args
	}

	/// Starts it (`$SENSORSHARE_SENSOR` or the workspace's binary), its log in `log`.
	pub fn spawn(&self, log: &std::path::Path) -> std::io::Result<KillOnDrop> {
		let child = Command::new(workspace_binary("sensorshare-sensor", "SENSORSHARE_SENSOR"))
			.args(self.args())
			.stdout(Stdio::null())
			.stderr(std::fs::File::create(log)?)
			.spawn()?;
		Ok(KillOnDrop(child))
	}
}
