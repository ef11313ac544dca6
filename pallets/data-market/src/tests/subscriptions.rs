use super::*;

/// When epoch `t` of the test sensors ends.
fn end_of(epoch: u64) -> u64 {
	(epoch + 1) * EPOCH_SECS
}

/// A subscription to epochs 10..=12 of "s1", accepted while epoch 10 has ended and
/// 11 has not, with the re-keys of epoch 10 only.
fn subscription() -> (SecretKey, SecretKey, AgreementId) {
	NowSecs::set(end_of(10) + 1);
	agreement_rekeyed_through(10)
}

fn deliver_through(a: AgreementId, epoch: u64) -> DispatchResult {
	DataMarket::deliver(
		RuntimeOrigin::signed(PROVIDER),
		a,
		epoch,
		bounded(b"/d"),
		[epoch as u8; 32],
		no_empty(),
	)
}

/// [`subscription`] with epoch 10 delivered.
fn subscription_with_epoch_10_delivered() -> AgreementId {
	let (_, _, a) = subscription();
	assert_ok!(deliver_through(a, 10));
	a
}

/// Asserts that the last event lapsed subscription `a` with epoch 10 delivered: 5 to
/// the owner and 2 to the provider for it, and the other 14 of the escrow refunded.
fn assert_lapsed_paying_for_epoch_10(a: AgreementId) {
	System::assert_last_event(
		Event::AgreementLapsed {
			id: a,
			delivered_epochs: 1,
			empty_epochs: 0,
			owner_paid: 5,
			provider_paid: 2,
			refunded: 14,
		}
		.into(),
	);
}

#[test]
fn a_subscription_is_accepted_with_the_rekeys_of_the_epochs_that_have_ended() {
	test(|| {
		let (sensor, user, a) = subscription();
		let agreement = Agreements::<Test>::get(a).expect("open");
		assert_eq!(agreement.status, AgreementStatus::Accepted);
		assert_eq!((agreement.rekeyed, agreement.delivered), (1, 0));
		let keys = rekeys(&[&sensor], &user, 10, 10);
		assert_eq!(ReKeys::<Test>::get(a), Some(keys.clone()));
		System::assert_last_event(Event::RequestAccepted { id: a, rekeys: keys }.into());
	});
}

#[test]
fn a_subscription_may_be_accepted_before_any_of_its_epochs_has_ended() {
	test(|| {
		NowSecs::set(0);
		let (sensor, user, a) = agreement_rekeyed_through(9);
		assert_eq!(Agreements::<Test>::get(a).expect("open").rekeyed, 0);
		assert_ok!(add_rekeys(a, &[&sensor], &user, 10, 10));
		assert_eq!(ReKeys::<Test>::get(a), Some(rekeys(&[&sensor], &user, 10, 10)));
	});
}

#[test]
fn the_owner_adds_the_rekeys_of_each_epoch_as_it_ends() {
	test(|| {
		let (sensor, user, a) = subscription();
		NowSecs::set(end_of(11));
		let keys = rekeys(&[&sensor], &user, 11, 11);
		assert_ok!(DataMarket::add_rekeys(RuntimeOrigin::signed(OWNER), a, 11, keys.clone()));
		System::assert_last_event(
			Event::ReKeysAdded { id: a, first_epoch: 11, rekeys: keys }.into(),
		);
		NowSecs::set(end_of(12));
		let keys = rekeys(&[&sensor], &user, 12, 12);
		assert_ok!(DataMarket::add_rekeys(RuntimeOrigin::signed(OWNER), a, 12, keys.clone()));
		assert_eq!(storage_deposit_held(OWNER), rekey_deposit(3), "each re-key's deposit held");
		System::assert_last_event(
			Event::ReKeysAdded { id: a, first_epoch: 12, rekeys: keys }.into(),
		);
		assert_eq!(ReKeys::<Test>::get(a), Some(rekeys(&[&sensor], &user, 10, 12)));
		assert_eq!(Agreements::<Test>::get(a).expect("open").rekeyed, 3);
	});
}

