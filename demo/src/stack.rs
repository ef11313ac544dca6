//! The SensorShare stack as the processes a deployment runs: a chain (a dev node, or
//! a local testnet of four validators), the cloud worker of its storage provider
//! (Ferdie), simulated sensors streaming through `sensorshare-sensor run`, and the
//! owner's agent.

use crate::Error;
use sensorshare_chain_client::{
	dev_node::{free_port, workspace_binary, DevNode, SensorRun, Testnet, LOCAL_VALIDATORS},
	ChainClient,
};
use std::{
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

/// How the stack is set up.
#[derive(Debug, Clone)]
pub struct StackConfig {
	/// Where keys, queues, the store and every process's log go.
	pub dir: PathBuf,
	/// The node's RPC port (9944 is what polkadot.js apps expects).
	pub rpc_port: u16,
	/// The cloud worker's HTTP port.
	pub worker_port: u16,
	/// The chain to run.
	pub chain: ChainSetup,
	/// The sensors' owner (secret URI).
	pub owner: String,
	/// The sensors' identities.
	pub sensors: Vec<String>,
	/// Price per epoch, in units.
	pub price: String,
	/// Epoch length in seconds.
	pub epoch_secs: u64,
	/// Milliseconds between a sensor's readings.
	pub interval_ms: u64,
	/// A marker value every simulated reading carries, to look for in the store.
	pub marker: Option<f64>,
	/// Whether to run the owner's agent (the experiments answer requests themselves).
	pub agent: bool,
	/// Seconds the agent waits after a subscribed epoch ends before re-keying it.
	pub settle_secs: u64,
	/// Deliveries the worker runs at once.
	pub max_concurrent_deliveries: usize,
}

impl StackConfig {
	/// Two simulated sensors of Alice's with 5-second epochs, an agent, on free ports.
	pub fn new(dir: &Path) -> Self {
		StackConfig {
			dir: dir.to_path_buf(),
			rpc_port: free_port(),
			worker_port: free_port(),
			chain: ChainSetup::Dev(Vec::new()),
			owner: "//Alice".into(),
			sensors: vec!["tag-1".into(), "tag-2".into()],
			price: "1".into(),
			epoch_secs: 5,
			interval_ms: 250,
			marker: None,
			agent: true,
			settle_secs: 1,
			max_concurrent_deliveries: 64,
		}
	}
}

/// The chain a stack runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainSetup {
	/// `sensorshare-node --dev` with more arguments, e.g. `--sealing 13000`.
	Dev(Vec<String>),
	/// The local testnet of four validators (Alice, Bob, Charlie, Dave) under Aura and
	/// GRANDPA, of this chain spec: `local`, or `local-13s` for 13-second blocks. The
	/// stack talks to Alice's node; every node keeps all its blocks' state.
	Testnet(String),
}

/// A step of the stack's start, for the caller to show.
#[derive(Debug, Clone)]
pub struct Started {
	/// What is up.
	pub what: String,
	/// The chain's finalized head once it was.
	pub block: u32,
}

/// The running stack. Dropping it kills every process; [`Stack::stop`] stops them
/// gracefully first.
pub struct Stack {
	/// The node the stack talks to: the dev node, or Alice's.
	pub node: DevNode,
	/// The testnet's other validators (none on a dev chain).
	pub peers: Vec<DevNode>,
	/// A client of the node.
	pub chain: ChainClient,
	/// The node's WebSocket URL.
	pub url: String,
	/// The cloud worker's URL.
	pub worker_url: String,
	/// The worker's store directory.
	pub store: PathBuf,
	/// The sensors' key files, in the configuration's order.
	pub sensor_keys: Vec<PathBuf>,
	/// The configuration.
	pub config: StackConfig,
	processes: Vec<Process>,
}

struct Process {
	name: String,
	child: Child,
}

