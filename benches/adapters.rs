//! Each I/O adapter against raw `Codec::feed`, on 1 MiB of ASCII and of
//! mixed text, in 64 KiB reads or writes, over in-memory streams (a byte
//! slice in, a discarding sink out), so only the adapter's own cost shows.
//! The async adapters are polled by hand with a no-op waker: the in-memory
//! streams are always ready.
//!
//! `cargo bench --bench adapters` (add `-- --quick` for a fast pass). The
//! target: every adapter within 5 % of `feed` on the same input.

use std::future::Future;
use std::hint::black_box;
use std::io::{Read, Write};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures_util::StreamExt;
use tokio_util::codec::{Encoder, FramedRead};
use upcase::io::tokio_util::{Finish, UpcaseDecoder, UpcaseEncoder};
use upcase::io::{futures as fio, tokio as tio, UpcaseReader, UpcaseWriter};
use upcase::{Codec, CoderResult};

const CORPUS_LEN: usize = 1 << 20;
const CHUNK: usize = 64 * 1024;

const ASCII: &str =
    "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs!\n";
const MIXED: &str = "Hello мир, grüße 世界! Ξένος café — straße 東京 Москва ñandú.\n";

fn corpus(sample: &str) -> Vec<u8> {
    let mut bytes = sample.repeat(CORPUS_LEN / sample.len() + 1).into_bytes();
    // Cut at a character boundary.
    let mut len = CORPUS_LEN;
    while !sample.is_char_boundary(len % sample.len()) {
        len -= 1;
    }
    bytes.truncate(len);
    bytes
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

fn adapters(c: &mut Criterion) {
    let mut group = c.benchmark_group("adapters");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, corpus) in [("ascii", corpus(ASCII)), ("mixed", corpus(MIXED))] {
        group.throughput(Throughput::Bytes(corpus.len() as u64));
        let input = &corpus[..];
        let mut out = BytesMut::with_capacity(3 * CHUNK + 1024);
        let mut buf = vec![0u8; 3 * CHUNK + 1024];

        group.bench_with_input(BenchmarkId::new("feed", name), input, |b, input| {
            b.iter(|| {
                let mut codec = Codec::default();
                for chunk in input.chunks(CHUNK) {
                    out.clear();
                    codec.feed(black_box(chunk), &mut out).unwrap();
                    black_box(&out);
                }
                codec.finish(&mut out).unwrap();
            })
        });
        group.bench_with_input(BenchmarkId::new("feed_into", name), input, |b, input| {
            b.iter(|| {
                let mut codec = Codec::default();
                let mut rest = input;
                loop {
                    let (result, read, written) = codec.feed_into(black_box(rest), &mut buf, true);
                    black_box(&buf[..written]);
                    rest = &rest[read..];
                    if result.unwrap() == CoderResult::InputEmpty {
                        break;
                    }
                }
            })
        });
        group.bench_with_input(BenchmarkId::new("std_reader", name), input, |b, input| {
            b.iter(|| {
                let mut reader = UpcaseReader::new(black_box(input));
                while reader.read(&mut buf[..CHUNK]).unwrap() > 0 {
                    black_box(&buf);
                }
            })
        });
        group.bench_with_input(BenchmarkId::new("std_writer", name), input, |b, input| {
            b.iter(|| {
                let mut writer = UpcaseWriter::new(std::io::sink());
                for chunk in input.chunks(CHUNK) {
                    writer.write_all(black_box(chunk)).unwrap();
                }
                writer.finish().unwrap();
            })
        });
        group.bench_with_input(BenchmarkId::new("tokio_reader", name), input, |b, input| {
            use tokio::io::AsyncReadExt;
            b.iter(|| {
                let mut reader = tio::UpcaseReader::new(black_box(input));
                while ready(reader.read(&mut buf[..CHUNK])).unwrap() > 0 {
                    black_box(&buf);
                }
            })
        });
        group.bench_with_input(BenchmarkId::new("tokio_writer", name), input, |b, input| {
            use tokio::io::AsyncWriteExt;
            b.iter(|| {
                let mut writer = tio::UpcaseWriter::new(tokio::io::sink());
                for chunk in input.chunks(CHUNK) {
                    ready(writer.write_all(black_box(chunk))).unwrap();
                }
                ready(writer.shutdown()).unwrap();
            })
        });
        group.bench_with_input(
            BenchmarkId::new("futures_reader", name),
            input,
            |b, input| {
                use smol::io::AsyncReadExt;
                b.iter(|| {
                    let mut reader = fio::UpcaseReader::new(black_box(input));
                    while ready(reader.read(&mut buf[..CHUNK])).unwrap() > 0 {
                        black_box(&buf);
                    }
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("futures_writer", name),
            input,
            |b, input| {
                use smol::io::AsyncWriteExt;
                b.iter(|| {
                    let mut writer = fio::UpcaseWriter::new(smol::io::sink());
                    for chunk in input.chunks(CHUNK) {
                        ready(writer.write_all(black_box(chunk))).unwrap();
                    }
                    ready(writer.close()).unwrap();
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("framed_read", name), input, |b, input| {
            b.iter(|| {
                let mut frames =
                    FramedRead::with_capacity(black_box(input), UpcaseDecoder::new(), CHUNK);
                while let Some(frame) = ready(frames.next()) {
                    black_box(frame.unwrap());
                }
            })
        });
        group.bench_with_input(BenchmarkId::new("encoder", name), input, |b, input| {
            b.iter(|| {
                let mut encoder = UpcaseEncoder::new();
                for chunk in input.chunks(CHUNK) {
                    out.clear();
                    encoder.encode(black_box(chunk), &mut out).unwrap();
                    black_box(&out);
                }
                encoder.encode(Finish, &mut out).unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, adapters);
criterion_main!(benches);
