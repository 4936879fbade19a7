//! `upcase pipe`, the real binary as a filter: multi-megabyte mixed valid
//! and invalid UTF-8 under every policy against the std-only oracle, the
//! reject exit with its offset, a closed or full stdout, and constant memory.
//!
//! Both input paths: stdin as a pipe (read() loop) and stdin as a regular
//! file (mapped and fed in windows). The file tests run with
//! `--log-level upcase=debug` and check the debug line that says which
//! path was taken, so a silent fallback to read() cannot pass for mmap.

use crate::common;
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::common::{
    assert_same, casing_flag, collect, invalid_flag, mixed_input, oracle, run_with_stdin,
    upcase_bin, Rng, Running,
};
use upcase::{Casing, InvalidUtf8};

/// `upcase pipe` with the flags for `casing`/`invalid`.
fn pipe(casing: Casing, invalid: InvalidUtf8, input: &[u8]) -> (i32, Vec<u8>, String) {
    let args = [
        "pipe",
        "--casing",
        casing_flag(casing),
        "--invalid",
        invalid_flag(invalid),
    ];
    let (status, out, err) = run_with_stdin(&args, input, 60);
    (status.code().expect("exited by a signal"), out, err)
}

/// Four megabytes of mixed text with ill-formed sequences, under every
/// policy that passes everything: byte-identical to the oracle.
#[test]
fn multi_megabyte_mixed_input_equals_the_oracle() {
    let mut rng = Rng::new(Rng::seed("pipe mixed", 0x5EED_0001));
    let input = mixed_input(&mut rng, 4 << 20, 3);
    assert!(std::str::from_utf8(&input).is_err());
    for (casing, invalid) in [
        (Casing::Unicode, InvalidUtf8::PassThrough),
        (Casing::Unicode, InvalidUtf8::Replace),
        (Casing::Ascii, InvalidUtf8::PassThrough),
    ] {
        let (code, out, err) = pipe(casing, invalid, &input);
        assert_eq!(code, 0, "{casing:?}/{invalid:?}: {err}");
        assert!(err.is_empty(), "{casing:?}/{invalid:?}: stderr {err:?}");
        assert_same(
            &out,
            &oracle(casing, invalid, &input),
            &format!("{casing:?}/{invalid:?}"),
        );
    }
}

/// The window in which the filter feeds a mapped stdin (`WINDOW` in
/// src/pipe.rs); the file tests put characters across its boundaries.
const WINDOW: usize = 256 * 1024;

/// A scratch file of this test binary holding `bytes`.
fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `upcase --log-level upcase=debug pipe ARGS < stdin`, stdin a regular
/// file (its offset shared with the caller's handle, as after a shell's
/// `<`). Returns the exit code, stdout, and stderr.
fn pipe_file(args: &[&str], stdin: File) -> (i32, Vec<u8>, String) {
    let child = upcase_bin()
        .args(["--log-level", "upcase=debug", "pipe"])
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, out, err) = collect(child, args, 60);
    (status.code().expect("exited by a signal"), out, err)
}

/// Mixed text with ill-formed sequences and a multi-byte character across
/// every window boundary: 3.3 MiB, not a whole number of windows or of
/// pages.
fn mapped_input(seed: &str, invalid_percent: u64) -> Vec<u8> {
    let mut rng = Rng::new(Rng::seed(seed, 0x5EED_0004));
    let mut input = mixed_input(&mut rng, 13 * WINDOW + 4_321, invalid_percent);
    for k in 1..=13 {
        // "ΐ" (2 bytes → 6) cut 1 | 1, or "😀" (4 bytes) cut 1 | 3.
        let c = if k % 2 == 1 { "ΐ" } else { "😀" };
        input[k * WINDOW - 1..][..c.len()].copy_from_slice(c.as_bytes());
    }
    input
}

