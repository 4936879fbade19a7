//! `upcase pipe`: the codec as a Unix filter, stdin → stdout, no network.
//!
//! A plain synchronous loop: read up to 64 KiB, [`Codec::feed`] it into a
//! reused output buffer, write that out, repeat; at EOF, [`Codec::finish`].
//! Memory is fixed (one input buffer and at most `max_output_len` of
//! output) whatever the input size, and the output is exactly the server's
//! for the same flags, since both are the same codec.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::process::ExitCode;

use bytes::BytesMut;

use crate::server::{CasingArg, InvalidArg};
use crate::{Casing, Codec, CodecError, Config, InvalidUtf8};

/// Bytes read from stdin at a time.
const BUF_LEN: usize = 64 * 1024;

/// Exit status on a reject (`--invalid reject` and ill-formed input).
const EXIT_REJECTED: u8 = 8;

/// Exit status when stdout is closed early (`| head`): the shell's status
/// for SIGPIPE, without the signal's abrupt end.
const EXIT_STDOUT_CLOSED: u8 = 141;

/// The exit statuses, shown by `upcase pipe --help`.
const AFTER_HELP: &str = "\
Examples:
    upcase pipe < in.txt > out.txt
    printf 'straße' | upcase pipe                 # STRASSE
    upcase pipe --invalid reject < data || echo \"not UTF-8\"

Exit status:
    0  all of stdin was uppercased to stdout
    1  reading stdin or writing stdout failed
    2  bad command line
    8  --invalid reject met ill-formed UTF-8: everything before it was
       written, and stderr names the byte offset
  141  stdout was closed early (e.g. `| head`); the filter stops quietly";

/// Flags of `upcase pipe`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct PipeArgs {
    /// Case mapping: full Unicode (ß → SS) or ASCII letters only.
    #[arg(long, value_enum, default_value_t = CasingArg::Unicode)]
    casing: CasingArg,

    /// Ill-formed UTF-8: pass the bytes through, replace each bad sequence
    /// with U+FFFD, or reject (write the valid prefix, then fail naming the
    /// byte offset).
    #[arg(long, value_enum, default_value_t = InvalidArg::Pass)]
    invalid: InvalidArg,
}

// The flag types are the server's, so both spell the policies alike; these
// turn them into the codec's.
impl From<CasingArg> for Casing {
    fn from(arg: CasingArg) -> Self {
        match arg {
            CasingArg::Unicode => Casing::Unicode,
            CasingArg::Ascii => Casing::Ascii,
        }
    }
}

impl From<InvalidArg> for InvalidUtf8 {
    fn from(arg: InvalidArg) -> Self {
        match arg {
            InvalidArg::Pass => InvalidUtf8::PassThrough,
            InvalidArg::Replace => InvalidUtf8::Replace,
            InvalidArg::Reject => InvalidUtf8::Reject,
        }
    }
}

/// Why the filter stopped early.
enum Stop {
    Stdin(io::Error),
    Stdout(io::Error),
    Rejected(CodecError),
}

/// Runs `upcase pipe`: uppercases stdin to stdout. Problems are one line on
/// stderr; the exit status says which (see the `--help` text).
pub fn main(args: PipeArgs) -> ExitCode {
    let config = Config::new(args.casing.into(), args.invalid.into());
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::Stdout(err)) if err.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::from(EXIT_STDOUT_CLOSED)
        }
        Err(Stop::Stdout(err)) => {
            eprintln!("upcase pipe: cannot write to stdout: {err}");
            ExitCode::FAILURE
        }
        Err(Stop::Stdin(err)) => {
            eprintln!("upcase pipe: cannot read stdin: {err}");
            ExitCode::FAILURE
        }
        Err(Stop::Rejected(err)) => {
            eprintln!("upcase pipe: {err} (--invalid reject)");
            ExitCode::from(EXIT_REJECTED)
        }
    }
}

fn run(config: Config) -> Result<(), Stop> {
    // Raw descriptors: std's stdout is line-buffered (a copy and often a
    // split write per line) and its stdin has an 8 KiB buffer; we want
    // neither for bulk data.
    let mut input = io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .map_err(Stop::Stdin)?;
    let mut output = io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .map_err(Stop::Stdout)?;

    let mut codec = Codec::new(config);
    let mut buf = vec![0u8; BUF_LEN];
    let mut out = BytesMut::with_capacity(codec.max_output_len(BUF_LEN));
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(Stop::Stdin(err)),
        };
        // On a reject `out` holds the valid prefix: write it, then stop.
        let fed = codec.feed(&buf[..n], &mut out);
        output.write_all(&out).map_err(Stop::Stdout)?;
        out.clear();
        fed.map_err(Stop::Rejected)?;
    }
    let finished = codec.finish(&mut out);
    output.write_all(&out).map_err(Stop::Stdout)?;
    finished.map_err(Stop::Rejected)
}
