//! CertifiedUserKeyGen from the user's side, for a data user and a sensor alike.
//!
//! With the dev CA ([`with_dev_ca_with_rng`]), the published CA of the dev chain
//! answers at once. With a real CA, in two steps: [`request_with_rng`] keeps the
//! secret half in `<key>.pending` and gives the request for the CA (hex); the CA
//! answers (`sensorshare ca issue`); [`finish`] checks the answer against the
//! chain's CA key and writes the key file.

use crate::Error;
use cbpre::{rand_core::CryptoRngCore, CertResponse, Identity, KeyRequest, SecretKey};
use sensorshare_chain_client::ChainClient;
use sensorshare_protocol::keyfile::{self, Existing};
use std::path::{Path, PathBuf};

/// Where the secret half of a key request waits for the CA's answer: `<key>.pending`.
pub fn pending_path(key: &Path) -> PathBuf {
	key.with_extension("pending")
}

/// A key for `id` from the dev chain's published CA, written to `key` (mode 0600;
/// a file already there is refused or replaced as `existing` says).
pub fn with_dev_ca_with_rng(
	id: &Identity,
	key: &Path,
	existing: Existing,
	rng: &mut impl CryptoRngCore,
) -> Result<SecretKey, Error> {
	let secret = cbpre::dev::enroll_with_rng(id.as_bytes(), rng)?;
	keyfile::save_secret_key(key, &secret, &cbpre::dev::ca().public_key(), existing)?;
	Ok(secret)
}

/// Step 1: a key request for `id`. Its secret half is kept in [`pending_path`]`(key)`
/// (a pending request already there is refused or replaced as `existing` says); the
/// request for the CA is returned, hex.
pub fn request_with_rng(
	id: Identity,
	key: &Path,
	existing: Existing,
	rng: &mut impl CryptoRngCore,
) -> Result<String, Error> {
	if existing == Existing::Refuse && key.exists() {
		return Err(keyfile::KeyFileError::Exists { path: key.display().to_string() }.into());
	}
	let request = KeyRequest::new_with_rng(id, rng);
	keyfile::save_pending(&pending_path(key), &request, existing)?;
	Ok(hex::encode(request.message().to_bytes()))
}

/// Step 3: finishes the key of step 1 with the CA's response (hex), checked against
/// the chain's CA key; writes the key file `key` (a file already there is refused or
/// replaced as `existing` says) and removes the pending request.
pub async fn finish(
	chain: &ChainClient,
	key: &Path,
	response_hex: &str,
	existing: Existing,
) -> Result<SecretKey, Error> {
	let pending = pending_path(key);
	let request = keyfile::load_pending(&pending)?;
	let bytes = hex::decode(response_hex.trim())
		.map(zeroize::Zeroizing::new)
		.map_err(|e| Error::Invalid(format!("the CA's response is not hex: {e}")))?;
	let response = CertResponse::from_bytes(&bytes)?;
	let ca = chain.ca_key().await?.ok_or(Error::NoCaKey)?;
	let secret = request.finish(&response, &ca)?;
	keyfile::save_secret_key(key, &secret, &ca, existing)?;
	std::fs::remove_file(&pending).map_err(|source| Error::Io { path: pending, source })?;
	Ok(secret)
}
