//! Constant-time fixed-base multiplication `k*G`, for the secret scalars of the
//! scheme: the capsule nonce `r` in Encrypt and Decrypt1 (and `r*d_A` in Encrypt, for
//! `r*P_A`), the signing nonce `k`, and `alpha`, `r_t`, `r_U` and `d` in Setup and
//! CertifiedUserKeyGen.
//!
//! A comb of 64 windows of 4 bits: window `i` holds `j * 16^i * G` for `j = 0..16`,
//! so `k*G` is the sum over the windows of entry `k_i`, the `i`-th nibble of `k`:
//! 64 mixed additions and no doublings, where p256's generic `ProjectivePoint *
//! Scalar` spends about 256 doublings and 64 additions. Each entry is read by scanning all
//! 16 with a constant-time select, so neither a branch nor a memory access depends
//! on the scalar; p256's complete addition formulas take the identity (entry 0, and
//! the starting accumulator) without a branch either.
//!
//! The table (64 x 16 affine points, 72 KiB on a 64-bit target) is built once, by the first
//! multiplication or by [`warm_up`], and its lazy static needs `std`. Without `std`
//! the multiplication is p256's generic one: as constant time, only slower.
//!
//! The public fixed-base products (`s*G` in Verify and Decrypt2) stay with the
//! variable-time `msm`.

use p256::{ProjectivePoint, Scalar};

/// `k*G` in constant time, from the table of `G`'s multiples (built on first use).
#[cfg(feature = "std")]
pub(crate) fn mul_base(k: &Scalar) -> ProjectivePoint {
	table::Table::get().mul(k)
}

/// `k*G` in constant time: without `std` there is no lazily built table, so this is
/// p256's generic multiplication.
#[cfg(not(feature = "std"))]
pub(crate) fn mul_base(k: &Scalar) -> ProjectivePoint {
	ProjectivePoint::GENERATOR * k
}

/// Builds the table of `G`'s multiples if no multiplication has built it yet:
/// 1024 point additions and 960 field inversions, paid once per process. The
/// inversions dominate, at roughly the cost of 70 generic multiplications, against
/// a fraction of one saved by every multiplication from the table (the bench group
/// `fixed_base` measures both). Later calls return at once. Without the `std`
/// feature there is no table, and this does nothing.
#[cfg(feature = "std")]
pub fn warm_up() {
	table::Table::get();
}

/// Builds the table of `G`'s multiples if no multiplication has built it yet.
/// Without the `std` feature (this build) there is no table, and this does nothing.
#[cfg(not(feature = "std"))]
pub fn warm_up() {}

/// The table and its constant-time lookup; `std` only, for the lazy static.
#[cfg(feature = "std")]
mod table {
	use crate::SCALAR_LEN;
	use p256::{AffinePoint, ProjectivePoint, Scalar};
	use std::sync::OnceLock;
	use subtle::{ConditionallySelectable, ConstantTimeEq};
	use zeroize::{Zeroize, Zeroizing};

	/// Bits of the scalar per window.
	const WINDOW_BITS: usize = 4;
	/// Windows of a 256-bit scalar.
	const WINDOWS: usize = 8 * SCALAR_LEN / WINDOW_BITS;
	/// Entries of a window: the multiples `0..16` of its base.
	const ENTRIES: usize = 1 << WINDOW_BITS;

	/// `windows[i][j] = j * 16^i * G`, in affine form so that every addition of a
	/// multiplication is a mixed one. Entry 0 of each window is the identity.
	pub(super) struct Table {
		/// The `WINDOWS` windows, least significant first.
		pub(super) windows: Vec<[AffinePoint; ENTRIES]>,
	}

	/// The process's table, built by the first caller; every later one reads it.
	static TABLE: OnceLock<Table> = OnceLock::new();

	impl Table {
		/// The shared table, built on first use.
		pub(super) fn get() -> &'static Table {
			TABLE.get_or_init(Table::build)
		}

