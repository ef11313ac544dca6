//! The store on a real S3-compatible server (moto, started by the test): the same
//! idempotent uploads and deliveries as on the filesystem.

use bytes::Bytes;
use cbpre::dev;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use sensorshare_chain_client::Progress;
use sensorshare_cloud_worker::{
	config::StorageConfig,
	deliver::{write_delivery, Job, Requester},
	store::{manifest_path, segment_path, Store, StoreError, Stored},
};
use sensorshare_protocol::{batch::sign_batch_with_rng, delivery::Manifest, header::RecordHeader};
use std::{
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

/// `moto_server` on a free port, killed on drop.
struct Moto {
	child: Child,
	url: String,
}

impl Moto {
	async fn start() -> Self {
		let port = sensorshare_chain_client::dev_node::free_port();
		let local = concat!(env!("CARGO_MANIFEST_DIR"), "/../.tools/moto/bin/moto_server");
		let program = if std::path::Path::new(local).exists() { local } else { "moto_server" };
		let child = Command::new(program)
			.args(["-H", "127.0.0.1", "-p", &port.to_string()])
			.stdout(Stdio::null())
			.stderr(Stdio::null())
			.spawn()
			.expect("moto_server runs (scripts/setup.sh installs it: pip install 'moto[server]')");
		let url = format!("http://127.0.0.1:{port}");
		let started = Instant::now();
		let http = reqwest::Client::new();
		// Create the bucket once the server answers.
		loop {
			if let Ok(r) = http.put(format!("{url}/sensorshare")).send().await {
				assert!(r.status().is_success(), "creating the bucket: {}", r.status());
				break;
			}
			assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not start");
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
		Moto { child, url }
	}
}

impl Drop for Moto {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

#[tokio::test]
async fn uploads_and_deliveries_work_on_an_s3_compatible_store() {
	let moto = Moto::start().await;
	let store = Store::open(&StorageConfig::S3 {
		bucket: "sensorshare".into(),
		region: "us-east-1".into(),
		endpoint: Some(moto.url.clone()),
		access_key_id: Some("test".into()),
		secret_access_key: Some("test".into()),
		allow_http: true,
	})
	.expect("an S3 store");

	let mut rng = ChaCha20Rng::seed_from_u64(1);
	let sensor = dev::enroll_with_rng(b"sensor-1", &mut rng).expect("enrol");
	let bob = dev::enroll_with_rng(b"bob", &mut rng).expect("enrol");
	let id = sensor.id().as_bytes();
	let (m, capsule) = sensor.encapsulate(5).expect("encapsulate");
	let bytes = Bytes::from(capsule.to_bytes());
	assert_eq!(store.put_capsule(id, 5, bytes.clone()).await.expect("put"), Stored::Created);
	assert_eq!(store.put_capsule(id, 5, bytes).await.expect("again"), Stored::AlreadyStored);
	let other =
		cbpre::hazmat::encrypt(&sensor, &cbpre::DataKey::from_bytes([1; 32]), capsule.meta())
			.expect("another capsule");
	assert!(matches!(
		store.put_capsule(id, 5, Bytes::from(other.to_bytes())).await,
		Err(StoreError::CapsuleConflict)
	));

	let mut sealed = Vec::new();
	for seq in 0..3u64 {
		let header = RecordHeader::new(5 * 60_000 + seq).to_bytes();
		let r = m.seal_with_rng(capsule.meta(), &header, b"reading", &mut rng).expect("seal");
		let r = r.to_bytes();
		let batch = |rng: &mut ChaCha20Rng| {
			let b = sign_batch_with_rng(&sensor, 5, seq, [&r[..]].into_iter(), rng).expect("sign");
			Bytes::from(b)
		};
		let put = store.put_batch(id, 5, seq, batch(&mut rng));
		assert_eq!(put.await.expect("put"), Stored::Created);
		// Signed anew, as a sensor does after a lost reply: the same batch.
		let again = store.put_batch(id, 5, seq, batch(&mut rng));
		assert_eq!(again.await.expect("again"), Stored::AlreadyStored);
		sealed.push(r);
	}
	let other = sign_batch_with_rng(&sensor, 5, 0, [&sealed[1][..]].into_iter(), &mut rng);
	assert!(matches!(
		store.put_batch(id, 5, 0, Bytes::from(other.expect("sign"))).await,
		Err(StoreError::BatchConflict)
	));
	assert_eq!(store.batch_paths(id, 5).await.expect("list").len(), 3);
	assert_eq!(store.epoch_usage(id, 5).await.expect("usage").0, 3, "three records");

	let bob_key = cbpre::PublicKey::derive(bob.id(), bob.certificate(), &dev::ca().public_key())
		.expect("derive");
	let job = Job {
		agreement: 1,
		requester: Requester { account: [0; 32], id: *bob.id(), key: bob_key },
		progress: Progress { from_epoch: 5, to_epoch: 5, rekeyed: 1, delivered: 0 },
		previous_digest: None,
		sensors: vec![(*sensor.id(), *sensor.public_key())],
		rekeys: vec![vec![sensor.rekey(capsule.meta(), &bob_key).expect("rekey")]],
	};
	let written = write_delivery(&store, &job).await.expect("delivery");
	assert_eq!(written.segments, 1);
	let again = write_delivery(&store, &job).await.expect("resumed");
	assert!(again.resumed);
	assert_eq!(again.digest, written.digest);

	let manifest = store.get(&manifest_path(1, 5)).await.expect("manifest");
	let manifest = Manifest::from_bytes_checked(&manifest, &written.digest).expect("checks");
	let entry = &manifest.segments[0];
	let segment = store.get(&segment_path(1, &entry.name)).await.expect("segment");
	let segment = entry.open(&segment).expect("opens");
	let m_bob = bob.decrypt2(sensor.public_key(), &segment.capsule).expect("decrypt2");
	let batches = segment.verify(sensor.public_key(), capsule.meta()).expect("the sensor's");
	let records: Vec<_> = batches.iter().flat_map(|b| b.records()).collect();
	assert_eq!(records.len(), sealed.len());
	for ((_, r), original) in records.into_iter().zip(&sealed) {
		assert_eq!(&r.to_bytes(), original);
		assert_eq!(m_bob.open(capsule.meta(), r).expect("open"), b"reading");
	}
}
