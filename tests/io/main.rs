//! The slice API (`Codec::feed_into`) and the I/O adapters, checked against
//! the one std-only oracle (`upcase::oracle`): any stream, any split of the
//! input, any output and read-buffer sizes from 1 byte, and for the async
//! adapters an inner stream that returns `Pending` and short reads and
//! writes at random. Failures persist under `proptest-regressions/io/`.

use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};

mod adapters;
mod double;
mod slice;

// The codec tests' streams and splitting helpers, shared by path.
#[path = "../codec/strategies.rs"]
mod strategies;
#[allow(dead_code)]
#[path = "../codec/testkit.rs"]
mod testkit;

/// `cases` cases per property, failures persisted in `regressions` (a
/// path under `proptest-regressions/io/`, committed).
fn persisted(cases: u32, regressions: &'static str) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..ProptestConfig::default()
    }
}
