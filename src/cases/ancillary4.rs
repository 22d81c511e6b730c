//! Ancillary data of IPv4 datagrams (man-pages 6.20, the IP_*(2const) pages):
//! what recvmsg(2) hands a UDP receiver beside the bytes (IP_PKTINFO,
//! IP_RECVTOS, IP_RECVTTL, IP_RECVOPTS, IP_RETOPTS, IP_RECVORIGDSTADDR), and
//! the source address a sender picks with an IP_PKTINFO control message.
//!
//! Every case sends one datagram over loopback while capturing it, and
//! compares what the control message says with the header the wire carried.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::headers::IpHeader;
use crate::lab::msg::{self, Cmsg, Received};
use crate::lab::packet::Packet;
use crate::lab::sock::result_name;
use crate::lab::{netlink, opt, phase, wait, Capture, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &PKTINFO_UNICAST,
    &PKTINFO_BROADCAST,
    &PKTINFO_SEND_SOURCE,
    &RECVTOS,
    &RECVTTL,
    &RECVOPTS,
    &RETOPTS,
    &RECVORIGDSTADDR,
];

pub static PKTINFO_UNICAST: Case = Case {
    id: "ip_pktinfo.unicast",
    source: Source::ManPage("man-pages 6.20 IP_PKTINFO(2const)"),
    claim:
        "with IP_PKTINFO on, recvmsg() hands a datagram socket an in_pktinfo about the incoming \
            packet: the interface it came in on, the local address, and the header's destination",
    expectation: "a datagram to 127.0.0.2 (a local address the socket is not bound to) comes with \
                  ipi_ifindex = lo's index, ipi_spec_dst = ipi_addr = 127.0.0.2, the destination \
                  the capture saw",
    run: &Measure(pktinfo_unicast),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_PKTINFO],
};

pub static PKTINFO_BROADCAST: Case = Case {
    id: "ip_pktinfo.broadcast",
    source: Source::ManPage("man-pages 6.20 IP_PKTINFO(2const)"),
    claim:
        "the in_pktinfo of an incoming packet names the interface, the local address the packet \
            was taken in for, and the header's destination",
    expectation:
        "a broadcast to 127.255.255.255 comes with ipi_addr = 127.255.255.255 (the captured \
                  destination) but ipi_spec_dst = 127.0.0.1, the interface's own address a reply \
                  would come from",
    run: &Measure(pktinfo_broadcast),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_PKTINFO, opt::SO_BROADCAST],
};

pub static PKTINFO_SEND_SOURCE: Case = Case {
    id: "ip_pktinfo.send_source",
    source: Source::ManPage("man-pages 6.20 IP_PKTINFO(2const)"),
    claim: "an IP_PKTINFO control message can also be passed to sendmsg()",
    expectation:
        "an unbound UDP socket that sends with ipi_spec_dst = 127.0.0.3 puts 127.0.0.3 in \
                  the source field on the wire, and the receiver sees it as the sender",
    run: &Measure(pktinfo_send_source),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static RECVTOS: Case = Case {
    id: "ip_recvtos.matches_wire",
    source: Source::ManPage("man-pages 6.20 IP_RECVTOS(2const)"),
    claim:
        "with IP_RECVTOS on, an IP_TOS control message holding one byte, the packet's TOS field, \
            comes with each incoming packet",
    expectation:
        "a sender with IP_TOS 0x28 puts 0x28 on the wire; the receiver's IP_TOS cmsg is one \
                  byte, 0x28",
    run: &Measure(recvtos),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_RECVTOS, opt::IP_TOS],
};

pub static RECVTTL: Case = Case {
    id: "ip_recvttl.matches_wire",
    source: Source::ManPage("man-pages 6.20 IP_RECVTTL(2const)"),
    claim:
        "with IP_RECVTTL on, an IP_TTL control message holds the received packet's TTL as a 32-bit \
            integer",
    expectation: "a sender with IP_TTL 7 puts TTL 7 on the wire; the receiver's IP_TTL cmsg is a \
                  4-byte int, 7",
    run: &Measure(recvttl),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_RECVTTL, opt::IP_TTL],
};

pub static RECVOPTS: Case = Case {
    id: "ip_recvopts.udp_options",
    source: Source::ManPage("man-pages 6.20 IP_RECVOPTS(2const)"),
    claim:
        "with IP_RECVOPTS on, every incoming IP option is passed in an IP_OPTIONS control message, \
            route and other options already filled in for this host",
    expectation: "a UDP datagram carrying a record-route option (2 slots, sent with IP_OPTIONS) \
                  arrives with the options in a control message of type IP_RECVOPTS (6), not \
                  IP_OPTIONS (4); the receiving host has filled the second slot with its own \
                  address (127.0.0.1), which the wire did not carry",
    run: &Measure(|lab| options(lab, opt::IP_RECVOPTS.number)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_RECVOPTS, opt::IP_OPTIONS],
};

