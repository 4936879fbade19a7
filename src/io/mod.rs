//! The codec on a byte stream: adapters for std, Tokio, futures-io and
//! tokio-util, each behind the feature named after the crate it needs.
//!
//! | feature | module | types |
//! |---|---|---|
//! | `std` | [`upcase::io`](self) | [`UpcaseReader`], [`UpcaseWriter`] over `Read`/`Write` |
//! | `std` | [`upcase::io::bufread`](self::bufread) | `UpcaseReader` over `BufRead` |
//! | `tokio` | [`upcase::io::tokio`](self::tokio) | `UpcaseReader`, `UpcaseWriter` over `AsyncRead`/`AsyncWrite`; `bufread::UpcaseReader` over `AsyncBufRead` |
//! | `futures-io` | [`upcase::io::futures`](self::futures) | the same three over futures-io (smol, async-std) |
//! | `tokio-util` | [`upcase::io::tokio_util`](self::tokio_util) | `UpcaseDecoder`, `UpcaseEncoder` for `Framed*` |
//!
//! Two kinds of reader, as in flate2 (`read`, `bufread`): the `read`
//! readers ([`UpcaseReader`], `tokio::UpcaseReader`, ...) read their inner
//! stream into a buffer of their own, then uppercase from there into
//! yours; the `bufread` readers uppercase straight from the inner reader's
//! buffer, with no copy. Use `bufread` when your source is already
//! buffered (a `BufReader`, a byte slice); use `read` over a bare socket
//! or file.
//!
//! The readers run one driver loop each (here) over [`Codec::feed_into`]
//! into your buffer; the writers one over [`Codec::feed`] into their own.
//! So they share the codec's law: the output never depends on how the
//! inner stream splits its reads or accepts its writes, nor on the size of
//! the caller's buffers. Each uses fixed memory: one 32 KiB input buffer
//! (`read` readers), none (`bufread` readers), or one output buffer of
//! `2 * max_output_len(32 KiB)`, 192 KiB (writers), allocated but not
//! zeroed, of which a 64 KiB write of ASCII touches 64 KiB.
//!
//! Errors: a [`CodecError`] (only under
//! [`InvalidUtf8::Reject`](crate::InvalidUtf8::Reject)) surfaces as an
//! [`io::Error`] of kind
//! [`InvalidData`](::std::io::ErrorKind::InvalidData) whose source is the
//! `CodecError`, reachable with `get_ref()` and `downcast_ref`; its message
//! names the stream offset. It comes after every byte of output before the
//! offending input, and again on every later call.

use ::std::io;
use ::std::task::{ready, Poll};

use bytes::BytesMut;

use crate::codec::SLACK;
use crate::{Codec, CodecError, CoderResult};

/// The constructors and accessors of an adapter that owns its inner
/// stream outright (all but the std writer, which gives it up in
/// `finish`): `new`, `with_config`, `codec`, `get_ref`, `get_mut`,
/// `into_inner`. For the `impl` block of a type with fields `inner` and
/// `state` and type parameter `R` (`reader`) or `W` (`writer`).
macro_rules! adapter_methods {
    (reader) => {
        $crate::io::adapter_methods!(
            R,
            ReadState,
            "reader",
            "The inner reader. Reading from it directly skips the codec.",
            "The inner reader; input read from it but not yet uppercased is lost."
        );
    };
    (bufreader) => {
        $crate::io::adapter_methods!(
            R,
            BufReadState,
            "reader",
            "The inner reader. Reading from it directly skips the codec.",
            "The inner reader, with its buffer; a UTF-8 sequence cut off by \
             the last read (up to 3 bytes, held by the codec) is lost."
        );
    };
    (writer) => {
        $crate::io::adapter_methods!(
            W,
            WriteState,
            "writer",
            "The inner writer. Writing to it directly skips the codec and the \
             buffered output.",
            "The inner writer; buffered output and the held tail are lost \
             unless the stream was ended (shut down, closed) first."
        );
    };
    ($T:ident, $State:ident, $what:literal, $get_mut:literal, $into_inner:literal) => {
        /// Uppercases `inner` with the default [`Config`](crate::Config)
        /// (Unicode, ill-formed bytes passed through).
        pub fn new(inner: $T) -> Self {
            Self::with_config(inner, $crate::Config::default())
        }

        /// Uppercases `inner` with `config`.
        pub fn with_config(inner: $T, config: $crate::Config) -> Self {
            Self {
                inner,
                state: $crate::io::$State::new($crate::Codec::new(config)),
            }
        }

        /// The codec: its position, its count of ill-formed sequences.
        pub fn codec(&self) -> &$crate::Codec {
            self.state.codec()
        }

        #[doc = concat!("The inner ", $what, ".")]
        pub fn get_ref(&self) -> &$T {
            &self.inner
        }

        #[doc = $get_mut]
        pub fn get_mut(&mut self) -> &mut $T {
            &mut self.inner
        }

        #[doc = $into_inner]
        pub fn into_inner(self) -> $T {
            self.inner
        }
    };
}
pub(crate) use adapter_methods;

