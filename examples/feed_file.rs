//! Feeds a file through `Codec::feed` in 32 KiB pieces (a server read), once,
//! and prints the bytes out: the workload `benches/realtext/callgrind.sh`
//! counts instructions of.
//!
//! `cargo run --release --example feed_file -- /work/corpora/en.txt`

use bytes::BytesMut;
use upcase::{Codec, Config};

/// One server read.
const PIECE: usize = 32 * 1024;

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: feed_file FILE");
        std::process::exit(2);
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
    for piece in text.chunks(PIECE) {
        out.clear();
        if let Err(err) = codec.feed(piece, &mut out) {
            eprintln!("{err}");
            std::process::exit(1);
        }
        total += out.len();
    }
    println!("{} bytes in, {total} bytes out", text.len());
}
