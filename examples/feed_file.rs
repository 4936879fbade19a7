//! Feeds a file through `Codec::feed` in 32 KiB pieces (a server read),
//! ROUNDS times (default 1), and prints the bytes out: the workload
//! `benches/realtext/callgrind.sh` counts instructions of (the difference
//! between 2 rounds and 1 is the cost of one pass, without the start-up).
//!
//! `cargo run --release --example feed_file -- target/corpora/en.txt [ROUNDS]`

use bytes::BytesMut;
use upcase::{Codec, Config};

/// One server read.
const PIECE: usize = 32 * 1024;

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: feed_file FILE [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = match std::env::args().nth(2).map(|r| r.parse()) {
        None => 1,
        Some(Ok(rounds)) => rounds,
        Some(Err(err)) => {
            eprintln!("ROUNDS: {err}");
            std::process::exit(2);
        }
    };
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(err) => {
            eprintln!("cannot read {}: {err}", path.to_string_lossy());
            std::process::exit(1);
        }
    };
    let mut codec = Codec::new(Config::default());
    let mut out = BytesMut::with_capacity(codec.max_output_len(PIECE) + 64);
    let mut total = 0;
    for piece in (0..rounds).flat_map(|_| text.chunks(PIECE)) {
        out.clear();
        if let Err(err) = codec.feed(piece, &mut out) {
            eprintln!("{err}");
            std::process::exit(1);
        }
        total += out.len();
    }
    println!(
        "{} bytes in, {total} bytes out ({})",
        text.len() * rounds,
        upcase::implementation()
    );
}
