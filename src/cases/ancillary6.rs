//! IPv6 ancillary data on UDP (IPV6_RECVPKTINFO(2const), IPV6_HOPLIMIT(2const)
//! and the options it documents): what recvmsg() hands a receiver beside the
//! bytes, checked against the datagram as it was captured on the wire.
//!
//! Every case sends one UDP datagram over loopback inside the case's own
//! namespace, captures it, reads it with recvmsg() and compares each control
//! message with the captured IPv6 header.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::headers::IpHeader;
use crate::lab::msg::{self, Cmsg, Received};
use crate::lab::netlink::{ifindex, Netlink};
use crate::lab::packet::Frame;
use crate::lab::sock::result_name;
use crate::lab::topo::Link;
use crate::lab::{opt, phase, wait, Capture, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &PKTINFO,
    &PKTINFO_VETH,
    &HOPLIMIT,
    &FLOWINFO,
    &HOPOPTS,
    &DSTOPTS,
    &RTHDR,
    &AUTHHDR,
];

pub static PKTINFO: Case = Case {
    id: "ipv6_recvpktinfo.dst_and_ifindex",
    source: Source::ManPage("man-pages 6.20 IPV6_RECVPKTINFO(2const)"),
    claim: "IPV6_RECVPKTINFO makes a datagram socket receive an IPV6_PKTINFO control message holding a \
            struct in6_pktinfo (RFC 3542: the destination address and the arriving interface)",
    expectation: "with IPV6_RECVPKTINFO on, recvmsg() returns an IPV6_PKTINFO cmsg whose ipi6_addr is the \
                  captured destination address and whose ipi6_ifindex is the receiving interface; an \
                  IPV6_PKTINFO cmsg given to sendmsg() sets the source address the wire carries",
    run: &Measure(pktinfo),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_RECVPKTINFO],
};

/// The same across a veth pair: the receiving interface is not lo (index 1),
/// and the datagram comes from another namespace.
pub static PKTINFO_VETH: Case = Case {
    id: "ipv6_recvpktinfo.dst_and_ifindex@veth",
    run: &Measure(pktinfo_veth),
    ..PKTINFO
};

pub static HOPLIMIT: Case = Case {
    id: "ipv6_hoplimit.cmsg_equals_wire",
    source: Source::ManPage("man-pages 6.20 IPV6_HOPLIMIT(2const)"),
    claim: "setting IPV6_HOPLIMIT turns on delivery of a control message of the same type holding the \
            received packet's hop count",
    expectation: "setsockopt(IPV6_HOPLIMIT) is refused with ENOPROTOOPT (it is only a cmsg type); \
                  IPV6_RECVHOPLIMIT turns delivery on, and the IPV6_HOPLIMIT cmsg then equals the hop limit \
                  captured on the wire",
    run: &Measure(hoplimit),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[
        opt::IPV6_HOPLIMIT,
        opt::IPV6_RECVHOPLIMIT,
        opt::IPV6_UNICAST_HOPS,
    ],
};

pub static FLOWINFO: Case = Case {
    id: "ipv6_flowinfo.cmsg_vs_wire",
    source: Source::ManPage("man-pages 6.20 IPV6_FLOWINFO(2const)"),
    claim: "with IPV6_FLOWINFO set, a received datagram comes with an IPV6_FLOWINFO control message: an \
            integer containing the flow ID",
    expectation: "the IPV6_FLOWINFO cmsg is the IPv6 header's first word in network byte order, without the \
                  version: the captured flow label in its low 20 bits and the captured traffic class above \
                  it, not the flow label alone",
    run: &Measure(flowinfo),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_FLOWINFO, opt::IPV6_TCLASS],
};

pub static HOPOPTS: Case = Case {
    id: "ipv6_hopopts.send_and_deliver",
    source: Source::ManPage("man-pages 6.20 IPV6_HOPOPTS(2const)"),
    claim: "setting IPV6_HOPOPTS on a datagram socket turns on delivery of a received packet's hop-by-hop \
            options as a control message of the same type",
    expectation: "setsockopt(IPV6_HOPOPTS) takes a hop-by-hop header to send (RFC 3542), not an on/off int \
                  (EINVAL); a header with a PadN option goes on the wire; IPV6_RECVHOPOPTS turns delivery \
                  on, and the IPV6_HOPOPTS cmsg holds the captured header byte for byte",
    run: &Measure(|lab| ext_opts(lab, HOP_BY_HOP)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_HOPOPTS, opt::IPV6_RECVHOPOPTS],
};

pub static DSTOPTS: Case = Case {
    id: "ipv6_dstopts.send_and_deliver",
    source: Source::ManPage("man-pages 6.20 IPV6_DSTOPTS(2const)"),
    claim: "setting IPV6_DSTOPTS on a datagram socket turns on delivery of a received packet's destination \
            options as a control message of the same type",
    expectation: "setsockopt(IPV6_DSTOPTS) takes a destination options header to send (RFC 3542), not an \
                  on/off int (EINVAL); a header with a PadN option goes on the wire; IPV6_RECVDSTOPTS turns \
                  delivery on, and the IPV6_DSTOPTS cmsg holds the captured header byte for byte",
    run: &Measure(|lab| ext_opts(lab, DESTINATION)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_DSTOPTS, opt::IPV6_RECVDSTOPTS],
};

