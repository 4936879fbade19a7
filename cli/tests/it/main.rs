//! The integration tests of the `upcase` binary and the `upcase_cli` library, one
//! module per area, compiled as one test binary (one link, one `common`).
//! Run one area with `cargo test -p upcase-cli --test it server_torture`.

mod common;

mod bench_modes;
mod bench_wrong;
mod cli_help;
mod client_errors;
mod client_interactive;
mod client_streaming;
mod client_verify;
mod hostile;
mod ops_haproxy;
mod ops_limits;
mod ops_metrics;
mod ops_proxy;
mod pipe_filter;
mod server_conversation;
mod server_faults;
mod server_lifecycle;
mod server_memory;
mod server_torture;
mod tls;
