//! `upcase pipe` (not yet implemented).

use std::process::ExitCode;

/// Flags of `upcase pipe`.
#[derive(Debug, clap::Args)]
pub struct PipeArgs {}

/// Runs `upcase pipe`.
pub fn main(_args: PipeArgs) -> ExitCode {
    eprintln!("upcase pipe: not yet implemented");
    ExitCode::from(2)
}
