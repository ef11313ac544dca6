//! Benchmarks of the data market's calls and of its deadline processing.
//!
//! Every call is measured in its worst case: 64-byte identities, the longest
//! endpoint, description and location, the most epochs a request may cover, and the
//! sensors and epochs of an agreement as components. Certificates are real ones from
//! the published dev CA, so the key derivation the pallet runs is the one a real
//! registration pays for.

use super::*;
use crate::Pallet as DataMarket;
use alloc::vec;
use alloc::vec::Vec;
use cbpre::{CaSecretKey, Identity, KeyRequest, SecretKey};
use codec::Encode;
use frame_benchmarking::v2::*;
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{Mutate, MutateHold},
		EnsureOrigin,
	},
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use sp_runtime::traits::{Bounded, One};

const SEED: u32 = 0;

fn assert_last_event<T: Config>(event: Event<T>) {
	frame_system::Pallet::<T>::assert_last_event(<T as Config>::RuntimeEvent::from(event).into());
}

/// A 64-byte identity (the longest allowed) that differs for each `(kind, index)`.
fn identity(kind: u8, index: u32) -> IdBytes {
	let mut id = vec![b'x'; 64];
	id[0] = kind;
	id[1..5].copy_from_slice(&index.to_le_bytes());
	IdBytes::truncate_from(id)
}

/// A key for `id`, certified by the dev CA, with randomness derived from `id` and
/// `round` (a second round gives a second certificate for the same identity).
fn certified_key(id: &IdBytes, round: u8) -> SecretKey {
	let mut seed = [round; 32];
	for (i, byte) in id.iter().enumerate() {
		seed[i % 32] ^= *byte;
	}
	let mut rng = ChaCha20Rng::from_seed(seed);
	let ca = CaSecretKey::from_bytes(&cbpre::dev::DEV_CA_SECRET).expect("the dev CA key is valid");
	let identity = Identity::new(id.as_slice()).expect("benchmark identities are 64 bytes");
	let request = KeyRequest::new_with_rng(identity, &mut rng);
	let response = ca.issue_with_rng(request.message(), &mut rng).expect("the CA issues");
	request.finish(&response, &ca.public_key()).expect("the certificate is valid")
}

/// The certificate of `key` and its proof of possession by `who` as `kind`, on the
/// chain the benchmarks run on.
fn registration<T: Config>(
	key: &SecretKey,
	who: &T::AccountId,
	kind: RegistrationKind,
) -> (PointBytes, SignatureBytes) {
	let mut rng = ChaCha20Rng::from_seed([7; 32]);
	let proof = sensorshare_market::possession::prove_with_rng(
		key,
		&DataMarket::<T>::genesis_hash(),
		&who.encode(),
		kind,
		&mut rng,
	)
	.expect("the key signs");
	(key.certificate().to_bytes(), proof.to_bytes())
}

/// Fills the blocks from `due`, all but the last that a deadline due then may go to,
/// so that finding a block with room reads every one of them.
fn fill_deadlines<T: Config>(due: BlockNumberFor<T>) {
	let mut block = due;
	for _ in 0..T::MaxDeadlineDelay::get() {
		DeadlineCount::<T>::insert(block, T::MaxDeadlinesPerBlock::get());
		block += One::one();
	}
}

/// An account with plenty of free balance.
fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, SEED);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 4u32.into());
	who
}

/// A price per epoch large enough to be a real payment and small enough never to
/// overflow a request.
fn price<T: Config>() -> BalanceOf<T> {
	1_000_000u32.into()
}

fn max_bytes<S: Get<u32>>() -> BoundedVec<u8, S> {
	BoundedVec::truncate_from(vec![b'a'; S::get() as usize])
}

