//! `upcase pipe`: the codec as a Unix filter, stdin → stdout, no network.
//!
//! A plain synchronous loop: read up to 64 KiB and write it into an
//! [`UpcaseWriter`] over stdout, repeat; at EOF, finish it. Memory is fixed
//! (one input buffer and the writer's output buffer) whatever the input
//! size, and the output is exactly the server's for the same flags, since
//! both are the same codec.
//!
//! When stdin is a non-empty regular file (`upcase pipe < in.txt`), it is
//! mapped read-only instead, from its current offset to its size at fstat
//! time, and fed in 256 KiB windows: this skips the kernel's copy out of
//! the page cache, the filter's bottleneck on ASCII text. Afterwards stdin's
//! offset is set past the mapped bytes, as read() would have left it, and
//! the read() loop goes on from there (normally meeting EOF at once; a file
//! that grew meanwhile is read to its new end). Pipes, ttys, sockets,
//! special and empty files, and files that cannot be mapped use read().
//!
//! The trade-off: if another process truncates the file while it is
//! mapped, touching a page past the new end raises SIGBUS instead of
//! returning a short read. A handler turns that into the usual one-line
//! error and exit status 1 (the output is cut short, as with any failed
//! read); ripgrep and other mmap readers accept the same risk. To avoid it
//! for a file that may be truncated, give the filter a pipe:
//! `cat log | upcase pipe`.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::process::ExitCode;

use memmap2::{Advice, Mmap, MmapOptions};

use crate::args::CodecArgs;
use crate::log::fatal;
use upcase::io::UpcaseWriter;
use upcase::{CodecError, Config};

/// Bytes read from stdin at a time.
const BUF_LEN: usize = 64 * 1024;

/// Bytes of a mapped stdin written to the [`UpcaseWriter`] at a time (it
/// takes them a 32 KiB piece at a time while its buffer has room for a
/// piece's output, and writes that out before taking more, so memory for
/// output stays fixed).
const WINDOW: usize = 256 * 1024;

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
#[command(
    after_help = AFTER_HELP,
    mut_arg("invalid", |arg| arg.help(
        "Ill-formed UTF-8: pass the bytes through, replace each bad sequence \
         with U+FFFD, or reject (write the valid prefix, then fail naming the byte offset)"
    )),
)]
pub struct PipeArgs {
    #[command(flatten)]
    codec: CodecArgs,
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
    let config = args.codec.config();
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::Stdout(err)) if err.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::from(EXIT_STDOUT_CLOSED)
        }
        Err(Stop::Stdout(err)) => {
            fatal("upcase pipe", format_args!("cannot write to stdout: {err}"));
            ExitCode::FAILURE
        }
        Err(Stop::Stdin(err)) => {
            fatal("upcase pipe", format_args!("cannot read stdin: {err}"));
            ExitCode::FAILURE
        }
        Err(Stop::Rejected(err)) => {
            fatal("upcase pipe", format_args!("{err} (--invalid reject)"));
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
    let output = io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .map_err(Stop::Stdout)?;

    let mut writer = UpcaseWriter::with_config(output, config);
    let result = pump(&mut input, &mut writer);
    match result {
        Ok(()) => writer.finish().map(drop).map_err(Stop::writing),
        Err(stop) => {
            // Stopped early: write what there is, not the end of the stream
            // (a held incomplete sequence stays unwritten).
            let _ = writer.into_inner();
            Err(stop)
        }
    }
}

/// Moves all of stdin through the writer (mapped, then read()).
fn pump(input: &mut File, writer: &mut UpcaseWriter<File>) -> Result<(), Stop> {
    if let Some(mapped) = Mapped::stdin(input) {
        let result = mapped.feed(writer);
        // Leave stdin's offset where read() would have: past every byte fed
        // to the codec. The shared offset is what a shell script sees next
        // (`{ upcase pipe; cat; } < file`).
        let end = mapped.start + writer.codec().position();
        let sought = input.seek(SeekFrom::Start(end)).map_err(Stop::Stdin);
        result?;
        sought?;
        // Then go on with read(), as for a pipe: it normally meets EOF at
        // once, but if the file grew since fstat, the new bytes are read too.
    }
    read_loop(input, writer)
}

