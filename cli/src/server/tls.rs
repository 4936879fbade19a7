//! `upcase serve --tls-cert PEM --tls-key PEM`: TLS on every listener.
//!
//! * [`TlsServer`] — the rustls configuration, with a certificate resolver
//!   whose pair SIGHUP replaces ([`reload_on_sighup`]) while open
//!   connections keep theirs; a bad new pair is refused and the old kept.
//! * [`handshake`] — after the PROXY header (if any) and the per-address
//!   limit, within `--tls-handshake-timeout`, holding the connection's slot.
//!   A client whose first byte is not a TLS handshake record gets one plain
//!   line saying so, instead of an alert it cannot read.
//! * [`Stream`] — what the generic connection loop reads and writes: the
//!   TCP stream itself (the plain path is unchanged) or TLS over it.
//! * [`TlsMetrics`] — handshakes completed and failed by reason.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use metrics::{Counter, Key, Label, Level, Metadata, Recorder};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use super::close::CloseReason;
use super::connection::{self, LINGER};
use super::Metrics;
use crate::args::parse_duration;
use crate::tls::{certified_key, identity, load_certs, provider, validity_problem, VERSIONS};

/// What a plain-TCP client on a TLS port reads before the server closes.
const NOT_TLS_REPLY: &[u8] =
    b"upcase: this port speaks TLS; connect with TLS (upcase client --tls)\n";

/// The TLS flags of `upcase serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct TlsServeArgs {
    /// Serve TLS (1.2 and 1.3) on every --listen address with this
    /// certificate chain (PEM, leaf first). Needs --tls-key. SIGHUP reloads
    /// the pair from the same files.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM: PKCS#8, RSA or EC; not encrypted).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Mutual TLS: require a client certificate issued by a CA in this PEM
    /// file; the client's identity is logged with its connection.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,

    /// Close a connection whose TLS handshake has not completed within this
    /// many seconds (it holds a connection slot meanwhile).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_duration, allow_hyphen_values = true)]
    tls_handshake_timeout: Duration,
}

impl TlsServeArgs {
    /// The TLS configuration, `None` without --tls-cert, or a one-line error.
    pub(super) fn build(&self) -> Result<Option<TlsServer>, String> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        if self.tls_handshake_timeout.is_zero() {
            return Err("--tls-handshake-timeout must be more than 0".into());
        }
        TlsServer::new(
            cert,
            key,
            self.tls_client_ca.as_deref(),
            self.tls_handshake_timeout,
        )
        .map(Some)
    }
}

/// The server's TLS: configuration, reloadable certificate and handshake
/// timeout. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct TlsServer(Arc<Inner>);

struct Inner {
    config: Arc<rustls::ServerConfig>,
    resolver: Arc<Reloadable>,
    cert: PathBuf,
    key: PathBuf,
    handshake_timeout: Duration,
}

impl TlsServer {
    /// Loads the certificate pair (and the client CA for mutual TLS) and
    /// builds the rustls configuration; a one-line error if anything is
    /// wrong. A certificate outside its validity period is served with a
    /// warning (clients will refuse it).
    pub fn new(
        cert: &Path,
        key: &Path,
        client_ca: Option<&Path>,
        handshake_timeout: Duration,
    ) -> Result<Self, String> {
        let pair = load_pair(cert, key)?;
        let resolver = Arc::new(Reloadable(RwLock::new(Arc::new(pair))));
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(VERSIONS)
            .map_err(|err| format!("TLS setup: {err}"))?;
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for cert in load_certs("--tls-client-ca", ca)? {
                    roots.add(cert).map_err(|err| {
                        format!(
                            "--tls-client-ca {}: unusable CA certificate: {err}",
                            ca.display()
                        )
                    })?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                        .build()
                        .map_err(|err| format!("--tls-client-ca {}: {err}", ca.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder.with_cert_resolver(Arc::clone(&resolver) as _);
        Ok(Self(Arc::new(Inner {
            config: Arc::new(config),
            resolver,
            cert: cert.to_owned(),
            key: key.to_owned(),
            handshake_timeout,
        })))
    }

    /// Loads the pair again from the same files. New handshakes use it;
    /// open connections keep theirs. On error the current pair stays.
    pub fn reload(&self) -> Result<(), String> {
        let pair = load_pair(&self.0.cert, &self.0.key)?;
        *self
            .0
            .resolver
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(pair);
        Ok(())
    }

    /// How long a handshake may take.
    pub fn handshake_timeout(&self) -> Duration {
        self.0.handshake_timeout
    }
}

impl fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TlsServer {{ cert: {:?}, key: {:?}, handshake_timeout: {:?} }}",
            self.0.cert, self.0.key, self.0.handshake_timeout
        )
    }
}

