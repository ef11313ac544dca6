use super::*;

#[test]
fn the_provider_delivers_and_the_confirmation_period_starts() {
	test(|| {
		let (_, _, a) = accepted_agreement();
		System::set_block_number(5);
		assert_ok!(DataMarket::deliver(
			RuntimeOrigin::signed(PROVIDER),
			a,
			12,
			bounded(b"/deliveries/0"),
			[7; 32],
			no_empty()
		));
		let agreement = Agreements::<Test>::get(a).expect("open");
		assert_eq!(agreement.status, AgreementStatus::Delivered);
		assert_eq!(agreement.deadline, 25);
		assert_eq!(agreement.delivery, Some((bounded(b"/deliveries/0"), [7; 32])));
		assert!(Deadlines::<Test>::contains_key(25, a));
		assert!(!Deadlines::<Test>::contains_key(11, a));
		System::assert_last_event(
			Event::DataDelivered {
				id: a,
				through_epoch: 12,
				location: bounded(b"/deliveries/0"),
				digest: [7; 32],
				empty: no_empty(),
				confirm_by: Some(25),
			}
			.into(),
		);
	});
}

#[test]
fn only_the_sensors_provider_delivers() {
	test(|| {
		let (_, _, a) = accepted_agreement();
		assert_noop!(
			DataMarket::deliver(
				RuntimeOrigin::signed(OTHER),
				a,
				12,
				bounded(b"/d"),
				[0; 32],
				no_empty()
			),
			Error::<Test>::NotProvider
		);
	});
}

#[test]
fn only_an_accepted_agreement_is_delivered() {
	test(|| {
		sensor_and_requester();
		let a = request(&[b"s1"], 0, 0);
		assert_noop!(
			DataMarket::deliver(
				RuntimeOrigin::signed(PROVIDER),
				a,
				0,
				bounded(b"/d"),
				[0; 32],
				no_empty()
			),
			Error::<Test>::AgreementNotAccepted
		);
	});
}

#[test]
fn a_delivery_needs_a_location() {
	test(|| {
		let (_, _, a) = accepted_agreement();
		assert_noop!(
			DataMarket::deliver(
				RuntimeOrigin::signed(PROVIDER),
				a,
				12,
				bounded(b""),
				[0; 32],
				no_empty()
			),
			Error::<Test>::EmptyLocation
		);
	});
}

#[test]
fn a_delivery_after_the_deadline_is_refused() {
	test(|| {
		let (_, _, a) = accepted_agreement();
		System::set_block_number(12);
		assert_noop!(
			DataMarket::deliver(
				RuntimeOrigin::signed(PROVIDER),
				a,
				12,
				bounded(b"/d"),
				[0; 32],
				no_empty()
			),
			Error::<Test>::DeadlinePassed
		);
	});
}

#[test]
fn confirming_pays_owner_and_provider_and_forgets_the_rekeys() {
	test(|| {
		let a = delivered_agreement();
		let (owner, provider, requester) = (
			Balances::total_balance(&OWNER),
			Balances::total_balance(&PROVIDER),
			Balances::total_balance(&REQUESTER),
		);
		assert_ok!(DataMarket::confirm(RuntimeOrigin::signed(REQUESTER), a));
		assert_eq!(Balances::total_balance(&OWNER), owner + 15);
		assert_eq!(Balances::total_balance(&PROVIDER), provider + 6);
		assert_eq!(Balances::total_balance(&REQUESTER), requester - 21);
		assert_eq!(escrow_held(REQUESTER), 0);
		assert!(!Agreements::<Test>::contains_key(a));
		assert!(!ReKeys::<Test>::contains_key(a));
		assert_eq!(Deadlines::<Test>::iter().count(), 0);
		assert_eq!(Sensors::<Test>::get(id(b"s1")).expect("s1").open_agreements, 0);
		assert_settled(a, 15, 6, 0, true);
	});
}

#[test]
fn only_the_requester_confirms_and_only_a_delivery() {
	test(|| {
		let (_, _, a) = accepted_agreement();
		assert_noop!(
			DataMarket::confirm(RuntimeOrigin::signed(REQUESTER), a),
			Error::<Test>::AgreementNotDelivered
		);
		assert_ok!(DataMarket::deliver(
			RuntimeOrigin::signed(PROVIDER),
			a,
			12,
			bounded(b"/d"),
			[0; 32],
			no_empty()
		));
		assert_noop!(
			DataMarket::confirm(RuntimeOrigin::signed(OWNER), a),
			Error::<Test>::NotRequester
		);
	});
}
