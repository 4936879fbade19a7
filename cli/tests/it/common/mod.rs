//! Shared helpers for the integration tests: an independent oracle, a seeded
//! RNG and input generator, the `upcase` binary as a child process, the
//! server in-process, and small socket utilities.
//!
//! The oracle is the core's `upcase::oracle` (std only, never
//! `upcase::Codec`): the tests check the codec as much as the server around it.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use upcase::{Casing, Config, InvalidUtf8};
use upcase_cli::server::{ServerConfig, Summary};

// ---------------------------------------------------------------- oracle

/// What the server must answer for the whole stream `input`: the core's
/// std-only oracle. Under `Reject` it is the answer up to the close.
pub fn oracle(casing: Casing, invalid: InvalidUtf8, input: &[u8]) -> Vec<u8> {
    upcase::oracle::uppercase(Config::new(casing, invalid), input).0
}

/// Whether the server closes `input` early (reject policy, ill-formed input).
pub fn rejects(casing: Casing, invalid: InvalidUtf8, input: &[u8]) -> bool {
    upcase::oracle::rejects(Config::new(casing, invalid), input)
}

/// `--casing` value for `casing`.
pub fn casing_flag(casing: Casing) -> &'static str {
    match casing {
        Casing::Unicode => "unicode",
        Casing::Ascii => "ascii",
    }
}

/// `--invalid` value for `invalid`.
pub fn invalid_flag(invalid: InvalidUtf8) -> &'static str {
    match invalid {
        InvalidUtf8::PassThrough => "pass",
        InvalidUtf8::Replace => "replace",
        InvalidUtf8::Reject => "reject",
    }
}

/// Asserts byte equality, reporting the first difference instead of two
/// huge byte dumps.
#[track_caller]
pub fn assert_same(actual: &[u8], expected: &[u8], what: &str) {
    if actual == expected {
        return;
    }
    let at = actual
        .iter()
        .zip(expected)
        .position(|(a, e)| a != e)
        .unwrap_or(actual.len().min(expected.len()));
    let window = |s: &[u8]| s[at.saturating_sub(16)..(at + 16).min(s.len())].to_vec();
    panic!(
        "{what}: output differs at byte {at} (got {} bytes, expected {})\n  got:      {:?}\n  expected: {:?}",
        actual.len(),
        expected.len(),
        String::from_utf8_lossy(&window(actual)),
        String::from_utf8_lossy(&window(expected)),
    );
}

// ---------------------------------------------------------------- randomness

/// xorshift64*: tiny, seeded, reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; 0 is remapped).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The seed from `UPCASE_TEST_SEED` or `default`, printed so a failing
    /// run can be repeated.
    pub fn seed(test: &str, default: u64) -> u64 {
        let seed = std::env::var("UPCASE_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default);
        eprintln!("{test}: seed {seed} (set UPCASE_TEST_SEED to change)");
        seed
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.range(0, items.len() - 1)]
    }

    /// A chunk size: 1–17 bytes mostly, sometimes up to a few KiB.
    pub fn chunk_len(&mut self) -> usize {
        match self.next_u64() % 100 {
            0..=84 => self.range(1, 17),
            85..=96 => self.range(18, 300),
            _ => self.range(301, 4096),
        }
    }
}

/// Characters whose uppercase is tricky: longer, multi-character, 4-byte,
/// titlecase, final sigma, dotless i, and some that don't change.
const TRICKY: &[&str] = &[
    "ß", "ΐ", "ǆ", "ǅ", "ﬃ", "ŉ", "ﬗ", "é", "ö", "σ", "ς", "ı", "ᾳ", "ῷ", "ꭰ", "𐐨", "😀", "ⓐ", "ǰ",
    "中", "ǈ", "ﬀ", "ɐ", "\u{1E9E}", "\u{0345}",
];

/// Ill-formed UTF-8: lone continuations, cut-off sequences, overlongs,
/// surrogates, values past U+10FFFF, bytes that never occur.
const INVALID: &[&[u8]] = &[
    b"\x80",
    b"\xBF",
    b"\xC3",
    b"\xE2\x82",
    b"\xF0\x9F\x98",
    b"\xC0\xAF",
    b"\xC1\xBF",
    b"\xE0\x80\x80",
    b"\xED\xA0\x80",
    b"\xF4\x90\x80\x80",
    b"\xF5",
    b"\xFF",
    b"\xFE\xFE",
    b"\xF8\x88\x80\x80\x80",
];

