//! Tables on the terminal, and readings as CSV or JSON.

use crate::{show_id, CliError};
use sensorshare_chain_client::{format_units, Agreement, Sensor};
use sensorshare_protocol::reading::Reading;
use sensorshare_worker_client::DecryptedEpoch;
use serde::Serialize;
use std::{io::Write, path::Path};

/// One value of one reading.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
	/// The sensor, as `sensors list` shows it.
	pub sensor: String,
	/// The epoch.
	pub epoch: u64,
	/// When, in milliseconds since the Unix epoch.
	pub timestamp_ms: u64,
	/// When, RFC 3339.
	pub time: String,
	/// The quantity.
	pub quantity: String,
	/// Its value.
	pub value: f64,
	/// Its unit.
	pub unit: String,
}

/// The rows of decrypted epochs, in sensor, time and quantity order.
pub fn rows(epochs: &[DecryptedEpoch]) -> Result<Vec<Row>, CliError> {
	let mut out = Vec::new();
	for e in epochs {
		for (header, plaintext) in &e.readings {
			let reading = Reading::from_bytes(plaintext).map_err(|err| {
				CliError::Verification(format!("a reading does not parse: {err}"))
			})?;
			let time = chrono::DateTime::from_timestamp_millis(header.timestamp_ms as i64)
				.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
				.unwrap_or_default();
			for (q, v) in &reading.0 {
				out.push(Row {
					sensor: show_id(&e.sensor),
					epoch: e.epoch,
					timestamp_ms: header.timestamp_ms,
					time: time.clone(),
					quantity: q.name(),
					value: *v,
					unit: q.unit().to_string(),
				});
			}
		}
	}
	out.sort_by(|a, b| {
		(&a.sensor, a.timestamp_ms, &a.quantity).cmp(&(&b.sensor, b.timestamp_ms, &b.quantity))
	});
	Ok(out)
}

/// Writes rows as CSV (`.csv` or standard output) or JSON (`.json`).
pub fn write_rows(rows: &[Row], out: Option<&Path>) -> Result<(), CliError> {
	let json = out.is_some_and(|p| p.extension().is_some_and(|e| e == "json"));
	let mut buf = Vec::new();
	if json {
		serde_json::to_writer_pretty(&mut buf, rows).map_err(|e| CliError::Io(e.to_string()))?;
		buf.push(b'\n');
	} else {
		writeln!(buf, "sensor,epoch,timestamp_ms,time,quantity,value,unit")?;
		for r in rows {
			writeln!(
				buf,
				"{},{},{},{},{},{},{}",
				csv_field(&r.sensor),
				r.epoch,
				r.timestamp_ms,
				r.time,
				r.quantity,
				r.value,
				csv_field(&r.unit)
			)?;
		}
	}
	match out {
		Some(path) => std::fs::write(path, &buf)
			.map_err(|e| CliError::Io(format!("{}: {e}", path.display())))?,
		None => std::io::stdout().write_all(&buf)?,
	}
	Ok(())
}

/// A text field of a CSV row, safe to open in a spreadsheet: a field that a
/// spreadsheet would take for a formula (it starts with `=`, `+`, `-`, `@`, a tab or
/// a carriage return) gets a leading `'`, and a field with a comma, a quote or a
/// line break is quoted (RFC 4180).
fn csv_field(s: &str) -> String {
	let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
		format!("'{s}")
	} else {
		s.to_string()
	};
	if s.contains([',', '"', '\n', '\r']) {
		format!("\"{}\"", s.replace('"', "\"\""))
	} else {
		s
	}
}

/// Text from the chain (a sensor's description, a delivery's location), safe to
/// print on a terminal: control characters (escape sequences, carriage returns,
/// bells) and the characters that reorder text on screen (bidirectional overrides
/// and isolates) are shown as `\u{..}` escapes, not acted on.
pub fn terminal_text(s: &str) -> String {
	let reorders = |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
	let mut out = String::with_capacity(s.len());
	for c in s.chars() {
		if c.is_control() || reorders(c) {
			out.push_str(&format!("\\u{{{:x}}}", c as u32));
		} else {
			out.push(c);
		}
	}
	out
}

