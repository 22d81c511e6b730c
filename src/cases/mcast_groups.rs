//! What the man pages of the IPv4 group options state (man-pages 6.20:
//! IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP, IP_MULTICAST_ALL, IP_MULTICAST_IF,
//! IP_MULTICAST_LOOP, IP_MULTICAST_TTL), judged on the bridged LAN of
//! lab::bridge (h1 on segments A and B, h2 and h3 on A, h4 on B).
//!
//! Case N uses groups 239.11.N.x and ports 410N0-410N9, its sentinels group
//! 239.11.N.250 and ports 420N0-420N9, so the cases can share one LAN
//! (scripts/netns.sh) and run in parallel. A datagram that must not come is
//! waited for with a sentinel (lab::mcast). The two limit cases lower a
//! sysctl of their own namespace and join on its loopback: they need no LAN,
//! and never touch a shared one.

use std::fmt::Display;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::bridge::{joined_groups, mreq, Lan, Station};
use crate::lab::mcast::{
    index_in, member, mreqn, queued, recv_within, toggle_loop, udp_bound, udp_in, wait_record,
    wait_record_until, Sentinel, FIRST, SECOND, SENTINEL, WAIT,
};
use crate::lab::opt;
use crate::lab::packet::{Frame, Packet};
use crate::lab::sock::result_name;
use crate::lab::{procnet, Capture, Family, Lab, Sock};
use crate::model::{Case, Judgement, Measure, Observation, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[
    &ADD_STRUCT_FORMS,
    &ADD_ERRORS,
    &ADD_MAX_MEMBERSHIPS,
    &DROP_LEAVES,
    &ALL_SCOPE,
    &IF_STRUCT_FORMS,
    &LOOP_LOCAL_SOCKETS,
    &TTL_DEFAULT_AND_RANGE,
];

pub static ADD_STRUCT_FORMS: Case = Case {
    id: "ip_add_membership.struct_forms",
    source: Source::ManPage("man-pages 6.20 IP_ADD_MEMBERSHIP(2const)"),
    claim: "IP_ADD_MEMBERSHIP joins a group; it takes an ip_mreqn, and the older ip_mreq still works, \
            the kernel telling the two apart by the option's length",
    expectation: "on h1 (two interfaces) a 12-byte ip_mreqn naming eth1 by index (and eth0 by address), \
                  a 12-byte ip_mreqn naming eth1 by address and an 8-byte ip_mreq naming eth1's address \
                  each join on eth1: /proc/net/igmp lists the group there and not on eth0, an IGMPv3 report \
                  for it leaves by eth1, and h4's datagram to it is received (imr_ifindex wins over \
                  imr_address)",
    run: &Measure(add_struct_forms),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_ADD_MEMBERSHIP],
};

pub static ADD_ERRORS: Case = Case {
    id: "ip_add_membership.errors",
    source: Source::ManPage("man-pages 6.20 IP_ADD_MEMBERSHIP(2const)"),
    claim: "IP_ADD_MEMBERSHIP fails with EINVAL when the group is not a multicast address; its other \
            errors are ip(7)'s, where a nonexistent interface gives EADDRNOTAVAIL",
    expectation: "a unicast group: EINVAL; an interface index or a local address that no interface has: \
                  ENODEV (not EADDRNOTAVAIL); the same group twice on a socket: EADDRINUSE; a 4-byte \
                  option: EINVAL; a TCP socket: EPROTO",
    run: &Measure(add_errors),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_ADD_MEMBERSHIP],
};

pub static ADD_MAX_MEMBERSHIPS: Case = Case {
    id: "ip_add_membership.max_memberships",
    source: Source::ManPage("man-pages 6.20 IP_ADD_MEMBERSHIP(2const)"),
    claim: "(the page states no limit on the groups a socket joins; the ENOBUFS of ip(7), its errors, \
            means memory is short)",
    expectation: "a socket joins at most net.ipv4.igmp_max_memberships groups (20 by default, per \
                  namespace); with it lowered to 2 the third join fails with ENOBUFS, while another \
                  socket still joins that group",
    run: &Measure(add_max_memberships),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_ADD_MEMBERSHIP],
};

pub static DROP_LEAVES: Case = Case {
    id: "ip_drop_membership.leaves",
    source: Source::ManPage("man-pages 6.20 IP_DROP_MEMBERSHIP(2const)"),
    claim: "IP_DROP_MEMBERSHIP leaves a group; it takes an ip_mreqn, or the older ip_mreq, told apart by \
            the option's length",
    expectation: "a membership joined with an ip_mreqn by index is dropped with an 8-byte ip_mreq naming \
                  the interface's address: an IGMPv3 CHANGE_TO_INCLUDE record with no sources leaves, \
                  /proc/net/igmp no longer lists the group, and the socket receives no more of its \
                  datagrams; dropping it again fails with EADDRNOTAVAIL",
    run: &Measure(drop_leaves),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_DROP_MEMBERSHIP],
};

pub static ALL_SCOPE: Case = Case {
    id: "ip_multicast_all.scope",
    source: Source::ManPage("man-pages 6.20 IP_MULTICAST_ALL(2const)"),
    claim: "with IP_MULTICAST_ALL 1 (the default) a socket receives the datagrams of every group joined \
            anywhere on the system; with 0 only those of the groups it joined itself",
    expectation: "on h1, G is joined on eth1 only and G2 on eth1 by a socket with IP_MULTICAST_ALL 0; \
                  sockets on the port receive G and G2 from segment B if their IP_MULTICAST_ALL is 1, only \
                  their own groups if it is 0; G sent from segment A (arriving by eth0, where G is not \
                  joined) reaches no socket: the scope is the interface the datagram came in by",
    run: &Measure(all_scope),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_MULTICAST_ALL],
};

pub static IF_STRUCT_FORMS: Case = Case {
    id: "ip_multicast_if.struct_forms",
    source: Source::ManPage("man-pages 6.20 IP_MULTICAST_IF(2const)"),
    claim: "IP_MULTICAST_IF sets the interface multicast leaves by; setsockopt takes an ip_mreqn, an \
            ip_mreq (since Linux 3.5) or an in_addr, told apart by the length; getsockopt gives an \
            in_addr",
    expectation: "without it h1 sends by its route (eth0, segment A); a 4-byte in_addr with eth1's \
                  address, an 8-byte ip_mreq with it and a 12-byte ip_mreqn with eth1's index each send by \
                  eth1 only, from eth1's address, to h4 only; getsockopt reads eth1's address for the first \
                  two and 0.0.0.0 for the index; an address no interface has: EADDRNOTAVAIL",
    run: &Measure(if_struct_forms),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_MULTICAST_IF],
};

pub static LOOP_LOCAL_SOCKETS: Case = Case {
    id: "ip_multicast_loop.local_sockets",
    source: Source::ManPage("man-pages 6.20 IP_MULTICAST_LOOP(2const)"),
    claim: "IP_MULTICAST_LOOP is a boolean that decides whether sent multicast is looped back to the \
            local sockets (the page gives no default)",
    expectation: "it reads 1 on a new socket; with it another socket on the sending host that joined the \
                  group receives the datagram; with 0 no socket on that host does, while h2 still does",
    run: &Measure(loop_local_sockets),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_MULTICAST_LOOP],
};

pub static TTL_DEFAULT_AND_RANGE: Case = Case {
    id: "ip_multicast_ttl.default_and_range",
    source: Source::ManPage("man-pages 6.20 IP_MULTICAST_TTL(2const)"),
    claim: "IP_MULTICAST_TTL sets the TTL of outgoing multicast; the default is 1, so multicast stays on \
            the local network unless the program asks for more",
    expectation: "it reads 1 on a new socket and datagrams leave with TTL 1; -1 gives the default back \
                  (reads 1, TTL 1); 255 leaves with 255; 0 never reaches the wire but is still looped back \
                  to a member on the sending host; 256 and -2 fail with EINVAL",
    run: &Measure(ttl_default_and_range),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_MULTICAST_TTL],
};

/// Group x of case N: 239.11.N.x.
pub(crate) fn group(case: u8, x: u8) -> Ipv4Addr {
    Ipv4Addr::new(239, 11, case, x)
}

/// Port k of case N: 410N0 + k (case numbers stay below 100).
pub(crate) fn port(case: u8, k: u16) -> u16 {
    41_000 + 10 * u16::from(case) + k
}

/// The sentinels' group of case N, and their port k (see lab::mcast).
pub(crate) fn sentinel_group(case: u8) -> Ipv4Addr {
    group(case, 250)
}

pub(crate) fn sentinel_port(case: u8, k: u16) -> u16 {
    port(case, k) + 1_000
}

pub(crate) fn to(g: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(g), port)
}

/// The LAN with h1 and the hosts `others` (lab::bridge), with this thread
/// kept on one CPU from now on (lab::mcast).
pub(crate) fn lan(lab: &mut Lab, others: &[usize]) -> Result<Lan> {
    let lan = Lan::build(lab, others)?;
    crate::lab::pin_thread()?;
    Ok(lan)
}

