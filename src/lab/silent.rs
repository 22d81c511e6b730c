//! Peers that never answer, for cases that watch what TCP does when nothing
//! comes back (SYN retransmissions, user timeouts, keep-alive probes). The
//! silence is built from sockets, links and addresses alone, inside the
//! case's own namespaces: no packet filter, no external program.

use std::net::{IpAddr, SocketAddr};

use anyhow::{Context, Result};

use super::netlink::{ifindex, Netlink};
use super::sock::{Family, Sock};

/// A listener on loopback whose accept queue is full: every SYN sent to it
/// is dropped without an answer (the kernel counts a listen overflow, sends
/// no SYN-ACK, no RST, whatever net.ipv4.tcp_syncookies says). A capture on
/// `lo` still sees the SYNs leave.
pub struct FullListener {
    pub addr: SocketAddr,
    _listener: Sock,
    _queued: Sock,
}

/// A listener with backlog 0 and one connection waiting in its queue,
/// never accepted.
pub fn full_listener(family: Family) -> Result<FullListener> {
    let l = Sock::tcp(family)?;
    l.bind(SocketAddr::new(family.loopback(), 0))
        .context("bind the full listener")?;
    l.listen(0).context("listen(0)")?;
    let addr = l.local_addr()?;
    let queued = Sock::tcp(family)?;
    queued
        .connect(addr)
        .context("the connection that fills the accept queue")?;
    Ok(FullListener {
        addr,
        _listener: l,
        _queued: queued,
    })
}

/// Makes `addr` vanish from `ifname` in the calling thread's namespace: the
/// host then drops what is sent to it (not its address, forwarding off) and
/// can send nothing from it (no route left), so its peer hears nothing more.
pub fn silence(ifname: &str, addr: IpAddr, prefix: u8) -> Result<()> {
    Netlink::open()?
        .del_addr(ifindex(ifname)?, addr, prefix)
        .with_context(|| format!("silence {addr} on {ifname}"))
}
