//! The codec's contract, checked through its public API against the one
//! std-only oracle (`upcase::oracle`): examples (`contract`), exhaustive
//! walks over every scalar value and byte pair (`exhaustive`), and property
//! tests over any stream and any chunking (`proptests`).

mod contract;
mod exhaustive;
mod proptests;
mod strategies;
mod testkit;
