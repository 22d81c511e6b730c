//! Group membership on the LAN (lab::bridge) for the multicast cases: the
//! structs the group options take (ip_mreqn, ip_mreq_source, ip_msfilter,
//! ipv6_mreq), the group records of IGMPv3 and MLDv2 reports with their
//! sources, and the sentinel that ends the wait for a datagram that must not
//! come.
//!
//! # The sentinel
//!
//! (src/cases/multicast.rs has the whole argument.) A later datagram, sent
//! by the same thread on the same CPU (`lab::pin_thread`), along the same path
//! (from the same socket, or one whose route is the same interface) to a
//! socket of its own on the same host, leaves every hop after the earlier
//! datagram: once it is in its socket's queue, the earlier datagram is in
//! its sockets' queues or nowhere, and those queues are read without
//! waiting.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use etherparse::{LaxNetSlice, LaxSlicedPacket};
use serde::{Deserialize, Serialize};

use super::netlink::ifindex;
use super::ns::Host;
use super::packet::Frame;
use super::{phase, wait, Capture, Family, Sock};

/// How long a datagram or report that is coming may take: a deadline, never
/// a pause.
pub const WAIT: Duration = Duration::from_secs(2);

/// struct ip_mreqn: group, local address, interface index.
pub fn mreqn(group: Ipv4Addr, address: Ipv4Addr, ifindex: i32) -> [u8; 12] {
    let mut m = [0u8; 12];
    m[..4].copy_from_slice(&group.octets());
    m[4..8].copy_from_slice(&address.octets());
    m[8..].copy_from_slice(&ifindex.to_ne_bytes());
    m
}

/// struct ip_mreq_source: group, local interface address, source.
pub fn mreq_source(group: Ipv4Addr, iface: Ipv4Addr, source: Ipv4Addr) -> [u8; 12] {
    let mut m = [0u8; 12];
    m[..4].copy_from_slice(&group.octets());
    m[4..8].copy_from_slice(&iface.octets());
    m[8..].copy_from_slice(&source.octets());
    m
}

/// struct ip_msfilter of IP_MSFILTER_SIZE(n) bytes: group, interface
/// address, mode (MCAST_INCLUDE or MCAST_EXCLUDE), n, the n sources.
pub fn msfilter(group: Ipv4Addr, iface: Ipv4Addr, mode: i32, sources: &[Ipv4Addr]) -> Vec<u8> {
    let mut m = Vec::with_capacity(16 + 4 * sources.len());
    m.extend_from_slice(&group.octets());
    m.extend_from_slice(&iface.octets());
    m.extend_from_slice(&(mode as u32).to_ne_bytes());
    m.extend_from_slice(&(sources.len() as u32).to_ne_bytes());
    for s in sources {
        m.extend_from_slice(&s.octets());
    }
    m
}

/// A source filter as getsockopt(IP_MSFILTER) reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// MCAST_INCLUDE (1) or MCAST_EXCLUDE (0).
    pub mode: i32,
    /// The sources, as many as the kernel copied (it says how many it has).
    pub sources: Vec<Ipv4Addr>,
}

/// getsockopt(IP_MSFILTER) for `group` on the interface with address
/// `iface`, with room for 8 sources.
pub fn get_msfilter(s: &Sock, group: Ipv4Addr, iface: Ipv4Addr) -> std::io::Result<Filter> {
    const ROOM: usize = 8;
    let mut buf = msfilter(group, iface, 0, &[Ipv4Addr::UNSPECIFIED; ROOM]);
    let len = s.get_raw(libc::IPPROTO_IP, libc::IP_MSFILTER, &mut buf)?;
    let word = |i: usize| u32::from_ne_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
    let n = (word(12) as usize)
        .min(ROOM)
        .min(len.saturating_sub(16) / 4);
    Ok(Filter {
        mode: word(8) as i32,
        sources: (0..n)
            .map(|i| {
                let o = 16 + 4 * i;
                Ipv4Addr::new(buf[o], buf[o + 1], buf[o + 2], buf[o + 3])
            })
            .collect(),
    })
}

