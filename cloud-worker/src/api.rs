//! The HTTP API: sensors upload, requesters download, operators watch.
//!
//! | method | path | who |
//! |---|---|---|
//! | `PUT` | `/v1/sensors/{sensor}/epochs/{epoch}/capsule` | a sensor: its epoch's capsule |
//! | `POST` | `/v1/sensors/{sensor}/epochs/{epoch}/records` | a sensor: a signed record |
//! | `POST` | `/v1/deliveries/{id}/challenge` | a requester: a fresh challenge |
//! | `POST` | `/v1/deliveries/{id}/token` | a requester: the signed challenge, for a token |
//! | `GET` | `/v1/deliveries/{id}/manifests/{through}` | a requester, with its token: the manifest of the delivery through epoch `through` |
//! | `GET` | `/v1/deliveries/{id}/segments/{name}` | a requester, with its token |
//! | `GET` | `/health`, `/metrics` | operators |
//!
//! Sensors are named by their identity in hex. Every refusal is a 4xx with a reason
//! in plain text, and stores nothing.
//!
//! The challenge and the manifest take `?wait=<seconds>` (at most
//! [`MAX_WAIT_SECS`]): while the delivery is not written yet, the request waits for
//! it instead of answering 404 at once. A requester that has seen its request
//! accepted can so download as soon as the worker has written the delivery, before
//! the `deliver` transaction is final; it checks the manifest against the digest on
//! chain once that is, before it confirms.

