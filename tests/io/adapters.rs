//! Every adapter (the `read` and `bufread` readers, the writers, the
//! tokio-util pair) against the oracle: any stream, any split of the input,
//! any read-buffer sizes from 1 byte, and an inner stream that returns
//! `Pending` (or `Interrupted`) and short reads and writes at random.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use futures_util::{SinkExt, Stream};
use proptest::prelude::*;
use tokio_util::codec::{Encoder, FramedRead, FramedWrite};

use upcase::io::tokio_util::{Finish, UpcaseDecoder, UpcaseEncoder};
use upcase::io::{bufread, futures as fio, tokio as tio, UpcaseReader, UpcaseWriter};
use upcase::{CodecError, Config};

use crate::double::Chaos;
use crate::slice::out_sizes;
use crate::strategies::{sizes, stream};
use crate::testkit::{oracle, split_sizes, Expected, CONFIGS};

const REGRESSIONS: &str = "proptest-regressions/io/adapters.txt";

type Outcome = (Vec<u8>, Result<(), Expected>);

/// One poll of a writer, for the async drivers.
type PollWith<'a, W> = dyn FnMut(Pin<&mut W>, &mut Context<'_>) -> Poll<io::Result<usize>> + 'a;

/// The async writer over the test double: the same type for Tokio and
/// futures-io.
type AsyncWriter = tio::UpcaseWriter<Chaos>;

/// A runtime's `poll_write` for [`AsyncWriter`].
type PollWrite = fn(Pin<&mut AsyncWriter>, &mut Context<'_>, &[u8]) -> Poll<io::Result<usize>>;

/// A runtime's `poll_flush`, `poll_shutdown` or `poll_close` for
/// [`AsyncWriter`].
type PollEnd = fn(Pin<&mut AsyncWriter>, &mut Context<'_>) -> Poll<io::Result<()>>;

/// The inner stream's script: mostly short reads and writes, some
/// `Pending`/`Interrupted` (0), a few long ones.
fn script() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![2 => Just(0u8), 4 => 1..8u8, 2 => 8..=255u8],
        1..12,
    )
    .prop_map(|mut script| {
        script.push(1); // always some progress
        script
    })
}

/// The `CodecError` behind an adapter's `io::Error`: kind `InvalidData`,
/// the error as source, its offset in the message.
fn codec_error(err: &io::Error) -> Expected {
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    let codec = err
        .get_ref()
        .and_then(|source| source.downcast_ref::<CodecError>())
        .expect("the CodecError is the source");
    let expected = Expected::of(codec);
    let offset = expected.offset().expect("a stream error names an offset");
    assert!(
        err.to_string().contains(&format!("offset {offset}")),
        "{err}"
    );
    expected
}

/// Reads to the end through `read` with buffers of `sizes` (cycled),
/// retrying `Interrupted`; checks that the end and an error are sticky.
fn read_all(mut read: impl FnMut(&mut [u8]) -> io::Result<usize>, sizes: &[usize]) -> Outcome {
    let mut got = Vec::new();
    let mut sizes = sizes.iter().cycle();
    for _ in 0..10_000_000 {
        let mut buf = vec![0xA5; *sizes.next().unwrap()];
        match read(&mut buf) {
            Ok(0) => {
                assert_eq!(read(&mut [0; 16]).unwrap(), 0, "reads after the end");
                return (got, Ok(()));
            }
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => {
                let expected = codec_error(&err);
                assert_eq!(
                    codec_error(&read(&mut [0; 16]).unwrap_err()),
                    expected,
                    "not sticky"
                );
                return (got, Err(expected));
            }
        }
    }
    panic!("the reader never ended");
}

