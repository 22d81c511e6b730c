//! Flow control as user space can see it: filling a connection until the
//! peer's receive window is closed, a socket's memory accounting (SO_MEMINFO),
//! and the namespace's MIB counters (/proc/thread-self/net/snmp, netstat).

use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::poll::PollFlags;

use super::sock::{fill_until_eagain, peer_addr};
use super::{procnet, wait, Sock};

/// True when the kernel is probing a closed window on `sender`'s connection:
/// it holds data the peer has no room for, nothing is in flight, and the
/// zero-window probe timer is armed (tcp(7) "persist" state).
pub fn window_closed(sender: &Sock) -> Result<bool> {
    let timer = procnet::tcp_timer(sender.local_addr()?, peer_addr(sender)?)?;
    Ok(timer == Some(procnet::TIMER_ZERO_WINDOW_PROBE))
}

/// Writes from `sender` (made non-blocking) until the peer's receive window is
/// closed and `sender`'s own buffer is full. Returns the bytes the kernel took.
/// Each EAGAIN is followed by a wait for one of two events: buffer space came
/// back (acknowledged data: write on) or the window closed (done).
pub fn fill_until_window_closed(sender: &Sock, chunk: usize, timeout: Duration) -> Result<usize> {
    let deadline = Instant::now() + timeout;
    let mut total = 0;
    loop {
        total += fill_until_eagain(sender, chunk)?;
        let left = deadline.saturating_duration_since(Instant::now());
        let closed = wait::until(
            "the peer's window to close or send-buffer space to return",
            left,
            || {
                if window_closed(sender)? {
                    return Ok(Some(true));
                }
                let writable = wait::ready(sender.as_raw_fd(), PollFlags::POLLOUT, Duration::ZERO)?;
                Ok(writable.then_some(false))
            },
        )?;
        if closed {
            // Nothing leaves a closed window: what fits now stays queued.
            return Ok(total + fill_until_eagain(sender, chunk)?);
        }
    }
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
