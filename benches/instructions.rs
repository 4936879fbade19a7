//! One adapter (or `feed`) over 1 MiB of ASCII or mixed text, for counting
//! instructions with callgrind: timings mean little on a shared machine,
//! instruction counts do. `support/drivers.rs` has the drivers.
//!
//! ```sh
//! cargo bench --bench instructions --no-run   # prints the binary's path
//! valgrind --tool=callgrind --toggle-collect='*drivers::run*' \
//!     target/release/deps/instructions-HASH ascii std_writer
//! ```
//!
//! `instructions-HASH alternate ROUNDS REPS` times every driver instead,
//! alternated: each round runs each driver `REPS` times in turn, on ASCII
//! then mixed text, and the table gives each driver's median time per
//! 1 MiB over the rounds and its ratio to its baseline (`feed`, or
//! `read_feed` for the `read` readers and `FramedRead`; see
//! `adapters.rs`). Without arguments (as `cargo bench` runs it) it runs
//! every driver once.

use std::time::Instant;

#[path = "support/drivers.rs"]
mod drivers;

use drivers::{corpus, run, Buffers, MODES};

/// The baseline a driver is held to (see `adapters.rs`).
fn baseline(mode: &str) -> &'static str {
    match mode {
        "read_feed"
        | "std_reader"
        | "tokio_reader"
        | "futures_reader"
        | "framed_read"
        | "std_bufreader_bufreader" => "read_feed",
        _ => "feed",
    }
}

/// Every driver, alternated, `rounds` times `reps` runs; prints medians.
fn alternate(rounds: usize, reps: usize) {
    let mut buffers = Buffers::default();
    for name in ["ascii", "mixed"] {
        let input = corpus(name);
        let mut times = vec![Vec::with_capacity(rounds); MODES.len()];
        for _ in 0..rounds {
            for (mode, times) in MODES.iter().zip(&mut times) {
                let start = Instant::now();
                for _ in 0..reps {
                    run(mode, &input, &mut buffers);
                }
                times.push(start.elapsed().as_secs_f64() * 1e6 / reps as f64);
            }
        }
        let medians: Vec<f64> = times
            .iter_mut()
            .map(|times| {
                times.sort_by(f64::total_cmp);
                times[times.len() / 2]
            })
            .collect();
        let median_of = |mode: &str| medians[MODES.iter().position(|m| *m == mode).unwrap()];
        println!("{name}: median µs per 1 MiB over {rounds} rounds of {reps} runs");
        for (mode, median) in MODES.iter().zip(&medians) {
            let base = baseline(mode);
            println!(
                "  {mode:24} {median:9.1} µs  {:.3} × {base}",
                median / median_of(base)
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mut buffers = Buffers::default();
    match &args[..] {
        [alt, rounds, reps] if alt == "alternate" => {
            alternate(rounds.parse().unwrap(), reps.parse().unwrap())
        }
        [name, mode] => run(mode, &corpus(name), &mut buffers),
        _ => {
            for name in ["ascii", "mixed"] {
                let input = corpus(name);
                for mode in drivers::MODES {
                    run(mode, &input, &mut buffers);
                }
            }
            println!("ran {} drivers on ascii and mixed", MODES.len());
        }
    }
}
