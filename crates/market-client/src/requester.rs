//! The data user's side of the market: the one home of register, quote, request,
//! fetch, fetch ahead, confirm and cancel.

use crate::Error;
use cbpre::{Identity, PublicKey, SecretKey};
use rand::rngs::OsRng;
use sensorshare_chain_client::{
	AccountId32, Agreement, Balance, ChainClient, EmptyEpoch, Included, Keypair, Quote, Sensor,
};
use sensorshare_protocol::routes::Location;
use sensorshare_worker_client::{
	ClientError, DeliveryRef, Expected, Fetched, Wanted, WorkerClient,
};
use std::time::Duration;

/// A data user: an account, which signs its transactions, and its CB-PRE key.
pub struct Requester {
	signer: Keypair,
	account: AccountId32,
	key: SecretKey,
}

/// What a request would buy and cost: the sensors as the chain lists them, the
/// epochs of the range asked for, and the chain's price for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
	/// The sensors, in the order asked for.
	pub sensors: Vec<Sensor>,
	/// Their epoch length in seconds.
	pub epoch_secs: u64,
	/// The first epoch.
	pub from_epoch: u64,
	/// The last epoch (inclusive).
	pub to_epoch: u64,
	/// What it costs: price and fee into escrow, and the deposit.
	pub quote: Quote<Balance>,
}

impl Offer {
	/// The sensors' identities, in the order asked for.
	pub fn sensor_ids(&self) -> Vec<Identity> {
		self.sensors.iter().map(|s| s.id).collect()
	}

	/// How many epochs it covers.
	pub fn epochs(&self) -> u64 {
		sensorshare_market::epochs(self.from_epoch, self.to_epoch).unwrap_or(u64::MAX)
	}
}

impl Requester {
	/// The data user of account `signer` with CB-PRE key `key`.
	pub fn new(signer: Keypair, key: SecretKey) -> Self {
		let account = signer.public_key().to_account_id();
		Requester { signer, account, key }
	}

	/// The account's key, which signs the user's transactions.
	pub fn signer(&self) -> &Keypair {
		&self.signer
	}

	/// The account.
	pub fn account(&self) -> &AccountId32 {
		&self.account
	}

	/// The user's CB-PRE identity.
	pub fn id(&self) -> &Identity {
		self.key.id()
	}

	/// The user's public key.
	pub fn public_key(&self) -> &PublicKey {
		self.key.public_key()
	}

	/// Registers the user's identity and certificate on chain, with the proof that
	/// it holds the key.
	pub async fn register(&self, chain: &ChainClient) -> Result<Included, Error> {
		Ok(chain.register_identity_with_rng(&self.signer, &self.key, &mut OsRng).await?)
	}

	/// What a request for `sensors` over the time range `from_secs..=to_secs` would
	/// buy and cost: [`quote`] for this account.
	pub async fn quote(
		&self,
		chain: &ChainClient,
		sensors: &[Identity],
		range: (u64, u64),
	) -> Result<Offer, Error> {
		quote(chain, &self.account, sensors, range).await
	}

	/// Requests `offer`, paying its escrow; the agreement's number.
	pub async fn request(
		&self,
		chain: &ChainClient,
		offer: &Offer,
	) -> Result<(u64, Included), Error> {
		self.request_epochs(
			chain,
			&offer.sensor_ids(),
			(offer.from_epoch, offer.to_epoch),
			offer.quote.escrow,
		)
		.await
	}

	/// Requests epochs `from..=to` of `sensors`, paying at most `max` into escrow;
	/// the agreement's number.
	pub async fn request_epochs(
		&self,
		chain: &ChainClient,
		sensors: &[Identity],
		(from, to): (u64, u64),
		max: Balance,
	) -> Result<(u64, Included), Error> {
		Ok(chain.request_data(&self.signer, sensors, (from, to), max).await?)
	}

	/// Downloads, verifies and decrypts agreement `id`'s latest delivery: [`fetch`]
	/// with this user's key.
	pub async fn fetch(
		&self,
		chain: &ChainClient,
		id: u64,
		progress: impl FnMut(u64),
	) -> Result<Fetched, Error> {
		fetch(chain, &self.key, id, progress).await
	}

	/// Downloads and decrypts agreement `id`'s delivery through `through_epoch` from
	/// `worker` as soon as it is written, waiting up to `wait`: before the delivery
	/// is on chain. [`Self::check_delivery`] compares it with the chain's later.
	pub async fn fetch_ahead(
		&self,
		chain: &ChainClient,
		worker: &WorkerClient,
		id: u64,
		through_epoch: u64,
		wait: Duration,
	) -> Result<Fetched, Error> {
		let a = own_agreement(chain, &self.key, id).await?;
		let sensors = sensor_keys(chain, &a).await?;
		let wanted = Wanted::Ahead { agreement: id, through_epoch, wait };
		let expected = expected(&self.key, &sensors, &a);
		Ok(worker.download(&wanted, &expected, &mut OsRng, |_| {}).await?)
	}

	/// Whether the delivery of agreement `id` on chain is the one fetched ahead:
	/// the digest on chain is `digest` ([`Fetched::digest`]), and the sensor-epochs
	/// the provider named empty on chain are `empty`, the manifest's
	/// ([`Fetched::empty`]).
	pub async fn check_delivery(
		&self,
		chain: &ChainClient,
		id: u64,
		digest: &[u8; 32],
		empty: &[EmptyEpoch],
	) -> Result<(), Error> {
		match agreement(chain, id).await?.delivery {
			Some((_, on_chain)) if on_chain == *digest => {},
			Some(_) => return Err(Error::DigestMismatch(id)),
			None => return Err(Error::NotDelivered(id)),
		}
		let mut on_chain = chain.empty_epochs(id).await?;
		on_chain.sort_unstable();
		if on_chain != empty {
			return Err(Error::EmptyMismatch(id));
		}
		Ok(())
	}

