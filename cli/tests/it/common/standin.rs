//! Stand-in servers written in the test: the textbook one-message server
//! and misbehaving ones, each serving one connection with a script, for the
//! client's error paths. Plain std threads and loopback sockets.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// No stand-in waits longer than this for anything.
const PATIENCE: Duration = Duration::from_secs(20);

/// A stand-in serving one connection on `addr`.
pub struct StandIn<T> {
    pub addr: SocketAddr,
    script: JoinHandle<Option<T>>,
}

impl<T: Send + 'static> StandIn<T> {
    /// Listens on `127.0.0.1:0` and runs `script` on the first connection
    /// in a thread. The accept, and every read and write of the script, give
    /// up after 20 s, so a stand-in never outlives a test by much.
    pub fn start(script: impl FnOnce(TcpStream) -> T + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let script = std::thread::spawn(move || {
            let deadline = Instant::now() + PATIENCE;
            let conn = loop {
                match listener.accept() {
                    Ok((conn, _)) => break conn,
                    Err(_) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(_) => return None,
                }
            };
            conn.set_nonblocking(false).unwrap();
            conn.set_read_timeout(Some(PATIENCE)).unwrap();
            conn.set_write_timeout(Some(PATIENCE)).unwrap();
            Some(script(conn))
        });
        Self { addr, script }
    }

    /// The script's result (`None` if no client came).
    pub fn join(self) -> Option<T> {
        self.script.join().expect("stand-in script panicked")
    }
}

/// The textbook server: accept, one `recv(1024)`, send its uppercase,
/// close. Returns what it received.
pub fn textbook_server() -> StandIn<Vec<u8>> {
    StandIn::start(|mut conn| {
        let mut buf = [0u8; 1024];
        let n = conn.read(&mut buf).unwrap_or(0);
        let reply = String::from_utf8_lossy(&buf[..n]).to_uppercase();
        let _ = conn.write_all(reply.as_bytes());
        buf[..n].to_vec()
        // `conn` dropped: closed, as `connectionSocket.close()`.
    })
}

/// Reads until the client half-closes (or 20 s pass); returns the bytes.
pub fn read_to_eof(conn: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = conn.read_to_end(&mut all);
    all
}

/// Reads until `all` ends with `\n` (or EOF); returns the line.
pub fn read_line(conn: &mut TcpStream) -> Vec<u8> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\n") {
        match conn.read(&mut byte) {
            Ok(1) => line.push(byte[0]),
            _ => break,
        }
    }
    line
}

/// Closes `conn` with a reset (RST) instead of a FIN.
pub fn reset(conn: TcpStream) {
    socket2::SockRef::from(&conn)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(conn);
}
