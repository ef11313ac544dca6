//! `sensorshare`: the data user's and the CA's tool.
//!
//! The CA side of CertifiedUserKeyGen (`ca init`, `ca issue`) and the user side
//! (`keys new`, `keys finish`); the data user's market (`identity register`,
//! `sensors list`, `request`, `status`, `fetch`, `confirm`, `cancel`); and `plot`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod output;
pub mod plot;

pub use error::CliError;

use cbpre::{CertRequest, Identity};
use clap::{Parser, Subcommand};
use sensorshare_chain_client::{
	api, format_units, signer_from_uri, AgreementStatus, ChainClient, Keypair,
};
use sensorshare_market_client::{self as market, enrol};
use sensorshare_protocol::keyfile;
use std::{io::IsTerminal, path::PathBuf};

/// The SensorShare data user's and CA's tool.
#[derive(Debug, Parser)]
#[command(name = "sensorshare", version, about)]
pub struct Cli {
	/// The node's WebSocket RPC.
	#[arg(long, global = true, env = "SENSORSHARE_CHAIN", default_value = "ws://127.0.0.1:9944")]
	pub chain_url: String,
	/// What to do.
	#[command(subcommand)]
	pub command: Command,
}

/// A command.
#[derive(Debug, Subcommand)]
pub enum Command {
	/// The CA side of CertifiedUserKeyGen.
	#[command(subcommand)]
	Ca(CaCommand),
	/// The user side of CertifiedUserKeyGen.
	#[command(subcommand)]
	Keys(KeysCommand),
	/// Register the identity of a key as a data user on chain.
	#[command(subcommand)]
	Identity(IdentityCommand),
	/// The sensors on chain.
	#[command(subcommand)]
	Sensors(SensorsCommand),
	/// Request sensors' data for a time range, paying into escrow.
	Request {
		/// The requester's account (secret URI; `//Bob` on a dev chain).
		#[arg(long, env = "SENSORSHARE_ACCOUNT", hide_env_values = true)]
		account: String,
		/// Sensor identities (as `sensors list` shows them), comma-separated.
		#[arg(long, value_delimiter = ',', required = true)]
		sensors: Vec<String>,
		/// Start of the range: RFC 3339 (`2026-11-27T10:00:00Z`), Unix seconds, or
		/// relative to now (`now-1h`).
		#[arg(long)]
		from: String,
		/// End of the range (inclusive), same forms. A range that reaches into the
		/// future is a subscription: its epochs are delivered one by one as they end.
		#[arg(long)]
		to: String,
		/// Do not ask before paying.
		#[arg(long, short)]
		yes: bool,
	},
	/// Open agreements: all, or those of one account, or one.
	Status {
		/// Only this agreement.
		id: Option<u64>,
		/// Only agreements this account requested (secret URI or SS58 address).
		#[arg(long)]
		account: Option<String>,
	},
	/// Download a delivery, verify and decrypt it, and write the readings.
	Fetch {
		/// The agreement.
		id: u64,
		/// The requester's key file.
		#[arg(long)]
		key: PathBuf,
		/// Where to write the readings: `.csv` or `.json`; standard output if absent.
		#[arg(long, short)]
		out: Option<PathBuf>,
	},
	/// Confirm a delivery: the escrow goes to the owner and the provider.
	Confirm {
		/// The agreement.
		id: u64,
		/// The requester's account.
		#[arg(long, env = "SENSORSHARE_ACCOUNT", hide_env_values = true)]
		account: String,
	},
	/// Withdraw a request not yet accepted; the escrow comes back.
	Cancel {
		/// The agreement.
		id: u64,
		/// The requester's account.
		#[arg(long, env = "SENSORSHARE_ACCOUNT", hide_env_values = true)]
		account: String,
	},
	/// Plot fetched readings (CSV from `fetch`) to a PNG, one line per quantity.
	Plot {
		/// The CSV from `fetch`.
		input: PathBuf,
		/// The PNG to write.
		#[arg(long, short, default_value = "readings.png")]
		out: PathBuf,
	},
}

