//! `sensorshare plot`: readings over time, one line per quantity, as a PNG.

use crate::CliError;
use plotters::prelude::*;
use std::{collections::BTreeMap, path::Path};

/// Fonts tried in order; `scripts/setup.sh` installs DejaVu.
const FONTS: &[&str] = &[
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
	"/usr/share/fonts/dejavu/DejaVuSans.ttf",
	"/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Registers DejaVu Sans as plotters' "sans-serif" font.
pub fn register_font() -> Result<(), CliError> {
	for path in FONTS {
		if let Ok(bytes) = std::fs::read(path) {
			// plotters keeps the font for the life of the process.
			let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
			return plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
				.map_err(|_| CliError::Io(format!("{path}: not a usable font")));
		}
	}
	Err(CliError::Io("no DejaVu font found: install fonts-dejavu-core".into()))
}

/// Plots the CSV written by `fetch` to `out`.
pub fn plot_csv(input: &Path, out: &Path) -> Result<(), CliError> {
	let text = std::fs::read_to_string(input)
		.map_err(|e| CliError::Io(format!("{}: {e}", input.display())))?;
	let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
	for (n, line) in text.lines().enumerate().skip(1) {
		let f: Vec<&str> = line.split(',').collect();
		let parsed = (f.len() == 7)
			.then(|| Some((f[2].parse::<f64>().ok()?, f[5].parse::<f64>().ok()?)))
			.flatten();
		let Some((ts, value)) = parsed else {
			return Err(CliError::Invalid(format!(
				"{}:{}: not a row of `fetch`'s CSV",
				input.display(),
				n + 1
			)));
		};
		series
			.entry(format!("{} {} ({})", f[0], f[4], f[6]))
			.or_default()
			.push((ts / 1000.0, value));
	}
	if series.is_empty() {
		return Err(CliError::Invalid(format!("{}: no readings", input.display())));
	}
	register_font()?;
	let points = series.values().flatten();
	let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
	for (x, y) in points {
		(x0, x1, y0, y1) = (x0.min(*x), x1.max(*x), y0.min(*y), y1.max(*y));
	}
	let pad = ((y1 - y0) * 0.05).max(0.5);
	let draw = || -> Result<(), Box<dyn std::error::Error>> {
		let root = BitMapBackend::new(out, (1280, 720)).into_drawing_area();
		root.fill(&WHITE)?;
		let mut chart = ChartBuilder::on(&root)
			.caption("SensorShare readings", ("sans-serif", 28))
			.margin(16)
			.x_label_area_size(40)
			.y_label_area_size(60)
			.build_cartesian_2d(0.0..(x1 - x0).max(1.0), (y0 - pad)..(y1 + pad))?;
		chart.configure_mesh().x_desc("seconds from the first reading").y_desc("value").draw()?;
		for (i, (name, pts)) in series.iter().enumerate() {
			let color = Palette99::pick(i).to_rgba();
			chart
				.draw_series(LineSeries::new(
					pts.iter().map(|(x, y)| (x - x0, *y)),
					color.stroke_width(2),
				))?
				.label(name.clone())
				.legend(move |(x, y)| {
					PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2))
				});
		}
		chart
			.configure_series_labels()
			.background_style(WHITE.mix(0.8))
			.border_style(BLACK)
			.draw()?;
		root.present()?;
		Ok(())
	};
	draw().map_err(|e| CliError::Io(format!("{}: {e}", out.display())))
}
