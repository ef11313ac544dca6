//! The plaintext of a record: one reading, the quantities a sensor measured at one
//! time. JSON, so that a data user's tools read it without this crate:
//! `{"relative_humidity":50.0,"humidity_temperature":26.0}`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A quantity a SensorTag measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
	/// TMP007 object (infrared) temperature, °C.
	ObjectTemperature,
	/// TMP007 die (ambient) temperature, °C.
	AmbientTemperature,
	/// HDC1000 temperature, °C.
	HumidityTemperature,
	/// HDC1000 relative humidity, %.
	RelativeHumidity,
	/// BMP280 temperature, °C.
	BarometerTemperature,
	/// BMP280 air pressure, hPa.
	Pressure,
	/// OPT3001 illuminance, lux.
	Illuminance,
	/// MPU9250 rotation about x, °/s.
	GyroX,
	/// MPU9250 rotation about y, °/s.
	GyroY,
	/// MPU9250 rotation about z, °/s.
	GyroZ,
	/// MPU9250 acceleration along x, g.
	AccelX,
	/// MPU9250 acceleration along y, g.
	AccelY,
	/// MPU9250 acceleration along z, g.
	AccelZ,
	/// MPU9250 magnetic field along x, µT.
	MagX,
	/// MPU9250 magnetic field along y, µT.
	MagY,
	/// MPU9250 magnetic field along z, µT.
	MagZ,
}

impl Quantity {
	/// The quantity's unit.
	pub fn unit(self) -> &'static str {
		use Quantity::*;
		match self {
			ObjectTemperature | AmbientTemperature | HumidityTemperature | BarometerTemperature => {
				"°C"
			},
			RelativeHumidity => "%",
			Pressure => "hPa",
			Illuminance => "lux",
			GyroX | GyroY | GyroZ => "°/s",
			AccelX | AccelY | AccelZ => "g",
			MagX | MagY | MagZ => "µT",
		}
	}

	/// The quantity's name, as in the JSON.
	pub fn name(self) -> String {
		serde_json::to_value(self)
			.ok()
			.and_then(|v| v.as_str().map(str::to_string))
			.unwrap_or_default()
	}
}

/// One reading: quantities measured at one time.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Reading(pub BTreeMap<Quantity, f64>);

impl Reading {
	/// A reading of these quantities.
	pub fn new(values: impl IntoIterator<Item = (Quantity, f64)>) -> Self {
		Reading(values.into_iter().collect())
	}

	/// The plaintext of the reading's record.
	pub fn to_bytes(&self) -> Vec<u8> {
		serde_json::to_vec(self).unwrap_or_default()
	}

	/// Parses a record's plaintext.
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::Error> {
		serde_json::from_slice(bytes).map_err(|e| crate::malformed("reading", e.to_string()))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_reading_is_plain_json_and_round_trips() {
		let r = Reading::new([(Quantity::RelativeHumidity, 50.0), (Quantity::Pressure, 1013.25)]);
		let bytes = r.to_bytes();
		assert_eq!(
			std::str::from_utf8(&bytes),
			Ok(r#"{"relative_humidity":50.0,"pressure":1013.25}"#)
		);
		assert_eq!(Reading::from_bytes(&bytes), Ok(r));
		assert!(Reading::from_bytes(b"{\"warp\":1}").is_err());
		assert_eq!(Quantity::GyroX.name(), "gyro_x");
		assert_eq!(Quantity::Pressure.unit(), "hPa");
	}
}
