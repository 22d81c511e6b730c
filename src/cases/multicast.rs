//! IP multicast across namespaces joined by a bridge (004 §5.3).
//!
//! The LAN (lab::bridge): h1, h2, h3 on segment A (198.51.100.11-13), h1 and
//! h4 on segment B (203.0.113.1, .4). Case N uses its own groups 239.10.N.x
//! and port 400NN (its sentinels, below, 239.10.N.250 and port 401NN), so the
//! cases can share one LAN (scripts/netns.sh) and run in parallel.
//!
//! # Datagrams that must not come
//!
//! Several cases show that a socket does *not* receive a datagram. Waiting a
//! while for nothing costs the wait and proves little; instead a later
//! datagram, the sentinel, is sent along the same path to a socket of its own
//! on the same host, and its arrival proves that the earlier datagram has
//! already been queued to its sockets or thrown away:
//! - every datagram is sent by the case's one thread, kept on one CPU from the
//!   moment the LAN is up (`lan`);
//! - a frame crosses the LAN hop by hop: IP output (and the multicast
//!   loopback), veth, the bridge, veth, IP input, UDP. veth_xmit and the
//!   loopback copy (dev_loopback_xmit) queue it with netif_rx on the backlog
//!   of the CPU doing the work, and the other hops hand it on within the
//!   same call, so every hop is a FIFO consumed on that one CPU (in the
//!   sendto() itself, or later in that CPU's softirq or ksoftirqd);
//! - the sentinel leaves by the same interface as the datagram (it is sent
//!   from the same socket, or from one whose route is that interface) and
//!   goes to the same host, so it takes the same hops;
//! - so of two frames that enter the same path, the first leaves every hop
//!   first: once the sentinel is in its socket's queue, the earlier datagram
//!   is in its sockets' queues or nowhere. Their queues are then read without
//!   waiting.
//!
//! The chat case needs no extra sentinel: each member says bye last, with the
//! loopback on, and a member that heard every bye has heard everything.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::bridge::{group_mac, join, joined_groups, mreq, Lan, Station};
use crate::lab::mcast::{
    queued, recv_within, toggle_loop, Sentinel, FIRST, SECOND, SENTINEL, WAIT,
};
use crate::lab::opt;
use crate::lab::packet::{mac_text, Frame, Packet};
use crate::lab::sock::result_name;
use crate::lab::{phase, procnet, Capture, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &CLASS_D_ONLY,
    &JOIN_RECEIVE,
    &SENDER_NEEDS_NO_JOIN,
    &NONMEMBER_NO_RECEIVE,
    &DROP_MEMBERSHIP,
    &LOOP_DEFAULT,
    &TTL,
    &IF_SELECTS_INTERFACE,
    &IGMP_ON_JOIN,
    &MAC_MAPPING,
    &REUSEADDR_RECEIVERS,
    &BIND_GROUP_ADDR,
    &MULTICAST_ALL,
    &CHAT,
];

const SRC: Source = Source::LectureNotes("5.3 multicast");

pub static CLASS_D_ONLY: Case = Case {
    id: "mcast.class_d_only",
    source: SRC,
    claim: "multicast groups are class D addresses, 224.0.0.0 to 239.255.255.255",
    expectation:
        "IP_ADD_MEMBERSHIP accepts a class D group and refuses anything else (unicast, broadcast, \
                  class E) with EINVAL",
    run: &Measure(class_d_only),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static JOIN_RECEIVE: Case = Case {
    id: "mcast.join_receive",
    source: SRC,
    claim: "a member of a group receives datagrams sent to the group",
    expectation: "a socket on h2 that joined the group receives the datagram h1 sends to it across the bridge",
    run: &Measure(join_receive),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_ADD_MEMBERSHIP],
};

pub static SENDER_NEEDS_NO_JOIN: Case = Case {
    id: "mcast.sender_needs_no_join",
    source: SRC,
    claim: "the sender need not join the group",
    expectation: "h1, which joined nothing, sends to the group and the member on h2 receives it",
    run: &Measure(sender_needs_no_join),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static NONMEMBER_NO_RECEIVE: Case = Case {
    id: "mcast.nonmember_no_receive",
    source: SRC,
    claim: "a host must join the group to receive its datagrams",
    expectation: "the frame reaches h3's interface (the bridge floods it) but h3, not a member, delivers it to \
                  no socket, while the member h2 receives it",
    run: &Measure(nonmember_no_receive),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static DROP_MEMBERSHIP: Case = Case {
    id: "mcast.drop_membership",
    source: SRC,
    claim: "after IP_DROP_MEMBERSHIP no more datagrams arrive",
    expectation:
        "h2 receives the first datagram, drops the membership, and does not receive the second \
                  (which h3, still a member, does)",
    run: &Measure(drop_membership),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_DROP_MEMBERSHIP],
};

pub static LOOP_DEFAULT: Case = Case {
    id: "mcast.loop_default",
    source: SRC,
    claim: "a sender that joined the group receives its own datagrams by default; IP_MULTICAST_LOOP=0 stops \
            that",
    expectation: "IP_MULTICAST_LOOP reads 1 on a new socket and the sender's own member socket gets its \
                  datagram; with 0 it does not, while h2 still does",
    run: &Measure(loop_default),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_MULTICAST_LOOP],
};

pub static TTL: Case = Case {
    id: "mcast.ttl",
    source: SRC,
    claim: "IP_MULTICAST_TTL sets the TTL of multicast datagrams",
    expectation:
        "IP_MULTICAST_TTL reads 1 on a new socket and datagrams leave with TTL 1; after setting 32 \
                  they leave with 32",
    run: &Measure(ttl),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_MULTICAST_TTL],
};

pub static IF_SELECTS_INTERFACE: Case = Case {
    id: "mcast.if_selects_interface",
    source: SRC,
    claim: "IP_MULTICAST_IF picks the interface datagrams leave by",
    expectation:
        "h1 (two interfaces) sends by its route (eth0, segment A) by default; with IP_MULTICAST_IF \
                  set to its segment-B address the datagram leaves on eth1 only and reaches h4",
    run: &Measure(if_selects_interface),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_MULTICAST_IF],
};

pub static IGMP_ON_JOIN: Case = Case {
    id: "mcast.igmp_on_join",
    source: SRC,
    claim: "joining a group sends an IGMP message to the neighbours",
    expectation: "joining sends an IGMP membership report for the group (IGMPv3 by default: a record \
                  CHANGE_TO_EXCLUDE sent to 224.0.0.22; net.ipv4.conf.*.force_igmp_version=2 gives a v2 \
                  report); dropping sends a leave (v3 record CHANGE_TO_INCLUDE with no sources)",
    run: &Measure(igmp_on_join),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_ADD_MEMBERSHIP, opt::IP_DROP_MEMBERSHIP],
};

pub static MAC_MAPPING: Case = Case {
    id: "mcast.mac_mapping",
    source: SRC,
    claim: "the Ethernet destination is 01:00:5e followed by the group address",
    expectation: "the destination MAC is 01:00:5e plus the low 23 bits of the group: 239.1.2.3, 239.129.2.3 \
                  and 224.1.2.3 all go to 01:00:5e:01:02:03, so the IP layer, not the NIC, tells them apart",
    run: &Measure(mac_mapping),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static REUSEADDR_RECEIVERS: Case = Case {
    id: "mcast.reuseaddr_receivers",
    source: SRC,
    claim: "several receivers on one host bind the group's port with SO_REUSEADDR",
    expectation:
        "without SO_REUSEADDR the second bind fails with EADDRINUSE; with it both sockets bind and \
                  each receives every datagram",
    run: &Measure(reuseaddr_receivers),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_ADD_MEMBERSHIP],
};

pub static BIND_GROUP_ADDR: Case = Case {
    id: "mcast.bind_group_addr",
    source: SRC,
    claim: "the receiver binds the group address and port",
    expectation:
        "a socket bound to group:port receives only that group's datagrams, even when it joined \
                  another group on the same port; a socket bound to INADDR_ANY:port receives both",
    run: &Measure(bind_group_addr),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static MULTICAST_ALL: Case = Case {
    id: "mcast.multicast_all",
    source: SRC,
    claim: "(implied) only sockets that joined a group receive its datagrams",
    expectation:
        "IP_MULTICAST_ALL is 1 by default: a socket bound to INADDR_ANY:port that joined nothing \
                  still receives a group's datagrams once any socket on the host joined it; with \
                  IP_MULTICAST_ALL=0 it does not",
    run: &Measure(multicast_all),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_MULTICAST_ALL],
};

pub static CHAT: Case = Case {
    id: "mcast.chat",
    source: SRC,
    claim: "in the multicast chat program every member sees every member's messages",
    expectation:
        "three members on three hosts each send a line: each member receives all three (its own \
                  through the loopback); with IP_MULTICAST_LOOP=0 each receives the other two only",
    run: &Measure(chat),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_ADD_MEMBERSHIP, opt::IP_MULTICAST_LOOP],
};

/// Group x of case N: 239.10.N.x.
fn group(case: u8, x: u8) -> Ipv4Addr {
    Ipv4Addr::new(239, 10, case, x)
}

/// The sentinels' group of case N (see the module's doc).
fn sentinel_group(case: u8) -> Ipv4Addr {
    group(case, 250)
}

fn any(port: u16) -> SocketAddr {
    SocketAddr::new(Family::V4.any(), port)
}

fn to(g: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(g), port)
}

/// The LAN with h1 and the hosts `others` (lab::bridge), with this thread
/// kept from now on on the CPU it runs on, so the frames it sends keep their
/// order at every hop (see the module's doc). The case process runs this one
/// case, so the pin is never undone.
fn lan(lab: &mut Lab, others: &[usize]) -> Result<Lan> {
    let lan = Lan::build(lab, others)?;
    crate::lab::pin_thread()?;
    Ok(lan)
}

fn udp_in(st: &Station, bind: Option<SocketAddr>, reuse: bool) -> Result<Sock> {
    st.host.run(|| -> Result<Sock> {
        let s = Sock::udp(Family::V4)?;
        if reuse {
            s.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
                .context("SO_REUSEADDR")?;
        }
        if let Some(a) = bind {
            s.bind(a)
                .with_context(|| format!("bind {a} on {}", st.host.name))?;
        }
        Ok(s)
    })?
}

/// A socket on `st` bound to INADDR_ANY:port that joined `g` on its segment-A interface.
fn member(st: &Station, g: Ipv4Addr, port: u16) -> Result<Sock> {
    let s = udp_in(st, Some(any(port)), true)?;
    join(&s, g, st.nic().addr)?;
    Ok(s)
}

fn sender(st: &Station) -> Result<Sock> {
    udp_in(st, None, false)
}

/// The case's sentinel receiver on `st`: a member of the case's sentinel
/// group on a port no other socket uses (see the module's doc).
fn sentinel(st: &Station, case: u8, port: u16) -> Result<Sentinel> {
    let g = sentinel_group(case);
    Ok(Sentinel::of(member(st, g, port)?, to(g, port)))
}

/// A received datagram as a report writes it: its text, or nothing.
fn said(r: &Option<String>) -> &str {
    r.as_deref().unwrap_or("nothing")
}

/// Items as a sentence lists them: "a, b, c", or nothing.
fn listed<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "nothing".into();
    }
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One IP_ADD_MEMBERSHIP attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Join {
    pub group: Ipv4Addr,
    /// ok, or the errno name.
    pub result: String,
}

/// IP_ADD_MEMBERSHIP on one socket for a class D group, then for a unicast,
/// a class E and the broadcast address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassDOnly {
    pub joins: Vec<Join>,
}

