//! The flowsage command line. Each subcommand is a thin call into the
//! library; see `flowsage --help`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use flowsage::config::{Config, SECRET_ENV};
use flowsage::replay::ReplayArgs;

#[derive(Parser)]
#[command(
    name = "flowsage",
    version,
    about = "A network analyst for routed networks: flows in, answers over MCP"
)]
struct Cli {
    /// Configuration file [default: config/flowsage.toml when it exists, else built-in defaults]
    #[arg(long, short, global = true, env = "FLOWSAGE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Collect flows, store them and serve MCP over HTTP (/mcp, /healthz, /metrics)
    Serve,
    /// Serve MCP over stdio (forwards to `flowsage serve` when it holds the data)
    Mcp,
    /// Feed the UDP datagrams of pcap/pcapng captures through the collector into the store
    Replay(ReplayArgs),
    /// Check or print the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Parse and validate the configuration; exit 1 with the reason if it is wrong
    Check,
    /// Print the effective configuration (file, defaults, environment) with secrets masked
    Print,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("flowsage: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let (config, path) = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Config(ConfigCommand::Check) => {
            let source =
                path.map(|p| p.display().to_string()).unwrap_or("built-in defaults".into());
            println!("configuration ok: {source}");
            Ok(())
        }
        Command::Config(ConfigCommand::Print) => {
            let set: Vec<&str> = SECRET_ENV
                .iter()
                .filter(|(name, _)| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
                .map(|(n, _)| *n)
                .collect();
            if !set.is_empty() {
                println!("# secrets from the environment: {}", set.join(", "));
            }
            print!("{}", config.masked().to_toml());
            Ok(())
        }
        Command::Serve => {
            init_logs(&config.log.level);
            runtime()?.block_on(flowsage::serve::run(config))
        }
        Command::Mcp => {
            init_logs(&config.log.level);
            runtime()?.block_on(flowsage::stdio::run(config))
        }
        Command::Replay(args) => {
            init_logs(&config.log.level);
            let report = runtime()?.block_on(flowsage::replay::run(config, args))?;
            print!("{report}");
            if report.incomplete() {
                anyhow::bail!("not every datagram was replayed; the lines above say why");
            }
            Ok(())
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Logs go to stderr: stdout belongs to the MCP stdio transport. The MCP
/// library's per-session lifecycle lines are kept at warn unless asked for.
fn init_logs(level: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("rmcp=warn,{level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
