//! TLS: `upcase serve --tls-cert/--tls-key [--tls-client-ca]`, `client
//! --tls` and `bench --tls`, against clients and proxies no one here wrote
//! (`openssl s_client`, Python's `ssl`, HAProxy) as well as our own.
//!
//! Certificates are made at run time with rcgen: a CA, a server certificate
//! for `localhost` and 127.0.0.1, a client certificate (`CN=alice`), one
//! from another CA, expired ones and one for another name. Every reply is
//! checked against the std-only oracle.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use upcase::{Casing, InvalidUtf8};

use crate::common::haproxy::{find_haproxy, Haproxy, TempDir};
use crate::common::{
    assert_same, mixed_input, oracle, run_bench, run_with_stdin, within, Rng, ServerProcess,
};
use crate::server_torture::{torture_with, BINARY_CONFIGS};

/// A certificate and its key, written to `NAME.pem` and `NAME.key`.
struct Pair {
    cert: PathBuf,
    key: PathBuf,
}

impl Pair {
    fn cert(&self) -> &str {
        self.cert.to_str().unwrap()
    }
    fn key(&self) -> &str {
        self.key.to_str().unwrap()
    }
    fn der(&self) -> CertificateDer<'static> {
        CertificateDer::from_pem_file(&self.cert).unwrap()
    }
}

/// Everything the tests need, in a directory removed at the end.
struct Pki {
    dir: TempDir,
    ca: PathBuf,
    server: Pair,
    client: Pair,
    /// Signed by another CA.
    stranger: Pair,
    expired_client: Pair,
    expired_server: Pair,
    /// For `other.example` only.
    wrong_name: Pair,
    /// The CA's key, to issue more.
    signer: Ca,
}

/// A certificate authority: its parameters and key, to sign with.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> (Self, String) {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        (Self { params, key }, pem)
    }

    /// A leaf for `names` (SANs), `CN=cn`, valid now unless `expired`.
    fn issue(&self, names: &[&str], cn: &str, client: bool, expired: bool) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

impl Pki {
    fn new(tag: &str) -> Self {
        let dir = TempDir::new(&format!("tls-{tag}"));
        let write = |name: &str, pem: (String, String)| write_pair(&dir.path, name, pem);
        let (ca, ca_pem) = Ca::new("upcase test CA");
        let (other_ca, _) = Ca::new("some other CA");
        let ca_path = dir.path.join("ca.pem");
        std::fs::write(&ca_path, ca_pem).unwrap();
        let host = ["localhost", "127.0.0.1"];
        Self {
            ca: ca_path,
            server: write("server", ca.issue(&host, "localhost", false, false)),
            client: write("client", ca.issue(&[], "alice", true, false)),
            stranger: write("stranger", other_ca.issue(&[], "mallory", true, false)),
            expired_client: write("expired-client", ca.issue(&[], "bob", true, true)),
            expired_server: write("expired-server", ca.issue(&host, "localhost", false, true)),
            wrong_name: write(
                "wrong-name",
                ca.issue(&["other.example"], "other.example", false, false),
            ),
            signer: ca,
            dir,
        }
    }

    /// Another server certificate for `localhost` from the same CA.
    fn renewed_server(&self) -> Pair {
        let pem = self.signer.issue(
            &["localhost", "127.0.0.1"],
            "localhost renewed",
            false,
            false,
        );
        write_pair(&self.dir.path, "renewed", pem)
    }

    fn ca(&self) -> &str {
        self.ca.to_str().unwrap()
    }

    /// `upcase serve` on a free port with `pair`, plus `extra` flags.
    fn serve(&self, pair: &Pair, extra: &[&str]) -> ServerProcess {
        let mut args = vec![
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            pair.cert(),
            "--tls-key",
            pair.key(),
        ];
        args.extend_from_slice(extra);
        ServerProcess::start(&args)
    }

    /// A rustls client trusting only our CA, with `identity` if given.
    /// No session resumption: every connection makes a full handshake and
    /// sees the server's current certificate.
    fn client_config(&self, identity: Option<&Pair>) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(&self.ca).unwrap())
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let mut config = match identity {
            None => builder.with_no_client_auth(),
            Some(pair) => builder
                .with_client_auth_cert(
                    vec![pair.der()],
                    PrivateKeyDer::from_pem_file(&pair.key).unwrap(),
                )
                .unwrap(),
        };
        config.resumption = rustls::client::Resumption::disabled();
        Arc::new(config)
    }
}

