//! One connection's load: the rr loop, and the windowed loop that serves
//! both pipelined rr and stream mode.
//!
//! A connection sends the units of its [`Block`] in order, cycling, starting
//! at its own offset. Because every unit is self-contained, the bytes the
//! server owes are the block's expected replies in the same cyclic order:
//! the reader walks that cycle ([`Expected`]) and compares with `==`.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

use super::payload::Block;
use super::shared::Shared;
use crate::tls::ClientStream;

/// Read buffer of the rr loop: far more than one reply, so a reply that
/// runs long is caught rather than left unread.
const RR_READ_BUF: usize = 64 * 1024;
/// Read buffer of the windowed loop, sized for bulk streams.
const STREAM_READ_BUF: usize = 256 * 1024;
/// Bytes of context on each side of a mismatch in its report.
const CONTEXT: usize = 24;

/// Why a connection stopped before its end.
#[derive(Debug)]
pub(super) enum Failure {
    /// A reply differed from the expected bytes.
    Mismatch(String),
    /// A socket error, or the server closed early.
    Connection(String),
}

/// One connection of the run.
pub(super) struct Connection {
    /// Its number, for reports and the histogram shard.
    pub index: usize,
    pub shared: Arc<Shared>,
    pub block: Arc<Block>,
    /// The unit of `block` it starts at, so connections sharing a block
    /// don't send in lockstep.
    pub first_unit: usize,
}

impl Connection {
    /// rr with one message in flight: write a unit, read exactly its
    /// expected reply, compare, repeat; then half-close and expect EOF.
    pub async fn request_response(&self, stream: &mut ClientStream) -> Result<(), Failure> {
        let block = &*self.block;
        let mut expected = Expected::new(block, self.first_unit);
        let mut buf = vec![0u8; RR_READ_BUF];
        let mut unit = self.first_unit;
        let mut number = 0u64;
        let mut now = Instant::now();
        while self.shared.claim(1, now) == 1 {
            let sent_at = now;
            number += 1;
            let message = block.inputs(unit, 1);
            stream
                .write_all(message)
                .await
                .map_err(|err| self.io_failure("sending", err))?;
            // TLS may hold the record back until flushed (plain TCP: no-op).
            stream
                .flush()
                .await
                .map_err(|err| self.io_failure("sending", err))?;
            self.shared.wrote(sent_at, message.len());
            let mut owed = block.reply_range(unit).len();
            while owed > 0 {
                let n = stream
                    .read(&mut buf)
                    .await
                    .map_err(|err| self.io_failure("receiving", err))?;
                if n == 0 {
                    return Err(Failure::Connection(format!(
                        "connection {}: the server closed the connection {owed} bytes \
                         short of the reply to message {number}",
                        self.index
                    )));
                }
                let got = &buf[..n.min(owed)];
                expected
                    .check(got)
                    .map_err(|at| self.mismatch(&expected, got, at, number))?;
                if n > owed {
                    return Err(Failure::Mismatch(format!(
                        "connection {}: the reply to message {number} is {} bytes longer \
                         than expected ({})",
                        self.index,
                        n - owed,
                        show(&buf[owed..n.min(owed + CONTEXT)]),
                    )));
                }
                owed -= n;
                self.shared.read(Instant::now(), n);
            }
            now = Instant::now();
            self.shared.completed(self.index, now, [sent_at]);
            unit = (unit + 1) % block.units();
        }
        self.close(stream).await
    }

    /// Pipelined rr (`window` = K messages in flight) or stream mode
    /// (`window` = `None`: as much as TCP takes). A writer and a reader run
    /// concurrently; the reader checks the returning stream against the
    /// expected cycle and completes each unit when its reply's last byte
    /// arrives.
    pub async fn windowed(
        &self,
        stream: &mut ClientStream,
        window: Option<usize>,
    ) -> Result<(), Failure> {
        let (mut reader, mut writer) = stream.split();
        let flight = Flight {
            in_flight: Mutex::new(VecDeque::new()),
            permits: Semaphore::new(window.unwrap_or(0)),
            window,
            done_writing: AtomicBool::new(false),
        };
        tokio::try_join!(
            self.send_units(&mut writer, &flight),
            self.check_replies(&mut reader, &flight)
        )
        .map(|_| ())
    }

