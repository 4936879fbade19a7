//! The sans-IO PROXY protocol header parser: [`ProxyParser`].
//!
//! A load balancer such as HAProxy (`send-proxy` / `send-proxy-v2`) opens
//! its own connection to the server, so the server's socket sees the load
//! balancer's address, not the client's. The PROXY protocol fixes that: the
//! load balancer sends one header ahead of the client's bytes naming the
//! real source and destination. This module reads that header, version 1
//! (one text line) or version 2 (binary), as specified in HAProxy's
//! `doc/proxy-protocol.txt`.
//!
//! Like [`Codec`](crate::Codec) it owns no socket and no clock: the caller
//! feeds it whatever chunks arrive, and it says when the header is complete
//! and **exactly how many bytes of the last chunk it took**. It never takes
//! a byte past the header, so the caller hands the rest of that chunk to the
//! next stage unchanged:
//!
//! ```text
//!   chunk ──▶ ProxyParser::feed ──▶ NeedMore               (all of the chunk was header; feed more)
//!                              └──▶ Done { header, consumed } (chunk[consumed..] is payload)
//!                              └──▶ Err(ProxyError)        (close the connection)
//! ```
//!
//! It is strict, as the specification asks ("any sequence which does not
//! exactly match the protocol must be discarded"), and rejects as early as
//! it can: a byte that cannot start or continue a header fails at once, a
//! v1 line without CRLF within 107 bytes fails at the 107th byte, and a v2
//! header announcing more than [`V2_MAX_LEN`] bytes fails at its 16th
//! byte. Errors are typed, [`#[non_exhaustive]`](ProxyError) and sticky.
//! Nothing panics on input, and the state is a fixed 108-byte buffer.
//!
//! Only enable the PROXY protocol on a listener that nothing but a trusted
//! proxy can reach: whoever sends the header chooses the address the server
//! believes, so an untrusted client could claim any address (and dodge
//! per-address limits or forge logs). The specification also forbids
//! guessing whether a header is present: when enabled, every connection
//! must start with one.
//!
//! ```
//! use upcase::proxy::{Addresses, Progress, ProxyParser};
//!
//! let mut parser = ProxyParser::new();
//! // The header arrives in two pieces, the second followed by payload.
//! assert_eq!(parser.feed(b"PROXY TCP4 192.168.0.1 19").unwrap(), Progress::NeedMore);
//! let chunk = b"2.168.0.11 56324 443\r\nhello";
//! let Progress::Done { header, consumed } = parser.feed(chunk).unwrap() else {
//!     panic!("header not complete");
//! };
//! assert_eq!(&chunk[consumed..], b"hello");
//! assert_eq!(header.source(), Some("192.168.0.1:56324".parse().unwrap()));
//! assert_eq!(header.len(), 47);
//! assert!(matches!(header.addresses(), Addresses::Inet { .. }));
//! ```

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

/// The longest version 1 header, CRLF included:
/// `PROXY UNKNOWN ffff:…:ffff ffff:…:ffff 65535 65535\r\n`.
pub const V1_MAX_LEN: usize = 107;

/// The 12 bytes every version 2 header starts with.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The fixed part of a version 2 header: signature, version and command,
/// family and protocol, and the 16-bit length of what follows.
pub const V2_FIXED_LEN: usize = 16;

/// The longest version 2 header accepted, fixed part included.
///
/// The wire format allows 16 + 65,535 bytes, but the specification designs
/// both versions to "fit in the smallest TCP segment that any TCP/IP host is
/// required to support (576 - 40 = 536 bytes)". That holds AF_UNIX addresses
/// (216 bytes) and 304 bytes of TLVs; a longer header is rejected, so a peer
/// cannot make the server buffer or skip an arbitrary amount before payload.
pub const V2_MAX_LEN: usize = 536;

/// The longest header of either version: no valid header is longer, so a
/// caller never needs to read more than this before [`ProxyParser`] decides.
pub const MAX_HEADER_LEN: usize = V2_MAX_LEN;

/// `PROXY ` — how every version 1 line starts.
const V1_PREFIX: &[u8; 6] = b"PROXY ";

/// Bytes of the v1 line kept for parsing (the final LF is not stored).
const BUF_LEN: usize = V1_MAX_LEN + 1;

/// Which version of the protocol a header used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// The human-readable text line (`PROXY TCP4 … \r\n`).
    V1,
    /// The binary format with the 12-byte signature.
    V2,
}

/// What the header says about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Relayed on behalf of a client: the addresses (if any) are the
    /// client's. Every version 1 header is this.
    Proxy,
    /// Opened by the proxy itself, typically a health check: the real
    /// endpoints are the socket's own, and any addresses are ignored.
    Local,
}

