//! [`Codec::feed_into`]: the codec into a caller's `&mut [u8]`, with no
//! allocation, in the manner of encoding_rs's `decode_to_utf8`.
//!
//! The hot loops store whole words and blocks past the bytes they keep
//! (into [`SLACK`]), so they need room for `max_output_len(k) + SLACK`
//! bytes to take `k` bytes of input. Where the caller's slice has that room
//! they write straight into it, `k` as large as fits, each step's `k` the
//! largest that fits what is left, until `k` falls below an eighth of the
//! call's first (or below one byte): every step ends mid-run at a cost of
//! its own, so a call does not end in many tiny steps. That bound is
//! for the worst case (3 bytes out per byte in); where it would cut a
//! step short and the input starts with ASCII, a step takes the ASCII run
//! instead, one byte out per byte in, up to the room less the slack. A
//! call into a smaller slice (less than 76 bytes) goes through a small
//! zeroed staging array on the stack instead, taking as much input as is
//! sure to fit the slice, or a single byte when less than
//! `max_output_len(1)` (12) bytes are left. What a single byte's output
//! does not fit is kept in [`Overflow`] and written first by the next call.
//!
//! Input and output boundaries are both ordinary chunk boundaries to the
//! codec, so the concatenated output is the same however the caller splits
//! either.

use super::dispatch::{self, Simd, Task};
use super::sink::{Sink, SLACK};
use super::{ascii_piece, Casing, Codec, CodecError, State, PIECE};

/// The most output one byte of input can produce: `max_output_len(1)`
/// under [`Casing::Unicode`] (3 held bytes and this one make at most a
/// 4-byte sequence, or invalid bytes that become U+FFFD each; the bound is
/// the codec's documented one, checked by the tests).
const ONE_BYTE_MAX: usize = 3 * (1 + 3);

/// Capacity of [`Overflow`]. A step that can overflow takes one input byte
/// and starts with at least one byte of room and an empty overflow, so at
/// most `ONE_BYTE_MAX - 1` bytes are ever kept; the finishing step emits at
/// most 3. `ONE_BYTE_MAX` bounds both.
const OVERFLOW_CAP: usize = ONE_BYTE_MAX;

/// Room from which a step writes straight into the caller's slice: enough
/// for one input byte's output and the slack.
const DIRECT_MIN: usize = ONE_BYTE_MAX + SLACK;

/// The staging array: a staged step produces less than [`DIRECT_MIN`]
/// bytes (see [`Codec::feed_into`]) and needs the slack past them.
const STAGE_LEN: usize = DIRECT_MIN + SLACK;

/// Why [`Codec::feed_into`] returned.
///
/// Not `#[non_exhaustive]`: a caller's loop must handle exactly these two
/// cases (give more input, or give more output space), and a new reason to
/// stop would need new handling anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoderResult {
    /// All of the input was read and all of its output written (or held,
    /// as the codec holds an incomplete sequence). With `last`, the stream
    /// is also finished: nothing more will come out.
    InputEmpty,
    /// The output slice is full, or too nearly full to go on cheaply (an
    /// `out` of 76 bytes or more may come back with up to an eighth of it,
    /// plus 76 bytes, unused): call again with more space and the unread
    /// rest of the input.
    OutputFull,
}

/// Output that a `feed_into` call produced but had no room for.
#[derive(Debug, Clone)]
pub(crate) struct Overflow {
    bytes: [u8; OVERFLOW_CAP],
    start: u8,
    end: u8,
}

impl Overflow {
    pub(crate) const fn new() -> Self {
        Self {
            bytes: [0; OVERFLOW_CAP],
            start: 0,
            end: 0,
        }
    }

    fn len(&self) -> usize {
        usize::from(self.end - self.start)
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[usize::from(self.start)..usize::from(self.end)]
    }

