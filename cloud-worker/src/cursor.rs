//! The listener's persistent cursor: the last finalized block whose deliveries are
//! all done. The [listener](crate::listener) only moves it past a block once every
//! delivery that block asked for is finalized, so a restarted worker goes on from the
//! first block with work left.

use std::path::{Path, PathBuf};

/// The cursor file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("cursor {path}: {source}")]
pub struct CursorError {
	/// The file.
	pub path: PathBuf,
	/// Why.
	pub source: std::io::Error,
}

/// The persistent cursor: the last finalized block fully handled.
pub struct Cursor {
	path: PathBuf,
}

impl Cursor {
	/// The cursor kept in `state_dir`.
	pub fn new(state_dir: &Path) -> Self {
		Cursor { path: state_dir.join("cursor") }
	}

	fn err(&self, source: std::io::Error) -> CursorError {
		CursorError { path: self.path.clone(), source }
	}

	/// The last block handled, if any.
	pub fn load(&self) -> Result<Option<u32>, CursorError> {
		match std::fs::read_to_string(&self.path) {
			Ok(s) => s
				.trim()
				.parse()
				.map(Some)
				.map_err(|e| self.err(std::io::Error::new(std::io::ErrorKind::InvalidData, e))),
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
			Err(e) => Err(self.err(e)),
		}
	}

	/// Records `block` as handled, atomically (write, sync, rename).
	pub fn store(&self, block: u32) -> Result<(), CursorError> {
		use std::io::Write;
		let tmp = self.path.with_extension("tmp");
		let write = || -> std::io::Result<()> {
			if let Some(dir) = self.path.parent() {
				std::fs::create_dir_all(dir)?;
			}
			let mut f = std::fs::File::create(&tmp)?;
			writeln!(f, "{block}")?;
			f.sync_all()?;
			std::fs::rename(&tmp, &self.path)
		};
		write().map_err(|e| self.err(e))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_cursor_survives_a_restart_and_refuses_garbage() {
		let dir = tempfile::tempdir().expect("tempdir");
		let c = Cursor::new(dir.path());
		assert_eq!(c.load().expect("load"), None);
		c.store(42).expect("store");
		assert_eq!(Cursor::new(dir.path()).load().expect("load"), Some(42));
		std::fs::write(dir.path().join("cursor"), "x").expect("write");
		assert!(c.load().is_err());
	}
}
