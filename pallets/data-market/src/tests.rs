//! The data market's behaviour, one sentence a test.

use crate::{mock::*, *};
use cbpre::{Meta, SecretKey};
use frame_support::{
	assert_noop, assert_ok,
	traits::{
		fungible::{Inspect, InspectHold},
		Hooks,
	},
	weights::Weight,
	BoundedVec,
};
use sp_runtime::{ArithmeticError, DispatchError, DispatchResult};

const PRICE: Balance = 5;
const EPOCH_SECS: u64 = 60;

fn id(bytes: &[u8]) -> IdBytes {
	bytes.to_vec().try_into().expect("test ids fit")
}

fn bounded<const N: u32>(bytes: &[u8]) -> BoundedVec<u8, ConstU32<N>> {
	bytes.to_vec().try_into().expect("test bytes fit")
}

use frame_support::traits::ConstU32;

fn register_sensor_for(owner: AccountId, name: &[u8], price: Balance) -> SecretKey {
	let key = certify(name);
	assert_ok!(DataMarket::register_sensor(
		RuntimeOrigin::signed(owner),
		id(name),
		key.certificate().to_bytes(),
		price,
		EPOCH_SECS,
		PROVIDER,
		bounded(b"kitchen, 21 C"),
	));
	key
}

/// `register_sensor` of `name` by `owner`, at the tests' price, with no description.
fn try_register_sensor(
	owner: AccountId,
	name: &[u8],
	cert: PointBytes,
	epoch_secs: u64,
	provider: AccountId,
) -> DispatchResult {
	DataMarket::register_sensor(
		RuntimeOrigin::signed(owner),
		id(name),
		cert,
		PRICE,
		epoch_secs,
		provider,
		bounded(b""),
	)
}

fn register_user(who: AccountId, name: &[u8]) -> SecretKey {
	let key = certify(name);
	assert_ok!(DataMarket::register_identity(
		RuntimeOrigin::signed(who),
		id(name),
		key.certificate().to_bytes()
	));
	key
}

fn sensors(names: &[&[u8]]) -> BoundedVec<IdBytes, ConstU32<4>> {
	names.iter().map(|n| id(n)).collect::<Vec<_>>().try_into().expect("few sensors")
}

fn request(names: &[&[u8]], from: u64, to: u64) -> AgreementId {
	let next = NextAgreementId::<Test>::get();
	assert_ok!(DataMarket::request_data(
		RuntimeOrigin::signed(REQUESTER),
		sensors(names),
		from,
		to,
		Balance::MAX
	));
	next
}

/// The real re-keys: for each sensor, one per epoch, for the requester's key.
fn rekeys(keys: &[&SecretKey], requester: &SecretKey, from: u64, to: u64) -> ReKeysOf<Test> {
	keys.iter()
		.map(|k| {
			(from..=to)
				.map(|t| {
					k.rekey(&Meta::new(*k.id(), t), requester.public_key())
						.expect("rekey")
						.to_bytes()
				})
				.collect::<Vec<_>>()
				.try_into()
				.expect("few epochs")
		})
		.collect::<Vec<_>>()
		.try_into()
		.expect("few sensors")
}

fn escrow_held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::Escrow.into(), &who)
}

fn deposit_held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::Registration.into(), &who)
}

/// A sensor "s1" of OWNER, a registered requester, and an accepted agreement for
/// epochs 10..=12.
fn accepted_agreement() -> (SecretKey, SecretKey, AgreementId) {
	let sensor = register_sensor_for(OWNER, b"s1", PRICE);
	let user = register_user(REQUESTER, b"bob");
	let a = request(&[b"s1"], 10, 12);
	assert_ok!(DataMarket::accept_request(
		RuntimeOrigin::signed(OWNER),
		a,
		rekeys(&[&sensor], &user, 10, 12)
	));
	(sensor, user, a)
}

fn delivered_agreement() -> AgreementId {
	let (_, _, a) = accepted_agreement();
	assert_ok!(DataMarket::deliver(
		RuntimeOrigin::signed(PROVIDER),
		a,
		12,
		bounded(b"/d/0"),
		[7; 32]
	));
	a
}

mod genesis {
	use super::*;

	#[test]
	fn genesis_sets_the_ca_key_and_the_provider() {
		new_test_ext().execute_with(|| {
			assert_eq!(CaKey::<Test>::get(), Some(ca().public_key().to_bytes()));
			let p = Providers::<Test>::get(PROVIDER).expect("genesis provider");
			assert_eq!(p.fee_per_epoch, PROVIDER_FEE);
			assert_eq!(deposit_held(PROVIDER), 0, "genesis providers pay no deposit");
		});
	}
}

mod ca_key {
	use super::*;

	#[test]
	fn root_rotates_the_ca_key() {
		new_test_ext().execute_with(|| {
			let new =
				cbpre::CaSecretKey::from_bytes(&[9; 32]).expect("key").public_key().to_bytes();
			assert_ok!(DataMarket::set_ca_key(RuntimeOrigin::root(), new));
			assert_eq!(CaKey::<Test>::get(), Some(new));
			System::assert_last_event(Event::CaKeyRotated { key: new }.into());
		});
	}

	#[test]
	fn only_root_rotates_the_ca_key() {
		new_test_ext().execute_with(|| {
			let new =
				cbpre::CaSecretKey::from_bytes(&[9; 32]).expect("key").public_key().to_bytes();
			assert_noop!(
				DataMarket::set_ca_key(RuntimeOrigin::signed(OWNER), new),
				DispatchError::BadOrigin
			);
		});
	}

	#[test]
	fn a_ca_key_that_is_no_point_is_refused() {
		new_test_ext().execute_with(|| {
			assert_noop!(
				DataMarket::set_ca_key(RuntimeOrigin::root(), [0; 33]),
				Error::<Test>::InvalidCaKey
			);
		});
	}

	#[test]
	fn a_stored_ca_key_that_is_no_point_refuses_registrations() {
		new_test_ext().execute_with(|| {
			CaKey::<Test>::put([4; 33]);
			let key = certify(b"bob");
			assert_noop!(
				DataMarket::register_identity(
					RuntimeOrigin::signed(REQUESTER),
					id(b"bob"),
					key.certificate().to_bytes()
				),
				Error::<Test>::InvalidCaKey
			);
		});
	}

	#[test]
	fn without_a_ca_key_nothing_registers() {
		new_test_ext().execute_with(|| {
			CaKey::<Test>::kill();
			let key = certify(b"bob");
			assert_noop!(
				DataMarket::register_identity(
					RuntimeOrigin::signed(REQUESTER),
					id(b"bob"),
					key.certificate().to_bytes()
				),
				Error::<Test>::CaKeyNotSet
			);
		});
	}
}