    /// Keeps `rest` (only ever called when empty).
    fn set(&mut self, rest: &[u8]) {
        debug_assert_eq!(self.len(), 0);
        assert!(rest.len() <= OVERFLOW_CAP, "overflow bound exceeded");
        self.bytes[..rest.len()].copy_from_slice(rest);
        self.start = 0;
        self.end = rest.len() as u8;
    }

    /// Writes as much as fits at the start of `out`; returns how much.
    fn drain_to(&mut self, out: &mut [u8]) -> usize {
        let n = self.len().min(out.len());
        out[..n].copy_from_slice(&self.as_slice()[..n]);
        self.start += n as u8;
        if self.start == self.end {
            *self = Self::new();
        }
        n
    }

    /// Appends all of it to `out`.
    #[cfg(feature = "alloc")]
    pub(crate) fn drain_into(&mut self, out: &mut bytes::BytesMut) {
        if self.len() > 0 {
            out.extend_from_slice(self.as_slice());
            *self = Self::new();
        }
    }
}

impl Codec {
    /// Uppercases `input` into the caller's `out` without allocating, and
    /// returns why it stopped, how many bytes of `input` it read and how
    /// many bytes of `out` it wrote (from the start of `out`).
    ///
    /// Call it in a loop: on [`CoderResult::OutputFull`], make room (write
    /// out what was written) and call again with `&input[read..]`; on
    /// [`CoderResult::InputEmpty`], all input was taken. Pass `last = true`
    /// with the final input (or an empty slice) to end the stream: this
    /// emits or reports a held incomplete sequence per the
    /// [`InvalidUtf8`](crate::InvalidUtf8) policy, as
    /// [`finish`](Self::finish) does; `InputEmpty` then means the stream is
    /// done. Calling again with `last` and no input is harmless.
    ///
    /// The law of [`feed`](Self::feed) holds for the output space too: the
    /// concatenated output does not depend on how the input *or* `out` is
    /// split across calls; an `out` of one byte works. Output that did not
    /// fit (at most `max_output_len(1)` = 12 bytes) is kept in the codec
    /// and written first by the next call ([`pending_output_len`]).
    ///
    /// Bytes of `out` past `written` may have been overwritten with scratch
    /// data. An error comes back (in the first element) only after every
    /// byte of output before the offending input has been written, the
    /// `written` bytes of this call included; like `feed`, the failing call
    /// counts all of `input` as read, and the error is sticky.
    ///
    /// ```
    /// use upcase::{Codec, CoderResult};
    ///
    /// let mut codec = Codec::default();
    /// let mut input: &[u8] = "straße".as_bytes();
    /// let mut upper = Vec::new();
    /// let mut out = [0u8; 4]; // tiny on purpose
    /// loop {
    ///     let (result, read, written) = codec.feed_into(input, &mut out, true);
    ///     upper.extend_from_slice(&out[..written]);
    ///     input = &input[read..];
    ///     if result.unwrap() == CoderResult::InputEmpty {
    ///         break;
    ///     }
    /// }
    /// assert_eq!(upper, b"STRASSE");
    /// ```
    ///
    /// [`pending_output_len`]: Self::pending_output_len
    pub fn feed_into(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        last: bool,
    ) -> (Result<CoderResult, CodecError>, usize, usize) {
        let mut written = self.overflow.drain_to(out);
        if self.overflow.len() > 0 {
            return (Ok(CoderResult::OutputFull), 0, written);
        }
        if let Some(result) = self.closed_result(input, last) {
            return (result, 0, written);
        }
        let mut read = 0;
        // A call into a slice of less than DIRECT_MIN goes on until it is
        // full; a larger one stops once its steps have become small (see
        // `direct_step`), not to end in many tiny steps.
        let small = out.len() - written < DIRECT_MIN;
        let mut first_k = 0;
        loop {
            let rest = &input[read..];
            let room = out.len() - written;
            if rest.is_empty() {
                if !last {
                    return (Ok(CoderResult::InputEmpty), read, written);
                }
                let (result, tail_written) = self.finish_into(&mut out[written..]);
                return (result, read, written + tail_written);
            }
            if room == 0 || (!small && room < DIRECT_MIN) {
                return (Ok(CoderResult::OutputFull), read, written);
            }
            let (step, k, n) = match self.config.casing {
                Casing::Ascii => {
                    let k = self.ascii_step(rest, &mut out[written..]);
                    (Ok(()), k, k)
                }
                Casing::Unicode if room >= DIRECT_MIN && self.ascii_first(rest, room) => {
                    let k = self.ascii_run_step(rest, &mut out[written..]);
                    (Ok(()), k, k)
                }
                Casing::Unicode if room >= DIRECT_MIN => {
                    match self.direct_step(rest, &mut out[written..], &mut first_k) {
                        Some(step) => step,
                        None => return (Ok(CoderResult::OutputFull), read, written),
                    }
                }
                Casing::Unicode => self.staged_step(rest, &mut out[written..]),
            };
            read += k;
            written += n;
            if let Err(err) = step {
                // As `feed`: all of the input counts as read.
                self.position += (input.len() - read) as u64;
                read = input.len();
                if self.overflow.len() > 0 {
                    // The error comes once this output is out (it is sticky).
                    return (Ok(CoderResult::OutputFull), read, written);
                }
                return (Err(err), read, written);
            }
            if self.overflow.len() > 0 {
                return (Ok(CoderResult::OutputFull), read, written);
            }
        }
    }