/// Stdin a multi-megabyte regular file: mapped, fed window by window, and
/// byte-identical to the oracle under every policy that passes everything;
/// the offset is left at the end, as read() would leave it.
#[test]
fn mapped_file_equals_the_oracle() {
    let input = mapped_input("pipe mapped", 3);
    assert!(std::str::from_utf8(&input).is_err());
    let path = scratch_file("pipe-mapped.txt", &input);
    for (casing, invalid) in [
        (Casing::Unicode, InvalidUtf8::PassThrough),
        (Casing::Unicode, InvalidUtf8::Replace),
        (Casing::Ascii, InvalidUtf8::PassThrough),
    ] {
        let what = format!("{casing:?}/{invalid:?}");
        let mut file = File::open(&path).unwrap();
        let flags = [
            "--casing",
            casing_flag(casing),
            "--invalid",
            invalid_flag(invalid),
        ];
        let (code, out, err) = pipe_file(&flags, file.try_clone().unwrap());
        assert_eq!(code, 0, "{what}: {err}");
        assert!(
            err.contains(&format!(
                "stdin mapped: {} bytes from offset 0",
                input.len()
            )),
            "{what}: not mapped? stderr {err:?}"
        );
        assert_same(&out, &oracle(casing, invalid, &input), &what);
        assert_eq!(
            file.stream_position().unwrap(),
            input.len() as u64,
            "{what}"
        );
    }
    let _ = std::fs::remove_file(path);
}

/// `(head -c N; upcase pipe) < file`: the filter starts at stdin's offset
/// (here not on a page boundary, inside a character) and leaves it at the
/// end; the reject offset counts from where it started.
#[test]
fn mapped_file_starts_at_the_current_offset() {
    let input = mapped_input("pipe offset", 2);
    let path = scratch_file("pipe-offset.txt", &input);
    for skip in [1, 4_097, WINDOW + 3, input.len() - 1] {
        let mut file = File::open(&path).unwrap();
        file.seek(SeekFrom::Start(skip as u64)).unwrap();
        let (code, out, err) = pipe_file(&[], file.try_clone().unwrap());
        assert_eq!(code, 0, "skip {skip}: {err}");
        let rest = input.len() - skip;
        assert!(
            err.contains(&format!("stdin mapped: {rest} bytes from offset {skip}")),
            "skip {skip}: not mapped? stderr {err:?}"
        );
        let expected = oracle(Casing::Unicode, InvalidUtf8::PassThrough, &input[skip..]);
        assert_same(&out, &expected, &format!("skip {skip}"));
        assert_eq!(file.stream_position().unwrap(), input.len() as u64);
    }

    // At the end already: nothing to map, nothing written, offset kept.
    let mut file = File::open(&path).unwrap();
    file.seek(SeekFrom::End(0)).unwrap();
    let (code, out, err) = pipe_file(&[], file.try_clone().unwrap());
    assert_eq!((code, out.len()), (0, 0), "{err}");
    assert!(!err.contains("stdin mapped"), "{err:?}");
    assert_eq!(file.stream_position().unwrap(), input.len() as u64);
    let _ = std::fs::remove_file(path);
}

/// An empty regular file is read (nothing to map): empty output, status 0.
#[test]
fn empty_file_empty_output() {
    let path = scratch_file("pipe-empty.txt", b"");
    let (code, out, err) = pipe_file(&["--invalid", "reject"], File::open(&path).unwrap());
    assert_eq!((code, out.len()), (0, 0), "{err}");
    assert!(!err.contains("stdin mapped"), "{err:?}");
    let _ = std::fs::remove_file(path);
}

/// Reject on a mapped file, the bad byte a few windows in (and, the second
/// time, counted from a nonzero starting offset): the valid prefix on
/// stdout, exit 8 naming the stream offset.
#[test]
fn mapped_file_reject_writes_the_prefix_and_names_the_offset() {
    let mut rng = Rng::new(Rng::seed("pipe mapped reject", 0x5EED_0005));
    let mut input = mixed_input(&mut rng, 3 << 20, 0);
    let bad = 2 * WINDOW + 12_345;
    input.splice(bad..bad, *b"\xE2\x28\xA1");
    let path = scratch_file("pipe-mapped-reject.txt", &input);
    for skip in [0, 1_000] {
        let mut file = File::open(&path).unwrap();
        file.seek(SeekFrom::Start(skip as u64)).unwrap();
        let (code, out, err) = pipe_file(&["--invalid", "reject"], file);
        assert_eq!(code, 8, "stderr: {err}");
        assert!(err.contains("stdin mapped"), "not mapped? {err:?}");
        let stream = &input[skip..];
        assert_eq!(
            std::str::from_utf8(stream).unwrap_err().valid_up_to(),
            bad - skip
        );
        assert_same(
            &out,
            &oracle(Casing::Unicode, InvalidUtf8::Reject, stream),
            "reject prefix",
        );
        let last = err.lines().last().unwrap_or_default();
        assert_eq!(
            last,
            format!(
                "upcase pipe: invalid UTF-8 at byte offset {} of the stream: [E2] (--invalid reject)",
                bad - skip
            )
        );
    }
    let _ = std::fs::remove_file(path);
}