mod std;
pub use self::std::{UpcaseReader, UpcaseWriter};

#[cfg(any(feature = "tokio", feature = "futures-io"))]
mod async_bufread;
pub mod bufread;
#[cfg(feature = "futures-io")]
pub mod futures;
#[cfg(any(feature = "tokio", feature = "futures-io"))]
mod nonblocking;
#[cfg(feature = "tokio")]
pub mod tokio;
#[cfg(feature = "tokio-util")]
pub mod tokio_util;

/// A [`CodecError`] as an `io::Error` of kind `InvalidData`, with the
/// `CodecError` as its source (`err.get_ref()` then `downcast_ref`).
impl From<CodecError> for io::Error {
    fn from(err: CodecError) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, err)
    }
}

/// Input bytes a reader asks its inner stream for at once: one codec piece.
const READ_BUF: usize = Codec::PIECE_LEN;

/// Room for the output of one whole piece and the codec's scratch (64
/// bytes): with that much room, `feed` takes a 32 KiB piece without
/// growing its buffer.
const PIECE_OUT: usize = 3 * (Codec::PIECE_LEN + 3) + SLACK;

/// A writer's output buffer: two pieces' room, so that a write of 64 KiB
/// (the server's and `upcase pipe`'s reads) is taken whole, in two full
/// steps of the codec, and written out in one inner write.
const WRITE_BUF: usize = 2 * PIECE_OUT;

/// The reading side's state of a `read` reader: a `bufread` reader's
/// state over a buffer of its own, which the inner stream's reads fill.
#[derive(Debug)]
pub(crate) struct ReadState {
    state: BufReadState,
    input: OwnBuffer,
}

/// A `read` reader's input buffer: the bytes `start..end` are read but not
/// yet taken by the codec.
#[derive(Debug)]
struct OwnBuffer {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl ReadState {
    pub(crate) fn new(codec: Codec) -> Self {
        Self {
            state: BufReadState::new(codec),
            input: OwnBuffer {
                buf: vec![0; READ_BUF].into_boxed_slice(),
                start: 0,
                end: 0,
            },
        }
    }

    pub(crate) fn codec(&self) -> &Codec {
        self.state.codec()
    }

    /// Fills `out` with uppercased bytes, reading from the inner stream
    /// through `read` only when the codec has taken all it had. Ready with
    /// 0 only at the end of the stream (or for an empty `out`).
    ///
    /// Restartable: `read` is only called before anything was written in
    /// this call, so a `Pending` loses nothing.
    pub(crate) fn poll_read(
        &mut self,
        out: &mut [u8],
        read: impl FnMut(&mut [u8]) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        let mut inner = Filled {
            input: &mut self.input,
            read,
        };
        self.state.poll_read(out, &mut inner)
    }
}

/// A `read` reader's buffer as a [`FillBuf`]: refilled by `read` when the
/// codec has taken all of it.
struct Filled<'a, F> {
    input: &'a mut OwnBuffer,
    read: F,
}

impl<F: FnMut(&mut [u8]) -> Poll<io::Result<usize>>> FillBuf for Filled<'_, F> {
    fn poll_fill_buf(&mut self) -> Poll<io::Result<&[u8]>> {
        let input = &mut *self.input;
        if input.start == input.end {
            let n = ready!((self.read)(&mut input.buf))?;
            input.start = 0;
            input.end = n;
        }
        Poll::Ready(Ok(&input.buf[input.start..input.end]))
    }

    fn consume(&mut self, amt: usize) {
        self.input.start += amt;
    }
}

/// The inner stream of a `bufread` reader, as one of the runtimes' traits
/// sees it: its buffer, filled if empty, and a way to mark a prefix of it
/// as used.
pub(crate) trait FillBuf {
    /// The inner reader's buffer (`fill_buf`); empty only at its end.
    fn poll_fill_buf(&mut self) -> Poll<io::Result<&[u8]>>;
    /// Marks the first `amt` bytes of the buffer as used (`consume`).
    fn consume(&mut self, amt: usize);
}

/// The reading side's state of a `bufread` reader: the codec alone, as
/// the input stays in the inner reader's buffer until the codec takes it.
#[derive(Debug)]
pub(crate) struct BufReadState {
    codec: Codec,
    eof: bool,
    failed: bool,
}

impl BufReadState {
    pub(crate) fn new(codec: Codec) -> Self {
        Self {
            codec,
            eof: false,
            failed: false,
        }
    }

    pub(crate) fn codec(&self) -> &Codec {
        &self.codec
    }

