//! A dishonest storage provider against `sensorshare fetch`: the real worker
//! delivers one agreement honestly; then, with the worker stopped, the provider
//! writes deliveries of its own making for six more agreements of the same buyer
//! into the store, puts their digests on chain, and starts the worker again to serve
//! them. Each is refused with exit 6 (a failed verification), and nothing is written:
//! - a segment listed twice (and the second epoch left out),
//! - a segment of the buyer's earlier agreement (its re-key still opens it),
//! - an epoch left out,
//! - a record dated outside its epoch (in a batch the sensor signed),
//! - a record the sensor never sent, sealed under the epoch's data key (which a
//!   provider that is also a buyer of the epoch knows) and slipped into one of the
//!   sensor's signed batches,
//! - an epoch with data withheld and listed as empty in the manifest, while the
//!   chain is told it has data (so the provider would be paid for it).

use bytes::Bytes;
use cbpre::{Meta, SecretKey};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use sensorshare_chain_client::{
	dev_node::{free_port, DevNode, WorkerProcess},
	signer_from_uri, AgreementStatus, ChainClient, Listing, UNIT,
};
use sensorshare_cloud_worker::{
	config::StorageConfig,
	store::{access_path, manifest_path, segment_path, Store},
};
use sensorshare_protocol::{
	batch::{sign_batch_with_rng, UnverifiedBatch},
	delivery::{encode_segment, EmptyEntry, Manifest, Segment, SegmentEntry},
	header::RecordHeader,
	keyfile::{save_secret_key, Existing},
	reading::{Quantity, Reading},
	routes::Location,
	sha256,
};
use sensorshare_worker_client::WorkerClient;
use std::{
	path::Path,
	process::Command,
	time::{Duration, Instant},
};

const EPOCH_SECS: u64 = 60;

fn rng(seed: u64) -> ChaCha20Rng {
	ChaCha20Rng::seed_from_u64(seed)
}

/// A reading as a sensor seals it.
fn reading() -> Vec<u8> {
	Reading::new([(Quantity::Pressure, 1013.25)]).to_bytes()
}

