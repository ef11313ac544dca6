//! Every domain-separation tag of SensorShare's protocol, in one place.
//!
//! The scheme's own tags live in `cbpre::domain`; these prefix the messages that a
//! participant signs with its CB-PRE key, so that a signature for one purpose is
//! never valid for another.

/// A sensor's signature over a sealed record it uploads.
pub const RECORD_UPLOAD: &[u8] = b"SENSORSHARE-V1-RECORD-UPLOAD";
/// A requester's signature over a provider's download challenge.
pub const DOWNLOAD_CHALLENGE: &[u8] = b"SENSORSHARE-V1-DOWNLOAD";