		/// 64 windows of 16 multiples, each entry one projective addition from the
		/// one before and one inversion to affine form. p256 0.13 has no batch
		/// normalization for P-256 (its field element lacks the `Invert` impl that
		/// `BatchNormalize` asks for), hence one inversion per point. Only public
		/// multiples of `G` are involved: timing does not matter here.
		fn build() -> Table {
			let mut windows = Vec::with_capacity(WINDOWS);
			// `16^i * G`, the base of window `i`.
			let mut base = ProjectivePoint::GENERATOR;
			for _ in 0..WINDOWS {
				let mut window = [AffinePoint::IDENTITY; ENTRIES];
				let mut multiple = ProjectivePoint::IDENTITY;
				for entry in window.iter_mut().skip(1) {
					multiple += base;
					*entry = multiple.to_affine();
				}
				// `16 * base = 15 * base + base`.
				base = multiple + base;
				windows.push(window);
			}
			Table { windows }
		}

		/// `k*G = sum_i windows[i][k_i]`, `k_i` the `i`-th nibble of `k` from the
		/// least significant end. A scalar is reduced, below `n < 2^256`: its 64
		/// nibbles are all of it.
		pub(super) fn mul(&self, k: &Scalar) -> ProjectivePoint {
			let bytes = Zeroizing::new(k.to_bytes());
			let mut acc = ProjectivePoint::IDENTITY;
			let mut entry = AffinePoint::IDENTITY;
			for (i, window) in self.windows.iter().enumerate() {
				// Big-endian: nibble `i` is in byte `31 - i/2`, its low half for even `i`.
				// The position is public; only the nibble's value is secret.
				let byte = bytes[SCALAR_LEN - 1 - i / 2];
				let nibble = (byte >> (WINDOW_BITS * (i % 2))) & 0x0f;
				select(window, nibble, &mut entry);
				acc += &entry;
			}
			// The last entry read tells the scalar's top nibble.
			entry.zeroize();
			acc
		}
	}

	/// Sets `out` to `window[index]`, reading every entry and keeping the wanted one
	/// with a constant-time select: no branch or memory access depends on `index`.
	fn select(window: &[AffinePoint; ENTRIES], index: u8, out: &mut AffinePoint) {
		*out = AffinePoint::IDENTITY;
		for (j, candidate) in (0u8..).zip(window) {
			out.conditional_assign(candidate, j.ct_eq(&index));
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use p256::{
		elliptic_curve::{Field, PrimeField},
		FieldBytes,
	};
	use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

	/// The reference: p256's generic constant-time multiplication.
	fn generic(k: &Scalar) -> ProjectivePoint {
		ProjectivePoint::GENERATOR * k
	}

	#[test]
	fn the_table_gives_the_same_point_as_the_generic_multiplication() {
		let mut rng = ChaCha20Rng::seed_from_u64(252);
		for _ in 0..200 {
			let k = Scalar::random(&mut rng);
			assert_eq!(mul_base(&k), generic(&k));
		}
	}

	#[test]
	fn edge_scalars_give_the_same_point_as_the_generic_multiplication() {
		// 2^252: only the top window's digit is set, to 1.
		let mut top = [0u8; 32];
		top[0] = 0x10;
		let two_252 = Scalar::from_repr(FieldBytes::from(top)).unwrap();
		for k in [
			Scalar::ZERO,
			Scalar::ONE,
			Scalar::from(2u64),
			Scalar::from(15u64),
			Scalar::from(16u64),
			Scalar::from(17u64),
			-Scalar::ONE,
			two_252,
		] {
			assert_eq!(mul_base(&k), generic(&k), "k = {k:?}");
		}
		assert_eq!(mul_base(&Scalar::ZERO), ProjectivePoint::IDENTITY);
	}

	#[cfg(feature = "std")]
	#[test]
	fn window_i_holds_the_multiples_of_16_to_the_i_times_the_generator() {
		warm_up();
		let table = table::Table::get();
		assert_eq!(table.windows.len(), 64);
		for i in [0usize, 1, 31, 63] {
			let base = Scalar::from(16u64).pow_vartime(&[i as u64]);
			for (j, entry) in table.windows[i].iter().enumerate() {
				let expected = generic(&(Scalar::from(j as u64) * base)).to_affine();
				assert_eq!(*entry, expected, "window {i}, entry {j}");
			}
		}
	}
}
