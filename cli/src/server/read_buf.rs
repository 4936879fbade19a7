//! The per-thread buffers that connections share.
//!
//! * [`READ_BUF`]: connections and the PROXY header reader read into it. A
//!   read and the processing of what it got never cross an `.await`, so one
//!   buffer per worker thread serves every connection on it, and an idle
//!   connection holds no read buffer at all.
//! * A spare output buffer ([`park_out`], [`reuse_out`]): a connection going
//!   idle leaves its drained output buffer here, and the next connection on
//!   the thread with output to make takes it. Request/response traffic then
//!   allocates (and frees) no output buffer per message, while an idle
//!   connection still holds none.

use std::cell::{Cell, RefCell};

use bytes::BytesMut;

/// Bytes taken from the socket per read. 32 KiB keeps a bulk stream's
/// `recv`/`send` count near an echo server's 64 KiB reads (8 KiB made 5–8
/// times as many calls) while one buffer per worker stays in L2.
const READ_BUF_LEN: usize = 32 * 1024;

/// The largest output buffer kept as the spare: one read's output at most
/// (3 × [`READ_BUF_LEN`]), with room for the codec's rounding.
const SPARE_OUT_MAX: usize = 4 * READ_BUF_LEN;

thread_local! {
    /// The read buffer of this worker thread. Borrow it only for a
    /// synchronous read-and-process step, never across an `.await`.
    pub(super) static READ_BUF: RefCell<Box<[u8]>> =
        RefCell::new(vec![0; READ_BUF_LEN].into_boxed_slice());

    /// This thread's spare output buffer (empty), if any.
    static SPARE_OUT: Cell<Option<BytesMut>> = const { Cell::new(None) };
}

/// Takes `out` (drained) from a connection going idle, leaving it without
/// capacity, and keeps it as this thread's spare unless it is oversized.
pub(super) fn park_out(out: &mut BytesMut) {
    let buf = std::mem::take(out);
    if buf.is_empty() && buf.capacity() <= SPARE_OUT_MAX {
        // Replaces (frees) the spare another connection left, if any.
        SPARE_OUT.set(Some(buf));
    }
}

/// Gives `out` the thread's spare buffer if it has no capacity of its own.
pub(super) fn reuse_out(out: &mut BytesMut) {
    if out.capacity() == 0 {
        if let Some(spare) = SPARE_OUT.take() {
            *out = spare;
        }
    }
}
