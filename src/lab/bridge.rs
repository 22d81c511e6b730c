//! A small LAN: hosts (namespaces) joined through Linux bridges that live in
//! a "switch" namespace, like machines on an Ethernet switch.
//!
//! Segment A (bridge br0): h1, h2, h3 at 198.51.100.11-13/24.
//! Segment B (bridge br1): h1's second interface eth1 at 203.0.113.1/24 and
//! h4 at 203.0.113.4/24, for IP_MULTICAST_IF.
//! Every host routes 224.0.0.0/4 out of eth0 and has fixed MACs.
//!
//! A case builds h1 and only the other hosts it uses (segment B, with h1's
//! eth1, only with h4): each host is a namespace, a veth pair and a path to
//! wait for, about 1.5 ms of CPU; the LAN cases used 2.2 hosts of 4 on
//! average.
//!
//! `Lan::build_v6` adds IPv6 on the same interfaces: segment A
//! 2001:db8:a::/64 (h1-h3 at ::11-::13), segment B 2001:db8:b::/64 (h1 ::1,
//! h4 ::4), without duplicate address detection, and a route for ff00::/8
//! out of eth0 that wins over the kernel's per-interface ones.
//!
//! With SOCKSPEC_NETNS_PREFIX=P set, the same LAN is not built but adopted:
//! hosts are the named namespaces /run/netns/P-h1 .. P-h4 that
//! scripts/netns.sh built with these names and addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::{Context, Result};

use super::netlink::{ifindex, Netlink};
use super::ns::{Host, Lab};
use super::{wait, Family, Sock};

pub const PREFIX_ENV: &str = "SOCKSPEC_NETNS_PREFIX";

/// One host's interface on a segment.
#[derive(Clone, Debug)]
pub struct Nic {
    pub ifname: &'static str,
    pub addr: Ipv4Addr,
    pub mac: [u8; 6],
}

pub struct Station {
    pub host: Host,
    pub nics: Vec<Nic>,
}

impl Nic {
    /// The IPv6 address `Lan::build_v6` gives this interface: the segment's
    /// /64 (2001:db8:a:: or 2001:db8:b::) with the IPv4 host number written
    /// in its last group (198.51.100.12 -> 2001:db8:a::12).
    pub fn addr6(&self) -> Ipv6Addr {
        let o = self.addr.octets();
        let segment = if o[..3] == SEGMENT_A { 0xa } else { 0xb };
        let host = u16::from_str_radix(&o[3].to_string(), 16).unwrap_or(0);
        Ipv6Addr::new(0x2001, 0xdb8, segment, 0, 0, 0, 0, host)
    }
}

impl Station {
    /// The interface on segment A (or the only one).
    pub fn nic(&self) -> &Nic {
        &self.nics[0]
    }
}

pub struct Lan {
    /// h1, h2, h3 on segment A; h4 on segment B (h1 is on both); None for
    /// the hosts this LAN was built without.
    hosts: Vec<Option<Station>>,
    /// The namespace holding the bridges. Held for the LAN's life: a
    /// namespace nobody refers to is destroyed, and its veths with it.
    _switch: Option<Host>,
    /// Whether the LAN was adopted from named namespaces.
    pub adopted: bool,
}

/// The plan both this module and scripts/netns.sh follow.
pub const SEGMENT_A: [u8; 3] = [198, 51, 100];
pub const SEGMENT_B: [u8; 3] = [203, 0, 113];

fn mac(host: u8, nic: u8) -> [u8; 6] {
    [0x02, 0x00, 0x00, 0x00, nic, host]
}

fn plan() -> Vec<Vec<(&'static str, u8, Ipv4Addr)>> {
    let a = |h: u8| Ipv4Addr::new(SEGMENT_A[0], SEGMENT_A[1], SEGMENT_A[2], 10 + h);
    let b = |h: u8| Ipv4Addr::new(SEGMENT_B[0], SEGMENT_B[1], SEGMENT_B[2], h);
    vec![
        vec![("eth0", 0, a(1)), ("eth1", 1, b(1))],
        vec![("eth0", 0, a(2))],
        vec![("eth0", 0, a(3))],
        vec![("eth0", 1, b(4))],
    ]
}