pub static RTHDR: Case = Case {
    id: "ipv6_rthdr.refused",
    source: Source::ManPage("man-pages 6.20 IPV6_RTHDR(2const)"),
    claim: "setting IPV6_RTHDR on a datagram socket turns on delivery of a received packet's routing header \
            as a control message",
    expectation: "setsockopt(IPV6_RTHDR) takes a routing header to send, not an on/off int (EINVAL), and \
                  refuses a type 0 routing header (EINVAL: type 0 is deprecated, RFC 5095); delivery is \
                  IPV6_RECVRTHDR's job",
    run: &Measure(rthdr),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_RTHDR],
};

pub static AUTHHDR: Case = Case {
    id: "ipv6_authhdr.refused",
    source: Source::ManPage("man-pages 6.20 IPV6_AUTHHDR(2const)"),
    claim: "setting IPV6_AUTHHDR on a datagram socket turns on delivery of the authentication header as a \
            control message",
    expectation: "Linux has no such socket option: setsockopt(IPPROTO_IPV6, IPV6_AUTHHDR (glibc's 10), 1) \
                  on a UDP socket fails with ENOPROTOOPT",
    run: &Measure(authhdr),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_AUTHHDR],
};

/// Loopback-only addresses (documentation range) the PKTINFO case adds to lo:
/// the datagram goes to DST, and the sender's cmsg picks SRC, which source
/// address selection alone would never pick (DST itself is the best match).
const DST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5);
const SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 6);

/// The extra address host b gets on the veth pair: far from the link's
/// 2001:db8::/64, so source address selection alone picks 2001:db8::2.
const VETH_SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 3);

/// The sender's hop limit: far from every default (64, 255).
const HOPS: i32 = 7;

/// The sender's traffic class: DSCP 10 (AF11), ECN not-ECT.
const TCLASS: i32 = 0x28;

/// How long a datagram may take to show up: on the veth pair the first one
/// waits for neighbour discovery, which a loaded machine (the test suite's
/// lanes on two cores) has stretched past 2 s.
const WAIT: Duration = Duration::from_secs(5);

/// A receiver on [::]:port, `setup` applied, and a sender with `tx_setup`
/// that sends one datagram to `dst` with `cmsgs`. Returns what recvmsg()
/// gave, the captured IPv6 header and the captured frame.
fn exchange(
    dst: Ipv6Addr,
    rx_setup: impl FnOnce(&Sock) -> Result<()>,
    tx_setup: impl FnOnce(&Sock) -> Result<()>,
    cmsgs: &[Cmsg],
) -> Result<(Received, IpHeader, Frame)> {
    let mut cap = Capture::start("lo")?;
    let rx = Sock::udp(Family::V6)?;
    rx_setup(&rx)?;
    rx.bind(SocketAddr::new(Family::V6.any(), 0))
        .context("bind the receiver")?;
    let port = rx.local_addr()?.port();
    let tx = Sock::udp(Family::V6)?;
    tx_setup(&tx)?;
    let to = SocketAddr::new(IpAddr::V6(dst), port);
    msg::send(&tx, b"ancillary", Some(to), cmsgs).context("sendmsg the datagram")?;
    phase("waiting for the datagram");
    if !wait::readable(rx.as_raw_fd(), WAIT)? {
        bail!("the datagram to {to} never became readable");
    }
    let got = msg::recv(&rx, 64, libc::MSG_DONTWAIT).context("recvmsg the datagram")?;
    let frame = cap.wait_for("the UDP datagram on lo", WAIT, |f| {
        f.ip()
            .is_some_and(|h| h.protocol == 17 && h.dst == IpAddr::V6(dst))
    })?;
    let wire = frame.ip().context("the captured datagram's IPv6 header")?;
    Ok((got, wire, frame))
}

/// Addresses added with IFA_F_NODAD become usable a moment later (the kernel
/// clears the tentative flag and installs the local route from a work
/// queue): wait until a datagram from SRC to DST gets through.
fn await_usable() -> Result<()> {
    phase("waiting for the added addresses to carry traffic");
    wait::until("2001:db8::6 -> 2001:db8::5 on lo", WAIT, || {
        let rx = Sock::udp(Family::V6)?;
        let tx = Sock::udp(Family::V6)?;
        if rx.bind(SocketAddr::new(IpAddr::V6(DST), 0)).is_err()
            || tx.bind(SocketAddr::new(IpAddr::V6(SRC), 0)).is_err()
        {
            return Ok(None);
        }
        if tx.send_to(b"probe", 0, rx.local_addr()?).is_err() {
            return Ok(None);
        }
        Ok(wait::readable(rx.as_raw_fd(), Duration::from_millis(20))?.then_some(()))
    })
}

/// What a receiver with IPV6_RECVPKTINFO was handed, and the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pktinfo {
    /// ipi6_addr of the IPV6_PKTINFO cmsg (none: no such cmsg).
    pub pktinfo_addr: Option<IpAddr>,
    /// ipi6_ifindex of the IPV6_PKTINFO cmsg.
    pub pktinfo_ifindex: Option<u32>,
    /// The index of the interface the datagram arrived on (lo).
    pub receiving_ifindex: u32,
    /// The datagram's destination and source as captured.
    pub wire_dst: IpAddr,
    pub wire_src: IpAddr,
    /// The source the sender's IPV6_PKTINFO cmsg asked for.
    pub chosen_src: IpAddr,
    /// The source address recvmsg() reported.
    pub from: Option<IpAddr>,
}

