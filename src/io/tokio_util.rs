//! tokio-util codecs (feature `tokio-util`): [`UpcaseDecoder`] for
//! `FramedRead`, [`UpcaseEncoder`] (and its [`Finish`] item) for
//! `FramedWrite`.
//!
//! A frame is whatever the inner stream delivered in one read, uppercased:
//! the uppercasing knows no message boundaries, so there are none to find.

use std::io;

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::codec::SLACK;
use crate::{Codec, Config};

/// A [`Decoder`] whose frames are the uppercase of the bytes read:
/// `FramedRead::new(io, UpcaseDecoder::new())` is a stream of uppercased
/// [`Bytes`].
///
/// `decode` takes every byte in the buffer (holding at most 3 of a UTF-8
/// sequence split between reads) and yields what they make, if anything;
/// `decode_eof` then finishes the codec, so the held tail is passed
/// through, replaced or reported per policy. A codec error is an
/// `InvalidData` [`io::Error`] (see [`crate::io`]) that comes after a
/// frame with the output before it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use futures_util::TryStreamExt;
/// use tokio_util::codec::FramedRead;
/// use upcase::io::tokio_util::UpcaseDecoder;
///
/// let frames = FramedRead::new("straße".as_bytes(), UpcaseDecoder::new());
/// let upper: Vec<_> = frames.try_collect().await?;
/// assert_eq!(upper.concat(), b"STRASSE");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct UpcaseDecoder {
    codec: Codec,
    out: BytesMut,
}

impl UpcaseDecoder {
    /// A decoder with the default [`Config`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder with `config`.
    pub fn with_config(config: Config) -> Self {
        Self {
            codec: Codec::new(config),
            out: BytesMut::new(),
        }
    }

    /// The codec: its position, its count of ill-formed sequences.
    pub fn codec(&self) -> &Codec {
        &self.codec
    }

    /// Feeds all of `src`. Also with nothing new, so a stream that failed
    /// says so again; but a finished stream is not fed nothing (`FramedRead`
    /// calls `decode_eof` until it yields `None`).
    fn take(&mut self, src: &mut BytesMut) -> Result<(), crate::CodecError> {
        if src.is_empty() && self.codec.is_finished() {
            return Ok(());
        }
        // Room for all of `src` at once: `feed` reserves a piece at a
        // time, and a second piece's reserve would reallocate (and copy)
        // a buffer sized for the first.
        let room: usize = src
            .chunks(Codec::PIECE_LEN)
            .map(|piece| self.codec.max_output_len(piece.len()))
            .sum();
        self.out.reserve(room + SLACK);
        let result = self.codec.feed(src, &mut self.out);
        src.clear();
        result
    }

    /// The output so far as a frame, if there is any; else the error, if
    /// `result` is one (a sticky codec error comes back on the next call).
    fn frame(&mut self, result: Result<(), crate::CodecError>) -> io::Result<Option<Bytes>> {
        match result {
            _ if !self.out.is_empty() => Ok(Some(self.out.split().freeze())),
            Ok(()) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }
}

impl Decoder for UpcaseDecoder {
    type Item = Bytes;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<Bytes>> {
        let result = self.take(src);
        self.frame(result)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> io::Result<Option<Bytes>> {
        let mut result = self.take(src);
        if result.is_ok() {
            result = self.codec.finish(&mut self.out);
        }
        self.frame(result)
    }
}

/// An [`Encoder`] that writes the uppercase of each item (any
/// `AsRef<[u8]>`: `Bytes`, `&[u8]`, `String`...) into the frame buffer:
/// `FramedWrite::new(io, UpcaseEncoder::new())` is a sink that uppercases.
///
/// An `Encoder` has no end-of-stream call, so a UTF-8 sequence cut off by
/// the last item stays held (at most 3 bytes) until the item [`Finish`]
/// ends the stream (`sink.send(Finish).await?` before closing): it emits
/// or reports the held tail per policy. Streams of whole characters never
/// need it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use futures_util::SinkExt;
/// use tokio_util::codec::FramedWrite;
/// use upcase::io::tokio_util::UpcaseEncoder;
///
/// let mut sink = FramedWrite::new(Vec::new(), UpcaseEncoder::new());
/// sink.send("stra\u{df}e").await?;
/// sink.send(upcase::io::tokio_util::Finish).await?;
/// assert_eq!(sink.get_ref(), b"STRASSE");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct UpcaseEncoder {
    codec: Codec,
}

impl UpcaseEncoder {
    /// An encoder with the default [`Config`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An encoder with `config`.
    pub fn with_config(config: Config) -> Self {
        Self {
            codec: Codec::new(config),
        }
    }

    /// The codec: its position, its count of ill-formed sequences.
    pub fn codec(&self) -> &Codec {
        &self.codec
    }
}

/// The item that ends an [`UpcaseEncoder`]'s stream: appends the held
/// tail (or fails per policy). Idempotent; data items after it fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Finish;

impl Encoder<Finish> for UpcaseEncoder {
    type Error = io::Error;

    fn encode(&mut self, _: Finish, dst: &mut BytesMut) -> io::Result<()> {
        Ok(self.codec.finish(dst)?)
    }
}

impl<T: AsRef<[u8]>> Encoder<T> for UpcaseEncoder {
    type Error = io::Error;

    /// Appends the uppercase of `item`. On a codec error the output before
    /// it is appended too, and the error is sticky.
    fn encode(&mut self, item: T, dst: &mut BytesMut) -> io::Result<()> {
        Ok(self.codec.feed(item.as_ref(), dst)?)
    }
}
