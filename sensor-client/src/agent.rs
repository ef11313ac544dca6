//! The owner agent: follows finalized blocks and answers every request for the
//! owner's sensors. A request that pays the listed price (sensors × epochs × price
//! per epoch, at the time of the request) is accepted with its re-keys, computed
//! here with the sensors' keys, in the acceptance itself; anything else is rejected.
//! With a [`Decider`] that asks a human, each request waits for an answer instead.
//!
//! A request whose epochs reach into the future is a subscription: it is accepted
//! with the re-keys of the epochs that have ended, and the agent posts each further
//! epoch's re-keys once it has ended (and `settle` more seconds have passed, for the
//! sensor's last readings of it to reach the cloud).

use cbpre::{Meta, PublicKey, SecretKey};
use sensorshare_chain_client::{
	Agreement, AgreementStatus, ChainClient, Error as ChainError, Follower, Keypair, MarketError,
	MarketEvent, ReKeys,
};
use sensorshare_market::Rates;
use std::{
	collections::{BTreeSet, HashMap},
	ops::Range,
	sync::Arc,
	time::Duration,
};
use tokio::{sync::Semaphore, task::JoinSet};

/// Seconds the agent waits after an epoch ends before re-keying it, by default.
pub const DEFAULT_SETTLE_SECS: u64 = 5;

/// Requests answered at once: each answer waits for its block's finality, so many
/// requests arriving together are answered in the same few blocks.
const ANSWERS_IN_FLIGHT: usize = 256;

/// Subscriptions re-keyed at once, beside the answers: many subscriptions whose
/// epochs end together are re-keyed in the same few blocks, and the agent goes on
/// answering requests meanwhile.
const REKEYS_IN_FLIGHT: usize = 64;

/// How long the loop waits for the node to say whether the owner has transactions
/// in flight, before it asks again on a later tick.
const NODE_PATIENCE: Duration = Duration::from_secs(5);

/// How long the agent's shutdown waits for its submissions in flight before it
/// abandons them: their outcome is on chain either way, and the next start reads it.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Decides on a request the agent would accept.
pub trait Decider: Send + Sync {
	/// Whether to accept `agreement` (which pays the listed price).
	fn accept(&self, agreement: &Agreement) -> bool;

	/// Whether several requests may be decided at once (not when a human is asked).
	fn concurrent(&self) -> bool {
		true
	}
}

/// Accepts every request that pays the listed price.
pub struct AcceptListedPrice;

impl Decider for AcceptListedPrice {
	fn accept(&self, _: &Agreement) -> bool {
		true
	}
}

/// Asks on the terminal.
pub struct AskOnTerminal;

impl Decider for AskOnTerminal {
	fn accept(&self, a: &Agreement) -> bool {
		let sensors: Vec<String> = a.sensors.iter().map(|s| hex::encode(s.as_bytes())).collect();
		eprint!(
			"Request #{} from {}: sensors {}, epochs {}..={}, paying {}. Accept? [y/N] ",
			a.id,
			a.requester,
			sensors.join(","),
			a.from_epoch,
			a.to_epoch,
			a.price
		);
		let mut line = String::new();
		std::io::stdin().read_line(&mut line).is_ok() && line.trim().eq_ignore_ascii_case("y")
	}

	fn concurrent(&self) -> bool {
		false
	}
}

/// What the agent did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
	/// Accepted with re-keys.
	Accepted,
	/// Accepted already, by an earlier submission of this owner's whose outcome was
	/// not known when it was sent (this agent holds its sensors' keys, and re-keys
	/// it as its epochs end).
	AcceptedEarlier,
	/// Rejected (and the requester refunded).
	Rejected,
	/// Not ours, or answered already.
	Skipped,
}

/// What the agent did for an accepted subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
	/// Posted the re-keys of further epochs; more are to come.
	ReKeyed,
	/// Nothing due yet.
	Waiting,
	/// Every epoch has its re-keys, or the agreement is no longer ours to re-key.
	Done,
}

/// The owner agent.
pub struct Agent {
	chain: ChainClient,
	owner: Arc<Keypair>,
	keys: HashMap<Vec<u8>, SecretKey>,
	decider: Box<dyn Decider>,
	settle_secs: u64,
}

impl Agent {
	/// An agent for `owner`, holding the secret keys of its sensors.
	pub fn new(
		chain: ChainClient,
		owner: Keypair,
		keys: Vec<SecretKey>,
		decider: Box<dyn Decider>,
	) -> Self {
		let keys = keys.into_iter().map(|k| (k.id().as_bytes().to_vec(), k)).collect();
		Agent { chain, owner: Arc::new(owner), keys, decider, settle_secs: DEFAULT_SETTLE_SECS }
	}

