use super::*;

#[test]
fn a_request_holds_price_and_fee_in_escrow_and_opens_an_agreement() {
	test(|| {
		register_sensor_for(OWNER, b"s1", PRICE);
		register_sensor_for(OWNER, b"s2", PRICE + 1);
		register_user(REQUESTER, b"bob");
		let free_before = Balances::balance(&REQUESTER);
		let a = request(&[b"s1", b"s2"], 100, 102);
		// 3 epochs: (5 + 6) * 3 to the owner, 2 * 2 sensors * 3 epochs to the provider.
		let (price, fee) = (33, 12);
		let deposit = agreement_deposit(2, 3);
		assert_eq!(escrow_held(REQUESTER), price + fee);
		assert_eq!(storage_deposit_held(REQUESTER), deposit);
		assert_eq!(Balances::balance(&REQUESTER), free_before - price - fee - deposit);
		let agreement = Agreements::<Test>::get(a).expect("open");
		assert_eq!(agreement.status, AgreementStatus::Requested);
		assert_eq!((agreement.price, agreement.fee, agreement.deadline), (price, fee, 11));
		assert_eq!((agreement.deposit, agreement.rekey_deposit), (deposit, 0));
		assert_eq!(Sensors::<Test>::get(id(b"s1")).expect("s1").open_agreements, 1);
		assert_eq!(Users::<Test>::get(REQUESTER).expect("bob").open_agreements, 1);
		assert_eq!(Providers::<Test>::get(PROVIDER).expect("provider").open_agreements, 1);
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
				deposit,
				deadline: 11,
			}
			.into(),
		);
	});
}

fn assert_refused(names: &[&[u8]], from: u64, to: u64, max: Balance, error: Error<Test>) {
	assert_noop!(
		DataMarket::request_data(RuntimeOrigin::signed(REQUESTER), sensors(names), from, to, max),
		error
	);
}

#[test]
fn only_a_registered_user_may_request() {
	test(|| {
		register_sensor_for(OWNER, b"s1", PRICE);
		assert_refused(&[b"s1"], 0, 0, 100, Error::<Test>::RequesterNotRegistered);
	});
}

#[test]
fn a_request_must_name_sensors_that_exist_once_each_and_take_requests() {
	test(|| {
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
	test(|| {
		register_sensor_for(OWNER, b"s1", PRICE);
		register_sensor_for(OTHER_OWNER, b"o1", PRICE);
		sensor_at_second_provider(b"s2");
		register_sensor_at(b"s3", EPOCH_SECS * 2, PROVIDER);
		register_user(REQUESTER, b"bob");
		assert_refused(&[b"s1", b"o1"], 0, 0, 100, Error::<Test>::MixedOwners);
		assert_refused(&[b"s1", b"s2"], 0, 0, 100, Error::<Test>::MixedProviders);
		assert_refused(&[b"s1", b"s3"], 0, 0, 100, Error::<Test>::MixedEpochLengths);
	});
}

#[test]
fn a_request_covers_an_ordered_range_of_at_most_max_epochs() {
	test(|| {
		sensor_and_requester();
		assert_refused(&[b"s1"], 5, 4, 1000, Error::<Test>::InvalidEpochRange);
		assert_refused(&[b"s1"], 0, 8, 1000, Error::<Test>::TooManyEpochs);
		assert_refused(&[b"s1"], 0, u64::MAX, 1000, Error::<Test>::TooManyEpochs);
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
	test(|| {
		sensor_and_requester();
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
	test(|| {
		register_sensor_for(OWNER, b"s1", INITIAL_BALANCE);
		register_user(REQUESTER, b"bob");
		assert_refused(&[b"s1"], 0, 0, Balance::MAX, Error::<Test>::InsufficientBalance);
	});
}

#[test]
fn a_price_that_overflows_is_refused() {
	test(|| {
		register_sensor_for(OWNER, b"s1", Balance::MAX / 2);
		register_user(REQUESTER, b"bob");
		assert_refused(&[b"s1"], 0, 3, Balance::MAX, Error::<Test>::AmountOverflow);
	});
}

#[test]
fn a_request_the_requester_cannot_pay_the_deposit_of_is_refused() {
	test(|| {
		// The escrow (7 a epoch) is affordable, the deposit on top of it is not.
		register_sensor_for(OWNER, b"s1", INITIAL_BALANCE - DEPOSIT - 2 - AGREEMENT_DEPOSIT_BASE);
		register_user(REQUESTER, b"bob");
		assert_refused(&[b"s1"], 0, 0, Balance::MAX, Error::<Test>::InsufficientBalance);
	});
}

#[test]
fn a_request_starts_at_most_max_lead_epochs_past_the_current_epoch() {
	test(|| {
		sensor_and_requester();
		let now = START_SECS / EPOCH_SECS;
		let last = now + MAX_LEAD_EPOCHS;
		assert_refused(&[b"s1"], last + 1, last + 1, 1000, Error::<Test>::EpochTooFarAhead);
		assert_ok!(DataMarket::request_data(
			RuntimeOrigin::signed(REQUESTER),
			sensors(&[b"s1"]),
			last,
			last,
			1000
		));
	});
}

#[test]
fn a_request_to_a_provider_that_is_gone_is_refused() {
	test(|| {
		sensor_and_requester();
		Providers::<Test>::remove(PROVIDER);
		assert_refused(&[b"s1"], 0, 0, 100, Error::<Test>::UnknownProvider);
	});
}
