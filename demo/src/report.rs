//! The experiments' report: what [`crate::experiments`] measured, as Markdown
//! tables and the figures as PNG files ([`crate::plots`]).

use crate::{
	experiments::{measure, Bench, Measurements, PaperConfig},
	Error,
};
use std::{fmt::Write, path::Path};

/// The report of one setting.
#[derive(Debug, Clone)]
pub struct Report {
	/// The report in Markdown.
	pub markdown: String,
	/// What did not finish, each with its reason (also in the report).
	pub incomplete: Vec<String>,
}

/// Runs the setting's experiments on `bench` and renders them, drawing the figures
/// into `out`. A level of Fig. 4 that does not finish is reported as such, and the
/// rest runs.
pub async fn run(
	bench: &Bench,
	config: &PaperConfig,
	out: &Path,
	progress: impl Fn(&str),
) -> Result<Report, Error> {
	let measured = measure(bench, config, progress).await?;
	render(config, &measured, out)
}

/// The report of `m`, measured on setting `config`; the figures are drawn into `out`.
pub fn render(config: &PaperConfig, m: &Measurements, out: &Path) -> Result<Report, Error> {
	let mut md = String::new();
	let mut incomplete = Vec::new();
	let w = |md: &mut String, line: String| {
		let _ = writeln!(md, "{line}");
	};
	w(&mut md, format!("### {}\n", config.title));

	if let Some(fig) = &m.fig3 {
		w(&mut md, format!(
			"**Fig. 3**: one request for {} sensors × 2 epochs, {} runs; mean and 95 % confidence interval.\n",
			m.sensors,
			fig.samples.len()
		));
		w(&mut md, "| part | mean | ± 95 % CI |".into());
		w(&mut md, "|---|---:|---:|".into());
		for (name, s) in fig.rows() {
			w(&mut md, format!("| {name} | {} | {} |", secs(s.mean), secs(s.ci95)));
		}
		let share = fig.pre_share();
		w(&mut md, format!(
			"\nPRE adds **{:.2} % ± {:.2} %** to the latency (paper: +60 %, for a re-key transaction of its own).\n",
			share.mean * 100.0,
			share.ci95 * 100.0
		));
		crate::plots::fig3(
			fig,
			&format!("Fig. 3, {}", config.title),
			&out.join(format!("fig3-{}.png", config.name)),
		)?;
		w(&mut md, format!("![Fig. 3, {}](fig3-{}.png)\n", config.title, config.name));
	}

	if !m.fig4.is_empty() {
		let mut points = Vec::new();
		w(&mut md, "**Fig. 4**: concurrent requests, each for 2 sensors × 2 epochs; latency from submission to decrypted data.\n".into());
		w(&mut md, "| concurrent | rounds | mean latency | ± 95 % CI | × one request | blocks spanned (most) |".into());
		w(&mut md, "|---:|---:|---:|---:|---:|---:|".into());
		let mut single = None;
		for level in &m.fig4 {
			let n = level.concurrent;
			let (s, most_blocks) = match &level.outcome {
				Ok(done) => *done,
				Err(e) => {
					w(&mut md, format!("| {n} | – | did not finish: {e} | | | |"));
					incomplete.push(format!("Fig. 4 at {n} concurrent: {e}"));
					continue;
				},
			};
			let base = *single.get_or_insert(s.mean);
			w(
				&mut md,
				format!(
					"| {n} | {} | {} | {} | {:.2} | {most_blocks} |",
					level.rounds,
					secs(s.mean),
					secs(s.ci95),
					s.mean / base
				),
			);
			points.push((n, s));
		}
		crate::plots::fig4(
			&points,
			&format!("Fig. 4, {}", config.title),
			&out.join(format!("fig4-{}.png", config.name)),
		)?;
		w(&mut md, format!("\n![Fig. 4, {}](fig4-{}.png)\n", config.title, config.name));
	}

	if let Some(t) = &m.throughput {
		w(&mut md, format!(
			"**Chain throughput**: {} transactions of each kind submitted at once from {} accounts, to finality.\n",
			t.count, t.accounts
		));
		w(&mut md, "| transaction | tx/s |".into());
		w(&mut md, "|---|---:|".into());
		w(&mut md, format!("| `balances.transfer_keep_alive` | {:.0} |", t.transfer));
		w(&mut md, format!("| `dataMarket.request_data` | {:.0} |", t.request));
		w(
			&mut md,
			format!(
				"\n`request_data` runs at **{:.2}×** the rate of `transfer_keep_alive`.\n",
				t.request / t.transfer
			),
		);
	}
	Ok(Report { markdown: md, incomplete })
}

/// Seconds as the report shows them: milliseconds below one second.
fn secs(v: f64) -> String {
	if v.is_nan() {
		"–".into()
	} else if v < 1.0 {
		format!("{:.1} ms", v * 1000.0)
	} else {
		format!("{v:.2} s")
	}
}