/// Writes `chunks` through `write` (taking partial writes as they come,
/// retrying `Interrupted`), flushing after every `flush_every`-th chunk,
/// then finishes through `finish`. Returns how it ended.
fn write_all(
    chunks: &[&[u8]],
    mut write: impl FnMut(&[u8]) -> io::Result<usize>,
    mut flush: impl FnMut() -> io::Result<()>,
    flush_every: usize,
    mut finish: impl FnMut() -> io::Result<()>,
) -> Result<(), Expected> {
    let retry = |result: io::Result<()>| match result {
        Err(err) if err.kind() == io::ErrorKind::Interrupted => None,
        other => Some(other),
    };
    for (i, chunk) in chunks.iter().enumerate() {
        let mut rest = *chunk;
        while !rest.is_empty() {
            match write(rest) {
                Ok(n) => {
                    assert!(n > 0 && n <= rest.len(), "wrote {n} of {}", rest.len());
                    rest = &rest[n..];
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    let expected = codec_error(&err);
                    // Sticky at the end too.
                    let end = loop {
                        if let Some(end) = retry(finish()) {
                            break end;
                        }
                    };
                    assert_eq!(codec_error(&end.unwrap_err()), expected);
                    return Err(expected);
                }
            }
        }
        if flush_every > 0 && i % flush_every == 0 {
            loop {
                match flush() {
                    Ok(()) => break,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(err) => panic!("flush failed: {err}"),
                }
            }
        }
    }
    loop {
        if let Some(end) = retry(finish()) {
            return end.map_err(|err| codec_error(&err));
        }
    }
}

/// Polls `poll` to readiness, as an executor whose task is woken at once.
fn ready<T>(mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>) -> T {
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(value) = poll(&mut cx) {
            return value;
        }
    }
    panic!("never ready");
}

fn std_reader(config: Config, stream: &[u8], script: &[u8], reads: &[usize]) -> Outcome {
    let mut reader = UpcaseReader::with_config(Chaos::reader(stream, script), config);
    read_all(|buf| reader.read(buf), reads)
}

fn std_writer(config: Config, chunks: &[&[u8]], script: &[u8], flush_every: usize) -> Outcome {
    let writer = std::cell::RefCell::new(UpcaseWriter::with_config(Chaos::writer(script), config));
    let end = write_all(
        chunks,
        |buf| writer.borrow_mut().write(buf),
        || writer.borrow_mut().flush(),
        flush_every,
        || writer.borrow_mut().try_finish(),
    );
    let data = writer.borrow().get_ref().data.clone();
    (data, end)
}

/// Reads all of a Tokio `AsyncRead` in reads of `reads` sizes.
fn tokio_read_all(mut reader: impl tokio::io::AsyncRead + Unpin, reads: &[usize]) -> Outcome {
    use tokio::io::ReadBuf;
    read_all(
        |buf| {
            let mut buf = ReadBuf::new(buf);
            ready(|cx| Pin::new(&mut reader).poll_read(cx, &mut buf))?;
            Ok(buf.filled().len())
        },
        reads,
    )
}

/// Reads all of a futures-io `AsyncRead` in reads of `reads` sizes.
fn futures_read_all(mut reader: impl futures_io::AsyncRead + Unpin, reads: &[usize]) -> Outcome {
    read_all(
        |buf| ready(|cx| Pin::new(&mut reader).poll_read(cx, buf)),
        reads,
    )
}

fn tokio_reader(config: Config, stream: &[u8], script: &[u8], reads: &[usize]) -> Outcome {
    let reader = tio::UpcaseReader::with_config(Chaos::reader(stream, script), config);
    tokio_read_all(reader, reads)
}

/// The std `bufread` reader over a `BufReader` of `capacity` bytes around
/// the chaotic reader: its buffer holds what one short read gave.
fn std_bufreader(
    config: Config,
    stream: &[u8],
    script: &[u8],
    capacity: usize,
    reads: &[usize],
) -> Outcome {
    let inner = std::io::BufReader::with_capacity(capacity, Chaos::reader(stream, script));
    let mut reader = bufread::UpcaseReader::with_config(inner, config);
    read_all(|buf| reader.read(buf), reads)
}

/// The std `bufread` reader straight over the byte slice (`fill_buf` gives
/// all the rest at once). After every read, the slice has been consumed by
/// exactly the bytes the codec took (its position).
fn std_bufreader_slice(config: Config, stream: &[u8], reads: &[usize]) -> Outcome {
    let mut reader = bufread::UpcaseReader::with_config(stream, config);
    read_all(
        |buf| {
            let n = reader.read(buf);
            let consumed = stream.len() - reader.get_ref().len();
            assert_eq!(consumed as u64, reader.codec().position(), "consumed");
            n
        },
        reads,
    )
}

