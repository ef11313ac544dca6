//! The data market's behaviour, one sentence a test.

use crate::{mock::*, *};
use cbpre::{Meta, SecretKey};
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold, Mutate},
	BoundedVec,
};
use sp_runtime::{DispatchError, DispatchResult};

const PRICE: Balance = 5;
const EPOCH_SECS: u64 = 60;

fn id(bytes: &[u8]) -> IdBytes {
	bytes.to_vec().try_into().expect("test ids fit")
}

fn bounded<const N: u32>(bytes: &[u8]) -> BoundedVec<u8, ConstU32<N>> {
	bytes.to_vec().try_into().expect("test bytes fit")
}

use frame_support::traits::ConstU32;

/// No sensor-epoch delivered empty.
fn no_empty() -> EmptyEpochsOf<Test> {
	BoundedVec::default()
}

/// These `(sensor, epoch)`s delivered empty.
fn empty(entries: &[(u32, u64)]) -> EmptyEpochsOf<Test> {
	entries
		.iter()
		.map(|&(sensor, epoch)| EmptyEpoch { sensor, epoch })
		.collect::<Vec<_>>()
		.try_into()
		.expect("few empty epochs")
}

fn register_sensor_for(owner: AccountId, name: &[u8], price: Balance) -> SecretKey {
	let key = certify(name);
	assert_ok!(DataMarket::register_sensor(
		RuntimeOrigin::signed(owner),
		id(name),
		key.certificate().to_bytes(),
		possession(&key, owner, RegistrationKind::Sensor),
		price,
		EPOCH_SECS,
		0,
		PROVIDER,
		bounded(b"kitchen, 21 C"),
	));
	key
}

/// `register_sensor` of `name` by `owner` with the key certified for `name` and its
/// proof, at the tests' price, with no description.
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
		possession(&certify(name), owner, RegistrationKind::Sensor),
		PRICE,
		epoch_secs,
		0,
		provider,
		bounded(b""),
	)
}

fn register_user(who: AccountId, name: &[u8]) -> SecretKey {
	let key = certify(name);
	assert_ok!(DataMarket::register_identity(
		RuntimeOrigin::signed(who),
		id(name),
		key.certificate().to_bytes(),
		possession(&key, who, RegistrationKind::Identity),
	));
	key
}

/// `register_identity` of `name` by `who` with `cert` and the proof of `name`'s key.
fn try_register_user(who: AccountId, name: &[u8], cert: PointBytes) -> DispatchResult {
	DataMarket::register_identity(
		RuntimeOrigin::signed(who),
		id(name),
		cert,
		possession(&certify(name), who, RegistrationKind::Identity),
	)
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

/// The requester's deposit for an agreement on `sensors` sensors and `epochs` epochs.
fn agreement_deposit(sensors: u64, epochs: u64) -> Balance {
	AGREEMENT_DEPOSIT_BASE + AGREEMENT_DEPOSIT_PER_EPOCH * sensors * epochs
}

/// The owner's deposit for `count` re-keys.
fn rekey_deposit(count: u64) -> Balance {
	REKEY_DEPOSIT_PER_BYTE * 32 * count
}

fn storage_deposit_held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::StorageDeposit.into(), &who)
}

/// `add_rekeys` by the owner of the re-keys of epochs `first..=last` of agreement `a`.
fn add_rekeys(
	a: AgreementId,
	keys: &[&SecretKey],
	requester: &SecretKey,
	first: u64,
	last: u64,
) -> DispatchResult {
	DataMarket::add_rekeys(
		RuntimeOrigin::signed(OWNER),
		a,
		first,
		rekeys(keys, requester, first, last),
	)
}

fn escrow_held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::Escrow.into(), &who)
}

fn deposit_held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::Registration.into(), &who)
}

/// A sensor "s1" of OWNER at the tests' price and a registered requester "bob": their
/// keys.
fn sensor_and_requester() -> (SecretKey, SecretKey) {
	(register_sensor_for(OWNER, b"s1", PRICE), register_user(REQUESTER, b"bob"))
}

/// Sensor `name` of OWNER, registered with its certified key, epochs of `epoch_secs`
/// and `provider`, at the tests' price: its key.
fn register_sensor_at(name: &[u8], epoch_secs: u64, provider: AccountId) -> SecretKey {
	let key = certify(name);
	let cert = key.certificate().to_bytes();
	assert_ok!(try_register_sensor(OWNER, name, cert, epoch_secs, provider));
	key
}

/// A second provider, PROVIDER_2 at a fee of 1, and its sensor `name` of OWNER.
fn sensor_at_second_provider(name: &[u8]) {
	assert_ok!(DataMarket::register_provider(RuntimeOrigin::signed(PROVIDER_2), bounded(b"p2"), 1));
	register_sensor_at(name, EPOCH_SECS, PROVIDER_2);
}

/// A sensor "s1" of OWNER, a registered requester, and an agreement for epochs 10..=12
/// accepted with the re-keys of epochs 10..=`last`.
fn agreement_rekeyed_through(last: u64) -> (SecretKey, SecretKey, AgreementId) {
	let (sensor, user) = sensor_and_requester();
	let a = request(&[b"s1"], 10, 12);
	assert_ok!(DataMarket::accept_request(
		RuntimeOrigin::signed(OWNER),
		a,
		rekeys(&[&sensor], &user, 10, last)
	));
	(sensor, user, a)
}

/// A sensor "s1" of OWNER, a registered requester, and an accepted agreement for
/// epochs 10..=12.
fn accepted_agreement() -> (SecretKey, SecretKey, AgreementId) {
	agreement_rekeyed_through(12)
}

fn delivered_agreement() -> AgreementId {
	let (_, _, a) = accepted_agreement();
	assert_ok!(DataMarket::deliver(
		RuntimeOrigin::signed(PROVIDER),
		a,
		12,
		bounded(b"/d/0"),
		[7; 32],
		no_empty()
	));
	a
}

/// Asserts that the last event settled agreement `id` with these payments.
fn assert_settled(
	id: AgreementId,
	owner_paid: Balance,
	provider_paid: Balance,
	refunded: Balance,
	confirmed: bool,
) {
	System::assert_last_event(
		Event::AgreementSettled {
			id,
			owner_paid,
			provider_paid,
			refunded,
			empty_epochs: 0,
			confirmed,
		}
		.into(),
	);
}

mod acceptance;
mod attacks;
mod ca_key;
mod deadlines;
mod delivery;
mod empty_epochs;
mod genesis;
mod identities;
mod invariants;
mod leaving;
mod migration;
mod providers;
mod requests;
mod sensors;
mod subscriptions;
