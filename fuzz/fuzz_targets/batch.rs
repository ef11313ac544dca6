//! The body of a batch upload (`PUT …/batches/{sequence}`): a signature, a sequence
//! number, then records; also what a delivery's segment carries.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sensorshare_protocol::batch::{batch_head, UnverifiedBatch};

fuzz_target!(|data: &[u8]| {
	let w = sensorshare_fuzz::world();
	let _ = batch_head(data);
	if let Ok(batch) = UnverifiedBatch::from_bytes(data) {
		let _ = batch.sequence();
		for header in batch.headers() {
			let _ = header.epoch(60);
		}
		let _ = batch.verify(w.sensor.public_key(), &w.meta);
	}
});
