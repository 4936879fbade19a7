//! The `upcase` binary: parses flags, sets up logging, and hands over to the
//! subcommand's module in `upcase_cli`.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;
use tracing_subscriber::EnvFilter;
use upcase_cli::log::fatal;

/// Examples and exit statuses, shown by `upcase --help`.
const AFTER_HELP: &str = "\
Examples:
    upcase serve                                   # the server on 127.0.0.1:12000
    printf 'hello, straße\\n' | upcase client        # HELLO, STRASSE
    upcase client                                  # at a terminal: type lines, get capitals
    upcase pipe < in.txt > out.txt                 # the codec as a local filter
    upcase bench --connections 100 --payload unicode
    upcase completions bash > ~/.local/share/bash-completion/completions/upcase
    upcase man | man -l -

Exit status: each subcommand's --help lists its own. 0 is success and 2 a
bad command line everywhere.";

/// Examples, shown by `upcase completions --help`.
const COMPLETIONS_HELP: &str = "\
Examples:
    upcase completions bash > ~/.local/share/bash-completion/completions/upcase
    upcase completions zsh > ~/.zfunc/_upcase    # with fpath+=(~/.zfunc) before compinit
    upcase completions fish > ~/.config/fish/completions/upcase.fish
    upcase completions elvish >> ~/.config/elvish/rc.elv
    upcase completions powershell >> $PROFILE

Exit status:
    0  the script was written to stdout
    1  writing stdout failed
    2  bad command line (an unknown shell)";

/// Examples, shown by `upcase man --help`.
const MAN_HELP: &str = "\
Examples:
    upcase man | man -l -                          # read it now
    upcase man > ~/.local/share/man/man1/upcase.1  # install it: `man upcase`
    upcase man serve > ~/.local/share/man/man1/upcase-serve.1

Exit status:
    0  the page was written to stdout
    1  writing stdout failed
    2  bad command line (an unknown subcommand)";

/// Uppercase text over TCP: a server, a client, a filter and a load generator.
///
/// The server uppercases every byte stream it is sent (full Unicode or ASCII,
/// with a policy for invalid UTF-8) and answers as it reads; the client talks
/// to it from a terminal or a pipe; `pipe` runs the same codec locally; `bench`
/// loads a server and checks every reply byte.
#[derive(Debug, Parser)]
#[command(name = "upcase", version, after_help = AFTER_HELP)]
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
    /// Print a shell completion script on stdout.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the manual page (roff) on stdout.
    #[command(after_help = MAN_HELP)]
    Man {
        /// A subcommand's page (`upcase-serve(1)`...) instead of `upcase(1)`.
        #[arg(value_name = "SUBCOMMAND", value_parser = ["serve", "client", "pipe", "bench", "completions", "man"])]
        subcommand: Option<String>,
    },
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
            fatal("upcase", format_args!("invalid log filter: {err}"));
            return ExitCode::from(2);
        }
    };
    // Held to the end of `main`: flushes queued log lines on the way out.
    let _log = match init_logging(filter) {
        Ok(guard) => guard,
        Err(err) => {
            fatal("upcase", format_args!("cannot start logging: {err}"));
            return ExitCode::FAILURE;
        }
    };

    match cli.command {
        Command::Serve(args) => upcase_cli::server::main(args),
        Command::Client(args) => upcase_cli::client::main(args),
        Command::Pipe(args) => upcase_cli::pipe::main(args),
        Command::Bench(args) => upcase_cli::bench::main(args),
        Command::Completions { shell } => completions(shell),
        Command::Man { subcommand } => man(subcommand.as_deref()),
    }
}

/// `upcase completions SHELL`: the script for `shell`, from the clap
/// definitions, so it always matches the flags.
fn completions(shell: Shell) -> ExitCode {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "upcase", &mut script);
    write_stdout(&script, "upcase completions")
}

/// `upcase man [SUBCOMMAND]`: the manual page, from the clap definitions.
fn man(subcommand: Option<&str>) -> ExitCode {
    let mut command = Cli::command();
    command.build();
    let page = match subcommand {
        None => command,
        Some(name) => match command.find_subcommand(name) {
            Some(sub) => sub.clone(),
            None => {
                fatal("upcase man", format_args!("no subcommand '{name}'"));
                return ExitCode::from(2);
            }
        },
    };
    let mut roff = Vec::new();
    if let Err(err) = render_man(page, &mut roff) {
        fatal("upcase man", format_args!("cannot render the page: {err}"));
        return ExitCode::FAILURE;
    }
    write_stdout(&roff, "upcase man")
}

/// clap_mangen's sections, except that the `after_help` text (examples,
/// exit statuses) is set without filling, so its columns stay aligned.
fn render_man(command: clap::Command, out: &mut Vec<u8>) -> io::Result<()> {
    let version = env!("CARGO_PKG_VERSION");
    let has_options = command.get_arguments().any(|arg| !arg.is_hide_set());
    let has_subcommands = command.has_subcommands();
    let after_help = command.get_after_help().map(ToString::to_string);
    let page = clap_mangen::Man::new(command)
        .source(format!("upcase {version}"))
        .manual("User Commands");
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    if has_options {
        page.render_options_section(out)?;
    }
    if has_subcommands {
        page.render_subcommands_section(out)?;
    }
    if let Some(text) = after_help {
        out.extend_from_slice(b".SH \"EXAMPLES AND EXIT STATUS\"\n.nf\n");
        for line in text.lines() {
            out.extend_from_slice(roff_line(line).as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(b".fi\n");
    }
    out.extend_from_slice(format!(".SH VERSION\n{version}\n").as_bytes());
    Ok(())
}

/// One line of literal text for roff: backslashes and hyphens escaped, and
/// a leading `.` or `'` kept from being read as a request.
fn roff_line(line: &str) -> String {
    let escaped = line.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// Writes `bytes` to stdout: a closed pipe (`| head`) is quiet (141, as
/// elsewhere), another error is one line and status 1.
fn write_stdout(bytes: &[u8], who: &str) -> ExitCode {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(141),
        Err(err) => {
            fatal(who, format_args!("cannot write to stdout: {err}"));
            ExitCode::FAILURE
        }
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
