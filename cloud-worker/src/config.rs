//! The worker's configuration: a TOML file, overridden by command-line flags.

use serde::Deserialize;
use std::{net::SocketAddr, path::PathBuf, time::Duration};
use zeroize::Zeroizing;

/// A secret of the configuration (an account's secret URI, a store's secret key):
/// zeroized when dropped, and shown as `[redacted]` by `Debug`, so that a logged or
/// printed configuration never carries it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(Zeroizing<String>);

impl Secret {
	/// The secret, for the one place that uses it.
	pub fn expose(&self) -> &str {
		&self.0
	}
}

impl From<String> for Secret {
	fn from(s: String) -> Self {
		Secret(Zeroizing::new(s))
	}
}

impl From<&str> for Secret {
	fn from(s: &str) -> Self {
		Secret(Zeroizing::new(s.to_string()))
	}
}

impl std::fmt::Debug for Secret {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str("[redacted]")
	}
}

/// Everything the worker needs to run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
	/// Where the HTTP API listens.
	#[serde(default = "default_listen")]
	pub listen: SocketAddr,
	/// The URL under which requesters reach this worker (the provider's endpoint on
	/// chain); delivery locations are given under it.
	#[serde(default = "default_public_url")]
	pub public_url: String,
	/// The node's WebSocket RPC.
	#[serde(default = "default_chain_url")]
	pub chain_url: String,
	/// The provider account's secret URI (`//Ferdie`, the dev chain's genesis
	/// provider). Prefer the
	/// `SENSORSHARE_PROVIDER_SURI` environment variable to a file.
	#[serde(default)]
	pub provider_suri: Option<Secret>,
	/// Where the worker keeps its own state (the cursor of finalized blocks).
	#[serde(default = "default_state_dir")]
	pub state_dir: PathBuf,
	/// Where ciphertexts and deliveries are stored.
	#[serde(default)]
	pub storage: StorageConfig,
	/// Limits of the HTTP API.
	#[serde(default)]
	pub limits: Limits,
}

/// Where the worker stores what sensors upload and what it delivers.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum StorageConfig {
	/// A directory on the local filesystem.
	Fs {
		/// The directory; created if missing.
		path: PathBuf,
	},
	/// An S3-compatible object store.
	S3 {
		/// The bucket.
		bucket: String,
		/// The region (`us-east-1` for most S3-compatible servers).
		#[serde(default = "default_region")]
		region: String,
		/// The endpoint, for servers other than AWS (`http://127.0.0.1:9000`).
		#[serde(default)]
		endpoint: Option<String>,
		/// The access key id; else from `AWS_ACCESS_KEY_ID`.
		#[serde(default)]
		access_key_id: Option<String>,
		/// The secret access key; else from `AWS_SECRET_ACCESS_KEY`.
		#[serde(default)]
		secret_access_key: Option<Secret>,
		/// Allow a plain-HTTP endpoint (local test servers).
		#[serde(default)]
		allow_http: bool,
	},
}

impl Default for StorageConfig {
	fn default() -> Self {
		StorageConfig::Fs { path: PathBuf::from("sensorshare-data/store") }
	}
}

/// Size and time limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
	/// The largest record upload, in bytes (signature and record).
	#[serde(default = "default_max_record")]
	pub max_record_bytes: usize,
	/// How long a download challenge stays valid, in seconds.
	#[serde(default = "default_challenge_secs")]
	pub challenge_secs: u64,
	/// How long a download token stays valid, in seconds.
	#[serde(default = "default_token_secs")]
	pub token_secs: u64,
	/// How long a sensor's registration is cached, in seconds.
	#[serde(default = "default_sensor_cache_secs")]
	pub sensor_cache_secs: u64,
	/// How long an identity found unregistered is remembered as such, in seconds.
	#[serde(default = "default_unknown_sensor_cache_secs")]
	pub unknown_sensor_cache_secs: u64,
	/// Deliveries in progress at once.
	#[serde(default = "default_concurrent_deliveries")]
	pub max_concurrent_deliveries: usize,
	/// Uploads are refused for an epoch that ended longer ago than this, in seconds
	/// (a sensor back from an outage uploads its backlog within it).
	#[serde(default = "default_max_upload_age")]
	pub max_upload_age_secs: u64,
	/// Uploads are refused for an epoch that starts further ahead than this, in
	/// seconds (the clocks of sensor and worker may differ by this much).
	#[serde(default = "default_max_upload_lead")]
	pub max_upload_lead_secs: u64,
	/// The most records one sensor's epoch may hold.
	#[serde(default = "default_max_records_per_epoch")]
	pub max_records_per_epoch: u64,
	/// The most bytes of records one sensor's epoch may hold.
	#[serde(default = "default_max_bytes_per_epoch")]
	pub max_bytes_per_epoch: u64,
	/// The most HTTP connections open at once; one more is closed at once.
	#[serde(default = "default_max_connections")]
	pub max_connections: usize,
	/// Seconds a connection may take to send a request's headers (and may stay idle
	/// between requests).
	#[serde(default = "default_header_timeout")]
	pub header_timeout_secs: u64,
	/// Seconds a request's body may take to arrive.
	#[serde(default = "default_body_timeout")]
	pub body_timeout_secs: u64,
	/// The most requests waiting (`?wait=`) for deliveries at once; one more is
	/// answered 503 at once.
	#[serde(default = "default_max_waiting")]
	pub max_waiting: usize,
}

