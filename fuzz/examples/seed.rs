//! Writes the seed corpus of every target: valid encodings made the way the tests
//! and the services make them, so the fuzzer starts from inputs that pass the
//! decoders and mutates from there. `cargo run --example seed` in `fuzz/` writes
//! `seeds/<target>/`.

use cbpre::{Identity, KeyRequest};
use codec::Encode;
use sensorshare_fuzz::{rng, world};
use sensorshare_protocol::{
	auth::{Challenge, ChallengeAnswer},
	batch::sign_batch_with_rng,
	delivery::{encode_segment, EmptyEntry, Manifest, SegmentEntry, MANIFEST_VERSION},
	header::RecordHeader,
	keyfile::{self, Existing},
	reading::{Quantity, Reading},
	sha256,
};
use sensorshare_runtime::Runtime;
use std::path::Path;

fn write(target: &str, name: &str, bytes: &[u8]) {
	let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds").join(target);
	std::fs::create_dir_all(&dir).expect("the seed directory");
	std::fs::write(dir.join(name), bytes).expect("a seed");
}

fn main() {
	let w = world();
	let (m, capsule) = w.sensor.encapsulate(w.meta.epoch).expect("a capsule");
	write("capsule", "epoch-7", &capsule.to_bytes());

	let rk = w.sensor.rekey(capsule.meta(), &w.bob_public).expect("a re-key");
	let verified = capsule.verify(w.sensor.public_key()).expect("verifies");
	let for_bob = verified.re_encrypt(&rk, *w.bob.id());
	write("reencrypted_capsule", "for-bob", &for_bob.to_bytes());

	let reading = Reading::new([(Quantity::Pressure, 1013.25), (Quantity::RelativeHumidity, 40.0)]);
	write("reading", "pressure-humidity", &reading.to_bytes());
	let records: Vec<_> = (0..3u64)
		.map(|i| {
			let header = RecordHeader::new(7 * 60_000 + i * 1000).to_bytes();
			m.seal_with_rng(&w.meta, &header, &reading.to_bytes(), &mut rng(i)).expect("sealed")
		})
		.collect();
	write("sealed_record", "reading", &records[0].to_bytes());
	let record_bytes: Vec<Vec<u8>> = records.iter().map(|r| r.to_bytes()).collect();
	let batch =
		sign_batch_with_rng(&w.sensor, 7, 0, record_bytes.iter().map(Vec::as_slice), &mut rng(4))
			.expect("signed");
	write("batch", "three-readings", &batch);

	let request = KeyRequest::new_with_rng(Identity::new(b"carol").expect("id"), &mut rng(5));
	write("cert_request", "carol", &request.message().to_bytes());
	let response = w.ca.issue_with_rng(request.message(), &mut rng(6)).expect("issued");
	write("cert_response", "carol", response.to_bytes().as_slice());

	let signature = w.sensor.sign_with_rng(b"a message", &mut rng(7)).expect("signed");
	write("signature", "a-message", signature.to_bytes().as_slice());

	let dir = tempfile::tempdir().expect("a directory");
	let key = dir.path().join("key");
	keyfile::save_secret_key(&key, &w.bob, &w.ca.public_key(), Existing::Refuse).expect("saved");
	write("key_file", "secret", &std::fs::read(&key).expect("read"));
	let pending = dir.path().join("pending");
	keyfile::save_pending(&pending, &request, Existing::Refuse).expect("saved");
	write("key_file", "pending", &std::fs::read(&pending).expect("read"));
	let ca = dir.path().join("ca");
	keyfile::save_ca(&ca, &w.ca, Existing::Refuse).expect("saved");
	write("key_file", "ca", &std::fs::read(&ca).expect("read"));

	let bytes = encode_segment(&for_bob, [&batch[..]].into_iter());
	write("segment", "one-batch-of-three", &bytes);
	let sensor = hex::encode(w.sensor.id().as_bytes());
	let manifest = Manifest {
		version: MANIFEST_VERSION,
		agreement: 1,
		requester: hex::encode(w.bob.id().as_bytes()),
		from_epoch: 7,
		to_epoch: 8,
		segments: vec![SegmentEntry {
			sensor: sensor.clone(),
			epoch: 7,
			name: format!("{sensor}-7"),
			size: bytes.len() as u64,
			sha256: hex::encode(sha256(&bytes)),
			records: 3,
		}],
		empty: vec![EmptyEntry { sensor, epoch: 8 }],
	};
	write("manifest", "one-segment-one-empty", &manifest.to_bytes());

	let challenge = Challenge { challenge: hex::encode([7u8; 32]), expires_in: 60 };
	let answer =
		ChallengeAnswer::sign_with_rng(&w.bob, 7, &challenge, &mut rng(8)).expect("signed");
	write("challenge_answer", "agreement-7", &serde_json::to_vec(&answer).expect("JSON"));

	type Call = pallet_data_market::Call<Runtime>;
	let id = |s: &[u8]| s.to_vec().try_into().expect("a short identity");
	let calls = [
		(
			"request_data",
			Call::request_data {
				sensors: vec![id(b"tag-1"), id(b"tag-2")].try_into().expect("two sensors"),
				from_epoch: 7,
				to_epoch: 9,
				max_price: u128::MAX,
			},
		),
		("accept_request", Call::accept_request { id: 3, rekeys: Default::default() }),
		(
			"deliver",
			Call::deliver {
				id: 3,
				through_epoch: 9,
				location: b"http://127.0.0.1:8088/v1/deliveries/3/manifests/9"
					.to_vec()
					.try_into()
					.expect("short"),
				digest: [9; 32],
				empty: vec![pallet_data_market::EmptyEpoch { sensor: 1, epoch: 7 }]
					.try_into()
					.expect("one empty epoch"),
			},
		),
		("confirm", Call::confirm { id: 3 }),
		("add_rekeys", Call::add_rekeys { id: 3, first_epoch: 8, rekeys: Default::default() }),
	];
	for (name, call) in calls {
		write("market_call", name, &call.encode());
	}
}