/// Waits until agreement `id` has status `status`.
async fn wait_for_status(chain: &ChainClient, id: u64, status: AgreementStatus) {
	let started = Instant::now();
	loop {
		let a = chain.agreement(id).await.expect("read").expect("open");
		if a.status == status {
			return;
		}
		assert!(started.elapsed() < Duration::from_secs(60), "agreement {id}: {a:?}");
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
}

/// Waits until the worker at `url` answers.
async fn wait_for_worker(url: &str) {
	let client = WorkerClient::new(url);
	let started = Instant::now();
	while client.stats().await.is_err() {
		assert!(started.elapsed() < Duration::from_secs(60), "the worker at {url} is not up");
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
}

/// `sensorshare fetch id` with Bob's key into `out`: its exit code and stderr.
fn fetch(url: &str, id: u64, key: &Path, out: &Path) -> (i32, String) {
	let o = Command::new(env!("CARGO_BIN_EXE_sensorshare"))
		.args(["--chain-url", url, "fetch", &id.to_string(), "--key"])
		.arg(key)
		.arg("--out")
		.arg(out)
		.output()
		.expect("sensorshare runs");
	(o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// Bob requests `from..=to` of `sensor`, Alice accepts with the re-keys.
async fn agreement(chain: &ChainClient, sensor: &SecretKey, (from, to): (u64, u64)) -> u64 {
	let (alice, bob_account) =
		(signer_from_uri("//Alice").expect("dev"), signer_from_uri("//Bob").expect("dev"));
	let (id, _) = chain
		.request_data(&bob_account, &[*sensor.id()], (from, to), u128::MAX)
		.await
		.expect("requested");
	let bob_pk = chain.identity(&bob_account.public_key().to_account_id()).await.expect("read");
	let bob_pk = bob_pk.expect("Bob is registered").public_key;
	let rekeys = vec![(from..=to)
		.map(|e| sensor.rekey(&Meta::new(*sensor.id(), e), &bob_pk).expect("rekey").to_bytes())
		.collect()];
	chain.accept_request(&alice, id, rekeys).await.expect("accepted");
	id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_that_leave_out_repeat_borrow_misdate_insert_or_withhold_are_refused_with_exit_6(
) {
	let mut node = DevNode::start(&[]).expect("the node starts");
	let chain = node.client().await;
	let url = node.url();
	let dir = tempfile::tempdir().expect("tempdir");
	let d = dir.path();
	let port = free_port();
	let worker = WorkerProcess::start(&url, port, d).expect("the worker starts");
	wait_for_worker(&worker.url).await;
	let client = WorkerClient::new(&worker.url);

	// Alice's sensor with one-minute epochs; Bob a registered buyer with a key file.
	let sensor = cbpre::dev::enroll_with_rng(b"tag-1", &mut rng(1)).expect("enrol");
	let (alice, ferdie) =
		(signer_from_uri("//Alice").expect("dev"), signer_from_uri("//Ferdie").expect("dev"));
	let listing = Listing {
		price_per_epoch: UNIT,
		epoch_secs: EPOCH_SECS,
		first_epoch: 0,
		provider: ferdie.public_key().to_account_id(),
		description: "tag".into(),
	};
	chain.register_sensor_with_rng(&alice, &sensor, listing, &mut rng(2)).await.expect("sensor");
	let bob = cbpre::dev::enroll_with_rng(b"bob", &mut rng(3)).expect("enrol");
	let bob_account = signer_from_uri("//Bob").expect("dev");
	chain.register_identity_with_rng(&bob_account, &bob, &mut rng(4)).await.expect("bob");
	let bob_key = d.join("bob.key");
	save_secret_key(&bob_key, &bob, &cbpre::dev::ca().public_key(), Existing::Refuse).expect("key");

	// Three ended epochs of three readings each, in batches of one.
	let now = sensorshare_service::clock::now_secs() / EPOCH_SECS;
	let e0 = now - 5;
	for epoch in e0..e0 + 3 {
		let (m, capsule) = sensor.encapsulate(epoch).expect("encapsulate");
		client.upload_capsule(&capsule).await.expect("capsule");
		for i in 0..3 {
			let header = RecordHeader::new(epoch * EPOCH_SECS * 1000 + i * 1000).to_bytes();
			let r =
				m.seal_with_rng(capsule.meta(), &header, &reading(), &mut rng(i)).expect("seal");
			client.upload_batch(&sensor, epoch, i, &[r], &mut rng(i)).await.expect("batch");
		}
	}

	// The honest delivery, fetched.
	let honest = agreement(&chain, &sensor, (e0, e0 + 1)).await;
	wait_for_status(&chain, honest, AgreementStatus::Delivered).await;
	let (code, err) = fetch(&url, honest, &bob_key, &d.join("honest.json"));
	assert_eq!(code, 0, "the honest delivery: {err}");

	// The provider stops its worker and makes its own deliveries.
	drop(worker);
	let store = Store::open(&StorageConfig::Fs { path: d.join("store") })
		.expect("the store")
		.for_chain(&chain.genesis_hash());
	let honest_through = e0 + 1;
	let bytes = store.get(&manifest_path(honest, honest_through)).await.expect("manifest");
	let manifest = Manifest::from_bytes_unchecked(&bytes).expect("parses");
	let segment = |i: usize| manifest.segments[i].clone();
	let access = store.get(&access_path(honest)).await.expect("access list");

	// Epoch e0's segment, with Bob's data key for the epoch: what a provider that
	// is also a buyer of the epoch holds.
	let first = store.get(&segment_path(honest, &segment(0).name)).await.expect("segment");
	let opened = Segment::from_bytes(&first).expect("decodes");
	let m = bob.decrypt2(sensor.public_key(), &opened.capsule).expect("Bob's data key");
	let meta = Meta::new(*sensor.id(), e0);
	let genuine = opened.clone().verify(sensor.public_key(), &meta).expect("the sensor's batches");
	let genuine: Vec<Vec<u8>> = genuine.iter().map(|b| b.as_bytes().to_vec()).collect();
	// e0's segment with its batches replaced by `batches`, under a name of its own.
	let forge = |tag: &str, batches: Vec<Vec<u8>>| {
		let bytes = encode_segment(&opened.capsule, batches.iter().map(Vec::as_slice));
		let records = Segment::from_bytes(&bytes)
			.expect("well-formed")
			.batches
			.iter()
			.map(|b| b.headers().len() as u32)
			.sum();
		let entry = SegmentEntry {
			name: format!("{}-{tag}", segment(0).name),
			size: bytes.len() as u64,
			sha256: hex::encode(sha256(&bytes)),
			records,
			..segment(0)
		};
		(entry, bytes)
	};
	// A record the sensor never sent, sealed under the epoch's key (so it opens), put
	// into the sensor's first batch under that batch's own signature.
	let inserted = {
		let header = RecordHeader::new(e0 * EPOCH_SECS * 1000 + 500).to_bytes();
		let extra = m.seal_with_rng(&meta, &header, &reading(), &mut rng(8)).expect("seal");
		let batch = UnverifiedBatch::from_bytes(&genuine[0]).expect("decodes");
		let mut records: Vec<Vec<u8>> = batch
			.clone()
			.verify(sensor.public_key(), &meta)
			.expect("genuine")
			.records()
			.iter()
			.map(|(_, r)| r.to_bytes())
			.collect();
		records.push(extra.to_bytes());
		let mut bytes = genuine[0][..cbpre::SIGNATURE_LEN].to_vec();
		bytes.extend_from_slice(&batch.sequence().to_be_bytes());
		bytes.extend_from_slice(&(records.len() as u32).to_be_bytes());
		for r in &records {
			bytes.extend_from_slice(&(r.len() as u32).to_be_bytes());
			bytes.extend_from_slice(r);
		}
		let mut batches = genuine.clone();
		batches[0] = bytes;
		forge("inserted", batches)
	};
	// A record dated in epoch e0 + 1 in a batch of e0 (signed by the sensor: a
	// sensor whose clock jumped).
	let misdated = {
		let late = RecordHeader::new((e0 + 1) * EPOCH_SECS * 1000 + 5).to_bytes();
		let record = m.seal_with_rng(&meta, &late, &reading(), &mut rng(9)).expect("seal");
		let batch =
			sign_batch_with_rng(&sensor, e0, 9, [&record.to_bytes()[..]].into_iter(), &mut rng(9))
				.expect("signed");
		let mut batches = genuine.clone();
		batches.push(batch);
		forge("misdated", batches)
	};
	let made: std::collections::HashMap<String, Vec<u8>> =
		[&inserted, &misdated].into_iter().map(|(e, b)| (e.name.clone(), b.clone())).collect();

	// An epoch with data, withheld and listed as empty, while the chain is told it
	// has data: the provider would be paid for it.
	let withheld = vec![EmptyEntry { sensor: segment(1).sensor, epoch: segment(1).epoch }];
	// Why the client refuses it, the epochs requested, and the manifest's segments
	// and empty entries.
	type Case<'a> = (&'a str, (u64, u64), Vec<SegmentEntry>, Vec<EmptyEntry>);
	let cases: Vec<Case> = vec![
		("listed twice", (e0, e0 + 1), vec![segment(0), segment(0)], vec![]),
		("not in the agreement", (e0 + 1, e0 + 2), vec![segment(0), segment(1)], vec![]),
		("missing", (e0, e0 + 1), vec![segment(0)], vec![]),
		("outside its epoch", (e0, e0 + 1), vec![misdated.0.clone(), segment(1)], vec![]),
		("signature does not verify", (e0, e0 + 1), vec![inserted.0.clone(), segment(1)], vec![]),
		("as empty, but the chain was told it has data", (e0, e0 + 1), vec![segment(0)], withheld),
	];
	let mut dishonest = Vec::new();
	for (why, (from, to), segments, empty) in cases {
		let id = agreement(&chain, &sensor, (from, to)).await;
		store.put(&access_path(id), access.clone()).await.expect("access list");
		for entry in &segments {
			let bytes = match made.get(&entry.name) {
				Some(bytes) => Bytes::from(bytes.clone()),
				None => store.get(&segment_path(honest, &entry.name)).await.expect("segment"),
			};
			store.put(&segment_path(id, &entry.name), bytes).await.expect("segment");
		}
		let forged = Manifest {
			agreement: id,
			from_epoch: from,
			to_epoch: to,
			segments,
			empty,
			..manifest.clone()
		};
		let bytes = forged.to_bytes();
		store.put(&manifest_path(id, to), Bytes::from(bytes.clone())).await.expect("manifest");
		let location = Location::new(&format!("http://127.0.0.1:{port}"), id, to).to_url();
		chain.deliver(&ferdie, id, to, &location, sha256(&bytes), &[]).await.expect("delivered");
		dishonest.push((why, id));
	}

	// The worker serves them; Bob's client refuses each.
	let worker = WorkerProcess::start(&url, port, d).expect("the worker starts again");
	wait_for_worker(&worker.url).await;
	for (why, id) in dishonest {
		let out = d.join(format!("{id}.json"));
		let (code, err) = fetch(&url, id, &bob_key, &out);
		assert_eq!(code, 6, "agreement {id} ({why}) exits 6: {err}");
		assert!(err.contains(why), "agreement {id}: {err}");
		assert!(!out.exists(), "nothing written for agreement {id}");
	}
}