impl Lan {
    /// Builds h1 and the hosts `others` (of 2, 3 and 4; h4 brings segment B
    /// and h1's eth1) in namespaces of this case, or adopts netns.sh's LAN,
    /// which has them all.
    pub fn build(lab: &mut Lab, others: &[usize]) -> Result<Lan> {
        if let Ok(prefix) = std::env::var(PREFIX_ENV) {
            return Lan::adopt(&prefix);
        }
        let wanted = |h: usize| h == 1 || others.contains(&h);
        let segment_b = wanted(4);
        let switch = lab.add_host("switch")?;
        switch.run(|| -> Result<()> {
            let nl = Netlink::open()?;
            for br in ["br0", "br1"]
                .into_iter()
                .take(if segment_b { 2 } else { 1 })
            {
                nl.add_bridge(br)?;
                nl.set_up(ifindex(br)?)?;
            }
            Ok(())
        })??;
        let mut hosts = Vec::new();
        for (i, nics) in plan().into_iter().enumerate() {
            let h = (i + 1) as u8;
            if !wanted(i + 1) {
                hosts.push(None);
                continue;
            }
            let host = lab.add_host(&format!("h{h}"))?;
            let mut made = Vec::new();
            for (ifname, segment, addr) in nics {
                if segment == 1 && !segment_b {
                    continue;
                }
                let port = format!("sw{h}-{ifname}");
                switch.run(|| -> Result<()> {
                    let nl = Netlink::open()?;
                    nl.add_veth(&port, ifname, host.ns_fd())?;
                    let idx = ifindex(&port)?;
                    nl.set_master(idx, ifindex(if segment == 0 { "br0" } else { "br1" })?)?;
                    nl.set_up(idx)
                })??;
                let nic = Nic {
                    ifname,
                    addr,
                    mac: mac(h, segment),
                };
                host.run(|| -> Result<()> {
                    let nl = Netlink::open()?;
                    let idx = ifindex(ifname)?;
                    nl.set_mac(idx, nic.mac)?;
                    nl.add_addr(idx, IpAddr::V4(addr), 24)?;
                    nl.set_up(idx)?;
                    if made.is_empty() {
                        nl.add_route(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 0)), 4, None, idx)?;
                    }
                    Ok(())
                })??;
                made.push(nic);
            }
            hosts.push(Some(Station { host, nics: made }));
        }
        name_addresses(&hosts);
        let lan = Lan {
            hosts,
            _switch: Some(switch),
            adopted: false,
        };
        lan.await_ready()?;
        Ok(lan)
    }

    /// The LAN with IPv6 too (see the module's doc). An adopted LAN has it
    /// from scripts/netns.sh.
    pub fn build_v6(lab: &mut Lab, others: &[usize]) -> Result<Lan> {
        let lan = Lan::build(lab, others)?;
        if !lan.adopted {
            for st in lan.hosts.iter().flatten() {
                st.host.run(|| -> Result<()> {
                    let nl = Netlink::open()?;
                    for nic in &st.nics {
                        nl.add_addr(ifindex(nic.ifname)?, IpAddr::V6(nic.addr6()), 64)?;
                    }
                    // The kernel routes ff00::/8 out of every interface at
                    // metric 256 in the local table, the first one up first:
                    // this one makes eth0 the choice, as 224.0.0.0/4 is.
                    nl.add_multicast_route_v6(ifindex("eth0")?, 1)
                })??;
            }
        }
        Ok(lan)
    }

    fn adopt(prefix: &str) -> Result<Lan> {
        let mut hosts = Vec::new();
        for (i, nics) in plan().into_iter().enumerate() {
            let h = (i + 1) as u8;
            let name = format!("{prefix}-h{h}");
            let host = Host::named(&name, &format!("/run/netns/{name}"))?;
            let nics = nics
                .into_iter()
                .map(|(ifname, seg, addr)| Nic {
                    ifname,
                    addr,
                    mac: mac(h, seg),
                })
                .collect();
            hosts.push(Some(Station { host, nics }));
        }
        name_addresses(&hosts);
        let lan = Lan {
            hosts,
            _switch: None,
            adopted: true,
        };
        // netns.sh starts the run as soon as its last `ip` call returns: the
        // first cases would send while bridge ports and veth queues still
        // come up.
        lan.await_ready()?;
        Ok(lan)
    }

    /// Host `n` (1 to 4). A case asks only for hosts it built its LAN with:
    /// another is a mistake in the case, which the suite runs into at once.
    pub fn h(&self, n: usize) -> &Station {
        self.hosts
            .get(n - 1)
            .and_then(Option::as_ref)
            .unwrap_or_else(|| panic!("h{n} was asked for, but the case built its LAN without it"))
    }

    /// Waits until the all-hosts group gets from h1 to h2 and h3 and from h1's
    /// eth1 to h4 (those of them the LAN has): bridge ports and veth queues
    /// come up asynchronously.
    fn await_ready(&self) -> Result<()> {
        let all_hosts = Ipv4Addr::new(224, 0, 0, 1);
        for (to, via) in [(2, 0), (3, 0), (4, 1)] {
            if self.hosts[to - 1].is_none() {
                continue;
            }
            let rx = self.h(to).host.run(|| -> Result<Sock> {
                let s = Sock::udp(Family::V4)?;
                s.bind(SocketAddr::new(Family::V4.any(), 0))?;
                Ok(s)
            })??;
            let port = rx.local_addr()?.port();
            let from = self.h(1).nics[via].addr;
            let tx = self.h(1).host.run(|| -> Result<Sock> {
                let s = Sock::udp(Family::V4)?;
                s.bind(SocketAddr::new(IpAddr::V4(from), 0))?;
                Ok(s)
            })??;
            let mut buf = [0u8; 8];
            wait::until(
                &format!("the LAN to carry traffic from h1 to h{to}"),
                super::wire::READY,
                || {
                    let _ = tx.send_to(b"ready?", 0, SocketAddr::new(IpAddr::V4(all_hosts), port));
                    Ok(rx.recv(&mut buf, libc::MSG_DONTWAIT).ok().map(|_| ()))
                },
            )?;
        }
        Ok(())
    }
}

