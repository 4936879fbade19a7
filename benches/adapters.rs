//! Each I/O adapter against its baseline, on 1 MiB of ASCII and of mixed
//! text, in 64 KiB reads or writes, over in-memory streams, so only the
//! adapter's own cost shows (`support/drivers.rs`).
//!
//! `cargo bench --bench adapters` (add `-- --quick` for a fast pass). Two
//! baselines, and the target is every adapter within 5 % of its own:
//!
//! - `feed` (raw `Codec::feed`) for `feed_into`, the writers, the encoder
//!   and the `bufread` readers: they take their input where it lies.
//! - `read_feed` (a hand-written loop: `Read::read` into a 32 KiB buffer,
//!   then `feed`) for the `read` readers and `FramedRead`: any reader over
//!   a `Read` must first copy its input out of the source, which `feed`
//!   does not, so they are held to the same I/O done by hand.
//!
//! `std_bufreader_bufreader` (a `bufread` reader over a 64 KiB std
//! `BufReader`) makes that copy too, so it compares with `read_feed`.
//! `instructions.rs` counts instructions with callgrind instead.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

#[path = "support/drivers.rs"]
mod drivers;

use drivers::{corpus, run, Buffers, MODES};

fn adapters(c: &mut Criterion) {
    let mut group = c.benchmark_group("adapters");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let mut buffers = Buffers::default();
    for name in ["ascii", "mixed"] {
        let input = corpus(name);
        group.throughput(Throughput::Bytes(input.len() as u64));
        for mode in MODES {
            group.bench_with_input(BenchmarkId::new(mode, name), &input[..], |b, input| {
                b.iter(|| run(mode, input, &mut buffers))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, adapters);
criterion_main!(benches);
