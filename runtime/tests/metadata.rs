//! The chain client's metadata file is this runtime's metadata.
//!
//! `crates/chain-client` generates its types from that file at compile time; when the
//! runtime changes, regenerate it with `scripts/metadata.sh` (which runs this test
//! with `UPDATE_METADATA=1`).

use sensorshare_runtime::Runtime;

const PATH: &str =
	concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/chain-client/metadata/sensorshare.scale");

#[test]
fn the_chain_clients_metadata_is_this_runtimes() {
	// Aura's slot duration, a constant in the metadata, is read from storage.
	let metadata = sp_io::TestExternalities::default()
		.execute_with(|| Runtime::metadata_at_version(15))
		.expect("the runtime serves metadata V15");
	let current: &[u8] = &metadata;
	assert_eq!(&current[..4], b"meta", "metadata starts with its magic number");
	if std::env::var_os("UPDATE_METADATA").is_some() {
		std::fs::write(PATH, current).expect("writing the metadata file");
		return;
	}
	let committed = std::fs::read(PATH).unwrap_or_default();
	assert!(
		committed == current,
		"{PATH} is stale: the runtime changed. Run scripts/metadata.sh and commit the file."
	);
}