/// struct ipv6_mreq: group, interface index.
pub fn ipv6_mreq(group: Ipv6Addr, ifindex: i32) -> [u8; 20] {
    let mut m = [0u8; 20];
    m[..16].copy_from_slice(&group.octets());
    m[16..].copy_from_slice(&ifindex.to_ne_bytes());
    m
}

/// Joins `group` on `sock` by interface index: IP_ADD_MEMBERSHIP with an
/// ip_mreqn, or IPV6_ADD_MEMBERSHIP.
pub fn join_index(sock: &Sock, group: IpAddr, ifindex: i32) -> Result<()> {
    match group {
        IpAddr::V4(g) => sock.set_raw(
            libc::IPPROTO_IP,
            libc::IP_ADD_MEMBERSHIP,
            &mreqn(g, Ipv4Addr::UNSPECIFIED, ifindex),
        ),
        IpAddr::V6(g) => sock.set_raw(
            libc::IPPROTO_IPV6,
            libc::IPV6_ADD_MEMBERSHIP,
            &ipv6_mreq(g, ifindex),
        ),
    }
    .with_context(|| format!("join {group} on interface {ifindex}"))
}

/// The index of `ifname` in `host`.
pub fn index_in(host: &Host, ifname: &str) -> Result<i32> {
    host.run(|| ifindex(ifname))?
}

/// A UDP socket in `host` of the family of `bind`, with SO_REUSEADDR (so
/// that several sockets share a group's port), bound to `bind`.
pub fn udp_bound(host: &Host, bind: SocketAddr) -> Result<Sock> {
    host.run(|| -> Result<Sock> {
        let s = Sock::udp(Family::of(&bind.ip()))?;
        s.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
            .context("SO_REUSEADDR")?;
        s.bind(bind)
            .with_context(|| format!("bind {bind} in {}", host.name))?;
        Ok(s)
    })?
}

/// An unbound UDP socket in `host`.
pub fn udp_in(host: &Host, family: Family) -> Result<Sock> {
    host.run(|| Sock::udp(family))?
}

/// The wildcard address of `group`'s family with `port`.
pub fn any_port(group: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(Family::of(&group).any(), port)
}

/// A socket in `host` bound to the wildcard address and `port` that joined
/// `group` on `ifname` by its index.
pub fn member(host: &Host, ifname: &str, group: IpAddr, port: u16) -> Result<Sock> {
    let s = udp_bound(host, any_port(group, port))?;
    join_index(&s, group, index_in(host, ifname)?)?;
    Ok(s)
}

/// The next datagram on `s` within `d`, as text.
pub fn recv_within(s: &Sock, d: Duration) -> Result<Option<String>> {
    if !wait::readable(s.as_raw_fd(), d)? {
        return Ok(None);
    }
    let mut buf = [0u8; 256];
    Ok(s.recv(&mut buf, libc::MSG_DONTWAIT)
        .ok()
        .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned()))
}

/// Every datagram already queued on `s`, oldest first, without waiting.
pub fn queued(s: &Sock) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    while let Ok(n) = s.recv(&mut buf, libc::MSG_DONTWAIT) {
        out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    out
}

/// What a sentinel carries.
pub const SENTINEL: &str = "sentinel";

/// A receiver for sentinels on one host: a socket of its own that joined a
/// group of the case's on an interface, on a port no other socket uses.
pub struct Sentinel {
    rx: Sock,
    to: SocketAddr,
}

impl Sentinel {
    pub fn on(host: &Host, ifname: &str, group: IpAddr, port: u16) -> Result<Sentinel> {
        Ok(Sentinel::of(
            member(host, ifname, group, port)?,
            SocketAddr::new(group, port),
        ))
    }

    /// A sentinel received by `rx`, a member of the group `to` names, on
    /// `to`'s port: for a case that makes its memberships its own way.
    pub fn of(rx: Sock, to: SocketAddr) -> Sentinel {
        Sentinel { rx, to }
    }

    /// Sends a sentinel from `tx`, which routes it as it routed the datagrams
    /// before, and waits for it: what arrived (the sentinel: nothing sent
    /// earlier along its path is still coming), none if nothing did.
    pub fn follows(&self, tx: &Sock) -> Result<Option<String>> {
        tx.send_to(SENTINEL.as_bytes(), 0, self.to)
            .context("send the sentinel")?;
        phase("waiting for the sentinel");
        recv_within(&self.rx, WAIT)
    }
}

