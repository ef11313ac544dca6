//! A capsule from a sensor's upload: decodes only from its own encoding; checking
//! and opening it never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
	let w = sensorshare_fuzz::world();
	if let Ok(capsule) = cbpre::Capsule::from_bytes(data) {
		assert_eq!(capsule.to_bytes(), data, "one encoding per capsule");
		if let Ok(verified) = capsule.verify(w.sensor.public_key()) {
			let rk = w.sensor.rekey(capsule.meta(), &w.bob_public).expect("a re-key");
			let _ = w.bob.decrypt2(w.sensor.public_key(), &verified.re_encrypt(&rk, *w.bob.id()));
		}
		let _ = w.sensor.decrypt1(&capsule);
	}
});
