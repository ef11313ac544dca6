use super::*;

#[test]
fn root_rotates_the_ca_key() {
	test(|| {
		let new = cbpre::CaSecretKey::from_bytes(&[9; 32]).expect("key").public_key().to_bytes();
		assert_ok!(DataMarket::set_ca_key(RuntimeOrigin::root(), new));
		assert_eq!(CaKey::<Test>::get(), Some(new));
		System::assert_last_event(Event::CaKeyRotated { key: new }.into());
	});
}

#[test]
fn only_root_rotates_the_ca_key() {
	test(|| {
		let new = cbpre::CaSecretKey::from_bytes(&[9; 32]).expect("key").public_key().to_bytes();
		assert_noop!(
			DataMarket::set_ca_key(RuntimeOrigin::signed(OWNER), new),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn a_ca_key_that_is_no_point_is_refused() {
	test(|| {
		assert_noop!(
			DataMarket::set_ca_key(RuntimeOrigin::root(), [0; 33]),
			Error::<Test>::InvalidCaKey
		);
	});
}

#[test]
fn a_stored_ca_key_that_is_no_point_refuses_registrations() {
	test(|| {
		CaKey::<Test>::put([4; 33]);
		let key = certify(b"bob");
		assert_noop!(
			try_register_user(REQUESTER, b"bob", key.certificate().to_bytes()),
			Error::<Test>::InvalidCaKey
		);
	});
}

#[test]
fn without_a_ca_key_nothing_registers() {
	test(|| {
		CaKey::<Test>::kill();
		let key = certify(b"bob");
		assert_noop!(
			try_register_user(REQUESTER, b"bob", key.certificate().to_bytes()),
			Error::<Test>::CaKeyNotSet
		);
	});
}
