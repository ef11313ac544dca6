//! The paper's experiments (section VI) on a running [`Stack`]:
//!
//! - Fig. 3: the latency from a request to decrypted data, in its parts, with PRE and
//!   without it;
//! - Fig. 4: the mean latency of 1, 5, …, 50 (and 100, 500, 1000) concurrent requests;
//! - chain throughput: `request_data` against `transfer_keep_alive`.
//!
//! Without PRE, the flow has the same transactions (the re-keys ride in the
//! acceptance, not in a transaction of their own as in the paper's Ethereum
//! contract), so the plain path is every run less its PRE operations, each timed in
//! that run: generating the re-keys, re-encrypting the capsules, Decrypt2.

use crate::{
	market::{register_requester, EventLog, Requester},
	stack::Stack,
	stats::{summarize, summarize_secs, Summary},
	Error,
};
use cbpre::{Identity, SecretKey};
use sensorshare_chain_client::{
	api, signer_from_uri, subxt::utils::MultiAddress, ChainClient, EmptyEpoch, Listing, UNIT,
};
use sensorshare_worker_client::WorkerClient;
use std::{
	collections::HashMap,
	sync::Arc,
	time::{Duration, Instant},
};
use tokio::task::JoinSet;

/// How long one request may take before an experiment gives up.
const TIMEOUT: Duration = Duration::from_secs(180);

/// `work`, or an error naming `what` if it takes longer than [`TIMEOUT`].
async fn within<T, E: Into<Error>>(
	what: String,
	work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, Error> {
	tokio::time::timeout(TIMEOUT, work).await.map_err(|_| Error::Timeout(what))?.map_err(Into::into)
}

/// The parts of one request's latency (Fig. 3). Moments on chain are the blocks'
/// timestamps (when each block was authored); the parts add up to the whole.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fig3Sample {
	/// From submitting the request to its block.
	pub request: Duration,
	/// From the request's block to the acceptance's, re-keys generated in between.
	pub acceptance: Duration,
	/// The worker's time verifying and re-encrypting capsules.
	pub reencrypt: Duration,
	/// The rest of the delivery, from the acceptance's block to the requester holding
	/// the manifest: the worker seeing the block final, reading and writing the
	/// segments.
	pub delivery: Duration,
	/// From the manifest in hand to the records decrypted: the download, the checks
	/// and the decryption.
	pub fetch: Duration,
	/// From the acceptance's block to the `deliver` transaction's block. Off the
	/// path: the requester has its data before; it checks the digest on chain
	/// against what it downloaded once this block is final, before confirming.
	pub recorded: Duration,
	/// The whole, from submitting the request to decrypted data.
	pub total: Duration,
	/// The owner's time generating the re-keys (inside `acceptance`).
	pub rekeygen: Duration,
	/// The requester's Decrypt2 time (inside `fetch`).
	pub decrypt2: Duration,
}

impl Fig3Sample {
	/// The time of the PRE operations in this run.
	pub fn pre(&self) -> Duration {
		self.rekeygen + self.reencrypt + self.decrypt2
	}

	/// The run's latency less its PRE operations: the plain path.
	pub fn without_pre(&self) -> Duration {
		self.total.saturating_sub(self.pre())
	}
}

/// What the experiments run on.
pub struct Bench {
	// Before the stack: dropped first, the log stops following before the nodes go.
	log: EventLog,
	stack: Stack,
	worker: WorkerClient,
	sensors: Vec<Identity>,
	sensor_keys: HashMap<Vec<u8>, SecretKey>,
	requesters: Vec<Arc<Requester>>,
	idle_sensor: Identity,
	epochs: (u64, u64),
}

use sensorshare_service::clock::now_ms;

fn ms(from: u64, to: u64) -> Duration {
	Duration::from_millis(to.saturating_sub(from))
}

