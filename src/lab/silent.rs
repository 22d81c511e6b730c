//! Peers that never answer, for cases that watch what TCP does when nothing
//! comes back (SYN retransmissions, user timeouts, keep-alive probes). The
//! silence is built from links and addresses alone, inside the case's own
//! namespaces: no packet filter, no external program.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::netlink::{ifindex, Netlink};
use super::sock::{Family, Sock};
use super::Capture;

/// A destination that swallows everything: frames to `remote` leave through
/// `ifname` (a capture there sees them) and are dropped at the far end.
pub struct SilentPath {
    pub ifname: String,
    pub local: IpAddr,
    pub remote: IpAddr,
}

/// Addresses of the silent path (TEST-NET-3, only ever configured inside the
/// case's own namespace).
const LOCAL: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
const REMOTE: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 2);

/// A veth pair in the calling thread's namespace: `sil-a` holds
/// 203.0.113.1/24 and sends without ARP (IFF_NOARP: its frames carry its own
/// MAC as destination), `sil-b` is up with no address. A frame to
/// 203.0.113.2 crosses to `sil-b`, is addressed to another host's MAC and is
/// dropped there: nobody answers, nothing comes back. Returns once a frame
/// sent to the far end is seen leaving `sil-a` (see `await_egress`).
pub fn silent_path() -> Result<SilentPath> {
    let here = std::fs::File::open("/proc/thread-self/ns/net").context("open own netns")?;
    let nl = Netlink::open()?;
    nl.add_veth("sil-a", "sil-b", std::os::fd::AsRawFd::as_raw_fd(&here))?;
    let a = ifindex("sil-a")?;
    let b = ifindex("sil-b")?;
    nl.set_noarp(a)?;
    nl.add_addr(a, LOCAL.into(), 24)?;
    nl.set_up(b)?;
    nl.set_up(a)?;
    let path = SilentPath {
        ifname: "sil-a".into(),
        local: LOCAL.into(),
        remote: REMOTE.into(),
    };
    await_egress(&path.ifname, path.local, path.remote)?;
    Ok(path)
}

/// Waits until a datagram from `local` to `remote` is captured leaving
/// `ifname`. A veth end is carrier-up only once the kernel's linkwatch has
/// run (asynchronously, up to a second after both ends are up); until then
/// what is sent on it is dropped before any capture sees it, and a case
/// would miss its first SYN. The probes go to the discard port.
pub fn await_egress(ifname: &str, local: IpAddr, remote: IpAddr) -> Result<()> {
    let mut cap = Capture::start(ifname)?;
    let tx = Sock::udp(Family::of(&local))?;
    tx.bind(SocketAddr::new(local, 0))
        .with_context(|| format!("bind egress probe to {local}"))?;
    let dst = SocketAddr::new(remote, 9);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        // A send error (the link not carrying yet) just means "not yet".
        let _ = tx.send_to(b"egress probe", 0, dst);
        let seen = cap.wait_for(
            "the egress probe",
            Duration::from_millis(20),
            |f| matches!(f.decode(), super::packet::Packet::Udp(d) if d.dst == remote),
        );
        if seen.is_ok() {
            return Ok(());
        }
    }
    bail!("waited 5 s for a frame to {remote} to leave {ifname}: the link never carried")
}

/// Makes `addr` vanish from `ifname` in the calling thread's namespace: the
/// host then drops what is sent to it (not its address, forwarding off) and
/// can send nothing from it (no route left), so its peer hears nothing more.
pub fn silence(ifname: &str, addr: IpAddr, prefix: u8) -> Result<()> {
    Netlink::open()?
        .del_addr(ifindex(ifname)?, addr, prefix)
        .with_context(|| format!("silence {addr} on {ifname}"))
}
