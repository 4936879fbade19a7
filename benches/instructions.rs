//! One adapter (or `feed`) over 1 MiB of ASCII or mixed text, once, for
//! counting instructions with callgrind: timings mean little on a shared
//! machine, instruction counts do. `support/drivers.rs` has the drivers.
//!
//! ```sh
//! cargo bench --bench instructions --no-run   # prints the binary's path
//! valgrind --tool=callgrind --toggle-collect='*drivers::run*' \
//!     target/release/deps/instructions-HASH ascii std_writer
//! ```
//!
//! Without arguments (as `cargo bench` runs it) it runs every driver once.

#[path = "support/drivers.rs"]
mod drivers;

use drivers::{corpus, run, Buffers, MODES};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mut buffers = Buffers::default();
    match &args[..] {
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