impl Bench {
	/// Prepares `requesters` funded data users with identities and an idle sensor
	/// (Dave's, which no agent answers, for the throughput test), then waits until
	/// the sensors have recorded two whole epochs, which every request asks for.
	pub async fn prepare(stack: Stack, requesters: usize) -> Result<Self, Error> {
		let chain = stack.chain.clone();
		let alice = signer_from_uri("//Alice")?;
		let mut uris = Vec::new();
		let mut funding = JoinSet::new();
		for i in 0..requesters {
			let uri = format!("//Requester{i}");
			let who = signer_from_uri(&uri)?.public_key().to_account_id();
			let call =
				api::tx().balances().transfer_keep_alive(MultiAddress::Id(who), 5_000 * UNIT);
			let (chain, alice) = (chain.clone(), alice.clone());
			funding.spawn(async move { chain.submit(&call, &alice).await.map(|_| ()) });
			uris.push(uri);
		}
		while let Some(r) = funding.join_next().await {
			r.map_err(|e| Error::Unexpected(e.to_string()))??;
		}
		let mut registering = JoinSet::new();
		for (i, uri) in uris.into_iter().enumerate() {
			let chain = chain.clone();
			registering.spawn(async move {
				register_requester(&chain, &uri, &format!("requester-{i}")).await.map(|(r, _)| r)
			});
		}
		let mut pool = Vec::new();
		while let Some(r) = registering.join_next().await {
			pool.push(Arc::new(r.map_err(|e| Error::Unexpected(e.to_string()))??));
		}

		let idle = cbpre::dev::enroll_with_rng(b"idle-tag", &mut rand::rngs::OsRng)
			.map_err(|e| Error::Crypto(e.to_string()))?;
		let ferdie = signer_from_uri("//Ferdie")?.public_key().to_account_id();
		let listing = Listing {
			price_per_epoch: UNIT,
			epoch_secs: 60,
			first_epoch: 0,
			provider: ferdie,
			description: "no agent answers for it".into(),
		};
		chain
			.register_sensor_with_rng(
				&signer_from_uri("//Dave")?,
				&idle,
				listing,
				&mut rand::rngs::OsRng,
			)
			.await?;

		let mut sensor_keys = HashMap::new();
		for path in &stack.sensor_keys {
			let key = sensorshare_protocol::keyfile::load_secret_key(path)
				.map_err(|e| Error::Crypto(e.to_string()))?;
			sensor_keys.insert(key.id().as_bytes().to_vec(), key);
		}
		let sensors = stack
			.config
			.sensors
			.iter()
			.map(|s| Identity::new(s.as_bytes()).map_err(|e| Error::Crypto(e.to_string())))
			.collect::<Result<Vec<_>, _>>()?;
		let (first, last) = crate::flow::whole_epochs(stack.config.epoch_secs, 2).await;
		let (head, _) = chain.finalized_head().await?;
		// On a connection of its own: the many transactions watched on the main one
		// must not hold back the blocks it follows.
		let log = EventLog::follow(ChainClient::connect(chain.url()).await?, head + 1);
		let worker = WorkerClient::new(&stack.worker_url);
		Ok(Bench {
			stack,
			log,
			worker,
			sensors,
			sensor_keys,
			requesters: pool,
			idle_sensor: *idle.id(),
			epochs: (first, last),
		})
	}

	/// The stack underneath.
	pub fn stack(&self) -> &Stack {
		&self.stack
	}

	/// The two epochs every request asks for.
	pub fn epochs(&self) -> (u64, u64) {
		self.epochs
	}

	fn chain(&self) -> &ChainClient {
		&self.stack.chain
	}

	async fn reencrypt_seconds(&self) -> Result<f64, Error> {
		Ok(self.worker.stats().await?.reencrypt_seconds)
	}

	/// One request by the first requester, timed in its parts (Fig. 3): on this
	/// machine's clock for what the requester sees, and by the blocks' timestamps for
	/// when the request and the acceptance happened on chain. The requester downloads
	/// as soon as the worker has written the delivery; its confirmation (after the
	/// digest on chain is checked) goes into `settling`.
	pub async fn fig3_run(&self, settling: &mut Settling) -> Result<Fig3Sample, Error> {
		let chain = self.chain();
		let requester = self.requesters[0].clone();
		let before = self.reencrypt_seconds().await?;
		let started = now_ms();
		let (id, included) =
			requester.request_epochs(chain, &self.sensors, self.epochs, u128::MAX).await?;
		let requested = crate::market::block_time_ms(chain, included.block_hash).await;
		let last = self.epochs.1;
		let asked = now_ms();
		let fetched = requester.fetch_ahead(chain, &self.worker, id, last, TIMEOUT).await?;
		let done = now_ms();
		let ready = asked.saturating_add(fetched.waited.as_millis() as u64);
		let (_, accepted) = self.log.wait(id, TIMEOUT, |p| p.accepted).await?;
		let reencrypt =
			Duration::from_secs_f64((self.reencrypt_seconds().await? - before).max(0.0));

		// The re-keys the agent made, made again here with the same keys: their time.
		let agreement = sensorshare_market_client::agreement(chain, id).await?;
		let t = Instant::now();
		sensorshare_sensor_client::agent::rekeys(
			&agreement,
			self.epochs.0..self.epochs.1 + 1,
			requester.public_key(),
			&self.sensor_keys,
		)
		.map_err(|e| Error::Crypto(e.to_string()))?;
		let rekeygen = t.elapsed();
		let (_, _, recorded) =
			self.log.wait(id, TIMEOUT, |p| p.delivered.filter(|(t, ..)| *t == last)).await?;
		self.settle(settling, requester, id, (fetched.digest, fetched.empty), 0);

		let delivery = ms(accepted, ready);
		Ok(Fig3Sample {
			request: ms(started, requested),
			acceptance: ms(requested, accepted),
			reencrypt: reencrypt.min(delivery),
			delivery: delivery.saturating_sub(reencrypt),
			fetch: ms(ready, done),
			total: ms(started, done),
			recorded: ms(accepted, recorded),
			rekeygen,
			decrypt2: fetched.decrypt2,
		})
	}