fn class_d_only(lab: &mut Lab) -> Result<ClassDOnly> {
    let lan = lan(lab, &[])?;
    let h1 = lan.h(1);
    let s = sender(h1)?;
    let iface = h1.nic().addr;
    let joins = [
        group(1, 1),
        Ipv4Addr::new(198, 51, 100, 200),
        Ipv4Addr::new(240, 0, 0, 1),
        Ipv4Addr::BROADCAST,
    ]
    .into_iter()
    .map(|g| Join {
        group: g,
        result: result_name(&s.set_raw(libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, &mreq(g, iface))),
    })
    .collect();
    Ok(ClassDOnly { joins })
}

impl Observation for ClassDOnly {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (class_d, others): (Vec<&Join>, Vec<&Join>) =
            self.joins.iter().partition(|t| t.group.is_multicast());
        let results = |joins: &[&Join]| -> Vec<String> {
            joins
                .iter()
                .map(|t| format!("{} {}", t.group, t.result))
                .collect()
        };
        j.expect(
            "class D group",
            !class_d.is_empty() && class_d.iter().all(|t| t.result == "ok"),
            "ok",
            listed(&results(&class_d)),
        );
        j.expect(
            "non-class-D addresses",
            !others.is_empty() && others.iter().all(|t| t.result == "EINVAL"),
            "EINVAL for each",
            listed(&results(&others)),
        );
        let holds =
            class_d.iter().all(|t| t.result == "ok") && others.iter().all(|t| t.result != "ok");
        j.verdict(
            Verdict::holds_if(holds),
            format!(
                "IP_ADD_MEMBERSHIP: {}",
                listed(&results(&self.joins.iter().collect::<Vec<_>>()))
            ),
        );
        let joined: Vec<Ipv4Addr> = self
            .joins
            .iter()
            .filter(|t| t.result == "ok")
            .map(|t| t.group)
            .collect();
        let refused: Vec<String> = self
            .joins
            .iter()
            .filter(|t| t.result != "ok")
            .map(|t| format!("{} {}", t.group, t.result))
            .collect();
        j.key(format!(
            "joins {}; refuses {}",
            listed(&joined),
            listed(&refused)
        ));
        j
    }
}

/// The text of the one datagram a case sends; FIRST and SECOND when it
/// sends two.
const DATAGRAM: &str = "the datagram";

/// One datagram from h1 to a group h2's socket joined.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JoinReceive {
    pub group: Ipv4Addr,
    pub port: u16,
    /// What the member on h2 received: the datagram's text, or none.
    pub h2_received: Option<String>,
}

fn join_receive(lab: &mut Lab) -> Result<JoinReceive> {
    let lan = lan(lab, &[2])?;
    let (g, p) = (group(2, 1), 40_002);
    let rx = member(lan.h(2), g, p)?;
    sender(lan.h(1))?.send_to(DATAGRAM.as_bytes(), 0, to(g, p))?;
    Ok(JoinReceive {
        group: g,
        port: p,
        h2_received: recv_within(&rx, WAIT)?,
    })
}

impl Observation for JoinReceive {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "the member on h2 receives",
            &Some(DATAGRAM),
            &self.h2_received.as_deref(),
        );
        j.verdict(
            Verdict::holds_if(self.h2_received.is_some()),
            format!(
                "h1 sent to {}:{}; the member on h2 received {}",
                self.group,
                self.port,
                said(&self.h2_received)
            ),
        );
        j.key(format!("h2 received {}", said(&self.h2_received)));
        j
    }
}

/// A datagram from h1, which joined no group, to a group h2 joined.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SenderNeedsNoJoin {
    pub group: Ipv4Addr,
    /// The groups h1 had joined on eth0 when it sent (/proc/net/igmp).
    pub sender_groups: Vec<Ipv4Addr>,
    pub h2_received: Option<String>,
}

fn sender_needs_no_join(lab: &mut Lab) -> Result<SenderNeedsNoJoin> {
    let lan = lan(lab, &[2])?;
    let (g, p) = (group(3, 1), 40_003);
    let rx = member(lan.h(2), g, p)?;
    let sender_groups = lan.h(1).host.run(|| joined_groups("eth0"))??;
    sender(lan.h(1))?.send_to(DATAGRAM.as_bytes(), 0, to(g, p))?;
    Ok(SenderNeedsNoJoin {
        group: g,
        sender_groups,
        h2_received: recv_within(&rx, WAIT)?,
    })
}

impl Observation for SenderNeedsNoJoin {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let sender_joined = self.sender_groups.contains(&self.group);
        j.expect(
            "the sender is not a member",
            !sender_joined,
            format!("{} not among h1's groups", self.group),
            listed(&self.sender_groups),
        );
        j.expect_eq(
            "the member receives",
            &Some(DATAGRAM),
            &self.h2_received.as_deref(),
        );
        j.verdict(
            Verdict::holds_if(self.h2_received.is_some() && !sender_joined),
            format!(
                "h1 (groups on eth0: {}) sent to {}; the member on h2 received {}",
                listed(&self.sender_groups),
                self.group,
                said(&self.h2_received)
            ),
        );
        j.key(format!(
            "non-member h1 sent, h2 received {}",
            said(&self.h2_received)
        ));
        j
    }
}

/// A datagram to a group h2 joined and h3 did not, though h3 has a socket on
/// the port.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NonmemberNoReceive {
    pub group: Ipv4Addr,
    pub h2_member_received: Option<String>,
    /// The frame was captured on h3's eth0.
    pub at_h3_interface: bool,
    /// Everything h3's socket on the port had received once the sentinel
    /// came.
    pub h3_socket_received: Vec<String>,
    /// What h3's sentinel receiver got once the datagram was sent: the
    /// sentinel (nothing earlier is still coming), or none.
    pub sentinel_at_h3: Option<String>,
}

/// The UDP datagram to `port` that `f` carries, if it carries one.
fn udp_to(f: &Frame, port: u16) -> Option<crate::lab::packet::Datagram> {
    match f.decode() {
        Packet::Udp(d) if d.dport == port => Some(d),
        _ => None,
    }
}

fn nonmember_no_receive(lab: &mut Lab) -> Result<NonmemberNoReceive> {
    let lan = lan(lab, &[2, 3])?;
    let (g, p) = (group(4, 1), 40_004);
    let member_rx = member(lan.h(2), g, p)?;
    let outsider = udp_in(lan.h(3), Some(any(p)), true)?;
    let sentinel = sentinel(lan.h(3), 4, 40_104)?;
    let mut cap = lan.h(3).host.run(|| Capture::start("eth0"))??;
    let tx = sender(lan.h(1))?;
    tx.send_to(DATAGRAM.as_bytes(), 0, to(g, p))?;
    let h2_member_received = recv_within(&member_rx, WAIT)?;
    let sentinel_at_h3 = sentinel.follows(&tx)?;
    let at_h3_interface = cap
        .wait_for("the datagram at h3's interface", WAIT, |f| {
            udp_to(f, p).is_some()
        })
        .is_ok();
    Ok(NonmemberNoReceive {
        group: g,
        h2_member_received,
        at_h3_interface,
        h3_socket_received: queued(&outsider),
        sentinel_at_h3,
    })
}

/// The check that the sentinel came, named after the host it went to.
fn sentinel_check(j: &mut Judgement, host: &str, got: &Option<String>) {
    j.expect(
        &format!("a later datagram reaches {host} (nothing earlier is still coming)"),
        got.as_deref() == Some(SENTINEL),
        "it arrives",
        match got.as_deref() {
            None => "it never came".to_string(),
            Some(SENTINEL) => "it arrived".to_string(),
            Some(other) => format!("{other} instead"),
        },
    );
}

impl Observation for NonmemberNoReceive {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "the member receives",
            &Some(DATAGRAM),
            &self.h2_member_received.as_deref(),
        );
        j.expect_eq(
            "the frame reaches the non-member's interface",
            &true,
            &self.at_h3_interface,
        );
        j.expect(
            "the non-member's socket receives nothing",
            self.h3_socket_received.is_empty(),
            "nothing",
            listed(&self.h3_socket_received),
        );
        sentinel_check(&mut j, "h3", &self.sentinel_at_h3);
        let nic = if self.at_h3_interface {
            "reached h3's interface"
        } else {
            "never reached h3's interface"
        };
        j.verdict(
            Verdict::holds_if(self.h3_socket_received.is_empty()),
            format!(
                "the datagram to {} {nic}; the member h2 received {}, h3's socket on the port {}",
                self.group,
                said(&self.h2_member_received),
                listed(&self.h3_socket_received)
            ),
        );
        j.key(format!(
            "member h2 received {}; non-member h3: frame {} its interface, its socket received {}",
            said(&self.h2_member_received),
            if self.at_h3_interface { "at" } else { "not at" },
            listed(&self.h3_socket_received)
        ));
        j
    }
}

/// h2 and h3 are members; h2 drops its membership between two datagrams.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DropMembership {
    pub h2_before_drop: Option<String>,
    /// IP_DROP_MEMBERSHIP: ok or the errno name.
    pub drop_result: String,
    /// h3, still a member, on the second datagram.
    pub h3_after_drop: Option<String>,
    /// Everything h2's socket had received after the drop once the sentinel came.
    pub h2_after_drop: Vec<String>,
    /// The sentinel, once it came (see NonmemberNoReceive::sentinel_at_h3).
    pub sentinel_at_h2: Option<String>,
}

fn drop_membership(lab: &mut Lab) -> Result<DropMembership> {
    let lan = lan(lab, &[2, 3])?;
    let (g, p) = (group(5, 1), 40_005);
    let rx = member(lan.h(2), g, p)?;
    let control = member(lan.h(3), g, p)?;
    let sentinel = sentinel(lan.h(2), 5, 40_105)?;
    let tx = sender(lan.h(1))?;
    tx.send_to(FIRST.as_bytes(), 0, to(g, p))?;
    // The first datagram must be in before the drop, or the drop could
    // overtake it.
    let h2_before_drop = recv_within(&rx, WAIT)?;
    recv_within(&control, WAIT)?;
    let dropped = rx.set_raw(
        libc::IPPROTO_IP,
        libc::IP_DROP_MEMBERSHIP,
        &mreq(g, lan.h(2).nic().addr),
    );
    tx.send_to(SECOND.as_bytes(), 0, to(g, p))?;
    let h3_after_drop = recv_within(&control, WAIT)?;
    let sentinel_at_h2 = sentinel.follows(&tx)?;
    Ok(DropMembership {
        h2_before_drop,
        drop_result: result_name(&dropped),
        h3_after_drop,
        h2_after_drop: queued(&rx),
        sentinel_at_h2,
    })
}

impl Observation for DropMembership {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "received before the drop",
            &Some(FIRST),
            &self.h2_before_drop.as_deref(),
        );
        j.expect_eq("IP_DROP_MEMBERSHIP", "ok", self.drop_result.as_str());
        j.expect_eq(
            "h3, still a member, gets the second",
            &Some(SECOND),
            &self.h3_after_drop.as_deref(),
        );
        j.expect(
            "nothing after the drop",
            self.h2_after_drop.is_empty(),
            "nothing",
            listed(&self.h2_after_drop),
        );
        sentinel_check(&mut j, "h2", &self.sentinel_at_h2);
        j.verdict(
            Verdict::holds_if(self.h2_before_drop.is_some() && self.h2_after_drop.is_empty()),
            format!(
                "h2 received {} before IP_DROP_MEMBERSHIP ({}) and {} after it; h3, still a member, \
                 received {}",
                said(&self.h2_before_drop),
                self.drop_result,
                listed(&self.h2_after_drop),
                said(&self.h3_after_drop)
            ),
        );
        j.key(format!(
            "h2 received {} before the drop, {} after",
            said(&self.h2_before_drop),
            listed(&self.h2_after_drop)
        ));
        j
    }
}

