//! The sans-IO streaming uppercaser: [`Codec`] and its [`Config`].

//!
//! The rest of the folder is what it is built from: `utf8.rs` decodes one
//! sequence, `case.rs` looks up uppercases, `block.rs` and `runs.rs` are the
//! fast paths over runs of text, `sink.rs` writes into reserved output,
//! `slice.rs` drives the codec into a caller's slice (`feed_into`).

#[cfg(all(feature = "std", target_arch = "x86_64", not(upcase_portable)))]
mod avx512;
mod block;
mod case;
pub(crate) mod dispatch;
pub(crate) mod error;
mod runs;
mod sink;
pub(crate) mod slice;
mod utf8;
#[cfg(all(feature = "std", target_arch = "x86_64", not(upcase_portable)))]
mod x86;

#[cfg(feature = "alloc")]
use bytes::BytesMut;

use block::block_run;
use case::upper;
use dispatch::{Simd, Task};
use error::{CodecError, InvalidSequence};
use runs::{four_byte_run, is_three_byte, is_two_byte, three_byte_run, two_byte_run};
#[cfg(feature = "alloc")]
use sink::with_sink;
/// The scratch room past the output bound that the hot loops need (the
/// I/O adapters size their buffers with it).
#[cfg(feature = "std")]
pub(crate) use sink::SLACK;
use sink::{Sink, Slot};
use utf8::{decode, Step};

/// U+FFFD REPLACEMENT CHARACTER, which is its own uppercase.
const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// Input is processed in pieces of at most this many bytes, so the output
/// reserved per piece (3x) stays bounded whatever the caller feeds at once.
/// Piece boundaries are ordinary chunk boundaries: the output cannot tell.
/// A server's 32 KiB read is one piece: with 8 KiB pieces, pure ASCII ran
/// about 10 % slower (`cargo bench --bench codec`, 7 runs each).
const PIECE: usize = 32 * 1024;

/// A block run shorter than this did not pay for its block...
const BLOCK_WORTH_IT: usize = 8;
/// ...so the next this many bytes go character by character.
const BLOCK_REST: usize = 256;

/// Which case mapping to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Casing {
    /// Full Unicode uppercasing, exactly `str::to_uppercase` (`ß` → `SS`).
    #[default]
    Unicode,
    /// Bytes `a`..=`z` only, exactly `<[u8]>::to_ascii_uppercase` and Python's
    /// `bytes.upper()`. Every other byte passes through; nothing is held back.
    Ascii,
}

/// What to do with ill-formed UTF-8 under [`Casing::Unicode`].
///
/// Ill-formed input is split into *maximal subparts* as the Unicode Standard
/// recommends (and std's `Utf8Chunks` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum InvalidUtf8 {
    /// Emit ill-formed bytes unchanged, so nothing is ever lost. A sequence
    /// cut off by the end of the stream is emitted unchanged by `finish`.
    #[default]
    PassThrough,
    /// Emit one U+FFFD per maximal subpart, like `String::from_utf8_lossy`.
    Replace,
    /// Emit the uppercase of everything before the first ill-formed byte,
    /// then fail with [`CodecError::InvalidUtf8`] (or
    /// [`CodecError::TruncatedUtf8`] at `finish`).
    Reject,
}

/// How a [`Codec`] transforms its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Config {
    /// The case mapping.
    pub casing: Casing,
    /// The policy for ill-formed UTF-8 (ignored by [`Casing::Ascii`]).
    pub invalid: InvalidUtf8,
}