/// The transport protocol the proxy received the client on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Unknown or unsupported (v1 `UNKNOWN`, v2 `UNSPEC` or `LOCAL`).
    Unspecified,
    /// A stream protocol: TCP (or a UNIX stream socket).
    Stream,
    /// A datagram protocol: UDP (or a UNIX datagram socket).
    Datagram,
}

/// The addresses a header carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Addresses {
    /// No usable addresses: v1 `UNKNOWN`, a v2 `LOCAL` command or the
    /// v2 `AF_UNSPEC` family. Use the socket's own endpoints.
    Unspecified,
    /// IPv4 or IPv6 addresses with ports.
    Inet {
        /// The client's address and port, as the proxy saw them.
        source: SocketAddr,
        /// The address and port the client connected to on the proxy.
        destination: SocketAddr,
    },
    /// AF_UNIX socket paths (v2 only). Their 216 bytes are skipped, not
    /// kept: they name files on the proxy's host, of no use to a TCP server.
    Unix,
}

/// A complete, valid PROXY protocol header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProxyHeader {
    version: Version,
    command: Command,
    transport: Transport,
    addresses: Addresses,
    len: u16,
}

impl ProxyHeader {
    /// The protocol version of the header.
    pub const fn version(&self) -> Version {
        self.version
    }

    /// `PROXY` (relayed) or `LOCAL` (the proxy's own connection).
    pub const fn command(&self) -> Command {
        self.command
    }

    /// The transport protocol the proxy announced.
    pub const fn transport(&self) -> Transport {
        self.transport
    }

    /// The addresses as announced (ignored for [`Command::Local`]).
    pub const fn addresses(&self) -> Addresses {
        self.addresses
    }

    /// The header's length in bytes, CRLF or TLVs included: how much of
    /// the stream it took.
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Always false: a header is at least 15 bytes (`PROXY UNKNOWN\r\n`).
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The real client's address, when the header names one for a TCP
    /// connection: a relayed (`PROXY`) stream with IPv4 or IPv6 addresses.
    /// `None` means "use the socket's peer address", as the specification
    /// asks for `LOCAL`, `UNKNOWN`, `AF_UNSPEC` and protocols a TCP server
    /// does not relay (UDP, UNIX sockets).
    pub const fn source(&self) -> Option<SocketAddr> {
        match (self.command, self.transport, self.addresses) {
            (Command::Proxy, Transport::Stream, Addresses::Inet { source, .. }) => Some(source),
            _ => None,
        }
    }
}

/// What one [`ProxyParser::feed`] came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Progress {
    /// All of the chunk belongs to a header that is not complete yet.
    NeedMore,
    /// The header is complete. It ended `consumed` bytes into the chunk just
    /// fed: `chunk[consumed..]` is the first payload and was not looked at.
    Done {
        /// The parsed header.
        header: ProxyHeader,
        /// How many bytes of the last chunk the header took (1 ..= its length).
        consumed: usize,
    },
}

