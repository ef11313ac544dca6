//! Means and 95 % confidence intervals (Student's t), as the paper reports them.

use std::time::Duration;

/// A sample's mean and the half-width of its 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
	/// How many values.
	pub n: usize,
	/// Their mean.
	pub mean: f64,
	/// Half the width of the 95 % confidence interval of the mean.
	pub ci95: f64,
}

/// Two-sided 95 % quantiles of Student's t for 1..=30 degrees of freedom.
const T95: [f64; 30] = [
	12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
	2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
	2.052, 2.048, 2.045, 2.042,
];

/// The 95 % quantile of Student's t with `df` degrees of freedom (1.96 past 120).
fn t95(df: usize) -> f64 {
	match df {
		0 => f64::NAN,
		1..=30 => T95[df - 1],
		31..=60 => 2.000,
		61..=120 => 1.980,
		_ => 1.960,
	}
}

/// The mean and 95 % confidence interval of `values`.
pub fn summarize(values: &[f64]) -> Summary {
	let n = values.len();
	if n == 0 {
		return Summary { n, mean: f64::NAN, ci95: f64::NAN };
	}
	let mean = values.iter().sum::<f64>() / n as f64;
	if n == 1 {
		return Summary { n, mean, ci95: 0.0 };
	}
	let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
	Summary { n, mean, ci95: t95(n - 1) * (var / n as f64).sqrt() }
}

/// [`summarize`] of durations, in seconds.
pub fn summarize_secs(values: &[Duration]) -> Summary {
	summarize(&values.iter().map(Duration::as_secs_f64).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_mean_and_interval_of_a_known_sample() {
		// mean 5, sample sd 2.138 (n = 8): t(7) = 2.365, CI = 2.365 * 2.138 / sqrt(8).
		let s = summarize(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
		assert_eq!(s.n, 8);
		assert!((s.mean - 5.0).abs() < 1e-12);
		assert!((s.ci95 - 1.7877).abs() < 1e-3, "{}", s.ci95);
	}

	#[test]
	fn one_value_has_no_spread_and_none_has_no_mean() {
		assert_eq!(summarize(&[3.0]), Summary { n: 1, mean: 3.0, ci95: 0.0 });
		assert!(summarize(&[]).mean.is_nan());
		assert_eq!(t95(200), 1.96);
	}
}
