//! The clear header of a sealed record.
//!
//! `u8(1) || u64_be(unix time in milliseconds)`. The header is authenticated by the
//! record's AEAD (it is part of the associated data), so the cloud can file a record
//! by its time, and a data user can trust the time, without either seeing the
//! reading.

use crate::{malformed, Error};

/// The header's version byte.
pub const VERSION: u8 = 1;
/// Length of a version 1 header.
pub const LEN: usize = 9;

/// A record's clear header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordHeader {
	/// When the reading was taken: milliseconds since the Unix epoch.
	pub timestamp_ms: u64,
}

impl RecordHeader {
	/// A header for a reading taken at `timestamp_ms`.
	pub fn new(timestamp_ms: u64) -> Self {
		RecordHeader { timestamp_ms }
	}

	/// The header's bytes.
	pub fn to_bytes(&self) -> [u8; LEN] {
		let mut out = [0u8; LEN];
		out[0] = VERSION;
		out[1..].copy_from_slice(&self.timestamp_ms.to_be_bytes());
		out
	}

	/// Decodes a header strictly.
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
		let (&version, rest) =
			bytes.split_first().ok_or_else(|| malformed("record header", "empty"))?;
		if version != VERSION {
			return Err(Error::UnknownHeaderVersion(version));
		}
		let ts: [u8; 8] = rest.try_into().map_err(|_| {
			malformed("record header", format!("{} bytes, expected {LEN}", bytes.len()))
		})?;
		Ok(RecordHeader { timestamp_ms: u64::from_be_bytes(ts) })
	}

	/// The epoch the reading belongs to, for epochs of `epoch_secs` seconds: epoch `t`
	/// covers `[t*epoch_secs, (t+1)*epoch_secs)` seconds since the Unix epoch.
	pub fn epoch(&self, epoch_secs: u64) -> Option<u64> {
		sensorshare_market::epoch::of_millis(self.timestamp_ms, epoch_secs)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_header_round_trips_and_names_its_epoch() {
		let h = RecordHeader::new(1_700_000_123_456);
		assert_eq!(RecordHeader::from_bytes(&h.to_bytes()), Ok(h));
		assert_eq!(h.epoch(60), Some(1_700_000_123 / 60));
		assert_eq!(h.epoch(0), None);
	}

	#[test]
	fn a_header_of_another_version_or_length_is_refused() {
		let mut b = RecordHeader::new(5).to_bytes();
		b[0] = 2;
		assert_eq!(RecordHeader::from_bytes(&b), Err(Error::UnknownHeaderVersion(2)));
		assert!(matches!(RecordHeader::from_bytes(&b[..1]), Err(Error::UnknownHeaderVersion(2))));
		let b = RecordHeader::new(5).to_bytes();
		assert!(matches!(RecordHeader::from_bytes(&b[..8]), Err(Error::Malformed { .. })));
		assert!(matches!(RecordHeader::from_bytes(&[]), Err(Error::Malformed { .. })));
	}
}