/// Why a [`ProxyParser`] refused a header. The connection should be closed:
/// the specification allows no recovery, and the stream's remaining bytes
/// cannot be trusted to be payload.
///
/// Errors are sticky: every later `feed` returns the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The stream does not start with `PROXY ` or the v2 signature (byte
    /// `offset` is where it went wrong).
    #[error(
        "not a PROXY protocol header: byte {offset} does not match `PROXY ` or the v2 signature"
    )]
    NotProxy {
        /// Offset of the first byte that does not match.
        offset: usize,
    },
    /// No CRLF within the first [`V1_MAX_LEN`] (107) bytes of a v1 line.
    #[error("PROXY v1 header has no CRLF within {V1_MAX_LEN} bytes")]
    V1TooLong,
    /// A lone CR or LF where the v1 line must end with CRLF.
    #[error("PROXY v1 header line does not end with CRLF")]
    V1LineEnding,
    /// The v1 protocol field is not `TCP4`, `TCP6` or `UNKNOWN`.
    #[error("PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN")]
    V1Protocol,
    /// The v1 line does not have exactly four fields after the protocol,
    /// separated by single spaces.
    #[error("PROXY v1 header needs exactly `PROXY TCP4|TCP6 SRC DST SPORT DPORT`, single spaces")]
    V1Fields,
    /// A v1 address is not an address of the announced family in canonical
    /// form (IPv4 without leading zeros).
    #[error("PROXY v1 address is not a valid address of the announced family")]
    V1Address,
    /// A v1 port is not a decimal number 0–65535 without leading zeros.
    #[error("PROXY v1 port is not a decimal number from 0 to 65535 without leading zeros")]
    V1Port,
    /// The v2 version nibble is not 2.
    #[error("PROXY v2 header has version {0}, expected 2")]
    V2Version(u8),
    /// The v2 command nibble is neither LOCAL (0) nor PROXY (1).
    #[error("PROXY v2 command {0:#x} is neither LOCAL nor PROXY")]
    V2Command(u8),
    /// The v2 family and protocol byte is none of the defined combinations.
    #[error("PROXY v2 address family and protocol {0:#04x} is not defined")]
    V2Family(u8),
    /// The v2 header announces more than [`V2_MAX_LEN`] bytes in total.
    #[error("PROXY v2 header of {len} bytes exceeds the limit of {V2_MAX_LEN}")]
    V2TooLong {
        /// The total length it announced (16 + its length field).
        len: usize,
    },
    /// The v2 length field is shorter than the announced family's addresses.
    #[error("PROXY v2 header announces {len} address bytes, family {family:#04x} needs {needed}")]
    V2AddressTooShort {
        /// The family and protocol byte.
        family: u8,
        /// The announced length of everything after the fixed 16 bytes.
        len: u16,
        /// The length of that family's address block.
        needed: u16,
    },
    /// The stream ended ([`ProxyParser::finish`]) before the header was
    /// complete: the specification says to reject partial headers.
    #[error("stream ended after {len} bytes of an incomplete PROXY header")]
    Truncated {
        /// Header bytes received before the end.
        len: usize,
    },
    /// `feed` was called after the header was complete.
    #[error("input fed after the PROXY header was complete")]
    FedAfterHeader,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing fed yet: the first byte decides the version.
    Start,
    V1,
    V2,
    Done,
    Failed(ProxyError),
}

/// A streaming PROXY protocol (v1 and v2) header parser with no I/O.
///
/// Feed it the connection's first bytes, in any chunking, until it returns
/// [`Progress::Done`] or an error. Its laws, checked by the property tests
/// and the `proxy_header` fuzz target:
///
/// * The result never depends on how the stream was split into chunks:
///   the same header, ending at the same stream offset, or the same error.
/// * It never takes a byte past the header: `consumed` counts only header
///   bytes, and on error nothing beyond the offending byte was looked at.
/// * It decides within [`MAX_HEADER_LEN`] bytes.
#[derive(Debug, Clone)]
pub struct ProxyParser {
    /// The v1 line without its LF, or the v2 fixed part and IP addresses.
    buf: [u8; BUF_LEN],
    /// Header bytes taken so far (v2 bytes past the IP addresses are
    /// counted here but not stored).
    seen: usize,
    state: State,
}

impl Default for ProxyParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ProxyParser {
    /// A parser at the start of a connection.
    pub const fn new() -> Self {
        Self {
            buf: [0; BUF_LEN],
            seen: 0,
            state: State::Start,
        }
    }

    /// Header bytes taken so far over all `feed` calls.
    pub const fn position(&self) -> usize {
        self.seen
    }

    /// Whether the header is complete.
    pub const fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Takes header bytes from the front of `chunk`.
    ///
    /// Returns [`Progress::NeedMore`] when all of `chunk` was header and the
    /// header is not complete (an empty chunk changes nothing), or
    /// [`Progress::Done`] with the header and how many bytes of `chunk` it
    /// took. After `Done`, feeding again is [`ProxyError::FedAfterHeader`].
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Progress, ProxyError> {
        let result = match self.state {
            State::Failed(err) => return Err(err),
            State::Done => return Err(ProxyError::FedAfterHeader),
            State::Start => match chunk.first() {
                None => return Ok(Progress::NeedMore),
                Some(b'P') => {
                    self.state = State::V1;
                    self.feed_v1(chunk)
                }
                Some(b'\r') => {
                    self.state = State::V2;
                    self.feed_v2(chunk)
                }
                Some(_) => Err(ProxyError::NotProxy { offset: 0 }),
            },
            State::V1 => self.feed_v1(chunk),
            State::V2 => self.feed_v2(chunk),
        };
        match result {
            Ok(Progress::Done { .. }) => self.state = State::Done,
            Ok(Progress::NeedMore) => {}
            Err(err) => self.state = State::Failed(err),
        }
        result
    }

