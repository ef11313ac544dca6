//! The dev chain's published CA key.
//!
//! **Public, for development only.** Its secret is printed here so that the dev chain
//! works out of the box: anyone can issue certificates under it. A real deployment
//! runs `Setup` and puts its own `P_alpha` in its chain's genesis.

/// `scalar(alpha)` of the dev CA: `SHA-256("SensorShare dev CA -- public, never use in production")`.
pub const DEV_CA_SECRET: [u8; 32] =
	hex32(b"027cc2a832f5a7f729c7800a425d457638358dd3467e895a892b0797d42f4aaa");

/// `point(P_alpha)` of the dev CA.
pub const DEV_CA_PUBLIC: [u8; 33] = {
	let x = hex32(b"289720063bf32df43ea2c1ed40be171e06ec22f8ba2846249a1ae6dd372877c7");
	let mut out = [0u8; 33];
	out[0] = 0x03;
	let mut i = 0;
	while i < 32 {
		out[i + 1] = x[i];
		i += 1;
	}
	out
};

/// The dev CA's secret key.
pub fn ca() -> crate::CaSecretKey {
	// DEV_CA_SECRET is a valid non-zero scalar below n: the test below checks it.
	crate::CaSecretKey::from_bytes(&DEV_CA_SECRET).unwrap_or_else(|_| unreachable!())
}

/// CertifiedUserKeyGen for `id` under the dev CA, both sides in one place: the key
/// of a dev chain's sensor or data user.
pub fn enroll_with_rng(
	id: &[u8],
	rng: &mut impl rand_core::CryptoRngCore,
) -> Result<crate::SecretKey, crate::Error> {
	let ca = ca();
	let request = crate::KeyRequest::new_with_rng(crate::Identity::new(id)?, rng);
	let response = ca.issue_with_rng(request.message(), rng)?;
	request.finish(&response, &ca.public_key())
}

const fn hex32(s: &[u8; 64]) -> [u8; 32] {
	let mut out = [0u8; 32];
	let mut i = 0;
	while i < 32 {
		out[i] = (nibble(s[2 * i]) << 4) | nibble(s[2 * i + 1]);
		i += 1;
	}
	out
}

const fn nibble(c: u8) -> u8 {
	match c {
		b'0'..=b'9' => c - b'0',
		b'a'..=b'f' => c - b'a' + 10,
		_ => panic!("not a lowercase hex digit"),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_published_public_key_is_that_of_the_published_secret() {
		let ca = crate::CaSecretKey::from_bytes(&DEV_CA_SECRET).expect("a valid scalar");
		assert_eq!(ca.public_key().to_bytes(), DEV_CA_PUBLIC);
	}

	#[test]
	fn a_dev_enrolment_gives_a_key_whose_public_key_anyone_derives() {
		use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
		let key = enroll_with_rng(b"sensor", &mut ChaCha20Rng::seed_from_u64(3)).expect("enrol");
		let derived = crate::PublicKey::derive(key.id(), key.certificate(), &ca().public_key())
			.expect("derive");
		assert_eq!(&derived, key.public_key());
	}
}
