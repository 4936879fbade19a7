//! Feeds a file through `Codec::feed` in 32 KiB pieces (a server read),
//! ROUNDS times (default 1), and prints the bytes out: the workload
//! `benches/realtext/callgrind.sh` counts instructions of (the difference
//! between 2 rounds and 1 is the cost of one pass, without the start-up).
//! With `--time`, it also times each round and prints the median
//! throughput, for `benches/realtext/stringzilla.py --upcase`.
//!
//! `cargo run --release --example feed_file -- target/corpora/en.txt [ROUNDS] [--time]`

use std::time::Instant;

use bytes::BytesMut;
use upcase::{Codec, Config};

/// One server read.
const PIECE: usize = 32 * 1024;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let timed = args.iter().any(|a| a == "--time");
    args.retain(|a| a != "--time");
    let Some(path) = args.first() else {
        eprintln!("usage: feed_file FILE [ROUNDS] [--time]");
        std::process::exit(2);
    };
    let rounds: usize = match args.get(1).map(|r| r.parse()) {
        None => 1,
        Some(Ok(rounds)) => rounds,
        Some(Err(err)) => {
            eprintln!("ROUNDS: {err}");
            std::process::exit(2);
        }
    };
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(err) => {
            eprintln!("cannot read {path}: {err}");
            std::process::exit(1);
        }
    };
    let mut codec = Codec::new(Config::default());
    let mut out = BytesMut::with_capacity(codec.max_output_len(PIECE) + 64);
    let mut total = 0;
    let mut seconds = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        for piece in text.chunks(PIECE) {
            out.clear();
            if let Err(err) = codec.feed(piece, &mut out) {
                eprintln!("{err}");
                std::process::exit(1);
            }
            total += out.len();
        }
        seconds.push(start.elapsed().as_secs_f64());
    }
    println!(
        "{} bytes in, {total} bytes out ({})",
        text.len() * rounds,
        upcase::implementation()
    );
    if timed && rounds > 0 {
        seconds.sort_by(f64::total_cmp);
        let median = seconds[rounds / 2];
        println!("GB/s {:.3}", text.len() as f64 / median / 1e9);
    }
}