use crate::{
	auth::Auth,
	deliver::{manifest_path, read_access, segment_path},
	directory::{Directory, DirectoryError},
	metrics::Metrics,
	store::{Store, StoreError, Stored},
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
use sensorshare_protocol::{
	auth::{Challenge, ChallengeAnswer, Token},
	upload::UnverifiedRecordUpload,
};
use serde::Deserialize;
use std::{
	sync::Arc,
	time::{Duration, Instant},
};

/// The largest capsule upload: a capsule with a 64-byte identity is 170 bytes.
const MAX_CAPSULE_BYTES: usize = 1024;
/// The largest challenge answer.
const MAX_ANSWER_BYTES: usize = 1024;
/// The longest a request may wait for a delivery to be written.
pub const MAX_WAIT_SECS: u64 = 60;

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
	/// The largest record upload.
	pub max_record_bytes: usize,
	/// Deliveries as they are written, for the requests waiting for them.
	pub published: Published,
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
		F: std::future::Future<Output = Result<Option<T>, ApiError>>,
	{
		let secs = self.wait.unwrap_or(0);
		if secs > MAX_WAIT_SECS {
			return Err(ApiError::WaitTooLong(secs));
		}
		let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
		// Subscribed before the first look: a delivery written in between still wakes.
		let mut published = state.published.0.subscribe();
		let mut stopping = state.stopping.clone();
		loop {
			if let Some(found) = look().await? {
				return Ok(Some(found));
			}
			if *stopping.borrow() {
				return Ok(None);
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
	/// The record upload does not decode or its signature does not verify.
	#[error("record refused: {0}")]
	InvalidRecord(sensorshare_protocol::Error),
	/// The record's time lies outside the epoch it is uploaded under.
	#[error("the record's timestamp lies outside epoch {0}")]
	RecordOutsideEpoch(u64),
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
	/// The store failed.
	#[error("storage failure")]
	Store(#[from] StoreError),
}

impl ApiError {
	fn status(&self) -> StatusCode {
		use ApiError::*;
		match self {
			BadSensorId | CapsuleMismatch | BadAnswer(_) | WaitTooLong(_) => {
				StatusCode::BAD_REQUEST
			},
			InvalidCapsule(_) | InvalidRecord(_) | RecordOutsideEpoch(_) => {
				StatusCode::UNPROCESSABLE_ENTITY
			},
			UnknownSensor(_) | NoDelivery(_) | NoSegment => StatusCode::NOT_FOUND,
			NotOurSensor(_) | WrongSigner | Forbidden | StaleChallenge => StatusCode::FORBIDDEN,
			MissingToken => StatusCode::UNAUTHORIZED,
			CapsuleConflict => StatusCode::CONFLICT,
			ChainUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
			Store(StoreError::CapsuleConflict) => StatusCode::CONFLICT,
			Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
		}
	}
}

impl IntoResponse for ApiError {
	fn into_response(self) -> Response {
		let status = self.status();
		if status.is_server_error() {
			tracing::error!(error = %self, source = ?std::error::Error::source(&self), "request failed");
		} else {
			tracing::debug!(error = %self, "request refused");
		}
		(status, format!("{self}\n")).into_response()
	}
}

impl From<DirectoryError> for ApiError {
	fn from(e: DirectoryError) -> Self {
		ApiError::ChainUnavailable(e.to_string())
	}
}

/// The API's router.
pub fn router(state: ApiState) -> Router {
	let max_record = state.max_record_bytes;
	Router::new()
		.route(
			"/v1/sensors/{sensor}/epochs/{epoch}/capsule",
			put(put_capsule).layer(DefaultBodyLimit::max(MAX_CAPSULE_BYTES)),
		)
		.route(
			"/v1/sensors/{sensor}/epochs/{epoch}/records",
			post(post_record).layer(DefaultBodyLimit::max(max_record)),
		)
		.route(
			"/v1/deliveries/{id}/challenge",
			post(post_challenge).layer(DefaultBodyLimit::max(0)),
		)
		.route(
			"/v1/deliveries/{id}/token",
			post(post_token).layer(DefaultBodyLimit::max(MAX_ANSWER_BYTES)),
		)
		.route("/v1/deliveries/{id}/manifests/{through}", get(get_manifest))
		.route("/v1/deliveries/{id}/segments/{name}", get(get_segment))
		.route("/health", get(health))
		.route("/metrics", get(metrics))
		.layer(axum::middleware::from_fn_with_state(state.clone(), time_requests))
		.with_state(state)
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

async fn put_capsule(
	State(state): State<ApiState>,
	Path((sensor, epoch)): Path<(String, u64)>,
	body: Bytes,
) -> Result<StatusCode, ApiError> {
	let check = async {
		let id = sensor_id(&sensor)?;
		let (key, _) = our_sensor(&state, &id).await?;
		let capsule = Capsule::from_bytes(&body).map_err(ApiError::InvalidCapsule)?;
		if capsule.meta() != &Meta::new(id, epoch) {
			return Err(ApiError::CapsuleMismatch);
		}
		capsule.verify(&key).map_err(ApiError::InvalidCapsule)?;
		let stored = state.store.put_capsule(id.as_bytes(), epoch, body.clone()).await;
		match stored {
			Err(StoreError::CapsuleConflict) => Err(ApiError::CapsuleConflict),
			other => Ok(other?),
		}
	};
	outcome(&state, "capsule", body.len(), check.await)
}

async fn post_record(
	State(state): State<ApiState>,
	Path((sensor, epoch)): Path<(String, u64)>,
	body: Bytes,
) -> Result<StatusCode, ApiError> {
	let check = async {
		let id = sensor_id(&sensor)?;
		let (key, epoch_secs) = our_sensor(&state, &id).await?;
		let record = UnverifiedRecordUpload::from_bytes(&body)
			.and_then(|u| u.verify(&key, &Meta::new(id, epoch)))
			.map_err(ApiError::InvalidRecord)?;
		if record.header().epoch(epoch_secs) != Some(epoch) {
			return Err(ApiError::RecordOutsideEpoch(epoch));
		}
		let bytes = Bytes::copy_from_slice(record.record_bytes());
		let ts = record.header().timestamp_ms;
		Ok(state.store.put_record(id.as_bytes(), epoch, ts, &record.digest(), bytes).await?)
	};
	outcome(&state, "record", body.len(), check.await)
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
	if !state.auth.take_challenge(id, &challenge) {
		return Err(ApiError::StaleChallenge);
	}
	let key = hex::decode(&access.public_key)
		.ok()
		.and_then(|k| PublicKey::from_bytes(&k).ok())
		.ok_or(ApiError::Store(StoreError::CorruptAccess(id)))?;
	answer.verify(id, &key).map_err(|_| ApiError::WrongSigner)?;
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
	let bytes = state.store.get_opt(&segment_path(id, &name)).await?.ok_or(ApiError::NoSegment)?;
	Ok(octets(&state, bytes, "application/octet-stream"))
}

async fn health(State(state): State<ApiState>) -> Response {
	match state.directory.finalized_number().await {
		Ok(n) => (StatusCode::OK, format!("ok: finalized block {n}\n")).into_response(),
		Err(e) => {
			(StatusCode::SERVICE_UNAVAILABLE, format!("chain unreachable: {e}\n")).into_response()
		},
	}
}

async fn metrics(State(state): State<ApiState>) -> Response {
	match state.metrics.render() {
		Ok(text) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response(),
		Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
	}
}