/// Tokio's `bufread` reader over `tokio::io::BufReader` (`capacity`
/// bytes) around the chaotic reader.
fn tokio_bufreader(
    config: Config,
    stream: &[u8],
    script: &[u8],
    capacity: usize,
    reads: &[usize],
) -> Outcome {
    let inner = tokio::io::BufReader::with_capacity(capacity, Chaos::reader(stream, script));
    tokio_read_all(
        tio::bufread::UpcaseReader::with_config(inner, config),
        reads,
    )
}

/// futures-io's `bufread` reader over smol's `BufReader` (`capacity`
/// bytes) around the chaotic reader.
fn futures_bufreader(
    config: Config,
    stream: &[u8],
    script: &[u8],
    capacity: usize,
    reads: &[usize],
) -> Outcome {
    let inner = smol::io::BufReader::with_capacity(capacity, Chaos::reader(stream, script));
    futures_read_all(
        fio::bufread::UpcaseReader::with_config(inner, config),
        reads,
    )
}

/// Capacities of the inner `BufReader`: mostly tiny, some large.
fn capacities() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 1..8usize, 2 => 8..100usize, 1 => 100..5000usize]
}

/// A runtime's writing polls for [`AsyncWriter`]: `poll_write`,
/// `poll_flush`, and the one that ends the stream.
struct Polls {
    write: PollWrite,
    flush: PollEnd,
    end: PollEnd,
}

const TOKIO: Polls = {
    use tokio::io::AsyncWrite;
    Polls {
        write: AsyncWriter::poll_write,
        flush: AsyncWriter::poll_flush,
        end: AsyncWriter::poll_shutdown,
    }
};

const FUTURES: Polls = {
    use futures_io::AsyncWrite;
    Polls {
        write: AsyncWriter::poll_write,
        flush: AsyncWriter::poll_flush,
        end: AsyncWriter::poll_close,
    }
};

/// The async writer (one type for both runtimes) driven through one
/// runtime's trait (`TOKIO` or `FUTURES`).
fn async_writer(
    polls: Polls,
    config: Config,
    chunks: &[&[u8]],
    script: &[u8],
    flush_every: usize,
) -> Outcome {
    let Polls { write, flush, end } = polls;
    let writer = std::cell::RefCell::new(tio::UpcaseWriter::with_config(
        Chaos::writer(script),
        config,
    ));
    let poll =
        |f: &mut PollWith<AsyncWriter>| ready(|cx| f(Pin::new(&mut *writer.borrow_mut()), cx));
    let end = write_all(
        chunks,
        |buf| poll(&mut |w, cx| write(w, cx, buf)),
        || poll(&mut |w, cx| flush(w, cx).map_ok(|()| 0)).map(drop),
        flush_every,
        || poll(&mut |w, cx| end(w, cx).map_ok(|()| 0)).map(drop),
    );
    let inner = writer.borrow();
    assert_eq!(
        inner.get_ref().closed,
        end.is_ok(),
        "ended only when finished"
    );
    (inner.get_ref().data.clone(), end)
}

fn futures_reader(config: Config, stream: &[u8], script: &[u8], reads: &[usize]) -> Outcome {
    let reader = fio::UpcaseReader::with_config(Chaos::reader(stream, script), config);
    futures_read_all(reader, reads)
}

/// `FramedRead` with the decoder over the chaotic reader.
fn framed_read(config: Config, stream: &[u8], script: &[u8]) -> Outcome {
    let mut frames = FramedRead::new(
        Chaos::reader(stream, script),
        UpcaseDecoder::with_config(config),
    );
    let mut got = Vec::new();
    loop {
        match ready(|cx| Pin::new(&mut frames).poll_next(cx)) {
            None => return (got, Ok(())),
            Some(Ok(frame)) => {
                assert!(!frame.is_empty(), "empty frame");
                got.extend_from_slice(&frame);
            }
            Some(Err(err)) => return (got, Err(codec_error(&err))),
        }
    }
}

/// The encoder on its own: each chunk an item, then `Finish`.
fn encoder(config: Config, chunks: &[&[u8]]) -> Outcome {
    let mut encoder = UpcaseEncoder::with_config(config);
    let mut out = BytesMut::new();
    for chunk in chunks {
        if let Err(err) = encoder.encode(*chunk, &mut out) {
            return (out.to_vec(), Err(codec_error(&err)));
        }
    }
    let end = encoder
        .encode(Finish, &mut out)
        .map_err(|err| codec_error(&err));
    (out.to_vec(), end)
}