	/// Waits `secs` after an epoch ends before re-keying it.
	pub fn with_settle_secs(mut self, secs: u64) -> Self {
		self.settle_secs = secs;
		self
	}

	/// The epochs of `a` that have ended and settled by now (maybe none).
	fn ended(&self, a: &Agreement) -> Range<u64> {
		let now = sensorshare_service::clock::now_secs();
		let end = ended_through(a, now, self.settle_secs).map_or(a.from_epoch, |l| l + 1);
		a.from_epoch..end
	}

	/// Answers agreement `id` if it is a request to this owner.
	pub async fn answer(&self, id: u64) -> Result<Answer, ChainError> {
		let me = self.owner.public_key().to_account_id();
		let Some(a) = self.chain.agreement(id).await? else { return Ok(Answer::Skipped) };
		if a.owner != me
			|| !matches!(a.status, AgreementStatus::Requested | AgreementStatus::Accepted)
		{
			return Ok(Answer::Skipped);
		}
		// An owner may run an agent per site, each with its own sensors' keys: a
		// request for a sensor whose key is not here is left to the agent that has it.
		if let Some(s) = a.sensors.iter().find(|s| !self.keys.contains_key(s.as_bytes())) {
			let sensor = hex::encode(s.as_bytes());
			tracing::info!(agreement = id, %sensor, "no key for a requested sensor here; left to the agent that has it");
			return Ok(Answer::Skipped);
		}
		if a.status == AgreementStatus::Accepted {
			tracing::info!(agreement = id, "accepted by an earlier submission");
			return Ok(Answer::AcceptedEarlier);
		}
		match self.rekeys_if_acceptable(&a).await? {
			Some(rekeys) if self.decider.accept(&a) => {
				let epochs = rekeys.first().map_or(0, |r| r.len());
				self.chain.accept_request(&self.owner, id, rekeys).await?;
				tracing::info!(
					agreement = id,
					requester = %a.requester,
					rekeyed = epochs,
					of = a.epochs(),
					"accepted with re-keys"
				);
				Ok(Answer::Accepted)
			},
			_ => {
				self.chain.reject_request(&self.owner, id).await?;
				tracing::info!(agreement = id, requester = %a.requester, "rejected");
				Ok(Answer::Rejected)
			},
		}
	}

	/// The re-keys of `a`, if it pays the listed price and every sensor's key is here.
	async fn rekeys_if_acceptable(&self, a: &Agreement) -> Result<Option<ReKeys>, ChainError> {
		let mut prices = Vec::with_capacity(a.sensors.len());
		for s in &a.sensors {
			let Some(sensor) = self.chain.sensor(s.as_bytes()).await? else { return Ok(None) };
			prices.push(sensor.price_per_epoch);
		}
		// The owner's part of the chain's quote: the listed prices times the epochs.
		let rates = Rates { fee_per_epoch: 0, deposit_base: 0, deposit_per_epoch: 0 };
		let Some(listed) = sensorshare_market::quote(&prices, a.epochs(), &rates).map(|q| q.price)
		else {
			return Ok(None);
		};
		if a.price < listed {
			tracing::info!(agreement = a.id, offered = a.price, listed, "pays less than listed");
			return Ok(None);
		}
		let Some(requester) = self.chain.identity(&a.requester).await? else { return Ok(None) };
		// Empty when no epoch has ended yet: accepted, re-keys to follow.
		match rekeys(a, self.ended(a), &requester.public_key, &self.keys) {
			Ok(r) => Ok(Some(r)),
			Err(e) => {
				tracing::warn!(agreement = a.id, error = %e, "cannot re-key");
				Ok(None)
			},
		}
	}

	/// Posts the re-keys of the epochs of accepted agreement `id` that have ended
	/// since its last re-keys.
	pub async fn rekey_ended(&self, id: u64) -> Result<Progress, ChainError> {
		let Some(a) = self.chain.agreement(id).await? else { return Ok(Progress::Done) };
		self.rekey(&a).await
	}

