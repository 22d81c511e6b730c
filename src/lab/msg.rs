//! recvmsg(2) and sendmsg(2) with ancillary data: what the kernel hands a
//! receiver beside the bytes (IP_PKTINFO, IP_TTL, IP_TOS, timestamps, the
//! drop counter, extended errors from the error queue) and what a sender can
//! attach. Control messages come back raw (level, type, bytes) with decoders
//! for the common payloads, so a case records exactly what the kernel gave.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;

use serde::{Deserialize, Serialize};

use super::sock::Sock;

/// One control message as the kernel delivered it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cmsg {
    pub level: i32,
    /// cmsg_type (IP_PKTINFO, SO_TIMESTAMPNS, ...).
    pub kind: i32,
    pub data: Vec<u8>,
}

impl Cmsg {
    pub fn new(level: i32, kind: i32, data: &[u8]) -> Cmsg {
        Cmsg {
            level,
            kind,
            data: data.to_vec(),
        }
    }

    /// The payload as a native-endian int (IP_TTL, IPV6_HOPLIMIT, SO_RXQ_OVFL...).
    pub fn int(&self) -> Option<i32> {
        Some(i32::from_ne_bytes(self.data.get(..4)?.try_into().ok()?))
    }

    /// The payload as one byte (IP_TOS is delivered as a byte).
    pub fn byte(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// struct timeval or timespec (SO_TIMESTAMP, SO_TIMESTAMPNS) as
    /// nanoseconds since the epoch.
    pub fn time_ns(&self) -> Option<i64> {
        let secs = i64::from_ne_bytes(self.data.get(..8)?.try_into().ok()?);
        let frac = i64::from_ne_bytes(self.data.get(8..16)?.try_into().ok()?);
        match self.kind {
            libc::SO_TIMESTAMP => Some(secs * 1_000_000_000 + frac * 1_000),
            libc::SO_TIMESTAMPNS => Some(secs * 1_000_000_000 + frac),
            _ => None,
        }
    }

    /// struct in_pktinfo: (interface index, local address, destination address).
    pub fn pktinfo_v4(&self) -> Option<(i32, Ipv4Addr, Ipv4Addr)> {
        let d = &self.data;
        Some((
            i32::from_ne_bytes(d.get(..4)?.try_into().ok()?),
            Ipv4Addr::new(*d.get(4)?, d[5], d[6], d[7]),
            Ipv4Addr::new(*d.get(8)?, d[9], d[10], d[11]),
        ))
    }

    /// struct in6_pktinfo: (destination address, interface index).
    pub fn pktinfo_v6(&self) -> Option<(Ipv6Addr, u32)> {
        let d = &self.data;
        let addr: [u8; 16] = d.get(..16)?.try_into().ok()?;
        Some((
            Ipv6Addr::from(addr),
            u32::from_ne_bytes(d.get(16..20)?.try_into().ok()?),
        ))
    }

    /// A struct sock_extended_err (IP_RECVERR / IPV6_RECVERR on the error queue).
    pub fn extended_err(&self) -> Option<ExtendedErr> {
        let d = &self.data;
        let u32_at = |i: usize| Some(u32::from_ne_bytes(d.get(i..i + 4)?.try_into().ok()?));
        Some(ExtendedErr {
            errno: u32_at(0)? as i32,
            origin: *d.get(4)?,
            kind: *d.get(5)?,
            code: *d.get(6)?,
            info: u32_at(8)?,
            data: u32_at(12)?,
            offender: d.get(16..).and_then(sockaddr),
        })
    }
}

/// struct sock_extended_err, and the address of the node that sent the error
/// (SO_EE_OFFENDER).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendedErr {
    pub errno: i32,
    /// SO_EE_ORIGIN_*: 0 none, 1 local, 2 ICMP, 3 ICMPv6.
    pub origin: u8,
    /// ICMP type and code (for ICMP origins).
    pub kind: u8,
    pub code: u8,
    /// ee_info: the MTU for "fragmentation needed" / "packet too big".
    pub info: u32,
    pub data: u32,
    pub offender: Option<IpAddr>,
}

fn sockaddr(d: &[u8]) -> Option<IpAddr> {
    let family = u16::from_ne_bytes(d.get(..2)?.try_into().ok()?) as i32;
    match family {
        libc::AF_INET => Some(IpAddr::V4(Ipv4Addr::new(*d.get(4)?, d[5], d[6], d[7]))),
        libc::AF_INET6 => {
            let a: [u8; 16] = d.get(8..24)?.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => None,
    }
}

/// What one recvmsg() returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    /// Bytes copied into the buffer (or the datagram's full length with MSG_TRUNC).
    pub len: usize,
    pub data: Vec<u8>,
    /// msg_flags: MSG_TRUNC, MSG_CTRUNC, MSG_ERRQUEUE, MSG_OOB...
    pub flags: i32,
    pub from: Option<SocketAddr>,
    pub cmsgs: Vec<Cmsg>,
}

