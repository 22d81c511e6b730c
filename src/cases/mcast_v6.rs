//! IPv6 groups: what the man pages of IPV6_ADD_MEMBERSHIP,
//! IPV6_DROP_MEMBERSHIP, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_IF and
//! IPV6_MULTICAST_LOOP state (man-pages 6.20), judged on the LAN of
//! lab::bridge with IPv6 on the same interfaces (`Lan::build_v6`: segment A
//! 2001:db8:a::/64, segment B 2001:db8:b::/64, ff00::/8 out of eth0).
//!
//! Case N (41-46) uses groups ff0e::N:x, ports 410N0-410N9, sentinels
//! ff0e::N:250 on ports 420N0-420N9 (lab::mcast); MLDv2 records are judged
//! as the IGMPv3 ones are in mcast_sources.rs.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::mcast_groups::{listed, port, said, sentinel_check, sentinel_port};
use crate::lab::bridge::{Lan, Station};
use crate::lab::mcast::{
    index_in, ipv6_mreq, joined_groups_v6, member, queued, record_name, recv_within, toggle_loop,
    udp_bound, udp_in, udp_text, wait_record, wait_record_until, GroupRecord, Sentinel, FIRST,
    SECOND, WAIT,
};
use crate::lab::opt;
use crate::lab::sock::result_name;
use crate::lab::{Capture, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Skip, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &ADD_JOINS,
    &DROP_LEAVES,
    &HOPS_MINUS_ONE,
    &IF_BY_INDEX,
    &LOOP_LOCAL_SOCKETS,
    &LOOP_BOOLEAN,
];

pub static ADD_JOINS: Case = Case {
    id: "ipv6_add_membership.joins",
    source: Source::ManPage("man-pages 6.20 IPV6_ADD_MEMBERSHIP(2const)"),
    claim: "IPV6_ADD_MEMBERSHIP joins a group (the page sends the reader to IP_ADD_MULTICAST(2const), \
            which does not exist; IP_ADD_MEMBERSHIP's page gives EINVAL for a group that is not \
            multicast)",
    expectation: "h2 joins by interface index: an MLDv2 report with a CHANGE_TO_EXCLUDE record and no \
                  sources leaves, /proc/net/igmp6 lists the group and h3's datagram to it arrives; a \
                  unicast group: EINVAL; the same group again: EADDRINUSE; interface index 999: ENODEV; \
                  a TCP socket: EPROTO",
    run: &Measure(add_joins),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_ADD_MEMBERSHIP],
};

pub static DROP_LEAVES: Case = Case {
    id: "ipv6_drop_membership.leaves",
    source: Source::ManPage("man-pages 6.20 IPV6_DROP_MEMBERSHIP(2const)"),
    claim: "IPV6_DROP_MEMBERSHIP leaves a group",
    expectation: "after the drop an MLDv2 CHANGE_TO_INCLUDE record with no sources leaves, \
                  /proc/net/igmp6 no longer lists the group and the socket receives no more of its \
                  datagrams; dropping it again fails with EADDRNOTAVAIL",
    run: &Measure(drop_leaves),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_DROP_MEMBERSHIP],
};

pub static HOPS_MINUS_ONE: Case = Case {
    id: "ipv6_multicast_hops.minus_one",
    source: Source::ManPage("man-pages 6.20 IPV6_MULTICAST_HOPS(2const)"),
    claim: "IPV6_MULTICAST_HOPS sets the multicast hop limit; -1 means the route's default, and other \
            values lie in 0-255",
    expectation: "it reads 1 on a new socket and datagrams leave with hop limit 1; 5 and 255 leave with \
                  5 and 255; -1 gives back 1, the option's own default, not the route's 64 (what \
                  IPV6_UNICAST_HOPS reads on a socket connected along it); 0 never reaches the wire but is looped back to a member on the sending \
                  host; 256 and -2 fail with EINVAL",
    run: &Measure(hops_minus_one),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_MULTICAST_HOPS],
};

pub static IF_BY_INDEX: Case = Case {
    id: "ipv6_multicast_if.by_index",
    source: Source::ManPage("man-pages 6.20 IPV6_MULTICAST_IF(2const)"),
    claim: "IPV6_MULTICAST_IF sets the interface outgoing multicast leaves by, given as an interface \
            index; only datagram and raw sockets may set it",
    expectation: "without it h1 sends by its ff00::/8 route (eth0); with eth1's index the datagram leaves \
                  by eth1 only and reaches h4 only, with eth0's by eth0 to h2; getsockopt reads the index; \
                  index 999: ENODEV; a TCP socket: ENOPROTOOPT",
    run: &Measure(if_by_index),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_MULTICAST_IF],
};

pub static LOOP_LOCAL_SOCKETS: Case = Case {
    id: "ipv6_multicast_loop.local_sockets",
    source: Source::ManPage("man-pages 6.20 IPV6_MULTICAST_LOOP(2const)"),
    claim: "IPV6_MULTICAST_LOOP controls whether the socket sees the multicast it sent itself",
    expectation: "it reads 1 on a new socket: the sender, a member, gets its own datagram, and so does \
                  another member on its host; with 0 neither does (the loopback copy is not made at all), \
                  while h2 still does",
    run: &Measure(loop_local_sockets),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_MULTICAST_LOOP],
};

pub static LOOP_BOOLEAN: Case = Case {
    id: "ipv6_multicast_loop.boolean_flag",
    source: Source::ManPage("man-pages 6.20 IPPROTO_IPV6(2const) IPV6_MULTICAST_LOOP"),
    claim: "a boolean IPv6 option is false when zero and true otherwise",
    expectation: "IPV6_MULTICAST_LOOP takes 0 and 1 only: 2 and -1 fail with EINVAL (IPv4's \
                  IP_MULTICAST_LOOP takes 2 as true)",
    run: &Measure(loop_boolean),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_MULTICAST_LOOP],
};

/// Group x of case N: ff0e::N:x, N written as its decimal digits.
fn group(case: u8, x: u16) -> Ipv6Addr {
    let n = u16::from_str_radix(&case.to_string(), 16).unwrap_or(0);
    Ipv6Addr::new(0xff0e, 0, 0, 0, 0, 0, n, x)
}

fn to(g: Ipv6Addr, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V6(g), port)
}

/// The LAN with IPv6, h1 and the hosts `others` (lab::bridge), with this
/// thread kept on one CPU from now on
/// (lab::mcast); a skip where the kernel has no IPv6.
fn lan(lab: &mut Lab, others: &[usize]) -> Result<Lan> {
    if !std::path::Path::new("/proc/sys/net/ipv6").exists() {
        return Err(Skip::missing("IPv6", "/proc/sys/net/ipv6 does not exist").into());
    }
    let lan = Lan::build_v6(lab, others)?;
    crate::lab::pin_thread()?;
    Ok(lan)
}

