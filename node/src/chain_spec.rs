//! The chains this node knows by name: `dev` and `local`.

use sc_service::ChainType;
use sensorshare_runtime::{genesis_config_presets as presets, WASM_BINARY};

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