impl Stop {
    /// An error of the writer: the codec's reject (its source), or stdout's.
    fn writing(err: io::Error) -> Self {
        match err.get_ref().and_then(|e| e.downcast_ref::<CodecError>()) {
            Some(rejected) => Stop::Rejected(rejected.clone()),
            None => Stop::Stdout(err),
        }
    }
}

/// The read() loop: stdin that is a pipe, tty, socket, special or empty
/// file, or a regular file that could not be mapped.
fn read_loop(input: &mut File, writer: &mut UpcaseWriter<File>) -> Result<(), Stop> {
    let mut buf = vec![0u8; BUF_LEN];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(Stop::Stdin(err)),
        };
        writer.write_all(&buf[..n]).map_err(Stop::writing)?;
    }
}

/// Stdin that is a regular file, mapped read-only from its current offset
/// to the end it had at fstat time.
struct Mapped {
    map: Mmap,
    /// The file offset of `map[0]`: stdin's offset when we started.
    start: u64,
}

impl Mapped {
    /// Maps stdin if it is a non-empty regular file with bytes left past
    /// its offset; `None` (use read()) otherwise or if mapping fails.
    fn stdin(input: &mut File) -> Option<Self> {
        let meta = input.metadata().ok()?;
        if !meta.is_file() {
            return None;
        }
        // lseek(fd, 0, SEEK_CUR): `(head -c 10; upcase pipe) < file`.
        let start = input.stream_position().ok()?;
        let len = usize::try_from(meta.len().checked_sub(start)?).ok()?;
        if len == 0 {
            return None;
        }
        // SAFETY: `Mmap` is unsafe because the file can change under the
        // mapping, and here another process may write or truncate it. A
        // write changes the bytes we see, which the codec takes like any
        // other bytes, as it would from a read() racing that write. A
        // truncation makes our next touch of a page past the new end raise
        // SIGBUS, which kills the process: an accepted risk (module docs).
        let map = unsafe { MmapOptions::new().offset(start).len(len).map(&*input) };
        let map = match map {
            Ok(map) => map,
            Err(err) => {
                tracing::debug!("stdin not mapped ({err}); reading it");
                return None;
            }
        };
        // Read-ahead for a file not (all) in the page cache. Populating
        // ahead (MAP_POPULATE, or MADV_WILLNEED / MADV_POPULATE_READ per
        // window) was measured and did not help: it does the same per-page
        // work as the faults it replaces (README, Throughput).
        let _ = map.advise(Advice::Sequential);
        if let Err(err) = on_sigbus_exit() {
            tracing::debug!("no SIGBUS handler ({err}); reading stdin");
            return None;
        }
        tracing::debug!("stdin mapped: {len} bytes from offset {start}");
        Some(Self { map, start })
    }

    /// Writes the mapping into `writer` window by window.
    fn feed(&self, writer: &mut UpcaseWriter<File>) -> Result<(), Stop> {
        for window in self.map.chunks(WINDOW) {
            writer.write_all(window).map_err(Stop::writing)?;
        }
        Ok(())
    }
}

/// The one line a SIGBUS prints: the mapped stdin shrank under us.
const SIGBUS_MESSAGE: &[u8] =
    b"upcase pipe: cannot read stdin: the file was truncated while being read; output is incomplete\n";

/// Installs a SIGBUS handler that reports a truncated mapped stdin like any
/// other failed read (one line on stderr, exit status 1) instead of dying
/// with "Bus error".
fn on_sigbus_exit() -> nix::Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

    extern "C" fn exit_on_sigbus(_: nix::libc::c_int) {
        // Only async-signal-safe calls here: write(2) and _exit(2).
        // SAFETY: the buffer is a valid static of the given length; fd 2 is
        // stderr (a write to a closed fd merely fails).
        unsafe {
            nix::libc::write(2, SIGBUS_MESSAGE.as_ptr().cast(), SIGBUS_MESSAGE.len());
            nix::libc::_exit(1);
        }
    }
    let action = SigAction::new(
        SigHandler::Handler(exit_on_sigbus),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler only makes async-signal-safe calls (above), and
    // nothing else in the process handles SIGBUS.
    unsafe { sigaction(Signal::SIGBUS, &action) }.map(drop)
}
