//! `upcase client --verify`: the client runs the codec locally and checks
//! every reply byte. Against a correct server (0), a reject server given
//! ill-formed input (8, whatever the size, where without `--verify` the
//! same situation gives 0 or 6), stand-ins that drop bytes (9, naming the
//! offset), and a server whose casing differs from the client's (9).

use std::io::{Read, Write};
use std::net::Shutdown;

use crate::common::standin::{read_to_eof, StandIn};
use crate::common::{
    assert_same, mixed_input, oracle, rejects, run_with_stdin, Rng, ServerProcess,
};
use upcase::{Casing, InvalidUtf8};

/// Mixed valid and ill-formed input under each policy that answers it all:
/// the reply is the oracle's and `--verify` agrees (0).
#[test]
fn a_correct_server_passes() {
    let mut rng = Rng::new(Rng::seed("a_correct_server_passes", 17));
    for (invalid, flag) in [
        (InvalidUtf8::PassThrough, "pass"),
        (InvalidUtf8::Replace, "replace"),
    ] {
        let server = ServerProcess::loopback(&["--invalid", flag]);
        let addr = server.addr().to_string();
        let input = mixed_input(&mut rng, 2 << 20, 3);
        let (status, out, err) = run_with_stdin(
            &["client", "--connect", &addr, "--verify", "--invalid", flag],
            &input,
            60,
        );
        assert!(status.success(), "{flag}: {status}: {err}");
        assert_same(&out, &oracle(Casing::Unicode, invalid, &input), flag);
    }
}

/// The reject case of the issue: a file with an ill-formed byte, sent to
/// `upcase serve --invalid reject`. Small files are taken whole before the
/// server closes, large ones are cut off while being sent; with `--verify`
/// both exit 8, and the message names the input offset of the bad byte.
#[test]
fn a_reject_server_exits_8_whatever_the_size() {
    let server = ServerProcess::loopback(&["--invalid", "reject"]);
    let addr = server.addr().to_string();
    // (offset of the ill-formed byte, file size): early in files of every
    // size, and late in a large one (2.4 MB answered of 3.2 MB sent).
    for (bad_at, size) in [
        (22, 64),
        (22, 64 << 10),
        (22, 1 << 20),
        (22, 16 << 20),
        (2_400_000, 3_200_000),
    ] {
        let mut input = "valid prefix, straße ".as_bytes().to_vec();
        input.resize(bad_at, b'v');
        input.push(0xFF);
        input.resize(size, b'x');
        assert!(rejects(Casing::Unicode, InvalidUtf8::Reject, &input));
        let (status, out, err) = run_with_stdin(
            &[
                "client",
                "--connect",
                &addr,
                "--verify",
                "--invalid",
                "reject",
            ],
            &input,
            60,
        );
        assert_eq!(status.code(), Some(8), "{size} bytes: {err}");
        assert_same(
            &out,
            &oracle(Casing::Unicode, InvalidUtf8::Reject, &input),
            &format!("{size} bytes"),
        );
        assert!(
            err.contains(&format!("invalid UTF-8 at byte offset {bad_at}")),
            "{size} bytes: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

/// Reads everything, then answers the ASCII uppercase with one byte left
/// out at `skip`, and closes cleanly: without `--verify` the client cannot
/// tell (0); with it, 9 and the offset.
#[test]
fn a_server_that_drops_a_byte_is_caught_at_its_offset() {
    let input: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let dropping = |skip: usize| {
        StandIn::start(move |mut conn| {
            let got = read_to_eof(&mut conn);
            let mut reply = got.to_ascii_uppercase();
            reply.remove(skip);
            conn.write_all(&reply).unwrap();
            conn.shutdown(Shutdown::Write).unwrap();
        })
    };

    let standin = dropping(70_000);
    let addr = standin.addr.to_string();
    let (status, out, _) = run_with_stdin(&["client", "--connect", &addr], &input, 30);
    assert!(status.success(), "without --verify the loss goes unseen");
    assert_eq!(out.len(), input.len() - 1);
    standin.join().unwrap();

    let standin = dropping(70_000);
    let addr = standin.addr.to_string();
    let (status, _, err) = run_with_stdin(&["client", "--connect", &addr, "--verify"], &input, 30);
    assert_eq!(status.code(), Some(9), "{err}");
    assert!(
        err.contains("the reply is wrong at byte offset 70000"),
        "{err}"
    );
    standin.join().unwrap();

    // The last byte dropped: nothing is wrong, something is missing.
    let standin = dropping(input.len() - 1);
    let addr = standin.addr.to_string();
    let (status, _, err) = run_with_stdin(&["client", "--connect", &addr, "--verify"], &input, 30);
    assert_eq!(status.code(), Some(9), "{err}");
    assert!(
        err.contains(
            "the reply is short: the server closed after 99999 of 100000 bytes; \
             the first missing byte is at reply offset 99999"
        ),
        "{err}"
    );
    standin.join().unwrap();
}

/// A server that answers each read in full and then one byte more.
#[test]
fn an_extra_byte_is_caught() {
    let standin = StandIn::start(|mut conn| {
        let mut buf = [0u8; 1024];
        let n = conn.read(&mut buf).unwrap();
        let mut reply = buf[..n].to_ascii_uppercase();
        reply.push(b'!');
        conn.write_all(&reply).unwrap();
        read_to_eof(&mut conn);
    });
    let addr = standin.addr.to_string();
    let (status, _, err) = run_with_stdin(&["client", "--connect", &addr, "--verify"], b"hi\n", 30);
    assert_eq!(status.code(), Some(9), "{err}");
    assert!(
        err.contains("an extra byte 0x21 at reply offset 3"),
        "{err}"
    );
    standin.join().unwrap();
}

/// The client's codec flags must match the server's: an ASCII-only server
/// leaves `ß` alone, which a Unicode check catches at its offset.
#[test]
fn a_casing_mismatch_is_caught() {
    let server = ServerProcess::loopback(&["--casing", "ascii"]);
    let addr = server.addr().to_string();
    let (status, out, err) = run_with_stdin(
        &["client", "--connect", &addr, "--verify"],
        "straße\n".as_bytes(),
        30,
    );
    assert_eq!(out, "STRAßE\n".as_bytes());
    assert_eq!(status.code(), Some(9), "{err}");
    assert!(err.contains("wrong at byte offset 4"), "{err}");
    let (status, _, err) = run_with_stdin(
        &[
            "client",
            "--connect",
            &addr,
            "--verify",
            "--casing",
            "ascii",
        ],
        "straße\n".as_bytes(),
        30,
    );
    assert!(status.success(), "{err}");
}
