//! The attacks of a market open to anyone, each refused with a named error and no
//! change to storage.

use super::*;

/// `request_data(sensors=[s1], from_epoch=0, to_epoch=u64::MAX, max_price=0)`: without
/// checked arithmetic the epoch count wraps to 0, and the price, fee and escrow with
/// it.
#[test]
fn attack_a_range_whose_epoch_count_wraps_is_refused() {
	test(|| {
		sensor_and_requester();
		assert_noop!(
			DataMarket::request_data(
				RuntimeOrigin::signed(REQUESTER),
				sensors(&[b"s1"]),
				0,
				u64::MAX,
				0
			),
			Error::<Test>::TooManyEpochs
		);
	});
}

/// A certificate that is a random curve point: the chain would derive a key that
/// nobody holds.
#[test]
fn attack_a_certificate_whose_key_nobody_holds_is_refused() {
	test(|| {
		// A valid point whose discrete logarithm nobody knows: another identity's
		// certificate, for which no key of "mallory" exists.
		let point = certify(b"someone").certificate().to_bytes();
		// The best an attacker can sign with is a key of its own: the `try_register_*`
		// calls prove possession with the key certified for "mallory".
		assert_noop!(try_register_user(OTHER, b"mallory", point), Error::<Test>::InvalidPossession);
		assert_noop!(
			try_register_sensor(OTHER, b"mallory", point, EPOCH_SECS, PROVIDER),
			Error::<Test>::InvalidPossession
		);
	});
}

/// A1 registers sensor X and deregisters it; A2 registers X again with A1's
/// `(id, cert)` read from the chain (or front-runs A1 with the pair from the pool).
#[test]
fn attack_a_certificate_read_from_the_chain_cannot_be_registered_by_another_account() {
	test(|| {
		register_sensor_for(OWNER, b"x", PRICE);
		let info = Sensors::<Test>::get(id(b"x")).expect("registered");
		assert_ok!(DataMarket::deregister_sensor(RuntimeOrigin::signed(OWNER), id(b"x")));
		// The attacker has the id, the certificate and even the owner's proof, which
		// names the owner's account.
		let owners_proof = possession(&certify(b"x"), OWNER, RegistrationKind::Sensor);
		assert_noop!(
			DataMarket::register_sensor(
				RuntimeOrigin::signed(OTHER_OWNER),
				id(b"x"),
				info.cert,
				owners_proof,
				PRICE,
				EPOCH_SECS,
				0,
				PROVIDER,
				bounded(b"")
			),
			Error::<Test>::InvalidPossession
		);
	});
}

/// A provider with fee 0 and a sensor at price 0: a request of 256 epochs far in the
/// future stored an agreement and a deadline for the transaction fee alone, and
/// was extended every hour forever.
#[test]
fn attack_a_free_request_far_ahead_is_refused_and_a_free_agreement_still_pays_its_deposit() {
	test(|| {
		assert_ok!(DataMarket::register_provider(
			RuntimeOrigin::signed(PROVIDER_2),
			bounded(b"p2"),
			0
		));
		let key = certify(b"free");
		assert_ok!(DataMarket::register_sensor(
			RuntimeOrigin::signed(OWNER),
			id(b"free"),
			key.certificate().to_bytes(),
			possession(&key, OWNER, RegistrationKind::Sensor),
			0,
			EPOCH_SECS,
			0,
			PROVIDER_2,
			bounded(b"")
		));
		register_user(REQUESTER, b"bob");
		let far = 1_000_000_000_000;
		assert_noop!(
			DataMarket::request_data(
				RuntimeOrigin::signed(REQUESTER),
				sensors(&[b"free"]),
				far,
				far + 7,
				0
			),
			Error::<Test>::EpochTooFarAhead
		);
		// Within the lead, price 0 and fee 0 still hold the storage deposit.
		let now = START_SECS / EPOCH_SECS;
		assert_ok!(DataMarket::request_data(
			RuntimeOrigin::signed(REQUESTER),
			sensors(&[b"free"]),
			now + 1,
			now + 8,
			0
		));
		assert_eq!(storage_deposit_held(REQUESTER), agreement_deposit(1, 8));
		// And a poor requester cannot make one at all.
		let poor_key = certify(b"poor");
		Balances::set_balance(&POOR, DEPOSIT + 2);
		assert_ok!(try_register_user(POOR, b"poor", poor_key.certificate().to_bytes()));
		assert_noop!(
			DataMarket::request_data(
				RuntimeOrigin::signed(POOR),
				sensors(&[b"free"]),
				now + 1,
				now + 8,
				0
			),
			Error::<Test>::InsufficientBalance
		);
	});
}

/// `add_rekeys` sent twice with the same re-keys (a retry after an ambiguous submit
/// failure): the second copy was stored under the next epochs.
#[test]
fn attack_repeated_rekeys_are_refused_and_cannot_shift_epochs() {
	test(|| {
		NowSecs::set(13 * EPOCH_SECS);
		let (sensor, user, a) = agreement_rekeyed_through(10);
		assert_ok!(add_rekeys(a, &[&sensor], &user, 11, 11));
		assert_noop!(add_rekeys(a, &[&sensor], &user, 11, 11), Error::<Test>::UnexpectedFirstEpoch);
		assert_eq!(ReKeys::<Test>::get(a), Some(rekeys(&[&sensor], &user, 10, 11)));
	});
}