mod providers {
	use super::*;

	#[test]
	fn a_provider_registers_with_its_endpoint_and_fee_and_pays_a_deposit() {
		new_test_ext().execute_with(|| {
			assert_ok!(DataMarket::register_provider(
				RuntimeOrigin::signed(PROVIDER_2),
				bounded(b"https://cloud.example"),
				3
			));
			assert_eq!(deposit_held(PROVIDER_2), DEPOSIT);
			System::assert_last_event(
				Event::ProviderRegistered {
					provider: PROVIDER_2,
					endpoint: bounded(b"https://cloud.example"),
					fee_per_epoch: 3,
				}
				.into(),
			);
		});
	}

	#[test]
	fn a_provider_cannot_register_twice() {
		new_test_ext().execute_with(|| {
			assert_noop!(
				DataMarket::register_provider(RuntimeOrigin::signed(PROVIDER), bounded(b"x"), 1),
				Error::<Test>::ProviderAlreadyRegistered
			);
		});
	}

	#[test]
	fn a_provider_without_the_deposit_is_refused() {
		new_test_ext().execute_with(|| {
			assert_noop!(
				DataMarket::register_provider(RuntimeOrigin::signed(POOR), bounded(b"x"), 1),
				Error::<Test>::InsufficientBalance
			);
		});
	}
}

mod identities {
	use super::*;

	#[test]
	fn a_user_registers_and_the_pallet_derives_the_same_key_as_the_user_holds() {
		new_test_ext().execute_with(|| {
			let key = register_user(REQUESTER, b"bob");
			let info = Users::<Test>::get(REQUESTER).expect("registered");
			assert_eq!(info.public_key, key.public_key().to_bytes());
			assert_eq!(UserIds::<Test>::get(id(b"bob")), Some(REQUESTER));
			assert_eq!(deposit_held(REQUESTER), DEPOSIT);
			System::assert_last_event(
				Event::IdentityRegistered {
					who: REQUESTER,
					id: id(b"bob"),
					public_key: key.public_key().to_bytes(),
				}
				.into(),
			);
		});
	}

	#[test]
	fn a_user_cannot_register_twice() {
		new_test_ext().execute_with(|| {
			register_user(REQUESTER, b"bob");
			let other = certify(b"bob2");
			assert_noop!(
				DataMarket::register_identity(
					RuntimeOrigin::signed(REQUESTER),
					id(b"bob2"),
					other.certificate().to_bytes()
				),
				Error::<Test>::AlreadyRegistered
			);
		});
	}

	#[test]
	fn an_identity_taken_by_a_sensor_or_a_user_is_refused() {
		new_test_ext().execute_with(|| {
			let sensor = register_sensor_for(OWNER, b"s1", PRICE);
			register_user(REQUESTER, b"bob");
			assert_noop!(
				DataMarket::register_identity(
					RuntimeOrigin::signed(OTHER),
					id(b"s1"),
					sensor.certificate().to_bytes()
				),
				Error::<Test>::IdentityTaken
			);
			let bob = certify(b"bob");
			assert_noop!(
				try_register_sensor(
					OWNER,
					b"bob",
					bob.certificate().to_bytes(),
					EPOCH_SECS,
					PROVIDER
				),
				Error::<Test>::IdentityTaken
			);
		});
	}

	#[test]
	fn an_empty_identity_is_refused() {
		new_test_ext().execute_with(|| {
			let key = certify(b"bob");
			assert_noop!(
				DataMarket::register_identity(
					RuntimeOrigin::signed(REQUESTER),
					id(b""),
					key.certificate().to_bytes()
				),
				Error::<Test>::EmptyIdentity
			);
		});
	}

	#[test]
	fn a_certificate_that_does_not_decode_is_refused() {
		new_test_ext().execute_with(|| {
			let mut cert = certify(b"bob").certificate().to_bytes();
			cert[0] = 0x05;
			assert_noop!(
				DataMarket::register_identity(RuntimeOrigin::signed(REQUESTER), id(b"bob"), cert),
				Error::<Test>::InvalidCertificate
			);
		});
	}

	#[test]
	fn a_user_without_the_deposit_is_refused() {
		new_test_ext().execute_with(|| {
			let key = certify(b"poor");
			assert_noop!(
				DataMarket::register_identity(
					RuntimeOrigin::signed(POOR),
					id(b"poor"),
					key.certificate().to_bytes()
				),
				Error::<Test>::InsufficientBalance
			);
		});
	}
}

mod sensors {
	use super::*;

	#[test]
	fn an_owner_registers_a_sensor_whose_key_the_pallet_derives() {
		new_test_ext().execute_with(|| {
			let key = register_sensor_for(OWNER, b"\xa0\xe6\xf8\xb6\xd2\x01", PRICE);
			let info = Sensors::<Test>::get(id(b"\xa0\xe6\xf8\xb6\xd2\x01")).expect("registered");
			assert_eq!(info.public_key, key.public_key().to_bytes());
			assert_eq!(info.owner, OWNER);
			assert!(info.active);
			assert_eq!(deposit_held(OWNER), DEPOSIT);
			System::assert_last_event(
				Event::SensorRegistered {
					sensor: id(b"\xa0\xe6\xf8\xb6\xd2\x01"),
					owner: OWNER,
					public_key: key.public_key().to_bytes(),
					price_per_epoch: PRICE,
					epoch_secs: EPOCH_SECS,
					provider: PROVIDER,
				}
				.into(),
			);
		});
	}

	#[test]
	fn a_sensor_needs_a_registered_provider() {
		new_test_ext().execute_with(|| {
			let key = certify(b"s1");
			assert_noop!(
				try_register_sensor(OWNER, b"s1", key.certificate().to_bytes(), EPOCH_SECS, OTHER),
				Error::<Test>::UnknownProvider
			);
		});
	}

	#[test]
	fn a_sensor_needs_epochs_of_at_least_a_second() {
		new_test_ext().execute_with(|| {
			let key = certify(b"s1");
			assert_noop!(
				try_register_sensor(OWNER, b"s1", key.certificate().to_bytes(), 0, PROVIDER),
				Error::<Test>::ZeroEpochLength
			);
		});
	}