	/// Posts the re-keys of the epochs of accepted agreement `a`, as read from the
	/// chain, that have ended since its last re-keys. If the chain has re-keys from
	/// there on already (an earlier submission whose outcome was unknown landed after
	/// `a` was read), they are accepted as posted when they are these.
	pub async fn rekey(&self, a: &Agreement) -> Result<Progress, ChainError> {
		let (id, me) = (a.id, self.owner.public_key().to_account_id());
		let Some(next) = a.progress().next_rekey_epoch() else { return Ok(Progress::Done) };
		if a.owner != me || a.status != AgreementStatus::Accepted {
			return Ok(Progress::Done);
		}
		let due = next..self.ended(a).end;
		if due.is_empty() {
			return Ok(Progress::Waiting);
		}
		let Some(requester) = self.chain.identity(&a.requester).await? else {
			return Ok(Progress::Done);
		};
		let rekeys = match rekeys(a, due.clone(), &requester.public_key, &self.keys) {
			Ok(r) => r,
			Err(e) => {
				tracing::warn!(agreement = id, error = %e, "cannot re-key");
				return Ok(Progress::Done);
			},
		};
		match self.chain.add_rekeys(&self.owner, id, next, rekeys.clone()).await {
			Ok(_) => {},
			// The chain has re-keys from `next` on already: an earlier submission whose
			// outcome was unknown landed. Done if they are these.
			Err(e)
				if matches!(
					e.market_error(),
					Some(MarketError::UnexpectedFirstEpoch | MarketError::AllEpochsReKeyed)
				) =>
			{
				if !self.posted_already(id, next - a.from_epoch, &rekeys).await? {
					tracing::warn!(agreement = id, error = %e, "other re-keys are on chain");
					return Ok(Progress::Waiting);
				}
				tracing::info!(agreement = id, "re-keys posted by an earlier submission");
			},
			// The agreement ended, or its deadline passed.
			Err(e) if e.is_refusal() => {
				tracing::info!(agreement = id, error = %e, "re-keys not added");
				return Ok(Progress::Waiting);
			},
			Err(e) => return Err(e),
		}
		tracing::info!(agreement = id, epochs = ?due, "re-keyed ended epochs");
		Ok(if due.end > a.to_epoch { Progress::Done } else { Progress::ReKeyed })
	}

	/// Whether agreement `id` stores `rekeys` from its `offset`-th epoch on.
	async fn posted_already(
		&self,
		id: u64,
		offset: u64,
		rekeys: &ReKeys,
	) -> Result<bool, ChainError> {
		let Some(stored) = self.chain.rekeys(id).await? else { return Ok(false) };
		let Ok(offset) = usize::try_from(offset) else { return Ok(false) };
		Ok(stored.len() == rekeys.len()
			&& stored.iter().zip(rekeys).all(|(have, ours)| {
				have.get(offset..offset.saturating_add(ours.len()))
					.is_some_and(|have| have.iter().zip(ours).all(|(h, o)| h.to_bytes() == *o))
			}))
	}

