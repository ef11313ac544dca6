//! Prometheus metrics: uploads, deliveries, bytes and latency.

use prometheus::{
	Counter, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

/// The worker's metrics.
#[derive(Clone, Debug)]
pub struct Metrics {
	registry: Registry,
	/// Uploads by kind (`capsule`, `record`) and outcome (`stored`, `duplicate`, `refused`).
	pub uploads: IntCounterVec,
	/// Bytes of uploads stored.
	pub upload_bytes: IntCounter,
	/// Deliveries written and put on chain.
	pub deliveries: IntCounter,
	/// Attempts at a delivery that failed for a reason that can pass, and are retried.
	pub delivery_retries: IntCounter,
	/// Deliveries given up for a failure that retrying does not fix.
	pub delivery_failures: IntCounter,
	/// Delivery attempts that found an epoch with records and no capsule (and wait).
	pub capsules_missing: IntCounter,
	/// Bytes of records delivered.
	pub delivered_bytes: IntCounter,
	/// Bytes downloaded by requesters.
	pub download_bytes: IntCounter,
	/// Seconds from an agreement's acceptance event to its delivery's finalization.
	pub delivery_seconds: Histogram,
	/// Sensor registrations looked up on chain (those not in the cache).
	pub sensor_lookups: IntCounter,
	/// HTTP connections open.
	pub open_connections: IntGauge,
	/// HTTP connections closed at once because as many as allowed were open.
	pub refused_connections: IntCounter,
	/// Seconds to handle an HTTP request.
	pub http_seconds: Histogram,
	/// Seconds to write deliveries: re-encryption, segments and manifest.
	pub write_seconds: Histogram,
	/// Seconds spent verifying and re-encrypting capsules, in all.
	pub reencrypt_seconds: Counter,
}

impl Metrics {
	/// Registers every metric in a new registry.
	pub fn new() -> Result<Self, prometheus::Error> {
		let registry = Registry::new_custom(Some("sensorshare_worker".into()), None)?;
		let uploads = IntCounterVec::new(
			Opts::new("uploads_total", "Uploads by kind and outcome"),
			&["kind", "outcome"],
		)?;
		let upload_bytes = IntCounter::new("upload_bytes_total", "Bytes of uploads stored")?;
		let deliveries = IntCounter::new("deliveries_total", "Deliveries put on chain")?;
		let delivery_retries = IntCounter::new(
			"delivery_retries_total",
			"Delivery attempts that failed and are retried",
		)?;
		let delivery_failures =
			IntCounter::new("delivery_failures_total", "Deliveries given up for good")?;
		let capsules_missing = IntCounter::new(
			"capsules_missing_total",
			"Delivery attempts that found records without their capsule, and wait for it",
		)?;
		let delivered_bytes =
			IntCounter::new("delivered_bytes_total", "Bytes of records delivered")?;
		let download_bytes = IntCounter::new("download_bytes_total", "Bytes downloaded")?;
		let sensor_lookups =
			IntCounter::new("sensor_lookups_total", "Sensor registrations looked up on chain")?;
		let open_connections = IntGauge::new("http_connections", "HTTP connections open")?;
		let refused_connections = IntCounter::new(
			"http_connections_refused_total",
			"HTTP connections closed at once: as many as allowed were open",
		)?;
		let buckets = vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
		let delivery_seconds = Histogram::with_opts(
			HistogramOpts::new("delivery_seconds", "From acceptance to finalized delivery")
				.buckets(buckets.clone()),
		)?;
		let write_seconds = Histogram::with_opts(
			HistogramOpts::new("delivery_write_seconds", "Writing a delivery to the store")
				.buckets(buckets.clone()),
		)?;
		let http_seconds = Histogram::with_opts(
			HistogramOpts::new("http_seconds", "HTTP request handling time").buckets(buckets),
		)?;
		let reencrypt_seconds = Counter::new(
			"reencrypt_seconds_total",
			"Seconds spent verifying and re-encrypting capsules",
		)?;
		registry.register(Box::new(uploads.clone()))?;
		registry.register(Box::new(upload_bytes.clone()))?;
		registry.register(Box::new(deliveries.clone()))?;
		registry.register(Box::new(open_connections.clone()))?;
		registry.register(Box::new(sensor_lookups.clone()))?;
		registry.register(Box::new(refused_connections.clone()))?;
		registry.register(Box::new(delivery_retries.clone()))?;
		registry.register(Box::new(delivery_failures.clone()))?;
		registry.register(Box::new(capsules_missing.clone()))?;
		registry.register(Box::new(delivered_bytes.clone()))?;
		registry.register(Box::new(download_bytes.clone()))?;
		registry.register(Box::new(delivery_seconds.clone()))?;
		registry.register(Box::new(http_seconds.clone()))?;
		registry.register(Box::new(write_seconds.clone()))?;
		registry.register(Box::new(reencrypt_seconds.clone()))?;
		Ok(Metrics {
			registry,
			uploads,
			upload_bytes,
			deliveries,
			delivery_retries,
			delivery_failures,
			capsules_missing,
			delivered_bytes,
			download_bytes,
			delivery_seconds,
			sensor_lookups,
			open_connections,
			refused_connections,
			http_seconds,
			write_seconds,
			reencrypt_seconds,
		})
	}

	/// The figures programs read, typed.
	pub fn stats(
		&self,
		store: crate::store::StoreRequests,
	) -> sensorshare_protocol::routes::WorkerStats {
		sensorshare_protocol::routes::WorkerStats {
			deliveries: self.deliveries.get(),
			delivered_bytes: self.delivered_bytes.get(),
			reencrypt_seconds: self.reencrypt_seconds.get(),
			delivery_retries: self.delivery_retries.get(),
			store_puts: store.puts,
			store_gets: store.gets,
			store_lists: store.lists,
		}
	}

	/// The metrics in Prometheus' text format.
	pub fn render(&self) -> Result<String, prometheus::Error> {
		prometheus::TextEncoder::new().encode_to_string(&self.registry.gather())
	}
}
