//! The chain's records as plain Rust types, keys checked on the way in.

use crate::api::runtime_types::sensorshare_market::EmptyEpoch as ChainEmptyEpoch;
use crate::{api::runtime_types::pallet_data_market::types as chain, AccountId32, Balance, Error};
use cbpre::PublicKey;
use sensorshare_market::{Due, EmptyEpoch, Progress};

/// A registered sensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sensor {
	/// Its CB-PRE identity.
	pub id: cbpre::Identity,
	/// Its owner.
	pub owner: AccountId32,
	/// Its ECQV certificate.
	pub cert: [u8; 33],
	/// Its public key, as the chain derived it.
	pub public_key: PublicKey,
	/// Price of one epoch of data.
	pub price_per_epoch: Balance,
	/// Epoch length in seconds.
	pub epoch_secs: u64,
	/// The storage provider holding its data.
	pub provider: AccountId32,
	/// The epoch it was registered in: the first that can be requested.
	pub first_epoch: u64,
	/// Free text shown to buyers.
	pub description: String,
	/// Whether it takes new requests.
	pub active: bool,
	/// Agreements involving it that are not yet settled.
	pub open_agreements: u32,
}

/// A registered data user: its account, CB-PRE identity and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredUser {
	/// The account.
	pub account: AccountId32,
	/// The CB-PRE identity.
	pub id: cbpre::Identity,
	/// The ECQV certificate.
	pub cert: [u8; 33],
	/// The public key, as the chain derived it.
	pub public_key: PublicKey,
	/// The agreements it requested that are still open.
	pub open_agreements: u32,
	/// What it holds for its registration.
	pub deposit: Balance,
}

/// Where an agreement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgreementStatus {
	/// Paid into escrow; waiting for the owner.
	Requested,
	/// Accepted; re-keys and deliveries come epoch by epoch until the last.
	Accepted,
	/// Every epoch delivered; waiting for confirmation.
	Delivered,
}

/// An open agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
	/// Its number.
	pub id: u64,
	/// Who asked and paid.
	pub requester: AccountId32,
	/// The sensors' owner.
	pub owner: AccountId32,
	/// The storage provider.
	pub provider: AccountId32,
	/// The sensors.
	pub sensors: Vec<cbpre::Identity>,
	/// First epoch.
	pub from_epoch: u64,
	/// Last epoch (inclusive).
	pub to_epoch: u64,
	/// The sensors' epoch length in seconds.
	pub epoch_secs: u64,
	/// How many epochs, from the first, have their re-keys on chain.
	pub rekeyed: u32,
	/// How many epochs, from the first, are delivered.
	pub delivered: u32,
	/// Each sensor's price per epoch when it was requested, in `sensors`' order.
	pub prices: Vec<Balance>,
	/// The provider's fee per sensor and epoch when it was requested.
	pub fee_per_epoch: Balance,
	/// What the requester holds in escrow for the owner.
	pub price: Balance,
	/// What the requester holds in escrow for the provider.
	pub fee: Balance,
	/// How many of the sensor-epochs delivered were empty, and so are not paid for.
	pub empty_epochs: u32,
	/// The sum of their prices.
	pub empty_price: Balance,
	/// Where it stands.
	pub status: AgreementStatus,
	/// The last block of its current step.
	pub deadline: u32,
	/// Where its latest delivery is and the digest of its manifest, which covers every
	/// epoch delivered so far.
	pub delivery: Option<(String, [u8; 32])>,
	/// The requester's storage deposit, returned when it closes.
	pub deposit: Balance,
	/// The owner's deposit for the re-keys on chain, returned when it closes.
	pub rekey_deposit: Balance,
}

impl Agreement {
	/// How far it has come, for the market's arithmetic of "what is next".
	pub fn progress(&self) -> Progress {
		Progress::new(self.from_epoch, self.to_epoch, self.rekeyed, self.delivered)
	}

	/// How many epochs it covers.
	pub fn epochs(&self) -> u64 {
		self.progress().epochs()
	}

