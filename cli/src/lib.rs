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

use cbpre::{CertRequest, CertResponse, Identity, KeyRequest, PublicKey};
use clap::{Parser, Subcommand};
use sensorshare_chain_client::{
	api, format_units, signer_from_uri, AgreementStatus, ChainClient, Keypair,
};
use sensorshare_protocol::keyfile;
use sensorshare_worker_client::{DeliveryRef, WorkerClient};
use std::{collections::HashMap, io::IsTerminal, path::PathBuf};

/// The SensorShare data user's and CA's tool.
#[derive(Debug, Parser)]
#[command(name = "sensorshare", version, about)]
pub struct Cli {
	/// The node's WebSocket RPC.
	#[arg(long, global = true, env = "SENSORSHARE_CHAIN", default_value = "ws://127.0.0.1:9944")]
	pub chain_url: String,
	/// The command.
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
	},
	/// Step 3: finish the key with the CA's response, checked against the chain's CA key.
	Finish {
		/// The key file named in step 1.
		#[arg(long)]
		key: PathBuf,
		/// The CA's response.
		#[arg(long)]
		response: PathBuf,
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
		Command::Ca(CaCommand::Init { out }) => {
			let ca = cbpre::CaSecretKey::generate_with_rng(&mut rand::rngs::OsRng);
			keyfile::save_ca(&out, &ca)?;
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
			let text = hex::encode(resp.to_bytes().as_slice());
			match out {
				Some(path) => {
					write(&path, text.as_bytes())?;
					eprintln!(
						"Issued a certificate for {}; response in {}",
						show_id(req.id()),
						path.display()
					);
				},
				None => println!("{text}"),
			}
		},
		Command::Keys(KeysCommand::New { id, key, dev_ca }) => {
			let id =
				Identity::new(id.as_bytes()).map_err(|e| CliError::Invalid(format!("id: {e}")))?;
			if dev_ca {
				let secret = cbpre::dev::enroll_with_rng(id.as_bytes(), &mut rand::rngs::OsRng)?;
				keyfile::save_secret_key(&key, &secret, &cbpre::dev::ca().public_key())?;
				println!("Key for {} written to {} (dev CA)", show_id(&id), key.display());
			} else {
				let request = KeyRequest::new_with_rng(id, &mut rand::rngs::OsRng);
				keyfile::save_pending(&key.with_extension("pending"), &request)?;
				let req_path = key.with_extension("request");
				write(&req_path, hex::encode(request.message().to_bytes()).as_bytes())?;
				println!(
					"Request written to {}; send it to the CA (`sensorshare ca issue {}`), then run `sensorshare keys finish --key {} --response <file>`.",
					req_path.display(),
					req_path.display(),
					key.display()
				);
			}
		},
		Command::Keys(KeysCommand::Finish { key, response }) => {
			let pending = key.with_extension("pending");
			let request = keyfile::load_pending(&pending)?;
			let resp = CertResponse::from_bytes(&unhex("response", &read(&response)?)?)
				.map_err(|e| CliError::Invalid(format!("response: {e}")))?;
			let chain = connect(&url).await?;
			let ca = chain
				.ca_key()
				.await?
				.ok_or_else(|| CliError::NotFound("the chain has no CA key".into()))?;
			let secret = request.finish(&resp, &ca).map_err(|e| {
				CliError::Verification(format!("the response does not match the chain's CA: {e}"))
			})?;
			keyfile::save_secret_key(&key, &secret, &ca)?;
			let _ = std::fs::remove_file(&pending);
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
				Some(s) => println!(
					"Agreement {id} confirmed in block {}: owner paid {}, provider paid {}",
					inc.block_number,
					format_units(s.owner_paid),
					format_units(s.provider_paid)
				),
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
	let (from, to) = (parse_time(from)?, parse_time(to)?);
	if from > to {
		return Err(CliError::Invalid("--from comes after --to".into()));
	}
	let chain = connect(url).await?;
	if chain.identity(&who.public_key().to_account_id()).await?.is_none() {
		return Err(CliError::NotFound(
			"this account has no identity on chain: run `sensorshare identity register` first"
				.into(),
		));
	}
	let mut found = Vec::new();
	for name in sensors {
		let id = sensor_id(name)?;
		let s = chain.sensor(id.as_bytes()).await?.ok_or_else(|| {
			CliError::NotFound(format!("unknown sensor {name:?} (see `sensorshare sensors list`)"))
		})?;
		found.push(s);
	}
	let epoch_secs = found[0].epoch_secs;
	let (from_epoch, to_epoch) = (from / epoch_secs, to / epoch_secs);
	let epochs = u128::from(to_epoch - from_epoch + 1);
	let price: u128 = found.iter().map(|s| s.price_per_epoch.saturating_mul(epochs)).sum();
	let fee_per_epoch = chain.provider(&found[0].provider).await?.map_or(0, |(_, fee)| fee);
	let fee = fee_per_epoch.saturating_mul(epochs).saturating_mul(found.len() as u128);
	let deposit = chain.agreement_deposit(found.len() as u64, to_epoch - from_epoch + 1)?;
	println!(
		"{} sensor(s) × {epochs} epoch(s) of {epoch_secs} s (epochs {from_epoch}..={to_epoch}): price {} + storage fee {} = {}, and a deposit of {} returned when the agreement closes",
		found.len(),
		format_units(price),
		format_units(fee),
		format_units(price + fee),
		format_units(deposit)
	);
	if !yes {
		if !std::io::stdin().is_terminal() {
			return Err(CliError::Invalid(
				"not a terminal: pass --yes to pay without asking".into(),
			));
		}
		eprint!("Pay {} into escrow? [y/N] ", format_units(price + fee));
		let mut line = String::new();
		std::io::stdin().read_line(&mut line)?;
		if !line.trim().eq_ignore_ascii_case("y") {
			return Err(CliError::Declined);
		}
	}
	let ids: Vec<Identity> = found.iter().map(|s| s.id).collect();
	let (id, inc) = chain.request_data(&who, &ids, (from_epoch, to_epoch), price + fee).await?;
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
	let a = chain
		.agreement(id)
		.await?
		.ok_or_else(|| CliError::NotFound(format!("no open agreement {id}")))?;
	let (Some((location, digest)), Some(through_epoch)) =
		(a.delivery.clone(), a.last_delivered_epoch())
	else {
		return Err(CliError::NotDelivered(id));
	};
	if a.status != AgreementStatus::Delivered {
		eprintln!(
			"Agreement {id} is a subscription in progress: epochs {}..={through_epoch} of {}..={} delivered so far",
			a.from_epoch, a.from_epoch, a.to_epoch
		);
	}
	let me = chain.identity(&a.requester).await?;
	if me.as_ref().map(|m| m.public_key) != Some(*secret.public_key()) {
		return Err(CliError::Verification(format!(
			"{} is not the key of agreement {id}'s requester",
			key.display()
		)));
	}
	let mut keys: HashMap<Identity, PublicKey> = HashMap::new();
	for s in &a.sensors {
		let sensor = chain
			.sensor(s.as_bytes())
			.await?
			.ok_or_else(|| CliError::NotFound(format!("sensor {} is gone", show_id(s))))?;
		keys.insert(sensor.id, sensor.public_key);
	}
	let base = location
		.split("/v1/deliveries/")
		.next()
		.ok_or_else(|| CliError::Invalid(format!("delivery location {location:?}")))?;
	let bar = indicatif::ProgressBar::new_spinner().with_message("downloading");
	bar.set_style(
		indicatif::ProgressStyle::with_template("{spinner} {msg} {bytes} ({bytes_per_sec})")
			.unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
	);
	let worker = WorkerClient::new(base);
	let delivery = DeliveryRef { agreement: id, through_epoch, digest };
	let fetched =
		worker.fetch(&delivery, &secret, &keys, &mut rand::rngs::OsRng, |n| bar.inc(n)).await?;
	bar.finish_and_clear();
	let rows = output::rows(&fetched.epochs)?;
	eprintln!(
		"Agreement {id}: {} segment(s), {} reading(s), every capsule verified and every record authenticated",
		fetched.epochs.len(),
		rows.len()
	);
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
