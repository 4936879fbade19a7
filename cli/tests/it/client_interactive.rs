//! `upcase client` at a terminal, driven through a pseudo-terminal as a
//! person would: see the prompt, type a sentence, see it in capitals, press
//! Ctrl-D. Against the real server, the textbook server, and a server that
//! dribbles its reply out a byte at a time; then the line editor: a line
//! far past the terminal's 4095-byte cooked-mode limit, history, Ctrl-D and
//! Ctrl-C, and a server that closes while the person is typing.

use std::io::Write;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::pty::{PtySession, TempDir, CTRL_A, CTRL_C, CTRL_D, UP};
use crate::common::standin::{read_line, read_to_eof, reset, textbook_server, StandIn};
use crate::common::ServerProcess;

const PROMPT: &str = "Input lowercase sentence: ";
const WAIT: Duration = Duration::from_secs(10);

/// A server, and `upcase client` connected to it at a terminal.
fn client_of_a_server() -> (ServerProcess, PtySession) {
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0"]);
    let addr = server.addr().to_string();
    let term = PtySession::spawn(&["client", "--connect", &addr]);
    (server, term)
}

#[test]
fn conversation_with_the_server() {
    let (_server, mut term) = client_of_a_server();

    term.expect(PROMPT, WAIT);
    term.type_keys("hello, straße\n");
    term.expect("HELLO, STRASSE\n", WAIT);

    // A reply far longer than the textbook's 1024-byte recv: 1,500 ΐ are
    // 3,000 bytes typed and 9,000 bytes back.
    term.expect_after("HELLO, STRASSE\n", PROMPT, WAIT);
    let long = "ΐ".repeat(1500);
    term.type_keys(&format!("{long}\n"));
    term.expect(&format!("{}\n", long.to_uppercase()), WAIT);

    // Ctrl-D on an empty line: the client half-closes, the server closes,
    // and the client exits cleanly.
    term.expect_after(&long.to_uppercase(), PROMPT, WAIT);
    term.end_cleanly(WAIT);
}