/// CA commands.
#[derive(Debug, Subcommand)]
pub enum CaCommand {
	/// Setup: a new CA key in a file (mode 0600); prints `P_alpha` for the genesis.
	Init {
		/// Where to write the CA key.
		#[arg(long)]
		out: PathBuf,
		/// Replace a CA key file already there.
		#[arg(long)]
		force: bool,
	},
	/// Answer a certificate request (message 1) with message 2.
	Issue {
		/// The request file (hex), from `keys new` or `sensorshare-sensor register`.
		request: PathBuf,
		/// The CA key file; `--dev` uses the dev chain's published CA.
		#[arg(long, required_unless_present = "dev")]
		ca_key: Option<PathBuf>,
		/// Use the published dev CA.
		#[arg(long)]
		dev: bool,
		/// Where to write the response; standard output if absent.
		#[arg(long, short)]
		out: Option<PathBuf>,
	},
}

/// Key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
	/// Step 1: a key request for `id`. Writes the request for the CA to
	/// `<key>.request` and keeps the secret half in `<key>.pending`. With `--dev-ca`
	/// the dev CA answers at once and the key is written.
	New {
		/// The identity (1 to 64 bytes).
		#[arg(long)]
		id: String,
		/// The key file to make.
		#[arg(long)]
		key: PathBuf,
		/// Have the dev chain's published CA answer at once.
		#[arg(long)]
		dev_ca: bool,
		/// Replace a key file (or pending request) already there.
		#[arg(long)]
		force: bool,
	},
	/// Step 3: finish the key with the CA's response, checked against the chain's CA key.
	Finish {
		/// The key file named in step 1.
		#[arg(long)]
		key: PathBuf,
		/// The CA's response.
		#[arg(long)]
		response: PathBuf,
		/// Replace a key file already there.
		#[arg(long)]
		force: bool,
	},
}

/// Identity commands.
#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
	/// Register a key's identity and certificate for an account.
	Register {
		/// The key file.
		#[arg(long)]
		key: PathBuf,
		/// The account (secret URI).
		#[arg(long, env = "SENSORSHARE_ACCOUNT", hide_env_values = true)]
		account: String,
	},
}

/// Sensor commands.
#[derive(Debug, Subcommand)]
pub enum SensorsCommand {
	/// A table of the registered sensors.
	List,
}

fn read(path: &PathBuf) -> Result<String, CliError> {
	std::fs::read_to_string(path).map_err(|e| CliError::Io(format!("{}: {e}", path.display())))
}

fn write(path: &PathBuf, bytes: &[u8]) -> Result<(), CliError> {
	std::fs::write(path, bytes).map_err(|e| CliError::Io(format!("{}: {e}", path.display())))
}

fn unhex(what: &str, text: &str) -> Result<Vec<u8>, CliError> {
	hex::decode(text.trim()).map_err(|e| CliError::Invalid(format!("{what}: not hex: {e}")))
}

/// What `--force` says of a key file already there.
fn existing(force: bool) -> keyfile::Existing {
	if force {
		keyfile::Existing::Replace
	} else {
		keyfile::Existing::Refuse
	}
}

fn signer(uri: &str) -> Result<Keypair, CliError> {
	signer_from_uri(uri).map_err(|e| CliError::Invalid(format!("account: {e}")))
}

/// Parses RFC 3339 or Unix seconds.
pub fn parse_time(text: &str) -> Result<u64, CliError> {
	if let Ok(secs) = text.parse::<u64>() {
		return Ok(secs);
	}
	if let Some(offset) = text.strip_prefix("now") {
		let now = chrono::Utc::now().timestamp().max(0) as u64;
		return relative(now, offset)
			.ok_or_else(|| CliError::Invalid(format!("{text:?}: give now, now-10m, now+2h, …")));
	}
	chrono::DateTime::parse_from_rfc3339(text)
		.ok()
		.and_then(|t| u64::try_from(t.timestamp()).ok())
		.ok_or_else(|| CliError::Invalid(format!("{text:?}: give RFC 3339 or Unix seconds")))
}

