//! `upcase bench` (not yet implemented).

use std::process::ExitCode;

/// Flags of `upcase bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

/// Runs `upcase bench`.
pub fn main(_args: BenchArgs) -> ExitCode {
    eprintln!("upcase bench: not yet implemented");
    ExitCode::from(2)
}