/// What two datagrams a multicast loop case sends carry: the first with the
/// loop as it came, the second with it at 0.
pub const FIRST: &str = "datagram 1";
pub const SECOND: &str = "datagram 2";

/// The multicast loop option of a family: IP_MULTICAST_LOOP or
/// IPV6_MULTICAST_LOOP.
pub fn loop_option(family: Family) -> (i32, i32, &'static str) {
    match family {
        Family::V4 => (
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_LOOP,
            "IP_MULTICAST_LOOP",
        ),
        Family::V6 => (
            libc::IPPROTO_IPV6,
            libc::IPV6_MULTICAST_LOOP,
            "IPV6_MULTICAST_LOOP",
        ),
    }
}

/// What the members got while a sender's multicast loop went from its
/// default to 0 (`toggle_loop`).
pub struct LoopRun<const N: usize> {
    /// The loop option on the sender as it came.
    pub default: i32,
    /// What each local member got with the loop as it came (FIRST).
    pub local_with_1: [Option<String>; N],
    /// What the member on another host got, with the loop as it came and
    /// with 0.
    pub remote_with_1: Option<String>,
    pub remote_with_0: Option<String>,
    /// What each local member had queued once the sentinel came (SECOND,
    /// if the loop still looped it back).
    pub local_with_0: [Vec<String>; N],
    /// The sentinel at the sender's host.
    pub sentinel: Option<String>,
}

/// Sends FIRST from `tx` to `to` with the multicast loop as it came, then
/// SECOND with the loop at 0; then, with the loop back at 1, a sentinel,
/// which takes the loopback path SECOND would have taken. `local` are the
/// members on the sender's host (`tx` itself may be one), `remote` one on
/// another host.
pub fn toggle_loop<const N: usize>(
    family: Family,
    tx: &Sock,
    to: SocketAddr,
    local: [&Sock; N],
    remote: &Sock,
    sentinel: &Sentinel,
) -> Result<LoopRun<N>> {
    let (level, option, name) = loop_option(family);
    let default = tx.get_int(level, option)?;
    tx.send_to(FIRST.as_bytes(), 0, to)?;
    let mut local_with_1: [Option<String>; N] = std::array::from_fn(|_| None);
    for (got, s) in local_with_1.iter_mut().zip(local) {
        *got = recv_within(s, WAIT)?;
    }
    let remote_with_1 = recv_within(remote, WAIT)?;
    tx.set_int(level, option, 0)
        .with_context(|| format!("{name} 0"))?;
    tx.send_to(SECOND.as_bytes(), 0, to)?;
    let remote_with_0 = recv_within(remote, WAIT)?;
    tx.set_int(level, option, 1)
        .with_context(|| format!("{name} 1"))?;
    let sentinel = sentinel.follows(tx)?;
    Ok(LoopRun {
        default,
        local_with_1,
        remote_with_1,
        remote_with_0,
        local_with_0: local.map(queued),
        sentinel,
    })
}

/// One group record of an IGMPv3 or MLDv2 report (RFC 3376 4.2.4, RFC 3810
/// 5.2.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRecord {
    /// 1 MODE_IS_INCLUDE, 2 MODE_IS_EXCLUDE, 3 CHANGE_TO_INCLUDE,
    /// 4 CHANGE_TO_EXCLUDE, 5 ALLOW_NEW_SOURCES, 6 BLOCK_OLD_SOURCES.
    pub kind: u8,
    pub group: IpAddr,
    pub sources: Vec<IpAddr>,
}

/// A record type by its RFC 3376 name.
pub fn record_name(kind: u8) -> String {
    match kind {
        1 => "MODE_IS_INCLUDE".into(),
        2 => "MODE_IS_EXCLUDE".into(),
        3 => "CHANGE_TO_INCLUDE".into(),
        4 => "CHANGE_TO_EXCLUDE".into(),
        5 => "ALLOW_NEW_SOURCES".into(),
        6 => "BLOCK_OLD_SOURCES".into(),
        _ => format!("type {kind}"),
    }
}