fn pktinfo(_lab: &mut Lab) -> Result<Pktinfo> {
    let lo = ifindex("lo")?;
    let nl = Netlink::open()?;
    nl.add_addr(lo, IpAddr::V6(DST), 128)?;
    nl.add_addr(lo, IpAddr::V6(SRC), 128)?;
    await_usable()?;
    // struct in6_pktinfo { in6_addr ipi6_addr; int ipi6_ifindex } with the
    // interface left to routing.
    let mut choose = SRC.octets().to_vec();
    choose.extend_from_slice(&0u32.to_ne_bytes());
    let (got, wire, _) = exchange(
        DST,
        |rx| {
            rx.set_int(libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)
                .context("IPV6_RECVPKTINFO")?;
            Ok(())
        },
        |_| Ok(()),
        &[Cmsg::new(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &choose)],
    )?;
    let info = got
        .cmsg(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO)
        .and_then(Cmsg::pktinfo_v6);
    Ok(Pktinfo {
        pktinfo_addr: info.map(|(a, _)| IpAddr::V6(a)),
        pktinfo_ifindex: info.map(|(_, i)| i),
        receiving_ifindex: lo as u32,
        wire_dst: wire.dst,
        wire_src: wire.src,
        chosen_src: IpAddr::V6(SRC),
        from: got.from.map(|a| a.ip()),
    })
}

/// struct in6_pktinfo choosing `src`, the interface left to routing.
fn choose_source(src: Ipv6Addr) -> Cmsg {
    let mut data = src.octets().to_vec();
    data.extend_from_slice(&0u32.to_ne_bytes());
    Cmsg::new(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &data)
}

fn pktinfo_veth(lab: &mut Lab) -> Result<Pktinfo> {
    let link = Link::pair_v6(lab)?;
    let IpAddr::V6(dst) = link.a_end.addr else {
        bail!("the v6 pair has an IPv4 address");
    };
    link.b
        .run(|| -> Result<()> {
            Netlink::open()?.add_addr(ifindex(&link.b_end.ifname)?, IpAddr::V6(VETH_SRC), 128)?;
            // Usable once no longer tentative: bind() says so.
            wait::until("2001:db8:ffff::3 usable in host b", WAIT, || {
                Ok(Sock::udp(Family::V6)?
                    .bind(SocketAddr::new(IpAddr::V6(VETH_SRC), 0))
                    .ok())
            })
        })?
        .context("give host b a second address")?;
    let receiving = ifindex(&link.a_end.ifname)?;
    let mut cap = Capture::start(&link.a_end.ifname)?;
    let rx = Sock::udp(Family::V6)?;
    rx.set_int(libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)
        .context("IPV6_RECVPKTINFO")?;
    rx.bind(SocketAddr::new(Family::V6.any(), 0))
        .context("bind the receiver")?;
    let to = SocketAddr::new(IpAddr::V6(dst), rx.local_addr()?.port());
    link.b
        .run(|| -> Result<()> {
            let tx = Sock::udp(Family::V6)?;
            msg::send(&tx, b"ancillary", Some(to), &[choose_source(VETH_SRC)])?;
            Ok(())
        })?
        .context("sendmsg from host b")?;
    phase("waiting for the datagram from host b");
    if !wait::readable(rx.as_raw_fd(), WAIT)? {
        bail!("the datagram to {to} never became readable");
    }
    let got = msg::recv(&rx, 64, libc::MSG_DONTWAIT).context("recvmsg the datagram")?;
    let frame = cap.wait_for("the UDP datagram on veth-a", WAIT, |f| {
        f.ip()
            .is_some_and(|h| h.protocol == 17 && h.dst == IpAddr::V6(dst))
    })?;
    let wire = frame.ip().context("the captured datagram's IPv6 header")?;
    let info = got
        .cmsg(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO)
        .and_then(Cmsg::pktinfo_v6);
    Ok(Pktinfo {
        pktinfo_addr: info.map(|(a, _)| IpAddr::V6(a)),
        pktinfo_ifindex: info.map(|(_, i)| i),
        receiving_ifindex: receiving as u32,
        wire_dst: wire.dst,
        wire_src: wire.src,
        chosen_src: IpAddr::V6(VETH_SRC),
        from: got.from.map(|a| a.ip()),
    })
}

impl Observation for Pktinfo {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "ipi6_addr is the captured destination",
            &Some(self.wire_dst),
            &self.pktinfo_addr,
        );
        j.expect_eq(
            "ipi6_ifindex is the receiving interface",
            &Some(self.receiving_ifindex),
            &self.pktinfo_ifindex,
        );
        j.expect_eq(
            "the sender's IPV6_PKTINFO cmsg sets the source on the wire",
            &self.chosen_src,
            &self.wire_src,
        );
        j.expect_eq(
            "recvmsg() reports the captured source",
            &Some(self.wire_src),
            &self.from,
        );
        let holds = self.pktinfo_addr == Some(self.wire_dst)
            && self.pktinfo_ifindex == Some(self.receiving_ifindex);
        j.verdict(
            Verdict::holds_if(holds),
            format!(
                "the IPV6_PKTINFO cmsg said {} on interface {}; the wire carried {} -> {} into interface {}",
                self.pktinfo_addr.show(),
                self.pktinfo_ifindex.show(),
                self.wire_src,
                self.wire_dst,
                self.receiving_ifindex,
            ),
        );
        j.key(format!(
            "pktinfo {} if {}; wire dst {}",
            self.pktinfo_addr.show(),
            self.pktinfo_ifindex.show(),
            self.wire_dst
        ));
        j
    }
}

