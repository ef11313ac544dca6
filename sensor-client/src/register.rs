//! `sensorshare-sensor register`: the sensor's key from the CA (the dev CA at once,
//! or a real one in two steps) and its listing on chain.

use cbpre::Identity;
use rand::rngs::OsRng;
use sensorshare_chain_client::{ChainClient, Included, Keypair, Listing};
use sensorshare_market_client::{enrol, Error};
use sensorshare_protocol::keyfile::{self, Existing};
use std::path::{Path, PathBuf};

/// How the sensor gets its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Certify {
	/// The dev chain's published CA issues it at once.
	DevCa,
	/// Step 1: write the request for the CA to this file.
	RequestTo(PathBuf),
	/// Step 2: finish with the CA's response in this file.
	Response(PathBuf),
}

/// What `register` did.
pub enum Registered {
	/// The request for the CA was written; come back with its response.
	RequestWritten(PathBuf),
	/// The sensor is on chain, its key in the key file.
	OnChain(Included),
}

/// Certifies sensor `id` as `certify` says, writes its key to `key`, and, once it
/// has a key, registers it on chain for `owner` with `listing`.
///
/// A key file already at `key` is kept unless `existing` is
/// [`Existing::Replace`], and even then when it is the key of a sensor registered on
/// chain: its data and agreements need it, so it is never destroyed here.
pub async fn register(
	chain_url: &str,
	id: Identity,
	key: &Path,
	certify: Certify,
	owner: Option<&Keypair>,
	listing: Listing,
	existing: Existing,
) -> Result<Registered, Error> {
	let mut rng = OsRng;
	if existing == Existing::Replace && std::fs::symlink_metadata(key).is_ok() {
		if let Ok(old) = keyfile::load_secret_key(key) {
			let chain = ChainClient::connect(chain_url).await?;
			if chain.sensor(old.id().as_bytes()).await?.is_some() {
				return Err(Error::Invalid(format!(
					"{} is the key of sensor {}, registered on chain; deregister it before replacing its key",
					key.display(),
					hex::encode(old.id().as_bytes())
				)));
			}
		}
	}
	let secret = match certify {
		Certify::RequestTo(out) => {
			let request = enrol::request_with_rng(id, key, existing, &mut rng)?;
			std::fs::write(&out, request)
				.map_err(|source| Error::Io { path: out.clone(), source })?;
			return Ok(Registered::RequestWritten(out));
		},
		Certify::DevCa => enrol::with_dev_ca_with_rng(&id, key, existing, &mut rng)?,
		Certify::Response(path) => {
			let response = std::fs::read_to_string(&path)
				.map(zeroize::Zeroizing::new)
				.map_err(|source| Error::Io { path: path.clone(), source })?;
			let chain = ChainClient::connect(chain_url).await?;
			enrol::finish(&chain, key, &response, existing).await?
		},
	};
	let owner = owner.ok_or_else(|| Error::Invalid("--owner is required to register".into()))?;
	let chain = ChainClient::connect(chain_url).await?;
	let included = chain.register_sensor_with_rng(owner, &secret, listing, &mut rng).await?;
	Ok(Registered::OnChain(included))
}