	#[test]
	fn the_owner_updates_price_description_and_availability() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			assert_ok!(DataMarket::update_sensor(
				RuntimeOrigin::signed(OWNER),
				id(b"s1"),
				Some(9),
				Some(bounded(b"moved to the garden")),
				Some(false)
			));
			let info = Sensors::<Test>::get(id(b"s1")).expect("registered");
			assert_eq!((info.price_per_epoch, info.active), (9, false));
			assert_eq!(info.description, bounded::<32>(b"moved to the garden"));
			System::assert_last_event(
				Event::SensorUpdated { sensor: id(b"s1"), price_per_epoch: 9, active: false }
					.into(),
			);
		});
	}

	#[test]
	fn only_the_owner_updates_or_deregisters_a_sensor() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			assert_noop!(
				DataMarket::update_sensor(
					RuntimeOrigin::signed(OTHER),
					id(b"s1"),
					Some(1),
					None,
					None
				),
				Error::<Test>::NotSensorOwner
			);
			assert_noop!(
				DataMarket::deregister_sensor(RuntimeOrigin::signed(OTHER), id(b"s1")),
				Error::<Test>::NotSensorOwner
			);
		});
	}

	#[test]
	fn an_unknown_sensor_cannot_be_updated_or_deregistered() {
		new_test_ext().execute_with(|| {
			assert_noop!(
				DataMarket::update_sensor(
					RuntimeOrigin::signed(OWNER),
					id(b"nope"),
					None,
					None,
					None
				),
				Error::<Test>::UnknownSensor
			);
			assert_noop!(
				DataMarket::deregister_sensor(RuntimeOrigin::signed(OWNER), id(b"nope")),
				Error::<Test>::UnknownSensor
			);
		});
	}

	#[test]
	fn deregistering_releases_the_deposit_and_frees_the_identity() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			assert_ok!(DataMarket::deregister_sensor(RuntimeOrigin::signed(OWNER), id(b"s1")));
			assert_eq!(deposit_held(OWNER), 0);
			assert!(!Sensors::<Test>::contains_key(id(b"s1")));
			System::assert_last_event(Event::SensorDeregistered { sensor: id(b"s1") }.into());
			register_sensor_for(OTHER_OWNER, b"s1", PRICE);
		});
	}

	#[test]
	fn a_sensor_in_an_open_agreement_cannot_be_deregistered() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			register_user(REQUESTER, b"bob");
			request(&[b"s1"], 0, 0);
			assert_noop!(
				DataMarket::deregister_sensor(RuntimeOrigin::signed(OWNER), id(b"s1")),
				Error::<Test>::SensorInUse
			);
		});
	}
}

mod requests {
	use super::*;

	#[test]
	fn a_request_holds_price_and_fee_in_escrow_and_opens_an_agreement() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			register_sensor_for(OWNER, b"s2", PRICE + 1);
			register_user(REQUESTER, b"bob");
			let free_before = Balances::balance(&REQUESTER);
			let a = request(&[b"s1", b"s2"], 100, 102);
			// 3 epochs: (5 + 6) * 3 to the owner, 2 * 2 sensors * 3 epochs to the provider.
			let (price, fee) = (33, 12);
			assert_eq!(escrow_held(REQUESTER), price + fee);
			assert_eq!(Balances::balance(&REQUESTER), free_before - price - fee);
			let agreement = Agreements::<Test>::get(a).expect("open");
			assert_eq!(agreement.status, AgreementStatus::Requested);
			assert_eq!((agreement.price, agreement.fee, agreement.deadline), (price, fee, 11));
			assert_eq!(Sensors::<Test>::get(id(b"s1")).expect("s1").open_agreements, 1);
			assert!(Deadlines::<Test>::contains_key(11, a));
			System::assert_last_event(
				Event::DataRequested {
					id: a,
					requester: REQUESTER,
					owner: OWNER,
					sensors: sensors(&[b"s1", b"s2"]),
					from_epoch: 100,
					to_epoch: 102,
					price,
					fee,
					deadline: 11,
				}
				.into(),
			);
		});
	}

	fn assert_refused(names: &[&[u8]], from: u64, to: u64, max: Balance, error: Error<Test>) {
		assert_noop!(
			DataMarket::request_data(
				RuntimeOrigin::signed(REQUESTER),
				sensors(names),
				from,
				to,
				max
			),
			error
		);
	}

	#[test]
	fn only_a_registered_user_may_request() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			assert_refused(&[b"s1"], 0, 0, 100, Error::<Test>::RequesterNotRegistered);
		});
	}

	#[test]
	fn a_request_must_name_sensors_that_exist_once_each_and_take_requests() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			register_sensor_for(OWNER, b"s2", PRICE);
			register_user(REQUESTER, b"bob");
			assert_refused(&[], 0, 0, 100, Error::<Test>::NoSensors);
			assert_refused(&[b"s1", b"zz"], 0, 0, 100, Error::<Test>::UnknownSensor);
			assert_refused(&[b"s1", b"s1"], 0, 0, 100, Error::<Test>::DuplicateSensor);
			assert_ok!(DataMarket::update_sensor(
				RuntimeOrigin::signed(OWNER),
				id(b"s2"),
				None,
				None,
				Some(false)
			));
			assert_refused(&[b"s1", b"s2"], 0, 0, 100, Error::<Test>::SensorInactive);
		});
	}

	#[test]
	fn the_sensors_of_a_request_share_owner_provider_and_epoch_length() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			register_sensor_for(OTHER_OWNER, b"o1", PRICE);
			assert_ok!(DataMarket::register_provider(
				RuntimeOrigin::signed(PROVIDER_2),
				bounded(b"p2"),
				1
			));
			let k = certify(b"s2");
			assert_ok!(try_register_sensor(
				OWNER,
				b"s2",
				k.certificate().to_bytes(),
				EPOCH_SECS,
				PROVIDER_2
			));
			let k = certify(b"s3");
			assert_ok!(try_register_sensor(
				OWNER,
				b"s3",
				k.certificate().to_bytes(),
				EPOCH_SECS * 2,
				PROVIDER
			));
			register_user(REQUESTER, b"bob");
			assert_refused(&[b"s1", b"o1"], 0, 0, 100, Error::<Test>::MixedOwners);
			assert_refused(&[b"s1", b"s2"], 0, 0, 100, Error::<Test>::MixedProviders);
			assert_refused(&[b"s1", b"s3"], 0, 0, 100, Error::<Test>::MixedEpochLengths);
		});
	}

	#[test]
	fn a_request_covers_an_ordered_range_of_at_most_max_epochs() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			register_user(REQUESTER, b"bob");
			assert_refused(&[b"s1"], 5, 4, 1000, Error::<Test>::InvalidEpochRange);
			assert_refused(&[b"s1"], 0, 8, 1000, Error::<Test>::TooManyEpochs);
			assert_ok!(DataMarket::request_data(
				RuntimeOrigin::signed(REQUESTER),
				sensors(&[b"s1"]),
				0,
				7,
				1000
			));
		});
	}

	#[test]
	fn a_request_above_the_requesters_maximum_is_refused() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			register_user(REQUESTER, b"bob");
			// One epoch costs 5 + 2.
			assert_refused(&[b"s1"], 0, 0, 6, Error::<Test>::PriceExceedsMax);
			assert_ok!(DataMarket::request_data(
				RuntimeOrigin::signed(REQUESTER),
				sensors(&[b"s1"]),
				0,
				0,
				7
			));
		});
	}

	#[test]
	fn a_request_the_requester_cannot_pay_is_refused() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", INITIAL_BALANCE);
			register_user(REQUESTER, b"bob");
			assert_refused(&[b"s1"], 0, 0, Balance::MAX, Error::<Test>::InsufficientBalance);
		});
	}

	#[test]
	fn a_price_that_overflows_is_refused() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", Balance::MAX / 2);
			register_user(REQUESTER, b"bob");
			assert_noop!(
				DataMarket::request_data(
					RuntimeOrigin::signed(REQUESTER),
					sensors(&[b"s1"]),
					0,
					3,
					Balance::MAX
				),
				ArithmeticError::Overflow
			);
		});
	}

	#[test]
	fn a_request_to_a_provider_that_is_gone_is_refused() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			register_user(REQUESTER, b"bob");
			Providers::<Test>::remove(PROVIDER);
			assert_refused(&[b"s1"], 0, 0, 100, Error::<Test>::UnknownProvider);
		});
	}
}