proptest! {
    #![proptest_config(crate::persisted(300, REGRESSIONS))]

    #[test]
    fn readers_equal_oracle(stream in stream(), script in script(), capacity in capacities(), reads in out_sizes()) {
        for config in CONFIGS {
            let want = oracle(config, &stream);
            prop_assert_eq!(std_reader(config, &stream, &script, &reads), want.clone(), "std {:?}", config);
            prop_assert_eq!(tokio_reader(config, &stream, &script, &reads), want.clone(), "tokio {:?}", config);
            prop_assert_eq!(futures_reader(config, &stream, &script, &reads), want.clone(), "futures {:?}", config);
            prop_assert_eq!(framed_read(config, &stream, &script), want.clone(), "FramedRead {:?}", config);
            prop_assert_eq!(std_bufreader(config, &stream, &script, capacity, &reads), want.clone(), "std bufread {:?}", config);
            prop_assert_eq!(std_bufreader_slice(config, &stream, &reads), want.clone(), "std bufread over a slice {:?}", config);
            prop_assert_eq!(tokio_bufreader(config, &stream, &script, capacity, &reads), want.clone(), "tokio bufread {:?}", config);
            prop_assert_eq!(futures_bufreader(config, &stream, &script, capacity, &reads), want, "futures bufread {:?}", config);
        }
    }

    #[test]
    fn writers_equal_oracle(stream in stream(), sizes in sizes(), script in script(), flush_every in 0..4usize) {
        let chunks = split_sizes(&stream, &sizes);
        for config in CONFIGS {
            let want = oracle(config, &stream);
            prop_assert_eq!(std_writer(config, &chunks, &script, flush_every), want.clone(), "std {:?}", config);
            prop_assert_eq!(async_writer(TOKIO, config, &chunks, &script, flush_every), want.clone(), "tokio {:?}", config);
            prop_assert_eq!(async_writer(FUTURES, config, &chunks, &script, flush_every), want.clone(), "futures {:?}", config);
            prop_assert_eq!(encoder(config, &chunks), want, "encoder {:?}", config);
        }
    }
}

/// Sizes around the writers' structure: the 32 KiB piece, the 64 KiB
/// write of the server and `upcase pipe`, a piece's output room (98,377
/// bytes) and the whole buffer (twice that).
const AROUND_PIECES: [usize; 10] = [
    1, 32_767, 32_768, 32_769, 65_536, 65_537, 98_376, 98_378, 196_754, 300_000,
];

/// Streams of up to ~10 pieces: a small stream repeated to `len` bytes
/// (cut anywhere, even inside a character), with another small stream
/// (often ill-formed) spliced in somewhere, so a reject can come pieces in.
fn big_stream() -> impl Strategy<Value = Vec<u8>> {
    let unit = stream().prop_filter("a unit to repeat", |unit| !unit.is_empty());
    (
        unit,
        1_000..330_000usize,
        any::<prop::sample::Index>(),
        stream(),
    )
        .prop_map(|(unit, len, at, splice)| {
            let mut big: Vec<u8> = unit.iter().cycle().take(len).copied().collect();
            let at = at.index(big.len() + 1);
            big.splice(at..at, splice);
            big
        })
}

/// Write sizes from `AROUND_PIECES`.
fn big_writes() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(prop::sample::select(&AROUND_PIECES[..]), 1..6)
}

proptest! {
    #![proptest_config(crate::persisted(12, REGRESSIONS))]

    /// The writers over many pieces, in writes around the piece and buffer
    /// sizes; the readers in reads around the codec's direct-write
    /// threshold and the piece sizes.
    #[test]
    fn big_streams_equal_oracle(
        stream in big_stream(),
        sizes in big_writes(),
        reads in proptest::collection::vec(prop::sample::select(&[1usize, 75, 76, 77, 4096, 65_536, 98_441][..]), 1..6),
        script in script(),
    ) {
        let chunks = split_sizes(&stream, &sizes);
        for config in CONFIGS {
            let want = oracle(config, &stream);
            prop_assert_eq!(std_writer(config, &chunks, &script, 0), want.clone(), "std writer {:?}", config);
            prop_assert_eq!(async_writer(TOKIO, config, &chunks, &script, 3), want.clone(), "tokio writer {:?}", config);
            prop_assert_eq!(async_writer(FUTURES, config, &chunks, &script, 1), want.clone(), "futures writer {:?}", config);
            prop_assert_eq!(std_reader(config, &stream, &script, &reads), want.clone(), "std reader {:?}", config);
            prop_assert_eq!(tokio_reader(config, &stream, &script, &reads), want.clone(), "tokio reader {:?}", config);
            prop_assert_eq!(std_bufreader(config, &stream, &script, 8192, &reads), want.clone(), "std bufread reader {:?}", config);
            prop_assert_eq!(std_bufreader_slice(config, &stream, &reads), want.clone(), "std bufread reader over a slice {:?}", config);
            prop_assert_eq!(futures_bufreader(config, &stream, &script, 65_536, &reads), want, "futures bufread reader {:?}", config);
        }
    }
}

