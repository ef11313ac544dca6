//! Known-answer vectors: `tests/data/cbpre-vectors.json` is a copy, unchanged, of
//! the vectors that came with the scheme's specification (`docs/cbpre.md`). They were
//! made by an independent implementation of that specification; this test replays
//! every case and checks every field, so that both implementations agree to the bit.

use cbpre::{
	hazmat, rand_core, CaPublicKey, CaSecretKey, Capsule, Certificate, DataKey, Identity,
	KeyRequest, Meta, PublicKey, ReKey, SecretKey,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct File {
	cases: Vec<Case>,
	xmd_check: XmdCheck,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct Case {
	alpha: String,
	P_alpha: String,
	A: Party,
	B: Party,
	epoch: String,
	meta: String,
	dek: String,
	H2_r: String,
	R: String,
	capsule: CapsuleHex,
	rekey: String,
	c_b: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct Party {
	id: String,
	r_u: String,
	R_u: String,
	r_t: String,
	cert: String,
	r_a: String,
	d: String,
	P: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapsuleHex {
	c_a: String,
	h: String,
	s: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct XmdCheck {
	dst: String,
	msg: String,
	len: usize,
	uniform_bytes: String,
}

/// An RNG that replays given bytes: the scheme draws a scalar as 32 bytes read
/// big-endian, so replaying the vector's `r_u` or `r_t` replays the draw.
struct Replay(Vec<u8>);

impl rand_core::RngCore for Replay {
	fn next_u32(&mut self) -> u32 {
		unimplemented!("the scheme draws bytes")
	}
	fn next_u64(&mut self) -> u64 {
		unimplemented!("the scheme draws bytes")
	}
	fn fill_bytes(&mut self, dest: &mut [u8]) {
		assert!(self.0.len() >= dest.len(), "the scheme drew more than the vector holds");
		let rest = self.0.split_off(dest.len());
		dest.copy_from_slice(&self.0);
		self.0 = rest;
	}
	fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
		self.fill_bytes(dest);
		Ok(())
	}
}
impl rand_core::CryptoRng for Replay {}

fn unhex(s: &str) -> Vec<u8> {
	hex::decode(s).expect("vector field is hex")
}

fn load() -> File {
	let text = include_str!("data/cbpre-vectors.json");
	serde_json::from_str(text).expect("vectors file parses")
}

/// Runs CertifiedUserKeyGen for one party with the vector's randomness and checks
/// every intermediate value.
fn enroll(ca: &CaSecretKey, ca_pub: &CaPublicKey, p: &Party) -> SecretKey {
	let id = Identity::new(&unhex(&p.id)).expect("vector id is valid");
	let request = KeyRequest::new_with_rng(id, &mut Replay(unhex(&p.r_u)));
	assert_eq!(*request.secret_bytes(), unhex(&p.r_u)[..]);
	let message = request.message().to_bytes();
	assert_eq!(message[..message.len() - 33], id.encode()[..]);
	assert_eq!(hex::encode(&message[message.len() - 33..]), p.R_u, "R_u");

	let response = ca.issue_with_rng(request.message(), &mut Replay(unhex(&p.r_t))).expect("issue");
	let wire = response.to_bytes();
	assert_eq!(hex::encode(&wire[..32]), p.r_a, "r_a");
	assert_eq!(hex::encode(response.certificate().to_bytes()), p.cert, "cert");

	let key = request.finish(&response, ca_pub).expect("the CA's answer is accepted");
	assert_eq!(hex::encode(*key.to_bytes()), p.d, "d");
	assert_eq!(hex::encode(key.public_key().to_bytes()), p.P, "P");

	let cert = Certificate::from_bytes(&unhex(&p.cert)).expect("cert decodes");
	let derived = PublicKey::derive(&id, &cert, ca_pub).expect("PublicKey(id, Cert)");
	assert_eq!(hex::encode(derived.to_bytes()), p.P, "PublicKey(id, Cert)");
	key
}

#[test]
fn every_case_reproduces_every_field() {
	let file = load();
	assert_eq!(file.cases.len(), 3);
	for (i, case) in file.cases.iter().enumerate() {
		let ca = CaSecretKey::from_bytes(&unhex(&case.alpha)).expect("alpha decodes");
		let ca_pub = ca.public_key();
		assert_eq!(hex::encode(ca_pub.to_bytes()), case.P_alpha, "case {i}: P_alpha");

		let a = enroll(&ca, &ca_pub, &case.A);
		let b = enroll(&ca, &ca_pub, &case.B);

		let epoch: u64 = case.epoch.parse().expect("epoch is a u64");
		let meta = Meta::new(*a.id(), epoch);
		assert_eq!(hex::encode(meta.encode()), case.meta, "case {i}: enc(meta)");
		assert_eq!(Meta::decode(&unhex(&case.meta)).expect("meta decodes"), meta);

		let m = a.data_key(&meta).expect("dek");
		assert_eq!(hex::encode(m.as_bytes()), case.dek, "case {i}: dek");
		assert_eq!(hex::encode(*hazmat::h2(&a, &meta).expect("H2")), case.H2_r, "case {i}: H2");
		assert_eq!(hex::encode(hazmat::commitment(&a, &meta).expect("R")), case.R, "case {i}: R");

		let capsule = hazmat::encrypt(&a, &m, &meta).expect("encrypt");
		let bytes = capsule.to_bytes();
		let expected = [
			unhex(&case.capsule.c_a),
			unhex(&case.meta),
			unhex(&case.capsule.h),
			unhex(&case.capsule.s),
		]
		.concat();
		assert_eq!(hex::encode(&bytes), hex::encode(&expected), "case {i}: capsule");
		assert_eq!(a.encapsulate(epoch).expect("encapsulate"), (m.clone(), capsule));
		let capsule = Capsule::from_bytes(&expected).expect("capsule decodes");

		let b_pub = PublicKey::derive(b.id(), b.certificate(), &ca_pub).expect("P_B");
		let rk = a.rekey(&meta, &b_pub).expect("rekey");
		assert_eq!(hex::encode(rk.to_bytes()), case.rekey, "case {i}: rekey");

		let verified = capsule.verify(a.public_key()).expect("capsule verifies");
		let rk = ReKey::from_bytes(&unhex(&case.rekey)).expect("rekey decodes");
		let delivered = verified.re_encrypt(&rk, *b.id());
		assert_eq!(hex::encode(delivered.c_b()), case.c_b, "case {i}: C_B");
		assert!(delivered.matches_rekey(&rk));

		assert_eq!(a.decrypt1(&capsule).expect("decrypt1"), m, "case {i}: Decrypt1");
		assert_eq!(
			b.decrypt2(a.public_key(), &delivered).expect("decrypt2"),
			m,
			"case {i}: Decrypt2"
		);
		let _: DataKey = m;
	}
}

#[test]
fn xmd_matches_rfc9380() {
	let x = load().xmd_check;
	let mut out = vec![0u8; x.len];
	cbpre::expand_message_xmd(&[&unhex(&x.msg)], &unhex(&x.dst), &mut out).expect("xmd");
	assert_eq!(hex::encode(out), x.uniform_bytes);
}