mod acceptance {
	use super::*;

	#[test]
	fn the_owner_accepts_with_one_rekey_per_sensor_and_epoch_published_in_the_event() {
		new_test_ext().execute_with(|| {
			let sensor = register_sensor_for(OWNER, b"s1", PRICE);
			let user = register_user(REQUESTER, b"bob");
			let a = request(&[b"s1"], 10, 12);
			let keys = rekeys(&[&sensor], &user, 10, 12);
			assert_ok!(DataMarket::accept_request(RuntimeOrigin::signed(OWNER), a, keys.clone()));
			assert_eq!(Agreements::<Test>::get(a).expect("open").status, AgreementStatus::Accepted);
			assert_eq!(ReKeys::<Test>::get(a), Some(keys.clone()));
			assert_eq!(escrow_held(REQUESTER), 21, "escrow stays held until settlement");
			System::assert_last_event(Event::RequestAccepted { id: a, rekeys: keys }.into());
		});
	}

	#[test]
	fn only_the_owner_accepts() {
		new_test_ext().execute_with(|| {
			let sensor = register_sensor_for(OWNER, b"s1", PRICE);
			let user = register_user(REQUESTER, b"bob");
			let a = request(&[b"s1"], 0, 0);
			assert_noop!(
				DataMarket::accept_request(
					RuntimeOrigin::signed(OTHER),
					a,
					rekeys(&[&sensor], &user, 0, 0)
				),
				Error::<Test>::NotAgreementOwner
			);
		});
	}

	#[test]
	fn an_unknown_agreement_cannot_be_accepted() {
		new_test_ext().execute_with(|| {
			assert_noop!(
				DataMarket::accept_request(RuntimeOrigin::signed(OWNER), 42, Default::default()),
				Error::<Test>::UnknownAgreement
			);
		});
	}

	#[test]
	fn an_agreement_is_accepted_once() {
		new_test_ext().execute_with(|| {
			let (sensor, user, a) = accepted_agreement();
			assert_noop!(
				DataMarket::accept_request(
					RuntimeOrigin::signed(OWNER),
					a,
					rekeys(&[&sensor], &user, 10, 12)
				),
				Error::<Test>::AgreementNotPending
			);
		});
	}

	#[test]
	fn the_rekeys_must_give_every_sensor_the_same_run_of_epochs_within_the_agreement() {
		new_test_ext().execute_with(|| {
			let s1 = register_sensor_for(OWNER, b"s1", PRICE);
			let s2 = register_sensor_for(OWNER, b"s2", PRICE);
			let user = register_user(REQUESTER, b"bob");
			let a = request(&[b"s1", b"s2"], 0, 2);
			let mut uneven = rekeys(&[&s1, &s2], &user, 0, 2);
			uneven[1].pop();
			for wrong in [rekeys(&[&s1], &user, 0, 2), rekeys(&[&s1, &s2], &user, 0, 3), uneven] {
				assert_noop!(
					DataMarket::accept_request(RuntimeOrigin::signed(OWNER), a, wrong),
					Error::<Test>::ReKeyCountMismatch
				);
			}
		});
	}

	#[test]
	fn an_agreement_past_its_deadline_cannot_be_accepted() {
		new_test_ext().execute_with(|| {
			let sensor = register_sensor_for(OWNER, b"s1", PRICE);
			let user = register_user(REQUESTER, b"bob");
			let a = request(&[b"s1"], 0, 0);
			System::set_block_number(12);
			assert_noop!(
				DataMarket::accept_request(
					RuntimeOrigin::signed(OWNER),
					a,
					rekeys(&[&sensor], &user, 0, 0)
				),
				Error::<Test>::DeadlinePassed
			);
		});
	}

	#[test]
	fn the_owner_rejects_and_the_requester_is_refunded() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			register_user(REQUESTER, b"bob");
			let before = Balances::balance(&REQUESTER);
			let a = request(&[b"s1"], 0, 1);
			assert_ok!(DataMarket::reject_request(RuntimeOrigin::signed(OWNER), a));
			assert_eq!(escrow_held(REQUESTER), 0);
			assert_eq!(Balances::balance(&REQUESTER), before);
			assert!(!Agreements::<Test>::contains_key(a));
			assert!(!Deadlines::<Test>::contains_key(11, a));
			assert_eq!(Sensors::<Test>::get(id(b"s1")).expect("s1").open_agreements, 0);
			System::assert_last_event(Event::RequestRejected { id: a, refunded: 14 }.into());
		});
	}

	#[test]
	fn only_the_owner_rejects_and_only_a_pending_request() {
		new_test_ext().execute_with(|| {
			let (_, _, a) = accepted_agreement();
			assert_noop!(
				DataMarket::reject_request(RuntimeOrigin::signed(OTHER), a),
				Error::<Test>::NotAgreementOwner
			);
			assert_noop!(
				DataMarket::reject_request(RuntimeOrigin::signed(OWNER), a),
				Error::<Test>::AgreementNotPending
			);
		});
	}

	#[test]
	fn the_requester_cancels_a_pending_request_and_is_refunded() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			register_user(REQUESTER, b"bob");
			let before = Balances::balance(&REQUESTER);
			let a = request(&[b"s1"], 0, 0);
			assert_ok!(DataMarket::cancel_request(RuntimeOrigin::signed(REQUESTER), a));
			assert_eq!(Balances::balance(&REQUESTER), before);
			System::assert_last_event(Event::RequestCancelled { id: a, refunded: 7 }.into());
		});
	}

	#[test]
	fn only_the_requester_cancels_and_only_before_acceptance() {
		new_test_ext().execute_with(|| {
			let (_, _, a) = accepted_agreement();
			assert_noop!(
				DataMarket::cancel_request(RuntimeOrigin::signed(OTHER), a),
				Error::<Test>::NotRequester
			);
			assert_noop!(
				DataMarket::cancel_request(RuntimeOrigin::signed(REQUESTER), a),
				Error::<Test>::AgreementNotPending
			);
		});
	}
}

