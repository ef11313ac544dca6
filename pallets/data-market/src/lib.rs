//! # Data market pallet
//!
//! SensorShare's marketplace for sensor data, the native replacement of the paper's
//! Ethereum contracts. Owners register sensors with a price per epoch; data users
//! register a CB-PRE identity and request a range of epochs from a group of one
//! owner's sensors, paying into escrow; the owner accepts with one re-encryption key
//! per sensor and epoch; the sensor's storage provider re-encrypts and delivers; the
//! requester confirms, which pays the owner and the provider.
//!
//! ## Agreements
//!
//! ```text
//! request_data ──► Requested ──accept_request──► Accepted ──deliver──► Delivered ──confirm──► settled
//!                      │ reject_request / cancel_request      │                    │
//!                      ▼                                      ▼                    ▼
//!                   refunded ◄───────── deadline passed ──────┘    deadline passed: settled
//! ```
//!
//! Every agreement has a deadline. Past it, a requested or accepted agreement is
//! refunded, and a delivered one is settled as if confirmed. Deadlines are processed
//! in bounded work in `on_idle` and by the permissionless [`Pallet::expire`] call, so
//! nothing depends on a single block's hook.
//!
//! ## Keys
//!
//! Public keys are never taken on trust: the pallet derives each participant's key
//! `P = H1(Cert, id)*Cert + P_alpha` from its identity and ECQV certificate with the
//! `cbpre` crate and the CA key `P_alpha` of the genesis (root can rotate it).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod types;
pub mod weights;

pub use types::*;
pub use weights::WeightInfo;

/// `P_alpha` of the published dev CA, for dev chains' genesis.
pub const DEV_CA_PUBLIC_KEY: PointBytes = cbpre::dev::DEV_CA_PUBLIC;

const LOG_TARGET: &str = "runtime::data-market";

