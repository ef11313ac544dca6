//! The worker's object store: what sensors upload and what the worker delivers.
//!
//! Each chain has its own namespace, `chains/<genesis hash, hex>/` ([`namespace`]),
//! so a worker pointed at another chain never reads or resumes the first one's
//! uploads and deliveries. Below it:
//!
//! ```text
//! sensors/<sensor>/<epoch>/capsule                  the epoch's capsule
//! sensors/<sensor>/<epoch>/batches/<sequence>       its signed batches, as uploaded
//! deliveries/<agreement>/access.json                who may read the delivery
//! deliveries/<agreement>/segments/<sensor>-<epoch>  a sensor's epoch, re-encrypted
//! deliveries/<agreement>/manifests/<through>.json   each step's manifest, written last
//! ```
//!
//! `<sensor>` is the sensor's identity in hex. `<agreement>`, `<epoch>`, `<through>`
//! (the last epoch a delivery covers) and `<sequence>` (the batch's number within its
//! epoch) are zero-padded to 20 digits, so that listings come out in order. One
//! object a batch, not a record: a provider pays its store per batch. A batch
//! repeated after a lost reply is stored once. Every key is made here.

use crate::config::StorageConfig;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::TryStreamExt;
use object_store::{
	aws::AmazonS3Builder, local::LocalFileSystem, path::Path, ObjectStore, PutMode, PutOptions,
	PutPayload, WriteMultipart,
};
use std::sync::{
	atomic::{AtomicU64, Ordering},
	Arc,
};

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
	/// Another batch is stored under this sensor, epoch and sequence number.
	#[error("a different batch is already stored under this sequence number")]
	BatchConflict,
	/// A stored batch cannot be read back.
	#[error("the stored batch {0} is corrupt")]
	CorruptBatch(String),
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
	requests: Arc<Requests>,
}

/// Requests made of the backend since the store was opened, by kind: what an S3
/// provider bills (a ranged read and a multipart write count as one each).
#[derive(Debug, Default)]
struct Requests {
	puts: AtomicU64,
	gets: AtomicU64,
	lists: AtomicU64,
}

/// How many requests the store has made of its backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreRequests {
	/// Writes: puts, conditional creates, multipart uploads.
	pub puts: u64,
	/// Reads, whole or ranged.
	pub gets: u64,
	/// Listings.
	pub lists: u64,
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

fn batches_prefix(sensor: &[u8], epoch: u64) -> Path {
	Path::from(format!("{}/batches", sensor_epoch_prefix(sensor, epoch)))
}