fn member_on(st: &Station, ifname: &str, g: Ipv6Addr, port: u16) -> Result<Sock> {
    member(&st.host, ifname, IpAddr::V6(g), port)
}

fn sentinel_on(st: &Station, ifname: &str, case: u8, k: u16) -> Result<Sentinel> {
    Sentinel::on(
        &st.host,
        ifname,
        IpAddr::V6(group(case, 0x250)),
        sentinel_port(case, k),
    )
}

fn set(s: &Sock, option: i32, value: &[u8]) -> String {
    result_name(&s.set_raw(libc::IPPROTO_IPV6, option, value))
}

fn set_int(s: &Sock, option: i32, value: i32) -> String {
    result_name(&s.set_int(libc::IPPROTO_IPV6, option, value))
}

/// A record as a report writes it.
fn record_text(r: &Option<GroupRecord>) -> String {
    match r {
        None => "no record".into(),
        Some(r) if r.sources.is_empty() => format!("{} with no sources", record_name(r.kind)),
        Some(r) => format!("{} {}", record_name(r.kind), listed(&r.sources)),
    }
}

/// Whether `r` is a record of `kind` for `group` with no sources.
fn is_record(r: &Option<GroupRecord>, kind: u8, group: Ipv6Addr) -> bool {
    r.as_ref()
        .is_some_and(|r| r.kind == kind && r.group == IpAddr::V6(group) && r.sources.is_empty())
}

const TO_INCLUDE: u8 = 3;
const TO_EXCLUDE: u8 = 4;
const DATAGRAM: &str = "the datagram";

// ---------------------------------------------------------------------------
// ipv6_add_membership.joins

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddJoins {
    pub group: Ipv6Addr,
    /// IPV6_ADD_MEMBERSHIP on h2's eth0 by index; the first record for the
    /// group that followed; /proc/net/igmp6 lists it; h3's datagram.
    pub join: String,
    pub record: Option<GroupRecord>,
    pub listed: bool,
    pub received: Option<String>,
    /// 2001:db8:a::99 as the group; the same group again; index 999; a TCP
    /// socket.
    pub unicast_group: String,
    pub again: String,
    pub no_such_index: String,
    pub tcp_socket: String,
}

fn add_joins(lab: &mut Lab) -> Result<AddJoins> {
    const N: u8 = 41;
    let lan = lan(lab, &[2, 3])?;
    let h2 = lan.h(2);
    let (g, p) = (group(N, 1), port(N, 0));
    let eth0 = index_in(&h2.host, "eth0")?;
    let rx = udp_bound(&h2.host, to(Ipv6Addr::UNSPECIFIED, p))?;
    let mut cap = h2.host.run(|| Capture::start("eth0"))??;
    let join = set(&rx, libc::IPV6_ADD_MEMBERSHIP, &ipv6_mreq(g, eth0));
    let record = wait_record(&mut cap, 0, |r| r.group == IpAddr::V6(g))?;
    let listed = h2.host.run(|| joined_groups_v6("eth0"))??.contains(&g);
    udp_in(&lan.h(3).host, Family::V6)?.send_to(DATAGRAM.as_bytes(), 0, to(g, p))?;
    let received = recv_within(&rx, WAIT)?;
    let tcp = h2.host.run(|| Sock::tcp(Family::V6))??;
    let unicast: Ipv6Addr = "2001:db8:a::99".parse()?;
    Ok(AddJoins {
        group: g,
        join,
        record,
        listed,
        received,
        unicast_group: set(&rx, libc::IPV6_ADD_MEMBERSHIP, &ipv6_mreq(unicast, eth0)),
        again: set(&rx, libc::IPV6_ADD_MEMBERSHIP, &ipv6_mreq(g, eth0)),
        no_such_index: set(&rx, libc::IPV6_ADD_MEMBERSHIP, &ipv6_mreq(group(N, 2), 999)),
        tcp_socket: set(
            &tcp,
            libc::IPV6_ADD_MEMBERSHIP,
            &ipv6_mreq(group(N, 3), eth0),
        ),
    })
}

