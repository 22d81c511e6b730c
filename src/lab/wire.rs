//! Making a veth link behave like a real wire for the cases that count segment
//! sizes or compare MAC addresses: segmentation offloads off (so a capture sees
//! MSS-sized segments, not 64 KB GSO super-packets), an interface's hardware
//! address, and a TCP connection whose two ends sit in the link's two hosts.

use std::net::{Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{Context, Result};

use super::netlink::{ifindex, Netlink};
use super::sock::{Family, Sock, TcpPair};
use super::topo::Link;
use super::wait;

const ETHTOOL_STSO: u32 = 0x1f;
const ETHTOOL_SGSO: u32 = 0x24;
const ETHTOOL_SGRO: u32 = 0x2c;

#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

fn ifreq(name: &str) -> Result<libc::ifreq> {
    // SAFETY: ifreq is plain data; all-zero is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    let bytes = name.as_bytes();
    anyhow::ensure!(
        bytes.len() < ifr.ifr_name.len(),
        "interface name {name} too long"
    );
    for (d, s) in ifr.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    Ok(ifr)
}

/// Turns TSO, GSO and GRO off on `ifname` (calling thread's namespace), as
/// `ethtool -K IF tso off gso off gro off` does. TCP still builds large
/// packets, but the device then segments them before its taps see them, so a
/// capture shows each segment as it would travel on a real wire.
pub fn offloads_off(ifname: &str) -> Result<()> {
    let sock = Sock::udp(Family::V4)?;
    for (cmd, name) in [
        (ETHTOOL_STSO, "tso"),
        (ETHTOOL_SGSO, "gso"),
        (ETHTOOL_SGRO, "gro"),
    ] {
        let mut val = EthtoolValue { cmd, data: 0 };
        let mut ifr = ifreq(ifname)?;
        ifr.ifr_ifru.ifru_data = (&mut val as *mut EthtoolValue).cast();
        // SAFETY: SIOCETHTOOL reads the ethtool_value ifr points at, alive for the call.
        let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCETHTOOL, &mut ifr) };
        if rc < 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("ethtool -K {ifname} {name} off"));
        }
    }
    Ok(())
}

/// Hardware (MAC) address of `ifname` in the calling thread's namespace.
pub fn hwaddr(ifname: &str) -> Result<[u8; 6]> {
    let sock = Sock::udp(Family::V4)?;
    let mut ifr = ifreq(ifname)?;
    // SAFETY: SIOCGIFHWADDR fills ifr's hwaddr member.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFHWADDR, &mut ifr) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("SIOCGIFHWADDR {ifname}"));
    }
    // SAFETY: after SIOCGIFHWADDR the union holds the hardware address.
    let sa = unsafe { ifr.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (d, s) in mac.iter_mut().zip(sa.sa_data.iter()) {
        *d = *s as u8;
    }
    Ok(mac)
}

/// Both ends of `link`: offloads off and the given MTU; returns once the
/// link carries traffic (see `await_traffic`).
pub fn wire_like(link: &Link, mtu: u32) -> Result<()> {
    let prep = |ifname: &str| -> Result<()> {
        offloads_off(ifname)?;
        let nl = Netlink::open()?;
        nl.set_mtu(ifindex(ifname)?, mtu)
    };
    link.a.run(|| prep(&link.a_end.ifname))??;
    link.b.run(|| prep(&link.b_end.ifname))??;
    await_traffic(link)
}

/// How long a new link may take to carry traffic. Milliseconds as a rule;
/// but the kernel starts a veth's queue from its link watcher, which needs
/// the rtnetlink lock, and a machine tearing down hundreds of namespaces at
/// once (the test suite's lanes on two cores) holds that lock for seconds at
/// a time: 5 s was once not enough there. Only a link that never comes up
/// waits this long.
pub const READY: Duration = Duration::from_secs(15);

