//! The sensor's upload log: capsules and signed batches, appended to segment files
//! and drained to the cloud in order, so that readings survive an outage of the
//! cloud and a restart or crash of the sensor, at one `fsync` per batch rather than
//! one file and one `fsync` per reading (what a Raspberry Pi's SD card can take).
//!
//! The log is a directory of segment files `<n>.seg` (`n` zero-padded to 20 digits),
//! each a run of entries
//!
//! ```text
//! u32_be(len) || u32_be(crc32(payload)) || payload
//! payload = u8(kind: 1 capsule, 2 batch) || u64_be(epoch) || body
//! ```
//!
//! appended to the newest segment and synced as each batch is written (group commit:
//! a batch holds the readings of up to its linger time). A crash can tear only the
//! last entry: opening the log checks every entry after the head and cuts the file
//! at the first one that is short or fails its CRC, so whole batches survive and a
//! torn one is dropped. The head, `head` in the directory (`u64_be(segment) ||
//! u64_be(offset)`), marks the first entry not yet taken by the cloud; it is moved
//! as entries are, and segments wholly before it are deleted. Losing a move of the
//! head only sends entries again, which the cloud takes as repeats. The log holds at
//! most `max_bytes` of entries not yet taken; past that, appends are refused.

use std::{
	fs::{File, OpenOptions},
	io::{Read, Seek, SeekFrom, Write},
	path::{Path, PathBuf},
	sync::Mutex,
};

/// A segment grows to about this many bytes before the next is started.
const SEGMENT_BYTES: u64 = 4 << 20;
/// The longest entry: a batch of the protocol's largest, and its framing.
const MAX_ENTRY: usize = sensorshare_protocol::batch::MAX_BATCH_BYTES + 64;
/// Length and CRC before an entry's payload.
const FRAME: usize = 8;

/// What an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
	/// An epoch's capsule.
	Capsule,
	/// A signed batch of the epoch's records.
	Batch,
}

impl Kind {
	fn byte(self) -> u8 {
		match self {
			Kind::Capsule => 1,
			Kind::Batch => 2,
		}
	}

	fn of(byte: u8) -> Option<Kind> {
		match byte {
			1 => Some(Kind::Capsule),
			2 => Some(Kind::Batch),
			_ => None,
		}
	}
}

/// Where an entry starts: its segment and its offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
	/// The segment's number.
	pub segment: u64,
	/// The offset in the segment.
	pub offset: u64,
}

/// An entry of the log, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
	/// Where it starts.
	pub at: Position,
	/// Where the next one starts: the head to set once this one is taken.
	pub next: Position,
	/// What it is.
	pub kind: Kind,
	/// The epoch it belongs to.
	pub epoch: u64,
	/// The body to upload.
	pub body: Vec<u8>,
}

/// Why the log failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
	/// The log holds its maximum; the entry was not added.
	#[error("the upload log is full ({0} bytes waiting)")]
	Full(u64),
	/// An entry is larger than any batch can be.
	#[error("an entry of {0} bytes is larger than a batch can be")]
	TooLarge(usize),
	/// A file could not be read or written.
	#[error("upload log {path}: {source}")]
	Io {
		/// The file or directory.
		path: PathBuf,
		/// What the operating system reported.
		source: std::io::Error,
	},
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> LogError + '_ {
	move |source| LogError::Io { path: path.to_path_buf(), source }
}

/// The upload log of a sensor.
#[derive(Debug)]
pub struct Log {
	dir: PathBuf,
	max_bytes: u64,
	state: Mutex<State>,
}

#[derive(Debug)]
struct State {
	/// The newest segment, open for appending, and its number and length.
	file: File,
	segment: u64,
	end: u64,
	/// The first entry not yet taken.
	head: Position,
	/// Bytes of entries from the head to the end.
	waiting: u64,
	/// Whether appends since the last sync may not be on disk yet.
	dirty: bool,
	/// How many times the log synced its data: what group commit saves.
	syncs: u64,
}

