//! The body of a record upload (`POST …/records`): a signature, then a record.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sensorshare_protocol::upload::UnverifiedRecordUpload;

fuzz_target!(|data: &[u8]| {
	let w = sensorshare_fuzz::world();
	if let Ok(upload) = UnverifiedRecordUpload::from_bytes(data) {
		let _ = upload.header().epoch(60);
		let _ = upload.verify(w.sensor.public_key(), &w.meta);
	}
});
