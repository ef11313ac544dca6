//! A delivery's segment: a re-encrypted capsule and its records.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sensorshare_protocol::delivery::Segment;

fuzz_target!(|data: &[u8]| {
	let w = sensorshare_fuzz::world();
	if let Ok(segment) = Segment::from_bytes(data) {
		if let Ok(m) = w.bob.decrypt2(w.sensor.public_key(), &segment.capsule) {
			for record in &segment.records {
				let _ = m.open(segment.capsule.meta(), record);
			}
		}
	}
});
