//! A client of the SensorShare cloud worker's HTTP API: sensors upload capsules and
//! signed records; requesters prove their identity, download their delivery, check
//! it against the digest on chain and decrypt it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use cbpre::{
	rand_core::CryptoRngCore, Capsule, Identity, Meta, PublicKey, SealedRecord, SecretKey,
};
pub use reqwest::StatusCode;
use sensorshare_protocol::{
	auth::{Challenge, ChallengeAnswer, Token},
	batch::{batch_head, sign_batch_with_rng},
	delivery::{EmptyEpoch, Manifest},
	header::RecordHeader,
	routes::{Urls, WorkerStats, MAX_WAIT_SECS},
};
use std::time::{Duration, Instant};

/// The largest manifest the client reads: far above the manifest of the largest
/// agreement the chain allows (a line per sensor and epoch).
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;

/// Why a call to the worker failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
	/// The worker could not be reached.
	#[error("cannot reach the cloud worker: {0}")]
	Http(#[from] reqwest::Error),
	/// The worker refused, with its reason.
	#[error("the cloud worker refused ({status}): {reason}")]
	Refused {
		/// The HTTP status.
		status: StatusCode,
		/// The worker's reason.
		reason: String,
	},
	/// A delivery does not match its manifest or the digest on chain.
	#[error("the delivery is not what the chain says: {0}")]
	Protocol(#[from] sensorshare_protocol::Error),
	/// A capsule or record does not decrypt.
	#[error("decryption failed: {0}")]
	Crypto(#[from] cbpre::Error),
	/// The delivery holds data of a sensor the caller does not know the key of, or
	/// data for someone else.
	#[error("the delivery holds {0}")]
	Unexpected(String),
}

/// What an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uploaded {
	/// Stored now.
	Stored,
	/// Stored before; nothing changed.
	Duplicate,
}

/// One sensor's epoch of a delivery, decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptedEpoch {
	/// The sensor.
	pub sensor: Identity,
	/// The epoch.
	pub epoch: u64,
	/// Its readings, in time order: the clear header and the plaintext.
	pub readings: Vec<(RecordHeader, Vec<u8>)>,
}

/// A downloaded delivery, decrypted, with where the time went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
	/// Every sensor's epoch, in the manifest's order.
	pub epochs: Vec<DecryptedEpoch>,
	/// Bytes downloaded (manifest and segments).
	pub bytes: u64,
	/// Time spent on the token and the downloads.
	pub download: std::time::Duration,
	/// Time spent on Decrypt2 of the capsules.
	pub decrypt2: std::time::Duration,
	/// Time spent opening the records.
	pub open: std::time::Duration,
	/// With [`Wanted::Ahead`]: the time until the manifest arrived,
	/// waiting for the worker to write the delivery included (otherwise zero, and
	/// that time is in `download`).
	pub waited: std::time::Duration,
	/// SHA-256 of the manifest: the digest the delivery has, or will have, on chain.
	pub digest: [u8; 32],
	/// The sensor-epochs the manifest lists as empty, as the chain names them:
	/// what the delivery on chain must name, and is not paid for.
	pub empty: Vec<EmptyEpoch>,
}

/// A delivery as the chain records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRef {
	/// The agreement.
	pub agreement: u64,
	/// The last epoch the delivery covers.
	pub through_epoch: u64,
	/// The digest of its manifest, from the chain.
	pub digest: [u8; 32],
	/// The sensor-epochs delivered so far that the provider named empty on chain:
	/// the manifest must list exactly these as empty.
	pub empty: Vec<EmptyEpoch>,
}

/// Which delivery [`WorkerClient::download`] fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
	/// The delivery on chain: its manifest is checked against the chain's digest.
	OnChain(DeliveryRef),
	/// The delivery of `agreement` through `through_epoch`, before it is on chain:
	/// wait up to `wait` for the worker to write it (asking again each
	/// [`MAX_WAIT_SECS`]). The records are the sensors' (each opens under the
	/// capsule's key, which only a capsule re-encrypted for this requester gives);
	/// what the manifest vouches for on chain is checked by comparing
	/// [`Fetched::digest`] and [`Fetched::empty`] with the delivery's once it is
	/// final, before confirming.
	Ahead {
		/// The agreement.
		agreement: u64,
		/// The last epoch of the delivery.
		through_epoch: u64,
		/// How long to wait for it.
		wait: Duration,
	},
}

