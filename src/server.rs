//! `upcase server` (not yet implemented).

use std::process::ExitCode;

/// Flags of `upcase server`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {}

/// Runs `upcase server`.
pub fn main(_args: ServeArgs) -> ExitCode {
    eprintln!("upcase server: not yet implemented");
    ExitCode::from(2)
}