/// Waits until a datagram gets across `link` each way, and (IPv6) until
/// each end answers neighbour solicitations for its address. A veth end
/// brought up while its peer is still down gets its queue activated only by
/// the later carrier-on event, which the kernel's linkwatch handles
/// asynchronously: until then what is sent on it is silently dropped. A
/// dropped first ARP request is retried only a second later, so the probes
/// go to the all-hosts (IPv6: all-nodes) group, which needs no address
/// resolution, and are simply sent again. No socket option is involved, so
/// a shim that ignores some cannot stop it.
pub fn await_traffic(link: &Link) -> Result<()> {
    let family = Family::of(&link.a_end.addr);
    let ends = [
        (&link.a, &link.a_end, &link.b),
        (&link.b, &link.b_end, &link.a),
    ];
    if family == Family::V6 {
        for (host, end, _) in ends {
            host.run(|| await_neighbour_discovery(end))??;
        }
    }
    for (from, end, to) in ends {
        let rx = to.run(|| -> Result<Sock> {
            let rx = Sock::udp(family)?;
            rx.bind(SocketAddr::new(family.any(), 0))
                .context("bind link probe receiver")?;
            Ok(rx)
        })??;
        let port = rx.local_addr()?.port();
        let (tx, dst) = from.run(|| -> Result<(Sock, SocketAddr)> {
            let tx = Sock::udp(family)?;
            let dst = match family {
                Family::V4 => {
                    // Bound to the interface's address, a datagram to the
                    // all-hosts group leaves through that interface.
                    tx.bind(SocketAddr::new(end.addr, 0))
                        .context("bind link probe sender")?;
                    SocketAddr::new(std::net::Ipv4Addr::new(224, 0, 0, 1).into(), port)
                }
                Family::V6 => SocketAddr::V6(std::net::SocketAddrV6::new(
                    std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
                    port,
                    0,
                    ifindex(&end.ifname)? as u32,
                )),
            };
            Ok((tx, dst))
        })??;
        let mut buf = [0u8; 8];
        wait::until(
            &format!("a datagram from {} across the veth link", end.addr),
            READY,
            || {
                // A send error (ENOBUFS on a dropped packet) just means "not yet".
                let _ = tx.send_to(b"probe", 0, dst);
                Ok(rx.recv(&mut buf, libc::MSG_DONTWAIT).ok().map(|_| ()))
            },
        )?;
    }
    Ok(())
}

/// The solicited-node group of an IPv6 address (RFC 4291): ff02::1:ff
/// followed by the address's last 24 bits.
fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let low = u128::from(addr) & 0xff_ffff;
    Ipv6Addr::from(0xff02_0000_0000_0000_0000_0001_ff00_0000u128 | low)
}

/// Whether /proc/net/if_inet6 (`text`) lists a usable link-local address
/// on `ifname`: link scope, not tentative.
fn has_link_local(text: &str, ifname: &str) -> bool {
    const SCOPE_LINK: u32 = 0x20;
    const IFA_F_TENTATIVE: u32 = 0x40;
    // "fe8000000000000000ff00fffe000021 05 40 20 80 veth-rf":
    // address, index, prefix length, scope, flags, name.
    text.lines().any(|l| {
        let c: Vec<&str> = l.split_whitespace().collect();
        let hex = |i: usize| c.get(i).and_then(|v| u32::from_str_radix(v, 16).ok());
        c.get(5) == Some(&ifname)
            && hex(3) == Some(SCOPE_LINK)
            && hex(4).is_some_and(|f| f & IFA_F_TENTATIVE == 0)
    })
}