	/// Once agreement `id`'s delivery is on chain: checks that its digest is that of
	/// the data downloaded, and confirms it. The task gives the delivery's block.
	fn settle(
		&self,
		settling: &mut Settling,
		requester: Arc<Requester>,
		id: u64,
		(digest, empty): ([u8; 32], Vec<EmptyEpoch>),
		round: usize,
	) {
		let (chain, log, last) = (self.chain().clone(), self.log.clone(), self.epochs.1);
		settling.spawn(within(format!("agreement {id} settled"), async move {
			let (_, block, _) =
				log.wait(id, TIMEOUT, |p| p.delivered.filter(|(t, ..)| *t == last)).await?;
			requester.check_delivery(&chain, id, &digest, &empty).await?;
			requester.confirm(&chain, id).await?;
			Ok::<_, Error>((round, block))
		}));
	}

	/// `n` requests at once, spread over the requesters: each one's latency from
	/// its submission to its data decrypted (Fig. 4), and the block of the first
	/// request. Each requester downloads as soon as the worker has written its
	/// delivery; the confirmations go into `settling`, each giving `round` and the
	/// delivery's block.
	pub async fn fig4_round(
		&self,
		n: usize,
		round: usize,
		settling: &mut Settling,
	) -> Result<(Vec<Duration>, u32), Error> {
		let mut requests = JoinSet::new();
		for i in 0..n {
			let requester = self.requesters[i % self.requesters.len()].clone();
			let (chain, worker) = (self.chain().clone(), self.worker.clone());
			let (sensors, epochs) = (self.sensors.clone(), self.epochs);
			requests.spawn(async move {
				let started = Instant::now();
				let (id, included) = within(
					format!("request {i} of a round of {n}, to its block"),
					requester.request_epochs(&chain, &sensors, epochs, u128::MAX),
				)
				.await?;
				let fetched = within(
					format!("request {i} of a round of {n}, agreement {id} fetched"),
					requester.fetch_ahead(&chain, &worker, id, epochs.1, TIMEOUT),
				)
				.await?;
				let latency = started.elapsed();
				Ok::<_, Error>((
					id,
					requester,
					latency,
					included.block_number,
					(fetched.digest, fetched.empty),
				))
			});
		}
		let (mut latencies, mut first) = (Vec::new(), u32::MAX);
		while let Some(r) = requests.join_next().await {
			let (id, requester, latency, requested, digest) =
				r.map_err(|e| Error::Unexpected(e.to_string()))??;
			latencies.push(latency);
			first = first.min(requested);
			self.settle(settling, requester, id, digest, round);
		}
		Ok((latencies, first))
	}

	/// Submits `count` transactions, spread over the requesters, all at once; the
	/// transactions per second from the first submission to the last finality.
	pub async fn throughput(&self, kind: TxKind, count: usize) -> Result<f64, Error> {
		let ferdie = signer_from_uri("//Ferdie")?.public_key().to_account_id();
		let mut all = JoinSet::new();
		let started = Instant::now();
		for i in 0..count {
			let requester = self.requesters[i % self.requesters.len()].clone();
			let chain = self.chain().clone();
			match kind {
				TxKind::Transfer => {
					let call = api::tx()
						.balances()
						.transfer_keep_alive(MultiAddress::Id(ferdie.clone()), UNIT / 1000);
					all.spawn(async move {
						chain
							.submit(&call, requester.signer())
							.await
							.map(|_| ())
							.map_err(Error::from)
					});
				},
				TxKind::Request => {
					let sensors = vec![self.idle_sensor];
					let epoch = i as u64;
					all.spawn(async move {
						requester
							.request_epochs(&chain, &sensors, (epoch, epoch), u128::MAX)
							.await
							.map(|_| ())
							.map_err(Error::from)
					});
				},
			}
		}
		while let Some(r) = all.join_next().await {
			r.map_err(|e| Error::Unexpected(e.to_string()))??;
		}
		Ok(count as f64 / started.elapsed().as_secs_f64())
	}
}

