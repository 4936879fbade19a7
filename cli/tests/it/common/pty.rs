//! The `upcase` binary on a pseudo-terminal, driven as a person would:
//! type, watch the screen, press Ctrl-D.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::pty::{openpty, OpenptyResult, Winsize};

use super::upcase_bin;

/// Keys as a terminal sends them.
pub const UP: &str = "\x1b[A";
pub const CTRL_A: &str = "\x01";
pub const CTRL_C: &str = "\x03";
pub const CTRL_D: &str = "\x04";

/// A directory of its own under the system's temporary directory, removed
/// when dropped: a session's `XDG_DATA_HOME`, so that tests never read or
/// write the real user's client history.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(what: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "upcase-test-{what}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `upcase ARGS` with a terminal as its stdin, stdout and stderr. Killed
/// when dropped; the screen is printed if the test failed.
pub struct PtySession {
    child: Child,
    keyboard: File,
    screen: Arc<Mutex<Vec<u8>>>,
    /// Its own data directory, unless the test gave one.
    _data_home: Option<TempDir>,
}

impl PtySession {
    /// Starts `upcase ARGS` on a fresh 80x24 pseudo-terminal (canonical
    /// mode and echo on, as a shell leaves it; `TERM=xterm`), with a fresh
    /// empty `XDG_DATA_HOME`.
    pub fn spawn(args: &[&str]) -> Self {
        let home = TempDir::new("data");
        let mut session = Self::spawn_with_data_home(args, home.path());
        session._data_home = Some(home);
        session
    }

    /// Like [`spawn`](Self::spawn), with `XDG_DATA_HOME` set to `data_home`
    /// (where the client keeps `upcase/history`).
    pub fn spawn_with_data_home(args: &[&str], data_home: &Path) -> Self {
        Self::start(args, data_home, None)
    }

    /// Like [`spawn`](Self::spawn), with stdout redirected to `stdout` (a
    /// file): `upcase client > replies.txt` typed at a terminal.
    pub fn spawn_with_stdout(args: &[&str], stdout: File) -> Self {
        let home = TempDir::new("data");
        let mut session = Self::start(args, home.path(), Some(stdout));
        session._data_home = Some(home);
        session
    }

    fn start(args: &[&str], data_home: &Path, stdout: Option<File>) -> Self {
        let size = Winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let OpenptyResult { master, slave } = openpty(Some(&size), None).expect("openpty");
        let mut command = upcase_bin();
        command
            .args(args)
            .env("TERM", "xterm")
            .env("XDG_DATA_HOME", data_home)
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(match stdout {
                Some(file) => Stdio::from(file),
                None => Stdio::from(slave.try_clone().unwrap()),
            })
            .stderr(Stdio::from(slave));
        let child = command.spawn().expect("spawn upcase on a pty");
        // Drop our copies of the terminal's far end, so the screen reader
        // sees the end when the child exits.
        drop(command);

        let keyboard = File::from(master);
        let mut display = keyboard.try_clone().unwrap();
        let screen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once the child and every copy of the slave are gone.
            while let Ok(n) = display.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Self {
            child,
            keyboard,
            screen,
            _data_home: None,
        }
    }

    /// Types `keys` (include `\n` to press Enter, `\x04` for Ctrl-D).
    pub fn type_keys(&mut self, keys: &str) {
        self.keyboard.write_all(keys.as_bytes()).unwrap();
    }

    /// Everything shown so far, with the terminal's `\r` removed.
    pub fn screen(&self) -> String {
        shown(&self.screen)
    }

    /// Waits until the screen shows `needle` `times` times in all.
    #[track_caller]
    pub fn expect_count(&self, needle: &str, times: usize, wait: Duration) {
        let deadline = Instant::now() + wait;
        while self.screen().matches(needle).count() < times {
            assert!(
                Instant::now() < deadline,
                "the screen did not show {needle:?} {times} time(s) within {wait:?}; it shows:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until the screen shows `needle`.
    #[track_caller]
    pub fn expect(&self, needle: &str, wait: Duration) {
        self.expect_count(needle, 1, wait);
    }

    /// Waits until the screen shows `needle` somewhere after the first
    /// `anchor`: e.g. a fresh prompt after a key's echo, where counting
    /// prompts would also count the editor's redraws of the line.
    #[track_caller]
    pub fn expect_after(&self, anchor: &str, needle: &str, wait: Duration) {
        let deadline = Instant::now() + wait;
        loop {
            let screen = self.screen();
            if let Some(at) = screen.find(anchor) {
                if screen[at + anchor.len()..].contains(needle) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the screen did not show {needle:?} after {anchor:?} within {wait:?}; it shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Presses Ctrl-D (at an empty prompt: the end of input) and checks the
    /// client exits cleanly: status 0 and no `upcase client:` error line.
    #[track_caller]
    pub fn end_cleanly(&mut self, wait: Duration) {
        self.type_keys(CTRL_D);
        let status = self.wait_exit(wait);
        let screen = self.screen();
        assert!(status.success(), "{status}\n{screen}");
        assert!(!screen.contains("upcase client:"), "{screen}");
    }

    /// Waits for the program to exit.
    #[track_caller]
    pub fn wait_exit(&mut self, wait: Duration) -> ExitStatus {
        let screen = &self.screen;
        super::wait_exit_and_settle(&mut self.child, wait, || {
            format!("the screen shows:\n{}", shown(screen))
        })
    }
}

/// The terminal's output as text, its `\r` removed.
fn shown(screen: &Mutex<Vec<u8>>) -> String {
    String::from_utf8_lossy(&screen.lock().unwrap()).replace('\r', "")
}

impl Drop for PtySession {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- terminal ---\n{}\n--- end of terminal ---",
                self.screen()
            );
        }
    }
}
