//! A download challenge's answer (`POST …/token`), as JSON.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sensorshare_protocol::auth::ChallengeAnswer;

fuzz_target!(|data: &[u8]| {
	let w = sensorshare_fuzz::world();
	if let Ok(answer) = serde_json::from_slice::<ChallengeAnswer>(data) {
		let _ = answer.challenge();
		let _ = answer.verify(7, &w.bob_public);
	}
});
