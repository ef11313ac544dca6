//! Setup and CertifiedUserKeyGen: the CA's key, ECQV implicit certificates, and the
//! participants' key pairs.
//!
//! The three messages of CertifiedUserKeyGen are separate steps, so that a user and
//! the CA run them on different machines:
//!
//! 1. user: [`KeyRequest::new_with_rng`] keeps `r_U` and yields a [`CertRequest`];
//! 2. CA: [`CaSecretKey::issue_with_rng`] answers with a [`CertResponse`];
//! 3. user: [`KeyRequest::finish`] checks the answer and yields the [`SecretKey`].

use crate::{
	encoding::{decode_point, decode_scalar, encode_point, encode_scalar, non_identity, Identity},
	fixed_base::mul_base,
	hash::h1,
	Error, POINT_LEN, SCALAR_LEN,
};
use alloc::vec::Vec;
use core::fmt;
use p256::{elliptic_curve::Field, ProjectivePoint, Scalar};
use rand_core::CryptoRngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A uniformly random non-zero scalar: 32 bytes from `rng` read big-endian, drawn
/// again while out of range or zero. Replaying the bytes replays the scalar.
pub(crate) fn random_scalar(rng: &mut impl CryptoRngCore) -> Scalar {
	let mut bytes = Zeroizing::new([0u8; SCALAR_LEN]);
	loop {
		rng.fill_bytes(bytes.as_mut());
		if let Ok(s) = decode_scalar(bytes.as_ref()) {
			return s;
		}
	}
}

macro_rules! secret_scalar {
	($(#[$doc:meta])* $name:ident) => {
		$(#[$doc])*
		#[derive(Clone)]
		pub struct $name(Scalar);

		impl Drop for $name {
			fn drop(&mut self) {
				self.0.zeroize();
			}
		}
		impl ZeroizeOnDrop for $name {}

		impl fmt::Debug for $name {
			fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
				f.write_str(concat!(stringify!($name), "(<redacted>)"))
			}
		}
	};
}

macro_rules! public_point {
	($(#[$doc:meta])* $name:ident) => {
		$(#[$doc])*
		#[derive(Clone, Copy, PartialEq, Eq)]
		pub struct $name(pub(crate) ProjectivePoint);

		impl $name {
			/// Decodes `point(Q)`: 33 bytes SEC1 compressed, on the curve, not the identity.
			pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
				decode_point(bytes).map($name)
			}

			/// Encodes `point(Q)`.
			pub fn to_bytes(&self) -> [u8; POINT_LEN] {
				encode_point(&self.0)
			}
		}

		impl fmt::Debug for $name {
			fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
				write!(f, concat!(stringify!($name), "("))?;
				crate::wire::write_hex(f, &self.to_bytes())?;
				write!(f, ")")
			}
		}
	};
}

secret_scalar!(
	/// The CA's master secret `alpha`.
	CaSecretKey
);
public_point!(
	/// The CA's public key `P_alpha = alpha*G`, in the chain's genesis.
	CaPublicKey
);
public_point!(
	/// A participant's public key `P = d*G = H1(Cert, id)*Cert + P_alpha`.
	PublicKey
);
public_point!(
	/// An ECQV implicit certificate `Cert_U = R_U + r_t*G`.
	Certificate
);

impl CaSecretKey {
	/// Setup: a fresh CA key `alpha`.
	pub fn generate_with_rng(rng: &mut impl CryptoRngCore) -> Self {
		CaSecretKey(random_scalar(rng))
	}

	/// Decodes `scalar(alpha)`.
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
		decode_scalar(bytes).map(CaSecretKey)
	}

	/// Encodes `scalar(alpha)`; the copy is wiped when dropped.
	pub fn to_bytes(&self) -> Zeroizing<[u8; SCALAR_LEN]> {
		Zeroizing::new(encode_scalar(&self.0))
	}

	/// `P_alpha = alpha*G`.
	pub fn public_key(&self) -> CaPublicKey {
		CaPublicKey(mul_base(&self.0))
	}

	/// Step 2 of CertifiedUserKeyGen: certify `request` with a fresh `r_t`.
	///
	/// Checking that the requester really holds the identity is the caller's (the CA
	/// operator's) business, before calling this.
	pub fn issue_with_rng(
		&self,
		request: &CertRequest,
		rng: &mut impl CryptoRngCore,
	) -> Result<CertResponse, Error> {
		let r_t = Zeroizing::new(random_scalar(rng));
		let cert = non_identity(request.r_u + mul_base(&r_t))?;
		let e = h1(&cert, &request.id)?;
		let er_t = Zeroizing::new(e * *r_t);
		let r_a = Zeroizing::new(*er_t + self.0);
		if bool::from(r_a.is_zero()) {
			return Err(Error::ZeroScalar);
		}
		Ok(CertResponse { r_a, cert: Certificate(cert) })
	}
}