    /// What `feed_into` answers at once when the stream is no longer open:
    /// the sticky error, `InputEmpty` for a repeated final call, or
    /// [`CodecError::FedAfterFinish`]; `None` while it is open.
    fn closed_result(&self, input: &[u8], last: bool) -> Option<Result<CoderResult, CodecError>> {
        match &self.state {
            State::Open => None,
            State::Failed(err) => Some(Err(err.clone())),
            State::Finished if input.is_empty() && last => Some(Ok(CoderResult::InputEmpty)),
            State::Finished => Some(Err(CodecError::FedAfterFinish)),
        }
    }

    /// The end of the stream: the held tail as the policy says, as much as
    /// fits into `out`, the rest kept. Returns the result and bytes written.
    fn finish_into(&mut self, out: &mut [u8]) -> (Result<CoderResult, CodecError>, usize) {
        let (tail, len) = match self.finish_tail() {
            Ok(tail) => tail,
            Err(err) => return (Err(err), 0),
        };
        let fit = len.min(out.len());
        out[..fit].copy_from_slice(&tail[..fit]);
        self.overflow.set(&tail[fit..len]);
        (Ok(self.stopped()), fit)
    }

    /// [`Casing::Ascii`]: one byte out per byte in, stored exactly (no
    /// slack needed). Returns how many bytes it took (and wrote).
    fn ascii_step(&mut self, rest: &[u8], out: &mut [u8]) -> usize {
        let k = rest.len().min(out.len());
        ascii_piece(&rest[..k], &mut Sink::new(&mut out[..k]));
        self.position += k as u64;
        k
    }

    /// Whether the next Unicode step should be an ASCII run
    /// ([`ascii_run_step`](Self::ascii_run_step)): `rest` starts with
    /// ASCII, no sequence is held, and the room would cut a direct step
    /// short (its `max_output_len` bound is for the worst case, three
    /// times the input, where an ASCII run needs one byte per byte).
    fn ascii_first(&self, rest: &[u8], room: usize) -> bool {
        self.held_len == 0 && rest[0] < 0x80 && (room - SLACK) / 3 - 3 < rest.len().min(PIECE)
    }

