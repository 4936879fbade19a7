//! The `upcase` binary: parses flags, sets up logging, and hands over to the
//! subcommand's module in `upcase_cli`.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Uppercase text over TCP: a server, a client, a filter and a load generator.
#[derive(Debug, Parser)]
#[command(name = "upcase", version, about)]
struct Cli {
    /// Log filter (`error`, `warn`, `info`, `debug`, `trace`, or a `RUST_LOG`
    /// directive). Overrides `RUST_LOG`.
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the uppercasing TCP server.
    Serve(upcase_cli::server::ServeArgs),
    /// Connect to a server: interactive on a terminal, streaming in a pipe.
    Client(upcase_cli::client::ClientArgs),
    /// Uppercase stdin to stdout, no network.
    Pipe(upcase_cli::pipe::PipeArgs),
    /// Load-test a server and verify every reply byte.
    Bench(upcase_cli::bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = match &cli.log_level {
        Some(level) => EnvFilter::try_new(level),
        None => EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new("info")),
    };
    let filter = match filter {
        Ok(filter) => filter,
        Err(err) => {
            eprintln!("upcase: invalid log filter: {err}");
            return ExitCode::from(2);
        }
    };
    // Held to the end of `main`: flushes queued log lines on the way out.
    let _log = match init_logging(filter) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("upcase: cannot start logging: {err}");
            return ExitCode::FAILURE;
        }
    };

    match cli.command {
        Command::Serve(args) => upcase_cli::server::main(args),
        Command::Client(args) => upcase_cli::client::main(args),
        Command::Pipe(args) => upcase_cli::pipe::main(args),
        Command::Bench(args) => upcase_cli::bench::main(args),
    }
}

/// Logs to stderr through a non-blocking writer: a closed, broken or
/// stalled stderr drops (and counts) log lines instead of blocking or
/// panicking the caller, so logging can never hurt the data path.
fn init_logging(filter: EnvFilter) -> std::io::Result<upcase_cli::log::LogGuard> {
    let (writer, guard) = upcase_cli::log::non_blocking(std::io::stderr())?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    Ok(guard)
}