impl PublicKey {
	/// `PublicKey(id, Cert) = H1(Cert, id)*Cert + P_alpha`: anyone derives a
	/// participant's key from its identity and certificate.
	pub fn derive(id: &Identity, cert: &Certificate, ca: &CaPublicKey) -> Result<Self, Error> {
		let e = h1(&cert.0, id)?;
		// Everything here is public: the variable-time multiplication is safe.
		non_identity(ca.0 + crate::msm::mul_vartime(&e, &cert.0.to_affine())).map(PublicKey)
	}
}

/// Message 1 of CertifiedUserKeyGen, user to CA: `(id_U, R_U)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertRequest {
	id: Identity,
	r_u: ProjectivePoint,
}

impl CertRequest {
	/// The identity to certify.
	pub fn id(&self) -> &Identity {
		&self.id
	}

	/// `enc(id_U) || point(R_U)`.
	pub fn to_bytes(&self) -> Vec<u8> {
		let mut v = self.id.encode();
		v.extend_from_slice(&encode_point(&self.r_u));
		v
	}

	/// Decodes `enc(id_U) || point(R_U)` strictly.
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
		let (id, rest) = Identity::decode_prefix(bytes)?;
		if rest.len() != POINT_LEN {
			return Err(Error::InvalidLength {
				expected: bytes.len() - rest.len() + POINT_LEN,
				got: bytes.len(),
			});
		}
		Ok(CertRequest { id, r_u: decode_point(rest)? })
	}
}

/// Message 2 of CertifiedUserKeyGen, CA to user: `(r_a, Cert_U)`.
///
/// `r_a` is key material: together with `r_U` it gives the private key. It is wiped
/// on drop and not shown by `Debug`.
#[derive(Clone)]
pub struct CertResponse {
	r_a: Zeroizing<Scalar>,
	cert: Certificate,
}

impl CertResponse {
	/// The certificate `Cert_U`.
	pub fn certificate(&self) -> &Certificate {
		&self.cert
	}

	/// `scalar(r_a) || point(Cert_U)`; the copy is wiped when dropped.
	pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
		let mut v = Zeroizing::new(Vec::with_capacity(SCALAR_LEN + POINT_LEN));
		v.extend_from_slice(&encode_scalar(&self.r_a));
		v.extend_from_slice(&self.cert.to_bytes());
		v
	}

	/// Decodes `scalar(r_a) || point(Cert_U)` strictly.
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
		if bytes.len() != SCALAR_LEN + POINT_LEN {
			return Err(Error::InvalidLength {
				expected: SCALAR_LEN + POINT_LEN,
				got: bytes.len(),
			});
		}
		let r_a = Zeroizing::new(decode_scalar(&bytes[..SCALAR_LEN])?);
		Ok(CertResponse { r_a, cert: Certificate::from_bytes(&bytes[SCALAR_LEN..])? })
	}
}

impl fmt::Debug for CertResponse {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("CertResponse")
			.field("r_a", &"<redacted>")
			.field("cert", &self.cert)
			.finish()
	}
}

/// The user's side of CertifiedUserKeyGen between messages 1 and 3: keeps `r_U`.
pub struct KeyRequest {
	id: Identity,
	r_u: Zeroizing<Scalar>,
	request: CertRequest,
}

