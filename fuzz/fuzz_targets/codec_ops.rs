//! `cargo +nightly fuzz run codec_ops`: one codec driven through an
//! arbitrary sequence of feed / finish / feed-after-finish / inspect / clone,
//! every call checked against the state machine's contract. See
//! `upcase_fuzz::run_ops`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upcase_fuzz::{run_ops, OpsInput};

fuzz_target!(|input: OpsInput<'_>| run_ops(&input));