    /// The writing half of [`windowed`](Self::windowed): claims units from
    /// the shared budget (as many as the window has room for), records when
    /// each was sent and where its reply ends, writes them, and half-closes
    /// when the budget runs out.
    async fn send_units(
        &self,
        writer: &mut (impl AsyncWriteExt + Unpin),
        flight: &Flight,
    ) -> Result<(), Failure> {
        let block = &*self.block;
        let mut unit = self.first_unit;
        let mut reply_end = 0u64;
        loop {
            let want = flight.acquire_slots().await;
            // One write per contiguous run of units in the block.
            let contiguous = want.min(block.units() - unit);
            let now = Instant::now();
            let count = self.shared.claim(contiguous, now);
            flight.release_slots(want - count);
            if count == 0 {
                break;
            }
            {
                let mut in_flight = lock(&flight.in_flight);
                for i in unit..unit + count {
                    reply_end += block.reply_range(i).len() as u64;
                    in_flight.push_back((reply_end, now));
                }
            }
            let bytes = block.inputs(unit, count);
            writer
                .write_all(bytes)
                .await
                .map_err(|err| self.io_failure("sending", err))?;
            writer
                .flush()
                .await
                .map_err(|err| self.io_failure("sending", err))?;
            self.shared.wrote(now, bytes.len());
            unit = (unit + count) % block.units();
        }
        writer
            .shutdown()
            .await
            .map_err(|err| self.io_failure("half-closing", err))?;
        flight.done_writing.store(true, Ordering::Release);
        Ok(())
    }

    /// The reading half of [`windowed`](Self::windowed): checks every byte
    /// against the expected replies, never more than what was sent, counts
    /// answered units and frees their window slots.
    async fn check_replies(
        &self,
        reader: &mut (impl AsyncReadExt + Unpin),
        flight: &Flight,
    ) -> Result<(), Failure> {
        let mut expected = Expected::new(&self.block, self.first_unit);
        let mut buf = vec![0u8; STREAM_READ_BUF];
        let mut completed = 0u64;
        loop {
            let n = reader
                .read(&mut buf)
                .await
                .map_err(|err| self.io_failure("receiving", err))?;
            let now = Instant::now();
            if n == 0 {
                return self.closed_by_server(flight);
            }
            // The server can only owe replies to units already sent.
            let owed = lock(&flight.in_flight)
                .back()
                .map_or(0, |&(end, _)| end - expected.offset());
            let got = &buf[..n.min(owed as usize)];
            expected.check(got).map_err(|at| {
                let offset = expected.offset() + at as u64;
                let number = completed + 1 + units_before(&flight.in_flight, offset);
                self.mismatch(&expected, got, at, number)
            })?;
            if n as u64 > owed {
                return Err(Failure::Mismatch(format!(
                    "connection {}: the server sent {} bytes more than the replies \
                     to the messages sent ({})",
                    self.index,
                    n as u64 - owed,
                    show(&buf[got.len()..n.min(got.len() + CONTEXT)]),
                )));
            }
            self.shared.read(now, n);
            completed += self.answered(flight, expected.offset(), now);
        }
    }

    /// The server closed its side: fine once every reply arrived and we
    /// half-closed first, an error otherwise.
    fn closed_by_server(&self, flight: &Flight) -> Result<(), Failure> {
        let outstanding = lock(&flight.in_flight).len();
        if outstanding > 0 || !flight.done_writing.load(Ordering::Acquire) {
            return Err(Failure::Connection(format!(
                "connection {}: the server closed the connection early, \
                 with {outstanding} replies outstanding",
                self.index
            )));
        }
        Ok(())
    }

    /// Retires the units whose replies end at or before `offset`: records
    /// their latencies and frees their window slots. Returns how many.
    fn answered(&self, flight: &Flight, offset: u64, now: Instant) -> u64 {
        let mut in_flight = lock(&flight.in_flight);
        let answered = in_flight
            .iter()
            .take_while(|&&(end, _)| end <= offset)
            .count();
        if answered > 0 {
            let sent_at = in_flight.drain(..answered).map(|(_, at)| at);
            self.shared.completed(self.index, now, sent_at);
            drop(in_flight);
            flight.release_slots(answered);
        }
        answered as u64
    }

    /// After the last reply: half-close, then the server must close too
    /// without sending anything more.
    async fn close(&self, stream: &mut ClientStream) -> Result<(), Failure> {
        stream
            .shutdown()
            .await
            .map_err(|err| self.io_failure("half-closing", err))?;
        let mut buf = [0u8; CONTEXT];
        match stream.read(&mut buf).await {
            Ok(0) => Ok(()),
            Ok(n) => Err(Failure::Mismatch(format!(
                "connection {}: {} unexpected bytes after the last reply ({})",
                self.index,
                n,
                show(&buf[..n])
            ))),
            Err(err) => Err(self.io_failure("closing", err)),
        }
    }