impl Default for Limits {
	fn default() -> Self {
		Limits {
			max_record_bytes: default_max_record(),
			challenge_secs: default_challenge_secs(),
			token_secs: default_token_secs(),
			sensor_cache_secs: default_sensor_cache_secs(),
			unknown_sensor_cache_secs: default_unknown_sensor_cache_secs(),
			max_concurrent_deliveries: default_concurrent_deliveries(),
			max_upload_age_secs: default_max_upload_age(),
			max_upload_lead_secs: default_max_upload_lead(),
			max_records_per_epoch: default_max_records_per_epoch(),
			max_bytes_per_epoch: default_max_bytes_per_epoch(),
			max_connections: default_max_connections(),
			header_timeout_secs: default_header_timeout(),
			body_timeout_secs: default_body_timeout(),
			max_waiting: default_max_waiting(),
		}
	}
}

impl Limits {
	/// The challenge lifetime.
	pub fn challenge_ttl(&self) -> Duration {
		Duration::from_secs(self.challenge_secs)
	}
	/// The token lifetime.
	pub fn token_ttl(&self) -> Duration {
		Duration::from_secs(self.token_secs)
	}
	/// The sensor cache lifetime.
	pub fn sensor_cache_ttl(&self) -> Duration {
		Duration::from_secs(self.sensor_cache_secs)
	}
	/// How long an unregistered identity is remembered.
	pub fn unknown_sensor_cache_ttl(&self) -> Duration {
		Duration::from_secs(self.unknown_sensor_cache_secs)
	}
}

impl Default for Config {
	fn default() -> Self {
		Config {
			listen: default_listen(),
			public_url: default_public_url(),
			chain_url: default_chain_url(),
			provider_suri: None,
			state_dir: default_state_dir(),
			storage: StorageConfig::default(),
			limits: Limits::default(),
		}
	}
}

impl Config {
	/// Parses a TOML configuration.
	pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
		toml::from_str(text)
	}
}

fn default_listen() -> SocketAddr {
	SocketAddr::from(([127, 0, 0, 1], 8088))
}
fn default_public_url() -> String {
	"http://127.0.0.1:8088".into()
}
fn default_chain_url() -> String {
	"ws://127.0.0.1:9944".into()
}
fn default_state_dir() -> PathBuf {
	PathBuf::from("sensorshare-data/worker")
}
fn default_region() -> String {
	"us-east-1".into()
}
fn default_max_record() -> usize {
	64 * 1024
}
fn default_challenge_secs() -> u64 {
	60
}
fn default_token_secs() -> u64 {
	300
}
fn default_sensor_cache_secs() -> u64 {
	30
}
fn default_concurrent_deliveries() -> usize {
	64
}

fn default_unknown_sensor_cache_secs() -> u64 {
	2
}
fn default_max_upload_age() -> u64 {
	30 * 24 * 3600
}
fn default_max_upload_lead() -> u64 {
	300
}
fn default_max_records_per_epoch() -> u64 {
	100_000
}
fn default_max_bytes_per_epoch() -> u64 {
	64 << 20
}
fn default_max_connections() -> usize {
	1024
}
fn default_header_timeout() -> u64 {
	10
}
fn default_body_timeout() -> u64 {
	30
}
fn default_max_waiting() -> usize {
	512
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn an_s3_configuration_parses_with_defaults_for_the_rest() {
		let c = Config::from_toml(
			r#"
			chain_url = "ws://node:9944"
			[storage]
			kind = "s3"
			bucket = "readings"
			endpoint = "http://127.0.0.1:9000"
			allow_http = true
			"#,
		)
		.expect("parses");
		assert_eq!(c.chain_url, "ws://node:9944");
		assert_eq!(c.listen, default_listen());
		assert!(
			matches!(c.storage, StorageConfig::S3 { ref region, allow_http: true, .. } if region == "us-east-1")
		);
	}

	#[test]
	fn an_unknown_key_is_an_error_not_ignored() {
		assert!(Config::from_toml("listen_port = 80").is_err());
	}

	#[test]
	fn a_printed_configuration_shows_no_secret() {
		let c = Config::from_toml(
			r#"
			provider_suri = "//Ferdie///hunter2"
			[storage]
			kind = "s3"
			bucket = "readings"
			access_key_id = "AKIDEXAMPLE"
			secret_access_key = "wJalrXUtnFEMI"
			"#,
		)
		.expect("parses");
		let printed = format!("{c:?} {c:#?}");
		for secret in ["hunter2", "wJalrXUtnFEMI"] {
			assert!(!printed.contains(secret), "{printed}");
		}
		assert!(printed.contains("[redacted]"));
		assert_eq!(c.provider_suri.as_ref().map(Secret::expose), Some("//Ferdie///hunter2"));
	}
}
