//! The worker's object store: what sensors upload and what the worker delivers.
//!
//! Each chain has its own namespace, `chains/<genesis hash, hex>/` ([`namespace`]),
//! so a worker pointed at another chain never reads or resumes the first one's
//! uploads and deliveries. Below it:
//!
//! ```text
//! sensors/<sensor>/<epoch>/capsule                  the epoch's capsule
//! sensors/<sensor>/<epoch>/records/<ms>-<sha256>    its records, by time
//! deliveries/<agreement>/access.json                who may read the delivery
//! deliveries/<agreement>/segments/<sensor>-<epoch>  a sensor's epoch, re-encrypted
//! deliveries/<agreement>/manifests/<through>.json   each step's manifest, written last
//! ```
//!
//! `<sensor>` is the sensor's identity in hex and `<sha256>` the record's digest in
//! hex. `<agreement>`, `<epoch>`, `<through>` (the last epoch a delivery covers) and
//! `<ms>` (the record's time, in milliseconds since the Unix epoch) are zero-padded to
//! 20 digits, so that listings come out in order. Records are named by content, so an
//! upload repeated after a lost reply is stored once. Every key is made here.

use crate::config::StorageConfig;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::TryStreamExt;
use object_store::{
	aws::AmazonS3Builder, local::LocalFileSystem, path::Path, ObjectStore, PutMode, PutOptions,
	PutPayload, WriteMultipart,
};
use std::sync::Arc;

/// The part size of an object written in parts ([`Store::writer`]): S3's smallest
/// (every part but the last must be at least 5 MiB).
const PART_BYTES: usize = 5 * 1024 * 1024;

/// Parts of one object uploading at once: with the part being filled, what an object
/// written in parts holds in memory is at most this many parts and one more.
const PARTS_IN_FLIGHT: usize = 2;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
	/// The backend failed.
	#[error("object store: {0}")]
	Backend(#[from] object_store::Error),
	/// The store's directory could not be created.
	#[error("creating {path}: {source}")]
	CreateDir {
		/// The directory.
		path: String,
		/// What the operating system reported.
		source: std::io::Error,
	},
	/// A delivery's access list cannot be read back.
	#[error("the access list of delivery {0} is corrupt")]
	CorruptAccess(u64),
	/// Another capsule is stored for this sensor and epoch.
	#[error("a different capsule is already stored for this sensor and epoch")]
	CapsuleConflict,
}

/// What a put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
	/// The object was new and is stored now.
	Created,
	/// The same object was stored already; nothing changed.
	AlreadyStored,
}

/// The store, over any `object_store` backend.
#[derive(Clone, Debug)]
pub struct Store {
	inner: Arc<dyn ObjectStore>,
}

/// The namespace of the chain whose block 0 is `genesis`.
pub fn namespace(genesis: &[u8; 32]) -> String {
	format!("chains/{}", hex::encode(genesis))
}

/// Where an agreement's delivery lives in the store.
pub fn delivery_prefix(agreement: u64) -> String {
	format!("deliveries/{agreement:020}")
}

/// The manifest of agreement `agreement`'s delivery through `through_epoch`.
pub fn manifest_path(agreement: u64, through_epoch: u64) -> Path {
	Path::from(format!("{}/manifests/{through_epoch:020}.json", delivery_prefix(agreement)))
}

/// The access list of agreement `agreement`'s delivery.
pub fn access_path(agreement: u64) -> Path {
	Path::from(format!("{}/access.json", delivery_prefix(agreement)))
}

/// The segment `name` (see [`segment_name`]) of agreement `agreement`'s delivery.
pub fn segment_path(agreement: u64, name: &str) -> Path {
	Path::from(format!("{}/segments/{name}", delivery_prefix(agreement)))
}

/// The name of the segment of `sensor`'s (its identity's bytes) `epoch`, as the
/// manifest lists it.
pub fn segment_name(sensor: &[u8], epoch: u64) -> String {
	format!("{}-{epoch:020}", hex::encode(sensor))
}

