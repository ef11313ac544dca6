//! One function per data-market call, taking domain types: the only place outside
//! the runtime that builds a data-market transaction.

use crate::{
	api::{
		self,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			sensorshare_market::EmptyEpoch as ChainEmptyEpoch,
		},
	},
	AccountId32, Balance, ChainClient, Error, Included, Keypair, Sensor,
};
use cbpre::{rand_core::CryptoRngCore, SecretKey};
pub use sensorshare_market::possession::Kind as RegistrationKind;
use sensorshare_market::{EmptyEpoch, Quote, Rates};

/// For each sensor of an agreement, in its order, one re-key per epoch of a run.
pub type ReKeys = Vec<Vec<[u8; 32]>>;

/// What an owner lists a sensor with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
	/// The price of one epoch of its data.
	pub price_per_epoch: Balance,
	/// Its epoch length in seconds.
	pub epoch_secs: u64,
	/// The first epoch of which it has data to sell: earlier epochs cannot be
	/// requested. A new sensor's is the current epoch.
	pub first_epoch: u64,
	/// The storage provider that holds its data.
	pub provider: AccountId32,
	/// Free text shown to buyers.
	pub description: String,
}

fn bounded_rekeys(rekeys: ReKeys) -> BoundedVec<BoundedVec<[u8; 32]>> {
	BoundedVec(rekeys.into_iter().map(BoundedVec).collect())
}

impl ChainClient {
	/// The hash of the chain's block 0, which proofs of possession sign.
	pub fn genesis_hash(&self) -> [u8; 32] {
		self.api().genesis_hash().0
	}

	/// What a request for epochs `from_epoch..=to_epoch` of `sensors` costs, as the
	/// chain will charge it: the sensors' prices, their provider's fee (the first
	/// sensor's provider: a request names sensors of one provider) and the agreement
	/// deposit, computed by the market's arithmetic that the pallet runs.
	pub async fn quote(
		&self,
		sensors: &[Sensor],
		(from_epoch, to_epoch): (u64, u64),
	) -> Result<Quote<Balance>, Error> {
		let invalid = |what: &str| Error::InvalidRequest(what.to_string());
		let first = sensors.first().ok_or_else(|| invalid("no sensors"))?;
		let epochs = sensorshare_market::epochs(from_epoch, to_epoch)
			.ok_or_else(|| invalid("the last epoch comes before the first"))?;
		let constants = api::constants().data_market();
		let fee_per_epoch = self.provider(&first.provider).await?.map_or(0, |(_, fee)| fee);
		let rates = Rates {
			fee_per_epoch,
			deposit_base: self.api().constants().at(&constants.agreement_deposit_base())?,
			deposit_per_epoch: self
				.api()
				.constants()
				.at(&constants.agreement_deposit_per_epoch())?,
		};
		let prices: Vec<Balance> = sensors.iter().map(|s| s.price_per_epoch).collect();
		sensorshare_market::quote(&prices, epochs, &rates)
			.ok_or_else(|| invalid("the price does not fit a balance"))
	}

	/// The proof that `key`'s holder registers it as `kind` from `account` on this
	/// chain: what `register_identity`, `register_sensor` and `update_identity` take.
	pub fn possession_with_rng(
		&self,
		key: &SecretKey,
		account: &AccountId32,
		kind: RegistrationKind,
		rng: &mut impl CryptoRngCore,
	) -> Result<[u8; 64], Error> {
		sensorshare_market::possession::prove_with_rng(
			key,
			&self.genesis_hash(),
			&account.0,
			kind,
			rng,
		)
		.map(|sig| sig.to_bytes())
		.map_err(|e| Error::Crypto(e.to_string()))
	}

	/// Registers `key`'s identity as a data user of `signer`'s account, with its proof
	/// of possession.
	pub async fn register_identity_with_rng(
		&self,
		signer: &Keypair,
		key: &SecretKey,
		rng: &mut impl CryptoRngCore,
	) -> Result<Included, Error> {
		let account = signer.public_key().to_account_id();
		let proof = self.possession_with_rng(key, &account, RegistrationKind::Identity, rng)?;
		let call = api::tx().data_market().register_identity(
			BoundedVec(key.id().as_bytes().to_vec()),
			key.certificate().to_bytes(),
			proof,
		);
		self.submit(&call, signer).await
	}