mod delivery {
	use super::*;

	#[test]
	fn the_provider_delivers_and_the_confirmation_period_starts() {
		new_test_ext().execute_with(|| {
			let (_, _, a) = accepted_agreement();
			System::set_block_number(5);
			assert_ok!(DataMarket::deliver(
				RuntimeOrigin::signed(PROVIDER),
				a,
				12,
				bounded(b"/deliveries/0"),
				[7; 32]
			));
			let agreement = Agreements::<Test>::get(a).expect("open");
			assert_eq!(agreement.status, AgreementStatus::Delivered);
			assert_eq!(agreement.deadline, 25);
			assert_eq!(agreement.delivery, Some((bounded(b"/deliveries/0"), [7; 32])));
			assert!(Deadlines::<Test>::contains_key(25, a));
			assert!(!Deadlines::<Test>::contains_key(11, a));
			System::assert_last_event(
				Event::DataDelivered {
					id: a,
					through_epoch: 12,
					location: bounded(b"/deliveries/0"),
					digest: [7; 32],
					confirm_by: Some(25),
				}
				.into(),
			);
		});
	}

	#[test]
	fn only_the_sensors_provider_delivers() {
		new_test_ext().execute_with(|| {
			let (_, _, a) = accepted_agreement();
			assert_noop!(
				DataMarket::deliver(RuntimeOrigin::signed(OTHER), a, 12, bounded(b"/d"), [0; 32]),
				Error::<Test>::NotProvider
			);
		});
	}

	#[test]
	fn only_an_accepted_agreement_is_delivered() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			register_user(REQUESTER, b"bob");
			let a = request(&[b"s1"], 0, 0);
			assert_noop!(
				DataMarket::deliver(RuntimeOrigin::signed(PROVIDER), a, 0, bounded(b"/d"), [0; 32]),
				Error::<Test>::AgreementNotAccepted
			);
		});
	}

	#[test]
	fn a_delivery_needs_a_location() {
		new_test_ext().execute_with(|| {
			let (_, _, a) = accepted_agreement();
			assert_noop!(
				DataMarket::deliver(RuntimeOrigin::signed(PROVIDER), a, 12, bounded(b""), [0; 32]),
				Error::<Test>::EmptyLocation
			);
		});
	}

	#[test]
	fn a_delivery_after_the_deadline_is_refused() {
		new_test_ext().execute_with(|| {
			let (_, _, a) = accepted_agreement();
			System::set_block_number(12);
			assert_noop!(
				DataMarket::deliver(
					RuntimeOrigin::signed(PROVIDER),
					a,
					12,
					bounded(b"/d"),
					[0; 32]
				),
				Error::<Test>::DeadlinePassed
			);
		});
	}

	#[test]
	fn confirming_pays_owner_and_provider_and_forgets_the_rekeys() {
		new_test_ext().execute_with(|| {
			let a = delivered_agreement();
			let (owner, provider, requester) = (
				Balances::total_balance(&OWNER),
				Balances::total_balance(&PROVIDER),
				Balances::total_balance(&REQUESTER),
			);
			assert_ok!(DataMarket::confirm(RuntimeOrigin::signed(REQUESTER), a));
			assert_eq!(Balances::total_balance(&OWNER), owner + 15);
			assert_eq!(Balances::total_balance(&PROVIDER), provider + 6);
			assert_eq!(Balances::total_balance(&REQUESTER), requester - 21);
			assert_eq!(escrow_held(REQUESTER), 0);
			assert!(!Agreements::<Test>::contains_key(a));
			assert!(!ReKeys::<Test>::contains_key(a));
			assert_eq!(Deadlines::<Test>::iter().count(), 0);
			assert_eq!(Sensors::<Test>::get(id(b"s1")).expect("s1").open_agreements, 0);
			System::assert_last_event(
				Event::AgreementSettled {
					id: a,
					owner_paid: 15,
					provider_paid: 6,
					confirmed: true,
				}
				.into(),
			);
		});
	}

	#[test]
	fn only_the_requester_confirms_and_only_a_delivery() {
		new_test_ext().execute_with(|| {
			let (_, _, a) = accepted_agreement();
			assert_noop!(
				DataMarket::confirm(RuntimeOrigin::signed(REQUESTER), a),
				Error::<Test>::AgreementNotDelivered
			);
			assert_ok!(DataMarket::deliver(
				RuntimeOrigin::signed(PROVIDER),
				a,
				12,
				bounded(b"/d"),
				[0; 32]
			));
			assert_noop!(
				DataMarket::confirm(RuntimeOrigin::signed(OWNER), a),
				Error::<Test>::NotRequester
			);
		});
	}
}

mod deadlines {
	use super::*;

