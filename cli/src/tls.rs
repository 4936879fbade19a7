//! TLS pieces shared by `serve`, `client` and `bench`: loading PEM
//! certificates and keys with one-line errors, building rustls
//! configurations (TLS 1.2 and 1.3, the `ring` provider), and reading what
//! rustls does not expose (validity dates, the peer's identity).
//!
//! rustls is a sans-IO TLS engine, like the codec: records in, plaintext
//! out. Over it, the codec sees one more way the stream gets split.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tracing::{debug, warn};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The crypto provider of every TLS configuration here: `ring` (see the
/// comment on the dependency in Cargo.toml).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// TLS 1.2 and 1.3, nothing older (rustls has nothing older anyway).
pub const VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Reads `path`, naming the flag and the file in the error.
fn read(flag: &str, path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|err| format!("cannot read {flag} {}: {err}", path.display()))
}

/// The certificates (PEM `CERTIFICATE` sections) in `path`, leaf first.
pub fn load_certs(flag: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = read(flag, path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("{flag} {}: not valid PEM: {err}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{flag} {}: no certificate in it (expected PEM: -----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    for cert in &certs {
        X509Certificate::from_der(cert).map_err(|err| {
            format!(
                "{flag} {}: not a valid X.509 certificate: {err}",
                path.display()
            )
        })?;
    }
    Ok(certs)
}

/// The private key in `path`: PKCS#8, PKCS#1 (RSA) or SEC1 (EC) PEM.
/// Encrypted keys are refused with the command that decrypts them.
pub fn load_key(flag: &str, path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let bytes = read(flag, path)?;
    let shown = path.display();
    let text = String::from_utf8_lossy(&bytes);
    if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(format!(
            "{flag} {shown}: the key is encrypted, which is not supported; \
             decrypt it with `openssl pkey -in {shown} -out key.pem` and keep that file private"
        ));
    }
    let mut rest: &[u8] = &bytes;
    loop {
        match pem::from_buf(&mut rest) {
            Ok(Some((kind, der))) => {
                let key = match kind {
                    SectionKind::PrivateKey => Some(PrivateKeyDer::Pkcs8(der.into())),
                    SectionKind::RsaPrivateKey => Some(PrivateKeyDer::Pkcs1(der.into())),
                    SectionKind::EcPrivateKey => Some(PrivateKeyDer::Sec1(der.into())),
                    _ => None,
                };
                if let Some(key) = key {
                    return Ok(key);
                }
            }
            Ok(None) => break,
            Err(err) => return Err(format!("{flag} {shown}: not valid PEM: {err}")),
        }
    }
    Err(format!(
        "{flag} {shown}: no private key in it (expected PEM: -----BEGIN PRIVATE KEY-----, \
         RSA PRIVATE KEY or EC PRIVATE KEY)"
    ))
}

/// A certificate chain and its key, checked to belong together.
pub fn certified_key(
    cert_flag: &str,
    cert_path: &Path,
    key_flag: &str,
    key_path: &Path,
) -> Result<CertifiedKey, String> {
    let certs = load_certs(cert_flag, cert_path)?;
    let key = load_key(key_flag, key_path)?;
    let signing = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|err| {
            format!(
                "{key_flag} {}: unsupported private key ({err}); \
             use RSA (2048+ bits), ECDSA P-256/P-384 or Ed25519",
                key_path.display()
            )
        })?;
    let certified = CertifiedKey::new(certs, signing);
    match certified.keys_match() {
        Ok(()) => Ok(certified),
        // Some key types cannot tell; rustls then checks at handshake time.
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(format!(
                "{key_flag} {} does not match the certificate in {cert_flag} {}",
                key_path.display(),
                cert_path.display()
            ))
        }
        Err(err) => Err(format!(
            "{cert_flag} {}: unusable certificate ({err}); an X.509 v3 certificate is needed",
            cert_path.display()
        )),
    }
}

/// Why `cert` is not valid now (expired or not yet valid), if so.
pub fn validity_problem(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = X509Certificate::from_der(cert).ok()?;
    let validity = parsed.validity();
    let now = x509_parser::time::ASN1Time::now();
    if now > validity.not_after {
        Some(format!("expired on {}", validity.not_after))
    } else if now < validity.not_before {
        Some(format!("not valid until {}", validity.not_before))
    } else {
        None
    }
}