/// Writes `NAME.pem` and `NAME.key` in `dir`.
fn write_pair(dir: &Path, name: &str, (cert, key): (String, String)) -> Pair {
    let pair = Pair {
        cert: dir.join(format!("{name}.pem")),
        key: dir.join(format!("{name}.key")),
    };
    std::fs::write(&pair.cert, cert).unwrap();
    std::fs::write(&pair.key, key).unwrap();
    pair
}

/// A TLS connection to `addr` for `localhost`.
async fn tls_connect(addr: SocketAddr, config: &Arc<rustls::ClientConfig>) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake")
}

/// Sends `input` over TLS, sends close_notify, returns the whole reply.
async fn tls_round_trip(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
    input: &[u8],
) -> Vec<u8> {
    crate::common::exchange(tls_connect(addr, config).await, input).await
}

/// The torture test over TLS: concurrent connections, random chunking and
/// read sizes (so TLS records split UTF-8 anywhere), close_notify as the
/// half-close, every policy; exact output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_torture_every_policy() {
    let pki = Pki::new("torture");
    let config = pki.client_config(None);
    let seed = Rng::seed("tls torture", 14);
    within(120, "tls torture", async {
        for (i, (casing, invalid)) in BINARY_CONFIGS.into_iter().enumerate() {
            let server = pki.serve(
                &pki.server,
                &[
                    "--casing",
                    crate::common::casing_flag(casing),
                    "--invalid",
                    crate::common::invalid_flag(invalid),
                ],
            );
            let addr = server.addr();
            let config = Arc::clone(&config);
            let connect = move || {
                let config = Arc::clone(&config);
                async move { tls_connect(addr, &config).await }
            };
            torture_with(connect, casing, invalid, seed + i as u64).await;
            assert!(
                server.log_count("listening on") == 1
                    && server.log_count(&format!("listening on {addr} (tls)")) == 1,
                "{}",
                server.log_text()
            );
        }
    })
    .await;
}

/// `upcase client --tls` and `bench --tls` against the TLS server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_client_and_bench() {
    let pki = Pki::new("client");
    let server = pki.serve(&pki.server, &[]);
    let addr = server.addr().to_string();
    let mut rng = Rng::new(Rng::seed("tls client", 15));
    let input = mixed_input(&mut rng, 300_000, 0);
    let expected = oracle(Casing::Unicode, InvalidUtf8::PassThrough, &input);
    for connect in [addr.clone(), format!("localhost:{}", server.addr().port())] {
        let args = [
            "client",
            "--connect",
            &connect,
            "--tls",
            "--tls-ca",
            pki.ca(),
        ];
        let (status, out, err) = run_with_stdin(&args, &input, 30);
        assert!(status.success(), "{status}: {err}");
        assert_same(&out, &expected, "client --tls");
    }
    for mode in [["--mode", "rr"], ["--mode", "stream"]] {
        let mut args = vec!["--connect", &addr, "--tls", "--tls-ca", pki.ca()];
        args.extend_from_slice(&mode);
        args.extend_from_slice(&[
            "--connections",
            "3",
            "--requests",
            "300",
            "--payload",
            "unicode",
        ]);
        let (status, json, err) = run_bench(&args, 60);
        assert!(status.success(), "bench {mode:?}: {status}: {err}\n{json}");
        assert!(json.contains("\"mismatches\":0"), "{json}");
    }
}