	/// Confirms agreement `id`: the escrow goes to the owner and the provider.
	pub async fn confirm(&self, chain: &ChainClient, id: u64) -> Result<Included, Error> {
		Ok(chain.confirm(&self.signer, id).await?)
	}

	/// Withdraws request `id` before it is underway; the escrow comes back.
	pub async fn cancel(&self, chain: &ChainClient, id: u64) -> Result<Included, Error> {
		Ok(chain.cancel_request(&self.signer, id).await?)
	}
}

/// What a request by `account` for `sensors` over the time range
/// `from_secs..=to_secs` (Unix seconds) would buy and cost. The account must have
/// registered its identity and the sensors must be on chain, with one epoch length.
pub async fn quote(
	chain: &ChainClient,
	account: &AccountId32,
	sensors: &[Identity],
	(from_secs, to_secs): (u64, u64),
) -> Result<Offer, Error> {
	if from_secs > to_secs {
		return Err(Error::Invalid("the range ends before it starts".into()));
	}
	if chain.identity(account).await?.is_none() {
		return Err(Error::NotRegistered);
	}
	let mut found = Vec::with_capacity(sensors.len());
	for id in sensors {
		let sensor = chain
			.sensor(id.as_bytes())
			.await?
			.ok_or_else(|| Error::UnknownSensor(hex::encode(id.as_bytes())))?;
		found.push(sensor);
	}
	let epoch_secs =
		found.first().ok_or_else(|| Error::Invalid("name at least one sensor".into()))?.epoch_secs;
	if found.iter().any(|s| s.epoch_secs != epoch_secs) {
		return Err(Error::Invalid("the sensors have different epoch lengths".into()));
	}
	let epoch = |secs| {
		sensorshare_market::epoch::of_secs(secs, epoch_secs)
			.ok_or_else(|| Error::Invalid("a sensor has epochs of 0 seconds".into()))
	};
	let (from_epoch, to_epoch) = (epoch(from_secs)?, epoch(to_secs)?);
	let quote = chain.quote(&found, (from_epoch, to_epoch)).await?;
	Ok(Offer { sensors: found, epoch_secs, from_epoch, to_epoch, quote })
}

/// Downloads, verifies and decrypts agreement `id`'s latest delivery with the
/// requester's `key`, from the worker that the delivery's location on chain names,
/// with the sensors' keys from the chain. `progress` is called with the bytes of
/// each segment downloaded.
pub async fn fetch(
	chain: &ChainClient,
	key: &SecretKey,
	id: u64,
	progress: impl FnMut(u64),
) -> Result<Fetched, Error> {
	let a = own_agreement(chain, key, id).await?;
	let (Some((location, digest)), Some(through_epoch)) =
		(a.delivery.clone(), a.last_delivered_epoch())
	else {
		return Err(Error::NotDelivered(id));
	};
	let location = Location::parse(&location).map_err(ClientError::from)?;
	if location.agreement != id || location.through_epoch != through_epoch {
		return Err(Error::Invalid(format!(
			"agreement {id}: the delivery's location names agreement {} through epoch {}",
			location.agreement, location.through_epoch
		)));
	}
	let sensors = sensor_keys(chain, &a).await?;
	let empty = chain.empty_epochs(id).await?;
	let wanted = Wanted::OnChain(DeliveryRef { agreement: id, through_epoch, digest, empty });
	let worker = WorkerClient::new(&location.base);
	Ok(worker.download(&wanted, &expected(key, &sensors, &a), &mut OsRng, progress).await?)
}

/// What a download of agreement `a` must hold, for `key`, its sensors' keys `sensors`.
fn expected<'a>(
	key: &'a SecretKey,
	sensors: &'a [(Identity, PublicKey)],
	a: &Agreement,
) -> Expected<'a> {
	Expected { requester: key, sensors, from_epoch: a.from_epoch, epoch_secs: a.epoch_secs }
}

/// Agreement `id`, checked to be `key`'s: its requester registered this key.
async fn own_agreement(chain: &ChainClient, key: &SecretKey, id: u64) -> Result<Agreement, Error> {
	let a = agreement(chain, id).await?;
	let requester = chain.identity(&a.requester).await?;
	if requester.map(|r| r.public_key) != Some(*key.public_key()) {
		return Err(Error::WrongKey(id));
	}
	Ok(a)
}

/// Agreement `id`, which must be open on chain.
pub async fn agreement(chain: &ChainClient, id: u64) -> Result<Agreement, Error> {
	chain.agreement(id).await?.ok_or(Error::UnknownAgreement(id))
}

/// The public keys of agreement `a`'s sensors, from the chain.
async fn sensor_keys(
	chain: &ChainClient,
	a: &Agreement,
) -> Result<Vec<(Identity, PublicKey)>, Error> {
	let mut keys = Vec::with_capacity(a.sensors.len());
	for s in &a.sensors {
		let sensor = chain
			.sensor(s.as_bytes())
			.await?
			.ok_or_else(|| Error::UnknownSensor(hex::encode(s.as_bytes())))?;
		keys.push((sensor.id, sensor.public_key));
	}
	Ok(keys)
}
