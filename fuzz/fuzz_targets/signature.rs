//! A Schnorr signature (uploads, proofs of possession, challenge answers).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
	let w = sensorshare_fuzz::world();
	if let Ok(signature) = cbpre::Signature::from_bytes(data) {
		assert_eq!(signature.to_bytes().as_slice(), data, "one encoding per signature");
		let _ = w.sensor.public_key().verify_signature(b"a message", &signature);
	}
});
