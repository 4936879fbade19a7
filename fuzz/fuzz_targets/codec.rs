//! `cargo +nightly fuzz run codec`: one stream, two chunkings, every call
//! checked against the contract, both results against the one-shot oracle
//! and against each other. See `upcase_fuzz::run_codec`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upcase_fuzz::{run_codec, CodecInput};

fuzz_target!(|input: CodecInput<'_>| run_codec(&input));
