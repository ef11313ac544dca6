//! `sensorshare`: parses the command line and runs it; exit codes in `CliError`.

use clap::Parser;

#[tokio::main]
async fn main() {
	let cli = sensorshare_cli::Cli::parse();
	if let Err(e) = sensorshare_cli::run(cli).await {
		eprintln!("error: {e}");
		std::process::exit(e.exit_code());
	}
}