/// Sets the CA key to the dev CA and registers a provider with the longest endpoint.
fn setup_market<T: Config>() -> T::AccountId {
	CaKey::<T>::put(cbpre::dev::DEV_CA_PUBLIC);
	let provider = funded::<T>("provider", 0);
	Providers::<T>::insert(
		&provider,
		ProviderInfo {
			endpoint: max_bytes::<T::MaxEndpointLen>(),
			fee_per_epoch: price::<T>(),
			open_agreements: 0,
			deposit: T::RegistrationDeposit::get(),
		},
	);
	T::Currency::hold(&HoldReason::Registration.into(), &provider, T::RegistrationDeposit::get())
		.expect("the provider is funded");
	provider
}

/// Registers `count` sensors of one owner through the pallet's own call.
fn sensors<T: Config>(
	owner: &T::AccountId,
	provider: &T::AccountId,
	count: u32,
) -> Result<BoundedVec<IdBytes, T::MaxSensorsPerRequest>, BenchmarkError> {
	let mut ids = Vec::new();
	for i in 0..count {
		let id = identity(b's', i);
		let (cert, proof) =
			registration::<T>(&certified_key(&id, 0), owner, RegistrationKind::Sensor);
		DataMarket::<T>::register_sensor(
			RawOrigin::Signed(owner.clone()).into(),
			id.clone(),
			cert,
			proof,
			price::<T>(),
			60,
			0,
			provider.clone(),
			max_bytes::<T::MaxDescriptionLen>(),
		)?;
		ids.push(id);
	}
	BoundedVec::try_from(ids).map_err(|_| BenchmarkError::Stop("too many sensors"))
}

/// Registers a requester's identity through the pallet's own call.
fn requester<T: Config>() -> Result<T::AccountId, BenchmarkError> {
	let who = funded::<T>("requester", 0);
	let id = identity(b'u', 0);
	let (cert, proof) = registration::<T>(&certified_key(&id, 0), &who, RegistrationKind::Identity);
	DataMarket::<T>::register_identity(RawOrigin::Signed(who.clone()).into(), id, cert, proof)?;
	Ok(who)
}

/// An agreement on `s` sensors and `e` epochs, in the state `stage` reached.
struct Fixture<T: Config> {
	id: AgreementId,
	owner: T::AccountId,
	requester: T::AccountId,
	provider: T::AccountId,
}

#[derive(PartialEq, PartialOrd)]
enum Stage {
	Requested,
	Accepted,
	/// The first epoch delivered, the rest not.
	PartlyDelivered,
	Delivered,
}

fn rekeys<T: Config>(s: u32, e: u32) -> ReKeysOf<T> {
	let per_sensor = BoundedVec::truncate_from(vec![[7u8; 32]; e as usize]);
	BoundedVec::truncate_from(vec![per_sensor; s as usize])
}

/// The first `n` sensor-epochs, in ascending order, of `s` sensors over epochs
/// `first..=last`, as delivered empty.
fn empty<T: Config>(s: u32, first: u64, last: u64, n: u32) -> EmptyEpochsOf<T> {
	let all =
		(0..s).flat_map(|sensor| (first..=last).map(move |epoch| EmptyEpoch { sensor, epoch }));
	BoundedVec::truncate_from(all.take(n as usize).collect())
}

