//! A delivery's segment: a re-encrypted capsule and the sensor's signed batches.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sensorshare_protocol::delivery::Segment;

fuzz_target!(|data: &[u8]| {
	let w = sensorshare_fuzz::world();
	if let Ok(segment) = Segment::from_bytes(data) {
		let meta = *segment.capsule.meta();
		let m = w.bob.decrypt2(w.sensor.public_key(), &segment.capsule);
		if let (Ok(m), Ok(batches)) = (m, segment.verify(w.sensor.public_key(), &meta)) {
			for (_, record) in batches.iter().flat_map(|b| b.records()) {
				let _ = m.open(&meta, record);
			}
		}
	}
});