/// Who a certificate names: its subject, or its first subject alternative
/// name when the subject is empty. For log lines.
pub fn identity(cert: &CertificateDer<'_>) -> String {
    let Ok((_, parsed)) = X509Certificate::from_der(cert) else {
        return "(unparsable certificate)".to_owned();
    };
    let subject = parsed.subject().to_string();
    if !subject.is_empty() {
        return subject;
    }
    let first_san = parsed
        .subject_alternative_name()
        .ok()
        .flatten()
        .and_then(|san| san.value.general_names.first().map(general_name));
    first_san.unwrap_or_else(|| "(no subject, no SAN)".to_owned())
}

fn general_name(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(dns) => format!("DNS:{dns}"),
        GeneralName::RFC822Name(mail) => format!("email:{mail}"),
        GeneralName::URI(uri) => format!("URI:{uri}"),
        other => other.to_string(),
    }
}

/// The TLS flags of `upcase client` and `upcase bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct TlsClientArgs {
    /// Speak TLS (1.2 or 1.3) to the server, verifying its certificate
    /// against the platform's CA store and --tls-ca.
    #[arg(long)]
    tls: bool,

    /// Also trust the CA certificates in this PEM file.
    #[arg(long, value_name = "PEM", requires = "tls")]
    tls_ca: Option<PathBuf>,

    /// The name the server's certificate must carry; default: the host of
    /// --connect.
    #[arg(long, value_name = "NAME", requires = "tls")]
    tls_server_name: Option<String>,

    /// Present this client certificate (PEM) to a server that asks for one.
    #[arg(long, value_name = "PEM", requires_all = ["tls", "tls_key"])]
    tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM, not encrypted).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

impl TlsClientArgs {
    /// Without `--tls`, `None`; with it, the rustls configuration and the
    /// name to verify (`--tls-server-name`, or `host`), or a one-line error.
    pub fn build(
        &self,
        host: &str,
    ) -> Result<Option<(Arc<ClientConfig>, ServerName<'static>)>, String> {
        if !self.tls {
            return Ok(None);
        }
        let setup = ClientTls {
            ca: self.tls_ca.clone(),
            cert_key: self.tls_cert.clone().zip(self.tls_key.clone()),
        };
        let config = setup.config()?;
        let name = server_name(self.tls_server_name.as_deref().unwrap_or(host))?;
        Ok(Some((config, name)))
    }
}

/// The client side of `client --tls` and `bench --tls`: what to trust and
/// what to present.
#[derive(Debug, Clone, Default)]
pub struct ClientTls {
    /// Extra CA certificates (PEM) trusted besides the platform's roots.
    pub ca: Option<std::path::PathBuf>,
    /// A client certificate and key, for servers that require one.
    pub cert_key: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

impl ClientTls {
    /// A rustls client configuration: the platform's roots plus
    /// [`ca`](Self::ca), and the client certificate if any.
    pub fn config(&self) -> Result<Arc<ClientConfig>, String> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for err in &native.errors {
            debug!("platform CA store: {err}");
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        debug!("trusting {added} platform CA certificates ({ignored} unusable)");
        if let Some(ca) = &self.ca {
            for cert in load_certs("--tls-ca", ca)? {
                roots.add(cert).map_err(|err| {
                    format!("--tls-ca {}: unusable CA certificate: {err}", ca.display())
                })?;
            }
        }
        if roots.is_empty() {
            return Err("no CA certificate to trust: the platform has none; give --tls-ca".into());
        }
        let builder = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(VERSIONS)
            .map_err(|err| format!("TLS setup: {err}"))?
            .with_root_certificates(roots);
        let config = match &self.cert_key {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let certified = certified_key("--tls-cert", cert, "--tls-key", key)?;
                if let Some(problem) = validity_problem(&certified.cert[0]) {
                    warn!("--tls-cert {}: the certificate {problem}", cert.display());
                }
                builder
                    .with_client_auth_cert(certified.cert, load_key("--tls-key", key)?)
                    .map_err(|err| format!("--tls-cert/--tls-key: {err}"))?
            }
        };
        Ok(Arc::new(config))
    }
}

/// The name to verify the server's certificate against: `--tls-server-name`
/// or the host part of the address.
pub fn server_name(name: &str) -> Result<ServerName<'static>, String> {
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    ServerName::try_from(bare.to_owned())
        .map_err(|_| format!("'{name}' is not a valid TLS server name (DNS name or IP address)"))
}

