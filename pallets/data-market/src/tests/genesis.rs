use super::*;

#[test]
fn genesis_sets_the_ca_key_and_the_provider() {
	test(|| {
		assert_eq!(CaKey::<Test>::get(), Some(ca().public_key().to_bytes()));
		let p = Providers::<Test>::get(PROVIDER).expect("genesis provider");
		assert_eq!(p.fee_per_epoch, PROVIDER_FEE);
		assert_eq!(deposit_held(PROVIDER), 0, "genesis providers pay no deposit");
	});
}
