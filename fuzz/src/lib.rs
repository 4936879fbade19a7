//! Shared pieces of upcase's fuzz targets: the fuzzer-chosen inputs and
//! [`Checked`], a
//! [`Codec`] wrapper that checks the crate's documented contract after every
//! call against the core's std-only oracle (`upcase::oracle`, independent
//! of the codec) and panics with a readable report on the first deviation.
//!
//! The targets in `fuzz_targets/` are thin: `codec` drives two chunkings of
//! one stream and compares them with [`one_shot`]; `codec_ops` drives one
//! codec through an arbitrary sequence of [`Op`]s; `codec_slice` drives
//! the slice API with tiny output slices ([`run_slice`]).

use std::fmt::{self, Write as _};

use arbitrary::Arbitrary;
use bytes::BytesMut;
use upcase::oracle::{
    diff, max_output_len as documented_max_output_len, step, uppercase as one_shot,
    Expected as ExpectedError, Lit, Step,
};
use upcase::{Casing, Codec, CodecError, CoderResult, Config, InvalidUtf8};

pub mod seeds;

/// The codec's piece size ([`Codec::PIECE_LEN`]). A `feed` longer than this
/// is processed piece by piece; with libFuzzer's default 4 KiB input limit
/// only [`CodecInput::lead_in`] reaches it.
pub const CODEC_PIECE: usize = Codec::PIECE_LEN;

// ---------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------

/// [`Casing`], for the fuzzer to choose.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasingChoice {
    /// [`Casing::Unicode`]
    Unicode,
    /// [`Casing::Ascii`]
    Ascii,
}

/// [`InvalidUtf8`], for the fuzzer to choose.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyChoice {
    /// [`InvalidUtf8::PassThrough`]
    PassThrough,
    /// [`InvalidUtf8::Replace`]
    Replace,
    /// [`InvalidUtf8::Reject`]
    Reject,
}

/// A [`Config`], for the fuzzer to choose.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigChoice {
    /// The case mapping.
    pub casing: CasingChoice,
    /// The invalid-UTF-8 policy.
    pub invalid: PolicyChoice,
}

impl ConfigChoice {
    /// The codec configuration this stands for.
    pub fn config(self) -> Config {
        let casing = match self.casing {
            CasingChoice::Unicode => Casing::Unicode,
            CasingChoice::Ascii => Casing::Ascii,
        };
        let invalid = match self.invalid {
            PolicyChoice::PassThrough => InvalidUtf8::PassThrough,
            PolicyChoice::Replace => InvalidUtf8::Replace,
            PolicyChoice::Reject => InvalidUtf8::Reject,
        };
        Config::new(casing, invalid)
    }
}

/// The `codec` target's input: a configuration, one stream and two ways of
/// cutting it into `feed` calls.
///
/// `stream` is last and borrows the rest of the fuzzer's bytes unchanged, so
/// dictionary entries and seed bytes land in the stream as they are.
#[derive(Arbitrary, Clone, PartialEq, Eq)]
pub struct CodecInput<'a> {
    /// The codec configuration.
    pub config: ConfigChoice,
    /// `0..=247`: nothing. `248..=255`: prefix the stream with
    /// `CODEC_PIECE - 4 + (lead_in - 248)` bytes of `a` (32764 to 32771), fed
    /// as part of the first chunk, so that the codec's internal 32 KiB piece
    /// boundary falls on or next to the stream's first sequence. Rare on
    /// purpose: such inputs cost a hundred small ones.
    pub lead_in: u8,
    /// Chunk sizes of the first chunking (0 = an empty `feed`); whatever
    /// they leave over is fed as one last chunk.
    pub chunks_a: Vec<u8>,
    /// Chunk sizes of the second chunking, same rules.
    pub chunks_b: Vec<u8>,
    /// The stream's bytes (after the lead-in, if any).
    pub stream: &'a [u8],
}

impl CodecInput<'_> {
    /// Length of the `a` lead-in, 0 if none.
    pub fn lead_in_len(&self) -> usize {
        match self.lead_in {
            0..=247 => 0,
            n => CODEC_PIECE - 4 + usize::from(n - 248),
        }
    }

    /// The whole stream `S`: lead-in and stream bytes.
    pub fn full_stream(&self) -> Vec<u8> {
        let mut s = vec![b'a'; self.lead_in_len()];
        s.extend_from_slice(self.stream);
        s
    }
}

