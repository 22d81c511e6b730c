//! One TCP connection's kernel state by its addresses, through sock_diag(7)
//! (NETLINK_SOCK_DIAG, an exact inet_diag lookup). /proc/net/tcp walks the
//! whole established hash table, shared by every namespace and sized by the
//! machine's memory (262144 buckets here): a third of a millisecond of CPU
//! per read, which a case polling socket state pays hundreds of times. The
//! exact lookup is one hash probe.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use anyhow::{bail, Context, Result};

const NETLINK_SOCK_DIAG: i32 = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const INET_DIAG_NOCOOKIE: u32 = !0;

/// What the kernel says of one TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpDiag {
    /// include/net/tcp_states.h: 1 ESTABLISHED ... 6 TIME_WAIT ... 10 LISTEN.
    pub state: u8,
    /// The pending timer: 0 none, 1 retransmit, 2 keep-alive, 3 TIME_WAIT,
    /// 4 zero-window probe.
    pub timer: u8,
    /// Retransmissions of the segment at the head of the queue.
    pub retrans: u8,
}

fn words(ip: &IpAddr) -> [u8; 16] {
    let mut b = [0u8; 16];
    match ip {
        IpAddr::V4(a) => b[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => b.copy_from_slice(&a.octets()),
    }
    b
}

/// struct inet_diag_req_v2 for the connection `local` <-> `remote`.
fn request(local: SocketAddr, remote: SocketAddr) -> Vec<u8> {
    let mut m = Vec::with_capacity(16 + 56);
    m.extend_from_slice(&(16u32 + 56).to_ne_bytes());
    m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    m.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    m.extend_from_slice(&1u32.to_ne_bytes()); // seq
    m.extend_from_slice(&0u32.to_ne_bytes()); // pid
    let family = if local.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    m.extend_from_slice(&[family as u8, libc::IPPROTO_TCP as u8, 0, 0]);
    m.extend_from_slice(&u32::MAX.to_ne_bytes()); // every state
    m.extend_from_slice(&local.port().to_be_bytes());
    m.extend_from_slice(&remote.port().to_be_bytes());
    m.extend_from_slice(&words(&local.ip()));
    m.extend_from_slice(&words(&remote.ip()));
    m.extend_from_slice(&0u32.to_ne_bytes()); // interface
    m.extend_from_slice(&INET_DIAG_NOCOOKIE.to_ne_bytes());
    m.extend_from_slice(&INET_DIAG_NOCOOKIE.to_ne_bytes());
    m
}

/// The connection `local` <-> `remote` in the calling thread's namespace, or
/// None when the kernel has no such socket (TIME_WAIT entries included).
pub fn tcp(local: SocketAddr, remote: SocketAddr) -> Result<Option<TcpDiag>> {
    // SAFETY: plain socket(2); checked before use.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            NETLINK_SOCK_DIAG,
        )
    };
    if raw < 0 {
        return Err(std::io::Error::last_os_error()).context("socket(NETLINK_SOCK_DIAG)");
    }
    // SAFETY: raw is fresh and owned here.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let req = request(local, remote);
    nix::unistd::write(&fd, &req).context("sock_diag request")?;
    let mut reply = [0u8; 1024];
    let n = nix::unistd::read(fd.as_raw_fd(), &mut reply).context("sock_diag reply")?;
    if n < 16 {
        bail!("sock_diag: short reply ({n} bytes)");
    }
    let kind = u16::from_ne_bytes([reply[4], reply[5]]);
    if kind == NLMSG_ERROR {
        let err = i32::from_ne_bytes(reply[16..20].try_into()?);
        if err == -libc::ENOENT {
            return Ok(None);
        }
        bail!(
            "sock_diag lookup of {local} <-> {remote}: {}",
            nix::errno::Errno::from_raw(-err)
        );
    }
    // struct inet_diag_msg follows the header: family, state, timer, retrans.
    if kind != SOCK_DIAG_BY_FAMILY || n < 20 {
        bail!("sock_diag: unexpected reply type {kind}");
    }
    Ok(Some(TcpDiag {
        state: reply[17],
        timer: reply[18],
        retrans: reply[19],
    }))
}

/// More of one connection's kernel state: when its pending timer fires and
/// which congestion-control algorithm it uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpDetail {
    pub state: u8,
    /// 0 none, 1 retransmit, 2 keep-alive, 3 TIME_WAIT (also an orphan's
    /// FIN_WAIT2 lifetime), 4 zero-window probe.
    pub timer: u8,
    /// Milliseconds until that timer fires (idiag_expires).
    pub expires_ms: u32,
    /// The congestion-control algorithm (INET_DIAG_CONG); none for a
    /// TIME_WAIT entry, which has no congestion state.
    pub congestion: Option<String>,
}