/// The group records of a frame that carries an IGMPv3 membership report
/// (IGMP type 0x22) or an MLDv2 listener report (ICMPv6 type 143); none for
/// any other frame.
pub fn group_records(frame: &Frame) -> Vec<GroupRecord> {
    records(&frame.data).unwrap_or_default()
}

fn records(data: &[u8]) -> Option<Vec<GroupRecord>> {
    let p = LaxSlicedPacket::from_ethernet(data).ok()?;
    let (v6, body) = match p.net? {
        LaxNetSlice::Ipv4(v4) if v4.payload_ip_number().0 == 2 => (false, v4.payload().payload),
        LaxNetSlice::Ipv6(v6) if v6.payload().ip_number.0 == 58 => (true, v6.payload().payload),
        _ => return None,
    };
    let report = if v6 { 143 } else { 0x22 };
    if *body.first()? != report {
        return None;
    }
    // Type, reserved or code, checksum, reserved(2), number of records(2).
    let n = u16::from_be_bytes([*body.get(6)?, *body.get(7)?]) as usize;
    let width = if v6 { 16 } else { 4 };
    let addr = |b: &[u8]| -> Option<IpAddr> {
        Some(if v6 {
            IpAddr::from(<[u8; 16]>::try_from(b.get(..16)?).ok()?)
        } else {
            IpAddr::from(<[u8; 4]>::try_from(b.get(..4)?).ok()?)
        })
    };
    let mut out = Vec::new();
    let mut rec = body.get(8..)?;
    for _ in 0..n {
        // Type, aux data length (words), number of sources, group, sources.
        let aux = *rec.get(1)? as usize * 4;
        let nsrc = u16::from_be_bytes([*rec.get(2)?, *rec.get(3)?]) as usize;
        let group = addr(rec.get(4..)?)?;
        let sources = (0..nsrc)
            .map(|i| addr(rec.get(4 + width * (1 + i)..)?))
            .collect::<Option<Vec<_>>>()?;
        out.push(GroupRecord {
            kind: rec[0],
            group,
            sources,
        });
        rec = rec.get(4 + width * (1 + nsrc) + aux..)?;
    }
    Some(out)
}

/// The first group record satisfying `fits` in a report captured after
/// the first `seen` frames, waited for at most `WAIT`: what the kernel
/// announced for a change made once `seen` frames had been captured. None if
/// no such record came.
pub fn wait_record(
    cap: &mut Capture,
    seen: usize,
    fits: impl Fn(&GroupRecord) -> bool,
) -> Result<Option<GroupRecord>> {
    wait_record_until(cap, seen, Instant::now() + WAIT, fits)
}

