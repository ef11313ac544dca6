//! Genesis presets: `development` (one validator, dev accounts funded, the published
//! dev CA key, one dev storage provider) and `local_testnet` (four validators, so
//! that GRANDPA, which needs more than two thirds of the votes, finalizes with one of
//! them down).

use crate::{AccountId, BalancesConfig, DataMarketConfig, RuntimeGenesisConfig, SudoConfig, UNIT};
use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// The name of the `development` preset.
pub const DEV_PRESET: &str = sp_genesis_builder::DEV_RUNTIME_PRESET;
/// The name of the `local_testnet` preset.
pub const LOCAL_PRESET: &str = sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET;

/// What every dev account starts with.
pub const DEV_ENDOWMENT: u128 = 1_000_000 * UNIT;
/// The dev storage provider's endpoint: the cloud worker's default address.
pub const DEV_PROVIDER_ENDPOINT: &[u8] = b"http://127.0.0.1:8088";
/// The dev storage provider's fee per epoch of data delivered.
pub const DEV_PROVIDER_FEE: u128 = UNIT / 100;

fn testnet_genesis(
	initial_authorities: Vec<(AuraId, GrandpaId)>,
	endowed_accounts: Vec<AccountId>,
	root: AccountId,
	provider: AccountId,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed_accounts
				.iter()
				.cloned()
				.map(|k| (k, DEV_ENDOWMENT))
				.collect::<Vec<_>>(),
		},
		aura: pallet_aura::GenesisConfig {
			authorities: initial_authorities.iter().map(|x| x.0.clone()).collect::<Vec<_>>(),
		},
		grandpa: pallet_grandpa::GenesisConfig {
			authorities: initial_authorities.iter().map(|x| (x.1.clone(), 1)).collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
		data_market: DataMarketConfig {
			ca_key: Some(cbpre_dev_ca_public()),
			providers: vec![(provider, DEV_PROVIDER_ENDPOINT.to_vec(), DEV_PROVIDER_FEE)],
		},
	})
}

fn cbpre_dev_ca_public() -> Vec<u8> {
	pallet_data_market::DEV_CA_PUBLIC_KEY.to_vec()
}

/// A dev validator's keys: its sr25519 Aura key and its ed25519 GRANDPA key.
fn authority(aura: Sr25519Keyring, grandpa: Ed25519Keyring) -> (AuraId, GrandpaId) {
	(aura.public().into(), grandpa.public().into())
}

/// The `development` preset: Alice validates and is root; Ferdie is the dev storage provider.
pub fn development_config_genesis() -> Value {
	testnet_genesis(
		vec![authority(Sr25519Keyring::Alice, Ed25519Keyring::Alice)],
		Sr25519Keyring::well_known().map(|k| k.to_account_id()).collect(),
		Sr25519Keyring::Alice.to_account_id(),
		Sr25519Keyring::Ferdie.to_account_id(),
	)
}

/// How many validators the `local_testnet` preset has: four, the fewest with which
/// GRANDPA tolerates one being down (it needs more than two thirds of the votes).
pub const LOCAL_VALIDATORS: usize = 4;

/// The dev validators a local testnet takes its authorities from, in order: a
/// testnet of `n` validators has the first `n`.
pub const VALIDATOR_NAMES: [&str; 6] = ["alice", "bob", "charlie", "dave", "eve", "ferdie"];

/// The `local_testnet` preset: Alice, Bob, Charlie and Dave validate.
pub fn local_config_genesis() -> Value {
	local_testnet_genesis(LOCAL_VALIDATORS).unwrap_or_default()
}

/// A local testnet's genesis whose authorities are the first `validators` dev
/// validators of [`VALIDATOR_NAMES`]; `None` for none or more than there are.
pub fn local_testnet_genesis(validators: usize) -> Option<Value> {
	let keys: [(Sr25519Keyring, Ed25519Keyring); VALIDATOR_NAMES.len()] = [
		(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
		(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
		(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
		(Sr25519Keyring::Dave, Ed25519Keyring::Dave),
		(Sr25519Keyring::Eve, Ed25519Keyring::Eve),
		(Sr25519Keyring::Ferdie, Ed25519Keyring::Ferdie),
	];
	if validators == 0 {
		return None;
	}
	let authorities = keys.get(..validators)?.iter().map(|(a, g)| authority(*a, *g)).collect();
	Some(testnet_genesis(
		authorities,
		Sr25519Keyring::iter()
			.filter(|v| v != &Sr25519Keyring::One && v != &Sr25519Keyring::Two)
			.map(|v| v.to_account_id())
			.collect::<Vec<_>>(),
		Sr25519Keyring::Alice.to_account_id(),
		Sr25519Keyring::Ferdie.to_account_id(),
	))
}

/// The preset's JSON, if `id` names one.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		DEV_PRESET => development_config_genesis(),
		LOCAL_PRESET => local_config_genesis(),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("serialization to json is expected to work. qed.")
			.into_bytes(),
	)
}

/// The names of the presets.
pub fn preset_names() -> Vec<PresetId> {
	vec![PresetId::from(DEV_PRESET), PresetId::from(LOCAL_PRESET)]
}