	#[test]
	fn anyone_expires_a_request_past_its_deadline_and_the_requester_is_refunded() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			register_user(REQUESTER, b"bob");
			let before = Balances::balance(&REQUESTER);
			let a = request(&[b"s1"], 0, 0);
			assert_noop!(
				DataMarket::expire(RuntimeOrigin::signed(OTHER), a),
				Error::<Test>::DeadlineNotReached
			);
			System::set_block_number(12);
			assert_ok!(DataMarket::expire(RuntimeOrigin::signed(OTHER), a));
			assert_eq!(Balances::balance(&REQUESTER), before);
			assert!(!Agreements::<Test>::contains_key(a));
			System::assert_last_event(Event::AgreementExpired { id: a, refunded: 7 }.into());
		});
	}

	#[test]
	fn an_accepted_but_undelivered_agreement_expires_with_a_refund() {
		new_test_ext().execute_with(|| {
			let (_, _, a) = accepted_agreement();
			System::set_block_number(12);
			assert_ok!(DataMarket::expire(RuntimeOrigin::signed(OTHER), a));
			assert!(!ReKeys::<Test>::contains_key(a));
			System::assert_last_event(Event::AgreementExpired { id: a, refunded: 21 }.into());
		});
	}

	#[test]
	fn an_unconfirmed_delivery_is_settled_when_the_confirmation_period_ends() {
		new_test_ext().execute_with(|| {
			let a = delivered_agreement();
			System::set_block_number(22);
			assert_ok!(DataMarket::expire(RuntimeOrigin::signed(OTHER), a));
			System::assert_last_event(
				Event::AgreementSettled {
					id: a,
					owner_paid: 15,
					provider_paid: 6,
					confirmed: false,
				}
				.into(),
			);
		});
	}

	#[test]
	fn an_unknown_agreement_cannot_be_expired() {
		new_test_ext().execute_with(|| {
			assert_noop!(
				DataMarket::expire(RuntimeOrigin::signed(OTHER), 3),
				Error::<Test>::UnknownAgreement
			);
		});
	}

	#[test]
	fn on_idle_processes_passed_deadlines_in_bounded_work() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			register_user(REQUESTER, b"bob");
			let ids: Vec<_> = (0..5).map(|t| request(&[b"s1"], t, t)).collect();
			assert_eq!(escrow_held(REQUESTER), 35);
			// Nothing is due before the deadline (block 11).
			DataMarket::on_idle(11, Weight::MAX);
			assert_eq!(Agreements::<Test>::iter().count(), 5);
			// At most MaxExpiriesPerBlock = 3 a block.
			DataMarket::on_idle(12, Weight::MAX);
			assert_eq!(Agreements::<Test>::iter().count(), 2);
			DataMarket::on_idle(13, Weight::MAX);
			assert_eq!(Agreements::<Test>::iter().count(), 0);
			assert_eq!(escrow_held(REQUESTER), 0);
			for id in ids {
				System::assert_has_event(Event::AgreementExpired { id, refunded: 7 }.into());
			}
		});
	}

	#[test]
	fn on_idle_does_nothing_without_spare_weight() {
		new_test_ext().execute_with(|| {
			register_sensor_for(OWNER, b"s1", PRICE);
			register_user(REQUESTER, b"bob");
			request(&[b"s1"], 0, 0);
			assert_eq!(DataMarket::on_idle(50, Weight::zero()), Weight::zero());
			assert_eq!(Agreements::<Test>::iter().count(), 1);
			assert_eq!(DeadlineCursor::<Test>::get(), 0);
		});
	}
}

mod subscriptions {
	use super::*;

	/// When epoch `t` of the test sensors ends.
	fn end_of(epoch: u64) -> u64 {
		(epoch + 1) * EPOCH_SECS
	}

	/// A subscription to epochs 10..=12 of "s1", accepted while epoch 10 has ended and
	/// 11 has not, with the re-keys of epoch 10 only.
	fn subscription() -> (SecretKey, SecretKey, AgreementId) {
		NowSecs::set(end_of(10) + 1);
		let sensor = register_sensor_for(OWNER, b"s1", PRICE);
		let user = register_user(REQUESTER, b"bob");
		let a = request(&[b"s1"], 10, 12);
		assert_ok!(DataMarket::accept_request(
			RuntimeOrigin::signed(OWNER),
			a,
			rekeys(&[&sensor], &user, 10, 10)
		));
		(sensor, user, a)
	}

	fn deliver_through(a: AgreementId, epoch: u64) -> DispatchResult {
		DataMarket::deliver(
			RuntimeOrigin::signed(PROVIDER),
			a,
			epoch,
			bounded(b"/d"),
			[epoch as u8; 32],
		)
	}

	#[test]
	fn a_subscription_is_accepted_with_the_rekeys_of_the_epochs_that_have_ended() {
		new_test_ext().execute_with(|| {
			let (sensor, user, a) = subscription();
			let agreement = Agreements::<Test>::get(a).expect("open");
			assert_eq!(agreement.status, AgreementStatus::Accepted);
			assert_eq!((agreement.rekeyed, agreement.delivered), (1, 0));
			let keys = rekeys(&[&sensor], &user, 10, 10);
			assert_eq!(ReKeys::<Test>::get(a), Some(keys.clone()));
			System::assert_last_event(Event::RequestAccepted { id: a, rekeys: keys }.into());
		});
	}

	#[test]
	fn a_subscription_may_be_accepted_before_any_of_its_epochs_has_ended() {
		new_test_ext().execute_with(|| {
			NowSecs::set(0);
			let sensor = register_sensor_for(OWNER, b"s1", PRICE);
			let user = register_user(REQUESTER, b"bob");
			let a = request(&[b"s1"], 10, 12);
			assert_ok!(DataMarket::accept_request(
				RuntimeOrigin::signed(OWNER),
				a,
				rekeys(&[&sensor], &user, 10, 9)
			));
			assert_eq!(Agreements::<Test>::get(a).expect("open").rekeyed, 0);
			assert_ok!(DataMarket::add_rekeys(
				RuntimeOrigin::signed(OWNER),
				a,
				rekeys(&[&sensor], &user, 10, 10)
			));
			assert_eq!(ReKeys::<Test>::get(a), Some(rekeys(&[&sensor], &user, 10, 10)));
		});
	}

	#[test]
	fn the_owner_adds_the_rekeys_of_each_epoch_as_it_ends() {
		new_test_ext().execute_with(|| {
			let (sensor, user, a) = subscription();
			NowSecs::set(end_of(11));
			let keys = rekeys(&[&sensor], &user, 11, 11);
			assert_ok!(DataMarket::add_rekeys(RuntimeOrigin::signed(OWNER), a, keys.clone()));
			System::assert_last_event(
				Event::ReKeysAdded { id: a, first_epoch: 11, rekeys: keys }.into(),
			);
			NowSecs::set(end_of(12));
			let keys = rekeys(&[&sensor], &user, 12, 12);
			assert_ok!(DataMarket::add_rekeys(RuntimeOrigin::signed(OWNER), a, keys.clone()));
			System::assert_last_event(
				Event::ReKeysAdded { id: a, first_epoch: 12, rekeys: keys }.into(),
			);
			assert_eq!(ReKeys::<Test>::get(a), Some(rekeys(&[&sensor], &user, 10, 12)));
			assert_eq!(Agreements::<Test>::get(a).expect("open").rekeyed, 3);
		});
	}

	#[test]
	fn only_the_owner_adds_rekeys_and_only_to_an_accepted_agreement() {
		new_test_ext().execute_with(|| {
			let (sensor, user, a) = subscription();
			let keys = rekeys(&[&sensor], &user, 11, 11);
			assert_noop!(
				DataMarket::add_rekeys(RuntimeOrigin::signed(OTHER), a, keys.clone()),
				Error::<Test>::NotAgreementOwner
			);
			assert_noop!(
				DataMarket::add_rekeys(RuntimeOrigin::signed(OWNER), 42, keys.clone()),
				Error::<Test>::UnknownAgreement
			);
			let pending = request(&[b"s1"], 20, 21);
			assert_noop!(
				DataMarket::add_rekeys(RuntimeOrigin::signed(OWNER), pending, keys),
				Error::<Test>::AgreementNotAccepted
			);
		});
	}

