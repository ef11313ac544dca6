//! The running worker against requests of random method, path and body, drawn by
//! proptest around its routes (a route's shape with random segments) and away from
//! them: every answer is a 4xx with a reason, and the store is as it was.

mod common;

use common::*;
use proptest::prelude::*;
use reqwest::Method;
use sensorshare_protocol::routes;

/// A path segment: sometimes a plausible one (a number, hex, a route's word),
/// sometimes any URL-safe junk.
fn segment() -> impl Strategy<Value = String> {
	prop_oneof![
		any::<u64>().prop_map(|n| n.to_string()),
		proptest::collection::vec(any::<u8>(), 0..40).prop_map(hex::encode),
		Just("capsule".to_string()),
		Just("batches".to_string()),
		"[a-zA-Z0-9._~%-]{0,24}",
	]
}

/// A route of the worker's with its placeholders filled at random, or a path of
/// random segments.
fn path() -> impl Strategy<Value = String> {
	let routes = prop::sample::select(vec![
		routes::CAPSULE,
		routes::BATCH,
		routes::CHALLENGE,
		routes::TOKEN,
		routes::MANIFEST,
		routes::SEGMENT,
	]);
	prop_oneof![
		(routes, segment(), segment(), segment()).prop_map(|(route, a, b, c)| {
			let mut filled = String::new();
			let mut holes = [a, b, c].into_iter();
			for part in route.split('/').filter(|p| !p.is_empty()) {
				filled.push('/');
				if part.starts_with('{') {
					filled.push_str(&holes.next().unwrap_or_default());
				} else {
					filled.push_str(part);
				}
			}
			filled
		}),
		proptest::collection::vec(segment(), 0..6).prop_map(|s| format!("/{}", s.join("/"))),
	]
}

fn method() -> impl Strategy<Value = Method> {
	prop::sample::select(vec![
		Method::GET,
		Method::POST,
		Method::PUT,
		Method::DELETE,
		Method::PATCH,
		Method::HEAD,
	])
}

#[test]
fn random_requests_get_a_4xx_and_change_nothing_stored() {
	let rt = tokio::runtime::Runtime::new().expect("a runtime");
	let running = rt.block_on(Running::start(|_| {}, &[]));
	// One real epoch in the store, so that there is something to leave alone.
	rt.block_on(upload_epoch(&running.client, &running.sensor, 10, 3));
	let store = running.dir.path().join("store");
	let before = files(&store);
	let http = reqwest::Client::new();
	let public = [routes::HEALTH, routes::METRICS, routes::STATS];

	let config =
		ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() };
	proptest!(config, |(method in method(), path in path(), body in proptest::collection::vec(any::<u8>(), 0..300))| {
		prop_assume!(!public.contains(&path.as_str()));
		let url = format!("{}{path}", running.url);
		let (status, reason) = rt.block_on(async {
			let r = http.request(method.clone(), &url).body(body.clone()).send().await.expect("an answer");
			(r.status(), r.text().await.unwrap_or_default())
		});
		prop_assert!(status.is_client_error(), "{method} {path}: {status} {reason}");
		prop_assert!(method == Method::HEAD || status == 404 || status == 405 || !reason.trim().is_empty(),
			"{method} {path}: {status} without a reason");
	});
	assert_eq!(files(&store), before, "nothing stored, nothing removed");
}
