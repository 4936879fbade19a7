//! `cargo +nightly fuzz run codec_slice`: the slice API (`feed_into`) with
//! tiny, changing output slices, every call checked, the output and ending
//! against the one-shot oracle. See `upcase_fuzz::run_slice`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upcase_fuzz::{run_slice, SliceInput};

fuzz_target!(|input: SliceInput<'_>| run_slice(&input));