/// A socket on `st` bound to INADDR_ANY:port that joined `g` on `ifname`.
pub(crate) fn member_on(st: &Station, ifname: &str, g: Ipv4Addr, port: u16) -> Result<Sock> {
    member(&st.host, ifname, IpAddr::V4(g), port)
}

/// A sentinel receiver on `st`'s `ifname` for case N, on its port k.
pub(crate) fn sentinel_on(st: &Station, ifname: &str, case: u8, k: u16) -> Result<Sentinel> {
    Sentinel::on(
        &st.host,
        ifname,
        IpAddr::V4(sentinel_group(case)),
        sentinel_port(case, k),
    )
}

/// Items as a sentence lists them: "a, b, c", or nothing.
pub(crate) fn listed<T: Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "nothing".into();
    }
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A received datagram as a report writes it: its text, or nothing.
pub(crate) fn said(r: &Option<String>) -> &str {
    r.as_deref().unwrap_or("nothing")
}

/// The check that every sentinel came (nothing earlier is still coming to
/// `host`).
pub(crate) fn sentinel_check(j: &mut Judgement, host: &str, got: &[Option<String>]) {
    let came = got
        .iter()
        .filter(|g| g.as_deref() == Some(SENTINEL))
        .count();
    j.expect(
        &format!("later datagrams reach {host} (nothing earlier is still coming)"),
        !got.is_empty() && came == got.len(),
        "each arrives",
        format!("{came} of {} arrived", got.len()),
    );
}

/// The UDP datagram to `port` that `f` carries, if it carries one.
pub(crate) fn udp_to(f: &Frame, port: u16) -> Option<crate::lab::packet::Datagram> {
    match f.decode() {
        Packet::Udp(d) if d.dport == port => Some(d),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// ip_add_membership.struct_forms

/// One join on h1 with one of the structures IP_ADD_MEMBERSHIP takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FormJoin {
    /// Which structure, and what it names.
    pub form: String,
    /// The option's length in bytes.
    pub bytes: usize,
    pub group: Ipv4Addr,
    /// ok, or the errno name.
    pub result: String,
    /// /proc/net/igmp lists the group for h1's eth0, for its eth1.
    pub on_eth0: bool,
    pub on_eth1: bool,
    /// The group of the IGMPv3 record waited for on h1's eth1 after the
    /// join (the join's own group if the report left by eth1), none if no
    /// record came.
    pub reported_by_eth1: Option<IpAddr>,
    /// What the joined socket received of h4's datagram to the group.
    pub received: Option<String>,
}

/// Three joins on h1, each naming eth1 another way; then h4 (segment B)
/// sends to each group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StructForms {
    pub joins: Vec<FormJoin>,
    /// The sentinel h4 sent after its datagrams, at h1's eth1.
    pub sentinel_at_h1: Option<String>,
}

fn add_struct_forms(lab: &mut Lab) -> Result<StructForms> {
    const N: u8 = 1;
    let lan = lan(lab, &[4])?;
    let (h1, h4) = (lan.h(1), lan.h(4));
    let (eth0_addr, eth1_addr) = (h1.nics[0].addr, h1.nics[1].addr);
    let eth1 = index_in(&h1.host, "eth1")?;
    let mut cap = h1.host.run(|| Capture::start("eth1"))??;
    let sentinel = sentinel_on(h1, "eth1", N, 0)?;
    let forms: [(&str, Vec<u8>); 3] = [
        (
            "ip_mreqn, eth1 by index (eth0 by address)",
            mreqn(group(N, 1), eth0_addr, eth1).to_vec(),
        ),
        (
            "ip_mreqn, eth1 by address",
            mreqn(group(N, 2), eth1_addr, 0).to_vec(),
        ),
        (
            "ip_mreq, eth1's address",
            mreq(group(N, 3), eth1_addr).to_vec(),
        ),
    ];
    let mut socks = Vec::new();
    let mut joins = Vec::new();
    for (k, (form, bytes)) in forms.iter().enumerate() {
        let g = group(N, k as u8 + 1);
        let s = udp_bound(&h1.host, to(Ipv4Addr::UNSPECIFIED, port(N, k as u16)))?;
        let result = result_name(&s.set_raw(libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, bytes));
        socks.push(s);
        joins.push(FormJoin {
            form: form.to_string(),
            bytes: bytes.len(),
            group: g,
            result,
            on_eth0: false,
            on_eth1: false,
            reported_by_eth1: None,
            received: None,
        });
    }
    let (eth0_groups, eth1_groups) = h1
        .host
        .run(|| -> Result<_> { Ok((joined_groups("eth0")?, joined_groups("eth1")?)) })??;
    let tx = udp_in(&h4.host, Family::V4)?;
    // Each join's report leaves at once: the three share one deadline.
    let deadline = Instant::now() + WAIT;
    for (k, j) in joins.iter_mut().enumerate() {
        j.on_eth0 = eth0_groups.contains(&j.group);
        j.on_eth1 = eth1_groups.contains(&j.group);
        j.reported_by_eth1 =
            wait_record_until(&mut cap, 0, deadline, |r| r.group == IpAddr::V4(j.group))?
                .map(|r| r.group);
        tx.send_to(j.form.as_bytes(), 0, to(j.group, port(N, k as u16)))?;
    }
    let sentinel_at_h1 = sentinel.follows(&tx)?;
    for (j, s) in joins.iter_mut().zip(&socks) {
        j.received = queued(s).into_iter().next();
    }
    Ok(StructForms {
        joins,
        sentinel_at_h1,
    })
}

impl FormJoin {
    fn joined_on_eth1(&self) -> bool {
        self.result == "ok" && self.on_eth1 && !self.on_eth0
    }

    fn listed_for(&self) -> &'static str {
        match (self.on_eth0, self.on_eth1) {
            (true, true) => "eth0 and eth1",
            (true, false) => "eth0",
            (false, true) => "eth1",
            (false, false) => "no interface",
        }
    }

    fn reported(&self) -> bool {
        self.reported_by_eth1 == Some(IpAddr::V4(self.group))
    }

    fn works(&self) -> bool {
        self.joined_on_eth1() && self.received.as_deref() == Some(self.form.as_str())
    }
}

impl Observation for StructForms {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let tried = self.joins.len() == 3;
        let each = |f: &dyn Fn(&FormJoin) -> String| -> String {
            listed(&self.joins.iter().map(f).collect::<Vec<_>>())
        };
        j.expect(
            "each form joins on eth1 only",
            tried && self.joins.iter().all(FormJoin::joined_on_eth1),
            "ok, listed for eth1, for each of the three",
            each(&|f| format!("{} B: {}, listed for {}", f.bytes, f.result, f.listed_for())),
        );
        j.expect(
            "an IGMPv3 report for each group leaves by eth1",
            tried && self.joins.iter().all(FormJoin::reported),
            "a report for each of the three",
            format!(
                "reports for {}",
                listed(
                    &self
                        .joins
                        .iter()
                        .filter(|f| f.reported())
                        .map(|f| f.group)
                        .collect::<Vec<_>>()
                )
            ),
        );
        j.expect(
            "each joined socket receives h4's datagram",
            tried
                && self
                    .joins
                    .iter()
                    .all(|f| f.received.as_deref() == Some(f.form.as_str())),
            "each receives its group's datagram",
            each(&|f| format!("{} B: {}", f.bytes, said(&f.received))),
        );
        sentinel_check(
            &mut j,
            "h1's eth1",
            std::slice::from_ref(&self.sentinel_at_h1),
        );
        let working: Vec<String> = self
            .joins
            .iter()
            .filter(|f| f.works())
            .map(|f| format!("{} B", f.bytes))
            .collect();
        j.verdict(
            Verdict::holds_if(tried && self.joins.iter().all(FormJoin::works)),
            format!(
                "{}; joined on eth1 and received h4's datagram: {}",
                each(&|f| format!(
                    "{} ({} B) {}, listed for {}",
                    f.form,
                    f.bytes,
                    f.result,
                    f.listed_for()
                )),
                listed(&working)
            ),
        );
        j.key(format!("joins that worked on eth1: {}", listed(&working)));
        j
    }
}

// ---------------------------------------------------------------------------
// ip_add_membership.errors

/// IP_ADD_MEMBERSHIP attempts that should fail, on a UDP socket of the
/// case's namespace (its loopback is the interface), and one on TCP.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JoinErrors {
    /// 198.51.100.200 as the group.
    pub unicast_group: String,
    /// An ip_mreqn with interface index 999.
    pub no_such_index: String,
    /// An ip_mreq with 192.0.2.1, an address no interface has.
    pub no_such_address: String,
    /// The first join of a group on lo, then the same join again.
    pub first_join: String,
    pub same_group_again: String,
    /// A 4-byte option.
    pub short_option: String,
    /// An ip_mreqn on a TCP socket.
    pub tcp_socket: String,
}

