//! The `upcase` binary: parses flags, sets up logging, and hands over to the
//! subcommand's module in the library.

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
    Serve(upcase::server::ServeArgs),
    /// Connect to a server: interactive on a terminal, streaming in a pipe.
    Client(upcase::client::ClientArgs),
    /// Uppercase stdin to stdout, no network.
    Pipe(upcase::pipe::PipeArgs),
    /// Load-test a server and verify every reply byte.
    Bench(upcase::bench::BenchArgs),
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
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    match cli.command {
        Command::Serve(args) => upcase::server::main(args),
        Command::Client(args) => upcase::client::main(args),
        Command::Pipe(args) => upcase::pipe::main(args),
        Command::Bench(args) => upcase::bench::main(args),
    }
}
