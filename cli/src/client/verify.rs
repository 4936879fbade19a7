//! `--verify`: run the same codec locally and check every reply byte.
//!
//! Whatever is sent is first fed to a local [`Codec`] with the
//! `--casing`/`--invalid` the user gave (they must match the server's), and
//! its output is queued as the expected reply. Every byte that arrives is
//! compared with the head of that queue. So memory holds only what is in
//! flight, and a difference is found at the byte where it happens.
//!
//! At the end there are three verdicts besides "correct":
//! * a byte differs, or the server sends more than the uppercase of the
//!   input: wrong (exit 9, naming the reply offset);
//! * the server closed cleanly but the reply is short: wrong (exit 9, the
//!   first missing offset);
//! * the local codec rejected the input (`--invalid reject` and ill-formed
//!   UTF-8) and everything received was right: rejected (exit 8), however
//!   the server ended the connection. Without `--verify` the same input
//!   gives 0 or 6 depending on timing; with it, always 8.

use std::collections::VecDeque;

use bytes::BytesMut;
use upcase::{Codec, CodecError, Config};

use super::failure::{bytes, Failure};

/// The expected reply, built from what was sent, checked against what came.
#[derive(Debug)]
pub(super) struct Verifier {
    codec: Codec,
    scratch: BytesMut,
    /// Expected reply bytes not received yet.
    expected: VecDeque<u8>,
    /// Reply bytes checked so far: the offset of the next one.
    checked: u64,
    /// The local codec refused the input here (reject policy).
    rejected: Option<CodecError>,
    /// The first wrong byte, once found (sticky).
    wrong: Option<String>,
}

impl Verifier {
    /// A verifier for a server configured as `config`.
    pub(super) fn new(config: Config) -> Self {
        Self {
            codec: Codec::new(config),
            scratch: BytesMut::new(),
            expected: VecDeque::new(),
            checked: 0,
            rejected: None,
            wrong: None,
        }
    }

    /// Call before sending `input`: queues its expected reply. (Before,
    /// not after: the reply cannot arrive ahead of its expectation.)
    pub(super) fn sent(&mut self, input: &[u8]) {
        if self.rejected.is_some() {
            return; // the server stops reading at the same byte
        }
        let result = self.codec.feed(input, &mut self.scratch);
        self.queue(result);
    }

    /// Call at the end of input (before half-closing): a sequence cut off
    /// by the end is replaced, passed or rejected, as the server does.
    pub(super) fn end_of_input(&mut self) {
        if self.rejected.is_none() {
            let result = self.codec.finish(&mut self.scratch);
            self.queue(result);
        }
    }

    fn queue(&mut self, result: Result<(), CodecError>) {
        self.expected.extend(self.scratch.iter());
        self.scratch.clear();
        if let Err(err) = result {
            self.rejected = Some(err);
        }
    }

    /// Checks reply bytes as they arrive. `Err` (exit 9) at the first wrong
    /// or extra byte; every later call returns the same.
    pub(super) fn received(&mut self, mut reply: &[u8]) -> Result<(), Failure> {
        if let Some(wrong) = &self.wrong {
            return Err(Failure::Mismatch(wrong.clone()));
        }
        while !reply.is_empty() {
            let (front, _) = self.expected.as_slices();
            if front.is_empty() {
                return Err(self.wrong(format!(
                    "--verify: the server sent more than the uppercase of the input: \
                     an extra byte 0x{:02X} at reply offset {}",
                    reply[0], self.checked
                )));
            }
            let n = front.len().min(reply.len());
            // The slice comparison is a memcmp; the byte search runs only
            // to name the offset of a difference.
            let differs = front[..n] != reply[..n];
            if let Some(at) = differs
                .then(|| front[..n].iter().zip(&reply[..n]).position(|(e, g)| e != g))
                .flatten()
            {
                let offset = self.checked + at as u64;
                return Err(self.wrong(format!(
                    "--verify: the reply is wrong at byte offset {offset}: \
                     got 0x{:02X}, expected 0x{:02X}",
                    reply[at], front[at]
                )));
            }
            self.expected.drain(..n);
            self.checked += n as u64;
            reply = &reply[n..];
        }
        Ok(())
    }

    fn wrong(&mut self, message: String) -> Failure {
        self.wrong = Some(message.clone());
        Failure::Mismatch(message)
    }