impl Wanted {
	fn agreement(&self) -> u64 {
		match self {
			Wanted::OnChain(d) => d.agreement,
			Wanted::Ahead { agreement, .. } => *agreement,
		}
	}

	fn through_epoch(&self) -> u64 {
		match self {
			Wanted::OnChain(d) => d.through_epoch,
			Wanted::Ahead { through_epoch, .. } => *through_epoch,
		}
	}

	fn wait(&self) -> Duration {
		match self {
			Wanted::OnChain(_) => Duration::ZERO,
			Wanted::Ahead { wait, .. } => *wait,
		}
	}
}

/// What a download is checked against and decrypted with: the requester's key, and
/// the agreement as the chain holds it. A delivery must hold each of its sensors'
/// epochs from `from_epoch` through the delivered one exactly once, every record
/// dated inside its epoch.
#[derive(Clone, Copy)]
pub struct Expected<'a> {
	/// The requester's key: it proves who downloads and runs Decrypt2.
	pub requester: &'a SecretKey,
	/// The agreement's sensors, in its order, with their public keys from the chain.
	pub sensors: &'a [(Identity, PublicKey)],
	/// The agreement's first epoch.
	pub from_epoch: u64,
	/// Its sensors' epoch length in seconds.
	pub epoch_secs: u64,
}

/// A client of one worker.
#[derive(Debug, Clone)]
pub struct WorkerClient {
	http: reqwest::Client,
	urls: Urls,
}

async fn check(response: reqwest::Response) -> Result<reqwest::Response, ClientError> {
	let status = response.status();
	if status.is_success() {
		Ok(response)
	} else {
		let reason = response.text().await.unwrap_or_default().trim().to_string();
		Err(ClientError::Refused { status, reason })
	}
}

/// Sends the request `make` builds, asking the worker to wait up to `wait` for the
/// delivery (`?wait=`); again while it answers 404 and time is left, since it waits
/// at most [`MAX_WAIT_SECS`] per request.
async fn send_waiting(
	make: impl Fn() -> reqwest::RequestBuilder,
	wait: Duration,
) -> Result<reqwest::Response, ClientError> {
	let deadline = Instant::now() + wait;
	loop {
		let left = deadline.saturating_duration_since(Instant::now()).as_secs();
		let request = match left.min(MAX_WAIT_SECS) {
			0 => make(),
			secs => make().query(&[("wait", secs)]),
		};
		match check(request.send().await?).await {
			Err(ClientError::Refused { status: StatusCode::NOT_FOUND, .. })
				if left > MAX_WAIT_SECS => {},
			answer => return answer,
		}
	}
}

fn uploaded(status: StatusCode) -> Uploaded {
	if status == StatusCode::CREATED {
		Uploaded::Stored
	} else {
		Uploaded::Duplicate
	}
}

impl ClientError {
	/// The worker's status, if it refused.
	pub fn status(&self) -> Option<StatusCode> {
		match self {
			ClientError::Refused { status, .. } => Some(*status),
			_ => None,
		}
	}

	/// Whether trying again later may succeed: the worker is unreachable or failed
	/// on its side. A 4xx refusal is final.
	pub fn is_transient(&self) -> bool {
		match self {
			ClientError::Http(_) => true,
			ClientError::Refused { status, .. } => status.is_server_error(),
			_ => false,
		}
	}
}

impl WorkerClient {
	/// A client of the worker at `base` (`http://127.0.0.1:8088`).
	pub fn new(base: &str) -> Self {
		WorkerClient { http: reqwest::Client::new(), urls: Urls::new(base) }
	}

	/// The worker's base URL.
	pub fn base(&self) -> &str {
		self.urls.base()
	}

	/// What the worker has done since it started.
	pub async fn stats(&self) -> Result<WorkerStats, ClientError> {
		Ok(check(self.http.get(self.urls.stats()).send().await?).await?.json().await?)
	}

	/// Uploads a capsule.
	pub async fn upload_capsule(&self, capsule: &Capsule) -> Result<Uploaded, ClientError> {
		let meta = capsule.meta();
		self.upload_capsule_bytes(&meta.id, meta.epoch, capsule.to_bytes()).await
	}

	/// Uploads a signed batch under `epoch`, as [`sign_batch_with_rng`] makes it:
	/// what a sensor logs while offline. Its sequence number is read from it.
	pub async fn upload_batch_body(
		&self,
		sensor: &Identity,
		epoch: u64,
		body: Vec<u8>,
	) -> Result<Uploaded, ClientError> {
		let (sequence, _) = batch_head(&body)?;
		let url = self.urls.batch(sensor.as_bytes(), epoch, sequence);
		let r = check(self.http.put(url).body(body).send().await?).await?;
		Ok(uploaded(r.status()))
	}