pub static RETOPTS: Case = Case {
    id: "ip_retopts.udp_options",
    source: Source::ManPage("man-pages 6.20 IP_RETOPTS(2const)"),
    claim: "IP_RETOPTS is like IP_RECVOPTS but hands over the raw options, the timestamp and \
            record-route options not filled in for this hop",
    expectation:
        "the same record-route datagram arrives with a control message of type IP_RETOPTS \
                  (7) holding the options as the receiving host rewrote them: the second slot \
                  already filled with 127.0.0.1 and the pointer moved past it, exactly what \
                  IP_RECVOPTS hands over",
    run: &Measure(|lab| options(lab, opt::IP_RETOPTS.number)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_RETOPTS, opt::IP_OPTIONS],
};

pub static RECVORIGDSTADDR: Case = Case {
    id: "ip_recvorigdstaddr.local_route",
    source: Source::ManPage("man-pages 6.20 IP_RECVORIGDSTADDR(2const)"),
    claim:
        "with IP_RECVORIGDSTADDR on, recvmsg() returns an IP_ORIGDSTADDR message, a sockaddr_in \
            with the original destination of the datagram",
    expectation:
        "without TPROXY (which needs nftables rules): a wildcard-bound socket receives a \
                  datagram for 10.99.0.7, local only through a local route for 10.99.0.0/24; the \
                  IP_ORIGDSTADDR sockaddr_in holds 10.99.0.7 and the port, the captured destination",
    run: &Measure(recvorigdstaddr),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_RECVORIGDSTADDR],
};

/// How long a datagram on loopback may take to show up.
const WAIT: Duration = Duration::from_secs(2);

const PAYLOAD: &[u8] = b"ancillary";

fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

/// A UDP socket bound to the wildcard address on an ephemeral port.
fn receiver() -> Result<(Sock, u16)> {
    let rx = Sock::udp(Family::V4)?;
    rx.bind(SocketAddr::new(v4([0, 0, 0, 0]), 0))
        .context("bind the receiver")?;
    let port = rx.local_addr()?.port();
    Ok((rx, port))
}

/// What one datagram looked like on the wire and at the receiver.
struct Exchange {
    /// sendmsg()'s result: "ok" or the errno name.
    sent: String,
    wire: Option<IpHeader>,
    /// Destination address and UDP port on the wire.
    wire_to: Option<SocketAddr>,
    received: Option<Received>,
}

/// Sends PAYLOAD from `tx` to `to` with `cmsgs` while capturing on lo, and
/// reads it with recvmsg() on `rx`.
fn exchange(rx: &Sock, tx: &Sock, to: SocketAddr, cmsgs: &[Cmsg]) -> Result<Exchange> {
    let mut cap = Capture::start("lo")?;
    let sent = result_name(&msg::send(tx, PAYLOAD, Some(to), cmsgs));
    phase("waiting for the datagram on lo");
    let port = to.port();
    let frame = cap
        .wait_for(
            "the datagram on lo",
            WAIT,
            |f| matches!(f.decode(), Packet::Udp(d) if d.dport == port),
        )
        .ok();
    let wire = frame.as_ref().and_then(|f| f.ip());
    let wire_to = frame.and_then(|f| match f.decode() {
        Packet::Udp(d) => Some(SocketAddr::new(d.dst, d.dport)),
        _ => None,
    });
    phase("waiting for the datagram at the receiver");
    let received = if wait::readable(rx.as_raw_fd(), WAIT)? {
        Some(msg::recv(rx, 2048, libc::MSG_DONTWAIT).context("recvmsg")?)
    } else {
        None
    };
    Ok(Exchange {
        sent,
        wire,
        wire_to,
        received,
    })
}

// ---------------------------------------------------------------- IP_PKTINFO

/// The in_pktinfo a receiver got, and the datagram's header on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PktinfoRecv {
    /// lo's interface index.
    pub lo_index: i32,
    /// sendto()'s result: ok or the errno name.
    pub sent: String,
    /// The destination address the capture saw.
    pub wire_dst: Option<IpAddr>,
    /// The address a reply should come from: the destination for unicast,
    /// the interface's address for a broadcast.
    pub local_expected: IpAddr,
    /// in_pktinfo.ipi_ifindex, none without the control message.
    pub ifindex: Option<i32>,
    /// in_pktinfo.ipi_spec_dst.
    pub spec_dst: Option<IpAddr>,
    /// in_pktinfo.ipi_addr.
    pub addr: Option<IpAddr>,
}

fn pktinfo_recv(dst: IpAddr, local_expected: IpAddr, broadcast: bool) -> Result<PktinfoRecv> {
    let (rx, port) = receiver()?;
    rx.set_int(libc::IPPROTO_IP, libc::IP_PKTINFO, 1)
        .context("IP_PKTINFO")?;
    let tx = Sock::udp(Family::V4)?;
    if broadcast {
        tx.set_int(libc::SOL_SOCKET, libc::SO_BROADCAST, 1)
            .context("SO_BROADCAST")?;
    }
    let x = exchange(&rx, &tx, SocketAddr::new(dst, port), &[])?;
    let info = x
        .received
        .as_ref()
        .and_then(|r| r.cmsg(libc::IPPROTO_IP, libc::IP_PKTINFO))
        .and_then(Cmsg::pktinfo_v4);
    Ok(PktinfoRecv {
        lo_index: netlink::ifindex("lo")?,
        sent: x.sent,
        wire_dst: x.wire.map(|h| h.dst),
        local_expected,
        ifindex: info.map(|i| i.0),
        spec_dst: info.map(|i| IpAddr::V4(i.1)),
        addr: info.map(|i| IpAddr::V4(i.2)),
    })
}

