//! A dev chain, a worker and the market's participants, for the integration tests.
#![allow(dead_code)]

use cbpre::{dev, Capsule, Identity, PublicKey, SealedRecord, SecretKey};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use sensorshare_chain_client::{
	dev_node::{free_port, DevNode},
	signer_from_uri, AccountId32, ChainClient, Keypair, Listing, ReKeys, UNIT,
};
use sensorshare_cloud_worker::config::{Config, StorageConfig};
use sensorshare_protocol::{header::RecordHeader, routes::HEALTH};
use sensorshare_worker_client::{DeliveryRef, Wanted, WorkerClient};
use std::{
	ops::RangeInclusive,
	path::PathBuf,
	time::{Duration, Instant},
};

/// Every sensor of the tests has one-minute epochs.
pub const EPOCH_SECS: u64 = 60;
/// The price of one epoch.
pub const PRICE: u128 = UNIT;

pub fn rng(seed: u64) -> ChaCha20Rng {
	ChaCha20Rng::seed_from_u64(seed)
}

pub fn key(uri: &str) -> Keypair {
	signer_from_uri(uri).expect("a dev account")
}

pub fn account(uri: &str) -> AccountId32 {
	key(uri).public_key().to_account_id()
}

/// A dev chain and its client.
pub struct Chain {
	pub node: DevNode,
	pub client: ChainClient,
}

impl Chain {
	pub async fn start() -> Self {
		let mut node = DevNode::start(&[]).expect("the node starts");
		let client = node.client().await;
		Chain { node, client }
	}

	pub async fn register_sensor(&self, owner: &str, sensor: &SecretKey, provider: &str) {
		let listing = Listing {
			price_per_epoch: PRICE,
			epoch_secs: EPOCH_SECS,
			first_epoch: 0,
			provider: account(provider),
			description: "test sensor".into(),
		};
		self.client
			.register_sensor_with_rng(&key(owner), sensor, listing, &mut rng(1))
			.await
			.expect("register_sensor");
	}

	pub async fn register_identity(&self, who: &str, user: &SecretKey) {
		self.client
			.register_identity_with_rng(&key(who), user, &mut rng(2))
			.await
			.expect("register_identity");
	}

	pub async fn register_provider(&self, who: &str) {
		self.client.register_provider(&key(who), "http://x", 0).await.expect("register_provider");
	}

	/// `who` requests `sensors` for `from..=to`; the agreement's number.
	pub async fn request(&self, who: &str, sensors: &[&SecretKey], from: u64, to: u64) -> u64 {
		let ids: Vec<Identity> = sensors.iter().map(|s| *s.id()).collect();
		let (id, _) = self
			.client
			.request_data(&key(who), &ids, (from, to), u128::MAX)
			.await
			.expect("request_data");
		id
	}

	/// The owner accepts with one re-key per sensor and epoch, for `requester`.
	pub async fn accept(
		&self,
		owner: &str,
		id: u64,
		sensors: &[&SecretKey],
		requester: &PublicKey,
	) {
		let rekeys = all_rekeys(id, sensors, requester, &self.client).await;
		self.client.accept_request(&key(owner), id, rekeys).await.expect("accept_request");
	}

	/// The owner posts the re-keys of `epochs` only, for `requester`: accepting a
	/// subscription with them, or adding them to it.
	pub async fn post_rekeys(
		&self,
		posting: Posting,
		owner: &str,
		id: u64,
		sensors: &[&SecretKey],
		requester: &PublicKey,
		epochs: RangeInclusive<u64>,
	) {
		let (owner, first) = (key(owner), *epochs.start());
		let rekeys = rekeys(sensors, requester, epochs);
		let posted = match posting {
			Posting::Accept => self.client.accept_request(&owner, id, rekeys).await,
			Posting::Add => self.client.add_rekeys(&owner, id, first, rekeys).await,
		};
		posted.expect("the re-keys are posted");
	}

	/// Waits until agreement `id` is delivered; its location and digest.
	pub async fn delivered(&self, id: u64, within: Duration) -> (String, [u8; 32]) {
		let a = self.client.agreement(id).await.expect("agreement").expect("open");
		self.delivered_through(id, a.to_epoch, within).await
	}