/// Mutual TLS: no certificate, another CA's and an expired one are
/// refused (client exit 11, logged and counted); a good one is served and
/// its identity logged with the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_mutual_refuses_bad_client_certificates() {
    let pki = Pki::new("mutual");
    let server = pki.serve(
        &pki.server,
        &["--tls-client-ca", pki.ca(), "--metrics", "127.0.0.1:0"],
    );
    let addr = server.addr().to_string();
    let base = ["client", "--connect", &addr, "--tls", "--tls-ca", pki.ca()];
    let input = b"hello, mutual world\n";

    let (status, out, err) = run_with_stdin(&base, input, 20);
    assert_eq!(status.code(), Some(11), "no certificate: {err}");
    assert!(
        out.is_empty() && err.contains("refused the client certificate"),
        "{err}"
    );

    for (pair, what) in [
        (&pki.stranger, "another CA"),
        (&pki.expired_client, "expired"),
    ] {
        let mut args = base.to_vec();
        args.extend_from_slice(&["--tls-cert", pair.cert(), "--tls-key", pair.key()]);
        let (status, out, err) = run_with_stdin(&args, input, 20);
        assert_eq!(status.code(), Some(11), "{what}: {err}");
        assert!(out.is_empty(), "{what}: got {out:?}");
    }

    let mut args = base.to_vec();
    args.extend_from_slice(&[
        "--tls-cert",
        pki.client.cert(),
        "--tls-key",
        pki.client.key(),
    ]);
    let (status, out, err) = run_with_stdin(&args, input, 20);
    assert!(status.success(), "{status}: {err}");
    assert_eq!(out, b"HELLO, MUTUAL WORLD\n");

    // Our own rustls client too, and the identity in both log lines.
    let config = pki.client_config(Some(&pki.client));
    let got = tls_round_trip(server.addr(), &config, "straße\n".as_bytes()).await;
    assert_eq!(got, "STRASSE\n".as_bytes());
    // The log arrives through a pipe: wait for the lines, don't race them.
    server.wait_log_count("TLS handshake complete", 2).await;
    server
        .wait_log_count("(client CN=alice) closed: client closed, all answered", 2)
        .await;
    server
        .wait_log_count("the client sent no certificate", 1)
        .await;
    server.wait_log_count("client certificate refused", 2).await;

    let metrics = scrape(&server).await;
    for line in [
        "upcase_tls_handshakes_completed_total 2",
        "upcase_tls_handshakes_failed_total{reason=\"no_client_certificate\"} 1",
        "upcase_tls_handshakes_failed_total{reason=\"bad_client_certificate\"} 2",
        "upcase_connections_rejected_total{reason=\"tls_handshake\"} 3",
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
}

/// The server's metrics text (`--metrics 127.0.0.1:0`, address from the log).
async fn scrape(server: &ServerProcess) -> String {
    let mut stream = TcpStream::connect(server.metrics_addr()).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    text
}

/// The client refuses, with the reason and exit 10: an expired server
/// certificate (which the server warned about at startup), one for another
/// name (unless --tls-server-name says that name), an untrusted CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_client_refuses_bad_servers() {
    let pki = Pki::new("servers");
    let input = b"hi\n";

    let expired = pki.serve(&pki.expired_server, &[]);
    assert_eq!(
        expired.log_count("the certificate expired on"),
        1,
        "{}",
        expired.log_text()
    );
    let addr = expired.addr().to_string();
    let (status, _, err) = run_with_stdin(
        &["client", "--connect", &addr, "--tls", "--tls-ca", pki.ca()],
        input,
        20,
    );
    assert_eq!(status.code(), Some(10), "{err}");
    assert!(err.contains("expired"), "{err}");

    let wrong = pki.serve(&pki.wrong_name, &[]);
    let addr = wrong.addr().to_string();
    let args = ["client", "--connect", &addr, "--tls", "--tls-ca", pki.ca()];
    let (status, _, err) = run_with_stdin(&args, input, 20);
    assert_eq!(status.code(), Some(10), "{err}");
    assert!(err.contains("not valid for name"), "{err}");
    let mut named = args.to_vec();
    named.extend_from_slice(&["--tls-server-name", "other.example"]);
    let (status, out, err) = run_with_stdin(&named, input, 20);
    assert!(status.success(), "{err}");
    assert_eq!(out, b"HI\n");

    // Our CA is not among the platform's roots.
    let good = pki.serve(&pki.server, &[]);
    let addr = good.addr().to_string();
    let (status, _, err) = run_with_stdin(&["client", "--connect", &addr, "--tls"], input, 20);
    assert_eq!(status.code(), Some(10), "{err}");
    assert!(err.contains("UnknownIssuer"), "{err}");
}

/// A plain client on a TLS port reads one line saying so; a TLS client on a
/// plain port fails with a message that says so. Neither hangs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_plain_mixed_up() {
    let pki = Pki::new("mixed");
    let tls = pki.serve(&pki.server, &[]);
    let addr = tls.addr().to_string();
    let (status, out, err) = run_with_stdin(&["client", "--connect", &addr], b"hello\n", 20);
    let out = String::from_utf8_lossy(&out);
    assert!(
        out.contains("this port speaks TLS"),
        "{status} {out:?} {err}"
    );
    tls.wait_log("the client does not speak TLS", Duration::from_secs(5))
        .await;

    let plain = ServerProcess::start(&["--listen", "127.0.0.1:0"]);
    let addr = plain.addr().to_string();
    let (status, _, err) = run_with_stdin(
        &[
            "client",
            "--connect",
            &addr,
            "--tls",
            "--tls-ca",
            pki.ca(),
            "--timeout",
            "5",
        ],
        b"hello\n",
        20,
    );
    assert_eq!(status.code(), Some(10), "{err}");
    assert!(err.contains("does not speak TLS"), "{err}");
}

