//! The cloud worker's HTTP surface: each route's path template (as the worker's
//! router takes it) and the URL a client builds for it, side by side, so the two
//! cannot drift; the longest a download may wait; and the delivery location the
//! provider puts on chain, with its parser.
//!
//! | method | route | who |
//! |---|---|---|
//! | `PUT` | [`CAPSULE`] | a sensor: its epoch's capsule |
//! | `PUT` | [`BATCH`] | a sensor: a signed batch of records, number `sequence` of the epoch |
//! | `POST` | [`CHALLENGE`] | a requester: a fresh challenge |
//! | `POST` | [`TOKEN`] | a requester: the signed challenge, for a token |
//! | `GET` | [`MANIFEST`] | a requester, with its token: the manifest of the delivery through epoch `through` (`?wait=<secs>` waits for it to be written) |
//! | `GET` | [`SEGMENT`] | a requester, with its token |
//! | `GET` | [`HEALTH`], [`METRICS`] | operators |
//! | `GET` | [`STATS`] | programs: [`WorkerStats`] as JSON |

use crate::{malformed, Error};

/// A sensor's capsule of one epoch.
pub const CAPSULE: &str = "/v1/sensors/{sensor}/epochs/{epoch}/capsule";
/// A sensor's signed batch of records of one epoch, by its sequence number.
pub const BATCH: &str = "/v1/sensors/{sensor}/epochs/{epoch}/batches/{sequence}";
/// A download challenge for an agreement's deliveries.
pub const CHALLENGE: &str = "/v1/deliveries/{id}/challenge";
/// A download token, for the answer to a challenge.
pub const TOKEN: &str = "/v1/deliveries/{id}/token";
/// The manifest of the delivery through epoch `through`.
pub const MANIFEST: &str = "/v1/deliveries/{id}/manifests/{through}";
/// A segment of a delivery.
pub const SEGMENT: &str = "/v1/deliveries/{id}/segments/{name}";
/// Whether the worker is up.
pub const HEALTH: &str = "/health";
/// Prometheus metrics.
pub const METRICS: &str = "/metrics";
/// The worker's figures as JSON ([`WorkerStats`]), for programs.
pub const STATS: &str = "/v1/stats";

/// What the worker has done since it started, as [`STATS`] gives it: the figures a
/// program reads (the experiments), typed, instead of scraping metrics by name.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkerStats {
	/// Deliveries put on chain.
	pub deliveries: u64,
	/// Bytes of records delivered.
	pub delivered_bytes: u64,
	/// Seconds spent verifying and re-encrypting capsules, in all.
	pub reencrypt_seconds: f64,
	/// Delivery attempts retried after a failure that can pass.
	pub delivery_retries: u64,
	/// Writes the worker made of its object store (what S3 bills per request).
	pub store_puts: u64,
	/// Reads it made of its object store.
	pub store_gets: u64,
	/// Listings it made of its object store.
	pub store_lists: u64,
}

/// The longest one download request may wait (`?wait=`) for a delivery to be
/// written, in seconds; a client that waits longer asks again.
pub const MAX_WAIT_SECS: u64 = 60;

/// The URLs of the routes, under a worker's base URL (`http://host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
	base: String,
}

impl Urls {
	/// The routes of the worker at `base` (a trailing `/` is ignored).
	pub fn new(base: &str) -> Self {
		Urls { base: base.trim_end_matches('/').to_string() }
	}

	/// The base URL, without a trailing `/`.
	pub fn base(&self) -> &str {
		&self.base
	}

	/// [`CAPSULE`] of `sensor` (its identity's bytes) and `epoch`.
	pub fn capsule(&self, sensor: &[u8], epoch: u64) -> String {
		format!("{}/v1/sensors/{}/epochs/{epoch}/capsule", self.base, hex::encode(sensor))
	}

	/// [`BATCH`] `sequence` of `sensor` and `epoch`.
	pub fn batch(&self, sensor: &[u8], epoch: u64, sequence: u64) -> String {
		let sensor = hex::encode(sensor);
		format!("{}/v1/sensors/{sensor}/epochs/{epoch}/batches/{sequence}", self.base)
	}

	/// [`CHALLENGE`] of agreement `id`.
	pub fn challenge(&self, id: u64) -> String {
		format!("{}/v1/deliveries/{id}/challenge", self.base)
	}

	/// [`TOKEN`] of agreement `id`.
	pub fn token(&self, id: u64) -> String {
		format!("{}/v1/deliveries/{id}/token", self.base)
	}

	/// [`MANIFEST`] of agreement `id` through epoch `through`.
	pub fn manifest(&self, id: u64, through: u64) -> String {
		format!("{}/v1/deliveries/{id}/manifests/{through}", self.base)
	}

