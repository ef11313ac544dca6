//! The running worker binary under abuse: slow clients, more connections than it
//! takes, a flood of challenge requests, junk uploads, too many waiting requests.
//! Each is bounded, and the honest requester and sensor keep working.

mod common;

use common::*;
use reqwest::StatusCode;
use sensorshare_protocol::{
	auth::{Challenge, ChallengeAnswer},
	routes::Urls,
};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MAX_CONNECTIONS: usize = 64;
const HEADER_TIMEOUT_SECS: u64 = 2;
const MAX_WAITING: usize = 4;

/// A value of the worker's Prometheus metrics.
async fn metric(urls: &Urls, name: &str) -> f64 {
	let text = reqwest::get(urls.metrics()).await.expect("metrics").text().await.expect("text");
	text.lines()
		.find_map(|l| l.strip_prefix(&format!("sensorshare_worker_{name} ")))
		.and_then(|v| v.trim().parse().ok())
		.unwrap_or_else(|| panic!("no {name} in the metrics"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_floods_and_junk_are_bounded_and_the_honest_requester_still_downloads() {
	let chain = Chain::start().await;
	let dir = tempfile::tempdir().expect("tempdir");
	let (mut config, url) = worker_config(&chain.node.url(), dir.path());
	config.limits.max_connections = MAX_CONNECTIONS;
	config.limits.header_timeout_secs = HEADER_TIMEOUT_SECS;
	config.limits.max_waiting = MAX_WAITING;
	let mut worker = spawn_worker(&config, dir.path(), "worker.log", &[]);
	wait_for_health(&url).await;
	let (client, urls) = (sensorshare_worker_client::WorkerClient::new(&url), Urls::new(&url));
	let sensor = enroll("sensor-1", 1);
	let bob = enroll("bob", 2);
	chain.register_sensor("//Alice", &sensor, "//Ferdie").await;
	chain.register_identity("//Bob", &bob).await;
	upload_epoch(&client, &sensor, 10, 5).await;
	let id = chain.request("//Bob", &[&sensor], 10, 10).await;
	chain.accept("//Alice", id, &[&sensor], &public_key(&bob)).await;
	let (_, digest) = chain.delivered(id, Duration::from_secs(60)).await;
	let http = reqwest::Client::new();
	let challenge = |http: reqwest::Client, url: String| async move {
		let r = http.post(url).send().await.expect("challenge");
		assert_eq!(r.status(), StatusCode::OK);
		r.json::<Challenge>().await.expect("a challenge")
	};

	// Bob's challenge, taken before everything below.
	let early = challenge(http.clone(), urls.challenge(id)).await;

	// Slow clients: five times the connections the worker takes, each sending half a
	// request line and nothing more. The worker closes them all after the header
	// timeout, and refuses those beyond its limit at once.
	let addr = config.listen;
	let mut slow = Vec::new();
	for _ in 0..5 * MAX_CONNECTIONS {
		let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
		s.write_all(b"GET /hea").await.expect("half a request line");
		slow.push(s);
	}
	let started = Instant::now();
	for mut s in slow {
		let mut buf = [0u8; 256];
		let closed = tokio::time::timeout(Duration::from_secs(30), async {
			loop {
				match s.read(&mut buf).await {
					Ok(0) | Err(_) => return,
					Ok(_) => {},
				}
			}
		})
		.await;
		assert!(closed.is_ok(), "a slow client was not closed");
	}
	assert!(started.elapsed() < Duration::from_secs(HEADER_TIMEOUT_SECS + 20));
	assert!(metric(&urls, "http_connections_refused_total").await >= (4 * MAX_CONNECTIONS) as f64);

	// A flood of challenge requests keeps nothing: Bob's early challenge still works,
	// and so does a whole download.
	// (32 at a time: more connections than the worker takes are closed, as above.)
	use futures::StreamExt;
	futures::stream::iter(0..5_000)
		.map(|_| challenge(http.clone(), urls.challenge(id)))
		.buffer_unordered(32)
		.collect::<Vec<_>>()
		.await;
	let answer = ChallengeAnswer::sign_with_rng(&bob, id, &early, &mut rng(7)).expect("sign");
	let r = http.post(urls.token(id)).json(&answer).send().await.expect("token");
	assert_eq!(r.status(), StatusCode::OK, "the challenge taken before the flood still works");
	let r = http.post(urls.token(id)).json(&answer).send().await.expect("token");
	assert_eq!(r.status(), StatusCode::FORBIDDEN, "and only once");
	let keys = sensor_keys(&[&sensor]);
	let keys = expected(&bob, &keys, 10);
	client
		.download(&delivery(&chain.client, id, 10, digest).await, &keys, &mut rng(8), |_| {})
		.await
		.expect("Bob downloads after the flood");

	// Junk uploads for a sensor nobody registered cost the chain a lookup now and
	// then, not one each.
	let lookups = metric(&urls, "sensor_lookups_total").await;
	let junk = enroll("junk", 9);
	let (capsule, _) = epoch_data(&junk, 10, 0, 1);
	for _ in 0..500 {
		let e = client.upload_capsule(&capsule).await.expect_err("unknown sensor");
		assert!(e.to_string().contains("not registered"), "{e}");
	}
	let more = metric(&urls, "sensor_lookups_total").await - lookups;
	assert!(more <= 10.0, "{more} lookups for 500 junk uploads");

	// Waiting requests are bounded: with every place taken, one more is a 503 at
	// once, and the rest of the API answers.
	let none = 999_999;
	let waiters: Vec<_> = (0..MAX_WAITING)
		.map(|_| {
			let (http, url) = (http.clone(), format!("{}?wait=5", urls.challenge(none)));
			tokio::spawn(async move { http.post(url).send().await.expect("waits").status() })
		})
		.collect();
	tokio::time::sleep(Duration::from_secs(1)).await;
	let r = http.post(format!("{}?wait=5", urls.challenge(none))).send().await.expect("answer");
	assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "no place left to wait");
	assert!(r.text().await.expect("reason").contains("waiting"));
	let r = http.post(urls.challenge(id)).send().await.expect("challenge");
	assert_eq!(r.status(), StatusCode::OK, "what does not wait is answered");
	for w in waiters {
		assert_eq!(w.await.expect("answered"), StatusCode::NOT_FOUND, "waited, and nothing came");
	}
	// Idle keep-alive connections are closed like slow ones: once the clients let go
	// of theirs, the only connection open is the metrics request's own.
	drop((http, client));
	tokio::time::sleep(Duration::from_secs(HEADER_TIMEOUT_SECS + 1)).await;
	assert_eq!(metric(&urls, "http_connections").await, 1.0, "only the metrics request's");
	let _ = worker.kill();
	let _ = worker.wait();
}
