//! The listener's persistent cursor: the last finalized block whose deliveries are
//! all done. The [listener](crate::listener) only moves it past a block once every
//! delivery that block asked for is finalized, so a restarted worker goes on from the
//! first block with work left.
//!
//! It is kept per chain, under `chains/<genesis hash>/` of the state directory, with
//! the hash of its block: a worker started against another chain with the same
//! genesis (a fresh dev chain) finds that block is not the chain's, and refuses
//! instead of waiting for a height the new chain may never reach.

use std::path::{Path, PathBuf};

/// The cursor file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("cursor {path}: {source}")]
pub struct CursorError {
	/// The file.
	pub path: PathBuf,
	/// What the operating system reported.
	pub source: std::io::Error,
}

/// The persistent cursor: the last finalized block fully handled.
pub struct Cursor {
	path: PathBuf,
}

/// A cursor's block: its number, and its hash (a cursor of an earlier version has
/// none).
pub type Position = (u32, Option<[u8; 32]>);

impl Cursor {
	/// The cursor kept in `dir`.
	pub fn new(dir: &Path) -> Self {
		Cursor { path: dir.join("cursor") }
	}

	/// The cursor of the chain whose block 0 is `genesis`, kept in `state_dir`.
	pub fn for_chain(state_dir: &Path, genesis: &[u8; 32]) -> Self {
		Self::new(&state_dir.join("chains").join(hex::encode(genesis)))
	}

	/// The file it is kept in.
	pub fn path(&self) -> &Path {
		&self.path
	}

	fn err(&self, source: std::io::Error) -> CursorError {
		CursorError { path: self.path.clone(), source }
	}

	/// The last block handled, if any: `<number> [<hash hex>]`.
	pub fn load(&self) -> Result<Option<Position>, CursorError> {
		let text = match std::fs::read_to_string(&self.path) {
			Ok(s) => s,
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
			Err(e) => return Err(self.err(e)),
		};
		let bad = |what: &str| {
			self.err(std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string()))
		};
		let mut words = text.split_whitespace();
		let number = words.next().and_then(|n| n.parse().ok()).ok_or_else(|| bad("no block"))?;
		let hash = match words.next() {
			None => None,
			Some(h) => Some(
				hex::decode(h)
					.ok()
					.and_then(|h| <[u8; 32]>::try_from(h).ok())
					.ok_or_else(|| bad("not a block hash"))?,
			),
		};
		Ok(Some((number, hash)))
	}

	/// Records block `number` with hash `hash` as handled, atomically (write, sync,
	/// rename).
	pub fn store(&self, number: u32, hash: &[u8; 32]) -> Result<(), CursorError> {
		use std::io::Write;
		let tmp = self.path.with_extension("tmp");
		let write = || -> std::io::Result<()> {
			if let Some(dir) = self.path.parent() {
				std::fs::create_dir_all(dir)?;
			}
			let mut f = std::fs::File::create(&tmp)?;
			writeln!(f, "{number} {}", hex::encode(hash))?;
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
		c.store(42, &[7; 32]).expect("store");
		assert_eq!(Cursor::new(dir.path()).load().expect("load"), Some((42, Some([7; 32]))));
		std::fs::write(dir.path().join("cursor"), "41\n").expect("write");
		assert_eq!(c.load().expect("an earlier version's"), Some((41, None)));
		for garbage in ["x", "42 nothex", "42 00"] {
			std::fs::write(dir.path().join("cursor"), garbage).expect("write");
			assert!(c.load().is_err(), "{garbage}");
		}
	}
}
