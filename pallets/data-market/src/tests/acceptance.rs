use super::*;

#[test]
fn the_owner_accepts_with_one_rekey_per_sensor_and_epoch_published_in_the_event() {
	test(|| {
		let (sensor, user) = sensor_and_requester();
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
	test(|| {
		let (sensor, user) = sensor_and_requester();
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
	test(|| {
		assert_noop!(
			DataMarket::accept_request(RuntimeOrigin::signed(OWNER), 42, Default::default()),
			Error::<Test>::UnknownAgreement
		);
	});
}

#[test]
fn an_agreement_is_accepted_once() {
	test(|| {
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
	test(|| {
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
	test(|| {
		let (sensor, user) = sensor_and_requester();
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
	test(|| {
		sensor_and_requester();
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
	test(|| {
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
	test(|| {
		sensor_and_requester();
		let before = Balances::balance(&REQUESTER);
		let a = request(&[b"s1"], 0, 0);
		assert_ok!(DataMarket::cancel_request(RuntimeOrigin::signed(REQUESTER), a));
		assert_eq!(Balances::balance(&REQUESTER), before);
		System::assert_last_event(Event::RequestCancelled { id: a, refunded: 7 }.into());
	});
}

#[test]
fn only_the_requester_cancels_and_only_before_any_rekey_is_posted() {
	test(|| {
		let (_, _, a) = accepted_agreement();
		assert_noop!(
			DataMarket::cancel_request(RuntimeOrigin::signed(OTHER), a),
			Error::<Test>::NotRequester
		);
		assert_noop!(
			DataMarket::cancel_request(RuntimeOrigin::signed(REQUESTER), a),
			Error::<Test>::AgreementUnderway
		);
		assert_noop!(
			DataMarket::cancel_request(RuntimeOrigin::signed(REQUESTER), 99),
			Error::<Test>::UnknownAgreement
		);
	});
}

#[test]
fn a_subscription_accepted_before_its_first_epoch_ended_can_be_cancelled() {
	test(|| {
		sensor_and_requester();
		let before = Balances::balance(&REQUESTER);
		let now = START_SECS / EPOCH_SECS;
		let a = request(&[b"s1"], now, now + 1);
		assert_ok!(DataMarket::accept_request(RuntimeOrigin::signed(OWNER), a, sensors_rekeys(1)));
		assert_ok!(DataMarket::cancel_request(RuntimeOrigin::signed(REQUESTER), a));
		assert_eq!(Balances::balance(&REQUESTER), before, "escrow and deposit returned");
		assert_eq!((escrow_held(REQUESTER), storage_deposit_held(REQUESTER)), (0, 0));
		System::assert_last_event(Event::RequestCancelled { id: a, refunded: 14 }.into());
	});
}

/// Re-keys for no epoch of each of `sensors` sensors: an acceptance with none yet.
fn sensors_rekeys(sensors: usize) -> ReKeysOf<Test> {
	vec![BoundedVec::new(); sensors].try_into().expect("few sensors")
}

#[test]
fn accepting_holds_the_owners_deposit_for_the_rekeys_and_closing_releases_it() {
	test(|| {
		let (_, _, a) = accepted_agreement();
		assert_eq!(storage_deposit_held(OWNER), rekey_deposit(3));
		assert_eq!(Agreements::<Test>::get(a).map(|a| a.rekey_deposit), Some(rekey_deposit(3)));
		assert_ok!(DataMarket::deliver(
			RuntimeOrigin::signed(PROVIDER),
			a,
			12,
			bounded(b"/d"),
			[1; 32],
			no_empty()
		));
		assert_ok!(DataMarket::confirm(RuntimeOrigin::signed(REQUESTER), a));
		assert_eq!((storage_deposit_held(OWNER), storage_deposit_held(REQUESTER)), (0, 0));
	});
}

#[test]
fn an_owner_who_cannot_pay_the_rekeys_deposit_cannot_accept() {
	test(|| {
		let (sensor, user) = sensor_and_requester();
		let a = request(&[b"s1"], 10, 12);
		let free = Balances::balance(&OWNER);
		assert_ok!(Balances::transfer_allow_death(RuntimeOrigin::signed(OWNER), OTHER, free - 50));
		assert_noop!(
			DataMarket::accept_request(
				RuntimeOrigin::signed(OWNER),
				a,
				rekeys(&[&sensor], &user, 10, 12)
			),
			Error::<Test>::InsufficientBalance
		);
	});
}