impl Observation for AddJoins {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("IPV6_ADD_MEMBERSHIP by index", "ok", self.join.as_str());
        j.expect(
            "the join announces the group",
            is_record(&self.record, TO_EXCLUDE, self.group),
            format!("{} with no sources", record_name(TO_EXCLUDE)),
            record_text(&self.record),
        );
        j.expect_eq("/proc/net/igmp6 lists it", &true, &self.listed);
        j.expect_eq(
            "h3's datagram arrives",
            &Some(DATAGRAM),
            &self.received.as_deref(),
        );
        j.expect_eq(
            "a unicast group, the same group again, index 999, a TCP socket",
            &["EINVAL", "EADDRINUSE", "ENODEV", "EPROTO"],
            &[
                self.unicast_group.as_str(),
                self.again.as_str(),
                self.no_such_index.as_str(),
                self.tcp_socket.as_str(),
            ],
        );
        j.verdict(
            Verdict::holds_if(self.join == "ok" && self.received.is_some()),
            format!(
                "joining {} gave {}, {}, and h2 received {}; a unicast group gave {}, the same group \
                 again {}, index 999 {}, a TCP socket {}",
                self.group,
                self.join,
                record_text(&self.record),
                said(&self.received),
                self.unicast_group,
                self.again,
                self.no_such_index,
                self.tcp_socket
            ),
        );
        j.key(format!(
            "join {}: {}; received {}",
            self.join,
            record_text(&self.record),
            said(&self.received)
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// ipv6_drop_membership.leaves

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DropLeaves {
    pub before_drop: Option<String>,
    pub drop_result: String,
    /// The first record for the group after the drop.
    pub record: Option<GroupRecord>,
    /// /proc/net/igmp6 still lists the group after the drop.
    pub listed_after_drop: bool,
    /// Everything the socket had after the drop once the sentinel came.
    pub after_drop: Vec<String>,
    pub sentinel_at_h2: Option<String>,
    pub drop_again: String,
}

/// The case number of ipv6_drop_membership.leaves: its group is ff0e::42:1.
const DROP_CASE: u8 = 42;

fn drop_leaves(lab: &mut Lab) -> Result<DropLeaves> {
    const N: u8 = DROP_CASE;
    let lan = lan(lab, &[2, 3])?;
    let h2 = lan.h(2);
    let (g, p) = (group(N, 1), port(N, 0));
    let rx = member_on(h2, "eth0", g, p)?;
    let sentinel = sentinel_on(h2, "eth0", N, 0)?;
    let mut cap = h2.host.run(|| Capture::start("eth0"))??;
    let tx = udp_in(&lan.h(3).host, Family::V6)?;
    tx.send_to(FIRST.as_bytes(), 0, to(g, p))?;
    // In before the drop, or the drop could overtake it.
    let before_drop = recv_within(&rx, WAIT)?;
    let seen = cap.count()?;
    let mreq = ipv6_mreq(g, index_in(&h2.host, "eth0")?);
    let drop_result = set(&rx, libc::IPV6_DROP_MEMBERSHIP, &mreq);
    // A repeat of the join's own report (MLDv2 sends each change twice, up
    // to a second apart) can leave just as the drop is made: the leave's
    // record is the one of its kind; failing that, the first record for
    // the group shows what was announced instead.
    let record = match wait_record(&mut cap, seen, |r| {
        r.group == IpAddr::V6(g) && r.kind == TO_INCLUDE
    })? {
        Some(r) => Some(r),
        None => wait_record_until(&mut cap, seen, std::time::Instant::now(), |r| {
            r.group == IpAddr::V6(g)
        })?,
    };
    let listed_after_drop = h2.host.run(|| joined_groups_v6("eth0"))??.contains(&g);
    tx.send_to(SECOND.as_bytes(), 0, to(g, p))?;
    let sentinel_at_h2 = sentinel.follows(&tx)?;
    Ok(DropLeaves {
        before_drop,
        drop_result,
        record,
        listed_after_drop,
        after_drop: queued(&rx),
        sentinel_at_h2,
        drop_again: set(&rx, libc::IPV6_DROP_MEMBERSHIP, &mreq),
    })
}

impl Observation for DropLeaves {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "received before the drop",
            &Some(FIRST),
            &self.before_drop.as_deref(),
        );
        j.expect_eq("IPV6_DROP_MEMBERSHIP", "ok", self.drop_result.as_str());
        j.expect(
            "the drop announces the leave",
            is_record(&self.record, TO_INCLUDE, group(DROP_CASE, 1)),
            format!("{} with no sources", record_name(TO_INCLUDE)),
            record_text(&self.record),
        );
        j.expect_eq(
            "/proc/net/igmp6 lists the group after the drop",
            &false,
            &self.listed_after_drop,
        );
        j.expect(
            "nothing after the drop",
            self.after_drop.is_empty(),
            "nothing",
            listed(&self.after_drop),
        );
        sentinel_check(&mut j, "h2", std::slice::from_ref(&self.sentinel_at_h2));
        j.expect_eq(
            "dropping it again",
            "EADDRNOTAVAIL",
            self.drop_again.as_str(),
        );
        let left =
            self.drop_result == "ok" && !self.listed_after_drop && self.after_drop.is_empty();
        j.verdict(
            Verdict::holds_if(self.before_drop.is_some() && left),
            format!(
                "h2 received {} before IPV6_DROP_MEMBERSHIP ({}, {}), the group was {} in /proc/net/igmp6 \
                 and the socket received {} after it; dropping again gave {}",
                said(&self.before_drop),
                self.drop_result,
                record_text(&self.record),
                if self.listed_after_drop { "still listed" } else { "gone" },
                listed(&self.after_drop),
                self.drop_again
            ),
        );
        j.key(format!(
            "drop {}; after it received {}; again {}",
            self.drop_result,
            listed(&self.after_drop),
            self.drop_again
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// ipv6_multicast_hops.minus_one

/// Datagrams from h1 with IPV6_MULTICAST_HOPS as it came, then 5, -1, 0 and
/// 255, captured leaving h1; members on h1 (loop on) and h2; and the
/// route's default hop limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HopsMinusOne {
    /// IPV6_MULTICAST_HOPS on a new socket, and after setting -1.
    pub default: i32,
    pub after_minus_one: i32,
    /// setsockopt results for 5, -1, 0, 255.
    pub set_results: Vec<String>,
    /// The hop limit each datagram left h1 with: default, 5, -1, 0, 255
    /// (none: never on the wire, known once the 255 one was).
    pub wire: Vec<Option<u8>>,
    /// The route's default hop limit: IPV6_UNICAST_HOPS of a socket that set
    /// none, connected to h2 (ip6_dst_hoplimit of its route).
    pub route_default: Option<u8>,
    pub h2_received: Vec<String>,
    pub local_received: Vec<String>,
    pub set_256: String,
    pub set_minus_2: String,
}

const HOPS_SENDS: [(&str, Option<i32>); 5] = [
    ("hops default", None),
    ("hops 5", Some(5)),
    ("hops -1", Some(-1)),
    ("hops 0", Some(0)),
    ("hops 255", Some(255)),
];

fn hops_minus_one(lab: &mut Lab) -> Result<HopsMinusOne> {
    const N: u8 = 43;
    let lan = lan(lab, &[2])?;
    let (h1, h2) = (lan.h(1), lan.h(2));
    let (g, p) = (group(N, 1), port(N, 0));
    let remote = member_on(h2, "eth0", g, p)?;
    let local = member_on(h1, "eth0", g, p)?;
    let mut cap = h1.host.run(|| Capture::start("eth0"))??;
    let tx = udp_in(&h1.host, Family::V6)?;
    let hops = |s: &Sock| s.get_int(libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS);
    let default = hops(&tx)?;
    let mut set_results = Vec::new();
    let mut after_minus_one = 0;
    for (text, value) in HOPS_SENDS {
        if let Some(v) = value {
            set_results.push(set_int(&tx, libc::IPV6_MULTICAST_HOPS, v));
            if v == -1 {
                after_minus_one = hops(&tx)?;
            }
        }
        tx.send_to(text.as_bytes(), 0, to(g, p))?;
    }
    // The last datagram follows the others on every path (lab::mcast).
    let last = HOPS_SENDS[HOPS_SENDS.len() - 1].0;
    let until_last = |s: &Sock| -> Result<Vec<String>> {
        let mut got = Vec::new();
        while let Some(t) = recv_within(s, WAIT)? {
            got.push(t.clone());
            if t == last {
                break;
            }
        }
        Ok(got)
    };
    let h2_received = until_last(&remote)?;
    let local_received = until_last(&local)?;
    // The route's hop limit as the kernel hands it to a socket that set
    // none. Read, not sent: a unicast datagram would wait for neighbour
    // discovery, which a loaded machine holds up beyond any short deadline.
    let unicast = SocketAddr::new(IpAddr::V6(h2.nic().addr6()), port(N, 1));
    let probe = udp_in(&h1.host, Family::V6)?;
    probe
        .connect(unicast)
        .with_context(|| format!("connect to {unicast}"))?;
    let route_default = probe
        .get_int(libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS)
        .ok()
        .and_then(|h| u8::try_from(h).ok());
    let frames = cap.frames()?;
    let wire = HOPS_SENDS
        .iter()
        .map(|(text, _)| {
            frames
                .iter()
                .find(|f| udp_text(f).as_deref() == Some(*text))
                .and_then(|f| f.ip())
                .map(|h| h.ttl)
        })
        .collect();
    Ok(HopsMinusOne {
        default,
        after_minus_one,
        set_results,
        wire,
        route_default,
        h2_received,
        local_received,
        set_256: set_int(&tx, libc::IPV6_MULTICAST_HOPS, 256),
        set_minus_2: set_int(&tx, libc::IPV6_MULTICAST_HOPS, -2),
    })
}

fn hop_text(h: &Option<u8>) -> String {
    h.map_or("none".into(), |h| h.to_string())
}

impl Observation for HopsMinusOne {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let labels: Vec<String> = HOPS_SENDS.iter().map(|(t, _)| t.to_string()).collect();
        j.expect_eq("IPV6_MULTICAST_HOPS default", &1, &self.default);
        j.expect_eq(
            "setting 5, -1, 0, 255",
            &vec!["ok".to_string(); 4],
            &self.set_results,
        );
        j.expect_eq("reads after -1", &1, &self.after_minus_one);
        j.expect_eq(
            "hop limit on the wire: default, 5, -1, 0, 255",
            &vec![Some(1u8), Some(5), Some(1), None, Some(255)],
            &self.wire,
        );
        j.expect_eq(
            "the route's default (unicast)",
            &Some(64u8),
            &self.route_default,
        );
        let mut not_zero = labels.clone();
        not_zero.remove(3);
        j.expect_eq(
            "h2 receives all but the hop limit 0 one",
            &not_zero,
            &self.h2_received,
        );
        j.expect_eq(
            "h1's own member receives all five, hop limit 0 too",
            &labels,
            &self.local_received,
        );
        j.expect_eq(
            "256 and -2",
            &["EINVAL", "EINVAL"],
            &[self.set_256.as_str(), self.set_minus_2.as_str()],
        );
        let minus_one = self.wire.get(2).copied().flatten();
        let default_wire = self.wire.first().copied().flatten();
        let verdict = if minus_one.is_some() && minus_one == self.route_default {
            Verdict::Holds
        } else if minus_one.is_some() && minus_one == default_wire {
            Verdict::Differs
        } else {
            Verdict::Refuted
        };
        j.verdict(
            verdict,
            format!(
                "after -1 the option read {} and multicast left with hop limit {}, as with the default \
                 ({}), while the route's default (IPV6_UNICAST_HOPS on a socket connected along it) is {}; hop limits on the wire \
                 for default, 5, -1, 0, 255: {}",
                self.after_minus_one,
                hop_text(&minus_one),
                hop_text(&default_wire),
                hop_text(&self.route_default),
                listed(&self.wire.iter().map(hop_text).collect::<Vec<_>>())
            ),
        );
        j.key(format!(
            "-1 sends with {}; the route's default is {}",
            hop_text(&minus_one),
            hop_text(&self.route_default)
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// ipv6_multicast_if.by_index

/// One socket on h1 and the interface it sent by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexSend {
    /// The interface named by index (or "none": the route).
    pub given: String,
    pub result: String,
    /// getsockopt(IPV6_MULTICAST_IF) afterwards, and the index given.
    pub reads: i32,
    pub index: i32,
    /// The interfaces of h1 its datagram was captured leaving by.
    pub left_by: Vec<String>,
    /// The members that received it (h2 on segment A, h4 on segment B).
    pub reached: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IfByIndex {
    /// The route's socket, then eth1's index, then eth0's.
    pub sends: Vec<IndexSend>,
    pub no_such_index: String,
    pub tcp_socket: String,
    /// Sentinels at h2 (by eth0) and h4 (by eth1).
    pub sentinels: Vec<Option<String>>,
}

const NONE: &str = "none";

fn if_by_index(lab: &mut Lab) -> Result<IfByIndex> {
    const N: u8 = 44;
    let lan = lan(lab, &[2, 4])?;
    let (h1, h2, h4) = (lan.h(1), lan.h(2), lan.h(4));
    let (g, p) = (group(N, 1), port(N, 0));
    let at_a = member_on(h2, "eth0", g, p)?;
    let at_b = member_on(h4, "eth0", g, p)?;
    let sentinel_a = sentinel_on(h2, "eth0", N, 0)?;
    let sentinel_b = sentinel_on(h4, "eth0", N, 1)?;
    let mut caps = [
        h1.host.run(|| Capture::start("eth0"))??,
        h1.host.run(|| Capture::start("eth1"))??,
    ];
    let mut socks = Vec::new();
    let mut sends = Vec::new();
    for given in [NONE, "eth1", "eth0"] {
        let s = udp_in(&h1.host, Family::V6)?;
        let (index, result) = if given == NONE {
            (0, "ok".to_string())
        } else {
            let i = index_in(&h1.host, given)?;
            (i, set_int(&s, libc::IPV6_MULTICAST_IF, i))
        };
        let reads = s.get_int(libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_IF)?;
        s.send_to(given.as_bytes(), 0, to(g, p))?;
        sends.push(IndexSend {
            given: given.into(),
            result,
            reads,
            index,
            left_by: Vec::new(),
            reached: Vec::new(),
        });
        socks.push(s);
    }
    let sentinels = vec![
        sentinel_a.follows(&socks[2])?,
        sentinel_b.follows(&socks[1])?,
    ];
    let (got_a, got_b) = (queued(&at_a), queued(&at_b));
    for send in &mut sends {
        for (cap, ifname) in caps.iter_mut().zip(["eth0", "eth1"]) {
            if cap
                .frames()?
                .iter()
                .any(|f| udp_text(f).as_deref() == Some(send.given.as_str()))
            {
                send.left_by.push(ifname.into());
            }
        }
        for (got, host) in [(&got_a, "h2"), (&got_b, "h4")] {
            if got.contains(&send.given) {
                send.reached.push(host.into());
            }
        }
    }
    let tcp = h1.host.run(|| Sock::tcp(Family::V6))??;
    Ok(IfByIndex {
        no_such_index: set_int(&socks[0], libc::IPV6_MULTICAST_IF, 999),
        tcp_socket: set_int(&tcp, libc::IPV6_MULTICAST_IF, sends[1].index),
        sends,
        sentinels,
    })
}

impl IndexSend {
    fn describe(&self) -> String {
        format!(
            "{}: {}, reads {}, left by {}, reached {}",
            self.given,
            self.result,
            self.reads,
            listed(&self.left_by),
            listed(&self.reached)
        )
    }

    fn went(&self, iface: &str, host: &str) -> bool {
        self.left_by == [iface] && self.reached == [host]
    }
}

impl Observation for IfByIndex {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let find = |given: &str| self.sends.iter().find(|s| s.given == given);
        let went = |given: &str, iface: &str, host: &str| {
            find(given).is_some_and(|s| s.result == "ok" && s.went(iface, host))
        };
        let text = |given: &str| find(given).map_or("nothing sent".into(), IndexSend::describe);
        j.expect(
            "without it: by eth0 to h2",
            went(NONE, "eth0", "h2"),
            "left by eth0, reached h2",
            text(NONE),
        );
        j.expect(
            "eth1's index: by eth1 to h4 only",
            went("eth1", "eth1", "h4"),
            "ok, left by eth1, reached h4",
            text("eth1"),
        );
        j.expect(
            "eth0's index: by eth0 to h2 only",
            went("eth0", "eth0", "h2"),
            "ok, left by eth0, reached h2",
            text("eth0"),
        );
        j.expect(
            "getsockopt reads the index given",
            self.sends.len() == 3 && self.sends.iter().all(|s| s.reads == s.index),
            "0, eth1's index, eth0's index",
            listed(&self.sends.iter().map(|s| s.reads).collect::<Vec<_>>()),
        );
        j.expect_eq(
            "index 999, a TCP socket",
            &["ENODEV", "ENOPROTOOPT"],
            &[self.no_such_index.as_str(), self.tcp_socket.as_str()],
        );
        sentinel_check(&mut j, "h2 and h4", &self.sentinels);
        let selects = went("eth1", "eth1", "h4") && went("eth0", "eth0", "h2");
        let verdict = if !selects {
            Verdict::Refuted
        } else if self.tcp_socket != "ok" {
            Verdict::Holds
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "{}; index 999 gave {}; on a TCP socket {}",
                listed(
                    &self
                        .sends
                        .iter()
                        .map(IndexSend::describe)
                        .collect::<Vec<_>>()
                ),
                self.no_such_index,
                self.tcp_socket
            ),
        );
        j.key(format!(
            "eth1's index: left by {}; TCP socket {}",
            find("eth1").map_or("nothing".into(), |s| listed(&s.left_by)),
            self.tcp_socket
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// ipv6_multicast_loop.local_sockets

/// A sender on h1 that is a member itself, another member on h1, and a
/// member on h2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoopLocal {
    /// IPV6_MULTICAST_LOOP on a new socket.
    pub default: i32,
    /// With the loop as it came: what the sender itself, the other member on
    /// h1 and h2 received.
    pub own_with_1: Option<String>,
    pub other_with_1: Option<String>,
    pub h2_with_1: Option<String>,
    /// With 0: h2's, and what the sender and the other member had once the
    /// sentinel (looped back with 1) came.
    pub h2_with_0: Option<String>,
    pub own_with_0: Vec<String>,
    pub other_with_0: Vec<String>,
    pub sentinel_at_h1: Option<String>,
}

fn loop_local_sockets(lab: &mut Lab) -> Result<LoopLocal> {
    const N: u8 = 45;
    let lan = lan(lab, &[2])?;
    let (h1, h2) = (lan.h(1), lan.h(2));
    let (g, p) = (group(N, 1), port(N, 0));
    let own = member_on(h1, "eth0", g, p)?;
    let other = member_on(h1, "eth0", g, p)?;
    let remote = member_on(h2, "eth0", g, p)?;
    let sentinel = sentinel_on(h1, "eth0", N, 0)?;
    let run = toggle_loop(
        Family::V6,
        &own,
        to(g, p),
        [&own, &other],
        &remote,
        &sentinel,
    )?;
    let ([own_with_1, other_with_1], [own_with_0, other_with_0]) =
        (run.local_with_1, run.local_with_0);
    Ok(LoopLocal {
        default: run.default,
        own_with_1,
        other_with_1,
        h2_with_1: run.remote_with_1,
        h2_with_0: run.remote_with_0,
        own_with_0,
        other_with_0,
        sentinel_at_h1: run.sentinel,
    })
}

impl Observation for LoopLocal {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("IPV6_MULTICAST_LOOP default", &1, &self.default);
        j.expect_eq(
            "with 1: the sender and the other member on h1 get it",
            &[Some(FIRST), Some(FIRST)],
            &[self.own_with_1.as_deref(), self.other_with_1.as_deref()],
        );
        j.expect(
            "with 0: the sender does not",
            self.own_with_0.is_empty(),
            "nothing",
            listed(&self.own_with_0),
        );
        j.expect(
            "with 0: nor does the other member on h1",
            self.other_with_0.is_empty(),
            "nothing",
            listed(&self.other_with_0),
        );
        j.expect_eq(
            "h2 gets both",
            &[Some(FIRST), Some(SECOND)],
            &[self.h2_with_1.as_deref(), self.h2_with_0.as_deref()],
        );
        sentinel_check(
            &mut j,
            "h1 through the loopback",
            std::slice::from_ref(&self.sentinel_at_h1),
        );
        let verdict = if self.own_with_1.is_none() || !self.own_with_0.is_empty() {
            Verdict::Refuted
        } else if self.other_with_0.is_empty() {
            Verdict::Differs
        } else {
            Verdict::Holds
        };
        j.verdict(
            verdict,
            format!(
                "IPV6_MULTICAST_LOOP reads {}; with 1 the sender received {} and another member on its \
                 host {}; with 0 the sender received {} and the other member {}{}; h2 received {} and {}",
                self.default,
                said(&self.own_with_1),
                said(&self.other_with_1),
                listed(&self.own_with_0),
                listed(&self.other_with_0),
                if verdict == Verdict::Differs {
                    ": the option decides for every socket on the host, not for the sender alone"
                } else {
                    ""
                },
                said(&self.h2_with_1),
                said(&self.h2_with_0)
            ),
        );
        j.key(format!(
            "with 0: sender got {}, other local member {}",
            listed(&self.own_with_0),
            listed(&self.other_with_0)
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// ipv6_multicast_loop.boolean_flag

/// setsockopt values on an IPv6 UDP socket of the case's namespace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoopBoolean {
    /// IPV6_MULTICAST_LOOP with 1, 0, 2, -1.
    pub ipv6: Vec<String>,
    /// IP_MULTICAST_LOOP with 2 on an IPv4 socket, and what it reads then.
    pub ipv4_two: String,
    pub ipv4_reads: i32,
}

const LOOP_VALUES: [i32; 4] = [1, 0, 2, -1];

fn loop_boolean(_lab: &mut Lab) -> Result<LoopBoolean> {
    let s = Sock::udp(Family::V6)?;
    let v4 = Sock::udp(Family::V4)?;
    let ipv4_two = result_name(&v4.set_int(libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, 2));
    Ok(LoopBoolean {
        ipv6: LOOP_VALUES
            .iter()
            .map(|v| set_int(&s, libc::IPV6_MULTICAST_LOOP, *v))
            .collect(),
        ipv4_two,
        ipv4_reads: v4.get_int(libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP)?,
    })
}

impl Observation for LoopBoolean {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "IPV6_MULTICAST_LOOP 1, 0, 2, -1",
            &vec!["ok", "ok", "EINVAL", "EINVAL"],
            &self.ipv6.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        j.expect_eq(
            "IP_MULTICAST_LOOP 2 on IPv4, and what it reads",
            &("ok".to_string(), 1),
            &(self.ipv4_two.clone(), self.ipv4_reads),
        );
        let nonzero: Vec<&String> = self
            .ipv6
            .iter()
            .zip(LOOP_VALUES)
            .filter(|(_, v)| *v != 0)
            .map(|(r, _)| r)
            .collect();
        j.verdict(
            Verdict::holds_if(!nonzero.is_empty() && nonzero.iter().all(|r| *r == "ok")),
            format!(
                "IPV6_MULTICAST_LOOP with 1, 0, 2, -1 gave {}; IPv4's IP_MULTICAST_LOOP took 2 ({}) and \
                 read {}",
                listed(&self.ipv6),
                self.ipv4_two,
                self.ipv4_reads
            ),
        );
        j.key(format!(
            "IPV6_MULTICAST_LOOP 1, 0, 2, -1: {}",
            listed(&self.ipv6)
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;
    use serde_json::json;

    /// An observation from its JSON report form (as `sockspec run --format
    /// json` printed it on Linux 6.18), changed by `change`.
    fn from<T: serde::de::DeserializeOwned>(
        v: serde_json::Value,
        change: impl FnOnce(&mut T),
    ) -> T {
        let mut o: T = serde_json::from_value(v).unwrap();
        change(&mut o);
        o
    }

    fn outcome(j: &Judgement) -> (Option<Verdict>, Vec<&str>) {
        (j.verdict, j.failed())
    }

    fn record(kind: u8, sources: &[&str]) -> Option<GroupRecord> {
        Some(GroupRecord {
            kind,
            group: "ff0e::41:1".parse().unwrap(),
            sources: sources.iter().map(|s| s.parse().unwrap()).collect(),
        })
    }

    const SENTINEL_H2: &str = "later datagrams reach h2 (nothing earlier is still coming)";

    fn joins(change: impl FnOnce(&mut AddJoins)) -> AddJoins {
        from(
            json!({"again": "EADDRINUSE", "group": "ff0e::41:1", "join": "ok", "listed": true,
                   "no_such_index": "ENODEV", "received": "the datagram",
                   "record": {"group": "ff0e::41:1", "kind": 4, "sources": []}, "tcp_socket": "EPROTO",
                   "unicast_group": "EINVAL"}),
            change,
        )
    }

    const JOIN: &str = "IPV6_ADD_MEMBERSHIP by index";
    const ANNOUNCES: &str = "the join announces the group";
    const LISTS: &str = "/proc/net/igmp6 lists it";
    const ARRIVES: &str = "h3's datagram arrives";
    const ERRORS: &str = "a unicast group, the same group again, index 999, a TCP socket";

    #[rstest]
    #[case::linux(joins(|_| ()), Verdict::Holds, &[])]
    // A stack without the option: nothing joined, nothing announced, nothing received.
    #[case::ignored(joins(|o| {
        o.join = "ENOPROTOOPT".into(); o.record = None; o.listed = false; o.received = None;
    }), Verdict::Refuted, &[JOIN, ANNOUNCES, LISTS, ARRIVES])]
    #[case::joined_yet_deaf(joins(|o| o.received = None), Verdict::Refuted, &[ARRIVES])]
    #[case::refused_yet_hears(joins(|o| o.join = "EINVAL".into()), Verdict::Refuted, &[JOIN])]
    #[case::leave_record(joins(|o| o.record = record(TO_INCLUDE, &[])), Verdict::Holds, &[ANNOUNCES])]
    #[case::with_sources(joins(|o| o.record = record(TO_EXCLUDE, &["2001:db8:a::13"])), Verdict::Holds, &[ANNOUNCES])]
    // The record of another group (the sentinels', say) says nothing of this join.
    #[case::another_group(joins(|o| o.record.as_mut().unwrap().group = "ff0e::41:250".parse().unwrap()),
        Verdict::Holds, &[ANNOUNCES])]
    #[case::unlisted(joins(|o| o.listed = false), Verdict::Holds, &[LISTS])]
    #[case::something_else(joins(|o| o.received = Some("another".into())), Verdict::Holds, &[ARRIVES])]
    #[case::unicast_taken(joins(|o| o.unicast_group = "ok".into()), Verdict::Holds, &[ERRORS])]
    #[case::twice_taken(joins(|o| o.again = "ok".into()), Verdict::Holds, &[ERRORS])]
    #[case::index_taken(joins(|o| o.no_such_index = "ok".into()), Verdict::Holds, &[ERRORS])]
    #[case::tcp_taken(joins(|o| o.tcp_socket = "ok".into()), Verdict::Holds, &[ERRORS])]
    fn joins_judgement(#[case] o: AddJoins, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn joins_say_the_record() {
        let j = joins(|_| ()).judge();
        assert_eq!(
            "join ok: CHANGE_TO_EXCLUDE with no sources; received the datagram",
            j.key
        );
        assert_eq!(
            "joining ff0e::41:1 gave ok, CHANGE_TO_EXCLUDE with no sources, and h2 received the datagram; \
             a unicast group gave EINVAL, the same group again EADDRINUSE, index 999 ENODEV, a TCP socket \
             EPROTO",
            j.because
        );
        assert_eq!("no record", record_text(&None));
        assert_eq!(
            "CHANGE_TO_EXCLUDE 2001:db8:a::13",
            record_text(&record(TO_EXCLUDE, &["2001:db8:a::13"]))
        );
    }

    fn drop6(change: impl FnOnce(&mut DropLeaves)) -> DropLeaves {
        from(
            json!({"after_drop": [], "before_drop": "datagram 1", "drop_again": "EADDRNOTAVAIL",
                   "drop_result": "ok", "listed_after_drop": false,
                   "record": {"group": "ff0e::42:1", "kind": 3, "sources": []}, "sentinel_at_h2": "sentinel"}),
            change,
        )
    }

    const DROP: &str = "IPV6_DROP_MEMBERSHIP";
    const LEAVE: &str = "the drop announces the leave";
    const LISTED: &str = "/proc/net/igmp6 lists the group after the drop";
    const AFTER: &str = "nothing after the drop";

    #[rstest]
    #[case::linux(drop6(|_| ()), Verdict::Holds, &[])]
    // A stack that ignores the drop: the membership stays.
    #[case::ignored(drop6(|o| {
        o.record = None; o.listed_after_drop = true; o.after_drop = vec![SECOND.into()]; o.drop_again = "ok".into();
    }), Verdict::Refuted, &[LEAVE, LISTED, AFTER, "dropping it again"])]
    #[case::nothing_before(drop6(|o| o.before_drop = None), Verdict::Refuted, &["received before the drop"])]
    #[case::drop_fails(drop6(|o| o.drop_result = "EINVAL".into()), Verdict::Refuted, &[DROP])]
    #[case::still_listed(drop6(|o| o.listed_after_drop = true), Verdict::Refuted, &[LISTED])]
    #[case::still_receives(drop6(|o| o.after_drop = vec![SECOND.into()]), Verdict::Refuted, &[AFTER])]
    #[case::wrong_record(drop6(|o| o.record = record(TO_EXCLUDE, &[])), Verdict::Holds, &[LEAVE])]
    #[case::another_group(drop6(|o| o.record.as_mut().unwrap().group = "ff0e::42:250".parse().unwrap()),
        Verdict::Holds, &[LEAVE])]
    #[case::sentinel_lost(drop6(|o| o.sentinel_at_h2 = None), Verdict::Holds, &[SENTINEL_H2])]
    fn drop_judgement(#[case] o: DropLeaves, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn drop_says_what_left() {
        let j = drop6(|_| ()).judge();
        assert_eq!(
            "drop ok; after it received nothing; again EADDRNOTAVAIL",
            j.key
        );
        assert_eq!(
            "h2 received datagram 1 before IPV6_DROP_MEMBERSHIP (ok, CHANGE_TO_INCLUDE with no sources), \
             the group was gone in /proc/net/igmp6 and the socket received nothing after it; dropping \
             again gave EADDRNOTAVAIL",
            j.because
        );
        let kept = drop6(|o| o.listed_after_drop = true).judge();
        assert!(kept
            .because
            .contains("the group was still listed in /proc/net/igmp6"));
    }