fn sensor_epoch_prefix(sensor: &[u8], epoch: u64) -> String {
	format!("sensors/{}/{epoch:020}", hex::encode(sensor))
}

fn capsule_path(sensor: &[u8], epoch: u64) -> Path {
	Path::from(format!("{}/capsule", sensor_epoch_prefix(sensor, epoch)))
}

fn records_prefix(sensor: &[u8], epoch: u64) -> Path {
	Path::from(format!("{}/records", sensor_epoch_prefix(sensor, epoch)))
}

fn record_path(sensor: &[u8], epoch: u64, timestamp_ms: u64, digest: &[u8; 32]) -> Path {
	let (prefix, digest) = (sensor_epoch_prefix(sensor, epoch), hex::encode(digest));
	Path::from(format!("{prefix}/records/{timestamp_ms:020}-{digest}"))
}

impl Store {
	/// Opens the store a configuration names.
	pub fn open(config: &StorageConfig) -> Result<Self, StoreError> {
		let inner: Arc<dyn ObjectStore> = match config {
			StorageConfig::Fs { path } => {
				std::fs::create_dir_all(path).map_err(|source| StoreError::CreateDir {
					path: path.display().to_string(),
					source,
				})?;
				Arc::new(LocalFileSystem::new_with_prefix(path)?)
			},
			StorageConfig::S3 {
				bucket,
				region,
				endpoint,
				access_key_id,
				secret_access_key,
				allow_http,
			} => {
				let mut b = AmazonS3Builder::from_env()
					.with_bucket_name(bucket)
					.with_region(region)
					.with_allow_http(*allow_http);
				if let Some(e) = endpoint {
					b = b.with_endpoint(e);
				}
				if let Some(k) = access_key_id {
					b = b.with_access_key_id(k);
				}
				if let Some(k) = secret_access_key {
					b = b.with_secret_access_key(k.expose());
				}
				Arc::new(b.build()?)
			},
		};
		Ok(Store { inner })
	}

	/// The same store, within the namespace of the chain whose block 0 is `genesis`.
	pub fn for_chain(&self, genesis: &[u8; 32]) -> Self {
		let prefix = Path::from(namespace(genesis));
		Store {
			inner: Arc::new(object_store::prefix::PrefixStore::new(self.inner.clone(), prefix)),
		}
	}

	/// A store over an existing backend.
	pub fn from_backend(inner: Arc<dyn ObjectStore>) -> Self {
		Store { inner }
	}

	async fn create(&self, path: &Path, bytes: Bytes) -> Result<Stored, StoreError> {
		let opts = PutOptions::from(PutMode::Create);
		match self.inner.put_opts(path, PutPayload::from(bytes), opts).await {
			Ok(_) => Ok(Stored::Created),
			Err(object_store::Error::AlreadyExists { .. }) => Ok(Stored::AlreadyStored),
			Err(e) => Err(e.into()),
		}
	}

	/// Stores a sensor's capsule for an epoch. The same capsule again is a no-op; a
	/// different one is a conflict (one capsule per sensor and epoch: the spec's
	/// nonce is derived from the meta, so a second capsule would be a second key).
	pub async fn put_capsule(
		&self,
		sensor: &[u8],
		epoch: u64,
		capsule: Bytes,
	) -> Result<Stored, StoreError> {
		let path = capsule_path(sensor, epoch);
		match self.create(&path, capsule.clone()).await? {
			Stored::Created => Ok(Stored::Created),
			Stored::AlreadyStored => {
				if self.inner.get(&path).await?.bytes().await? == capsule {
					Ok(Stored::AlreadyStored)
				} else {
					Err(StoreError::CapsuleConflict)
				}
			},
		}
	}

	/// The capsule of a sensor's epoch, if uploaded.
	pub async fn capsule(&self, sensor: &[u8], epoch: u64) -> Result<Option<Bytes>, StoreError> {
		self.get_opt(&capsule_path(sensor, epoch)).await
	}

