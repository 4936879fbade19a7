//! The per-thread read buffer that connections and the PROXY header reader
//! share: a read and the processing of what it got never cross an
//! `.await`, so one buffer per worker thread serves every connection on it,
//! and an idle connection holds no read buffer at all.

use std::cell::RefCell;

/// Bytes taken from the socket per read. 32 KiB keeps a bulk stream's
/// `recv`/`send` count near an echo server's 64 KiB reads (8 KiB made 5–8
/// times as many calls) while one buffer per worker stays in L2.
const READ_BUF_LEN: usize = 32 * 1024;

thread_local! {
    /// The read buffer of this worker thread. Borrow it only for a
    /// synchronous read-and-process step, never across an `.await`.
    pub(super) static READ_BUF: RefCell<Box<[u8]>> =
        RefCell::new(vec![0; READ_BUF_LEN].into_boxed_slice());
}