impl Config {
    /// A configuration with the given casing and invalid-UTF-8 policy.
    pub const fn new(casing: Casing, invalid: InvalidUtf8) -> Self {
        Self { casing, invalid }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Open,
    Finished,
    Failed(CodecError),
}

/// A streaming uppercaser with no I/O: bytes in, uppercased bytes out.
///
/// Its law: the concatenated output never depends on how the input was split
/// into `feed` calls. See the [crate docs](crate) for the exact contract.
/// The state is constant-size: at most 3 held bytes of a UTF-8 sequence
/// that a chunk boundary cut in two, and at most 12 bytes of output that
/// [`feed_into`](Self::feed_into) had no room for.
#[derive(Debug, Clone)]
pub struct Codec {
    config: Config,
    held: [u8; 3],
    held_len: u8,
    /// Stream offset of the next byte to be fed.
    position: u64,
    /// Ill-formed sequences met so far (see [`Codec::invalid_sequences`]).
    invalid_sequences: u64,
    state: State,
    /// Output that `feed_into` produced but found no room for: written
    /// first by the next call (`slice.rs`).
    overflow: slice::Overflow,
}

impl Default for Codec {
    fn default() -> Self {
        Self::new(Config::default())
    }
}

impl Codec {
    /// `feed` works through its input in pieces of at most this many bytes,
    /// so the output it reserves at once (3x a piece) stays bounded however
    /// much is fed in one call. Piece boundaries are chunk boundaries like
    /// any other: the output cannot tell. Public so tests and fuzz targets
    /// can place input across them.
    pub const PIECE_LEN: usize = PIECE;

    /// A codec at the start of a stream.
    pub const fn new(config: Config) -> Self {
        Self {
            config,
            held: [0; 3],
            held_len: 0,
            position: 0,
            invalid_sequences: 0,
            state: State::Open,
            overflow: slice::Overflow::new(),
        }
    }

    /// The configuration this codec was built with.
    pub const fn config(&self) -> Config {
        self.config
    }

    /// Bytes of an incomplete UTF-8 sequence held back until the next chunk
    /// (0 to 3; always 0 under [`Casing::Ascii`] and after an error).
    pub const fn pending_len(&self) -> usize {
        self.held_len as usize
    }

    /// Bytes fed so far, including any after an error: the stream offset
    /// of the next input byte.
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// Ill-formed UTF-8 sequences (maximal subparts) met so far under
    /// [`Casing::Unicode`], whatever the policy did with them: passed
    /// through, replaced, or the one that failed a `Reject` stream; a
    /// sequence cut off by the end of the stream counts once `finish` has
    /// seen it. Always 0 under [`Casing::Ascii`], which does not decode.
    /// The server's metrics count invalid input with it, at no extra pass.
    pub const fn invalid_sequences(&self) -> u64 {
        self.invalid_sequences
    }

    /// Whether `finish` has succeeded: the stream is over.
    pub const fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    /// The most bytes one `feed` of `input_len` bytes can append, whatever
    /// the state; `max_output_len(0)` bounds `finish`. Use it to size buffers.
    ///
    /// Under [`Casing::Unicode`] it is `3 * (input_len + 3)`: no scalar's
    /// uppercase is more than 3x its UTF-8 length (U+0390 `ΐ`, 2 bytes,
    /// becomes 3 characters in 6 bytes), a 1-byte ill-formed sequence
    /// becomes a 3-byte U+FFFD, and up to 3 held bytes complete in this call.
    /// Under [`Casing::Ascii`] it is `input_len`. Saturates at `usize::MAX`.
    pub const fn max_output_len(&self, input_len: usize) -> usize {
        match self.config.casing {
            Casing::Ascii => input_len,
            Casing::Unicode => input_len.saturating_add(3).saturating_mul(3),
        }
    }

    /// Uppercases `input` and appends the result to `out`.
    ///
    /// Always consumes all of `input`: an incomplete sequence at its end is
    /// held (never emitted early, never an error) until the next call.
    /// On error nothing after the offending byte is emitted, and the error
    /// is sticky. (Output that [`feed_into`](Self::feed_into) had no room
    /// for comes first.) Needs the `alloc` feature.
    #[cfg(feature = "alloc")]
    pub fn feed(&mut self, input: &[u8], out: &mut BytesMut) -> Result<(), CodecError> {
        self.overflow.drain_into(out);
        self.check_open()?;
        match self.config.casing {
            Casing::Ascii => {
                with_sink(out, input.len(), |sink| ascii_piece(input, sink));
                self.position += input.len() as u64;
            }
            Casing::Unicode => {
                // All of `input` counts as consumed, even past an error.
                let end = self.position + input.len() as u64;
                for piece in input.chunks(PIECE) {
                    let max = self.max_output_len(piece.len());
                    if let Err(err) = with_sink(out, max, |sink| self.feed_piece(piece, sink)) {
                        self.position = end;
                        return Err(err);
                    }
                }
            }
        }
        Ok(())
    }

