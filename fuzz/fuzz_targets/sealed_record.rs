//! A sealed record from an upload or a segment.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
	let w = sensorshare_fuzz::world();
	if let Ok(record) = cbpre::SealedRecord::from_bytes(data) {
		assert_eq!(record.to_bytes(), data, "one encoding per record");
		let _ = w.data_key.open(&w.meta, &record);
		let _ = sensorshare_protocol::header::RecordHeader::from_bytes(record.header());
	}
});