    /// The verdict once the connection has ended, given how it ended
    /// without `--verify` (`outcome`).
    ///
    /// A wrong byte (9) wins. Then a rejected input (8), whether the server
    /// closed cleanly, early or with a reset, since the reject is why. Then
    /// a clean end with a short reply (9). Other outcomes (early close,
    /// reset, timeout, I/O) keep their status and gain how much of the
    /// reply was verified.
    pub(super) fn verdict(&self, outcome: Result<(), Failure>) -> Result<(), Failure> {
        if let Some(wrong) = &self.wrong {
            return Err(Failure::Mismatch(wrong.clone()));
        }
        let missing = self.expected.len() as u64;
        if let Some(err) = &self.rejected {
            if matches!(
                outcome,
                Ok(()) | Err(Failure::ClosedEarly(_) | Failure::Reset(_))
            ) {
                let got = if missing == 0 {
                    format!("it answered all {} before it", bytes(self.checked))
                } else {
                    format!(
                        "it answered {} of the {} before it (the rest was lost when the \
                         connection ended)",
                        self.checked,
                        bytes(self.checked + missing)
                    )
                };
                return Err(Failure::Rejected(format!(
                    "--verify: the input is not valid UTF-8 and the server rejects it \
                     (--invalid reject): {err}; {got}, correctly"
                )));
            }
        }
        match outcome {
            Ok(()) if missing > 0 => Err(Failure::Mismatch(format!(
                "--verify: the reply is short: the server closed after {} of {}; \
                 the first missing byte is at reply offset {}",
                self.checked,
                bytes(self.checked + missing),
                self.checked
            ))),
            Ok(()) => Ok(()),
            Err(Failure::ClosedEarly(message)) => Err(Failure::ClosedEarly(self.annotate(message))),
            Err(Failure::Reset(message)) => Err(Failure::Reset(self.annotate(message))),
            Err(Failure::Timeout(message)) => Err(Failure::Timeout(self.annotate(message))),
            Err(other) => Err(other),
        }
    }

    fn annotate(&self, message: String) -> String {
        format!(
            "{message} (--verify: the {} received were correct)",
            bytes(self.checked)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upcase::{Casing, InvalidUtf8};

    fn verifier(invalid: InvalidUtf8) -> Verifier {
        Verifier::new(Config::new(Casing::Unicode, invalid))
    }

    #[test]
    fn a_correct_reply_in_any_split() {
        let mut v = verifier(InvalidUtf8::PassThrough);
        v.sent("stra".as_bytes());
        v.sent("ße\n".as_bytes());
        v.end_of_input();
        let reply = "STRASSE\n".as_bytes();
        for piece in reply.chunks(3) {
            v.received(piece).unwrap();
        }
        v.verdict(Ok(())).unwrap();
    }

    #[test]
    fn a_wrong_byte_names_its_offset() {
        let mut v = verifier(InvalidUtf8::PassThrough);
        v.sent(b"abcdef");
        v.received(b"ABC").unwrap();
        let err = v.received(b"DxF").unwrap_err();
        assert_eq!(err.code(), 9);
        assert!(err.to_string().contains("byte offset 4"), "{err}");
        // Sticky, and it wins over a clean end.
        assert_eq!(v.verdict(Ok(())).unwrap_err().code(), 9);
    }

    #[test]
    fn short_and_extra_replies() {
        let mut v = verifier(InvalidUtf8::PassThrough);
        v.sent(b"abc");
        v.end_of_input();
        v.received(b"AB").unwrap();
        let err = v.verdict(Ok(())).unwrap_err();
        assert_eq!(err.code(), 9);
        assert!(err.to_string().contains("reply offset 2"), "{err}");

        let mut v = verifier(InvalidUtf8::PassThrough);
        v.sent(b"ab");
        let err = v.received(b"ABC").unwrap_err();
        assert!(
            err.to_string()
                .contains("extra byte 0x43 at reply offset 2"),
            "{err}"
        );
    }

    #[test]
    fn a_rejected_input_is_8_however_the_connection_ended() {
        for outcome in [
            Ok(()),
            Err(Failure::ClosedEarly(String::new())),
            Err(Failure::Reset(String::new())),
        ] {
            let mut v = verifier(InvalidUtf8::Reject);
            v.sent(b"ok \xFF more");
            v.received(b"OK ").unwrap();
            let err = v.verdict(outcome).unwrap_err();
            assert_eq!(err.code(), 8, "{err}");
            assert!(err.to_string().contains("offset 3"), "{err}");
        }
    }
}