/// A stream of about `len` bytes: ASCII words, tricky and random scalars,
/// and (if `invalid_percent` > 0) ill-formed sequences that often land next
/// to or inside multi-byte characters.
pub fn mixed_input(rng: &mut Rng, len: usize, invalid_percent: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        let roll = rng.next_u64() % 100;
        if roll < invalid_percent {
            let bad: &[u8] = rng.pick(INVALID);
            out.extend_from_slice(bad);
        } else if roll < invalid_percent + 20 {
            let tricky: &str = rng.pick(TRICKY);
            out.extend_from_slice(tricky.as_bytes());
        } else if roll < invalid_percent + 28 {
            let c = loop {
                let cp = match rng.range(0, 3) {
                    0 => rng.range(0x80, 0x7FF),
                    1 => rng.range(0x800, 0xFFFF),
                    2 => rng.range(0x1_0000, 0x10_FFFF),
                    _ => rng.range(0x370, 0x58F), // Greek, Cyrillic, Armenian
                };
                if let Some(c) = char::from_u32(cp as u32) {
                    break c;
                }
            };
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        } else {
            let word_len = rng.range(1, 12);
            for _ in 0..word_len {
                let b = rng.pick(b"abcdefghijklmnopqrstuvwxyzABCXYZ0129 ,.!?\n\t{");
                out.push(b);
            }
        }
    }
    out
}

// ---------------------------------------------------------------- sockets

/// Bounds a test body: panics with `what` if it takes longer than `secs`.
pub async fn within<T>(secs: u64, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: timed out after {secs} s"),
    }
}

/// A connection with TCP_NODELAY, as the torture clients use.
pub async fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|err| panic!("connect {addr}: {err}"));
    stream.set_nodelay(true).unwrap();
    stream
}

/// Sends `input`, half-closes, and returns everything the server sent back
/// until it closed. Writes and reads run concurrently.
pub async fn round_trip(addr: SocketAddr, input: &[u8]) -> Vec<u8> {
    exchange(connect(addr).await, input).await
}

/// [`round_trip`] over any stream (plain TCP or TLS, where the half-close
/// is close_notify).
pub async fn exchange<S>(stream: S, input: &[u8]) -> Vec<u8>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let write = async {
        writer.write_all(input).await.unwrap();
        writer.shutdown().await.unwrap();
    };
    let read = async {
        let mut out = Vec::new();
        reader.read_to_end(&mut out).await.unwrap();
        out
    };
    tokio::join!(write, read).1
}

/// Reads exactly `len` bytes, failing on EOF.
pub async fn read_n(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    stream
        .read_exact(&mut buf)
        .await
        .unwrap_or_else(|err| panic!("reading {len} bytes: {err}"));
    buf
}

/// Whether the peer closed: `read` returns EOF or a reset within `wait`.
pub async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 256];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// Sets SO_LINGER 0 so that dropping `stream` sends RST instead of FIN.
pub fn arm_reset(stream: &TcpStream) {
    socket2::SockRef::from(stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
}

/// Raises this process's soft open-file limit to at least `want` (up to the
/// hard limit) and returns the soft limit now in force.
pub fn raise_nofile(want: u64) -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft >= want {
        return soft;
    }
    let new = want.min(hard);
    setrlimit(Resource::RLIMIT_NOFILE, new, hard).unwrap();
    new
}

/// Whether IPv6 loopback works here (some containers have no `::1`).
pub fn ipv6_available() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

// ---------------------------------------------------------------- in-process server

/// `upcase_cli::server::run` on a loopback port of this test's runtime.
pub struct InProcess {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Summary>,
}