/// Shown by `cargo fuzz fmt` and in failure reports: the stream as a Rust
/// byte-string literal, ready to paste into a regression test.
impl fmt::Debug for CodecInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodecInput")
            .field("config", &self.config.config())
            .field("lead_in_len", &self.lead_in_len())
            .field("chunks_a", &self.chunks_a)
            .field("chunks_b", &self.chunks_b)
            .field("stream", &Lit(self.stream))
            .finish()
    }
}

/// Cuts `s` by `sizes` (clamped to what is left, 0 = empty chunk), then one
/// chunk with the rest if any. The first `lead_in` bytes of `s` belong to the
/// first chunk on top of its size.
pub fn cut<'s>(s: &'s [u8], lead_in: usize, sizes: &[u8]) -> Vec<&'s [u8]> {
    let mut chunks = Vec::with_capacity(sizes.len() + 1);
    let mut at = 0;
    for (i, &size) in sizes.iter().enumerate() {
        let extra = if i == 0 { lead_in } else { 0 };
        let end = (at + extra + usize::from(size)).min(s.len());
        chunks.push(&s[at..end]);
        at = end;
    }
    if at < s.len() || chunks.is_empty() {
        chunks.push(&s[at..]);
    }
    chunks
}

/// Where a `codec_ops` operation's output goes.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutBuf {
    /// The buffer every earlier `Shared` call appended to.
    Shared,
    /// A new, empty `BytesMut` without capacity.
    Fresh,
    /// A new `BytesMut` with this much capacity.
    WithCapacity(u16),
    /// A new `BytesMut` already holding this many bytes, which must survive.
    Prefilled(u8),
}

/// One operation of the `codec_ops` target.
#[derive(Arbitrary, Clone, PartialEq, Eq)]
pub enum Op<'a> {
    /// `feed(bytes, out)`; after `finish` this is the feed-after-finish case.
    Feed {
        /// The chunk.
        bytes: &'a [u8],
        /// The output buffer.
        out: OutBuf,
    },
    /// `finish(out)`; also the second and later `finish`.
    Finish {
        /// The output buffer.
        out: OutBuf,
    },
    /// Check `pending_len`, `position`, `is_finished`, `config` and
    /// `max_output_len(input_len)` against the model without changing state.
    Inspect {
        /// The argument for `max_output_len`.
        input_len: usize,
    },
    /// Replace the codec by a clone of itself (held bytes and all).
    Clone,
}

impl fmt::Debug for Op<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Feed { bytes, out } => write!(f, "Feed({}, {out:?})", Lit(bytes)),
            Op::Finish { out } => write!(f, "Finish({out:?})"),
            Op::Inspect { input_len } => write!(f, "Inspect(max_output_len({input_len}))"),
            Op::Clone => f.write_str("Clone"),
        }
    }
}

/// The `codec_ops` target's input.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct OpsInput<'a> {
    /// The codec configuration.
    pub config: ConfigChoice,
    /// What to do with it, in order.
    pub ops: Vec<Op<'a>>,
}

// ---------------------------------------------------------------------------
// The checked codec
// ---------------------------------------------------------------------------

/// The last bytes of an output buffer before a call, which it must not touch.
struct Guard {
    bytes: [u8; 8],
    len: usize,
}

impl Guard {
    fn new(out: &BytesMut) -> Self {
        let len = out.len().min(8);
        let mut bytes = [0; 8];
        bytes[..len].copy_from_slice(&out[out.len() - len..]);
        Self { bytes, len }
    }
}

/// One call on a [`Checked`] codec, for reports.
#[derive(Debug, Clone)]
enum Call {
    /// The chunk is `Checked::log[range]`.
    Feed(std::ops::Range<usize>, Result<(), CodecError>),
    Finish(Result<(), CodecError>),
    Inspect(usize),
    Clone,
}

impl Call {
    fn describe(&self, log: &[u8]) -> String {
        match self {
            Call::Feed(range, result) => {
                format!("feed({}) -> {result:?}", Lit(&log[range.clone()]))
            }
            Call::Finish(result) => format!("finish() -> {result:?}"),
            Call::Inspect(n) => format!("inspect: max_output_len({n}) and the getters"),
            Call::Clone => "codec = codec.clone()".to_string(),
        }
    }
}

/// The model's view of the codec's state.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Open,
    Finished,
    Failed(CodecError),
}