fn pktinfo_unicast(_lab: &mut Lab) -> Result<PktinfoRecv> {
    pktinfo_recv(v4([127, 0, 0, 2]), v4([127, 0, 0, 2]), false)
}

fn pktinfo_broadcast(_lab: &mut Lab) -> Result<PktinfoRecv> {
    pktinfo_recv(v4([127, 255, 255, 255]), v4([127, 0, 0, 1]), true)
}

impl Observation for PktinfoRecv {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("the datagram is sent", &"ok", &self.sent.as_str());
        j.expect(
            "the datagram is on the wire",
            self.wire_dst.is_some(),
            "captured",
            self.wire_dst.show(),
        );
        j.expect_eq(
            "ipi_ifindex is the receiving interface (lo)",
            &Some(self.lo_index),
            &self.ifindex,
        );
        j.expect_eq(
            "ipi_addr is the captured destination",
            &self.wire_dst,
            &self.addr,
        );
        j.expect_eq(
            "ipi_spec_dst is the local address",
            &Some(self.local_expected),
            &self.spec_dst,
        );
        let verdict = match (self.ifindex, self.addr, self.spec_dst) {
            (None, ..) => Verdict::Refuted,
            (Some(i), addr, spec)
                if i == self.lo_index
                    && addr.is_some()
                    && addr == self.wire_dst
                    && spec == Some(self.local_expected) =>
            {
                Verdict::Holds
            }
            _ => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "to {} (captured {}): ipi_ifindex {} (lo is {}), ipi_spec_dst {}, ipi_addr {}",
                self.local_expected_dst(),
                self.wire_dst.show(),
                self.ifindex.show(),
                self.lo_index,
                self.spec_dst.show(),
                self.addr.show(),
            ),
        );
        j.key(format!(
            "ifindex {}, spec_dst {}, addr {}",
            self.ifindex.show(),
            self.spec_dst.show(),
            self.addr.show()
        ));
        j
    }
}

impl PktinfoRecv {
    /// The destination written in the verdict: what the capture saw, or the
    /// local address when nothing was captured.
    fn local_expected_dst(&self) -> String {
        self.wire_dst.unwrap_or(self.local_expected).show()
    }
}

/// The source address a sender chose with an IP_PKTINFO control message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PktinfoSend {
    /// ipi_spec_dst in the sendmsg() control message.
    pub chosen: IpAddr,
    /// sendmsg()'s result: ok or the errno name.
    pub sent: String,
    /// The source address the capture saw.
    pub wire_src: Option<IpAddr>,
    /// The sender's address as recvmsg() reported it.
    pub from: Option<IpAddr>,
}

fn pktinfo_send_source(_lab: &mut Lab) -> Result<PktinfoSend> {
    let chosen = v4([127, 0, 0, 3]);
    let (rx, port) = receiver()?;
    let tx = Sock::udp(Family::V4)?;
    let mut info = Vec::with_capacity(12);
    info.extend_from_slice(&0i32.to_ne_bytes());
    info.extend_from_slice(&[127, 0, 0, 3]);
    info.extend_from_slice(&[0, 0, 0, 0]);
    let cmsg = Cmsg::new(libc::IPPROTO_IP, libc::IP_PKTINFO, &info);
    let x = exchange(&rx, &tx, SocketAddr::new(v4([127, 0, 0, 1]), port), &[cmsg])?;
    Ok(PktinfoSend {
        chosen,
        sent: x.sent,
        wire_src: x.wire.map(|h| h.src),
        from: x.received.and_then(|r| r.from).map(|a| a.ip()),
    })
}

impl Observation for PktinfoSend {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("sendmsg() with IP_PKTINFO", &"ok", &self.sent.as_str());
        j.expect_eq(
            "the wire's source is ipi_spec_dst",
            &Some(self.chosen),
            &self.wire_src,
        );
        j.expect_eq(
            "the receiver sees that source",
            &Some(self.chosen),
            &self.from,
        );
        let verdict = if self.wire_src == Some(self.chosen) {
            Verdict::Holds
        } else if self.sent == "ok" {
            Verdict::Differs
        } else {
            Verdict::Refuted
        };
        j.verdict(
            verdict,
            format!(
                "sendmsg() with ipi_spec_dst {}: {}; source on the wire {}, at the receiver {}",
                self.chosen,
                self.sent,
                self.wire_src.show(),
                self.from.show()
            ),
        );
        j.key(format!("source {}", self.wire_src.show()));
        j
    }
}