/// Bad files: one clear line each, exit 2, before listening.
#[test]
fn tls_bad_files_are_refused_at_startup() {
    let pki = Pki::new("files");
    let missing = pki.dir.path.join("missing.pem");
    let missing = missing.to_str().unwrap();
    let no_cert = pki.dir.path.join("no-cert.pem");
    std::fs::write(&no_cert, "just text\n").unwrap();
    let no_cert = no_cert.to_str().unwrap();
    let encrypted = pki.dir.path.join("encrypted.key");
    std::fs::write(
        &encrypted,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    let encrypted = encrypted.to_str().unwrap();
    let cases: [(&str, &str, &str); 5] = [
        (missing, pki.server.key(), "cannot read --tls-cert"),
        (pki.server.cert(), missing, "cannot read --tls-key"),
        (no_cert, pki.server.key(), "no certificate in it"),
        (
            pki.server.cert(),
            pki.client.key(),
            "does not match the certificate",
        ),
        (pki.server.cert(), encrypted, "the key is encrypted"),
    ];
    for (cert, key, needle) in cases {
        let (status, err) = crate::common::run_to_exit(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert,
            "--tls-key",
            key,
        ]);
        assert_eq!(status.code(), Some(2), "{needle}: {err}");
        assert!(err.contains(needle), "{needle}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(!err.contains("listening on"), "{err}");
    }
    // The client checks its files before connecting.
    let (status, _, err) = run_with_stdin(
        &[
            "client",
            "--connect",
            "127.0.0.1:9",
            "--tls",
            "--tls-ca",
            missing,
        ],
        b"",
        20,
    );
    assert_eq!(status.code(), Some(10), "{err}");
    assert!(err.contains("cannot read --tls-ca"), "{err}");
}

/// A handshake that does not complete within --tls-handshake-timeout is
/// closed and counted, and it holds a connection slot meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_handshake_timeout() {
    let pki = Pki::new("timeout");
    let server = pki.serve(
        &pki.server,
        &[
            "--tls-handshake-timeout",
            "0.5",
            "--max-connections",
            "1",
            "--metrics",
            "127.0.0.1:0",
        ],
    );
    within(20, "handshake timeout", async {
        // Half a ClientHello record header, then nothing.
        let mut stalled = TcpStream::connect(server.addr()).await.unwrap();
        stalled.write_all(&[0x16, 0x03]).await.unwrap();
        let started = std::time::Instant::now();
        // The stalled handshake holds the only slot: a client arriving now
        // is refused at once (over capacity), not left waiting.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let config = pki.client_config(None);
        let tcp = TcpStream::connect(server.addr()).await.unwrap();
        let refused = tokio_rustls::TlsConnector::from(Arc::clone(&config))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await;
        assert!(refused.is_err(), "served while the only slot was held");
        // The handshake timeout closes the stalled connection and frees it.
        let mut buf = [0u8; 16];
        assert_eq!(stalled.read(&mut buf).await.unwrap_or(0), 0);
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "{:?}",
            started.elapsed()
        );
        let got = tls_round_trip(server.addr(), &config, b"after\n").await;
        assert_eq!(got, b"AFTER\n");
    })
    .await;
    server
        .wait_log(
            "not complete within --tls-handshake-timeout",
            Duration::from_secs(5),
        )
        .await;
    let metrics = scrape(&server).await;
    assert!(
        metrics.contains("upcase_tls_handshakes_failed_total{reason=\"timeout\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("upcase_connections_rejected_total{reason=\"over_capacity\"} 1"),
        "{metrics}"
    );
}