    /// Fills `out` with the uppercase of the inner reader's buffer, taken
    /// straight from it, with no copy; asks `inner` to fill its buffer only
    /// when the codec has taken all it had. Ready with 0 only at the end of
    /// the stream (or for an empty `out`).
    ///
    /// Restartable: `inner` is only asked to fill before anything was
    /// written in this call, so a `Pending` loses nothing.
    pub(crate) fn poll_read(
        &mut self,
        out: &mut [u8],
        inner: &mut impl FillBuf,
    ) -> Poll<io::Result<usize>> {
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            // After the end or an error, only what the codec keeps (its
            // tail, the sticky error) is left.
            let input = if self.eof || self.failed {
                &[][..]
            } else {
                let input = ready!(inner.poll_fill_buf())?;
                self.eof = input.is_empty();
                input
            };
            let (result, read, written) = self.codec.feed_into(input, out, self.eof);
            if read > 0 {
                inner.consume(read);
            }
            match result {
                Err(err) => {
                    self.failed = true;
                    return Poll::Ready(if written > 0 {
                        Ok(written) // the error comes back next time
                    } else {
                        Err(err.into())
                    });
                }
                Ok(CoderResult::OutputFull) => {
                    // `out` is not empty, so something was written.
                    debug_assert!(written > 0);
                    return Poll::Ready(Ok(written));
                }
                Ok(CoderResult::InputEmpty) if written > 0 || self.eof => {
                    return Poll::Ready(Ok(written))
                }
                Ok(CoderResult::InputEmpty) => {} // all held: read more
            }
        }
    }
}

/// The writing side's state: the codec and the output not yet written.
///
/// The output goes through [`Codec::feed`] into a `BytesMut` rather than
/// through `feed_into` into a zeroed slice: `feed` writes into spare
/// capacity, so the buffer is allocated but never filled with zeros first
/// (zeroing 192 KiB took about 9 % of the time a new writer spent on
/// 1 MiB of ASCII), and only the bytes produced are touched.
#[derive(Debug)]
pub(crate) struct WriteState {
    codec: Codec,
    buf: BytesMut,
    start: usize,
}

impl WriteState {
    pub(crate) fn new(codec: Codec) -> Self {
        Self {
            codec,
            buf: BytesMut::with_capacity(WRITE_BUF),
            start: 0,
        }
    }

    pub(crate) fn codec(&self) -> &Codec {
        &self.codec
    }

    /// Writes out all buffered output through `write`.
    pub(crate) fn poll_drain(
        &mut self,
        mut write: impl FnMut(&[u8]) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<()>> {
        while self.start < self.buf.len() {
            let n = ready!(write(&self.buf[self.start..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.start += n;
        }
        self.start = 0;
        self.buf.clear();
        Poll::Ready(Ok(()))
    }

    /// Writes out what is buffered, then uppercases a prefix of `input`
    /// into the buffer and says how long it was. The output is written by
    /// the next call (or a flush or finish).
    ///
    /// The prefix is taken a whole piece (32 KiB) at a time while the
    /// buffer has room for a piece's output, so the codec runs in the
    /// same full steps as `feed` and the buffer never grows.
    ///
    /// Restartable: input is only taken after the buffer was drained, so a
    /// `Pending` loses nothing. An error met while taking input is
    /// reported by the next call, after the output before it is out.
    pub(crate) fn poll_write(
        &mut self,
        input: &[u8],
        write: impl FnMut(&[u8]) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_drain(write))?;
        let mut taken = 0;
        while taken < input.len() && self.buf.capacity() - self.buf.len() >= PIECE_OUT {
            let piece = &input[taken..input.len().min(taken + Codec::PIECE_LEN)];
            let before = self.codec.position();
            if let Err(err) = self.codec.feed(piece, &mut self.buf) {
                if self.codec.position() == before {
                    // Failed before this call (sticky): nothing taken.
                    return Poll::Ready(Err(err.into()));
                }
                // `feed` took all of the piece; the error comes back from
                // the next call, after the output before it.
                return Poll::Ready(Ok(taken + piece.len()));
            }
            taken += piece.len();
        }
        Poll::Ready(Ok(taken))
    }

    /// Ends the stream: writes out the buffer and the codec's tail (or
    /// reports a truncated sequence per policy). Idempotent.
    pub(crate) fn poll_finish(
        &mut self,
        mut write: impl FnMut(&[u8]) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.poll_drain(&mut write))?;
            self.codec.finish(&mut self.buf)?;
            if self.buf.is_empty() {
                return Poll::Ready(Ok(()));
            }
        }
    }
}

/// The result of a poll whose callbacks never return `Pending` (blocking
/// I/O).
fn blocking<T>(poll: Poll<T>) -> T {
    match poll {
        Poll::Ready(value) => value,
        Poll::Pending => unreachable!("blocking I/O returned Pending"),
    }
}
