//! Tokio adapters: `AsyncRead` and `AsyncWrite` (feature `tokio`).
//!
//! The semantics are those of the blocking pair in [`crate::io`]; a
//! `Pending` from the inner stream loses nothing, and the writer's
//! `poll_shutdown` finishes the codec before shutting the inner writer.
//! These are the same two types as in `upcase::io::futures` (feature
//! `futures-io`): each implements the traits its inner stream has.
//!
//! [`bufread::UpcaseReader`] reads from an `AsyncBufRead` (a
//! `tokio::io::BufReader`, a byte slice) straight from its buffer, with
//! no copy: use it when your source is already buffered (see
//! [`crate::io::bufread`]).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

pub use super::nonblocking::{UpcaseReader, UpcaseWriter};

impl<R: AsyncRead> AsyncRead for UpcaseReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        fill(buf, |out| {
            self.poll_read_with(cx, out, |inner, cx, input| {
                let mut input = ReadBuf::new(input);
                ready!(inner.poll_read(cx, &mut input))?;
                Poll::Ready(Ok(input.filled().len()))
            })
        })
    }
}

/// Fills `buf` through `read`, which writes into a slice and says how much
/// it wrote: Tokio's `ReadBuf` over the adapters' slice-based reads.
fn fill(
    buf: &mut ReadBuf<'_>,
    read: impl FnOnce(&mut [u8]) -> Poll<io::Result<usize>>,
) -> Poll<io::Result<()>> {
    let n = ready!(read(buf.initialize_unfilled()))?;
    buf.advance(n);
    Poll::Ready(Ok(()))
}

/// The `bufread` reader over Tokio's `AsyncBufRead`: use it when your
/// source is already buffered (see [`crate::io::bufread`]).
pub mod bufread {
    pub use crate::io::async_bufread::UpcaseReader;
}

impl<R: tokio::io::AsyncBufRead> AsyncRead for bufread::UpcaseReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        fill(buf, |out| {
            self.poll_read_with(cx, out, R::poll_fill_buf, R::consume)
        })
    }
}

// `AsyncWrite` for `UpcaseWriter`: in `nonblocking.rs`, one impl for both
// runtimes' traits.