/// `now` moved by `offset`: empty, or `+`/`-` a number and a unit (s, m, h or d).
fn relative(now: u64, offset: &str) -> Option<u64> {
	if offset.is_empty() {
		return Some(now);
	}
	let (sign, rest) = offset.split_at_checked(1)?;
	let unit = match rest.chars().last()? {
		's' => 1,
		'm' => 60,
		'h' => 3600,
		'd' => 86_400,
		_ => return None,
	};
	let secs = rest[..rest.len() - 1].parse::<u64>().ok()?.checked_mul(unit)?;
	match sign {
		"+" => now.checked_add(secs),
		"-" => now.checked_sub(secs),
		_ => None,
	}
}

/// A sensor named as `sensors list` shows it: its identity as text if printable, else hex.
pub fn sensor_id(name: &str) -> Result<Identity, CliError> {
	let bytes = match name.strip_prefix("0x") {
		Some(h) => unhex("sensor", h)?,
		None => name.as_bytes().to_vec(),
	};
	Identity::new(&bytes).map_err(|e| CliError::Invalid(format!("sensor {name:?}: {e}")))
}

/// How `sensors list` shows an identity.
pub fn show_id(id: &Identity) -> String {
	let b = id.as_bytes();
	match std::str::from_utf8(b) {
		Ok(s) if s.chars().all(|c| c.is_ascii_graphic()) => s.to_string(),
		_ => format!("0x{}", hex::encode(b)),
	}
}

async fn connect(url: &str) -> Result<ChainClient, CliError> {
	Ok(ChainClient::connect(url).await?)
}

