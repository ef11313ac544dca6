//! A simulated SensorTag: the same quantities as the real one, drifting the way a room
//! does (a daily temperature cycle, slow random walks, sensor noise), from a seed, so
//! that a run can be replayed. The default where no Bluetooth adapter or tag is.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sensorshare_protocol::reading::{Quantity, Reading};

/// A simulated tag.
#[derive(Debug, Clone)]
pub struct SimulatedTag {
	rng: ChaCha8Rng,
	temperature: f64,
	humidity: f64,
	pressure: f64,
	light: f64,
	marker: Option<f64>,
}

impl SimulatedTag {
	/// A tag whose readings follow from `seed`.
	pub fn new(seed: u64) -> Self {
		let mut rng = ChaCha8Rng::seed_from_u64(seed);
		SimulatedTag {
			temperature: 21.0 + rng.gen_range(-2.0..2.0),
			humidity: 45.0 + rng.gen_range(-5.0..5.0),
			pressure: 1013.0 + rng.gen_range(-8.0..8.0),
			light: 300.0 + rng.gen_range(-100.0..100.0),
			rng,
			marker: None,
		}
	}

	/// Adds a fixed `marker` quantity to every reading (as the ambient temperature of
	/// the IR sensor), for tests that look for the plaintext where it must not be.
	pub fn with_marker(mut self, marker: f64) -> Self {
		self.marker = Some(marker);
		self
	}

	fn noise(&mut self, scale: f64) -> f64 {
		// Sum of uniforms: close enough to Gaussian noise for a simulation.
		(0..4).map(|_| self.rng.gen_range(-1.0..1.0)).sum::<f64>() * scale / 2.0
	}

	/// The reading at `timestamp_ms`.
	pub fn read(&mut self, timestamp_ms: u64) -> Reading {
		let day = (timestamp_ms % 86_400_000) as f64 / 86_400_000.0;
		let daily = (2.0 * std::f64::consts::PI * (day - 0.375)).sin();
		self.temperature += self.noise(0.02);
		self.humidity = (self.humidity + self.noise(0.05)).clamp(5.0, 95.0);
		self.pressure += self.noise(0.01);
		self.light = (self.light + self.noise(2.0)).max(0.0);
		let temperature = self.temperature + 2.5 * daily;
		let mut values = vec![
			(Quantity::ObjectTemperature, temperature + 0.8 + self.noise(0.1)),
			(Quantity::AmbientTemperature, temperature + self.noise(0.05)),
			(Quantity::HumidityTemperature, temperature + 0.2 + self.noise(0.05)),
			(Quantity::RelativeHumidity, self.humidity - 3.0 * daily),
			(Quantity::BarometerTemperature, temperature + 0.4 + self.noise(0.05)),
			(Quantity::Pressure, self.pressure),
			(Quantity::Illuminance, (self.light * (1.0 + daily)).max(0.0)),
			(Quantity::AccelX, self.noise(0.01)),
			(Quantity::AccelY, self.noise(0.01)),
			(Quantity::AccelZ, 1.0 + self.noise(0.01)),
		];
		if let Some(m) = self.marker {
			values.retain(|(q, _)| *q != Quantity::AmbientTemperature);
			values.push((Quantity::AmbientTemperature, m));
		}
		Reading::new(values)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_seed_replays_the_same_readings() {
		let (mut a, mut b) = (SimulatedTag::new(7), SimulatedTag::new(7));
		for t in 0..100 {
			assert_eq!(a.read(t * 1000), b.read(t * 1000));
		}
		assert_ne!(SimulatedTag::new(8).read(0), SimulatedTag::new(7).read(0));
	}

	#[test]
	fn readings_stay_physical_and_drift_slowly() {
		let mut tag = SimulatedTag::new(1);
		let mut last = tag.read(0);
		for t in 1..10_000u64 {
			let r = tag.read(t * 1000);
			let h = r.0[&Quantity::RelativeHumidity];
			assert!((0.0..=100.0).contains(&h));
			assert!(r.0[&Quantity::Illuminance] >= 0.0);
			let dt =
				(r.0[&Quantity::AmbientTemperature] - last.0[&Quantity::AmbientTemperature]).abs();
			assert!(dt < 0.5, "a room does not jump {dt} °C in a second");
			last = r;
		}
	}

	#[test]
	fn a_marker_appears_in_every_reading() {
		let mut tag = SimulatedTag::new(1).with_marker(-273.0);
		assert_eq!(tag.read(5).0[&Quantity::AmbientTemperature], -273.0);
	}
}
