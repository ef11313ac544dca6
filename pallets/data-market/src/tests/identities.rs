use super::*;

#[test]
fn a_user_registers_and_the_pallet_derives_the_same_key_as_the_user_holds() {
	test(|| {
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
	test(|| {
		register_user(REQUESTER, b"bob");
		let other = certify(b"bob2");
		assert_noop!(
			try_register_user(REQUESTER, b"bob2", other.certificate().to_bytes()),
			Error::<Test>::AlreadyRegistered
		);
	});
}

#[test]
fn an_identity_taken_by_a_sensor_or_a_user_is_refused() {
	test(|| {
		let (sensor, _) = sensor_and_requester();
		assert_noop!(
			try_register_user(OTHER, b"s1", sensor.certificate().to_bytes()),
			Error::<Test>::IdentityTaken
		);
		let bob = certify(b"bob");
		assert_noop!(
			try_register_sensor(OWNER, b"bob", bob.certificate().to_bytes(), EPOCH_SECS, PROVIDER),
			Error::<Test>::IdentityTaken
		);
	});
}

#[test]
fn an_empty_identity_is_refused() {
	test(|| {
		let key = certify(b"bob");
		assert_noop!(
			DataMarket::register_identity(
				RuntimeOrigin::signed(REQUESTER),
				id(b""),
				key.certificate().to_bytes(),
				possession(&key, REQUESTER, RegistrationKind::Identity)
			),
			Error::<Test>::EmptyIdentity
		);
	});
}

#[test]
fn a_certificate_that_does_not_decode_is_refused() {
	test(|| {
		let mut cert = certify(b"bob").certificate().to_bytes();
		cert[0] = 0x05;
		assert_noop!(try_register_user(REQUESTER, b"bob", cert), Error::<Test>::InvalidCertificate);
	});
}

#[test]
fn a_user_without_the_deposit_is_refused() {
	test(|| {
		let key = certify(b"poor");
		assert_noop!(
			try_register_user(POOR, b"poor", key.certificate().to_bytes()),
			Error::<Test>::InsufficientBalance
		);
	});
}

#[test]
fn a_user_needs_the_proof_that_it_holds_the_key_of_its_identity() {
	test(|| {
		let key = certify(b"bob");
		let cert = key.certificate().to_bytes();
		let register = |who, possession| {
			DataMarket::register_identity(RuntimeOrigin::signed(who), id(b"bob"), cert, possession)
		};
		let by_other_account = possession(&key, OTHER, RegistrationKind::Identity);
		assert_noop!(register(REQUESTER, by_other_account), Error::<Test>::InvalidPossession);
		let of_a_sensor = possession(&key, REQUESTER, RegistrationKind::Sensor);
		assert_noop!(register(REQUESTER, of_a_sensor), Error::<Test>::InvalidPossession);
		let by_another_key = possession(&certify(b"eve"), REQUESTER, RegistrationKind::Identity);
		assert_noop!(register(REQUESTER, by_another_key), Error::<Test>::InvalidPossession);
		assert_ok!(register(REQUESTER, possession(&key, REQUESTER, RegistrationKind::Identity)));
		assert_eq!(Users::<Test>::get(REQUESTER).map(|u| u.deposit), Some(DEPOSIT));
	});
}

#[test]
fn a_proof_for_another_chain_is_refused() {
	test(|| {
		let key = certify(b"bob");
		let proof = possession(&key, REQUESTER, RegistrationKind::Identity);
		// Another chain: another block 0.
		frame_system::BlockHash::<Test>::insert(0, sp_core::H256::repeat_byte(0x42));
		assert_noop!(
			DataMarket::register_identity(
				RuntimeOrigin::signed(REQUESTER),
				id(b"bob"),
				key.certificate().to_bytes(),
				proof
			),
			Error::<Test>::InvalidPossession
		);
	});
}
