//! A test double for the inner stream: a reader of a given stream or a
//! writer into a `Vec`, that follows a script, one entry per call, cycled:
//! `0` is `Pending` for the async traits (after waking the task, as a real
//! stream would once ready) and `Interrupted` for std's; `n` is a short
//! read or write of at most `n` bytes.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

#[derive(Debug)]
pub struct Chaos {
    /// What a reader yields; what a writer was given.
    pub data: Vec<u8>,
    pos: usize,
    script: Vec<u8>,
    step: usize,
    /// Set by a shutdown or close.
    pub closed: bool,
}

impl Chaos {
    pub fn reader(data: &[u8], script: &[u8]) -> Self {
        Self::new(data.to_vec(), script)
    }

    pub fn writer(script: &[u8]) -> Self {
        Self::new(Vec::new(), script)
    }

    fn new(data: Vec<u8>, script: &[u8]) -> Self {
        assert!(script.iter().any(|&s| s > 0), "a script must make progress");
        Self {
            data,
            pos: 0,
            script: script.to_vec(),
            step: 0,
            closed: false,
        }
    }

    /// The next entry: `None` for Pending/Interrupted, else a byte limit.
    fn next(&mut self) -> Option<usize> {
        let entry = self.script[self.step % self.script.len()];
        self.step += 1;
        (entry > 0).then_some(usize::from(entry))
    }

    fn read_some(&mut self, limit: usize, out: &mut [u8]) -> usize {
        let n = limit.min(out.len()).min(self.data.len() - self.pos);
        out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        n
    }

    fn write_some(&mut self, limit: usize, input: &[u8]) -> usize {
        assert!(!self.closed, "write after close");
        let n = limit.min(input.len());
        self.data.extend_from_slice(&input[..n]);
        n
    }

    fn poll<T>(&mut self, cx: &mut Context<'_>, f: impl FnOnce(&mut Self, usize) -> T) -> Poll<T> {
        match self.next() {
            None => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Some(limit) => Poll::Ready(f(self, limit)),
        }
    }
}

fn interrupted() -> io::Error {
    io::ErrorKind::Interrupted.into()
}

impl Read for Chaos {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let limit = self.next().ok_or_else(interrupted)?;
        Ok(self.read_some(limit, out))
    }
}

impl Write for Chaos {
    fn write(&mut self, input: &[u8]) -> io::Result<usize> {
        let limit = self.next().ok_or_else(interrupted)?;
        Ok(self.write_some(limit, input))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Chaos {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.poll(cx, |this, limit| {
            let n = this.read_some(limit, buf.initialize_unfilled());
            buf.advance(n);
            Ok(())
        })
    }
}

impl futures_io::AsyncRead for Chaos {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll(cx, |this, limit| Ok(this.read_some(limit, out)))
    }
}

/// One `AsyncWrite` for each runtime's trait, differing only in the name
/// of the method that ends the stream.
macro_rules! async_write {
    ($trait:path, $end:ident) => {
        impl $trait for Chaos {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                input: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.poll(cx, |this, limit| Ok(this.write_some(limit, input)))
            }

            fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.poll(cx, |_, _| Ok(()))
            }

            fn $end(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.poll(cx, |this, _| {
                    this.closed = true;
                    Ok(())
                })
            }
        }
    };
}

async_write!(tokio::io::AsyncWrite, poll_shutdown);
async_write!(futures_io::AsyncWrite, poll_close);
