//! Every domain-separation tag of the scheme, in one place.
//!
//! Each hash of the scheme runs with its own tag, so that no output of one hash can
//! stand in for another's. The tags are part of the CB-PRE v1 format: changing one
//! changes every ciphertext and key.

/// `H1(Cert, id)`: the certificate's hash, binding an identity to its certificate.
pub const H1: &[u8] = b"CBPRE-V1-H1";
/// `H2(d, meta)`: the per-capsule nonce `r`, derived from the owner's key.
pub const H2: &[u8] = b"CBPRE-V1-H2";
/// `H3(meta, Q)`: the 32-byte pad that masks a data key.
pub const H3: &[u8] = b"CBPRE-V1-H3";
/// `H4(C, meta, R)`: the Schnorr challenge that authenticates a capsule.
pub const H4: &[u8] = b"CBPRE-V1-H4";
/// The data-key derivation `dek(d, meta)`.
pub const DEK: &[u8] = b"CBPRE-V1-DEK";
/// Prefix of every record's associated data.
pub const DEM: &[u8] = b"CBPRE-V1-DEM";
/// Schnorr signatures by a participant's key over arbitrary messages (uploads,
/// download challenges). Not part of the paper's scheme; same group and key.
pub const SIG: &[u8] = b"CBPRE-V1-SIG";
/// The nonce of a Schnorr signature, derived from the key, the message and fresh
/// randomness.
pub const SIG_NONCE: &[u8] = b"CBPRE-V1-SIG-NONCE";
