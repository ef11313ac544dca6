//! A decrypted reading, as the CLI parses it for the buyer.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sensorshare_protocol::reading::Reading;

fuzz_target!(|data: &[u8]| {
	if let Ok(reading) = Reading::from_bytes(data) {
		let again = Reading::from_bytes(&reading.to_bytes()).expect("re-parses");
		assert_eq!(again.0.len(), reading.0.len());
	}
});
