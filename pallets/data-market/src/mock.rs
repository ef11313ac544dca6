//! A test runtime: System, Balances and the data market, with a CA, a provider and
//! funded accounts.

use crate as pallet_data_market;
use cbpre::{CaSecretKey, Identity, KeyRequest, SecretKey};
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU32, ConstU64},
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		DataMarket: pallet_data_market,
	}
);

pub type AccountId = u64;
pub type Balance = u64;

/// Owns the sensors.
pub const OWNER: AccountId = 1;
/// Asks for data.
pub const REQUESTER: AccountId = 2;
/// The genesis storage provider.
pub const PROVIDER: AccountId = 3;
/// Someone else.
pub const OTHER: AccountId = 4;
/// Owns other sensors.
pub const OTHER_OWNER: AccountId = 5;
/// A second provider, registered by the tests that need it.
pub const PROVIDER_2: AccountId = 6;
/// Has almost nothing.
pub const POOR: AccountId = 7;

pub const INITIAL_BALANCE: Balance = 1_000_000;
pub const PROVIDER_FEE: Balance = 2;
pub const DEPOSIT: Balance = 10;
/// An agreement's deposit: base and per sensor and epoch.
pub const AGREEMENT_DEPOSIT_BASE: Balance = 3;
pub const AGREEMENT_DEPOSIT_PER_EPOCH: Balance = 1;
/// The owner's deposit per byte of re-keys (32 bytes a re-key).
pub const REKEY_DEPOSIT_PER_BYTE: Balance = 1;
/// How many epochs past the current one a request may start.
pub const MAX_LEAD_EPOCHS: u64 = 100;

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	// One freeze, which a test puts on a requester's funds.
	type FreezeIdentifier = ();
	type MaxFreezes = ConstU32<1>;
	type AccountStore = System;
	type Balance = Balance;
	type ExistentialDeposit = ExistentialDeposit;
	type RuntimeHoldReason = RuntimeHoldReason;
}

/// The clock's time at the start of every test.
pub const START_SECS: u64 = 1_000_000;
/// Seconds after an epoch ends within which its re-keys and delivery are due.
pub const GRACE_SECS: u64 = 60;

parameter_types! {
	/// The test chain's clock, in seconds since the Unix epoch: far past every epoch
	/// of the tests unless a test sets it.
	pub static NowSecs: u64 = START_SECS;
	/// 1 unless a test raises it.
	pub static ExistentialDeposit: Balance = 1;
	/// [`DEPOSIT`] unless a test changes it.
	pub static RegistrationDeposit: Balance = DEPOSIT;
}

impl pallet_data_market::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RegistrationDeposit = RegistrationDeposit;
	type AgreementDepositBase = ConstU64<AGREEMENT_DEPOSIT_BASE>;
	type AgreementDepositPerEpoch = ConstU64<AGREEMENT_DEPOSIT_PER_EPOCH>;
	type ReKeyDepositPerByte = ConstU64<REKEY_DEPOSIT_PER_BYTE>;
	type MinEpochSecs = ConstU64<1>;
	type MaxEpochSecs = ConstU64<3600>;
	type UnixTime = Clock;
	type MaxLeadEpochs = ConstU64<MAX_LEAD_EPOCHS>;
	type DeliveryGracePeriod = ConstU64<GRACE_SECS>;
	type MaxSensorsPerRequest = ConstU32<4>;
	type MaxEpochsPerRequest = ConstU32<8>;
	type MaxDescriptionLen = ConstU32<32>;
	type MaxEndpointLen = ConstU32<32>;
	type MaxLocationLen = ConstU32<64>;
	type CaOrigin = frame_system::EnsureRoot<AccountId>;
	type DeliveryPeriod = ConstU64<10>;
	type MaxExtensions = ConstU32<3>;
	type ConfirmationPeriod = ConstU64<20>;
	type MaxDeadlinesPerBlock = ConstU32<3>;
	type MaxDeadlineDelay = ConstU32<2>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = Clock;
}

#[cfg(feature = "runtime-benchmarks")]
impl pallet_data_market::BenchmarkHelper for Clock {
	fn set_time(secs: u64) {
		NowSecs::set(secs);
	}
}

/// The test chain's clock: [`NowSecs`].
pub struct Clock;

impl frame_support::traits::UnixTime for Clock {
	fn now() -> core::time::Duration {
		core::time::Duration::from_secs(NowSecs::get())
	}
}

/// The test chain's CA: the published dev CA.
pub fn ca() -> CaSecretKey {
	CaSecretKey::from_bytes(&cbpre::dev::DEV_CA_SECRET).expect("the dev CA key is valid")
}

/// Runs CertifiedUserKeyGen for `id` under the test CA.
pub fn certify(id: &[u8]) -> SecretKey {
	let mut rng = ChaCha20Rng::from_seed(sp_io::hashing::blake2_256(id));
	let ca = ca();
	let request = KeyRequest::new_with_rng(Identity::new(id).expect("valid id"), &mut rng);
	let response = ca.issue_with_rng(request.message(), &mut rng).expect("issued");
	request.finish(&response, &ca.public_key()).expect("accepted")
}

/// The proof of possession of `key` by `who`, registering it as `kind` on the test
/// chain.
pub fn possession(key: &SecretKey, who: AccountId, kind: crate::RegistrationKind) -> [u8; 64] {
	use codec::Encode;
	let mut rng = ChaCha20Rng::from_seed([who as u8; 32]);
	sensorshare_market::possession::prove_with_rng(
		key,
		&crate::Pallet::<Test>::genesis_hash(),
		&who.encode(),
		kind,
		&mut rng,
	)
	.expect("signed")
	.to_bytes()
}

/// Runs `test` on a fresh test chain, then checks the pallet's invariants.
pub fn test<R>(test: impl FnOnce() -> R) -> R {
	new_test_ext().execute_with(|| {
		let result = test();
		crate::Pallet::<Test>::do_try_state().expect("the invariants hold");
		result
	})
}

/// Runs blocks up to `n`: each block's start processes deadlines, and the
/// invariants are checked after each.
pub fn run_to_block(n: u64) {
	use frame_support::traits::Hooks;
	while System::block_number() < n {
		System::set_block_number(System::block_number() + 1);
		crate::Pallet::<Test>::on_initialize(System::block_number());
		crate::Pallet::<Test>::do_try_state().expect("the invariants hold");
	}
}

pub fn new_test_ext() -> sp_io::TestExternalities {
	NowSecs::set(START_SECS);
	ExistentialDeposit::set(1);
	RegistrationDeposit::set(DEPOSIT);
	let mut t = frame_system::GenesisConfig::<Test>::default().build_storage().expect("storage");
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![
			(OWNER, INITIAL_BALANCE),
			(REQUESTER, INITIAL_BALANCE),
			(PROVIDER, INITIAL_BALANCE),
			(OTHER, INITIAL_BALANCE),
			(OTHER_OWNER, INITIAL_BALANCE),
			(PROVIDER_2, INITIAL_BALANCE),
			(POOR, 5),
		],
		..Default::default()
	}
	.assimilate_storage(&mut t)
	.expect("balances genesis");
	pallet_data_market::GenesisConfig::<Test> {
		ca_key: Some(ca().public_key().to_bytes().to_vec()),
		providers: vec![(PROVIDER, b"http://127.0.0.1:8088".to_vec(), PROVIDER_FEE)],
	}
	.assimilate_storage(&mut t)
	.expect("data market genesis");
	let mut ext = sp_io::TestExternalities::new(t);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
