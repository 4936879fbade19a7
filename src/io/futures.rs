//! futures-io adapters: `AsyncRead` and `AsyncWrite` for smol, async-std and
//! the rest of the futures world (feature `futures-io`).
//!
//! The semantics are those of the blocking pair in [`crate::io`]; a
//! `Pending` from the inner stream loses nothing, and the writer's
//! `poll_close` finishes the codec before closing the inner writer.
//! These are the same two types as in `upcase::io::tokio` (feature
//! `tokio`): each implements the traits its inner stream has.
//!
//! [`bufread::UpcaseReader`] reads from an `AsyncBufRead` (a
//! `smol::io::BufReader`, a byte slice) straight from its buffer, with no
//! copy: use it when your source is already buffered (see
//! [`crate::io::bufread`]).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::AsyncRead;

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

/// The `bufread` reader over futures-io's `AsyncBufRead`: use it when
/// your source is already buffered (see [`crate::io::bufread`]).
pub mod bufread {
    pub use crate::io::async_bufread::UpcaseReader;
}

impl<R: futures_io::AsyncBufRead> AsyncRead for bufread::UpcaseReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_with(cx, out, R::poll_fill_buf, R::consume)
    }
}

// `AsyncWrite` for `UpcaseWriter`: in `nonblocking.rs`, one impl for both
// runtimes' traits.
