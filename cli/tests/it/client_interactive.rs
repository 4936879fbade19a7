//! `upcase client` at a terminal, driven through a pseudo-terminal as a
//! person would: see the prompt, type a sentence, see it in capitals, press
//! Ctrl-D. Against the real server, the textbook server, and a server that
//! dribbles its reply out a byte at a time.

use std::io::Write;
use std::time::Duration;

use crate::common::pty::PtySession;
use crate::common::standin::{read_line, read_to_eof, textbook_server, StandIn};
use crate::common::ServerProcess;

const PROMPT: &str = "Input lowercase sentence: ";
const WAIT: Duration = Duration::from_secs(10);

#[test]
fn conversation_with_the_server() {
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0"]);
    let addr = server.addr().to_string();
    let mut term = PtySession::spawn(&["client", "--connect", &addr]);

    term.expect(PROMPT, WAIT);
    term.type_keys("hello, straße\n");
    term.expect("HELLO, STRASSE\n", WAIT);

    // A reply far longer than the textbook's 1024-byte recv: 1,500 ΐ are
    // 3,000 bytes typed and 9,000 bytes back.
    term.expect_count(PROMPT, 2, WAIT);
    let long = "ΐ".repeat(1500);
    term.type_keys(&format!("{long}\n"));
    term.expect(&format!("{}\n", long.to_uppercase()), WAIT);

    // Ctrl-D on an empty line: the client half-closes, the server closes,
    // and the client exits cleanly.
    term.expect_count(PROMPT, 3, WAIT);
    term.type_keys("\x04");
    let status = term.wait_exit(WAIT);
    assert!(status.success(), "{status}\n{}", term.screen());
    assert!(
        !term.screen().contains("upcase client:"),
        "{}",
        term.screen()
    );
}

/// The textbook server answers one sentence and closes. The second
/// sentence gets a plain explanation and exit status 6, not a hang.
#[test]
fn textbook_server_answers_once() {
    let textbook = textbook_server();
    let addr = textbook.addr.to_string();
    let mut term = PtySession::spawn(&["client", "--connect", &addr]);

    term.expect(PROMPT, WAIT);
    term.type_keys("hello\n");
    term.expect("HELLO\n", WAIT);
    term.expect_count(PROMPT, 2, WAIT);
    term.type_keys("anyone still there?\n");
    let status = term.wait_exit(WAIT);
    assert_eq!(status.code(), Some(6), "{}", term.screen());
    term.expect(
        "upcase client: the server closed the connection after 1 reply, so this line was not sent \
         (a one-message server such as the textbook one does this)",
        WAIT,
    );
    assert_eq!(textbook.join().unwrap(), b"hello\n");
}

/// The reply arrives one byte per segment, characters split across them:
/// the client prints the whole line, intact, once it is complete.
#[test]
fn reply_dribbled_a_byte_at_a_time() {
    let standin = StandIn::start(|mut conn| {
        let line = read_line(&mut conn);
        conn.set_nodelay(true).unwrap();
        for byte in String::from_utf8_lossy(&line).to_uppercase().bytes() {
            conn.write_all(&[byte]).unwrap();
            std::thread::sleep(Duration::from_millis(3));
        }
        read_to_eof(&mut conn);
    });
    let addr = standin.addr.to_string();
    let mut term = PtySession::spawn(&["client", "--connect", &addr]);
    term.expect(PROMPT, WAIT);
    let sentence = "grüße, ǆ und 😀 ΐ";
    term.type_keys(&format!("{sentence}\n"));
    // "GRÜSSE, Ǆ UND 😀 Ϊ́": ΐ becomes three characters.
    term.expect(&format!("{}\n", sentence.to_uppercase()), WAIT);
    term.expect_count(PROMPT, 2, WAIT);
    term.type_keys("\x04");
    assert!(term.wait_exit(WAIT).success(), "{}", term.screen());
    standin.join().unwrap();
}

/// Refused at startup: the message, on the terminal, before any prompt.
#[test]
fn refused_before_any_prompt() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let mut term = PtySession::spawn(&["client", "--connect", &addr]);
    let status = term.wait_exit(WAIT);
    assert_eq!(status.code(), Some(3));
    term.expect(&format!("connection refused by {addr}"), WAIT);
    assert!(!term.screen().contains(PROMPT));
}
