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
//! at the start of every block, at most `MaxDeadlinesPerBlock` of them, and no block
//! is given more deadlines than that (a deadline whose block is full goes to the
//! next block with room, at most `MaxDeadlineDelay` blocks later): whatever the
//! load, every deadline is processed within `MaxDeadlineDelay + 1` blocks of its
//! time. The permissionless [`Pallet::expire`] does the same work for one agreement.
//!
//! ## Deposits
//!
//! Everything the pallet stores is paid for by a deposit recorded in the item it pays
//! for and released exactly from that record: a registration's
//! `RegistrationDeposit`, an agreement's `AgreementDepositBase +
//! AgreementDepositPerEpoch × sensors × epochs` from the requester (a price of zero
//! does not make it free), its re-keys' `ReKeyDepositPerByte` per byte from the owner.
//! Every depositor has a way out: agreements close by themselves at their
//! deadlines, and sensors, identities and providers deregister once no open
//! agreement needs them.
//!
//! ## Keys
//!
//! Public keys are never taken on trust: the pallet derives each participant's key
//! `P = H1(Cert, id)*Cert + P_alpha` from its identity and ECQV certificate with the
//! `cbpre` crate and the CA key `P_alpha` of the genesis (root can rotate it), and a
//! registration proves possession of the derived key with a signature over the
//! chain, the account and the kind of registration
//! ([`sensorshare_market::possession`]).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod migrations;
pub mod types;
pub mod weights;

pub use sensorshare_market::possession::Kind as RegistrationKind;
pub use types::*;
pub use weights::WeightInfo;

/// `P_alpha` of the published dev CA, for dev chains' genesis.
pub const DEV_CA_PUBLIC_KEY: PointBytes = cbpre::dev::DEV_CA_PUBLIC;

const LOG_TARGET: &str = "runtime::data-market";

