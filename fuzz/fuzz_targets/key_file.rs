//! A key file as the services read it: a secret key, a pending request, a CA key.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sensorshare_protocol::keyfile;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
	static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
	let path = DIR.get_or_init(|| tempfile::tempdir().expect("a directory")).path().join("key");
	std::fs::write(&path, data).expect("written");
	let _ = keyfile::load_secret_key(&path);
	let _ = keyfile::load_pending(&path);
	let _ = keyfile::load_ca(&path);
});
