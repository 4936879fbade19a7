//! A log writer that can never hurt the caller: [`NonBlocking`] hands each
//! formatted line to a thread of its own through a bounded queue and
//! returns at once. If the queue is full (stderr is slow or stalled) or the
//! write fails (the reader of a pipe went away: `EPIPE`), the line is
//! dropped and counted; nothing blocks, nothing panics.
//!
//! The first line that gets through after some were dropped is preceded by
//! `upcase: N log line(s) dropped`, and [`LogGuard`] says it once more at
//! exit if lines were dropped since (when stderr can take it at all).

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;

/// Lines the queue holds before new ones are dropped: a burst of this many
/// lines waits for a slow terminal; past it, lines are lost, not waited for.
pub const QUEUE_LINES: usize = 4096;

/// How long [`LogGuard`] waits at exit for queued lines to be written.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

enum Message {
    Line(Vec<u8>),
    /// Write everything before this, then acknowledge.
    Flush(mpsc::Sender<()>),
}

/// The writer to give `tracing_subscriber::fmt().with_writer(..)`.
#[derive(Clone)]
pub struct NonBlocking {
    queue: SyncSender<Message>,
    dropped: Arc<AtomicU64>,
}

/// Flushes the queue (for at most a second) when dropped, at the end of
/// `main`, and reports lines dropped since the last report.
pub struct LogGuard {
    queue: SyncSender<Message>,
}

/// Starts the writer thread over `sink` (stderr in the binary).
///
/// Fails only if the thread cannot be started.
pub fn non_blocking<W: Write + Send + 'static>(sink: W) -> io::Result<(NonBlocking, LogGuard)> {
    let (queue, lines) = mpsc::sync_channel(QUEUE_LINES);
    // The first queue made is the process's: `flush` waits on it.
    let _ = PROCESS_QUEUE.set(queue.clone());
    let dropped = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&dropped);
    std::thread::Builder::new()
        .name("upcase-log".into())
        .spawn(move || write_lines(sink, lines, &counter))?;
    let guard = LogGuard {
        queue: queue.clone(),
    };
    Ok((NonBlocking { queue, dropped }, guard))
}

impl NonBlocking {
    /// Lines dropped so far (queue full or write failed).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The writer thread: writes each line, counting those that fail.
fn write_lines<W: Write>(mut sink: W, lines: Receiver<Message>, dropped: &AtomicU64) {
    let mut reported = 0;
    for message in lines {
        match message {
            Message::Line(line) => {
                report_dropped(&mut sink, dropped, &mut reported);
                if sink.write_all(&line).is_err() {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            Message::Flush(done) => {
                report_dropped(&mut sink, dropped, &mut reported);
                let _ = sink.flush();
                let _ = done.send(());
            }
        }
    }
}

/// Writes `upcase: N log line(s) dropped` if lines were dropped since the
/// last such note that got through.
fn report_dropped<W: Write>(sink: &mut W, dropped: &AtomicU64, reported: &mut u64) {
    let now = dropped.load(Ordering::Relaxed);
    if now > *reported {
        let note = format!("upcase: {} log line(s) dropped\n", now - *reported);
        if sink.write_all(note.as_bytes()).is_ok() {
            *reported = now;
        }
    }
}

impl Write for NonBlocking {
    /// Queues `buf` (one formatted event) and returns at once; a line that
    /// does not fit is dropped and counted.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.queue.try_send(Message::Line(buf.to_vec())) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for NonBlocking {
    type Writer = NonBlocking;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        flush_queue(&self.queue, FLUSH_WAIT);
    }
}

/// The queue of the process's log writer, once [`non_blocking`] made one.
static PROCESS_QUEUE: OnceLock<SyncSender<Message>> = OnceLock::new();

/// Waits (at most a second) until every log line queued so far is on
/// stderr. A subcommand calls it before writing its final error line
/// straight to stderr, so that line comes after the log lines before it.
/// Does nothing when logging does not go through [`non_blocking`].
pub fn flush() {
    if let Some(queue) = PROCESS_QUEUE.get() {
        flush_queue(queue, FLUSH_WAIT);
    }
}

/// Prints a command's final error line, `WHO: MESSAGE`, on stderr, after
/// the log lines queued before it ([`flush`]): the log is asynchronous, and
/// without the wait a debug line could land after the error and bury it.
/// Every subcommand's fatal line goes through here.
pub fn fatal(who: &str, message: impl std::fmt::Display) {
    flush();
    eprintln!("{who}: {message}");
}

/// Waits (at most `wait`) until every line queued so far is written or
/// dropped, and any drop has been reported.
fn flush_queue(queue: &SyncSender<Message>, wait: Duration) {
    let deadline = Instant::now() + wait;
    let (done, acknowledged) = mpsc::channel();
    let mut flush = Message::Flush(done);
    // The queue may be full behind a stalled stderr: retry, bounded.
    loop {
        match queue.try_send(flush) {
            Ok(()) => break,
            Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                flush = back;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return,
        }
    }
    let left = deadline.saturating_duration_since(Instant::now());
    let _ = acknowledged.recv_timeout(left);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A sink that fails (like a pipe with no reader) until `open` is set.
    #[derive(Clone, Default)]
    struct Sink {
        open: Arc<Mutex<bool>>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if !*self.open.lock().unwrap() {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn failed_lines_are_counted_and_reported_once_the_sink_works() {
        let sink = Sink::default();
        let (mut writer, guard) = non_blocking(sink.clone()).unwrap();
        for _ in 0..3 {
            writer.write_all(b"lost\n").unwrap();
        }
        flush_queue(&writer.queue, FLUSH_WAIT); // all three failed
        assert_eq!(writer.dropped(), 3);
        *sink.open.lock().unwrap() = true;
        writer.write_all(b"kept\n").unwrap();
        drop(guard);
        let text = String::from_utf8(sink.written.lock().unwrap().clone()).unwrap();
        assert_eq!(text, "upcase: 3 log line(s) dropped\nkept\n");
    }

    /// A sink that blocks forever: writes still return at once, and lines
    /// past the queue are dropped and counted.
    #[test]
    fn a_stalled_sink_never_blocks_the_writer() {
        struct Stalled;
        impl Write for Stalled {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                std::thread::sleep(Duration::from_secs(3600));
                Ok(0)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (mut writer, guard) = non_blocking(Stalled).unwrap();
        let started = Instant::now();
        let lines = QUEUE_LINES as u64 + 100;
        for _ in 0..lines {
            writer.write_all(b"line\n").unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(1));
        // One line is with the stalled thread, QUEUE_LINES wait in the queue.
        assert!(writer.dropped() >= lines - QUEUE_LINES as u64 - 1);
        let started = Instant::now();
        drop(guard);
        assert!(started.elapsed() < FLUSH_WAIT + Duration::from_millis(500));
    }
}