	#[test]
	fn added_rekeys_must_be_a_run_of_epochs_for_every_sensor_within_the_agreement() {
		new_test_ext().execute_with(|| {
			let (sensor, user, a) = subscription();
			let other = certify(b"s2");
			for wrong in [
				rekeys(&[&sensor], &user, 11, 10),
				rekeys(&[&sensor], &user, 11, 13),
				rekeys(&[&sensor, &other], &user, 11, 11),
			] {
				assert_noop!(
					DataMarket::add_rekeys(RuntimeOrigin::signed(OWNER), a, wrong),
					Error::<Test>::ReKeyCountMismatch
				);
			}
		});
	}

	#[test]
	fn no_rekeys_are_added_once_every_epoch_has_them() {
		new_test_ext().execute_with(|| {
			let (sensor, user, a) = accepted_agreement();
			assert_noop!(
				DataMarket::add_rekeys(
					RuntimeOrigin::signed(OWNER),
					a,
					rekeys(&[&sensor], &user, 13, 13)
				),
				Error::<Test>::AllEpochsReKeyed
			);
		});
	}

	#[test]
	fn no_rekeys_are_added_after_the_deadline() {
		new_test_ext().execute_with(|| {
			let (sensor, user, a) = subscription();
			System::set_block_number(12);
			assert_noop!(
				DataMarket::add_rekeys(
					RuntimeOrigin::signed(OWNER),
					a,
					rekeys(&[&sensor], &user, 11, 11)
				),
				Error::<Test>::DeadlinePassed
			);
		});
	}

	#[test]
	fn the_provider_delivers_epoch_by_epoch_and_the_last_delivery_asks_for_confirmation() {
		new_test_ext().execute_with(|| {
			let (sensor, user, a) = subscription();
			assert_ok!(deliver_through(a, 10));
			let agreement = Agreements::<Test>::get(a).expect("open");
			assert_eq!(agreement.status, AgreementStatus::Accepted);
			assert_eq!(agreement.delivered, 1);
			assert_eq!(agreement.delivery, Some((bounded(b"/d"), [10; 32])));
			System::assert_last_event(
				Event::DataDelivered {
					id: a,
					through_epoch: 10,
					location: bounded(b"/d"),
					digest: [10; 32],
					confirm_by: None,
				}
				.into(),
			);
			assert_noop!(
				DataMarket::confirm(RuntimeOrigin::signed(REQUESTER), a),
				Error::<Test>::AgreementNotDelivered
			);
			assert_ok!(DataMarket::add_rekeys(
				RuntimeOrigin::signed(OWNER),
				a,
				rekeys(&[&sensor], &user, 11, 12)
			));
			System::set_block_number(4);
			assert_ok!(deliver_through(a, 12));
			let agreement = Agreements::<Test>::get(a).expect("open");
			assert_eq!(agreement.status, AgreementStatus::Delivered);
			assert_eq!((agreement.delivered, agreement.deadline), (3, 24));
			System::assert_last_event(
				Event::DataDelivered {
					id: a,
					through_epoch: 12,
					location: bounded(b"/d"),
					digest: [12; 32],
					confirm_by: Some(24),
				}
				.into(),
			);
			assert_ok!(DataMarket::confirm(RuntimeOrigin::signed(REQUESTER), a));
			System::assert_last_event(
				Event::AgreementSettled {
					id: a,
					owner_paid: 15,
					provider_paid: 6,
					confirmed: true,
				}
				.into(),
			);
		});
	}

	#[test]
	fn a_delivery_covers_only_epochs_of_the_agreement() {
		new_test_ext().execute_with(|| {
			let (_, _, a) = subscription();
			for outside in [9, 13] {
				assert_noop!(deliver_through(a, outside), Error::<Test>::EpochOutsideAgreement);
			}
		});
	}

	#[test]
	fn an_epoch_without_rekeys_cannot_be_delivered() {
		new_test_ext().execute_with(|| {
			let (_, _, a) = subscription();
			assert_noop!(deliver_through(a, 11), Error::<Test>::EpochNotReKeyed);
		});
	}

	#[test]
	fn an_epoch_is_delivered_once() {
		new_test_ext().execute_with(|| {
			let (_, _, a) = subscription();
			assert_ok!(deliver_through(a, 10));
			assert_noop!(deliver_through(a, 10), Error::<Test>::EpochDeliveredAlready);
		});
	}

	#[test]
	fn a_subscription_waiting_for_an_open_epoch_gets_more_time_at_its_deadline() {
		new_test_ext().execute_with(|| {
			let (_, _, a) = subscription();
			assert_ok!(deliver_through(a, 10));
			// Block 12 is past the deadline (11); epoch 11 is still being recorded.
			System::set_block_number(12);
			assert_ok!(DataMarket::expire(RuntimeOrigin::signed(OTHER), a));
			let agreement = Agreements::<Test>::get(a).expect("still open");
			assert_eq!(agreement.deadline, 22);
			assert!(Deadlines::<Test>::contains_key(22, a));
			assert!(!Deadlines::<Test>::contains_key(11, a));
			assert_eq!(escrow_held(REQUESTER), 21);
			System::assert_last_event(Event::DeadlineExtended { id: a, deadline: 22 }.into());
		});
	}

	#[test]
	fn an_epoch_that_has_ended_is_waited_for_until_its_grace_period_ends() {
		new_test_ext().execute_with(|| {
			let (_, _, a) = subscription();
			assert_ok!(deliver_through(a, 10));
			NowSecs::set(end_of(11) + GRACE_SECS - 1);
			System::set_block_number(12);
			DataMarket::on_idle(12, Weight::MAX);
			System::assert_last_event(Event::DeadlineExtended { id: a, deadline: 22 }.into());
			assert!(Agreements::<Test>::contains_key(a));
		});
	}

	#[test]
	fn a_subscription_that_stalls_lapses_paying_for_what_was_delivered() {
		new_test_ext().execute_with(|| {
			let (_, _, a) = subscription();
			assert_ok!(deliver_through(a, 10));
			let (owner, provider, requester) = (
				Balances::total_balance(&OWNER),
				Balances::total_balance(&PROVIDER),
				Balances::total_balance(&REQUESTER),
			);
			NowSecs::set(end_of(11) + GRACE_SECS);
			System::set_block_number(12);
			DataMarket::on_idle(12, Weight::MAX);
			assert!(!Agreements::<Test>::contains_key(a));
			assert!(!ReKeys::<Test>::contains_key(a));
			assert_eq!(Balances::total_balance(&OWNER), owner + 5);
			assert_eq!(Balances::total_balance(&PROVIDER), provider + 2);
			assert_eq!(Balances::total_balance(&REQUESTER), requester - 7);
			assert_eq!(escrow_held(REQUESTER), 0);
			assert_eq!(Sensors::<Test>::get(id(b"s1")).expect("s1").open_agreements, 0);
			System::assert_last_event(
				Event::AgreementLapsed {
					id: a,
					delivered_epochs: 1,
					owner_paid: 5,
					provider_paid: 2,
					refunded: 14,
				}
				.into(),
			);
		});
	}

