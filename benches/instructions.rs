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
//! `instructions-HASH ascii std_writer 1000` runs one driver 1000 times,
//! for `perf stat` or `perf record`.
//!
//! `instructions-HASH alternate ROUNDS MS` times every driver instead,
//! alternated: each round runs each driver in turn for `MS` milliseconds,
//! on ASCII then mixed text, and the table gives each driver's median time per
//! 1 MiB over the rounds (the thread's CPU time, so waiting for a core on
//! a busy machine does not count, though cache and memory contention still
//! do; this clock may tick only every few ms, hence blocks of 500 ms or
//! more) and its ratio to its baseline (`feed`, or
//! `read_feed` for the `read` readers and `FramedRead`; see
//! `adapters.rs`). Without arguments (as `cargo bench` runs it) it runs
//! every driver once.

use std::time::{Duration, Instant};

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

/// Seconds this thread has run on a CPU (`CLOCK_THREAD_CPUTIME_ID`), so
/// that time spent waiting for a core on a shared machine does not count;
/// `None` where there is no such clock.
#[cfg(unix)]
fn on_cpu() -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec`, the one thing
    // `clock_gettime` writes to.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (status == 0).then(|| ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9)
}

#[cfg(not(unix))]
fn on_cpu() -> Option<f64> {
    None
}

/// Every driver, alternated, `rounds` times for `block` each; prints
/// medians.
fn alternate(rounds: usize, block: Duration) {
    let mut buffers = Buffers::default();
    for name in ["ascii", "mixed"] {
        let input = corpus(name);
        let mut times = vec![Vec::with_capacity(rounds); MODES.len()];
        let mut padded = vec![0; input.len() + 4096];
        for round in 0..rounds {
            // Each round moves the input to another offset within a page,
            // the same for every driver: whether a driver's buffers alias
            // the input modulo 4 KiB (a stall on x86) is then luck spread
            // evenly over the rounds, not one driver's fixed fortune.
            let offset = round * 1031 % 4096;
            padded[offset..offset + input.len()].copy_from_slice(&input);
            let input = &padded[offset..offset + input.len()];
            for (mode, times) in MODES.iter().zip(&mut times) {
                let (start, cpu_start) = (Instant::now(), on_cpu());
                let mut runs = 0;
                while start.elapsed() < block {
                    run(mode, input, &mut buffers);
                    runs += 1;
                }
                let elapsed = match (cpu_start, on_cpu()) {
                    (Some(start), Some(end)) => end - start,
                    _ => start.elapsed().as_secs_f64(),
                };
                times.push(elapsed * 1e6 / f64::from(runs));
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
        let clock = if on_cpu().is_some() { "on-CPU" } else { "wall" };
        println!(
            "{name}: median {clock} µs per 1 MiB over {rounds} rounds of {} ms",
            block.as_millis()
        );
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
        [alt, rounds, ms] if alt == "alternate" => alternate(
            rounds.parse().unwrap(),
            Duration::from_millis(ms.parse().unwrap()),
        ),
        [name, mode] => run(mode, &corpus(name), &mut buffers),
        [name, mode, times] => {
            let input = corpus(name);
            for _ in 0..times.parse::<usize>().unwrap() {
                run(mode, &input, &mut buffers);
            }
        }
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