    /// Ends the stream (the peer half-closed): emits or reports a held
    /// incomplete sequence according to the [`InvalidUtf8`] policy.
    ///
    /// Idempotent: a second call appends nothing and returns the same result.
    /// Needs the `alloc` feature.
    #[cfg(feature = "alloc")]
    pub fn finish(&mut self, out: &mut BytesMut) -> Result<(), CodecError> {
        self.overflow.drain_into(out);
        let (tail, len) = self.finish_tail()?;
        out.extend_from_slice(&tail[..len]);
        Ok(())
    }

    /// Ends the stream: returns what is left to emit (the held bytes
    /// or U+FFFD, per policy; at most 3 bytes) and marks the codec finished.
    fn finish_tail(&mut self) -> Result<([u8; 3], usize), CodecError> {
        match &self.state {
            State::Failed(err) => return Err(err.clone()),
            State::Finished => return Ok(([0; 3], 0)),
            State::Open => {}
        }
        let mut tail = ([0; 3], 0);
        if self.held_len > 0 {
            let held = self.held;
            let held = &held[..self.pending_len()];
            let offset = self.position - held.len() as u64;
            self.held_len = 0;
            self.invalid_sequences += 1;
            let emit = match self.config.invalid {
                InvalidUtf8::PassThrough => held,
                InvalidUtf8::Replace => REPLACEMENT,
                InvalidUtf8::Reject => {
                    return Err(self.fail(CodecError::TruncatedUtf8 {
                        offset,
                        sequence: InvalidSequence::new(held),
                    }))
                }
            };
            tail.0[..emit.len()].copy_from_slice(emit);
            tail.1 = emit.len();
        }
        self.state = State::Finished;
        Ok(tail)
    }

    #[cfg(feature = "alloc")]
    fn check_open(&self) -> Result<(), CodecError> {
        match &self.state {
            State::Open => Ok(()),
            State::Finished => Err(CodecError::FedAfterFinish),
            State::Failed(err) => Err(err.clone()),
        }
    }

    /// Makes `err` sticky and returns it. A failed stream holds nothing.
    fn fail(&mut self, err: CodecError) -> CodecError {
        self.held_len = 0;
        self.state = State::Failed(err.clone());
        err
    }

    /// Runs the Unicode path on one piece, compiled for the best instruction
    /// set the CPU has (see `dispatch.rs`).
    fn feed_piece<T: Slot>(
        &mut self,
        input: &[u8],
        sink: &mut Sink<'_, T>,
    ) -> Result<(), CodecError> {
        /// [`Codec::feed_unicode`] as a [`Task`].
        struct FeedUnicode<'c, 'i, 's, 'b, T: Slot> {
            codec: &'c mut Codec,
            input: &'i [u8],
            sink: &'s mut Sink<'b, T>,
        }
        impl<T: Slot> Task for FeedUnicode<'_, '_, '_, '_, T> {
            type Output = Result<(), CodecError>;
            #[inline(always)]
            fn run<S: Simd>(self, simd: S) -> Self::Output {
                self.codec.feed_unicode(simd, self.input, self.sink)
            }
        }
        dispatch::run(FeedUnicode {
            codec: self,
            input,
            sink,
        })
    }

    /// [`feed_unicode_local`](Self::feed_unicode_local) on a local copy of
    /// the sink (see [`Sink::take`]).
    #[inline(always)]
    fn feed_unicode<T: Slot>(
        &mut self,
        simd: impl Simd,
        input: &[u8],
        sink: &mut Sink<'_, T>,
    ) -> Result<(), CodecError> {
        let mut local = sink.take();
        let result = self.feed_unicode_local(simd, input, &mut local);
        *sink = local;
        result
    }

