//! Binding listeners the way `upcase serve --listen` does, and wording the
//! errors a person sees when that fails.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

/// Pending connections the kernel queues for us (it caps this at
/// `net.core.somaxconn`). Clients wait here while the server is at its
/// connection limit.
const BACKLOG: i32 = 1024;

/// Binds a listening socket on `addr` as `upcase serve --listen` does:
/// `SO_REUSEADDR` (restart without waiting out `TIME_WAIT`) and, for IPv6,
/// `IPV6_V6ONLY`, so `[::]:P` and `0.0.0.0:P` can be listened on side by
/// side. Port 0 lets the OS choose; ask the listener for its `local_addr`.
///
/// Must be called inside a Tokio runtime.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// A short, lower-case reason for a failed bind, for one-line startup errors
/// such as `cannot listen on 127.0.0.1:80: permission denied`.
pub(super) fn describe(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::AddrInUse => "address already in use".to_owned(),
        io::ErrorKind::PermissionDenied => {
            "permission denied (ports below 1024 need privileges)".to_owned()
        }
        io::ErrorKind::AddrNotAvailable => "address not available on this host".to_owned(),
        _ => err.to_string(),
    }
}
