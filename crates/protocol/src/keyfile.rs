//! Key files: a participant's certified secret key, or a key request between the two
//! steps of CertifiedUserKeyGen, as JSON in a file only its owner can read (0600).

use cbpre::{CaPublicKey, CaSecretKey, Certificate, Identity, KeyRequest, SecretKey};
use serde::{Deserialize, Serialize};
use std::{io::Write, path::Path};
use zeroize::Zeroizing;

/// Why a key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
	/// The file could not be read or written.
	#[error("{path}: {source}")]
	Io {
		/// The file.
		path: String,
		/// What the operating system reported.
		source: std::io::Error,
	},
	/// The file is not a key file of this kind.
	#[error("{path} is not a {kind} file: {reason}")]
	Format {
		/// The file.
		path: String,
		/// What it should be.
		kind: &'static str,
		/// Why it is not.
		reason: String,
	},
	/// A file is already there, and is kept: a key is never overwritten unless asked.
	#[error("{path} exists; not overwriting it (remove it, or pass --force)")]
	Exists {
		/// The file.
		path: String,
	},
	/// The key does not match its certificate and CA.
	#[error("{path}: the key does not match its certificate: {source}")]
	Key {
		/// The file.
		path: String,
		/// The check of the key against its certificate that failed.
		source: cbpre::Error,
	},
}

/// A certified secret key, as stored.
#[derive(Serialize, Deserialize)]
struct SecretKeyFile {
	id: String,
	secret: Zeroizing<String>,
	certificate: String,
	ca: String,
}

/// A key request between steps 1 and 3, as stored.
#[derive(Serialize, Deserialize)]
struct PendingFile {
	id: String,
	r_u: Zeroizing<String>,
}

/// A CA key, as stored.
#[derive(Serialize, Deserialize)]
struct CaFile {
	secret: Zeroizing<String>,
	public: String,
}

/// What to do when a key file is already where one is to be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
	/// Refuse with [`KeyFileError::Exists`] and leave it as it is.
	Refuse,
	/// Replace it, atomically: the new file is written beside it and renamed over
	/// it (a symbolic link there is replaced, never followed).
	Replace,
}

/// Writes `json` to a new file at `path`, readable by its owner only (0600), synced.
/// The file is created, never opened: whatever is at `path` (a file, a symbolic link,
/// dangling or not) makes it fail instead of being written through.
fn create_private(path: &Path, json: &[u8]) -> std::io::Result<()> {
	let mut options = std::fs::OpenOptions::new();
	options.write(true).create_new(true);
	#[cfg(unix)]
	{
		use std::os::unix::fs::OpenOptionsExt;
		options.mode(0o600);
	}
	let mut f = options.open(path)?;
	#[cfg(unix)]
	{
		use std::os::unix::fs::PermissionsExt;
		f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
	}
	f.write_all(json)?;
	f.sync_all()
}

fn write_private(path: &Path, json: &[u8], existing: Existing) -> Result<(), KeyFileError> {
	let io = |source| KeyFileError::Io { path: path.display().to_string(), source };
	match existing {
		Existing::Refuse => create_private(path, json).map_err(|e| match e.kind() {
			std::io::ErrorKind::AlreadyExists => {
				KeyFileError::Exists { path: path.display().to_string() }
			},
			_ => io(e),
		}),
		Existing::Replace => {
			let mut tmp = path.as_os_str().to_owned();
			tmp.push(".new");
			let tmp = std::path::PathBuf::from(tmp);
			let _ = std::fs::remove_file(&tmp);
			create_private(&tmp, json).map_err(io)?;
			std::fs::rename(&tmp, path).map_err(io)
		},
	}
}

fn read_json<T: for<'de> Deserialize<'de>>(
	path: &Path,
	kind: &'static str,
) -> Result<T, KeyFileError> {
	let p = path.display().to_string();
	let text = Zeroizing::new(
		std::fs::read(path).map_err(|source| KeyFileError::Io { path: p.clone(), source })?,
	);
	serde_json::from_slice(&text).map_err(|e| KeyFileError::Format {
		path: p,
		kind,
		reason: e.to_string(),
	})
}

fn unhex(
	path: &Path,
	kind: &'static str,
	field: &str,
	value: &str,
) -> Result<Vec<u8>, KeyFileError> {
	hex::decode(value).map_err(|e| KeyFileError::Format {
		path: path.display().to_string(),
		kind,
		reason: format!("{field}: {e}"),
	})
}