/// Waits in the calling thread's namespace until `end`'s interface can take
/// part in neighbour discovery: it has joined its address's solicited-node
/// group, and it has a link-local address that is no longer tentative. The
/// kernel does both asynchronously after the interface comes up (work
/// queues, even without duplicate address detection). Until the group is
/// joined, solicitations for the address are dropped; until the link-local
/// address is there, a router sends no solicitation at all for a packet it
/// forwards. Either way the asking side retries only a second later (three
/// times, then gives up): the first unicast datagrams would wait a second
/// or be lost.
fn await_neighbour_discovery(end: &super::topo::End) -> Result<()> {
    let std::net::IpAddr::V6(addr) = end.addr else {
        return Ok(());
    };
    let group = solicited_node(addr);
    wait::until(
        &format!(
            "{} to join {group} (solicited-node group of {addr}) and to have a link-local address",
            end.ifname
        ),
        READY,
        || {
            let joined = super::mcast::joined_groups_v6(&end.ifname)?.contains(&group);
            let addrs = std::fs::read_to_string("/proc/thread-self/net/if_inet6")
                .context("read /proc/net/if_inet6")?;
            Ok((joined && has_link_local(&addrs, &end.ifname)).then_some(()))
        },
    )
}

/// A TCP connection across `link`: the listener (and so the accepted socket)
/// in host b on b's address, the client in host a. `prep_listener` runs
/// before listen(), `prep_client` before connect().
pub fn tcp_across(
    link: &Link,
    prep_listener: impl FnOnce(&Sock) -> Result<()>,
    prep_client: impl FnOnce(&Sock) -> Result<()>,
) -> Result<TcpPair> {
    let family = Family::of(&link.b_end.addr);
    let listener = link.b.run(|| -> Result<Sock> {
        let l = Sock::tcp(family)?;
        prep_listener(&l)?;
        l.bind(SocketAddr::new(link.b_end.addr, 0))
            .with_context(|| format!("bind listener on {}", link.b_end.addr))?;
        l.listen(16).context("listen")?;
        Ok(l)
    })??;
    let target = listener.local_addr()?;
    let client = link.a.run(|| -> Result<Sock> {
        let c = Sock::tcp(family)?;
        prep_client(&c)?;
        c.connect(target)
            .with_context(|| format!("connect to {target}"))?;
        Ok(c)
    })??;
    // The listener may be non-blocking (a case about inheritance sets
    // O_NONBLOCK on it): wait for the handshake to complete on b's side.
    wait::readable(listener.as_raw_fd(), Duration::from_secs(5))?;
    let server = listener.accept().context("accept")?;
    Ok(TcpPair {
        client,
        server,
        listener,
    })
}

/// Bytes of TCP options on every data segment of a connection in the calling
/// thread's namespace: the timestamp option (10, padded to 12) when
/// net.ipv4.tcp_timestamps is on. Payload per segment = MSS - this.
pub fn option_bytes() -> Result<u32> {
    Ok(
        if super::procnet::sysctl_int("net/ipv4/tcp_timestamps")? != 0 {
            12
        } else {
            0
        },
    )
}

const ETHTOOL_STXCSUM: u32 = 0x17;

/// An offload `set_offload` switches, by its `ethtool -K` name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offload {
    /// tso: a veth hands its peer's NAPI only packets from a device without
    /// TSO (veth_skb_is_eligible_for_gro).
    Tso,
    /// gro: on a veth, GRO switched on gives the device a NAPI context (its
    /// receive side then has a NAPI id and coalesces).
    Gro,
    /// tx-checksumming.
    TxChecksum,
}

/// Switches one offload of `ifname` in the calling thread's namespace, as
/// `ethtool -K IF NAME on|off` does. A veth must be up for GRO to matter.
pub fn set_offload(ifname: &str, offload: Offload, on: bool) -> Result<()> {
    let (cmd, name) = match offload {
        Offload::Tso => (ETHTOOL_STSO, "tso"),
        Offload::Gro => (ETHTOOL_SGRO, "gro"),
        Offload::TxChecksum => (ETHTOOL_STXCSUM, "tx"),
    };
    let sock = Sock::udp(Family::V4)?;
    let mut val = EthtoolValue {
        cmd,
        data: on as u32,
    };
    let mut ifr = ifreq(ifname)?;
    ifr.ifr_ifru.ifru_data = (&mut val as *mut EthtoolValue).cast();
    // SAFETY: SIOCETHTOOL reads the ethtool_value ifr points at, alive for the call.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCETHTOOL, &mut ifr) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| {
            format!(
                "ethtool -K {ifname} {name} {}",
                if on { "on" } else { "off" }
            )
        });
    }
    Ok(())
}

