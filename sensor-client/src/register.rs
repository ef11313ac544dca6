//! `sensorshare-sensor register`: the sensor's key from the CA (the dev CA at once,
//! or a real one in two steps) and its listing on chain.

use cbpre::Identity;
use rand::rngs::OsRng;
use sensorshare_chain_client::{ChainClient, Included, Keypair, Listing};
use sensorshare_market_client::{enrol, Error};
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
pub async fn register(
	chain_url: &str,
	id: Identity,
	key: &Path,
	certify: Certify,
	owner: Option<&Keypair>,
	listing: Listing,
) -> Result<Registered, Error> {
	let mut rng = OsRng;
	let secret = match certify {
		Certify::RequestTo(out) => {
			let request = enrol::request_with_rng(id, key, &mut rng)?;
			std::fs::write(&out, request)
				.map_err(|source| Error::Io { path: out.clone(), source })?;
			return Ok(Registered::RequestWritten(out));
		},
		Certify::DevCa => enrol::with_dev_ca_with_rng(&id, key, &mut rng)?,
		Certify::Response(path) => {
			let response = std::fs::read_to_string(&path)
				.map_err(|source| Error::Io { path: path.clone(), source })?;
			let chain = ChainClient::connect(chain_url).await?;
			enrol::finish(&chain, key, &response).await?
		},
	};
	let owner = owner.ok_or_else(|| Error::Invalid("--owner is required to register".into()))?;
	let chain = ChainClient::connect(chain_url).await?;
	let included = chain.register_sensor_with_rng(owner, &secret, listing, &mut rng).await?;
	Ok(Registered::OnChain(included))
}