// ---------------------------------------------------- IP_RECVTOS, IP_RECVTTL

/// A header field (TOS or TTL) set by the sender, seen on the wire and in the
/// receiver's control message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeaderField {
    /// TOS or TTL.
    pub field: String,
    /// The value the sender set (IP_TOS or IP_TTL).
    pub set: u8,
    /// The field in the captured header.
    pub wire: Option<u8>,
    /// The control message's value, none without one.
    pub cmsg: Option<i64>,
    /// The control message's payload length in bytes.
    pub cmsg_len: usize,
    /// The payload length the page documents: 1 for TOS, 4 for TTL.
    pub documented_len: usize,
}

fn header_field(
    field: &str,
    set_opt: i32,
    recv_opt: i32,
    value: u8,
    len: usize,
) -> Result<HeaderField> {
    let (rx, port) = receiver()?;
    rx.set_int(libc::IPPROTO_IP, recv_opt, 1)
        .with_context(|| format!("turning on the {field} control message"))?;
    let tx = Sock::udp(Family::V4)?;
    tx.set_int(libc::IPPROTO_IP, set_opt, i32::from(value))
        .with_context(|| format!("setting the {field}"))?;
    let x = exchange(&rx, &tx, SocketAddr::new(v4([127, 0, 0, 1]), port), &[])?;
    let c = x
        .received
        .as_ref()
        .and_then(|r| r.cmsg(libc::IPPROTO_IP, set_opt))
        .cloned();
    let cmsg_value = c.as_ref().and_then(|c| match c.data.len() {
        1 => c.byte().map(i64::from),
        _ => c.int().map(i64::from),
    });
    Ok(HeaderField {
        field: field.into(),
        set: value,
        wire: x.wire.map(|h| {
            if set_opt == libc::IP_TOS {
                h.tos
            } else {
                h.ttl
            }
        }),
        cmsg: cmsg_value,
        cmsg_len: c.map_or(0, |c| c.data.len()),
        documented_len: len,
    })
}

fn recvtos(_lab: &mut Lab) -> Result<HeaderField> {
    header_field("TOS", libc::IP_TOS, libc::IP_RECVTOS, 0x28, 1)
}

fn recvttl(_lab: &mut Lab) -> Result<HeaderField> {
    header_field("TTL", libc::IP_TTL, libc::IP_RECVTTL, 7, 4)
}

impl Observation for HeaderField {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let f = &self.field;
        j.expect_eq(
            &format!("the wire carries the {f} the sender set"),
            &Some(self.set),
            &self.wire,
        );
        j.expect_eq(
            &format!("the control message holds the wire's {f}"),
            &self.wire.map(i64::from),
            &self.cmsg,
        );
        j.expect_eq("its payload length", &self.documented_len, &self.cmsg_len);
        let same = self.cmsg.is_some() && self.cmsg == self.wire.map(i64::from);
        let verdict = if !same {
            Verdict::Refuted
        } else if self.cmsg_len == self.documented_len {
            Verdict::Holds
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "{f} set to {}, {} on the wire, {} in a {} B control message (the page: {} B)",
                self.set,
                self.wire.show(),
                self.cmsg.show(),
                self.cmsg_len,
                self.documented_len
            ),
        );
        j.key(format!(
            "{f} wire {}, cmsg {}",
            self.wire.show(),
            self.cmsg.show()
        ));
        j
    }
}

// ------------------------------------------------- IP_RECVOPTS, IP_RETOPTS

/// Record route with room for two addresses (pointer at the first slot),
/// then End of Options: 12 bytes, a multiple of 4 as the header needs.
const RECORD_ROUTE: [u8; 12] = [7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// IP options the sender set, what the wire carried, and what the receiver
/// was handed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// The option that turns the control message on (IP_RECVOPTS or IP_RETOPTS).
    pub asked_with: i32,
    /// The options the sender set with IP_OPTIONS.
    pub set: Vec<u8>,
    /// The options in the captured header.
    pub wire: Vec<u8>,
    /// Whether the datagram reached the receiver.
    pub received: bool,
    /// Types of the IPPROTO_IP control messages that came with it.
    pub cmsg_types: Vec<i32>,
    /// The options the receiver was handed (any options-bearing message).
    pub handed: Option<Vec<u8>>,
}

fn options(_lab: &mut Lab, recv_opt: i32) -> Result<Options> {
    let (rx, port) = receiver()?;
    rx.set_int(libc::IPPROTO_IP, recv_opt, 1)
        .context("turning on the options control message")?;
    let tx = Sock::udp(Family::V4)?;
    tx.set_raw(libc::IPPROTO_IP, libc::IP_OPTIONS, &RECORD_ROUTE)
        .context("IP_OPTIONS record route")?;
    let x = exchange(&rx, &tx, SocketAddr::new(v4([127, 0, 0, 1]), port), &[])?;
    let ip: Vec<&Cmsg> = x
        .received
        .iter()
        .flat_map(|r| r.cmsgs.iter())
        .filter(|c| c.level == libc::IPPROTO_IP)
        .collect();
    let handed = ip
        .iter()
        .find(|c| [libc::IP_OPTIONS, libc::IP_RECVOPTS, libc::IP_RETOPTS].contains(&c.kind))
        .map(|c| c.data.clone());
    Ok(Options {
        asked_with: recv_opt,
        set: RECORD_ROUTE.to_vec(),
        wire: x.wire.map(|h| h.options).unwrap_or_default(),
        received: x.received.is_some(),
        cmsg_types: ip.iter().map(|c| c.kind).collect(),
        handed,
    })
}

