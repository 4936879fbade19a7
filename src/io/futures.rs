//! futures-io adapters: `AsyncRead` and `AsyncWrite` for smol, async-std and
//! the rest of the futures world (feature `futures-io`).
//!
//! The semantics are those of the blocking pair in [`crate::io`]; a
//! `Pending` from the inner stream loses nothing, and the writer's
//! `poll_close` finishes the codec before closing the inner writer.
//! These are the same two types as in `upcase::io::tokio` (feature
//! `tokio`): each implements the traits its inner stream has.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

pub use super::nonblocking::{UpcaseReader, UpcaseWriter};

impl<R: AsyncRead> AsyncRead for UpcaseReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_with(cx, out, R::poll_read)
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

    /// Finishes the codec (see [`UpcaseWriter`]), then closes the inner
    /// writer.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_close_with(cx, W::poll_write, W::poll_close)
    }
}