/// Two handles are equal when they are the same configuration.
impl PartialEq for TlsServer {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TlsServer {}

/// Loads and checks the pair; warns if the certificate is not valid now.
fn load_pair(cert: &Path, key: &Path) -> Result<CertifiedKey, String> {
    let pair = certified_key("--tls-cert", cert, "--tls-key", key)?;
    let leaf = &pair.cert[0];
    if let Some(problem) = validity_problem(leaf) {
        warn!(
            "--tls-cert {}: the certificate {problem}: clients will refuse it",
            cert.display()
        );
    }
    info!(
        "TLS certificate {} loaded: {}",
        cert.display(),
        identity(leaf)
    );
    Ok(pair)
}

/// The current certificate pair, replaced whole on reload.
#[derive(Debug)]
struct Reloadable(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Reloadable {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.0.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

/// Reloads `tls` on every SIGHUP, for the life of the runtime.
pub(super) fn reload_on_sighup(tls: TlsServer) -> io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            match tls.reload() {
                Ok(()) => info!("SIGHUP: TLS certificate reloaded; new handshakes use it"),
                Err(err) => {
                    error!("SIGHUP: TLS certificate not reloaded, keeping the current one: {err}")
                }
            }
        }
    });
    Ok(())
}

/// Why a handshake failed, for the close line and the metrics.
#[derive(Debug)]
pub(super) struct HandshakeFailure {
    reason: Reason,
    detail: String,
}

/// `upcase_tls_handshakes_failed_total{reason}` labels.
#[derive(Debug, Clone, Copy)]
enum Reason {
    Timeout,
    NotTls,
    NoClientCertificate,
    BadClientCertificate,
    ClientAlert,
    Protocol,
    Closed,
}

const REASONS: [&str; 7] = [
    "timeout",
    "not_tls",
    "no_client_certificate",
    "bad_client_certificate",
    "client_alert",
    "protocol",
    "closed",
];

impl fmt::Display for HandshakeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS handshake failed: {}", self.detail)
    }
}

impl HandshakeFailure {
    fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }

    /// Sorts an error from the handshake.
    fn from_io(err: &io::Error) -> Self {
        use rustls::Error as E;
        let Some(tls) = crate::tls::rustls_error(err) else {
            return Self::new(Reason::Closed, format!("connection lost: {err}"));
        };
        let reason = match tls {
            E::NoCertificatesPresented => {
                return Self::new(
                    Reason::NoClientCertificate,
                    "the client sent no certificate (mutual TLS requires one)",
                )
            }
            E::InvalidCertificate(_) => Reason::BadClientCertificate,
            E::AlertReceived(_) => Reason::ClientAlert,
            _ => Reason::Protocol,
        };
        let detail = match reason {
            Reason::BadClientCertificate => format!("client certificate refused: {tls}"),
            Reason::ClientAlert => format!("the client aborted: {tls}"),
            _ => tls.to_string(),
        };
        Self::new(reason, detail)
    }
}

/// Handshake counters, registered with the server's [`Metrics`].
pub(super) struct TlsMetrics {
    completed: Counter,
    failed: [Counter; REASONS.len()],
}

impl TlsMetrics {
    /// Registers `upcase_tls_handshakes_completed_total` and
    /// `upcase_tls_handshakes_failed_total{reason}` (all at zero).
    pub(super) fn register(recorder: &impl Recorder) -> Self {
        const META: Metadata<'static> =
            Metadata::new(module_path!(), Level::INFO, Some(module_path!()));
        recorder.describe_counter(
            "upcase_tls_handshakes_completed_total".into(),
            None,
            "TLS handshakes completed.".into(),
        );
        recorder.describe_counter(
            "upcase_tls_handshakes_failed_total".into(),
            None,
            "TLS handshakes failed, by reason.".into(),
        );
        Self {
            completed: recorder.register_counter(
                &Key::from_static_name("upcase_tls_handshakes_completed_total"),
                &META,
            ),
            failed: REASONS.map(|reason| {
                let key = Key::from_parts(
                    "upcase_tls_handshakes_failed_total",
                    vec![Label::from_static_parts("reason", reason)],
                );
                recorder.register_counter(&key, &META)
            }),
        }
    }
}