fn batch_path(sensor: &[u8], epoch: u64, sequence: u64) -> Path {
	Path::from(format!("{}/batches/{sequence:020}", sensor_epoch_prefix(sensor, epoch)))
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
		Ok(Store { inner, requests: Arc::default() })
	}

	/// How many requests the store has made of its backend since it was opened.
	pub fn requests(&self) -> StoreRequests {
		let r = &self.requests;
		StoreRequests {
			puts: r.puts.load(Ordering::Relaxed),
			gets: r.gets.load(Ordering::Relaxed),
			lists: r.lists.load(Ordering::Relaxed),
		}
	}

	fn put_counted(&self) {
		self.requests.puts.fetch_add(1, Ordering::Relaxed);
	}

	fn get_counted(&self) {
		self.requests.gets.fetch_add(1, Ordering::Relaxed);
	}

	fn list_counted(&self) {
		self.requests.lists.fetch_add(1, Ordering::Relaxed);
	}

	/// The same store, within the namespace of the chain whose block 0 is `genesis`.
	pub fn for_chain(&self, genesis: &[u8; 32]) -> Self {
		let prefix = Path::from(namespace(genesis));
		Store {
			inner: Arc::new(object_store::prefix::PrefixStore::new(self.inner.clone(), prefix)),
			requests: self.requests.clone(),
		}
	}

	/// A store over an existing backend.
	pub fn from_backend(inner: Arc<dyn ObjectStore>) -> Self {
		Store { inner, requests: Arc::default() }
	}

	async fn create(&self, path: &Path, bytes: Bytes) -> Result<Stored, StoreError> {
		let opts = PutOptions::from(PutMode::Create);
		self.put_counted();
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
				self.get_counted();
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

	/// Stores a sensor's signed batch of an epoch under its sequence number. The same
	/// batch again (the same records; its signature may differ, a Schnorr signature
	/// being randomized) is a no-op; a different one is a conflict.
	pub async fn put_batch(
		&self,
		sensor: &[u8],
		epoch: u64,
		sequence: u64,
		batch: Bytes,
	) -> Result<Stored, StoreError> {
		let path = batch_path(sensor, epoch, sequence);
		match self.create(&path, batch.clone()).await? {
			Stored::Created => Ok(Stored::Created),
			Stored::AlreadyStored => {
				self.get_counted();
				let stored = self.inner.get(&path).await?.bytes().await?;
				let unsigned = |b: &[u8]| b.get(cbpre::SIGNATURE_LEN..).map(<[u8]>::to_vec);
				if unsigned(&stored) == unsigned(&batch) {
					Ok(Stored::AlreadyStored)
				} else {
					Err(StoreError::BatchConflict)
				}
			},
		}
	}

	/// The names of a sensor's batches for an epoch, in sequence order.
	pub async fn batch_paths(&self, sensor: &[u8], epoch: u64) -> Result<Vec<Path>, StoreError> {
		let prefix = batches_prefix(sensor, epoch);
		self.list_counted();
		let mut paths: Vec<Path> =
			self.inner.list(Some(&prefix)).map_ok(|m| m.location).try_collect().await?;
		paths.sort();
		Ok(paths)
	}

	/// How many records a sensor's epoch holds, and the bytes of its batches: each
	/// batch's count read from its head (a ranged read of a few bytes).
	pub async fn epoch_usage(&self, sensor: &[u8], epoch: u64) -> Result<(u64, u64), StoreError> {
		use sensorshare_protocol::batch::{batch_head, BATCH_HEAD_LEN};
		let prefix = batches_prefix(sensor, epoch);
		self.list_counted();
		let metas: Vec<object_store::ObjectMeta> =
			self.inner.list(Some(&prefix)).try_collect().await?;
		let mut records = 0u64;
		for meta in &metas {
			self.get_counted();
			let head = self.inner.get_range(&meta.location, 0..BATCH_HEAD_LEN as u64).await?;
			let (_, count) = batch_head(&head)
				.map_err(|_| StoreError::CorruptBatch(meta.location.to_string()))?;
			records += u64::from(count);
		}
		Ok((records, metas.iter().map(|m| m.size).sum()))
	}

	/// An object's bytes.
	pub async fn get(&self, path: &Path) -> Result<Bytes, StoreError> {
		self.get_counted();
		Ok(self.inner.get(path).await?.bytes().await?)
	}

	/// An object's bytes, or `None` if there is no such object.
	pub async fn get_opt(&self, path: &Path) -> Result<Option<Bytes>, StoreError> {
		self.get_counted();
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
		self.get_counted();
		match self.inner.get(path).await {
			Ok(r) => Ok(Some((r.meta.size, r.into_stream()))),
			Err(object_store::Error::NotFound { .. }) => Ok(None),
			Err(e) => Err(e.into()),
		}
	}

	/// Writes (or overwrites) the object at `path` in parts, as its bytes come: it
	/// appears whole once [`ObjectWriter::finish`] returns, or not at all.
	pub async fn writer(&self, path: &Path) -> Result<ObjectWriter, StoreError> {
		self.put_counted();
		let upload = self.inner.put_multipart(path).await?;
		Ok(ObjectWriter { upload: WriteMultipart::new_with_chunk_size(upload, PART_BYTES) })
	}

	/// Writes (or overwrites) an object.
	pub async fn put(&self, path: &Path, bytes: Bytes) -> Result<(), StoreError> {
		self.put_counted();
		self.inner.put(path, PutPayload::from(bytes)).await?;
		Ok(())
	}

	/// Every object under `prefix`.
	pub async fn list(&self, prefix: &str) -> Result<Vec<Path>, StoreError> {
		let prefix = Path::from(prefix);
		self.list_counted();
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