/// A sender on h1 that is itself a member, with IP_MULTICAST_LOOP as it
/// comes and then 0; h2 is a member too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoopDefault {
    /// IP_MULTICAST_LOOP on a new socket.
    pub loop_default: i32,
    /// What the sender's own socket received of its datagram with the default.
    pub own_with_loop_1: Option<String>,
    pub h2_with_loop_1: Option<String>,
    pub h2_with_loop_0: Option<String>,
    /// Everything the sender's socket had of its datagram sent with loop 0
    /// once the sentinel, sent with loop 1, had looped back.
    pub own_with_loop_0: Vec<String>,
    /// The sentinel, once it came (see NonmemberNoReceive::sentinel_at_h3).
    pub sentinel_at_h1: Option<String>,
}

fn loop_default(lab: &mut Lab) -> Result<LoopDefault> {
    let lan = lan(lab, &[2])?;
    let (g, p) = (group(6, 1), 40_006);
    let own = member(lan.h(1), g, p)?;
    let other = member(lan.h(2), g, p)?;
    let sentinel = sentinel(lan.h(1), 6, 40_106)?;
    let run = toggle_loop(Family::V4, &own, to(g, p), [&own], &other, &sentinel)?;
    let ([own_with_loop_1], [own_with_loop_0]) = (run.local_with_1, run.local_with_0);
    Ok(LoopDefault {
        loop_default: run.default,
        own_with_loop_1,
        h2_with_loop_1: run.remote_with_1,
        h2_with_loop_0: run.remote_with_0,
        own_with_loop_0,
        sentinel_at_h1: run.sentinel,
    })
}

impl Observation for LoopDefault {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("IP_MULTICAST_LOOP default", &1, &self.loop_default);
        j.expect_eq(
            "own datagram looped back by default",
            &Some(FIRST),
            &self.own_with_loop_1.as_deref(),
        );
        j.expect_eq(
            "h2 receives with loop 1 and with loop 0",
            &[Some(FIRST), Some(SECOND)],
            &[
                self.h2_with_loop_1.as_deref(),
                self.h2_with_loop_0.as_deref(),
            ],
        );
        j.expect(
            "no own datagram with loop 0",
            self.own_with_loop_0.is_empty(),
            "nothing",
            listed(&self.own_with_loop_0),
        );
        sentinel_check(&mut j, "h1 through the loopback", &self.sentinel_at_h1);
        let holds = self.loop_default == 1
            && self.own_with_loop_1.is_some()
            && self.own_with_loop_0.is_empty();
        j.verdict(
            Verdict::holds_if(holds),
            format!(
                "IP_MULTICAST_LOOP reads {} on a new socket; with loop 1 the sender's own socket received \
                 {}, with loop 0 {}; h2 received {} and {}",
                self.loop_default,
                said(&self.own_with_loop_1),
                listed(&self.own_with_loop_0),
                said(&self.h2_with_loop_1),
                said(&self.h2_with_loop_0)
            ),
        );
        j.key(format!(
            "default {}; own copy with loop 1: {}, with 0: {}",
            self.loop_default,
            said(&self.own_with_loop_1),
            listed(&self.own_with_loop_0)
        ));
        j
    }
}

/// Two datagrams from h1, with IP_MULTICAST_TTL as it comes and then 32,
/// captured on h2's link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ttl {
    /// IP_MULTICAST_TTL on a new socket.
    pub ttl_default: i32,
    /// The TTL in the IP header on h2's link: with the default, then with 32.
    pub wire_ttl_default: Option<u8>,
    pub wire_ttl_32: Option<u8>,
    /// How many of the two the member on h2 received.
    pub h2_received: usize,
}

fn ttl(lab: &mut Lab) -> Result<Ttl> {
    let lan = lan(lab, &[2])?;
    let (g, p) = (group(7, 1), 40_007);
    let rx = member(lan.h(2), g, p)?;
    let mut cap = lan.h(2).host.run(|| Capture::start("eth0"))??;
    let tx = sender(lan.h(1))?;
    let ttl_default = tx.get_int(libc::IPPROTO_IP, libc::IP_MULTICAST_TTL)?;
    let mut wire = Vec::new();
    let mut h2_received = 0;
    for (len, set) in [(1, None), (2, Some(32))] {
        if let Some(t) = set {
            tx.set_int(libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, t)
                .context("IP_MULTICAST_TTL")?;
        }
        tx.send_to(&vec![b't'; len], 0, to(g, p))?;
        h2_received += recv_within(&rx, WAIT)?.iter().count();
        let frame = cap.wait_for(
            &format!("the datagram of {len} B on h2's link"),
            WAIT,
            |f| udp_to(f, p).is_some_and(|d| d.payload as usize == len),
        );
        wire.push(frame.ok().and_then(|f| udp_to(&f, p)).map(|d| d.ttl));
    }
    Ok(Ttl {
        ttl_default,
        wire_ttl_default: wire[0],
        wire_ttl_32: wire[1],
        h2_received,
    })
}

impl Observation for Ttl {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("IP_MULTICAST_TTL default", &1, &self.ttl_default);
        j.expect_eq(
            "TTL on the wire: default, then after setting 32",
            &[Some(1), Some(32)],
            &[self.wire_ttl_default, self.wire_ttl_32],
        );
        j.expect_eq(
            "h2 receives both (a bridge does not count hops)",
            &2,
            &self.h2_received,
        );
        let holds = self.wire_ttl_default.map(i32::from) == Some(self.ttl_default)
            && self.wire_ttl_32 == Some(32);
        j.verdict(
            Verdict::holds_if(holds),
            format!(
                "IP_MULTICAST_TTL reads {} on a new socket; h2's link saw TTL {} with it and TTL {} \
                 after setting 32",
                self.ttl_default,
                self.wire_ttl_default.show(),
                self.wire_ttl_32.show()
            ),
        );
        j.key(format!(
            "default {}; TTL on the wire {}, then {}",
            self.ttl_default,
            self.wire_ttl_default.show(),
            self.wire_ttl_32.show()
        ));
        j
    }
}

/// Where one datagram from h1 went.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// Captured leaving h1 by eth0 (segment A), by eth1 (segment B).
    pub left_by_eth0: bool,
    pub left_by_eth1: bool,
    /// Received by the member on h2 (segment A), on h4 (segment B).
    pub h2_received: bool,
    pub h4_received: bool,
}

impl Route {
    /// By eth0 to h2: what the 224.0.0.0/4 route gives.
    const SEGMENT_A: Route = Route {
        left_by_eth0: true,
        left_by_eth1: false,
        h2_received: true,
        h4_received: false,
    };
    /// By eth1 to h4: what IP_MULTICAST_IF with eth1's address gives.
    const SEGMENT_B: Route = Route {
        left_by_eth0: false,
        left_by_eth1: true,
        h2_received: false,
        h4_received: true,
    };

    fn describe(&self) -> String {
        let both = |a: bool, b: bool, x: &str, y: &str| match (a, b) {
            (true, true) => format!("{x} and {y}"),
            (true, false) => format!("{x} only"),
            (false, true) => format!("{y} only"),
            (false, false) => "neither".to_string(),
        };
        format!(
            "left by {}, reached {}",
            both(self.left_by_eth0, self.left_by_eth1, "eth0", "eth1"),
            both(self.h2_received, self.h4_received, "h2", "h4")
        )
    }
}

/// One datagram by h1's route, then one with IP_MULTICAST_IF set to h1's
/// segment-B address; members on h2 (segment A) and h4 (segment B).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IfSelects {
    /// The address given to IP_MULTICAST_IF (h1's eth1).
    pub eth1_addr: Ipv4Addr,
    pub by_route: Route,
    pub with_multicast_if: Route,
    /// What the sentinel receivers got after both datagrams: by eth0 on h2,
    /// by eth1 on h4 (see NonmemberNoReceive::sentinel_at_h3).
    pub sentinel_at_h2: Option<String>,
    pub sentinel_at_h4: Option<String>,
}

fn if_selects_interface(lab: &mut Lab) -> Result<IfSelects> {
    let lan = lan(lab, &[2, 4])?;
    let (g, p) = (group(8, 1), 40_008);
    let (h1, h2, h4) = (lan.h(1), lan.h(2), lan.h(4));
    let on_a = member(h2, g, p)?;
    let on_b = member(h4, g, p)?;
    let sentinel_a = sentinel(h2, 8, 40_108)?;
    let sentinel_b = sentinel(h4, 8, 40_108)?;
    let mut eth0 = h1.host.run(|| Capture::start("eth0"))??;
    let mut eth1 = h1.host.run(|| Capture::start("eth1"))??;
    let by_route = sender(h1)?;
    let tx = sender(h1)?;
    let eth1_addr = h1.nics[1].addr;
    tx.send_to(BY_ROUTE.as_bytes(), 0, to(g, p))?;
    // In before the second datagram is sent, so that h2 cannot take the
    // second for the first.
    let mut at_a: Vec<String> = recv_within(&on_a, WAIT)?.into_iter().collect();
    tx.set_raw(libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &eth1_addr.octets())
        .context("IP_MULTICAST_IF")?;
    tx.send_to(BY_ETH1.as_bytes(), 0, to(g, p))?;
    // Each sentinel follows the datagrams along one segment's path: from a
    // socket without IP_MULTICAST_IF by eth0, from `tx` by eth1.
    let sentinel_at_h2 = sentinel_a.follows(&by_route)?;
    let sentinel_at_h4 = sentinel_b.follows(&tx)?;
    at_a.extend(queued(&on_a));
    let at_b = queued(&on_b);
    let mut route = |payload: &str| -> Result<Route> {
        let len = payload.len() as u32;
        let left = |cap: &mut Capture| -> Result<bool> {
            Ok(cap
                .frames()?
                .iter()
                .any(|f| udp_to(f, p).is_some_and(|d| d.payload == len)))
        };
        Ok(Route {
            left_by_eth0: left(&mut eth0)?,
            left_by_eth1: left(&mut eth1)?,
            h2_received: at_a.iter().any(|d| d == payload),
            h4_received: at_b.iter().any(|d| d == payload),
        })
    };
    Ok(IfSelects {
        eth1_addr,
        by_route: route(BY_ROUTE)?,
        with_multicast_if: route(BY_ETH1)?,
        sentinel_at_h2,
        sentinel_at_h4,
    })
}

/// The two datagrams of mcast.if_selects_interface, told apart on the wire
/// by their lengths.
const BY_ROUTE: &str = "by route";
const BY_ETH1: &str = "by eth1 only";

impl Observation for IfSelects {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (a, b) = (Route::SEGMENT_A, Route::SEGMENT_B);
        j.expect(
            "default: eth0 only, h2 receives",
            self.by_route == a,
            a.describe(),
            self.by_route.describe(),
        );
        j.expect(
            "IP_MULTICAST_IF=eth1's address: eth1 only, h4 receives",
            self.with_multicast_if == b,
            b.describe(),
            self.with_multicast_if.describe(),
        );
        sentinel_check(&mut j, "h2", &self.sentinel_at_h2);
        sentinel_check(&mut j, "h4", &self.sentinel_at_h4);
        j.verdict(
            Verdict::holds_if(self.with_multicast_if == b),
            format!(
                "by the route the datagram {}; with IP_MULTICAST_IF {} it {}",
                self.by_route.describe(),
                self.eth1_addr,
                self.with_multicast_if.describe()
            ),
        );
        j.key(format!(
            "default: {}; IP_MULTICAST_IF: {}",
            self.by_route.describe(),
            self.with_multicast_if.describe()
        ));
        j
    }
}

/// An IGMP message from h2 that names the group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IgmpMsg {
    /// The IGMP type: 0x12 v1 report, 0x16 v2 report, 0x17 leave, 0x22 v3
    /// report.
    pub kind: u8,
    /// In a v3 report, the type of the group's record (3 CHANGE_TO_INCLUDE,
    /// 4 CHANGE_TO_EXCLUDE, ...); none for v1 and v2.
    pub record: Option<u8>,
    /// The IP destination.
    pub to: IpAddr,
}