/// SIGHUP mid-stream: the open connection completes byte-exact with the
/// old certificate, a new one sees the new certificate; a bad pair on the
/// next SIGHUP is refused and the last good one kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_sighup_reloads_without_dropping_connections() {
    let pki = Pki::new("reload");
    let live = Pair {
        cert: pki.dir.path.join("live.pem"),
        key: pki.dir.path.join("live.key"),
    };
    std::fs::copy(&pki.server.cert, &live.cert).unwrap();
    std::fs::copy(&pki.server.key, &live.key).unwrap();
    let server = pki.serve(&live, &[]);
    let config = pki.client_config(None);
    let mut rng = Rng::new(Rng::seed("tls reload", 16));
    let input = mixed_input(&mut rng, 400_000, 2);
    let expected = oracle(Casing::Unicode, InvalidUtf8::PassThrough, &input);

    within(60, "reload", async {
        let stream = tls_connect(server.addr(), &config).await;
        assert_eq!(peer_cert(&stream), pki.server.der());
        let (mut reader, mut writer) = tokio::io::split(stream);
        let half = input.len() / 2;
        let read = tokio::spawn(async move {
            let mut out = Vec::new();
            reader.read_to_end(&mut out).await.unwrap();
            out
        });
        writer.write_all(&input[..half]).await.unwrap();
        writer.flush().await.unwrap();

        // A key that does not match the certificate: refused, old pair kept.
        std::fs::copy(&pki.client.key, &live.key).unwrap();
        server.signal(Signal::SIGHUP);
        server
            .wait_log("TLS certificate not reloaded", Duration::from_secs(5))
            .await;
        assert_eq!(
            peer_cert(&tls_connect(server.addr(), &config).await),
            pki.server.der()
        );

        // A renewed pair from the same CA: new handshakes get it.
        let renewed = pki.renewed_server();
        std::fs::copy(&renewed.cert, &live.cert).unwrap();
        std::fs::copy(&renewed.key, &live.key).unwrap();
        server.signal(Signal::SIGHUP);
        server
            .wait_log("TLS certificate reloaded", Duration::from_secs(5))
            .await;
        assert_eq!(
            peer_cert(&tls_connect(server.addr(), &config).await),
            renewed.der()
        );

        writer.write_all(&input[half..]).await.unwrap();
        writer.shutdown().await.unwrap();
        let got = read.await.unwrap();
        assert_same(&got, &expected, "stream across the reload");
    })
    .await;
}

fn peer_cert(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    let (_, session) = stream.get_ref();
    session.peer_certificates().unwrap()[0].clone().into_owned()
}

