use super::*;

#[test]
fn a_provider_registers_with_its_endpoint_and_fee_and_pays_a_deposit() {
	test(|| {
		assert_ok!(DataMarket::register_provider(
			RuntimeOrigin::signed(PROVIDER_2),
			bounded(b"https://cloud.example"),
			3
		));
		assert_eq!(deposit_held(PROVIDER_2), DEPOSIT);
		System::assert_last_event(
			Event::ProviderRegistered {
				provider: PROVIDER_2,
				endpoint: bounded(b"https://cloud.example"),
				fee_per_epoch: 3,
			}
			.into(),
		);
	});
}

#[test]
fn a_provider_cannot_register_twice() {
	test(|| {
		assert_noop!(
			DataMarket::register_provider(RuntimeOrigin::signed(PROVIDER), bounded(b"x"), 1),
			Error::<Test>::ProviderAlreadyRegistered
		);
	});
}

#[test]
fn a_provider_without_the_deposit_is_refused() {
	test(|| {
		assert_noop!(
			DataMarket::register_provider(RuntimeOrigin::signed(POOR), bounded(b"x"), 1),
			Error::<Test>::InsufficientBalance
		);
	});
}
