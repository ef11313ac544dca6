//! The storage migration from version 2 to 3.

use super::*;
use crate::migrations::v3::{v2, MigrateToV3};
use codec::Encode;
use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};

/// Writes `value` raw under `key`, as the old runtime did.
fn put_raw(key: Vec<u8>, value: impl Encode) {
	frame_support::storage::unhashed::put_raw(&key, &value.encode());
}

#[test]
fn version_2_records_are_rewritten_with_their_prices_and_first_epochs() {
	test(|| {
		let (sensor, user) = sensor_and_requester();
		let a = request(&[b"s1"], 10, 12);
		assert_ok!(DataMarket::accept_request(
			RuntimeOrigin::signed(OWNER),
			a,
			rekeys(&[&sensor], &user, 10, 12)
		));
		// The same records as version 2 stored them.
		let s = Sensors::<Test>::get(id(b"s1")).expect("registered");
		let ag = Agreements::<Test>::get(a).expect("open");
		put_raw(
			Sensors::<Test>::hashed_key_for(id(b"s1")),
			v2::SensorInfo::<Test> {
				owner: s.owner,
				cert: s.cert,
				public_key: s.public_key,
				price_per_epoch: s.price_per_epoch,
				epoch_secs: s.epoch_secs,
				provider: s.provider,
				description: s.description.clone(),
				active: s.active,
				open_agreements: s.open_agreements,
				deposit: s.deposit,
			},
		);
		put_raw(
			Agreements::<Test>::hashed_key_for(a),
			v2::Agreement::<Test> {
				requester: ag.requester,
				owner: ag.owner,
				provider: ag.provider,
				sensors: ag.sensors.clone(),
				from_epoch: ag.from_epoch,
				to_epoch: ag.to_epoch,
				epoch_secs: ag.epoch_secs,
				rekeyed: ag.rekeyed,
				delivered: ag.delivered,
				price: ag.price,
				fee: ag.fee,
				status: ag.status,
				deadline: ag.deadline,
				delivery: ag.delivery.clone(),
				extensions: ag.extensions,
				deposit: ag.deposit,
				rekey_deposit: ag.rekey_deposit,
			},
		);
		StorageVersion::new(2).put::<DataMarket>();

		MigrateToV3::<Test>::on_runtime_upgrade();

		assert_eq!(DataMarket::on_chain_storage_version(), StorageVersion::new(3));
		assert_eq!(Sensors::<Test>::get(id(b"s1")), Some(SensorInfo { first_epoch: 0, ..s }));
		assert_eq!(Agreements::<Test>::get(a), Some(ag), "prices and fee rebuilt exactly");
		// Run again, it changes nothing: it is for version 2 only.
		let root = sp_io::storage::root(sp_runtime::StateVersion::V1);
		MigrateToV3::<Test>::on_runtime_upgrade();
		assert_eq!(sp_io::storage::root(sp_runtime::StateVersion::V1), root);
	});
}