const ETHTOOL_GSTRINGS: u32 = 0x1b;
const ETHTOOL_GSSET_INFO: u32 = 0x37;
const ETHTOOL_GFEATURES: u32 = 0x3a;
const ETH_SS_FEATURES: u32 = 4;
const ETH_GSTRING_LEN: usize = 32;

/// One SIOCETHTOOL call on `ifname` with `buf` (a struct ethtool_* whose
/// first u32 is the command) as its data.
fn ethtool(ifname: &str, buf: &mut [u32], what: &str) -> Result<()> {
    let sock = Sock::udp(Family::V4)?;
    let mut ifr = ifreq(ifname)?;
    ifr.ifr_ifru.ifru_data = buf.as_mut_ptr().cast();
    // SAFETY: SIOCETHTOOL reads and writes the buffer ifr points at, alive
    // for the call and as large as the command's struct says.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCETHTOOL, &mut ifr) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("ethtool {what} on {ifname}"));
    }
    Ok(())
}

/// Whether the feature `name` (as `ethtool -k` lists it, e.g.
/// "tx-udp-segmentation") is on for `ifname` in the calling thread's
/// namespace; None when this kernel has no feature of that name.
pub fn feature_active(ifname: &str, name: &str) -> Result<Option<bool>> {
    // struct ethtool_sset_info: cmd, reserved, u64 sset_mask, u32 data[1].
    let mut info = [ETHTOOL_GSSET_INFO, 0, 1 << ETH_SS_FEATURES, 0, 0];
    ethtool(ifname, &mut info, "GSSET_INFO")?;
    let count = info[4] as usize;
    // struct ethtool_gstrings: cmd, string_set, len, then len names of 32 bytes.
    let mut strings = vec![0u32; 3 + count * ETH_GSTRING_LEN / 4];
    strings[..3].copy_from_slice(&[ETHTOOL_GSTRINGS, ETH_SS_FEATURES, count as u32]);
    ethtool(ifname, &mut strings, "GSTRINGS")?;
    let bytes: Vec<u8> = strings[3..].iter().flat_map(|w| w.to_ne_bytes()).collect();
    let Some(index) = bytes
        .chunks(ETH_GSTRING_LEN)
        .position(|n| n.split(|b| *b == 0).next() == Some(name.as_bytes()))
    else {
        return Ok(None);
    };
    // struct ethtool_gfeatures: cmd, size, then size blocks of available,
    // requested, active, never_changed.
    let blocks = count.div_ceil(32);
    let mut features = vec![0u32; 2 + blocks * 4];
    features[..2].copy_from_slice(&[ETHTOOL_GFEATURES, blocks as u32]);
    ethtool(ifname, &mut features, "GFEATURES")?;
    let active = features[2 + (index / 32) * 4 + 2];
    Ok(Some(active & (1 << (index % 32)) != 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn solicited_node_keeps_the_last_24_bits() {
        let addr: Ipv6Addr = "2001:db8:2::12:3456".parse().unwrap();
        let want: Ipv6Addr = "ff02::1:ff12:3456".parse().unwrap();
        assert_eq!(want, solicited_node(addr));
    }

    #[test]
    fn a_link_local_address_counts_once_it_is_not_tentative() {
        let ready = "20010db8000200000000000000000001 05 40 00 80 veth-rf\n\
                     fe8000000000000000ff00fffe000021 05 40 20 80 veth-rf\n";
        let tentative = "fe8000000000000000ff00fffe000021 05 40 20 c0 veth-rf\n";
        assert!(has_link_local(ready, "veth-rf"));
        assert!(!has_link_local(ready, "veth-rh"));
        assert!(!has_link_local(tentative, "veth-rf"));
        assert!(!has_link_local(
            "20010db8000200000000000000000001 05 40 00 80 veth-rf\n",
            "veth-rf"
        ));
    }
}
