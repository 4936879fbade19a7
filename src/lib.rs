//! # upcase
//!
//! The classic textbook TCP exercise — a client sends a sentence, the server
//! answers with it in capitals — done properly.
//!
//! The heart is [`Codec`], a sans-IO streaming uppercaser: it owns no socket,
//! no runtime and no clock. The caller owns the I/O and moves bytes through it:
//!
//! ```text
//!   bytes from anywhere          Codec                     bytes to anywhere
//!  (socket, file, stdin) ──▶ feed(chunk, &mut out) ──▶ out: BytesMut ──▶ (socket, stdout)
//!                                   │   ▲
//!        end of stream ──▶ finish(&mut out)   holds ≤ 3 bytes of a UTF-8
//!                                             sequence split across chunks
//! ```
//!
//! ## The contract
//!
//! Let `S` be the concatenation of every chunk ever fed. Whatever the
//! chunking — empty chunks, one byte at a time, a character split across three
//! reads, a thousand messages in one read — the concatenated output of every
//! `feed` and the final `finish` is:
//!
//! | [`Casing`] | [`InvalidUtf8`] | output |
//! |---|---|---|
//! | `Unicode` | `PassThrough` (default) | for each `Utf8Chunk` of `S`: `valid().to_uppercase()` then `invalid()` unchanged |
//! | `Unicode` | `Replace` | `String::from_utf8_lossy(S).to_uppercase()` |
//! | `Unicode` | `Reject` | the uppercase of the valid prefix, then [`CodecError::InvalidUtf8`] (or [`CodecError::TruncatedUtf8`] from `finish`) |
//! | `Ascii` | any | `S.to_ascii_uppercase()`, byte-identical to Python's `bytes.upper()` |
//!
//! * `feed` consumes all of its input. An incomplete sequence at the end of a
//!   chunk is never an error and never emitted early: it waits (at most 3
//!   bytes, [`Codec::pending_len`]) for the next chunk.
//! * One `feed` of `n` bytes appends at most [`Codec::max_output_len`]`(n)`
//!   bytes (3 × (n + 3) for Unicode), so callers can size buffers.
//! * Errors are typed, [`#[non_exhaustive]`](CodecError) and sticky; feeding
//!   after `finish` is [`CodecError::FedAfterFinish`]. Nothing panics on input.
//!
//! ```
//! use bytes::BytesMut;
//! use upcase::{Codec, Config, Casing, InvalidUtf8};
//!
//! let mut codec = Codec::new(Config::new(Casing::Unicode, InvalidUtf8::PassThrough));
//! let mut out = BytesMut::new();
//! // "straße ΐ" with the ß cut in half between two reads.
//! codec.feed(b"stra\xC3", &mut out).unwrap();
//! assert_eq!(codec.pending_len(), 1);
//! codec.feed("\u{9F}e \u{390}".as_bytes()[1..].as_ref(), &mut out).unwrap();
//! codec.finish(&mut out).unwrap();
//! assert_eq!(&out[..], "STRASSE \u{399}\u{308}\u{301}".as_bytes());
//! ```
//!
//! # Layout
//!
//! * `codec.rs` — [`Codec`], [`Config`], the state machine and policies.
//! * `utf8.rs` — one strict UTF-8 decoding step with maximal subparts.
//! * `case.rs` — ASCII and table-driven Unicode uppercasing (tables from `build.rs`).
//! * `block.rs` — the vectorised path: 64 bytes per step for the scripts
//!   whose characters keep their length when uppercased.
//! * `runs.rs` — tight loops over runs of 2-, 3- and 4-byte sequences.
//! * `sink.rs` — writing output straight into reserved buffer space.
//! * `error.rs` — [`CodecError`].
//! * `proxy.rs` — [`proxy::ProxyParser`], the sans-IO PROXY protocol (v1/v2) header
//!   parser that `upcase serve --proxy-protocol` puts in front of the codec.
//!
//! Built with `--no-default-features` the crate is `#![no_std]` + `alloc` and
//! holds only the codec. The default `server` feature adds the Tokio shell.
#![cfg_attr(not(any(feature = "std", test)), no_std)]
#![warn(missing_docs)]

mod block;
mod case;
mod codec;
mod error;
mod runs;
mod sink;
mod utf8;

pub use codec::{Casing, Codec, Config, InvalidUtf8};

pub mod proxy;

#[cfg(feature = "server")]
pub mod bench;
#[cfg(feature = "server")]
pub mod client;
#[cfg(feature = "server")]
pub mod pipe;
#[cfg(feature = "server")]
pub mod server;
pub use error::{CodecError, InvalidSequence};