/// Prints the sensors as a table.
pub fn sensor_table(sensors: &[Sensor]) {
	if sensors.is_empty() {
		println!("No sensors are registered.");
		return;
	}
	println!(
		"{:<24} {:>16} {:>7} {:>6} {:<50} description",
		"sensor", "price/epoch", "epoch s", "active", "owner"
	);
	for s in sensors {
		println!(
			"{:<24} {:>16} {:>7} {:>6} {:<50} {}",
			show_id(&s.id),
			format_units(s.price_per_epoch),
			s.epoch_secs,
			if s.active { "yes" } else { "no" },
			s.owner.to_string(),
			terminal_text(&s.description)
		);
	}
}

/// Prints agreements as a table.
pub fn agreement_table(agreements: &[Agreement]) {
	if agreements.is_empty() {
		println!("No open agreements.");
		return;
	}
	println!(
		"{:>5} {:<10} {:<28} {:>14} {:>9} {:>9} {:>16} {:>8}  location",
		"id", "status", "sensors", "epochs", "re-keyed", "delivered", "price", "deadline"
	);
	for a in agreements {
		let sensors: Vec<String> = a.sensors.iter().map(show_id).collect();
		println!(
			"{:>5} {:<10} {:<28} {:>14} {:>9} {:>9} {:>16} {:>8}  {}",
			a.id,
			format!("{:?}", a.status),
			sensors.join(","),
			format!("{}..={}", a.from_epoch, a.to_epoch),
			format!("{}/{}", a.rekeyed, a.epochs()),
			format!("{}/{}", a.delivered, a.epochs()),
			format_units(a.price + a.fee),
			a.deadline,
			a.delivery.as_ref().map_or(String::new(), |(l, _)| terminal_text(l))
		);
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use sensorshare_protocol::{header::RecordHeader, reading::Quantity};

	#[test]
	fn readings_become_sorted_rows_and_csv() {
		let e = DecryptedEpoch {
			sensor: cbpre::Identity::new(b"tag-1").expect("id"),
			epoch: 3,
			readings: vec![(
				RecordHeader::new(180_000),
				Reading::new([(Quantity::Pressure, 1013.25), (Quantity::RelativeHumidity, 40.0)])
					.to_bytes(),
			)],
		};
		let rows = rows(&[e]).expect("rows");
		assert_eq!(rows.len(), 2);
		assert_eq!(rows[0].quantity, "pressure");
		assert_eq!(rows[0].time, "1970-01-01T00:03:00.000Z");
		let dir = tempfile::tempdir().expect("tempdir");
		let path = dir.path().join("r.csv");
		write_rows(&rows, Some(&path)).expect("write");
		let text = std::fs::read_to_string(&path).expect("read");
		assert!(
			text.contains("tag-1,3,180000,1970-01-01T00:03:00.000Z,pressure,1013.25,hPa"),
			"{text}"
		);
	}

	#[test]
	fn a_sensor_named_like_a_formula_is_written_to_csv_as_text() {
		assert_eq!(csv_field("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
		assert_eq!(csv_field("+1"), "'+1");
		assert_eq!(csv_field("-2+3"), "'-2+3");
		assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
		assert_eq!(csv_field("tag,1"), "\"tag,1\"");
		assert_eq!(csv_field("tag-1"), "tag-1");
		let e = DecryptedEpoch {
			sensor: cbpre::Identity::new(b"=cmd|'/Ccalc'!A0").expect("id"),
			epoch: 3,
			readings: vec![(
				RecordHeader::new(180_000),
				Reading::new([(Quantity::Pressure, 1013.25)]).to_bytes(),
			)],
		};
		let dir = tempfile::tempdir().expect("tempdir");
		let path = dir.path().join("r.csv");
		write_rows(&rows(&[e]).expect("rows"), Some(&path)).expect("write");
		let text = std::fs::read_to_string(&path).expect("read");
		let row = text.lines().nth(1).expect("a row");
		assert!(row.starts_with("'=cmd|'/Ccalc'!A0,3,"), "{row}");
	}

	#[test]
	fn text_from_the_chain_cannot_drive_the_terminal() {
		assert_eq!(terminal_text("TI SensorTag"), "TI SensorTag");
		assert_eq!(terminal_text("red\x1b[31m"), "red\\u{1b}[31m");
		assert_eq!(terminal_text("a\rb\x07"), "a\\u{d}b\\u{7}");
		assert_eq!(terminal_text("abc\u{202e}fed"), "abc\\u{202e}fed");
		assert_eq!(terminal_text("température"), "température");
	}
}