	/// Answers what is pending, then every new request, and re-keys accepted
	/// subscriptions as their epochs end, until `shutdown`.
	///
	/// Answers and re-keys run as tasks beside the loop, so a slow or paused node
	/// stalls neither the next request nor the shutdown. An answer whose submission
	/// failed without a verdict (the node went away, the watch was lost) may still
	/// land: it is asked again only once none of the owner's transactions is waiting
	/// in the pool or in a block not yet final, and then from what the chain says
	/// (an agreement accepted meanwhile is skipped). The requests pending at the start
	/// wait the same way, for an earlier run's answers sent just before it stopped. Re-keys name their first epoch,
	/// so a repeat can never shift them.
	pub async fn run(
		self,
		mut shutdown: tokio::sync::watch::Receiver<bool>,
	) -> Result<(), ChainError> {
		let agent = Arc::new(self);
		let (head, _) = agent.chain.finalized_head().await?;
		let me = agent.owner.public_key().to_account_id();
		let mut subscriptions = BTreeSet::new();
		let mut unanswered = BTreeSet::new();
		let mut answering = JoinSet::new();
		let mut rekeying = Rekeying::default();
		let at_once = if agent.decider.concurrent() { ANSWERS_IN_FLIGHT } else { 1 };
		let in_flight = Arc::new(Semaphore::new(at_once));
		let answer = |answering: &mut JoinSet<(u64, Option<Answer>)>, id: u64| {
			let (agent, in_flight) = (agent.clone(), in_flight.clone());
			answering.spawn(async move {
				let _permit = in_flight.acquire_owned().await;
				(id, agent.answer_logged(id).await)
			});
		};
		for a in agent.chain.agreements().await? {
			if a.owner != me {
				continue;
			}
			match a.status {
				// Answered on the first tick, once the owner has nothing in flight: an
				// earlier run may have sent the answer just before it stopped.
				AgreementStatus::Requested => {
					unanswered.insert(a.id);
				},
				AgreementStatus::Accepted if !a.progress().all_rekeyed() => {
					subscriptions.insert(a.id);
				},
				_ => {},
			}
		}
		tracing::info!(
			sensors = agent.keys.len(),
			from = head + 1,
			"owner agent following the chain"
		);
		let mut follower = Follower::new(agent.chain.clone(), head.saturating_add(1));
		let mut tick = tokio::time::interval(Duration::from_secs(1));
		tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
		loop {
			tokio::select! {
				_ = shutdown.changed() => break,
				Some(done) = answering.join_next(), if !answering.is_empty() => match done {
					Ok((id, Some(Answer::Accepted | Answer::AcceptedEarlier))) => {
						subscriptions.insert(id);
					},
					// Failed (the node was busy or away): asked again once the owner's
					// transactions are final.
					Ok((id, None)) => {
						unanswered.insert(id);
					},
					_ => {},
				},
				Some((id, progress)) = rekeying.next(), if !rekeying.is_empty() => match progress {
					Some(Progress::Done) => {
						subscriptions.remove(&id);
					},
					Some(_) => {},
					// The task failed or panicked: tried again on the next tick.
					None => tracing::warn!(agreement = id, "could not re-key"),
				},
				_ = tick.tick(), if !subscriptions.is_empty() || !unanswered.is_empty() => {
					if !unanswered.is_empty() {
						// Bounded, so that a node that stopped answering cannot hold the loop.
						let pending = agent.chain.has_unfinalized_transactions(&me);
						match tokio::time::timeout(NODE_PATIENCE, pending).await.unwrap_or(Ok(true)) {
							Ok(false) => {
								for id in std::mem::take(&mut unanswered) {
									answer(&mut answering, id);
								}
							},
							Ok(true) => tracing::debug!(
								requests = unanswered.len(),
								"waiting for the owner's transactions to be final before answering again"
							),
							Err(e) => tracing::warn!(error = %e, "cannot read the owner's nonce"),
						}
					}
					for &id in &subscriptions {
						rekeying.start(&agent, id);
					}
				},
				block = follower.next() => match block {
					Ok(block) => {
						for ev in block.events {
							if let MarketEvent::DataRequested { id, owner, .. } = ev {
								if owner == me {
									answer(&mut answering, id);
								}
							}
						}
					},
					Err(e) if e.is_transient() => tokio::time::sleep(Duration::from_secs(1)).await,
					Err(e) => return Err(e),
				},
			}
		}
		// Submissions in flight may finish for a while; nothing new starts. Whatever
		// is still in flight after that is abandoned: its outcome is on chain.
		let drain = async {
			while answering.join_next().await.is_some() {}
			while rekeying.next().await.is_some() {}
		};
		if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
			tracing::warn!(
				answers = answering.len(),
				rekeys = rekeying.len(),
				"stopped with submissions in flight; the next start reads their outcome from the chain"
			);
		}
		Ok(())
	}

	async fn answer_logged(&self, id: u64) -> Option<Answer> {
		match self.answer(id).await {
			Ok(answer) => Some(answer),
			Err(e) => {
				tracing::error!(agreement = id, error = %e, "could not answer the request");
				None
			},
		}
	}
}

/// The subscriptions being re-keyed, one task each, at most [`REKEYS_IN_FLIGHT`]
/// submitting at once.
struct Rekeying {
	tasks: JoinSet<Result<Progress, ChainError>>,
	agreements: HashMap<tokio::task::Id, u64>,
	slots: Arc<Semaphore>,
}

impl Default for Rekeying {
	fn default() -> Self {
		Rekeying {
			tasks: JoinSet::new(),
			agreements: HashMap::new(),
			slots: Arc::new(Semaphore::new(REKEYS_IN_FLIGHT)),
		}
	}
}

impl Rekeying {
	/// Starts re-keying agreement `id`'s ended epochs, unless that runs already.
	fn start(&mut self, agent: &Arc<Agent>, id: u64) {
		if self.agreements.values().any(|a| *a == id) {
			return;
		}
		let (agent, slots) = (agent.clone(), self.slots.clone());
		let task = self.tasks.spawn(async move {
			let _slot = slots.acquire_owned().await;
			agent.rekey_ended(id).await
		});
		self.agreements.insert(task.id(), id);
	}