    /// The Unicode path for one piece: first complete any held sequence,
    /// then alternate ASCII runs, vector blocks, runs of same-length
    /// sequences and single sequences.
    ///
    /// ASCII goes a word or a vector block at a time, most other text a
    /// 64-byte vector block at a time (`block.rs`), and what that leaves
    /// one character per step of a few compares, at most one table lookup
    /// and one fixed-size store (into the sink's slack): no variable-length
    /// copies, so no `memcpy` calls in the hot loop.
    #[inline(always)]
    fn feed_unicode_local<T: Slot>(
        &mut self,
        simd: impl Simd,
        input: &[u8],
        sink: &mut Sink<'_, T>,
    ) -> Result<(), CodecError> {
        let base = self.position;
        self.position += input.len() as u64;
        let Some(mut i) = self.complete_held(input, base, sink)? else {
            return Ok(());
        };
        let mut block_rest_until = 0;
        while i < input.len() {
            if input[i] < 0x80 {
                i += sink.ascii_run(&input[i..]);
                continue;
            }
            if !(0xC2..=0xF4).contains(&input[i]) {
                // Starts no sequence: ill-formed by itself, and nothing
                // else needs to look at it (random bytes, mostly).
                sink.push_short(self.invalid(&input[i..i + 1], base + i as u64)?);
                i += 1;
                continue;
            }
            if let Some(n) = block_step(simd, sink, input, i, &mut block_rest_until) {
                i += n;
                continue;
            }
            if let Some(n) = run_step(sink, &input[i..]) {
                i += n;
                continue;
            }
            match self.decode_step(sink, input, i, base)? {
                Some(n) => i += n,
                None => return Ok(()),
            }
        }
        Ok(())
    }

    /// Completes the sequence held from the last piece with the first bytes
    /// of `input` (which starts at stream offset `base`), and returns where
    /// the rest of `input` starts; `None` if `input` is still too short to
    /// decide, and is now held as well.
    #[inline(always)]
    fn complete_held<T: Slot>(
        &mut self,
        input: &[u8],
        base: u64,
        sink: &mut Sink<'_, T>,
    ) -> Result<Option<usize>, CodecError> {
        if self.held_len == 0 {
            return Ok(Some(0));
        }
        let held_len = self.pending_len();
        // Four bytes always decide: a sequence is never longer.
        let take = input.len().min(4 - held_len);
        let mut window = [0u8; 4];
        window[..held_len].copy_from_slice(&self.held[..held_len]);
        window[held_len..held_len + take].copy_from_slice(&input[..take]);
        let window = &window[..held_len + take];
        let start = base - held_len as u64;
        let len = match decode(window) {
            Step::Incomplete => {
                // Only when `input` is too short to decide; hold it all.
                self.held[..window.len()].copy_from_slice(window);
                self.held_len = window.len() as u8;
                return Ok(None);
            }
            Step::Char { scalar, len } => {
                push_upper(sink, scalar, &window[..len]);
                len
            }
            Step::Invalid { len } => {
                // Held bytes are a well-formed prefix, so `len >= held_len`.
                sink.push_short(self.invalid(&window[..len], start)?);
                len
            }
        };
        self.held_len = 0;
        Ok(Some(len - held_len))
    }

    /// One sequence at `input[i..]` that no fast path took: ill-formed
    /// bytes, or a sequence near the end of the piece. Returns its length,
    /// or `None` when it is cut off by the end and now held.
    #[inline(always)]
    fn decode_step<T: Slot>(
        &mut self,
        sink: &mut Sink<'_, T>,
        input: &[u8],
        i: usize,
        base: u64,
    ) -> Result<Option<usize>, CodecError> {
        match decode(&input[i..]) {
            Step::Char { scalar, len } => {
                push_upper(sink, scalar, &input[i..i + len]);
                Ok(Some(len))
            }
            Step::Invalid { len } => {
                sink.push_short(self.invalid(&input[i..i + len], base + i as u64)?);
                Ok(Some(len))
            }
            Step::Incomplete => {
                let rest = &input[i..];
                self.held[..rest.len()].copy_from_slice(rest);
                self.held_len = rest.len() as u8;
                Ok(None)
            }
        }
    }

    /// Applies the policy to one ill-formed maximal subpart at `offset`:
    /// what to emit for it, or the (now sticky) error.
    ///
    /// Returns the bytes rather than taking the sink, so the sink's address
    /// never escapes the hot loop and its cursor stays in registers.
    fn invalid<'b>(&mut self, bytes: &'b [u8], offset: u64) -> Result<&'b [u8], CodecError> {
        self.invalid_sequences += 1;
        match self.config.invalid {
            InvalidUtf8::PassThrough => Ok(bytes),
            InvalidUtf8::Replace => Ok(REPLACEMENT),
            InvalidUtf8::Reject => Err(self.fail(CodecError::InvalidUtf8 {
                offset,
                sequence: InvalidSequence::new(bytes),
            })),
        }
    }
}

