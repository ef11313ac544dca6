//! The chains this node knows by name: `dev`, `local`, and `local-<n>s` (the local
//! testnet with `n`-second blocks).

use codec::Encode;
use sc_service::{ChainSpec as _, ChainType};
use sensorshare_runtime::{configs::SlotDuration, genesis_config_presets as presets, WASM_BINARY};
use sp_runtime::BuildStorage;

/// The longest block time `local-<n>s` accepts, in seconds.
pub const MAX_BLOCK_SECS: u64 = 60;

/// The chain specification of a SensorShare chain.
pub type ChainSpec = sc_service::GenericChainSpec;

fn properties() -> sc_chain_spec::Properties {
	let mut p = sc_chain_spec::Properties::new();
	p.insert("tokenSymbol".into(), "SENS".into());
	p.insert("tokenDecimals".into(), 12.into());
	p.insert("ss58Format".into(), 42.into());
	p
}

fn spec(name: &str, id: &str, chain_type: ChainType, preset: &str) -> Result<ChainSpec, String> {
	let wasm = WASM_BINARY.ok_or_else(|| "the runtime's wasm binary was not built".to_string())?;
	Ok(ChainSpec::builder(wasm, None)
		.with_name(name)
		.with_id(id)
		.with_chain_type(chain_type)
		.with_genesis_config_preset_name(preset)
		.with_properties(properties())
		.build())
}

/// One validator (Alice), instant sealing by default.
pub fn development() -> Result<ChainSpec, String> {
	spec("SensorShare Development", "dev", ChainType::Development, presets::DEV_PRESET)
}

/// Three validators (Alice, Bob, Charlie) under Aura and GRANDPA.
pub fn local_testnet() -> Result<ChainSpec, String> {
	spec("SensorShare Local Testnet", "local_testnet", ChainType::Local, presets::LOCAL_PRESET)
}

/// The local testnet with `secs`-second blocks: its genesis sets Aura's slot.
/// `local-13s` is the paper's setting, Ethereum's block time when it was measured.
pub fn local_testnet_with_block_time(secs: u64) -> Result<ChainSpec, String> {
	if !(1..=MAX_BLOCK_SECS).contains(&secs) {
		return Err(format!("local-{secs}s: a block time must be 1 to {MAX_BLOCK_SECS} seconds"));
	}
	let mut spec = spec(
		&format!("SensorShare Local Testnet, {secs}-second blocks"),
		&format!("local_testnet_{secs}s"),
		ChainType::Local,
		presets::LOCAL_PRESET,
	)?;
	let mut storage = spec.build_storage()?;
	storage.top.insert(SlotDuration::key().to_vec(), (secs * 1000).encode());
	spec.set_storage(storage);
	Ok(spec)
}

/// The block time a chain id of the form `local-<n>s` asks for, if it is one.
pub fn block_time_of(id: &str) -> Option<u64> {
	id.strip_prefix("local-")?.strip_suffix('s')?.parse().ok()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn local_with_a_number_of_seconds_names_a_block_time() {
		assert_eq!(block_time_of("local-13s"), Some(13));
		assert_eq!(block_time_of("local-6s"), Some(6));
		assert_eq!(block_time_of("local"), None);
		assert_eq!(block_time_of("local-13"), None);
		assert_eq!(block_time_of("local-tests"), None);
		assert_eq!(block_time_of("spec/local-13s.json"), None);
	}

	#[test]
	fn a_block_time_out_of_range_is_refused_with_the_range() {
		for secs in [0, MAX_BLOCK_SECS + 1] {
			let e = local_testnet_with_block_time(secs).err().expect("refused");
			assert!(e.contains("1 to 60 seconds"), "{e}");
		}
	}

	#[test]
	fn the_genesis_of_a_13_second_testnet_sets_aura_slot_to_13_seconds() {
		let storage = local_testnet_with_block_time(13)
			.and_then(|spec| spec.build_storage())
			.expect("the spec builds");
		let slot = storage.top.get(SlotDuration::key().as_slice()).expect("the slot is set");
		assert_eq!(slot, &13_000u64.encode());
		let local = local_testnet().and_then(|spec| spec.build_storage()).expect("builds");
		assert!(!local.top.contains_key(SlotDuration::key().as_slice()), "local keeps the default");
	}
}