/// The TLS handshake of one connection, after the PROXY header (whose
/// read may have brought the first TLS bytes: `payload`). Returns the
/// stream and the client's identity (mutual TLS), or why it closed.
pub(super) async fn handshake(
    mut tcp: TcpStream,
    payload: Vec<u8>,
    tls: &TlsServer,
    peer: SocketAddr,
    metrics: Option<&Metrics>,
) -> Result<(TlsStream, Option<String>), CloseReason> {
    let deadline = Instant::now() + tls.handshake_timeout();
    let result = async {
        match first_byte(&tcp, &payload, deadline).await? {
            // A TLS record of type handshake (ClientHello) starts with 22.
            0x16 => {}
            _ => {
                let _ = tcp.write_all(NOT_TLS_REPLY).await;
                connection::linger(&mut tcp).await;
                return Err(HandshakeFailure::new(
                    Reason::NotTls,
                    "the client does not speak TLS (plain TCP on a TLS port?)",
                ));
            }
        }
        let io = Prefixed {
            prefix: payload,
            pos: 0,
            tcp,
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(&tls.0.config));
        match tokio::time::timeout_at(deadline, acceptor.accept(io)).await {
            Err(_) => Err(timed_out(tls)),
            Ok(Err(err)) => Err(HandshakeFailure::from_io(&err)),
            Ok(Ok(stream)) => Ok(stream),
        }
    }
    .await;
    let tls_metrics = metrics.map(Metrics::tls);
    match result {
        Ok(stream) => {
            let (_, session) = stream.get_ref();
            let client = session
                .peer_certificates()
                .and_then(|certs| certs.first())
                .map(identity);
            let mut params = String::new();
            if let (Some(version), Some(suite)) = (
                session.protocol_version(),
                session.negotiated_cipher_suite(),
            ) {
                params = format!(" ({version:?}, {:?})", suite.suite());
            }
            match &client {
                Some(client) => info!(%peer, "TLS handshake complete{params}: client {client}"),
                None => debug!(%peer, "TLS handshake complete{params}"),
            }
            if let Some(m) = tls_metrics {
                m.completed.increment(1);
            }
            Ok((stream, client))
        }
        Err(failure) => {
            if let Some(m) = tls_metrics {
                m.failed[failure.reason as usize].increment(1);
            }
            Err(CloseReason::TlsHandshake(failure))
        }
    }
}

fn timed_out(tls: &TlsServer) -> HandshakeFailure {
    HandshakeFailure::new(
        Reason::Timeout,
        format!(
            "not complete within --tls-handshake-timeout {:?}",
            tls.handshake_timeout()
        ),
    )
}

/// The first byte the client sent, waiting for it until `deadline`.
async fn first_byte(
    tcp: &TcpStream,
    payload: &[u8],
    deadline: Instant,
) -> Result<u8, HandshakeFailure> {
    if let Some(&first) = payload.first() {
        return Ok(first);
    }
    let mut byte = [0u8; 1];
    match tokio::time::timeout_at(deadline, tcp.peek(&mut byte)).await {
        Err(_) => Err(HandshakeFailure::new(
            Reason::Timeout,
            "the client sent nothing within --tls-handshake-timeout",
        )),
        Ok(Ok(0)) => Err(HandshakeFailure::new(
            Reason::Closed,
            "the client closed before the handshake",
        )),
        Ok(Ok(_)) => Ok(byte[0]),
        Ok(Err(err)) => Err(HandshakeFailure::new(
            Reason::Closed,
            format!("connection lost: {err}"),
        )),
    }
}

/// The TCP stream with the bytes that a PROXY header's read brought
/// along put back in front.
pub(super) struct Prefixed {
    prefix: Vec<u8>,
    pos: usize,
    tcp: TcpStream,
}

impl AsyncRead for Prefixed {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.prefix.len() {
            let n = (this.prefix.len() - this.pos).min(buf.remaining());
            buf.put_slice(&this.prefix[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.prefix.len() {
                this.prefix = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }
    /// rustls hands over its queued records as several slices: one
    /// `writev`, as on a bare `TcpStream`, instead of a `send` per call.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// A server-side TLS connection.
pub(super) type TlsStream = tokio_rustls::server::TlsStream<Prefixed>;

/// What the connection loop reads and writes: the `TcpStream` itself (the
/// loop is generic, so the plain path compiles to what it was without TLS)
/// or a [`TlsStream`].
pub(super) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {
    /// Whether a write may stay buffered until `flush` (TLS records).
    const BUFFERS_WRITES: bool;

    /// Closes after a reject without a reset (see `connection::linger`).
    fn linger(&mut self) -> impl std::future::Future<Output = ()> + Send;
}

impl Stream for TcpStream {
    const BUFFERS_WRITES: bool = false;

    fn linger(&mut self) -> impl std::future::Future<Output = ()> + Send {
        connection::linger(self)
    }
}

impl Stream for TlsStream {
    const BUFFERS_WRITES: bool = true;

    /// close_notify and FIN, then discard input until the client's close or
    /// [`LINGER`].
    async fn linger(&mut self) {
        if self.shutdown().await.is_err() {
            return;
        }
        let deadline = Instant::now() + LINGER;
        let mut sink = [0u8; 4096];
        while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, self.read(&mut sink)).await {
            if n == 0 {
                break;
            }
        }
    }
}
