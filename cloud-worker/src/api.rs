//! The HTTP API: sensors upload, requesters download, operators watch. The routes,
//! who calls them and the URLs clients build for them are in
//! [`sensorshare_protocol::routes`].
//!
//! Sensors are named by their identity in hex. Every refusal is a 4xx with a reason
//! in plain text, and stores nothing; a layer logs each refusal with its request.
//!
//! The challenge and the manifest take `?wait=<seconds>` (at most
//! [`MAX_WAIT_SECS`]): while the delivery is not written yet, the request waits for
//! it instead of answering 404 at once. A requester that has seen its request
//! accepted can so download as soon as the worker has written the delivery, before
//! the `deliver` transaction is final; it checks the manifest against the digest on
//! chain once that is, before it confirms.

use crate::{
	auth::Auth,
	deliver::read_access,
	directory::{Directory, DirectoryError},
	metrics::Metrics,
	quota::{QuotaError, Quotas},
	store::{manifest_path, segment_path, Store, StoreError, Stored},
};
use axum::{
	body::Bytes,
	extract::{DefaultBodyLimit, Path, Query, State},
	http::{header, HeaderMap, StatusCode},
	response::{IntoResponse, Response},
	routing::{get, post, put},
	Json, Router,
};
use cbpre::{Capsule, Identity, Meta, PublicKey};
use futures::TryStreamExt;
use sensorshare_protocol::{
	auth::{Challenge, ChallengeAnswer, Token},
	batch::{UnverifiedBatch, MAX_BATCH_BYTES},
	routes::{self, MAX_WAIT_SECS},
};
use serde::Deserialize;
use std::{
	future::Future,
	sync::Arc,
	time::{Duration, Instant},
};

/// The largest capsule upload: a capsule with a 64-byte identity is 170 bytes.
const MAX_CAPSULE_BYTES: usize = 1024;
/// The largest challenge answer.
const MAX_ANSWER_BYTES: usize = 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
	/// The object store.
	pub store: Store,
	/// Sensor registrations from the chain.
	pub directory: Arc<Directory>,
	/// Download challenges and tokens.
	pub auth: Arc<Auth>,
	/// Metrics.
	pub metrics: Metrics,
	/// The largest record in a batch.
	pub max_record_bytes: usize,
	/// Deliveries as they are written, for the requests waiting for them.
	pub published: Published,
	/// What each sensor may still upload.
	pub quotas: Arc<Quotas>,
	/// Places for requests that wait for a delivery (`?wait=`).
	pub waiting: Arc<tokio::sync::Semaphore>,
	/// Turns true when the worker stops: waiting requests answer at once.
	pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// Wakes the requests waiting for deliveries each time one is written.
#[derive(Clone)]
pub struct Published(Arc<tokio::sync::watch::Sender<()>>);

impl Default for Published {
	fn default() -> Self {
		Published(Arc::new(tokio::sync::watch::channel(()).0))
	}
}

impl Published {
	/// Tells the waiting requests that a delivery was written.
	pub fn notify(&self) {
		self.0.send_replace(());
	}
}

/// `?wait=<seconds>`: how long a request may wait for its delivery to be written.
#[derive(Debug, Default, Deserialize)]
pub struct Wait {
	/// Seconds, at most [`MAX_WAIT_SECS`]; none: answer at once.
	wait: Option<u64>,
}