impl KeyRequest {
	/// Step 1 of CertifiedUserKeyGen: draw `r_U` and form `(id_U, R_U)`.
	pub fn new_with_rng(id: Identity, rng: &mut impl CryptoRngCore) -> Self {
		let r_u = Zeroizing::new(random_scalar(rng));
		let request = CertRequest { id, r_u: mul_base(&r_u) };
		KeyRequest { id, r_u, request }
	}

	/// Resumes a request from its stored secret `r_U` (for a user whose step 1 and
	/// step 3 run in different processes).
	pub fn from_secret(id: Identity, r_u: &[u8]) -> Result<Self, Error> {
		let r_u = Zeroizing::new(decode_scalar(r_u)?);
		let request = CertRequest { id, r_u: mul_base(&r_u) };
		Ok(KeyRequest { id, r_u, request })
	}

	/// The secret `r_U`, to be stored between the steps; the copy is wiped when dropped.
	pub fn secret_bytes(&self) -> Zeroizing<[u8; SCALAR_LEN]> {
		Zeroizing::new(encode_scalar(&self.r_u))
	}

	/// Message 1, for the CA.
	pub fn message(&self) -> &CertRequest {
		&self.request
	}

	/// Step 3 of CertifiedUserKeyGen: `d_U = e*r_U + r_a`, accepted only if
	/// `d_U*G == e*Cert_U + P_alpha`.
	pub fn finish(self, response: &CertResponse, ca: &CaPublicKey) -> Result<SecretKey, Error> {
		let e = h1(&response.cert.0, &self.id)?;
		let er_u = Zeroizing::new(e * *self.r_u);
		let d = Zeroizing::new(*er_u + *response.r_a);
		if bool::from(d.is_zero()) {
			return Err(Error::ZeroScalar);
		}
		let secret = SecretKey::from_scalar(self.id, *d, response.cert);
		if secret.public != PublicKey::derive(&self.id, &response.cert, ca)? {
			return Err(Error::CertificateMismatch);
		}
		Ok(secret)
	}
}

impl fmt::Debug for KeyRequest {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("KeyRequest")
			.field("request", &self.request)
			.field("r_u", &"<redacted>")
			.finish()
	}
}

/// A participant's certified private key `d`, with its identity, certificate and the
/// cached public key `P = d*G`. Wiped on drop; `Debug` shows only the public parts.
#[derive(Clone)]
pub struct SecretKey {
	pub(crate) d: Scalar,
	pub(crate) id: Identity,
	pub(crate) cert: Certificate,
	pub(crate) public: PublicKey,
}

impl SecretKey {
	fn from_scalar(id: Identity, d: Scalar, cert: Certificate) -> Self {
		let public = PublicKey(mul_base(&d));
		SecretKey { d, id, cert, public }
	}

	/// Restores a key from `scalar(d)`, checking it against the certificate and the
	/// CA key: `d*G == PublicKey(id, Cert)`.
	pub fn from_parts(
		id: Identity,
		d: &[u8],
		cert: Certificate,
		ca: &CaPublicKey,
	) -> Result<Self, Error> {
		let key = SecretKey::from_scalar(id, decode_scalar(d)?, cert);
		if key.public != PublicKey::derive(&id, &cert, ca)? {
			return Err(Error::CertificateMismatch);
		}
		Ok(key)
	}

	/// `scalar(d)`, for storage; the copy is wiped when dropped.
	pub fn to_bytes(&self) -> Zeroizing<[u8; SCALAR_LEN]> {
		Zeroizing::new(encode_scalar(&self.d))
	}

	/// The identity this key is certified for.
	pub fn id(&self) -> &Identity {
		&self.id
	}

	/// The certificate.
	pub fn certificate(&self) -> &Certificate {
		&self.cert
	}

	/// The public key `P = d*G`.
	pub fn public_key(&self) -> &PublicKey {
		&self.public
	}
}

impl Drop for SecretKey {
	fn drop(&mut self) {
		self.d.zeroize();
	}
}
impl ZeroizeOnDrop for SecretKey {}

impl fmt::Debug for SecretKey {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("SecretKey")
			.field("id", &self.id)
			.field("public", &self.public)
			.field("d", &"<redacted>")
			.finish()
	}
}
