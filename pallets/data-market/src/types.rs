//! The records the data market keeps on chain.

use crate::Config;
use codec::{Decode, Encode, MaxEncodedLen};
use frame_support::{
	pallet_prelude::{BoundedVec, ConstU32, Get},
	traits::fungible::Inspect,
	CloneNoBound, EqNoBound, PartialEqNoBound, RuntimeDebugNoBound,
};
use frame_system::pallet_prelude::BlockNumberFor;
use scale_info::TypeInfo;

/// A CB-PRE identity: 1 to 64 bytes (a SensorTag uses its 6-byte BLE MAC).
pub type IdBytes = BoundedVec<u8, ConstU32<64>>;
/// A point in SEC1 compressed form: a certificate or a public key.
pub type PointBytes = [u8; 33];
/// A CB-PRE Schnorr signature `scalar(e) || scalar(s)`: a proof of possession.
pub type SignatureBytes = [u8; 64];
/// A re-encryption key: 32 bytes, one per sensor and epoch.
pub type ReKeyBytes = [u8; 32];
/// The number of an agreement.
pub type AgreementId = u64;
/// The balance type of the currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// The re-keys of an agreement: for each of its sensors (in the request's order),
/// one re-key per epoch from `from_epoch` to `to_epoch`.
pub type ReKeysOf<T> = BoundedVec<
	BoundedVec<ReKeyBytes, <T as Config>::MaxEpochsPerRequest>,
	<T as Config>::MaxSensorsPerRequest,
>;

/// Where a delivery is (a location at the provider) and the digest of its manifest.
pub type Delivery<T> = (BoundedVec<u8, <T as Config>::MaxLocationLen>, [u8; 32]);

/// The most sensor-epochs one agreement covers: `MaxSensorsPerRequest ×
/// MaxEpochsPerRequest`, and so the most that can be delivered empty.
pub struct MaxSensorEpochs<T>(core::marker::PhantomData<T>);

impl<T: Config> Get<u32> for MaxSensorEpochs<T> {
	fn get() -> u32 {
		T::MaxSensorsPerRequest::get().saturating_mul(T::MaxEpochsPerRequest::get())
	}
}

pub use sensorshare_market::EmptyEpoch;

/// Sensor-epochs delivered without data, ordered by sensor, then epoch, within
/// each delivery.
pub type EmptyEpochsOf<T> = BoundedVec<EmptyEpoch, MaxSensorEpochs<T>>;

/// A registered sensor.
#[derive(
	Encode,
	Decode,
	TypeInfo,
	MaxEncodedLen,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	RuntimeDebugNoBound,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound())]
pub struct SensorInfo<T: Config> {
	/// The account that owns the sensor, sets its price and re-keys its data.
	pub owner: T::AccountId,
	/// The sensor's ECQV certificate.
	pub cert: PointBytes,
	/// The sensor's public key `P_A = PublicKey(id, cert)`, derived on registration.
	pub public_key: PointBytes,
	/// The price of one epoch of this sensor's data.
	pub price_per_epoch: BalanceOf<T>,
	/// Length of an epoch in seconds: epoch `t` covers `[t*epoch_secs, (t+1)*epoch_secs)`.
	pub epoch_secs: u64,
	/// The storage provider that holds the sensor's data and delivers it.
	pub provider: T::AccountId,
	/// The first epoch of which the sensor has data to sell, as its owner
	/// registered it (the sensor client registers the current epoch): requests
	/// for earlier epochs are refused.
	pub first_epoch: u64,
	/// Free text shown to buyers (location, quantities measured).
	pub description: BoundedVec<u8, T::MaxDescriptionLen>,
	/// Whether the sensor takes new requests.
	pub active: bool,
	/// The agreements that involve the sensor and are not yet settled or expired.
	pub open_agreements: u32,
	/// What the owner holds for this record, released exactly when the sensor is
	/// deregistered.
	pub deposit: BalanceOf<T>,
}

/// A registered data user (requester).
#[derive(
	Encode,
	Decode,
	TypeInfo,
	MaxEncodedLen,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	RuntimeDebugNoBound,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound())]
pub struct UserInfo<T: Config> {
	/// The user's CB-PRE identity.
	pub id: IdBytes,
	/// The user's ECQV certificate.
	pub cert: PointBytes,
	/// The user's public key `P_B = PublicKey(id, cert)`, which owners re-key for.
	pub public_key: PointBytes,
	/// The agreements this user requested that are not yet settled or refunded;
	/// while there are any, the identity can be neither rotated nor deregistered.
	pub open_agreements: u32,
	/// What the user holds for this record, released exactly when it deregisters.
	pub deposit: BalanceOf<T>,
}

/// A registered storage provider.
#[derive(
	Encode,
	Decode,
	TypeInfo,
	MaxEncodedLen,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	RuntimeDebugNoBound,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound())]
pub struct ProviderInfo<T: Config> {
	/// Where sensors upload and requesters download (a URL).
	pub endpoint: BoundedVec<u8, T::MaxEndpointLen>,
	/// The provider's fee for one epoch of one sensor's data delivered.
	pub fee_per_epoch: BalanceOf<T>,
	/// The agreements this provider is to deliver or be paid for that are not yet
	/// closed; while there are any, it cannot deregister.
	pub open_agreements: u32,
	/// What the provider holds for this record (nothing for a genesis provider),
	/// released exactly when it deregisters.
	pub deposit: BalanceOf<T>,
}

