//! Message 2 of the enrolment, which the user reads.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
	let w = sensorshare_fuzz::world();
	if let Ok(response) = cbpre::CertResponse::from_bytes(data) {
		assert_eq!(response.to_bytes().as_slice(), data, "one encoding per response");
		let id = cbpre::Identity::new(b"carol").expect("an identity");
		let request = cbpre::KeyRequest::new_with_rng(id, &mut sensorshare_fuzz::rng(6));
		let _ = request.finish(&response, &w.ca.public_key());
	}
});
