use super::*;

#[test]
fn an_owner_registers_a_sensor_whose_key_the_pallet_derives() {
	test(|| {
		let key = register_sensor_for(OWNER, b"\xa0\xe6\xf8\xb6\xd2\x01", PRICE);
		let info = Sensors::<Test>::get(id(b"\xa0\xe6\xf8\xb6\xd2\x01")).expect("registered");
		assert_eq!(info.public_key, key.public_key().to_bytes());
		assert_eq!(info.owner, OWNER);
		assert!(info.active);
		assert_eq!(deposit_held(OWNER), DEPOSIT);
		assert_eq!(info.deposit, DEPOSIT, "the deposit is recorded in the registration");
		System::assert_last_event(
			Event::SensorRegistered {
				sensor: id(b"\xa0\xe6\xf8\xb6\xd2\x01"),
				owner: OWNER,
				public_key: key.public_key().to_bytes(),
				price_per_epoch: PRICE,
				epoch_secs: EPOCH_SECS,
				first_epoch: 0,
				provider: PROVIDER,
			}
			.into(),
		);
	});
}

#[test]
fn a_sensor_needs_a_registered_provider() {
	test(|| {
		let key = certify(b"s1");
		assert_noop!(
			try_register_sensor(OWNER, b"s1", key.certificate().to_bytes(), EPOCH_SECS, OTHER),
			Error::<Test>::UnknownProvider
		);
	});
}

#[test]
fn a_sensor_needs_epochs_between_the_shortest_and_the_longest_allowed() {
	test(|| {
		let cert = certify(b"s1").certificate().to_bytes();
		for secs in [0, 3601, u64::MAX] {
			assert_noop!(
				try_register_sensor(OWNER, b"s1", cert, secs, PROVIDER),
				Error::<Test>::EpochLengthOutOfRange
			);
		}
		assert_ok!(try_register_sensor(OWNER, b"s1", cert, 3600, PROVIDER));
	});
}

#[test]
fn a_sensor_needs_the_proof_that_its_owner_holds_its_key() {
	test(|| {
		let key = certify(b"s1");
		let register = |possession| {
			DataMarket::register_sensor(
				RuntimeOrigin::signed(OWNER),
				id(b"s1"),
				key.certificate().to_bytes(),
				possession,
				PRICE,
				EPOCH_SECS,
				0,
				PROVIDER,
				bounded(b""),
			)
		};
		// An identity's proof is no sensor's.
		let as_identity = possession(&key, OWNER, RegistrationKind::Identity);
		assert_noop!(register(as_identity), Error::<Test>::InvalidPossession);
		assert_noop!(register([0xff; 64]), Error::<Test>::InvalidPossession);
		assert_ok!(register(possession(&key, OWNER, RegistrationKind::Sensor)));
	});
}

#[test]
fn the_owner_updates_price_description_and_availability() {
	test(|| {
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
			Event::SensorUpdated { sensor: id(b"s1"), price_per_epoch: 9, active: false }.into(),
		);
	});
}

#[test]
fn only_the_owner_updates_or_deregisters_a_sensor() {
	test(|| {
		register_sensor_for(OWNER, b"s1", PRICE);
		assert_noop!(
			DataMarket::update_sensor(RuntimeOrigin::signed(OTHER), id(b"s1"), Some(1), None, None),
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
	test(|| {
		assert_noop!(
			DataMarket::update_sensor(RuntimeOrigin::signed(OWNER), id(b"nope"), None, None, None),
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
	test(|| {
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
	test(|| {
		sensor_and_requester();
		request(&[b"s1"], 0, 0);
		assert_noop!(
			DataMarket::deregister_sensor(RuntimeOrigin::signed(OWNER), id(b"s1")),
			Error::<Test>::SensorInUse
		);
	});
}

#[test]
fn a_deposit_is_released_as_recorded_whatever_the_deposit_is_now() {
	test(|| {
		register_sensor_for(OWNER, b"s1", PRICE);
		RegistrationDeposit::set(DEPOSIT * 3);
		register_sensor_for(OWNER, b"s2", PRICE);
		assert_eq!(deposit_held(OWNER), DEPOSIT * 4);
		assert_ok!(DataMarket::deregister_sensor(RuntimeOrigin::signed(OWNER), id(b"s1")));
		assert_eq!(deposit_held(OWNER), DEPOSIT * 3, "s1's deposit, as recorded, is released");
		assert_ok!(DataMarket::deregister_sensor(RuntimeOrigin::signed(OWNER), id(b"s2")));
		assert_eq!(deposit_held(OWNER), 0);
	});
}