	/// [`SEGMENT`] `name` of agreement `id`.
	pub fn segment(&self, id: u64, name: &str) -> String {
		format!("{}/v1/deliveries/{id}/segments/{name}", self.base)
	}

	/// [`METRICS`].
	pub fn metrics(&self) -> String {
		format!("{}{METRICS}", self.base)
	}

	/// [`STATS`].
	pub fn stats(&self) -> String {
		format!("{}{STATS}", self.base)
	}
}

/// Where a delivery is, as the provider puts it on chain: the [`MANIFEST`] URL of
/// agreement `agreement` through epoch `through_epoch` at the worker `base`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
	/// The worker's base URL, without a trailing `/`.
	pub base: String,
	/// The agreement.
	pub agreement: u64,
	/// The last epoch the delivery covers.
	pub through_epoch: u64,
}

impl Location {
	/// The location of agreement `agreement`'s delivery through `through_epoch` at
	/// the worker `base`.
	pub fn new(base: &str, agreement: u64, through_epoch: u64) -> Self {
		Location { base: Urls::new(base).base, agreement, through_epoch }
	}

	/// The URL, as it goes on chain.
	pub fn to_url(&self) -> String {
		Urls::new(&self.base).manifest(self.agreement, self.through_epoch)
	}

	/// Parses a location from the chain: a URL ending in
	/// `/v1/deliveries/<agreement>/manifests/<through_epoch>`.
	pub fn parse(url: &str) -> Result<Self, Error> {
		let bad = |reason: &str| malformed("delivery location", format!("{url:?}: {reason}"));
		let (base, rest) =
			url.rsplit_once("/v1/deliveries/").ok_or_else(|| bad("no /v1/deliveries/ in it"))?;
		let (agreement, through) =
			rest.split_once("/manifests/").ok_or_else(|| bad("no /manifests/ in it"))?;
		let number = |s: &str| {
			(!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
				.then(|| s.parse::<u64>().ok())
				.flatten()
		};
		let (Some(agreement), Some(through_epoch)) = (number(agreement), number(through)) else {
			return Err(bad("the agreement and epoch are not numbers"));
		};
		if !(base.starts_with("http://") || base.starts_with("https://")) {
			return Err(bad("not an http(s) URL"));
		}
		Ok(Location { base: base.to_string(), agreement, through_epoch })
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_location_round_trips_through_its_url() {
		let l = Location::new("http://127.0.0.1:8088/", 7, 12);
		assert_eq!(l.to_url(), "http://127.0.0.1:8088/v1/deliveries/7/manifests/12");
		assert_eq!(Location::parse(&l.to_url()), Ok(l));
		let behind_a_proxy =
			Location::parse("https://cloud.example/sensorshare/v1/deliveries/3/manifests/9")
				.expect("parses");
		assert_eq!(behind_a_proxy.base, "https://cloud.example/sensorshare");
		assert_eq!(
			Urls::new(&behind_a_proxy.base).segment(3, "a-1"),
			"https://cloud.example/sensorshare/v1/deliveries/3/segments/a-1"
		);
	}

	#[test]
	fn a_location_that_is_not_a_manifest_url_is_refused() {
		for bad in [
			"",
			"http://h/v1/deliveries/7",
			"http://h/v1/deliveries/x/manifests/1",
			"http://h/v1/deliveries/7/manifests/-1",
			"http://h/v1/deliveries/7/manifests/1/extra",
			"ftp://h/v1/deliveries/7/manifests/1",
			"http://h/v1/deliveries/7/manifests/99999999999999999999999",
		] {
			assert!(matches!(Location::parse(bad), Err(Error::Malformed { .. })), "{bad:?}");
		}
	}

	#[test]
	fn every_url_fills_its_route_template() {
		let u = Urls::new("http://w");
		let fill = |t: &str, pairs: &[(&str, &str)]| {
			pairs.iter().fold(format!("http://w{t}"), |s, (k, v)| s.replace(&format!("{{{k}}}"), v))
		};
		assert_eq!(u.capsule(b"\x01", 5), fill(CAPSULE, &[("sensor", "01"), ("epoch", "5")]));
		assert_eq!(
			u.batch(b"\x01", 5, 3),
			fill(BATCH, &[("sensor", "01"), ("epoch", "5"), ("sequence", "3")])
		);
		assert_eq!(u.challenge(2), fill(CHALLENGE, &[("id", "2")]));
		assert_eq!(u.token(2), fill(TOKEN, &[("id", "2")]));
		assert_eq!(u.manifest(2, 9), fill(MANIFEST, &[("id", "2"), ("through", "9")]));
		assert_eq!(u.segment(2, "s"), fill(SEGMENT, &[("id", "2"), ("name", "s")]));
		assert_eq!(u.metrics(), "http://w/metrics");
		assert_eq!(u.stats(), "http://w/v1/stats");
	}
}
