//! CB-PRE v1: the certificate-based proxy re-encryption scheme of SensorShare.
//!
//! A sensor (the owner `A`) seals each epoch's readings under a data key `M` and
//! wraps `M` in a [`Capsule`]; the owner gives a requester `B` a [`ReKey`] per
//! epoch; the cloud turns the capsule into a [`ReEncryptedCapsule`] with one XOR;
//! `B` recovers `M` with Decrypt2 and opens the [`SealedRecord`]s. Keys come from
//! ECQV implicit certificates, so anyone (the chain included) derives a
//! participant's [`PublicKey`] from its identity and [`Certificate`].
//!
//! The algorithms follow `docs/cbpre.md` (the scheme's specification) to the bit:
//! the tests replay known-answer vectors made by an independent implementation.
//!
//! ```
//! use cbpre::*;
//! # fn main() -> Result<(), Error> {
//! let mut rng = rand_core::OsRng;
//! // Setup, and CertifiedUserKeyGen for a sensor and a requester.
//! let ca = CaSecretKey::generate_with_rng(&mut rng);
//! let enroll = |id: &[u8], rng: &mut rand_core::OsRng| -> Result<SecretKey, Error> {
//!     let request = KeyRequest::new_with_rng(Identity::new(id)?, rng);
//!     let response = ca.issue_with_rng(request.message(), rng)?;
//!     request.finish(&response, &ca.public_key())
//! };
//! let sensor = enroll(b"\xa0\xe6\xf8\xb6\xd2\x01", &mut rng)?;
//! let bob = enroll(b"bob", &mut rng)?;
//!
//! // The sensor seals a reading of epoch 7.
//! let (m, capsule) = sensor.encapsulate(7)?;
//! let record = m.seal_with_rng(capsule.meta(), b"ts=1700000000", b"21.5 C", &mut rng)?;
//!
//! // The owner re-keys epoch 7 for Bob; the cloud verifies and re-encrypts.
//! let bob_public = PublicKey::derive(bob.id(), bob.certificate(), &ca.public_key())?;
//! let rk = sensor.rekey(capsule.meta(), &bob_public)?;
//! let delivered = capsule.verify(sensor.public_key())?.re_encrypt(&rk, *bob.id());
//!
//! // Bob decrypts.
//! let m_bob = bob.decrypt2(sensor.public_key(), &delivered)?;
//! assert_eq!(m_bob.open(delivered.meta(), &record)?, b"21.5 C");
//! # Ok(()) }
//! ```
//!
//! # Security
//! See the crate's README: what the scheme protects and what it does not. This
//! implementation has not been audited.

#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod dem;
pub mod dev;
pub mod domain;
mod encoding;
mod error;
mod fixed_base;
mod hash;
pub mod hazmat;
mod keys;
mod msm;
mod pre;
mod sig;
mod wire;

pub use dem::{DataKey, SealedRecord, MAX_HEADER_LEN, NONCE_LEN, TAG_LEN};
pub use encoding::{Identity, Meta, MAX_ID_LEN, POINT_LEN, SCALAR_LEN};
pub use error::Error;
/// Pays now for the table that the constant-time `k*G` of the secret-key operations
/// (Encrypt, Decrypt1, signing, key generation) reads: call it at start-up, so that a
/// long-running process, a sensor above all, does not pay in its first capsule or
/// signature.
pub use fixed_base::warm_up;
pub use hash::expand_message_xmd;
pub use keys::{
	CaPublicKey, CaSecretKey, CertRequest, CertResponse, Certificate, KeyRequest, PublicKey,
	SecretKey,
};
pub use pre::{Capsule, ReEncryptedCapsule, ReKey, VerifiedCapsule, PAD_LEN};
pub use rand_core;
pub use sig::{Signature, SIGNATURE_LEN};
