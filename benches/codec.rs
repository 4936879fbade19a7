//! Codec throughput against std `to_uppercase` and a plain `memcpy`, per
//! corpus, all fed in 64 KiB reads as the server does.
//!
//! `cargo bench --bench codec` (add `-- --quick` for a fast pass). The
//! README's table comes from this, as ratios within one run.

use std::hint::black_box;
use std::time::Duration;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use upcase::{Casing, Codec, Config, InvalidUtf8};

const CORPUS_LEN: usize = 1 << 20;
const READ: usize = 64 * 1024;

const ASCII: &str =
    "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs!\n";
const WESTERN: &str =
    "Voilà l'été à Noël: déjà vu, café crème. Straße, Größe, Übermaß. Señor, año, coração, ação.\n";
const CYRILLIC_GREEK: &str =
    "Съешь же ещё этих мягких французских булок. Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.\n";
const CJK: &str =
    "日本語のテキストは大文字がありません。中文文本没有大小写。한국어 텍스트도 마찬가지입니다.\n";
const EMOJI: &str = "ok 😀🎉👍🏽 fine 🚀✨ ünïcödé 🧪🔥 done 🙂\n";
const MIXED: &str = "Hello мир, grüße 世界! Ξένος café — straße 東京 Москва ñandú.\n";

/// Repeats `sample` to about 1 MiB.
fn repeat(sample: &str) -> Vec<u8> {
    sample.repeat(CORPUS_LEN / sample.len() + 1).into_bytes()
}

/// Deterministic pseudo-random bytes (xorshift), mostly invalid UTF-8.
fn random_bytes() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..CORPUS_LEN)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn corpora() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("ascii", repeat(ASCII)),
        ("western", repeat(WESTERN)),
        ("cyrillic_greek", repeat(CYRILLIC_GREEK)),
        ("cjk", repeat(CJK)),
        ("emoji", repeat(EMOJI)),
        ("mixed", repeat(MIXED)),
        ("random_bytes", random_bytes()),
    ]
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("uppercase");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let config = Config::new(Casing::Unicode, InvalidUtf8::PassThrough);
    for (name, corpus) in corpora() {
        group.throughput(Throughput::Bytes(corpus.len() as u64));
        // Output buffers are reused across iterations, as a server would.
        let mut out = BytesMut::with_capacity(3 * corpus.len() + 16);
        group.bench_with_input(BenchmarkId::new("memcpy", name), &corpus, |b, corpus| {
            b.iter(|| {
                out.clear();
                for read in corpus.chunks(READ) {
                    out.extend_from_slice(black_box(read));
                }
                black_box(&out);
            })
        });
        group.bench_with_input(BenchmarkId::new("codec", name), &corpus, |b, corpus| {
            b.iter(|| {
                out.clear();
                let mut codec = Codec::new(config);
                for read in corpus.chunks(READ) {
                    codec.feed(black_box(read), &mut out).unwrap();
                }
                codec.finish(&mut out).unwrap();
                black_box(&out);
            })
        });
        group.bench_with_input(BenchmarkId::new("std", name), &corpus, |b, corpus| {
            // std has no streaming API: one shot over the whole corpus
            // (lossy first for the random bytes, which are not UTF-8).
            b.iter(|| match std::str::from_utf8(black_box(corpus)) {
                Ok(s) => black_box(s.to_uppercase()),
                Err(_) => black_box(String::from_utf8_lossy(corpus).to_uppercase()),
            })
        });
        let ascii = Codec::new(Config::new(Casing::Ascii, InvalidUtf8::PassThrough));
        if name == "ascii" {
            group.bench_with_input(
                BenchmarkId::new("codec_ascii_mode", name),
                &corpus,
                |b, corpus| {
                    b.iter(|| {
                        out.clear();
                        let mut codec = ascii.clone();
                        for read in corpus.chunks(READ) {
                            codec.feed(black_box(read), &mut out).unwrap();
                        }
                        black_box(&out);
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
