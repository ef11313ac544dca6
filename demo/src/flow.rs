//! The paper's flow, steps 1 to 9, from the data user's side, against a running
//! [`Stack`]: the user registers, requests a range of epochs of every sensor, the
//! owner's agent accepts with re-keys, the provider's worker re-encrypts and
//! delivers, the user downloads, decrypts and confirms, and the escrow is paid out.

use crate::{
	market::{fees_paid, register_requester, total_balance, EventLog},
	stack::Stack,
	Error,
};
use sensorshare_chain_client::{signer_from_uri, AccountId32, Balance};
use sensorshare_worker_client::Fetched;
use std::time::{Duration, Instant};

/// How long any one step may take before the flow gives up.
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// A step of the flow, as it finished.
#[derive(Debug, Clone)]
pub struct FlowStep {
	/// What happened.
	pub what: String,
	/// The block it happened in, for steps on chain.
	pub block: Option<u32>,
	/// When, from the start of the flow.
	pub at: Duration,
}

/// An account's balance before the request and after the settlement, and the
/// transaction fees it paid in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceChange {
	/// Free and held, before the request.
	pub before: Balance,
	/// Free and held, after the settlement.
	pub after: Balance,
	/// Transaction fees paid in between.
	pub fees: Balance,
}

impl BalanceChange {
	/// What the account gained, fees added back (negative: what it paid).
	pub fn net_of_fees(&self) -> i128 {
		(self.after as i128) - (self.before as i128) + (self.fees as i128)
	}
}

/// What the flow did and measured.
#[derive(Debug, Clone)]
pub struct FlowOutcome {
	/// The agreement.
	pub agreement: u64,
	/// The epochs requested.
	pub epochs: (u64, u64),
	/// Every step.
	pub steps: Vec<FlowStep>,
	/// The delivery, decrypted.
	pub fetched: Fetched,
	/// The owner's price and the provider's fee, as the chain charged them.
	pub price: Balance,
	/// The provider's fee.
	pub fee: Balance,
	/// What the settlement paid the owner and the provider.
	pub paid: (Balance, Balance),
	/// The owner's balance.
	pub owner: BalanceChange,
	/// The provider's balance.
	pub provider: BalanceChange,
	/// The requester's balance.
	pub requester: BalanceChange,
}

/// Who plays the data user.
#[derive(Debug, Clone)]
pub struct FlowConfig {
	/// The requester's account (secret URI).
	pub requester: String,
	/// The requester's identity.
	pub requester_id: String,
	/// The storage provider's account (secret URI).
	pub provider: String,
	/// How many whole epochs to record and request.
	pub epochs: u64,
}

impl Default for FlowConfig {
	fn default() -> Self {
		FlowConfig {
			requester: "//Bob".into(),
			requester_id: "bob".into(),
			provider: "//Ferdie".into(),
			epochs: 2,
		}
	}
}