fn key_err(path: &Path) -> impl Fn(cbpre::Error) -> KeyFileError + '_ {
	move |source| KeyFileError::Key { path: path.display().to_string(), source }
}

/// Writes a certified secret key (0600); a file already at `path` is refused or
/// replaced, as `existing` says.
pub fn save_secret_key(
	path: &Path,
	key: &SecretKey,
	ca: &CaPublicKey,
	existing: Existing,
) -> Result<(), KeyFileError> {
	let file = SecretKeyFile {
		id: hex::encode(key.id().as_bytes()),
		secret: Zeroizing::new(hex::encode(key.to_bytes().as_ref())),
		certificate: hex::encode(key.certificate().to_bytes()),
		ca: hex::encode(ca.to_bytes()),
	};
	let json = Zeroizing::new(serde_json::to_vec_pretty(&file).unwrap_or_default());
	write_private(path, &json, existing)
}

/// Reads a certified secret key, checking it against its certificate and CA key.
pub fn load_secret_key(path: &Path) -> Result<SecretKey, KeyFileError> {
	const KIND: &str = "secret key";
	let f: SecretKeyFile = read_json(path, KIND)?;
	let id = Identity::new(&unhex(path, KIND, "id", &f.id)?).map_err(key_err(path))?;
	let cert = Certificate::from_bytes(&unhex(path, KIND, "certificate", &f.certificate)?)
		.map_err(key_err(path))?;
	let ca = CaPublicKey::from_bytes(&unhex(path, KIND, "ca", &f.ca)?).map_err(key_err(path))?;
	let secret = Zeroizing::new(unhex(path, KIND, "secret", &f.secret)?);
	SecretKey::from_parts(id, &secret, cert, &ca).map_err(key_err(path))
}

/// Writes a key request's secret between the steps (0600); a file already at `path`
/// is refused or replaced, as `existing` says.
pub fn save_pending(
	path: &Path,
	request: &KeyRequest,
	existing: Existing,
) -> Result<(), KeyFileError> {
	let file = PendingFile {
		id: hex::encode(request.message().id().as_bytes()),
		r_u: Zeroizing::new(hex::encode(request.secret_bytes().as_ref())),
	};
	let json = Zeroizing::new(serde_json::to_vec_pretty(&file).unwrap_or_default());
	write_private(path, &json, existing)
}

/// Reads a key request saved by [`save_pending`].
pub fn load_pending(path: &Path) -> Result<KeyRequest, KeyFileError> {
	const KIND: &str = "pending key request";
	let f: PendingFile = read_json(path, KIND)?;
	let id = Identity::new(&unhex(path, KIND, "id", &f.id)?).map_err(key_err(path))?;
	let r_u = Zeroizing::new(unhex(path, KIND, "r_u", &f.r_u)?);
	KeyRequest::from_secret(id, &r_u).map_err(key_err(path))
}

/// Writes a CA key (0600); a file already at `path` is refused or replaced, as
/// `existing` says.
pub fn save_ca(path: &Path, ca: &CaSecretKey, existing: Existing) -> Result<(), KeyFileError> {
	let file = CaFile {
		secret: Zeroizing::new(hex::encode(ca.to_bytes().as_ref())),
		public: hex::encode(ca.public_key().to_bytes()),
	};
	let json = Zeroizing::new(serde_json::to_vec_pretty(&file).unwrap_or_default());
	write_private(path, &json, existing)
}

/// Reads a CA key.
pub fn load_ca(path: &Path) -> Result<CaSecretKey, KeyFileError> {
	const KIND: &str = "CA key";
	let f: CaFile = read_json(path, KIND)?;
	let secret = Zeroizing::new(unhex(path, KIND, "secret", &f.secret)?);
	CaSecretKey::from_bytes(&secret).map_err(key_err(path))
}

#[cfg(test)]
mod tests {
	use super::*;
	use cbpre::dev;
	use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

	#[test]
	fn a_saved_key_loads_back_and_only_its_owner_can_read_the_file() {
		let dir = tempfile::tempdir().expect("tempdir");
		let path = dir.path().join("sensor.key");
		let key =
			dev::enroll_with_rng(b"sensor", &mut ChaCha20Rng::seed_from_u64(1)).expect("enrol");
		save_secret_key(&path, &key, &dev::ca().public_key(), Existing::Refuse).expect("save");
		let loaded = load_secret_key(&path).expect("load");
		assert_eq!(loaded.public_key(), key.public_key());
		#[cfg(unix)]
		{
			use std::os::unix::fs::PermissionsExt;
			let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
			assert_eq!(mode & 0o777, 0o600);
		}
	}