#[frame_support::pallet]
// The call macro converts a `DispatchResultWithPostInfo` into itself.
#[allow(clippy::useless_conversion)]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, Mutate, MutateHold},
			tokens::{Fortitude, Precision, Restriction},
			UnixTime,
		},
	};
	use frame_system::pallet_prelude::*;
	use sp_runtime::{
		traits::{CheckedAdd, CheckedMul, Saturating, Zero},
		ArithmeticError,
	};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// The pallet's configuration.
	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The overarching event type.
		type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;

		/// The currency in which data is paid and deposits are held.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;

		/// Who may rotate the CA key.
		type CaOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// Held from the account of every sensor, identity and provider registration,
		/// and released when a sensor is deregistered: the price of its storage.
		#[pallet::constant]
		type RegistrationDeposit: Get<BalanceOf<Self>>;

		/// The most sensors one request may name.
		#[pallet::constant]
		type MaxSensorsPerRequest: Get<u32>;

		/// The most epochs one request may cover.
		#[pallet::constant]
		type MaxEpochsPerRequest: Get<u32>;

		/// The longest sensor description, in bytes.
		#[pallet::constant]
		type MaxDescriptionLen: Get<u32>;

		/// The longest provider endpoint, in bytes.
		#[pallet::constant]
		type MaxEndpointLen: Get<u32>;

		/// The longest delivery location, in bytes.
		#[pallet::constant]
		type MaxLocationLen: Get<u32>;

		/// Blocks from a request to its deadline for acceptance and delivery.
		#[pallet::constant]
		type DeliveryPeriod: Get<BlockNumberFor<Self>>;

		/// Blocks from a delivery to its automatic settlement, if the requester does
		/// not confirm.
		#[pallet::constant]
		type ConfirmationPeriod: Get<BlockNumberFor<Self>>;

		/// Seconds after an epoch ends within which its re-keys and delivery are due.
		/// Until then an accepted agreement waiting for the epoch stays open past its
		/// deadline; after it, the agreement lapses: the epochs delivered are paid for
		/// and the rest refunded.
		#[pallet::constant]
		type DeliveryGracePeriod: Get<u64>;

		/// The chain's clock, which tells when an epoch has ended.
		type UnixTime: UnixTime;

		/// The most deadlines `on_idle` processes in one block.
		#[pallet::constant]
		type MaxExpiriesPerBlock: Get<u32>;

		/// Weights of the calls, from the pallet's benchmarks.
		type WeightInfo: WeightInfo;

		/// What the benchmarks need of the runtime.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper;
	}

	/// What the benchmarks need of the runtime beyond the pallet.
	#[cfg(feature = "runtime-benchmarks")]
	pub trait BenchmarkHelper {
		/// Sets the clock `UnixTime` reads to `secs` seconds since the Unix epoch.
		fn set_time(secs: u64);
	}

	/// Why the pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A requester's payment for an agreement, until it is settled or refunded.
		Escrow,
		/// The deposit of a registration.
		Registration,
	}

	/// The CA's public key `P_alpha`, with which the pallet derives every
	/// participant's public key from its identity and certificate.
	#[pallet::storage]
	pub type CaKey<T: Config> = StorageValue<_, PointBytes, OptionQuery>;

	/// Registered storage providers.
	#[pallet::storage]
	pub type Providers<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, ProviderInfo<T>, OptionQuery>;

	/// Registered data users, by account.
	#[pallet::storage]
	pub type Users<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, UserInfo, OptionQuery>;

	/// The account of each registered data user's identity.
	#[pallet::storage]
	pub type UserIds<T: Config> =
		StorageMap<_, Blake2_128Concat, IdBytes, T::AccountId, OptionQuery>;

	/// Registered sensors, by identity.
	#[pallet::storage]
	pub type Sensors<T: Config> =
		StorageMap<_, Blake2_128Concat, IdBytes, SensorInfo<T>, OptionQuery>;

	/// Open agreements, by number.
	#[pallet::storage]
	pub type Agreements<T: Config> =
		StorageMap<_, Twox64Concat, AgreementId, Agreement<T>, OptionQuery>;

	/// The re-keys of accepted agreements, until they are settled or expired.
	#[pallet::storage]
	pub type ReKeys<T: Config> = StorageMap<_, Twox64Concat, AgreementId, ReKeysOf<T>, OptionQuery>;

	/// The number the next agreement gets.
	#[pallet::storage]
	pub type NextAgreementId<T: Config> = StorageValue<_, AgreementId, ValueQuery>;

	/// Agreements by deadline: `(deadline, id)` for every open agreement.
	#[pallet::storage]
	pub type Deadlines<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		Twox64Concat,
		AgreementId,
		(),
		OptionQuery,
	>;

	/// The earliest block whose deadlines `on_idle` has not yet processed in full.
	#[pallet::storage]
	pub type DeadlineCursor<T: Config> = StorageValue<_, BlockNumberFor<T>, ValueQuery>;

	/// The genesis state: the CA key and the storage providers.
	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The CA's public key `P_alpha`, 33 bytes SEC1 compressed.
		pub ca_key: Option<Vec<u8>>,
		/// Storage providers: account, endpoint and fee per epoch. Genesis providers
		/// pay no deposit.
		pub providers: Vec<(T::AccountId, Vec<u8>, BalanceOf<T>)>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			if let Some(key) = &self.ca_key {
				let key: PointBytes = key
					.as_slice()
					.try_into()
					.ok()
					.filter(|k: &PointBytes| cbpre::CaPublicKey::from_bytes(k).is_ok())
					.expect("genesis CA key must be a valid 33-byte P-256 point");
				CaKey::<T>::put(key);
			}
			for (account, endpoint, fee) in &self.providers {
				let endpoint = BoundedVec::try_from(endpoint.clone())
					.expect("genesis provider endpoint must fit MaxEndpointLen");
				Providers::<T>::insert(account, ProviderInfo { endpoint, fee_per_epoch: *fee });
			}
		}
	}

	/// What the data market did.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// The CA key was rotated: registrations from now on derive keys with it.
		CaKeyRotated {
			/// The new `P_alpha`.
			key: PointBytes,
		},
		/// A storage provider registered.
		ProviderRegistered {
			/// The provider's account.
			provider: T::AccountId,
			/// Where its service is.
			endpoint: BoundedVec<u8, T::MaxEndpointLen>,
			/// Its fee per sensor and epoch delivered.
			fee_per_epoch: BalanceOf<T>,
		},
		/// A data user registered its identity.
		IdentityRegistered {
			/// The user's account.
			who: T::AccountId,
			/// The identity.
			id: IdBytes,
			/// The public key derived from the identity and certificate.
			public_key: PointBytes,
		},
		/// A sensor was registered.
		SensorRegistered {
			/// The sensor's identity.
			sensor: IdBytes,
			/// Its owner.
			owner: T::AccountId,
			/// The public key derived from the identity and certificate.
			public_key: PointBytes,
			/// Its price per epoch.
			price_per_epoch: BalanceOf<T>,
			/// Its epoch length in seconds.
			epoch_secs: u64,
			/// The provider that stores its data.
			provider: T::AccountId,
		},
		/// A sensor's price, description or availability changed.
		SensorUpdated {
			/// The sensor's identity.
			sensor: IdBytes,
			/// Its price per epoch now.
			price_per_epoch: BalanceOf<T>,
			/// Whether it takes new requests now.
			active: bool,
		},
		/// A sensor was deregistered and its deposit released.
		SensorDeregistered {
			/// The sensor's identity.
			sensor: IdBytes,
		},
		/// A requester asked for data and paid into escrow.
		DataRequested {
			/// The agreement's number.
			id: AgreementId,
			/// Who asked.
			requester: T::AccountId,
			/// The owner of the sensors, who is to answer.
			owner: T::AccountId,
			/// The sensors.
			sensors: BoundedVec<IdBytes, T::MaxSensorsPerRequest>,
			/// The first epoch.
			from_epoch: u64,
			/// The last epoch (inclusive).
			to_epoch: u64,
			/// The owner's price.
			price: BalanceOf<T>,
			/// The provider's fee.
			fee: BalanceOf<T>,
			/// The last block for acceptance and delivery.
			deadline: BlockNumberFor<T>,
		},
		/// The owner accepted a request and posted the re-keys of its first epochs
		/// (all of them, or those that have ended for a subscription).
		RequestAccepted {
			/// The agreement's number.
			id: AgreementId,
			/// For each sensor of the agreement, one re-key per epoch from the first.
			rekeys: ReKeysOf<T>,
		},
		/// The owner posted the re-keys of further epochs of an accepted agreement.
		ReKeysAdded {
			/// The agreement's number.
			id: AgreementId,
			/// The epoch of each sensor's first re-key here.
			first_epoch: u64,
			/// For each sensor of the agreement, one re-key per epoch from `first_epoch`.
			rekeys: ReKeysOf<T>,
		},
		/// The owner rejected a request; the requester was refunded.
		RequestRejected {
			/// The agreement's number.
			id: AgreementId,
			/// What was returned to the requester.
			refunded: BalanceOf<T>,
		},
		/// The requester withdrew a request; it was refunded.
		RequestCancelled {
			/// The agreement's number.
			id: AgreementId,
			/// What was returned to the requester.
			refunded: BalanceOf<T>,
		},
		/// The provider delivered the re-encrypted data of the epochs up to
		/// `through_epoch`.
		DataDelivered {
			/// The agreement's number.
			id: AgreementId,
			/// The last epoch delivered; the manifest covers every epoch up to it.
			through_epoch: u64,
			/// Where the requester downloads it.
			location: BoundedVec<u8, T::MaxLocationLen>,
			/// The digest of the delivery's manifest.
			digest: [u8; 32],
			/// The last block for the requester's confirmation, once the last epoch is
			/// delivered; `None` while a subscription goes on.
			confirm_by: Option<BlockNumberFor<T>>,
		},
		/// An agreement was settled: the escrow went to the owner and the provider.
		AgreementSettled {
			/// The agreement's number.
			id: AgreementId,
			/// What the owner received.
			owner_paid: BalanceOf<T>,
			/// What the provider received.
			provider_paid: BalanceOf<T>,
			/// Whether the requester confirmed (or the confirmation period ran out).
			confirmed: bool,
		},
		/// An agreement passed its deadline before delivery; the requester was refunded.
		AgreementExpired {
			/// The agreement's number.
			id: AgreementId,
			/// What was returned to the requester.
			refunded: BalanceOf<T>,
		},
		/// An accepted agreement reached its deadline while the epoch it waits for was
		/// still open or within its grace period, and got more time.
		DeadlineExtended {
			/// The agreement's number.
			id: AgreementId,
			/// The new deadline.
			deadline: BlockNumberFor<T>,
		},
		/// An agreement stopped partway: an epoch's re-keys or delivery did not come
		/// within its grace period. The epochs delivered were paid for and the rest
		/// refunded.
		AgreementLapsed {
			/// The agreement's number.
			id: AgreementId,
			/// How many epochs were delivered and paid for.
			delivered_epochs: u32,
			/// What the owner received.
			owner_paid: BalanceOf<T>,
			/// What the provider received.
			provider_paid: BalanceOf<T>,
			/// What was returned to the requester.
			refunded: BalanceOf<T>,
		},
	}

	/// Why a call was refused. A refused call changes nothing.
	#[pallet::error]
	pub enum Error<T> {
		/// No CA key is set, so no public key can be derived.
		CaKeyNotSet,
		/// The CA key is not a valid P-256 point.
		InvalidCaKey,
		/// The identity is empty.
		EmptyIdentity,
		/// The certificate does not decode to a valid P-256 point, or gives no valid key.
		InvalidCertificate,
		/// Another sensor or user already has this identity.
		IdentityTaken,
		/// This account has registered an identity already.
		AlreadyRegistered,
		/// This account is a storage provider already.
		ProviderAlreadyRegistered,
		/// No storage provider is registered under this account.
		UnknownProvider,
		/// Epochs must last at least one second.
		ZeroEpochLength,
		/// No sensor is registered under this identity.
		UnknownSensor,
		/// The caller does not own the sensor.
		NotSensorOwner,
		/// The sensor is part of an open agreement.
		SensorInUse,
		/// The sensor does not take new requests.
		SensorInactive,
		/// The caller has not registered an identity to receive data under.
		RequesterNotRegistered,
		/// The request names no sensor.
		NoSensors,
		/// The request names a sensor twice.
		DuplicateSensor,
		/// The sensors of a request must have one owner.
		MixedOwners,
		/// The sensors of a request must have one storage provider.
		MixedProviders,
		/// The sensors of a request must have one epoch length.
		MixedEpochLengths,
		/// The first epoch comes after the last.
		InvalidEpochRange,
		/// The request covers more epochs than `MaxEpochsPerRequest`.
		TooManyEpochs,
		/// The price is above the requester's maximum.
		PriceExceedsMax,
		/// The requester cannot pay the price into escrow.
		InsufficientBalance,
		/// No open agreement has this number.
		UnknownAgreement,
		/// Only the owner of the agreement's sensors may do this.
		NotAgreementOwner,
		/// Only the agreement's requester may do this.
		NotRequester,
		/// Only the agreement's storage provider may do this.
		NotProvider,
		/// The agreement is no longer waiting for the owner.
		AgreementNotPending,
		/// The agreement has not been accepted, or is delivered already.
		AgreementNotAccepted,
		/// The agreement has not been delivered.
		AgreementNotDelivered,
		/// The agreement's deadline has passed.
		DeadlinePassed,
		/// The agreement's deadline has not passed yet.
		DeadlineNotReached,
		/// The re-keys do not give every sensor one re-key for each of the same run of
		/// epochs within the agreement.
		ReKeyCountMismatch,
		/// Every epoch of the agreement has its re-keys already.
		AllEpochsReKeyed,
		/// The epoch is not part of the agreement.
		EpochOutsideAgreement,
		/// The epoch has no re-keys yet, so it cannot have been re-encrypted.
		EpochNotReKeyed,
		/// The epoch has been delivered already.
		EpochDeliveredAlready,
		/// A delivery location must not be empty.
		EmptyLocation,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_idle(now: BlockNumberFor<T>, limit: Weight) -> Weight {
			Self::process_deadlines(now, limit)
		}

		#[cfg(feature = "std")]
		fn integrity_test() {
			assert!(T::MaxSensorsPerRequest::get() > 0, "MaxSensorsPerRequest must be positive");
			assert!(T::MaxEpochsPerRequest::get() > 0, "MaxEpochsPerRequest must be positive");
			assert!(!T::DeliveryPeriod::get().is_zero(), "DeliveryPeriod must be positive");
			assert!(!T::ConfirmationPeriod::get().is_zero(), "ConfirmationPeriod must be positive");
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Replace the CA key `P_alpha`. Registrations made before keep the keys that
		/// were derived for them.
		///
		/// The origin must be `CaOrigin` (root on the SensorShare chain).
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::set_ca_key())]
		pub fn set_ca_key(origin: OriginFor<T>, key: PointBytes) -> DispatchResult {
			T::CaOrigin::ensure_origin(origin)?;
			cbpre::CaPublicKey::from_bytes(&key).map_err(|_| Error::<T>::InvalidCaKey)?;
			CaKey::<T>::put(key);
			Self::deposit_event(Event::CaKeyRotated { key });
			Ok(())
		}

		/// Register the caller as a storage provider with its endpoint and its fee per
		/// sensor and epoch delivered. Holds `RegistrationDeposit`.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::register_provider())]
		pub fn register_provider(
			origin: OriginFor<T>,
			endpoint: BoundedVec<u8, T::MaxEndpointLen>,
			fee_per_epoch: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!Providers::<T>::contains_key(&who), Error::<T>::ProviderAlreadyRegistered);
			Self::hold_deposit(&who)?;
			Providers::<T>::insert(
				&who,
				ProviderInfo { endpoint: endpoint.clone(), fee_per_epoch },
			);
			Self::deposit_event(Event::ProviderRegistered {
				provider: who,
				endpoint,
				fee_per_epoch,
			});
			Ok(())
		}

		/// Register the caller's CB-PRE identity and certificate, so that owners can
		/// re-key data for it. The pallet derives and stores the public key. Holds
		/// `RegistrationDeposit`.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::register_identity())]
		pub fn register_identity(
			origin: OriginFor<T>,
			id: IdBytes,
			cert: PointBytes,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!Users::<T>::contains_key(&who), Error::<T>::AlreadyRegistered);
			Self::ensure_id_free(&id)?;
			let public_key = Self::derive_public_key(&id, &cert)?;
			Self::hold_deposit(&who)?;
			UserIds::<T>::insert(&id, &who);
			Users::<T>::insert(&who, UserInfo { id: id.clone(), cert, public_key });
			Self::deposit_event(Event::IdentityRegistered { who, id, public_key });
			Ok(())
		}

		/// Register a sensor owned by the caller: its identity and certificate, its
		/// price per epoch, its epoch length, the provider that stores its data and a
		/// description. The pallet derives and stores its public key. Holds
		/// `RegistrationDeposit` until the sensor is deregistered.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::register_sensor())]
		pub fn register_sensor(
			origin: OriginFor<T>,
			id: IdBytes,
			cert: PointBytes,
			price_per_epoch: BalanceOf<T>,
			epoch_secs: u64,
			storage_provider: T::AccountId,
			description: BoundedVec<u8, T::MaxDescriptionLen>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			ensure!(epoch_secs > 0, Error::<T>::ZeroEpochLength);
			ensure!(Providers::<T>::contains_key(&storage_provider), Error::<T>::UnknownProvider);
			Self::ensure_id_free(&id)?;
			let public_key = Self::derive_public_key(&id, &cert)?;
			Self::hold_deposit(&owner)?;
			Sensors::<T>::insert(
				&id,
				SensorInfo {
					owner: owner.clone(),
					cert,
					public_key,
					price_per_epoch,
					epoch_secs,
					provider: storage_provider.clone(),
					description,
					active: true,
					open_agreements: 0,
				},
			);
			Self::deposit_event(Event::SensorRegistered {
				sensor: id,
				owner,
				public_key,
				price_per_epoch,
				epoch_secs,
				provider: storage_provider,
			});
			Ok(())
		}

		/// Change a sensor's price, description or availability (owner only). Open
		/// agreements keep the price they were made at.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::update_sensor())]
		pub fn update_sensor(
			origin: OriginFor<T>,
			id: IdBytes,
			price_per_epoch: Option<BalanceOf<T>>,
			description: Option<BoundedVec<u8, T::MaxDescriptionLen>>,
			active: Option<bool>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut sensor = Sensors::<T>::get(&id).ok_or(Error::<T>::UnknownSensor)?;
			ensure!(sensor.owner == who, Error::<T>::NotSensorOwner);
			if let Some(price) = price_per_epoch {
				sensor.price_per_epoch = price;
			}
			if let Some(description) = description {
				sensor.description = description;
			}
			if let Some(active) = active {
				sensor.active = active;
			}
			let (price_per_epoch, active) = (sensor.price_per_epoch, sensor.active);
			Sensors::<T>::insert(&id, sensor);
			Self::deposit_event(Event::SensorUpdated { sensor: id, price_per_epoch, active });
			Ok(())
		}

		/// Remove a sensor that is in no open agreement (owner only), and release its
		/// deposit. Its identity becomes free again.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::deregister_sensor())]
		pub fn deregister_sensor(origin: OriginFor<T>, id: IdBytes) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let sensor = Sensors::<T>::get(&id).ok_or(Error::<T>::UnknownSensor)?;
			ensure!(sensor.owner == who, Error::<T>::NotSensorOwner);
			ensure!(sensor.open_agreements == 0, Error::<T>::SensorInUse);
			T::Currency::release(
				&HoldReason::Registration.into(),
				&who,
				T::RegistrationDeposit::get(),
				Precision::BestEffort,
			)?;
			Sensors::<T>::remove(&id);
			Self::deposit_event(Event::SensorDeregistered { sensor: id });
			Ok(())
		}

		/// Request epochs `from_epoch..=to_epoch` of a group of one owner's sensors.
		///
		/// The price (sensors × epochs × price per epoch) and the provider's fee
		/// (sensors × epochs × fee per epoch) are held from the caller in escrow, if
		/// together they are at most `max_price`. The agreement's deadline for
		/// acceptance and delivery is `DeliveryPeriod` blocks away.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::request_data(sensors.len() as u32))]
		pub fn request_data(
			origin: OriginFor<T>,
			sensors: BoundedVec<IdBytes, T::MaxSensorsPerRequest>,
			from_epoch: u64,
			to_epoch: u64,
			max_price: BalanceOf<T>,
		) -> DispatchResult {
			let requester = ensure_signed(origin)?;
			ensure!(Users::<T>::contains_key(&requester), Error::<T>::RequesterNotRegistered);
			ensure!(from_epoch <= to_epoch, Error::<T>::InvalidEpochRange);
			let epochs = to_epoch - from_epoch + 1;
			ensure!(epochs <= T::MaxEpochsPerRequest::get() as u64, Error::<T>::TooManyEpochs);
			let first = sensors.first().ok_or(Error::<T>::NoSensors)?;
			let head = Sensors::<T>::get(first).ok_or(Error::<T>::UnknownSensor)?;
			let mut infos = Vec::with_capacity(sensors.len());
			for (i, id) in sensors.iter().enumerate() {
				ensure!(!sensors[..i].contains(id), Error::<T>::DuplicateSensor);
				let sensor = Sensors::<T>::get(id).ok_or(Error::<T>::UnknownSensor)?;
				ensure!(sensor.active, Error::<T>::SensorInactive);
				ensure!(sensor.owner == head.owner, Error::<T>::MixedOwners);
				ensure!(sensor.provider == head.provider, Error::<T>::MixedProviders);
				ensure!(sensor.epoch_secs == head.epoch_secs, Error::<T>::MixedEpochLengths);
				infos.push(sensor);
			}
			let provider =
				Providers::<T>::get(&head.provider).ok_or(Error::<T>::UnknownProvider)?;
			let epochs_b: BalanceOf<T> =
				epochs.try_into().map_err(|_| ArithmeticError::Overflow)?;
			let mut price = BalanceOf::<T>::zero();
			for sensor in &infos {
				let cost = sensor
					.price_per_epoch
					.checked_mul(&epochs_b)
					.ok_or(ArithmeticError::Overflow)?;
				price = price.checked_add(&cost).ok_or(ArithmeticError::Overflow)?;
			}
			let n_sensors: BalanceOf<T> =
				(infos.len() as u64).try_into().map_err(|_| ArithmeticError::Overflow)?;
			let fee = provider
				.fee_per_epoch
				.checked_mul(&epochs_b)
				.and_then(|f| f.checked_mul(&n_sensors))
				.ok_or(ArithmeticError::Overflow)?;
			let escrow = price.checked_add(&fee).ok_or(ArithmeticError::Overflow)?;
			ensure!(escrow <= max_price, Error::<T>::PriceExceedsMax);
			let id = NextAgreementId::<T>::get();
			let next_id = id.checked_add(1).ok_or(ArithmeticError::Overflow)?;
			let deadline = frame_system::Pallet::<T>::block_number()
				.checked_add(&T::DeliveryPeriod::get())
				.ok_or(ArithmeticError::Overflow)?;
			for sensor in &infos {
				sensor.open_agreements.checked_add(1).ok_or(ArithmeticError::Overflow)?;
			}

			T::Currency::hold(&HoldReason::Escrow.into(), &requester, escrow)
				.map_err(|_| Error::<T>::InsufficientBalance)?;

			for (id, mut sensor) in sensors.iter().zip(infos) {
				sensor.open_agreements.saturating_inc();
				Sensors::<T>::insert(id, sensor);
			}
			NextAgreementId::<T>::put(next_id);
			Deadlines::<T>::insert(deadline, id, ());
			Agreements::<T>::insert(
				id,
				Agreement {
					requester: requester.clone(),
					owner: head.owner.clone(),
					provider: head.provider.clone(),
					sensors: sensors.clone(),
					from_epoch,
					to_epoch,
					epoch_secs: head.epoch_secs,
					rekeyed: 0,
					delivered: 0,
					price,
					fee,
					status: AgreementStatus::Requested,
					deadline,
					delivery: None,
				},
			);
			Self::deposit_event(Event::DataRequested {
				id,
				requester,
				owner: head.owner,
				sensors,
				from_epoch,
				to_epoch,
				price,
				fee,
				deadline,
			});
			Ok(())
		}

		/// Accept a request (owner only) with re-keys: for each sensor of the agreement,
		/// in the request's order, one re-key per epoch from the first, for every epoch
		/// or for a first run of them. The re-keys are stored and published in the
		/// event, for the provider to re-encrypt with. A subscription, whose epochs
		/// reach into the future, is accepted with the re-keys of the epochs that have
		/// ended, and the rest follow with [`Pallet::add_rekeys`] as each ends.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::accept_request(
			rekeys.len() as u32,
			rekeys.first().map_or(0, |r| r.len() as u32),
		))]
		pub fn accept_request(
			origin: OriginFor<T>,
			id: AgreementId,
			rekeys: ReKeysOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut agreement = Agreements::<T>::get(id).ok_or(Error::<T>::UnknownAgreement)?;
			ensure!(agreement.owner == who, Error::<T>::NotAgreementOwner);
			ensure!(
				agreement.status == AgreementStatus::Requested,
				Error::<T>::AgreementNotPending
			);
			Self::ensure_before_deadline(&agreement)?;
			let run = Self::rekey_run(&agreement, &rekeys)?;
			agreement.status = AgreementStatus::Accepted;
			agreement.rekeyed = run;
			Agreements::<T>::insert(id, agreement);
			ReKeys::<T>::insert(id, rekeys.clone());
			Self::deposit_event(Event::RequestAccepted { id, rekeys });
			Ok(())
		}

		/// Reject a request (owner only): the requester is refunded in full.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::reject_request(T::MaxSensorsPerRequest::get()))]
		pub fn reject_request(origin: OriginFor<T>, id: AgreementId) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let agreement = Agreements::<T>::get(id).ok_or(Error::<T>::UnknownAgreement)?;
			ensure!(agreement.owner == who, Error::<T>::NotAgreementOwner);
			ensure!(
				agreement.status == AgreementStatus::Requested,
				Error::<T>::AgreementNotPending
			);
			let sensors = agreement.sensors.len() as u32;
			let refunded = Self::refund(id, agreement)?;
			Self::deposit_event(Event::RequestRejected { id, refunded });
			Ok(Some(T::WeightInfo::reject_request(sensors)).into())
		}

		/// Withdraw a request that the owner has not yet answered (requester only):
		/// the escrow is refunded in full.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::cancel_request(T::MaxSensorsPerRequest::get()))]
		pub fn cancel_request(origin: OriginFor<T>, id: AgreementId) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let agreement = Agreements::<T>::get(id).ok_or(Error::<T>::UnknownAgreement)?;
			ensure!(agreement.requester == who, Error::<T>::NotRequester);
			ensure!(
				agreement.status == AgreementStatus::Requested,
				Error::<T>::AgreementNotPending
			);
			let sensors = agreement.sensors.len() as u32;
			let refunded = Self::refund(id, agreement)?;
			Self::deposit_event(Event::RequestCancelled { id, refunded });
			Ok(Some(T::WeightInfo::cancel_request(sensors)).into())
		}

		/// Record a delivery of an accepted agreement (its provider only): the epochs
		/// up to `through_epoch` are re-encrypted, at `location`, listed by a manifest
		/// with `digest`. Each delivery's manifest covers every epoch delivered so far.
		/// Once the last epoch is delivered, the requester has `ConfirmationPeriod`
		/// blocks to confirm; after that the escrow is released.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::deliver())]
		pub fn deliver(
			origin: OriginFor<T>,
			id: AgreementId,
			through_epoch: u64,
			location: BoundedVec<u8, T::MaxLocationLen>,
			digest: [u8; 32],
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut agreement = Agreements::<T>::get(id).ok_or(Error::<T>::UnknownAgreement)?;
			ensure!(agreement.provider == who, Error::<T>::NotProvider);
			ensure!(
				agreement.status == AgreementStatus::Accepted,
				Error::<T>::AgreementNotAccepted
			);
			Self::ensure_before_deadline(&agreement)?;
			ensure!(!location.is_empty(), Error::<T>::EmptyLocation);
			ensure!(
				(agreement.from_epoch..=agreement.to_epoch).contains(&through_epoch),
				Error::<T>::EpochOutsideAgreement
			);
			// At most `MaxEpochsPerRequest`, a u32.
			let count = (through_epoch - agreement.from_epoch)
				.checked_add(1)
				.and_then(|c| u32::try_from(c).ok())
				.ok_or(ArithmeticError::Overflow)?;
			ensure!(count <= agreement.rekeyed, Error::<T>::EpochNotReKeyed);
			ensure!(count > agreement.delivered, Error::<T>::EpochDeliveredAlready);
			let confirm_by = if through_epoch == agreement.to_epoch {
				let confirm_by = frame_system::Pallet::<T>::block_number()
					.checked_add(&T::ConfirmationPeriod::get())
					.ok_or(ArithmeticError::Overflow)?;
				Deadlines::<T>::remove(agreement.deadline, id);
				Deadlines::<T>::insert(confirm_by, id, ());
				agreement.status = AgreementStatus::Delivered;
				agreement.deadline = confirm_by;
				Some(confirm_by)
			} else {
				None
			};
			agreement.delivered = count;
			agreement.delivery = Some((location.clone(), digest));
			Agreements::<T>::insert(id, agreement);
			Self::deposit_event(Event::DataDelivered {
				id,
				through_epoch,
				location,
				digest,
				confirm_by,
			});
			Ok(())
		}

		/// Confirm a delivery (requester only): the escrow goes to the owner (the
		/// price) and the provider (the fee), and the agreement and its re-keys are
		/// removed.
		#[pallet::call_index(11)]
		#[pallet::weight(T::WeightInfo::confirm(T::MaxSensorsPerRequest::get()))]
		pub fn confirm(origin: OriginFor<T>, id: AgreementId) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let agreement = Agreements::<T>::get(id).ok_or(Error::<T>::UnknownAgreement)?;
			ensure!(agreement.requester == who, Error::<T>::NotRequester);
			ensure!(
				agreement.status == AgreementStatus::Delivered,
				Error::<T>::AgreementNotDelivered
			);
			let sensors = agreement.sensors.len() as u32;
			Self::settle(id, agreement, true)?;
			Ok(Some(T::WeightInfo::confirm(sensors)).into())
		}

		/// Process an agreement whose deadline has passed (anyone may call): a
		/// requested agreement is refunded, a delivered one settled. An accepted one
		/// waiting for an epoch that has not ended, or is within its grace period, gets
		/// `DeliveryPeriod` more blocks; otherwise it lapses: the epochs delivered are
		/// paid for and the rest refunded. `on_idle` does the same in bounded work;
		/// this call needs no spare block.
		#[pallet::call_index(12)]
		#[pallet::weight(T::WeightInfo::expire(T::MaxSensorsPerRequest::get()))]
		pub fn expire(origin: OriginFor<T>, id: AgreementId) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			let agreement = Agreements::<T>::get(id).ok_or(Error::<T>::UnknownAgreement)?;
			ensure!(
				frame_system::Pallet::<T>::block_number() > agreement.deadline,
				Error::<T>::DeadlineNotReached
			);
			let sensors = agreement.sensors.len() as u32;
			Self::process_deadline(id, agreement)?;
			Ok(Some(T::WeightInfo::expire(sensors)).into())
		}

		/// Post the re-keys of further epochs of an accepted agreement (owner only):
		/// for each sensor, in the agreement's order, one re-key per epoch from the
		/// first epoch without one. A subscription's owner calls this as each epoch
		/// ends.
		#[pallet::call_index(13)]
		#[pallet::weight(T::WeightInfo::add_rekeys(
			rekeys.len() as u32,
			rekeys.first().map_or(0, |r| r.len() as u32),
		))]
		pub fn add_rekeys(
			origin: OriginFor<T>,
			id: AgreementId,
			rekeys: ReKeysOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut agreement = Agreements::<T>::get(id).ok_or(Error::<T>::UnknownAgreement)?;
			ensure!(agreement.owner == who, Error::<T>::NotAgreementOwner);
			ensure!(
				agreement.status == AgreementStatus::Accepted,
				Error::<T>::AgreementNotAccepted
			);
			Self::ensure_before_deadline(&agreement)?;
			ensure!(
				u64::from(agreement.rekeyed) < agreement.epochs(),
				Error::<T>::AllEpochsReKeyed
			);
			let run = Self::rekey_run(&agreement, &rekeys)?;
			ensure!(run > 0, Error::<T>::ReKeyCountMismatch);
			let mut stored = ReKeys::<T>::get(id).unwrap_or_default();
			if stored.is_empty() {
				for _ in 0..agreement.sensors.len() {
					stored
						.try_push(Default::default())
						.map_err(|_| Error::<T>::ReKeyCountMismatch)?;
				}
			}
			for (have, more) in stored.iter_mut().zip(rekeys.iter()) {
				for rk in more {
					have.try_push(*rk).map_err(|_| Error::<T>::ReKeyCountMismatch)?;
				}
			}
			let first_epoch = agreement
				.from_epoch
				.checked_add(u64::from(agreement.rekeyed))
				.ok_or(ArithmeticError::Overflow)?;
			agreement.rekeyed =
				agreement.rekeyed.checked_add(run).ok_or(ArithmeticError::Overflow)?;
			Agreements::<T>::insert(id, agreement);
			ReKeys::<T>::insert(id, stored);
			Self::deposit_event(Event::ReKeysAdded { id, first_epoch, rekeys });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// `PublicKey(id, cert)` with the current CA key.
		pub fn derive_public_key(
			id: &IdBytes,
			cert: &PointBytes,
		) -> Result<PointBytes, DispatchError> {
			let ca = CaKey::<T>::get().ok_or(Error::<T>::CaKeyNotSet)?;
			let ca = cbpre::CaPublicKey::from_bytes(&ca).map_err(|_| Error::<T>::InvalidCaKey)?;
			let id = cbpre::Identity::new(id).map_err(|_| Error::<T>::EmptyIdentity)?;
			let cert =
				cbpre::Certificate::from_bytes(cert).map_err(|_| Error::<T>::InvalidCertificate)?;
			let key = cbpre::PublicKey::derive(&id, &cert, &ca)
				.map_err(|_| Error::<T>::InvalidCertificate)?;
			Ok(key.to_bytes())
		}

		fn ensure_id_free(id: &IdBytes) -> DispatchResult {
			ensure!(!id.is_empty(), Error::<T>::EmptyIdentity);
			ensure!(
				!Sensors::<T>::contains_key(id) && !UserIds::<T>::contains_key(id),
				Error::<T>::IdentityTaken
			);
			Ok(())
		}

		fn hold_deposit(who: &T::AccountId) -> DispatchResult {
			T::Currency::hold(&HoldReason::Registration.into(), who, T::RegistrationDeposit::get())
				.map_err(|_| Error::<T>::InsufficientBalance.into())
		}

		fn ensure_before_deadline(agreement: &Agreement<T>) -> DispatchResult {
			ensure!(
				frame_system::Pallet::<T>::block_number() <= agreement.deadline,
				Error::<T>::DeadlinePassed
			);
			Ok(())
		}

		/// Checks that `rekeys` give every sensor of `agreement` a re-key for each of the
		/// same run of epochs, following those it has and within the agreement, and
		/// returns the run's length.
		fn rekey_run(agreement: &Agreement<T>, rekeys: &ReKeysOf<T>) -> Result<u32, DispatchError> {
			let run = rekeys.first().map_or(0, |r| r.len());
			let room = agreement.epochs().saturating_sub(u64::from(agreement.rekeyed));
			ensure!(
				rekeys.len() == agreement.sensors.len()
					&& rekeys.iter().all(|per_sensor| per_sensor.len() == run)
					&& run as u64 <= room,
				Error::<T>::ReKeyCountMismatch
			);
			// At most `MaxEpochsPerRequest`, a u32.
			Ok(run as u32)
		}

		/// Forgets an agreement: its record, re-keys and deadline, and its sensors'
		/// open-agreement counts.
		fn close(id: AgreementId, agreement: &Agreement<T>) {
			Agreements::<T>::remove(id);
			ReKeys::<T>::remove(id);
			Deadlines::<T>::remove(agreement.deadline, id);
			for sensor in &agreement.sensors {
				Sensors::<T>::mutate(sensor, |s| {
					if let Some(s) = s {
						s.open_agreements.saturating_dec();
					}
				});
			}
		}

		/// Returns the escrow to the requester and closes the agreement.
		fn refund(id: AgreementId, agreement: Agreement<T>) -> Result<BalanceOf<T>, DispatchError> {
			let refunded = T::Currency::release(
				&HoldReason::Escrow.into(),
				&agreement.requester,
				agreement.escrow(),
				Precision::BestEffort,
			)?;
			Self::close(id, &agreement);
			Ok(refunded)
		}

		/// Pays `amount` of the requester's escrow to `to`.
		fn pay(
			agreement: &Agreement<T>,
			to: &T::AccountId,
			amount: BalanceOf<T>,
		) -> Result<BalanceOf<T>, DispatchError> {
			if amount.is_zero() {
				return Ok(amount);
			}
			T::Currency::transfer_on_hold(
				&HoldReason::Escrow.into(),
				&agreement.requester,
				to,
				amount,
				Precision::Exact,
				Restriction::Free,
				Fortitude::Polite,
			)
		}

		/// Pays the owner and the provider from escrow and closes the agreement.
		fn settle(id: AgreementId, agreement: Agreement<T>, confirmed: bool) -> DispatchResult {
			let owner_paid = Self::pay(&agreement, &agreement.owner, agreement.price)?;
			let provider_paid = Self::pay(&agreement, &agreement.provider, agreement.fee)?;
			Self::close(id, &agreement);
			Self::deposit_event(Event::AgreementSettled {
				id,
				owner_paid,
				provider_paid,
				confirmed,
			});
			Ok(())
		}

		/// Pays the owner and the provider for the epochs delivered, refunds the rest
		/// and closes the agreement.
		fn lapse(id: AgreementId, agreement: Agreement<T>) -> DispatchResult {
			let epochs: BalanceOf<T> =
				agreement.epochs().try_into().map_err(|_| ArithmeticError::Overflow)?;
			let delivered: BalanceOf<T> = agreement.delivered.into();
			// Price and fee are sums of per-epoch amounts times the epochs: exact.
			let share = |total: BalanceOf<T>| {
				total
					.checked_div(&epochs)
					.and_then(|per_epoch| per_epoch.checked_mul(&delivered))
					.ok_or(ArithmeticError::Overflow)
			};
			let owner_due = share(agreement.price)?;
			let provider_due = share(agreement.fee)?;
			let owner_paid = Self::pay(&agreement, &agreement.owner, owner_due)?;
			let provider_paid = Self::pay(&agreement, &agreement.provider, provider_due)?;
			let refunded = T::Currency::release(
				&HoldReason::Escrow.into(),
				&agreement.requester,
				agreement.escrow().saturating_sub(owner_paid).saturating_sub(provider_paid),
				Precision::BestEffort,
			)?;
			Self::close(id, &agreement);
			Self::deposit_event(Event::AgreementLapsed {
				id,
				delivered_epochs: agreement.delivered,
				owner_paid,
				provider_paid,
				refunded,
			});
			Ok(())
		}

		/// Whether `agreement`, accepted, waits for an epoch that has not ended or is
		/// within its grace period.
		fn awaits_open_epoch(agreement: &Agreement<T>) -> bool {
			agreement.awaited_epoch().is_some_and(|epoch| {
				let due =
					agreement.epoch_end_secs(epoch).saturating_add(T::DeliveryGracePeriod::get());
				T::UnixTime::now().as_secs() < due
			})
		}

		/// The work of a passed deadline: refund before acceptance, give an accepted
		/// agreement more time while the epoch it waits for is open, else pay for what
		/// was delivered and refund the rest; settle after the last delivery.
		fn process_deadline(id: AgreementId, mut agreement: Agreement<T>) -> DispatchResult {
			match agreement.status {
				AgreementStatus::Accepted if Self::awaits_open_epoch(&agreement) => {
					let deadline = frame_system::Pallet::<T>::block_number()
						.checked_add(&T::DeliveryPeriod::get())
						.ok_or(ArithmeticError::Overflow)?;
					Deadlines::<T>::remove(agreement.deadline, id);
					Deadlines::<T>::insert(deadline, id, ());
					agreement.deadline = deadline;
					Agreements::<T>::insert(id, agreement);
					Self::deposit_event(Event::DeadlineExtended { id, deadline });
					Ok(())
				},
				AgreementStatus::Accepted if agreement.delivered > 0 => Self::lapse(id, agreement),
				AgreementStatus::Requested | AgreementStatus::Accepted => {
					let refunded = Self::refund(id, agreement)?;
					Self::deposit_event(Event::AgreementExpired { id, refunded });
					Ok(())
				},
				AgreementStatus::Delivered => Self::settle(id, agreement, false),
			}
		}

		/// Processes passed deadlines, oldest first, within `limit` and at most
		/// `MaxExpiriesPerBlock` of them. Returns the weight used.
		pub(crate) fn process_deadlines(now: BlockNumberFor<T>, limit: Weight) -> Weight {
			let step = T::WeightInfo::deadline_step();
			let per_expiry = T::WeightInfo::expire(T::MaxSensorsPerRequest::get());
			let mut used = T::DbWeight::get().reads_writes(1, 1);
			if used.any_gt(limit) {
				return Weight::zero();
			}
			let mut cursor = DeadlineCursor::<T>::get();
			let mut processed = 0u32;
			while cursor < now && processed < T::MaxExpiriesPerBlock::get() {
				if used.saturating_add(step).saturating_add(per_expiry).any_gt(limit) {
					break;
				}
				used.saturating_accrue(step);
				let Some(id) = Deadlines::<T>::iter_key_prefix(cursor).next() else {
					cursor.saturating_inc();
					continue;
				};
				used.saturating_accrue(per_expiry);
				processed.saturating_inc();
				let outcome = match Agreements::<T>::get(id) {
					// All or nothing: a failed payout leaves no half-settled agreement.
					Some(agreement) => frame_support::storage::with_storage_layer(|| {
						Self::process_deadline(id, agreement)
					}),
					None => {
						Deadlines::<T>::remove(cursor, id);
						Ok(())
					},
				};
				if let Err(e) = outcome {
					// Leave the agreement for `expire`; do not stall the queue on it.
					log::error!(target: LOG_TARGET, "deadline of agreement {id} failed: {e:?}");
					Deadlines::<T>::remove(cursor, id);
				}
			}
			DeadlineCursor::<T>::put(cursor);
			used
		}
	}
}
