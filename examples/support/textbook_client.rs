//! The examples' test: the textbook Python TCP client against the server.

use std::net::SocketAddr;
use std::process::Command;

/// The textbook client, as printed in the course books (with a timeout so
/// a broken server fails the test instead of hanging it): connect, send
/// the sentence, one `recv(1024)`, close.
const CLIENT: &str = r#"
import sys
from socket import *
clientSocket = socket(AF_INET, SOCK_STREAM)
clientSocket.settimeout(10)
clientSocket.connect((sys.argv[1], int(sys.argv[2])))
sentence = sys.argv[3]
clientSocket.send(sentence.encode())
modifiedSentence = clientSocket.recv(1024)
sys.stdout.buffer.write(modifiedSentence)
clientSocket.close()
"#;

/// Runs the textbook client against `addr` with a few sentences and checks
/// each reply against the oracle.
pub fn check(addr: SocketAddr) {
    for sentence in ["hello, world", "straße ΐ ǰ — ﬃ", "Съешь же ещё 日本語 😀"]
    {
        let out = Command::new("python3")
            .args([
                "-c",
                CLIENT,
                &addr.ip().to_string(),
                &addr.port().to_string(),
                sentence,
            ])
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "client failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (want, _) = upcase::oracle::uppercase(upcase::Config::default(), sentence.as_bytes());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&want)
        );
    }
}