/// INET_DIAG_CONG, as a request's idiag_ext bit and as the reply's attribute.
const INET_DIAG_CONG: u16 = 4;
/// Size of struct inet_diag_msg, after which the attributes start.
const INET_DIAG_MSG_LEN: usize = 72;

/// `tcp`, plus the timer's expiry and the congestion-control algorithm.
pub fn tcp_detail(local: SocketAddr, remote: SocketAddr) -> Result<Option<TcpDetail>> {
    let mut req = request(local, remote);
    // idiag_ext: ask for the INET_DIAG_CONG attribute.
    req[18] = 1 << (INET_DIAG_CONG - 1);
    // SAFETY: plain socket(2); checked before use.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            NETLINK_SOCK_DIAG,
        )
    };
    if raw < 0 {
        return Err(std::io::Error::last_os_error()).context("socket(NETLINK_SOCK_DIAG)");
    }
    // SAFETY: raw is fresh and owned here.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    nix::unistd::write(&fd, &req).context("sock_diag request")?;
    let mut reply = [0u8; 2048];
    let n = nix::unistd::read(fd.as_raw_fd(), &mut reply).context("sock_diag reply")?;
    parse_detail(&reply[..n], local, remote)
}

fn parse_detail(reply: &[u8], local: SocketAddr, remote: SocketAddr) -> Result<Option<TcpDetail>> {
    if reply.len() < 20 {
        bail!("sock_diag: short reply ({} bytes)", reply.len());
    }
    let kind = u16::from_ne_bytes([reply[4], reply[5]]);
    if kind == NLMSG_ERROR {
        let err = i32::from_ne_bytes(reply[16..20].try_into()?);
        if err == -libc::ENOENT {
            return Ok(None);
        }
        bail!(
            "sock_diag lookup of {local} <-> {remote}: {}",
            nix::errno::Errno::from_raw(-err)
        );
    }
    let msg_end = 16 + INET_DIAG_MSG_LEN;
    if kind != SOCK_DIAG_BY_FAMILY || reply.len() < msg_end {
        bail!("sock_diag: unexpected reply type {kind}");
    }
    let total = (u32::from_ne_bytes(reply[0..4].try_into()?) as usize).min(reply.len());
    let mut congestion = None;
    let mut off = msg_end;
    while off + 4 <= total {
        let len = u16::from_ne_bytes([reply[off], reply[off + 1]]) as usize;
        let ty = u16::from_ne_bytes([reply[off + 2], reply[off + 3]]);
        if len < 4 || off + len > total {
            break;
        }
        if ty == INET_DIAG_CONG {
            let data = &reply[off + 4..off + len];
            let name = data.split(|b| *b == 0).next().unwrap_or_default();
            congestion = Some(String::from_utf8_lossy(name).into_owned());
        }
        off += (len + 3) & !3;
    }
    Ok(Some(TcpDetail {
        state: reply[17],
        timer: reply[18],
        expires_ms: u32::from_ne_bytes(reply[16 + 52..16 + 56].try_into()?),
        congestion,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_detail_reply_gives_state_timer_expiry_and_congestion() {
        let mut r = vec![0u8; 16 + 72];
        r[4..6].copy_from_slice(&20u16.to_ne_bytes());
        r[17] = 5;
        r[18] = 3;
        r[16 + 52..16 + 56].copy_from_slice(&928u32.to_ne_bytes());
        r.extend_from_slice(&9u16.to_ne_bytes());
        r.extend_from_slice(&4u16.to_ne_bytes());
        r.extend_from_slice(b"reno\0\0\0\0");
        let len = r.len() as u32;
        r[0..4].copy_from_slice(&len.to_ne_bytes());
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(
            Some(TcpDetail {
                state: 5,
                timer: 3,
                expires_ms: 928,
                congestion: Some("reno".into())
            }),
            parse_detail(&r, a, a).unwrap()
        );
    }

    #[test]
    fn the_request_is_an_inet_diag_req_v2_for_the_four_tuple() {
        let req = request(
            "127.0.0.1:8080".parse().unwrap(),
            "127.0.0.2:40000".parse().unwrap(),
        );
        assert_eq!(72, req.len());
        assert_eq!(&72u32.to_ne_bytes(), &req[0..4]);
        // family, protocol; then sport and dport in network order
        assert_eq!(&[2, 6], &req[16..18]);
        assert_eq!(&[0x1f, 0x90, 0x9c, 0x40], &req[24..28]);
        assert_eq!(&[127, 0, 0, 1], &req[28..32]);
        assert_eq!(&[127, 0, 0, 2], &req[44..48]);
    }
}
