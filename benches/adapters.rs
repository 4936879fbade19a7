//! Each I/O adapter against raw `Codec::feed`, on 1 MiB of ASCII and of
//! mixed text, in 64 KiB reads or writes, over in-memory streams, so only
//! the adapter's own cost shows (`support/drivers.rs`).
//!
//! `cargo bench --bench adapters` (add `-- --quick` for a fast pass). The
//! target: every adapter within 5 % of `feed` on the same input. The
//! readers copy their input out of the slice (as `Read` does), which
//! `feed` does not; `instructions.rs` counts instructions instead.

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
