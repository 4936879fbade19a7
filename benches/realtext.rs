//! Codec throughput on real text, per language, against std `to_uppercase`
//! and a plain `memcpy` of the same 32 KiB pieces (a server read), with the
//! ratios the codec is judged by.
//!
//! Build the corpora first (`benches/realtext/build-corpora.sh`, one
//! `<lang>.txt` per language), then:
//!
//! ```sh
//! cargo bench --bench realtext                        # target/corpora
//! UPCASE_CORPORA=/path/to/corpora cargo bench --bench realtext -- --quick
//! ```
//!
//! After criterion's own figures it prints a Markdown table of the three
//! per corpus, measured alternately in one run (medians of 15 rounds, each
//! timing as many passes as fill 20 ms), so the ratios hold even when the
//! machine's speed drifts. `--bench NONE` (a filter no benchmark matches)
//! prints the table alone. Each piece's output goes into one reused
//! buffer, for the codec and memcpy alike, as a server's does. Corpora that do
//! not exist are skipped with a message. `UPCASE_FORCE_IMPLEMENTATION`
//! picks the codec's dispatch level.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput};
use upcase::{Codec, Config};

/// One server read.
const PIECE: usize = 32 * 1024;

/// The languages `build-corpora.sh` builds, in its order.
const LANGS: [&str; 17] = [
    "en", "de", "fr", "pl", "cs", "ru", "uk", "el", "zh", "ja", "ko", "hi", "ar", "he", "tr", "vi",
    "hy",
];

/// The corpora that exist, as (language, text).
fn corpora() -> Vec<(&'static str, Vec<u8>)> {
    let dir = std::env::var_os("UPCASE_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/corpora"));
    let mut found = Vec::new();
    for lang in LANGS {
        let path = dir.join(format!("{lang}.txt"));
        match std::fs::read(&path) {
            Ok(text) => found.push((lang, text)),
            Err(err) => eprintln!("skipping {lang}: {}: {err}", path.display()),
        }
    }
    if found.is_empty() {
        eprintln!(
            "no corpora in {}: run benches/realtext/build-corpora.sh {0}",
            dir.display()
        );
    }
    found
}

/// `text` through the codec in pieces, each piece's output into `out`
/// (emptied first, as a server writes out each read's output before the
/// next: the output stays in cache, the input streams in).
fn codec(text: &[u8], out: &mut BytesMut) {
    let mut codec = Codec::new(Config::default());
    for piece in text.chunks(PIECE) {
        out.clear();
        codec.feed(black_box(piece), out).unwrap();
        black_box(&out);
    }
    out.clear();
    codec.finish(out).unwrap();
    black_box(&out);
}

/// `text` copied in pieces, each into `out` as `codec` does: the ceiling.
fn memcpy(text: &[u8], out: &mut BytesMut) {
    for piece in text.chunks(PIECE) {
        out.clear();
        out.extend_from_slice(black_box(piece));
        black_box(&out);
    }
}

/// std, which has no streaming API: one shot over the whole text (lossy
/// first if it is not UTF-8).
fn std_upper(text: &[u8]) {
    match std::str::from_utf8(black_box(text)) {
        Ok(s) => black_box(s.to_uppercase()),
        Err(_) => black_box(String::from_utf8_lossy(text).to_uppercase()),
    };
}

fn bench(c: &mut Criterion, corpora: &[(&str, Vec<u8>)]) {
    let mut group = c.benchmark_group("realtext");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for (lang, text) in corpora {
        group.throughput(Throughput::Bytes(text.len() as u64));
        let mut out = BytesMut::with_capacity(Codec::default().max_output_len(PIECE) + 64);
        group.bench_with_input(BenchmarkId::new("memcpy", lang), text, |b, text| {
            b.iter(|| memcpy(text, &mut out))
        });
        group.bench_with_input(BenchmarkId::new("codec", lang), text, |b, text| {
            b.iter(|| codec(text, &mut out))
        });
        group.bench_with_input(BenchmarkId::new("std", lang), text, |b, text| {
            b.iter(|| std_upper(text))
        });
    }
    group.finish();
}

/// The median of `samples` seconds.
/// Seconds per run of `pass`, over as many runs as fill 20 ms (a single
/// pass over a corpus can take under a millisecond, too short to time
/// alone on a shared machine).
fn seconds_per_pass(mut pass: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut runs = 0;
    while runs == 0 || start.elapsed() < Duration::from_millis(20) {
        pass();
        runs += 1;
    }
    start.elapsed().as_secs_f64() / f64::from(runs)
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Codec, std and memcpy per corpus, alternated round by round: GB/s
/// (medians) and the ratios.
fn ratio_table(corpora: &[(&str, Vec<u8>)]) {
    const ROUNDS: usize = 15;
    println!("\n| text | codec GB/s | x std | x memcpy | std GB/s | memcpy GB/s |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (lang, text) in corpora {
        let mut out = BytesMut::with_capacity(Codec::default().max_output_len(PIECE) + 64);
        let (mut c, mut s, mut m) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            c.push(seconds_per_pass(|| codec(text, &mut out)));
            m.push(seconds_per_pass(|| memcpy(text, &mut out)));
            s.push(seconds_per_pass(|| std_upper(text)));
        }
        let gbps = |secs: f64| text.len() as f64 / secs / 1e9;
        let (c, s, m) = (median(&mut c), median(&mut s), median(&mut m));
        println!(
            "| {lang} | {:.2} | {:.1} | {:.2} | {:.2} | {:.1} |",
            gbps(c),
            s / c,
            m / c,
            gbps(s),
            gbps(m)
        );
    }
    println!("\n(codec level: {})", upcase::implementation());
}

fn main() {
    let corpora = corpora();
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion, &corpora);
    criterion.final_summary();
    if !corpora.is_empty() {
        ratio_table(&corpora);
    }
}