	/// Waits until agreement `id` is delivered through `epoch` at least; the location
	/// and digest of its latest delivery.
	pub async fn delivered_through(
		&self,
		id: u64,
		epoch: u64,
		within: Duration,
	) -> (String, [u8; 32]) {
		let started = Instant::now();
		loop {
			let a = self.client.agreement(id).await.expect("agreement").expect("open");
			if a.last_delivered_epoch().is_some_and(|d| d >= epoch) {
				return a.delivery.expect("a delivered agreement has its delivery");
			}
			assert!(
				started.elapsed() < within,
				"agreement {id} not delivered through {epoch} in {within:?}: {a:?}"
			);
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
	}
}

/// What the owner does with the re-keys it posts.
#[derive(Debug, Clone, Copy)]
pub enum Posting {
	/// Accepts the request with them.
	Accept,
	/// Adds them to the accepted agreement.
	Add,
}

/// For each sensor, the re-keys of `epochs` for `requester`.
pub fn rekeys(
	sensors: &[&SecretKey],
	requester: &PublicKey,
	epochs: RangeInclusive<u64>,
) -> ReKeys {
	sensors
		.iter()
		.map(|s| {
			epochs
				.clone()
				.map(|e| {
					let meta = cbpre::Meta::new(*s.id(), e);
					s.rekey(&meta, requester).expect("rekey").to_bytes()
				})
				.collect()
		})
		.collect()
}

/// The re-keys of every epoch of agreement `id`, for an acceptance.
pub async fn all_rekeys(
	id: u64,
	sensors: &[&SecretKey],
	requester: &PublicKey,
	chain: &ChainClient,
) -> ReKeys {
	let a = chain.agreement(id).await.expect("agreement").expect("open");
	rekeys(sensors, requester, a.from_epoch..=a.to_epoch)
}

/// What `download` needs to fetch the delivery of `id` through `through_epoch` that
/// is on chain with `digest`, with the sensor-epochs `chain` holds as empty.
pub async fn delivery(
	chain: &ChainClient,
	id: u64,
	through_epoch: u64,
	digest: [u8; 32],
) -> Wanted {
	let empty = chain.empty_epochs(id).await.expect("the empty epochs");
	Wanted::OnChain(DeliveryRef { agreement: id, through_epoch, digest, empty })
}

/// A dev enrolment.
pub fn enroll(id: &str, seed: u64) -> SecretKey {
	dev::enroll_with_rng(id.as_bytes(), &mut rng(seed)).expect("enrol")
}

/// A requester's public key, as anyone derives it.
pub fn public_key(user: &SecretKey) -> PublicKey {
	PublicKey::derive(user.id(), user.certificate(), &dev::ca().public_key()).expect("derive")
}

/// The tests' sensors upload epochs of 1970 (epoch 10 of one-minute epochs is ten
/// minutes after the Unix epoch): uploads stay open for them.
pub const OLDEST_UPLOAD_SECS: u64 = 3_000_000_000;

/// The default limits, but uploads open for the tests' old epochs.
pub fn test_limits() -> sensorshare_cloud_worker::config::Limits {
	sensorshare_cloud_worker::config::Limits {
		max_upload_age_secs: OLDEST_UPLOAD_SECS,
		..Default::default()
	}
}

/// A worker's configuration on free ports, storing in `dir`.
pub fn worker_config(chain_url: &str, dir: &std::path::Path) -> (Config, String) {
	let port = free_port();
	let public_url = format!("http://127.0.0.1:{port}");
	let config = Config {
		listen: ([127, 0, 0, 1], port).into(),
		public_url: public_url.clone(),
		chain_url: chain_url.to_string(),
		provider_suri: Some("//Ferdie".into()),
		state_dir: dir.join("state"),
		storage: StorageConfig::Fs { path: dir.join("store") },
		limits: test_limits(),
	};
	(config, public_url)
}

/// A worker running in this process until dropped.
pub struct Worker {
	pub client: WorkerClient,
	pub url: String,
	pub store: PathBuf,
	stop: Option<tokio::sync::oneshot::Sender<()>>,
	task: tokio::task::JoinHandle<()>,
}

impl Worker {
	pub async fn start(chain_url: &str, dir: &std::path::Path) -> Self {
		let (config, url) = worker_config(chain_url, dir);
		let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
		let task = tokio::spawn(async move {
			let shutdown = async move {
				let _ = stopped.await;
			};
			sensorshare_cloud_worker::run(config, shutdown).await.expect("the worker runs");
		});
		let client = WorkerClient::new(&url);
		wait_for_health(&url).await;
		Worker { client, url, store: dir.join("store"), stop: Some(stop), task }
	}

	pub fn client_base(&self) -> &str {
		&self.url
	}

