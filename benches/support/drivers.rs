//! One driver per adapter over in-memory streams (a byte slice in, a
//! discarding sink out), shared by `adapters.rs` (criterion) and
//! `instructions.rs` (callgrind). The async adapters are polled by hand
//! with a no-op waker: the in-memory streams are always ready.
//!
//! Two baselines: `feed` (raw `Codec::feed`, one pass over the input) for
//! the writers, the encoder, `feed_into` and the `bufread` readers, which
//! all take their input where it lies; and `read_feed` (a hand-written
//! loop: `Read::read` into a 32 KiB buffer, then `feed`) for the `read`
//! readers and `FramedRead`, which must copy their input out of the source
//! first, as any reader over a `Read` does.

use std::future::Future;
use std::hint::black_box;
use std::io::{BufReader, Read, Write};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use futures_util::StreamExt;
use tokio_util::codec::{Encoder, FramedRead};
use upcase::io::tokio_util::{Finish, UpcaseDecoder, UpcaseEncoder};
use upcase::io::{bufread, futures as fio, tokio as tio, UpcaseReader, UpcaseWriter};
use upcase::{Codec, CoderResult};

pub const CORPUS_LEN: usize = 1 << 20;
/// Reads and writes of 64 KiB, as the server and `upcase pipe` do.
pub const CHUNK: usize = 64 * 1024;

const ASCII: &str =
    "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs!\n";
const MIXED: &str = "Hello мир, grüße 世界! Ξένος café — straße 東京 Москва ñandú.\n";

/// About 1 MiB of `ascii` or `mixed` text, cut at a character boundary.
pub fn corpus(name: &str) -> Vec<u8> {
    let sample = if name == "ascii" { ASCII } else { MIXED };
    let mut bytes = sample.repeat(CORPUS_LEN / sample.len() + 1).into_bytes();
    let mut len = CORPUS_LEN;
    while !sample.is_char_boundary(len % sample.len()) {
        len -= 1;
    }
    bytes.truncate(len);
    bytes
}

/// A `read` reader's input buffer (and the `read_feed` baseline's).
const READ_BUF: usize = 32 * 1024;

/// Every driver, by name.
pub const MODES: [&str; 15] = [
    "feed",
    "read_feed",
    "feed_into",
    "std_bufreader",
    "std_bufreader_bufreader",
    "tokio_bufreader",
    "futures_bufreader",
    "std_reader",
    "std_writer",
    "tokio_reader",
    "tokio_writer",
    "futures_reader",
    "futures_writer",
    "framed_read",
    "encoder",
];

/// Buffers reused across runs, as a server reuses them.
pub struct Buffers {
    out: BytesMut,
    buf: Vec<u8>,
}

impl Default for Buffers {
    fn default() -> Self {
        Self {
            out: BytesMut::with_capacity(3 * CHUNK + 1024),
            buf: vec![0; 3 * CHUNK + 1024],
        }
    }
}

/// Runs a future whose I/O is always ready.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

/// Uppercases all of `input` through the driver `mode`. (The drivers are
/// named `drive_*`, not `run_*`, so that callgrind's
/// `--toggle-collect='*drivers::run*'` matches this one function only.)
#[inline(never)]
pub fn run(mode: &str, input: &[u8], b: &mut Buffers) {
    let Buffers { out, buf } = b;
    match mode {
        "feed" => drive_feed(input, out),
        "read_feed" => drive_read_feed(input, out, buf),
        "std_bufreader" => drive_std_bufreader(input, buf),
        "std_bufreader_bufreader" => drive_std_bufreader_bufreader(input, buf),
        "tokio_bufreader" => drive_tokio_bufreader(input, buf),
        "futures_bufreader" => drive_futures_bufreader(input, buf),
        "feed_into" => drive_feed_into(input, buf),
        "std_reader" => drive_std_reader(input, buf),
        "std_writer" => drive_std_writer(input),
        "tokio_reader" => drive_tokio_reader(input, buf),
        "tokio_writer" => drive_tokio_writer(input),
        "futures_reader" => drive_futures_reader(input, buf),
        "futures_writer" => drive_futures_writer(input),
        "framed_read" => drive_framed_read(input),
        "encoder" => drive_encoder(input, out),
        _ => panic!("unknown mode {mode}; one of {MODES:?}"),
    }
}

/// `Codec::feed` into a `BytesMut`, a chunk at a time.
fn drive_feed(input: &[u8], out: &mut BytesMut) {
    let mut codec = Codec::default();
    for chunk in input.chunks(CHUNK) {
        out.clear();
        codec.feed(black_box(chunk), out).unwrap();
        black_box(&out);
    }
    codec.finish(out).unwrap();
}

/// The `read` readers' baseline: what any reader over a `Read` must do,
/// by hand. `Read::read` into a 32 KiB buffer (a copy out of the source),
/// then `Codec::feed` of what was read.
fn drive_read_feed(mut input: &[u8], out: &mut BytesMut, buf: &mut [u8]) {
    let mut codec = Codec::default();
    let buf = &mut buf[..READ_BUF];
    loop {
        let n = black_box(&mut input).read(buf).unwrap();
        if n == 0 {
            break;
        }
        out.clear();
        codec.feed(&buf[..n], out).unwrap();
        black_box(&out);
    }
    codec.finish(out).unwrap();
}

