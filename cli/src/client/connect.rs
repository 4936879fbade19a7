//! `--connect HOST:PORT`: parsing, resolving, and connecting to the first
//! address that answers.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Duration;

use tracing::debug;

use super::failure::{secs, Failure};

/// A server address as the user wrote it: a host name or IP literal and a
/// port. Resolved only when connecting, so a name can map to several
/// addresses (IPv6 and IPv4) and each is tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    host: String,
    port: u16,
}

impl Endpoint {
    /// Parses `HOST:PORT`, `IPv4:PORT` or `[IPv6]:PORT` (the `--connect`
    /// value parser, so a malformed value is a usage error, exit 2).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let expected = || {
            format!(
                "'{text}' is not HOST:PORT; write e.g. 127.0.0.1:12000, \
                 localhost:12000 or [::1]:12000"
            )
        };
        let (host, port) = text.rsplit_once(':').ok_or_else(expected)?;
        let host = match host.strip_prefix('[') {
            Some(inner) => inner.strip_suffix(']').ok_or_else(expected)?,
            None if host.contains(':') => {
                return Err(format!(
                    "'{text}': write an IPv6 address in brackets, such as [::1]:12000"
                ))
            }
            None => host,
        };
        if host.is_empty() {
            return Err(expected());
        }
        let port = match port.parse::<u16>() {
            Ok(port) if port != 0 => port,
            _ => return Err(format!("'{port}' is not a port number (1-65535)")),
        };
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }

    /// The host as written (a name or an IP literal, without brackets).
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// The addresses to try, in the resolver's order. `limit` bounds the
    /// lookup (which the system resolver itself does not).
    fn resolve(&self, limit: Option<Duration>) -> Result<Vec<SocketAddr>, Failure> {
        // A literal needs no lookup (and `::1` must not be taken for a name).
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, self.port)]);
        }
        let query = (self.host.clone(), self.port);
        let lookup = move || {
            query
                .to_socket_addrs()
                .map(|addrs| addrs.collect::<Vec<_>>())
        };
        let result = match limit {
            None => lookup(),
            Some(limit) => {
                // getaddrinfo cannot be cancelled: run it aside and stop
                // waiting for it; the process exits soon after anyway.
                let (send, receive) = mpsc::channel();
                std::thread::spawn(move || {
                    let _ = send.send(lookup());
                });
                receive.recv_timeout(limit).map_err(|_| {
                    Failure::Timeout(format!(
                        "resolving '{}' took longer than --timeout {}",
                        self.host,
                        secs(limit)
                    ))
                })?
            }
        };
        match result {
            Ok(addrs) if !addrs.is_empty() => Ok(addrs),
            Ok(_) => Err(Failure::Unresolved(format!(
                "cannot resolve host '{}': it has no addresses",
                self.host
            ))),
            Err(err) => Err(Failure::Unresolved(format!(
                "cannot resolve host '{}': {err}",
                self.host
            ))),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Resolves `endpoint` and connects to the first of its addresses that
/// accepts, each attempt bounded by `limit`.
pub(super) fn connect(endpoint: &Endpoint, limit: Option<Duration>) -> Result<TcpStream, Failure> {
    let addrs = endpoint.resolve(limit)?;
    let mut failures = Vec::with_capacity(addrs.len());
    for addr in &addrs {
        let attempt = match limit {
            Some(limit) => TcpStream::connect_timeout(addr, limit),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(stream) => {
                debug!(%addr, "connected");
                return Ok(stream);
            }
            Err(err) => {
                debug!(%addr, "cannot connect: {err}");
                failures.push(err);
            }
        }
    }
    Err(connect_failure(endpoint, &addrs, &failures, limit))
}

/// One message for all the failed attempts: refused everywhere (3), timed
/// out somewhere (7), or the first other error (1).
fn connect_failure(
    endpoint: &Endpoint,
    addrs: &[SocketAddr],
    failures: &[io::Error],
    limit: Option<Duration>,
) -> Failure {
    // Name the resolved addresses too when they differ from what was typed.
    let literal = addrs.len() == 1 && endpoint.host.parse::<IpAddr>().is_ok();
    let target = if literal {
        endpoint.to_string()
    } else {
        let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        format!("{endpoint} ({})", list.join(", "))
    };
    let kinds = || failures.iter().map(io::Error::kind);
    if kinds().all(|kind| kind == io::ErrorKind::ConnectionRefused) {
        Failure::Refused(format!(
            "connection refused by {target}: nothing is listening there \
             (is `upcase serve` running?)"
        ))
    } else if kinds().any(|kind| kind == io::ErrorKind::TimedOut) {
        match limit {
            Some(limit) => Failure::Timeout(format!(
                "connecting to {target} took longer than --timeout {}",
                secs(limit)
            )),
            None => Failure::Timeout(format!("connecting to {target} timed out")),
        }
    } else {
        let first = failures
            .iter()
            .find(|err| err.kind() != io::ErrorKind::ConnectionRefused)
            .or(failures.first());
        match first {
            Some(err) => Failure::Io(format!("cannot connect to {target}: {err}")),
            None => Failure::Io(format!("cannot connect to {target}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_literals() {
        let ep = Endpoint::parse("localhost:12000").unwrap();
        assert_eq!((ep.host.as_str(), ep.port), ("localhost", 12000));
        let ep = Endpoint::parse("[::1]:80").unwrap();
        assert_eq!((ep.host.as_str(), ep.port), ("::1", 80));
        assert_eq!(ep.to_string(), "[::1]:80");
        let ep = Endpoint::parse("10.0.0.1:1").unwrap();
        assert_eq!(ep.to_string(), "10.0.0.1:1");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "localhost",
            ":12000",
            "host:",
            "host:0",
            "host:65536",
            "::1:80",
            "[::1:80",
            "[]:80",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn literal_needs_no_lookup() {
        let ep = Endpoint::parse("[::1]:9").unwrap();
        assert_eq!(ep.resolve(None).unwrap(), vec!["[::1]:9".parse().unwrap()]);
    }
}