	/// Uploads a capsule's bytes under `sensor` and `epoch`.
	pub async fn upload_capsule_bytes(
		&self,
		sensor: &Identity,
		epoch: u64,
		capsule: Vec<u8>,
	) -> Result<Uploaded, ClientError> {
		let url = self.urls.capsule(sensor.as_bytes(), epoch);
		let r = check(self.http.put(url).body(capsule).send().await?).await?;
		Ok(uploaded(r.status()))
	}

	/// Signs `records` as batch `sequence` of the sensor's `epoch` and uploads it.
	pub async fn upload_batch(
		&self,
		sensor: &SecretKey,
		epoch: u64,
		sequence: u64,
		records: &[SealedRecord],
		rng: &mut impl CryptoRngCore,
	) -> Result<Uploaded, ClientError> {
		let bytes: Vec<Vec<u8>> = records.iter().map(SealedRecord::to_bytes).collect();
		let records = bytes.iter().map(Vec::as_slice);
		let body = sign_batch_with_rng(sensor, epoch, sequence, records, rng)?;
		self.upload_batch_body(sensor.id(), epoch, body).await
	}

	/// Proves the requester's identity for `agreement` and returns a bearer token.
	pub async fn token(
		&self,
		agreement: u64,
		requester: &SecretKey,
		rng: &mut impl CryptoRngCore,
	) -> Result<String, ClientError> {
		self.token_waiting(agreement, requester, rng, Duration::ZERO).await
	}

	/// [`Self::token`], waiting up to `wait` for the worker to write the delivery.
	async fn token_waiting(
		&self,
		agreement: u64,
		requester: &SecretKey,
		rng: &mut impl CryptoRngCore,
		wait: Duration,
	) -> Result<String, ClientError> {
		let challenge = || self.http.post(self.urls.challenge(agreement));
		let challenge: Challenge = send_waiting(challenge, wait).await?.json().await?;
		let answer = ChallengeAnswer::sign_with_rng(requester, agreement, &challenge, rng)?;
		let token: Token =
			check(self.http.post(self.urls.token(agreement)).json(&answer).send().await?)
				.await?
				.json()
				.await?;
		Ok(token.token)
	}

	/// Downloads the manifest of `agreement`'s delivery through `through_epoch`
	/// with `token` (from [`Self::token`]), unchecked.
	pub async fn manifest_with_token(
		&self,
		agreement: u64,
		through_epoch: u64,
		token: &str,
	) -> Result<Vec<u8>, ClientError> {
		let url = self.urls.manifest(agreement, through_epoch);
		self.get_waiting(&url, token, Duration::ZERO, (MAX_MANIFEST_BYTES, "the manifest")).await
	}

	/// Downloads `url` with a token, waiting up to `wait` while the worker answers
	/// that it is not written yet; at most `max` bytes (`what` names it in the
	/// error), checked as they arrive.
	async fn get_waiting(
		&self,
		url: &str,
		token: &str,
		wait: Duration,
		(max, what): (u64, &str),
	) -> Result<Vec<u8>, ClientError> {
		let mut r = send_waiting(|| self.http.get(url).bearer_auth(token), wait).await?;
		let too_large = || {
			sensorshare_protocol::Error::DigestMismatch(format!("{what}: more than {max} bytes"))
		};
		if r.content_length().is_some_and(|n| n > max) {
			return Err(too_large().into());
		}
		let mut out = Vec::with_capacity(r.content_length().unwrap_or(0) as usize);
		while let Some(chunk) = r.chunk().await? {
			if out.len() as u64 + chunk.len() as u64 > max {
				return Err(too_large().into());
			}
			out.extend_from_slice(&chunk);
		}
		Ok(out)
	}