	/// Stores a record of a sensor's epoch under its time and digest.
	pub async fn put_record(
		&self,
		sensor: &[u8],
		epoch: u64,
		timestamp_ms: u64,
		digest: &[u8; 32],
		record: Bytes,
	) -> Result<Stored, StoreError> {
		self.create(&record_path(sensor, epoch, timestamp_ms, digest), record).await
	}

	/// The names of a sensor's records for an epoch, in time order.
	pub async fn record_paths(&self, sensor: &[u8], epoch: u64) -> Result<Vec<Path>, StoreError> {
		let prefix = records_prefix(sensor, epoch);
		let mut paths: Vec<Path> =
			self.inner.list(Some(&prefix)).map_ok(|m| m.location).try_collect().await?;
		paths.sort();
		Ok(paths)
	}

	/// How many records a sensor's epoch holds, and their bytes.
	pub async fn epoch_usage(&self, sensor: &[u8], epoch: u64) -> Result<(u64, u64), StoreError> {
		let prefix = records_prefix(sensor, epoch);
		let metas: Vec<object_store::ObjectMeta> =
			self.inner.list(Some(&prefix)).try_collect().await?;
		Ok((metas.len() as u64, metas.iter().map(|m| m.size).sum()))
	}

	/// An object's bytes.
	pub async fn get(&self, path: &Path) -> Result<Bytes, StoreError> {
		Ok(self.inner.get(path).await?.bytes().await?)
	}

	/// An object's bytes, or `None` if there is no such object.
	pub async fn get_opt(&self, path: &Path) -> Result<Option<Bytes>, StoreError> {
		match self.inner.get(path).await {
			Ok(r) => Ok(Some(r.bytes().await?)),
			Err(object_store::Error::NotFound { .. }) => Ok(None),
			Err(e) => Err(e.into()),
		}
	}

	/// An object's size and its bytes as a stream, or `None` if there is no such
	/// object: what a download sends on as it reads.
	pub async fn get_stream(
		&self,
		path: &Path,
	) -> Result<Option<(u64, BoxStream<'static, object_store::Result<Bytes>>)>, StoreError> {
		match self.inner.get(path).await {
			Ok(r) => Ok(Some((r.meta.size, r.into_stream()))),
			Err(object_store::Error::NotFound { .. }) => Ok(None),
			Err(e) => Err(e.into()),
		}
	}

	/// Writes (or overwrites) the object at `path` in parts, as its bytes come: it
	/// appears whole once [`ObjectWriter::finish`] returns, or not at all.
	pub async fn writer(&self, path: &Path) -> Result<ObjectWriter, StoreError> {
		let upload = self.inner.put_multipart(path).await?;
		Ok(ObjectWriter { upload: WriteMultipart::new_with_chunk_size(upload, PART_BYTES) })
	}

	/// Writes (or overwrites) an object.
	pub async fn put(&self, path: &Path, bytes: Bytes) -> Result<(), StoreError> {
		self.inner.put(path, PutPayload::from(bytes)).await?;
		Ok(())
	}

	/// Every object under `prefix`.
	pub async fn list(&self, prefix: &str) -> Result<Vec<Path>, StoreError> {
		let prefix = Path::from(prefix);
		Ok(self.inner.list(Some(&prefix)).map_ok(|m| m.location).try_collect().await?)
	}
}

/// An object being written in parts ([`Store::writer`]); memory stays within a few
/// parts whatever the object's size.
pub struct ObjectWriter {
	upload: WriteMultipart,
}

impl ObjectWriter {
	/// Appends `bytes`, first waiting while too many parts are uploading.
	pub async fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
		self.upload.wait_for_capacity(PARTS_IN_FLIGHT).await?;
		self.upload.write(bytes);
		Ok(())
	}

	/// Completes the object.
	pub async fn finish(self) -> Result<(), StoreError> {
		self.upload.finish().await?;
		Ok(())
	}

	/// Gives the object up: nothing of it stays in the store.
	pub async fn abort(self) {
		if let Err(e) = self.upload.abort().await {
			tracing::warn!(error = %e, "aborting a partial object");
		}
	}
}
