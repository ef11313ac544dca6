//! Storage migrations of the data market.

/// Version 2 to 3: sensors record the first epoch of which they have data, and
/// agreements record each sensor's price and the fee per sensor-epoch they were
/// made at, and what was delivered empty.
pub mod v3 {
	use crate::{
		AgreementStatus, Agreements, BalanceOf, Config, Delivery, IdBytes, Pallet, PointBytes,
		Sensors,
	};
	use alloc::vec::Vec;
	use codec::{Decode, Encode};
	use frame_support::{
		migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
	};
	use frame_system::pallet_prelude::BlockNumberFor;
	use sp_runtime::{traits::Zero, Saturating};

	/// The records as version 2 stored them.
	pub mod v2 {
		use super::*;

		/// A sensor before `first_epoch`.
		#[derive(Encode, Decode)]
		pub struct SensorInfo<T: Config> {
			pub owner: T::AccountId,
			pub cert: PointBytes,
			pub public_key: PointBytes,
			pub price_per_epoch: BalanceOf<T>,
			pub epoch_secs: u64,
			pub provider: T::AccountId,
			pub description: BoundedVec<u8, T::MaxDescriptionLen>,
			pub active: bool,
			pub open_agreements: u32,
			pub deposit: BalanceOf<T>,
		}

		/// An agreement before `prices`, `fee_per_epoch`, `empty_epochs` and
		/// `empty_price`.
		#[derive(Encode, Decode)]
		pub struct Agreement<T: Config> {
			pub requester: T::AccountId,
			pub owner: T::AccountId,
			pub provider: T::AccountId,
			pub sensors: BoundedVec<IdBytes, T::MaxSensorsPerRequest>,
			pub from_epoch: u64,
			pub to_epoch: u64,
			pub epoch_secs: u64,
			pub rekeyed: u32,
			pub delivered: u32,
			pub price: BalanceOf<T>,
			pub fee: BalanceOf<T>,
			pub status: AgreementStatus,
			pub deadline: BlockNumberFor<T>,
			pub delivery: Option<Delivery<T>>,
			pub extensions: u32,
			pub deposit: BalanceOf<T>,
			pub rekey_deposit: BalanceOf<T>,
		}
	}

	/// Each sensor's price per epoch in an agreement made before version 3, which
	/// recorded only their sum × epochs: the sensors' prices today if they still
	/// add up to it, else an equal share each (the remainder to the first sensor).
	fn prices_of<T: Config>(
		old: &v2::Agreement<T>,
	) -> BoundedVec<BalanceOf<T>, T::MaxSensorsPerRequest> {
		let epochs = sensorshare_market::epochs(old.from_epoch, old.to_epoch).unwrap_or(1);
		let epochs: BalanceOf<T> = epochs.try_into().unwrap_or_else(|_| 1u32.into());
		let per_epoch = old.price.checked_div(&epochs).unwrap_or_else(Zero::zero);
		let today: Vec<BalanceOf<T>> = old
			.sensors
			.iter()
			.map(|s| Sensors::<T>::get(s).map_or_else(Zero::zero, |s| s.price_per_epoch))
			.collect();
		let sum = today.iter().fold(BalanceOf::<T>::zero(), |a, p| a.saturating_add(*p));
		let prices = if sum == per_epoch {
			today
		} else {
			let n: BalanceOf<T> = (old.sensors.len() as u32).max(1).into();
			let share = per_epoch.checked_div(&n).unwrap_or_else(Zero::zero);
			let rest = per_epoch.saturating_sub(share.saturating_mul(n));
			(0..old.sensors.len())
				.map(|i| if i == 0 { share.saturating_add(rest) } else { share })
				.collect()
		};
		BoundedVec::truncate_from(prices)
	}

	/// The fee per sensor-epoch of an agreement made before version 3: exact, as
	/// its fee was that times sensors × epochs.
	fn fee_per_epoch_of<T: Config>(old: &v2::Agreement<T>) -> BalanceOf<T> {
		let sensor_epochs = sensorshare_market::epochs(old.from_epoch, old.to_epoch)
			.and_then(|e| e.checked_mul(old.sensors.len() as u64))
			.and_then(|n| BalanceOf::<T>::try_from(n).ok());
		sensor_epochs.and_then(|n| old.fee.checked_div(&n)).unwrap_or_else(Zero::zero)
	}

	/// Rewrites every sensor and agreement in the version 3 layout. Sensors
	/// registered before get `first_epoch` 0: their owners declared none, so no
	/// request of theirs is refused for it.
	pub struct UncheckedMigrateToV3<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for UncheckedMigrateToV3<T> {
		fn on_runtime_upgrade() -> Weight {
			let mut count = 0u64;
			Sensors::<T>::translate::<v2::SensorInfo<T>, _>(|_, s| {
				count.saturating_inc();
				Some(crate::SensorInfo {
					owner: s.owner,
					cert: s.cert,
					public_key: s.public_key,
					price_per_epoch: s.price_per_epoch,
					epoch_secs: s.epoch_secs,
					provider: s.provider,
					first_epoch: 0,
					description: s.description,
					active: s.active,
					open_agreements: s.open_agreements,
					deposit: s.deposit,
				})
			});
			// After the sensors: an agreement's prices read them in the new layout.
			Agreements::<T>::translate::<v2::Agreement<T>, _>(|_, a| {
				count.saturating_inc();
				let prices = prices_of::<T>(&a);
				let fee_per_epoch = fee_per_epoch_of::<T>(&a);
				Some(crate::Agreement {
					requester: a.requester,
					owner: a.owner,
					provider: a.provider,
					sensors: a.sensors,
					from_epoch: a.from_epoch,
					to_epoch: a.to_epoch,
					epoch_secs: a.epoch_secs,
					rekeyed: a.rekeyed,
					delivered: a.delivered,
					prices,
					fee_per_epoch,
					price: a.price,
					fee: a.fee,
					empty_epochs: 0,
					empty_price: Zero::zero(),
					status: a.status,
					deadline: a.deadline,
					delivery: a.delivery,
					extensions: a.extensions,
					deposit: a.deposit,
					rekey_deposit: a.rekey_deposit,
				})
			});
			// Each agreement reads its sensors again for their prices.
			let reads = count.saturating_mul(1 + u64::from(T::MaxSensorsPerRequest::get()));
			T::DbWeight::get().reads_writes(reads, count)
		}
	}

	/// [`UncheckedMigrateToV3`], run only on storage version 2, which it sets to 3.
	pub type MigrateToV3<T> = VersionedMigration<
		2,
		3,
		UncheckedMigrateToV3<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;
}