	/// Downloads the delivery `wanted`, checks it (against the manifest digest on
	/// chain, or, fetched ahead, as [`Wanted::Ahead`] says) and decrypts it with
	/// `keys`: Decrypt2 of every capsule with the sensors' keys, then every record.
	/// `progress` is called with the bytes of each segment downloaded.
	pub async fn download(
		&self,
		wanted: &Wanted,
		expected: &Expected<'_>,
		rng: &mut impl CryptoRngCore,
		mut progress: impl FnMut(u64),
	) -> Result<Fetched, ClientError> {
		let (agreement, through_epoch, wait) =
			(wanted.agreement(), wanted.through_epoch(), wanted.wait());
		let Expected { requester, sensors, from_epoch, epoch_secs } = *expected;
		let (mut download, mut decrypt2, mut open) = Default::default();
		let started = Instant::now();
		let mut token = self.token_waiting(agreement, requester, rng, wait).await?;
		let url = self.urls.manifest(agreement, through_epoch);
		let manifest =
			self.get_waiting(&url, &token, wait, (MAX_MANIFEST_BYTES, "the manifest")).await?;
		// With a wait, the time to the manifest is the wait (the token and the
		// manifest's own download are a few milliseconds of it).
		let waited = if wait.is_zero() {
			download += started.elapsed();
			Duration::ZERO
		} else {
			started.elapsed()
		};
		let mut bytes = manifest.len() as u64;
		let digest = sensorshare_protocol::sha256(&manifest);
		let manifest = match wanted {
			Wanted::OnChain(d) => Manifest::from_bytes_checked(&manifest, &d.digest)?,
			Wanted::Ahead { .. } => Manifest::from_bytes_unchecked(&manifest)?,
		};
		if manifest.agreement != agreement || manifest.to_epoch != through_epoch {
			return Err(ClientError::Unexpected(format!(
				"manifest of agreement {} through epoch {}",
				manifest.agreement, manifest.to_epoch
			)));
		}
		let ids: Vec<Identity> = sensors.iter().map(|(id, _)| *id).collect();
		manifest.check_covers(&ids, from_epoch, through_epoch)?;
		if let Wanted::OnChain(d) = wanted {
			manifest.check_empty(&ids, &d.empty)?;
		}
		let empty = manifest.empty_epochs(&ids, from_epoch);
		let mut out = Vec::with_capacity(manifest.segments.len());
		for entry in &manifest.segments {
			let started = Instant::now();
			let url = self.urls.segment(agreement, &entry.name);
			// No more than the manifest says: a worker cannot make the client read on.
			let size = (entry.size, entry.name.as_str());
			let segment = match self.get_waiting(&url, &token, Duration::ZERO, size).await {
				// The token expired during a long download: prove the identity again.
				Err(ClientError::Refused { status: StatusCode::FORBIDDEN, .. }) => {
					token = self.token(agreement, requester, rng).await?;
					self.get_waiting(&url, &token, Duration::ZERO, size).await?
				},
				other => other?,
			};
			download += started.elapsed();
			bytes += segment.len() as u64;
			progress(segment.len() as u64);
			let segment = entry.open(&segment)?;
			let meta = *segment.capsule.meta();
			let sensor_key = sensors.iter().find(|(id, _)| *id == meta.id).map(|(_, k)| k);
			let sensor_key = sensor_key.ok_or_else(|| {
				ClientError::Unexpected(format!("sensor {}", hex::encode(meta.id.as_bytes())))
			})?;
			if segment.capsule.delegatee() != requester.id()
				|| hex::encode(meta.id.as_bytes()) != entry.sensor
				|| meta.epoch != entry.epoch
			{
				return Err(ClientError::Unexpected(format!(
					"a mislabelled segment {}",
					entry.name
				)));
			}
			let started = Instant::now();
			let m = requester.decrypt2(sensor_key, &segment.capsule)?;
			decrypt2 += started.elapsed();
			let started = Instant::now();
			// Every batch signed by the sensor's key on chain, before any record opens.
			let meta = Meta::new(meta.id, meta.epoch);
			let batches = segment.verify(sensor_key, &meta)?;
			let mut readings = Vec::with_capacity(batches.iter().map(|b| b.len()).sum());
			for (header, record) in batches.iter().flat_map(|b| b.records()) {
				if header.epoch(epoch_secs) != Some(meta.epoch) {
					return Err(sensorshare_protocol::Error::Incomplete(format!(
						"a record of sensor {} epoch {} is dated {} ms, outside its epoch",
						entry.sensor, meta.epoch, header.timestamp_ms
					))
					.into());
				}
				readings.push((*header, m.open(&meta, record)?));
			}
			readings.sort_by_key(|(h, _)| *h);
			open += started.elapsed();
			out.push(DecryptedEpoch { sensor: meta.id, epoch: meta.epoch, readings });
		}
		Ok(Fetched { epochs: out, bytes, download, decrypt2, open, waited, digest, empty })
	}
}
