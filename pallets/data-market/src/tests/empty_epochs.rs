//! Sensor-epochs without data: named in the delivery, not paid for.

use super::*;

/// Sensors "s1" at 5 and "s2" at 7 per epoch, a registered requester, and their
/// agreement for epochs 10..=12 accepted with every re-key: 36 of price and 12 of
/// fee (6 sensor-epochs at 2) in escrow.
fn two_sensor_agreement() -> AgreementId {
	let s1 = register_sensor_for(OWNER, b"s1", 5);
	let s2 = register_sensor_for(OWNER, b"s2", 7);
	let user = register_user(REQUESTER, b"bob");
	let a = request(&[b"s1", b"s2"], 10, 12);
	assert_ok!(DataMarket::accept_request(
		RuntimeOrigin::signed(OWNER),
		a,
		rekeys(&[&s1, &s2], &user, 10, 12)
	));
	assert_eq!(escrow_held(REQUESTER), 48);
	a
}

fn deliver_with(a: AgreementId, through: u64, listed: EmptyEpochsOf<Test>) -> DispatchResult {
	DataMarket::deliver(
		RuntimeOrigin::signed(PROVIDER),
		a,
		through,
		bounded(b"/d"),
		[3; 32],
		listed,
	)
}

#[test]
fn a_delivery_names_its_empty_sensor_epochs_and_the_chain_keeps_them() {
	test(|| {
		let a = two_sensor_agreement();
		assert_ok!(deliver_with(a, 12, empty(&[(0, 10), (1, 10)])));
		let agreement = Agreements::<Test>::get(a).expect("open");
		assert_eq!((agreement.empty_epochs, agreement.empty_price), (2, 12));
		assert_eq!(EmptyEpochs::<Test>::get(a), empty(&[(0, 10), (1, 10)]));
		System::assert_last_event(
			Event::DataDelivered {
				id: a,
				through_epoch: 12,
				location: bounded(b"/d"),
				digest: [3; 32],
				empty: empty(&[(0, 10), (1, 10)]),
				confirm_by: Some(21),
			}
			.into(),
		);
	});
}

#[test]
fn settlement_refunds_the_price_and_fee_of_the_empty_sensor_epochs_exactly() {
	test(|| {
		let a = two_sensor_agreement();
		assert_ok!(deliver_with(a, 12, empty(&[(0, 10), (1, 10)])));
		let (owner, provider, requester) = (
			Balances::total_balance(&OWNER),
			Balances::total_balance(&PROVIDER),
			Balances::total_balance(&REQUESTER),
		);
		assert_ok!(DataMarket::confirm(RuntimeOrigin::signed(REQUESTER), a));
		// Epochs 11 and 12 of both sensors: (5 + 7) × 2 to the owner, 2 × 4 to the
		// provider; epoch 10's 5 + 7 and 2 × 2 back to the requester.
		assert_eq!(Balances::total_balance(&OWNER), owner + 24);
		assert_eq!(Balances::total_balance(&PROVIDER), provider + 8);
		assert_eq!(Balances::total_balance(&REQUESTER), requester - 32);
		assert_eq!(escrow_held(REQUESTER), 0);
		System::assert_last_event(
			Event::AgreementSettled {
				id: a,
				owner_paid: 24,
				provider_paid: 8,
				refunded: 16,
				empty_epochs: 2,
				confirmed: true,
			}
			.into(),
		);
		assert!(!EmptyEpochs::<Test>::contains_key(a), "forgotten with the agreement");
	});
}

#[test]
fn a_delivery_with_nothing_but_empty_epochs_pays_nothing_and_refunds_everything() {
	test(|| {
		let a = two_sensor_agreement();
		let all = empty(&[(0, 10), (0, 11), (0, 12), (1, 10), (1, 11), (1, 12)]);
		assert_ok!(deliver_with(a, 12, all));
		let requester = Balances::total_balance(&REQUESTER);
		assert_ok!(DataMarket::confirm(RuntimeOrigin::signed(REQUESTER), a));
		assert_eq!(Balances::total_balance(&REQUESTER), requester);
		assert_settled_with_empty(a, 0, 0, 48, 6);
	});
}

/// Asserts that the last event settled agreement `a` on confirmation with these
/// payments and `empty_epochs` sensor-epochs empty.
fn assert_settled_with_empty(
	a: AgreementId,
	owner_paid: Balance,
	provider_paid: Balance,
	refunded: Balance,
	empty_epochs: u32,
) {
	System::assert_last_event(
		Event::AgreementSettled {
			id: a,
			owner_paid,
			provider_paid,
			refunded,
			empty_epochs,
			confirmed: true,
		}
		.into(),
	);
}