/// What closing an agreement paid out of its escrow.
pub struct Payout<T: Config> {
	/// To the owner.
	pub owner_paid: BalanceOf<T>,
	/// To the provider.
	pub provider_paid: BalanceOf<T>,
	/// Back to the requester.
	pub refunded: BalanceOf<T>,
}

/// Where an agreement stands.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
pub enum AgreementStatus {
	/// Requested and paid into escrow; waiting for the owner.
	Requested,
	/// Accepted; re-keys and deliveries come epoch by epoch until the last epoch is
	/// delivered (a request that reaches into the future is a subscription).
	Accepted,
	/// Every epoch delivered; waiting for the requester's confirmation.
	Delivered,
}

/// A data agreement: the paper's runtime smart contract.
#[derive(
	Encode,
	Decode,
	TypeInfo,
	MaxEncodedLen,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	RuntimeDebugNoBound,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound())]
pub struct Agreement<T: Config> {
	/// Who asked and paid.
	pub requester: T::AccountId,
	/// The owner of every sensor of the agreement, who is paid the price.
	pub owner: T::AccountId,
	/// The storage provider that delivers, and is paid the fee.
	pub provider: T::AccountId,
	/// The sensors, all of one owner, provider and epoch length.
	pub sensors: BoundedVec<IdBytes, T::MaxSensorsPerRequest>,
	/// The first epoch of data.
	pub from_epoch: u64,
	/// The last epoch of data (inclusive).
	pub to_epoch: u64,
	/// The sensors' epoch length in seconds: epoch `t` covers
	/// `[t * epoch_secs, (t + 1) * epoch_secs)` seconds since the Unix epoch.
	pub epoch_secs: u64,
	/// How many epochs, from the first, have their re-keys on chain.
	pub rekeyed: u32,
	/// How many epochs, from the first, are delivered.
	pub delivered: u32,
	/// Each sensor's price per epoch when it was requested, in the order of
	/// `sensors`.
	pub prices: BoundedVec<BalanceOf<T>, T::MaxSensorsPerRequest>,
	/// The provider's fee per sensor and epoch when it was requested.
	pub fee_per_epoch: BalanceOf<T>,
	/// What the requester holds in escrow for the owner: epochs × the sum of
	/// `prices`.
	pub price: BalanceOf<T>,
	/// What the requester holds in escrow for the provider: sensors × epochs ×
	/// `fee_per_epoch`.
	pub fee: BalanceOf<T>,
	/// How many sensor-epochs were delivered empty ([`EmptyEpoch`]); neither
	/// their price nor their fee is paid.
	pub empty_epochs: u32,
	/// The sum of the prices of the sensor-epochs delivered empty.
	pub empty_price: BalanceOf<T>,
	/// Where the agreement stands.
	pub status: AgreementStatus,
	/// The last block for the next step: acceptance while requested (after it, the
	/// requester is refunded); the next epoch's re-keys and delivery while accepted
	/// (after it, unless that epoch has not ended yet, what was delivered is paid and
	/// the rest refunded); confirmation once delivered (after it, the escrow is
	/// released to owner and provider).
	pub deadline: BlockNumberFor<T>,
	/// Where the latest delivery is and the digest of its manifest, which covers
	/// every epoch delivered so far.
	pub delivery: Option<Delivery<T>>,
	/// How many times the deadline was extended while an epoch was still open; at
	/// `MaxExtensions` the agreement lapses at its next deadline.
	pub extensions: u32,
	/// The requester's deposit for this record: `AgreementDepositBase +
	/// AgreementDepositPerEpoch × sensors × epochs`, released when it closes.
	pub deposit: BalanceOf<T>,
	/// The owner's deposit for the re-keys stored so far: `ReKeyDepositPerByte` for
	/// each of their bytes, released when the agreement closes.
	pub rekey_deposit: BalanceOf<T>,
}

impl<T: Config> Agreement<T> {
	/// How far it has come, for the market's arithmetic of "what is next", which
	/// the clients share.
	pub fn progress(&self) -> sensorshare_market::Progress {
		sensorshare_market::Progress::new(
			self.from_epoch,
			self.to_epoch,
			self.rekeyed,
			self.delivered,
		)
	}

	/// How many epochs the agreement covers (checked when it was made, so it fits).
	pub fn epochs(&self) -> u64 {
		self.progress().epochs()
	}

	/// When `epoch` ends, in seconds since the Unix epoch.
	pub fn epoch_end_secs(&self, epoch: u64) -> u64 {
		sensorshare_market::epoch::end_secs(epoch, self.epoch_secs).unwrap_or(u64::MAX)
	}

	/// What the requester holds in escrow for it.
	pub fn escrow(&self) -> BalanceOf<T> {
		use sp_runtime::Saturating;
		self.price.saturating_add(self.fee)
	}

	/// What the owner and the provider are owed for the epochs delivered so far,
	/// less the sensor-epochs delivered empty (`None` only if the records
	/// disagree, which the pallet's invariants exclude).
	pub fn due(&self) -> Option<sensorshare_market::Due<BalanceOf<T>>> {
		sensorshare_market::due(
			&self.prices,
			self.fee_per_epoch,
			u64::from(self.delivered),
			u64::from(self.empty_epochs),
			self.empty_price,
		)
	}
}