    fn io_failure(&self, doing: &str, err: io::Error) -> Failure {
        Failure::Connection(format!("connection {}: {doing}: {err}", self.index))
    }

    /// Describes a difference at byte `at` of `got` (a slice that starts at
    /// `expected`'s current offset) in reply number `number`.
    fn mismatch(&self, expected: &Expected<'_>, got: &[u8], at: usize, number: u64) -> Failure {
        let start = at.saturating_sub(CONTEXT);
        let end = (at + CONTEXT).min(got.len());
        // Before `at` the bytes matched, so the expected context is `got`'s.
        let mut want = got[start..at].to_vec();
        want.extend(expected.peek(at, end - at));
        Failure::Mismatch(format!(
            "connection {}: reply to message {number} differs at byte {} of the stream:\n  \
             expected …{}…\n  got      …{}…",
            self.index,
            expected.offset() + at as u64,
            show(&want),
            show(&got[start..end]),
        ))
    }
}

/// What the two halves of a windowed connection share.
struct Flight {
    /// Units sent and not yet answered: (end of its reply in the stream, send time).
    in_flight: Mutex<VecDeque<(u64, Instant)>>,
    /// Free window slots (pipelined rr); unused in stream mode.
    permits: Semaphore,
    /// Units in flight at most; `None` in stream mode (as much as TCP allows).
    window: Option<usize>,
    /// Set once the writer has half-closed.
    done_writing: AtomicBool,
}

impl Flight {
    /// Waits for one free window slot, then takes every free one; 1 without
    /// a window.
    async fn acquire_slots(&self) -> usize {
        let Some(window) = self.window else {
            return 1;
        };
        self.permits
            .acquire()
            .await
            .expect("the semaphore is never closed")
            .forget();
        let mut want = 1;
        while want < window {
            match self.permits.try_acquire() {
                Ok(permit) => permit.forget(),
                Err(_) => break,
            }
            want += 1;
        }
        want
    }

    /// Gives `n` window slots back (no-op without a window).
    fn release_slots(&self, n: usize) {
        if self.window.is_some() {
            self.permits.add_permits(n);
        }
    }
}

/// How many units in flight have their whole reply before stream offset
/// `offset` (to number the message a mismatch lies in).
fn units_before(in_flight: &Mutex<VecDeque<(u64, Instant)>>, offset: u64) -> u64 {
    lock(in_flight)
        .iter()
        .take_while(|&&(end, _)| end <= offset)
        .count() as u64
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Bytes for a report: text as text, anything else escaped.
fn show(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

/// A position in the expected reply stream: the block's replies, cycling
/// from the connection's first unit.
struct Expected<'a> {
    cycle: &'a [u8],
    /// Index into `cycle` of the next expected byte.
    position: usize,
    /// Bytes of the stream verified so far.
    offset: u64,
}

impl<'a> Expected<'a> {
    fn new(block: &'a Block, first_unit: usize) -> Self {
        Self {
            cycle: block.expected(),
            position: block.reply_range(first_unit).start,
            offset: 0,
        }
    }

    /// Stream bytes verified so far.
    fn offset(&self) -> u64 {
        self.offset
    }

    /// Compares `got` with the next bytes and moves past them; on a
    /// difference, returns its index in `got` and stays put.
    fn check(&mut self, got: &[u8]) -> Result<(), usize> {
        let mut position = self.position;
        let mut done = 0;
        while done < got.len() {
            let want = &self.cycle[position..];
            let take = want.len().min(got.len() - done);
            let part = &got[done..done + take];
            if part != &want[..take] {
                let at = part.iter().zip(want).position(|(a, b)| a != b);
                return Err(done + at.unwrap_or(0));
            }
            done += take;
            position += take;
            if position == self.cycle.len() {
                position = 0;
            }
        }
        self.position = position;
        self.offset += got.len() as u64;
        Ok(())
    }

    /// `len` expected bytes starting `skip` bytes past the current position.
    fn peek(&self, skip: usize, len: usize) -> impl Iterator<Item = u8> + '_ {
        self.cycle
            .iter()
            .copied()
            .cycle()
            .skip(self.position + skip % self.cycle.len())
            .take(len)
    }
}
