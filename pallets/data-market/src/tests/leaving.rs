//! Every depositor has a way out: identities and providers deregister, and a user
//! rotates its key, each releasing exactly what it held.

use super::*;

#[test]
fn a_user_deregisters_and_its_deposit_is_released_and_its_identity_freed() {
	test(|| {
		register_user(REQUESTER, b"bob");
		assert_ok!(DataMarket::deregister_identity(RuntimeOrigin::signed(REQUESTER)));
		assert_eq!(deposit_held(REQUESTER), 0);
		assert!(!Users::<Test>::contains_key(REQUESTER));
		assert!(!UserIds::<Test>::contains_key(id(b"bob")));
		System::assert_last_event(
			Event::IdentityDeregistered { who: REQUESTER, id: id(b"bob"), deposit: DEPOSIT }.into(),
		);
		register_user(OTHER, b"bob");
	});
}

#[test]
fn a_user_with_an_open_agreement_can_neither_deregister_nor_rotate_its_key() {
	test(|| {
		accepted_agreement();
		assert_noop!(
			DataMarket::deregister_identity(RuntimeOrigin::signed(REQUESTER)),
			Error::<Test>::IdentityInUse
		);
		let key = certify(b"bob-2");
		assert_noop!(
			DataMarket::update_identity(
				RuntimeOrigin::signed(REQUESTER),
				key.certificate().to_bytes(),
				possession(&key, REQUESTER, RegistrationKind::Identity)
			),
			Error::<Test>::IdentityInUse
		);
	});
}

#[test]
fn an_unregistered_account_can_neither_deregister_nor_rotate_an_identity() {
	test(|| {
		let key = certify(b"bob");
		assert_noop!(
			DataMarket::deregister_identity(RuntimeOrigin::signed(REQUESTER)),
			Error::<Test>::RequesterNotRegistered
		);
		assert_noop!(
			DataMarket::update_identity(
				RuntimeOrigin::signed(REQUESTER),
				key.certificate().to_bytes(),
				possession(&key, REQUESTER, RegistrationKind::Identity)
			),
			Error::<Test>::RequesterNotRegistered
		);
	});
}

/// A second certificate for the identity "bob", as the CA issues on a new key request.
fn second_key_of_bob() -> cbpre::SecretKey {
	use cbpre::{Identity, KeyRequest};
	use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
	let mut rng = ChaCha20Rng::seed_from_u64(2);
	let request = KeyRequest::new_with_rng(Identity::new(b"bob").expect("id"), &mut rng);
	let response = ca().issue_with_rng(request.message(), &mut rng).expect("issued");
	request.finish(&response, &ca().public_key()).expect("certified")
}

#[test]
fn a_user_rotates_its_key_with_a_new_certificate_and_its_proof() {
	test(|| {
		let old = register_user(REQUESTER, b"bob");
		let new = second_key_of_bob();
		assert_ne!(old.public_key(), new.public_key());
		// The old key's proof does not rotate to the new certificate.
		assert_noop!(
			DataMarket::update_identity(
				RuntimeOrigin::signed(REQUESTER),
				new.certificate().to_bytes(),
				possession(&old, REQUESTER, RegistrationKind::Identity)
			),
			Error::<Test>::InvalidPossession
		);
		assert_ok!(DataMarket::update_identity(
			RuntimeOrigin::signed(REQUESTER),
			new.certificate().to_bytes(),
			possession(&new, REQUESTER, RegistrationKind::Identity)
		));
		let info = Users::<Test>::get(REQUESTER).expect("registered");
		assert_eq!(info.public_key, new.public_key().to_bytes());
		assert_eq!(deposit_held(REQUESTER), DEPOSIT, "the deposit stays as it was");
		System::assert_last_event(
			Event::IdentityUpdated {
				who: REQUESTER,
				id: id(b"bob"),
				public_key: new.public_key().to_bytes(),
			}
			.into(),
		);
	});
}

#[test]
fn a_provider_updates_its_endpoint_and_fee_and_open_agreements_keep_theirs() {
	test(|| {
		let (_, _, a) = accepted_agreement();
		assert_ok!(DataMarket::update_provider(
			RuntimeOrigin::signed(PROVIDER),
			Some(bounded(b"https://new.example")),
			Some(9)
		));
		let info = Providers::<Test>::get(PROVIDER).expect("registered");
		assert_eq!((info.endpoint, info.fee_per_epoch), (bounded(b"https://new.example"), 9));
		assert_eq!(Agreements::<Test>::get(a).map(|a| a.fee), Some(6));
		System::assert_last_event(
			Event::ProviderUpdated {
				provider: PROVIDER,
				endpoint: bounded(b"https://new.example"),
				fee_per_epoch: 9,
			}
			.into(),
		);
		assert_noop!(
			DataMarket::update_provider(RuntimeOrigin::signed(OTHER), None, Some(1)),
			Error::<Test>::UnknownProvider
		);
	});
}

#[test]
fn a_provider_deregisters_once_no_open_agreement_needs_it_and_gets_its_deposit_back() {
	test(|| {
		sensor_at_second_provider(b"s2");
		register_user(REQUESTER, b"bob");
		let a = request(&[b"s2"], 0, 0);
		assert_noop!(
			DataMarket::deregister_provider(RuntimeOrigin::signed(PROVIDER_2)),
			Error::<Test>::ProviderInUse
		);
		assert_ok!(DataMarket::cancel_request(RuntimeOrigin::signed(REQUESTER), a));
		assert_ok!(DataMarket::deregister_provider(RuntimeOrigin::signed(PROVIDER_2)));
		assert_eq!(deposit_held(PROVIDER_2), 0);
		System::assert_last_event(
			Event::ProviderDeregistered { provider: PROVIDER_2, deposit: DEPOSIT }.into(),
		);
		assert_noop!(
			DataMarket::deregister_provider(RuntimeOrigin::signed(PROVIDER_2)),
			Error::<Test>::UnknownProvider
		);
		assert_noop!(
			DataMarket::request_data(
				RuntimeOrigin::signed(REQUESTER),
				sensors(&[b"s2"]),
				0,
				0,
				Balance::MAX
			),
			Error::<Test>::UnknownProvider
		);
	});
}

#[test]
fn a_genesis_provider_deregisters_and_releases_nothing() {
	test(|| {
		let before = Balances::total_balance(&PROVIDER);
		assert_ok!(DataMarket::deregister_provider(RuntimeOrigin::signed(PROVIDER)));
		assert_eq!(Balances::total_balance(&PROVIDER), before);
		System::assert_last_event(
			Event::ProviderDeregistered { provider: PROVIDER, deposit: 0 }.into(),
		);
	});
}