impl IgmpMsg {
    fn version(&self) -> u8 {
        match self.kind {
            0x22 => 3,
            0x16 | 0x17 => 2,
            0x12 => 1,
            _ => 0,
        }
    }

    fn describe(&self) -> String {
        let what = match self.kind {
            0x17 => "leave",
            0x11 => "query",
            _ => "report",
        };
        let record = self
            .record
            .map(|r| format!(", record {}", record_name(r)))
            .unwrap_or_default();
        format!("IGMPv{} {what} to {}{record}", self.version(), self.to)
    }
}

/// An IGMPv3 group record type by its RFC 3376 name.
fn record_name(r: u8) -> String {
    match r {
        1 => "MODE_IS_INCLUDE".into(),
        2 => "MODE_IS_EXCLUDE".into(),
        3 => "CHANGE_TO_INCLUDE".into(),
        4 => "CHANGE_TO_EXCLUDE".into(),
        5 => "ALLOW_NEW_SOURCES".into(),
        6 => "BLOCK_OLD_SOURCES".into(),
        _ => format!("type {r}"),
    }
}

/// An IGMP message as a report writes it, or nothing.
fn igmp_text(m: &Option<IgmpMsg>) -> String {
    m.as_ref()
        .map_or_else(|| "nothing".into(), IgmpMsg::describe)
}

/// h2 joins a group and drops it, capturing its eth0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IgmpOnJoin {
    pub group: Ipv4Addr,
    /// net.ipv4.conf.eth0.force_igmp_version (0: not forced).
    pub force_igmp_version: i64,
    /// The first IGMP message naming the group after the join.
    pub on_join: Option<IgmpMsg>,
    /// IP_DROP_MEMBERSHIP: ok or the errno name (observed, not required:
    /// with the join silently ignored the drop fails).
    pub drop_result: String,
    /// The first leave naming the group after the drop.
    pub on_drop: Option<IgmpMsg>,
}

/// The IGMP message in `f` if it names `g`.
fn igmp_about(f: &Frame, g: Ipv4Addr) -> Option<IgmpMsg> {
    let Packet::Igmp(m) = f.decode() else {
        return None;
    };
    let at = m.groups.iter().position(|x| *x == g)?;
    Some(IgmpMsg {
        kind: m.kind,
        record: m.record_types.get(at).copied(),
        to: m.dst,
    })
}

fn igmp_on_join(lab: &mut Lab) -> Result<IgmpOnJoin> {
    let lan = lan(lab, &[2])?;
    let g = group(9, 1);
    let h2 = lan.h(2);
    let force_igmp_version = h2
        .host
        .run(|| procnet::sysctl_int("net/ipv4/conf/eth0/force_igmp_version"))??;
    let mut cap = h2.host.run(|| Capture::start("eth0"))??;
    let s = udp_in(h2, Some(any(40_009)), true)?;
    join(&s, g, h2.nic().addr)?;
    phase("waiting for the IGMP report");
    let on_join = cap
        .wait_for("an IGMP report naming the group", WAIT, |f| {
            igmp_about(f, g).is_some()
        })
        .ok()
        .and_then(|f| igmp_about(&f, g));
    let dropped = s.set_raw(
        libc::IPPROTO_IP,
        libc::IP_DROP_MEMBERSHIP,
        &mreq(g, h2.nic().addr),
    );
    phase("waiting for the IGMP leave");
    let is_leave = |m: &IgmpMsg| m.kind == 0x17 || m.record == Some(3) || m.record == Some(6);
    let on_drop = cap
        .wait_for("an IGMP leave naming the group", WAIT, |f| {
            igmp_about(f, g).is_some_and(|m| is_leave(&m))
        })
        .ok()
        .and_then(|f| igmp_about(&f, g));
    Ok(IgmpOnJoin {
        group: g,
        force_igmp_version,
        on_join,
        drop_result: result_name(&dropped),
        on_drop,
    })
}

impl Observation for IgmpOnJoin {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let expected_version = match self.force_igmp_version {
            1 => 1,
            2 => 2,
            _ => 3,
        };
        let version = self.on_join.as_ref().map(IgmpMsg::version);
        j.expect(
            "IGMP version of the report",
            version == Some(expected_version),
            format!("IGMPv{expected_version}"),
            version.map_or_else(|| "no report".into(), |v| format!("IGMPv{v}")),
        );
        if expected_version == 3 {
            let all_reports = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 22));
            j.expect(
                "v3 report: record CHANGE_TO_EXCLUDE (4) to 224.0.0.22",
                self.on_join
                    .as_ref()
                    .is_some_and(|m| m.record == Some(4) && m.to == all_reports),
                "record CHANGE_TO_EXCLUDE to 224.0.0.22",
                igmp_text(&self.on_join),
            );
            j.expect(
                "v3 leave: record CHANGE_TO_INCLUDE (3)",
                self.on_drop.as_ref().is_some_and(|m| m.record == Some(3)),
                "record CHANGE_TO_INCLUDE",
                igmp_text(&self.on_drop),
            );
        } else {
            j.expect(
                "a leave on drop",
                self.on_drop.is_some(),
                "a leave",
                igmp_text(&self.on_drop),
            );
        }
        j.verdict(
            Verdict::holds_if(self.on_join.is_some()),
            format!(
                "joining {} sent {}; dropping it ({}) sent {} (force_igmp_version {})",
                self.group,
                igmp_text(&self.on_join),
                self.drop_result,
                igmp_text(&self.on_drop),
                self.force_igmp_version
            ),
        );
        j.key(format!(
            "join: {}; drop: {}",
            igmp_text(&self.on_join),
            igmp_text(&self.on_drop)
        ));
        j
    }
}

/// The destination MAC of a datagram h1 sent to one group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MacOnWire {
    pub group: Ipv4Addr,
    /// As captured on h1's eth0 (none if the frame was not seen).
    pub mac: Option<String>,
}

/// Datagrams to 239.1.2.3, 239.129.2.3 and 224.1.2.3; h2 joined the first
/// only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MacMapping {
    pub sent: Vec<MacOnWire>,
    /// What h2's member of the first group had received once the sentinel
    /// came: each datagram carries its group's address as its text.
    pub member_received: Vec<String>,
    /// The sentinel, once it came (see NonmemberNoReceive::sentinel_at_h3).
    pub sentinel_at_h2: Option<String>,
}

/// The groups of mcast.mac_mapping: the second differs from the first in
/// bit 23 only, the third in its high bits.
const MAC_GROUPS: [Ipv4Addr; 3] = [
    Ipv4Addr::new(239, 1, 2, 3),
    Ipv4Addr::new(239, 129, 2, 3),
    Ipv4Addr::new(224, 1, 2, 3),
];

fn mac_mapping(lab: &mut Lab) -> Result<MacMapping> {
    let lan = lan(lab, &[2])?;
    let p = 40_010;
    let rx = member(lan.h(2), MAC_GROUPS[0], p)?;
    let sentinel = sentinel(lan.h(2), 10, 40_110)?;
    let mut cap = lan.h(1).host.run(|| Capture::start("eth0"))??;
    let tx = sender(lan.h(1))?;
    let mut sent = Vec::new();
    for g in MAC_GROUPS {
        tx.send_to(g.to_string().as_bytes(), 0, to(g, p))?;
        let frame = cap.wait_for(&format!("the datagram to {g}"), WAIT, |f| {
            udp_to(f, p).is_some_and(|d| d.dst == g)
        });
        sent.push(MacOnWire {
            group: g,
            mac: frame
                .ok()
                .and_then(|f| udp_to(&f, p))
                .map(|d| mac_text(&d.dst_mac)),
        });
    }
    // The other two reach h2's interface (same MAC) but not its socket.
    let sentinel_at_h2 = sentinel.follows(&tx)?;
    Ok(MacMapping {
        sent,
        member_received: queued(&rx),
        sentinel_at_h2,
    })
}

impl Observation for MacMapping {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let captured: Vec<String> = self
            .sent
            .iter()
            .map(|s| s.mac.clone().unwrap_or_else(|| "none".into()))
            .collect();
        let derived: Vec<String> = self
            .sent
            .iter()
            .map(|s| mac_text(&group_mac(s.group)))
            .collect();
        let mapped = !self.sent.is_empty() && captured == derived;
        j.expect(
            "captured MAC = 01:00:5e + low 23 bits of the group",
            mapped,
            listed(&derived),
            listed(&captured),
        );
        let shared = mac_text(&group_mac(MAC_GROUPS[0]));
        j.expect(
            "all three share one MAC",
            self.sent.len() == 3 && captured.iter().all(|m| *m == shared),
            format!("{shared} for each"),
            listed(&captured),
        );
        j.expect_eq(
            "the member of 239.1.2.3 receives only its group's datagram",
            &vec![MAC_GROUPS[0].to_string()],
            &self.member_received,
        );
        sentinel_check(&mut j, "h2", &self.sentinel_at_h2);
        let groups: Vec<String> = self
            .sent
            .iter()
            .zip(&captured)
            .map(|(s, m)| format!("{} to {m}", s.group))
            .collect();
        j.verdict(
            if mapped {
                Verdict::Differs
            } else {
                Verdict::Refuted
            },
            format!(
                "{}: only the low 23 of the group's 28 bits reach the MAC (not 24, and not the whole \
                 address), so 32 groups share each MAC and the host's IP layer tells them apart; the \
                 member of {} received {}",
                listed(&groups),
                MAC_GROUPS[0],
                datagrams_to(&self.member_received)
            ),
        );
        j.key(format!(
            "{} for all of {}",
            listed(&dedup(&captured)),
            listed(&self.sent.iter().map(|s| s.group).collect::<Vec<_>>())
        ));
        j
    }
}

/// `items` without repeats, in their first order.
fn dedup(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(i) {
            out.push(i.clone());
        }
    }
    out
}

/// Two sockets on h2 bound to group:port: first without SO_REUSEADDR, then
/// with it, both joined.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReuseaddrReceivers {
    /// The second bind without SO_REUSEADDR: ok or the errno name.
    pub second_bind_without: String,
    /// What each of the two sockets bound with SO_REUSEADDR had received
    /// once the sentinel came.
    pub first_received: Vec<String>,
    pub second_received: Vec<String>,
    /// The sentinel, once it came (see NonmemberNoReceive::sentinel_at_h3).
    pub sentinel_at_h2: Option<String>,
}

const ONE_TWO: [&str; 2] = [FIRST, SECOND];

fn reuseaddr_receivers(lab: &mut Lab) -> Result<ReuseaddrReceivers> {
    let lan = lan(lab, &[2])?;
    let (g, p) = (group(11, 1), 40_011);
    let h2 = lan.h(2);
    let first = udp_in(h2, Some(to(g, p)), false)?;
    let plain = udp_in(h2, None, false)?;
    let without = plain.bind(to(g, p));
    drop(first);
    let a = udp_in(h2, Some(to(g, p)), true)?;
    let b = udp_in(h2, Some(to(g, p)), true)?;
    join(&a, g, h2.nic().addr)?;
    join(&b, g, h2.nic().addr)?;
    let sentinel = sentinel(h2, 11, 40_111)?;
    let tx = sender(lan.h(1))?;
    for msg in ONE_TWO {
        tx.send_to(msg.as_bytes(), 0, to(g, p))?;
    }
    let sentinel_at_h2 = sentinel.follows(&tx)?;
    Ok(ReuseaddrReceivers {
        second_bind_without: result_name(&without),
        first_received: queued(&a),
        second_received: queued(&b),
        sentinel_at_h2,
    })
}

