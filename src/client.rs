//! `upcase client` (not yet implemented).

use std::process::ExitCode;

/// Flags of `upcase client`.
#[derive(Debug, clap::Args)]
pub struct ClientArgs {}

/// Runs `upcase client`.
pub fn main(_args: ClientArgs) -> ExitCode {
    eprintln!("upcase client: not yet implemented");
    ExitCode::from(2)
}