	/// The last epoch with re-keys on chain, if any.
	pub fn last_rekeyed_epoch(&self) -> Option<u64> {
		self.progress().last_rekeyed_epoch()
	}

	/// The last epoch delivered, if any.
	pub fn last_delivered_epoch(&self) -> Option<u64> {
		self.progress().last_delivered_epoch()
	}

	/// When `epoch` ends, in seconds since the Unix epoch.
	pub fn epoch_end_secs(&self, epoch: u64) -> u64 {
		sensorshare_market::epoch::end_secs(epoch, self.epoch_secs).unwrap_or(u64::MAX)
	}

	/// What the owner and the provider are owed for the epochs delivered so far,
	/// less the sensor-epochs delivered empty: what settling now would pay.
	pub fn due(&self) -> Option<Due<Balance>> {
		sensorshare_market::due(
			&self.prices,
			self.fee_per_epoch,
			u64::from(self.delivered),
			u64::from(self.empty_epochs),
			self.empty_price,
		)
	}
}

impl From<ChainEmptyEpoch> for EmptyEpoch {
	fn from(e: ChainEmptyEpoch) -> Self {
		EmptyEpoch { sensor: e.sensor, epoch: e.epoch }
	}
}

fn identity(bytes: &[u8]) -> Result<cbpre::Identity, Error> {
	cbpre::Identity::new(bytes).map_err(|e| Error::InvalidChainData(format!("identity: {e}")))
}

fn key(bytes: &[u8; 33]) -> Result<PublicKey, Error> {
	PublicKey::from_bytes(bytes).map_err(|e| Error::InvalidChainData(format!("public key: {e}")))
}

impl Sensor {
	pub(crate) fn from_chain(id: &[u8], s: chain::SensorInfo) -> Result<Self, Error> {
		Ok(Sensor {
			id: identity(id)?,
			owner: s.owner,
			cert: s.cert,
			public_key: key(&s.public_key)?,
			price_per_epoch: s.price_per_epoch,
			epoch_secs: s.epoch_secs,
			provider: s.provider,
			first_epoch: s.first_epoch,
			description: String::from_utf8_lossy(&s.description.0).into_owned(),
			active: s.active,
			open_agreements: s.open_agreements,
		})
	}
}

impl RegisteredUser {
	pub(crate) fn from_chain(account: AccountId32, u: chain::UserInfo) -> Result<Self, Error> {
		Ok(RegisteredUser {
			account,
			id: identity(&u.id.0)?,
			cert: u.cert,
			public_key: key(&u.public_key)?,
			open_agreements: u.open_agreements,
			deposit: u.deposit,
		})
	}
}

impl Agreement {
	pub(crate) fn from_chain(id: u64, a: chain::Agreement) -> Result<Self, Error> {
		Ok(Agreement {
			id,
			requester: a.requester,
			owner: a.owner,
			provider: a.provider,
			sensors: a.sensors.0.iter().map(|s| identity(&s.0)).collect::<Result<_, _>>()?,
			from_epoch: a.from_epoch,
			to_epoch: a.to_epoch,
			epoch_secs: a.epoch_secs,
			rekeyed: a.rekeyed,
			delivered: a.delivered,
			prices: a.prices.0,
			fee_per_epoch: a.fee_per_epoch,
			price: a.price,
			fee: a.fee,
			empty_epochs: a.empty_epochs,
			empty_price: a.empty_price,
			status: match a.status {
				chain::AgreementStatus::Requested => AgreementStatus::Requested,
				chain::AgreementStatus::Accepted => AgreementStatus::Accepted,
				chain::AgreementStatus::Delivered => AgreementStatus::Delivered,
			},
			deadline: a.deadline,
			delivery: a
				.delivery
				.map(|(loc, digest)| (String::from_utf8_lossy(&loc.0).into_owned(), digest)),
			deposit: a.deposit,
			rekey_deposit: a.rekey_deposit,
		})
	}
}
