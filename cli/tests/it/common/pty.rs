//! The `upcase` binary on a pseudo-terminal, driven as a person would:
//! type, watch the screen, press Ctrl-D.

use std::fs::File;
use std::io::{Read, Write};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::pty::{openpty, OpenptyResult};

use super::upcase_bin;

/// `upcase ARGS` with a terminal as its stdin, stdout and stderr. Killed
/// when dropped; the screen is printed if the test failed.
pub struct PtySession {
    child: Child,
    keyboard: File,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl PtySession {
    /// Starts `upcase ARGS` on a fresh pseudo-terminal (canonical mode and
    /// echo on, as a shell leaves it).
    pub fn spawn(args: &[&str]) -> Self {
        let OpenptyResult { master, slave } = openpty(None, None).expect("openpty");
        let mut command = upcase_bin();
        command
            .args(args)
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
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
        }
    }

    /// Types `keys` (include `\n` to press Enter, `\x04` for Ctrl-D).
    pub fn type_keys(&mut self, keys: &str) {
        self.keyboard.write_all(keys.as_bytes()).unwrap();
    }

    /// Everything shown so far, with the terminal's `\r` removed.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).replace('\r', "")
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

    /// Waits for the program to exit.
    #[track_caller]
    pub fn wait_exit(&mut self, wait: Duration) -> ExitStatus {
        let Some(status) = super::wait_or_kill(&mut self.child, wait) else {
            panic!(
                "still running after {wait:?}; the screen shows:\n{}",
                self.screen()
            );
        };
        // Let the reader catch the last output.
        std::thread::sleep(Duration::from_millis(20));
        status
    }
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
