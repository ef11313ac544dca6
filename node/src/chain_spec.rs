//! The chains this node knows by name: `dev`, `local` (four validators, 6-second
//! blocks), and variants of the local testnet: `local-<n>s` with `n`-second blocks,
//! `local-<v>v` with `v` validators, `local-<n>s-<v>v` with both.

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

/// A local testnet, as a chain id names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local {
	/// Aura's slot in seconds; `None` keeps the runtime's 6.
	pub block_secs: Option<u64>,
	/// How many validators (Alice, Bob, … in order) are its authorities.
	pub validators: usize,
}

impl Default for Local {
	/// `local`: four validators, the runtime's 6-second slot.
	fn default() -> Self {
		Local { block_secs: None, validators: presets::LOCAL_VALIDATORS }
	}
}

impl Local {
	/// The local testnet `id` names (`local`, `local-13s`, `local-5v`, `local-13s-5v`),
	/// or `None` if it names none. The numbers are checked when the spec is built.
	pub fn of(id: &str) -> Option<Self> {
		let mut local = Local::default();
		let mut rest = id.strip_prefix("local")?;
		if let Some(secs) = rest.strip_prefix('-').and_then(|r| number_before(r, 's')) {
			local.block_secs = Some(secs.0);
			rest = secs.1;
		}
		if let Some(validators) = rest.strip_prefix('-').and_then(|r| number_before(r, 'v')) {
			local.validators = usize::try_from(validators.0).ok()?;
			rest = validators.1;
		}
		rest.is_empty().then_some(local)
	}
}

/// `digits` followed by `unit` at the start of `s`: the number and the rest.
fn number_before(s: &str, unit: char) -> Option<(u64, &str)> {
	let end = s.find(|c: char| !c.is_ascii_digit())?;
	let (digits, rest) = s.split_at(end);
	Some((digits.parse().ok()?, rest.strip_prefix(unit)?))
}

/// The local testnet `local` describes: its validators' keys as its Aura and GRANDPA
/// authorities, and its slot in the genesis if it sets one.
/// `local-13s` is the paper's setting, Ethereum's block time when it was measured.
pub fn local_testnet(local: Local) -> Result<ChainSpec, String> {
	let max = presets::VALIDATOR_NAMES.len();
	let genesis = presets::local_testnet_genesis(local.validators).ok_or_else(|| {
		format!("a local testnet has 1 to {max} validators, not {}", local.validators)
	})?;
	let (mut name, mut id) = ("SensorShare Local Testnet".to_string(), "local_testnet".to_string());
	if let Some(secs) = local.block_secs {
		if !(1..=MAX_BLOCK_SECS).contains(&secs) {
			return Err(format!(
				"local-{secs}s: a block time must be 1 to {MAX_BLOCK_SECS} seconds"
			));
		}
		name.push_str(&format!(", {secs}-second blocks"));
		id.push_str(&format!("_{secs}s"));
	}
	if local.validators != presets::LOCAL_VALIDATORS {
		name.push_str(&format!(", {} validators", local.validators));
		id.push_str(&format!("_{}v", local.validators));
	}
	let wasm = WASM_BINARY.ok_or_else(|| "the runtime's wasm binary was not built".to_string())?;
	let mut spec = ChainSpec::builder(wasm, None)
		.with_name(&name)
		.with_id(&id)
		.with_chain_type(ChainType::Local)
		.with_genesis_config_patch(genesis)
		.with_properties(properties())
		.build();
	if let Some(secs) = local.block_secs {
		let mut storage = spec.build_storage()?;
		storage.top.insert(SlotDuration::key().to_vec(), (secs * 1000).encode());
		spec.set_storage(storage);
	}
	Ok(spec)
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_consensus_aura::sr25519::AuthorityId as AuraId;

	fn local(block_secs: Option<u64>, validators: usize) -> Option<Local> {
		Some(Local { block_secs, validators })
	}

	#[test]
	fn a_local_chain_id_names_a_block_time_and_a_number_of_validators() {
		assert_eq!(Local::of("local"), local(None, 4));
		assert_eq!(Local::of("local-13s"), local(Some(13), 4));
		assert_eq!(Local::of("local-6s"), local(Some(6), 4));
		assert_eq!(Local::of("local-5v"), local(None, 5));
		assert_eq!(Local::of("local-2s-3v"), local(Some(2), 3));
		for other in
			["local-13", "local-tests", "spec/local-13s.json", "local-3v-2s", "local-s", ""]
		{
			assert_eq!(Local::of(other), None, "{other}");
		}
	}

	#[test]
	fn a_block_time_or_a_number_of_validators_out_of_range_is_refused_with_the_range() {
		for secs in [0, MAX_BLOCK_SECS + 1] {
			let e = local_testnet(Local { block_secs: Some(secs), validators: 4 }).err();
			assert!(e.expect("refused").contains("1 to 60 seconds"));
		}
		for validators in [0, 7] {
			let e = local_testnet(Local { block_secs: None, validators }).err();
			assert!(e.expect("refused").contains("1 to 6 validators"));
		}
	}

	fn aura_authorities(spec: ChainSpec) -> usize {
		let storage = spec.build_storage().expect("the spec builds");
		let key = sp_core::storage::StorageKey(
			[sp_io::hashing::twox_128(b"Aura"), sp_io::hashing::twox_128(b"Authorities")].concat(),
		);
		let value = storage.top.get(&key.0).expect("Aura's authorities are set");
		<Vec<AuraId> as codec::Decode>::decode(&mut &value[..]).expect("decodes").len()
	}

	#[test]
	fn the_local_testnet_has_four_validators_so_it_finalizes_with_one_down() {
		assert_eq!(
			aura_authorities(local_testnet(Local::of("local").expect("local")).expect("builds")),
			4
		);
		let five = local_testnet(Local::of("local-5v").expect("local-5v")).expect("builds");
		assert_eq!(aura_authorities(five), 5);
	}

	#[test]
	fn the_genesis_of_a_13_second_testnet_sets_aura_slot_to_13_seconds() {
		let storage = local_testnet(Local { block_secs: Some(13), validators: 4 })
			.and_then(|spec| spec.build_storage())
			.expect("the spec builds");
		let slot = storage.top.get(SlotDuration::key().as_slice()).expect("the slot is set");
		assert_eq!(slot, &13_000u64.encode());
		let local = local_testnet(Local { block_secs: None, validators: 4 })
			.and_then(|spec| spec.build_storage())
			.expect("builds");
		assert!(!local.top.contains_key(SlotDuration::key().as_slice()), "local keeps the default");
	}
}