/// setsockopt(IPV6_HOPLIMIT), and what IPV6_RECVHOPLIMIT delivered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hoplimit {
    /// setsockopt(IPPROTO_IPV6, IPV6_HOPLIMIT, 1): ok or the errno name.
    pub set_hoplimit: String,
    /// The IPV6_HOPLIMIT cmsg's value (none: no such cmsg).
    pub cmsg_hoplimit: Option<i32>,
    /// The sender's IPV6_UNICAST_HOPS.
    pub sent_hops: i32,
    /// The hop limit captured on the wire.
    pub wire_hoplimit: u8,
}

fn hoplimit(_lab: &mut Lab) -> Result<Hoplimit> {
    let mut set_hoplimit = String::new();
    let (got, wire, _) = exchange(
        Ipv6Addr::LOCALHOST,
        |rx| {
            set_hoplimit = result_name(&rx.set_int(libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, 1));
            rx.set_int(libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)
                .context("IPV6_RECVHOPLIMIT")?;
            Ok(())
        },
        |tx| {
            tx.set_int(libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, HOPS)
                .context("IPV6_UNICAST_HOPS")?;
            Ok(())
        },
        &[],
    )?;
    Ok(Hoplimit {
        set_hoplimit,
        cmsg_hoplimit: got
            .cmsg(libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT)
            .and_then(Cmsg::int),
        sent_hops: HOPS,
        wire_hoplimit: wire.ttl,
    })
}

impl Observation for Hoplimit {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "setsockopt(IPV6_HOPLIMIT) is refused",
            "ENOPROTOOPT",
            self.set_hoplimit.as_str(),
        );
        j.expect_eq(
            "the IPV6_HOPLIMIT cmsg is the captured hop limit",
            &Some(i32::from(self.wire_hoplimit)),
            &self.cmsg_hoplimit,
        );
        j.expect_eq(
            "the wire carries the sender's IPV6_UNICAST_HOPS",
            &self.sent_hops,
            &i32::from(self.wire_hoplimit),
        );
        let delivered = self.cmsg_hoplimit == Some(i32::from(self.wire_hoplimit));
        let verdict = match (delivered, self.set_hoplimit == "ok") {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "setsockopt(IPV6_HOPLIMIT) gave {}; with IPV6_RECVHOPLIMIT the IPV6_HOPLIMIT cmsg said {}, \
                 the wire {}",
                self.set_hoplimit,
                self.cmsg_hoplimit.show(),
                self.wire_hoplimit
            ),
        );
        j.key(format!(
            "IPV6_HOPLIMIT option {}; cmsg {} = wire {}",
            self.set_hoplimit,
            self.cmsg_hoplimit.show(),
            self.wire_hoplimit
        ));
        j
    }
}

/// What the IPV6_FLOWINFO cmsg carried, and the captured header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flowinfo {
    /// The cmsg's 4 bytes read in network byte order (none: no such cmsg).
    pub cmsg_flowinfo: Option<u32>,
    /// The sender's IPV6_TCLASS.
    pub sent_tclass: i32,
    pub wire_tclass: u8,
    pub wire_flow_label: u32,
}

fn flowinfo(_lab: &mut Lab) -> Result<Flowinfo> {
    let (got, wire, _) = exchange(
        Ipv6Addr::LOCALHOST,
        |rx| {
            rx.set_int(libc::IPPROTO_IPV6, libc::IPV6_FLOWINFO, 1)
                .context("IPV6_FLOWINFO")?;
            Ok(())
        },
        |tx| {
            tx.set_int(libc::IPPROTO_IPV6, libc::IPV6_TCLASS, TCLASS)
                .context("IPV6_TCLASS")?;
            Ok(())
        },
        &[],
    )?;
    let cmsg_flowinfo = got
        .cmsg(libc::IPPROTO_IPV6, libc::IPV6_FLOWINFO)
        .and_then(|c| Some(u32::from_be_bytes(c.data.get(..4)?.try_into().ok()?)));
    Ok(Flowinfo {
        cmsg_flowinfo,
        sent_tclass: TCLASS,
        wire_tclass: wire.tos,
        wire_flow_label: wire.flow_label,
    })
}

impl Flowinfo {
    fn label(&self) -> Option<u32> {
        self.cmsg_flowinfo.map(|v| v & 0xf_ffff)
    }

    fn tclass(&self) -> Option<u32> {
        self.cmsg_flowinfo.map(|v| (v >> 20) & 0xff)
    }
}

impl Observation for Flowinfo {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "the cmsg's low 20 bits are the captured flow label",
            &Some(self.wire_flow_label),
            &self.label(),
        );
        j.expect_eq(
            "the cmsg's next 8 bits are the captured traffic class",
            &Some(u32::from(self.wire_tclass)),
            &self.tclass(),
        );
        j.expect_eq(
            "the wire carries the sender's IPV6_TCLASS",
            &self.sent_tclass,
            &i32::from(self.wire_tclass),
        );
        let verdict = if self.label() != Some(self.wire_flow_label) {
            Verdict::Refuted
        } else if self.tclass().unwrap_or(0) != 0 {
            // More than the flow ID: the traffic class rides along.
            Verdict::Differs
        } else {
            Verdict::Holds
        };
        j.verdict(
            verdict,
            format!(
                "the cmsg carried {}: flow label {}, traffic class {}; the wire: flow label {}, traffic \
                 class {}",
                self.cmsg_flowinfo.map(|v| format!("0x{v:08x}")).show(),
                self.label().show(),
                self.tclass().show(),
                self.wire_flow_label,
                self.wire_tclass
            ),
        );
        j.key(format!(
            "cmsg {}; wire label {} tclass {}",
            self.cmsg_flowinfo.map(|v| format!("0x{v:08x}")).show(),
            self.wire_flow_label,
            self.wire_tclass
        ));
        j
    }
}

