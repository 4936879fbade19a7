//! A blocking reader over `std::io::BufRead`: use it when your source is
//! already buffered.
//!
//! [`crate::io::UpcaseReader`] (the `read` reader) reads its inner
//! `Read` into a 32 KiB buffer of its own, then uppercases from there: two
//! passes over every byte. [`UpcaseReader`] here (the `bufread` reader, as
//! in flate2's `read` and `bufread` modules) uppercases straight from the
//! inner reader's own buffer (`fill_buf`, `consume`) into yours: one pass,
//! no buffer of its own. Over a `BufReader`, a byte slice, a `Cursor` or a
//! locked stdin it is the one to use; over a bare `TcpStream` or `File`,
//! use the `read` reader (it buffers for you). The async counterparts are
//! `upcase::io::tokio::bufread` and `upcase::io::futures::bufread`.

use std::io::{self, BufRead, Read};
use std::task::Poll;

use super::{blocking, BufReadState, FillBuf};

/// A `Read` that yields the uppercase of what its inner `BufRead` yields,
/// taken straight from the inner reader's buffer.
///
/// The semantics are those of [`crate::io::UpcaseReader`]: at the inner
/// reader's end (an empty `fill_buf`) the codec is finished (a cut-off
/// UTF-8 sequence is passed through, replaced or reported per policy) and
/// then reads return 0; errors of the inner reader are returned as they
/// are (it can be read again after `Interrupted` or `WouldBlock`); a codec
/// error comes back as [`InvalidData`](io::ErrorKind::InvalidData) (see
/// [`crate::io`]). It consumes from the inner buffer exactly the bytes the
/// codec took.
///
/// ```
/// use std::io::{BufReader, Read};
/// use upcase::io::bufread::UpcaseReader;
///
/// let source = BufReader::new("straße".as_bytes()); // any `BufRead`
/// let mut upper = String::new();
/// UpcaseReader::new(source).read_to_string(&mut upper)?;
/// assert_eq!(upper, "STRASSE");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UpcaseReader<R> {
    inner: R,
    state: BufReadState,
}

impl<R> UpcaseReader<R> {
    super::adapter_methods!(bufreader);
}

/// A `BufRead` as a [`FillBuf`] that is always ready.
struct Blocking<'a, R>(&'a mut R);

impl<R: BufRead> FillBuf for Blocking<'_, R> {
    fn poll_fill_buf(&mut self) -> Poll<io::Result<&[u8]>> {
        Poll::Ready(self.0.fill_buf())
    }

    fn consume(&mut self, amt: usize) {
        self.0.consume(amt);
    }
}

impl<R: BufRead> Read for UpcaseReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        blocking(self.state.poll_read(out, &mut Blocking(&mut self.inner)))
    }
}
