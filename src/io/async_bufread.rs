//! The one asynchronous `bufread` reader, for Tokio and futures-io alike
//! (exported as `upcase::io::tokio::bufread::UpcaseReader` and
//! `upcase::io::futures::bufread::UpcaseReader`; see [`crate::io::bufread`]
//! for when to use a `bufread` reader).
//!
//! Both runtimes' `AsyncBufRead` traits have the same two methods with the
//! same signatures, so `tokio.rs` and `futures.rs` each implement
//! `AsyncRead` in a few lines over [`UpcaseReader::poll_read_with`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::{BufReadState, FillBuf};

pin_project! {
    /// An `AsyncRead` that yields the uppercase of what its inner
    /// `AsyncBufRead` yields, taken straight from the inner reader's
    /// buffer (see [`crate::io::bufread::UpcaseReader`] for the
    /// semantics; a `Pending` from the inner reader loses nothing).
    ///
    /// One type for both runtimes: it is Tokio's `AsyncRead` (feature
    /// `tokio`) when the inner reader is Tokio's `AsyncBufRead`, and
    /// futures-io's (feature `futures-io`) when it is futures-io's.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use tokio::io::{AsyncReadExt, BufReader};
    /// use upcase::io::tokio::bufread::UpcaseReader;
    ///
    /// let source = BufReader::new("straße".as_bytes()); // any AsyncBufRead
    /// let mut upper = String::new();
    /// UpcaseReader::new(source).read_to_string(&mut upper).await?;
    /// assert_eq!(upper, "STRASSE");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// ```
    /// # smol::block_on(async {
    /// use smol::io::{AsyncReadExt, BufReader};
    /// use upcase::io::futures::bufread::UpcaseReader;
    ///
    /// let source = BufReader::new("straße".as_bytes()); // any AsyncBufRead
    /// let mut upper = String::new();
    /// UpcaseReader::new(source).read_to_string(&mut upper).await?;
    /// assert_eq!(upper, "STRASSE");
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    #[derive(Debug)]
    pub struct UpcaseReader<R> {
        #[pin]
        inner: R,
        state: BufReadState,
    }
}

/// A runtime's `poll_fill_buf`.
pub(super) type PollFillBuf<R> =
    for<'a> fn(Pin<&'a mut R>, &mut Context<'_>) -> Poll<io::Result<&'a [u8]>>;

/// A runtime's `consume`.
pub(super) type Consume<R> = fn(Pin<&mut R>, usize);

/// A pinned `AsyncBufRead` and its task's context as a [`FillBuf`].
struct Polled<'a, 'b, 'c, R> {
    inner: Pin<&'a mut R>,
    cx: &'b mut Context<'c>,
    fill: PollFillBuf<R>,
    consume: Consume<R>,
}

impl<R> FillBuf for Polled<'_, '_, '_, R> {
    fn poll_fill_buf(&mut self) -> Poll<io::Result<&[u8]>> {
        (self.fill)(self.inner.as_mut(), self.cx)
    }

    fn consume(&mut self, amt: usize) {
        (self.consume)(self.inner.as_mut(), amt);
    }
}

impl<R> UpcaseReader<R> {
    super::adapter_methods!(bufreader);

    /// Fills `out` with uppercased bytes from the inner reader's buffer,
    /// through the runtime's `poll_fill_buf` (`fill`) and `consume`.
    pub(super) fn poll_read_with(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
        fill: PollFillBuf<R>,
        consume: Consume<R>,
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let mut inner = Polled {
            inner: this.inner,
            cx,
            fill,
            consume,
        };
        this.state.poll_read(out, &mut inner)
    }
}