/// Confirmations in flight: each gives its round and the block of its delivery.
pub type Settling = JoinSet<Result<(usize, u32), Error>>;

/// Waits for every confirmation in `settling`; the last delivery block of each round.
async fn settled(settling: &mut Settling) -> Result<HashMap<usize, u32>, Error> {
	let mut last = HashMap::new();
	while let Some(r) = settling.join_next().await {
		let (round, block) = r.map_err(|e| Error::Unexpected(e.to_string()))??;
		let b = last.entry(round).or_insert(block);
		*b = (*b).max(block);
	}
	Ok(last)
}

/// A kind of transaction for the throughput test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
	/// `balances.transfer_keep_alive`.
	Transfer,
	/// `dataMarket.request_data`, one epoch of one sensor.
	Request,
}

/// Fig. 3 over many runs: each part's mean and 95 % confidence interval.
#[derive(Debug, Clone)]
pub struct Fig3 {
	/// The runs.
	pub samples: Vec<Fig3Sample>,
}

impl Fig3 {
	/// `(name, summary)` of every part, then the totals with and without PRE.
	pub fn rows(&self) -> Vec<(&'static str, Summary)> {
		let part = |f: fn(&Fig3Sample) -> Duration| {
			summarize_secs(&self.samples.iter().map(f).collect::<Vec<_>>())
		};
		vec![
			("request included in a block", part(|s| s.request)),
			("acceptance with re-keys", part(|s| s.acceptance)),
			("re-encryption", part(|s| s.reencrypt)),
			("delivery", part(|s| s.delivery)),
			("download and decryption", part(|s| s.fetch)),
			("total, with PRE", part(|s| s.total)),
			("total, without PRE", part(Fig3Sample::without_pre)),
			("of which PRE operations", part(Fig3Sample::pre)),
			("(off the path) acceptance → `deliver` in a block", part(|s| s.recorded)),
		]
	}

	/// The share of the latency PRE adds: mean of (with − without) / without.
	pub fn pre_share(&self) -> Summary {
		let shares: Vec<f64> = self
			.samples
			.iter()
			.map(|s| s.pre().as_secs_f64() / s.without_pre().as_secs_f64().max(f64::EPSILON))
			.collect();
		summarize(&shares)
	}
}

/// One setting of the experiments: a chain and what to run on it.
#[derive(Debug, Clone)]
pub struct PaperConfig {
	/// A short name, used in file names (`dev`, `13s`).
	pub name: String,
	/// What the setting is, for the report.
	pub title: String,
	/// Runs of Fig. 3.
	pub fig3_runs: usize,
	/// Concurrency levels of Fig. 4, each with `fig4_reps` rounds.
	pub fig4_levels: Vec<usize>,
	/// Rounds per level of `fig4_levels`.
	pub fig4_reps: usize,
	/// Larger levels of Fig. 4, each with its number of rounds.
	pub fig4_big_levels: Vec<(usize, usize)>,
	/// Transactions of each kind in the throughput test (0: skip it).
	pub tps_count: usize,
	/// Data users the requests are spread over.
	pub requesters: usize,
	/// The chain's block time, if it has one: each run and round then starts at a
	/// random moment of a block, as requests arrive, and confirmations ride in the
	/// next round's blocks instead of holding it back.
	pub block_ms: Option<u64>,
}

impl PaperConfig {
	/// On a chain with a block time: waits a random part of a block.
	async fn random_phase(&self) {
		if let Some(block) = self.block_ms {
			let wait = rand::Rng::gen_range(&mut rand::thread_rng(), 0..block);
			tokio::time::sleep(Duration::from_millis(wait)).await;
		}
	}
}

