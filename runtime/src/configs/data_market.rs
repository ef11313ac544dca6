//! The data market: deposits, limits and periods of agreements.

use super::*;

parameter_types! {
	/// Held for each sensor, identity and provider registration.
	pub const DataMarketRegistrationDeposit: Balance = UNIT / 10;
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
	type MaxSensorsPerRequest = ConstU32<16>;
	type MaxEpochsPerRequest = ConstU32<256>;
	type MaxDescriptionLen = ConstU32<256>;
	type MaxEndpointLen = ConstU32<128>;
	type MaxLocationLen = ConstU32<256>;
	type DeliveryPeriod = DataMarketDeliveryPeriod;
	type ConfirmationPeriod = DataMarketConfirmationPeriod;
	type DeliveryGracePeriod = DataMarketDeliveryGracePeriod;
	type UnixTime = crate::Timestamp;
	type MaxExpiriesPerBlock = ConstU32<64>;
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