/// `Codec::feed_into` a slice, a chunk at a time.
fn drive_feed_into(input: &[u8], buf: &mut [u8]) {
    let mut codec = Codec::default();
    for chunk in input.chunks(CHUNK) {
        let mut rest = black_box(chunk);
        loop {
            let (result, read, written) = codec.feed_into(rest, buf, false);
            black_box(&buf[..written]);
            rest = &rest[read..];
            if result.unwrap() == CoderResult::InputEmpty {
                break;
            }
        }
    }
    let _ = codec.feed_into(&[], buf, true);
}

/// `std::io::Read` through `UpcaseReader`.
fn drive_std_reader(input: &[u8], buf: &mut [u8]) {
    let mut reader = UpcaseReader::new(black_box(input));
    while reader.read(&mut buf[..CHUNK]).unwrap() > 0 {
        black_box(&buf);
    }
}

/// `std::io::Read` through the `bufread` reader, straight over the byte
/// slice (a `BufRead` whose buffer is all of it).
fn drive_std_bufreader(input: &[u8], buf: &mut [u8]) {
    let mut reader = bufread::UpcaseReader::new(black_box(input));
    while reader.read(&mut buf[..CHUNK]).unwrap() > 0 {
        black_box(&buf);
    }
}

/// The `bufread` reader over a `BufReader` (64 KiB) over the byte slice:
/// the copy into the `BufReader` is the one any buffered source makes.
fn drive_std_bufreader_bufreader(input: &[u8], buf: &mut [u8]) {
    let inner = BufReader::with_capacity(CHUNK, black_box(input));
    let mut reader = bufread::UpcaseReader::new(inner);
    while reader.read(&mut buf[..CHUNK]).unwrap() > 0 {
        black_box(&buf);
    }
}

/// Tokio's `AsyncRead` through the `bufread` reader over the byte slice
/// (Tokio's `AsyncBufRead`).
fn drive_tokio_bufreader(input: &[u8], buf: &mut [u8]) {
    use tokio::io::AsyncReadExt;
    let mut reader = tio::bufread::UpcaseReader::new(black_box(input));
    while ready(reader.read(&mut buf[..CHUNK])).unwrap() > 0 {
        black_box(&buf);
    }
}

/// futures-io's `AsyncRead` through the `bufread` reader over the byte
/// slice (futures-io's `AsyncBufRead`).
fn drive_futures_bufreader(input: &[u8], buf: &mut [u8]) {
    use smol::io::AsyncReadExt;
    let mut reader = fio::bufread::UpcaseReader::new(black_box(input));
    while ready(reader.read(&mut buf[..CHUNK])).unwrap() > 0 {
        black_box(&buf);
    }
}

/// `std::io::Write` through `UpcaseWriter` into a sink.
fn drive_std_writer(input: &[u8]) {
    let mut writer = UpcaseWriter::new(std::io::sink());
    for chunk in input.chunks(CHUNK) {
        writer.write_all(black_box(chunk)).unwrap();
    }
    writer.finish().unwrap();
}

/// Tokio's `AsyncRead` through `upcase::io::tokio::UpcaseReader`.
fn drive_tokio_reader(input: &[u8], buf: &mut [u8]) {
    use tokio::io::AsyncReadExt;
    let mut reader = tio::UpcaseReader::new(black_box(input));
    while ready(reader.read(&mut buf[..CHUNK])).unwrap() > 0 {
        black_box(&buf);
    }
}

/// Tokio's `AsyncWrite` through `upcase::io::tokio::UpcaseWriter`.
fn drive_tokio_writer(input: &[u8]) {
    use tokio::io::AsyncWriteExt;
    let mut writer = tio::UpcaseWriter::new(tokio::io::sink());
    for chunk in input.chunks(CHUNK) {
        ready(writer.write_all(black_box(chunk))).unwrap();
    }
    ready(writer.shutdown()).unwrap();
}

/// futures-io's `AsyncRead` through `upcase::io::futures::UpcaseReader`
/// (the same shape as the Tokio driver, over the other crate's traits).
fn drive_futures_reader(input: &[u8], buf: &mut [u8]) {
    use smol::io::AsyncReadExt;
    let mut reader = fio::UpcaseReader::new(black_box(input));
    while ready(reader.read(&mut buf[..CHUNK])).unwrap() > 0 {
        black_box(&buf);
    }
}

/// futures-io's `AsyncWrite` through `upcase::io::futures::UpcaseWriter`.
fn drive_futures_writer(input: &[u8]) {
    use smol::io::AsyncWriteExt;
    let mut writer = fio::UpcaseWriter::new(smol::io::sink());
    for chunk in input.chunks(CHUNK) {
        ready(writer.write_all(black_box(chunk))).unwrap();
    }
    ready(writer.close()).unwrap();
}

/// `FramedRead` with `UpcaseDecoder`, reading 32 KiB at a time as the
/// `read_feed` baseline and the `read` readers do.
fn drive_framed_read(input: &[u8]) {
    let mut frames = FramedRead::with_capacity(black_box(input), UpcaseDecoder::new(), READ_BUF);
    while let Some(frame) = ready(frames.next()) {
        black_box(frame.unwrap());
    }
}

/// `UpcaseEncoder` into a `BytesMut`, a chunk at a time.
fn drive_encoder(input: &[u8], out: &mut BytesMut) {
    let mut encoder = UpcaseEncoder::new();
    for chunk in input.chunks(CHUNK) {
        out.clear();
        encoder.encode(black_box(chunk), out).unwrap();
        black_box(&out);
    }
    encoder.encode(Finish, out).unwrap();
}