impl Log {
	/// Opens (or creates) the log in `dir`, holding at most `max_bytes` of entries
	/// not yet taken, and drops a torn last entry that a crash left.
	pub fn open(dir: &Path, max_bytes: u64) -> Result<Self, LogError> {
		std::fs::create_dir_all(dir).map_err(io(dir))?;
		let segments = Self::segments(dir)?;
		let head = read_head(dir)?
			.unwrap_or(Position { segment: segments.first().copied().unwrap_or(0), offset: 0 });
		let mut waiting = 0;
		let mut last = head.segment;
		for &n in segments.iter().filter(|n| **n >= head.segment) {
			let path = segment_path(dir, n);
			let from = if n == head.segment { head.offset } else { 0 };
			let valid = valid_end(&path, from)?;
			let len = std::fs::metadata(&path).map_err(io(&path))?.len();
			if valid < len {
				tracing::warn!(segment = %path.display(), dropped = len - valid, "dropping a torn entry at the end of the upload log");
				let f = OpenOptions::new().write(true).open(&path).map_err(io(&path))?;
				f.set_len(valid).map_err(io(&path))?;
				f.sync_all().map_err(io(&path))?;
			}
			waiting += valid.saturating_sub(from);
			last = n;
		}
		let path = segment_path(dir, last);
		let file = OpenOptions::new().create(true).append(true).open(&path).map_err(io(&path))?;
		let end = file.metadata().map_err(io(&path))?.len();
		let state = State { file, segment: last, end, head, waiting, dirty: false, syncs: 0 };
		Ok(Log { dir: dir.to_path_buf(), max_bytes, state: Mutex::new(state) })
	}

	fn segments(dir: &Path) -> Result<Vec<u64>, LogError> {
		let mut out = Vec::new();
		for entry in std::fs::read_dir(dir).map_err(io(dir))? {
			let path = entry.map_err(io(dir))?.path();
			if path.extension().is_some_and(|e| e == "seg") {
				if let Some(n) = path.file_stem().and_then(|s| s.to_str()?.parse().ok()) {
					out.push(n);
				}
			}
		}
		out.sort_unstable();
		Ok(out)
	}