/// A hop-by-hop options header with one PadN option (type 1, 4 bytes of
/// padding): next header (the kernel fills it in), length 0 (8 bytes).
const HBH: [u8; 8] = [0, 0, 1, 4, 0, 0, 0, 0];

/// An options header's socket option, the option that asks for it on
/// receipt, and its protocol number on the wire.
#[derive(Clone, Copy)]
struct ExtKind {
    name: &'static str,
    option: i32,
    recv: i32,
    next_header: u8,
}

const HOP_BY_HOP: ExtKind = ExtKind {
    name: "IPV6_HOPOPTS",
    option: libc::IPV6_HOPOPTS,
    recv: libc::IPV6_RECVHOPOPTS,
    next_header: 0,
};

const DESTINATION: ExtKind = ExtKind {
    name: "IPV6_DSTOPTS",
    option: libc::IPV6_DSTOPTS,
    recv: libc::IPV6_RECVDSTOPTS,
    next_header: 60,
};

/// IPV6_HOPOPTS or IPV6_DSTOPTS as the page describes it (an on/off int) and
/// as RFC 3542 has it (the header to send), the IPV6_RECV* option, and the
/// wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExtOpts {
    /// The option: IPV6_HOPOPTS or IPV6_DSTOPTS.
    pub option: String,
    /// The header's protocol number (0 hop-by-hop, 60 destination options).
    pub next_header: u8,
    /// setsockopt(option, int 1) on the receiver: ok or the errno name.
    pub set_int: String,
    /// setsockopt(option, header) on the sender: ok or the errno name.
    pub set_header: String,
    /// The options the sender's header carried (after next header and length).
    pub sent_options: Vec<u8>,
    /// The captured packet's first next-header field.
    pub wire_next_header: u8,
    /// The captured header's bytes (empty: none).
    pub wire_header: Vec<u8>,
    /// The cmsg (of the option's type) the IPV6_RECV* option delivered (none:
    /// no such cmsg).
    pub cmsg_header: Option<Vec<u8>>,
}

/// The extension header right after the captured IPv6 header (Ethernet
/// framing on lo), when the IPv6 header says one follows with `next`.
fn first_extension(frame: &Frame, next: u8) -> (u8, Vec<u8>) {
    let ip = frame.data.get(14..).unwrap_or_default();
    let nh = ip.get(6).copied().unwrap_or(255);
    if nh != next {
        return (nh, Vec::new());
    }
    let len = ip.get(41).map_or(0, |l| (usize::from(*l) + 1) * 8);
    (nh, ip.get(40..40 + len).unwrap_or_default().to_vec())
}

fn ext_opts(_lab: &mut Lab, kind: ExtKind) -> Result<ExtOpts> {
    let mut set_int = String::new();
    let mut set_header = String::new();
    let (got, _, frame) = exchange(
        Ipv6Addr::LOCALHOST,
        |rx| {
            set_int = result_name(&rx.set_int(libc::IPPROTO_IPV6, kind.option, 1));
            rx.set_int(libc::IPPROTO_IPV6, kind.recv, 1)
                .with_context(|| format!("the receive option for {}", kind.name))?;
            Ok(())
        },
        |tx| {
            set_header = result_name(&tx.set_raw(libc::IPPROTO_IPV6, kind.option, &HBH));
            Ok(())
        },
        &[],
    )?;
    let (wire_next_header, wire_header) = first_extension(&frame, kind.next_header);
    Ok(ExtOpts {
        option: kind.name.into(),
        next_header: kind.next_header,
        set_int,
        set_header,
        sent_options: HBH[2..].to_vec(),
        wire_next_header,
        wire_header,
        cmsg_header: got
            .cmsg(libc::IPPROTO_IPV6, kind.option)
            .map(|c| c.data.clone()),
    })
}

impl Observation for ExtOpts {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "setsockopt with an int 1 is refused",
            "EINVAL",
            self.set_int.as_str(),
        );
        j.expect_eq(
            "setsockopt with a header is accepted",
            "ok",
            self.set_header.as_str(),
        );
        j.expect_eq(
            "the wire carries the header",
            &self.next_header,
            &self.wire_next_header,
        );
        j.expect_eq(
            "with the sender's options",
            &self.sent_options.as_slice(),
            &self.wire_header.get(2..).unwrap_or_default(),
        );
        j.expect_eq(
            "the cmsg is the captured header",
            &Some(&self.wire_header),
            &self.cmsg_header.as_ref(),
        );
        let delivered =
            !self.wire_header.is_empty() && self.cmsg_header.as_ref() == Some(&self.wire_header);
        let verdict = match (delivered, self.set_int == "ok") {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "setsockopt({}, 1) gave {}, with a header {}; the wire's header {}; the cmsg {}",
                self.option,
                self.set_int,
                self.set_header,
                self.wire_header.show(),
                self.cmsg_header.show()
            ),
        );
        j.key(format!(
            "{} int {}, header {}; cmsg {} = wire {}",
            self.option,
            self.set_int,
            self.set_header,
            self.cmsg_header.show(),
            self.wire_header.show()
        ));
        j
    }
}

