//! The CLI explains itself: every subcommand's `--help` has examples and
//! its exit statuses, duration flags say what they take and refuse what
//! they cannot, and the shell completions and man page generated from the
//! same definitions work in bash and in Debian's `man`.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::{run_to_exit, run_with_stdin, upcase_bin};

/// `upcase ARGS` → (status, stdout).
fn output(args: &[&str]) -> (std::process::ExitStatus, String) {
    let (status, out, err) = run_with_stdin(args, b"", 20);
    assert!(err.is_empty(), "upcase {args:?}: {err}");
    (status, String::from_utf8(out).unwrap())
}

#[test]
fn every_subcommand_help_has_examples_and_exit_statuses() {
    for sub in ["serve", "client", "pipe", "bench", "completions", "man"] {
        let (status, help) = output(&[sub, "--help"]);
        assert!(status.success(), "{sub}");
        assert!(help.contains("Examples:\n    upcase"), "{sub}:\n{help}");
        assert!(help.contains("Exit status:\n"), "{sub}:\n{help}");
        assert!(help.contains("  2  bad command line"), "{sub}:\n{help}");
    }
    let (_, help) = output(&["--help"]);
    assert!(
        help.contains("Examples:") && help.contains("Exit status"),
        "{help}"
    );
    // Statuses that only these subcommands have.
    let (_, help) = output(&["serve", "--help"]);
    assert!(help.contains("130  a second SIGINT or SIGTERM"), "{help}");
    let (_, help) = output(&["client", "--help"]);
    for status in [
        "3  ",
        "4  ",
        "5  ",
        "6  ",
        "7  ",
        "8  --verify",
        "9  --verify",
        "141  ",
    ] {
        assert!(help.contains(status), "{status:?} in\n{help}");
    }
}

/// Each duration flag says it takes fractions and human forms, and takes
/// them; a negative value is a clear usage error, not "unexpected argument".
#[test]
fn duration_flags_say_and_take_human_forms() {
    let flags = [
        ("serve", "--idle-timeout"),
        ("serve", "--drain-timeout"),
        ("serve", "--proxy-header-timeout"),
        ("client", "--timeout"),
        ("bench", "--duration"),
        ("bench", "--warmup"),
        ("bench", "--timeout"),
    ];
    for (sub, flag) in flags {
        let (_, help) = output(&[sub, "--help"]);
        let entry = help
            .split("\n\n")
            .find(|para| para.trim_start().starts_with(&format!("{flag} ")))
            .unwrap_or_else(|| panic!("{sub} {flag} not in\n{help}"));
        assert!(
            entry.contains("fractions allowed (0.5)") && entry.contains("500ms, 5m, 1h"),
            "{sub} {flag}: {entry}"
        );
        let (status, err) = run_to_exit(&[sub, flag, "-1"]);
        assert_eq!(status.code(), Some(2), "{sub} {flag} -1: {err}");
        assert!(
            err.contains(&format!("invalid value '-1' for '{flag} <SECS>'"))
                && err.contains("a duration cannot be negative"),
            "{sub} {flag} -1: {err}"
        );
        let (status, err) = run_to_exit(&[sub, flag, "400days"]);
        assert_eq!(status.code(), Some(2), "{sub} {flag} 400days: {err}");
        assert!(err.contains("out of range"), "{err}");
    }
}

#[test]
fn bash_completion_parses_and_registers() {
    let (status, script) = output(&["completions", "bash"]);
    assert!(status.success());
    assert!(script.contains("--idle-timeout"), "the flags are in it");

    let mut check = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash");
    check
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let checked = check.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&checked.stderr)
    );

    // Sourced in a subshell, it registers a completion for `upcase`.
    let bin = env!("CARGO_BIN_EXE_upcase");
    let sourced = Command::new("bash")
        .arg("-c")
        .arg(r#"source <("$0" completions bash) && complete -p upcase"#)
        .arg(bin)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&sourced.stdout);
    assert!(
        sourced.status.success(),
        "{shown}{}",
        String::from_utf8_lossy(&sourced.stderr)
    );
    assert!(shown.contains(" upcase"), "{shown}");
}

#[test]
fn other_shells_get_their_scripts() {
    for (shell, marker) in [
        ("zsh", "#compdef upcase"),
        ("fish", "complete -c upcase"),
        ("elvish", "edit:completion:arg-completer[upcase]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let (status, script) = output(&["completions", shell]);
        assert!(status.success(), "{shell}");
        assert!(script.contains(marker), "{shell}: {marker:?} missing");
        assert!(script.contains("drain-timeout"), "{shell}: flags missing");
    }
    let (status, err) = run_to_exit(&["completions", "tcsh"]);
    assert_eq!(status.code(), Some(2), "{err}");
}

/// Renders roff with Debian's `man -l -` and returns the text.
fn render(roff: &str) -> String {
    let mut man = Command::new("man")
        .args(["-l", "-"])
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`man` (Debian's man-db) is needed; .ci/run installs it");
    man.stdin
        .take()
        .unwrap()
        .write_all(roff.as_bytes())
        .unwrap();
    let rendered = man.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&rendered.stdout).into_owned();
    assert!(
        rendered.status.success(),
        "man -l: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    // man may embolden with backspaces when it thinks it has a terminal.
    let mut plain = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn man_renders_the_page_and_the_subcommand_pages() {
    let (status, roff) = output(&["man"]);
    assert!(status.success());
    assert!(
        roff.starts_with(".ie") || roff.contains(".TH upcase 1"),
        "{roff}"
    );
    let page = render(&roff);
    for expected in [
        "NAME",
        "upcase - Uppercase text over TCP",
        "SYNOPSIS",
        "upcase-serve(1)",
        "upcase-client(1)",
        "EXAMPLES AND EXIT STATUS",
        "    upcase pipe < in.txt > out.txt",
    ] {
        assert!(page.contains(expected), "{expected:?} not in\n{page}");
    }

    let (status, roff) = output(&["man", "serve"]);
    assert!(status.success());
    let page = render(&roff);
    for expected in [
        "upcase-serve - Run the uppercasing TCP server",
        "--idle-timeout",
        "  130  a second SIGINT or SIGTERM during the drain: exited at once",
    ] {
        assert!(page.contains(expected), "{expected:?} not in\n{page}");
    }

    let (status, err) = run_to_exit(&["man", "nosuch"]);
    assert_eq!(status.code(), Some(2), "{err}");
}

/// `upcase man | head -c 10`: the closed pipe is quiet.
#[test]
fn man_into_a_closed_pipe_is_quiet() {
    let mut child = upcase_bin()
        .arg("man")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 141)),
        "{:?}",
        out.status
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