    /// Unicode on the ASCII run at the start of `rest`, straight into
    /// `out` (at least `DIRECT_MIN` bytes of room), one byte out per byte
    /// in, up to the room less the slack: the same bytes, stored the same
    /// way, as the run inside a direct step. Returns how many bytes it took
    /// (and wrote), at least one.
    fn ascii_run_step(&mut self, rest: &[u8], out: &mut [u8]) -> usize {
        /// [`Sink::ascii_run`] as a [`Task`], on a local copy of the sink.
        struct AsciiRun<'i, 's, 'b> {
            input: &'i [u8],
            sink: &'s mut Sink<'b, u8>,
        }
        impl Task for AsciiRun<'_, '_, '_> {
            type Output = usize;
            #[inline(always)]
            fn run<S: Simd>(self, _: S) -> usize {
                let mut local = self.sink.take();
                let n = local.ascii_run(self.input);
                *self.sink = local;
                n
            }
        }
        let k = rest.len().min(out.len() - SLACK);
        let mut sink = Sink::new(out);
        let n = dispatch::run(AsciiRun {
            input: &rest[..k],
            sink: &mut sink,
        });
        debug_assert!(n > 0 && n == sink.len());
        self.position += n as u64;
        n
    }

    /// Unicode straight into `out`, which has at least `DIRECT_MIN` bytes
    /// of room: `k` input bytes such that `max_output_len(k) + SLACK`
    /// fits. Each step ends mid-run at a cost of its own, so once the steps
    /// have shrunk to an eighth of the first (`first_k`) the slice is full
    /// enough: `None`. Otherwise the result, bytes read and bytes written.
    fn direct_step(
        &mut self,
        rest: &[u8],
        out: &mut [u8],
        first_k: &mut usize,
    ) -> Option<(Result<(), CodecError>, usize, usize)> {
        let k = rest.len().min((out.len() - SLACK) / 3 - 3).min(PIECE);
        if *first_k == 0 {
            *first_k = k;
        } else if k < *first_k / 8 {
            return None;
        }
        let mut sink = Sink::new(out);
        let result = self.feed_piece(&rest[..k], &mut sink);
        Some((result, k, sink.len()))
    }

    /// Unicode through the staging array when `out` has less than
    /// `DIRECT_MIN` bytes of room: `k` input bytes whose output surely fits
    /// (`max_output_len(k) <= room`), or one byte when even that may not
    /// fit; what does not fit is kept in the overflow. The output is under
    /// `DIRECT_MIN` either way, so `STAGE_LEN` leaves the slack. Returns the
    /// result, bytes read and bytes written.
    fn staged_step(
        &mut self,
        rest: &[u8],
        out: &mut [u8],
    ) -> (Result<(), CodecError>, usize, usize) {
        let room = out.len();
        let k = if room >= ONE_BYTE_MAX {
            rest.len().min(room / 3 - 3)
        } else {
            1
        };
        let mut stage = [0u8; STAGE_LEN];
        let mut sink = Sink::new(&mut stage[..]);
        let result = self.feed_piece(&rest[..k], &mut sink);
        let len = sink.len();
        let produced = &stage[..len];
        let fit = produced.len().min(room);
        out[..fit].copy_from_slice(&produced[..fit]);
        self.overflow.set(&produced[fit..]);
        (result, k, fit)
    }

    /// Bytes of output that [`feed_into`](Self::feed_into) produced but had
    /// no room for, to be written first by the next call (or appended first
    /// by [`feed`](Self::feed) or [`finish`](Self::finish)). At most
    /// `max_output_len(1)` (12).
    pub const fn pending_output_len(&self) -> usize {
        (self.overflow.end - self.overflow.start) as usize
    }

    /// `InputEmpty` unless output is still kept.
    fn stopped(&self) -> CoderResult {
        if self.overflow.len() > 0 {
            CoderResult::OutputFull
        } else {
            CoderResult::InputEmpty
        }
    }
}

// The one-byte bound is the codec's documented bound for one byte.
const _: () = assert!(ONE_BYTE_MAX == Codec::new(UNICODE).max_output_len(1));
const UNICODE: crate::Config = crate::Config::new(Casing::Unicode, crate::InvalidUtf8::PassThrough);
