//! The owner agent: follows finalized blocks and answers every request for the
//! owner's sensors. A request that pays the listed price (sensors × epochs × price
//! per epoch, at the time of the request) is accepted with its re-keys, computed
//! here with the sensors' keys, in the acceptance itself; anything else is rejected.
//! With a [`Decider`] that asks a human, each request waits for an answer instead.

use cbpre::{Meta, PublicKey, SecretKey};
use sensorshare_chain_client::{
	api::{self, runtime_types::bounded_collections::bounded_vec::BoundedVec},
	Agreement, AgreementStatus, ChainClient, Error as ChainError, Follower, Keypair, MarketEvent,
};
use std::{collections::HashMap, sync::Arc, time::Duration};

/// Decides on a request the agent would accept.
pub trait Decider: Send + Sync {
	/// Whether to accept `agreement` (which pays the listed price).
	fn accept(&self, agreement: &Agreement) -> bool;
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
}

/// What the agent did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
	/// Accepted with re-keys.
	Accepted,
	/// Rejected (and the requester refunded).
	Rejected,
	/// Not ours, or answered already.
	Skipped,
}

/// The owner agent.
pub struct Agent {
	chain: ChainClient,
	owner: Arc<Keypair>,
	keys: HashMap<Vec<u8>, SecretKey>,
	decider: Box<dyn Decider>,
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
		Agent { chain, owner: Arc::new(owner), keys, decider }
	}

	/// Answers agreement `id` if it is a request to this owner.
	pub async fn answer(&self, id: u64) -> Result<Answer, ChainError> {
		let me = self.owner.public_key().to_account_id();
		let Some(a) = self.chain.agreement(id).await? else { return Ok(Answer::Skipped) };
		if a.owner != me || a.status != AgreementStatus::Requested {
			return Ok(Answer::Skipped);
		}
		match self.rekeys_if_acceptable(&a).await? {
			Some(rekeys) if self.decider.accept(&a) => {
				let call = api::tx().data_market().accept_request(id, rekeys);
				self.chain.submit(&call, &self.owner).await?;
				tracing::info!(agreement = id, requester = %a.requester, "accepted with re-keys");
				Ok(Answer::Accepted)
			},
			_ => {
				let call = api::tx().data_market().reject_request(id);
				self.chain.submit(&call, &self.owner).await?;
				tracing::info!(agreement = id, requester = %a.requester, "rejected");
				Ok(Answer::Rejected)
			},
		}
	}

	/// The re-keys of `a`, if it pays the listed price and every sensor's key is here.
	async fn rekeys_if_acceptable(
		&self,
		a: &Agreement,
	) -> Result<Option<BoundedVec<BoundedVec<[u8; 32]>>>, ChainError> {
		let mut listed: u128 = 0;
		for s in &a.sensors {
			let Some(sensor) = self.chain.sensor(s.as_bytes()).await? else { return Ok(None) };
			let cost = sensor.price_per_epoch.checked_mul(u128::from(a.epochs()));
			listed = match cost.and_then(|c| listed.checked_add(c)) {
				Some(v) => v,
				None => return Ok(None),
			};
		}
		if a.price < listed {
			tracing::info!(agreement = a.id, offered = a.price, listed, "pays less than listed");
			return Ok(None);
		}
		let Some(requester) = self.chain.identity(&a.requester).await? else { return Ok(None) };
		match rekeys(a, &requester.public_key, &self.keys) {
			Ok(r) => Ok(Some(r)),
			Err(e) => {
				tracing::warn!(agreement = a.id, error = %e, "cannot re-key");
				Ok(None)
			},
		}
	}

	/// Answers what is pending, then every new request, until `shutdown`.
	pub async fn run(
		self,
		mut shutdown: tokio::sync::watch::Receiver<bool>,
	) -> Result<(), ChainError> {
		let (head, _) = self.chain.finalized_head().await?;
		let me = self.owner.public_key().to_account_id();
		for a in self.chain.agreements().await? {
			if a.owner == me && a.status == AgreementStatus::Requested {
				self.answer_logged(a.id).await;
			}
		}
		tracing::info!(
			sensors = self.keys.len(),
			from = head + 1,
			"owner agent following the chain"
		);
		let mut follower = Follower::new(self.chain.clone(), head.saturating_add(1));
		loop {
			tokio::select! {
				_ = shutdown.changed() => return Ok(()),
				block = follower.next() => match block {
					Ok(block) => {
						for ev in block.events {
							if let MarketEvent::DataRequested { id, owner, .. } = ev {
								if owner == me {
									self.answer_logged(id).await;
								}
							}
						}
					},
					Err(e) if e.is_transient() => tokio::time::sleep(Duration::from_secs(1)).await,
					Err(e) => return Err(e),
				},
			}
		}
	}

	async fn answer_logged(&self, id: u64) {
		if let Err(e) = self.answer(id).await {
			tracing::error!(agreement = id, error = %e, "could not answer the request");
		}
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

/// The re-keys of agreement `a` for `requester`: for each sensor, in order, one per
/// epoch. Fails if a sensor's key is not in `keys`.
pub fn rekeys(
	a: &Agreement,
	requester: &PublicKey,
	keys: &HashMap<Vec<u8>, SecretKey>,
) -> Result<BoundedVec<BoundedVec<[u8; 32]>>, ReKeyError> {
	let mut out = Vec::with_capacity(a.sensors.len());
	for s in &a.sensors {
		let key = keys
			.get(s.as_bytes())
			.ok_or_else(|| ReKeyError::MissingKey(hex::encode(s.as_bytes())))?;
		let per_epoch = (a.from_epoch..=a.to_epoch)
			.map(|e| key.rekey(&Meta::new(*s, e), requester).map(|rk| rk.to_bytes()))
			.collect::<Result<Vec<_>, _>>()?;
		out.push(BoundedVec(per_epoch));
	}
	Ok(BoundedVec(out))
}
