//! futures-io adapters: `AsyncRead` and `AsyncWrite` for smol, async-std and
//! the rest of the futures world (feature `futures-io`).
//!
//! The semantics are those of the blocking pair in [`crate::io`]; a
//! `Pending` from the inner stream loses nothing, and the writer's
//! `poll_close` finishes the codec before closing the inner writer.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use pin_project_lite::pin_project;

use super::{ReadState, WriteState};
use crate::{Codec, Config};

pin_project! {
    /// An `AsyncRead` that yields the uppercase of what its inner reader
    /// yields (see [`crate::io::UpcaseReader`] for the semantics).
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
    /// Uppercases `inner` with the default [`Config`].
    pub fn new(inner: R) -> Self {
        Self::with_config(inner, Config::default())
    }

    /// Uppercases `inner` with `config`.
    pub fn with_config(inner: R, config: Config) -> Self {
        Self {
            inner,
            state: ReadState::new(Codec::new(config)),
        }
    }

    /// The codec: its position, its count of ill-formed sequences.
    pub fn codec(&self) -> &Codec {
        self.state.codec()
    }

    /// The inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader. Reading from it directly skips the codec.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The inner reader; input read from it but not yet uppercased is lost.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: AsyncRead> AsyncRead for UpcaseReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let mut inner = this.inner;
        this.state
            .poll_read(out, |input| inner.as_mut().poll_read(cx, input))
    }
}

pin_project! {
    /// An `AsyncWrite` that writes the uppercase of what is written to it
    /// into its inner writer (see [`crate::io::UpcaseWriter`] for the
    /// semantics).
    ///
    /// `poll_close` (`close().await`) finishes the codec: it writes
    /// the buffered output and the tail, or fails with a cut-off sequence
    /// under [`Reject`](crate::InvalidUtf8::Reject), then closes the inner
    /// writer. Dropping it without closing it loses the
    /// buffered output (up to 96 KiB) and the held tail: an async writer
    /// cannot write in `drop`.
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
    /// Uppercases into `inner` with the default [`Config`].
    pub fn new(inner: W) -> Self {
        Self::with_config(inner, Config::default())
    }

    /// Uppercases into `inner` with `config`.
    pub fn with_config(inner: W, config: Config) -> Self {
        Self {
            inner,
            state: WriteState::new(Codec::new(config)),
        }
    }

    /// The codec: its position, its count of ill-formed sequences.
    pub fn codec(&self) -> &Codec {
        self.state.codec()
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner writer. Writing to it directly skips the codec and the
    /// buffered output.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The inner writer; buffered output and the held tail are lost
    /// unless it was closed first.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: AsyncWrite> AsyncWrite for UpcaseWriter<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        input: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let mut inner = this.inner;
        this.state
            .poll_write(input, |buf| inner.as_mut().poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let mut inner = this.inner;
        ready!(this
            .state
            .poll_drain(|buf| inner.as_mut().poll_write(cx, buf)))?;
        inner.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let mut inner = this.inner;
        ready!(this
            .state
            .poll_finish(|buf| inner.as_mut().poll_write(cx, buf)))?;
        inner.poll_close(cx)
    }
}