/// `wait_record` with a deadline of the caller's: several records that are
/// all coming share one wait, so a kernel that sends none of them costs one
/// `WAIT`, not one each.
pub fn wait_record_until(
    cap: &mut Capture,
    seen: usize,
    deadline: Instant,
    fits: impl Fn(&GroupRecord) -> bool,
) -> Result<Option<GroupRecord>> {
    phase("waiting for a group record");
    loop {
        let frames = cap.frames()?;
        let found = frames
            .get(seen..)
            .unwrap_or_default()
            .iter()
            .flat_map(group_records)
            .find(|r| fits(r));
        if found.is_some() {
            return Ok(found);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        cap.wait_beyond(frames.len(), left)?;
    }
}

/// The UDP payload a frame carries, as text (as far as the capture kept it).
pub fn udp_text(frame: &Frame) -> Option<String> {
    let p = LaxSlicedPacket::from_ethernet(&frame.data).ok()?;
    match p.transport? {
        etherparse::TransportSlice::Udp(u) => {
            Some(String::from_utf8_lossy(u.payload()).into_owned())
        }
        _ => None,
    }
}

/// The groups the calling thread's namespace has joined on `ifname`
/// (/proc/net/igmp6).
pub fn joined_groups_v6(ifname: &str) -> Result<Vec<Ipv6Addr>> {
    let text =
        std::fs::read_to_string("/proc/thread-self/net/igmp6").context("read /proc/net/igmp6")?;
    // "2    eth0            ff0e0000000000000000000000410001     1 00000004 0"
    Ok(text
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.get(1) == Some(&ifname))
                .then(|| u128::from_str_radix(cols.get(2)?, 16).ok())
                .flatten()
                .map(Ipv6Addr::from)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use pretty_assertions::assert_eq;

    fn frame(data: Vec<u8>) -> Frame {
        Frame {
            t_ns: 0,
            len: data.len() as u32,
            iface: "eth0".into(),
            data,
        }
    }

    /// An IGMPv3 report with a CHANGE_TO_INCLUDE record of two sources and
    /// an ALLOW_NEW_SOURCES record of none.
    #[test]
    fn igmpv3_records_with_their_sources() {
        let mut igmp = vec![0x22, 0, 0, 0, 0, 0, 0, 2];
        igmp.extend([3, 0, 0, 2, 239, 1, 2, 3, 10, 0, 0, 1, 10, 0, 0, 3]);
        igmp.extend([5, 0, 0, 0, 239, 1, 2, 4]);
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [1, 0, 0x5e, 0, 0, 0x16]).ipv4(
            [10, 0, 0, 2],
            [224, 0, 0, 22],
            1,
        );
        let mut out = Vec::new();
        b.write(&mut out, etherparse::IpNumber(2), &igmp).unwrap();
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        assert_eq!(
            vec![
                GroupRecord {
                    kind: 3,
                    group: ip("239.1.2.3"),
                    sources: vec![ip("10.0.0.1"), ip("10.0.0.3")]
                },
                GroupRecord {
                    kind: 5,
                    group: ip("239.1.2.4"),
                    sources: vec![]
                }
            ],
            group_records(&frame(out))
        );
    }

    #[test]
    fn mldv2_records_and_other_frames() {
        let g: Ipv6Addr = "ff0e::41:1".parse().unwrap();
        let s: Ipv6Addr = "2001:db8:a::11".parse().unwrap();
        let mut mld = vec![143, 0, 0, 0, 0, 0, 0, 1, 6, 0, 0, 1];
        mld.extend(g.octets());
        mld.extend(s.octets());
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [0x33, 0x33, 0, 0, 0, 0x16]).ipv6(
            Ipv6Addr::UNSPECIFIED.octets(),
            "ff02::16".parse::<Ipv6Addr>().unwrap().octets(),
            1,
        );
        let mut out = Vec::new();
        b.write(&mut out, etherparse::IpNumber(58), &mld).unwrap();
        assert_eq!(
            vec![GroupRecord {
                kind: 6,
                group: g.into(),
                sources: vec![s.into()]
            }],
            group_records(&frame(out))
        );
        let udp = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 1)
            .udp(1, 2);
        let mut out = Vec::new();
        udp.write(&mut out, b"x").unwrap();
        let udp = frame(out);
        assert_eq!(Vec::<GroupRecord>::new(), group_records(&udp));
        assert_eq!(Some("x".to_string()), udp_text(&udp));
        assert_eq!(
            vec!["CHANGE_TO_EXCLUDE".to_string(), "type 9".into()],
            vec![record_name(4), record_name(9)]
        );
    }

    #[test]
    fn structs_as_the_kernel_reads_them() {
        let g = Ipv4Addr::new(239, 1, 2, 3);
        let a = Ipv4Addr::new(10, 0, 0, 1);
        let m = msfilter(g, a, libc::MCAST_INCLUDE, &[a]);
        assert_eq!(20, m.len());
        assert_eq!(&[239, 1, 2, 3, 10, 0, 0, 1], &m[..8]);
        assert_eq!(1, u32::from_ne_bytes(m[8..12].try_into().unwrap()));
        assert_eq!(1, u32::from_ne_bytes(m[12..16].try_into().unwrap()));
        assert_eq!(
            &[239, 1, 2, 3, 10, 0, 0, 1, 10, 0, 0, 1],
            &mreq_source(g, a, a)
        );
        assert_eq!(
            7,
            i32::from_ne_bytes(mreqn(g, a, 7)[8..].try_into().unwrap())
        );
        assert_eq!(
            9,
            i32::from_ne_bytes(ipv6_mreq(Ipv6Addr::LOCALHOST, 9)[16..].try_into().unwrap())
        );
    }
}