/// A [`Codec`] plus a model of what it must do, checked after every call.
///
/// Every deviation from the contract in the crate docs panics with a report
/// that names the call, the configuration, every earlier call and a diff.
pub struct Checked {
    codec: Codec,
    config: Config,
    label: &'static str,
    /// Every byte fed while the stream was open (the failing feed included).
    fed: Vec<u8>,
    /// Every byte appended, in order.
    out: Vec<u8>,
    /// `fed[..decided]` is decided; `fed[decided..]` is what the codec holds.
    decided: usize,
    state: State,
    /// The first error any call returned (`FedAfterFinish` aside).
    first_error: Option<CodecError>,
    /// Every call, for reports.
    calls: Vec<Call>,
    /// Every chunk ever passed to `feed`, refused ones included.
    log: Vec<u8>,
}

impl Checked {
    /// A fresh codec with `config`; `label` names it in reports.
    pub fn new(config: Config, label: &'static str) -> Self {
        Self {
            codec: Codec::new(config),
            config,
            label,
            fed: Vec::new(),
            out: Vec::new(),
            decided: 0,
            state: State::Open,
            first_error: None,
            calls: Vec::new(),
            log: Vec::new(),
        }
    }

    /// Everything the codec has appended so far.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// The first error returned by `feed` or `finish`, `FedAfterFinish` aside.
    pub fn first_error(&self) -> Option<&CodecError> {
        self.first_error.as_ref()
    }

    /// The stream fed while open (the failing feed included).
    pub fn fed(&self) -> &[u8] {
        &self.fed
    }