/// `FramedWrite` with the encoder, through a real executor: items, then
/// `Finish`, which passes the cut-off tail through.
#[test]
fn framed_write_finishes_the_tail() {
    let items: [&[u8]; 3] = [b"stra", "\u{df}e \u{390}".as_bytes(), b"\xF0\x9F"];
    let data = smol::block_on(async {
        let mut sink = FramedWrite::new(Chaos::writer(&[0, 3, 1]), UpcaseEncoder::new());
        for item in items {
            sink.send(item).await.unwrap();
        }
        sink.send(Finish).await.unwrap();
        SinkExt::<Finish>::close(&mut sink).await.unwrap();
        sink.into_inner().data
    });
    assert_eq!(data, oracle(Config::default(), &items.concat()).0);
}

/// Dropping the std writer without `finish` writes the rest anyway.
#[test]
fn std_writer_drop_finishes() {
    let mut out = Vec::new();
    {
        let mut writer = UpcaseWriter::new(&mut out);
        writer.write_all(b"stra\xC3").unwrap();
    }
    assert_eq!(out, b"STRA\xC3");
}

/// `flush` writes everything but a held incomplete sequence.
#[test]
fn std_writer_flush_holds_only_a_split_sequence() {
    let mut writer = UpcaseWriter::new(Vec::new());
    writer.write_all("ab\u{df}\u{390}".as_bytes()).unwrap();
    writer.write_all(b"\xE6\x97").unwrap(); // 日 cut short
    writer.flush().unwrap();
    assert_eq!(writer.get_ref(), "ABSS\u{399}\u{308}\u{301}".as_bytes());
    writer.write_all(b"\xA5").unwrap();
    assert_eq!(
        writer.finish().unwrap(),
        "ABSS\u{399}\u{308}\u{301}\u{65E5}".as_bytes()
    );
}

/// A stream longer than the adapters' buffers (32 KiB in, 192 KiB out):
/// every adapter crosses their boundaries, with small and large reads.
#[test]
fn long_stream_crosses_buffer_boundaries() {
    let sample = "Hello мир, grüße 世界! Ξένος café — straße ΐ 😀 \u{390}\u{149}.\n";
    let stream = sample.repeat(200_000 / sample.len()).into_bytes();
    let chunks = split_sizes(&stream, &[70_000, 1, 5000]);
    let script = [255, 0, 7, 255, 255];
    for config in CONFIGS {
        let want = oracle(config, &stream);
        assert_eq!(std_reader(config, &stream, &script, &[40_000, 3]), want);
        assert_eq!(tokio_reader(config, &stream, &script, &[1, 100_000]), want);
        assert_eq!(futures_reader(config, &stream, &script, &[65_536]), want);
        assert_eq!(framed_read(config, &stream, &script), want);
        assert_eq!(
            std_bufreader(config, &stream, &script, 8192, &[40_000, 3]),
            want
        );
        assert_eq!(std_bufreader_slice(config, &stream, &[65_536, 1]), want);
        assert_eq!(
            tokio_bufreader(config, &stream, &script, 100, &[1, 100_000]),
            want
        );
        assert_eq!(
            futures_bufreader(config, &stream, &script, 65_536, &[65_536]),
            want
        );
        assert_eq!(std_writer(config, &chunks, &script, 1), want);
        assert_eq!(async_writer(TOKIO, config, &chunks, &script, 0), want);
        assert_eq!(async_writer(FUTURES, config, &chunks, &script, 2), want);
        assert_eq!(encoder(config, &chunks), want);
    }
}