/// The textbook server answers one sentence and closes. The client says
/// so at once, at the prompt, before anything more is typed: exit 6 with
/// the facts (replies, bytes each way), not a hang and not a guess.
#[test]
fn textbook_server_answers_once() {
    let textbook = textbook_server();
    let addr = textbook.addr.to_string();
    let mut term = PtySession::spawn(&["client", "--connect", &addr]);

    term.expect(PROMPT, WAIT);
    term.type_keys("hello\n");
    term.expect("HELLO\n", WAIT);
    let status = term.wait_exit(WAIT);
    assert_eq!(status.code(), Some(6), "{}", term.screen());
    term.expect(
        "upcase client: the server closed the connection after 1 reply \
         (6 bytes sent, 6 received, before our end of input); nothing more can be sent; \
         possible causes include a server that answers one message and closes (like the \
         textbook one),",
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
    term.expect_after(&sentence.to_uppercase(), PROMPT, WAIT);
    term.end_cleanly(WAIT);
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

/// A 10,000-character line, typed: the terminal's cooked mode would cut it
/// at 4095 bytes; the line editor takes it whole, and the whole reply is
/// printed. The server receives exactly the line and its newline.
#[test]
fn a_10000_character_line_is_answered_whole() {
    let line: String = (0..10_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let standin = StandIn::start(|mut conn| {
        let got = read_line(&mut conn);
        conn.write_all(&got.to_ascii_uppercase()).unwrap();
        read_to_eof(&mut conn);
        got
    });
    let addr = standin.addr.to_string();
    let mut term = PtySession::spawn(&["client", "--connect", &addr]);
    term.expect(PROMPT, WAIT);
    term.type_keys(&format!("{line}\n"));
    term.expect(
        &format!("{}\n", line.to_uppercase()),
        Duration::from_secs(60),
    );
    term.end_cleanly(WAIT);
    let got = standin.join().unwrap();
    assert_eq!(got.len(), 10_001);
    assert_eq!(got, format!("{line}\n").into_bytes());
}

/// Up recalls the last line, in the session and in the next one (the
/// history file under `XDG_DATA_HOME`); `--no-history` writes no file.
#[test]
fn history_recall_with_the_up_key() {
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0"]);
    let addr = server.addr().to_string();
    let data_home = TempDir::new("history");
    let history = data_home.path().join("upcase").join("history");

    let mut term =
        PtySession::spawn_with_data_home(&["client", "--connect", &addr], data_home.path());
    term.expect(PROMPT, WAIT);
    term.type_keys("recall me\n");
    term.expect_after("RECALL ME\n", PROMPT, WAIT);
    term.type_keys(&format!("{UP}\n"));
    term.expect_count("RECALL ME\n", 2, WAIT);
    term.end_cleanly(WAIT);
    let saved = std::fs::read_to_string(&history).expect("the history file");
    assert!(saved.lines().any(|l| l == "recall me"), "{saved:?}");

    // The next session starts with it.
    let mut term =
        PtySession::spawn_with_data_home(&["client", "--connect", &addr], data_home.path());
    term.expect(PROMPT, WAIT);
    term.type_keys(&format!("{UP}\n"));
    term.expect("RECALL ME\n", WAIT);
    term.end_cleanly(WAIT);

    // --no-history: nothing read, nothing written.
    let fresh = TempDir::new("no-history");
    let mut term = PtySession::spawn_with_data_home(
        &["client", "--connect", &addr, "--no-history"],
        fresh.path(),
    );
    term.expect(PROMPT, WAIT);
    term.type_keys("secret\n");
    term.expect("SECRET\n", WAIT);
    term.end_cleanly(WAIT);
    assert!(!fresh.path().join("upcase").exists());
}

/// Ctrl-D on a non-empty line follows the editor's (emacs) convention: it
/// deletes the character under the cursor and never ends the line or the
/// session, so nothing is glued to the reply. Ctrl-C drops the line. Ctrl-D
/// on an empty line ends the session cleanly.
#[test]
fn ctrl_d_on_empty_and_non_empty_lines_and_ctrl_c() {
    let standin = StandIn::start(|mut conn| {
        let mut got = Vec::new();
        loop {
            let line = read_line(&mut conn);
            if line.is_empty() {
                return got; // the client's half-close
            }
            conn.write_all(&line.to_ascii_uppercase()).unwrap();
            got.extend_from_slice(&line);
        }
    });
    let addr = standin.addr.to_string();
    let mut term = PtySession::spawn(&["client", "--connect", &addr]);
    term.expect(PROMPT, WAIT);
    // At the end of "partial line", Ctrl-D does nothing; at its start it
    // deletes the "p".
    // (Prompts are awaited after what precedes them: the editor redraws
    // the prompt with the line, so counting prompts would run ahead.)
    term.type_keys(&format!("partial line{CTRL_D}{CTRL_A}{CTRL_D}\n"));
    term.expect("ARTIAL LINE\n", WAIT);
    term.expect_after("ARTIAL LINE\n", PROMPT, WAIT);
    // Ctrl-C: a fresh prompt, the line gone. (Keys typed ahead of a
    // Ctrl-C are the editor's to drop, so wait for the prompt.)
    term.type_keys(&format!("dropped{CTRL_C}"));
    term.expect_after("dropped", PROMPT, WAIT);
    term.type_keys("kept\n");
    term.expect("KEPT\n", WAIT);
    term.expect_after("KEPT\n", PROMPT, WAIT);
    term.end_cleanly(WAIT);
    assert_eq!(standin.join().unwrap(), b"artial line\nkept\n");
}

/// The server closes while the person is typing a line: the client says so
/// within a second, before any Enter, puts the terminal back and exits 6.
#[test]
fn server_closing_while_the_user_types_is_reported_at_once() {
    let (close, closing) = mpsc::channel::<()>();
    let standin = StandIn::start(move |mut conn| {
        let line = read_line(&mut conn);
        conn.write_all(&line.to_ascii_uppercase()).unwrap();
        let _ = closing.recv_timeout(Duration::from_secs(20));
        // Dropped: closed (FIN), with nothing unread.
    });
    let addr = standin.addr.to_string();
    let mut term = PtySession::spawn(&["client", "--connect", &addr]);
    term.expect(PROMPT, WAIT);
    term.type_keys("first\n");
    term.expect_after("FIRST\n", PROMPT, WAIT);
    term.type_keys("half a sen");
    term.expect("half a sen", WAIT);
    let closed = Instant::now();
    close.send(()).unwrap();
    term.expect(
        "upcase client: the server closed the connection after 1 reply",
        Duration::from_secs(1),
    );
    let took = closed.elapsed();
    let status = term.wait_exit(WAIT);
    assert_eq!(status.code(), Some(6), "{}", term.screen());
    assert!(took < Duration::from_secs(1), "{took:?}");
    standin.join().unwrap();
}

/// A reset while the person is at the prompt: reported at once, status 5.
#[test]
fn server_resetting_at_the_prompt_is_reported_at_once() {
    let (go, going) = mpsc::channel::<()>();
    let standin = StandIn::start(move |mut conn| {
        let line = read_line(&mut conn);
        conn.write_all(&line.to_ascii_uppercase()).unwrap();
        let _ = going.recv_timeout(Duration::from_secs(20));
        reset(conn);
    });
    let addr = standin.addr.to_string();
    let mut term = PtySession::spawn(&["client", "--connect", &addr]);
    term.expect(PROMPT, WAIT);
    term.type_keys("one\n");
    term.expect_after("ONE\n", PROMPT, WAIT);
    go.send(()).unwrap();
    term.expect(
        "upcase client: the server reset the connection after 1 reply (4 bytes sent, 4 received); \
         nothing more can be sent",
        Duration::from_secs(1),
    );
    assert_eq!(term.wait_exit(WAIT).code(), Some(5), "{}", term.screen());
    standin.join().unwrap();
}

/// `--verify` at a terminal: each reply line is checked as it arrives. An
/// ASCII-only server leaves `ß` alone; a Unicode check catches it (9).
#[test]
fn verify_at_a_terminal() {
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0", "--casing", "ascii"]);
    let addr = server.addr().to_string();
    let mut term = PtySession::spawn(&["client", "--connect", &addr, "--verify"]);
    term.expect(PROMPT, WAIT);
    term.type_keys("fine\n");
    term.expect_after("FINE\n", PROMPT, WAIT);
    term.type_keys("straße\n");
    let status = term.wait_exit(WAIT);
    assert_eq!(status.code(), Some(9), "{}", term.screen());
    // "fine\n" is 5 bytes; "STRA" 4 more: the ß (0xC3 0x9F) is at 9.
    term.expect(
        "upcase client: --verify: the reply is wrong at byte offset 9: got 0xC3, expected 0x53",
        WAIT,
    );
}

/// A server that reads the line and never answers: `--timeout` ends the
/// wait (7); the time spent typing did not count.
#[test]
fn timeout_at_a_terminal() {
    let standin = StandIn::start(|mut conn| {
        let line = read_line(&mut conn);
        read_to_eof(&mut conn);
        line
    });
    let addr = standin.addr.to_string();
    let mut term = PtySession::spawn(&["client", "--connect", &addr, "--timeout", "500ms"]);
    term.expect(PROMPT, WAIT);
    std::thread::sleep(Duration::from_millis(800)); // thinking is not a timeout
    let sent = Instant::now();
    term.type_keys("anyone there?\n");
    let status = term.wait_exit(WAIT);
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(7), "{}", term.screen());
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    term.expect(
        "upcase client: no reply from the server for --timeout 0.5 s (after 0 replies)",
        WAIT,
    );
    drop(term);
    assert_eq!(standin.join().unwrap(), b"anyone there?\n");
}

/// `upcase client > replies.txt` at a terminal: the prompt and the line
/// being edited stay on the terminal (stderr), and the file gets the
/// replies and nothing else.
#[test]
fn prompt_on_stderr_replies_on_stdout() {
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0"]);
    let addr = server.addr().to_string();
    let dir = TempDir::new("replies");
    let path = dir.path().join("replies.txt");
    let file = std::fs::File::create(&path).unwrap();
    let mut term = PtySession::spawn_with_stdout(&["client", "--connect", &addr], file);
    term.expect(PROMPT, WAIT);
    term.type_keys("to the file\n");
    term.expect_after("to the file", PROMPT, WAIT);
    term.type_keys(&format!("straße{CTRL_D}\n"));
    term.expect_after("straße", PROMPT, WAIT);
    term.end_cleanly(WAIT);
    assert_eq!(std::fs::read(&path).unwrap(), b"TO THE FILE\nSTRASSE\n");
    assert!(!term.screen().contains("TO THE FILE"), "{}", term.screen());
}

/// Several lines typed (or pasted) in one go are sent one by one, each
/// answered in turn: nothing typed ahead of a reply is lost.
#[test]
fn lines_typed_ahead_are_sent_in_turn() {
    let (_server, mut term) = client_of_a_server();
    term.expect(PROMPT, WAIT);
    term.type_keys("one\ntwo\nthree\n");
    term.expect("THREE\n", WAIT);
    let screen = term.screen();
    let (one, two, three) = (
        screen.find("ONE\n").unwrap(),
        screen.find("TWO\n").unwrap(),
        screen.find("THREE\n").unwrap(),
    );
    assert!(one < two && two < three, "{screen}");
    term.end_cleanly(WAIT);
}