	pub async fn stop(mut self) {
		if let Some(s) = self.stop.take() {
			let _ = s.send(());
		}
		(&mut self.task).await.expect("the worker stops cleanly");
	}
}

/// A chain and a worker; Alice's sensor "sensor-1", stored with Ferdie; Bob, a
/// registered data user. The sensor's key, then Bob's.
pub async fn alice_sensor_and_bob() -> (Chain, Worker, SecretKey, SecretKey) {
	let chain = Chain::start().await;
	let worker = Worker::start(&chain.node.url(), chain.node.dir()).await;
	let sensor = enroll("sensor-1", 1);
	let bob = enroll("bob", 3);
	chain.register_sensor("//Alice", &sensor, "//Ferdie").await;
	chain.register_identity("//Bob", &bob).await;
	(chain, worker, sensor, bob)
}

pub async fn wait_for_health(url: &str) {
	let started = Instant::now();
	loop {
		if let Ok(r) = reqwest::get(format!("{url}{HEALTH}")).await {
			if r.status().is_success() {
				return;
			}
		}
		assert!(started.elapsed() < Duration::from_secs(60), "the worker did not come up");
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
}

/// A sensor's epoch: its capsule and `n` sealed readings `"<epoch>:<i>"`.
pub fn epoch_data(
	sensor: &SecretKey,
	epoch: u64,
	n: u64,
	seed: u64,
) -> (Capsule, Vec<SealedRecord>) {
	let mut rng = rng(seed);
	let (m, capsule) = sensor.encapsulate(epoch).expect("encapsulate");
	let records = (0..n)
		.map(|i| {
			let header = RecordHeader::new(epoch * EPOCH_SECS * 1000 + i * 1000).to_bytes();
			let reading = format!("{epoch}:{i}");
			m.seal_with_rng(capsule.meta(), &header, reading.as_bytes(), &mut rng).expect("seal")
		})
		.collect();
	(capsule, records)
}

/// Uploads a sensor's epoch: its capsule, then its records in signed batches of up
/// to [`BATCH`].
pub async fn upload_epoch(worker: &WorkerClient, sensor: &SecretKey, epoch: u64, n: u64) {
	let (capsule, records) = epoch_data(sensor, epoch, n, epoch);
	worker.upload_capsule(&capsule).await.expect("capsule upload");
	upload_batches(worker, sensor, epoch, &records).await;
}

/// The records in a batch the tests upload: more than one, so that an epoch of a
/// few readings has several batches.
pub const BATCH: usize = 2;

/// Uploads `records` of a sensor's epoch in signed batches of [`BATCH`], numbered
/// from 0.
pub async fn upload_batches(
	worker: &WorkerClient,
	sensor: &SecretKey,
	epoch: u64,
	records: &[SealedRecord],
) {
	let mut rng = rng(epoch);
	for (seq, chunk) in records.chunks(BATCH).enumerate() {
		worker
			.upload_batch(sensor, epoch, seq as u64, chunk, &mut rng)
			.await
			.expect("batch upload");
	}
}

/// Every file under `dir`.
pub fn files(dir: &std::path::Path) -> Vec<PathBuf> {
	let mut out = Vec::new();
	let mut stack = vec![dir.to_path_buf()];
	while let Some(d) = stack.pop() {
		let Ok(entries) = std::fs::read_dir(&d) else { continue };
		for e in entries.flatten() {
			let p = e.path();
			if p.is_dir() {
				stack.push(p);
			} else {
				out.push(p);
			}
		}
	}
	out.sort();
	out
}

/// The sensors' keys, in the agreement's order, as a requester learns them from the
/// chain.
pub fn sensor_keys(sensors: &[&SecretKey]) -> Vec<(Identity, PublicKey)> {
	sensors.iter().map(|s| (*s.id(), *s.public_key())).collect()
}

/// What `requester` checks a download of an agreement of `keys`' sensors from
/// `from_epoch` on against (the tests' sensors have `EPOCH_SECS` epochs).
pub fn expected<'a>(
	requester: &'a SecretKey,
	keys: &'a [(Identity, PublicKey)],
	from_epoch: u64,
) -> sensorshare_worker_client::Expected<'a> {
	sensorshare_worker_client::Expected {
		requester,
		sensors: keys,
		from_epoch,
		epoch_secs: EPOCH_SECS,
	}
}

