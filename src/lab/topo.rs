//! Two-host topologies: a veth pair between two namespaces, addressed and up.

use std::net::IpAddr;

use anyhow::{Context, Result};

use super::netlink::{ifindex, Netlink};
use super::ns::{Host, Lab};
use super::procnet::set_sysctl;

/// One end of a link: the host it is in, its interface name and address.
pub struct End {
    pub ifname: String,
    pub addr: IpAddr,
}

/// Two hosts joined by a veth pair ("a" and "b"), each end addressed in a /24
/// (or /64). Addresses only exist inside the case's namespaces.
pub struct Link {
    pub a: Host,
    pub b: Host,
    pub a_end: End,
    pub b_end: End,
}

/// Addresses used for the point-to-point link (TEST-NET-2, documentation ranges,
/// only ever configured inside the case's own namespaces).
pub const A_V4: [u8; 4] = [198, 51, 100, 1];
pub const B_V4: [u8; 4] = [198, 51, 100, 2];

/// Fixed, locally administered MACs: the same frames on every run.
pub const MAC_A: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
pub const MAC_B: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0b];

/// What a link's interfaces are called and their MACs, and the name of the
/// host at its far end: a second link from host a needs names of its own.
pub struct Names<'a> {
    pub host: &'a str,
    pub a_if: &'a str,
    pub b_if: &'a str,
    pub a_mac: [u8; 6],
    pub b_mac: [u8; 6],
}

/// The names of `Link::pair`: host "b", veth-a <-> veth-b.
pub const STANDARD: Names<'static> = Names {
    host: "b",
    a_if: "veth-a",
    b_if: "veth-b",
    a_mac: MAC_A,
    b_mac: MAC_B,
};

/// In the calling thread's namespace, interfaces created from now on skip
/// duplicate address detection, their link-local addresses included (the
/// lab's addresses exist only in its own namespaces: there is nothing to
/// collide with). With DAD a link-local address stays tentative for one to
/// two seconds, and a router sends no neighbour solicitation for a packet it
/// forwards until its link-local address is usable; under load the first
/// forwarded IPv6 packets time out as "address unreachable".
pub fn no_dad() -> Result<()> {
    set_sysctl("net/ipv6/conf/default/accept_dad", "0")?;
    set_sysctl("net/ipv6/conf/all/accept_dad", "0")
}

impl Link {
    /// Host "a" is the case's main namespace; "b" a new one.
    pub fn pair(lab: &mut Lab, a_addr: IpAddr, b_addr: IpAddr, prefix: u8) -> Result<Link> {
        Link::pair_named(lab, &STANDARD, a_addr, b_addr, prefix)
    }

    /// `pair` with the interface names, MACs and far host's name given.
    pub fn pair_named(
        lab: &mut Lab,
        names: &Names,
        a_addr: IpAddr,
        b_addr: IpAddr,
        prefix: u8,
    ) -> Result<Link> {
        let b = lab.add_host(names.host)?;
        let a = Host::clone_of(&lab.main)?;
        for h in [&a, &b] {
            h.run(no_dad)??;
        }
        a.run(|| -> Result<()> {
            let nl = Netlink::open()?;
            nl.add_veth(names.a_if, names.b_if, b.ns_fd())?;
            let idx = ifindex(names.a_if)?;
            nl.set_mac(idx, names.a_mac)?;
            nl.add_addr(idx, a_addr, prefix)?;
            nl.set_up(idx)
        })?
        .context("configure host a")?;
        b.run(|| -> Result<()> {
            let nl = Netlink::open()?;
            let idx = ifindex(names.b_if)?;
            nl.set_mac(idx, names.b_mac)?;
            nl.add_addr(idx, b_addr, prefix)?;
            nl.set_up(idx)
        })?
        .with_context(|| format!("configure host {}", names.host))?;
        let link = Link {
            a,
            b,
            a_end: End {
                ifname: names.a_if.into(),
                addr: a_addr,
            },
            b_end: End {
                ifname: names.b_if.into(),
                addr: b_addr,
            },
        };
        super::record::address(a_addr, "a");
        super::record::address(b_addr, "b");
        // Up is not yet carrying: wait until a datagram gets across each way.
        super::wire::await_traffic(&link)?;
        Ok(link)
    }

    /// The standard IPv4 pair 198.51.100.1 <-> 198.51.100.2.
    pub fn pair_v4(lab: &mut Lab) -> Result<Link> {
        Link::pair(lab, IpAddr::from(A_V4), IpAddr::from(B_V4), 24)
    }

    /// The standard IPv6 pair 2001:db8::1 <-> 2001:db8::2.
    pub fn pair_v6(lab: &mut Lab) -> Result<Link> {
        let a: IpAddr = "2001:db8::1".parse()?;
        let b: IpAddr = "2001:db8::2".parse()?;
        Link::pair(lab, a, b, 64)
    }
}
