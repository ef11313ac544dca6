//! One wire format for the chain and the services: every public type's bytes, as hex
//! strings in human-readable serde formats (JSON, TOML), raw bytes otherwise, and the
//! same bytes under SCALE (`scale` feature).

use core::fmt;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `bytes` as lowercase hex.
pub(crate) fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
	for b in bytes {
		let pair = [HEX[(b >> 4) as usize], HEX[(b & 15) as usize]];
		// Both characters are ASCII hex digits.
		f.write_str(core::str::from_utf8(&pair).map_err(|_| fmt::Error)?)?;
	}
	Ok(())
}

#[cfg(feature = "serde")]
pub(crate) mod serde_impl {
	use alloc::{string::String, vec::Vec};
	use core::fmt;
	use serde::de::Visitor;

	pub(crate) fn to_hex(bytes: &[u8]) -> String {
		let mut s = String::with_capacity(bytes.len() * 2);
		for b in bytes {
			s.push(super::HEX[(b >> 4) as usize] as char);
			s.push(super::HEX[(b & 15) as usize] as char);
		}
		s
	}

	pub(crate) fn from_hex(s: &str) -> Option<Vec<u8>> {
		let s = s.strip_prefix("0x").unwrap_or(s);
		if !s.len().is_multiple_of(2) {
			return None;
		}
		let digit = |c: u8| match c {
			b'0'..=b'9' => Some(c - b'0'),
			b'a'..=b'f' => Some(c - b'a' + 10),
			b'A'..=b'F' => Some(c - b'A' + 10),
			_ => None,
		};
		s.as_bytes().chunks(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect()
	}

	pub(crate) struct BytesVisitor;

	impl<'de> Visitor<'de> for BytesVisitor {
		type Value = Vec<u8>;

		fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
			f.write_str("a hex string or a byte string")
		}

		fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
			from_hex(v).ok_or_else(|| E::custom("invalid hex string"))
		}

		fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
			Ok(v.to_vec())
		}

		fn visit_seq<A: serde::de::SeqAccess<'de>>(
			self,
			mut seq: A,
		) -> Result<Self::Value, A::Error> {
			let mut v = Vec::new();
			while let Some(b) = seq.next_element::<u8>()? {
				v.push(b);
			}
			Ok(v)
		}
	}

	pub(crate) fn deserialize_bytes<'de, D: serde::Deserializer<'de>>(
		d: D,
	) -> Result<Vec<u8>, D::Error> {
		if d.is_human_readable() {
			d.deserialize_str(BytesVisitor)
		} else {
			d.deserialize_bytes(BytesVisitor)
		}
	}

	pub(crate) fn invalid<E: serde::de::Error>(e: crate::Error) -> E {
		E::custom(e)
	}
}

/// Serde (hex in human-readable formats) and SCALE impls over `to_bytes`/`from_bytes`.
#[cfg(any(feature = "serde", feature = "scale"))]
macro_rules! impl_wire {
	($ty:ty, fixed $len:expr) => {
		$crate::wire::impl_wire!(@serde $ty);
		#[cfg(feature = "scale")]
		impl codec::Encode for $ty {
			fn size_hint(&self) -> usize {
				$len
			}
			fn encode_to<O: codec::Output + ?Sized>(&self, dest: &mut O) {
				dest.write(self.to_bytes().as_ref())
			}
		}
		#[cfg(feature = "scale")]
		impl codec::Decode for $ty {
			fn decode<I: codec::Input>(input: &mut I) -> Result<Self, codec::Error> {
				let mut buf = [0u8; $len];
				input.read(&mut buf)?;
				<$ty>::from_bytes(&buf).map_err(|_| codec::Error::from(concat!("invalid ", stringify!($ty))))
			}
		}
		#[cfg(feature = "scale")]
		impl codec::MaxEncodedLen for $ty {
			fn max_encoded_len() -> usize {
				$len
			}
		}
		#[cfg(feature = "scale")]
		impl scale_info::TypeInfo for $ty {
			type Identity = [u8; $len];
			fn type_info() -> scale_info::Type {
				<[u8; $len] as scale_info::TypeInfo>::type_info()
			}
		}
	};
	($ty:ty, variable) => {
		$crate::wire::impl_wire!(@serde $ty);
		#[cfg(feature = "scale")]
		impl codec::Encode for $ty {
			fn encode_to<O: codec::Output + ?Sized>(&self, dest: &mut O) {
				let bytes = self.to_bytes();
				let bytes: &[u8] = bytes.as_ref();
				bytes.encode_to(dest)
			}
		}
		#[cfg(feature = "scale")]
		impl codec::Decode for $ty {
			fn decode<I: codec::Input>(input: &mut I) -> Result<Self, codec::Error> {
				let bytes = <alloc::vec::Vec<u8> as codec::Decode>::decode(input)?;
				<$ty>::from_bytes(&bytes).map_err(|_| codec::Error::from(concat!("invalid ", stringify!($ty))))
			}
		}
		#[cfg(feature = "scale")]
		impl scale_info::TypeInfo for $ty {
			type Identity = alloc::vec::Vec<u8>;
			fn type_info() -> scale_info::Type {
				<alloc::vec::Vec<u8> as scale_info::TypeInfo>::type_info()
			}
		}
	};
	(@serde $ty:ty) => {
		#[cfg(feature = "serde")]
		impl serde::Serialize for $ty {
			fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
				let bytes = self.to_bytes();
				let bytes: &[u8] = bytes.as_ref();
				if s.is_human_readable() {
					s.serialize_str(&$crate::wire::serde_impl::to_hex(bytes))
				} else {
					s.serialize_bytes(bytes)
				}
			}
		}
		#[cfg(feature = "serde")]
		impl<'de> serde::Deserialize<'de> for $ty {
			fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
				let bytes = $crate::wire::serde_impl::deserialize_bytes(d)?;
				<$ty>::from_bytes(&bytes).map_err($crate::wire::serde_impl::invalid)
			}
		}
	};
}
#[cfg(any(feature = "serde", feature = "scale"))]
pub(crate) use impl_wire;

#[cfg(any(feature = "serde", feature = "scale"))]
mod impls {
	use crate::{
		CaPublicKey, Capsule, CertRequest, CertResponse, Certificate, PublicKey,
		ReEncryptedCapsule, ReKey, SealedRecord, Signature,
	};

	impl_wire!(CaPublicKey, fixed crate::POINT_LEN);
	impl_wire!(PublicKey, fixed crate::POINT_LEN);
	impl_wire!(Certificate, fixed crate::POINT_LEN);
	impl_wire!(ReKey, fixed crate::PAD_LEN);
	impl_wire!(Signature, fixed crate::SIGNATURE_LEN);
	impl_wire!(CertRequest, variable);
	impl_wire!(CertResponse, variable);
	impl_wire!(Capsule, variable);
	impl_wire!(ReEncryptedCapsule, variable);
	impl_wire!(SealedRecord, variable);
}