/// Runs the ASCII casing over `input`, compiled for the best instruction
/// set the CPU has (see `dispatch.rs`).
fn ascii_piece<T: Slot>(input: &[u8], sink: &mut Sink<'_, T>) {
    /// [`Sink::push_ascii_upper`] as a [`Task`].
    struct AsciiPiece<'i, 's, 'b, T: Slot> {
        input: &'i [u8],
        sink: &'s mut Sink<'b, T>,
    }
    impl<T: Slot> Task for AsciiPiece<'_, '_, '_, T> {
        type Output = ();
        #[inline(always)]
        fn run<S: Simd>(self, _: S) {
            self.sink.push_ascii_upper(self.input)
        }
    }
    dispatch::run(AsciiPiece { input, sink })
}

/// Most non-ASCII text: the block path at `input[i..]`, unless it is
/// resting or the character there stands alone in ASCII ([`is_lone`], at
/// the levels where [`Simd::LONE_SKIPS_BLOCKS`]). In
/// a script it does not know it stops early, and then rests (until
/// `*rest_until`) rather than keep paying for blocks. Returns how many
/// bytes it took, if any.
#[inline(always)]
fn block_step<T: Slot, S: Simd>(
    simd: S,
    sink: &mut Sink<'_, T>,
    input: &[u8],
    i: usize,
    rest_until: &mut usize,
) -> Option<usize> {
    if i < *rest_until || S::LONE_SKIPS_BLOCKS && is_lone(&input[i..]) {
        return None;
    }
    // Latin script: its own loop first, where the level has one; text
    // that starts with a Latin Extended-A letter (Polish, Czech) most
    // likely has more, in some blocks and not others.
    if S::WESTERN && (0xC2..=0xC5).contains(&input[i]) {
        let (back, n) = simd.western_run(sink.take(), &input[i..], input[i] >= 0xC4);
        *sink = back;
        if n > 0 {
            return Some(n);
        }
    }
    let n = block_run(simd, sink, &input[i..]);
    if n < BLOCK_WORTH_IT {
        *rest_until = i + BLOCK_REST;
    }
    (n > 0).then_some(n)
}

/// Whether the non-ASCII sequence at the start of `src` stands alone: the
/// eight bytes after it are ASCII. A run loop then takes it for much less
/// than a vector block, and the ASCII fast path goes on after it (accents,
/// quotes and dashes in mostly-ASCII text).
#[inline(always)]
fn is_lone(src: &[u8]) -> bool {
    // The sequence's length if its lead is one; a continuation byte is
    // ill-formed anyway, and gains nothing from the block.
    let len = 2 + usize::from(src[0] >= 0xE0) + usize::from(src[0] >= 0xF0);
    match src.get(len..).and_then(|after| after.first_chunk::<8>()) {
        Some(&after) => u64::from_le_bytes(after) & 0x8080_8080_8080_8080 == 0,
        None => false,
    }
}

/// With four bytes in view: a run of well-formed 2- or 3-byte sequences,
/// or of 4-byte ones, at the start of `src`. Returns how many bytes it
/// took, if any.
#[inline(always)]
fn run_step<T: Slot>(sink: &mut Sink<'_, T>, src: &[u8]) -> Option<usize> {
    let &bytes = src.first_chunk::<4>()?;
    let word = u32::from_le_bytes(bytes);
    let n = if is_two_byte(word) {
        two_byte_run(sink, src)
    } else if is_three_byte(word) {
        three_byte_run(sink, src)
    } else {
        four_byte_run(sink, src)
    };
    (n > 0).then_some(n)
}

/// Appends the uppercase of `scalar`, whose UTF-8 encoding is `src`.
#[inline(always)]
fn push_upper<S: Slot>(sink: &mut Sink<'_, S>, scalar: u32, src: &[u8]) {
    match upper(scalar) {
        Some((word, len)) => sink.push_array(word, len),
        None => sink.push_short(src),
    }
}
