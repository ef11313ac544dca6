//! A delivery's manifest, and the buyer's check that it covers the agreement.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sensorshare_protocol::delivery::Manifest;

fuzz_target!(|data: &[u8]| {
	let w = sensorshare_fuzz::world();
	if let Ok(manifest) = Manifest::from_bytes_unchecked(data) {
		let again = Manifest::from_bytes_unchecked(&manifest.to_bytes()).expect("re-parses");
		assert_eq!(again, manifest);
		let sensors = [*w.sensor.id()];
		let _ = manifest.check_covers(&sensors, manifest.from_epoch, manifest.to_epoch);
		let _ = manifest.check_covers(&sensors, 7, 9);
		let _ = manifest.empty_epochs(&sensors, manifest.from_epoch);
		let on_chain = [sensorshare_protocol::delivery::EmptyEpoch { sensor: 0, epoch: 8 }];
		let _ = manifest.check_empty(&sensors, &on_chain);
	}
});