	#[test]
	fn a_subscription_with_nothing_delivered_expires_with_a_full_refund_after_the_grace() {
		new_test_ext().execute_with(|| {
			let (_, _, a) = subscription();
			NowSecs::set(end_of(10) + GRACE_SECS);
			System::set_block_number(12);
			assert_ok!(DataMarket::expire(RuntimeOrigin::signed(OTHER), a));
			System::assert_last_event(Event::AgreementExpired { id: a, refunded: 21 }.into());
		});
	}
}

mod invariants {
	use super::*;
	use proptest::prelude::*;

	#[derive(Clone, Debug)]
	enum Step {
		Request {
			from: u64,
			len: u64,
			two: bool,
		},
		/// Accept with the re-keys of at most this many epochs.
		Accept(usize, u64),
		AddReKeys(usize, u64),
		Reject(usize),
		Cancel(usize),
		Deliver(usize),
		Confirm(usize),
		Expire(usize),
		Advance(u64),
		/// Move the clock to the end of this epoch.
		Clock(u64),
		Idle,
	}

	fn step() -> impl Strategy<Value = Step> {
		prop_oneof![
			(0u64..20, 1u64..4, any::<bool>()).prop_map(|(from, len, two)| Step::Request {
				from,
				len,
				two
			}),
			(0usize..8, 1u64..4).prop_map(|(i, n)| Step::Accept(i, n)),
			(0usize..8, 0u64..4).prop_map(|(i, n)| Step::AddReKeys(i, n)),
			(0usize..8).prop_map(Step::Reject),
			(0usize..8).prop_map(Step::Cancel),
			(0usize..8).prop_map(Step::Deliver),
			(0usize..8).prop_map(Step::Confirm),
			(0usize..8).prop_map(Step::Expire),
			(1u64..15).prop_map(Step::Advance),
			(0u64..25).prop_map(Step::Clock),
			Just(Step::Idle),
		]
	}

	fn check_invariants(issuance: Balance) {
		assert_eq!(Balances::total_issuance(), issuance, "total issuance never changes");
		let open: Balance = Agreements::<Test>::iter().map(|(_, a)| a.escrow()).sum();
		let held: Balance = [REQUESTER, OTHER].iter().map(|w| escrow_held(*w)).sum();
		assert_eq!(held, open, "held escrow equals the escrow of open agreements");
		for (sensor, info) in Sensors::<Test>::iter() {
			let n = Agreements::<Test>::iter().filter(|(_, a)| a.sensors.contains(&sensor)).count();
			assert_eq!(info.open_agreements as usize, n, "open-agreement counts are exact");
		}
	}

	proptest! {
		#![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

		#[test]
		fn random_calls_from_several_accounts_keep_issuance_and_escrow_consistent(
			steps in proptest::collection::vec((step(), 0usize..3), 1..40)
		) {
			new_test_ext().execute_with(|| {
				let s1 = register_sensor_for(OWNER, b"s1", PRICE);
				let s2 = register_sensor_for(OWNER, b"s2", 3);
				let bob = register_user(REQUESTER, b"bob");
				let carol = register_user(OTHER, b"carol");
				let issuance = Balances::total_issuance();
				let callers = [REQUESTER, OTHER, OWNER];
				for (step, who) in steps {
					let who = callers[who];
					let ids: Vec<AgreementId> = Agreements::<Test>::iter_keys().collect();
					let pick = |i: usize| ids.get(i % ids.len().max(1)).copied().unwrap_or(99);
					let _ = match step {
						Step::Request { from, len, two } => {
							let names: &[&[u8]] = if two { &[b"s1", b"s2"] } else { &[b"s1"] };
							DataMarket::request_data(
								RuntimeOrigin::signed(who), sensors(names), from, from + len - 1, 1_000)
						},
						Step::Accept(i, n) | Step::AddReKeys(i, n) => {
							let a = pick(i);
							let Some(ag) = Agreements::<Test>::get(a) else { continue };
							let user = if ag.requester == REQUESTER { &bob } else { &carol };
							let keys: Vec<&SecretKey> = ag.sensors.iter()
								.map(|s| if s[..] == b"s1"[..] { &s1 } else { &s2 }).collect();
							let first = ag.from_epoch + u64::from(ag.rekeyed);
							let keys = match n {
								0 => rekeys(&keys, user, 1, 0),
								n => rekeys(&keys, user, first, (first + n).min(ag.to_epoch + 1) - 1),
							};
							if matches!(step, Step::Accept(..)) {
								DataMarket::accept_request(RuntimeOrigin::signed(OWNER), a, keys)
							} else {
								DataMarket::add_rekeys(RuntimeOrigin::signed(OWNER), a, keys)
							}
						},
						Step::Reject(i) => DataMarket::reject_request(RuntimeOrigin::signed(who), pick(i)).map(|_| ()).map_err(|e| e.error),
						Step::Cancel(i) => DataMarket::cancel_request(RuntimeOrigin::signed(who), pick(i)).map(|_| ()).map_err(|e| e.error),
						Step::Deliver(i) => {
							let a = pick(i);
							let through = Agreements::<Test>::get(a)
								.map_or(0, |ag| (ag.from_epoch + u64::from(ag.rekeyed)).saturating_sub(1));
							DataMarket::deliver(RuntimeOrigin::signed(PROVIDER), a, through, bounded(b"/d"), [1; 32])
						},
						Step::Confirm(i) => DataMarket::confirm(RuntimeOrigin::signed(who), pick(i)).map(|_| ()).map_err(|e| e.error),
						Step::Expire(i) => DataMarket::expire(RuntimeOrigin::signed(who), pick(i)).map(|_| ()).map_err(|e| e.error),
						Step::Advance(n) => {
							System::set_block_number(System::block_number() + n);
							Ok(())
						},
						Step::Clock(epoch) => {
							NowSecs::set((epoch + 1) * EPOCH_SECS);
							Ok(())
						},
						Step::Idle => {
							DataMarket::on_idle(System::block_number(), Weight::MAX);
							Ok(())
						},
					};
					check_invariants(issuance);
				}
			});
		}
	}
}