/// Another process truncates the mapped file mid-run: the SIGBUS that
/// follows becomes the usual one-line read error and exit status 1, not a
/// "Bus error" crash.
#[test]
fn mapped_file_truncated_midway_is_a_read_error() {
    use std::io::Read;
    let input = vec![b'a'; 16 * WINDOW];
    let path = scratch_file("pipe-truncated.txt", &input);
    let mut child = upcase_bin()
        .arg("pipe")
        .stdin(File::open(&path).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first window's output overfills the stdout pipe, so the filter
    // blocks in write() with most of the file still unread: truncate then.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).unwrap();
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    let drained = std::thread::spawn(move || {
        let mut rest = Vec::new();
        let _ = stdout.read_to_end(&mut rest);
        rest.len() + 1
    });
    let mut stderr = child.stderr.take().unwrap();
    let status = wait_child(&mut child, Duration::from_secs(60));
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    let got = drained.join().unwrap();
    assert_eq!(status.code(), Some(1), "{status:?}, stderr {err:?}");
    assert!(got < input.len(), "all {got} bytes came out");
    assert_eq!(
        err.trim_end(),
        "upcase pipe: cannot read stdin: the file was truncated while being read; output is incomplete"
    );
    let _ = std::fs::remove_file(path);
}

/// A pipe is not mapped: the read() loop takes it.
#[test]
fn pipe_is_read_not_mapped() {
    let input = mapped_input("pipe read", 3);
    let args = ["--log-level", "upcase=debug", "pipe"];
    let (status, out, err) = run_with_stdin(&args, &input, 60);
    assert!(status.success(), "{err}");
    assert!(!err.contains("stdin mapped"), "{err:?}");
    assert_same(
        &out,
        &oracle(Casing::Unicode, InvalidUtf8::PassThrough, &input),
        "pipe",
    );
}

/// `upcase pipe < in.txt > out.txt`, with real files rather than pipes.
#[test]
fn file_to_file() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (in_path, out_path) = (dir.join("pipe-in.txt"), dir.join("pipe-out.txt"));
    let mut rng = Rng::new(Rng::seed("pipe files", 0x5EED_0003));
    let input = mixed_input(&mut rng, 6 << 20, 2);
    std::fs::write(&in_path, &input).unwrap();
    let mut child = upcase_bin()
        .arg("pipe")
        .stdin(std::fs::File::open(&in_path).unwrap())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = wait_child(&mut child, Duration::from_secs(60));
    assert!(status.success(), "{status}");
    assert_same(
        &std::fs::read(&out_path).unwrap(),
        &oracle(Casing::Unicode, InvalidUtf8::PassThrough, &input),
        "file to file",
    );
    let _ = std::fs::remove_file(in_path);
    let _ = std::fs::remove_file(out_path);
}

/// Every byte value, and a UTF-8 character cut by the 64 KiB read
/// boundary, pass through unharmed.
#[test]
fn binary_input_and_reads_cut_through_characters() {
    let mut input: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    // "ΐ" (2 bytes → 6) straddling each of the first few read boundaries.
    for boundary in (1..4).map(|k| k * 64 * 1024 - 1) {
        input[boundary..boundary + 2].copy_from_slice("ΐ".as_bytes());
    }
    let (code, out, err) = pipe(Casing::Unicode, InvalidUtf8::PassThrough, &input);
    assert_eq!(code, 0, "{err}");
    assert_same(
        &out,
        &oracle(Casing::Unicode, InvalidUtf8::PassThrough, &input),
        "binary",
    );
}

