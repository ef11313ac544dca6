//! What a request costs: the owner's price, the provider's fee, both held in escrow,
//! and the requester's deposit for the agreement's record. The pallet charges what
//! this computes and the clients quote it, so the two never differ.

use num_traits::{CheckedAdd, CheckedMul, CheckedSub, Zero};

/// The cost of a request for some sensors over some epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote<B> {
	/// Sensors × epochs.
	pub sensor_epochs: u64,
	/// What the owner receives: each sensor's price per epoch × epochs.
	pub price: B,
	/// What the provider receives: its fee per epoch × sensors × epochs.
	pub fee: B,
	/// What the requester pays into escrow: `price + fee`.
	pub escrow: B,
	/// What the requester holds for the record until it closes:
	/// `deposit_base + deposit_per_epoch × sensors × epochs`.
	pub deposit: B,
}

/// The rates a quote is made of, from the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates<B> {
	/// The provider's fee per sensor and epoch.
	pub fee_per_epoch: B,
	/// The agreement deposit's fixed part.
	pub deposit_base: B,
	/// The agreement deposit per sensor and epoch.
	pub deposit_per_epoch: B,
}

/// The quote for `epochs` epochs of sensors priced `prices` (one per sensor, per
/// epoch) at `rates`; `None` if any amount overflows.
pub fn quote<B>(prices: &[B], epochs: u64, rates: &Rates<B>) -> Option<Quote<B>>
where
	B: Copy + Zero + CheckedAdd + CheckedMul + TryFrom<u64>,
{
	let epochs_b = B::try_from(epochs).ok()?;
	let mut price = B::zero();
	for p in prices {
		price = price.checked_add(&p.checked_mul(&epochs_b)?)?;
	}
	let sensor_epochs = epochs.checked_mul(u64::try_from(prices.len()).ok()?)?;
	let sensor_epochs_b = B::try_from(sensor_epochs).ok()?;
	let fee = rates.fee_per_epoch.checked_mul(&sensor_epochs_b)?;
	let escrow = price.checked_add(&fee)?;
	let deposit =
		rates.deposit_per_epoch.checked_mul(&sensor_epochs_b)?.checked_add(&rates.deposit_base)?;
	Some(Quote { sensor_epochs, price, fee, escrow, deposit })
}

/// What an agreement owes when it closes, out of its escrow; the requester gets
/// the rest back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due<B> {
	/// To the owner: each sensor's price for each epoch delivered with data.
	pub owner: B,
	/// To the provider: its fee for each sensor-epoch delivered with data.
	pub provider: B,
}

/// What is due for the first `delivered` epochs of an agreement on sensors priced
/// `prices` (per epoch, one per sensor) at a fee of `fee_per_epoch` per sensor
/// and epoch, of which `empty` sensor-epochs, priced `empty_price` together, were
/// delivered without data and are not paid. `None` if an amount overflows or the
/// empty ones are more than were delivered.
///
/// With `delivered` all of the agreement's epochs and nothing empty, this is the
/// [`quote`]'s price and fee: a full delivery is paid what was quoted.
pub fn due<B>(
	prices: &[B],
	fee_per_epoch: B,
	delivered: u64,
	empty: u64,
	empty_price: B,
) -> Option<Due<B>>
where
	B: Copy + Zero + CheckedAdd + CheckedSub + CheckedMul + TryFrom<u64>,
{
	let delivered_b = B::try_from(delivered).ok()?;
	let mut owner = B::zero();
	for p in prices {
		owner = owner.checked_add(&p.checked_mul(&delivered_b)?)?;
	}
	let owner = owner.checked_sub(&empty_price)?;
	let paid_epochs =
		delivered.checked_mul(u64::try_from(prices.len()).ok()?)?.checked_sub(empty)?;
	let provider = fee_per_epoch.checked_mul(&B::try_from(paid_epochs).ok()?)?;
	Some(Due { owner, provider })
}

#[cfg(test)]
mod tests {
	use super::*;

	const RATES: Rates<u128> = Rates { fee_per_epoch: 2, deposit_base: 100, deposit_per_epoch: 3 };

	#[test]
	fn a_quote_is_each_price_times_epochs_and_the_fee_and_deposit_per_sensor_epoch() {
		let q = quote(&[5u128, 7], 3, &RATES).expect("fits");
		assert_eq!(q.sensor_epochs, 6);
		assert_eq!(q.price, 36, "(5 + 7) × 3");
		assert_eq!(q.fee, 12, "2 × 2 sensors × 3 epochs");
		assert_eq!(q.escrow, 48);
		assert_eq!(q.deposit, 118, "100 + 3 × 6");
	}

	#[test]
	fn a_full_delivery_is_due_exactly_what_was_quoted() {
		let q = quote(&[5u128, 7], 3, &RATES).expect("fits");
		let d = due(&[5u128, 7], RATES.fee_per_epoch, 3, 0, 0).expect("fits");
		assert_eq!((d.owner, d.provider), (q.price, q.fee));
	}

	#[test]
	fn empty_sensor_epochs_are_not_paid_to_the_owner_nor_the_provider() {
		// Two of six sensor-epochs empty: one of the 5-priced sensor, one of the 7.
		let d = due(&[5u128, 7], 2, 3, 2, 12).expect("fits");
		assert_eq!(d.owner, 36 - 12);
		assert_eq!(d.provider, 2 * 4);
	}

	#[test]
	fn a_lapse_is_due_only_the_epochs_delivered() {
		let d = due(&[5u128, 7], 2, 1, 1, 5).expect("fits");
		assert_eq!(d, Due { owner: 7, provider: 2 });
	}

	#[test]
	fn more_empty_than_delivered_is_refused() {
		assert_eq!(due(&[5u128], 2, 1, 2, 0), None, "two empty of one sensor-epoch");
		assert_eq!(due(&[5u128], 2, 1, 0, 6), None, "an empty price above the price");
	}

	#[test]
	fn a_quote_that_overflows_is_refused() {
		assert_eq!(quote(&[u128::MAX], 2, &RATES), None);
		assert_eq!(quote(&[1u128, u128::MAX], 1, &RATES), None, "the sum overflows");
		let rates = Rates { fee_per_epoch: u128::MAX, ..RATES };
		assert_eq!(quote(&[1u128], 2, &rates), None);
		assert_eq!(
			quote(&[1u8], 300, &Rates { fee_per_epoch: 0, deposit_base: 0, deposit_per_epoch: 0 }),
			None,
			"300 epochs do not fit a u8"
		);
	}
}
