//! A bounded on-disk queue of uploads, so that readings survive an outage of the
//! cloud and a restart of the sensor.
//!
//! Each item is a file `<sequence>.<kind>` holding `u64_be(epoch) || body`, written
//! to a temporary name, synced and renamed, so a crash leaves whole items or none.
//! Items leave in order. A refused item (4xx) moves to `rejected/` for inspection.

use std::{
	io::Write,
	path::{Path, PathBuf},
	sync::Mutex,
};

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
	/// An epoch's capsule.
	Capsule,
	/// A signed record.
	Record,
}

impl Kind {
	fn ext(self) -> &'static str {
		match self {
			Kind::Capsule => "capsule",
			Kind::Record => "record",
		}
	}
}

/// An upload waiting in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
	/// Its file.
	pub path: PathBuf,
	/// What it is.
	pub kind: Kind,
	/// The epoch it belongs to.
	pub epoch: u64,
	/// The body to upload.
	pub body: Vec<u8>,
}

/// Why the queue failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
	/// The queue holds its maximum; the item was not added.
	#[error("the upload queue is full ({0} items)")]
	Full(usize),
	/// The directory could not be read or written.
	#[error("upload queue {path}: {source}")]
	Io {
		/// The file or directory.
		path: PathBuf,
		/// What the operating system reported.
		source: std::io::Error,
	},
}

/// Uploads waiting on disk, one file each, drained oldest first.
#[derive(Debug)]
pub struct Queue {
	dir: PathBuf,
	max_items: usize,
	state: Mutex<State>,
}

#[derive(Debug)]
struct State {
	next: u64,
	len: usize,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> QueueError + '_ {
	move |source| QueueError::Io { path: path.to_path_buf(), source }
}

fn parse_name(path: &Path) -> Option<(u64, Kind)> {
	let seq = path.file_stem()?.to_str()?.parse().ok()?;
	let kind = match path.extension()?.to_str()? {
		"capsule" => Kind::Capsule,
		"record" => Kind::Record,
		_ => return None,
	};
	Some((seq, kind))
}

impl Queue {
	/// Opens (or creates) the queue in `dir`, holding at most `max_items`.
	pub fn open(dir: &Path, max_items: usize) -> Result<Self, QueueError> {
		std::fs::create_dir_all(dir.join("rejected")).map_err(io(dir))?;
		let items = Self::list(dir)?;
		let next = items.last().map_or(0, |(seq, _)| seq + 1);
		Ok(Queue {
			dir: dir.to_path_buf(),
			max_items,
			state: Mutex::new(State { next, len: items.len() }),
		})
	}

	fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>, QueueError> {
		let mut items = Vec::new();
		for entry in std::fs::read_dir(dir).map_err(io(dir))? {
			let path = entry.map_err(io(dir))?.path();
			if let Some((seq, _)) = parse_name(&path) {
				items.push((seq, path));
			}
		}
		items.sort();
		Ok(items)
	}

	fn lock(&self) -> std::sync::MutexGuard<'_, State> {
		self.state.lock().unwrap_or_else(|e| e.into_inner())
	}

	/// How many items wait.
	pub fn len(&self) -> usize {
		self.lock().len
	}

	/// Whether nothing waits.
	pub fn is_empty(&self) -> bool {
		self.len() == 0
	}

	/// Adds an item at the end, durably.
	pub fn push(&self, kind: Kind, epoch: u64, body: &[u8]) -> Result<(), QueueError> {
		let mut state = self.lock();
		if state.len >= self.max_items {
			return Err(QueueError::Full(state.len));
		}
		let path = self.dir.join(format!("{:020}.{}", state.next, kind.ext()));
		let tmp = self.dir.join(format!("{:020}.tmp", state.next));
		let write = || -> std::io::Result<()> {
			let mut f = std::fs::File::create(&tmp)?;
			f.write_all(&epoch.to_be_bytes())?;
			f.write_all(body)?;
			f.sync_all()?;
			std::fs::rename(&tmp, &path)
		};
		write().map_err(io(&path))?;
		state.next += 1;
		state.len += 1;
		Ok(())
	}

	/// The oldest item, if any.
	pub fn peek(&self) -> Result<Option<Item>, QueueError> {
		let Some((_, path)) = Self::list(&self.dir)?.into_iter().next() else { return Ok(None) };
		let bytes = std::fs::read(&path).map_err(io(&path))?;
		let (Some((_, kind)), Some(epoch)) = (parse_name(&path), bytes.get(..8)) else {
			// A torn or foreign file: set it aside rather than block the queue.
			self.reject(&path)?;
			return self.peek();
		};
		let mut e = [0u8; 8];
		e.copy_from_slice(epoch);
		Ok(Some(Item { path, kind, epoch: u64::from_be_bytes(e), body: bytes[8..].to_vec() }))
	}

	/// Removes an item once uploaded.
	pub fn remove(&self, item: &Item) -> Result<(), QueueError> {
		std::fs::remove_file(&item.path).map_err(io(&item.path))?;
		let mut state = self.lock();
		state.len = state.len.saturating_sub(1);
		Ok(())
	}

	/// Moves an item the cloud refused to `rejected/`.
	pub fn reject(&self, path: &Path) -> Result<(), QueueError> {
		let to = self.dir.join("rejected").join(path.file_name().unwrap_or_default());
		std::fs::rename(path, &to).map_err(io(path))?;
		let mut state = self.lock();
		state.len = state.len.saturating_sub(1);
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn items_leave_in_order_and_survive_a_reopen() {
		let dir = tempfile::tempdir().expect("tempdir");
		let q = Queue::open(dir.path(), 10).expect("open");
		q.push(Kind::Capsule, 7, b"capsule").expect("push");
		q.push(Kind::Record, 7, b"record 1").expect("push");
		drop(q);
		let q = Queue::open(dir.path(), 10).expect("reopen");
		assert_eq!(q.len(), 2);
		q.push(Kind::Record, 7, b"record 2").expect("push");
		let first = q.peek().expect("peek").expect("an item");
		assert_eq!(
			(first.kind, first.epoch, first.body.as_slice()),
			(Kind::Capsule, 7, &b"capsule"[..])
		);
		q.remove(&first).expect("remove");
		assert_eq!(q.peek().expect("peek").expect("item").body, b"record 1");
		assert_eq!(q.len(), 2);
	}

	#[test]
	fn a_full_queue_refuses_more() {
		let dir = tempfile::tempdir().expect("tempdir");
		let q = Queue::open(dir.path(), 1).expect("open");
		q.push(Kind::Record, 1, b"a").expect("push");
		assert!(matches!(q.push(Kind::Record, 1, b"b"), Err(QueueError::Full(1))));
	}

	#[test]
	fn a_refused_item_is_set_aside() {
		let dir = tempfile::tempdir().expect("tempdir");
		let q = Queue::open(dir.path(), 10).expect("open");
		q.push(Kind::Record, 1, b"a").expect("push");
		let item = q.peek().expect("peek").expect("item");
		q.reject(&item.path).expect("reject");
		assert!(q.is_empty());
		assert_eq!(std::fs::read_dir(dir.path().join("rejected")).expect("dir").count(), 1);
	}
}