/// `count` whole epochs of data, from the first that begins after now: waits until
/// the last has ended (and a second more, for its last readings to arrive); the
/// first and the last.
pub async fn whole_epochs(epoch_secs: u64, count: u64) -> (u64, u64) {
	use sensorshare_market::epoch;
	let now = sensorshare_service::clock::now_secs;
	let first = epoch::of_secs(now(), epoch_secs).unwrap_or(0).saturating_add(1);
	let last = first.saturating_add(count.max(1) - 1);
	let end = epoch::end_secs(last, epoch_secs).unwrap_or(u64::MAX).saturating_add(1);
	while now() < end {
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	(first, last)
}

fn account(uri: &str) -> Result<AccountId32, Error> {
	Ok(signer_from_uri(uri)?.public_key().to_account_id())
}

/// Runs the flow; `on_step` hears of each step as it finishes.
pub async fn run(
	stack: &Stack,
	flow: &FlowConfig,
	mut on_step: impl FnMut(&FlowStep),
) -> Result<FlowOutcome, Error> {
	let chain = &stack.chain;
	let started = Instant::now();
	let mut steps = Vec::new();
	let mut step = |what: String, block: Option<u32>| {
		let s = FlowStep { what, block, at: started.elapsed() };
		on_step(&s);
		steps.push(s);
	};
	let sensors = stack
		.config
		.sensors
		.iter()
		.map(|s| cbpre::Identity::new(s.as_bytes()).map_err(|e| Error::Crypto(e.to_string())))
		.collect::<Result<Vec<_>, _>>()?;

	let (bob, included) = register_requester(chain, &flow.requester, &flow.requester_id).await?;
	step(
		format!(
			"{}: a CB-PRE key from the dev CA, identity {:?} registered",
			flow.requester, flow.requester_id
		),
		Some(included.block_number),
	);

	let (first, last) = whole_epochs(stack.config.epoch_secs, flow.epochs).await;
	let (head, _) = chain.finalized_head().await?;
	step(
		format!("the sensors recorded epochs {first}..={last}, sealed and uploaded to the cloud"),
		Some(head),
	);

	let owner = account(&stack.config.owner)?;
	let provider = account(&flow.provider)?;
	let before = [
		total_balance(chain, &owner).await?,
		total_balance(chain, &provider).await?,
		total_balance(chain, bob.account()).await?,
	];
	let log = EventLog::follow(chain.clone(), head + 1);
	let (id, included) = bob.request_epochs(chain, &sensors, (first, last), Balance::MAX).await?;
	let request_block = included.block_number;
	let requested = included
		.find::<sensorshare_chain_client::api::data_market::events::DataRequested>()?
		.ok_or_else(|| Error::Unexpected("no DataRequested event".into()))?;
	let (price, fee) = (requested.price, requested.fee);
	step(
		format!(
			"agreement {id}: {} requested epochs {first}..={last} of {}, paying {} into escrow",
			flow.requester,
			stack.config.sensors.join(", "),
			sensorshare_chain_client::format_units(price + fee)
		),
		Some(request_block),
	);

	let (block, _) = log.wait(id, STEP_TIMEOUT, |p| p.accepted).await?;
	step(
		format!(
			"{}'s agent accepted with {} re-keys (one per sensor and epoch)",
			stack.config.owner,
			sensors.len() as u64 * (last - first + 1)
		),
		Some(block),
	);
	let (_, block, _) =
		log.wait(id, STEP_TIMEOUT, |p| p.delivered.filter(|(t, ..)| *t == last)).await?;
	step(
		"the provider's worker re-encrypted every capsule for the requester and delivered; the manifest digest is on chain".into(),
		Some(block),
	);

	// From the worker the delivery's location on chain names.
	let fetched = bob.fetch(chain, id, |_| {}).await?;
	let readings: usize = fetched.epochs.iter().map(|e| e.readings.len()).sum();
	step(
		format!(
			"{} downloaded {} bytes, checked them against the chain, ran Decrypt2 on {} capsules and opened {readings} readings",
			flow.requester,
			fetched.bytes,
			fetched.epochs.len()
		),
		None,
	);

	let included = bob.confirm(chain, id).await?;
	let settled = included
		.find::<sensorshare_chain_client::api::data_market::events::AgreementSettled>()?
		.ok_or_else(|| Error::Unexpected("no AgreementSettled event".into()))?;
	let confirm_block = included.block_number;
	step(
		format!(
			"{} confirmed: the owner was paid {}, the provider {}",
			flow.requester,
			sensorshare_chain_client::format_units(settled.owner_paid),
			sensorshare_chain_client::format_units(settled.provider_paid)
		),
		Some(confirm_block),
	);

	let fees = fees_paid(chain, request_block, confirm_block).await?;
	let change = |who: AccountId32, before: Balance| {
		let fees = fees.get(&who.0).copied().unwrap_or(0);
		async move {
			Ok::<_, Error>(BalanceChange { before, after: total_balance(chain, &who).await?, fees })
		}
	};
	Ok(FlowOutcome {
		agreement: id,
		epochs: (first, last),
		fetched,
		price,
		fee,
		paid: (settled.owner_paid, settled.provider_paid),
		owner: change(owner, before[0]).await?,
		provider: change(provider, before[1]).await?,
		requester: change(bob.account().clone(), before[2]).await?,
		steps,
	})
}
