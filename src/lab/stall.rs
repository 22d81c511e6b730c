//! A TCP connection whose receiver does not read: the sender has written until
//! the receiver's window closed and its own buffer is full, so its queue holds
//! bytes that cannot leave. What lingering closes, send timeouts and send
//! buffer limits are measured on. (linger.rs has its own copy, made with a
//! capture; this one asks the kernel for the zero-window probe timer.)

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};

use super::{flow, phase, Family, Sock, TcpPair};

pub struct Stalled {
    /// The sender, non-blocking (its writes ended in EAGAIN).
    pub client: Sock,
    /// The receiver, which has read nothing.
    pub server: Sock,
    pub listener: Sock,
    /// Bytes the sender's kernel accepted.
    pub written: usize,
    pub client_addr: SocketAddr,
    pub server_addr: SocketAddr,
}

/// A loopback connection of `family` whose receiver has SO_RCVBUF
/// `server_rcvbuf` (set on the listener, before the handshake) and whose
/// sender is prepared by `prep_client` before it connects (SO_SNDBUF...),
/// filled until the window is closed.
pub fn stalled_pair(
    family: Family,
    server_rcvbuf: i32,
    prep_client: impl FnOnce(&Sock) -> Result<()>,
) -> Result<Stalled> {
    // The receiver's last ACK, the one that shows the closed window, would
    // otherwise wait for the delayed-ACK timer.
    flow::loopback_quickack(family)?;
    let pair = TcpPair::connect_with(
        SocketAddr::new(family.loopback(), 0),
        |l| {
            l.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, server_rcvbuf)
                .context("SO_RCVBUF on the listener")
        },
        prep_client,
    )?;
    phase("filling the connection until the receiver's window is closed");
    let written = flow::fill_until_window_closed(&pair.client, 4096, Duration::from_secs(5))?;
    let client_addr = pair.client.local_addr()?;
    let server_addr = pair.server.local_addr()?;
    Ok(Stalled {
        client: pair.client,
        server: pair.server,
        listener: pair.listener,
        written,
        client_addr,
        server_addr,
    })
}