impl Received {
    /// The first control message of `level` and `kind`.
    pub fn cmsg(&self, level: i32, kind: i32) -> Option<&Cmsg> {
        self.cmsgs
            .iter()
            .find(|c| c.level == level && c.kind == kind)
    }
}

/// recvmsg() on `s` with room for `max` bytes and plenty of control data.
pub fn recv(s: &Sock, max: usize, flags: i32) -> io::Result<Received> {
    let mut buf = vec![0u8; max];
    let mut control = [0u64; 128];
    // SAFETY: plain data; the kernel fills what it returns.
    let mut from: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; every pointer below outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut from as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: msg points at live buffers of the sizes it declares.
    let n = unsafe { libc::recvmsg(s.as_raw_fd(), &mut msg, flags) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    let mut cmsgs = Vec::new();
    // SAFETY: walking the control buffer the kernel just filled, with libc's macros.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let header = libc::CMSG_LEN(0) as usize;
            let len = ((*c).cmsg_len as usize).saturating_sub(header);
            let data = std::slice::from_raw_parts(libc::CMSG_DATA(c), len);
            cmsgs.push(Cmsg::new((*c).cmsg_level, (*c).cmsg_type, data));
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    let from = if msg.msg_namelen > 0 {
        super::sock::addr_from_storage(&from)
    } else {
        None
    };
    buf.truncate(n.min(max));
    Ok(Received {
        len: n,
        data: buf,
        flags: msg.msg_flags,
        from,
        cmsgs,
    })
}

/// sendmsg() of `buf` to `to` (None on a connected socket) with `cmsgs`.
pub fn send(s: &Sock, buf: &[u8], to: Option<SocketAddr>, cmsgs: &[Cmsg]) -> io::Result<usize> {
    let mut control: Vec<u64> = Vec::new();
    let space: usize = cmsgs
        .iter()
        // SAFETY: CMSG_SPACE is arithmetic on its argument.
        .map(|c| unsafe { libc::CMSG_SPACE(c.data.len() as u32) } as usize)
        .sum();
    control.resize(space.div_ceil(8), 0);
    let mut iov = libc::iovec {
        iov_base: buf.as_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    let dest = to.map(|a| super::sock::addr_to_storage(&a));
    // SAFETY: msghdr is plain data; every pointer below outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    if let Some((ss, len)) = &dest {
        msg.msg_name = (ss as *const libc::sockaddr_storage) as *mut libc::c_void;
        msg.msg_namelen = *len;
    }
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if space > 0 {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space;
        // SAFETY: the control buffer has room for every message (CMSG_SPACE each).
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            for m in cmsgs {
                (*c).cmsg_level = m.level;
                (*c).cmsg_type = m.kind;
                (*c).cmsg_len = libc::CMSG_LEN(m.data.len() as u32) as usize;
                std::ptr::copy_nonoverlapping(m.data.as_ptr(), libc::CMSG_DATA(c), m.data.len());
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
    }
    // SAFETY: msg points at live buffers of the sizes it declares.
    let n = unsafe { libc::sendmsg(s.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn decodes_the_common_payloads() {
        let ttl = Cmsg::new(libc::IPPROTO_IP, libc::IP_TTL, &64i32.to_ne_bytes());
        assert_eq!(Some(64), ttl.int());
        let mut pi = Vec::new();
        pi.extend_from_slice(&3i32.to_ne_bytes());
        pi.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 2]);
        let p = Cmsg::new(libc::IPPROTO_IP, libc::IP_PKTINFO, &pi);
        assert_eq!(
            Some((3, Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(127, 0, 0, 2))),
            p.pktinfo_v4()
        );
        let mut ts = Vec::new();
        ts.extend_from_slice(&2i64.to_ne_bytes());
        ts.extend_from_slice(&5i64.to_ne_bytes());
        let t = Cmsg::new(libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, &ts);
        assert_eq!(Some(2_000_000_005), t.time_ns());
        let t = Cmsg::new(libc::SOL_SOCKET, libc::SO_TIMESTAMP, &ts);
        assert_eq!(Some(2_000_005_000), t.time_ns());
    }

    #[test]
    fn an_extended_error_with_its_offender() {
        let mut d = Vec::new();
        d.extend_from_slice(&(libc::EMSGSIZE as u32).to_ne_bytes());
        d.extend_from_slice(&[2, 3, 4, 0]);
        d.extend_from_slice(&1400u32.to_ne_bytes());
        d.extend_from_slice(&0u32.to_ne_bytes());
        d.extend_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        d.extend_from_slice(&[0, 0, 10, 0, 0, 1]);
        let e = Cmsg::new(libc::IPPROTO_IP, libc::IP_RECVERR, &d)
            .extended_err()
            .unwrap();
        assert_eq!(
            (libc::EMSGSIZE, 2, 3, 4, 1400),
            (e.errno, e.origin, e.kind, e.code, e.info)
        );
        assert_eq!(Some(IpAddr::from([10, 0, 0, 1])), e.offender);
    }
}
