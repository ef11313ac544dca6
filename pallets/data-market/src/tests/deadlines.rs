use super::*;

#[test]
fn anyone_expires_a_request_past_its_deadline_and_the_requester_is_refunded() {
	test(|| {
		sensor_and_requester();
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
	test(|| {
		let (_, _, a) = accepted_agreement();
		System::set_block_number(12);
		assert_ok!(DataMarket::expire(RuntimeOrigin::signed(OTHER), a));
		assert!(!ReKeys::<Test>::contains_key(a));
		System::assert_last_event(Event::AgreementExpired { id: a, refunded: 21 }.into());
	});
}

#[test]
fn an_unconfirmed_delivery_is_settled_when_the_confirmation_period_ends() {
	test(|| {
		let a = delivered_agreement();
		System::set_block_number(22);
		assert_ok!(DataMarket::expire(RuntimeOrigin::signed(OTHER), a));
		assert_settled(a, 15, 6, 0, false);
	});
}

#[test]
fn an_unknown_agreement_cannot_be_expired() {
	test(|| {
		assert_noop!(
			DataMarket::expire(RuntimeOrigin::signed(OTHER), 3),
			Error::<Test>::UnknownAgreement
		);
	});
}

#[test]
fn the_start_of_a_block_processes_passed_deadlines_in_bounded_work() {
	test(|| {
		sensor_and_requester();
		let ids: Vec<_> = (0..5).map(|t| request(&[b"s1"], t, t)).collect();
		assert_eq!(escrow_held(REQUESTER), 35);
		// At most MaxDeadlinesPerBlock = 3 deadlines in block 11; the rest in 12.
		let deadlines: Vec<_> =
			ids.iter().map(|a| Agreements::<Test>::get(a).expect("open").deadline).collect();
		assert_eq!(deadlines, [11, 11, 11, 12, 12]);
		assert_eq!((DeadlineCount::<Test>::get(11), DeadlineCount::<Test>::get(12)), (3, 2));
		run_to_block(11);
		assert_eq!(Agreements::<Test>::iter().count(), 5, "nothing is due before its deadline");
		run_to_block(12);
		assert_eq!(Agreements::<Test>::iter().count(), 2, "block 11's deadlines, all of them");
		run_to_block(13);
		assert_eq!(Agreements::<Test>::iter().count(), 0);
		assert_eq!((escrow_held(REQUESTER), storage_deposit_held(REQUESTER)), (0, 0));
		assert_eq!(DeadlineCount::<Test>::iter().count(), 0, "no count is left behind");
		for id in ids {
			System::assert_has_event(Event::AgreementExpired { id, refunded: 7 }.into());
		}
	});
}

#[test]
fn a_request_whose_deadline_finds_no_block_with_room_is_refused() {
	test(|| {
		sensor_and_requester();
		// Blocks 11, 12 and 13 (MaxDeadlineDelay = 2) take 3 deadlines each.
		for t in 0..9 {
			request(&[b"s1"], t, t);
		}
		assert_noop!(
			DataMarket::request_data(
				RuntimeOrigin::signed(REQUESTER),
				sensors(&[b"s1"]),
				9,
				9,
				Balance::MAX
			),
			Error::<Test>::DeadlinesFull
		);
		// A block later, block 14 has room.
		run_to_block(2);
		assert_eq!(Agreements::<Test>::get(request(&[b"s1"], 9, 9)).map(|a| a.deadline), Some(14));
	});
}

#[test]
fn under_a_flood_of_requests_every_deadline_is_processed_within_the_delay_bound() {
	test(|| {
		register_sensor_for(OWNER, b"s1", 0);
		register_user(REQUESTER, b"bob");
		let mut open = std::collections::BTreeMap::new();
		let mut refunded = 0;
		// DeliveryPeriod, then at most MaxDeadlineDelay blocks later, processed at the
		// start of the block after.
		let bound = 10 + 2 + 1;
		for _ in 0..60 {
			let now = System::block_number();
			// Requests until the chain takes no more in this block.
			for _ in 0..100 {
				let next = NextAgreementId::<Test>::get();
				match DataMarket::request_data(
					RuntimeOrigin::signed(REQUESTER),
					sensors(&[b"s1"]),
					0,
					0,
					Balance::MAX,
				) {
					Ok(()) => {
						open.insert(next, now);
					},
					Err(e) => {
						assert_eq!(e, Error::<Test>::DeadlinesFull.into());
						break;
					},
				}
			}
			run_to_block(now + 1);
			let done: Vec<_> =
				open.keys().copied().filter(|a| !Agreements::<Test>::contains_key(a)).collect();
			for a in done {
				let requested = open.remove(&a).expect("open");
				assert!(now + 1 - requested <= bound, "agreement {a} processed in time");
				System::assert_has_event(Event::AgreementExpired { id: a, refunded: 2 }.into());
				refunded += 1;
			}
		}
		assert!(refunded > 100, "the flood made {refunded} agreements, all refunded in time");
		assert!(open.values().all(|requested| System::block_number() - requested <= bound));
	});
}

#[test]
fn a_payee_that_cannot_receive_its_payment_leaves_it_to_the_requester() {
	test(|| {
		// A genesis-like provider whose account does not exist, with a fee below the
		// existential deposit.
		ExistentialDeposit::set(100);
		let ghost: AccountId = 99;
		Providers::<Test>::insert(
			ghost,
			ProviderInfo {
				endpoint: bounded(b"x"),
				fee_per_epoch: 2,
				open_agreements: 0,
				deposit: 0,
			},
		);
		let key = register_sensor_at(b"s1", EPOCH_SECS, ghost);
		let user = register_user(REQUESTER, b"bob");
		let a = request(&[b"s1"], 10, 12);
		assert_ok!(DataMarket::accept_request(
			RuntimeOrigin::signed(OWNER),
			a,
			rekeys(&[&key], &user, 10, 12)
		));
		assert_ok!(DataMarket::deliver(
			RuntimeOrigin::signed(ghost),
			a,
			12,
			bounded(b"/d"),
			[1; 32],
			no_empty()
		));
		let requester = Balances::total_balance(&REQUESTER);
		assert_ok!(DataMarket::confirm(RuntimeOrigin::signed(REQUESTER), a));
		assert_settled(a, 15, 0, 6, true);
		assert_eq!(Balances::total_balance(&REQUESTER), requester - 15);
		assert!(!Agreements::<Test>::contains_key(a), "the agreement is closed, not stuck");
	});
}

#[test]
fn a_freeze_on_the_requesters_funds_does_not_stop_the_owners_payment() {
	test(|| {
		use frame_support::traits::fungible::MutateFreeze;
		let a = delivered_agreement();
		assert_ok!(Balances::set_freeze(&(), &REQUESTER, Balances::total_balance(&REQUESTER)));
		let owner = Balances::total_balance(&OWNER);
		assert_ok!(DataMarket::confirm(RuntimeOrigin::signed(REQUESTER), a));
		assert_eq!(Balances::total_balance(&OWNER), owner + 15);
	});
}
