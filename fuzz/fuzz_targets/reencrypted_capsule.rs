//! A re-encrypted capsule from a delivery's segment.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
	let w = sensorshare_fuzz::world();
	if let Ok(capsule) = cbpre::ReEncryptedCapsule::from_bytes(data) {
		assert_eq!(capsule.to_bytes(), data, "one encoding per re-encrypted capsule");
		let _ = w.bob.decrypt2(w.sensor.public_key(), &capsule);
	}
});