/// Starts the worker binary with `config` and `extra` arguments, its log in `dir/log`.
pub fn spawn_worker(
	config: &Config,
	dir: &std::path::Path,
	log: &str,
	extra: &[&str],
) -> std::process::Child {
	let StorageConfig::Fs { path: storage } = &config.storage else {
		panic!("the tests store on the filesystem")
	};
	// What flags cannot say goes in a configuration file.
	let l = &config.limits;
	let toml = dir.join(format!("{log}.toml"));
	let text = format!(
		"[limits]\nmax_upload_age_secs = {}\nmax_upload_lead_secs = {}\nmax_records_per_epoch = {}\nmax_bytes_per_epoch = {}\nmax_connections = {}\nheader_timeout_secs = {}\nmax_waiting = {}\ntoken_secs = {}\nunknown_sensor_cache_secs = {}\n",
		l.max_upload_age_secs,
		l.max_upload_lead_secs,
		l.max_records_per_epoch,
		l.max_bytes_per_epoch,
		l.max_connections,
		l.header_timeout_secs,
		l.max_waiting,
		l.token_secs,
		l.unknown_sensor_cache_secs
	);
	std::fs::write(&toml, text).expect("the worker's configuration");
	std::process::Command::new(env!("CARGO_BIN_EXE_sensorshare-cloud-worker"))
		.arg("--config")
		.arg(&toml)
		.args(["--listen", &config.listen.to_string(), "--public-url", &config.public_url])
		.args(["--chain-url", &config.chain_url])
		.arg("--store-dir")
		.arg(storage)
		.arg("--state-dir")
		.arg(&config.state_dir)
		.args(extra)
		.env("SENSORSHARE_PROVIDER_SURI", "//Ferdie")
		.env("RUST_LOG", "info")
		.stdout(std::process::Stdio::null())
		.stderr(std::fs::File::create(dir.join(log)).expect("log file"))
		.spawn()
		.expect("the worker binary starts")
}

/// Checks every block from `from` to the head: each agreement of `ids` has exactly
/// one `DataDelivered` event, and each delivery on chain is the one the store holds
/// (it downloads and decrypts for `requester` against the digest on chain).
pub async fn assert_each_delivered_once_as_stored(
	chain: &Chain,
	from: u32,
	ids: &[u64],
	worker: &WorkerClient,
	sensors: &[&SecretKey],
	requester: &SecretKey,
) {
	// Let anything still in flight land before counting.
	tokio::time::sleep(Duration::from_secs(2)).await;
	let (head, _) = chain.client.finalized_head().await.expect("head");
	let mut deliveries: std::collections::HashMap<u64, usize> = Default::default();
	for n in from..=head {
		let hash = chain.client.block_hash(n).await.expect("hash").expect("block");
		for ev in chain.client.market_events(hash).await.expect("events") {
			if let sensorshare_chain_client::MarketEvent::DataDelivered { id, .. } = ev {
				*deliveries.entry(id).or_default() += 1;
			}
		}
	}
	for id in ids {
		assert_eq!(deliveries.get(id), Some(&1), "agreement {id} delivered once: {deliveries:?}");
	}
	let keys = sensor_keys(sensors);
	for id in ids {
		let a = chain.client.agreement(*id).await.expect("read").expect("open");
		let (_, digest) = a.delivery.expect("delivered");
		let expected = expected(requester, &keys, a.from_epoch);
		let wanted = delivery(&chain.client, *id, a.to_epoch, digest).await;
		worker
			.download(&wanted, &expected, &mut rng(*id), |_| {})
			.await
			.expect("the delivery on chain is the one stored");
	}
}

/// A dev chain, the worker binary, Alice's sensor "sensor-1" stored with Ferdie, and
/// Bob a registered data user: what the tests of the running worker start from.
pub struct Running {
	pub chain: Chain,
	pub dir: tempfile::TempDir,
	pub config: Config,
	pub url: String,
	pub worker: std::process::Child,
	pub client: WorkerClient,
	pub sensor: SecretKey,
	pub bob: SecretKey,
}

impl Running {
	/// Starts it all, the worker with `limits` (on top of the tests') and `extra`
	/// flags, logging to `worker.log`.
	pub async fn start(
		limits: impl FnOnce(&mut sensorshare_cloud_worker::config::Limits),
		extra: &[&str],
	) -> Self {
		let chain = Chain::start().await;
		let dir = tempfile::tempdir().expect("tempdir");
		let (mut config, url) = worker_config(&chain.node.url(), dir.path());
		limits(&mut config.limits);
		let worker = spawn_worker(&config, dir.path(), "worker.log", extra);
		wait_for_health(&url).await;
		let client = WorkerClient::new(&url);
		let (sensor, bob) = (enroll("sensor-1", 1), enroll("bob", 2));
		chain.register_sensor("//Alice", &sensor, "//Ferdie").await;
		chain.register_identity("//Bob", &bob).await;
		Running { chain, dir, config, url, worker, client, sensor, bob }
	}

	/// The worker's log so far.
	pub fn log(&self) -> String {
		std::fs::read_to_string(self.dir.path().join("worker.log")).unwrap_or_default()
	}
}

impl Drop for Running {
	fn drop(&mut self) {
		let _ = self.worker.kill();
		let _ = self.worker.wait();
	}
}
