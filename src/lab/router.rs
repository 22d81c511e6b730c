//! Three hosts in a line: the case's own namespace ("host"), a router that
//! forwards, and a far host behind a link with a lower MTU. What path MTU
//! discovery, ICMP errors and router alerts need: a hop that is not the
//! sender's own link.
//!
//! ```text
//! host veth-h ==1500== veth-rh router veth-rf ==far_mtu== veth-f far
//! ```

use std::net::IpAddr;

use anyhow::{Context, Result};

use super::netlink::{ifindex, Netlink};
use super::ns::{Host, Lab};
use super::procnet::set_sysctl;
use super::sock::Family;
use super::topo::{End, Link};

/// The host's interface (in the case's own namespace), where captures see
/// what the host sends and the ICMP errors that come back.
pub const HOST_IF: &str = "veth-h";
/// The far host's interface.
pub const FAR_IF: &str = "veth-f";

/// The line host - router - far with every address and route in place; the
/// router forwards and no namespace rate-limits its ICMP errors.
pub struct Routed {
    pub host: Host,
    pub router: Host,
    pub far: Host,
    /// The host's address (near link).
    pub host_addr: IpAddr,
    /// The router's address on the host's link: the source of its ICMP errors.
    pub router_near: IpAddr,
    pub router_far: IpAddr,
    pub far_addr: IpAddr,
    /// The MTU of the router - far link.
    pub far_mtu: u32,
}

/// Addresses (documentation ranges, only inside the case's namespaces):
/// near link, far link, for each family.
fn plan(family: Family) -> Result<[IpAddr; 4]> {
    let s = match family {
        Family::V4 => ["192.0.2.1", "192.0.2.2", "203.0.113.1", "203.0.113.2"],
        Family::V6 => [
            "2001:db8:1::1",
            "2001:db8:1::2",
            "2001:db8:2::1",
            "2001:db8:2::2",
        ],
    };
    let mut out = [IpAddr::from([0, 0, 0, 0]); 4];
    for (o, a) in out.iter_mut().zip(s) {
        *o = a.parse()?;
    }
    Ok(out)
}

fn prefix(family: Family) -> u8 {
    match family {
        Family::V4 => 24,
        Family::V6 => 64,
    }
}

/// The network of `addr` (its /24 or /64) as a route destination.
fn network(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let o = a.octets();
            IpAddr::from([o[0], o[1], o[2], 0])
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
        }
    }
}

/// ICMP errors are rate-limited per destination by default (one per second
/// for unreachable and time exceeded): a case that provokes several must not
/// lose one to the limiter.
fn icmp_unlimited() -> Result<()> {
    set_sysctl("net/ipv4/icmp_ratelimit", "0")?;
    set_sysctl("net/ipv6/icmp/ratelimit", "0")
}

/// Fixed, locally administered MACs per interface: the same frames (and
/// ladders) on every run.
fn mac(name: &str) -> [u8; 6] {
    let n = match name {
        HOST_IF => 0x11,
        "veth-rh" => 0x12,
        "veth-rf" => 0x21,
        _ => 0x22,
    };
    [0x02, 0, 0, 0, 0, n]
}

fn configure(name: &str, addr: IpAddr, p: u8, mtu: Option<u32>) -> Result<()> {
    let nl = Netlink::open()?;
    let idx = ifindex(name)?;
    nl.set_mac(idx, mac(name))?;
    if let Some(mtu) = mtu {
        nl.set_mtu(idx, mtu)?;
    }
    nl.add_addr(idx, addr, p)?;
    nl.set_up(idx)
}

impl Routed {
    /// Builds the line for `family`, the far link's MTU lowered to `far_mtu`.
    pub fn build(lab: &mut Lab, family: Family, far_mtu: u32) -> Result<Routed> {
        let [host_addr, router_near, router_far, far_addr] = plan(family)?;
        let p = prefix(family);
        let router = lab.add_host("router")?;
        let far = lab.add_host("far")?;
        let host = Host::clone_of(&lab.main)?;
        for h in [&host, &router, &far] {
            h.run(super::topo::no_dad)??;
        }
        host.run(|| -> Result<()> {
            Netlink::open()?.add_veth(HOST_IF, "veth-rh", router.ns_fd())?;
            configure(HOST_IF, host_addr, p, None)?;
            let idx = ifindex(HOST_IF)?;
            Netlink::open()?.add_route(network(far_addr), p, Some(router_near), idx)
        })?
        .context("configure the host")?;
        router
            .run(|| -> Result<()> {
                configure("veth-rh", router_near, p, None)?;
                Netlink::open()?.add_veth("veth-rf", FAR_IF, far.ns_fd())?;
                configure("veth-rf", router_far, p, Some(far_mtu))?;
                set_sysctl("net/ipv4/ip_forward", "1")?;
                set_sysctl("net/ipv6/conf/all/forwarding", "1")?;
                icmp_unlimited()
            })?
            .context("configure the router")?;
        far.run(|| -> Result<()> {
            configure(FAR_IF, far_addr, p, Some(far_mtu))?;
            let idx = ifindex(FAR_IF)?;
            Netlink::open()?.add_route(network(host_addr), p, Some(router_far), idx)?;
            icmp_unlimited()
        })?
        .context("configure the far host")?;
        super::record::address(host_addr, "host");
        super::record::address(router_near, "router");
        super::record::address(router_far, "router");
        super::record::address(far_addr, "far");
        let routed = Routed {
            host,
            router,
            far,
            host_addr,
            router_near,
            router_far,
            far_addr,
            far_mtu,
        };
        // Up is not yet carrying: each link must pass a datagram both ways.
        super::wire::await_traffic(&routed.near_link()?)?;
        super::wire::await_traffic(&routed.far_link()?)?;
        Ok(routed)
    }

    fn near_link(&self) -> Result<Link> {
        Ok(Link {
            a: Host::clone_of(&self.host)?,
            b: Host::clone_of(&self.router)?,
            a_end: End {
                ifname: HOST_IF.into(),
                addr: self.host_addr,
            },
            b_end: End {
                ifname: "veth-rh".into(),
                addr: self.router_near,
            },
        })
    }

    fn far_link(&self) -> Result<Link> {
        Ok(Link {
            a: Host::clone_of(&self.router)?,
            b: Host::clone_of(&self.far)?,
            a_end: End {
                ifname: "veth-rf".into(),
                addr: self.router_far,
            },
            b_end: End {
                ifname: FAR_IF.into(),
                addr: self.far_addr,
            },
        })
    }
}
