//! The TI SensorTag CC2650's GATT services and TI's conversion formulas.
//!
//! Each sensor service `F000AAx0-0451-4000-B000-000000000000` has a data
//! characteristic (`…AAx1`, notify), a configuration characteristic (`…AAx2`, write
//! to switch the sensor on) and a period characteristic (`…AAx3`, in units of 10 ms).
//! The decoders turn a notification's raw bytes into SI-style units with the
//! formulas of TI's SensorTag user guide.

use sensorshare_protocol::reading::Quantity;

/// A SensorTag UUID `F000xxxx-0451-4000-B000-000000000000`.
pub const fn ti_uuid(short: u16) -> u128 {
	(0xF000_0000u128 | short as u128) << 96 | 0x0451_4000_B000_0000_0000_0000u128
}

/// One of the SensorTag's sensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagSensor {
	/// TMP007: object (infrared) and die temperature.
	IrTemperature,
	/// HDC1000: temperature and relative humidity.
	Humidity,
	/// BMP280: temperature and air pressure.
	Barometer,
	/// OPT3001: illuminance.
	Optical,
	/// MPU9250: gyroscope, accelerometer, magnetometer.
	Movement,
}

impl TagSensor {
	/// All five sensors.
	pub const ALL: [TagSensor; 5] = [
		TagSensor::IrTemperature,
		TagSensor::Humidity,
		TagSensor::Barometer,
		TagSensor::Optical,
		TagSensor::Movement,
	];

	const fn base(self) -> u16 {
		match self {
			TagSensor::IrTemperature => 0xAA00,
			TagSensor::Humidity => 0xAA20,
			TagSensor::Barometer => 0xAA40,
			TagSensor::Optical => 0xAA70,
			TagSensor::Movement => 0xAA80,
		}
	}

	/// The service UUID.
	pub const fn service(self) -> u128 {
		ti_uuid(self.base())
	}
	/// The data characteristic (notify).
	pub const fn data(self) -> u128 {
		ti_uuid(self.base() + 1)
	}
	/// The configuration characteristic.
	pub const fn config(self) -> u128 {
		ti_uuid(self.base() + 2)
	}
	/// The period characteristic.
	pub const fn period(self) -> u128 {
		ti_uuid(self.base() + 3)
	}

	/// What to write to the configuration characteristic to switch the sensor on.
	/// The movement sensor takes a 16-bit mask: gyro x/y/z, accelerometer x/y/z,
	/// magnetometer (bits 0-6) and the accelerometer range in bits 8-9 (0: ±2 g).
	pub fn enable(self) -> &'static [u8] {
		match self {
			TagSensor::Movement => &[0x7F, 0x00],
			_ => &[0x01],
		}
	}

	/// The period value for `millis` (units of 10 ms; the tag takes 100 ms to 2.55 s).
	pub fn period_value(millis: u32) -> u8 {
		(millis / 10).clamp(10, 255) as u8
	}

	/// Decodes a notification of this sensor's data characteristic.
	pub fn decode(self, raw: &[u8]) -> Result<Vec<(Quantity, f64)>, DecodeError> {
		match self {
			TagSensor::IrTemperature => ir_temperature(raw),
			TagSensor::Humidity => humidity(raw),
			TagSensor::Barometer => barometer(raw),
			TagSensor::Optical => optical(raw),
			TagSensor::Movement => movement(raw, 2.0),
		}
	}
}

/// A notification of the wrong length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{sensor}: expected {expected} bytes, got {got}")]
pub struct DecodeError {
	/// Which sensor.
	pub sensor: &'static str,
	/// The data length it sends.
	pub expected: usize,
	/// What arrived.
	pub got: usize,
}

fn need(raw: &[u8], n: usize, sensor: &'static str) -> Result<(), DecodeError> {
	if raw.len() == n {
		Ok(())
	} else {
		Err(DecodeError { sensor, expected: n, got: raw.len() })
	}
}

fn u16le(raw: &[u8], i: usize) -> u16 {
	u16::from_le_bytes([raw[i], raw[i + 1]])
}

fn i16le(raw: &[u8], i: usize) -> i16 {
	i16::from_le_bytes([raw[i], raw[i + 1]])
}

fn u24le(raw: &[u8], i: usize) -> u32 {
	u32::from_le_bytes([raw[i], raw[i + 1], raw[i + 2], 0])
}

/// A signed (two's complement) 24-bit little-endian value.
fn i24le(raw: &[u8], i: usize) -> i32 {
	// The sign bit into bit 31, then an arithmetic shift back.
	i32::from_le_bytes([0, raw[i], raw[i + 1], raw[i + 2]]) >> 8
}

/// TMP007: `object LSB, MSB, ambient LSB, MSB`, each a signed 14-bit value in the top
/// bits of an `i16`: `(raw >> 2) * 0.03125` °C with an arithmetic shift, so below
/// 0 °C reads as below 0 °C.
pub fn ir_temperature(raw: &[u8]) -> Result<Vec<(Quantity, f64)>, DecodeError> {
	need(raw, 4, "IR temperature")?;
	let t = |v: i16| f64::from(v >> 2) * 0.03125;
	Ok(vec![
		(Quantity::ObjectTemperature, t(i16le(raw, 0))),
		(Quantity::AmbientTemperature, t(i16le(raw, 2))),
	])
}