impl InProcess {
    /// Starts the server on `127.0.0.1:0` with `config`.
    pub async fn start(config: ServerConfig) -> Self {
        let listener = upcase_cli::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(upcase_cli::server::run([listener], config, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Requests shutdown and returns the summary once the drain is over.
    pub async fn stop(mut self) -> Summary {
        let _ = self.stop.take().unwrap().send(());
        (&mut self.task).await.unwrap()
    }
}

// ---------------------------------------------------------------- the binary

/// Strips ANSI colour sequences (the log may be coloured even in a pipe).
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The `upcase` binary under test.
pub fn upcase_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_upcase"))
}

/// Runs `upcase ARGS` to completion (for startup errors), bounded by 20 s.
pub fn run_to_exit(args: &[&str]) -> (ExitStatus, String) {
    run_to_exit_with(args, |_| {})
}

/// Waits up to `wait` for `child` to exit; past that, kills and reaps it
/// and returns `None`, so no test leaves a process behind.
pub fn wait_or_kill(child: &mut Child, wait: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + wait;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Waits up to `wait` for `child` to exit; past that, kills it and panics
/// with `output()` (what it showed). Then sleeps a moment so the threads
/// collecting its output catch the last of it.
#[track_caller]
pub fn wait_exit_and_settle(
    child: &mut Child,
    wait: Duration,
    output: impl FnOnce() -> String,
) -> ExitStatus {
    let Some(status) = wait_or_kill(child, wait) else {
        panic!("still running after {wait:?}; {}", output());
    };
    std::thread::sleep(Duration::from_millis(20));
    status
}

/// [`run_to_exit`] with a hook to adjust the command (user, limits).
pub fn run_to_exit_with(args: &[&str], adjust: impl FnOnce(&mut Command)) -> (ExitStatus, String) {
    let mut command = upcase_bin();
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    adjust(&mut command);
    let mut child = command.spawn().unwrap();
    let Some(status) = wait_or_kill(&mut child, Duration::from_secs(20)) else {
        panic!("upcase {args:?} did not exit");
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status, stderr)
}

/// Starts `upcase ARGS` with stdin, stdout and stderr all piped.
pub fn spawn_piped(args: &[&str]) -> Child {
    upcase_bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `upcase ARGS` with `stdin` as its input, bounded by `secs`;
/// returns its status, stdout and stderr (for client and pipe tests).
pub fn run_with_stdin(args: &[&str], stdin: &[u8], secs: u64) -> (ExitStatus, Vec<u8>, String) {
    use std::io::Write;
    let mut child = spawn_piped(args);
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&stdin); // closes stdin when done
    });
    let result = collect(child, args, secs);
    feeder.join().unwrap();
    result
}

/// Writes 64 MiB of `a` to `stdin` from a thread, stopping early when the
/// child stops reading (its stdin closes): input that outlasts any pipe or
/// socket buffer.
pub fn flood(mut stdin: std::process::ChildStdin) -> std::thread::JoinHandle<()> {
    use std::io::Write;
    std::thread::spawn(move || {
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..1024 {
            if stdin.write_all(&chunk).is_err() {
                break;
            }
        }
    })
}

/// Waits for `child` (spawned as `upcase ARGS` with piped stdout and
/// stderr), at most `secs`, while draining both pipes so it never blocks
/// on them; returns its status, stdout and stderr.
pub fn collect(mut child: Child, args: &[&str], secs: u64) -> (ExitStatus, Vec<u8>, String) {
    use std::io::Read;
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let mut err = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut buf = String::new();
        let _ = err.read_to_string(&mut buf);
        buf
    });
    let Some(status) = wait_or_kill(&mut child, Duration::from_secs(secs)) else {
        panic!("upcase {args:?} did not exit within {secs} s");
    };
    (status, reader.join().unwrap(), err_reader.join().unwrap())
}

/// A running `upcase serve`, killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// The bound addresses, from the `listening on ADDR` lines, in order.
    pub addrs: Vec<SocketAddr>,
    log: Arc<Mutex<Vec<String>>>,
    /// Set when the log reader reached the end of the server's stderr.
    log_done: Arc<std::sync::atomic::AtomicBool>,
}