#[frame_support::pallet]
// The call macro converts a `DispatchResultWithPostInfo` into itself, and gives the
// dispatch of `register_sensor` its eight arguments.
#[allow(clippy::useless_conversion, clippy::too_many_arguments)]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use codec::Encode;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, Mutate, MutateHold},
			tokens::{DepositConsequence, Fortitude, Precision, Provenance, Restriction},
			UnixTime,
		},
	};
	use frame_system::pallet_prelude::*;
	use sp_runtime::traits::{CheckedAdd, CheckedMul, Saturating, Zero};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(3);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// The pallet's configuration.
	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The overarching event type.
		type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;

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

		/// The currency in which data is paid and deposits are held.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;

		/// Held for every sensor, identity and provider registration, recorded in the
		/// registration and released from that record when it is deregistered.
		#[pallet::constant]
		type RegistrationDeposit: Get<BalanceOf<Self>>;

		/// Held from the requester for every agreement, with
		/// `AgreementDepositPerEpoch`, until the agreement closes.
		#[pallet::constant]
		type AgreementDepositBase: Get<BalanceOf<Self>>;

		/// Held from the requester for each sensor and epoch an agreement covers.
		#[pallet::constant]
		type AgreementDepositPerEpoch: Get<BalanceOf<Self>>;

		/// Held from the owner for each byte of re-keys an agreement stores, until it
		/// closes.
		#[pallet::constant]
		type ReKeyDepositPerByte: Get<BalanceOf<Self>>;

		/// Who may rotate the CA key.
		type CaOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// The shortest epoch a sensor may have, in seconds.
		#[pallet::constant]
		type MinEpochSecs: Get<u64>;

		/// The longest epoch a sensor may have, in seconds.
		#[pallet::constant]
		type MaxEpochSecs: Get<u64>;

		/// The chain's clock, which tells when an epoch has ended.
		type UnixTime: UnixTime;

		/// How many epochs past the chain's current one a request may start.
		#[pallet::constant]
		type MaxLeadEpochs: Get<u64>;

		/// Seconds after an epoch ends within which its re-keys and delivery are due.
		/// Until then an accepted agreement waiting for the epoch stays open past its
		/// deadline; after it, the agreement lapses: the epochs delivered are paid for
		/// and the rest refunded.
		#[pallet::constant]
		type DeliveryGracePeriod: Get<u64>;

		/// Blocks from a request to its deadline for acceptance and delivery.
		#[pallet::constant]
		type DeliveryPeriod: Get<BlockNumberFor<Self>>;

		/// The most times an agreement's deadline is extended while the epoch it
		/// waits for is open; after that it lapses at its deadline.
		#[pallet::constant]
		type MaxExtensions: Get<u32>;

		/// Blocks from a delivery to its automatic settlement, if the requester does
		/// not confirm.
		#[pallet::constant]
		type ConfirmationPeriod: Get<BlockNumberFor<Self>>;

		/// The most deadlines that fall in one block, and so the most that the start
		/// of a block processes.
		#[pallet::constant]
		type MaxDeadlinesPerBlock: Get<u32>;

		/// How many blocks past its time a deadline may be put when the blocks
		/// before are full. A request or delivery that finds no room within it is
		/// refused ([`Error::DeadlinesFull`]) and may be sent again a block later.
		#[pallet::constant]
		type MaxDeadlineDelay: Get<u32>;

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
		/// The deposit for an open agreement's record (the requester's) and for its
		/// re-keys (the owner's).
		StorageDeposit,
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
		StorageMap<_, Blake2_128Concat, T::AccountId, UserInfo<T>, OptionQuery>;

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

	/// The sensor-epochs of open agreements that were delivered without data, in
	/// the order of their deliveries; paid for by the agreement's deposit per
	/// sensor-epoch.
	#[pallet::storage]
	pub type EmptyEpochs<T: Config> =
		StorageMap<_, Twox64Concat, AgreementId, EmptyEpochsOf<T>, ValueQuery>;

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

	/// How many deadlines fall in each block: at most `MaxDeadlinesPerBlock`.
	#[pallet::storage]
	pub type DeadlineCount<T: Config> =
		StorageMap<_, Twox64Concat, BlockNumberFor<T>, u32, ValueQuery>;

	/// The earliest block whose deadlines have not yet been processed in full.
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
				Providers::<T>::insert(
					account,
					ProviderInfo {
						endpoint,
						fee_per_epoch: *fee,
						open_agreements: 0,
						deposit: Zero::zero(),
					},
				);
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
		/// A storage provider changed its endpoint or fee; open agreements keep the fee
		/// they were made at.
		ProviderUpdated {
			/// The provider's account.
			provider: T::AccountId,
			/// Where its service is now.
			endpoint: BoundedVec<u8, T::MaxEndpointLen>,
			/// Its fee per sensor and epoch now.
			fee_per_epoch: BalanceOf<T>,
		},
		/// A storage provider deregistered and its deposit was released.
		ProviderDeregistered {
			/// The provider's account.
			provider: T::AccountId,
			/// What was released to it.
			deposit: BalanceOf<T>,
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
		/// A data user rotated its key: a new certificate for the same identity.
		IdentityUpdated {
			/// The user's account.
			who: T::AccountId,
			/// The identity.
			id: IdBytes,
			/// The public key derived from the new certificate.
			public_key: PointBytes,
		},
		/// A data user deregistered its identity and its deposit was released; the
		/// identity is free again.
		IdentityDeregistered {
			/// The user's account.
			who: T::AccountId,
			/// The identity.
			id: IdBytes,
			/// What was released to it.
			deposit: BalanceOf<T>,
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
			/// The first epoch of which it has data to sell: the first that can be
			/// requested.
			first_epoch: u64,
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
			/// The requester's storage deposit, returned when the agreement closes.
			deposit: BalanceOf<T>,
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
			/// The sensor-epochs of this delivery that had no data: listed as empty
			/// in the manifest, and neither paid nor charged for.
			empty: EmptyEpochsOf<T>,
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
			/// What went back to the requester: the price and fee of the sensor-epochs
			/// delivered empty, and a payment its payee could not receive (it would
			/// have stayed below the existential deposit).
			refunded: BalanceOf<T>,
			/// How many sensor-epochs were delivered empty and so not paid for.
			empty_epochs: u32,
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
		/// within its grace period, or its extensions ran out. The epochs delivered
		/// were paid for and the rest refunded.
		AgreementLapsed {
			/// The agreement's number.
			id: AgreementId,
			/// How many epochs were delivered.
			delivered_epochs: u32,
			/// How many sensor-epochs of those were delivered empty and so not paid for.
			empty_epochs: u32,
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
		/// The proof of possession is not a signature by the key derived from the
		/// identity and certificate over this chain, this account and this kind of
		/// registration.
		InvalidPossession,
		/// Another sensor or user already has this identity.
		IdentityTaken,
		/// This account has registered an identity already.
		AlreadyRegistered,
		/// The identity is the requester of an open agreement, so its key can be
		/// neither rotated nor deregistered.
		IdentityInUse,
		/// This account is a storage provider already.
		ProviderAlreadyRegistered,
		/// No storage provider is registered under this account.
		UnknownProvider,
		/// The provider is to deliver or be paid for an open agreement.
		ProviderInUse,
		/// The epoch length is outside `[MinEpochSecs, MaxEpochSecs]`.
		EpochLengthOutOfRange,
		/// No sensor is registered under this identity.
		UnknownSensor,
		/// The caller does not own the sensor.
		NotSensorOwner,
		/// The sensor is part of an open agreement.
		SensorInUse,
		/// The sensor does not take new requests.
		SensorInactive,
		/// The caller has not registered an identity.
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
		/// The request starts more than `MaxLeadEpochs` past the current epoch.
		EpochTooFarAhead,
		/// The request starts before the first epoch of which one of its sensors has
		/// data, as its owner registered it.
		EpochBeforeSensorData,
		/// The price, fee or deposit of the request does not fit the balance type.
		AmountOverflow,
		/// The price is above the requester's maximum.
		PriceExceedsMax,
		/// The caller cannot pay the escrow or the deposit.
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
		/// Re-keys or a delivery of the agreement are on chain, so it can no longer be
		/// withdrawn.
		AgreementUnderway,
		/// The agreement has not been accepted, or is delivered already.
		AgreementNotAccepted,
		/// The agreement has not been delivered.
		AgreementNotDelivered,
		/// The agreement's deadline has passed.
		DeadlinePassed,
		/// The agreement's deadline has not passed yet.
		DeadlineNotReached,
		/// Every block within `MaxDeadlineDelay` of the deadline this needs has
		/// `MaxDeadlinesPerBlock` deadlines already; try again in a later block.
		DeadlinesFull,
		/// The re-keys do not give every sensor one re-key for each of the same run of
		/// epochs within the agreement.
		ReKeyCountMismatch,
		/// The re-keys do not start at the first epoch without re-keys: a repeated
		/// call, which must not shift re-keys onto later epochs.
		UnexpectedFirstEpoch,
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
		/// An empty sensor-epoch names a sensor the agreement does not have, or an
		/// epoch this delivery does not newly cover.
		EmptyEpochOutsideDelivery,
		/// The empty sensor-epochs are not in strictly ascending order of sensor,
		/// then epoch (so one is listed twice, or out of place).
		EmptyEpochsNotAscending,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::process_deadlines(now)
		}

		#[cfg(feature = "std")]
		fn integrity_test() {
			assert!(T::MaxSensorsPerRequest::get() > 0, "MaxSensorsPerRequest must be positive");
			assert!(T::MaxEpochsPerRequest::get() > 0, "MaxEpochsPerRequest must be positive");
			assert!(T::MinEpochSecs::get() > 0, "MinEpochSecs must be positive");
			assert!(
				T::MinEpochSecs::get() <= T::MaxEpochSecs::get(),
				"MinEpochSecs must not exceed MaxEpochSecs"
			);
			assert!(T::MaxDeadlinesPerBlock::get() > 0, "MaxDeadlinesPerBlock must be positive");
			assert!(!T::DeliveryPeriod::get().is_zero(), "DeliveryPeriod must be positive");
			assert!(!T::ConfirmationPeriod::get().is_zero(), "ConfirmationPeriod must be positive");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
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
		/// sensor and epoch delivered. Holds `RegistrationDeposit`, recorded in the
		/// registration.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::register_provider())]
		pub fn register_provider(
			origin: OriginFor<T>,
			endpoint: BoundedVec<u8, T::MaxEndpointLen>,
			fee_per_epoch: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!Providers::<T>::contains_key(&who), Error::<T>::ProviderAlreadyRegistered);
			let deposit = Self::hold_registration(&who)?;
			Providers::<T>::insert(
				&who,
				ProviderInfo {
					endpoint: endpoint.clone(),
					fee_per_epoch,
					open_agreements: 0,
					deposit,
				},
			);
			Self::deposit_event(Event::ProviderRegistered {
				provider: who,
				endpoint,
				fee_per_epoch,
			});
			Ok(())
		}

		/// Register the caller's CB-PRE identity and certificate, so that owners can
		/// re-key data for it. The pallet derives and stores the public key;
		/// `possession` is the key's signature over the proof-of-possession message
		/// for this chain, the caller and an identity
		/// ([`sensorshare_market::possession::message`]). Holds `RegistrationDeposit`,
		/// recorded in the registration.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::register_identity())]
		pub fn register_identity(
			origin: OriginFor<T>,
			id: IdBytes,
			cert: PointBytes,
			possession: SignatureBytes,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!Users::<T>::contains_key(&who), Error::<T>::AlreadyRegistered);
			Self::ensure_id_free(&id)?;
			let public_key =
				Self::possessed_key(&who, RegistrationKind::Identity, &id, &cert, &possession)?;
			let deposit = Self::hold_registration(&who)?;
			UserIds::<T>::insert(&id, &who);
			Users::<T>::insert(
				&who,
				UserInfo { id: id.clone(), cert, public_key, open_agreements: 0, deposit },
			);
			Self::deposit_event(Event::IdentityRegistered { who, id, public_key });
			Ok(())
		}

		/// Register a sensor owned by the caller: its identity and certificate, the
		/// proof of possession of the sensor's key (as for [`Pallet::register_identity`],
		/// of the sensor kind), its price per epoch, its epoch length (within
		/// `[MinEpochSecs, MaxEpochSecs]`), the first epoch of which it has data to
		/// sell (a new sensor: the current one; earlier epochs cannot be requested),
		/// the provider that stores its data and a description. The pallet derives and stores its public key. Holds
		/// `RegistrationDeposit`, recorded in the registration, until the sensor is
		/// deregistered.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::register_sensor())]
		#[allow(clippy::too_many_arguments)]
		pub fn register_sensor(
			origin: OriginFor<T>,
			id: IdBytes,
			cert: PointBytes,
			possession: SignatureBytes,
			price_per_epoch: BalanceOf<T>,
			epoch_secs: u64,
			first_epoch: u64,
			storage_provider: T::AccountId,
			description: BoundedVec<u8, T::MaxDescriptionLen>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			ensure!(
				(T::MinEpochSecs::get()..=T::MaxEpochSecs::get()).contains(&epoch_secs),
				Error::<T>::EpochLengthOutOfRange
			);
			ensure!(Providers::<T>::contains_key(&storage_provider), Error::<T>::UnknownProvider);
			Self::ensure_id_free(&id)?;
			let public_key =
				Self::possessed_key(&owner, RegistrationKind::Sensor, &id, &cert, &possession)?;
			let deposit = Self::hold_registration(&owner)?;
			Sensors::<T>::insert(
				&id,
				SensorInfo {
					owner: owner.clone(),
					cert,
					public_key,
					price_per_epoch,
					epoch_secs,
					provider: storage_provider.clone(),
					first_epoch,
					description,
					active: true,
					open_agreements: 0,
					deposit,
				},
			);
			Self::deposit_event(Event::SensorRegistered {
				sensor: id,
				owner,
				public_key,
				price_per_epoch,
				epoch_secs,
				first_epoch,
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

		/// Remove a sensor that is in no open agreement (owner only), and release the
		/// deposit recorded in it. Its identity becomes free again.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::deregister_sensor())]
		pub fn deregister_sensor(origin: OriginFor<T>, id: IdBytes) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let sensor = Sensors::<T>::get(&id).ok_or(Error::<T>::UnknownSensor)?;
			ensure!(sensor.owner == who, Error::<T>::NotSensorOwner);
			ensure!(sensor.open_agreements == 0, Error::<T>::SensorInUse);
			Self::release_registration(&who, sensor.deposit)?;
			Sensors::<T>::remove(&id);
			Self::deposit_event(Event::SensorDeregistered { sensor: id });
			Ok(())
		}

		/// Request epochs `from_epoch..=to_epoch` of a group of one owner's sensors.
		///
		/// The price (sensors × epochs × price per epoch) and the provider's fee
		/// (sensors × epochs × fee per epoch) are held from the caller in escrow, if
		/// together they are at most `max_price`, and the agreement's deposit
		/// (`AgreementDepositBase + AgreementDepositPerEpoch × sensors × epochs`)
		/// until it closes. The first epoch may be at most `MaxLeadEpochs` past the
		/// current one. The agreement's deadline for acceptance and delivery is
		/// `DeliveryPeriod` blocks away (later if those blocks are full).
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
			let mut user = Users::<T>::get(&requester).ok_or(Error::<T>::RequesterNotRegistered)?;
			ensure!(from_epoch <= to_epoch, Error::<T>::InvalidEpochRange);
			let epochs = sensorshare_market::epochs(from_epoch, to_epoch)
				.filter(|e| *e <= u64::from(T::MaxEpochsPerRequest::get()))
				.ok_or(Error::<T>::TooManyEpochs)?;
			let first = sensors.first().ok_or(Error::<T>::NoSensors)?;
			let head = Sensors::<T>::get(first).ok_or(Error::<T>::UnknownSensor)?;
			let now_epoch =
				sensorshare_market::epoch::of_secs(T::UnixTime::now().as_secs(), head.epoch_secs)
					.unwrap_or(0);
			ensure!(
				from_epoch <= now_epoch.saturating_add(T::MaxLeadEpochs::get()),
				Error::<T>::EpochTooFarAhead
			);
			let mut infos = Vec::with_capacity(sensors.len());
			for (i, id) in sensors.iter().enumerate() {
				ensure!(!sensors[..i].contains(id), Error::<T>::DuplicateSensor);
				let sensor = Sensors::<T>::get(id).ok_or(Error::<T>::UnknownSensor)?;
				ensure!(sensor.active, Error::<T>::SensorInactive);
				ensure!(sensor.owner == head.owner, Error::<T>::MixedOwners);
				ensure!(sensor.provider == head.provider, Error::<T>::MixedProviders);
				ensure!(sensor.epoch_secs == head.epoch_secs, Error::<T>::MixedEpochLengths);
				ensure!(from_epoch >= sensor.first_epoch, Error::<T>::EpochBeforeSensorData);
				infos.push(sensor);
			}
			let mut provider =
				Providers::<T>::get(&head.provider).ok_or(Error::<T>::UnknownProvider)?;
			// One price per sensor of `sensors`, so within its bound.
			let prices = BoundedVec::<_, T::MaxSensorsPerRequest>::truncate_from(
				infos.iter().map(|s| s.price_per_epoch).collect(),
			);
			let rates = sensorshare_market::Rates {
				fee_per_epoch: provider.fee_per_epoch,
				deposit_base: T::AgreementDepositBase::get(),
				deposit_per_epoch: T::AgreementDepositPerEpoch::get(),
			};
			let sensorshare_market::Quote { price, fee, escrow, deposit, .. } =
				sensorshare_market::quote(&prices, epochs, &rates)
					.ok_or(Error::<T>::AmountOverflow)?;
			let overflow = || Error::<T>::AmountOverflow;
			ensure!(escrow <= max_price, Error::<T>::PriceExceedsMax);
			let id = NextAgreementId::<T>::get();
			let next_id = id.checked_add(1).ok_or_else(overflow)?;
			// Counts of open agreements: bounded by the agreements the chain can hold.
			for sensor in &infos {
				sensor.open_agreements.checked_add(1).ok_or_else(overflow)?;
			}
			user.open_agreements = user.open_agreements.checked_add(1).ok_or_else(overflow)?;
			provider.open_agreements =
				provider.open_agreements.checked_add(1).ok_or_else(overflow)?;
			let due =
				frame_system::Pallet::<T>::block_number().saturating_add(T::DeliveryPeriod::get());
			let deadline = Self::free_deadline_block(due)?;

			T::Currency::hold(&HoldReason::Escrow.into(), &requester, escrow)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			T::Currency::hold(&HoldReason::StorageDeposit.into(), &requester, deposit)
				.map_err(|_| Error::<T>::InsufficientBalance)?;

			for (id, mut sensor) in sensors.iter().zip(infos) {
				sensor.open_agreements.saturating_inc();
				Sensors::<T>::insert(id, sensor);
			}
			Users::<T>::insert(&requester, user);
			Providers::<T>::insert(&head.provider, provider);
			NextAgreementId::<T>::put(next_id);
			Self::schedule(deadline, id);
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
					prices,
					fee_per_epoch: rates.fee_per_epoch,
					price,
					fee,
					empty_epochs: 0,
					empty_price: Zero::zero(),
					status: AgreementStatus::Requested,
					deadline,
					delivery: None,
					extensions: 0,
					deposit,
					rekey_deposit: Zero::zero(),
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
				deposit,
				deadline,
			});
			Ok(())
		}

		/// Accept a request (owner only) with re-keys: for each sensor of the agreement,
		/// in the request's order, one re-key per epoch from the first, for every epoch
		/// or for a first run of them. The re-keys are stored and published in the
		/// event, for the provider to re-encrypt with; the owner holds
		/// `ReKeyDepositPerByte` for each of their bytes until the agreement closes. A
		/// subscription, whose epochs reach into the future, is accepted with the
		/// re-keys of the epochs that have ended, and the rest follow with
		/// [`Pallet::add_rekeys`] as each ends.
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
			let mut agreement = Self::owned_agreement(&who, id, AgreementStatus::Requested)?;
			let run = Self::rekey_run(&agreement, &rekeys)?;
			let deposit = Self::rekey_deposit(&rekeys)?;
			Self::hold_rekey_deposit(&who, deposit)?;
			agreement.status = AgreementStatus::Accepted;
			agreement.rekeyed = run;
			agreement.rekey_deposit = deposit;
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

		/// Withdraw a request (requester only) while nothing of it is on chain yet: not
		/// answered, or accepted with no re-keys (a subscription none of whose epochs
		/// has ended). The escrow is refunded in full and the deposits released.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::cancel_request(T::MaxSensorsPerRequest::get()))]
		pub fn cancel_request(origin: OriginFor<T>, id: AgreementId) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let agreement = Agreements::<T>::get(id).ok_or(Error::<T>::UnknownAgreement)?;
			ensure!(agreement.requester == who, Error::<T>::NotRequester);
			ensure!(
				agreement.status != AgreementStatus::Delivered
					&& agreement.rekeyed == 0
					&& agreement.delivered == 0,
				Error::<T>::AgreementUnderway
			);
			let sensors = agreement.sensors.len() as u32;
			let refunded = Self::refund(id, agreement)?;
			Self::deposit_event(Event::RequestCancelled { id, refunded });
			Ok(Some(T::WeightInfo::cancel_request(sensors)).into())
		}

		/// Record a delivery of an accepted agreement (its provider only): the epochs
		/// up to `through_epoch` are re-encrypted, at `location`, listed by a manifest
		/// with `digest`. Each delivery's manifest covers every epoch delivered so far.
		/// `empty` names the sensor-epochs among those this delivery newly covers that
		/// had no data (the manifest lists them as empty), by the sensor's place in
		/// the agreement and the epoch, in ascending order: their price and fee go
		/// back to the requester when the agreement closes. Once the last epoch is
		/// delivered, the requester has `ConfirmationPeriod` blocks to confirm; after
		/// that the escrow is released.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::deliver(empty.len() as u32))]
		pub fn deliver(
			origin: OriginFor<T>,
			id: AgreementId,
			through_epoch: u64,
			location: BoundedVec<u8, T::MaxLocationLen>,
			digest: [u8; 32],
			empty: EmptyEpochsOf<T>,
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
			let count = sensorshare_market::epochs(agreement.from_epoch, through_epoch)
				.and_then(|c| u32::try_from(c).ok())
				.ok_or(Error::<T>::EpochOutsideAgreement)?;
			ensure!(count <= agreement.rekeyed, Error::<T>::EpochNotReKeyed);
			ensure!(count > agreement.delivered, Error::<T>::EpochDeliveredAlready);
			let empty_price = Self::empty_price(&agreement, through_epoch, &empty)?;
			// Each (sensor, epoch) is new and of the agreement: they all fit.
			let empty_epochs = agreement
				.empty_epochs
				.checked_add(empty.len() as u32)
				.filter(|n| *n <= MaxSensorEpochs::<T>::get())
				.ok_or(Error::<T>::EmptyEpochOutsideDelivery)?;
			let empty_price = agreement
				.empty_price
				.checked_add(&empty_price)
				.ok_or(Error::<T>::AmountOverflow)?;
			let confirm_by = if through_epoch == agreement.to_epoch {
				let due = frame_system::Pallet::<T>::block_number()
					.saturating_add(T::ConfirmationPeriod::get());
				let confirm_by = Self::free_deadline_block(due)?;
				Self::unschedule(agreement.deadline, id);
				Self::schedule(confirm_by, id);
				agreement.status = AgreementStatus::Delivered;
				agreement.deadline = confirm_by;
				Some(confirm_by)
			} else {
				None
			};
			agreement.delivered = count;
			agreement.delivery = Some((location.clone(), digest));
			agreement.empty_epochs = empty_epochs;
			agreement.empty_price = empty_price;
			Agreements::<T>::insert(id, agreement);
			if !empty.is_empty() {
				EmptyEpochs::<T>::mutate(id, |all| {
					for e in &empty {
						// Within the bound, checked above.
						let _ = all.try_push(*e);
					}
				});
			}
			Self::deposit_event(Event::DataDelivered {
				id,
				through_epoch,
				location,
				digest,
				empty,
				confirm_by,
			});
			Ok(())
		}

		/// Confirm a delivery (requester only): the escrow goes to the owner (the
		/// price) and the provider (the fee), the deposits are released, and the
		/// agreement and its re-keys are removed.
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
		/// `DeliveryPeriod` more blocks, at most `MaxExtensions` times; otherwise it
		/// lapses: the epochs delivered are paid for and the rest refunded. The start
		/// of every block does the same; this call needs no block to reach it.
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
		/// for each sensor, in the agreement's order, one re-key per epoch from
		/// `first_epoch`, which must be the first epoch without one (so a repeated call
		/// is refused instead of shifting its re-keys onto later epochs). Holds
		/// `ReKeyDepositPerByte` for each byte. A subscription's owner calls this as
		/// each epoch ends.
		#[pallet::call_index(13)]
		#[pallet::weight(T::WeightInfo::add_rekeys(
			rekeys.len() as u32,
			rekeys.first().map_or(0, |r| r.len() as u32),
		))]
		pub fn add_rekeys(
			origin: OriginFor<T>,
			id: AgreementId,
			first_epoch: u64,
			rekeys: ReKeysOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut agreement = Self::owned_agreement(&who, id, AgreementStatus::Accepted)?;
			let next =
				agreement.progress().next_rekey_epoch().ok_or(Error::<T>::AllEpochsReKeyed)?;
			ensure!(first_epoch == next, Error::<T>::UnexpectedFirstEpoch);
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
			let deposit = Self::rekey_deposit(&rekeys)?;
			let total_deposit =
				agreement.rekey_deposit.checked_add(&deposit).ok_or(Error::<T>::AmountOverflow)?;
			Self::hold_rekey_deposit(&who, deposit)?;
			agreement.rekeyed = agreement.rekeyed.saturating_add(run);
			agreement.rekey_deposit = total_deposit;
			Agreements::<T>::insert(id, agreement);
			ReKeys::<T>::insert(id, stored);
			Self::deposit_event(Event::ReKeysAdded { id, first_epoch, rekeys });
			Ok(())
		}

		/// Remove the caller's identity, which requests no open agreement, and release
		/// the deposit recorded in it. The identity becomes free again.
		#[pallet::call_index(14)]
		#[pallet::weight(T::WeightInfo::deregister_identity())]
		pub fn deregister_identity(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let user = Users::<T>::get(&who).ok_or(Error::<T>::RequesterNotRegistered)?;
			ensure!(user.open_agreements == 0, Error::<T>::IdentityInUse);
			Self::release_registration(&who, user.deposit)?;
			Users::<T>::remove(&who);
			UserIds::<T>::remove(&user.id);
			Self::deposit_event(Event::IdentityDeregistered {
				who,
				id: user.id,
				deposit: user.deposit,
			});
			Ok(())
		}

		/// Rotate the caller's key: a new certificate for its registered identity, with
		/// the new key's proof of possession. Refused while the identity requests an
		/// open agreement, whose re-keys are for the old key.
		#[pallet::call_index(15)]
		#[pallet::weight(T::WeightInfo::update_identity())]
		pub fn update_identity(
			origin: OriginFor<T>,
			cert: PointBytes,
			possession: SignatureBytes,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut user = Users::<T>::get(&who).ok_or(Error::<T>::RequesterNotRegistered)?;
			ensure!(user.open_agreements == 0, Error::<T>::IdentityInUse);
			let public_key = Self::possessed_key(
				&who,
				RegistrationKind::Identity,
				&user.id,
				&cert,
				&possession,
			)?;
			user.cert = cert;
			user.public_key = public_key;
			let id = user.id.clone();
			Users::<T>::insert(&who, user);
			Self::deposit_event(Event::IdentityUpdated { who, id, public_key });
			Ok(())
		}

		/// Change the caller's provider endpoint or fee. Open agreements keep the fee
		/// they were made at.
		#[pallet::call_index(16)]
		#[pallet::weight(T::WeightInfo::update_provider())]
		pub fn update_provider(
			origin: OriginFor<T>,
			endpoint: Option<BoundedVec<u8, T::MaxEndpointLen>>,
			fee_per_epoch: Option<BalanceOf<T>>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut provider = Providers::<T>::get(&who).ok_or(Error::<T>::UnknownProvider)?;
			if let Some(endpoint) = endpoint {
				provider.endpoint = endpoint;
			}
			if let Some(fee) = fee_per_epoch {
				provider.fee_per_epoch = fee;
			}
			let (endpoint, fee_per_epoch) = (provider.endpoint.clone(), provider.fee_per_epoch);
			Providers::<T>::insert(&who, provider);
			Self::deposit_event(Event::ProviderUpdated { provider: who, endpoint, fee_per_epoch });
			Ok(())
		}

		/// Stop being a storage provider: refused while an open agreement is to be
		/// delivered or paid by the caller. Releases the deposit recorded in the
		/// registration. Requests for sensors that name it are refused from then on.
		#[pallet::call_index(17)]
		#[pallet::weight(T::WeightInfo::deregister_provider())]
		pub fn deregister_provider(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let provider = Providers::<T>::get(&who).ok_or(Error::<T>::UnknownProvider)?;
			ensure!(provider.open_agreements == 0, Error::<T>::ProviderInUse);
			Self::release_registration(&who, provider.deposit)?;
			Providers::<T>::remove(&who);
			Self::deposit_event(Event::ProviderDeregistered {
				provider: who,
				deposit: provider.deposit,
			});
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// `PublicKey(id, cert)` with the current CA key.
		pub fn derive_public_key(
			id: &IdBytes,
			cert: &PointBytes,
		) -> Result<PointBytes, DispatchError> {
			Ok(Self::derive_key(id, cert)?.1.to_bytes())
		}

		fn derive_key(
			id: &IdBytes,
			cert: &PointBytes,
		) -> Result<(cbpre::Identity, cbpre::PublicKey), DispatchError> {
			let ca = CaKey::<T>::get().ok_or(Error::<T>::CaKeyNotSet)?;
			let ca = cbpre::CaPublicKey::from_bytes(&ca).map_err(|_| Error::<T>::InvalidCaKey)?;
			let id = cbpre::Identity::new(id).map_err(|_| Error::<T>::EmptyIdentity)?;
			let cert =
				cbpre::Certificate::from_bytes(cert).map_err(|_| Error::<T>::InvalidCertificate)?;
			let key = cbpre::PublicKey::derive(&id, &cert, &ca)
				.map_err(|_| Error::<T>::InvalidCertificate)?;
			Ok((id, key))
		}

		/// The hash of block 0, which a proof of possession signs.
		pub fn genesis_hash() -> [u8; 32] {
			let hash = frame_system::BlockHash::<T>::get(BlockNumberFor::<T>::zero());
			let mut out = [0u8; 32];
			let bytes = hash.as_ref();
			let n = bytes.len().min(32);
			out[..n].copy_from_slice(&bytes[..n]);
			out
		}

		/// Derives the key of `(id, cert)` and checks `possession`, its signature over
		/// the proof-of-possession message of `who` registering `kind`.
		fn possessed_key(
			who: &T::AccountId,
			kind: RegistrationKind,
			id: &IdBytes,
			cert: &PointBytes,
			possession: &SignatureBytes,
		) -> Result<PointBytes, DispatchError> {
			let (identity, key) = Self::derive_key(id, cert)?;
			let proof = cbpre::Signature::from_bytes(possession)
				.map_err(|_| Error::<T>::InvalidPossession)?;
			sensorshare_market::possession::verify(
				&key,
				&Self::genesis_hash(),
				&who.encode(),
				kind,
				&identity,
				&proof,
			)
			.map_err(|_| Error::<T>::InvalidPossession)?;
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

		/// Holds `RegistrationDeposit` from `who` and returns it, to be recorded.
		fn hold_registration(who: &T::AccountId) -> Result<BalanceOf<T>, DispatchError> {
			let deposit = T::RegistrationDeposit::get();
			T::Currency::hold(&HoldReason::Registration.into(), who, deposit)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			Ok(deposit)
		}

		/// Releases a recorded registration deposit.
		fn release_registration(who: &T::AccountId, deposit: BalanceOf<T>) -> DispatchResult {
			T::Currency::release(
				&HoldReason::Registration.into(),
				who,
				deposit,
				Precision::BestEffort,
			)?;
			Ok(())
		}

		/// The deposit for storing `rekeys`: `ReKeyDepositPerByte` per byte.
		fn rekey_deposit(rekeys: &ReKeysOf<T>) -> Result<BalanceOf<T>, DispatchError> {
			let count: usize = rekeys.iter().map(|r| r.len()).sum();
			let bytes: BalanceOf<T> = (count as u64)
				.saturating_mul(core::mem::size_of::<ReKeyBytes>() as u64)
				.try_into()
				.map_err(|_| Error::<T>::AmountOverflow)?;
			Ok(T::ReKeyDepositPerByte::get()
				.checked_mul(&bytes)
				.ok_or(Error::<T>::AmountOverflow)?)
		}

		/// Checks that `empty` names sensors of `agreement` and epochs that a delivery
		/// through `through_epoch` newly covers, in strictly ascending order, and
		/// returns the sum of their prices.
		fn empty_price(
			agreement: &Agreement<T>,
			through_epoch: u64,
			empty: &EmptyEpochsOf<T>,
		) -> Result<BalanceOf<T>, DispatchError> {
			let first_new = agreement
				.progress()
				.next_delivery_epoch()
				.ok_or(Error::<T>::EpochDeliveredAlready)?;
			let mut sum: BalanceOf<T> = Zero::zero();
			let mut previous: Option<&EmptyEpoch> = None;
			for e in empty {
				let price = agreement
					.prices
					.get(e.sensor as usize)
					.filter(|_| (first_new..=through_epoch).contains(&e.epoch))
					.ok_or(Error::<T>::EmptyEpochOutsideDelivery)?;
				ensure!(previous.is_none_or(|p| p < e), Error::<T>::EmptyEpochsNotAscending);
				previous = Some(e);
				sum = sum.checked_add(price).ok_or(Error::<T>::AmountOverflow)?;
			}
			Ok(sum)
		}

		fn hold_rekey_deposit(owner: &T::AccountId, deposit: BalanceOf<T>) -> DispatchResult {
			T::Currency::hold(&HoldReason::StorageDeposit.into(), owner, deposit)
				.map_err(|_| Error::<T>::InsufficientBalance.into())
		}

		fn ensure_before_deadline(agreement: &Agreement<T>) -> DispatchResult {
			ensure!(
				frame_system::Pallet::<T>::block_number() <= agreement.deadline,
				Error::<T>::DeadlinePassed
			);
			Ok(())
		}

		/// Agreement `id` for its owner `who` to answer: it is open, `who` owns it, it
		/// is in `status` (else the error that names that status) and its deadline has
		/// not passed, checked in that order.
		fn owned_agreement(
			who: &T::AccountId,
			id: AgreementId,
			status: AgreementStatus,
		) -> Result<Agreement<T>, DispatchError> {
			let agreement = Agreements::<T>::get(id).ok_or(Error::<T>::UnknownAgreement)?;
			ensure!(&agreement.owner == who, Error::<T>::NotAgreementOwner);
			let not_in_status = match status {
				AgreementStatus::Requested => Error::<T>::AgreementNotPending,
				AgreementStatus::Accepted => Error::<T>::AgreementNotAccepted,
				AgreementStatus::Delivered => Error::<T>::AgreementNotDelivered,
			};
			ensure!(agreement.status == status, not_in_status);
			Self::ensure_before_deadline(&agreement)?;
			Ok(agreement)
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

		/// The first block from `due` on, at most `MaxDeadlineDelay` later, that has
		/// room for another deadline.
		fn free_deadline_block(due: BlockNumberFor<T>) -> Result<BlockNumberFor<T>, DispatchError> {
			let mut block = due;
			for _ in 0..=T::MaxDeadlineDelay::get() {
				if DeadlineCount::<T>::get(block) < T::MaxDeadlinesPerBlock::get() {
					return Ok(block);
				}
				block.saturating_inc();
			}
			Err(Error::<T>::DeadlinesFull.into())
		}

		/// Puts agreement `id`'s deadline at `block`, which has room
		/// ([`Self::free_deadline_block`]).
		fn schedule(block: BlockNumberFor<T>, id: AgreementId) {
			Deadlines::<T>::insert(block, id, ());
			DeadlineCount::<T>::mutate(block, |n| n.saturating_inc());
		}

		/// Takes agreement `id`'s deadline off `block`.
		fn unschedule(block: BlockNumberFor<T>, id: AgreementId) {
			if Deadlines::<T>::take(block, id).is_some() {
				DeadlineCount::<T>::mutate_exists(block, |n| {
					*n = n.map(|n| n.saturating_sub(1)).filter(|n| *n > 0);
				});
			}
		}

		/// Forgets an agreement: its record, re-keys and deadline, its sensors',
		/// requester's and provider's open-agreement counts, and releases its deposits.
		fn close(id: AgreementId, agreement: &Agreement<T>) -> DispatchResult {
			let reason = HoldReason::StorageDeposit.into();
			T::Currency::release(
				&reason,
				&agreement.requester,
				agreement.deposit,
				Precision::BestEffort,
			)?;
			T::Currency::release(
				&reason,
				&agreement.owner,
				agreement.rekey_deposit,
				Precision::BestEffort,
			)?;
			Agreements::<T>::remove(id);
			ReKeys::<T>::remove(id);
			EmptyEpochs::<T>::remove(id);
			Self::unschedule(agreement.deadline, id);
			for sensor in &agreement.sensors {
				Sensors::<T>::mutate(sensor, |s| {
					if let Some(s) = s {
						s.open_agreements.saturating_dec();
					}
				});
			}
			Users::<T>::mutate(&agreement.requester, |u| {
				if let Some(u) = u {
					u.open_agreements.saturating_dec();
				}
			});
			Providers::<T>::mutate(&agreement.provider, |p| {
				if let Some(p) = p {
					p.open_agreements.saturating_dec();
				}
			});
			Ok(())
		}

		/// Returns the escrow to the requester and closes the agreement.
		fn refund(id: AgreementId, agreement: Agreement<T>) -> Result<BalanceOf<T>, DispatchError> {
			let refunded = T::Currency::release(
				&HoldReason::Escrow.into(),
				&agreement.requester,
				agreement.escrow(),
				Precision::BestEffort,
			)?;
			Self::close(id, &agreement)?;
			Ok(refunded)
		}

		/// Pays `amount` of the requester's escrow to `to`, if `to` can receive it (a
		/// payee that would stay below the existential deposit cannot): returns what
		/// was paid. A freeze on the requester's funds does not stop it: escrow is the
		/// payees' already.
		fn pay(
			agreement: &Agreement<T>,
			to: &T::AccountId,
			amount: BalanceOf<T>,
		) -> Result<BalanceOf<T>, DispatchError> {
			if amount.is_zero()
				|| T::Currency::can_deposit(to, amount, Provenance::Extant)
					!= DepositConsequence::Success
			{
				return Ok(Zero::zero());
			}
			T::Currency::transfer_on_hold(
				&HoldReason::Escrow.into(),
				&agreement.requester,
				to,
				amount,
				Precision::Exact,
				Restriction::Free,
				Fortitude::Force,
			)
		}

		/// Pays the owner and the provider what is due to them from escrow, returns
		/// the rest to the requester and closes the agreement.
		fn pay_out(
			id: AgreementId,
			agreement: &Agreement<T>,
			owner_due: BalanceOf<T>,
			provider_due: BalanceOf<T>,
		) -> Result<Payout<T>, DispatchError> {
			let owner_paid = Self::pay(agreement, &agreement.owner, owner_due)?;
			let provider_paid = Self::pay(agreement, &agreement.provider, provider_due)?;
			let rest = agreement.escrow().saturating_sub(owner_paid).saturating_sub(provider_paid);
			let refunded = T::Currency::release(
				&HoldReason::Escrow.into(),
				&agreement.requester,
				rest,
				Precision::BestEffort,
			)?;
			Self::close(id, agreement)?;
			Ok(Payout { owner_paid, provider_paid, refunded })
		}

		/// Pays the owner and the provider what the epochs delivered with data earned
		/// ([`Agreement::due`]), refunds the rest and closes the agreement.
		fn pay_due(id: AgreementId, agreement: &Agreement<T>) -> Result<Payout<T>, DispatchError> {
			let due = agreement.due().ok_or(Error::<T>::AmountOverflow)?;
			Self::pay_out(id, agreement, due.owner, due.provider)
		}

		/// Pays the owner and the provider from escrow for every epoch (all of them
		/// delivered), less the sensor-epochs delivered empty, and closes the
		/// agreement.
		fn settle(id: AgreementId, agreement: Agreement<T>, confirmed: bool) -> DispatchResult {
			let Payout { owner_paid, provider_paid, refunded } = Self::pay_due(id, &agreement)?;
			Self::deposit_event(Event::AgreementSettled {
				id,
				owner_paid,
				provider_paid,
				refunded,
				empty_epochs: agreement.empty_epochs,
				confirmed,
			});
			Ok(())
		}

		/// Pays the owner and the provider for the epochs delivered, less those
		/// delivered empty, refunds the rest and closes the agreement.
		fn lapse(id: AgreementId, agreement: Agreement<T>) -> DispatchResult {
			let Payout { owner_paid, provider_paid, refunded } = Self::pay_due(id, &agreement)?;
			Self::deposit_event(Event::AgreementLapsed {
				id,
				delivered_epochs: agreement.delivered,
				empty_epochs: agreement.empty_epochs,
				owner_paid,
				provider_paid,
				refunded,
			});
			Ok(())
		}

		/// Whether `agreement`, accepted, waits for an epoch that has not ended or is
		/// within its grace period.
		fn awaits_open_epoch(agreement: &Agreement<T>) -> bool {
			agreement.progress().next_delivery_epoch().is_some_and(|epoch| {
				let due =
					agreement.epoch_end_secs(epoch).saturating_add(T::DeliveryGracePeriod::get());
				T::UnixTime::now().as_secs() < due
			})
		}

		/// The work of a passed deadline: refund before acceptance; give an accepted
		/// agreement more time while the epoch it waits for is open, its extensions
		/// last and a block has room for its new deadline; else pay for what was
		/// delivered and refund the rest; settle after the last delivery.
		fn process_deadline(id: AgreementId, mut agreement: Agreement<T>) -> DispatchResult {
			let extended = || {
				let due = frame_system::Pallet::<T>::block_number()
					.saturating_add(T::DeliveryPeriod::get());
				Self::free_deadline_block(due).ok()
			};
			let extension = match agreement.status {
				AgreementStatus::Accepted
					if agreement.extensions < T::MaxExtensions::get()
						&& Self::awaits_open_epoch(&agreement) =>
				{
					extended()
				},
				_ => None,
			};
			match (agreement.status, extension) {
				(AgreementStatus::Accepted, Some(deadline)) => {
					Self::unschedule(agreement.deadline, id);
					Self::schedule(deadline, id);
					agreement.deadline = deadline;
					agreement.extensions.saturating_inc();
					Agreements::<T>::insert(id, agreement);
					Self::deposit_event(Event::DeadlineExtended { id, deadline });
					Ok(())
				},
				(AgreementStatus::Accepted, None) if agreement.delivered > 0 => {
					Self::lapse(id, agreement)
				},
				(AgreementStatus::Requested | AgreementStatus::Accepted, _) => {
					let refunded = Self::refund(id, agreement)?;
					Self::deposit_event(Event::AgreementExpired { id, refunded });
					Ok(())
				},
				(AgreementStatus::Delivered, _) => Self::settle(id, agreement, false),
			}
		}

		/// Processes passed deadlines, oldest first: at most `MaxDeadlinesPerBlock` of
		/// them, as many as one block can hold, so a block's deadlines are all
		/// processed at the start of the next. Returns the weight used.
		pub(crate) fn process_deadlines(now: BlockNumberFor<T>) -> Weight {
			let step = T::WeightInfo::deadline_step();
			let per_expiry = T::WeightInfo::expire(T::MaxSensorsPerRequest::get());
			let max = T::MaxDeadlinesPerBlock::get();
			let mut used = T::DbWeight::get().reads_writes(1, 1);
			let mut cursor = DeadlineCursor::<T>::get();
			let (mut processed, mut steps) = (0u32, 0u32);
			// Empty blocks cost a step each; as many steps as expiries, so a cursor
			// left behind (a chain that starts late) catches up.
			while cursor < now && processed < max && steps < max.saturating_mul(2) {
				used.saturating_accrue(step);
				steps.saturating_inc();
				let Some(id) = Deadlines::<T>::iter_key_prefix(cursor).next() else {
					DeadlineCount::<T>::remove(cursor);
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
					None => Err(Error::<T>::UnknownAgreement.into()),
				};
				if let Err(e) = outcome {
					// Leave the agreement for `expire`; do not stall the queue on it.
					log::error!(target: LOG_TARGET, "deadline of agreement {id} failed: {e:?}");
					Self::unschedule(cursor, id);
				}
			}
			DeadlineCursor::<T>::put(cursor);
			used
		}

		/// The pallet's invariants: every hold is what the records say, every count
		/// is exact, and every open agreement has exactly one deadline, in a block
		/// that holds no more than `MaxDeadlinesPerBlock`.
		#[cfg(any(feature = "try-runtime", test))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			use alloc::collections::btree_map::BTreeMap;
			use frame_support::traits::fungible::InspectHold;
			let mut escrow: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
			let mut storage: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
			let mut registration: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
			let mut sensor_counts: BTreeMap<IdBytes, u32> = BTreeMap::new();
			let mut user_counts: BTreeMap<T::AccountId, u32> = BTreeMap::new();
			let mut provider_counts: BTreeMap<T::AccountId, u32> = BTreeMap::new();
			let add = |m: &mut BTreeMap<T::AccountId, BalanceOf<T>>, who: &T::AccountId, v| {
				let e = m.entry(who.clone()).or_default();
				*e = e.saturating_add(v);
			};
			for (id, a) in Agreements::<T>::iter() {
				add(&mut escrow, &a.requester, a.escrow());
				add(&mut storage, &a.requester, a.deposit);
				add(&mut storage, &a.owner, a.rekey_deposit);
				for s in &a.sensors {
					*sensor_counts.entry(s.clone()).or_default() += 1;
				}
				*user_counts.entry(a.requester.clone()).or_default() += 1;
				*provider_counts.entry(a.provider.clone()).or_default() += 1;
				ensure!(
					Deadlines::<T>::contains_key(a.deadline, id),
					"an open agreement has its deadline entry"
				);
				ensure!(a.rekeyed as u64 <= a.epochs(), "no more re-keys than epochs");
				ensure!(a.delivered <= a.rekeyed, "nothing delivered without its re-keys");
				ensure!(a.prices.len() == a.sensors.len(), "one price per sensor");
				let empty = EmptyEpochs::<T>::get(id);
				ensure!(empty.len() == a.empty_epochs as usize, "the empty count is exact");
				let mut empty_price: BalanceOf<T> = Zero::zero();
				for e in &empty {
					let price = a.prices.get(e.sensor as usize).ok_or("an empty entry's sensor")?;
					empty_price = empty_price.saturating_add(*price);
					ensure!(
						a.progress().last_delivered_epoch().is_some_and(|last| e.epoch <= last)
							&& e.epoch >= a.from_epoch,
						"only delivered epochs are empty"
					);
				}
				ensure!(empty_price == a.empty_price, "the empty price is exact");
				ensure!(a.due().is_some(), "what is due fits the escrow");
			}
			for (who, info) in Users::<T>::iter() {
				add(&mut registration, &who, info.deposit);
				ensure!(
					UserIds::<T>::get(&info.id).as_ref() == Some(&who),
					"a user's identity points back at it"
				);
				ensure!(
					user_counts.get(&who).copied().unwrap_or(0) == info.open_agreements,
					"a user's open-agreement count is exact"
				);
			}
			for (who, info) in Providers::<T>::iter() {
				add(&mut registration, &who, info.deposit);
				ensure!(
					provider_counts.get(&who).copied().unwrap_or(0) == info.open_agreements,
					"a provider's open-agreement count is exact"
				);
			}
			for (id, info) in Sensors::<T>::iter() {
				add(&mut registration, &info.owner, info.deposit);
				ensure!(
					sensor_counts.get(&id).copied().unwrap_or(0) == info.open_agreements,
					"a sensor's open-agreement count is exact"
				);
			}
			ensure!(UserIds::<T>::iter().count() == Users::<T>::iter().count(), "one id per user");
			for (id, _) in EmptyEpochs::<T>::iter() {
				ensure!(Agreements::<T>::contains_key(id), "no empty epochs without an agreement");
			}
			let held = |reason: HoldReason, who: &T::AccountId| {
				T::Currency::balance_on_hold(&reason.into(), who)
			};
			let mut accounts: Vec<T::AccountId> = Vec::new();
			accounts.extend(escrow.keys().cloned());
			accounts.extend(storage.keys().cloned());
			accounts.extend(registration.keys().cloned());
			for who in &accounts {
				let get = |m: &BTreeMap<T::AccountId, BalanceOf<T>>| {
					m.get(who).copied().unwrap_or_else(Zero::zero)
				};
				ensure!(held(HoldReason::Escrow, who) == get(&escrow), "escrow held is exact");
				ensure!(
					held(HoldReason::StorageDeposit, who) == get(&storage),
					"storage deposits held are exact"
				);
				ensure!(
					held(HoldReason::Registration, who) == get(&registration),
					"registration deposits held are exact"
				);
			}
			let mut per_block: BTreeMap<BlockNumberFor<T>, u32> = BTreeMap::new();
			for (block, id, ()) in Deadlines::<T>::iter() {
				let open = Agreements::<T>::get(id);
				ensure!(
					open.is_some_and(|a| a.deadline == block),
					"every deadline entry is an open agreement's deadline"
				);
				*per_block.entry(block).or_default() += 1;
			}
			for (block, n) in &per_block {
				ensure!(DeadlineCount::<T>::get(block) == *n, "deadline counts are exact");
				ensure!(*n <= T::MaxDeadlinesPerBlock::get(), "no block has too many deadlines");
			}
			for (block, n) in DeadlineCount::<T>::iter() {
				ensure!(per_block.get(&block) == Some(&n), "no count without its deadlines");
			}
			Ok(())
		}
	}
}