/// Whether `program` runs here (`openssl`, `python3`).
fn available(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Runs `command` with `input` on stdin (left open: `s_client -quiet`
/// does not close the connection at EOF) until its stdout holds `want`
/// bytes or `secs` pass; then kills it and returns stdout and stderr.
fn run_until(mut command: Command, input: &[u8], want: usize, secs: u64) -> (Vec<u8>, String) {
    use std::io::{Read, Write};
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (sender, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || sender.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    let mut out = Vec::new();
    while out.len() < want {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match received.recv_timeout(left) {
            Ok(chunk) => out.extend_from_slice(&chunk),
            Err(_) => break,
        }
    }
    // Anything more would be a bug: give it a moment to show up.
    std::thread::sleep(Duration::from_millis(100));
    while let Ok(chunk) = received.try_recv() {
        out.extend_from_slice(&chunk);
    }
    let _ = child.kill();
    let _ = child.wait();
    drop(stdin);
    (out, errors.join().unwrap())
}

/// `openssl s_client` (TLS 1.2 and 1.3, with a client certificate) gets
/// exactly the oracle's output, and the server logs the client's identity.
#[test]
fn tls_interop_openssl_s_client() {
    if !available("openssl", "version") {
        eprintln!("skipping: openssl not installed (apt-get install openssl)");
        return;
    }
    let pki = Pki::new("s-client");
    let server = pki.serve(&pki.server, &["--tls-client-ca", pki.ca()]);
    let mut rng = Rng::new(Rng::seed("tls s_client", 17));
    let input = mixed_input(&mut rng, 50_000, 0);
    let expected = oracle(Casing::Unicode, InvalidUtf8::PassThrough, &input);
    for (version, logged) in [("-tls1_2", "TLSv1_2"), ("-tls1_3", "TLSv1_3")] {
        let mut command = Command::new("openssl");
        command.args([
            "s_client",
            "-quiet",
            "-verify_return_error",
            "-verify_hostname",
            "localhost",
            "-servername",
            "localhost",
            version,
            "-CAfile",
            pki.ca(),
            "-cert",
            pki.client.cert(),
            "-key",
            pki.client.key(),
            "-connect",
            &server.addr().to_string(),
        ]);
        let (out, err) = run_until(command, &input, expected.len(), 20);
        assert_same(&out, &expected, &format!("s_client {version} ({err})"));
        let line = format!("({logged}, ");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while server.log_count(&line) == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(server.log_count(&line), 1, "{}", server.log_text());
    }
    assert_eq!(
        server.log_count(": client CN=alice"),
        2,
        "{}",
        server.log_text()
    );
}

/// Python's `ssl` around the textbook client: one sentence and one
/// `recv(1024)`; then a loop of many sentences on one TLS connection, each
/// reply read to its newline, ending with close_notify (`unwrap`).
#[test]
fn tls_interop_python_ssl() {
    if !available("python3", "--version") {
        eprintln!("skipping: python3 not installed");
        return;
    }
    const SCRIPT: &str = r#"
import socket, ssl, sys
host, port, cafile, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ctx = ssl.create_default_context(cafile=cafile)
out = sys.stdout.buffer
if count == 0:
    # The textbook client, wrapped.
    with socket.create_connection((host, port)) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            s.sendall("hello, wörld\n".encode())
            out.write(s.recv(1024))
    sys.exit(0)
with socket.create_connection((host, port)) as raw:
    with ctx.wrap_socket(raw, server_hostname=host) as s:
        for i in range(count):
            s.sendall(f"sentence {i}: straße, ǆ, ﬁ, σς, ǰ and ß.\n".encode())
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = s.recv(1024)
                if not chunk:
                    sys.exit(f"server closed after {i} sentences")
                reply += chunk
            out.write(reply)
        s.unwrap()
"#;
    let pki = Pki::new("python");
    let server = pki.serve(&pki.server, &[]);
    let port = server.addr().port().to_string();
    let python = |count: usize| {
        let output = Command::new("python3")
            .args([
                "-c",
                SCRIPT,
                "localhost",
                &port,
                pki.ca(),
                &count.to_string(),
            ])
            .output()
            .expect("python3");
        let err = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "python: {err}");
        output.stdout
    };
    assert_eq!(python(0), "HELLO, WÖRLD\n".as_bytes());
    let count = 500;
    let input: String = (0..count)
        .map(|i| format!("sentence {i}: straße, ǆ, ﬁ, σς, ǰ and ß.\n"))
        .collect();
    let expected = oracle(Casing::Unicode, InvalidUtf8::PassThrough, input.as_bytes());
    assert_same(&python(count), &expected, "python loop");
}

/// HAProxy in TCP mode with `send-proxy-v2` in front of a TLS server with
/// `--proxy-protocol`: the PROXY header, then the handshake. Clients get
/// exact output, and the log names each by its own address and identity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_behind_haproxy() {
    let Some(binary) = find_haproxy() else {
        eprintln!("skipping: haproxy not installed (apt-get install haproxy)");
        return;
    };
    let pki = Pki::new("haproxy");
    let server = pki.serve(
        &pki.server,
        &["--proxy-protocol", "--tls-client-ca", pki.ca()],
    );
    let proxy = Haproxy::start(&binary, &[server.addr()]);
    let config = pki.client_config(Some(&pki.client));
    let mut rng = Rng::new(Rng::seed("tls haproxy", 18));
    within(60, "tls behind haproxy", async {
        let mut clients = Vec::new();
        for _ in 0..8 {
            let input = mixed_input(&mut rng, 20_000, 0);
            let config = Arc::clone(&config);
            let frontend = proxy.frontend;
            clients.push(tokio::spawn(async move {
                let stream = tls_connect(frontend, &config).await;
                let port = stream.get_ref().0.local_addr().unwrap().port();
                let got = crate::common::exchange(stream, &input).await;
                let expected = oracle(Casing::Unicode, InvalidUtf8::PassThrough, &input);
                assert_same(&got, &expected, "through haproxy");
                port
            }));
        }
        for client in clients {
            let port = client.await.unwrap();
            let closed = format!("peer=127.0.0.1:{port} ");
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            let found = loop {
                let found = server.log_lines().into_iter().find(|line| {
                    line.contains("(client CN=alice) closed: client closed, all answered")
                        && line.contains(&closed)
                });
                if found.is_some() || std::time::Instant::now() > deadline {
                    break found;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            };
            assert!(
                found.is_some(),
                "no close line for client port {port}:\n{}",
                server.log_text()
            );
        }
    })
    .await;
}

/// A server that answers and then closes without `close_notify` (so the
/// reply could have been cut by anyone on the path): the client prints what
/// came, says why, and exits 10 instead of 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_client_reports_close_without_close_notify() {
    let pki = Pki::new("truncated");
    let certs = vec![pki.server.der()];
    let key = PrivateKeyDer::from_pem_file(&pki.server.key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(tcp).await.unwrap();
        let mut input = Vec::new();
        // Up to the client's close_notify.
        tls.read_to_end(&mut input).await.unwrap();
        tls.write_all(&input.to_ascii_uppercase()).await.unwrap();
        tls.flush().await.unwrap();
        // FIN without close_notify.
        let (mut tcp, _) = tls.into_inner();
        tcp.shutdown().await.unwrap();
    });
    let args = [
        "client",
        "--connect",
        &addr,
        "--tls",
        "--tls-ca",
        pki.ca(),
        "--tls-server-name",
        "localhost",
    ];
    let (status, out, err) =
        tokio::task::block_in_place(|| run_with_stdin(&args, b"cut short?\n", 20));
    server.await.unwrap();
    assert_eq!(out, b"CUT SHORT?\n");
    assert_eq!(status.code(), Some(10), "{err}");
    assert!(err.contains("without TLS close_notify"), "{err}");
}