/// setsockopt(IPV6_RTHDR) with the page's int and with a type 0 header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rthdr {
    /// setsockopt(IPV6_RTHDR, int 1): ok or the errno name.
    pub set_int: String,
    /// setsockopt(IPV6_RTHDR, a type 0 header through ::1): ok or the errno name.
    pub set_type0: String,
}

fn rthdr(_lab: &mut Lab) -> Result<Rthdr> {
    let s = Sock::udp(Family::V6)?;
    // Next header (kernel's), length 2 (24 bytes), type 0, one segment left,
    // reserved, then the one address.
    let mut type0 = vec![0u8, 2, 0, 1, 0, 0, 0, 0];
    type0.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
    Ok(Rthdr {
        set_int: result_name(&s.set_int(libc::IPPROTO_IPV6, libc::IPV6_RTHDR, 1)),
        set_type0: result_name(&s.set_raw(libc::IPPROTO_IPV6, libc::IPV6_RTHDR, &type0)),
    })
}

impl Observation for Rthdr {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "setsockopt(IPV6_RTHDR, int 1) errno",
            "EINVAL",
            self.set_int.as_str(),
        );
        j.expect_eq(
            "setsockopt(IPV6_RTHDR, type 0 header) errno",
            "EINVAL",
            self.set_type0.as_str(),
        );
        j.verdict(
            Verdict::holds_if(self.set_int == "ok"),
            format!(
                "setsockopt(IPV6_RTHDR, 1) gave {}; with a type 0 routing header {}",
                self.set_int, self.set_type0
            ),
        );
        j.key(format!(
            "int {}, type 0 header {}",
            self.set_int, self.set_type0
        ));
        j
    }
}

/// setsockopt(IPPROTO_IPV6, IPV6_AUTHHDR, 1) on a UDP socket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Authhdr {
    /// The option number glibc's <netinet/in.h> gives IPV6_AUTHHDR.
    pub number: i32,
    /// ok or the errno name.
    pub set: String,
}

fn authhdr(_lab: &mut Lab) -> Result<Authhdr> {
    let s = Sock::udp(Family::V6)?;
    Ok(Authhdr {
        number: libc::IPV6_AUTHHDR,
        set: result_name(&s.set_int(libc::IPPROTO_IPV6, libc::IPV6_AUTHHDR, 1)),
    })
}

