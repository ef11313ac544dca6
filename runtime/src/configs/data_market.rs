//! The data market: deposits, limits and periods of agreements.

use super::*;

parameter_types! {
	/// Held for each sensor, identity and provider registration.
	pub const DataMarketRegistrationDeposit: Balance = UNIT / 10;
	/// Held from the requester for each agreement, besides its epochs' deposit: about
	/// the 200 bytes of its record and its deadline.
	pub const DataMarketAgreementDepositBase: Balance = UNIT / 100;
	/// Held from the requester for each sensor and epoch of an agreement.
	pub const DataMarketAgreementDepositPerEpoch: Balance = UNIT / 1_000;
	/// Held from the owner for each byte of re-keys on chain: 32 per sensor and epoch.
	pub const DataMarketReKeyDepositPerByte: Balance = MICRO_UNIT;
	/// Blocks from a request to its deadline for acceptance and delivery: an hour
	/// at the target block time.
	pub const DataMarketDeliveryPeriod: BlockNumber = HOURS;
	/// Seconds after an epoch ends within which its re-keys and delivery are due: an
	/// hour.
	pub const DataMarketDeliveryGracePeriod: u64 = 60 * 60;
	/// Blocks from a delivery to automatic settlement: a day at the target block time.
	pub const DataMarketConfirmationPeriod: BlockNumber = DAYS;
}

impl pallet_data_market::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type CaOrigin = frame_system::EnsureRoot<AccountId>;
	type RegistrationDeposit = DataMarketRegistrationDeposit;
	type AgreementDepositBase = DataMarketAgreementDepositBase;
	type AgreementDepositPerEpoch = DataMarketAgreementDepositPerEpoch;
	type ReKeyDepositPerByte = DataMarketReKeyDepositPerByte;
	type MaxSensorsPerRequest = ConstU32<16>;
	type MaxEpochsPerRequest = ConstU32<256>;
	// A second to an hour: with the lead below, an agreement lives at most 512 hours.
	type MinEpochSecs = ConstU64<1>;
	type MaxEpochSecs = ConstU64<3600>;
	type MaxLeadEpochs = ConstU64<256>;
	// A deadline comes every `DeliveryPeriod` (an hour at 6-second blocks): enough
	// extensions for the longest agreement, 512 hours, and its grace period.
	type MaxExtensions = ConstU32<520>;
	type MaxDescriptionLen = ConstU32<256>;
	type MaxEndpointLen = ConstU32<128>;
	type MaxLocationLen = ConstU32<256>;
	type DeliveryPeriod = DataMarketDeliveryPeriod;
	type ConfirmationPeriod = DataMarketConfirmationPeriod;
	type DeliveryGracePeriod = DataMarketDeliveryGracePeriod;
	type UnixTime = crate::Timestamp;
	// The start of a block processes up to 64 deadlines: about 120 ms of the 2-second
	// budget at `expire`'s benchmarked worst case (16 sensors, a lapse). A burst of
	// requests spreads its deadlines over up to 32 blocks more, 2112 in all.
	type MaxDeadlinesPerBlock = ConstU32<64>;
	type MaxDeadlineDelay = ConstU32<32>;
	type WeightInfo = pallet_data_market::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = SetTimestamp;
}

/// Sets the chain's clock for the data market's benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub struct SetTimestamp;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_data_market::BenchmarkHelper for SetTimestamp {
	fn set_time(secs: u64) {
		pallet_timestamp::Now::<Runtime>::put(secs.saturating_mul(1000));
	}
}