/// HDC1000: `temperature LSB, MSB, humidity LSB, MSB`; `t = raw/65536*165 - 40` °C,
/// `rh = (raw & !3)/65536*100` %.
pub fn humidity(raw: &[u8]) -> Result<Vec<(Quantity, f64)>, DecodeError> {
	need(raw, 4, "humidity")?;
	let t = f64::from(u16le(raw, 0)) / 65536.0 * 165.0 - 40.0;
	let rh = f64::from(u16le(raw, 2) & !0x0003) / 65536.0 * 100.0;
	Ok(vec![(Quantity::HumidityTemperature, t), (Quantity::RelativeHumidity, rh)])
}

/// BMP280: `temperature (signed 24-bit LE), pressure (unsigned 24-bit LE)`; both
/// `raw / 100` (°C, hPa).
pub fn barometer(raw: &[u8]) -> Result<Vec<(Quantity, f64)>, DecodeError> {
	need(raw, 6, "barometer")?;
	Ok(vec![
		(Quantity::BarometerTemperature, f64::from(i24le(raw, 0)) / 100.0),
		(Quantity::Pressure, f64::from(u24le(raw, 3)) / 100.0),
	])
}

/// OPT3001: 16-bit LE, mantissa in bits 0-11 and exponent in 12-15;
/// `lux = m * 0.01 * 2^e`.
pub fn optical(raw: &[u8]) -> Result<Vec<(Quantity, f64)>, DecodeError> {
	need(raw, 2, "optical")?;
	let v = u16le(raw, 0);
	let m = f64::from(v & 0x0FFF);
	let e = i32::from((v & 0xF000) >> 12);
	Ok(vec![(Quantity::Illuminance, m * 0.01 * 2f64.powi(e))])
}

/// MPU9250: nine 16-bit LE signed values, gyro x/y/z, accelerometer x/y/z,
/// magnetometer x/y/z. Gyro `raw / (65536 / 500)` °/s with TI's integer division,
/// 131 LSB per °/s (the ±250 °/s range); accelerometer `raw / (32768/range)` g for a
/// range of ±`range` g; magnetometer `raw` µT.
pub fn movement(raw: &[u8], acc_range_g: f64) -> Result<Vec<(Quantity, f64)>, DecodeError> {
	need(raw, 18, "movement")?;
	let v = |i: usize| f64::from(i16le(raw, 2 * i));
	/// `65536 / 500` in integers, as TI's reference code divides.
	const GYRO_LSB_PER_DEG_S: f64 = (65536 / 500) as f64;
	let gyro = |i| v(i) / GYRO_LSB_PER_DEG_S;
	let acc = |i| v(i) / (32768.0 / acc_range_g);
	Ok(vec![
		(Quantity::GyroX, gyro(0)),
		(Quantity::GyroY, gyro(1)),
		(Quantity::GyroZ, gyro(2)),
		(Quantity::AccelX, acc(3)),
		(Quantity::AccelY, acc(4)),
		(Quantity::AccelZ, acc(5)),
		(Quantity::MagX, v(6)),
		(Quantity::MagY, v(7)),
		(Quantity::MagZ, v(8)),
	])
}

#[cfg(test)]
mod tests {
	use super::*;

	fn close(got: &[(Quantity, f64)], want: &[(Quantity, f64)]) {
		assert_eq!(got.len(), want.len());
		for ((q, v), (wq, wv)) in got.iter().zip(want) {
			assert_eq!(q, wq);
			assert!((v - wv).abs() < 1e-3, "{q:?}: {v} != {wv}");
		}
	}

	#[test]
	fn uuids_are_tis() {
		assert_eq!(
			format!("{:032x}", TagSensor::Humidity.data()),
			"f000aa2104514000b000000000000000"
		);
		assert_eq!(
			format!("{:032x}", TagSensor::Movement.period()),
			"f000aa8304514000b000000000000000"
		);
	}

	#[test]
	fn ir_temperature_of_known_raw_values() {
		// object 0x0C80 = 3200 → 800 * 0.03125 = 25 °C; ambient 0x0BC0 = 3008 → 23.5 °C.
		close(
			&ir_temperature(&[0x80, 0x0C, 0xC0, 0x0B]).expect("4 bytes"),
			&[(Quantity::ObjectTemperature, 25.0), (Quantity::AmbientTemperature, 23.5)],
		);
	}