    /// The stream ended (the peer closed its side). `Ok` if the header was
    /// complete; otherwise [`ProxyError::Truncated`], or the earlier error.
    /// Sticky like `feed`'s errors.
    pub fn finish(&mut self) -> Result<(), ProxyError> {
        match self.state {
            State::Done => Ok(()),
            State::Failed(err) => Err(err),
            State::Start | State::V1 | State::V2 => {
                let err = ProxyError::Truncated { len: self.seen };
                self.state = State::Failed(err);
                Err(err)
            }
        }
    }

    /// Version 1: store the line byte by byte up to its LF, checking the
    /// prefix, the CRLF and the length as it comes; then parse the fields.
    fn feed_v1(&mut self, chunk: &[u8]) -> Result<Progress, ProxyError> {
        for (i, &byte) in chunk.iter().enumerate() {
            let pos = self.seen;
            if pos < V1_PREFIX.len() {
                if byte != V1_PREFIX[pos] {
                    return Err(ProxyError::NotProxy { offset: pos });
                }
            } else if byte == b'\n' {
                if self.buf[pos - 1] != b'\r' {
                    return Err(ProxyError::V1LineEnding);
                }
                let (transport, addresses) = parse_v1_fields(&self.buf[V1_PREFIX.len()..pos - 1])?;
                self.seen = pos + 1;
                return Ok(Progress::Done {
                    header: ProxyHeader {
                        version: Version::V1,
                        command: Command::Proxy,
                        transport,
                        addresses,
                        len: self.seen as u16,
                    },
                    consumed: i + 1,
                });
            } else if self.buf[pos - 1] == b'\r' {
                return Err(ProxyError::V1LineEnding);
            }
            // The LF may be at most the 107th byte (offset 106).
            if pos + 1 >= V1_MAX_LEN {
                return Err(ProxyError::V1TooLong);
            }
            self.buf[pos] = byte;
            self.seen += 1;
        }
        Ok(Progress::NeedMore)
    }

    /// Version 2: the fixed 16 bytes one by one (each checked as it comes),
    /// then the announced length: IP addresses stored, the rest skipped.
    fn feed_v2(&mut self, chunk: &[u8]) -> Result<Progress, ProxyError> {
        let mut used = 0;
        while self.seen < V2_FIXED_LEN {
            let Some(&byte) = chunk.get(used) else {
                return Ok(Progress::NeedMore);
            };
            let pos = self.seen;
            match pos {
                0..=11 if byte != V2_SIGNATURE[pos] => {
                    return Err(ProxyError::NotProxy { offset: pos })
                }
                12 if byte >> 4 != 2 => return Err(ProxyError::V2Version(byte >> 4)),
                12 if byte & 0x0F > 1 => return Err(ProxyError::V2Command(byte & 0x0F)),
                // LOCAL ignores the family ("discard the protocol block
                // including the family"); PROXY must use a defined one.
                13 if self.command() == Command::Proxy && address_len(byte).is_none() => {
                    return Err(ProxyError::V2Family(byte))
                }
                15 => {
                    let len = u16::from_be_bytes([self.buf[14], byte]);
                    let total = V2_FIXED_LEN + usize::from(len);
                    if total > V2_MAX_LEN {
                        return Err(ProxyError::V2TooLong { len: total });
                    }
                    let needed = self.addresses_len();
                    if len < needed {
                        return Err(ProxyError::V2AddressTooShort {
                            family: self.buf[13],
                            len,
                            needed,
                        });
                    }
                }
                _ => {}
            }
            self.buf[pos] = byte;
            self.seen += 1;
            used += 1;
        }

        let total = V2_FIXED_LEN + usize::from(u16::from_be_bytes([self.buf[14], self.buf[15]]));
        let take = (total - self.seen).min(chunk.len() - used);
        // Store the bytes that fall within the IP address block.
        let keep_end = V2_FIXED_LEN + usize::from(self.stored_addresses_len());
        if self.seen < keep_end {
            let n = take.min(keep_end - self.seen);
            self.buf[self.seen..self.seen + n].copy_from_slice(&chunk[used..used + n]);
        }
        self.seen += take;
        used += take;
        if self.seen < total {
            return Ok(Progress::NeedMore);
        }
        Ok(Progress::Done {
            header: self.v2_header(),
            consumed: used,
        })
    }

    /// The v2 command; only meaningful once byte 12 is stored.
    fn command(&self) -> Command {
        if self.buf[12] & 0x0F == 0 {
            Command::Local
        } else {
            Command::Proxy
        }
    }

    /// Bytes of the address block the v2 length must cover.
    fn addresses_len(&self) -> u16 {
        match self.command() {
            Command::Local => 0,
            Command::Proxy => address_len(self.buf[13]).unwrap_or(0),
        }
    }