/// The address in record-route slot `n` (0-based) of `opts`, if filled.
fn rr_slot(opts: &[u8], n: usize) -> Option<IpAddr> {
    let at = 3 + 4 * n;
    let a: [u8; 4] = opts.get(at..at + 4)?.try_into().ok()?;
    (a != [0; 4]).then(|| v4(a))
}

fn type_name(t: i32) -> String {
    match t {
        libc::IP_OPTIONS => "IP_OPTIONS".into(),
        libc::IP_RECVOPTS => "IP_RECVOPTS".into(),
        libc::IP_RETOPTS => "IP_RETOPTS".into(),
        libc::IP_PKTINFO => "IP_PKTINFO".into(),
        other => other.to_string(),
    }
}

impl Observation for Options {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let retopts = self.asked_with == libc::IP_RETOPTS;
        j.expect(
            "the wire carries the record-route option, first slot filled by the sender",
            self.wire.len() == self.set.len()
                && self.wire.first() == Some(&7)
                && rr_slot(&self.wire, 0).is_some(),
            "record route, 1 address",
            self.wire.show(),
        );
        j.expect_eq("the receiver gets the datagram", &true, &self.received);
        let types: Vec<String> = self.cmsg_types.iter().map(|t| type_name(*t)).collect();
        j.expect_eq(
            "the options come in a control message of type",
            &vec![type_name(self.asked_with)],
            &types,
        );
        let second = self.handed.as_deref().and_then(|o| rr_slot(o, 1));
        let first = self.handed.as_deref().and_then(|o| rr_slot(o, 0));
        j.expect_eq(
            "the first slot holds what the wire had",
            &rr_slot(&self.wire, 0),
            &first,
        );
        // Both hand the options as input processing left them: this host has
        // recorded itself in the second slot (the echo copies that header).
        let want_second = Some(v4([127, 0, 0, 1]));
        j.expect_eq("the second slot (this host)", &want_second, &second);
        let typed_as_page = self.cmsg_types.contains(&if retopts {
            libc::IP_RETOPTS
        } else {
            libc::IP_OPTIONS
        });
        let filled_as_page = if retopts {
            second.is_none()
        } else {
            second.is_some()
        };
        let verdict = match (&self.handed, typed_as_page && filled_as_page) {
            (None, _) => Verdict::Refuted,
            (Some(_), true) => Verdict::Holds,
            (Some(_), false) => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "sent {}; wire {}; handed {} in a control message of type {} (the page: {}); \
                 this host's slot {}",
                self.set.show(),
                self.wire.show(),
                self.handed.show(),
                types.show(),
                if retopts {
                    "IP_RETOPTS, not filled in"
                } else {
                    "IP_OPTIONS, filled in"
                },
                second.show(),
            ),
        );
        j.key(format!("{} -> {}", types.show(), self.handed.show()));
        j
    }
}

// ------------------------------------------------------ IP_RECVORIGDSTADDR

/// The original destination a receiver was told, and the one on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrigDst {
    /// Where the datagram was sent.
    pub to: SocketAddr,
    /// The socket's own address (wildcard).
    pub bound: SocketAddr,
    /// Destination address and UDP port the capture saw.
    pub wire: Option<SocketAddr>,
    /// The IP_ORIGDSTADDR sockaddr_in, none without the message.
    pub orig: Option<SocketAddr>,
}

/// A sockaddr_in payload: family, port (network order), address.
fn sockaddr_in(c: &Cmsg) -> Option<SocketAddr> {
    let d = &c.data;
    let family = u16::from_ne_bytes(d.get(..2)?.try_into().ok()?);
    if i32::from(family) != libc::AF_INET {
        return None;
    }
    let port = u16::from_be_bytes(d.get(2..4)?.try_into().ok()?);
    let a: [u8; 4] = d.get(4..8)?.try_into().ok()?;
    Some(SocketAddr::new(v4(a), port))
}

fn recvorigdstaddr(_lab: &mut Lab) -> Result<OrigDst> {
    // A local route makes 10.99.0.0/24 this host's without any interface
    // holding the address (what TPROXY achieves with nftables rules).
    let nl = netlink::Netlink::open()?;
    nl.add_local_route(
        v4([10, 99, 0, 0]),
        24,
        libc::RT_TABLE_LOCAL,
        netlink::ifindex("lo")?,
    )?;
    let (rx, port) = receiver()?;
    rx.set_int(libc::IPPROTO_IP, libc::IP_RECVORIGDSTADDR, 1)
        .context("IP_RECVORIGDSTADDR")?;
    let tx = Sock::udp(Family::V4)?;
    let to = SocketAddr::new(v4([10, 99, 0, 7]), port);
    let x = exchange(&rx, &tx, to, &[])?;
    Ok(OrigDst {
        to,
        bound: rx.local_addr()?,
        wire: x.wire_to,
        orig: x
            .received
            .as_ref()
            .and_then(|r| r.cmsg(libc::IPPROTO_IP, libc::IP_ORIGDSTADDR))
            .and_then(sockaddr_in),
    })
}