    /// Panics with a report unless `ok`.
    #[track_caller]
    fn ensure(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.fail(&what());
        }
    }

    /// Panics with a report: what went wrong, and how we got here.
    #[track_caller]
    pub fn fail(&self, what: &str) -> ! {
        let mut report = String::new();
        let _ = writeln!(
            report,
            "\n=== upcase codec contract violated ({}) ===",
            self.label
        );
        let _ = writeln!(report, "{what}");
        let _ = writeln!(report, "config: {:?}", self.config);
        let _ = writeln!(report, "stream fed while open: {}", Lit(&self.fed));
        let _ = writeln!(report, "calls ({}):", self.calls.len());
        let skip = self.calls.len().saturating_sub(40);
        if skip > 0 {
            let _ = writeln!(report, "  ... {skip} earlier calls ...");
        }
        for (i, call) in self.calls.iter().enumerate().skip(skip) {
            let here = if i + 1 == self.calls.len() {
                "   <- here"
            } else {
                ""
            };
            let _ = writeln!(report, "  {}{here}", call.describe(&self.log));
        }
        panic!("{report}");
    }

    /// Checks the bound and that bytes before `before` were left alone.
    fn check_append(&self, call: &str, out: &BytesMut, before: usize, guard: &Guard, bound: usize) {
        let guard = &guard.bytes[..guard.len];
        self.ensure(out.len() >= before, || {
            format!(
                "{call}: output buffer shrank from {before} to {} bytes",
                out.len()
            )
        });
        self.ensure(&out[before - guard.len()..before] == guard, || {
            format!("{call}: bytes already in the output buffer were changed")
        });
        let appended = out.len() - before;
        self.ensure(appended <= bound, || {
            format!("{call}: appended {appended} bytes, more than the documented bound {bound}")
        });
    }

    /// `feed(chunk, out)`, checked. Returns what the codec returned.
    pub fn feed(&mut self, chunk: &[u8], out: &mut BytesMut) -> Result<(), CodecError> {
        let call = "feed";
        let before = out.len();
        let guard = Guard::new(out);
        let position = self.codec.position();
        let pending = self.codec.pending_len();
        let result = self.codec.feed(chunk, out);
        let at = self.log.len();
        self.log.extend_from_slice(chunk);
        self.calls
            .push(Call::Feed(at..self.log.len(), result.clone()));
        let bound = documented_max_output_len(self.config, chunk.len());
        self.check_append(call, out, before, &guard, bound);
        let out_start = self.out.len();
        self.out.extend_from_slice(&out[before..]);
        let appended = &self.out[out_start..];

        // A closed codec refuses, appends nothing and changes nothing.
        let refusal = match &self.state {
            State::Open => None,
            State::Finished => Some(CodecError::FedAfterFinish),
            State::Failed(err) => Some(err.clone()),
        };
        if let Some(expected) = refusal {
            self.ensure(result.as_ref() == Err(&expected), || {
                format!("{call}: a closed codec returned {result:?}, expected Err({expected:?}) (sticky)")
            });
            self.ensure(appended.is_empty(), || {
                format!("{call}: a closed codec appended {}", Lit(appended))
            });
            self.ensure(
                self.codec.position() == position && self.codec.pending_len() == pending,
                || format!("{call}: a refused feed changed position/pending_len"),
            );
            self.check_flags();
            return result;
        }

        self.fed.extend_from_slice(chunk);
        let expected = match self.config.casing {
            Casing::Ascii => Step {
                out: chunk.to_ascii_uppercase(),
                consumed: self.fed.len() - self.decided,
                error: None,
            },
            _ => step(
                self.config.invalid,
                &self.fed[self.decided..],
                self.decided as u64,
                false,
            ),
        };
        self.check_step(call, false, &result, out_start, &expected);
        if result.is_ok() {
            self.ensure(self.codec.position() == self.fed.len() as u64, || {
                format!(
                    "{call}: position() is {}, but {} bytes were fed",
                    self.codec.position(),
                    self.fed.len()
                )
            });
        }
        result
    }

    /// `finish(out)`, checked. Returns what the codec returned.
    pub fn finish(&mut self, out: &mut BytesMut) -> Result<(), CodecError> {
        let call = "finish";
        let before = out.len();
        let guard = Guard::new(out);
        let result = self.codec.finish(out);
        self.calls.push(Call::Finish(result.clone()));
        let bound = documented_max_output_len(self.config, 0);
        self.check_append(call, out, before, &guard, bound);
        let out_start = self.out.len();
        self.out.extend_from_slice(&out[before..]);
        let appended = &self.out[out_start..];

        match self.state.clone() {
            State::Finished => {
                // Idempotent, even after a refused feed-after-finish.
                self.ensure(result.is_ok() && appended.is_empty(), || {
                    format!(
                        "{call}: finish after finish returned {result:?} and appended {}; expected Ok and nothing",
                        Lit(appended)
                    )
                });
            }
            State::Failed(err) => {
                self.ensure(result.as_ref() == Err(&err) && appended.is_empty(), || {
                    format!(
                        "{call}: after Err({err:?}) finish returned {result:?} and appended {}; expected the same error and nothing (sticky)",
                        Lit(appended)
                    )
                });
            }
            State::Open => {
                let expected = match self.config.casing {
                    Casing::Ascii => Step::default(),
                    _ => step(
                        self.config.invalid,
                        &self.fed[self.decided..],
                        self.decided as u64,
                        true,
                    ),
                };
                self.check_step(call, true, &result, out_start, &expected);
            }
        }
        self.check_flags();
        result
    }

    /// Compares one open call with the incremental oracle, updates the model.
    fn check_step(
        &mut self,
        call: &str,
        end_of_stream: bool,
        result: &Result<(), CodecError>,
        out_start: usize,
        expected: &Step,
    ) {
        let appended = &self.out[out_start..];
        let got_error = result.as_ref().err().map(ExpectedError::of);
        self.ensure(got_error == expected.error, || {
            format!(
                "{call}: returned {result:?}, expected {}",
                match &expected.error {
                    None => "Ok(())".to_string(),
                    Some(e) => format!("Err({e:?})"),
                }
            )
        });
        self.ensure(appended == expected.out, || {
            format!(
                "{call}: wrong output for undecided input {} (stream offset {})\n{}",
                Lit(&self.fed[self.decided..]),
                self.decided,
                diff(&expected.out, appended)
            )
        });
        match result {
            Ok(()) if end_of_stream => {
                self.decided = self.fed.len();
                self.state = State::Finished;
            }
            Ok(()) => self.decided += expected.consumed,
            Err(err) => {
                self.first_error.get_or_insert_with(|| err.clone());
                self.state = State::Failed(err.clone());
            }
        }
        self.check_flags();
    }

    /// `pending_len`, `is_finished` and `config` against the model.
    fn check_flags(&self) {
        let pending = self.codec.pending_len();
        self.ensure(pending <= 3, || {
            format!("pending_len() is {pending}, more than 3")
        });
        if self.config.casing == Casing::Ascii {
            self.ensure(pending == 0, || {
                format!("pending_len() is {pending} under Casing::Ascii")
            });
        }
        if self.state == State::Open {
            let held = self.fed.len() - self.decided;
            self.ensure(pending == held, || {
                format!(
                    "pending_len() is {pending}, but the undecided tail is {}",
                    Lit(&self.fed[self.decided..])
                )
            });
        }
        let finished = self.state == State::Finished;
        if finished {
            self.ensure(pending == 0, || {
                format!("pending_len() is {pending} after a successful finish")
            });
        }
        self.ensure(self.codec.is_finished() == finished, || {
            format!(
                "is_finished() is {}, expected {finished} (state {:?})",
                self.codec.is_finished(),
                self.state
            )
        });
        self.ensure(self.codec.config() == self.config, || {
            format!("config() changed to {:?}", self.codec.config())
        });
    }

    /// Read-only accessors, including the documented `max_output_len` formula.
    pub fn inspect(&mut self, input_len: usize) {
        self.calls.push(Call::Inspect(input_len));
        self.check_flags();
        if self.state == State::Open {
            self.ensure(self.codec.position() == self.fed.len() as u64, || {
                format!(
                    "position() is {}, but {} bytes were fed",
                    self.codec.position(),
                    self.fed.len()
                )
            });
        }
        let expected = documented_max_output_len(self.config, input_len);
        let got = self.codec.max_output_len(input_len);
        self.ensure(got == expected, || {
            format!("max_output_len({input_len}) is {got}, the docs say {expected}")
        });
    }

    /// Replaces the codec by a clone of itself.
    pub fn clone_codec(&mut self) {
        self.calls.push(Call::Clone);
        self.codec = self.codec.clone();
        self.check_flags();
    }
}

