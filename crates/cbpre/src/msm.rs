//! Variable-time multi-scalar multiplication (Straus' interleaving with width-5
//! wNAF), for the public computations of the scheme: `R = s*G + h*P_A` in Verify and
//! Decrypt2, and `H1(Cert, id)*Cert` in PublicKey. Only ever called on public scalars
//! and points: it is not constant time.
//!
//! p256 0.13's `LinearCombination` computes the two products of `R` separately and
//! in constant time; sharing the doublings and skipping the constant-time table
//! lookups makes `R` cost about half of one constant-time multiplication.

use p256::{
	elliptic_curve::{group::Group, PrimeField},
	ProjectivePoint, Scalar,
};

const W: u32 = 5;
/// Odd multiples `1, 3, .., 2^(W-1) - 1` of a base.
const TABLE: usize = 1 << (W - 2);
/// A 256-bit scalar has at most 257 wNAF digits.
const DIGITS: usize = 257;

/// The width-`W` non-adjacent form of `s`, least significant digit first.
fn wnaf(s: &Scalar) -> [i8; DIGITS] {
	// Little-endian 64-bit limbs, with one spare limb for the carry of a negative digit.
	let be = s.to_repr();
	let mut k = [0u64; 5];
	for (i, limb) in k.iter_mut().take(4).enumerate() {
		let mut b = [0u8; 8];
		b.copy_from_slice(&be[32 - 8 * (i + 1)..32 - 8 * i]);
		*limb = u64::from_be_bytes(b);
	}
	let mut out = [0i8; DIGITS];
	let window = 1u64 << W;
	let mut i = 0;
	while k.iter().any(|l| *l != 0) && i < DIGITS {
		if k[0] & 1 == 1 {
			let m = k[0] & (window - 1);
			if m >= window / 2 {
				// Negative digit m - 2^W: add 2^W - m to k.
				add_small(&mut k, window - m);
				out[i] = (m as i64 - window as i64) as i8;
			} else {
				sub_small(&mut k, m);
				out[i] = m as i8;
			}
		}
		shr1(&mut k);
		i += 1;
	}
	out
}

fn add_small(k: &mut [u64; 5], v: u64) {
	let mut carry = v;
	for limb in k.iter_mut() {
		let (s, c) = limb.overflowing_add(carry);
		*limb = s;
		carry = c as u64;
		if carry == 0 {
			break;
		}
	}
}

fn sub_small(k: &mut [u64; 5], v: u64) {
	let mut borrow = v;
	for limb in k.iter_mut() {
		let (s, b) = limb.overflowing_sub(borrow);
		*limb = s;
		borrow = b as u64;
		if borrow == 0 {
			break;
		}
	}
}

fn shr1(k: &mut [u64; 5]) {
	for i in 0..5 {
		let hi = if i + 1 < 5 { k[i + 1] << 63 } else { 0 };
		k[i] = (k[i] >> 1) | hi;
	}
}

/// `[P, 3P, 5P, .., 15P]`. Kept projective: with p256's complete formulas a mixed
/// addition saves almost nothing, and normalising would cost inversions.
fn odd_multiples(p: &ProjectivePoint) -> [ProjectivePoint; TABLE] {
	let mut table = [*p; TABLE];
	let p2 = p.double();
	for i in 1..TABLE {
		table[i] = table[i - 1] + p2;
	}
	table
}

/// `sum k_i * P_i` by Straus' method: one shared chain of doublings.
fn straus<const N: usize>(terms: [(&Scalar, &ProjectivePoint); N]) -> ProjectivePoint {
	let digits = terms.map(|(k, _)| wnaf(k));
	let tables = terms.map(|(_, p)| odd_multiples(p));
	let top = (0..DIGITS).rev().find(|&i| digits.iter().any(|d| d[i] != 0));
	let Some(top) = top else { return ProjectivePoint::IDENTITY };
	let mut acc = ProjectivePoint::IDENTITY;
	for i in (0..=top).rev() {
		acc = acc.double();
		for (d, table) in digits.iter().zip(tables.iter()) {
			let d = d[i];
			if d > 0 {
				acc += table[(d as usize) / 2];
			} else if d < 0 {
				acc -= table[((-d) as usize) / 2];
			}
		}
	}
	acc
}

/// `a*P + b*Q`, in variable time.
pub(crate) fn mul2_vartime(
	a: &Scalar,
	p: &ProjectivePoint,
	b: &Scalar,
	q: &ProjectivePoint,
) -> ProjectivePoint {
	straus([(a, p), (b, q)])
}

/// `k*P`, in variable time: for public `k` only.
pub(crate) fn mul_vartime(k: &Scalar, p: &ProjectivePoint) -> ProjectivePoint {
	straus([(k, p)])
}

#[cfg(test)]
mod tests {
	use super::*;
	use p256::elliptic_curve::Field;
	use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

	#[test]
	fn agrees_with_two_constant_time_multiplications() {
		let mut rng = ChaCha20Rng::seed_from_u64(7);
		let g = ProjectivePoint::GENERATOR;
		for _ in 0..64 {
			let (a, b) = (Scalar::random(&mut rng), Scalar::random(&mut rng));
			let q = g * Scalar::random(&mut rng);
			assert_eq!(mul2_vartime(&a, &g, &b, &q), g * a + q * b);
			assert_eq!(mul_vartime(&a, &q), q * a);
		}
	}

	#[test]
	fn handles_edge_scalars() {
		let g = ProjectivePoint::GENERATOR;
		let q = g * Scalar::from(12345u64);
		let minus_one = -Scalar::ONE;
		for (a, b) in [
			(Scalar::ZERO, Scalar::ZERO),
			(Scalar::ONE, Scalar::ZERO),
			(minus_one, minus_one),
			(Scalar::from(u64::MAX), minus_one),
			(Scalar::from(31u64), Scalar::from(16u64)),
		] {
			assert_eq!(mul2_vartime(&a, &g, &b, &q), g * a + q * b);
		}
	}
}
