//! Key files: a participant's certified secret key, or a key request between the two
//! steps of CertifiedUserKeyGen, as JSON in a file only its owner can read (0600).

use cbpre::{CaPublicKey, CaSecretKey, Certificate, Identity, KeyRequest, SecretKey};
use serde::{Deserialize, Serialize};
use std::{io::Write, path::Path};

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
	secret: String,
	certificate: String,
	ca: String,
}

/// A key request between steps 1 and 3, as stored.
#[derive(Serialize, Deserialize)]
struct PendingFile {
	id: String,
	r_u: String,
}

/// A CA key, as stored.
#[derive(Serialize, Deserialize)]
struct CaFile {
	secret: String,
	public: String,
}

fn write_private(path: &Path, json: &[u8]) -> Result<(), KeyFileError> {
	let io = |source| KeyFileError::Io { path: path.display().to_string(), source };
	let mut options = std::fs::OpenOptions::new();
	options.write(true).create(true).truncate(true);
	#[cfg(unix)]
	{
		use std::os::unix::fs::OpenOptionsExt;
		options.mode(0o600);
	}
	let mut f = options.open(path).map_err(io)?;
	#[cfg(unix)]
	{
		use std::os::unix::fs::PermissionsExt;
		f.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(io)?;
	}
	f.write_all(json).map_err(io)?;
	f.sync_all().map_err(io)
}

fn read_json<T: for<'de> Deserialize<'de>>(
	path: &Path,
	kind: &'static str,
) -> Result<T, KeyFileError> {
	let p = path.display().to_string();
	let text =
		std::fs::read(path).map_err(|source| KeyFileError::Io { path: p.clone(), source })?;
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

/// Writes a certified secret key (0600).
pub fn save_secret_key(path: &Path, key: &SecretKey, ca: &CaPublicKey) -> Result<(), KeyFileError> {
	let file = SecretKeyFile {
		id: hex::encode(key.id().as_bytes()),
		secret: hex::encode(key.to_bytes().as_ref()),
		certificate: hex::encode(key.certificate().to_bytes()),
		ca: hex::encode(ca.to_bytes()),
	};
	let json = zeroize::Zeroizing::new(serde_json::to_vec_pretty(&file).unwrap_or_default());
	write_private(path, &json)
}

/// Reads a certified secret key, checking it against its certificate and CA key.
pub fn load_secret_key(path: &Path) -> Result<SecretKey, KeyFileError> {
	const KIND: &str = "secret key";
	let f: SecretKeyFile = read_json(path, KIND)?;
	let id = Identity::new(&unhex(path, KIND, "id", &f.id)?).map_err(key_err(path))?;
	let cert = Certificate::from_bytes(&unhex(path, KIND, "certificate", &f.certificate)?)
		.map_err(key_err(path))?;
	let ca = CaPublicKey::from_bytes(&unhex(path, KIND, "ca", &f.ca)?).map_err(key_err(path))?;
	let secret = zeroize::Zeroizing::new(unhex(path, KIND, "secret", &f.secret)?);
	SecretKey::from_parts(id, &secret, cert, &ca).map_err(key_err(path))
}

/// Writes a key request's secret between the steps (0600).
pub fn save_pending(path: &Path, request: &KeyRequest) -> Result<(), KeyFileError> {
	let file = PendingFile {
		id: hex::encode(request.message().id().as_bytes()),
		r_u: hex::encode(request.secret_bytes().as_ref()),
	};
	let json = zeroize::Zeroizing::new(serde_json::to_vec_pretty(&file).unwrap_or_default());
	write_private(path, &json)
}

/// Reads a key request saved by [`save_pending`].
pub fn load_pending(path: &Path) -> Result<KeyRequest, KeyFileError> {
	const KIND: &str = "pending key request";
	let f: PendingFile = read_json(path, KIND)?;
	let id = Identity::new(&unhex(path, KIND, "id", &f.id)?).map_err(key_err(path))?;
	let r_u = zeroize::Zeroizing::new(unhex(path, KIND, "r_u", &f.r_u)?);
	KeyRequest::from_secret(id, &r_u).map_err(key_err(path))
}

/// Writes a CA key (0600).
pub fn save_ca(path: &Path, ca: &CaSecretKey) -> Result<(), KeyFileError> {
	let file = CaFile {
		secret: hex::encode(ca.to_bytes().as_ref()),
		public: hex::encode(ca.public_key().to_bytes()),
	};
	let json = zeroize::Zeroizing::new(serde_json::to_vec_pretty(&file).unwrap_or_default());
	write_private(path, &json)
}

/// Reads a CA key.
pub fn load_ca(path: &Path) -> Result<CaSecretKey, KeyFileError> {
	const KIND: &str = "CA key";
	let f: CaFile = read_json(path, KIND)?;
	let secret = zeroize::Zeroizing::new(unhex(path, KIND, "secret", &f.secret)?);
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
		save_secret_key(&path, &key, &dev::ca().public_key()).expect("save");
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
		save_pending(&dir.path().join("bob.pending"), &request).expect("save");
		drop(request);

		let ca_path = dir.path().join("ca.key");
		save_ca(&ca_path, &CaSecretKey::generate_with_rng(&mut rng)).expect("save ca");
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
		save_secret_key(&path, &key, &dev::ca().public_key()).expect("save");
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
}