#[test]
fn each_delivery_names_the_empty_epochs_it_newly_covers_and_they_add_up() {
	test(|| {
		let a = two_sensor_agreement();
		assert_ok!(deliver_with(a, 10, empty(&[(1, 10)])));
		assert_ok!(deliver_with(a, 12, empty(&[(0, 12)])));
		assert_eq!(EmptyEpochs::<Test>::get(a), empty(&[(1, 10), (0, 12)]));
		assert_ok!(DataMarket::confirm(RuntimeOrigin::signed(REQUESTER), a));
		// 36 - 7 - 5 to the owner, 2 × 4 to the provider.
		assert_settled_with_empty(a, 24, 8, 16, 2);
	});
}

#[test]
fn the_price_of_an_empty_epoch_is_the_one_the_agreement_was_made_at() {
	test(|| {
		let a = two_sensor_agreement();
		assert_ok!(DataMarket::update_sensor(
			RuntimeOrigin::signed(OWNER),
			id(b"s1"),
			Some(500),
			None,
			None
		));
		assert_ok!(deliver_with(a, 12, empty(&[(0, 10)])));
		assert_eq!(Agreements::<Test>::get(a).expect("open").empty_price, 5);
		assert_ok!(DataMarket::confirm(RuntimeOrigin::signed(REQUESTER), a));
		assert_settled_with_empty(a, 31, 10, 7, 1);
	});
}

#[test]
fn a_lapsed_subscription_does_not_pay_for_its_empty_epochs() {
	test(|| {
		let (_sensor, _user, a) = {
			NowSecs::set(11 * EPOCH_SECS + 1);
			agreement_rekeyed_through(10)
		};
		assert_ok!(deliver_with(a, 10, empty(&[(0, 10)])));
		NowSecs::set(12 * EPOCH_SECS + GRACE_SECS);
		run_to_block(12);
		System::assert_last_event(
			Event::AgreementLapsed {
				id: a,
				delivered_epochs: 1,
				empty_epochs: 1,
				owner_paid: 0,
				provider_paid: 0,
				refunded: 21,
			}
			.into(),
		);
	});
}

#[test]
fn an_empty_epoch_must_be_of_a_sensor_of_the_agreement() {
	test(|| {
		let a = two_sensor_agreement();
		assert_noop!(
			deliver_with(a, 12, empty(&[(2, 10)])),
			Error::<Test>::EmptyEpochOutsideDelivery
		);
	});
}

#[test]
fn an_empty_epoch_must_be_one_this_delivery_newly_covers() {
	test(|| {
		let a = two_sensor_agreement();
		assert_noop!(
			deliver_with(a, 11, empty(&[(0, 12)])),
			Error::<Test>::EmptyEpochOutsideDelivery
		);
		assert_noop!(
			deliver_with(a, 11, empty(&[(0, 9)])),
			Error::<Test>::EmptyEpochOutsideDelivery
		);
		assert_ok!(deliver_with(a, 10, no_empty()));
		// Epoch 10 was delivered with data: it cannot be called empty afterwards.
		assert_noop!(
			deliver_with(a, 12, empty(&[(0, 10)])),
			Error::<Test>::EmptyEpochOutsideDelivery
		);
	});
}

#[test]
fn empty_epochs_are_listed_once_each_in_ascending_order() {
	test(|| {
		let a = two_sensor_agreement();
		assert_noop!(
			deliver_with(a, 12, empty(&[(0, 10), (0, 10)])),
			Error::<Test>::EmptyEpochsNotAscending
		);
		assert_noop!(
			deliver_with(a, 12, empty(&[(1, 10), (0, 11)])),
			Error::<Test>::EmptyEpochsNotAscending
		);
		assert_noop!(
			deliver_with(a, 12, empty(&[(0, 11), (0, 10)])),
			Error::<Test>::EmptyEpochsNotAscending
		);
	});
}

#[test]
fn epochs_before_the_first_a_sensor_has_data_of_cannot_be_requested() {
	test(|| {
		let now = START_SECS / EPOCH_SECS;
		let key = certify(b"new");
		assert_ok!(DataMarket::register_sensor(
			RuntimeOrigin::signed(OWNER),
			id(b"new"),
			key.certificate().to_bytes(),
			possession(&key, OWNER, RegistrationKind::Sensor),
			PRICE,
			EPOCH_SECS,
			now,
			PROVIDER,
			bounded(b""),
		));
		assert_eq!(Sensors::<Test>::get(id(b"new")).expect("registered").first_epoch, now);
		register_user(REQUESTER, b"bob");
		assert_noop!(
			DataMarket::request_data(
				RuntimeOrigin::signed(REQUESTER),
				sensors(&[b"new"]),
				now - 1,
				now,
				Balance::MAX
			),
			Error::<Test>::EpochBeforeSensorData
		);
		assert_eq!(request(&[b"new"], now, now), 0, "its first epoch may be requested");
	});
}
