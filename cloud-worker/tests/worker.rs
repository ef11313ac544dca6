//! The cloud worker against a real `sensorshare-node --dev`: uploads are checked
//! against the chain, accepted agreements are re-encrypted and delivered, and only
//! the requester can download.

mod common;

use cbpre::{DataKey, Meta};
use common::*;
use reqwest::StatusCode;
use sensorshare_chain_client::{api, AgreementStatus, EmptyEpoch};
use sensorshare_protocol::{
	batch::{sign_batch_with_rng, MAX_BATCH_BYTES},
	routes::{self, Location, Urls},
};
use sensorshare_worker_client::{ClientError, Uploaded, Wanted};
use std::time::Duration;

const DELIVERY: Duration = Duration::from_secs(60);

fn refused(e: ClientError) -> (StatusCode, String) {
	match e {
		ClientError::Refused { status, reason } => (status, reason),
		other => panic!("expected a refusal, got {other}"),
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_agreement_is_delivered_and_decrypts_for_the_requester_only() {
	let chain = Chain::start().await;
	let worker = Worker::start(&chain.node.url(), chain.node.dir()).await;
	let (s1, s2) = (enroll("sensor-1", 1), enroll("sensor-2", 2));
	let bob = enroll("bob", 3);
	let eve = enroll("eve", 4);
	chain.register_sensor("//Alice", &s1, "//Ferdie").await;
	chain.register_sensor("//Alice", &s2, "//Ferdie").await;
	chain.register_identity("//Bob", &bob).await;
	chain.register_identity("//Eve", &eve).await;
	for epoch in 10..=13 {
		upload_epoch(&worker.client, &s1, epoch, 5).await;
		upload_epoch(&worker.client, &s2, epoch, 3).await;
	}

	// Bob asks for epochs 11 and 12 of both sensors; Alice accepts.
	let id = chain.request("//Bob", &[&s1, &s2], 11, 12).await;
	chain.accept("//Alice", id, &[&s1, &s2], &public_key(&bob)).await;
	let (location, digest) = chain.delivered(id, DELIVERY).await;
	assert_eq!(location, Urls::new(worker.client_base()).manifest(id, 12));
	// The worker's figures, typed: the delivery's bytes and re-encryption are counted
	// before it goes on chain (its count, once its finality is seen).
	let stats = worker.client.stats().await.expect("stats");
	assert!(stats.reencrypt_seconds > 0.0 && stats.delivered_bytes > 0, "{stats:?}");
	assert!(stats.deliveries <= 1, "{stats:?}");

	let keys = sensor_keys(&[&s1, &s2]);
	let keys = expected(&bob, &keys, 11);
	let mut got = worker
		.client
		.download(&delivery(&chain.client, id, 12, digest).await, &keys, &mut rng(9), |_| {})
		.await
		.expect("fetch")
		.epochs;
	got.sort_by_key(|e| (e.sensor.as_bytes().to_vec(), e.epoch));
	let summary: Vec<(Vec<u8>, u64, Vec<String>)> = got
		.iter()
		.map(|e| {
			let readings =
				e.readings.iter().map(|(_, r)| String::from_utf8_lossy(r).into_owned()).collect();
			(e.sensor.as_bytes().to_vec(), e.epoch, readings)
		})
		.collect();
	let expect = |sensor: &str, epoch: u64, n: u64| {
		(sensor.as_bytes().to_vec(), epoch, (0..n).map(|i| format!("{epoch}:{i}")).collect())
	};
	assert_eq!(
		summary,
		vec![
			expect("sensor-1", 11, 5),
			expect("sensor-1", 12, 5),
			expect("sensor-2", 11, 3),
			expect("sensor-2", 12, 3)
		],
		"exactly the readings of the range, nothing from epochs 10 or 13"
	);

	// Eve is registered, but not the requester: her answer is refused.
	let e = worker.client.token(id, &eve, &mut rng(10)).await.expect_err("Eve is refused");
	assert_eq!(refused(e).0, StatusCode::FORBIDDEN);
	// Without a token, or with a token for another agreement, nothing is read.
	let e = worker.client.manifest_with_token(id, 12, "").await.expect_err("no token");
	assert_eq!(refused(e).0, StatusCode::UNAUTHORIZED);
	let id2 = chain.request("//Bob", &[&s1], 10, 10).await;
	chain.accept("//Alice", id2, &[&s1], &public_key(&bob)).await;
	chain.delivered(id2, DELIVERY).await;
	let token2 = worker.client.token(id2, &bob, &mut rng(11)).await.expect("token");
	let e = worker.client.manifest_with_token(id, 12, &token2).await.expect_err("wrong agreement");
	assert_eq!(refused(e).0, StatusCode::FORBIDDEN);
	// Bob's token for agreement 2 reads agreement 2.
	worker.client.manifest_with_token(id2, 10, &token2).await.expect("his own delivery");

	worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requester_that_waits_gets_its_delivery_as_soon_as_it_is_written() {
	let (chain, worker, sensor, bob) = alice_sensor_and_bob().await;
	for epoch in 10..=11 {
		upload_epoch(&worker.client, &sensor, epoch, 4).await;
	}

	// Bob starts waiting before Alice has even accepted.
	let id = chain.request("//Bob", &[&sensor], 10, 11).await;
	let keys = sensor_keys(&[&sensor]);
	let (client, bob_key, keys_ahead) = (worker.client.clone(), bob.clone(), keys.clone());
	let ahead = tokio::spawn(async move {
		let wait = Duration::from_secs(90);
		let wanted = Wanted::Ahead { agreement: id, through_epoch: 11, wait };
		let keys = expected(&bob_key, &keys_ahead, 10);
		client.download(&wanted, &keys, &mut rng(5), |_| {}).await
	});
	chain.accept("//Alice", id, &[&sensor], &public_key(&bob)).await;
	let fetched = ahead.await.expect("the task").expect("the delivery, once written");
	let readings: Vec<(u64, usize)> =
		fetched.epochs.iter().map(|e| (e.epoch, e.readings.len())).collect();
	assert_eq!(readings, vec![(10, 4), (11, 4)]);

	// What Bob got ahead is what the worker then vouches for on chain.
	let (_, digest) = chain.delivered(id, DELIVERY).await;
	assert_eq!(fetched.digest, digest, "the manifest downloaded ahead is the one on chain");
	let keys = expected(&bob, &keys, 10);
	let checked = worker
		.client
		.download(&delivery(&chain.client, id, 11, digest).await, &keys, &mut rng(6), |_| {})
		.await
		.expect("the delivery checks against the chain");
	assert_eq!(checked.epochs, fetched.epochs);

	// A wait longer than the worker allows is refused with the reason.
	let http = reqwest::Client::new();
	let urls = Urls::new(worker.client_base());
	let challenge = urls.challenge(id);
	let r = http.post(&challenge).query(&[("wait", 61)]).send().await.expect("the worker answers");
	assert_eq!(r.status(), StatusCode::BAD_REQUEST);
	assert!(r.text().await.unwrap_or_default().contains("60 seconds"));
	// A delivery that never comes: 404 once the wait is over.
	let none = urls.challenge(999);
	let r = http.post(&none).query(&[("wait", 1)]).send().await.expect("the worker answers");
	assert_eq!(r.status(), StatusCode::NOT_FOUND);

	// A request still waiting when the worker stops is answered, and the worker stops.
	let waiting = tokio::spawn(async move {
		http.post(&none).query(&[("wait", 60)]).send().await.map(|r| r.status())
	});
	// Time for the request to reach the worker before it stops.
	tokio::time::sleep(Duration::from_millis(500)).await;
	worker.stop().await;
	let status = tokio::time::timeout(Duration::from_secs(30), waiting)
		.await
		.expect("answered before its wait is over")
		.expect("the task");
	assert_eq!(status.expect("an answer"), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_malformed_uploads_are_refused_and_nothing_is_stored() {
	let chain = Chain::start().await;
	let worker = Worker::start(&chain.node.url(), chain.node.dir()).await;
	let sensor = enroll("sensor-1", 1);
	let impostor = enroll("sensor-1", 2); // same identity, another key and certificate
	let elsewhere = enroll("sensor-elsewhere", 3);
	let unregistered = enroll("sensor-unregistered", 4);
	chain.register_provider("//Dave").await;
	chain.register_sensor("//Alice", &sensor, "//Ferdie").await;
	chain.register_sensor("//Alice", &elsewhere, "//Dave").await;
	let before = files(&worker.store);

	let w = &worker.client;
	let mut r = rng(5);
	// A capsule made with another key for the same identity does not verify.
	let (forged, forged_records) = epoch_data(&impostor, 1, 1, 1);
	let (status, reason) = refused(w.upload_capsule(&forged).await.expect_err("forged capsule"));
	assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reason}");
	// A batch signed by another key is refused.
	let e =
		w.upload_batch(&impostor, 1, 0, &forged_records, &mut r).await.expect_err("forged batch");
	assert_eq!(refused(e).0, StatusCode::UNPROCESSABLE_ENTITY);
	// A batch whose records' times lie outside the epoch it is filed under.
	let (_, records) = epoch_data(&sensor, 1, 1, 1);
	let e = w.upload_batch(&sensor, 2, 0, &records, &mut r).await.expect_err("wrong epoch");
	assert!(refused(e).0.is_client_error());
	// Sensors of another provider, and sensors not on chain.
	let (capsule, _) = epoch_data(&elsewhere, 1, 0, 1);
	let (status, reason) = refused(w.upload_capsule(&capsule).await.expect_err("elsewhere"));
	assert_eq!(status, StatusCode::FORBIDDEN);
	assert!(reason.contains("another storage provider"), "{reason}");
	let (capsule, _) = epoch_data(&unregistered, 1, 0, 1);
	let e = w.upload_capsule(&capsule).await.expect_err("unregistered");
	assert_eq!(refused(e).0, StatusCode::NOT_FOUND);

	// Garbage bodies and paths, and a body over the limit.
	let http = reqwest::Client::new();
	let urls = Urls::new(worker.client_base());
	// A sensor that is not hex, which no identity's URL has.
	let not_hex = routes::CAPSULE.replace("{sensor}", "zz").replace("{epoch}", "1");
	for (url, body, want) in [
		(urls.capsule(b"sensor-1", 1), vec![1u8; 10], StatusCode::UNPROCESSABLE_ENTITY),
		(format!("{}{not_hex}", urls.base()), vec![], StatusCode::BAD_REQUEST),
		(urls.capsule(b"sensor-1", 1), vec![0u8; 4096], StatusCode::PAYLOAD_TOO_LARGE),
	] {
		let got = http.put(&url).body(body).send().await.expect("reachable").status();
		assert_eq!(got, want, "PUT {url}");
	}
	let got = http
		.put(urls.batch(b"sensor-1", 1, 0))
		.body(vec![7u8; 100])
		.send()
		.await
		.expect("reachable")
		.status();
	assert_eq!(got, StatusCode::UNPROCESSABLE_ENTITY);
	let got = http
		.put(urls.batch(b"sensor-1", 1, 0))
		.body(vec![7u8; MAX_BATCH_BYTES + 1])
		.send()
		.await
		.expect("reachable")
		.status();
	assert_eq!(got, StatusCode::PAYLOAD_TOO_LARGE);
	// A genuine batch under another sequence number than its own.
	let (_, records) = epoch_data(&sensor, 1, 1, 1);
	let batch =
		sign_batch_with_rng(&sensor, 1, 0, [&records[0].to_bytes()[..]].into_iter(), &mut r)
			.expect("signed");
	let got = http.put(urls.batch(b"sensor-1", 1, 5)).body(batch).send().await.expect("reachable");
	assert_eq!(got.status(), StatusCode::BAD_REQUEST);
	// A capsule uploaded under another epoch than its own.
	let (capsule, _) = epoch_data(&sensor, 1, 0, 1);
	let got = http
		.put(urls.capsule(b"sensor-1", 2))
		.body(capsule.to_bytes())
		.send()
		.await
		.expect("reachable")
		.status();
	assert_eq!(got, StatusCode::BAD_REQUEST);

	assert_eq!(files(&worker.store), before, "a refused upload stores nothing");

	// The genuine upload is stored once; repeating it changes nothing; a second
	// capsule for the same epoch is a conflict.
	assert_eq!(w.upload_capsule(&capsule).await.expect("stored"), Uploaded::Stored);
	assert_eq!(w.upload_capsule(&capsule).await.expect("again"), Uploaded::Duplicate);
	// A batch is stored once; the same records again under its number (signed anew,
	// as after a lost reply) change nothing; other records under it are a conflict.
	let (_, records) = epoch_data(&sensor, 1, 2, 1);
	assert_eq!(
		w.upload_batch(&sensor, 1, 0, &records[..1], &mut r).await.expect("stored"),
		Uploaded::Stored
	);
	assert_eq!(
		w.upload_batch(&sensor, 1, 0, &records[..1], &mut r).await.expect("again"),
		Uploaded::Duplicate
	);
	let e = w.upload_batch(&sensor, 1, 0, &records, &mut r).await.expect_err("conflict");
	let (status, reason) = refused(e);
	assert_eq!(status, StatusCode::CONFLICT, "{reason}");
	// Only hazmat makes a second capsule of a meta (and so gives the cloud the key).
	let other =
		cbpre::hazmat::encrypt(&sensor, &DataKey::from_bytes([9; 32]), &Meta::new(*sensor.id(), 1))
			.expect("another capsule for the same meta");
	assert_eq!(
		refused(w.upload_capsule(&other).await.expect_err("conflict")).0,
		StatusCode::CONFLICT
	);
	assert_eq!(files(&worker.store).len(), before.len() + 2);

	// The metrics count what happened.
	let metrics = reqwest::get(urls.metrics()).await.expect("metrics").text().await.expect("text");
	assert!(
		metrics.contains(r#"sensorshare_worker_uploads_total{kind="capsule",outcome="stored"} 1"#),
		"{metrics}"
	);
	assert!(
		metrics.contains(r#"sensorshare_worker_uploads_total{kind="batch",outcome="duplicate"} 1"#),
		"{metrics}"
	);

	worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_is_delivered_in_steps_as_its_epochs_are_re_keyed() {
	let (chain, worker, sensor, bob) = alice_sensor_and_bob().await;
	for epoch in 10..=12 {
		upload_epoch(&worker.client, &sensor, epoch, epoch - 8).await;
	}
	let keys = sensor_keys(&[&sensor]);
	let keys = expected(&bob, &keys, 10);
	let readings = |got: sensorshare_worker_client::Fetched| -> Vec<(u64, usize)> {
		got.epochs.iter().map(|e| (e.epoch, e.readings.len())).collect()
	};

	// Alice accepts with the re-keys of epoch 10 only: the worker delivers it alone.
	let id = chain.request("//Bob", &[&sensor], 10, 12).await;
	let requester = public_key(&bob);
	chain.post_rekeys(Posting::Accept, "//Alice", id, &[&sensor], &requester, 10..=10).await;
	let (location, first) = chain.delivered_through(id, 10, DELIVERY).await;
	assert_eq!(location, Urls::new(worker.client_base()).manifest(id, 10));
	let a = chain.client.agreement(id).await.expect("read").expect("open");
	assert_eq!((a.status, a.rekeyed, a.delivered), (AgreementStatus::Accepted, 1, 1));
	let fetch = |through, digest, seed| {
		let (client, chain) = (worker.client.clone(), chain.client.clone());
		async move {
			let wanted = delivery(&chain, id, through, digest).await;
			client.download(&wanted, &keys, &mut rng(seed), |_| {}).await
		}
	};
	assert_eq!(readings(fetch(10, first, 1).await.expect("the first step")), vec![(10, 2)]);

	// The re-keys of 11 and 12 follow: one more delivery covers all three epochs.
	chain.post_rekeys(Posting::Add, "//Alice", id, &[&sensor], &requester, 11..=12).await;
	let (location, all) = chain.delivered(id, DELIVERY).await;
	let at = Location::parse(&location).expect("a delivery location");
	assert_eq!((at.agreement, at.through_epoch), (id, 12), "{location}");
	let a = chain.client.agreement(id).await.expect("read").expect("open");
	assert_eq!((a.status, a.delivered), (AgreementStatus::Delivered, 3));
	let got = fetch(12, all, 2).await.expect("every step");
	assert_eq!(readings(got), vec![(10, 2), (11, 3), (12, 4)]);

	// The first step's manifest still checks out: its segments were never rewritten.
	let got = fetch(10, first, 3).await.expect("the first step, again");
	assert_eq!(readings(got), vec![(10, 2)]);
	worker.stop().await;
}

/// The total balance (free and held) of `who`.
async fn total(chain: &Chain, who: &str) -> u128 {
	let who = account(who);
	chain.client.free_balance(&who).await.expect("free")
		+ chain.client.reserved_balance(&who).await.expect("held")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epochs_without_data_are_named_empty_and_refunded_at_settlement_to_the_unit() {
	let chain = Chain::start().await;
	let worker = Worker::start(&chain.node.url(), chain.node.dir()).await;
	let (s1, s2, bob) = (enroll("sensor-1", 1), enroll("sensor-2", 2), enroll("bob", 3));
	chain.register_sensor("//Alice", &s1, "//Ferdie").await;
	chain.register_sensor("//Alice", &s2, "//Ferdie").await;
	chain.register_identity("//Bob", &bob).await;
	// Sensor 1 sent epochs 10 and 11; sensor 2 only 11.
	upload_epoch(&worker.client, &s1, 10, 2).await;
	upload_epoch(&worker.client, &s1, 11, 2).await;
	upload_epoch(&worker.client, &s2, 11, 2).await;

	let id = chain.request("//Bob", &[&s1, &s2], 10, 11).await;
	chain.accept("//Alice", id, &[&s1, &s2], &public_key(&bob)).await;
	let (_, digest) = chain.delivered(id, DELIVERY).await;
	let empty = chain.client.empty_epochs(id).await.expect("empty epochs");
	assert_eq!(empty, vec![EmptyEpoch { sensor: 1, epoch: 10 }], "sensor 2's epoch 10");
	let a = chain.client.agreement(id).await.expect("read").expect("open");
	assert_eq!((a.empty_epochs, a.empty_price), (1, PRICE));

	// Bob's client agrees: three segments and the one empty epoch the chain names.
	let keys = sensor_keys(&[&s1, &s2]);
	let wanted = delivery(&chain.client, id, 11, digest).await;
	let fetched = worker
		.client
		.download(&wanted, &expected(&bob, &keys, 10), &mut rng(5), |_| {})
		.await
		.expect("fetch");
	assert_eq!((fetched.epochs.len(), fetched.empty), (3, empty));

	let before = [
		total(&chain, "//Alice").await,
		total(&chain, "//Ferdie").await,
		total(&chain, "//Bob").await,
	];
	let included = chain.client.confirm(&key("//Bob"), id).await.expect("confirmed");
	let settled = included
		.find::<api::data_market::events::AgreementSettled>()
		.expect("events")
		.expect("settled");
	let fee = a.fee_per_epoch;
	assert_eq!(
		(settled.owner_paid, settled.provider_paid, settled.refunded, settled.empty_epochs),
		(3 * PRICE, 3 * fee, PRICE + fee, 1),
		"three of four sensor-epochs paid, the fourth refunded"
	);
	let tx_fee: u128 = chain
		.client
		.fees_paid(included.block_hash)
		.await
		.expect("fees")
		.into_iter()
		.filter(|(who, _)| *who == account("//Bob"))
		.map(|(_, f)| f)
		.sum();
	let after = [
		total(&chain, "//Alice").await,
		total(&chain, "//Ferdie").await,
		total(&chain, "//Bob").await,
	];
	assert_eq!(after[0], before[0] + 3 * PRICE, "the owner got the price of three");
	assert_eq!(after[1], before[1] + 3 * fee, "the provider got the fee of three");
	assert_eq!(after[2], before[2] - 3 * (PRICE + fee) - tx_fee, "Bob paid for three, to the unit");
}