impl Drop for Process {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

fn log_file(dir: &Path, name: &str) -> Result<std::fs::File, Error> {
	let path = dir.join(format!("{name}.log"));
	std::fs::File::create(&path).map_err(|e| Error::Io(path.display().to_string(), e))
}

fn spawn(dir: &Path, name: &str, bin: &str, env: &str, args: &[String]) -> Result<Process, Error> {
	let path = workspace_binary(bin, env);
	let child = Command::new(&path)
		.args(args)
		// The worker's provider account: Ferdie, the dev chain's storage provider.
		.env("SENSORSHARE_PROVIDER_SURI", "//Ferdie")
		.stdin(Stdio::null())
		.stdout(Stdio::null())
		.stderr(log_file(dir, name)?)
		.spawn()
		.map_err(|e| Error::Io(path.display().to_string(), e))?;
	Ok(Process { name: name.into(), child })
}

/// Runs a workspace binary to completion; its standard output.
fn run(bin: &str, env: &str, args: &[String]) -> Result<String, Error> {
	let path = workspace_binary(bin, env);
	let out = Command::new(&path)
		.args(args)
		.stdin(Stdio::null())
		.output()
		.map_err(|e| Error::Io(path.display().to_string(), e))?;
	if !out.status.success() {
		return Err(Error::Process(format!(
			"{bin} {}: {}",
			args.join(" "),
			String::from_utf8_lossy(&out.stderr).trim()
		)));
	}
	Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn strings(args: &[&str]) -> Vec<String> {
	args.iter().map(|a| a.to_string()).collect()
}

impl Stack {
	/// Starts the node, the worker, registers and starts every sensor, then the
	/// agent; `on_step` hears of each as it is up.
	pub async fn start(
		config: StackConfig,
		mut on_step: impl FnMut(Started),
	) -> Result<Self, Error> {
		let dir = config.dir.clone();
		std::fs::create_dir_all(&dir).map_err(|e| Error::Io(dir.display().to_string(), e))?;
		let node_error = |e| Error::Io("sensorshare-node".into(), e);
		let (node, peers, chain, what) = match &config.chain {
			ChainSetup::Dev(args) => {
				let args: Vec<&str> = args.iter().map(String::as_str).collect();
				let mut node = DevNode::start_on(config.rpc_port, &args).map_err(node_error)?;
				let chain = node.client().await;
				(node, Vec::new(), chain, "dev chain up".to_string())
			},
			ChainSetup::Testnet(spec) => {
				let archive = ["--state-pruning", "archive"];
				let mut net = Testnet::start_on(config.rpc_port, spec, LOCAL_VALIDATORS, &archive)
					.map_err(node_error)?;
				let chain = net.client().await;
				let what = format!("testnet {spec} up, Alice, Bob, Charlie and Dave finalizing");
				(net.alice, net.peers, chain, what)
			},
		};
		let url = node.url();
		let head = |chain: &ChainClient| {
			let chain = chain.clone();
			async move { chain.finalized_head().await.map(|(n, _)| n) }
		};
		on_step(Started { what: format!("{what} at {url}"), block: head(&chain).await? });

		let worker_url = format!("http://127.0.0.1:{}", config.worker_port);
		let store = dir.join("store");
		let mut processes = vec![spawn(
			&dir,
			"worker",
			"sensorshare-cloud-worker",
			"SENSORSHARE_WORKER",
			&[
				strings(&["--listen", &format!("127.0.0.1:{}", config.worker_port)]),
				strings(&["--public-url", &worker_url, "--chain-url", &url]),
				strings(&[
					"--max-concurrent-deliveries",
					&config.max_concurrent_deliveries.to_string(),
				]),
				vec!["--store-dir".into(), store.display().to_string()],
				vec!["--state-dir".into(), dir.join("worker-state").display().to_string()],
			]
			.concat(),
		)?];
		wait_for_health(&worker_url, &mut processes[0]).await?;
		on_step(Started {
			what: format!("cloud worker of Ferdie, the storage provider, at {worker_url}"),
			block: head(&chain).await?,
		});

		let mut sensor_keys = Vec::new();
		for (i, id) in config.sensors.iter().enumerate() {
			let key = dir.join(format!("{id}.key"));
			let key_s = key.display().to_string();
			run(
				"sensorshare-sensor",
				"SENSORSHARE_SENSOR",
				&strings(&[
					"--chain-url",
					&url,
					"register",
					"--id",
					id,
					"--key",
					&key_s,
					"--dev-ca",
					"--owner",
					&config.owner,
					"--price",
					&config.price,
					"--epoch-secs",
					&config.epoch_secs.to_string(),
				]),
			)?;
			on_step(Started {
				what: format!(
					"sensor {id} certified by the dev CA and registered: {} SENS per {}-second epoch",
					config.price, config.epoch_secs
				),
				block: head(&chain).await?,
			});
			let args = SensorRun {
				chain_url: url.clone(),
				key: key.clone(),
				cloud: worker_url.clone(),
				interval_ms: config.interval_ms,
				queue_dir: dir.join(format!("{id}.queue")),
				seed: Some(i as u64 + 1),
				marker: config.marker,
			}
			.args();
			processes.push(spawn(&dir, id, "sensorshare-sensor", "SENSORSHARE_SENSOR", &args)?);
			sensor_keys.push(key);
		}
		on_step(Started {
			what: format!(
				"{} simulated SensorTags streaming a reading every {} ms, sealed per epoch",
				config.sensors.len(),
				config.interval_ms
			),
			block: head(&chain).await?,
		});

		if config.agent {
			let mut args = strings(&["--chain-url", &url, "agent", "--owner", &config.owner]);
			for key in &sensor_keys {
				args.extend(["--key".to_string(), key.display().to_string()]);
			}
			args.extend(strings(&["--settle-secs", &config.settle_secs.to_string()]));
			processes.push(spawn(
				&dir,
				"agent",
				"sensorshare-sensor",
				"SENSORSHARE_SENSOR",
				&args,
			)?);
			on_step(Started {
				what: format!("{}'s agent answering requests for the sensors", config.owner),
				block: head(&chain).await?,
			});
		}
		Ok(Stack { node, peers, chain, url, worker_url, store, sensor_keys, config, processes })
	}

	/// Whether every process still runs; the name of one that stopped, if any.
	pub fn exited(&mut self) -> Option<String> {
		self.processes
			.iter_mut()
			.find_map(|p| (!matches!(p.child.try_wait(), Ok(None))).then(|| p.name.clone()))
	}

	/// Asks every process to stop (SIGTERM), waits up to `grace` for them, then kills
	/// what is left; the chain's nodes last.
	pub async fn stop(mut self, grace: Duration) {
		for p in self.processes.iter().rev() {
			terminate(p.child.id());
		}
		let deadline = Instant::now() + grace;
		for p in self.processes.iter_mut().rev() {
			while matches!(p.child.try_wait(), Ok(None)) && Instant::now() < deadline {
				tokio::time::sleep(Duration::from_millis(50)).await;
			}
		}
		self.processes.clear();
		for node in std::iter::once(&self.node).chain(&self.peers) {
			terminate(node.pid());
		}
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}

/// Sends SIGTERM to `pid`, which may have exited already.
fn terminate(pid: u32) {
	let _ = sensorshare_chain_client::dev_node::signal(pid, "TERM");
}

async fn wait_for_health(url: &str, worker: &mut Process) -> Result<(), Error> {
	let started = Instant::now();
	loop {
		if let Ok(r) = reqwest::get(format!("{url}/health")).await {
			if r.status().is_success() {
				return Ok(());
			}
		}
		if !matches!(worker.child.try_wait(), Ok(None)) {
			return Err(Error::Process("the cloud worker exited: see worker.log".into()));
		}
		if started.elapsed() > Duration::from_secs(60) {
			return Err(Error::Process("the cloud worker did not come up in 60 s".into()));
		}
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
}
