//! Variable-time multi-scalar multiplication (Straus' interleaving with width-5
//! wNAF), for the public computations of the scheme: `R = s*G + h*P_A` in Verify and
//! Decrypt2, and `H1(Cert, id)*Cert` in PublicKey. Only ever called on public scalars
//! and points: it is not constant time.
//!
//! p256 0.13's `LinearCombination` computes the two products of `R` separately and
//! in constant time. Here the two share one chain of doublings, skip the
//! constant-time table lookups, and run in Jacobian coordinates with P-256's
//! `a = -3` doubling, on p256's own field arithmetic.

use p256::{
	elliptic_curve::{
		sec1::{FromEncodedPoint, ToEncodedPoint},
		PrimeField,
	},
	AffinePoint, EncodedPoint, FieldElement, Scalar,
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

/// A point in Jacobian coordinates `(X, Y, Z)`, `x = X/Z^2`, `y = Y/Z^3`; `Z = 0` is
/// the identity. P-256 has `a = -3`, for which a Jacobian doubling costs 3M + 5S
/// against about 12M for the complete projective formulas p256 uses in constant
/// time; the doublings are most of a multiplication's cost.
#[derive(Clone, Copy)]
struct Jacobian {
	x: FieldElement,
	y: FieldElement,
	z: FieldElement,
}

impl Jacobian {
	const IDENTITY: Self =
		Jacobian { x: FieldElement::ONE, y: FieldElement::ONE, z: FieldElement::ZERO };

	fn is_identity(&self) -> bool {
		bool::from(self.z.is_zero())
	}

	fn from_affine(p: &AffinePoint) -> Self {
		let encoded = p.to_encoded_point(false);
		let coordinate = |c: Option<&p256::FieldBytes>| {
			c.and_then(|bytes| Option::<FieldElement>::from(FieldElement::from_repr(*bytes)))
		};
		match (coordinate(encoded.x()), coordinate(encoded.y())) {
			(Some(x), Some(y)) => Jacobian { x, y, z: FieldElement::ONE },
			_ => Self::IDENTITY,
		}
	}

	fn to_affine(self) -> AffinePoint {
		let Some(z_inv) = Option::<FieldElement>::from(self.z.invert()) else {
			return AffinePoint::IDENTITY;
		};
		let z_inv2 = z_inv.square();
		let x = self.x * z_inv2;
		let y = self.y * z_inv2 * z_inv;
		let encoded = EncodedPoint::from_affine_coordinates(&x.to_repr(), &y.to_repr(), false);
		// On the curve by construction; the decoding checks it once more.
		Option::from(AffinePoint::from_encoded_point(&encoded)).unwrap_or(AffinePoint::IDENTITY)
	}

	fn neg(&self) -> Self {
		Jacobian { x: self.x, y: -self.y, z: self.z }
	}

	/// dbl-2001-b (a = -3).
	fn double(&self) -> Self {
		if self.is_identity() {
			return *self;
		}
		let delta = self.z.square();
		let gamma = self.y.square();
		let beta = self.x * gamma;
		let t = (self.x - delta) * (self.x + delta);
		let alpha = t.double() + t;
		let beta4 = beta.double().double();
		let x = alpha.square() - beta4.double();
		let z = (self.y + self.z).square() - gamma - delta;
		let y = alpha * (beta4 - x) - gamma.square().double().double().double();
		Jacobian { x, y, z }
	}

	/// add-2007-bl, with the cases it excludes (an identity, equal or opposite points).
	fn add(&self, other: &Self) -> Self {
		if self.is_identity() {
			return *other;
		}
		if other.is_identity() {
			return *self;
		}
		let z1z1 = self.z.square();
		let z2z2 = other.z.square();
		let u1 = self.x * z2z2;
		let u2 = other.x * z1z1;
		let s1 = self.y * other.z * z2z2;
		let s2 = other.y * self.z * z1z1;
		let h = u2 - u1;
		let r = (s2 - s1).double();
		if bool::from(h.is_zero()) {
			return if bool::from(r.is_zero()) { self.double() } else { Self::IDENTITY };
		}
		let i = h.double().square();
		let j = h * i;
		let v = u1 * i;
		let x = r.square() - j - v.double();
		let y = r * (v - x) - (s1 * j).double();
		let z = ((self.z + other.z).square() - z1z1 - z2z2) * h;
		Jacobian { x, y, z }
	}
}

/// `[P, 3P, 5P, .., 15P]`.
fn odd_multiples(p: &AffinePoint) -> [Jacobian; TABLE] {
	let p = Jacobian::from_affine(p);
	let mut table = [p; TABLE];
	let p2 = p.double();
	for i in 1..TABLE {
		table[i] = table[i - 1].add(&p2);
	}
	table
}

/// `sum k_i * P_i` by Straus' method: one shared chain of doublings.
fn straus<const N: usize>(terms: [(&Scalar, &AffinePoint); N]) -> AffinePoint {
	let digits = terms.map(|(k, _)| wnaf(k));
	let tables = terms.map(|(_, p)| odd_multiples(p));
	let top = (0..DIGITS).rev().find(|&i| digits.iter().any(|d| d[i] != 0));
	let Some(top) = top else { return AffinePoint::IDENTITY };
	let mut acc = Jacobian::IDENTITY;
	for i in (0..=top).rev() {
		acc = acc.double();
		for (d, table) in digits.iter().zip(tables.iter()) {
			let d = d[i];
			if d > 0 {
				acc = acc.add(&table[(d as usize) / 2]);
			} else if d < 0 {
				acc = acc.add(&table[((-d) as usize) / 2].neg());
			}
		}
	}
	acc.to_affine()
}

/// `a*P + b*Q`, in variable time.
pub(crate) fn mul2_vartime(
	a: &Scalar,
	p: &AffinePoint,
	b: &Scalar,
	q: &AffinePoint,
) -> AffinePoint {
	straus([(a, p), (b, q)])
}

/// `k*P`, in variable time: for public `k` only.
pub(crate) fn mul_vartime(k: &Scalar, p: &AffinePoint) -> AffinePoint {
	straus([(k, p)])
}

#[cfg(test)]
mod tests {
	use super::*;
	use p256::{elliptic_curve::Field, ProjectivePoint};
	use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

	fn affine(p: ProjectivePoint) -> AffinePoint {
		p.to_affine()
	}

	#[test]
	fn agrees_with_two_constant_time_multiplications() {
		let mut rng = ChaCha20Rng::seed_from_u64(7);
		let g = ProjectivePoint::GENERATOR;
		for _ in 0..64 {
			let (a, b) = (Scalar::random(&mut rng), Scalar::random(&mut rng));
			let q = g * Scalar::random(&mut rng);
			assert_eq!(mul2_vartime(&a, &affine(g), &b, &affine(q)), affine(g * a + q * b));
			assert_eq!(mul_vartime(&a, &affine(q)), affine(q * a));
		}
	}

	#[test]
	fn handles_edge_scalars_and_points() {
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
			assert_eq!(mul2_vartime(&a, &affine(g), &b, &affine(q)), affine(g * a + q * b));
		}
		// Equal and opposite points, so that additions meet doublings and cancellations.
		let k = Scalar::from(977u64);
		assert_eq!(mul2_vartime(&k, &affine(q), &k, &affine(q)), affine(q * (k + k)));
		assert_eq!(mul2_vartime(&k, &affine(q), &k, &affine(-q)), AffinePoint::IDENTITY);
		assert_eq!(mul_vartime(&k, &AffinePoint::IDENTITY), AffinePoint::IDENTITY);
	}
}
