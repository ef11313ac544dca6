//! The domain-separation tags of what the chain checks. `sensorshare_protocol::domain`
//! re-exports them beside the services' own tags, so that every tag of SensorShare
//! is listed there.

/// A registration's proof of possession: a Schnorr signature by the key derived
/// from `(id, cert)` over this tag, the chain, the account and the kind of
/// registration ([`crate::possession::message`]).
pub const POSSESSION: &[u8] = b"SENSORSHARE-V1-POSSESSION";
