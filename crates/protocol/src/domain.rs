//! Every domain-separation tag of SensorShare's protocol, in one place.
//!
//! The scheme's own tags live in `cbpre::domain`; these prefix the messages that a
//! participant signs with its CB-PRE key, so that a signature for one purpose is
//! never valid for another.

/// A registration's proof of possession, which the chain checks: defined with the
/// message it prefixes in `sensorshare_market`, which the pallet builds too.
pub use sensorshare_market::domain::POSSESSION;

/// A sensor's signature over a batch of sealed records of one epoch.
pub const RECORD_BATCH: &[u8] = b"SENSORSHARE-V1-RECORD-BATCH";
/// A requester's signature over a provider's download challenge.
pub const DOWNLOAD_CHALLENGE: &[u8] = b"SENSORSHARE-V1-DOWNLOAD";

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn no_tag_is_a_prefix_of_another() {
		let tags = [POSSESSION, RECORD_BATCH, DOWNLOAD_CHALLENGE];
		for (i, a) in tags.iter().enumerate() {
			for b in &tags[i + 1..] {
				assert!(!a.starts_with(b) && !b.starts_with(a), "{a:?} and {b:?}");
			}
		}
	}
}
