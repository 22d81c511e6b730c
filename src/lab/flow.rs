//! Flow control as user space can see it: filling a connection until the
//! peer's receive window is closed, a socket's memory accounting (SO_MEMINFO),
//! and the namespace's MIB counters (/proc/thread-self/net/snmp, netstat).

use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::poll::PollFlags;

use super::netlink::{ifindex, Netlink};
use super::sock::{fill_until_eagain, peer_addr};
use super::{procnet, wait, Family, Sock};

/// True when the kernel is probing a closed window on `sender`'s connection:
/// it holds data the peer has no room for, nothing is in flight, and the
/// zero-window probe timer is armed (tcp(7) "persist" state).
pub fn window_closed(sender: &Sock) -> Result<bool> {
    let conn = super::diag::tcp(sender.local_addr()?, peer_addr(sender)?)?;
    Ok(conn.is_some_and(|c| c.timer == procnet::TIMER_ZERO_WINDOW_PROBE))
}

/// Writes from `sender` (made non-blocking) until the peer's receive window is
/// closed and `sender`'s own buffer is full. Returns the bytes the kernel took.
/// After each EAGAIN it waits for buffer space to come back (acknowledged
/// data: write on); when none comes within a few milliseconds it looks whether
/// the window has closed (done), and waits again if not, up to `timeout`.
pub fn fill_until_window_closed(sender: &Sock, chunk: usize, timeout: Duration) -> Result<usize> {
    let deadline = Instant::now() + timeout;
    let mut total = fill_until_eagain(sender, chunk)?;
    loop {
        if wait::ready(
            sender.as_raw_fd(),
            PollFlags::POLLOUT,
            Duration::from_millis(5),
        )? {
            total += fill_until_eagain(sender, chunk)?;
        } else if window_closed(sender)? {
            // Nothing leaves a closed window: what fits now stays queued.
            return Ok(total + fill_until_eagain(sender, chunk)?);
        } else if Instant::now() >= deadline {
            anyhow::bail!(
                "waited {timeout:?} for the peer's window to close: the sender neither got buffer space \
                 back nor saw a zero window ({total} bytes written)"
            );
        }
    }
}

/// Makes TCP over `family`'s loopback address in the calling thread's
/// namespace acknowledge every segment at once (route metric quickack). A
/// receiver whose window is closing otherwise delays its last ACK by the
/// delayed-ACK timer (>= 40 ms), and only that ACK shows the sender the closed
/// window: one such wait per filled connection.
pub fn loopback_quickack(family: Family) -> Result<()> {
    Netlink::open()?.set_local_route_quickack(family.loopback(), ifindex("lo")?)
}

/// A socket's memory accounting, from getsockopt(SO_MEMINFO) (sock_diag(7)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MemInfo {
    pub rmem_alloc: u32,
    pub rcvbuf: u32,
    pub wmem_alloc: u32,
    pub sndbuf: u32,
    pub fwd_alloc: u32,
    pub wmem_queued: u32,
    pub optmem: u32,
    pub backlog: u32,
    pub drops: u32,
}

/// SK_MEMINFO_VARS in linux/sock_diag.h: the u32 slots SO_MEMINFO fills.
const MEMINFO_VARS: usize = 9;

pub fn meminfo(s: &Sock) -> io::Result<MemInfo> {
    let mut raw = [0u8; 4 * MEMINFO_VARS];
    s.get_raw(libc::SOL_SOCKET, libc::SO_MEMINFO, &mut raw)?;
    let v = |i: i32| {
        let i = i as usize * 4;
        u32::from_ne_bytes([raw[i], raw[i + 1], raw[i + 2], raw[i + 3]])
    };
    Ok(MemInfo {
        rmem_alloc: v(libc::SK_MEMINFO_RMEM_ALLOC),
        rcvbuf: v(libc::SK_MEMINFO_RCVBUF),
        wmem_alloc: v(libc::SK_MEMINFO_WMEM_ALLOC),
        sndbuf: v(libc::SK_MEMINFO_SNDBUF),
        fwd_alloc: v(libc::SK_MEMINFO_FWD_ALLOC),
        wmem_queued: v(libc::SK_MEMINFO_WMEM_QUEUED),
        optmem: v(libc::SK_MEMINFO_OPTMEM),
        backlog: v(libc::SK_MEMINFO_BACKLOG),
        drops: v(libc::SK_MEMINFO_DROPS),
    })
}

/// One MIB counter of the calling thread's namespace: `file` is "snmp" or
/// "netstat", `group` e.g. "Udp" or "TcpExt", `name` e.g. "RcvbufErrors".
pub fn mib_counter(file: &str, group: &str, name: &str) -> Result<i64> {
    let path = format!("/proc/thread-self/net/{file}");
    let text = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
    let prefix = format!("{group}:");
    let mut lines = text.lines().filter(|l| l.starts_with(&prefix));
    // Each group is a line of names followed by a line of values.
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        let pos = names.split_whitespace().position(|n| n == name);
        if let Some(pos) = pos {
            let v = values.split_whitespace().nth(pos).unwrap_or("");
            return v
                .parse()
                .with_context(|| format!("{path}: {group} {name} = {v:?}"));
        }
    }
    anyhow::bail!("{path} has no counter {group} {name}")
}
