//! The experiments' figures, as PNG files drawn with plotters.

use crate::{experiments::Fig3, stats::Summary, Error};
use plotters::{coord::Shift, prelude::*};
use std::path::Path;

fn draw_err(e: impl std::fmt::Display) -> Error {
	Error::Unexpected(format!("drawing: {e}"))
}

/// A white 900 × 600 canvas drawing into `out`.
fn canvas(out: &Path) -> Result<DrawingArea<BitMapBackend<'_>, Shift>, Error> {
	sensorshare_cli::plot::register_font().map_err(|e| Error::Unexpected(e.to_string()))?;
	let root = BitMapBackend::new(out, (900, 600)).into_drawing_area();
	root.fill(&WHITE).map_err(draw_err)?;
	Ok(root)
}

/// A chart on `root` titled `title`, with room for the axes' labels.
fn chart<'a, 'b>(
	root: &'a DrawingArea<BitMapBackend<'b>, Shift>,
	title: &str,
) -> ChartBuilder<'a, 'b, BitMapBackend<'b>> {
	let mut builder = ChartBuilder::on(root);
	builder
		.caption(title, ("sans-serif", 22))
		.margin(20)
		.x_label_area_size(40)
		.y_label_area_size(60);
	builder
}

/// Fig. 3: the parts of the latency stacked, with PRE and without it.
pub fn fig3(fig: &Fig3, title: &str, out: &Path) -> Result<(), Error> {
	let rows = fig.rows();
	let with: Vec<(&str, f64)> = rows[..5].iter().map(|(n, s)| (*n, s.mean)).collect();
	// Without PRE: each part less its PRE operation.
	let mean = |f: fn(&crate::experiments::Fig3Sample) -> f64| {
		fig.samples.iter().map(f).sum::<f64>() / fig.samples.len().max(1) as f64
	};
	let without = [
		with[0].1,
		with[1].1 - mean(|s| s.rekeygen.as_secs_f64()),
		0.0,
		with[3].1,
		with[4].1 - mean(|s| s.decrypt2.as_secs_f64()),
	];
	let top = with.iter().map(|(_, v)| v).sum::<f64>() * 1.15;
	let colors = [BLUE, RED, MAGENTA, GREEN, CYAN];
	let root = canvas(out)?;
	// The bars on the left two thirds; the legend on the right third.
	let mut chart = chart(&root, title)
		.build_cartesian_2d(0f64..6.2f64, 0f64..top.max(1e-3))
		.map_err(draw_err)?;
	chart
		.configure_mesh()
		.disable_x_mesh()
		.x_labels(0)
		.y_desc("seconds from request to decrypted data")
		.draw()
		.map_err(draw_err)?;
	for (bar, values) in
		[(0.5, with.iter().map(|(_, v)| *v).collect::<Vec<_>>()), (2.5, without.to_vec())]
	{
		let mut base = 0.0;
		for (i, v) in values.iter().enumerate() {
			let v = v.max(0.0);
			let series = chart
				.draw_series(std::iter::once(Rectangle::new(
					[(bar, base), (bar + 1.0, base + v)],
					colors[i].filled(),
				)))
				.map_err(draw_err)?;
			if bar < 1.0 {
				let color = colors[i];
				series.label(with[i].0).legend(move |(x, y)| {
					Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
				});
			}
			base += v;
		}
	}
	for (x, label) in [(1.0, "with PRE"), (3.0, "without PRE")] {
		chart
			.draw_series(std::iter::once(Text::new(
				label,
				(x - 0.3, top * 0.97),
				("sans-serif", 18).into_font(),
			)))
			.map_err(draw_err)?;
	}
	chart
		.configure_series_labels()
		.background_style(WHITE.mix(0.8))
		.border_style(BLACK)
		.position(SeriesLabelPosition::MiddleRight)
		.draw()
		.map_err(draw_err)?;
	root.present().map_err(draw_err)
}

/// Fig. 4: mean latency against concurrent requests, with 95 % confidence intervals.
pub fn fig4(points: &[(usize, Summary)], title: &str, out: &Path) -> Result<(), Error> {
	let max_x = points.iter().map(|(n, _)| *n).max().unwrap_or(1) as f64;
	let max_y = points.iter().map(|(_, s)| s.mean + s.ci95).fold(0.0, f64::max) * 1.15;
	let root = canvas(out)?;
	let mut chart = chart(&root, title)
		.build_cartesian_2d((0.5f64..max_x * 1.5).log_scale(), 0f64..max_y.max(1e-3))
		.map_err(draw_err)?;
	chart
		.configure_mesh()
		.x_desc("concurrent requests")
		.y_desc("mean seconds from request to decrypted data")
		.draw()
		.map_err(draw_err)?;
	let line: Vec<(f64, f64)> = points.iter().map(|(n, s)| (*n as f64, s.mean)).collect();
	chart.draw_series(LineSeries::new(line.clone(), BLUE.stroke_width(2))).map_err(draw_err)?;
	chart.draw_series(line.iter().map(|p| Circle::new(*p, 4, BLUE.filled()))).map_err(draw_err)?;
	// The confidence intervals, as whiskers.
	chart
		.draw_series(points.iter().map(|(n, s)| {
			let x = *n as f64;
			PathElement::new(vec![(x, s.mean - s.ci95), (x, s.mean + s.ci95)], BLUE)
		}))
		.map_err(draw_err)?;
	root.present().map_err(draw_err)
}