#[test]
fn only_the_owner_adds_rekeys_and_only_to_an_accepted_agreement() {
	test(|| {
		let (sensor, user, a) = subscription();
		let keys = rekeys(&[&sensor], &user, 11, 11);
		assert_noop!(
			DataMarket::add_rekeys(RuntimeOrigin::signed(OTHER), a, 11, keys.clone()),
			Error::<Test>::NotAgreementOwner
		);
		assert_noop!(
			DataMarket::add_rekeys(RuntimeOrigin::signed(OWNER), 42, 11, keys.clone()),
			Error::<Test>::UnknownAgreement
		);
		let pending = request(&[b"s1"], 20, 21);
		assert_noop!(
			DataMarket::add_rekeys(RuntimeOrigin::signed(OWNER), pending, 20, keys),
			Error::<Test>::AgreementNotAccepted
		);
	});
}

#[test]
fn added_rekeys_must_be_a_run_of_epochs_for_every_sensor_within_the_agreement() {
	test(|| {
		let (sensor, user, a) = subscription();
		let other = certify(b"s2");
		// No epoch, more epochs than the agreement has left, and one sensor too many.
		assert_noop!(add_rekeys(a, &[&sensor], &user, 11, 10), Error::<Test>::ReKeyCountMismatch);
		assert_noop!(add_rekeys(a, &[&sensor], &user, 11, 13), Error::<Test>::ReKeyCountMismatch);
		assert_noop!(
			add_rekeys(a, &[&sensor, &other], &user, 11, 11),
			Error::<Test>::ReKeyCountMismatch
		);
	});
}

#[test]
fn no_rekeys_are_added_once_every_epoch_has_them() {
	test(|| {
		let (sensor, user, a) = accepted_agreement();
		assert_noop!(add_rekeys(a, &[&sensor], &user, 13, 13), Error::<Test>::AllEpochsReKeyed);
	});
}

#[test]
fn no_rekeys_are_added_after_the_deadline() {
	test(|| {
		let (sensor, user, a) = subscription();
		System::set_block_number(12);
		assert_noop!(add_rekeys(a, &[&sensor], &user, 11, 11), Error::<Test>::DeadlinePassed);
	});
}

#[test]
fn the_provider_delivers_epoch_by_epoch_and_the_last_delivery_asks_for_confirmation() {
	test(|| {
		let (sensor, user, a) = subscription();
		assert_ok!(deliver_through(a, 10));
		let agreement = Agreements::<Test>::get(a).expect("open");
		assert_eq!(agreement.status, AgreementStatus::Accepted);
		assert_eq!(agreement.delivered, 1);
		assert_eq!(agreement.delivery, Some((bounded(b"/d"), [10; 32])));
		System::assert_last_event(
			Event::DataDelivered {
				id: a,
				through_epoch: 10,
				location: bounded(b"/d"),
				digest: [10; 32],
				empty: no_empty(),
				confirm_by: None,
			}
			.into(),
		);
		assert_noop!(
			DataMarket::confirm(RuntimeOrigin::signed(REQUESTER), a),
			Error::<Test>::AgreementNotDelivered
		);
		assert_ok!(add_rekeys(a, &[&sensor], &user, 11, 12));
		System::set_block_number(4);
		assert_ok!(deliver_through(a, 12));
		let agreement = Agreements::<Test>::get(a).expect("open");
		assert_eq!(agreement.status, AgreementStatus::Delivered);
		assert_eq!((agreement.delivered, agreement.deadline), (3, 24));
		System::assert_last_event(
			Event::DataDelivered {
				id: a,
				through_epoch: 12,
				location: bounded(b"/d"),
				digest: [12; 32],
				empty: no_empty(),
				confirm_by: Some(24),
			}
			.into(),
		);
		assert_ok!(DataMarket::confirm(RuntimeOrigin::signed(REQUESTER), a));
		assert_settled(a, 15, 6, 0, true);
	});
}

#[test]
fn a_delivery_covers_only_epochs_of_the_agreement() {
	test(|| {
		let (_, _, a) = subscription();
		for outside in [9, 13] {
			assert_noop!(deliver_through(a, outside), Error::<Test>::EpochOutsideAgreement);
		}
	});
}

#[test]
fn an_epoch_without_rekeys_cannot_be_delivered() {
	test(|| {
		let (_, _, a) = subscription();
		assert_noop!(deliver_through(a, 11), Error::<Test>::EpochNotReKeyed);
	});
}