	#[test]
	fn the_two_steps_of_key_generation_can_run_in_two_processes() {
		let dir = tempfile::tempdir().expect("tempdir");
		let mut rng = ChaCha20Rng::seed_from_u64(2);
		let request = KeyRequest::new_with_rng(Identity::new(b"bob").expect("id"), &mut rng);
		let message = request.message().to_bytes();
		save_pending(&dir.path().join("bob.pending"), &request, Existing::Refuse).expect("save");
		drop(request);

		let ca_path = dir.path().join("ca.key");
		save_ca(&ca_path, &CaSecretKey::generate_with_rng(&mut rng), Existing::Refuse)
			.expect("save ca");
		let ca = load_ca(&ca_path).expect("load ca");
		let response = ca
			.issue_with_rng(&cbpre::CertRequest::from_bytes(&message).expect("decodes"), &mut rng)
			.expect("issue");

		let request = load_pending(&dir.path().join("bob.pending")).expect("load");
		let key = request.finish(&response, &ca.public_key()).expect("finish");
		assert_eq!(key.id().as_bytes(), b"bob");
	}

	#[test]
	fn a_tampered_key_file_is_refused() {
		let dir = tempfile::tempdir().expect("tempdir");
		let path = dir.path().join("k");
		let key =
			dev::enroll_with_rng(b"sensor", &mut ChaCha20Rng::seed_from_u64(3)).expect("enrol");
		save_secret_key(&path, &key, &dev::ca().public_key(), Existing::Refuse).expect("save");
		let text = std::fs::read_to_string(&path).expect("read");
		let other = hex::encode(
			dev::enroll_with_rng(b"x", &mut ChaCha20Rng::seed_from_u64(4))
				.expect("enrol")
				.to_bytes()
				.as_ref(),
		);
		let tampered = text.replace(&hex::encode(key.to_bytes().as_ref()), &other);
		std::fs::write(&path, tampered).expect("write");
		assert!(matches!(load_secret_key(&path), Err(KeyFileError::Key { .. })));
		std::fs::write(&path, "{}").expect("write");
		assert!(matches!(load_secret_key(&path), Err(KeyFileError::Format { .. })));
	}

	#[test]
	fn a_key_is_never_written_over_a_file_or_through_a_link_unless_replacing() {
		let dir = tempfile::tempdir().expect("tempdir");
		let mut rng = ChaCha20Rng::seed_from_u64(5);
		let ca = dev::ca().public_key();
		let first = dev::enroll_with_rng(b"first", &mut rng).expect("enrol");
		let second = dev::enroll_with_rng(b"second", &mut rng).expect("enrol");
		let path = dir.path().join("sensor.key");
		save_secret_key(&path, &first, &ca, Existing::Refuse).expect("a new file");
		assert!(matches!(
			save_secret_key(&path, &second, &ca, Existing::Refuse),
			Err(KeyFileError::Exists { .. })
		));
		assert_eq!(load_secret_key(&path).expect("kept").id().as_bytes(), b"first");

		#[cfg(unix)]
		{
			// A link planted where the key goes, to a file elsewhere: not written through.
			let target = dir.path().join("elsewhere");
			std::fs::write(&target, b"precious").expect("write");
			let link = dir.path().join("linked.key");
			std::os::unix::fs::symlink(&target, &link).expect("symlink");
			assert!(matches!(
				save_secret_key(&link, &second, &ca, Existing::Refuse),
				Err(KeyFileError::Exists { .. })
			));
			let dangling = dir.path().join("dangling.key");
			std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).expect("symlink");
			assert!(save_secret_key(&dangling, &second, &ca, Existing::Refuse).is_err());
			assert!(!dir.path().join("nowhere").exists(), "nothing created through the link");
			save_secret_key(&link, &second, &ca, Existing::Replace).expect("replaced");
			assert_eq!(std::fs::read(&target).expect("read"), b"precious", "the target untouched");
			assert!(!std::fs::symlink_metadata(&link).expect("meta").file_type().is_symlink());
		}
		save_secret_key(&path, &second, &ca, Existing::Replace).expect("replaced");
		assert_eq!(load_secret_key(&path).expect("load").id().as_bytes(), b"second");
	}
}