    fn hops(change: impl FnOnce(&mut HopsMinusOne)) -> HopsMinusOne {
        from(
            json!({"after_minus_one": 1, "default": 1,
                   "h2_received": ["hops default", "hops 5", "hops -1", "hops 255"],
                   "local_received": ["hops default", "hops 5", "hops -1", "hops 0", "hops 255"],
                   "route_default": 64, "set_256": "EINVAL", "set_minus_2": "EINVAL",
                   "set_results": ["ok", "ok", "ok", "ok"], "wire": [1, 5, 1, null, 255]}),
            change,
        )
    }

    const WIRE: &str = "hop limit on the wire: default, 5, -1, 0, 255";
    const READS: &str = "reads after -1";

    #[rstest]
    #[case::linux(hops(|_| ()), Verdict::Differs, &[])]
    // The page's world: -1 takes the route's hop limit.
    #[case::page(hops(|o| { o.after_minus_one = 64; o.wire[2] = Some(64); }), Verdict::Holds, &[READS, WIRE])]
    // -1 taken but the value before it kept.
    #[case::kept_five(hops(|o| { o.after_minus_one = 5; o.wire[2] = Some(5); }), Verdict::Refuted, &[READS, WIRE])]
    #[case::never_sent(hops(|o| o.wire[2] = None), Verdict::Refuted, &[WIRE])]
    #[case::default_unseen(hops(|o| o.wire[0] = None), Verdict::Refuted, &[WIRE])]
    // The route's default is the option's: -1 gives both.
    #[case::route_of_one(hops(|o| o.route_default = Some(1)), Verdict::Holds, &["the route's default (unicast)"])]
    #[case::no_unicast_seen(hops(|o| o.route_default = None), Verdict::Differs, &["the route's default (unicast)"])]
    #[case::default_64(hops(|o| o.default = 64), Verdict::Differs, &["IPV6_MULTICAST_HOPS default"])]
    #[case::refused(hops(|o| o.set_results[1] = "EINVAL".into()), Verdict::Differs, &["setting 5, -1, 0, 255"])]
    #[case::zero_reaches_h2(hops(|o| o.h2_received.insert(3, "hops 0".into())), Verdict::Differs,
        &["h2 receives all but the hop limit 0 one"])]
    #[case::zero_not_looped(hops(|o| { o.local_received.remove(3); }), Verdict::Differs,
        &["h1's own member receives all five, hop limit 0 too"])]
    #[case::wide_taken(hops(|o| o.set_minus_2 = "ok".into()), Verdict::Differs, &["256 and -2"])]
    fn hops_judgement(#[case] o: HopsMinusOne, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn hops_say_what_left() {
        let j = hops(|_| ()).judge();
        assert_eq!("-1 sends with 1; the route's default is 64", j.key);
        assert_eq!(
            "after -1 the option read 1 and multicast left with hop limit 1, as with the default (1), while \
             the route's default (IPV6_UNICAST_HOPS on a socket connected along it) is 64; hop limits on \
             the wire for default, 5, -1, 0, 255: 1, 5, 1, none, 255",
            j.because
        );
    }

    fn by_index(change: impl FnOnce(&mut IfByIndex)) -> IfByIndex {
        from(
            json!({"no_such_index": "ENODEV", "sends": [
                {"given": "none", "index": 0, "left_by": ["eth0"], "reached": ["h2"], "reads": 0, "result": "ok"},
                {"given": "eth1", "index": 3, "left_by": ["eth1"], "reached": ["h4"], "reads": 3, "result": "ok"},
                {"given": "eth0", "index": 2, "left_by": ["eth0"], "reached": ["h2"], "reads": 2, "result": "ok"}],
              "sentinels": ["sentinel", "sentinel"], "tcp_socket": "ENOPROTOOPT"}),
            change,
        )
    }

    const ROUTE: &str = "without it: by eth0 to h2";
    const ETH1: &str = "eth1's index: by eth1 to h4 only";
    const ETH0: &str = "eth0's index: by eth0 to h2 only";
    const INDEX_READ: &str = "getsockopt reads the index given";
    const BAD: &str = "index 999, a TCP socket";

    #[rstest]
    #[case::linux(by_index(|_| ()), Verdict::Holds, &[])]
    // A stack that lets a TCP socket set it.
    #[case::tcp_taken(by_index(|o| o.tcp_socket = "ok".into()), Verdict::Differs, &[BAD])]
    // A stack that ignores the index: the route decides.
    #[case::ignored(by_index(|o| {
        let s = &mut o.sends[1];
        (s.left_by, s.reached) = (vec!["eth0".into()], vec!["h2".into()]);
    }), Verdict::Refuted, &[ETH1])]
    #[case::refused_yet_sent(by_index(|o| o.sends[2].result = "EINVAL".into()), Verdict::Refuted, &[ETH0])]
    #[case::by_both(by_index(|o| o.sends[2].left_by.push("eth1".into())), Verdict::Refuted, &[ETH0])]
    #[case::nothing_sent(by_index(|o| o.sends.clear()), Verdict::Refuted, &[ROUTE, ETH1, ETH0, INDEX_READ])]
    #[case::route_by_eth1(by_index(|o| o.sends[0].left_by = vec!["eth1".into()]), Verdict::Holds, &[ROUTE])]
    #[case::reads_zero(by_index(|o| o.sends[1].reads = 0), Verdict::Holds, &[INDEX_READ])]
    #[case::unknown_taken(by_index(|o| o.no_such_index = "ok".into()), Verdict::Holds, &[BAD])]
    #[case::sentinel_lost(by_index(|o| o.sentinels[1] = None), Verdict::Holds,
        &["later datagrams reach h2 and h4 (nothing earlier is still coming)"])]
    fn by_index_judgement(#[case] o: IfByIndex, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn by_index_says_the_interface() {
        let j = by_index(|_| ()).judge();
        assert_eq!("eth1's index: left by eth1; TCP socket ENOPROTOOPT", j.key);
        assert_eq!(
            "none: ok, reads 0, left by eth0, reached h2, eth1: ok, reads 3, left by eth1, reached h4, \
             eth0: ok, reads 2, left by eth0, reached h2; index 999 gave ENODEV; on a TCP socket ENOPROTOOPT",
            j.because
        );
        let none = by_index(|o| o.sends.clear()).judge();
        assert_eq!(
            "eth1's index: left by nothing; TCP socket ENOPROTOOPT",
            none.key
        );
    }

    fn loop6(change: impl FnOnce(&mut LoopLocal)) -> LoopLocal {
        from(
            json!({"default": 1, "h2_with_0": "datagram 2", "h2_with_1": "datagram 1", "other_with_0": [],
                   "other_with_1": "datagram 1", "own_with_0": [], "own_with_1": "datagram 1",
                   "sentinel_at_h1": "sentinel"}),
            change,
        )
    }

    const OTHER_0: &str = "with 0: nor does the other member on h1";
    const OWN_0: &str = "with 0: the sender does not";
    const WITH_1: &str = "with 1: the sender and the other member on h1 get it";

    #[rstest]
    #[case::linux(loop6(|_| ()), Verdict::Differs, &[])]
    // The page's world: 0 stops only the sender's own copy.
    #[case::page(loop6(|o| o.other_with_0 = vec![SECOND.into()]), Verdict::Holds, &[OTHER_0])]
    #[case::ignored(loop6(|o| (o.own_with_0, o.other_with_0) = (vec![SECOND.into()], vec![SECOND.into()])),
        Verdict::Refuted, &[OWN_0, OTHER_0])]
    #[case::own_still(loop6(|o| o.own_with_0 = vec![SECOND.into()]), Verdict::Refuted, &[OWN_0])]
    #[case::never_own(loop6(|o| o.own_with_1 = None), Verdict::Refuted, &[WITH_1])]
    #[case::other_never(loop6(|o| o.other_with_1 = None), Verdict::Differs, &[WITH_1])]
    #[case::default_zero(loop6(|o| o.default = 0), Verdict::Differs, &["IPV6_MULTICAST_LOOP default"])]
    #[case::h2_misses(loop6(|o| o.h2_with_1 = None), Verdict::Differs, &["h2 gets both"])]
    #[case::sentinel_lost(loop6(|o| o.sentinel_at_h1 = None), Verdict::Differs,
        &["later datagrams reach h1 through the loopback (nothing earlier is still coming)"])]
    fn loop_judgement(#[case] o: LoopLocal, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn loop_says_who_got_what() {
        let j = loop6(|_| ()).judge();
        assert_eq!(
            "with 0: sender got nothing, other local member nothing",
            j.key
        );
        assert_eq!(
            "IPV6_MULTICAST_LOOP reads 1; with 1 the sender received datagram 1 and another member on its \
             host datagram 1; with 0 the sender received nothing and the other member nothing: the option \
             decides for every socket on the host, not for the sender alone; h2 received datagram 1 and \
             datagram 2",
            j.because
        );
        let page = loop6(|o| o.other_with_0 = vec![SECOND.into()]).judge();
        assert!(page
            .because
            .contains("the other member datagram 2; h2 received"));
    }

    fn boolean(change: impl FnOnce(&mut LoopBoolean)) -> LoopBoolean {
        from(
            json!({"ipv4_reads": 1, "ipv4_two": "ok", "ipv6": ["ok", "ok", "EINVAL", "EINVAL"]}),
            change,
        )
    }

    const V6: &str = "IPV6_MULTICAST_LOOP 1, 0, 2, -1";
    const V4: &str = "IP_MULTICAST_LOOP 2 on IPv4, and what it reads";

    #[rstest]
    #[case::linux(boolean(|_| ()), Verdict::Refuted, &[])]
    // The page's world: any nonzero value is true.
    #[case::page(boolean(|o| o.ipv6 = vec!["ok".into(); 4]), Verdict::Holds, &[V6])]
    #[case::two_only(boolean(|o| o.ipv6[2] = "ok".into()), Verdict::Refuted, &[V6])]
    #[case::nothing_tried(boolean(|o| o.ipv6.clear()), Verdict::Refuted, &[V6])]
    #[case::zero_refused(boolean(|o| o.ipv6[1] = "EINVAL".into()), Verdict::Refuted, &[V6])]
    #[case::v4_refuses(boolean(|o| o.ipv4_two = "EINVAL".into()), Verdict::Refuted, &[V4])]
    #[case::v4_keeps_two(boolean(|o| o.ipv4_reads = 2), Verdict::Refuted, &[V4])]
    fn boolean_judgement(#[case] o: LoopBoolean, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn boolean_says_the_errnos() {
        let j = boolean(|_| ()).judge();
        assert_eq!(
            "IPV6_MULTICAST_LOOP 1, 0, 2, -1: ok, ok, EINVAL, EINVAL",
            j.key
        );
        assert_eq!(
            "IPV6_MULTICAST_LOOP with 1, 0, 2, -1 gave ok, ok, EINVAL, EINVAL; IPv4's IP_MULTICAST_LOOP \
             took 2 (ok) and read 1",
            j.because
        );
    }

    #[test]
    fn groups_by_case() {
        assert_eq!("ff0e::41:2".parse::<Ipv6Addr>().unwrap(), group(41, 2));
        assert_eq!("none", hop_text(&None));
    }
}
