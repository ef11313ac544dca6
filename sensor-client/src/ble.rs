//! A real SensorTag CC2650 over Bluetooth LE (btleplug; BlueZ on Linux).
//!
//! Scans for the tag by name or address, connects, switches on the five sensors with
//! the requested period, subscribes to their data characteristics and turns each
//! notification into a reading. When the tag drops, it scans and connects again with
//! backoff.

use crate::sensortag::TagSensor;
use btleplug::{
	api::{Central, CentralEvent, Manager as _, Peripheral as _, ScanFilter, WriteType},
	platform::{Adapter, Manager, Peripheral},
};
use futures::StreamExt;
use sensorshare_protocol::reading::Reading;
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Why the tag could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BleError {
	/// No Bluetooth adapter.
	#[error("no Bluetooth adapter found")]
	NoAdapter,
	/// The tag was not found while scanning.
	#[error("no SensorTag matching {0:?} in range")]
	NotFound(String),
	/// A characteristic the tag should have is missing.
	#[error("the tag has no characteristic {0}")]
	MissingCharacteristic(Uuid),
	/// Bluetooth failed.
	#[error("bluetooth: {0}")]
	Bluetooth(#[from] btleplug::Error),
}

/// Which tag to read.
#[derive(Debug, Clone)]
pub struct TagTarget {
	/// A MAC address (`A0:E6:F8:B6:D2:01`) or a name (`CC2650 SensorTag`).
	pub name_or_address: String,
	/// The sensors' notification period.
	pub period: Duration,
}

/// Whether a Bluetooth adapter is present.
pub async fn adapter() -> Result<Adapter, BleError> {
	let manager = Manager::new().await?;
	manager.adapters().await?.into_iter().next().ok_or(BleError::NoAdapter)
}

/// Scans for the tag. Discovery is stopped whatever happens: BlueZ runs one discovery
/// per client, so one left running makes every later scan fail with `InProgress`.
async fn find(adapter: &Adapter, target: &TagTarget) -> Result<Peripheral, BleError> {
	adapter.start_scan(ScanFilter::default()).await?;
	let found = scan(adapter, target).await;
	let stopped = adapter.stop_scan().await;
	let tag = found?;
	stopped?;
	Ok(tag)
}

async fn scan(adapter: &Adapter, target: &TagTarget) -> Result<Peripheral, BleError> {
	let wanted = target.name_or_address.to_lowercase();
	for _ in 0..20 {
		tokio::time::sleep(Duration::from_millis(500)).await;
		for p in adapter.peripherals().await? {
			let address = p.address().to_string().to_lowercase();
			// A device that vanished since the listing has no properties to read: it
			// is not the tag, and the scan goes on.
			let name = match p.properties().await {
				Ok(props) => props.and_then(|props| props.local_name).unwrap_or_default(),
				Err(e) => {
					tracing::debug!(device = %address, error = %e, "skipping a device that vanished");
					continue;
				},
			};
			tracing::debug!(device = %address, name = %name, "found while scanning");
			let name = name.to_lowercase();
			if address == wanted || (!name.is_empty() && name.contains(&wanted)) {
				return Ok(p);
			}
		}
	}
	Err(BleError::NotFound(target.name_or_address.clone()))
}

/// Connects, configures and streams readings until the tag drops: the adapter reports
/// it disconnected (BlueZ's notification stream does not end when the link does).
async fn session(
	adapter: &Adapter,
	tag: &Peripheral,
	target: &TagTarget,
	tx: &mpsc::Sender<(u64, Reading)>,
) -> Result<(), BleError> {
	// Subscribed before connecting, so that a drop during the set-up is seen.
	let mut events = adapter.events().await?;
	tag.connect().await?;
	tag.discover_services().await?;
	let chars = tag.characteristics();
	let find = |uuid: u128| {
		let uuid = Uuid::from_u128(uuid);
		chars.iter().find(|c| c.uuid == uuid).cloned().ok_or(BleError::MissingCharacteristic(uuid))
	};
	let period = [TagSensor::period_value(target.period.as_millis() as u32)];
	for sensor in TagSensor::ALL {
		tag.write(&find(sensor.config())?, sensor.enable(), WriteType::WithResponse).await?;
		tag.write(&find(sensor.period())?, &period, WriteType::WithResponse).await?;
		tag.subscribe(&find(sensor.data())?).await?;
	}
	tracing::info!(tag = %tag.address(), "SensorTag connected; streaming");
	let mut notifications = tag.notifications().await?;
	let id = tag.id();
	loop {
		let n = tokio::select! {
			n = notifications.next() => match n {
				Some(n) => n,
				None => break,
			},
			event = events.next() => match event {
				Some(CentralEvent::DeviceDisconnected(gone)) if gone == id => break,
				Some(_) => continue,
				None => break,
			},
		};
		let Some(sensor) = TagSensor::ALL.into_iter().find(|s| Uuid::from_u128(s.data()) == n.uuid)
		else {
			continue;
		};
		match sensor.decode(&n.value) {
			Ok(values) => {
				if tx
					.send((sensorshare_service::clock::now_ms(), Reading::new(values)))
					.await
					.is_err()
				{
					break;
				}
			},
			Err(e) => tracing::warn!(error = %e, "undecodable notification"),
		}
	}
	Ok(())
}

/// Streams readings of the tag into `tx` until the receiver is dropped, reconnecting
/// with backoff after every drop.
pub async fn run(target: TagTarget, tx: mpsc::Sender<(u64, Reading)>) -> Result<(), BleError> {
	let adapter = adapter().await?;
	let mut backoff = Duration::from_secs(1);
	while !tx.is_closed() {
		let result = match find(&adapter, &target).await {
			Ok(tag) => {
				let r = session(&adapter, &tag, &target, &tx).await;
				let _ = tag.disconnect().await;
				r
			},
			Err(e) => Err(e),
		};
		match result {
			Ok(()) => {
				tracing::warn!("SensorTag disconnected; reconnecting");
				backoff = Duration::from_secs(1);
			},
			Err(e) => {
				tracing::warn!(error = %e, retry_in = ?backoff, "SensorTag unavailable");
				tokio::time::sleep(backoff).await;
				backoff = (backoff * 2).min(Duration::from_secs(60));
			},
		}
	}
	Ok(())
}
