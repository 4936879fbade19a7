//! `upcase client`'s failures, each one line on stderr with its own exit
//! status: refused, unresolved, reset, the server closing early (the
//! textbook server), timeouts, bad flags and a closed stdout.

use crate::common;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::common::standin::{read_line, read_to_eof, reset, textbook_server, StandIn};
use crate::common::{run_with_stdin, Running, ServerProcess};

/// Asserts the exit status and that stderr is one `upcase client:` line
/// containing `needle`.
#[track_caller]
fn assert_failure(status: std::process::ExitStatus, err: &str, code: i32, needle: &str) {
    assert_eq!(status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.starts_with("upcase client: "), "{err:?}");
    assert!(err.contains(needle), "{err:?} should contain {needle:?}");
}

#[test]
fn refused_names_the_address() {
    // A port that was free a moment ago.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let target = addr.to_string();
    let (status, out, err) = run_with_stdin(&["client", "--connect", &target], b"hi\n", 20);
    assert!(out.is_empty());
    assert_failure(status, &err, 3, &format!("connection refused by {target}"));
}

/// A name whose lookup fails without asking any DNS server: a label longer
/// than DNS allows (63 bytes) cannot even be put into a query.
#[test]
fn unresolved_name() {
    let name = format!("{}.invalid:12000", "x".repeat(70));
    let (status, _, err) = run_with_stdin(&["client", "--connect", &name], b"hi\n", 20);
    assert_failure(status, &err, 4, "cannot resolve host 'xxxx");
}

#[test]
fn malformed_address_is_a_usage_error() {
    for bad in ["localhost", "::1:80", "host:0", "host:http"] {
        let (status, _, err) = run_with_stdin(&["client", "--connect", bad], b"", 20);
        assert_eq!(status.code(), Some(2), "{bad}: {err}");
    }
}

/// The textbook server in pipe mode: it answers the first line and closes.
/// The client prints that reply and reports the early close (6) at once,
/// though its stdin is still open: no hang.
#[test]
fn textbook_server_in_a_pipe_closes_early() {
    let textbook = textbook_server();
    let addr = textbook.addr.to_string();
    let mut client = Running::spawn(&["client", "--connect", &addr]);
    client.write(b"first sentence\n");
    client.wait_stdout_len(b"FIRST SENTENCE\n".len(), Duration::from_secs(10));
    // The server has closed; more input is never answered.
    let start = Instant::now();
    client.write(b"second sentence\n");
    let status = client.wait_exit(Duration::from_secs(10));
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(client.stdout(), b"FIRST SENTENCE\n");
    assert_failure(
        status,
        &client.stderr(),
        6,
        "the server closed the connection before all input was sent",
    );
    assert!(client.stderr().contains("textbook"), "{}", client.stderr());
    assert_eq!(textbook.join().unwrap(), b"first sentence\n");
}

/// Same, but stdin simply stays open with nothing more to say: the client
/// still does not wait forever for an input the server will never answer.
#[test]
fn textbook_server_with_stdin_left_open() {
    let textbook = textbook_server();
    let addr = textbook.addr.to_string();
    let mut client = Running::spawn(&["client", "--connect", &addr]);
    client.write(b"only sentence\n");
    let status = client.wait_exit(Duration::from_secs(10));
    assert_eq!(client.stdout(), b"ONLY SENTENCE\n");
    assert_failure(status, &client.stderr(), 6, "closed the connection");
}

/// All of a small input in one go: the textbook server's one recv gets it
/// all and answers it all; that is a success.
#[test]
fn textbook_server_answering_everything_is_success() {
    let textbook = textbook_server();
    let addr = textbook.addr.to_string();
    let (status, out, err) = run_with_stdin(&["client", "--connect", &addr], b"one sentence\n", 20);
    assert!(status.success(), "{status}: {err}");
    assert_eq!(out, b"ONE SENTENCE\n");
}

/// A server that takes everything and then resets: exit 5.
#[test]
fn reset_after_the_input() {
    let standin = StandIn::start(|mut conn| {
        let got = read_to_eof(&mut conn);
        conn.write_all(b"PARTIAL").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        reset(conn);
        got
    });
    let addr = standin.addr.to_string();
    let (status, out, err) = run_with_stdin(&["client", "--connect", &addr], b"hello\n", 20);
    assert_eq!(out, b"PARTIAL");
    assert_failure(
        status,
        &err,
        5,
        "reset the connection after all input was sent",
    );
    assert_eq!(standin.join().unwrap(), b"hello\n");
}

/// A server that reads but never answers: `--timeout` ends the wait (7).
#[test]
fn silent_server_times_out() {
    let standin = StandIn::start(|mut conn| {
        let line = read_line(&mut conn);
        // Say nothing; wait for the client to give up and go.
        let mut rest = Vec::new();
        let _ = conn.read_to_end(&mut rest);
        line
    });
    let addr = standin.addr.to_string();
    let start = Instant::now();
    let mut client = Running::spawn(&["client", "--connect", &addr, "--timeout", "0.5"]);
    client.write(b"anyone there?\n");
    let status = client.wait_exit(Duration::from_secs(10));
    let took = start.elapsed();
    assert_failure(status, &client.stderr(), 7, "--timeout 0.5 s");
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(standin.join().unwrap(), b"anyone there?\n");
}

/// Input pausing is not the server's fault: with stdin quiet and nothing
/// owed, `--timeout` does not fire.
#[test]
fn quiet_stdin_is_not_a_timeout() {
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0"]);
    let addr = server.addr().to_string();
    let mut client = Running::spawn(&["client", "--connect", &addr, "--timeout", "0.3"]);
    client.write(b"before\n");
    client.wait_stdout_len(7, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(1000));
    client.write(b"after\n");
    client.close_stdin();
    let status = client.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{}", client.stderr());
    assert_eq!(client.stdout(), b"BEFORE\nAFTER\n");
}

/// A listener whose accept queue is full drops new SYNs, so connecting
/// hangs: `--timeout` bounds it (7).
#[test]
fn connect_timeout() {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    // Fill the queue (never accepted) until a connect no longer completes.
    let mut fillers = Vec::new();
    let mut full = false;
    for _ in 0..16 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => fillers.push(stream),
            Err(_) => {
                full = true;
                break;
            }
        }
    }
    if !full {
        eprintln!("the accept queue never filled here; skipped");
        return;
    }
    let target = addr.to_string();
    let start = Instant::now();
    let (status, _, err) = run_with_stdin(
        &["client", "--connect", &target, "--timeout", "0.5"],
        b"",
        20,
    );
    assert_failure(
        status,
        &err,
        7,
        &format!("connecting to {target} took longer"),
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}

/// `upcase client < big | head -c 5`: the reader goes away; the client
/// stops quietly with 141.
#[test]
fn closed_stdout_stops_quietly() {
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0"]);
    let addr = server.addr().to_string();
    let mut child = common::upcase_bin()
        .args(["client", "--connect", &addr])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let feeder = common::flood(child.stdin.take().unwrap());
    let mut head = [0u8; 5];
    stdout.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"AAAAA");
    drop(stdout);
    let Some(status) = common::wait_or_kill(&mut child, Duration::from_secs(20)) else {
        panic!("client still running after its stdout closed");
    };
    feeder.join().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(141), "{err}");
    assert_eq!(err, "");
}