#[test]
fn empty_input_empty_output() {
    let (code, out, err) = pipe(Casing::Unicode, InvalidUtf8::Reject, b"");
    assert_eq!((code, out.as_slice(), err.as_str()), (0, &b""[..], ""));
}

/// Reject: the valid prefix on stdout, then exit 8 naming the offset.
#[test]
fn reject_writes_the_prefix_and_names_the_offset() {
    let mut rng = Rng::new(Rng::seed("pipe reject", 0x5EED_0002));
    let mut input = mixed_input(&mut rng, 3 << 20, 0);
    let offset = input.len() - 12_345;
    input.splice(offset..offset, *b"\xE2\x28\xA1");
    assert_eq!(
        std::str::from_utf8(&input).unwrap_err().valid_up_to(),
        offset
    );

    let (code, out, err) = pipe(Casing::Unicode, InvalidUtf8::Reject, &input);
    assert_eq!(code, 8, "stderr: {err}");
    assert_same(
        &out,
        &oracle(Casing::Unicode, InvalidUtf8::Reject, &input),
        "reject prefix",
    );
    assert_eq!(
        err.trim_end(),
        format!(
            "upcase pipe: invalid UTF-8 at byte offset {offset} of the stream: [E2] (--invalid reject)"
        )
    );
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
}

/// A character cut off by the end of the input is an error under reject,
/// and passes through otherwise.
#[test]
fn truncated_character_at_the_end() {
    let input = "grüße "
        .as_bytes()
        .iter()
        .chain(b"\xF0\x9F\x98")
        .copied()
        .collect::<Vec<_>>();
    let (code, out, err) = pipe(Casing::Unicode, InvalidUtf8::Reject, &input);
    assert_eq!(code, 8);
    assert_eq!(out, "GRÜSSE ".as_bytes());
    assert!(
        err.contains("stream ended inside a UTF-8 sequence at byte offset 8"),
        "{err}"
    );

    let (code, out, _) = pipe(Casing::Unicode, InvalidUtf8::PassThrough, &input);
    assert_eq!(code, 0);
    assert_eq!(out, b"GR\xC3\x9CSSE \xF0\x9F\x98");
}

/// `upcase pipe < big | head -c 10`: stdout closes early; exit 141 and
/// nothing on stderr (no panic, no "Broken pipe" message).
#[test]
fn closed_stdout_stops_quietly() {
    let mut child = upcase_bin()
        .arg("pipe")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before anything is written
    let feeder = common::flood(child.stdin.take().unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let status = wait_child(&mut child, Duration::from_secs(20));
    feeder.join().unwrap();
    assert_eq!(status.code(), Some(141), "{status}");
    assert_eq!(err.join().unwrap(), "");
}

/// A full disk is an error, said in one line.
#[test]
fn full_stdout_is_an_error() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("no /dev/full here; skipped");
        return;
    };
    let mut child = upcase_bin()
        .arg("pipe")
        .stdin(Stdio::piped())
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(b"hello\n");
    }
    let status = wait_child(&mut child, Duration::from_secs(20));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(
        err.starts_with("upcase pipe: cannot write to stdout: No space left on device"),
        "{err}"
    );
}

/// 96 MiB through the filter with peak memory far below the data: it
/// streams with fixed buffers.
#[test]
fn memory_stays_constant() {
    let mut pipe = Running::spawn(&["pipe"]);
    let chunk = "grüße aus köln, ǆ ﬃ ΐ! ".repeat(64 * 1024 / 32);
    let (sent, peak) = pipe.stream_and_peak(chunk.as_bytes(), 96 << 20);
    let status = pipe.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "{}", pipe.stderr());
    let expected_len = chunk.to_uppercase().len() * (sent / chunk.len());
    assert_eq!(pipe.stdout().len(), expected_len);
    assert!(
        peak < 16 * 1024,
        "peak RSS {peak} KiB after {} MiB",
        sent >> 20
    );
}

fn wait_child(child: &mut std::process::Child, wait: Duration) -> std::process::ExitStatus {
    common::wait_or_kill(child, wait)
        .unwrap_or_else(|| panic!("upcase pipe did not exit within {wait:?}"))
}