	fn lock(&self) -> std::sync::MutexGuard<'_, State> {
		self.state.lock().unwrap_or_else(|e| e.into_inner())
	}

	/// Bytes of entries not yet taken by the cloud.
	pub fn waiting_bytes(&self) -> u64 {
		self.lock().waiting
	}

	/// Whether every entry was taken.
	pub fn is_empty(&self) -> bool {
		self.waiting_bytes() == 0
	}

	/// How many times the log has synced its data to disk since it was opened.
	pub fn syncs(&self) -> u64 {
		self.lock().syncs
	}

	/// Appends an entry at the end. It reaches the disk at the next
	/// [`Self::sync`]; until then a crash of the machine may lose it (a crash of
	/// the process does not).
	pub fn append(&self, kind: Kind, epoch: u64, body: &[u8]) -> Result<(), LogError> {
		let payload_len = 1 + 8 + body.len();
		if payload_len > MAX_ENTRY {
			return Err(LogError::TooLarge(body.len()));
		}
		let mut entry = Vec::with_capacity(FRAME + payload_len);
		entry.extend_from_slice(&(payload_len as u32).to_be_bytes());
		entry.extend_from_slice(&[0; 4]);
		entry.push(kind.byte());
		entry.extend_from_slice(&epoch.to_be_bytes());
		entry.extend_from_slice(body);
		let crc = crc32fast::hash(&entry[FRAME..]);
		entry[4..FRAME].copy_from_slice(&crc.to_be_bytes());

		let mut state = self.lock();
		if state.waiting + entry.len() as u64 > self.max_bytes {
			return Err(LogError::Full(state.waiting));
		}
		if state.end >= SEGMENT_BYTES {
			self.roll(&mut state)?;
		}
		let path = segment_path(&self.dir, state.segment);
		state.file.write_all(&entry).map_err(io(&path))?;
		state.end += entry.len() as u64;
		state.waiting += entry.len() as u64;
		state.dirty = true;
		Ok(())
	}

	/// Starts the next segment, after syncing the one it ends.
	fn roll(&self, state: &mut State) -> Result<(), LogError> {
		Self::sync_locked(&self.dir, state)?;
		let next = state.segment + 1;
		let path = segment_path(&self.dir, next);
		state.file = OpenOptions::new().create(true).append(true).open(&path).map_err(io(&path))?;
		state.segment = next;
		state.end = 0;
		sync_dir(&self.dir)
	}

	/// Makes every entry appended so far durable: one `fsync` for all of them.
	pub fn sync(&self) -> Result<(), LogError> {
		let mut state = self.lock();
		Self::sync_locked(&self.dir, &mut state)
	}

	fn sync_locked(dir: &Path, state: &mut State) -> Result<(), LogError> {
		if state.dirty {
			let path = segment_path(dir, state.segment);
			state.file.sync_data().map_err(io(&path))?;
			state.dirty = false;
			state.syncs += 1;
		}
		Ok(())
	}

	/// The first entry not yet taken.
	pub fn head(&self) -> Position {
		self.lock().head
	}

	/// Up to `max` entries from `from` on, in order (fewer at the end of the log).
	pub fn read(&self, from: Position, max: usize) -> Result<Vec<Entry>, LogError> {
		let (last_segment, end) = {
			let state = self.lock();
			(state.segment, state.end)
		};
		let mut out = Vec::new();
		let mut at = from;
		while out.len() < max {
			let limit = if at.segment == last_segment { end } else { u64::MAX };
			let path = segment_path(&self.dir, at.segment);
			let mut file = match File::open(&path) {
				Ok(f) => f,
				Err(e) if e.kind() == std::io::ErrorKind::NotFound && at.segment < last_segment => {
					at = Position { segment: at.segment + 1, offset: 0 };
					continue;
				},
				Err(e) => return Err(io(&path)(e)),
			};
			file.seek(SeekFrom::Start(at.offset)).map_err(io(&path))?;
			let mut reader = std::io::BufReader::new(file);
			while out.len() < max && at.offset < limit {
				match read_entry(&mut reader).map_err(io(&path))? {
					Some(Raw { kind, epoch, body, len }) => {
						let next = Position { segment: at.segment, offset: at.offset + len };
						out.push(Entry { at, next, kind, epoch, body });
						at = next;
					},
					None => break,
				}
			}
			if at.segment >= last_segment {
				break;
			}
			at = Position { segment: at.segment + 1, offset: 0 };
		}
		Ok(out)
	}

	/// Keeps a copy of an entry the cloud refused in `rejected/`, for inspection; the
	/// caller then advances past it like any other.
	pub fn set_aside(&self, entry: &Entry) -> Result<PathBuf, LogError> {
		let dir = self.dir.join("rejected");
		std::fs::create_dir_all(&dir).map_err(io(&dir))?;
		let kind = match entry.kind {
			Kind::Capsule => "capsule",
			Kind::Batch => "batch",
		};
		let name = format!("{:020}-{:020}.{kind}", entry.at.segment, entry.at.offset);
		let path = dir.join(name);
		let mut bytes = entry.epoch.to_be_bytes().to_vec();
		bytes.extend_from_slice(&entry.body);
		std::fs::write(&path, bytes).map_err(io(&path))?;
		Ok(path)
	}

	/// The epoch and sequence number of the last batch appended, as the newest
	/// segment records it (taken or not): where a restarted sensor's numbering of
	/// that epoch's batches goes on.
	pub fn last_batch(&self) -> Result<Option<(u64, u64)>, LogError> {
		let segment = self.lock().segment;
		let path = segment_path(&self.dir, segment);
		let file = File::open(&path).map_err(io(&path))?;
		let mut reader = std::io::BufReader::new(file);
		let mut last = None;
		while let Some(Raw { kind, epoch, body, .. }) =
			read_entry(&mut reader).map_err(io(&path))?
		{
			if kind == Kind::Batch {
				if let Ok((sequence, _)) = sensorshare_protocol::batch::batch_head(&body) {
					last = Some((epoch, sequence));
				}
			}
		}
		Ok(last)
	}

	/// Marks every entry before `to` as taken: moves the head there and deletes
	/// the segments wholly before it.
	pub fn advance(&self, to: Position) -> Result<(), LogError> {
		let mut state = self.lock();
		if to <= state.head {
			return Ok(());
		}
		let taken = self.bytes_between(state.head, to, state.segment, state.end)?;
		write_head(&self.dir, to)?;
		for n in state.head.segment..to.segment {
			let path = segment_path(&self.dir, n);
			match std::fs::remove_file(&path) {
				Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&path)(e)),
				_ => {},
			}
		}
		state.head = to;
		state.waiting = state.waiting.saturating_sub(taken);
		Ok(())
	}

	/// Bytes of the entries from `from` to `to`.
	fn bytes_between(
		&self,
		from: Position,
		to: Position,
		last: u64,
		end: u64,
	) -> Result<u64, LogError> {
		if from.segment == to.segment {
			return Ok(to.offset.saturating_sub(from.offset));
		}
		let mut bytes = 0;
		for n in from.segment..to.segment {
			let len = if n == last {
				end
			} else {
				let path = segment_path(&self.dir, n);
				std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
			};
			let start = if n == from.segment { from.offset } else { 0 };
			bytes += len.saturating_sub(start);
		}
		Ok(bytes + to.offset)
	}
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
	dir.join(format!("{n:020}.seg"))
}

