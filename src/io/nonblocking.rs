//! The one asynchronous reader/writer pair, for Tokio and futures-io alike.
//!
//! Both runtimes' traits are poll-based and differ only in their signatures
//! (Tokio reads into a `ReadBuf` and shuts down; futures-io reads into a
//! slice and closes), so one pair of types carries the state and the poll
//! logic. The writer's `AsyncWrite` is one macro here for both traits; the
//! readers' `AsyncRead` differs in its buffer type, so `tokio.rs` and
//! `futures.rs` each implement it in a few lines. `upcase::io::tokio` and
//! `upcase::io::futures` export the same two types.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use super::{ReadState, WriteState};

pin_project! {
    /// An `AsyncRead` that yields the uppercase of what its inner reader
    /// yields (see [`crate::io::UpcaseReader`] for the semantics; a
    /// `Pending` from the inner reader loses nothing).
    ///
    /// One type for both runtimes: it is Tokio's `AsyncRead` (feature
    /// `tokio`) when the inner reader is, and futures-io's (feature
    /// `futures-io`, for smol and async-std) when the inner reader is.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use tokio::io::AsyncReadExt;
    /// use upcase::io::tokio::UpcaseReader;
    ///
    /// let mut upper = String::new();
    /// UpcaseReader::new("straße".as_bytes()).read_to_string(&mut upper).await?;
    /// assert_eq!(upper, "STRASSE");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// ```
    /// # smol::block_on(async {
    /// use smol::io::AsyncReadExt;
    /// use upcase::io::futures::UpcaseReader;
    ///
    /// let mut upper = String::new();
    /// UpcaseReader::new("straße".as_bytes()).read_to_string(&mut upper).await?;
    /// assert_eq!(upper, "STRASSE");
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    #[derive(Debug)]
    pub struct UpcaseReader<R> {
        #[pin]
        inner: R,
        state: ReadState,
    }
}

impl<R> UpcaseReader<R> {
    super::adapter_methods!(reader);

    /// Fills `out` with uppercased bytes, reading from the inner reader
    /// with `read` (the runtime's `poll_read`) when the codec needs input.
    pub(super) fn poll_read_with(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
        read: impl Fn(Pin<&mut R>, &mut Context<'_>, &mut [u8]) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let mut inner = this.inner;
        this.state
            .poll_read(out, |input| read(inner.as_mut(), cx, input))
    }
}

pin_project! {
    /// An `AsyncWrite` that writes the uppercase of what is written to it
    /// into its inner writer (see [`crate::io::UpcaseWriter`] for the
    /// semantics; a `Pending` from the inner writer loses nothing).
    ///
    /// One type for both runtimes, as [`UpcaseReader`]. Ending the stream
    /// (Tokio's `poll_shutdown`, `shutdown().await`; futures-io's
    /// `poll_close`, `close().await`) finishes the codec: it writes the
    /// buffered output and the tail, or fails with a cut-off sequence
    /// under [`Reject`](crate::InvalidUtf8::Reject), then shuts down or
    /// closes the inner writer. Dropping it without that loses the
    /// buffered output (up to 192 KiB) and the held tail: an async writer
    /// cannot write in `drop`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use tokio::io::AsyncWriteExt;
    /// use upcase::io::tokio::UpcaseWriter;
    ///
    /// let mut writer = UpcaseWriter::new(Vec::new());
    /// writer.write_all("straße".as_bytes()).await?;
    /// writer.shutdown().await?;
    /// assert_eq!(writer.get_ref(), b"STRASSE");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// ```
    /// # smol::block_on(async {
    /// use smol::io::AsyncWriteExt;
    /// use upcase::io::futures::UpcaseWriter;
    ///
    /// let mut writer = UpcaseWriter::new(Vec::new());
    /// writer.write_all("straße".as_bytes()).await?;
    /// writer.close().await?;
    /// assert_eq!(writer.get_ref(), b"STRASSE");
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    #[derive(Debug)]
    pub struct UpcaseWriter<W> {
        #[pin]
        inner: W,
        state: WriteState,
    }
}

impl<W> UpcaseWriter<W> {
    super::adapter_methods!(writer);

    /// Takes a prefix of `input`, writing buffered output with `write`
    /// (the runtime's `poll_write`) first.
    fn poll_write_with(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        input: &[u8],
        write: impl Fn(Pin<&mut W>, &mut Context<'_>, &[u8]) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let mut inner = this.inner;
        this.state
            .poll_write(input, |buf| write(inner.as_mut(), cx, buf))
    }

    /// Writes the buffered output with `write`, then flushes the inner
    /// writer with `flush` (the runtime's `poll_flush`).
    fn poll_flush_with(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        write: impl Fn(Pin<&mut W>, &mut Context<'_>, &[u8]) -> Poll<io::Result<usize>>,
        flush: impl FnOnce(Pin<&mut W>, &mut Context<'_>) -> Poll<io::Result<()>>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let mut inner = this.inner;
        ready!(this.state.poll_drain(|buf| write(inner.as_mut(), cx, buf)))?;
        flush(inner, cx)
    }

    /// Finishes the codec, writing its output with `write`, then ends the
    /// inner writer with `close` (the runtime's `poll_shutdown` or
    /// `poll_close`).
    fn poll_close_with(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        write: impl Fn(Pin<&mut W>, &mut Context<'_>, &[u8]) -> Poll<io::Result<usize>>,
        close: impl FnOnce(Pin<&mut W>, &mut Context<'_>) -> Poll<io::Result<()>>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let mut inner = this.inner;
        ready!(this.state.poll_finish(|buf| write(inner.as_mut(), cx, buf)))?;
        close(inner, cx)
    }
}

/// `AsyncWrite` for [`UpcaseWriter`] from one runtime's trait: Tokio's and
/// futures-io's differ only in the name of the method that ends the stream
/// (`poll_shutdown`, `poll_close`).
macro_rules! impl_async_write {
    ($trait:path, $end:ident) => {
        impl<W: $trait> $trait for UpcaseWriter<W> {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                input: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.poll_write_with(cx, input, <W as $trait>::poll_write)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.poll_flush_with(cx, <W as $trait>::poll_write, <W as $trait>::poll_flush)
            }

            /// Finishes the codec (see [`UpcaseWriter`]), then ends the
            /// inner writer the same way.
            fn $end(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.poll_close_with(cx, <W as $trait>::poll_write, <W as $trait>::$end)
            }
        }
    };
}

#[cfg(feature = "tokio")]
impl_async_write!(tokio::io::AsyncWrite, poll_shutdown);
#[cfg(feature = "futures-io")]
impl_async_write!(futures_io::AsyncWrite, poll_close);
