//! The Tokio shell around the [`upcase`] codec: everything the `upcase`
//! binary does, one module per subcommand.
//!
//! * [`server`] — `upcase serve`: the uppercasing TCP server (limits,
//!   timeouts, PROXY protocol, metrics, graceful drain).
//! * [`client`] — `upcase client`: interactive on a terminal, streaming in a pipe.
//! * [`pipe`] — `upcase pipe`: the codec as a stdin → stdout filter.
//! * [`bench`] — `upcase bench`: a load generator that verifies every reply byte.
//! * [`log`] — the non-blocking, never-panicking log writer of the binary.
//! * [`args`] — flag types the subcommands share, and the duration parser.
//! * [`tls`] — certificates, keys and rustls configurations for all of them.
//!
//! The protocol work is all in the core crate; this one only moves bytes
//! between sockets, files and the codec.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

pub mod args;
pub mod bench;
pub mod client;
pub mod log;
pub mod pipe;
pub mod server;
pub mod tls;