/// An entry as read from a segment.
struct Raw {
	kind: Kind,
	epoch: u64,
	body: Vec<u8>,
	/// Its length in the file, framing included.
	len: u64,
}

/// Reads one entry. `None` at the end of the file, or at an entry that is short or
/// fails its CRC (a torn tail).
fn read_entry(r: &mut impl Read) -> std::io::Result<Option<Raw>> {
	let mut frame = [0u8; FRAME];
	if !read_full(r, &mut frame)? {
		return Ok(None);
	}
	let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
	let crc = u32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
	if !(9..=MAX_ENTRY).contains(&len) {
		return Ok(None);
	}
	let mut payload = vec![0u8; len];
	if !read_full(r, &mut payload)? || crc32fast::hash(&payload) != crc {
		return Ok(None);
	}
	let Some(kind) = Kind::of(payload[0]) else { return Ok(None) };
	let mut epoch = [0u8; 8];
	epoch.copy_from_slice(&payload[1..9]);
	let (epoch, body) = (u64::from_be_bytes(epoch), payload[9..].to_vec());
	Ok(Some(Raw { kind, epoch, body, len: (FRAME + len) as u64 }))
}

/// Fills `buf`, or returns false if the file ends first.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
	let mut filled = 0;
	while filled < buf.len() {
		match r.read(&mut buf[filled..])? {
			0 => return Ok(false),
			n => filled += n,
		}
	}
	Ok(true)
}

/// The offset after the last whole entry of `path` from `from` on.
fn valid_end(path: &Path, from: u64) -> Result<u64, LogError> {
	let mut file = File::open(path).map_err(io(path))?;
	file.seek(SeekFrom::Start(from)).map_err(io(path))?;
	let mut reader = std::io::BufReader::new(file);
	let mut end = from;
	while let Some(Raw { len, .. }) = read_entry(&mut reader).map_err(io(path))? {
		end += len;
	}
	Ok(end)
}

fn read_head(dir: &Path) -> Result<Option<Position>, LogError> {
	let path = dir.join("head");
	match std::fs::read(&path) {
		Ok(bytes) if bytes.len() == 16 => {
			let mut s = [0u8; 8];
			let mut o = [0u8; 8];
			s.copy_from_slice(&bytes[..8]);
			o.copy_from_slice(&bytes[8..]);
			Ok(Some(Position { segment: u64::from_be_bytes(s), offset: u64::from_be_bytes(o) }))
		},
		// A head torn by a crash: start from the oldest segment; the cloud takes
		// what it has already as repeats.
		Ok(_) => Ok(None),
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
		Err(e) => Err(io(&path)(e)),
	}
}

fn write_head(dir: &Path, at: Position) -> Result<(), LogError> {
	let (path, tmp) = (dir.join("head"), dir.join("head.tmp"));
	let mut bytes = [0u8; 16];
	bytes[..8].copy_from_slice(&at.segment.to_be_bytes());
	bytes[8..].copy_from_slice(&at.offset.to_be_bytes());
	std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
	std::fs::rename(&tmp, &path).map_err(io(&path))
}

