//! Message 1 of the enrolment, which the CA reads.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
	let w = sensorshare_fuzz::world();
	if let Ok(request) = cbpre::CertRequest::from_bytes(data) {
		assert_eq!(request.to_bytes(), data, "one encoding per request");
		let _ = w.ca.issue_with_rng(&request, &mut sensorshare_fuzz::rng(5));
	}
});
