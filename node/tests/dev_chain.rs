//! The real `sensorshare-node --dev`: a `register_sensor` submitted through RPC is
//! sealed at once and finalized, and its sensor is in the finalized state.

use codec::{Decode, Encode};
use jsonrpsee::{
	core::client::{ClientT, Subscription, SubscriptionClientT},
	rpc_params,
	ws_client::{WsClient, WsClientBuilder},
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use sensorshare_runtime::{
	pallet_data_market, Runtime, RuntimeCall, RuntimeEvent, SignedPayload, TxExtension,
	UncheckedExtrinsic, VERSION,
};
use sp_core::{crypto::Ss58Codec, Pair, H256};
use sp_keyring::Sr25519Keyring;
use sp_runtime::{generic::Era, MultiAddress, MultiSignature};
use std::{
	net::TcpListener,
	path::PathBuf,
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

/// How long the node may take to open its RPC port.
const STARTUP: Duration = Duration::from_secs(120);
/// How long a transaction may take from submission to finality.
const FINALITY: Duration = Duration::from_secs(60);

/// A `sensorshare-node --dev` on free loopback ports, killed on drop.
struct DevNode {
	child: Child,
	rpc_port: u16,
	log: PathBuf,
	_base: tempfile::TempDir,
}

impl DevNode {
	fn start() -> Self {
		let base = tempfile::tempdir().expect("a temporary directory");
		let log = base.path().join("node.log");
		let rpc_port = free_port();
		let p2p_port = free_port();
		let child = Command::new(env!("CARGO_BIN_EXE_sensorshare-node"))
			.args(["--dev", "--no-mdns", "--no-prometheus", "--no-telemetry"])
			.arg("--base-path")
			.arg(base.path())
			.args(["--rpc-port", &rpc_port.to_string(), "--port", &p2p_port.to_string()])
			.stdout(Stdio::null())
			.stderr(std::fs::File::create(&log).expect("a log file"))
			.spawn()
			.expect("the node binary starts");
		DevNode { child, rpc_port, log, _base: base }
	}

	/// Connects to the node's RPC, waiting for it to come up.
	async fn client(&mut self) -> WsClient {
		let url = format!("ws://127.0.0.1:{}", self.rpc_port);
		let started = Instant::now();
		loop {
			if let Ok(client) = WsClientBuilder::default().build(&url).await {
				return client;
			}
			if let Ok(Some(status)) = self.child.try_wait() {
				panic!("the node exited with {status}:\n{}", self.log_text());
			}
			assert!(started.elapsed() < STARTUP, "no RPC after {STARTUP:?}:\n{}", self.log_text());
			tokio::time::sleep(Duration::from_millis(250)).await;
		}
	}

	fn log_text(&self) -> String {
		std::fs::read_to_string(&self.log).unwrap_or_default()
	}
}

impl Drop for DevNode {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0")
		.and_then(|l| l.local_addr())
		.map(|a| a.port())
		.expect("a free loopback port")
}

/// Signs `call` as `signer` for the chain with `genesis`, the way a wallet does.
fn signed(call: RuntimeCall, signer: Sr25519Keyring, nonce: u32, genesis: H256) -> String {
	let tx_ext: TxExtension = (
		frame_system::CheckNonZeroSender::new(),
		frame_system::CheckSpecVersion::new(),
		frame_system::CheckTxVersion::new(),
		frame_system::CheckGenesis::new(),
		frame_system::CheckEra::from(Era::Immortal),
		frame_system::CheckNonce::from(nonce),
		frame_system::CheckWeight::new(),
		pallet_transaction_payment::ChargeTransactionPayment::from(0),
		frame_system::WeightReclaim::new(),
	);
	let implicit =
		((), VERSION.spec_version, VERSION.transaction_version, genesis, genesis, (), (), (), ());
	let payload = SignedPayload::from_raw(call.clone(), tx_ext.clone(), implicit);
	let signature = payload.using_encoded(|bytes| signer.pair().sign(bytes));
	let xt = UncheckedExtrinsic::new_signed(
		call,
		MultiAddress::Id(signer.to_account_id()),
		MultiSignature::Sr25519(signature),
		tx_ext,
	);
	format!("0x{}", hex::encode(xt.encode()))
}

/// A sensor certificate from the published dev CA, which the dev chain trusts.
fn dev_certificate(id: &[u8]) -> cbpre::SecretKey {
	let mut rng = ChaCha20Rng::seed_from_u64(7);
	let ca = cbpre::CaSecretKey::from_bytes(&cbpre::dev::DEV_CA_SECRET).expect("dev CA");
	let request = cbpre::KeyRequest::new_with_rng(cbpre::Identity::new(id).expect("id"), &mut rng);
	let response = ca.issue_with_rng(request.message(), &mut rng).expect("issued");
	request.finish(&response, &ca.public_key()).expect("a valid certificate")
}

async fn storage<T: Decode>(client: &WsClient, key: Vec<u8>, at: H256) -> Option<T> {
	let value: Option<String> = client
		.request("state_getStorage", rpc_params![format!("0x{}", hex::encode(key)), at])
		.await
		.expect("state_getStorage");
	value.map(|hex_value| {
		let bytes = hex::decode(hex_value.trim_start_matches("0x")).expect("hex storage");
		T::decode(&mut &bytes[..]).expect("storage decodes")
	})
}

/// Waits for the watched transaction's `finalized` status and returns its block.
async fn finalized_block(mut status: Subscription<serde_json::Value>) -> H256 {
	let deadline = Instant::now() + FINALITY;
	loop {
		let remaining = deadline.saturating_duration_since(Instant::now());
		let next = tokio::time::timeout(remaining, status.next())
			.await
			.expect("the transaction is finalized in time")
			.expect("the status stream stays open")
			.expect("a transaction status");
		if let Some(hash) = next.get("finalized") {
			return serde_json::from_value(hash.clone()).expect("a block hash");
		}
		let failed = ["invalid", "dropped", "usurped", "finalityTimeout", "retracted"];
		assert!(
			!failed.iter().any(|s| next == *s || next.get(s).is_some()),
			"the transaction failed: {next}"
		);
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_sensor_is_finalized_on_the_dev_chain() {
	let mut node = DevNode::start();
	let client = node.client().await;

	let alice = Sr25519Keyring::Alice;
	let genesis: H256 =
		client.request("chain_getBlockHash", rpc_params![0]).await.expect("the genesis hash");
	let nonce: u32 = client
		.request("system_accountNextIndex", rpc_params![alice.to_account_id().to_ss58check()])
		.await
		.expect("Alice's nonce");

	let id = b"\x24\x71\x89\xc0\xff\xee".to_vec();
	let key = dev_certificate(&id);
	// The proof that Alice holds the sensor's key, for this chain.
	let possession = sensorshare_market::possession::prove_with_rng(
		&key,
		&genesis.0,
		alice.to_account_id().as_ref(),
		sensorshare_market::possession::Kind::Sensor,
		&mut ChaCha20Rng::seed_from_u64(3),
	)
	.expect("the sensor's key signs")
	.to_bytes();
	let call = RuntimeCall::DataMarket(pallet_data_market::Call::register_sensor {
		id: id.clone().try_into().expect("a short id"),
		cert: key.certificate().to_bytes(),
		possession,
		price_per_epoch: 1_000_000_000,
		epoch_secs: 60,
		first_epoch: 0,
		storage_provider: Sr25519Keyring::Ferdie.to_account_id(),
		description: b"SensorTag CC2650, lab".to_vec().try_into().expect("a short text"),
	});

	let status = client
		.subscribe(
			"author_submitAndWatchExtrinsic",
			rpc_params![signed(call, alice, nonce, genesis)],
			"author_unwatchExtrinsic",
		)
		.await
		.expect("the node takes the transaction");
	let block = finalized_block(status).await;

	// Instant finality: the transaction's block is the finalized head.
	let head: H256 = client.request("chain_getFinalizedHead", rpc_params![]).await.expect("head");
	assert_eq!(head, block);

	let sensor_key = pallet_data_market::Sensors::<Runtime>::hashed_key_for(
		pallet_data_market::IdBytes::truncate_from(id.clone()),
	);
	let sensor: pallet_data_market::SensorInfo<Runtime> =
		storage(&client, sensor_key, block).await.expect("the sensor is in the finalized state");
	assert_eq!(sensor.owner, alice.to_account_id());
	assert_eq!(sensor.public_key, key.public_key().to_bytes());
	assert_eq!(sensor.provider, Sr25519Keyring::Ferdie.to_account_id());

	let events_key = [sp_core::twox_128(b"System"), sp_core::twox_128(b"Events")].concat();
	let events: Vec<frame_system::EventRecord<RuntimeEvent, H256>> =
		storage(&client, events_key, block).await.expect("the block's events");
	assert!(
		events.iter().any(|record| matches!(
			&record.event,
			RuntimeEvent::DataMarket(pallet_data_market::Event::SensorRegistered { sensor, owner, .. })
				if sensor.as_slice() == id.as_slice() && *owner == alice.to_account_id()
		)),
		"no SensorRegistered event in {events:?}"
	);
}