impl ServerProcess {
    /// `upcase serve ARGS`; waits for one `listening on` line per `--listen`.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with(args, |_| {})
    }

    /// Like [`start`](Self::start), with a hook to adjust the command (e.g.
    /// `pre_exec` to lower its limits).
    pub fn start_with(args: &[&str], adjust: impl FnOnce(&mut Command)) -> Self {
        let expected = args.iter().filter(|a| **a == "--listen").count().max(1);
        let mut command = upcase_bin();
        command
            .arg("--log-level")
            .arg("debug")
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        adjust(&mut command);
        let mut child = command.spawn().expect("spawn upcase");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        let log_done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done = Arc::clone(&log_done);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(strip_ansi(&line));
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut server = Self {
            child,
            addrs: Vec::new(),
            log,
            log_done,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while server.addrs.len() < expected {
            server.addrs = server
                .log_lines()
                .iter()
                .filter_map(|line| line.split("listening on ").nth(1))
                .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
                .collect();
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "upcase serve exited at startup ({status}):\n{}",
                    server.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no `listening on` line:\n{}",
                server.log_text()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        server
    }

    /// `upcase serve --listen 127.0.0.1:0 EXTRA`.
    pub fn loopback(extra: &[&str]) -> Self {
        let mut args = vec!["--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Self::start(&args)
    }

    /// The first bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Log lines so far, colour stripped.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub fn log_text(&self) -> String {
        self.log_lines().join("\n")
    }

    /// How many log lines contain `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log_lines()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Waits (async) until some log line contains `needle`.
    pub async fn wait_log(&self, needle: &str, wait: Duration) {
        let deadline = Instant::now() + wait;
        while self.log_count(needle) == 0 {
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?} within {wait:?}:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits (async, up to 5 s) until `n` log lines contain `needle`, then
    /// checks there are exactly `n`.
    pub async fn wait_log_count(&self, needle: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.log_count(needle) < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(self.log_count(needle), n, "{needle}:\n{}", self.log_text());
    }

    /// Sends `signal` to the server.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), signal).unwrap();
    }

    /// Waits (async) for the server to exit.
    /// Its last log lines (written by the server's log thread as it exits)
    /// are read before this returns.
    pub async fn wait_exit(&mut self, wait: Duration) -> ExitStatus {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let read_all = Instant::now() + Duration::from_secs(5);
                while !self.log_done.load(std::sync::atomic::Ordering::SeqCst)
                    && Instant::now() < read_all
                {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server still running after {wait:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The metrics address (`--metrics ADDR`), from the server's
    /// `metrics at http://ADDR/metrics` line (logged before the listeners,
    /// so it is there once [`start`](Self::start) returns).
    pub fn metrics_addr(&self) -> SocketAddr {
        self.log_lines()
            .iter()
            .find_map(|l| l.split("metrics at http://").nth(1))
            .and_then(|rest| rest.split('/').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no `metrics at` line:\n{}", self.log_text()))
    }

    /// Resident memory in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// CPU time used so far (user + system), in clock ticks (usually 10 ms).
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        // Fields after the parenthesised command name; utime and stime are 14 and 15.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            // The server's side of the story, for the failing test's output.
            std::thread::sleep(Duration::from_millis(50));
            eprintln!(
                "--- upcase serve log ---\n{}\n--- end of log ---",
                self.log_text()
            );
        }
    }
}

// ---------------------------------------------------------------- client and pipe

pub mod haproxy;
pub mod pty;
pub mod standin;

/// Peak resident memory (`VmHWM`) of a running process, in KiB; `None`
/// once it has exited (a zombie has no memory to report).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `upcase ARGS` with piped stdio, for tests that feed stdin step by step
/// and watch stdout as it comes. Killed when dropped.
pub struct Running {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Running {
    /// Starts `upcase ARGS`; stdout and stderr are collected in threads.
    pub fn spawn(args: &[&str]) -> Self {
        let mut child = spawn_piped(args);
        let collect = |mut from: Box<dyn std::io::Read + Send>| {
            let sink = Arc::new(Mutex::new(Vec::new()));
            let to = Arc::clone(&sink);
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = from.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    to.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
            sink
        };
        let stdout = collect(Box::new(child.stdout.take().unwrap()));
        let stderr = collect(Box::new(child.stderr.take().unwrap()));
        Self {
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes `bytes` to its stdin (ignoring a closed pipe: the child may
    /// have stopped reading on purpose).
    pub fn write(&mut self, bytes: &[u8]) {
        use std::io::Write;
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.write_all(bytes);
        }
    }

    /// Writes `chunk` over and over until at least `total` bytes are sent,
    /// reads the process's peak resident memory while its stdin is still
    /// open (so it is still running), then closes stdin. Returns the bytes
    /// sent and the peak in KiB.
    #[track_caller]
    pub fn stream_and_peak(&mut self, chunk: &[u8], total: usize) -> (usize, u64) {
        let mut sent = 0;
        while sent < total {
            self.write(chunk);
            sent += chunk.len();
        }
        let Some(peak) = peak_rss_kib(self.pid()) else {
            panic!(
                "the process exited before its input ended: {}",
                self.stderr()
            );
        };
        self.close_stdin();
        (sent, peak)
    }

    /// Closes its stdin: EOF.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    pub fn stdout(&self) -> Vec<u8> {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Waits until stdout has at least `len` bytes.
    #[track_caller]
    pub fn wait_stdout_len(&self, len: usize, wait: Duration) {
        let deadline = Instant::now() + wait;
        while self.stdout.lock().unwrap().len() < len {
            assert!(
                Instant::now() < deadline,
                "stdout has {} of {len} bytes after {wait:?}; stderr: {}",
                self.stdout.lock().unwrap().len(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Waits for the exit (killing it after `wait`), then a moment for the
    /// collectors to catch the last output.
    #[track_caller]
    pub fn wait_exit(&mut self, wait: Duration) -> ExitStatus {
        let stderr = &self.stderr;
        wait_exit_and_settle(&mut self.child, wait, || {
            format!(
                "stderr: {}",
                String::from_utf8_lossy(&stderr.lock().unwrap())
            )
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------- bench

/// Runs `upcase bench ARGS` (with `--json`), bounded by `secs`; returns its
/// status, the JSON line from stdout and stderr.
pub fn run_bench(args: &[&str], secs: u64) -> (ExitStatus, String, String) {
    let mut all = vec!["bench", "--json"];
    all.extend_from_slice(args);
    let (status, stdout, stderr) = run_with_stdin(&all, b"", secs);
    (status, String::from_utf8(stdout).unwrap(), stderr)
}

/// The raw text of `"key":VALUE` in a flat JSON object line (numbers,
/// booleans, null; nested objects are searched too since keys are unique).
pub fn json_raw<'a>(json: &'a str, key: &str) -> &'a str {
    let needle = format!("\"{key}\":");
    let start = json
        .find(&needle)
        .unwrap_or_else(|| panic!("no {key:?} in {json}"))
        + needle.len();
    let rest = &json[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    &rest[..end]
}

/// A number field of a JSON line, see [`json_raw`].
pub fn json_number(json: &str, key: &str) -> f64 {
    let raw = json_raw(json, key);
    raw.parse()
        .unwrap_or_else(|_| panic!("{key:?} is not a number: {raw} in {json}"))
}

/// A server stand-in on `127.0.0.1:0` running `handler` on a thread per
/// connection, for any number of connections (unlike [`standin::StandIn`],
/// which scripts one): for load-testing against servers that misbehave.
/// Stops accepting when dropped; connection threads end with their client.
pub struct StandInServer {
    pub addr: SocketAddr,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl StandInServer {
    pub fn start(handler: fn(std::net::TcpStream)) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                // Never let a stand-in hang a test: bounded reads and writes.
                let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
                let _ = stream.set_write_timeout(Some(Duration::from_secs(20)));
                std::thread::spawn(move || handler(stream));
            }
        });
        Self { addr, stop }
    }

    /// Stand-in handler: answers every read with `transform` of it, until
    /// EOF, then closes.
    pub fn serve_with(
        mut stream: std::net::TcpStream,
        mut transform: impl FnMut(&[u8]) -> Vec<u8>,
    ) {
        use std::io::{Read, Write};
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if stream.write_all(&transform(&buf[..n])).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
}

impl Drop for StandInServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

// ---------------------------------------------------------------- PROXY protocol

pub use upcase::oracle::proxy_v1;

// ---------------------------------------------------------------- source addresses

/// A connection to `addr` from the loopback address `source` (such as
/// `127.0.0.2`; Linux routes all of 127.0.0.0/8 to `lo`), for tests where
/// the client's address matters.
pub async fn connect_from(source: &str, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source.parse().unwrap(), 0))?;
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}