impl Wait {
	/// Asks `look` until it finds something, the wait is over or the worker stops;
	/// each delivery written asks again.
	async fn until<T, F>(
		self,
		state: &ApiState,
		look: impl Fn() -> F,
	) -> Result<Option<T>, ApiError>
	where
		F: Future<Output = Result<Option<T>, ApiError>>,
	{
		let secs = self.wait.unwrap_or(0);
		if secs > MAX_WAIT_SECS {
			return Err(ApiError::WaitTooLong(secs));
		}
		let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
		// Subscribed before the first look: a delivery written in between still wakes.
		let mut published = state.published.0.subscribe();
		let mut stopping = state.stopping.clone();
		let mut _waiting = None;
		loop {
			if let Some(found) = look().await? {
				return Ok(Some(found));
			}
			if *stopping.borrow() || secs == 0 {
				return Ok(None);
			}
			if _waiting.is_none() {
				// Waiting holds a place among the bounded waiters; none left: 503.
				let place = state.waiting.clone().try_acquire_owned();
				_waiting = Some(place.map_err(|_| ApiError::TooManyWaiting)?);
			}
			tokio::select! {
				_ = tokio::time::sleep_until(deadline) => return Ok(None),
				_ = stopping.changed() => return Ok(None),
				changed = published.changed() => if changed.is_err() { return Ok(None) },
			}
		}
	}
}

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
	/// The path names no valid sensor identity.
	#[error("the sensor must be 1 to 64 bytes in hex")]
	BadSensorId,
	/// The sensor is not on chain.
	#[error("sensor {0} is not registered on chain")]
	UnknownSensor(String),
	/// The sensor stores its data with another provider.
	#[error("sensor {0} is registered with another storage provider")]
	NotOurSensor(String),
	/// The capsule does not decode or does not verify against the sensor's key.
	#[error("capsule refused: {0}")]
	InvalidCapsule(cbpre::Error),
	/// The capsule is for another sensor or epoch than the path says.
	#[error("the capsule is for another sensor or epoch than the path")]
	CapsuleMismatch,
	/// Another capsule is stored for the sensor and epoch.
	#[error("a different capsule is already stored for this sensor and epoch")]
	CapsuleConflict,
	/// The batch does not decode or its signature does not verify.
	#[error("batch refused: {0}")]
	InvalidBatch(sensorshare_protocol::Error),
	/// The batch's sequence number is not the one in the path.
	#[error("the batch is numbered {0}, not as the path says")]
	BatchMismatch(u64),
	/// A record's time lies outside the epoch the batch is uploaded under.
	#[error("a record's timestamp lies outside epoch {0}")]
	RecordOutsideEpoch(u64),
	/// A record of the batch is larger than the worker takes.
	#[error("a record of {0} bytes is larger than the {1} bytes a record may be")]
	RecordTooLarge(usize, usize),
	/// Another batch is stored under the sequence number.
	#[error("a different batch is already stored under sequence number {0}")]
	BatchConflict(u64),
	/// There is no delivery with this number here.
	#[error("no delivery for agreement {0} here")]
	NoDelivery(u64),
	/// The challenge answer does not decode.
	#[error("malformed challenge answer: {0}")]
	BadAnswer(String),
	/// The challenge was not issued for the agreement, expired or was used.
	#[error("unknown, used or expired challenge")]
	StaleChallenge,
	/// The answer is not signed by the requester's key.
	#[error("the answer is not signed by the agreement's requester")]
	WrongSigner,
	/// No bearer token came with the request.
	#[error("a bearer token is required: answer a challenge first")]
	MissingToken,
	/// The token is not valid for this delivery.
	#[error("the token is not valid for this delivery")]
	Forbidden,
	/// The segment name is not in the delivery.
	#[error("no such segment")]
	NoSegment,
	/// The chain cannot be reached.
	#[error("the chain is unreachable: {0}")]
	ChainUnavailable(String),
	/// The request asks to wait longer than the worker lets it.
	#[error("wait={0} is longer than the {MAX_WAIT_SECS} seconds a request may wait")]
	WaitTooLong(u64),
	/// The upload is outside its sensor's quota: an epoch outside the window, or
	/// an epoch that holds all it may.
	#[error("over quota: {0}")]
	OverQuota(#[from] QuotaError),
	/// As many requests wait for deliveries as may.
	#[error("too many requests are waiting for deliveries; ask again without ?wait or later")]
	TooManyWaiting,
	/// The store failed.
	#[error("storage failure")]
	Store(#[from] StoreError),
}

impl ApiError {
	fn status(&self) -> StatusCode {
		use ApiError::*;
		match self {
			BadSensorId | CapsuleMismatch | BatchMismatch(_) | BadAnswer(_) | WaitTooLong(_) => {
				StatusCode::BAD_REQUEST
			},
			InvalidCapsule(_) | InvalidBatch(_) | RecordOutsideEpoch(_) => {
				StatusCode::UNPROCESSABLE_ENTITY
			},
			RecordTooLarge(..) => StatusCode::PAYLOAD_TOO_LARGE,
			UnknownSensor(_) | NoDelivery(_) | NoSegment => StatusCode::NOT_FOUND,
			NotOurSensor(_) | WrongSigner | Forbidden | StaleChallenge => StatusCode::FORBIDDEN,
			MissingToken => StatusCode::UNAUTHORIZED,
			CapsuleConflict | BatchConflict(_) => StatusCode::CONFLICT,
			ChainUnavailable(_) | TooManyWaiting => StatusCode::SERVICE_UNAVAILABLE,
			OverQuota(QuotaError::EpochTooOld { .. } | QuotaError::EpochTooFarAhead { .. }) => {
				StatusCode::UNPROCESSABLE_ENTITY
			},
			OverQuota(QuotaError::TooManyRecords { .. }) => StatusCode::TOO_MANY_REQUESTS,
			OverQuota(QuotaError::TooManyBytes { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
			Store(StoreError::CapsuleConflict | StoreError::BatchConflict) => StatusCode::CONFLICT,
			Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
		}
	}
}

/// Why a request was refused, kept in the response's extensions for [`log_refusals`].
#[derive(Clone)]
struct Refusal {
	/// The error's text, as in the body.
	reason: String,
	/// The error's source (debug-formatted), for a server error.
	source: Option<String>,
}

impl IntoResponse for ApiError {
	fn into_response(self) -> Response {
		let status = self.status();
		let source =
			status.is_server_error().then(|| format!("{:?}", std::error::Error::source(&self)));
		let refusal = Refusal { reason: self.to_string(), source };
		let mut response = (status, format!("{}\n", refusal.reason)).into_response();
		response.extensions_mut().insert(refusal);
		response
	}
}

impl From<DirectoryError> for ApiError {
	fn from(e: DirectoryError) -> Self {
		ApiError::ChainUnavailable(e.to_string())
	}
}

/// The API's router.
pub fn router(state: ApiState) -> Router {
	let capsule_limit = DefaultBodyLimit::max(MAX_CAPSULE_BYTES);
	let batch_limit = DefaultBodyLimit::max(MAX_BATCH_BYTES);
	Router::new()
		.route(routes::CAPSULE, put(upload::<CapsuleUpload>).layer(capsule_limit))
		.route(routes::BATCH, put(upload::<BatchUpload>).layer(batch_limit))
		.route(routes::CHALLENGE, post(post_challenge).layer(DefaultBodyLimit::max(0)))
		.route(routes::TOKEN, post(post_token).layer(DefaultBodyLimit::max(MAX_ANSWER_BYTES)))
		.route(routes::MANIFEST, get(get_manifest))
		.route(routes::SEGMENT, get(get_segment))
		.route(routes::HEALTH, get(health))
		.route(routes::METRICS, get(metrics))
		.route(routes::STATS, get(stats))
		.layer(axum::middleware::from_fn(log_refusals))
		.layer(axum::middleware::from_fn_with_state(state.clone(), time_requests))
		.with_state(state)
}

/// Logs each refused request with the reason [`ApiError::into_response`] left in
/// its extensions: server errors as errors, refusals at debug level.
async fn log_refusals(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
	let (method, path) = (request.method().clone(), request.uri().path().to_owned());
	let response = next.run(request).await;
	if let Some(refusal) = response.extensions().get::<Refusal>() {
		let (status, error) = (response.status(), &refusal.reason);
		match &refusal.source {
			Some(source) => {
				tracing::error!(%method, %path, %status, %error, %source, "request failed")
			},
			None => tracing::debug!(%method, %path, %status, %error, "request refused"),
		}
	}
	response
}

async fn time_requests(
	State(state): State<ApiState>,
	request: axum::extract::Request,
	next: axum::middleware::Next,
) -> Response {
	let start = Instant::now();
	let response = next.run(request).await;
	state.metrics.http_seconds.observe(start.elapsed().as_secs_f64());
	response
}

fn sensor_id(hex_id: &str) -> Result<Identity, ApiError> {
	hex::decode(hex_id).ok().and_then(|b| Identity::new(&b).ok()).ok_or(ApiError::BadSensorId)
}

/// The sensor's key, if it is registered with this provider.
async fn our_sensor(state: &ApiState, id: &Identity) -> Result<(PublicKey, u64), ApiError> {
	let hex_id = hex::encode(id.as_bytes());
	let sensor =
		state.directory.sensor(id).await?.ok_or_else(|| ApiError::UnknownSensor(hex_id.clone()))?;
	if sensor.provider != state.directory.provider() {
		return Err(ApiError::NotOurSensor(hex_id));
	}
	Ok((sensor.public_key, sensor.epoch_secs))
}

fn count(state: &ApiState, kind: &str, stored: Stored, bytes: usize) -> StatusCode {
	match stored {
		Stored::Created => {
			state.metrics.uploads.with_label_values(&[kind, "stored"]).inc();
			state.metrics.upload_bytes.inc_by(bytes as u64);
			StatusCode::CREATED
		},
		Stored::AlreadyStored => {
			state.metrics.uploads.with_label_values(&[kind, "duplicate"]).inc();
			StatusCode::OK
		},
	}
}

/// Counts an upload's outcome and turns it into the response.
fn outcome(
	state: &ApiState,
	kind: &str,
	bytes: usize,
	result: Result<Stored, ApiError>,
) -> Result<StatusCode, ApiError> {
	match result {
		Ok(stored) => Ok(count(state, kind, stored, bytes)),
		Err(e) => {
			if e.status().is_client_error() {
				state.metrics.uploads.with_label_values(&[kind, "refused"]).inc();
			}
			Err(e)
		},
	}
}

/// What a sensor uploads: how it is checked and stored.
trait Upload {
	/// The kind, as the metrics count it.
	const KIND: &'static str;

	/// Checks the upload and stores it.
	fn store(upload: Incoming<'_>) -> impl Future<Output = Result<Stored, ApiError>> + Send;
}

/// An upload of a sensor registered with this provider, to check and store.
struct Incoming<'a> {
	/// Where it goes.
	store: &'a Store,
	/// The sensor's quotas.
	quotas: &'a Quotas,
	/// The sensor.
	id: Identity,
	/// Its key, as the chain has it.
	key: PublicKey,
	/// Its epoch length, in seconds.
	epoch_secs: u64,
	/// The epoch the upload is for.
	epoch: u64,
	/// The batch's sequence number, as the path gives it.
	sequence: Option<u64>,
	/// The largest record a batch may hold.
	max_record_bytes: usize,
	/// What was uploaded.
	body: &'a Bytes,
}

/// An epoch's capsule, `PUT` at [`routes::CAPSULE`].
struct CapsuleUpload;
/// A signed batch of an epoch's records, `PUT` at [`routes::BATCH`].
struct BatchUpload;

impl Upload for CapsuleUpload {
	const KIND: &'static str = "capsule";

	async fn store(up: Incoming<'_>) -> Result<Stored, ApiError> {
		let capsule = Capsule::from_bytes(up.body).map_err(ApiError::InvalidCapsule)?;
		if capsule.meta() != &Meta::new(up.id, up.epoch) {
			return Err(ApiError::CapsuleMismatch);
		}
		capsule.verify(&up.key).map_err(ApiError::InvalidCapsule)?;
		match up.store.put_capsule(up.id.as_bytes(), up.epoch, up.body.clone()).await {
			Err(StoreError::CapsuleConflict) => Err(ApiError::CapsuleConflict),
			other => Ok(other?),
		}
	}
}

impl Upload for BatchUpload {
	const KIND: &'static str = "batch";

	/// One signature checked for the whole batch, the quotas taken for all its
	/// records at once, and one object stored.
	async fn store(up: Incoming<'_>) -> Result<Stored, ApiError> {
		let batch = UnverifiedBatch::from_bytes(up.body).map_err(ApiError::InvalidBatch)?;
		if Some(batch.sequence()) != up.sequence {
			return Err(ApiError::BatchMismatch(batch.sequence()));
		}
		let batch =
			batch.verify(&up.key, &Meta::new(up.id, up.epoch)).map_err(ApiError::InvalidBatch)?;
		for (header, record) in batch.records() {
			if header.epoch(up.epoch_secs) != Some(up.epoch) {
				return Err(ApiError::RecordOutsideEpoch(up.epoch));
			}
			let len = record.to_bytes().len();
			if len > up.max_record_bytes {
				return Err(ApiError::RecordTooLarge(len, up.max_record_bytes));
			}
		}
		let (sensor, sequence) = (up.id.as_bytes(), batch.sequence());
		let (records, size) = (batch.len() as u64, up.body.len() as u64);
		up.quotas.reserve(up.store, sensor, up.epoch, records, size).await??;
		let stored = up.store.put_batch(sensor, up.epoch, sequence, up.body.clone()).await;
		if !matches!(stored, Ok(Stored::Created)) {
			up.quotas.release(sensor, up.epoch, records, size);
		}
		match stored {
			Err(StoreError::BatchConflict) => Err(ApiError::BatchConflict(sequence)),
			other => Ok(other?),
		}
	}
}

/// Where an upload goes: a sensor (hex), an epoch and, for a batch, its sequence
/// number.
#[derive(Deserialize)]
struct UploadPath {
	sensor: String,
	epoch: u64,
	#[serde(default)]
	sequence: Option<u64>,
}

/// An upload by a sensor, stored if the sensor is registered with this provider and
/// the upload checks out; the outcome is counted.
async fn upload<U: Upload>(
	State(state): State<ApiState>,
	Path(UploadPath { sensor, epoch, sequence }): Path<UploadPath>,
	body: Bytes,
) -> Result<StatusCode, ApiError> {
	let check = async {
		let id = sensor_id(&sensor)?;
		let (key, epoch_secs) = our_sensor(&state, &id).await?;
		let now = sensorshare_service::clock::now_secs();
		state.quotas.check_epoch(epoch, epoch_secs, now)?;
		let (store, quotas) = (&state.store, &*state.quotas);
		let max_record_bytes = state.max_record_bytes;
		let body = &body;
		let up = Incoming {
			store,
			quotas,
			id,
			key,
			epoch_secs,
			epoch,
			sequence,
			max_record_bytes,
			body,
		};
		U::store(up).await
	};
	outcome(&state, U::KIND, body.len(), check.await)
}

async fn post_challenge(
	State(state): State<ApiState>,
	Path(id): Path<u64>,
	Query(wait): Query<Wait>,
) -> Result<Json<Challenge>, ApiError> {
	let store = &state.store;
	wait.until(&state, || async move { Ok(read_access(store, id).await?) })
		.await?
		.ok_or(ApiError::NoDelivery(id))?;
	let challenge = state.auth.challenge(id);
	Ok(Json(Challenge {
		challenge: hex::encode(challenge),
		expires_in: state.auth.challenge_ttl().as_secs(),
	}))
}

async fn post_token(
	State(state): State<ApiState>,
	Path(id): Path<u64>,
	body: Bytes,
) -> Result<Json<Token>, ApiError> {
	let answer: ChallengeAnswer =
		serde_json::from_slice(&body).map_err(|e| ApiError::BadAnswer(e.to_string()))?;
	let access = read_access(&state.store, id).await?.ok_or(ApiError::NoDelivery(id))?;
	let challenge = answer.challenge().map_err(|e| ApiError::BadAnswer(e.to_string()))?;
	if !state.auth.check_challenge(id, &challenge) {
		return Err(ApiError::StaleChallenge);
	}
	let key = hex::decode(&access.public_key)
		.ok()
		.and_then(|k| PublicKey::from_bytes(&k).ok())
		.ok_or(ApiError::Store(StoreError::CorruptAccess(id)))?;
	answer.verify(id, &key).map_err(|_| ApiError::WrongSigner)?;
	// Only now, signed by the requester: a bad answer does not burn the challenge.
	if !state.auth.use_challenge(id, &challenge) {
		return Err(ApiError::StaleChallenge);
	}
	Ok(Json(Token { token: state.auth.token(id), expires_in: state.auth.token_ttl().as_secs() }))
}

fn authorize(state: &ApiState, id: u64, headers: &HeaderMap) -> Result<(), ApiError> {
	let token = headers
		.get(header::AUTHORIZATION)
		.and_then(|v| v.to_str().ok())
		.and_then(|v| v.strip_prefix("Bearer "))
		.ok_or(ApiError::MissingToken)?;
	if state.auth.check_token(id, token.trim()) {
		Ok(())
	} else {
		Err(ApiError::Forbidden)
	}
}

fn octets(state: &ApiState, bytes: Bytes, content_type: &'static str) -> Response {
	state.metrics.download_bytes.inc_by(bytes.len() as u64);
	([(header::CONTENT_TYPE, content_type)], bytes).into_response()
}

async fn get_manifest(
	State(state): State<ApiState>,
	Path((id, through)): Path<(u64, u64)>,
	Query(wait): Query<Wait>,
	headers: HeaderMap,
) -> Result<Response, ApiError> {
	authorize(&state, id, &headers)?;
	let (store, path) = (&state.store, &manifest_path(id, through));
	let bytes = wait
		.until(&state, || async move { Ok(store.get_opt(path).await?) })
		.await?
		.ok_or(ApiError::NoDelivery(id))?;
	Ok(octets(&state, bytes, "application/json"))
}

async fn get_segment(
	State(state): State<ApiState>,
	Path((id, name)): Path<(u64, String)>,
	headers: HeaderMap,
) -> Result<Response, ApiError> {
	authorize(&state, id, &headers)?;
	let valid_name =
		!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
	if !valid_name {
		return Err(ApiError::NoSegment);
	}
	// Streamed from the store as it is read: a segment of any size costs a few
	// buffers, not its size, in memory.
	let (size, stream) =
		state.store.get_stream(&segment_path(id, &name)).await?.ok_or(ApiError::NoSegment)?;
	let metrics = state.metrics.clone();
	let counted = stream.inspect_ok(move |chunk| metrics.download_bytes.inc_by(chunk.len() as u64));
	Ok((
		[
			(header::CONTENT_TYPE, "application/octet-stream".to_string()),
			(header::CONTENT_LENGTH, size.to_string()),
		],
		axum::body::Body::from_stream(counted),
	)
		.into_response())
}

async fn health(State(state): State<ApiState>) -> Response {
	match state.directory.finalized_number().await {
		Ok(n) => (StatusCode::OK, format!("ok: finalized block {n}\n")).into_response(),
		Err(e) => {
			(StatusCode::SERVICE_UNAVAILABLE, format!("chain unreachable: {e}\n")).into_response()
		},
	}
}

async fn stats(State(state): State<ApiState>) -> Json<routes::WorkerStats> {
	Json(state.metrics.stats(state.store.requests()))
}

async fn metrics(State(state): State<ApiState>) -> Response {
	match state.metrics.render() {
		Ok(text) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response(),
		Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
	}
}