#[test]
fn an_epoch_is_delivered_once() {
	test(|| {
		let a = subscription_with_epoch_10_delivered();
		assert_noop!(deliver_through(a, 10), Error::<Test>::EpochDeliveredAlready);
	});
}

#[test]
fn a_subscription_waiting_for_an_open_epoch_gets_more_time_at_its_deadline() {
	test(|| {
		let a = subscription_with_epoch_10_delivered();
		// Block 12 is past the deadline (11); epoch 11 is still being recorded.
		System::set_block_number(12);
		assert_ok!(DataMarket::expire(RuntimeOrigin::signed(OTHER), a));
		let agreement = Agreements::<Test>::get(a).expect("still open");
		assert_eq!(agreement.deadline, 22);
		assert!(Deadlines::<Test>::contains_key(22, a));
		assert!(!Deadlines::<Test>::contains_key(11, a));
		assert_eq!(escrow_held(REQUESTER), 21);
		System::assert_last_event(Event::DeadlineExtended { id: a, deadline: 22 }.into());
	});
}

#[test]
fn an_epoch_that_has_ended_is_waited_for_until_its_grace_period_ends() {
	test(|| {
		let a = subscription_with_epoch_10_delivered();
		NowSecs::set(end_of(11) + GRACE_SECS - 1);
		run_to_block(12);
		System::assert_last_event(Event::DeadlineExtended { id: a, deadline: 22 }.into());
		assert!(Agreements::<Test>::contains_key(a));
	});
}

#[test]
fn a_subscription_that_stalls_lapses_paying_for_what_was_delivered() {
	test(|| {
		let a = subscription_with_epoch_10_delivered();
		let (owner, provider, requester) = (
			Balances::total_balance(&OWNER),
			Balances::total_balance(&PROVIDER),
			Balances::total_balance(&REQUESTER),
		);
		NowSecs::set(end_of(11) + GRACE_SECS);
		run_to_block(12);
		assert!(!Agreements::<Test>::contains_key(a));
		assert!(!ReKeys::<Test>::contains_key(a));
		assert_eq!(Balances::total_balance(&OWNER), owner + 5);
		assert_eq!(Balances::total_balance(&PROVIDER), provider + 2);
		assert_eq!(Balances::total_balance(&REQUESTER), requester - 7);
		assert_eq!(escrow_held(REQUESTER), 0);
		assert_eq!(Sensors::<Test>::get(id(b"s1")).expect("s1").open_agreements, 0);
		assert_lapsed_paying_for_epoch_10(a);
	});
}

#[test]
fn a_subscription_with_nothing_delivered_expires_with_a_full_refund_after_the_grace() {
	test(|| {
		let (_, _, a) = subscription();
		NowSecs::set(end_of(10) + GRACE_SECS);
		System::set_block_number(12);
		assert_ok!(DataMarket::expire(RuntimeOrigin::signed(OTHER), a));
		System::assert_last_event(Event::AgreementExpired { id: a, refunded: 21 }.into());
	});
}

#[test]
fn added_rekeys_must_start_at_the_first_epoch_without_them() {
	test(|| {
		let (sensor, user, a) = subscription();
		NowSecs::set(end_of(12));
		for first in [10, 12, 13] {
			assert_noop!(
				add_rekeys(a, &[&sensor], &user, first, first),
				Error::<Test>::UnexpectedFirstEpoch
			);
		}
		assert_ok!(add_rekeys(a, &[&sensor], &user, 11, 11));
	});
}

#[test]
fn a_subscription_gets_at_most_max_extensions_then_lapses() {
	test(|| {
		let a = subscription_with_epoch_10_delivered();
		// Epoch 11 never ends by the chain's clock: MaxExtensions = 3 extensions.
		for n in 1..=3u64 {
			let block = Agreements::<Test>::get(a).expect("open").deadline + 1;
			run_to_block(block);
			System::assert_has_event(
				Event::DeadlineExtended { id: a, deadline: block + 10 }.into(),
			);
			assert_eq!(Agreements::<Test>::get(a).map(|a| a.extensions), Some(n as u32));
		}
		let block = Agreements::<Test>::get(a).expect("open").deadline + 1;
		run_to_block(block);
		assert!(!Agreements::<Test>::contains_key(a), "no fourth extension: it lapsed");
		assert_lapsed_paying_for_epoch_10(a);
	});
}