// ---------------------------------------------------------------------------
// The targets' bodies (also run over the seeds by `cargo test`)
// ---------------------------------------------------------------------------

/// The `codec` target: two chunkings of one stream, each checked call by
/// call, then compared with the one-shot oracle and with each other.
pub fn run_codec(input: &CodecInput<'_>) {
    let config = input.config.config();
    let s = input.full_stream();
    let lead = input.lead_in_len();

    // Chunking A appends to one growing buffer; B gives each call a fresh one.
    let mut a = Checked::new(config, "chunking A");
    let mut shared = BytesMut::new();
    for chunk in cut(&s, lead, &input.chunks_a) {
        let _ = a.feed(chunk, &mut shared);
    }
    let mut b = Checked::new(config, "chunking B");
    for chunk in cut(&s, lead, &input.chunks_b) {
        let _ = b.feed(chunk, &mut BytesMut::new());
    }
    for c in [&mut a, &mut b] {
        // finish, finish again, feed after finish, finish once more: the
        // checker knows what each must return.
        let _ = c.finish(&mut BytesMut::new());
        let _ = c.finish(&mut BytesMut::new());
        let _ = c.feed(b"late", &mut BytesMut::new());
        let _ = c.feed(b"", &mut BytesMut::new());
        let _ = c.finish(&mut BytesMut::new());
    }
    if shared[..] != a.output()[..shared.len()] {
        a.fail("the shared output buffer does not hold what the calls appended");
    }

    let (want, want_result) = one_shot(config, &s);
    for c in [&a, &b] {
        let got_result = c.first_error().map(ExpectedError::of).map_or(Ok(()), Err);
        if got_result != want_result {
            c.fail(&format!(
                "one-shot oracle: result {got_result:?}, expected {want_result:?}"
            ));
        }
        if c.output() != want {
            c.fail(&format!(
                "one-shot oracle: output differs\n{}",
                diff(&want, c.output())
            ));
        }
    }
    if a.output() != b.output() {
        a.fail(&format!(
            "chunkings A {:?} and B {:?} disagree\n{}",
            input.chunks_a,
            input.chunks_b,
            diff(a.output(), b.output())
        ));
    }
}

/// The `codec_ops` target: one codec, arbitrary operations.
pub fn run_ops(input: &OpsInput<'_>) {
    let mut c = Checked::new(input.config.config(), "codec_ops");
    let mut shared = BytesMut::new();
    for op in &input.ops {
        match *op {
            Op::Feed { bytes, out } => {
                with_out(out, &mut shared, |buf| drop(c.feed(bytes, buf)));
            }
            Op::Finish { out } => {
                with_out(out, &mut shared, |buf| drop(c.finish(buf)));
            }
            Op::Inspect { input_len } => c.inspect(input_len),
            Op::Clone => c.clone_codec(),
        }
    }
    c.inspect(0);
}

fn with_out(which: OutBuf, shared: &mut BytesMut, f: impl FnOnce(&mut BytesMut)) {
    match which {
        OutBuf::Shared => f(shared),
        OutBuf::Fresh => f(&mut BytesMut::new()),
        OutBuf::WithCapacity(n) => f(&mut BytesMut::with_capacity(usize::from(n))),
        OutBuf::Prefilled(n) => {
            let prefix = vec![0xEE; usize::from(n)];
            let mut buf = BytesMut::from(&prefix[..]);
            f(&mut buf);
            assert!(
                buf.starts_with(&prefix),
                "codec overwrote a prefilled buffer"
            );
        }
    }
}