/// `reps` rounds of `n` concurrent requests (Fig. 4): each round's mean latency,
/// and the most blocks a round spanned from its first request to its last delivery.
async fn fig4_level(
	bench: &Bench,
	config: &PaperConfig,
	n: usize,
	reps: usize,
	progress: &impl Fn(&str),
) -> Result<(Vec<f64>, u32), Error> {
	let (mut round_means, mut firsts, mut lasts) = (Vec::new(), Vec::new(), HashMap::new());
	let mut settling = Settling::new();
	for r in 0..reps {
		config.random_phase().await;
		let (latencies, first) = bench.fig4_round(n, r, &mut settling).await?;
		if config.block_ms.is_none() {
			lasts.extend(settled(&mut settling).await?);
		}
		let mean = summarize_secs(&latencies).mean;
		progress(&format!("fig. 4: {n} concurrent, round {}/{reps}: mean {mean:.3} s", r + 1));
		round_means.push(mean);
		firsts.push(first);
	}
	lasts.extend(settled(&mut settling).await?);
	// Blocks from a round's first request to its last delivery, both included.
	let most_blocks = firsts
		.iter()
		.enumerate()
		.map(|(r, first)| lasts.get(&r).map_or(0, |last| last.saturating_sub(*first) + 1))
		.max()
		.unwrap_or(0);
	progress(&format!("fig. 4: {n} concurrent: at most {most_blocks} blocks to the last delivery"));
	Ok((round_means, most_blocks))
}

/// One level of Fig. 4: `rounds` rounds of `concurrent` requests.
#[derive(Debug, Clone)]
pub struct Fig4Level {
	/// Requests at once.
	pub concurrent: usize,
	/// Rounds run.
	pub rounds: usize,
	/// The rounds' mean latencies summarized, and the most blocks a round spanned
	/// from its first request to its last delivery; or why the level did not finish.
	pub outcome: Result<(Summary, u32), String>,
}

/// The chain's throughput: `count` transactions of each kind at once, to finality.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
	/// Transactions of each kind.
	pub count: usize,
	/// Accounts they came from.
	pub accounts: usize,
	/// `balances.transfer_keep_alive`, per second.
	pub transfer: f64,
	/// `dataMarket.request_data`, per second.
	pub request: f64,
}

/// What one setting's experiments measured, for [`crate::report`] to render.
#[derive(Debug, Clone)]
pub struct Measurements {
	/// Sensors of each request.
	pub sensors: usize,
	/// Fig. 3, if it ran.
	pub fig3: Option<Fig3>,
	/// Fig. 4, level by level.
	pub fig4: Vec<Fig4Level>,
	/// The throughput test, if it ran.
	pub throughput: Option<Throughput>,
}

/// Runs the setting's experiments on `bench`. A level of Fig. 4 that does not
/// finish is recorded as such, and the rest runs.
pub async fn measure(
	bench: &Bench,
	config: &PaperConfig,
	progress: impl Fn(&str),
) -> Result<Measurements, Error> {
	let mut m = Measurements {
		sensors: bench.sensors.len(),
		fig3: None,
		fig4: Vec::new(),
		throughput: None,
	};
	if config.fig3_runs > 0 {
		let mut samples = Vec::new();
		let mut settling = Settling::new();
		for i in 0..config.fig3_runs {
			config.random_phase().await;
			let s = bench.fig3_run(&mut settling).await?;
			if config.block_ms.is_none() {
				settled(&mut settling).await?;
			}
			progress(&format!(
				"fig. 3 run {}/{}: {:.3} s",
				i + 1,
				config.fig3_runs,
				s.total.as_secs_f64()
			));
			samples.push(s);
		}
		settled(&mut settling).await?;
		m.fig3 = Some(Fig3 { samples });
	}
	let levels = config
		.fig4_levels
		.iter()
		.map(|n| (*n, config.fig4_reps))
		.chain(config.fig4_big_levels.iter().copied());
	for (concurrent, rounds) in levels {
		let outcome = match fig4_level(bench, config, concurrent, rounds, &progress).await {
			Ok((round_means, most_blocks)) => Ok((summarize(&round_means), most_blocks)),
			Err(e) => {
				progress(&format!("fig. 4: {concurrent} concurrent did not finish: {e}"));
				Err(e.to_string())
			},
		};
		m.fig4.push(Fig4Level { concurrent, rounds, outcome });
	}
	if config.tps_count > 0 {
		let transfer = bench.throughput(TxKind::Transfer, config.tps_count).await?;
		progress(&format!("throughput: transfer_keep_alive {transfer:.0} tx/s"));
		let request = bench.throughput(TxKind::Request, config.tps_count).await?;
		progress(&format!("throughput: request_data {request:.0} tx/s"));
		m.throughput = Some(Throughput {
			count: config.tps_count,
			accounts: config.requesters,
			transfer,
			request,
		});
	}
	Ok(m)
}
