//! `sensorshare-sensor register` and the sensor's key file: created new, never
//! written through a link, never overwritten without `--force`, and never replaced
//! while it is the key of a sensor registered on chain.

use sensorshare_chain_client::dev_node::DevNode;
use std::{path::Path, process::Command};

fn register(url: &str, id: &str, key: &Path, extra: &[&str]) -> std::process::Output {
	Command::new(env!("CARGO_BIN_EXE_sensorshare-sensor"))
		.args(["--chain-url", url, "register", "--id", id, "--dev-ca", "--owner", "//Alice"])
		.arg("--key")
		.arg(key)
		.args(extra)
		.output()
		.expect("register runs")
}

fn stderr(out: &std::process::Output) -> String {
	String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_sensors_key_file_is_never_overwritten_or_written_through_a_link() {
	let mut node = DevNode::start(&[]).expect("the node starts");
	let chain = node.client().await;
	let url = node.url();
	let dir = tempfile::tempdir().expect("tempdir");
	let key = dir.path().join("tag.key");

	let out = register(&url, "tag-keys", &key, &[]);
	assert!(out.status.success(), "{}", stderr(&out));
	let original = std::fs::read(&key).expect("the key file");
	assert!(chain.sensor(b"tag-keys").await.expect("read").is_some());

	// Again over the same file: refused, the key kept.
	let out = register(&url, "tag-other", &key, &[]);
	assert!(!out.status.success());
	assert!(stderr(&out).contains("exists"), "{}", stderr(&out));
	assert_eq!(std::fs::read(&key).expect("read"), original);

	// Even with --force: the file holds the key of a sensor on chain.
	let out = register(&url, "tag-other", &key, &["--force"]);
	assert!(!out.status.success());
	assert!(stderr(&out).contains("registered on chain"), "{}", stderr(&out));
	assert_eq!(std::fs::read(&key).expect("read"), original);
	assert!(chain.sensor(b"tag-other").await.expect("read").is_none(), "nothing registered");

	// A link planted where a new key goes: not written through.
	let target = dir.path().join("precious");
	std::fs::write(&target, b"not a key").expect("write");
	let link = dir.path().join("linked.key");
	std::os::unix::fs::symlink(&target, &link).expect("symlink");
	let out = register(&url, "tag-link", &link, &[]);
	assert!(!out.status.success(), "{}", stderr(&out));
	assert_eq!(std::fs::read(&target).expect("read"), b"not a key");
	assert!(chain.sensor(b"tag-link").await.expect("read").is_none());

	// --force over a file that is no registered sensor's key replaces it, and the
	// link itself, never its target.
	let out = register(&url, "tag-link", &link, &["--force"]);
	assert!(out.status.success(), "{}", stderr(&out));
	assert_eq!(std::fs::read(&target).expect("read"), b"not a key");
	assert!(chain.sensor(b"tag-link").await.expect("read").is_some());
}