impl Observation for ReuseaddrReceivers {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "second bind of group:port without SO_REUSEADDR",
            "EADDRINUSE",
            self.second_bind_without.as_str(),
        );
        let every = |got: &[String]| got == ONE_TWO;
        j.expect(
            "with it both receive every datagram",
            every(&self.first_received) && every(&self.second_received),
            "datagram 1, datagram 2 on each",
            format!(
                "{} on the first, {} on the second",
                listed(&self.first_received),
                listed(&self.second_received)
            ),
        );
        sentinel_check(&mut j, "h2", &self.sentinel_at_h2);
        j.verdict(
            Verdict::holds_if(every(&self.first_received) && every(&self.second_received)),
            format!(
                "without SO_REUSEADDR the second bind failed with {}; with it two sockets bound the \
                 group's address and port and received {}, and {}",
                self.second_bind_without,
                listed(&self.first_received),
                listed(&self.second_received)
            ),
        );
        let with = if self.first_received == self.second_received {
            format!("each received {}", listed(&self.first_received))
        } else {
            format!(
                "one received {}, the other {}",
                listed(&self.first_received),
                listed(&self.second_received)
            )
        };
        j.key(format!(
            "without SO_REUSEADDR: {}; with: {with}",
            self.second_bind_without
        ));
        j
    }
}

/// A socket on h2 bound to group1:port that joined group 1 and group 2, one
/// bound to INADDR_ANY:port; a datagram to each group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BindGroupAddr {
    pub group1: Ipv4Addr,
    pub group2: Ipv4Addr,
    /// What each socket had received once the sentinel came; each datagram
    /// carries its group's address as its text.
    pub group_bound_received: Vec<String>,
    pub any_bound_received: Vec<String>,
    /// The sentinel, once it came (see NonmemberNoReceive::sentinel_at_h3).
    pub sentinel_at_h2: Option<String>,
}

fn bind_group_addr(lab: &mut Lab) -> Result<BindGroupAddr> {
    let lan = lan(lab, &[2])?;
    let (g1, g2, p) = (group(12, 1), group(12, 2), 40_012);
    let h2 = lan.h(2);
    let bound_g1 = udp_in(h2, Some(to(g1, p)), true)?;
    join(&bound_g1, g1, h2.nic().addr)?;
    join(&bound_g1, g2, h2.nic().addr)?;
    let bound_any = udp_in(h2, Some(any(p)), true)?;
    let sentinel = sentinel(h2, 12, 40_112)?;
    let tx = sender(lan.h(1))?;
    for g in [g1, g2] {
        tx.send_to(g.to_string().as_bytes(), 0, to(g, p))?;
    }
    let sentinel_at_h2 = sentinel.follows(&tx)?;
    Ok(BindGroupAddr {
        group1: g1,
        group2: g2,
        group_bound_received: queued(&bound_g1),
        any_bound_received: queued(&bound_any),
        sentinel_at_h2,
    })
}

impl Observation for BindGroupAddr {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (g1, g2) = (self.group1.to_string(), self.group2.to_string());
        j.expect_eq(
            "bound to group 1: gets group 1 only (though it joined both)",
            &vec![g1.clone()],
            &self.group_bound_received,
        );
        j.expect_eq(
            "bound to INADDR_ANY: gets both",
            &vec![g1.clone(), g2.clone()],
            &self.any_bound_received,
        );
        sentinel_check(&mut j, "h2", &self.sentinel_at_h2);
        let holds =
            self.group_bound_received.contains(&g1) && !self.group_bound_received.contains(&g2);
        j.verdict(
            Verdict::holds_if(holds),
            format!(
                "the socket bound to {g1} (a member of {g1} and {g2}) received {}; the one bound to \
                 0.0.0.0 received {}",
                datagrams_to(&self.group_bound_received),
                datagrams_to(&self.any_bound_received)
            ),
        );
        j.key(format!(
            "bound to {g1}: {}; bound to 0.0.0.0: {}",
            datagrams_to(&self.group_bound_received),
            datagrams_to(&self.any_bound_received)
        ));
        j
    }
}

/// Datagrams whose text is their group's address, as a report lists them.
fn datagrams_to(groups: &[String]) -> String {
    match groups {
        [] => "nothing".into(),
        [g] => format!("the datagram to {g}"),
        more => format!("the datagrams to {}", listed(more)),
    }
}

/// Three sockets on h2 bound to INADDR_ANY:port: one joined the group, one
/// did not, one did not and set IP_MULTICAST_ALL 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MulticastAll {
    /// IP_MULTICAST_ALL on a new socket.
    pub multicast_all_default: i32,
    pub joined_received: Option<String>,
    /// What the other two had received once the sentinel came.
    pub unjoined_received: Vec<String>,
    pub unjoined_multicast_all_0_received: Vec<String>,
    /// The sentinel, once it came (see NonmemberNoReceive::sentinel_at_h3).
    pub sentinel_at_h2: Option<String>,
}

fn multicast_all(lab: &mut Lab) -> Result<MulticastAll> {
    let lan = lan(lab, &[2])?;
    let (g, p) = (group(13, 1), 40_013);
    let h2 = lan.h(2);
    let joined = member(h2, g, p)?;
    let bystander = udp_in(h2, Some(any(p)), true)?;
    let multicast_all_default = bystander.get_int(libc::IPPROTO_IP, libc::IP_MULTICAST_ALL)?;
    let strict = h2.host.run(|| -> Result<Sock> {
        let s = Sock::udp(Family::V4)?;
        s.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        s.set_int(libc::IPPROTO_IP, libc::IP_MULTICAST_ALL, 0)
            .context("IP_MULTICAST_ALL 0")?;
        s.bind(any(p))?;
        Ok(s)
    })??;
    let sentinel = sentinel(h2, 13, 40_113)?;
    let tx = sender(lan.h(1))?;
    tx.send_to(DATAGRAM.as_bytes(), 0, to(g, p))?;
    let joined_received = recv_within(&joined, WAIT)?;
    let sentinel_at_h2 = sentinel.follows(&tx)?;
    Ok(MulticastAll {
        multicast_all_default,
        joined_received,
        unjoined_received: queued(&bystander),
        unjoined_multicast_all_0_received: queued(&strict),
        sentinel_at_h2,
    })
}

impl Observation for MulticastAll {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let datagram = vec![DATAGRAM.to_string()];
        j.expect_eq("IP_MULTICAST_ALL default", &1, &self.multicast_all_default);
        j.expect_eq(
            "the joined socket receives",
            &Some(DATAGRAM),
            &self.joined_received.as_deref(),
        );
        j.expect_eq(
            "an unjoined socket on the port receives too (MULTICAST_ALL 1)",
            &datagram,
            &self.unjoined_received,
        );
        j.expect(
            "with IP_MULTICAST_ALL=0 it does not",
            self.unjoined_multicast_all_0_received.is_empty(),
            "nothing",
            listed(&self.unjoined_multicast_all_0_received),
        );
        sentinel_check(&mut j, "h2", &self.sentinel_at_h2);
        j.verdict(
            if self.unjoined_received.is_empty() {
                Verdict::Holds
            } else {
                Verdict::Refuted
            },
            format!(
                "IP_MULTICAST_ALL reads {} on a new socket; the joined socket received {}, an unjoined \
                 one on the same port {}, an unjoined one with IP_MULTICAST_ALL 0 {}",
                self.multicast_all_default,
                said(&self.joined_received),
                listed(&self.unjoined_received),
                listed(&self.unjoined_multicast_all_0_received)
            ),
        );
        j.key(format!(
            "unjoined socket received {}; with IP_MULTICAST_ALL 0 {}",
            listed(&self.unjoined_received),
            listed(&self.unjoined_multicast_all_0_received)
        ));
        j
    }
}

/// Three members, h1, h2 and h3, each saying hi with IP_MULTICAST_LOOP 1,
/// then again with 0, then bye with 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chat {
    /// For h1, h2 and h3 in turn: the hosts they heard say hi with the
    /// loopback on, in host order.
    pub heard_with_loop: Vec<Vec<u8>>,
    /// The same with IP_MULTICAST_LOOP 0.
    pub heard_without_loop: Vec<Vec<u8>>,
    /// For h1, h2 and h3: how many members' byes they heard (three: nothing
    /// said earlier is still coming).
    pub byes_heard: Vec<usize>,
}

/// A chat line: who says it, and in which round (1 and 2 say hi, 3 says bye).
fn chat_line(host: usize, round: u8) -> String {
    if round == 3 {
        format!("h{host} bye")
    } else {
        format!("h{host} says hi ({round})")
    }
}

/// Who said `line`, and in which round (see `chat_line`).
fn parse_chat(line: &str) -> Option<(u8, u8)> {
    let (who, said) = line.split_once(' ')?;
    let host = who.strip_prefix('h')?.parse().ok()?;
    let round = match said {
        "bye" => 3,
        hi => hi
            .strip_prefix("says hi (")?
            .strip_suffix(')')?
            .parse()
            .ok()?,
    };
    Some((host, round))
}

fn chat(lab: &mut Lab) -> Result<Chat> {
    let lan = lan(lab, &[2, 3])?;
    let (g, p) = (group(14, 1), 40_014);
    let members: Vec<Sock> = (1..=3)
        .map(|h| member(lan.h(h), g, p))
        .collect::<Result<_>>()?;
    for round in 1..=3 {
        // Round 2 without the loopback; the byes with it, so that each member
        // hears its own bye after everything it could have heard of itself.
        let loop_on = round != 2;
        for (i, m) in members.iter().enumerate() {
            m.set_int(libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, loop_on as i32)
                .context("IP_MULTICAST_LOOP")?;
            m.send_to(chat_line(i + 1, round).as_bytes(), 0, to(g, p))?;
        }
    }
    phase("waiting for every member's bye");
    let mut said = Chat {
        heard_with_loop: Vec::new(),
        heard_without_loop: Vec::new(),
        byes_heard: Vec::new(),
    };
    for m in &members {
        // Who this member heard in rounds 1, 2 and 3.
        let mut heard: [Vec<u8>; 3] = Default::default();
        while heard[2].len() != members.len() {
            let Some(line) = recv_within(m, WAIT)? else {
                break;
            };
            let round = parse_chat(&line).and_then(|(host, round)| {
                let r = heard.get_mut(usize::from(round).checked_sub(1)?)?;
                Some((host, r))
            });
            if let Some((host, r)) = round {
                r.push(host);
            }
        }
        let [mut with_loop, mut without_loop, byes] = heard;
        with_loop.sort_unstable();
        without_loop.sort_unstable();
        said.heard_with_loop.push(with_loop);
        said.heard_without_loop.push(without_loop);
        said.byes_heard.push(byes.len());
    }
    Ok(said)
}

/// What each member should hear: everyone, or everyone else.
fn everyone(loop_on: bool) -> Vec<Vec<u8>> {
    (1..=3)
        .map(|me| (1..=3).filter(|o| loop_on || *o != me).collect())
        .collect()
}