	#[test]
	fn ir_temperature_below_zero_and_at_the_ends_of_its_range() {
		// -5 °C = -160 LSB, << 2 = 0xFD80; -0.03125 °C = 0xFFFC; the 14-bit ends.
		close(
			&ir_temperature(&[0x80, 0xFD, 0xFC, 0xFF]).expect("4 bytes"),
			&[(Quantity::ObjectTemperature, -5.0), (Quantity::AmbientTemperature, -0.03125)],
		);
		close(
			&ir_temperature(&[0x00, 0x80, 0xFC, 0x7F]).expect("4 bytes"),
			&[(Quantity::ObjectTemperature, -256.0), (Quantity::AmbientTemperature, 255.96875)],
		);
	}

	#[test]
	fn humidity_of_known_raw_values() {
		// temperature 0x6666 → 26214/65536*165-40 = 25.9995 °C; humidity 0x8003 → 50 %.
		close(
			&humidity(&[0x66, 0x66, 0x03, 0x80]).expect("4 bytes"),
			&[(Quantity::HumidityTemperature, 25.9995), (Quantity::RelativeHumidity, 50.0)],
		);
	}

	#[test]
	fn barometer_of_known_raw_values() {
		// 2500 → 25.00 °C; 101325 = 0x018BCD → 1013.25 hPa.
		close(
			&barometer(&[0xC4, 0x09, 0x00, 0xCD, 0x8B, 0x01]).expect("6 bytes"),
			&[(Quantity::BarometerTemperature, 25.0), (Quantity::Pressure, 1013.25)],
		);
	}

	#[test]
	fn barometer_below_zero_and_at_the_ends_of_its_range() {
		// -3.5 °C = -350 = 0xFFFEA2 in 24 bits; the BMP280's -40 °C and 85 °C; 300 hPa.
		close(
			&barometer(&[0xA2, 0xFE, 0xFF, 0x30, 0x75, 0x00]).expect("6 bytes"),
			&[(Quantity::BarometerTemperature, -3.5), (Quantity::Pressure, 300.0)],
		);
		let minus_40 = (-4000i32).to_le_bytes();
		close(
			&barometer(&[minus_40[0], minus_40[1], minus_40[2], 0xA0, 0x86, 0x01]).expect("6"),
			&[(Quantity::BarometerTemperature, -40.0), (Quantity::Pressure, 1000.0)],
		);
		close(
			&barometer(&[0x34, 0x21, 0x00, 0xB0, 0xAD, 0x01]).expect("6 bytes"),
			&[(Quantity::BarometerTemperature, 85.0), (Quantity::Pressure, 1100.0)],
		);
	}

	#[test]
	fn the_gyroscope_reads_131_lsb_per_degree_a_second_to_the_ends_of_its_range() {
		let mut raw = [0u8; 18];
		raw[0..2].copy_from_slice(&i16::MAX.to_le_bytes());
		raw[2..4].copy_from_slice(&i16::MIN.to_le_bytes());
		let got = movement(&raw, 2.0).expect("18 bytes");
		assert_eq!(got[0], (Quantity::GyroX, 32767.0 / 131.0));
		assert_eq!(got[1], (Quantity::GyroY, -32768.0 / 131.0));
	}

	#[test]
	fn optical_of_known_raw_values() {
		// mantissa 0x100 = 256, exponent 1 → 5.12 lux; exponent 0xB: 2047*0.01*2048.
		close(&optical(&[0x00, 0x11]).expect("2 bytes"), &[(Quantity::Illuminance, 5.12)]);
		close(
			&optical(&[0xFF, 0xB7]).expect("2 bytes"),
			&[(Quantity::Illuminance, 2047.0 * 0.01 * 2048.0)],
		);
	}

	#[test]
	fn movement_of_known_raw_values() {
		let mut raw = [0u8; 18];
		let put = |raw: &mut [u8; 18], i: usize, v: i16| {
			raw[2 * i..2 * i + 2].copy_from_slice(&v.to_le_bytes())
		};
		put(&mut raw, 0, 131); // 131 LSB per °/s: 1 °/s
		put(&mut raw, 2, -262);
		put(&mut raw, 5, 16384); // 1 g at ±2 g
		put(&mut raw, 3, -8192); // -0.5 g
		put(&mut raw, 6, 45); // 45 µT
		let got = movement(&raw, 2.0).expect("18 bytes");
		close(
			&got,
			&[
				(Quantity::GyroX, 1.0),
				(Quantity::GyroY, 0.0),
				(Quantity::GyroZ, -2.0),
				(Quantity::AccelX, -0.5),
				(Quantity::AccelY, 0.0),
				(Quantity::AccelZ, 1.0),
				(Quantity::MagX, 45.0),
				(Quantity::MagY, 0.0),
				(Quantity::MagZ, 0.0),
			],
		);
	}

	#[test]
	fn a_notification_of_the_wrong_length_is_an_error() {
		for s in TagSensor::ALL {
			assert!(s.decode(&[0u8; 3]).is_err(), "{s:?}");
		}
	}

	#[test]
	fn the_period_is_clamped_to_what_the_tag_takes() {
		assert_eq!(TagSensor::period_value(1000), 100);
		assert_eq!(TagSensor::period_value(10), 10);
		assert_eq!(TagSensor::period_value(60_000), 255);
	}
}
