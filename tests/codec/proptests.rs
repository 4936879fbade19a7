//! Property tests: any stream, any chunking, every config, against the
//! oracle. Failures persist under the top-level `proptest-regressions/`.

use proptest::prelude::*;

use proptest::test_runner::FileFailurePersistence;

use crate::strategies::{sizes, stream};
use crate::testkit::{drive, oracle, split_sizes, CONFIGS};

/// Seeds of failing cases, replayed first on every run (commit them).
const REGRESSIONS: &str = "proptest-regressions/codec/proptests.txt";

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..ProptestConfig::default()
    })]

    /// The law: chunked output and ending equal the one-shot oracle, for
    /// every config (including Reject's offset and bytes).
    #[test]
    fn chunked_equals_oracle(stream in stream(), sizes in sizes()) {
        let chunks = split_sizes(&stream, &sizes);
        for config in CONFIGS {
            let got = drive(config, chunks.iter().copied());
            prop_assert_eq!(got, oracle(config, &stream), "{:?} chunks {:02X?}", config, chunks);
        }
    }

    /// Any two chunkings of one stream give identical output.
    #[test]
    fn any_two_chunkings_agree(stream in stream(), a in sizes(), b in sizes()) {
        for config in CONFIGS {
            let one = drive(config, split_sizes(&stream, &a));
            let two = drive(config, split_sizes(&stream, &b));
            prop_assert_eq!(one, two, "{:?}", config);
        }
    }

    /// Unbiased random bytes, byte by byte against whole.
    #[test]
    fn random_bytes_byte_by_byte(stream in proptest::collection::vec(any::<u8>(), 0..64)) {
        for config in CONFIGS {
            let got = drive(config, stream.chunks(1));
            prop_assert_eq!(got, oracle(config, &stream), "{:?}", config);
        }
    }
}