fn sync_dir(dir: &Path) -> Result<(), LogError> {
	File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

#[cfg(test)]
mod tests {
	use super::*;

	fn bodies(entries: &[Entry]) -> Vec<(Kind, u64, Vec<u8>)> {
		entries.iter().map(|e| (e.kind, e.epoch, e.body.clone())).collect()
	}

	#[test]
	fn entries_leave_in_order_and_survive_a_reopen() {
		let dir = tempfile::tempdir().expect("tempdir");
		let log = Log::open(dir.path(), 1 << 20).expect("open");
		log.append(Kind::Capsule, 7, b"capsule").expect("append");
		log.append(Kind::Batch, 7, b"batch 0").expect("append");
		log.sync().expect("sync");
		drop(log);
		let log = Log::open(dir.path(), 1 << 20).expect("reopen");
		log.append(Kind::Batch, 7, b"batch 1").expect("append");
		let all = log.read(log.head(), 10).expect("read");
		assert_eq!(
			bodies(&all),
			[
				(Kind::Capsule, 7, b"capsule".to_vec()),
				(Kind::Batch, 7, b"batch 0".to_vec()),
				(Kind::Batch, 7, b"batch 1".to_vec())
			]
		);
		log.advance(all[0].next).expect("advance");
		drop(log);
		let log = Log::open(dir.path(), 1 << 20).expect("reopen");
		assert_eq!(bodies(&log.read(log.head(), 10).expect("read")).len(), 2, "the head held");
	}

	#[test]
	fn a_torn_last_entry_is_dropped_and_the_whole_ones_survive() {
		let dir = tempfile::tempdir().expect("tempdir");
		let log = Log::open(dir.path(), 1 << 20).expect("open");
		log.append(Kind::Batch, 1, b"whole").expect("append");
		log.append(Kind::Batch, 1, b"torn by the crash").expect("append");
		log.sync().expect("sync");
		drop(log);
		// The crash wrote only part of the last entry.
		let path = segment_path(dir.path(), 0);
		let len = std::fs::metadata(&path).expect("segment").len();
		OpenOptions::new().write(true).open(&path).expect("open").set_len(len - 5).expect("cut");
		let log = Log::open(dir.path(), 1 << 20).expect("reopen");
		assert_eq!(
			bodies(&log.read(log.head(), 10).expect("read")),
			[(Kind::Batch, 1, b"whole".to_vec())]
		);
		log.append(Kind::Batch, 1, b"after").expect("append after the cut");
		let after = log.read(log.head(), 10).expect("read");
		assert_eq!(after.len(), 2, "the next entry follows the last whole one");
	}

	#[test]
	fn a_corrupted_entry_ends_the_log_there() {
		let dir = tempfile::tempdir().expect("tempdir");
		let log = Log::open(dir.path(), 1 << 20).expect("open");
		log.append(Kind::Batch, 1, b"first").expect("append");
		log.append(Kind::Batch, 1, b"second").expect("append");
		drop(log);
		let path = segment_path(dir.path(), 0);
		let mut bytes = std::fs::read(&path).expect("read");
		let last = bytes.len() - 1;
		bytes[last] ^= 1;
		std::fs::write(&path, bytes).expect("write");
		let log = Log::open(dir.path(), 1 << 20).expect("reopen");
		assert_eq!(log.read(log.head(), 10).expect("read").len(), 1);
	}

	#[test]
	fn a_full_log_refuses_more_until_entries_are_taken() {
		let dir = tempfile::tempdir().expect("tempdir");
		let log = Log::open(dir.path(), 40).expect("open");
		log.append(Kind::Batch, 1, &[0; 20]).expect("append");
		assert!(matches!(log.append(Kind::Batch, 1, &[0; 20]), Err(LogError::Full(37))));
		let first = log.read(log.head(), 1).expect("read");
		log.advance(first[0].next).expect("advance");
		assert!(log.is_empty());
		log.append(Kind::Batch, 1, &[0; 20]).expect("room again");
	}

	#[test]
	fn segments_roll_and_the_taken_ones_are_deleted() {
		let dir = tempfile::tempdir().expect("tempdir");
		let log = Log::open(dir.path(), 64 << 20).expect("open");
		let body = vec![7u8; 1 << 20];
		for _ in 0..10 {
			log.append(Kind::Batch, 1, &body).expect("append");
		}
		let all = log.read(log.head(), 100).expect("read");
		assert_eq!(all.len(), 10);
		assert!(Log::segments(dir.path()).expect("list").len() >= 2, "rolled");
		log.advance(all[9].next).expect("advance");
		assert!(log.is_empty());
		assert_eq!(Log::segments(dir.path()).expect("list"), [all[9].next.segment]);
	}

	#[test]
	fn one_sync_covers_every_append_before_it() {
		let dir = tempfile::tempdir().expect("tempdir");
		let log = Log::open(dir.path(), 1 << 20).expect("open");
		for i in 0..100u8 {
			log.append(Kind::Batch, 1, &[i]).expect("append");
		}
		log.sync().expect("sync");
		log.sync().expect("nothing new");
		assert_eq!(log.syncs(), 1);
	}
}