/// Who heard whom: "h1 heard h1 h2 h3; h2 heard ...".
fn who_heard(heard: &[Vec<u8>]) -> String {
    heard
        .iter()
        .enumerate()
        .map(|(i, from)| {
            let from: Vec<String> = from.iter().map(|h| format!("h{h}")).collect();
            format!(
                "h{} heard {}",
                i + 1,
                if from.is_empty() {
                    "nobody".into()
                } else {
                    from.join(" ")
                }
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Observation for Chat {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (all, others) = (everyone(true), everyone(false));
        j.expect(
            "loop on: everyone sees all three",
            self.heard_with_loop == all,
            who_heard(&all),
            who_heard(&self.heard_with_loop),
        );
        j.expect(
            "loop off: everyone sees the other two",
            self.heard_without_loop == others,
            who_heard(&others),
            who_heard(&self.heard_without_loop),
        );
        j.expect(
            "every member hears every bye (nothing said earlier is still coming)",
            self.byes_heard == [3, 3, 3],
            "3 byes each",
            format!("{} byes", listed(&self.byes_heard)),
        );
        let counts = |heard: &[Vec<u8>]| listed(&heard.iter().map(Vec::len).collect::<Vec<_>>());
        j.verdict(
            Verdict::holds_if(self.heard_with_loop == all),
            format!(
                "with the loopback {}; with IP_MULTICAST_LOOP 0 {}",
                who_heard(&self.heard_with_loop),
                who_heard(&self.heard_without_loop)
            ),
        );
        j.key(format!(
            "members heard {} lines with the loopback, {} without",
            counts(&self.heard_with_loop),
            counts(&self.heard_without_loop)
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn s(t: &str) -> Option<String> {
        Some(t.into())
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|t| t.to_string()).collect()
    }

    fn ip(a: &str) -> Ipv4Addr {
        a.parse().expect("an IPv4 address")
    }

    /// The sentinel as it arrives.
    fn came() -> Option<String> {
        s(SENTINEL)
    }

    fn outcome(o: &impl Observation) -> (Option<Verdict>, Vec<String>) {
        let j = o.judge();
        (
            j.verdict,
            j.failed().into_iter().map(String::from).collect(),
        )
    }

    fn expect(verdict: Verdict, failed: &[&str]) -> (Option<Verdict>, Vec<String>) {
        (Some(verdict), v(failed))
    }

    const SENTINEL_H2: &str = "a later datagram reaches h2 (nothing earlier is still coming)";

    fn joins(results: [&str; 4]) -> ClassDOnly {
        let groups = [
            "239.10.1.1",
            "198.51.100.200",
            "240.0.0.1",
            "255.255.255.255",
        ];
        ClassDOnly {
            joins: groups
                .iter()
                .zip(results)
                .map(|(g, r)| Join {
                    group: ip(g),
                    result: r.into(),
                })
                .collect(),
        }
    }

    #[rstest]
    #[case::linux(joins(["ok", "EINVAL", "EINVAL", "EINVAL"]), Verdict::Holds, &[])]
    // A stack that joins whatever it is given.
    #[case::any_address(joins(["ok"; 4]), Verdict::Refuted, &["non-class-D addresses"])]
    #[case::one_unicast_accepted(joins(["ok", "ok", "EINVAL", "EINVAL"]), Verdict::Refuted,
        &["non-class-D addresses"])]
    #[case::class_d_refused(joins(["ENODEV", "EINVAL", "EINVAL", "EINVAL"]), Verdict::Refuted,
        &["class D group"])]
    // Refused, but with another errno: the claim holds, the expectation not.
    #[case::other_errno(joins(["ok", "EADDRNOTAVAIL", "EINVAL", "EINVAL"]), Verdict::Holds,
        &["non-class-D addresses"])]
    #[case::nothing_tried(ClassDOnly { joins: vec![] }, Verdict::Holds,
        &["class D group", "non-class-D addresses"])]
    fn class_d_only_judgement(
        #[case] o: ClassDOnly,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn class_d_only_words() {
        let j = joins(["ok", "EINVAL", "EINVAL", "EINVAL"]).judge();
        assert_eq!(
            "joins 239.10.1.1; refuses 198.51.100.200 EINVAL, 240.0.0.1 EINVAL, 255.255.255.255 EINVAL",
            j.key
        );
        assert_eq!(
            "IP_ADD_MEMBERSHIP: 239.10.1.1 ok, 198.51.100.200 EINVAL, 240.0.0.1 EINVAL, \
             255.255.255.255 EINVAL",
            j.because
        );
        assert_eq!(
            "joins nothing; refuses nothing",
            ClassDOnly { joins: vec![] }.judge().key
        );
    }

    fn join_receive_linux() -> JoinReceive {
        JoinReceive {
            group: ip("239.10.2.1"),
            port: 40_002,
            h2_received: s(DATAGRAM),
        }
    }

    #[rstest]
    #[case::linux(join_receive_linux(), Verdict::Holds, &[])]
    #[case::nothing(JoinReceive { h2_received: None, ..join_receive_linux() }, Verdict::Refuted,
        &["the member on h2 receives"])]
    #[case::another_datagram(JoinReceive { h2_received: s("stray"), ..join_receive_linux() },
        Verdict::Holds, &["the member on h2 receives"])]
    fn join_receive_judgement(
        #[case] o: JoinReceive,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn join_receive_words() {
        let j = join_receive_linux().judge();
        assert_eq!("h2 received the datagram", j.key);
        assert_eq!(
            "h1 sent to 239.10.2.1:40002; the member on h2 received the datagram",
            j.because
        );
        let j = JoinReceive {
            h2_received: None,
            ..join_receive_linux()
        }
        .judge();
        assert_eq!("h2 received nothing", j.key);
    }

    fn sender_linux() -> SenderNeedsNoJoin {
        SenderNeedsNoJoin {
            group: ip("239.10.3.1"),
            sender_groups: vec![ip("224.0.0.1")],
            h2_received: s(DATAGRAM),
        }
    }

    #[rstest]
    #[case::linux(sender_linux(), Verdict::Holds, &[])]
    #[case::sender_joined(SenderNeedsNoJoin {
        sender_groups: vec![ip("224.0.0.1"), ip("239.10.3.1")], ..sender_linux() },
        Verdict::Refuted, &["the sender is not a member"])]
    #[case::nothing(SenderNeedsNoJoin { h2_received: None, ..sender_linux() }, Verdict::Refuted,
        &["the member receives"])]
    #[case::another_datagram(SenderNeedsNoJoin { h2_received: s("stray"), ..sender_linux() },
        Verdict::Holds, &["the member receives"])]
    fn sender_needs_no_join_judgement(
        #[case] o: SenderNeedsNoJoin,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn sender_needs_no_join_words() {
        let j = sender_linux().judge();
        assert_eq!("non-member h1 sent, h2 received the datagram", j.key);
        assert_eq!(
            "h1 (groups on eth0: 224.0.0.1) sent to 239.10.3.1; the member on h2 received the datagram",
            j.because
        );
        let check = &j.checks[0];
        assert_eq!(
            ("239.10.3.1 not among h1's groups", "224.0.0.1"),
            (check.expected.as_str(), check.observed.as_str())
        );
    }

    fn nonmember_linux() -> NonmemberNoReceive {
        NonmemberNoReceive {
            group: ip("239.10.4.1"),
            h2_member_received: s(DATAGRAM),
            at_h3_interface: true,
            h3_socket_received: vec![],
            sentinel_at_h3: came(),
        }
    }

    const SENTINEL_H3: &str = "a later datagram reaches h3 (nothing earlier is still coming)";

    #[rstest]
    #[case::linux(nonmember_linux(), Verdict::Holds, &[])]
    // A host that hands group traffic to every socket on the port.
    #[case::delivered_anyway(NonmemberNoReceive { h3_socket_received: v(&[DATAGRAM]),
        ..nonmember_linux() }, Verdict::Refuted, &["the non-member's socket receives nothing"])]
    // A snooping switch keeps the frame off h3's link: the claim still holds.
    #[case::snooping_switch(NonmemberNoReceive { at_h3_interface: false, ..nonmember_linux() },
        Verdict::Holds, &["the frame reaches the non-member's interface"])]
    #[case::member_missed_it(NonmemberNoReceive { h2_member_received: None, ..nonmember_linux() },
        Verdict::Holds, &["the member receives"])]
    #[case::no_sentinel(NonmemberNoReceive { sentinel_at_h3: None, ..nonmember_linux() },
        Verdict::Holds, &[SENTINEL_H3])]
    #[case::stray_sentinel(NonmemberNoReceive { sentinel_at_h3: s("stray"), ..nonmember_linux() },
        Verdict::Holds, &[SENTINEL_H3])]
    fn nonmember_judgement(
        #[case] o: NonmemberNoReceive,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn nonmember_words() {
        let j = nonmember_linux().judge();
        assert_eq!(
            "member h2 received the datagram; non-member h3: frame at its interface, its socket \
             received nothing",
            j.key
        );
        assert_eq!(
            "the datagram to 239.10.4.1 reached h3's interface; the member h2 received the datagram, \
             h3's socket on the port nothing",
            j.because
        );
        let j = NonmemberNoReceive {
            at_h3_interface: false,
            h3_socket_received: v(&["a", "b"]),
            ..nonmember_linux()
        }
        .judge();
        assert_eq!(
            "member h2 received the datagram; non-member h3: frame not at its interface, its socket \
             received a, b",
            j.key
        );
        assert!(j.because.contains("never reached h3's interface"));
        let sentinel = |got: Option<String>| -> (String, String) {
            let j = NonmemberNoReceive {
                sentinel_at_h3: got,
                ..nonmember_linux()
            }
            .judge();
            let c = j.checks.last().expect("the sentinel's check").clone();
            (c.expected, c.observed)
        };
        assert_eq!(("it arrives".into(), "it arrived".into()), sentinel(came()));
        assert_eq!(
            ("it arrives".into(), "it never came".into()),
            sentinel(None)
        );
        assert_eq!(
            ("it arrives".into(), "stray instead".into()),
            sentinel(s("stray"))
        );
    }

    fn drop_linux() -> DropMembership {
        DropMembership {
            h2_before_drop: s(FIRST),
            drop_result: "ok".into(),
            h3_after_drop: s(SECOND),
            h2_after_drop: vec![],
            sentinel_at_h2: came(),
        }
    }

    #[rstest]
    #[case::linux(drop_linux(), Verdict::Holds, &[])]
    // A stack that ignores the drop.
    #[case::still_receiving(DropMembership { h2_after_drop: v(&[SECOND]), ..drop_linux() },
        Verdict::Refuted, &["nothing after the drop"])]
    #[case::never_received(DropMembership { h2_before_drop: None, ..drop_linux() }, Verdict::Refuted,
        &["received before the drop"])]
    #[case::drop_refused(DropMembership { drop_result: "EADDRNOTAVAIL".into(), ..drop_linux() },
        Verdict::Holds, &["IP_DROP_MEMBERSHIP"])]
    #[case::h3_missed_it(DropMembership { h3_after_drop: None, ..drop_linux() }, Verdict::Holds,
        &["h3, still a member, gets the second"])]
    #[case::no_sentinel(DropMembership { sentinel_at_h2: None, ..drop_linux() }, Verdict::Holds,
        &[SENTINEL_H2])]
    fn drop_membership_judgement(
        #[case] o: DropMembership,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn drop_membership_words() {
        let j = drop_linux().judge();
        assert_eq!(
            "h2 received datagram 1 before the drop, nothing after",
            j.key
        );
        assert_eq!(
            "h2 received datagram 1 before IP_DROP_MEMBERSHIP (ok) and nothing after it; h3, still a \
             member, received datagram 2",
            j.because
        );
    }

    fn loop_linux() -> LoopDefault {
        LoopDefault {
            loop_default: 1,
            own_with_loop_1: s(FIRST),
            h2_with_loop_1: s(FIRST),
            h2_with_loop_0: s(SECOND),
            own_with_loop_0: vec![],
            sentinel_at_h1: came(),
        }
    }

    #[rstest]
    #[case::linux(loop_linux(), Verdict::Holds, &[])]
    // A stack that never loops multicast back.
    #[case::no_loopback(LoopDefault { loop_default: 0, own_with_loop_1: None, ..loop_linux() },
        Verdict::Refuted, &["IP_MULTICAST_LOOP default", "own datagram looped back by default"])]
    #[case::reads_0_yet_loops(LoopDefault { loop_default: 0, ..loop_linux() }, Verdict::Refuted,
        &["IP_MULTICAST_LOOP default"])]
    #[case::reads_1_yet_no_copy(LoopDefault { own_with_loop_1: None, ..loop_linux() },
        Verdict::Refuted, &["own datagram looped back by default"])]
    // A libc that ignores IP_MULTICAST_LOOP 0.
    #[case::loop_0_ignored(LoopDefault { own_with_loop_0: v(&[SECOND]), ..loop_linux() },
        Verdict::Refuted, &["no own datagram with loop 0"])]
    #[case::h2_missed_one(LoopDefault { h2_with_loop_0: None, ..loop_linux() }, Verdict::Holds,
        &["h2 receives with loop 1 and with loop 0"])]
    #[case::no_sentinel(LoopDefault { sentinel_at_h1: None, ..loop_linux() }, Verdict::Holds,
        &["a later datagram reaches h1 through the loopback (nothing earlier is still coming)"])]
    fn loop_default_judgement(
        #[case] o: LoopDefault,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn loop_default_words() {
        let j = loop_linux().judge();
        assert_eq!(
            "default 1; own copy with loop 1: datagram 1, with 0: nothing",
            j.key
        );
        assert_eq!(
            "IP_MULTICAST_LOOP reads 1 on a new socket; with loop 1 the sender's own socket received \
             datagram 1, with loop 0 nothing; h2 received datagram 1 and datagram 2",
            j.because
        );
    }

    fn ttl_linux() -> Ttl {
        Ttl {
            ttl_default: 1,
            wire_ttl_default: Some(1),
            wire_ttl_32: Some(32),
            h2_received: 2,
        }
    }

    const WIRE: &str = "TTL on the wire: default, then after setting 32";

    #[rstest]
    #[case::linux(ttl_linux(), Verdict::Holds, &[])]
    // A libc that ignores IP_MULTICAST_TTL.
    #[case::ttl_ignored(Ttl { wire_ttl_32: Some(1), ..ttl_linux() }, Verdict::Refuted, &[WIRE])]
    // A stack whose multicast default is the unicast one: the claim holds.
    #[case::default_64(Ttl { ttl_default: 64, wire_ttl_default: Some(64), ..ttl_linux() },
        Verdict::Holds, &["IP_MULTICAST_TTL default", WIRE])]
    #[case::wire_disagrees(Ttl { wire_ttl_default: Some(2), ..ttl_linux() }, Verdict::Refuted,
        &[WIRE])]
    #[case::not_captured(Ttl { wire_ttl_default: None, wire_ttl_32: None, ..ttl_linux() },
        Verdict::Refuted, &[WIRE])]
    #[case::h2_got_one(Ttl { h2_received: 1, ..ttl_linux() }, Verdict::Holds,
        &["h2 receives both (a bridge does not count hops)"])]
    fn ttl_judgement(#[case] o: Ttl, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn ttl_words() {
        let j = ttl_linux().judge();
        assert_eq!("default 1; TTL on the wire 1, then 32", j.key);
        assert_eq!(
            "IP_MULTICAST_TTL reads 1 on a new socket; h2's link saw TTL 1 with it and TTL 32 after \
             setting 32",
            j.because
        );
        let j = Ttl {
            wire_ttl_32: None,
            ..ttl_linux()
        }
        .judge();
        assert_eq!("default 1; TTL on the wire 1, then none", j.key);
    }

    fn if_linux() -> IfSelects {
        IfSelects {
            eth1_addr: ip("203.0.113.1"),
            by_route: Route::SEGMENT_A,
            with_multicast_if: Route::SEGMENT_B,
            sentinel_at_h2: came(),
            sentinel_at_h4: came(),
        }
    }

    const IF_CHECK: &str = "IP_MULTICAST_IF=eth1's address: eth1 only, h4 receives";

    #[rstest]
    #[case::linux(if_linux(), Verdict::Holds, &[])]
    // A libc that ignores IP_MULTICAST_IF: the route still decides.
    #[case::if_ignored(IfSelects { with_multicast_if: Route::SEGMENT_A, ..if_linux() },
        Verdict::Refuted, &[IF_CHECK])]
    #[case::left_by_both(IfSelects { with_multicast_if: Route { left_by_eth0: true, h2_received: true,
        ..Route::SEGMENT_B }, ..if_linux() }, Verdict::Refuted, &[IF_CHECK])]
    #[case::route_by_eth1(IfSelects { by_route: Route::SEGMENT_B, ..if_linux() }, Verdict::Holds,
        &["default: eth0 only, h2 receives"])]
    #[case::no_sentinels(IfSelects { sentinel_at_h2: None, sentinel_at_h4: s("stray"), ..if_linux() },
        Verdict::Holds, &[SENTINEL_H2, "a later datagram reaches h4 (nothing earlier is still coming)"])]
    fn if_selects_judgement(
        #[case] o: IfSelects,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn if_selects_words() {
        let j = if_linux().judge();
        assert_eq!(
            "default: left by eth0 only, reached h2 only; IP_MULTICAST_IF: left by eth1 only, reached \
             h4 only",
            j.key
        );
        assert_eq!(
            "by the route the datagram left by eth0 only, reached h2 only; with IP_MULTICAST_IF \
             203.0.113.1 it left by eth1 only, reached h4 only",
            j.because
        );
        let both = Route {
            left_by_eth0: true,
            left_by_eth1: true,
            h2_received: false,
            h4_received: false,
        };
        assert_eq!("left by eth0 and eth1, reached neither", both.describe());
    }

    fn igmp(kind: u8, record: Option<u8>, to: &str) -> Option<IgmpMsg> {
        Some(IgmpMsg {
            kind,
            record,
            to: IpAddr::V4(ip(to)),
        })
    }

    fn igmp_linux() -> IgmpOnJoin {
        IgmpOnJoin {
            group: ip("239.10.9.1"),
            force_igmp_version: 0,
            on_join: igmp(0x22, Some(4), "224.0.0.22"),
            drop_result: "ok".into(),
            on_drop: igmp(0x22, Some(3), "224.0.0.22"),
        }
    }

    /// force_igmp_version=2: a v2 report to the group, a leave to all routers.
    fn igmp_v2() -> IgmpOnJoin {
        IgmpOnJoin {
            force_igmp_version: 2,
            on_join: igmp(0x16, None, "239.10.9.1"),
            on_drop: igmp(0x17, None, "224.0.0.2"),
            ..igmp_linux()
        }
    }

    const VERSION: &str = "IGMP version of the report";
    const V3_REPORT: &str = "v3 report: record CHANGE_TO_EXCLUDE (4) to 224.0.0.22";
    const V3_LEAVE: &str = "v3 leave: record CHANGE_TO_INCLUDE (3)";

    #[rstest]
    #[case::linux(igmp_linux(), Verdict::Holds, &[])]
    #[case::v2(igmp_v2(), Verdict::Holds, &[])]
    // IGMPv1 has no leave message.
    #[case::v1(IgmpOnJoin { force_igmp_version: 1, on_join: igmp(0x12, None, "239.10.9.1"),
        on_drop: None, ..igmp_linux() }, Verdict::Holds, &["a leave on drop"])]
    #[case::v2_forced_v3_sent(IgmpOnJoin { force_igmp_version: 2, ..igmp_linux() }, Verdict::Holds,
        &[VERSION])]
    #[case::v2_without_leave(IgmpOnJoin { on_drop: None, ..igmp_v2() }, Verdict::Holds,
        &["a leave on drop"])]
    // A join that sent nothing (a libc that ignores IP_ADD_MEMBERSHIP: the drop then fails).
    #[case::silent_join(IgmpOnJoin { on_join: None, on_drop: None, drop_result: "EADDRNOTAVAIL".into(),
        ..igmp_linux() }, Verdict::Refuted, &[VERSION, V3_REPORT, V3_LEAVE])]
    #[case::report_to_the_group(IgmpOnJoin { on_join: igmp(0x22, Some(4), "239.10.9.1"),
        ..igmp_linux() }, Verdict::Holds, &[V3_REPORT])]
    #[case::report_record_2(IgmpOnJoin { on_join: igmp(0x22, Some(2), "224.0.0.22"), ..igmp_linux() },
        Verdict::Holds, &[V3_REPORT])]
    #[case::leave_blocks_sources(IgmpOnJoin { on_drop: igmp(0x22, Some(6), "224.0.0.22"),
        ..igmp_linux() }, Verdict::Holds, &[V3_LEAVE])]
    #[case::unknown_kind(IgmpOnJoin { on_join: igmp(0x11, None, "224.0.0.1"), ..igmp_linux() },
        Verdict::Holds, &[VERSION, V3_REPORT])]
    fn igmp_judgement(#[case] o: IgmpOnJoin, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn igmp_words() {
        let j = igmp_linux().judge();
        assert_eq!(
            "join: IGMPv3 report to 224.0.0.22, record CHANGE_TO_EXCLUDE; drop: IGMPv3 report to \
             224.0.0.22, record CHANGE_TO_INCLUDE",
            j.key
        );
        assert_eq!(
            "joining 239.10.9.1 sent IGMPv3 report to 224.0.0.22, record CHANGE_TO_EXCLUDE; dropping it \
             (ok) sent IGMPv3 report to 224.0.0.22, record CHANGE_TO_INCLUDE (force_igmp_version 0)",
            j.because
        );
        assert_eq!(
            "join: IGMPv2 report to 239.10.9.1; drop: IGMPv2 leave to 224.0.0.2",
            igmp_v2().judge().key
        );
        let version = &igmp_v2().judge().checks[0];
        assert_eq!(
            ("IGMPv2", "IGMPv2"),
            (version.expected.as_str(), version.observed.as_str())
        );
        let silent = IgmpOnJoin {
            on_join: None,
            ..igmp_linux()
        }
        .judge();
        assert_eq!("no report", silent.checks[0].observed);
        assert!(silent.key.starts_with("join: nothing; "));
        assert_eq!(
            "IGMPv0 query to 224.0.0.1",
            igmp(0x11, None, "224.0.0.1")
                .map(|m| m.describe())
                .unwrap_or_default()
        );
        assert_eq!(
            "IGMPv1 report to 239.10.9.1",
            igmp(0x12, None, "239.10.9.1")
                .map(|m| m.describe())
                .unwrap_or_default()
        );
        let names: Vec<String> = (1..=7).map(record_name).collect();
        assert_eq!(
            v(&[
                "MODE_IS_INCLUDE",
                "MODE_IS_EXCLUDE",
                "CHANGE_TO_INCLUDE",
                "CHANGE_TO_EXCLUDE",
                "ALLOW_NEW_SOURCES",
                "BLOCK_OLD_SOURCES",
                "type 7"
            ]),
            names
        );
    }

    const SHARED: &str = "01:00:5e:01:02:03";

    fn mac_linux() -> MacMapping {
        MacMapping {
            sent: MAC_GROUPS
                .iter()
                .map(|g| MacOnWire {
                    group: *g,
                    mac: s(SHARED),
                })
                .collect(),
            member_received: v(&["239.1.2.3"]),
            sentinel_at_h2: came(),
        }
    }

    fn macs(m: [&str; 3]) -> Vec<MacOnWire> {
        MAC_GROUPS
            .iter()
            .zip(m)
            .map(|(g, m)| MacOnWire {
                group: *g,
                mac: (!m.is_empty()).then(|| m.to_string()),
            })
            .collect()
    }

    const MAPPED: &str = "captured MAC = 01:00:5e + low 23 bits of the group";
    const SHARED_CHECK: &str = "all three share one MAC";
    const ONLY_ITS_OWN: &str = "the member of 239.1.2.3 receives only its group's datagram";

    #[rstest]
    #[case::linux(mac_linux(), Verdict::Differs, &[])]
    // The claim's world: 24 bits of the group after 01:00:5e.
    #[case::twenty_four_bits(MacMapping { sent: macs([SHARED, "01:00:5e:81:02:03", SHARED]),
        ..mac_linux() }, Verdict::Refuted, &[MAPPED, SHARED_CHECK])]
    #[case::not_captured(MacMapping { sent: macs([SHARED, "", SHARED]), ..mac_linux() },
        Verdict::Refuted, &[MAPPED, SHARED_CHECK])]
    // A host that filters by MAC only.
    #[case::no_ip_filter(MacMapping { member_received: v(&["239.1.2.3", "239.129.2.3", "224.1.2.3"]),
        ..mac_linux() }, Verdict::Differs, &[ONLY_ITS_OWN])]
    #[case::two_groups(MacMapping { sent: macs([SHARED, SHARED, SHARED])[..2].to_vec(), ..mac_linux() },
        Verdict::Differs, &[SHARED_CHECK])]
    #[case::nothing_sent(MacMapping { sent: vec![], ..mac_linux() }, Verdict::Refuted,
        &[MAPPED, SHARED_CHECK])]
    #[case::no_sentinel(MacMapping { sentinel_at_h2: None, ..mac_linux() }, Verdict::Differs,
        &[SENTINEL_H2])]
    fn mac_mapping_judgement(
        #[case] o: MacMapping,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn mac_mapping_words() {
        let j = mac_linux().judge();
        assert_eq!(
            "01:00:5e:01:02:03 for all of 239.1.2.3, 239.129.2.3, 224.1.2.3",
            j.key
        );
        assert_eq!(
            "239.1.2.3 to 01:00:5e:01:02:03, 239.129.2.3 to 01:00:5e:01:02:03, 224.1.2.3 to \
             01:00:5e:01:02:03: only the low 23 of the group's 28 bits reach the MAC (not 24, and not \
             the whole address), so 32 groups share each MAC and the host's IP layer tells them apart; \
             the member of 239.1.2.3 received the datagram to 239.1.2.3",
            j.because
        );
        let j = MacMapping {
            sent: macs([SHARED, "", "01:00:5e:81:02:03"]),
            member_received: vec![],
            ..mac_linux()
        }
        .judge();
        assert_eq!(
            "01:00:5e:01:02:03, none, 01:00:5e:81:02:03 for all of 239.1.2.3, 239.129.2.3, 224.1.2.3",
            j.key
        );
        assert!(j.because.ends_with("received nothing"));
    }

    fn reuse_linux() -> ReuseaddrReceivers {
        ReuseaddrReceivers {
            second_bind_without: "EADDRINUSE".into(),
            first_received: v(&ONE_TWO),
            second_received: v(&ONE_TWO),
            sentinel_at_h2: came(),
        }
    }

    const BOTH: &str = "with it both receive every datagram";

    #[rstest]
    #[case::linux(reuse_linux(), Verdict::Holds, &[])]
    #[case::bind_allowed(ReuseaddrReceivers { second_bind_without: "ok".into(), ..reuse_linux() },
        Verdict::Holds, &["second bind of group:port without SO_REUSEADDR"])]
    // Shared out like unicast SO_REUSEPORT: each socket gets some.
    #[case::shared_out(ReuseaddrReceivers { first_received: v(&[FIRST]), second_received: v(&[SECOND]),
        ..reuse_linux() }, Verdict::Refuted, &[BOTH])]
    #[case::first_only(ReuseaddrReceivers { second_received: vec![], ..reuse_linux() },
        Verdict::Refuted, &[BOTH])]
    #[case::second_only(ReuseaddrReceivers { first_received: vec![], ..reuse_linux() },
        Verdict::Refuted, &[BOTH])]
    #[case::no_sentinel(ReuseaddrReceivers { sentinel_at_h2: None, ..reuse_linux() }, Verdict::Holds,
        &[SENTINEL_H2])]
    fn reuseaddr_judgement(
        #[case] o: ReuseaddrReceivers,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn reuseaddr_words() {
        let j = reuse_linux().judge();
        assert_eq!(
            "without SO_REUSEADDR: EADDRINUSE; with: each received datagram 1, datagram 2",
            j.key
        );
        assert_eq!(
            "without SO_REUSEADDR the second bind failed with EADDRINUSE; with it two sockets bound the \
             group's address and port and received datagram 1, datagram 2, and datagram 1, datagram 2",
            j.because
        );
        let j = ReuseaddrReceivers {
            second_received: vec![],
            ..reuse_linux()
        }
        .judge();
        assert_eq!(
            "without SO_REUSEADDR: EADDRINUSE; with: one received datagram 1, datagram 2, the other \
             nothing",
            j.key
        );
        assert_eq!(
            "datagram 1, datagram 2 on the first, nothing on the second",
            j.checks[1].observed
        );
    }

    fn bind_linux() -> BindGroupAddr {
        BindGroupAddr {
            group1: ip("239.10.12.1"),
            group2: ip("239.10.12.2"),
            group_bound_received: v(&["239.10.12.1"]),
            any_bound_received: v(&["239.10.12.1", "239.10.12.2"]),
            sentinel_at_h2: came(),
        }
    }

    const GROUP_BOUND: &str = "bound to group 1: gets group 1 only (though it joined both)";

    #[rstest]
    #[case::linux(bind_linux(), Verdict::Holds, &[])]
    // A stack that does not filter by the bound address.
    #[case::gets_both(BindGroupAddr { group_bound_received: v(&["239.10.12.1", "239.10.12.2"]),
        ..bind_linux() }, Verdict::Refuted, &[GROUP_BOUND])]
    #[case::gets_nothing(BindGroupAddr { group_bound_received: vec![], ..bind_linux() },
        Verdict::Refuted, &[GROUP_BOUND])]
    #[case::gets_the_other(BindGroupAddr { group_bound_received: v(&["239.10.12.2"]), ..bind_linux() },
        Verdict::Refuted, &[GROUP_BOUND])]
    #[case::any_misses_one(BindGroupAddr { any_bound_received: v(&["239.10.12.1"]), ..bind_linux() },
        Verdict::Holds, &["bound to INADDR_ANY: gets both"])]
    #[case::no_sentinel(BindGroupAddr { sentinel_at_h2: None, ..bind_linux() }, Verdict::Holds,
        &[SENTINEL_H2])]
    fn bind_group_addr_judgement(
        #[case] o: BindGroupAddr,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn bind_group_addr_words() {
        let j = bind_linux().judge();
        assert_eq!(
            "bound to 239.10.12.1: the datagram to 239.10.12.1; bound to 0.0.0.0: the datagrams to \
             239.10.12.1, 239.10.12.2",
            j.key
        );
        assert_eq!(
            "the socket bound to 239.10.12.1 (a member of 239.10.12.1 and 239.10.12.2) received the \
             datagram to 239.10.12.1; the one bound to 0.0.0.0 received the datagrams to 239.10.12.1, \
             239.10.12.2",
            j.because
        );
        let j = BindGroupAddr {
            group_bound_received: vec![],
            ..bind_linux()
        }
        .judge();
        assert!(j.key.starts_with("bound to 239.10.12.1: nothing;"));
    }

    fn all_linux() -> MulticastAll {
        MulticastAll {
            multicast_all_default: 1,
            joined_received: s(DATAGRAM),
            unjoined_received: v(&[DATAGRAM]),
            unjoined_multicast_all_0_received: vec![],
            sentinel_at_h2: came(),
        }
    }

    const DEFAULT_ALL: &str = "IP_MULTICAST_ALL default";
    const UNJOINED: &str = "an unjoined socket on the port receives too (MULTICAST_ALL 1)";

    #[rstest]
    #[case::linux(all_linux(), Verdict::Refuted, &[])]
    // The claim's world: only members get the group's datagrams.
    #[case::members_only(MulticastAll { multicast_all_default: 0, unjoined_received: vec![],
        ..all_linux() }, Verdict::Holds, &[DEFAULT_ALL, UNJOINED])]
    // A libc that ignores IP_MULTICAST_ALL 0.
    #[case::all_0_ignored(MulticastAll { unjoined_multicast_all_0_received: v(&[DATAGRAM]),
        ..all_linux() }, Verdict::Refuted, &["with IP_MULTICAST_ALL=0 it does not"])]
    #[case::joined_missed_it(MulticastAll { joined_received: None, ..all_linux() }, Verdict::Refuted,
        &["the joined socket receives"])]
    #[case::no_sentinel(MulticastAll { sentinel_at_h2: None, ..all_linux() }, Verdict::Refuted,
        &[SENTINEL_H2])]
    fn multicast_all_judgement(
        #[case] o: MulticastAll,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn multicast_all_words() {
        let j = all_linux().judge();
        assert_eq!(
            "unjoined socket received the datagram; with IP_MULTICAST_ALL 0 nothing",
            j.key
        );
        assert_eq!(
            "IP_MULTICAST_ALL reads 1 on a new socket; the joined socket received the datagram, an \
             unjoined one on the same port the datagram, an unjoined one with IP_MULTICAST_ALL 0 nothing",
            j.because
        );
    }

    fn chat_linux() -> Chat {
        Chat {
            heard_with_loop: vec![vec![1, 2, 3]; 3],
            heard_without_loop: vec![vec![2, 3], vec![1, 3], vec![1, 2]],
            byes_heard: vec![3, 3, 3],
        }
    }

    const LOOP_ON: &str = "loop on: everyone sees all three";
    const LOOP_OFF: &str = "loop off: everyone sees the other two";

    #[rstest]
    #[case::linux(chat_linux(), Verdict::Holds, &[])]
    // A libc that ignores IP_MULTICAST_LOOP 0.
    #[case::loop_0_ignored(Chat { heard_without_loop: vec![vec![1, 2, 3]; 3], ..chat_linux() },
        Verdict::Holds, &[LOOP_OFF])]
    // A stack that never loops back: nobody hears themselves.
    #[case::no_loopback(Chat { heard_with_loop: chat_linux().heard_without_loop, ..chat_linux() },
        Verdict::Refuted, &[LOOP_ON])]
    #[case::a_line_lost(Chat { heard_with_loop: vec![vec![1, 2, 3], vec![1, 3], vec![1, 2, 3]],
        ..chat_linux() }, Verdict::Refuted, &[LOOP_ON])]
    #[case::a_bye_missing(Chat { byes_heard: vec![3, 2, 3], ..chat_linux() }, Verdict::Holds,
        &["every member hears every bye (nothing said earlier is still coming)"])]
    fn chat_judgement(#[case] o: Chat, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn chat_words_and_lines() {
        let j = chat_linux().judge();
        assert_eq!(
            "members heard 3, 3, 3 lines with the loopback, 2, 2, 2 without",
            j.key
        );
        assert_eq!(
            "with the loopback h1 heard h1 h2 h3; h2 heard h1 h2 h3; h3 heard h1 h2 h3; with \
             IP_MULTICAST_LOOP 0 h1 heard h2 h3; h2 heard h1 h3; h3 heard h1 h2",
            j.because
        );
        assert_eq!(
            "h1 heard nobody; h2 heard h2",
            who_heard(&[vec![], vec![2]])
        );
        assert_eq!("3 byes each", j.checks[2].expected);
        assert_eq!("3, 3, 3 byes", j.checks[2].observed);
        assert_eq!(
            vec![
                Some((2, 1)),
                Some((3, 2)),
                Some((1, 3)),
                None,
                None,
                None,
                None
            ],
            [
                chat_line(2, 1),
                chat_line(3, 2),
                chat_line(1, 3),
                "h1 says bye".into(),
                "x1 bye".into(),
                "h1 says hi (x)".into(),
                "h1".into(),
            ]
            .iter()
            .map(|l| parse_chat(l))
            .collect::<Vec<_>>()
        );
    }

    #[test]
    fn lists_and_groups_read_as_words() {
        assert_eq!("nothing", listed::<u8>(&[]));
        assert_eq!("1, 2", listed(&[1, 2]));
        assert_eq!("nothing", datagrams_to(&[]));
        assert_eq!("nothing", said(&None));
        assert_eq!(v(&["a", "b"]), dedup(&v(&["a", "b", "a", "b"])));
        assert_eq!(ip("239.10.7.250"), sentinel_group(7));
    }
}