/// A TCP stream whose first write carries a PROXY header in front of the
/// caller's bytes: the header and the ClientHello arrive in one segment.
struct HeaderFirst {
    tcp: TcpStream,
    header: Option<Vec<u8>>,
}

impl tokio::io::AsyncRead for HeaderFirst {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for HeaderFirst {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::task::Poll;
        let Some(header) = self.header.take() else {
            return std::pin::Pin::new(&mut self.tcp).poll_write(cx, buf);
        };
        let mut joined = header.clone();
        joined.extend_from_slice(buf);
        match std::pin::Pin::new(&mut self.tcp).poll_write(cx, &joined) {
            // A few hundred bytes into an empty loopback socket: all at once.
            Poll::Ready(Ok(n)) => {
                assert_eq!(n, joined.len(), "the first write went out whole");
                Poll::Ready(Ok(buf.len()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => {
                self.header = Some(header);
                Poll::Pending
            }
        }
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.tcp).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// `--proxy-protocol` with TLS when the PROXY header and the ClientHello
/// come in one segment: the bytes after the header are the handshake's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_proxy_header_and_client_hello_in_one_segment() {
    let pki = Pki::new("proxy-one-segment");
    let server = pki.serve(&pki.server, &["--proxy-protocol"]);
    let config = pki.client_config(None);
    let claimed: SocketAddr = "192.0.2.7:4242".parse().unwrap();
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let io = HeaderFirst {
        header: Some(upcase::oracle::proxy_v1(claimed, server.addr())),
        tcp,
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(&config));
    let stream = within(10, "handshake", async {
        connector
            .connect(ServerName::try_from("localhost").unwrap(), io)
            .await
            .expect("TLS handshake after the PROXY header")
    })
    .await;
    let got = within(
        10,
        "exchange",
        crate::common::exchange(stream, "größer\n".as_bytes()),
    )
    .await;
    assert_eq!(got, "GRÖSSER\n".as_bytes());
    // The log names the client the header claimed, on the close line too.
    server
        .wait_log_count("closed: client closed, all answered peer=192.0.2.7:4242", 1)
        .await;
}

/// `upcase client --tls` at a terminal: prompt, sentence, capitals, and
/// Ctrl-D ends it cleanly (close_notify both ways through the relay).
#[test]
fn tls_interactive_client() {
    const PROMPT: &str = "Input lowercase sentence: ";
    const WAIT: Duration = Duration::from_secs(10);
    let pki = Pki::new("interactive");
    let server = pki.serve(&pki.server, &[]);
    let addr = format!("localhost:{}", server.addr().port());
    let mut term = crate::common::pty::PtySession::spawn(&[
        "client",
        "--connect",
        &addr,
        "--tls",
        "--tls-ca",
        pki.ca(),
    ]);
    term.expect(PROMPT, WAIT);
    term.type_keys("hello, straße\n");
    term.expect("HELLO, STRASSE\n", WAIT);
    term.expect_count(PROMPT, 2, WAIT);
    term.end_cleanly(WAIT);
}