    /// Bytes of the address block kept in `buf` (IP addresses only).
    fn stored_addresses_len(&self) -> u16 {
        match self.addresses_len() {
            len @ (12 | 36) => len,
            _ => 0,
        }
    }

    /// The complete v2 header in `buf`, already validated.
    fn v2_header(&self) -> ProxyHeader {
        let len = self.seen as u16;
        let family = self.buf[13];
        if self.command() == Command::Local {
            return ProxyHeader {
                version: Version::V2,
                command: Command::Local,
                transport: Transport::Unspecified,
                addresses: Addresses::Unspecified,
                len,
            };
        }
        let transport = match family & 0x0F {
            1 => Transport::Stream,
            2 => Transport::Datagram,
            _ => Transport::Unspecified,
        };
        let a = &self.buf[V2_FIXED_LEN..];
        let port = |at: usize| u16::from_be_bytes([a[at], a[at + 1]]);
        let addresses = match family >> 4 {
            1 => {
                let ip = |at: usize| Ipv4Addr::new(a[at], a[at + 1], a[at + 2], a[at + 3]);
                Addresses::Inet {
                    source: SocketAddr::new(ip(0).into(), port(8)),
                    destination: SocketAddr::new(ip(4).into(), port(10)),
                }
            }
            2 => {
                let ip = |at: usize| {
                    let mut octets = [0u8; 16];
                    octets.copy_from_slice(&a[at..at + 16]);
                    Ipv6Addr::from(octets)
                };
                Addresses::Inet {
                    source: SocketAddr::new(ip(0).into(), port(32)),
                    destination: SocketAddr::new(ip(16).into(), port(34)),
                }
            }
            3 => Addresses::Unix,
            _ => Addresses::Unspecified,
        };
        ProxyHeader {
            version: Version::V2,
            command: Command::Proxy,
            transport,
            addresses,
            len,
        }
    }
}

/// The address block length of a v2 family and protocol byte, or `None`
/// for a combination the specification does not define.
const fn address_len(family: u8) -> Option<u16> {
    match family {
        0x00 => Some(0),
        0x11 | 0x12 => Some(12),
        0x21 | 0x22 => Some(36),
        0x31 | 0x32 => Some(216),
        _ => None,
    }
}

/// Parses what follows `PROXY ` on a v1 line, CRLF excluded.
fn parse_v1_fields(line: &[u8]) -> Result<(Transport, Addresses), ProxyError> {
    if let Some(rest) = line.strip_prefix(b"UNKNOWN") {
        // "The receiver must ignore anything presented before the CRLF."
        return match rest.first() {
            None | Some(b' ') => Ok((Transport::Unspecified, Addresses::Unspecified)),
            Some(_) => Err(ProxyError::V1Protocol),
        };
    }
    let mut fields = line.split(|&b| b == b' ');
    let protocol = fields.next().unwrap_or_default();
    let (source, destination, source_port, destination_port) = match (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) {
        (Some(s), Some(d), Some(sp), Some(dp), None) => (s, d, sp, dp),
        _ if !matches!(protocol, b"TCP4" | b"TCP6") => return Err(ProxyError::V1Protocol),
        _ => return Err(ProxyError::V1Fields),
    };
    let (source, destination) = match protocol {
        b"TCP4" => (
            parse_ip::<Ipv4Addr>(source)?.into(),
            parse_ip::<Ipv4Addr>(destination)?.into(),
        ),
        b"TCP6" => (
            parse_ip::<Ipv6Addr>(source)?.into(),
            parse_ip::<Ipv6Addr>(destination)?.into(),
        ),
        _ => return Err(ProxyError::V1Protocol),
    };
    Ok((
        Transport::Stream,
        Addresses::Inet {
            source: SocketAddr::new(source, parse_port(source_port)?),
            destination: SocketAddr::new(destination, parse_port(destination_port)?),
        },
    ))
}

/// An address in text form; core's parsers reject IPv4 leading zeros.
fn parse_ip<T: core::str::FromStr>(field: &[u8]) -> Result<T, ProxyError> {
    core::str::from_utf8(field)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or(ProxyError::V1Address)
}

/// A port: 1 to 5 decimal digits, no leading zero, at most 65535.
fn parse_port(field: &[u8]) -> Result<u16, ProxyError> {
    let well_formed = match field {
        [b'0'] => true,
        [b'1'..=b'9', rest @ ..] => rest.len() <= 4 && rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if !well_formed {
        return Err(ProxyError::V1Port);
    }
    let value = field
        .iter()
        .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
    u16::try_from(value).map_err(|_| ProxyError::V1Port)
}
