//! Kernel state of the case's namespace: the TCP socket table and net sysctls.
//! Paths go through /proc/thread-self so they describe the namespace the calling
//! thread is in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::{Context, Result};

/// TCP states as numbered in include/net/tcp_states.h.
pub const TIME_WAIT: u8 = 6;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpEntry {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: u8,
    /// The "tr" column: which timer is pending (see `tcp_timer`).
    pub timer: u8,
}

pub fn state_name(state: u8) -> &'static str {
    match state {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        _ => "UNKNOWN",
    }
}

fn parse_addr(s: &str) -> Option<SocketAddr> {
    let (ip, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip: IpAddr = if ip.len() == 8 {
        Ipv4Addr::from(u32::from_str_radix(ip, 16).ok()?.to_ne_bytes()).into()
    } else {
        let mut b = [0u8; 16];
        for (i, chunk) in b.chunks_mut(4).enumerate() {
            let word = u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16).ok()?;
            chunk.copy_from_slice(&word.to_ne_bytes());
        }
        Ipv6Addr::from(b).into()
    };
    Some(SocketAddr::new(ip, port))
}

/// Every TCP socket (v4 and v6) in the calling thread's namespace, TIME_WAIT included.
pub fn tcp_table() -> Result<Vec<TcpEntry>> {
    let mut out = Vec::new();
    for file in ["tcp", "tcp6"] {
        let path = format!("/proc/thread-self/net/{file}");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(l), Some(r), Some(st), Some(tr)) =
                (cols.get(1), cols.get(2), cols.get(3), cols.get(5))
            else {
                continue;
            };
            let timer = u8::from_str_radix(tr.split(':').next().unwrap_or(""), 16);
            let (Some(local), Some(remote), Ok(state), Ok(timer)) = (
                parse_addr(l),
                parse_addr(r),
                u8::from_str_radix(st, 16),
                timer,
            ) else {
                continue;
            };
            out.push(TcpEntry {
                local,
                remote,
                state,
                timer,
            });
        }
    }
    Ok(out)
}

/// States of the sockets whose local port is `port`.
pub fn states_on_port(port: u16) -> Result<Vec<&'static str>> {
    Ok(tcp_table()?
        .into_iter()
        .filter(|e| e.local.port() == port)
        .map(|e| state_name(e.state))
        .collect())
}

/// Reads a sysctl of the calling thread's namespace, e.g. "net/ipv4/tcp_autocorking".
pub fn sysctl(name: &str) -> Result<String> {
    let path = format!("/proc/sys/{name}");
    match std::fs::read_to_string(&path) {
        Ok(v) => Ok(v.trim().to_string()),
        Err(e) => GLOBAL
            .get()
            .and_then(|g| g.iter().find(|(n, _)| *n == name))
            .map(|(_, v)| v.clone())
            .ok_or(e)
            .with_context(|| format!("read {path}")),
    }
}

/// Machine-wide sysctls that older kernels show only in the initial network
/// namespace (e.g. net.core.rmem_max before it was shown per namespace;
/// net.core.busy_read and busy_poll still are):
/// read by the case process before it leaves that namespace.
const GLOBAL_NAMES: [&str; 4] = [
    "net/core/rmem_max",
    "net/core/wmem_max",
    "net/core/busy_read",
    "net/core/busy_poll",
];
static GLOBAL: std::sync::OnceLock<Vec<(&'static str, String)>> = std::sync::OnceLock::new();

/// Snapshots GLOBAL_NAMES; call before unsharing the network namespace.
/// Once per process: a case process forked by the launcher inherits its
/// snapshot.
pub fn snapshot_global_sysctls() {
    if GLOBAL.get().is_some() {
        return;
    }
    let values = GLOBAL_NAMES
        .iter()
        .filter_map(|n| {
            std::fs::read_to_string(format!("/proc/sys/{n}"))
                .ok()
                .map(|v| (*n, v.trim().to_string()))
        })
        .collect();
    let _ = GLOBAL.set(values);
}

pub fn sysctl_int(name: &str) -> Result<i64> {
    let v = sysctl(name)?;
    v.split_whitespace()
        .next()
        .unwrap_or("")
        .parse()
        .with_context(|| format!("sysctl {name} = {v:?}"))
}

/// Writes a sysctl of the calling thread's namespace. Only ever called inside a
/// namespace the case created.
pub fn set_sysctl(name: &str, value: &str) -> Result<()> {
    let path = format!("/proc/sys/{name}");
    std::fs::write(&path, value).with_context(|| format!("write {value} to {path}"))
}

/// The "tr" column of /proc/net/tcp: which timer a connection has pending.
pub const TIMER_ZERO_WINDOW_PROBE: u8 = 4;

/// The timer pending on the connection `local` <-> `remote` (0 none,
/// 1 retransmit, 2 keep-alive, 3 TIME_WAIT, 4 zero-window probe), or None
/// when the namespace has no such connection.
pub fn tcp_timer(local: SocketAddr, remote: SocketAddr) -> Result<Option<u8>> {
    Ok(tcp_table()?
        .into_iter()
        .find(|e| e.local == local && e.remote == remote)
        .map(|e| e.timer))
}