/// The rustls error inside an I/O error from tokio-rustls, if any.
pub fn rustls_error(err: &io::Error) -> Option<&rustls::Error> {
    err.get_ref()?.downcast_ref::<rustls::Error>()
}

/// A TLS failure seen by a client, worded for the user, and whether it is
/// the server refusing our certificate (or our lack of one).
pub fn describe_client_error(err: &io::Error) -> (String, bool) {
    use rustls::AlertDescription as A;
    match rustls_error(err) {
        Some(rustls::Error::AlertReceived(
            alert @ (A::CertificateRequired
            | A::BadCertificate
            | A::UnknownCA
            | A::CertificateExpired
            | A::CertificateUnknown
            | A::UnsupportedCertificate
            | A::CertificateRevoked
            | A::AccessDenied),
        )) => (
            format!("the server refused the client certificate (alert: {alert:?}); give an accepted one with --tls-cert and --tls-key"),
            true,
        ),
        Some(
            rustls::Error::InvalidMessage(_)
            | rustls::Error::InappropriateHandshakeMessage { .. }
            | rustls::Error::InappropriateMessage { .. },
        ) => (
            format!("{err}: the server does not speak TLS here (a plain-TCP port?)"),
            false,
        ),
        Some(tls) => (tls.to_string(), false),
        None if err.kind() == io::ErrorKind::UnexpectedEof => (
            "the server closed the connection during the TLS handshake (a plain-TCP port?)"
                .to_owned(),
            false,
        ),
        None => (err.to_string(), false),
    }
}

/// A client connection, plain or TLS, for `upcase bench`.
pub enum ClientStream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl ClientStream {
    /// Connects TLS over `tcp` (plain when `tls` is `None`).
    pub async fn handshake(
        tcp: TcpStream,
        tls: Option<&(Arc<ClientConfig>, ServerName<'static>)>,
    ) -> io::Result<Self> {
        match tls {
            None => Ok(Self::Plain(tcp)),
            Some((config, name)) => {
                let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
                let stream = connector.connect(name.clone(), tcp).await.map_err(|err| {
                    let (message, _) = describe_client_error(&err);
                    io::Error::new(err.kind(), format!("TLS handshake: {message}"))
                })?;
                Ok(Self::Tls(Box::new(stream)))
            }
        }
    }

    /// Reading and writing halves that can be used at once.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        match self {
            Self::Plain(tcp) => {
                let (r, w) = tcp.split();
                (ReadHalf::Plain(r), WriteHalf::Plain(w))
            }
            Self::Tls(tls) => {
                let (r, w) = tokio::io::split(&mut **tls);
                (ReadHalf::Tls(r), WriteHalf::Tls(w))
            }
        }
    }
}

impl fmt::Debug for ClientStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Plain(_) => "ClientStream::Plain",
            Self::Tls(_) => "ClientStream::Tls",
        })
    }
}

/// The reading half of a [`ClientStream`].
pub enum ReadHalf<'a> {
    /// Plain TCP.
    Plain(tokio::net::tcp::ReadHalf<'a>),
    /// TLS.
    Tls(tokio::io::ReadHalf<&'a mut tokio_rustls::client::TlsStream<TcpStream>>),
}

/// The writing half of a [`ClientStream`].
pub enum WriteHalf<'a> {
    /// Plain TCP.
    Plain(tokio::net::tcp::WriteHalf<'a>),
    /// TLS.
    Tls(tokio::io::WriteHalf<&'a mut tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Forwards `AsyncRead` to whichever variant the enum holds.
macro_rules! forward_read {
    ($type:ty) => {
        impl AsyncRead for $type {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
                    Self::Tls(s) => Pin::new(s).poll_read(cx, buf),
                }
            }
        }
    };
}

/// Forwards `AsyncWrite` to whichever variant the enum holds.
macro_rules! forward_write {
    ($type:ty) => {
        impl AsyncWrite for $type {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
                    Self::Tls(s) => Pin::new(s).poll_write(cx, buf),
                }
            }
            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    Self::Plain(s) => Pin::new(s).poll_flush(cx),
                    Self::Tls(s) => Pin::new(s).poll_flush(cx),
                }
            }
            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
                    Self::Tls(s) => Pin::new(s).poll_shutdown(cx),
                }
            }
        }
    };
}

forward_read!(ClientStream);
forward_write!(ClientStream);
forward_read!(ReadHalf<'_>);
forward_write!(WriteHalf<'_>);