/// Names each station's addresses after it (h1..h4) on the packet ladder.
fn name_addresses(hosts: &[Option<Station>]) {
    for (i, s) in hosts.iter().enumerate() {
        let Some(s) = s else {
            continue;
        };
        for nic in &s.nics {
            super::record::address(IpAddr::V4(nic.addr), &format!("h{}", i + 1));
        }
    }
}

/// struct ip_mreq bytes: group, then the local interface address.
pub fn mreq(group: Ipv4Addr, iface: Ipv4Addr) -> [u8; 8] {
    let mut m = [0u8; 8];
    m[..4].copy_from_slice(&group.octets());
    m[4..].copy_from_slice(&iface.octets());
    m
}

/// The Ethernet address a group maps to (RFC 1112 §6.4): 01:00:5e followed
/// by the low 23 bits of the group address.
pub fn group_mac(group: Ipv4Addr) -> [u8; 6] {
    let o = group.octets();
    [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
}

/// Joins `group` on `sock` through the interface with address `iface`.
pub fn join(sock: &Sock, group: Ipv4Addr, iface: Ipv4Addr) -> Result<()> {
    sock.set_raw(
        libc::IPPROTO_IP,
        libc::IP_ADD_MEMBERSHIP,
        &mreq(group, iface),
    )
    .with_context(|| format!("IP_ADD_MEMBERSHIP {group} on {iface}"))
}

/// The groups the calling thread's namespace has joined on `ifname`
/// (/proc/net/igmp), for adopted LANs shared by several cases.
pub fn joined_groups(ifname: &str) -> Result<Vec<Ipv4Addr>> {
    let text =
        std::fs::read_to_string("/proc/thread-self/net/igmp").context("read /proc/net/igmp")?;
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines().skip(1) {
        if !line.starts_with('\t') {
            current = line.split_whitespace().nth(1).unwrap_or("").to_string();
            continue;
        }
        if current == ifname {
            if let Some(hex) = line.split_whitespace().next() {
                if let Ok(v) = u32::from_str_radix(hex, 16) {
                    out.push(Ipv4Addr::from(v.to_ne_bytes()));
                }
            }
        }
    }
    Ok(out)
}