impl Observation for Authhdr {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "setsockopt(IPV6_AUTHHDR) errno",
            "ENOPROTOOPT",
            self.set.as_str(),
        );
        j.verdict(
            Verdict::holds_if(self.set == "ok"),
            format!(
                "setsockopt(IPPROTO_IPV6, {}, 1) on a UDP socket gave {}",
                self.number, self.set
            ),
        );
        j.key(format!("IPV6_AUTHHDR ({}): {}", self.number, self.set));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn v6(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// What Linux 6.18 did.
    fn pktinfo_linux() -> Pktinfo {
        Pktinfo {
            pktinfo_addr: Some(v6("2001:db8::5")),
            pktinfo_ifindex: Some(1),
            receiving_ifindex: 1,
            wire_dst: v6("2001:db8::5"),
            wire_src: v6("2001:db8::6"),
            chosen_src: v6("2001:db8::6"),
            from: Some(v6("2001:db8::6")),
        }
    }

    #[rstest]
    #[case::linux(pktinfo_linux(), Verdict::Holds, &[])]
    // A kernel (or libc) that ignored IPV6_RECVPKTINFO: no cmsg at all.
    #[case::no_cmsg(Pktinfo { pktinfo_addr: None, pktinfo_ifindex: None, ..pktinfo_linux() },
        Verdict::Refuted, &["ipi6_addr is the captured destination", "ipi6_ifindex is the receiving interface"])]
    #[case::wrong_addr(Pktinfo { pktinfo_addr: Some(v6("::1")), ..pktinfo_linux() },
        Verdict::Refuted, &["ipi6_addr is the captured destination"])]
    #[case::wrong_ifindex(Pktinfo { pktinfo_ifindex: Some(2), ..pktinfo_linux() },
        Verdict::Refuted, &["ipi6_ifindex is the receiving interface"])]
    // The sender's cmsg ignored: routing picked the destination itself as source.
    #[case::source_not_chosen(Pktinfo { wire_src: v6("2001:db8::5"), from: Some(v6("2001:db8::5")),
        ..pktinfo_linux() }, Verdict::Holds, &["the sender's IPV6_PKTINFO cmsg sets the source on the wire"])]
    // The veth pair, as Linux 6.18 did it: veth-a is interface 2.
    #[case::veth(Pktinfo { pktinfo_addr: Some(v6("2001:db8::1")), pktinfo_ifindex: Some(2),
        receiving_ifindex: 2, wire_dst: v6("2001:db8::1"), wire_src: v6("2001:db8:ffff::3"),
        chosen_src: v6("2001:db8:ffff::3"), from: Some(v6("2001:db8:ffff::3")) }, Verdict::Holds, &[])]
    // A kernel that always said lo.
    #[case::veth_said_lo(Pktinfo { pktinfo_ifindex: Some(1), receiving_ifindex: 2, ..pktinfo_linux() },
        Verdict::Refuted, &["ipi6_ifindex is the receiving interface"])]
    #[case::from_differs(Pktinfo { from: None, ..pktinfo_linux() },
        Verdict::Holds, &["recvmsg() reports the captured source"])]
    fn pktinfo_judgement(#[case] o: Pktinfo, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn pktinfo_says_what_it_saw() {
        let j = pktinfo_linux().judge();
        assert_eq!("pktinfo 2001:db8::5 if 1; wire dst 2001:db8::5", j.key);
        assert_eq!(
            "the IPV6_PKTINFO cmsg said 2001:db8::5 on interface 1; the wire carried 2001:db8::6 -> \
             2001:db8::5 into interface 1",
            j.because
        );
    }

    fn hoplimit_linux() -> Hoplimit {
        Hoplimit {
            set_hoplimit: "ENOPROTOOPT".into(),
            cmsg_hoplimit: Some(7),
            sent_hops: 7,
            wire_hoplimit: 7,
        }
    }

    #[rstest]
    #[case::linux(hoplimit_linux(), Verdict::Differs, &[])]
    // The page's world: the option itself turns delivery on.
    #[case::page(Hoplimit { set_hoplimit: "ok".into(), ..hoplimit_linux() }, Verdict::Holds,
        &["setsockopt(IPV6_HOPLIMIT) is refused"])]
    #[case::no_cmsg(Hoplimit { cmsg_hoplimit: None, ..hoplimit_linux() }, Verdict::Refuted,
        &["the IPV6_HOPLIMIT cmsg is the captured hop limit"])]
    #[case::cmsg_off_by_one(Hoplimit { cmsg_hoplimit: Some(8), ..hoplimit_linux() }, Verdict::Refuted,
        &["the IPV6_HOPLIMIT cmsg is the captured hop limit"])]
    #[case::no_cmsg_even_when_accepted(Hoplimit { set_hoplimit: "ok".into(), cmsg_hoplimit: None,
        ..hoplimit_linux() }, Verdict::Refuted,
        &["setsockopt(IPV6_HOPLIMIT) is refused", "the IPV6_HOPLIMIT cmsg is the captured hop limit"])]
    // The sender's IPV6_UNICAST_HOPS ignored: the default 64 went out.
    #[case::sender_hops_ignored(Hoplimit { cmsg_hoplimit: Some(64), wire_hoplimit: 64, ..hoplimit_linux() },
        Verdict::Differs, &["the wire carries the sender's IPV6_UNICAST_HOPS"])]
    fn hoplimit_judgement(#[case] o: Hoplimit, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn hoplimit_says_what_it_saw() {
        let j = hoplimit_linux().judge();
        assert_eq!("IPV6_HOPLIMIT option ENOPROTOOPT; cmsg 7 = wire 7", j.key);
        assert_eq!(
            "setsockopt(IPV6_HOPLIMIT) gave ENOPROTOOPT; with IPV6_RECVHOPLIMIT the IPV6_HOPLIMIT cmsg \
             said 7, the wire 7",
            j.because
        );
    }

    fn flowinfo_linux() -> Flowinfo {
        Flowinfo {
            cmsg_flowinfo: Some(0x028a_bcde),
            sent_tclass: 0x28,
            wire_tclass: 0x28,
            wire_flow_label: 0xa_bcde,
        }
    }

    const LABEL: &str = "the cmsg's low 20 bits are the captured flow label";
    const CLASS: &str = "the cmsg's next 8 bits are the captured traffic class";

    #[rstest]
    #[case::linux(flowinfo_linux(), Verdict::Differs, &[])]
    // The page's world: the flow ID alone (and a zero traffic class on the wire).
    #[case::flow_id_only(Flowinfo { cmsg_flowinfo: Some(0xa_bcde), sent_tclass: 0, wire_tclass: 0,
        ..flowinfo_linux() }, Verdict::Holds, &[])]
    // The flow ID alone while the wire had a traffic class.
    #[case::tclass_dropped(Flowinfo { cmsg_flowinfo: Some(0xa_bcde), ..flowinfo_linux() },
        Verdict::Holds, &[CLASS])]
    #[case::no_cmsg(Flowinfo { cmsg_flowinfo: None, ..flowinfo_linux() }, Verdict::Refuted, &[LABEL, CLASS])]
    #[case::label_differs(Flowinfo { wire_flow_label: 0xa_bcdf, ..flowinfo_linux() }, Verdict::Refuted,
        &[LABEL])]
    // Host byte order would scramble the label.
    #[case::host_order(Flowinfo { cmsg_flowinfo: Some(0x028a_bcde_u32.swap_bytes()), ..flowinfo_linux() },
        Verdict::Refuted, &[LABEL, CLASS])]
    #[case::sender_tclass_ignored(Flowinfo { cmsg_flowinfo: Some(0xa_bcde), wire_tclass: 0,
        ..flowinfo_linux() }, Verdict::Holds, &["the wire carries the sender's IPV6_TCLASS"])]
    fn flowinfo_judgement(#[case] o: Flowinfo, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn flowinfo_says_what_it_saw() {
        let j = flowinfo_linux().judge();
        assert_eq!("cmsg 0x028abcde; wire label 703710 tclass 40", j.key);
        assert_eq!(
            "the cmsg carried 0x028abcde: flow label 703710, traffic class 40; the wire: flow label \
             703710, traffic class 40",
            j.because
        );
        let none = Flowinfo {
            cmsg_flowinfo: None,
            ..flowinfo_linux()
        }
        .judge();
        assert_eq!("cmsg none; wire label 703710 tclass 40", none.key);
    }

    fn hopopts_linux() -> ExtOpts {
        ExtOpts {
            option: "IPV6_HOPOPTS".into(),
            next_header: 0,
            set_int: "EINVAL".into(),
            set_header: "ok".into(),
            sent_options: vec![1, 4, 0, 0, 0, 0],
            wire_next_header: 0,
            wire_header: vec![17, 0, 1, 4, 0, 0, 0, 0],
            cmsg_header: Some(vec![17, 0, 1, 4, 0, 0, 0, 0]),
        }
    }

    const CMSG: &str = "the cmsg is the captured header";

    #[rstest]
    #[case::linux(hopopts_linux(), Verdict::Differs, &[])]
    // The page's world: the option is an on/off switch for delivery.
    #[case::page(ExtOpts { set_int: "ok".into(), ..hopopts_linux() }, Verdict::Holds,
        &["setsockopt with an int 1 is refused"])]
    // Without privilege the header is refused and nothing goes out.
    #[case::no_privilege(ExtOpts { set_header: "EPERM".into(), wire_next_header: 17, wire_header: vec![],
        cmsg_header: None, ..hopopts_linux() }, Verdict::Refuted,
        &["setsockopt with a header is accepted", "the wire carries the header",
          "with the sender's options", CMSG])]
    #[case::no_cmsg(ExtOpts { cmsg_header: None, ..hopopts_linux() }, Verdict::Refuted, &[CMSG])]
    #[case::cmsg_differs(ExtOpts { cmsg_header: Some(vec![17, 0, 1, 4, 0, 0, 0, 1]), ..hopopts_linux() },
        Verdict::Refuted, &[CMSG])]
    #[case::other_options(ExtOpts { wire_header: vec![17, 0, 1, 4, 0, 0, 0, 1],
        cmsg_header: Some(vec![17, 0, 1, 4, 0, 0, 0, 1]), ..hopopts_linux() }, Verdict::Differs,
        &["with the sender's options"])]
    // Destination options, as Linux 6.18 did them.
    #[case::dstopts_linux(ExtOpts { option: "IPV6_DSTOPTS".into(), next_header: 60, wire_next_header: 60,
        ..hopopts_linux() },
        Verdict::Differs, &[])]
    // A hop-by-hop header where destination options were asked for.
    #[case::wrong_header(ExtOpts { option: "IPV6_DSTOPTS".into(), next_header: 60, wire_next_header: 0,
        ..hopopts_linux() }, Verdict::Differs, &["the wire carries the header"])]
    fn ext_opts_judgement(#[case] o: ExtOpts, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn hopopts_says_what_it_saw() {
        let j = hopopts_linux().judge();
        assert_eq!(
            "IPV6_HOPOPTS int EINVAL, header ok; cmsg [17, 0, 1, 4, 0, 0, 0, 0] = wire [17, 0, 1, \
             4, 0, 0, 0, 0]",
            j.key
        );
        let f = Frame {
            t_ns: 0,
            len: 70,
            iface: "lo".into(),
            data: [
                vec![0; 12],
                vec![0x86, 0xdd, 0x60, 0, 0, 0, 0, 16, 0, 64],
                vec![0; 32],
                vec![17, 0, 1, 4, 0, 0, 0, 0],
                vec![0; 8],
            ]
            .concat(),
        };
        assert_eq!((0, vec![17, 0, 1, 4, 0, 0, 0, 0]), first_extension(&f, 0));
        assert_eq!((0, vec![]), first_extension(&f, 60));
    }

    fn rthdr_linux() -> Rthdr {
        Rthdr {
            set_int: "EINVAL".into(),
            set_type0: "EINVAL".into(),
        }
    }

    #[rstest]
    #[case::linux(rthdr_linux(), Verdict::Refuted, &[])]
    #[case::page(Rthdr { set_int: "ok".into(), ..rthdr_linux() }, Verdict::Holds,
        &["setsockopt(IPV6_RTHDR, int 1) errno"])]
    // An old kernel that still sent type 0 headers.
    #[case::type0_taken(Rthdr { set_type0: "ok".into(), ..rthdr_linux() }, Verdict::Refuted,
        &["setsockopt(IPV6_RTHDR, type 0 header) errno"])]
    fn rthdr_judgement(#[case] o: Rthdr, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
        assert!(j.because.starts_with("setsockopt(IPV6_RTHDR, 1) gave "));
    }

    #[test]
    fn rthdr_says_what_it_saw() {
        assert_eq!(
            "int EINVAL, type 0 header EINVAL",
            rthdr_linux().judge().key
        );
    }

    #[rstest]
    #[case::linux(Authhdr { number: 10, set: "ENOPROTOOPT".into() }, Verdict::Refuted, &[])]
    #[case::page(Authhdr { number: 10, set: "ok".into() }, Verdict::Holds,
        &["setsockopt(IPV6_AUTHHDR) errno"])]
    #[case::other_errno(Authhdr { number: 10, set: "EINVAL".into() }, Verdict::Refuted,
        &["setsockopt(IPV6_AUTHHDR) errno"])]
    fn authhdr_judgement(#[case] o: Authhdr, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn authhdr_says_what_it_saw() {
        let j = Authhdr {
            number: 10,
            set: "ENOPROTOOPT".into(),
        }
        .judge();
        assert_eq!("IPV6_AUTHHDR (10): ENOPROTOOPT", j.key);
        assert_eq!(
            "setsockopt(IPPROTO_IPV6, 10, 1) on a UDP socket gave ENOPROTOOPT",
            j.because
        );
    }
}
