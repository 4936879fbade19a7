//! Blocking adapters over `std::io::Read` and `std::io::Write`.

use std::io::{self, Read, Write};
use std::task::Poll;

use super::{blocking, ReadState, WriteState};
use crate::{Codec, Config};

/// A `Read` that yields the uppercase of what its inner reader yields.
///
/// Reads from the inner reader in 32 KiB pieces, and only when the codec
/// has taken all it had. At the inner reader's end (a read of 0) the codec
/// is finished: a cut-off UTF-8 sequence is passed through, replaced or
/// reported per policy, and then reads return 0. Errors of the inner
/// reader are returned as they are (the reader can be read again after
/// `Interrupted` or `WouldBlock`); a codec error comes back as
/// [`InvalidData`](io::ErrorKind::InvalidData) (see [`crate::io`]).
///
/// ```
/// use std::io::Read;
/// use upcase::io::UpcaseReader;
///
/// let mut upper = String::new();
/// UpcaseReader::new("straße".as_bytes()).read_to_string(&mut upper)?;
/// assert_eq!(upper, "STRASSE");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UpcaseReader<R> {
    inner: R,
    state: ReadState,
}

impl<R> UpcaseReader<R> {
    super::adapter_methods!(reader);
}

impl<R: Read> Read for UpcaseReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let inner = &mut self.inner;
        blocking(
            self.state
                .poll_read(out, |buf| Poll::Ready(inner.read(buf))),
        )
    }
}

/// A `Write` that writes the uppercase of what is written to it into its
/// inner writer.
///
/// Output is buffered (up to 192 KiB, the output of two 32 KiB pieces, so
/// a 64 KiB write is taken whole) and written by the next `write`, by `flush`, or by [`finish`](Self::finish).
/// `flush` writes all output so far except for a UTF-8 sequence whose end
/// has not been written yet (at most 3 bytes, held by the codec). Call
/// [`finish`](Self::finish) at the end: it writes the rest, emits or
/// reports a cut-off sequence per policy, and gives the writer back.
///
/// Dropping it without `finish` finishes it as well as it can, as
/// `BufWriter` flushes on drop: the buffered output and the tail are
/// written (unless a panic is unwinding), but any error, including a
/// [`Reject`](crate::InvalidUtf8::Reject) of a cut-off sequence, is lost.
/// [`into_inner`](Self::into_inner) stops without ending the stream.
///
/// ```
/// use std::io::Write;
/// use upcase::io::UpcaseWriter;
///
/// let mut writer = UpcaseWriter::new(Vec::new());
/// writer.write_all("stra".as_bytes())?;
/// writer.write_all("ße".as_bytes())?;
/// assert_eq!(writer.finish()?, b"STRASSE");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UpcaseWriter<W: Write> {
    /// `None` only once `finish` has taken it.
    inner: Option<W>,
    state: WriteState,
}

impl<W: Write> UpcaseWriter<W> {
    /// Uppercases into `inner` with the default [`Config`].
    pub fn new(inner: W) -> Self {
        Self::with_config(inner, Config::default())
    }

    /// Uppercases into `inner` with `config`.
    pub fn with_config(inner: W, config: Config) -> Self {
        Self {
            inner: Some(inner),
            state: WriteState::new(Codec::new(config)),
        }
    }

    /// The codec: its position, its count of ill-formed sequences.
    pub fn codec(&self) -> &Codec {
        self.state.codec()
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        self.inner.as_ref().expect("present until finish")
    }

    /// The inner writer. Writing to it directly skips the codec and the
    /// buffered output.
    pub fn get_mut(&mut self) -> &mut W {
        self.inner.as_mut().expect("present until finish")
    }

    /// Ends the stream without giving the writer back: writes out all
    /// output, emits or reports a cut-off sequence per policy, and flushes
    /// the inner writer. Idempotent; after it, writes fail.
    pub fn try_finish(&mut self) -> io::Result<()> {
        let inner = self.inner.as_mut().expect("present until finish");
        blocking(self.state.poll_finish(|buf| Poll::Ready(inner.write(buf))))?;
        inner.flush()
    }

    /// Ends the stream ([`try_finish`](Self::try_finish)) and returns the
    /// inner writer. On error the writer is dropped: use `try_finish` to
    /// keep it.
    pub fn finish(mut self) -> io::Result<W> {
        self.try_finish()?;
        Ok(self.inner.take().expect("present until finish"))
    }

    /// Returns the inner writer *without* ending the stream, for a stream
    /// that stops early (its input failed): writes out the output so far,
    /// but not a held incomplete sequence, which is dropped with the codec
    /// (nothing is written on drop either). On a write error the inner
    /// writer is dropped with the rest.
    pub fn into_inner(mut self) -> io::Result<W> {
        let mut inner = self.inner.take().expect("present until finish");
        blocking(self.state.poll_drain(|buf| Poll::Ready(inner.write(buf))))?;
        Ok(inner)
    }
}

impl<W: Write> Write for UpcaseWriter<W> {
    fn write(&mut self, input: &[u8]) -> io::Result<usize> {
        let inner = self.inner.as_mut().expect("present until finish");
        blocking(
            self.state
                .poll_write(input, |buf| Poll::Ready(inner.write(buf))),
        )
    }

    /// Writes out the output so far (less a held incomplete sequence) and
    /// flushes the inner writer.
    fn flush(&mut self) -> io::Result<()> {
        let inner = self.inner.as_mut().expect("present until finish");
        blocking(self.state.poll_drain(|buf| Poll::Ready(inner.write(buf))))?;
        inner.flush()
    }
}

impl<W: Write> Drop for UpcaseWriter<W> {
    fn drop(&mut self) {
        if self.inner.is_some() && !std::thread::panicking() {
            let _ = self.try_finish();
        }
    }
}
