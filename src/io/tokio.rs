//! Tokio adapters: `AsyncRead` and `AsyncWrite` (feature `tokio`).
//!
//! The semantics are those of the blocking pair in [`crate::io`]; a
//! `Pending` from the inner stream loses nothing, and the writer's
//! `poll_shutdown` finishes the codec before shutting the inner writer.
//! These are the same two types as in `upcase::io::futures` (feature
//! `futures-io`): each implements the traits its inner stream has.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub use super::nonblocking::{UpcaseReader, UpcaseWriter};

impl<R: AsyncRead> AsyncRead for UpcaseReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let out = buf.initialize_unfilled();
        let n = ready!(self.poll_read_with(cx, out, |inner, cx, input| {
            let mut input = ReadBuf::new(input);
            ready!(inner.poll_read(cx, &mut input))?;
            Poll::Ready(Ok(input.filled().len()))
        }))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<W: AsyncWrite> AsyncWrite for UpcaseWriter<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        input: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, input, W::poll_write)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush_with(cx, W::poll_write, W::poll_flush)
    }

    /// Finishes the codec (see [`UpcaseWriter`]), then shuts the inner
    /// writer down.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_close_with(cx, W::poll_write, W::poll_shutdown)
    }
}