fn agreement<T: Config>(s: u32, e: u32, stage: Stage) -> Result<Fixture<T>, BenchmarkError> {
	let provider = setup_market::<T>();
	let owner = funded::<T>("owner", 0);
	let requester = requester::<T>()?;
	let ids = sensors::<T>(&owner, &provider, s)?;
	let id = NextAgreementId::<T>::get();
	DataMarket::<T>::request_data(
		RawOrigin::Signed(requester.clone()).into(),
		ids,
		0,
		u64::from(e) - 1,
		BalanceOf::<T>::max_value(),
	)?;
	if stage >= Stage::Accepted {
		DataMarket::<T>::accept_request(
			RawOrigin::Signed(owner.clone()).into(),
			id,
			rekeys::<T>(s, e),
		)?;
	}
	if stage == Stage::PartlyDelivered || (stage == Stage::Delivered && e > 1) {
		DataMarket::<T>::deliver(
			RawOrigin::Signed(provider.clone()).into(),
			id,
			0,
			max_bytes::<T::MaxLocationLen>(),
			[9u8; 32],
			empty::<T>(s, 0, 0, s),
		)?;
	}
	if stage >= Stage::Delivered {
		let first = if e > 1 { 1 } else { 0 };
		DataMarket::<T>::deliver(
			RawOrigin::Signed(provider.clone()).into(),
			id,
			u64::from(e) - 1,
			max_bytes::<T::MaxLocationLen>(),
			[9u8; 32],
			empty::<T>(s, first, u64::from(e) - 1, s),
		)?;
	}
	Ok(Fixture { id, owner, requester, provider })
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn set_ca_key() -> Result<(), BenchmarkError> {
		let origin =
			T::CaOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		let key = cbpre::dev::DEV_CA_PUBLIC;

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, key);

		assert_eq!(CaKey::<T>::get(), Some(key));
		assert_last_event::<T>(Event::CaKeyRotated { key });
		Ok(())
	}

	#[benchmark]
	fn register_provider() {
		let who = funded::<T>("provider", 1);
		let endpoint = max_bytes::<T::MaxEndpointLen>();

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), endpoint.clone(), price::<T>());

		assert!(Providers::<T>::contains_key(&who));
		assert_last_event::<T>(Event::ProviderRegistered {
			provider: who,
			endpoint,
			fee_per_epoch: price::<T>(),
		});
	}

	#[benchmark]
	fn register_identity() {
		setup_market::<T>();
		let who = funded::<T>("user", 0);
		let id = identity(b'u', 1);
		let (cert, proof) =
			registration::<T>(&certified_key(&id, 0), &who, RegistrationKind::Identity);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), id.clone(), cert, proof);

		assert_eq!(UserIds::<T>::get(&id), Some(who));
	}

	#[benchmark]
	fn register_sensor() {
		let provider = setup_market::<T>();
		let owner = funded::<T>("owner", 0);
		let id = identity(b's', 0);
		let (cert, proof) =
			registration::<T>(&certified_key(&id, 0), &owner, RegistrationKind::Sensor);

		#[extrinsic_call]
		_(
			RawOrigin::Signed(owner.clone()),
			id.clone(),
			cert,
			proof,
			price::<T>(),
			60,
			0,
			provider,
			max_bytes::<T::MaxDescriptionLen>(),
		);

		assert!(Sensors::<T>::get(&id).is_some_and(|s| s.owner == owner));
	}

	#[benchmark]
	fn update_sensor() -> Result<(), BenchmarkError> {
		let provider = setup_market::<T>();
		let owner = funded::<T>("owner", 0);
		let id = sensors::<T>(&owner, &provider, 1)?[0].clone();
		let new_price = price::<T>() + One::one();

		#[extrinsic_call]
		_(
			RawOrigin::Signed(owner),
			id.clone(),
			Some(new_price),
			Some(max_bytes::<T::MaxDescriptionLen>()),
			Some(false),
		);

		assert_last_event::<T>(Event::SensorUpdated {
			sensor: id,
			price_per_epoch: new_price,
			active: false,
		});
		Ok(())
	}

	#[benchmark]
	fn deregister_sensor() -> Result<(), BenchmarkError> {
		let provider = setup_market::<T>();
		let owner = funded::<T>("owner", 0);
		let id = sensors::<T>(&owner, &provider, 1)?[0].clone();

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id.clone());

		assert!(!Sensors::<T>::contains_key(&id));
		assert_last_event::<T>(Event::SensorDeregistered { sensor: id });
		Ok(())
	}

	#[benchmark]
	fn request_data(
		s: Linear<1, { T::MaxSensorsPerRequest::get() }>,
	) -> Result<(), BenchmarkError> {
		let provider = setup_market::<T>();
		let owner = funded::<T>("owner", 0);
		let requester = requester::<T>()?;
		let ids = sensors::<T>(&owner, &provider, s)?;
		let last = u64::from(T::MaxEpochsPerRequest::get()) - 1;
		let id = NextAgreementId::<T>::get();
		fill_deadlines::<T>(frame_system::Pallet::<T>::block_number() + T::DeliveryPeriod::get());

		#[extrinsic_call]
		_(RawOrigin::Signed(requester), ids, 0, last, BalanceOf::<T>::max_value());

		assert!(Agreements::<T>::contains_key(id));
		Ok(())
	}

	#[benchmark]
	fn accept_request(
		s: Linear<1, { T::MaxSensorsPerRequest::get() }>,
		e: Linear<1, { T::MaxEpochsPerRequest::get() }>,
	) -> Result<(), BenchmarkError> {
		let fixture = agreement::<T>(s, e, Stage::Requested)?;
		let rekeys = rekeys::<T>(s, e);

		#[extrinsic_call]
		_(RawOrigin::Signed(fixture.owner), fixture.id, rekeys.clone());

		assert_last_event::<T>(Event::RequestAccepted { id: fixture.id, rekeys });
		Ok(())
	}

	#[benchmark]
	fn reject_request(
		s: Linear<1, { T::MaxSensorsPerRequest::get() }>,
	) -> Result<(), BenchmarkError> {
		let fixture = agreement::<T>(s, T::MaxEpochsPerRequest::get(), Stage::Requested)?;

		#[extrinsic_call]
		_(RawOrigin::Signed(fixture.owner), fixture.id);

		assert!(!Agreements::<T>::contains_key(fixture.id));
		Ok(())
	}

	#[benchmark]
	fn cancel_request(
		s: Linear<1, { T::MaxSensorsPerRequest::get() }>,
	) -> Result<(), BenchmarkError> {
		let fixture = agreement::<T>(s, T::MaxEpochsPerRequest::get(), Stage::Requested)?;

		#[extrinsic_call]
		_(RawOrigin::Signed(fixture.requester), fixture.id);

		assert!(!Agreements::<T>::contains_key(fixture.id));
		Ok(())
	}

	/// The last delivery of the largest agreement, with `e` of its sensor-epochs
	/// empty.
	#[benchmark]
	fn deliver(e: Linear<0, { MaxSensorEpochs::<T>::get() }>) -> Result<(), BenchmarkError> {
		let (sensors, epochs) = (T::MaxSensorsPerRequest::get(), T::MaxEpochsPerRequest::get());
		let fixture = agreement::<T>(sensors, epochs, Stage::Accepted)?;
		let location = max_bytes::<T::MaxLocationLen>();
		let last = u64::from(epochs) - 1;
		let empty = empty::<T>(sensors, 0, last, e);
		fill_deadlines::<T>(
			frame_system::Pallet::<T>::block_number() + T::ConfirmationPeriod::get(),
		);

		#[extrinsic_call]
		_(RawOrigin::Signed(fixture.provider), fixture.id, last, location, [9u8; 32], empty);

		assert!(Agreements::<T>::get(fixture.id)
			.is_some_and(|a| a.status == AgreementStatus::Delivered && a.empty_epochs == e));
		assert_eq!(EmptyEpochs::<T>::get(fixture.id).len(), e as usize);
		Ok(())
	}

	#[benchmark]
	fn confirm(s: Linear<1, { T::MaxSensorsPerRequest::get() }>) -> Result<(), BenchmarkError> {
		let fixture = agreement::<T>(s, T::MaxEpochsPerRequest::get(), Stage::Delivered)?;

		#[extrinsic_call]
		_(RawOrigin::Signed(fixture.requester), fixture.id);

		assert!(!Agreements::<T>::contains_key(fixture.id));
		assert!(!ReKeys::<T>::contains_key(fixture.id));
		Ok(())
	}

	/// The heaviest outcome of a deadline: a lapsed agreement, whose delivered epochs
	/// are paid to owner and provider and the rest refunded.
	#[benchmark]
	fn expire(s: Linear<1, { T::MaxSensorsPerRequest::get() }>) -> Result<(), BenchmarkError> {
		let fixture = agreement::<T>(s, T::MaxEpochsPerRequest::get(), Stage::PartlyDelivered)?;
		let deadline = Agreements::<T>::get(fixture.id)
			.map(|a| a.deadline)
			.ok_or(BenchmarkError::Stop("no agreement"))?;
		frame_system::Pallet::<T>::set_block_number(deadline + One::one());
		// Long after the awaited epoch ended: no more time is given.
		T::BenchmarkHelper::set_time(u64::MAX / 2);
		let caller = funded::<T>("anyone", 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), fixture.id);

		assert!(!Agreements::<T>::contains_key(fixture.id));
		Ok(())
	}

	/// Adding `e` epochs' re-keys to an agreement that has those of all the others,
	/// so that the stored re-keys read and written are the most there can be.
	#[benchmark]
	fn add_rekeys(
		s: Linear<1, { T::MaxSensorsPerRequest::get() }>,
		e: Linear<1, { T::MaxEpochsPerRequest::get() }>,
	) -> Result<(), BenchmarkError> {
		let max = T::MaxEpochsPerRequest::get();
		let fixture = agreement::<T>(s, max, Stage::Requested)?;
		DataMarket::<T>::accept_request(
			RawOrigin::Signed(fixture.owner.clone()).into(),
			fixture.id,
			rekeys::<T>(s, max - e),
		)?;
		let rekeys = rekeys::<T>(s, e);

		#[extrinsic_call]
		_(RawOrigin::Signed(fixture.owner), fixture.id, u64::from(max - e), rekeys.clone());

		assert_last_event::<T>(Event::ReKeysAdded {
			id: fixture.id,
			first_epoch: u64::from(max - e),
			rekeys,
		});
		Ok(())
	}

	/// One step of `on_idle` over a block with no deadline left, with the hook's
	/// fixed cost (reading and writing the cursor).
	#[benchmark]
	fn deadline_step() {
		let now: BlockNumberFor<T> = 10u32.into();
		DeadlineCursor::<T>::put(now - One::one());

		#[block]
		{
			DataMarket::<T>::process_deadlines(now);
		}

		assert_eq!(DeadlineCursor::<T>::get(), now);
	}

	#[benchmark]
	fn deregister_identity() -> Result<(), BenchmarkError> {
		setup_market::<T>();
		let who = requester::<T>()?;

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));

		assert!(!Users::<T>::contains_key(&who));
		Ok(())
	}

	#[benchmark]
	fn update_identity() -> Result<(), BenchmarkError> {
		setup_market::<T>();
		let who = requester::<T>()?;
		let key = certified_key(&identity(b'u', 0), 1);
		let (cert, proof) = registration::<T>(&key, &who, RegistrationKind::Identity);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), cert, proof);

		assert!(Users::<T>::get(&who).is_some_and(|u| u.cert == cert));
		Ok(())
	}

	#[benchmark]
	fn update_provider() {
		let provider = setup_market::<T>();
		let endpoint = max_bytes::<T::MaxEndpointLen>();

		#[extrinsic_call]
		_(RawOrigin::Signed(provider.clone()), Some(endpoint.clone()), Some(One::one()));

		assert_last_event::<T>(Event::ProviderUpdated {
			provider,
			endpoint,
			fee_per_epoch: One::one(),
		});
	}

	#[benchmark]
	fn deregister_provider() {
		let provider = setup_market::<T>();

		#[extrinsic_call]
		_(RawOrigin::Signed(provider.clone()));

		assert!(!Providers::<T>::contains_key(&provider));
	}

	impl_benchmark_test_suite!(DataMarket, crate::mock::new_test_ext(), crate::mock::Test);
}