/// Runs a command.
pub async fn run(cli: Cli) -> Result<(), CliError> {
	let url = cli.chain_url;
	match cli.command {
		Command::Ca(CaCommand::Init { out, force }) => {
			let ca = cbpre::CaSecretKey::generate_with_rng(&mut rand::rngs::OsRng);
			keyfile::save_ca(&out, &ca, existing(force))?;
			println!("CA key written to {}", out.display());
			println!(
				"P_alpha (for the chain's genesis): {}",
				hex::encode(ca.public_key().to_bytes())
			);
		},
		Command::Ca(CaCommand::Issue { request, ca_key, dev, out }) => {
			let ca = match (dev, ca_key) {
				(true, _) => cbpre::dev::ca(),
				(false, Some(path)) => keyfile::load_ca(&path)?,
				(false, None) => return Err(CliError::Invalid("give --ca-key or --dev".into())),
			};
			let req = CertRequest::from_bytes(&unhex("request", &read(&request)?)?)
				.map_err(|e| CliError::Invalid(format!("request: {e}")))?;
			let resp = ca.issue_with_rng(&req, &mut rand::rngs::OsRng)?;
			// The response is key material: `r_a` and the certificate give the key.
			let text = zeroize::Zeroizing::new(hex::encode(resp.to_bytes().as_slice()));
			match out {
				Some(path) => {
					write(&path, text.as_bytes())?;
					eprintln!(
						"Issued a certificate for {}; response in {}",
						show_id(req.id()),
						path.display()
					);
				},
				None => println!("{}", text.as_str()),
			}
		},
		Command::Keys(KeysCommand::New { id, key, dev_ca, force }) => {
			let id =
				Identity::new(id.as_bytes()).map_err(|e| CliError::Invalid(format!("id: {e}")))?;
			let mut rng = rand::rngs::OsRng;
			if dev_ca {
				enrol::with_dev_ca_with_rng(&id, &key, existing(force), &mut rng)?;
				println!("Key for {} written to {} (dev CA)", show_id(&id), key.display());
			} else {
				let request = enrol::request_with_rng(id, &key, existing(force), &mut rng)?;
				let req_path = key.with_extension("request");
				write(&req_path, request.as_bytes())?;
				println!(
					"Request written to {}; send it to the CA (`sensorshare ca issue {}`), then run `sensorshare keys finish --key {} --response <file>`.",
					req_path.display(),
					req_path.display(),
					key.display()
				);
			}
		},
		Command::Keys(KeysCommand::Finish { key, response, force }) => {
			let chain = connect(&url).await?;
			let secret = enrol::finish(
				&chain,
				&key,
				&zeroize::Zeroizing::new(read(&response)?),
				existing(force),
			)
			.await?;
			println!("Key for {} written to {}", show_id(secret.id()), key.display());
		},
		Command::Identity(IdentityCommand::Register { key, account }) => {
			let secret = keyfile::load_secret_key(&key)?;
			let chain = connect(&url).await?;
			let inc = chain
				.register_identity_with_rng(&signer(&account)?, &secret, &mut rand::rngs::OsRng)
				.await?;
			println!("Identity {} registered in block {}", show_id(secret.id()), inc.block_number);
		},
		Command::Sensors(SensorsCommand::List) => {
			let chain = connect(&url).await?;
			let mut sensors = chain.sensors().await?;
			sensors.sort_by(|a, b| a.id.as_bytes().cmp(b.id.as_bytes()));
			output::sensor_table(&sensors);
		},
		Command::Request { account, sensors, from, to, yes } => {
			request(&url, &account, &sensors, &from, &to, yes).await?;
		},
		Command::Status { id, account } => {
			let chain = connect(&url).await?;
			let who = match account {
				Some(a) if a.starts_with("//") || a.contains(' ') => {
					Some(signer(&a)?.public_key().to_account_id())
				},
				Some(a) => {
					Some(a.parse().map_err(|_| CliError::Invalid(format!("account {a:?}")))?)
				},
				None => None,
			};
			let agreements: Vec<_> = chain
				.agreements()
				.await?
				.into_iter()
				.filter(|a| id.is_none_or(|i| a.id == i))
				.filter(|a| who.as_ref().is_none_or(|w| &a.requester == w))
				.collect();
			if let (Some(i), true) = (id, agreements.is_empty()) {
				return Err(CliError::NotFound(format!(
					"no open agreement {i} (settled or never made)"
				)));
			}
			output::agreement_table(&agreements);
		},
		Command::Fetch { id, key, out } => fetch(&url, id, &key, out).await?,
		Command::Confirm { id, account } => {
			let chain = connect(&url).await?;
			let inc = chain.confirm(&signer(&account)?, id).await?;
			let settled = inc.find::<api::data_market::events::AgreementSettled>()?;
			match settled {
				Some(s) => {
					println!(
						"Agreement {id} confirmed in block {}: owner paid {}, provider paid {}",
						inc.block_number,
						format_units(s.owner_paid),
						format_units(s.provider_paid)
					);
					if s.refunded > 0 {
						println!(
							"  {} refunded to you ({} sensor-epoch(s) without data)",
							format_units(s.refunded),
							s.empty_epochs
						);
					}
				},
				None => println!("Agreement {id} confirmed in block {}", inc.block_number),
			}
		},
		Command::Cancel { id, account } => {
			let chain = connect(&url).await?;
			let inc = chain.cancel_request(&signer(&account)?, id).await?;
			println!(
				"Request {id} cancelled in block {}; the escrow is refunded",
				inc.block_number
			);
		},
		Command::Plot { input, out } => {
			plot::plot_csv(&input, &out)?;
			println!("Plot written to {}", out.display());
		},
	}
	Ok(())
}