fn add_errors(_lab: &mut Lab) -> Result<JoinErrors> {
    const N: u8 = 2;
    let g = group(N, 1);
    let lo = Ipv4Addr::LOCALHOST;
    let s = Sock::udp(Family::V4)?;
    let join = |s: &Sock, bytes: &[u8]| {
        result_name(&s.set_raw(libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, bytes))
    };
    let first_join = join(&s, &mreq(g, lo));
    Ok(JoinErrors {
        unicast_group: join(&s, &mreq(Ipv4Addr::new(198, 51, 100, 200), lo)),
        no_such_index: join(&s, &mreqn(group(N, 2), Ipv4Addr::UNSPECIFIED, 999)),
        no_such_address: join(&s, &mreq(group(N, 3), Ipv4Addr::new(192, 0, 2, 1))),
        same_group_again: join(&s, &mreq(g, lo)),
        first_join,
        short_option: join(&s, &g.octets()),
        tcp_socket: join(&Sock::tcp(Family::V4)?, &mreqn(group(N, 4), lo, 0)),
    })
}

impl Observation for JoinErrors {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("a unicast group", "EINVAL", self.unicast_group.as_str());
        j.expect_eq(
            "a nonexistent interface index",
            "ENODEV",
            self.no_such_index.as_str(),
        );
        j.expect_eq(
            "an address no interface has",
            "ENODEV",
            self.no_such_address.as_str(),
        );
        j.expect_eq(
            "the same group twice",
            &["ok", "EADDRINUSE"],
            &[self.first_join.as_str(), self.same_group_again.as_str()],
        );
        j.expect_eq("a 4-byte option", "EINVAL", self.short_option.as_str());
        j.expect_eq("a TCP socket", "EPROTO", self.tcp_socket.as_str());
        let nonexistent = [self.no_such_index.as_str(), self.no_such_address.as_str()];
        let verdict = if self.unicast_group != "EINVAL" {
            Verdict::Refuted
        } else if nonexistent.iter().all(|r| *r == "EADDRNOTAVAIL") {
            Verdict::Holds
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "a unicast group gave {}, as the page says; a nonexistent interface gave {} by index and \
                 {} by address, where ip(7) names EADDRNOTAVAIL; a second join {}, a 4-byte option {}, a \
                 TCP socket {}",
                self.unicast_group,
                self.no_such_index,
                self.no_such_address,
                self.same_group_again,
                self.short_option,
                self.tcp_socket
            ),
        );
        j.key(format!(
            "unicast group {}; no such interface {} / {}",
            self.unicast_group, self.no_such_index, self.no_such_address
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// ip_add_membership.max_memberships

const MAX_MEMBERSHIPS: &str = "net/ipv4/igmp_max_memberships";

/// Joins on the loopback of the case's namespace with
/// net.ipv4.igmp_max_memberships lowered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaxMemberships {
    /// The sysctl as the namespace came, and as the case set it.
    pub default_limit: i64,
    pub limit: i64,
    /// One socket joining limit + 1 groups, in turn.
    pub first_socket: Vec<String>,
    /// Another socket joining the group the first could not.
    pub second_socket: String,
    /// The case's groups /proc/net/igmp lists for lo afterwards.
    pub joined_on_lo: Vec<Ipv4Addr>,
}

fn add_max_memberships(_lab: &mut Lab) -> Result<MaxMemberships> {
    const N: u8 = 3;
    const LIMIT: i64 = 2;
    let default_limit = procnet::sysctl_int(MAX_MEMBERSHIPS)?;
    procnet::set_sysctl(MAX_MEMBERSHIPS, &LIMIT.to_string())?;
    let join = |s: &Sock, g: Ipv4Addr| {
        result_name(&s.set_raw(
            libc::IPPROTO_IP,
            libc::IP_ADD_MEMBERSHIP,
            &mreq(g, Ipv4Addr::LOCALHOST),
        ))
    };
    let first = Sock::udp(Family::V4)?;
    let first_socket = (1..=LIMIT as u8 + 1)
        .map(|x| join(&first, group(N, x)))
        .collect();
    let second = Sock::udp(Family::V4)?;
    let second_socket = join(&second, group(N, LIMIT as u8 + 1));
    let joined_on_lo = joined_groups("lo")?
        .into_iter()
        .filter(|g| g.octets()[..3] == group(N, 0).octets()[..3])
        .collect();
    Ok(MaxMemberships {
        default_limit,
        limit: LIMIT,
        first_socket,
        second_socket,
        joined_on_lo,
    })
}

impl Observation for MaxMemberships {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("igmp_max_memberships default", &20, &self.default_limit);
        let mut within = vec!["ok".to_string(); self.limit.max(0) as usize];
        within.push("ENOBUFS".into());
        j.expect_eq(
            "one socket: the joins within the limit, then the one beyond",
            &within,
            &self.first_socket,
        );
        j.expect_eq(
            "another socket joins the group the first could not",
            "ok",
            self.second_socket.as_str(),
        );
        j.expect_eq(
            "groups joined on the interface",
            &(self.limit + 1),
            &(self.joined_on_lo.len() as i64),
        );
        let refused: Vec<&String> = self.first_socket.iter().filter(|r| *r != "ok").collect();
        j.verdict(
            if refused.is_empty() {
                Verdict::Holds
            } else {
                Verdict::Differs
            },
            format!(
                "with net.ipv4.igmp_max_memberships {} (default {}) one socket's joins gave {}; another \
                 socket then joined the last group ({}){}",
                self.limit,
                self.default_limit,
                listed(&self.first_socket),
                self.second_socket,
                if !refused.is_empty() && self.second_socket == "ok" {
                    ": the refusal counts the socket's groups, it is not a lack of memory"
                } else {
                    ""
                }
            ),
        );
        j.key(format!(
            "limit {}: joins {}; another socket {}",
            self.limit,
            listed(&self.first_socket),
            self.second_socket
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// ip_drop_membership.leaves

/// h2 joins with an ip_mreqn by index, receives, drops with an ip_mreq by
/// address, and h1 sends again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DropLeaves {
    pub before_drop: Option<String>,
    /// IP_DROP_MEMBERSHIP with an 8-byte ip_mreq.
    pub drop_result: String,
    /// An IGMPv3 CHANGE_TO_INCLUDE record with no sources for the group left
    /// h2 after the drop.
    pub leave_record: bool,
    /// /proc/net/igmp still lists the group for h2's eth0 after the drop.
    pub listed_after_drop: bool,
    /// Everything h2's socket had after the drop once the sentinel came.
    pub after_drop: Vec<String>,
    pub sentinel_at_h2: Option<String>,
    /// The same drop again.
    pub drop_again: String,
}

fn drop_leaves(lab: &mut Lab) -> Result<DropLeaves> {
    const N: u8 = 4;
    let lan = lan(lab, &[2])?;
    let (h1, h2) = (lan.h(1), lan.h(2));
    let (g, p) = (group(N, 1), port(N, 0));
    let rx = member_on(h2, "eth0", g, p)?;
    let sentinel = sentinel_on(h2, "eth0", N, 0)?;
    let mut cap = h2.host.run(|| Capture::start("eth0"))??;
    let tx = udp_in(&h1.host, Family::V4)?;
    tx.send_to(FIRST.as_bytes(), 0, to(g, p))?;
    // In before the drop, or the drop could overtake it.
    let before_drop = recv_within(&rx, WAIT)?;
    let seen = cap.count()?;
    let by_address = mreq(g, h2.nic().addr);
    let drop_result =
        result_name(&rx.set_raw(libc::IPPROTO_IP, libc::IP_DROP_MEMBERSHIP, &by_address));
    let leave_record = wait_record(&mut cap, seen, |r| {
        r.group == IpAddr::V4(g) && r.kind == 3 && r.sources.is_empty()
    })?
    .is_some();
    let listed_after_drop = h2.host.run(|| joined_groups("eth0"))??.contains(&g);
    tx.send_to(SECOND.as_bytes(), 0, to(g, p))?;
    let sentinel_at_h2 = sentinel.follows(&tx)?;
    Ok(DropLeaves {
        before_drop,
        drop_result,
        leave_record,
        listed_after_drop,
        after_drop: queued(&rx),
        sentinel_at_h2,
        drop_again: result_name(&rx.set_raw(
            libc::IPPROTO_IP,
            libc::IP_DROP_MEMBERSHIP,
            &by_address,
        )),
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
        j.expect_eq(
            "IP_DROP_MEMBERSHIP with an ip_mreq",
            "ok",
            self.drop_result.as_str(),
        );
        j.expect_eq(
            "a CHANGE_TO_INCLUDE record with no sources leaves",
            &true,
            &self.leave_record,
        );
        j.expect_eq(
            "/proc/net/igmp lists the group after the drop",
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
                "joined by index, h2 received {}; IP_DROP_MEMBERSHIP with an 8-byte ip_mreq gave {}, the \
                 group was {} in /proc/net/igmp, a leave record {} and the socket received {} after it; \
                 dropping again gave {}",
                said(&self.before_drop),
                self.drop_result,
                if self.listed_after_drop { "still listed" } else { "gone" },
                if self.leave_record { "left" } else { "never left" },
                listed(&self.after_drop),
                self.drop_again
            ),
        );
        j.key(format!(
            "drop by ip_mreq {}; after it received {}; again {}",
            self.drop_result,
            listed(&self.after_drop),
            self.drop_again
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// ip_multicast_all.scope

/// Four sockets on h1 bound to INADDR_ANY:port; G joined on eth1 by the
/// first, G2 on eth1 by the second (with IP_MULTICAST_ALL 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AllScope {
    /// IP_MULTICAST_ALL on a new socket.
    pub default: i32,
    /// What each socket had once the sentinels came. The datagrams are
    /// "G by eth1" and "G2 by eth1" from h4, "G by eth0" from h2.
    pub member_of_g: Vec<String>,
    pub own_g2_all_0: Vec<String>,
    pub unjoined_all_1: Vec<String>,
    pub unjoined_all_0: Vec<String>,
    /// The sentinels at h1's eth1 (from h4) and eth0 (from h2).
    pub sentinels: Vec<Option<String>>,
}

const G_BY_ETH1: &str = "G by eth1";
const G2_BY_ETH1: &str = "G2 by eth1";
const G_BY_ETH0: &str = "G by eth0";

fn all_scope(lab: &mut Lab) -> Result<AllScope> {
    const N: u8 = 5;
    let lan = lan(lab, &[2, 4])?;
    let (h1, h2, h4) = (lan.h(1), lan.h(2), lan.h(4));
    let (g, g2, p) = (group(N, 1), group(N, 2), port(N, 0));
    let bound = || udp_bound(&h1.host, to(Ipv4Addr::UNSPECIFIED, p));
    let all_0 = |s: &Sock| {
        s.set_int(libc::IPPROTO_IP, libc::IP_MULTICAST_ALL, 0)
            .context("IP_MULTICAST_ALL 0")
    };
    let member_of_g = member_on(h1, "eth1", g, p)?;
    let own_g2 = bound()?;
    all_0(&own_g2)?;
    crate::lab::mcast::join_index(&own_g2, IpAddr::V4(g2), index_in(&h1.host, "eth1")?)?;
    let unjoined_all_1 = bound()?;
    let default = unjoined_all_1.get_int(libc::IPPROTO_IP, libc::IP_MULTICAST_ALL)?;
    let unjoined_all_0 = bound()?;
    all_0(&unjoined_all_0)?;
    let sentinel_b = sentinel_on(h1, "eth1", N, 0)?;
    let sentinel_a = sentinel_on(h1, "eth0", N, 1)?;
    let from_b = udp_in(&h4.host, Family::V4)?;
    let from_a = udp_in(&h2.host, Family::V4)?;
    from_b.send_to(G_BY_ETH1.as_bytes(), 0, to(g, p))?;
    from_b.send_to(G2_BY_ETH1.as_bytes(), 0, to(g2, p))?;
    from_a.send_to(G_BY_ETH0.as_bytes(), 0, to(g, p))?;
    let sentinels = vec![sentinel_b.follows(&from_b)?, sentinel_a.follows(&from_a)?];
    Ok(AllScope {
        default,
        member_of_g: queued(&member_of_g),
        own_g2_all_0: queued(&own_g2),
        unjoined_all_1: queued(&unjoined_all_1),
        unjoined_all_0: queued(&unjoined_all_0),
        sentinels,
    })
}

fn texts(items: &[&str]) -> Vec<String> {
    items.iter().map(|t| t.to_string()).collect()
}

impl Observation for AllScope {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let from_b = texts(&[G_BY_ETH1, G2_BY_ETH1]);
        j.expect_eq("IP_MULTICAST_ALL default", &1, &self.default);
        j.expect_eq(
            "the member of G (IP_MULTICAST_ALL 1) gets G and G2 from segment B",
            &from_b,
            &self.member_of_g,
        );
        j.expect_eq(
            "a socket with 0 gets its own group G2 only",
            &texts(&[G2_BY_ETH1]),
            &self.own_g2_all_0,
        );
        j.expect_eq(
            "an unjoined socket with 1 gets G and G2 from segment B",
            &from_b,
            &self.unjoined_all_1,
        );
        j.expect(
            "an unjoined socket with 0 gets nothing",
            self.unjoined_all_0.is_empty(),
            "nothing",
            listed(&self.unjoined_all_0),
        );
        sentinel_check(&mut j, "h1's eth1 and eth0", &self.sentinels);
        let has = |got: &[String], t: &str| got.iter().any(|g| g == t);
        let zero_restricts = self.unjoined_all_0.is_empty()
            && has(&self.own_g2_all_0, G2_BY_ETH1)
            && !has(&self.own_g2_all_0, G_BY_ETH1);
        let one_widens =
            has(&self.unjoined_all_1, G_BY_ETH1) && has(&self.unjoined_all_1, G2_BY_ETH1);
        let verdict = if self.default != 1 || !zero_restricts || !one_widens {
            Verdict::Refuted
        } else if has(&self.unjoined_all_1, G_BY_ETH0) {
            Verdict::Holds
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "IP_MULTICAST_ALL reads {}; an unjoined socket with 1 received {}, one with 0 {}, one with \
                 0 that joined G2 {}; G is joined on h1's eth1 only, and {}",
                self.default,
                listed(&self.unjoined_all_1),
                listed(&self.unjoined_all_0),
                listed(&self.own_g2_all_0),
                if has(&self.unjoined_all_1, G_BY_ETH0) {
                    "coming in by eth0 it still reached the unjoined socket"
                } else {
                    "coming in by eth0 it reached no socket: the scope is the interface, not the system"
                }
            ),
        );
        j.key(format!(
            "unjoined with 1: {}; with 0: {}",
            listed(&self.unjoined_all_1),
            listed(&self.unjoined_all_0)
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// ip_multicast_if.struct_forms

/// One socket on h1 and the interface it sent by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IfForm {
    /// What was given to IP_MULTICAST_IF (or "none": the route).
    pub form: String,
    pub bytes: usize,
    pub result: String,
    /// getsockopt(IP_MULTICAST_IF) afterwards.
    pub reads: Option<Ipv4Addr>,
    /// The interfaces of h1 its datagram was captured leaving by.
    pub left_by: Vec<String>,
    /// The datagram's source address on the wire.
    pub source: Option<IpAddr>,
    /// The members that received it (h2 on segment A, h4 on segment B).
    pub reached: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IfStructForms {
    /// h1's eth1 address.
    pub eth1_addr: Ipv4Addr,
    /// The route's socket first, then the three forms.
    pub sends: Vec<IfForm>,
    /// IP_MULTICAST_IF with 192.0.2.1, an address no interface has.
    pub unknown_address: String,
    /// Sentinels at h2 (by eth0, from the route's socket) and at h4 (by
    /// eth1, from the ip_mreqn socket).
    pub sentinels: Vec<Option<String>>,
}

const BY_ROUTE: &str = "none (the route)";

fn if_struct_forms(lab: &mut Lab) -> Result<IfStructForms> {
    const N: u8 = 6;
    let lan = lan(lab, &[2, 4])?;
    let (h1, h2, h4) = (lan.h(1), lan.h(2), lan.h(4));
    let (g, p) = (group(N, 1), port(N, 0));
    let eth1_addr = h1.nics[1].addr;
    let eth1 = index_in(&h1.host, "eth1")?;
    let at_a = member_on(h2, "eth0", g, p)?;
    let at_b = member_on(h4, "eth0", g, p)?;
    let sentinel_a = sentinel_on(h2, "eth0", N, 0)?;
    let sentinel_b = sentinel_on(h4, "eth0", N, 1)?;
    let mut caps = [
        h1.host.run(|| Capture::start("eth0"))??,
        h1.host.run(|| Capture::start("eth1"))??,
    ];
    let forms: [(&str, Option<Vec<u8>>); 4] = [
        (BY_ROUTE, None),
        ("in_addr", Some(eth1_addr.octets().to_vec())),
        (
            "ip_mreq",
            Some(mreq(Ipv4Addr::UNSPECIFIED, eth1_addr).to_vec()),
        ),
        (
            "ip_mreqn by index",
            Some(mreqn(Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, eth1).to_vec()),
        ),
    ];
    let mut socks = Vec::new();
    let mut sends = Vec::new();
    for (form, value) in forms {
        let s = udp_in(&h1.host, Family::V4)?;
        let result = match &value {
            Some(v) => result_name(&s.set_raw(libc::IPPROTO_IP, libc::IP_MULTICAST_IF, v)),
            None => "ok".into(),
        };
        let mut read = [0u8; 4];
        let reads = s
            .get_raw(libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &mut read)
            .ok()
            .map(|_| Ipv4Addr::from(read));
        s.send_to(form.as_bytes(), 0, to(g, p))?;
        sends.push(IfForm {
            form: form.into(),
            bytes: value.map_or(0, |v| v.len()),
            result,
            reads,
            left_by: Vec::new(),
            source: None,
            reached: Vec::new(),
        });
        socks.push(s);
    }
    let sentinels = vec![
        sentinel_a.follows(&socks[0])?,
        sentinel_b.follows(&socks[3])?,
    ];
    let (got_a, got_b) = (queued(&at_a), queued(&at_b));
    for (send, s) in sends.iter_mut().zip(&socks) {
        let sport = s.local_addr()?.port();
        for (cap, ifname) in caps.iter_mut().zip(["eth0", "eth1"]) {
            let frames = cap.frames()?;
            if let Some(d) = frames
                .iter()
                .filter_map(|f| udp_to(f, p))
                .find(|d| d.sport == sport)
            {
                send.left_by.push(ifname.into());
                send.source = Some(d.src);
            }
        }
        for (got, host) in [(&got_a, "h2"), (&got_b, "h4")] {
            if got.contains(&send.form) {
                send.reached.push(host.into());
            }
        }
    }
    let probe = udp_in(&h1.host, Family::V4)?;
    Ok(IfStructForms {
        eth1_addr,
        sends,
        unknown_address: result_name(&probe.set_raw(
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            &Ipv4Addr::new(192, 0, 2, 1).octets(),
        )),
        sentinels,
    })
}

impl IfForm {
    fn describe(&self) -> String {
        format!(
            "{}: {}, left by {}, reached {}",
            self.form,
            self.result,
            listed(&self.left_by),
            listed(&self.reached)
        )
    }

    fn went(&self, iface: &str, host: &str) -> bool {
        self.left_by == [iface] && self.reached == [host]
    }
}

impl Observation for IfStructForms {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (route, forms) = match self.sends.split_first() {
            Some((r, f)) => (Some(r), f),
            None => (None, &[][..]),
        };
        let eth1 = IpAddr::V4(self.eth1_addr);
        j.expect(
            "without it: by eth0 to h2",
            route.is_some_and(|r| r.went("eth0", "h2")),
            "left by eth0, reached h2",
            route.map_or("nothing sent".into(), IfForm::describe),
        );
        let all_by_eth1 = forms.len() == 3
            && forms
                .iter()
                .all(|f| f.result == "ok" && f.went("eth1", "h4"));
        j.expect(
            "each form: by eth1 only, to h4 only",
            all_by_eth1,
            "ok, left by eth1, reached h4, for each of the three",
            listed(&forms.iter().map(IfForm::describe).collect::<Vec<_>>()),
        );
        j.expect(
            "each form's datagram comes from eth1's address",
            forms.len() == 3 && forms.iter().all(|f| f.source == Some(eth1)),
            format!("{eth1} for each"),
            listed(
                &forms
                    .iter()
                    .map(|f| f.source.map_or("none".into(), |s| s.to_string()))
                    .collect::<Vec<_>>(),
            ),
        );
        let unspecified = Ipv4Addr::UNSPECIFIED;
        j.expect_eq(
            "getsockopt reads: the route, in_addr, ip_mreq, ip_mreqn by index",
            &vec![
                Some(IpAddr::V4(unspecified)),
                Some(eth1),
                Some(eth1),
                Some(IpAddr::V4(unspecified)),
            ],
            &self.sends.iter().map(|f| f.reads.map(IpAddr::V4)).collect(),
        );
        j.expect_eq(
            "an address no interface has",
            "EADDRNOTAVAIL",
            self.unknown_address.as_str(),
        );
        sentinel_check(&mut j, "h2 and h4", &self.sentinels);
        j.verdict(
            Verdict::holds_if(all_by_eth1),
            format!(
                "{}; IP_MULTICAST_IF with an unknown address gave {}",
                listed(&self.sends.iter().map(IfForm::describe).collect::<Vec<_>>()),
                self.unknown_address
            ),
        );
        let by_eth1: Vec<String> = forms
            .iter()
            .filter(|f| f.went("eth1", "h4"))
            .map(|f| format!("{} ({} B)", f.form, f.bytes))
            .collect();
        j.key(format!("sent by eth1: {}", listed(&by_eth1)));
        j
    }
}

// ---------------------------------------------------------------------------
// ip_multicast_loop.local_sockets

/// A sender on h1 that joined nothing, another socket on h1 that joined the
/// group, and a member on h2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoopLocal {
    /// IP_MULTICAST_LOOP on a new socket.
    pub default: i32,
    /// What h1's member and h2's received with the loop as it came.
    pub local_with_1: Option<String>,
    pub h2_with_1: Option<String>,
    /// With IP_MULTICAST_LOOP 0: h2's, and everything h1's member had once
    /// the sentinel (looped back with 1) came.
    pub h2_with_0: Option<String>,
    pub local_with_0: Vec<String>,
    pub sentinel_at_h1: Option<String>,
}

fn loop_local_sockets(lab: &mut Lab) -> Result<LoopLocal> {
    const N: u8 = 7;
    let lan = lan(lab, &[2])?;
    let (h1, h2) = (lan.h(1), lan.h(2));
    let (g, p) = (group(N, 1), port(N, 0));
    let local = member_on(h1, "eth0", g, p)?;
    let remote = member_on(h2, "eth0", g, p)?;
    let sentinel = sentinel_on(h1, "eth0", N, 0)?;
    let tx = udp_in(&h1.host, Family::V4)?;
    let run = toggle_loop(Family::V4, &tx, to(g, p), [&local], &remote, &sentinel)?;
    let ([local_with_1], [local_with_0]) = (run.local_with_1, run.local_with_0);
    Ok(LoopLocal {
        default: run.default,
        local_with_1,
        h2_with_1: run.remote_with_1,
        h2_with_0: run.remote_with_0,
        local_with_0,
        sentinel_at_h1: run.sentinel,
    })
}

impl Observation for LoopLocal {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("IP_MULTICAST_LOOP default", &1, &self.default);
        j.expect_eq(
            "another local member gets it with 1",
            &Some(FIRST),
            &self.local_with_1.as_deref(),
        );
        j.expect(
            "no local member gets it with 0",
            self.local_with_0.is_empty(),
            "nothing",
            listed(&self.local_with_0),
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
        j.verdict(
            Verdict::holds_if(self.local_with_1.is_some() && self.local_with_0.is_empty()),
            format!(
                "IP_MULTICAST_LOOP reads {} on a new socket; another socket on the sender's host received \
                 {} with 1 and {} with 0; h2 received {} and {}",
                self.default,
                said(&self.local_with_1),
                listed(&self.local_with_0),
                said(&self.h2_with_1),
                said(&self.h2_with_0)
            ),
        );
        j.key(format!(
            "default {}; local member got {} with 1, {} with 0",
            self.default,
            said(&self.local_with_1),
            listed(&self.local_with_0)
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// ip_multicast_ttl.default_and_range

/// Datagrams from h1 with IP_MULTICAST_TTL as it came, then -1, 0 and 255,
/// captured leaving h1; members on h1 (loop on) and h2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TtlRange {
    /// IP_MULTICAST_TTL on a new socket, and after setting -1.
    pub default: i32,
    pub after_minus_one: i32,
    /// setsockopt results for -1, 0, 255.
    pub set_results: Vec<String>,
    /// The TTL each datagram left h1 with: default, -1, 0, 255 (none: never
    /// on the wire, known once the 255 one was).
    pub wire: Vec<Option<u8>>,
    /// What h2's member and h1's own member received, in order.
    pub h2_received: Vec<String>,
    pub local_received: Vec<String>,
    /// setsockopt 256 and -2.
    pub set_256: String,
    pub set_minus_2: String,
}

const TTL_SENDS: [(&str, Option<i32>); 4] = [
    ("ttl default", None),
    ("ttl -1", Some(-1)),
    ("ttl 0", Some(0)),
    ("ttl 255", Some(255)),
];

fn ttl_default_and_range(lab: &mut Lab) -> Result<TtlRange> {
    const N: u8 = 8;
    let lan = lan(lab, &[2])?;
    let (h1, h2) = (lan.h(1), lan.h(2));
    let (g, p) = (group(N, 1), port(N, 0));
    let remote = member_on(h2, "eth0", g, p)?;
    let local = member_on(h1, "eth0", g, p)?;
    let mut cap = h1.host.run(|| Capture::start("eth0"))??;
    let tx = udp_in(&h1.host, Family::V4)?;
    let default = tx.get_int(libc::IPPROTO_IP, libc::IP_MULTICAST_TTL)?;
    let mut set_results = Vec::new();
    let mut after_minus_one = 0;
    for (text, ttl) in TTL_SENDS {
        if let Some(t) = ttl {
            set_results.push(result_name(&tx.set_int(
                libc::IPPROTO_IP,
                libc::IP_MULTICAST_TTL,
                t,
            )));
            if t == -1 {
                after_minus_one = tx.get_int(libc::IPPROTO_IP, libc::IP_MULTICAST_TTL)?;
            }
        }
        tx.send_to(text.as_bytes(), 0, to(g, p))?;
    }
    // The last datagram follows the others on every path: once it is in,
    // the others are in or nowhere (lab::mcast).
    let last = TTL_SENDS[3].0;
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
    let frames = cap.frames()?;
    let wire = TTL_SENDS
        .iter()
        .map(|(text, _)| {
            frames
                .iter()
                .filter_map(|f| udp_to(f, p))
                .find(|d| d.payload as usize == text.len())
                .map(|d| d.ttl)
        })
        .collect();
    Ok(TtlRange {
        default,
        after_minus_one,
        set_results,
        wire,
        h2_received,
        local_received,
        set_256: result_name(&tx.set_int(libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, 256)),
        set_minus_2: result_name(&tx.set_int(libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, -2)),
    })
}

impl Observation for TtlRange {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let labels: Vec<&str> = TTL_SENDS.iter().map(|(t, _)| *t).collect();
        j.expect_eq("IP_MULTICAST_TTL default", &1, &self.default);
        j.expect_eq(
            "setting -1, 0, 255",
            &vec!["ok".to_string(); 3],
            &self.set_results,
        );
        j.expect_eq("reads after -1", &1, &self.after_minus_one);
        j.expect_eq(
            "TTL on the wire: default, -1, 0, 255",
            &vec![Some(1u8), Some(1), None, Some(255)],
            &self.wire,
        );
        j.expect_eq(
            "h2 receives all but the TTL 0 one",
            &texts(&[labels[0], labels[1], labels[3]]),
            &self.h2_received,
        );
        j.expect_eq(
            "h1's own member receives all four, TTL 0 too",
            &texts(&labels),
            &self.local_received,
        );
        j.expect_eq(
            "256 and -2",
            &["EINVAL", "EINVAL"],
            &[self.set_256.as_str(), self.set_minus_2.as_str()],
        );
        let wire_default = self.wire.first().copied().flatten();
        j.verdict(
            Verdict::holds_if(self.default == 1 && wire_default == Some(1)),
            format!(
                "IP_MULTICAST_TTL reads {} on a new socket and datagrams left with TTL {}; after -1 it read \
                 {}; TTLs on the wire for default, -1, 0, 255: {}",
                self.default,
                wire_default.map_or("none".into(), |t| t.to_string()),
                self.after_minus_one,
                listed(
                    &self
                        .wire
                        .iter()
                        .map(|t| t.map_or("none".into(), |t| t.to_string()))
                        .collect::<Vec<_>>()
                )
            ),
        );
        let zero = match self.wire.get(2).copied().flatten() {
            None => "TTL 0 stays on the host".to_string(),
            Some(t) => format!("TTL 0 left with {t}"),
        };
        j.key(format!(
            "default {}, TTL {} on the wire; {zero}",
            self.default,
            wire_default.map_or("none".into(), |t| t.to_string())
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

    const SENTINEL_H1_ETH1: &str =
        "later datagrams reach h1's eth1 (nothing earlier is still coming)";

    fn forms(change: impl FnOnce(&mut StructForms)) -> StructForms {
        from(
            json!({"joins": [
                {"bytes": 12, "form": "ip_mreqn, eth1 by index (eth0 by address)", "group": "239.11.1.1",
                 "on_eth0": false, "on_eth1": true, "received": "ip_mreqn, eth1 by index (eth0 by address)",
                 "reported_by_eth1": "239.11.1.1", "result": "ok"},
                {"bytes": 12, "form": "ip_mreqn, eth1 by address", "group": "239.11.1.2", "on_eth0": false,
                 "on_eth1": true, "received": "ip_mreqn, eth1 by address", "reported_by_eth1": "239.11.1.2",
                 "result": "ok"},
                {"bytes": 8, "form": "ip_mreq, eth1's address", "group": "239.11.1.3", "on_eth0": false,
                 "on_eth1": true, "received": "ip_mreq, eth1's address", "reported_by_eth1": "239.11.1.3",
                 "result": "ok"}],
              "sentinel_at_h1": "sentinel"}),
            change,
        )
    }

    const JOINS: &str = "each form joins on eth1 only";
    const REPORTS: &str = "an IGMPv3 report for each group leaves by eth1";
    const RECEIVES: &str = "each joined socket receives h4's datagram";

    #[rstest]
    #[case::linux(forms(|_| ()), Verdict::Holds, &[])]
    // A kernel that took imr_address over imr_ifindex: the first join lands on eth0.
    #[case::address_over_index(forms(|o| {
        let f = &mut o.joins[0];
        (f.on_eth0, f.on_eth1, f.reported_by_eth1, f.received) = (true, false, None, None);
    }), Verdict::Refuted, &[JOINS, REPORTS, RECEIVES])]
    #[case::listed_for_both(forms(|o| o.joins[1].on_eth0 = true), Verdict::Refuted, &[JOINS])]
    #[case::listed_for_none(forms(|o| o.joins[1].on_eth1 = false), Verdict::Refuted, &[JOINS])]
    // A kernel without the old ip_mreq form.
    #[case::ip_mreq_refused(forms(|o| o.joins[2].result = "EINVAL".into()), Verdict::Refuted, &[JOINS])]
    #[case::no_report(forms(|o| o.joins[2].reported_by_eth1 = None), Verdict::Holds, &[REPORTS])]
    // Another group's record (the sentinels', say) says nothing of this join.
    #[case::another_groups_report(forms(|o| o.joins[2].reported_by_eth1 = Some("239.11.1.250".parse().unwrap())),
        Verdict::Holds, &[REPORTS])]
    #[case::another_groups_datagram(forms(|o| o.joins[0].received = Some("ip_mreq, eth1's address".into())),
        Verdict::Refuted, &[RECEIVES])]
    #[case::two_forms_only(forms(|o| { o.joins.pop(); }), Verdict::Refuted, &[JOINS, REPORTS, RECEIVES])]
    #[case::sentinel_lost(forms(|o| o.sentinel_at_h1 = None), Verdict::Holds, &[SENTINEL_H1_ETH1])]
    fn struct_forms_judgement(#[case] o: StructForms, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn struct_forms_says_which_forms_worked() {
        let j = forms(|_| ()).judge();
        assert_eq!("joins that worked on eth1: 12 B, 12 B, 8 B", j.key);
        let f = forms(|o| (o.joins[0].on_eth0, o.joins[0].on_eth1) = (true, true));
        assert_eq!("eth0 and eth1", f.joins[0].listed_for());
        let f = forms(|o| (o.joins[0].on_eth0, o.joins[0].on_eth1) = (true, false));
        assert_eq!("eth0", f.joins[0].listed_for());
        let f = forms(|o| o.joins[0].on_eth1 = false);
        assert_eq!("no interface", f.joins[0].listed_for());
        assert!(j.because.starts_with(
            "ip_mreqn, eth1 by index (eth0 by address) (12 B) ok, listed for eth1, ip_mreqn, eth1 by \
             address (12 B) ok, listed for eth1"
        ));
    }

    fn errors(change: impl FnOnce(&mut JoinErrors)) -> JoinErrors {
        from(
            json!({"first_join": "ok", "no_such_address": "ENODEV", "no_such_index": "ENODEV",
                   "same_group_again": "EADDRINUSE", "short_option": "EINVAL", "tcp_socket": "EPROTO",
                   "unicast_group": "EINVAL"}),
            change,
        )
    }

    #[rstest]
    #[case::linux(errors(|_| ()), Verdict::Differs, &[])]
    // ip(7)'s world: a nonexistent interface gives EADDRNOTAVAIL.
    #[case::ip7(errors(|o| (o.no_such_index, o.no_such_address) = ("EADDRNOTAVAIL".into(), "EADDRNOTAVAIL".into())),
        Verdict::Holds, &["a nonexistent interface index", "an address no interface has"])]
    #[case::one_of_two(errors(|o| o.no_such_index = "EADDRNOTAVAIL".into()), Verdict::Differs,
        &["a nonexistent interface index"])]
    #[case::unicast_taken(errors(|o| o.unicast_group = "ok".into()), Verdict::Refuted, &["a unicast group"])]
    #[case::first_join_refused(errors(|o| o.first_join = "ENOBUFS".into()), Verdict::Differs,
        &["the same group twice"])]
    #[case::twice_taken(errors(|o| o.same_group_again = "ok".into()), Verdict::Differs, &["the same group twice"])]
    #[case::short_taken(errors(|o| o.short_option = "ok".into()), Verdict::Differs, &["a 4-byte option"])]
    #[case::tcp_other(errors(|o| o.tcp_socket = "ENOPROTOOPT".into()), Verdict::Differs, &["a TCP socket"])]
    fn errors_judgement(#[case] o: JoinErrors, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn errors_name_the_errnos() {
        let j = errors(|_| ()).judge();
        assert_eq!(
            "unicast group EINVAL; no such interface ENODEV / ENODEV",
            j.key
        );
        assert_eq!(
            "a unicast group gave EINVAL, as the page says; a nonexistent interface gave ENODEV by index \
             and ENODEV by address, where ip(7) names EADDRNOTAVAIL; a second join EADDRINUSE, a 4-byte \
             option EINVAL, a TCP socket EPROTO",
            j.because
        );
    }

    fn max(change: impl FnOnce(&mut MaxMemberships)) -> MaxMemberships {
        from(
            json!({"default_limit": 20, "first_socket": ["ok", "ok", "ENOBUFS"],
                   "joined_on_lo": ["239.11.3.3", "239.11.3.2", "239.11.3.1"], "limit": 2,
                   "second_socket": "ok"}),
            change,
        )
    }

    const WITHIN: &str = "one socket: the joins within the limit, then the one beyond";

    #[rstest]
    #[case::linux(max(|_| ()), Verdict::Differs, &[])]
    // The page's world: no limit on a socket's groups.
    #[case::no_limit(max(|o| o.first_socket[2] = "ok".into()), Verdict::Holds, &[WITHIN])]
    #[case::one_below(max(|o| o.first_socket[1] = "ENOBUFS".into()), Verdict::Differs, &[WITHIN])]
    #[case::another_default(max(|o| o.default_limit = 21), Verdict::Differs, &["igmp_max_memberships default"])]
    // Memory short for everyone: the other socket is refused too.
    #[case::second_refused(max(|o| { o.second_socket = "ENOBUFS".into(); o.joined_on_lo.pop(); }),
        Verdict::Differs, &["another socket joins the group the first could not", "groups joined on the interface"])]
    fn max_memberships_judgement(
        #[case] o: MaxMemberships,
        #[case] v: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn max_memberships_says_whose_limit() {
        let j = max(|_| ()).judge();
        assert_eq!("limit 2: joins ok, ok, ENOBUFS; another socket ok", j.key);
        assert_eq!(
            "with net.ipv4.igmp_max_memberships 2 (default 20) one socket's joins gave ok, ok, ENOBUFS; \
             another socket then joined the last group (ok): the refusal counts the socket's groups, it \
             is not a lack of memory",
            j.because
        );
        let short = max(|o| o.second_socket = "ENOBUFS".into()).judge();
        assert!(short.because.ends_with("joined the last group (ENOBUFS)"));
        let none = max(|o| o.first_socket[2] = "ok".into()).judge();
        assert!(none.because.ends_with("joined the last group (ok)"));
    }

    fn drop4(change: impl FnOnce(&mut DropLeaves)) -> DropLeaves {
        from(
            json!({"after_drop": [], "before_drop": "datagram 1", "drop_again": "EADDRNOTAVAIL",
                   "drop_result": "ok", "leave_record": true, "listed_after_drop": false,
                   "sentinel_at_h2": "sentinel"}),
            change,
        )
    }

    const DROP: &str = "IP_DROP_MEMBERSHIP with an ip_mreq";
    const LEAVE_RECORD: &str = "a CHANGE_TO_INCLUDE record with no sources leaves";
    const LISTED: &str = "/proc/net/igmp lists the group after the drop";
    const AFTER: &str = "nothing after the drop";

    #[rstest]
    #[case::linux(drop4(|_| ()), Verdict::Holds, &[])]
    // A kernel that took only an ip_mreqn to leave: the 8-byte drop fails, the membership stays.
    #[case::short_form_refused(drop4(|o| {
        o.drop_result = "EINVAL".into(); o.leave_record = false; o.listed_after_drop = true;
        o.after_drop = vec![SECOND.into()]; o.drop_again = "EINVAL".into();
    }), Verdict::Refuted, &[DROP, LEAVE_RECORD, LISTED, AFTER, "dropping it again"])]
    #[case::nothing_before(drop4(|o| o.before_drop = None), Verdict::Refuted, &["received before the drop"])]
    #[case::drop_fails(drop4(|o| o.drop_result = "EINVAL".into()), Verdict::Refuted, &[DROP])]
    #[case::still_listed(drop4(|o| o.listed_after_drop = true), Verdict::Refuted, &[LISTED])]
    #[case::still_receives(drop4(|o| o.after_drop = vec![SECOND.into()]), Verdict::Refuted, &[AFTER])]
    #[case::silent_leave(drop4(|o| o.leave_record = false), Verdict::Holds, &[LEAVE_RECORD])]
    #[case::sentinel_lost(drop4(|o| o.sentinel_at_h2 = None), Verdict::Holds,
        &["later datagrams reach h2 (nothing earlier is still coming)"])]
    fn drop_judgement(#[case] o: DropLeaves, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn drop_says_what_left() {
        let j = drop4(|_| ()).judge();
        assert_eq!(
            "drop by ip_mreq ok; after it received nothing; again EADDRNOTAVAIL",
            j.key
        );
        assert_eq!(
            "joined by index, h2 received datagram 1; IP_DROP_MEMBERSHIP with an 8-byte ip_mreq gave ok, \
             the group was gone in /proc/net/igmp, a leave record left and the socket received nothing \
             after it; dropping again gave EADDRNOTAVAIL",
            j.because
        );
        let kept = drop4(|o| (o.listed_after_drop, o.leave_record) = (true, false)).judge();
        assert!(kept
            .because
            .contains("was still listed in /proc/net/igmp, a leave record never left"));
    }

    fn all(change: impl FnOnce(&mut AllScope)) -> AllScope {
        from(
            json!({"default": 1, "member_of_g": ["G by eth1", "G2 by eth1"], "own_g2_all_0": ["G2 by eth1"],
                   "sentinels": ["sentinel", "sentinel"], "unjoined_all_0": [],
                   "unjoined_all_1": ["G by eth1", "G2 by eth1"]}),
            change,
        )
    }

    const MEMBER_G: &str = "the member of G (IP_MULTICAST_ALL 1) gets G and G2 from segment B";
    const OWN_G2: &str = "a socket with 0 gets its own group G2 only";
    const UNJOINED_1: &str = "an unjoined socket with 1 gets G and G2 from segment B";
    const UNJOINED_0: &str = "an unjoined socket with 0 gets nothing";

    #[rstest]
    #[case::linux(all(|_| ()), Verdict::Differs, &[])]
    // The page's world: G joined anywhere on the system, so G by eth0 reaches the sockets with 1 too.
    #[case::system_wide(all(|o| {
        o.member_of_g.push(G_BY_ETH0.into()); o.unjoined_all_1.push(G_BY_ETH0.into());
    }), Verdict::Holds, &[MEMBER_G, UNJOINED_1])]
    // A kernel before 2.6.31, or one that ignores 0: every socket on the port gets everything.
    #[case::zero_ignored(all(|o| {
        o.own_g2_all_0 = texts(&[G_BY_ETH1, G2_BY_ETH1]); o.unjoined_all_0 = texts(&[G_BY_ETH1, G2_BY_ETH1]);
    }), Verdict::Refuted, &[OWN_G2, UNJOINED_0])]
    #[case::default_zero(all(|o| o.default = 0), Verdict::Refuted, &["IP_MULTICAST_ALL default"])]
    #[case::one_own_groups_only(all(|o| o.unjoined_all_1 = texts(&[G2_BY_ETH1])), Verdict::Refuted, &[UNJOINED_1])]
    #[case::one_gets_nothing(all(|o| o.unjoined_all_1 = texts(&[G_BY_ETH1])), Verdict::Refuted, &[UNJOINED_1])]
    #[case::zero_gets_others(all(|o| o.own_g2_all_0.insert(0, G_BY_ETH1.into())), Verdict::Refuted, &[OWN_G2])]
    #[case::zero_gets_none(all(|o| o.own_g2_all_0.clear()), Verdict::Refuted, &[OWN_G2])]
    #[case::zero_unjoined_gets_one(all(|o| o.unjoined_all_0 = texts(&[G2_BY_ETH1])), Verdict::Refuted, &[UNJOINED_0])]
    #[case::member_misses(all(|o| { o.member_of_g.pop(); }), Verdict::Differs, &[MEMBER_G])]
    #[case::sentinel_lost(all(|o| o.sentinels[1] = None), Verdict::Differs,
        &["later datagrams reach h1's eth1 and eth0 (nothing earlier is still coming)"])]
    fn all_judgement(#[case] o: AllScope, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn all_says_the_scope() {
        let j = all(|_| ()).judge();
        assert_eq!(
            "unjoined with 1: G by eth1, G2 by eth1; with 0: nothing",
            j.key
        );
        assert!(j.because.ends_with(
            "coming in by eth0 it reached no socket: the scope is the interface, not the system"
        ));
        let wide = all(|o| o.unjoined_all_1.push(G_BY_ETH0.into())).judge();
        assert!(wide
            .because
            .ends_with("coming in by eth0 it still reached the unjoined socket"));
    }

    fn if_forms(change: impl FnOnce(&mut IfStructForms)) -> IfStructForms {
        from(
            json!({"eth1_addr": "203.0.113.1", "sends": [
                {"bytes": 0, "form": "none (the route)", "left_by": ["eth0"], "reached": ["h2"],
                 "reads": "0.0.0.0", "result": "ok", "source": "198.51.100.11"},
                {"bytes": 4, "form": "in_addr", "left_by": ["eth1"], "reached": ["h4"], "reads": "203.0.113.1",
                 "result": "ok", "source": "203.0.113.1"},
                {"bytes": 8, "form": "ip_mreq", "left_by": ["eth1"], "reached": ["h4"], "reads": "203.0.113.1",
                 "result": "ok", "source": "203.0.113.1"},
                {"bytes": 12, "form": "ip_mreqn by index", "left_by": ["eth1"], "reached": ["h4"],
                 "reads": "0.0.0.0", "result": "ok", "source": "203.0.113.1"}],
              "sentinels": ["sentinel", "sentinel"], "unknown_address": "EADDRNOTAVAIL"}),
            change,
        )
    }

    const ROUTE: &str = "without it: by eth0 to h2";
    const BY_ETH1: &str = "each form: by eth1 only, to h4 only";
    const SOURCE: &str = "each form's datagram comes from eth1's address";
    const READS: &str = "getsockopt reads: the route, in_addr, ip_mreq, ip_mreqn by index";

    #[rstest]
    #[case::linux(if_forms(|_| ()), Verdict::Holds, &[])]
    // Before Linux 3.5: no 8-byte ip_mreq; the socket keeps the route.
    #[case::before_3_5(if_forms(|o| {
        let s = &mut o.sends[2];
        s.result = "EINVAL".into(); s.left_by = vec!["eth0".into()]; s.reached = vec!["h2".into()];
        s.source = Some("198.51.100.11".parse().unwrap()); s.reads = Some(Ipv4Addr::UNSPECIFIED);
    }), Verdict::Refuted, &[BY_ETH1, SOURCE, READS])]
    #[case::refused_yet_sent(if_forms(|o| o.sends[3].result = "EINVAL".into()), Verdict::Refuted, &[BY_ETH1])]
    #[case::by_both(if_forms(|o| o.sends[1].left_by.push("eth0".into())), Verdict::Refuted, &[BY_ETH1])]
    #[case::reached_both(if_forms(|o| o.sends[1].reached.push("h2".into())), Verdict::Refuted, &[BY_ETH1])]
    #[case::route_by_eth1(if_forms(|o| o.sends[0].left_by = vec!["eth1".into()]), Verdict::Holds, &[ROUTE])]
    #[case::nothing_sent(if_forms(|o| o.sends.clear()), Verdict::Refuted, &[ROUTE, BY_ETH1, SOURCE, READS])]
    #[case::eth0_source(if_forms(|o| o.sends[3].source = Some("198.51.100.11".parse().unwrap())),
        Verdict::Holds, &[SOURCE])]
    #[case::index_read_back(if_forms(|o| o.sends[3].reads = Some("203.0.113.1".parse().unwrap())),
        Verdict::Holds, &[READS])]
    #[case::unknown_taken(if_forms(|o| o.unknown_address = "ok".into()), Verdict::Holds,
        &["an address no interface has"])]
    #[case::sentinel_lost(if_forms(|o| o.sentinels[0] = None), Verdict::Holds,
        &["later datagrams reach h2 and h4 (nothing earlier is still coming)"])]
    fn if_judgement(#[case] o: IfStructForms, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn if_says_what_left_by_eth1() {
        let j = if_forms(|_| ()).judge();
        assert_eq!(
            "sent by eth1: in_addr (4 B), ip_mreq (8 B), ip_mreqn by index (12 B)",
            j.key
        );
        assert!(j.because.starts_with(
            "none (the route): ok, left by eth0, reached h2, in_addr: ok, left by eth1, reached h4"
        ));
        assert!(j
            .because
            .ends_with("IP_MULTICAST_IF with an unknown address gave EADDRNOTAVAIL"));
    }

    fn loop4(change: impl FnOnce(&mut LoopLocal)) -> LoopLocal {
        from(
            json!({"default": 1, "h2_with_0": "datagram 2", "h2_with_1": "datagram 1", "local_with_0": [],
                   "local_with_1": "datagram 1", "sentinel_at_h1": "sentinel"}),
            change,
        )
    }

    #[rstest]
    #[case::linux(loop4(|_| ()), Verdict::Holds, &[])]
    #[case::zero_ignored(loop4(|o| o.local_with_0 = vec![SECOND.into()]), Verdict::Refuted,
        &["no local member gets it with 0"])]
    // A system whose default is no loopback.
    #[case::off_by_default(loop4(|o| (o.default, o.local_with_1) = (0, None)), Verdict::Refuted,
        &["IP_MULTICAST_LOOP default", "another local member gets it with 1"])]
    #[case::h2_misses(loop4(|o| o.h2_with_0 = None), Verdict::Holds, &["h2 gets both"])]
    #[case::sentinel_lost(loop4(|o| o.sentinel_at_h1 = None), Verdict::Holds,
        &["later datagrams reach h1 through the loopback (nothing earlier is still coming)"])]
    fn loop_judgement(#[case] o: LoopLocal, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn loop_says_who_got_what() {
        let j = loop4(|_| ()).judge();
        assert_eq!(
            "default 1; local member got datagram 1 with 1, nothing with 0",
            j.key
        );
        assert_eq!(
            "IP_MULTICAST_LOOP reads 1 on a new socket; another socket on the sender's host received \
             datagram 1 with 1 and nothing with 0; h2 received datagram 1 and datagram 2",
            j.because
        );
    }

    fn ttl(change: impl FnOnce(&mut TtlRange)) -> TtlRange {
        from(
            json!({"after_minus_one": 1, "default": 1, "h2_received": ["ttl default", "ttl -1", "ttl 255"],
                   "local_received": ["ttl default", "ttl -1", "ttl 0", "ttl 255"], "set_256": "EINVAL",
                   "set_minus_2": "EINVAL", "set_results": ["ok", "ok", "ok"], "wire": [1, 1, null, 255]}),
            change,
        )
    }

    const WIRE: &str = "TTL on the wire: default, -1, 0, 255";

    #[rstest]
    #[case::linux(ttl(|_| ()), Verdict::Holds, &[])]
    // A system whose multicast TTL defaults to the unicast 64.
    #[case::default_64(ttl(|o| { o.default = 64; o.after_minus_one = 64; o.wire[0] = Some(64); o.wire[1] = Some(64); }),
        Verdict::Refuted, &["IP_MULTICAST_TTL default", "reads after -1", WIRE])]
    #[case::reads_1_sends_64(ttl(|o| o.wire[0] = Some(64)), Verdict::Refuted, &[WIRE])]
    #[case::reads_2(ttl(|o| o.default = 2), Verdict::Refuted, &["IP_MULTICAST_TTL default"])]
    #[case::never_on_the_wire(ttl(|o| o.wire[0] = None), Verdict::Refuted, &[WIRE])]
    #[case::zero_on_the_wire(ttl(|o| o.wire[2] = Some(0)), Verdict::Holds, &[WIRE])]
    #[case::zero_reaches_h2(ttl(|o| o.h2_received.insert(2, "ttl 0".into())), Verdict::Holds,
        &["h2 receives all but the TTL 0 one"])]
    #[case::zero_not_looped(ttl(|o| { o.local_received.remove(2); }), Verdict::Holds,
        &["h1's own member receives all four, TTL 0 too"])]
    #[case::zero_refused(ttl(|o| o.set_results[1] = "EINVAL".into()), Verdict::Holds, &["setting -1, 0, 255"])]
    #[case::wide_taken(ttl(|o| o.set_256 = "ok".into()), Verdict::Holds, &["256 and -2"])]
    fn ttl_judgement(#[case] o: TtlRange, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn ttl_says_what_left() {
        let j = ttl(|_| ()).judge();
        assert_eq!(
            "default 1, TTL 1 on the wire; TTL 0 stays on the host",
            j.key
        );
        assert_eq!(
            "IP_MULTICAST_TTL reads 1 on a new socket and datagrams left with TTL 1; after -1 it read 1; \
             TTLs on the wire for default, -1, 0, 255: 1, 1, none, 255",
            j.because
        );
        let zero = ttl(|o| (o.wire[0], o.wire[2]) = (None, Some(0))).judge();
        assert_eq!(
            "default 1, TTL none on the wire; TTL 0 left with 0",
            zero.key
        );
    }

    #[test]
    fn helpers_for_reports() {
        assert_eq!("nothing", listed::<String>(&[]));
        assert_eq!("a, b", listed(&["a", "b"]));
        assert_eq!("nothing", said(&None));
        assert_eq!(Ipv4Addr::new(239, 11, 7, 250), sentinel_group(7));
        assert_eq!((41_072, 42_071), (port(7, 2), sentinel_port(7, 1)));
    }
}