impl Observation for OrigDst {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("captured destination", &Some(self.to), &self.wire);
        j.expect_eq(
            "IP_ORIGDSTADDR is the captured destination",
            &self.wire,
            &self.orig,
        );
        j.expect(
            "which is not the socket's own address",
            self.orig.is_some_and(|o| o != self.bound),
            format!("not {}", self.bound),
            self.orig.show(),
        );
        let verdict = match self.orig {
            None => Verdict::Refuted,
            Some(o) if Some(o) == self.wire => Verdict::Holds,
            Some(_) => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "socket bound to {}; datagram to {} (captured {}); IP_ORIGDSTADDR {}",
                self.bound,
                self.to,
                self.wire.show(),
                self.orig.show()
            ),
        );
        j.key(format!("origdst {}", self.orig.show()));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn a(o: [u8; 4]) -> Option<IpAddr> {
        Some(v4(o))
    }

    /// Linux 6.18, a datagram to 127.0.0.2.
    fn unicast_linux() -> PktinfoRecv {
        PktinfoRecv {
            lo_index: 1,
            sent: "ok".into(),
            wire_dst: a([127, 0, 0, 2]),
            local_expected: v4([127, 0, 0, 2]),
            ifindex: Some(1),
            spec_dst: a([127, 0, 0, 2]),
            addr: a([127, 0, 0, 2]),
        }
    }

    /// Linux 6.18, a broadcast to 127.255.255.255.
    fn broadcast_linux() -> PktinfoRecv {
        PktinfoRecv {
            wire_dst: a([127, 255, 255, 255]),
            local_expected: v4([127, 0, 0, 1]),
            spec_dst: a([127, 0, 0, 1]),
            addr: a([127, 255, 255, 255]),
            ..unicast_linux()
        }
    }

    const IFINDEX: &str = "ipi_ifindex is the receiving interface (lo)";
    const ADDR: &str = "ipi_addr is the captured destination";
    const SPEC: &str = "ipi_spec_dst is the local address";

    #[rstest]
    #[case::linux(unicast_linux(), Verdict::Holds, &[])]
    #[case::linux_broadcast(broadcast_linux(), Verdict::Holds, &[])]
    // IP_PKTINFO ignored: no control message at all.
    #[case::no_cmsg(PktinfoRecv { ifindex: None, spec_dst: None, addr: None, ..unicast_linux() },
        Verdict::Refuted, &[IFINDEX, ADDR, SPEC])]
    // A stack that reports the broadcast destination as the local address.
    #[case::spec_is_broadcast(PktinfoRecv { spec_dst: a([127, 255, 255, 255]), ..broadcast_linux() },
        Verdict::Differs, &[SPEC])]
    #[case::wrong_interface(PktinfoRecv { ifindex: Some(2), ..unicast_linux() },
        Verdict::Differs, &[IFINDEX])]
    #[case::addr_not_header(PktinfoRecv { addr: a([127, 0, 0, 1]), ..broadcast_linux() },
        Verdict::Differs, &[ADDR])]
    // Nothing captured, nothing received: the send failed (SO_BROADCAST ignored).
    #[case::send_refused(PktinfoRecv { sent: "EACCES".into(), wire_dst: None, ifindex: None,
        spec_dst: None, addr: None, ..broadcast_linux() },
        Verdict::Refuted, &["the datagram is sent", "the datagram is on the wire", IFINDEX, SPEC])]
    fn pktinfo_recv_judgement(#[case] o: PktinfoRecv, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn pktinfo_recv_says_the_fields() {
        let j = broadcast_linux().judge();
        assert_eq!(
            "to 127.255.255.255 (captured 127.255.255.255): ipi_ifindex 1 (lo is 1), ipi_spec_dst \
             127.0.0.1, ipi_addr 127.255.255.255",
            j.because
        );
        assert_eq!("ifindex 1, spec_dst 127.0.0.1, addr 127.255.255.255", j.key);
        let none = PktinfoRecv {
            wire_dst: None,
            ..broadcast_linux()
        };
        assert!(none
            .judge()
            .because
            .starts_with("to 127.0.0.1 (captured none)"));
    }

    fn send_linux() -> PktinfoSend {
        PktinfoSend {
            chosen: v4([127, 0, 0, 3]),
            sent: "ok".into(),
            wire_src: a([127, 0, 0, 3]),
            from: a([127, 0, 0, 3]),
        }
    }

    #[rstest]
    #[case::linux(send_linux(), Verdict::Holds, &[])]
    // A stack that ignores the control message: the route's source.
    #[case::ignored(PktinfoSend { wire_src: a([127, 0, 0, 1]), from: a([127, 0, 0, 1]), ..send_linux() },
        Verdict::Differs, &["the wire's source is ipi_spec_dst", "the receiver sees that source"])]
    #[case::refused(PktinfoSend { sent: "EINVAL".into(), wire_src: None, from: None, ..send_linux() },
        Verdict::Refuted, &["sendmsg() with IP_PKTINFO", "the wire's source is ipi_spec_dst",
        "the receiver sees that source"])]
    #[case::not_received(PktinfoSend { from: None, ..send_linux() },
        Verdict::Holds, &["the receiver sees that source"])]
    fn pktinfo_send_judgement(#[case] o: PktinfoSend, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn pktinfo_send_says_the_source() {
        let j = send_linux().judge();
        assert_eq!(
            "sendmsg() with ipi_spec_dst 127.0.0.3: ok; source on the wire 127.0.0.3, at the \
             receiver 127.0.0.3",
            j.because
        );
        assert_eq!("source 127.0.0.3", j.key);
    }

    fn tos_linux() -> HeaderField {
        HeaderField {
            field: "TOS".into(),
            set: 0x28,
            wire: Some(0x28),
            cmsg: Some(0x28),
            cmsg_len: 1,
            documented_len: 1,
        }
    }

    fn ttl_linux() -> HeaderField {
        HeaderField {
            field: "TTL".into(),
            set: 7,
            wire: Some(7),
            cmsg: Some(7),
            cmsg_len: 4,
            documented_len: 4,
        }
    }

    #[rstest]
    #[case::tos_linux(tos_linux(), Verdict::Holds, &[])]
    #[case::ttl_linux(ttl_linux(), Verdict::Holds, &[])]
    // IP_RECVTTL ignored: no control message.
    #[case::no_cmsg(HeaderField { cmsg: None, cmsg_len: 0, ..ttl_linux() },
        Verdict::Refuted, &["the control message holds the wire's TTL", "its payload length"])]
    // IP_TTL ignored: the default 64 on the wire and in the message.
    #[case::ttl_not_set(HeaderField { wire: Some(64), cmsg: Some(64), ..ttl_linux() },
        Verdict::Holds, &["the wire carries the TTL the sender set"])]
    #[case::mismatch(HeaderField { cmsg: Some(0), ..tos_linux() },
        Verdict::Refuted, &["the control message holds the wire's TOS"])]
    // The value right, in an int where the page says a byte.
    #[case::tos_as_int(HeaderField { cmsg_len: 4, ..tos_linux() },
        Verdict::Differs, &["its payload length"])]
    fn header_field_judgement(#[case] o: HeaderField, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn header_field_says_the_values() {
        let j = tos_linux().judge();
        assert_eq!(
            "TOS set to 40, 40 on the wire, 40 in a 1 B control message (the page: 1 B)",
            j.because
        );
        assert_eq!("TOS wire 40, cmsg 40", j.key);
    }

    const WIRE_RR: [u8; 12] = [7, 11, 8, 127, 0, 0, 1, 0, 0, 0, 0, 0];
    const FILLED_RR: [u8; 12] = [7, 11, 12, 127, 0, 0, 1, 127, 0, 0, 1, 0];

    fn recvopts_linux() -> Options {
        Options {
            asked_with: libc::IP_RECVOPTS,
            set: RECORD_ROUTE.to_vec(),
            wire: WIRE_RR.to_vec(),
            received: true,
            cmsg_types: vec![libc::IP_RECVOPTS],
            handed: Some(FILLED_RR.to_vec()),
        }
    }

    fn retopts_linux() -> Options {
        Options {
            asked_with: libc::IP_RETOPTS,
            cmsg_types: vec![libc::IP_RETOPTS],
            ..recvopts_linux()
        }
    }

    const TYPE: &str = "the options come in a control message of type";
    const SECOND: &str = "the second slot (this host)";
    const FIRST: &str = "the first slot holds what the wire had";

    #[rstest]
    // Linux hands the options under the type IP_RECVOPTS, not IP_OPTIONS.
    #[case::recvopts_linux(recvopts_linux(), Verdict::Differs, &[])]
    // Linux hands this hop filled in, where the page says unfilled.
    #[case::retopts_linux(retopts_linux(), Verdict::Differs, &[])]
    // The page's world: an IP_OPTIONS message, filled in.
    #[case::recvopts_page(Options { cmsg_types: vec![libc::IP_OPTIONS], ..recvopts_linux() },
        Verdict::Holds, &[TYPE])]
    // IP_RECVOPTS ignored: nothing handed.
    #[case::no_cmsg(Options { cmsg_types: vec![], handed: None, ..recvopts_linux() },
        Verdict::Refuted, &[TYPE, FIRST, SECOND])]
    // IP_OPTIONS ignored: a plain header, nothing to hand.
    #[case::no_options_sent(Options { wire: vec![], cmsg_types: vec![], handed: None, ..retopts_linux() },
        Verdict::Refuted,
        &["the wire carries the record-route option, first slot filled by the sender", TYPE, SECOND])]
    // The page's world for RETOPTS: this hop not filled in.
    #[case::retopts_page(Options { handed: Some(WIRE_RR.to_vec()), ..retopts_linux() },
        Verdict::Holds, &[SECOND])]
    #[case::recvopts_unfilled(Options { handed: Some(WIRE_RR.to_vec()), ..recvopts_linux() },
        Verdict::Differs, &[SECOND])]
    #[case::not_received(Options { received: false, cmsg_types: vec![], handed: None, ..retopts_linux() },
        Verdict::Refuted, &["the receiver gets the datagram", TYPE, FIRST, SECOND])]
    // A truncated option on the wire.
    #[case::short_wire(Options { wire: WIRE_RR[..8].to_vec(), ..retopts_linux() },
        Verdict::Differs,
        &["the wire carries the record-route option, first slot filled by the sender"])]
    #[case::not_rr(Options { wire: vec![1, 11, 8, 127, 0, 0, 1, 0, 0, 0, 0, 0], ..recvopts_linux() },
        Verdict::Differs,
        &["the wire carries the record-route option, first slot filled by the sender"])]
    #[case::first_empty(Options { wire: RECORD_ROUTE.to_vec(), handed: Some(RECORD_ROUTE.to_vec()),
        ..retopts_linux() }, Verdict::Holds,
        &["the wire carries the record-route option, first slot filled by the sender", SECOND])]
    fn options_judgement(#[case] o: Options, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn options_say_what_was_handed() {
        let j = recvopts_linux().judge();
        assert_eq!(
            "sent [7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]; wire [7, 11, 8, 127, 0, 0, 1, 0, 0, 0, 0, 0]; \
             handed [7, 11, 12, 127, 0, 0, 1, 127, 0, 0, 1, 0] in a control message of type \
             [IP_RECVOPTS] (the page: IP_OPTIONS, filled in); this host's slot 127.0.0.1",
            j.because
        );
        assert_eq!(
            "[IP_RECVOPTS] -> [7, 11, 12, 127, 0, 0, 1, 127, 0, 0, 1, 0]",
            j.key
        );
        assert_eq!("IP_PKTINFO", type_name(libc::IP_PKTINFO));
        assert_eq!("IP_OPTIONS", type_name(libc::IP_OPTIONS));
        assert_eq!("99", type_name(99));
        assert!(retopts_linux()
            .judge()
            .because
            .contains("(the page: IP_RETOPTS, not filled in)"));
    }

    fn origdst_linux() -> OrigDst {
        let to: SocketAddr = "10.99.0.7:40000".parse().unwrap();
        OrigDst {
            to,
            bound: "0.0.0.0:40000".parse().unwrap(),
            wire: Some(to),
            orig: Some(to),
        }
    }

    #[rstest]
    #[case::linux(origdst_linux(), Verdict::Holds, &[])]
    #[case::no_cmsg(OrigDst { orig: None, ..origdst_linux() }, Verdict::Refuted,
        &["IP_ORIGDSTADDR is the captured destination", "which is not the socket's own address"])]
    // A stack that reports the socket's own address.
    #[case::bound_address(OrigDst { orig: Some("0.0.0.0:40000".parse().unwrap()), ..origdst_linux() },
        Verdict::Differs,
        &["IP_ORIGDSTADDR is the captured destination", "which is not the socket's own address"])]
    #[case::not_captured(OrigDst { wire: None, ..origdst_linux() }, Verdict::Differs,
        &["captured destination", "IP_ORIGDSTADDR is the captured destination"])]
    fn origdst_judgement(#[case] o: OrigDst, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn origdst_says_the_address() {
        let j = origdst_linux().judge();
        assert_eq!(
            "socket bound to 0.0.0.0:40000; datagram to 10.99.0.7:40000 (captured \
             10.99.0.7:40000); IP_ORIGDSTADDR 10.99.0.7:40000",
            j.because
        );
        assert_eq!("origdst 10.99.0.7:40000", j.key);
    }

    #[test]
    fn decodes_sockaddr_in_and_rr_slots() {
        let mut d = (libc::AF_INET as u16).to_ne_bytes().to_vec();
        d.extend_from_slice(&40000u16.to_be_bytes());
        d.extend_from_slice(&[10, 99, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0]);
        let c = Cmsg::new(libc::IPPROTO_IP, libc::IP_ORIGDSTADDR, &d);
        assert_eq!(Some("10.99.0.7:40000".parse().unwrap()), sockaddr_in(&c));
        let mut v6 = d.clone();
        v6[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        assert_eq!(None, sockaddr_in(&Cmsg::new(0, 0, &v6)));
        assert_eq!(a([127, 0, 0, 1]), rr_slot(&FILLED_RR, 1));
        assert_eq!(None, rr_slot(&WIRE_RR, 1));
        assert_eq!(None, rr_slot(&WIRE_RR, 2));
    }
}