async fn request(
	url: &str,
	account: &str,
	sensors: &[String],
	from: &str,
	to: &str,
	yes: bool,
) -> Result<(), CliError> {
	let who = signer(account)?;
	let range = (parse_time(from)?, parse_time(to)?);
	if range.0 > range.1 {
		return Err(CliError::Invalid("--from comes after --to".into()));
	}
	let ids = sensors.iter().map(|name| sensor_id(name)).collect::<Result<Vec<_>, _>>()?;
	let chain = connect(url).await?;
	let offer = market::quote(&chain, &who.public_key().to_account_id(), &ids, range).await?;
	let q = &offer.quote;
	println!(
		"{} sensor(s) × {} epoch(s) of {} s (epochs {}..={}): price {} + storage fee {} = {}, and a deposit of {} returned when the agreement closes",
		offer.sensors.len(),
		offer.epochs(),
		offer.epoch_secs,
		offer.from_epoch,
		offer.to_epoch,
		format_units(q.price),
		format_units(q.fee),
		format_units(q.escrow),
		format_units(q.deposit)
	);
	if !yes {
		if !std::io::stdin().is_terminal() {
			return Err(CliError::Invalid(
				"not a terminal: pass --yes to pay without asking".into(),
			));
		}
		eprint!("Pay {} into escrow? [y/N] ", format_units(q.escrow));
		let mut line = String::new();
		std::io::stdin().read_line(&mut line)?;
		if !line.trim().eq_ignore_ascii_case("y") {
			return Err(CliError::Declined);
		}
	}
	let (id, inc) = chain
		.request_data(&who, &offer.sensor_ids(), (offer.from_epoch, offer.to_epoch), q.escrow)
		.await?;
	let deadline = chain.agreement(id).await?.map_or(0, |a| a.deadline);
	println!("Agreement {id} requested in block {}; deadline block {deadline}", inc.block_number);
	Ok(())
}

async fn fetch(
	url: &str,
	id: u64,
	key: &std::path::Path,
	out: Option<PathBuf>,
) -> Result<(), CliError> {
	let secret = keyfile::load_secret_key(key)?;
	let chain = connect(url).await?;
	let a = market::agreement(&chain, id).await?;
	if let (AgreementStatus::Accepted, Some(through_epoch)) = (a.status, a.last_delivered_epoch()) {
		eprintln!(
			"Agreement {id} is a subscription in progress: epochs {}..={through_epoch} of {}..={} delivered so far",
			a.from_epoch, a.from_epoch, a.to_epoch
		);
	}
	let bar = indicatif::ProgressBar::new_spinner().with_message("downloading");
	bar.set_style(
		indicatif::ProgressStyle::with_template("{spinner} {msg} {bytes} ({bytes_per_sec})")
			.unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
	);
	let fetched = market::fetch(&chain, &secret, id, |n| bar.inc(n)).await;
	bar.finish_and_clear();
	let fetched = fetched.map_err(|e| match e {
		market::Error::WrongKey(_) => CliError::Verification(format!(
			"{} is not the key of agreement {id}'s requester",
			key.display()
		)),
		other => other.into(),
	})?;
	let rows = output::rows(&fetched.epochs)?;
	eprintln!(
		"Agreement {id}: {} segment(s), {} reading(s), every capsule verified and every record authenticated",
		fetched.epochs.len(),
		rows.len()
	);
	if !fetched.empty.is_empty() {
		eprintln!(
			"  {} sensor-epoch(s) without data, as the chain records: not charged for",
			fetched.empty.len()
		);
	}
	eprintln!(
		"  {} bytes downloaded in {:.0?}; Decrypt2 {:.1?}, records opened in {:.1?}",
		fetched.bytes, fetched.download, fetched.decrypt2, fetched.open
	);
	output::write_rows(&rows, out.as_deref())?;
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn times_are_unix_seconds_rfc_3339_or_relative_to_now() {
		assert_eq!(parse_time("1764237600").expect("unix"), 1_764_237_600);
		assert_eq!(parse_time("2025-11-27T10:00:00Z").expect("rfc 3339"), 1_764_237_600);
		assert_eq!(relative(1000, ""), Some(1000));
		assert_eq!(relative(1000, "-10s"), Some(990));
		assert_eq!(relative(1000, "+2m"), Some(1120));
		assert_eq!(relative(10_000, "-1h"), Some(6400));
		assert_eq!(relative(0, "+1d"), Some(86_400));
		for bad in ["-", "+5", "*5m", "-5y", "-xm", "-1h", "+99999999999999999999d"] {
			assert_eq!(relative(100, bad), None, "{bad}");
		}
		assert!(parse_time("tomorrow").is_err());
		assert!(parse_time("now+5w").is_err());
	}
}
