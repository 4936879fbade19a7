//! `upcase client --tls`: TLS under the blocking client, as a relay.
//!
//! The client moves bytes with two threads over a blocking `TcpStream`
//! (see the module docs). TLS is a single state machine for both
//! directions, so rather than share it between those threads, the TLS
//! connection lives on a small Tokio runtime of its own thread and is
//! relayed to a loopback socket pair; the client talks to its end as it
//! would to the server. The relay carries the half-close both ways: our
//! EOF becomes TLS `close_notify` (then FIN), the server's `close_notify`
//! becomes EOF. A TLS failure after the handshake (the server refusing our
//! certificate, a close without `close_notify`) resets the client's end and
//! is reported instead of the reset.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tracing::debug;

/// After a relay error, how long to look for the server's alert.
const ALERT_WAIT: Duration = Duration::from_millis(500);

use super::failure::{secs, Failure};
use rustls::pki_types::ServerName;
use rustls::ClientConfig;

use crate::tls::{describe_client_error, rustls_error};

/// A running relay: what went wrong on the TLS side, if anything.
#[derive(Debug, Default, Clone)]
pub(super) struct Relay(Arc<Mutex<Option<Failure>>>);

impl Relay {
    /// The TLS failure that ended the relay, if one did.
    pub(super) fn failure(&self) -> Option<Failure> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// With `--tls`: the TLS handshake over `stream`, then the client's end of
/// the relay. Without: `stream` itself.
pub(super) fn wrap(
    stream: TcpStream,
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    limit: Option<Duration>,
) -> Result<(TcpStream, Option<Relay>), Failure> {
    let Some((config, name)) = tls else {
        return Ok((stream, None));
    };
    let peer = stream
        .peer_addr()
        .map_err(|err| Failure::Io(format!("connection lost: {err}")))?;
    let io_failure = |err: std::io::Error| Failure::Io(format!("cannot set up TLS: {err}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io_failure)?;

    stream.set_nonblocking(true).map_err(io_failure)?;
    stream.set_nodelay(true).map_err(io_failure)?;
    let tls = runtime.block_on(async {
        let tcp = tokio::net::TcpStream::from_std(stream)?;
        let connect = tokio_rustls::TlsConnector::from(config).connect(name, tcp);
        match limit {
            None => connect.await.map(Some),
            Some(limit) => Ok(tokio::time::timeout(limit, connect)
                .await
                .ok()
                .transpose()?),
        }
    });
    let tls = match tls {
        Ok(Some(tls)) => tls,
        Ok(None) => {
            return Err(Failure::Timeout(format!(
                "the TLS handshake with {peer} took longer than --timeout {}",
                secs(limit.unwrap_or_default())
            )))
        }
        Err(err) => return Err(handshake_failure(peer, &err)),
    };
    {
        let (_, session) = tls.get_ref();
        debug!(
            %peer,
            "TLS handshake complete ({:?}, {:?})",
            session.protocol_version(),
            session.negotiated_cipher_suite().map(|s| s.suite())
        );
    }

    let (near, far) = socket_pair().map_err(io_failure)?;
    let relay = Relay::default();
    let report = relay.clone();
    std::thread::Builder::new()
        .name("tls-relay".into())
        .spawn(move || runtime.block_on(run(far, tls, peer, report)))
        .map_err(|err| Failure::Io(format!("cannot start a thread: {err}")))?;
    Ok((near, Some(relay)))
}

/// A handshake error as the user should read it, with its exit status.
fn handshake_failure(peer: SocketAddr, err: &std::io::Error) -> Failure {
    let (message, certificate) = describe_client_error(err);
    let message = format!("TLS handshake with {peer} failed: {message}");
    if certificate {
        Failure::ClientCertificate(message)
    } else {
        Failure::Tls(message)
    }
}

/// A connected loopback pair: (the client's end, the relay's end).
fn socket_pair() -> std::io::Result<(TcpStream, std::net::TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let near = TcpStream::connect(listener.local_addr()?)?;
    let mine = near.local_addr()?;
    loop {
        // Anything else on the host could connect to this port first.
        let (far, from) = listener.accept()?;
        if from == mine {
            return Ok((near, far));
        }
    }
}

/// Relays between the client's socket and TLS until both directions end.
async fn run(
    far: std::net::TcpStream,
    mut tls: tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    peer: SocketAddr,
    report: Relay,
) {
    let far = far
        .set_nonblocking(true)
        .and_then(|()| tokio::net::TcpStream::from_std(far));
    let Ok(mut far) = far else {
        return;
    };
    let _ = far.set_nodelay(true);
    match tokio::io::copy_bidirectional_with_sizes(&mut far, &mut tls, 64 * 1024, 64 * 1024).await {
        Ok((sent, received)) => debug!(sent, received, "TLS relay done"),
        Err(mut err) => {
            debug!("TLS relay failed: {err}");
            if rustls_error(&err).is_none() {
                // A write failed because the server closed: the alert that
                // says why (e.g. it wants a client certificate) may be unread.
                let mut sink = [0u8; 4096];
                let read = tokio::time::timeout(ALERT_WAIT, async {
                    loop {
                        match tls.read(&mut sink).await {
                            Ok(0) => return None,
                            Ok(_) => {}
                            Err(err) => return Some(err),
                        }
                    }
                });
                if let Ok(Some(alert)) = read.await {
                    if rustls_error(&alert).is_some() {
                        err = alert;
                    }
                }
            }
            let truncated = err.kind() == std::io::ErrorKind::UnexpectedEof;
            if truncated || rustls_error(&err).is_some() {
                let (message, certificate) = if truncated {
                    let why = "the server closed the connection without TLS close_notify, \
                               so the reply may have been cut short";
                    (why.to_owned(), false)
                } else {
                    describe_client_error(&err)
                };
                let message = format!("TLS connection to {peer} failed: {message}");
                *report.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(if certificate {
                    Failure::ClientCertificate(message)
                } else {
                    Failure::Tls(message)
                });
            }
            // Reset the client's end so it stops at once, whichever way it
            // was waiting.
            let _ = socket2::SockRef::from(&far).set_linger(Some(Duration::ZERO));
        }
    }
}