#[cfg(test)]
mod tests;

// ---------------------------------------------------------------------------
// codec_slice: the slice API with tiny, changing output slices
// ---------------------------------------------------------------------------

/// The `codec_slice` target's input: one stream, a split of it, and the
/// sizes of the output slices handed to `feed_into` in turn.
#[derive(Arbitrary, Clone, PartialEq, Eq)]
pub struct SliceInput<'a> {
    /// The codec configuration.
    pub config: ConfigChoice,
    /// Input chunk sizes, as for [`cut`] (0 = an empty call).
    pub chunks: Vec<u8>,
    /// Output slice sizes, cycled: see [`SliceInput::out_len`].
    pub outs: Vec<u8>,
    /// The stream's bytes.
    pub stream: &'a [u8],
}

impl SliceInput<'_> {
    /// The `i`-th output slice's size: `0..=191` are 1 to 16 bytes (around
    /// the 12 bytes one input byte can make), `192..=255` up to ~1 KiB,
    /// through the staged and direct paths' boundary at 76 bytes.
    pub fn out_len(&self, i: usize) -> usize {
        match self
            .outs
            .get(i % self.outs.len().max(1))
            .copied()
            .unwrap_or(1)
        {
            b @ 0..=191 => usize::from(b % 16) + 1,
            b => usize::from(b - 192) * 16 + 60,
        }
    }
}

impl fmt::Debug for SliceInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SliceInput")
            .field("config", &self.config.config())
            .field("chunks", &self.chunks)
            .field("outs", &self.outs)
            .field("stream", &Lit(self.stream))
            .finish()
    }
}

/// Drives `feed_into` over the chunks with output slices of the chosen
/// sizes (filled with garbage first), the last chunk with `last`; checks
/// every call (`read`/`written` within bounds, at most 12 bytes kept,
/// progress, `InputEmpty` only with the input all read, nothing after an
/// error, the error sticky) and the whole against the one-shot oracle.
pub fn run_slice(input: &SliceInput<'_>) {
    let config = input.config.config();
    let fail = |msg: &str| -> ! { panic!("codec_slice: {msg}\n{input:?}") };
    let chunks = cut(input.stream, 0, &input.chunks);
    let mut codec = Codec::new(config);
    let mut got = Vec::new();
    let mut result = Ok(());
    let mut call = 0;
    let mut buf = [0u8; 4096 + 64];
    'chunks: for (i, &chunk) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        let mut rest = chunk;
        let mut idle = 0;
        loop {
            let len = input.out_len(call);
            call += 1;
            let out = &mut buf[..len];
            out.fill(0xA5);
            let (step, read, written) = codec.feed_into(rest, out, last);
            if read > rest.len() || written > len {
                fail(&format!(
                    "read {read} of {}, wrote {written} of {len}",
                    rest.len()
                ));
            }
            if codec.pending_output_len() > codec.max_output_len(1) {
                fail(&format!("{} bytes kept", codec.pending_output_len()));
            }
            got.extend_from_slice(&out[..written]);
            rest = &rest[read..];
            match step {
                Err(err) => {
                    if codec.pending_output_len() != 0 {
                        fail("error reported before all output was written");
                    }
                    let mut more = [0u8; 16];
                    if codec.feed_into(b"x", &mut more, true) != (Err(err.clone()), 0, 0) {
                        fail("the error is not sticky");
                    }
                    result = Err(ExpectedError::of(&err));
                    break 'chunks;
                }
                Ok(CoderResult::InputEmpty) => {
                    if !rest.is_empty() || codec.pending_output_len() != 0 {
                        fail("InputEmpty with input or output left");
                    }
                    break;
                }
                Ok(CoderResult::OutputFull) => {
                    idle = if read + written == 0 { idle + 1 } else { 0 };
                    if idle > 1 {
                        fail("no progress");
                    }
                }
            }
        }
    }
    if result.is_ok() && !codec.is_finished() {
        fail("the last call did not finish the stream");
    }
    let (want, want_result) = one_shot(config, input.stream);
    if result != want_result {
        fail(&format!("result {result:?}, expected {want_result:?}"));
    }
    if got != want {
        fail(&format!("output differs\n{}", diff(&want, &got)));
    }
}