	/// Registers `key`'s sensor, owned by `signer`'s account, with its proof of
	/// possession and `listing`.
	pub async fn register_sensor_with_rng(
		&self,
		signer: &Keypair,
		key: &SecretKey,
		listing: Listing,
		rng: &mut impl CryptoRngCore,
	) -> Result<Included, Error> {
		let account = signer.public_key().to_account_id();
		let proof = self.possession_with_rng(key, &account, RegistrationKind::Sensor, rng)?;
		let call = api::tx().data_market().register_sensor(
			BoundedVec(key.id().as_bytes().to_vec()),
			key.certificate().to_bytes(),
			proof,
			listing.price_per_epoch,
			listing.epoch_secs,
			listing.first_epoch,
			listing.provider,
			BoundedVec(listing.description.into_bytes()),
		);
		self.submit(&call, signer).await
	}

	/// Registers `signer`'s account as a storage provider at `endpoint`.
	pub async fn register_provider(
		&self,
		signer: &Keypair,
		endpoint: &str,
		fee_per_epoch: Balance,
	) -> Result<Included, Error> {
		let call = api::tx()
			.data_market()
			.register_provider(BoundedVec(endpoint.as_bytes().to_vec()), fee_per_epoch);
		self.submit(&call, signer).await
	}

	/// Requests epochs `from..=to` of `sensors`, paying at most `max_price`; the new
	/// agreement's number and the inclusion.
	pub async fn request_data(
		&self,
		signer: &Keypair,
		sensors: &[cbpre::Identity],
		(from, to): (u64, u64),
		max_price: Balance,
	) -> Result<(u64, Included), Error> {
		let ids = sensors.iter().map(|s| BoundedVec(s.as_bytes().to_vec())).collect();
		let call = api::tx().data_market().request_data(BoundedVec(ids), from, to, max_price);
		let included = self.submit(&call, signer).await?;
		let requested = included
			.find::<api::data_market::events::DataRequested>()?
			.ok_or_else(|| Error::InvalidChainData("no DataRequested event".into()))?;
		Ok((requested.id, included))
	}

	/// Accepts request `id` with the re-keys of its first epochs.
	pub async fn accept_request(
		&self,
		signer: &Keypair,
		id: u64,
		rekeys: ReKeys,
	) -> Result<Included, Error> {
		let call = api::tx().data_market().accept_request(id, bounded_rekeys(rekeys));
		self.submit(&call, signer).await
	}

	/// Rejects request `id`.
	pub async fn reject_request(&self, signer: &Keypair, id: u64) -> Result<Included, Error> {
		self.submit(&api::tx().data_market().reject_request(id), signer).await
	}

	/// Withdraws request `id`.
	pub async fn cancel_request(&self, signer: &Keypair, id: u64) -> Result<Included, Error> {
		self.submit(&api::tx().data_market().cancel_request(id), signer).await
	}

	/// Posts the re-keys of agreement `id`'s epochs from `first_epoch`, the first
	/// without re-keys.
	pub async fn add_rekeys(
		&self,
		signer: &Keypair,
		id: u64,
		first_epoch: u64,
		rekeys: ReKeys,
	) -> Result<Included, Error> {
		let call = api::tx().data_market().add_rekeys(id, first_epoch, bounded_rekeys(rekeys));
		self.submit(&call, signer).await
	}

	/// Records the delivery of agreement `id` through `through_epoch`, at
	/// `location`, with its manifest's `digest`; `empty` names the sensor-epochs it
	/// newly covers that had no data, in ascending order.
	pub async fn deliver(
		&self,
		signer: &Keypair,
		id: u64,
		through_epoch: u64,
		location: &str,
		digest: [u8; 32],
		empty: &[EmptyEpoch],
	) -> Result<Included, Error> {
		let empty = empty.iter().map(|e| ChainEmptyEpoch { sensor: e.sensor, epoch: e.epoch });
		let call = api::tx().data_market().deliver(
			id,
			through_epoch,
			BoundedVec(location.as_bytes().to_vec()),
			digest,
			BoundedVec(empty.collect()),
		);
		self.submit(&call, signer).await
	}

	/// Confirms the delivery of agreement `id`.
	pub async fn confirm(&self, signer: &Keypair, id: u64) -> Result<Included, Error> {
		self.submit(&api::tx().data_market().confirm(id), signer).await
	}
}