	/// The next agreement whose re-keying ended, with its progress (`None` if it
	/// failed, which is logged, or panicked).
	async fn next(&mut self) -> Option<(u64, Option<Progress>)> {
		let (task, progress) = match self.tasks.join_next_with_id().await? {
			Ok((task, Ok(progress))) => (task, Some(progress)),
			Ok((task, Err(e))) => {
				let id = self.agreements.get(&task).copied().unwrap_or_default();
				tracing::warn!(agreement = id, error = %e, "re-keying failed");
				(task, None)
			},
			Err(e) => (e.id(), None),
		};
		self.agreements.remove(&task).map(|id| (id, progress))
	}

	fn is_empty(&self) -> bool {
		self.tasks.is_empty()
	}

	fn len(&self) -> usize {
		self.tasks.len()
	}
}

/// Why re-keys could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReKeyError {
	/// The agent does not hold this sensor's key.
	#[error("no key for sensor {0}")]
	MissingKey(String),
	/// The scheme failed.
	#[error(transparent)]
	Crypto(#[from] cbpre::Error),
}

/// The last epoch of `a` that ended `settle_secs` or more before `now_secs`, if any.
pub fn ended_through(a: &Agreement, now_secs: u64, settle_secs: u64) -> Option<u64> {
	let settled = now_secs.checked_sub(settle_secs)?;
	// The epoch before the one `settled` falls in is the last to have ended.
	let last = sensorshare_market::epoch::of_secs(settled, a.epoch_secs)?.checked_sub(1)?;
	Some(last.min(a.to_epoch)).filter(|l| *l >= a.from_epoch)
}

/// The re-keys of `epochs` of agreement `a` for `requester`: for each sensor, in
/// order, one per epoch. Fails if a sensor's key is not in `keys`.
pub fn rekeys(
	a: &Agreement,
	epochs: Range<u64>,
	requester: &PublicKey,
	keys: &HashMap<Vec<u8>, SecretKey>,
) -> Result<ReKeys, ReKeyError> {
	let mut out = Vec::with_capacity(a.sensors.len());
	for s in &a.sensors {
		let key = keys
			.get(s.as_bytes())
			.ok_or_else(|| ReKeyError::MissingKey(hex::encode(s.as_bytes())))?;
		let per_epoch = epochs
			.clone()
			.map(|e| key.rekey(&Meta::new(*s, e), requester).map(|rk| rk.to_bytes()))
			.collect::<Result<Vec<_>, _>>()?;
		out.push(per_epoch);
	}
	Ok(out)
}

#[cfg(test)]
mod tests {
	use super::*;
	use sensorshare_chain_client::AccountId32;

	fn subscription(from_epoch: u64, to_epoch: u64) -> Agreement {
		Agreement {
			id: 0,
			requester: AccountId32([1; 32]),
			owner: AccountId32([2; 32]),
			provider: AccountId32([3; 32]),
			sensors: Vec::new(),
			from_epoch,
			to_epoch,
			epoch_secs: 10,
			rekeyed: 0,
			delivered: 0,
			prices: Vec::new(),
			fee_per_epoch: 0,
			price: 0,
			fee: 0,
			empty_epochs: 0,
			empty_price: 0,
			status: AgreementStatus::Accepted,
			deadline: 0,
			delivery: None,
			deposit: 0,
			rekey_deposit: 0,
		}
	}

	#[test]
	fn an_epoch_is_due_for_re_keys_once_it_has_ended_and_settled() {
		let a = subscription(10, 12);
		// Epoch 10 covers [100, 110) s.
		assert_eq!(ended_through(&a, 109, 0), None);
		assert_eq!(ended_through(&a, 110, 0), Some(10));
		assert_eq!(ended_through(&a, 114, 5), None, "not settled yet");
		assert_eq!(ended_through(&a, 115, 5), Some(10));
		assert_eq!(ended_through(&a, 129, 0), Some(11));
		assert_eq!(ended_through(&a, 10_000, 5), Some(12), "never past the last epoch");
		assert_eq!(ended_through(&a, 3, 5), None, "before the Unix epoch plus the settle time");
	}

	#[test]
	fn an_epoch_zero_subscription_has_nothing_due_before_its_first_epoch_ends() {
		let a = subscription(0, 3);
		assert_eq!(ended_through(&a, 9, 0), None);
		assert_eq!(ended_through(&a, 10, 0), Some(0));
	}
}
