//! Source-specific multicast: what the man pages of IP_ADD_SOURCE_MEMBERSHIP,
//! IP_DROP_SOURCE_MEMBERSHIP, IP_BLOCK_SOURCE, IP_UNBLOCK_SOURCE and
//! IP_MSFILTER state (man-pages 6.20), judged on the LAN of lab::bridge:
//! receivers on h2, two senders on segment A, h1 (198.51.100.11) and h3
//! (198.51.100.13), whose datagrams carry their names.
//!
//! Each change of a socket's source filter is also judged on the wire: the
//! IGMPv3 record h2 sends for it (RFC 3376 4.2.12: ALLOW_NEW_SOURCES and
//! BLOCK_OLD_SOURCES for sources added and removed, CHANGE_TO_INCLUDE and
//! CHANGE_TO_EXCLUDE for a change of filter mode). Groups, ports and
//! sentinels as in mcast_groups.rs (cases 21-27); the limit case lowers a
//! sysctl of its own namespace and joins on its loopback, never on a shared
//! LAN.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::mcast_groups::{group, lan, listed, member_on, port, sentinel_check, sentinel_on, to};
use crate::lab::bridge::{joined_groups, mreq, Lan};
use crate::lab::mcast::{
    get_msfilter, mreq_source, msfilter, queued, record_name, udp_bound, udp_in, wait_record,
    Filter, GroupRecord, Sentinel,
};
use crate::lab::opt;
use crate::lab::sock::result_name;
use crate::lab::{procnet, Capture, Family, Lab, Sock};
use crate::model::{Case, Judgement, Measure, Observation, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[
    &ADD_SOURCE_LISTED,
    &ADD_SOURCE_OVER_ANY,
    &DROP_SOURCE_REMAINING,
    &BLOCK_AFTER_EITHER_JOIN,
    &UNBLOCK_NOT_BLOCKED,
    &MSFILTER_MODES,
    &MSFILTER_MAX_MSF,
];

pub static ADD_SOURCE_LISTED: Case = Case {
    id: "ip_add_source_membership.listed_sources",
    source: Source::ManPage("man-pages 6.20 IP_ADD_SOURCE_MEMBERSHIP(2const)"),
    claim: "IP_ADD_SOURCE_MEMBERSHIP joins a group and lets data in only from the given source; used \
            again it lets in more sources",
    expectation: "h2 joins with h1 as the source: an IGMPv3 ALLOW_NEW_SOURCES record naming h1 leaves, \
                  and of h1's and h3's datagrams only h1's arrives; adding h3 sends ALLOW_NEW_SOURCES for \
                  h3, and then both arrive",
    run: &Measure(add_source_listed),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_ADD_SOURCE_MEMBERSHIP],
};

pub static ADD_SOURCE_OVER_ANY: Case = Case {
    id: "ip_add_source_membership.over_any_source",
    source: Source::ManPage("man-pages 6.20 IP_ADD_SOURCE_MEMBERSHIP(2const)"),
    claim: "IP_ADD_SOURCE_MEMBERSHIP joins a group and lets data in only from the given source (the \
            page does not say what happens on a group the socket already joined)",
    expectation: "on a group the socket joined any-source (nothing blocked) it succeeds and turns the \
                  membership into a source-specific one: h3's datagrams stop, h1's still arrive, and \
                  IP_MSFILTER reads INCLUDE h1; with a source blocked first it fails with EINVAL; \
                  IP_ADD_MEMBERSHIP on a group joined source-specific fails with EADDRINUSE",
    run: &Measure(add_source_over_any),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_ADD_SOURCE_MEMBERSHIP],
};

pub static DROP_SOURCE_REMAINING: Case = Case {
    id: "ip_drop_source_membership.remaining_sources",
    source: Source::ManPage("man-pages 6.20 IP_DROP_SOURCE_MEMBERSHIP(2const)"),
    claim: "IP_DROP_SOURCE_MEMBERSHIP stops data from one source of a source-specific group; data from \
            the other sources subscribed still comes; IP_DROP_MEMBERSHIP stops all of them at once",
    expectation: "subscribed to h1 and h3, h2 drops h1: a BLOCK_OLD_SOURCES record naming h1 leaves and \
                  only h3's datagrams arrive; dropping h1 again fails with EADDRNOTAVAIL; \
                  IP_DROP_MEMBERSHIP then leaves the group (gone from /proc/net/igmp) and nothing arrives",
    run: &Measure(drop_source_remaining),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_DROP_SOURCE_MEMBERSHIP, opt::IP_DROP_MEMBERSHIP],
};

pub static BLOCK_AFTER_EITHER_JOIN: Case = Case {
    id: "ip_block_source.after_either_join",
    source: Source::ManPage("man-pages 6.20 IP_BLOCK_SOURCE(2const)"),
    claim: "IP_BLOCK_SOURCE stops data from one source of a group; it is valid once the socket joined \
            the group with IP_ADD_MEMBERSHIP or IP_ADD_SOURCE_MEMBERSHIP",
    expectation: "after IP_ADD_MEMBERSHIP, blocking h3 sends a BLOCK_OLD_SOURCES record naming h3 and h3's \
                  datagrams stop while h1's arrive; on a group not joined it fails with EINVAL; after \
                  IP_ADD_SOURCE_MEMBERSHIP it fails with EINVAL too (an include-mode filter has nothing to \
                  block)",
    run: &Measure(block_after_either_join),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_BLOCK_SOURCE],
};

pub static UNBLOCK_NOT_BLOCKED: Case = Case {
    id: "ip_unblock_source.not_blocked",
    source: Source::ManPage("man-pages 6.20 IP_UNBLOCK_SOURCE(2const)"),
    claim: "IP_UNBLOCK_SOURCE unblocks a source blocked before; it fails with EADDRNOTAVAIL when the \
            source is not blocked",
    expectation: "unblocking h3 sends an ALLOW_NEW_SOURCES record naming h3 and h3's datagrams arrive \
                  again; unblocking it again, or h1 that was never blocked, fails with EADDRNOTAVAIL; on a \
                  group the socket did not join it fails with EINVAL instead",
    run: &Measure(unblock_not_blocked),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_UNBLOCK_SOURCE, opt::IP_BLOCK_SOURCE],
};

pub static MSFILTER_MODES: Case = Case {
    id: "ip_msfilter.modes",
    source: Source::ManPage("man-pages 6.20 IP_MSFILTER(2const)"),
    claim: "IP_MSFILTER sets a group's whole source filter, MCAST_INCLUDE or MCAST_EXCLUDE with a list \
            of sources, with the meaning of RFC 3376",
    expectation: "on a joined group, INCLUDE h1 sends CHANGE_TO_INCLUDE h1 and lets in h1 only; EXCLUDE h1 \
                  sends CHANGE_TO_EXCLUDE h1 and lets in all but h1; getsockopt reads each mode and list \
                  back; INCLUDE with no sources leaves the group (getsockopt then fails with \
                  EADDRNOTAVAIL); on a group not joined it fails with EINVAL",
    run: &Measure(msfilter_modes),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_MSFILTER],
};

pub static MSFILTER_MAX_MSF: Case = Case {
    id: "ip_msfilter.max_msf",
    source: Source::ManPage("man-pages 6.20 IP_MSFILTER(2const)"),
    claim: "(the page sizes a filter of n sources with IP_MSFILTER_SIZE(n) and states no limit on n)",
    expectation: "a filter holds at most net.ipv4.igmp_max_msf sources (10 by default, per namespace): \
                  with it lowered to 2, IP_MSFILTER with 3 sources and a third IP_ADD_SOURCE_MEMBERSHIP \
                  fail with ENOBUFS, while 2 sources are taken",
    run: &Measure(msfilter_max_msf),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_MSFILTER, opt::IP_ADD_SOURCE_MEMBERSHIP],
};

/// The two senders' addresses on segment A, by name.
fn sender_addr(lan: &Lan, name: &str) -> Ipv4Addr {
    lan.h(if name == H1 { 1 } else { 3 }).nic().addr
}

const H1: &str = "h1";
const H3: &str = "h3";

/// h1 and h3, each with a socket, and a sentinel receiver on h2.
struct Senders {
    h1: Sock,
    h3: Sock,
    sentinel: Sentinel,
    /// What the sentinel receiver got after each sender's sentinel.
    arrived: Vec<Option<String>>,
}

impl Senders {
    fn new(lan: &Lan, case: u8) -> Result<Senders> {
        Ok(Senders {
            h1: udp_in(&lan.h(1).host, Family::V4)?,
            h3: udp_in(&lan.h(3).host, Family::V4)?,
            sentinel: sentinel_on(lan.h(2), "eth0", case, 0)?,
            arrived: Vec::new(),
        })
    }

    /// h1 and h3 each send their name to `to`, then a sentinel each: once
    /// both came, h2's sockets hold whatever of the two they will get.
    fn both(&mut self, to: SocketAddr) -> Result<()> {
        self.h1.send_to(H1.as_bytes(), 0, to)?;
        self.h3.send_to(H3.as_bytes(), 0, to)?;
        self.arrived.push(self.sentinel.follows(&self.h1)?);
        self.arrived.push(self.sentinel.follows(&self.h3)?);
        Ok(())
    }
}

/// The senders whose datagrams `s` holds, in name order.
fn heard(s: &Sock) -> Vec<String> {
    let mut got = queued(s);
    got.sort();
    got
}

fn names(items: &[&str]) -> Vec<String> {
    items.iter().map(|t| t.to_string()).collect()
}

/// A socket on h2 bound to INADDR_ANY:port k of case N; with
/// IP_MULTICAST_ALL 1 it would hear every group h2 joined on that port, so
/// each socket has a port of its own.
fn receiver(lan: &Lan, case: u8, k: u16) -> Result<Sock> {
    udp_bound(&lan.h(2).host, to(Ipv4Addr::UNSPECIFIED, port(case, k)))
}

fn set(s: &Sock, option: i32, value: &[u8]) -> String {
    result_name(&s.set_raw(libc::IPPROTO_IP, option, value))
}

/// A group record as a report writes it: "ALLOW_NEW_SOURCES 198.51.100.11",
/// or "no record".
fn record_text(r: &Option<GroupRecord>) -> String {
    match r {
        None => "no record".into(),
        Some(r) if r.sources.is_empty() => format!("{} with no sources", record_name(r.kind)),
        Some(r) => format!("{} {}", record_name(r.kind), listed(&r.sources)),
    }
}

/// Whether `r` is a record of `kind` whose sources are exactly `sources`.
fn is_record(r: &Option<GroupRecord>, kind: u8, sources: &[Ipv4Addr]) -> bool {
    r.as_ref().is_some_and(|r| {
        let mut got = r.sources.clone();
        got.sort_unstable();
        let want: Vec<IpAddr> = sources.iter().map(|s| IpAddr::V4(*s)).collect();
        r.kind == kind && got == want
    })
}

/// The expected record as a check writes it.
fn record_wanted(kind: u8, sources: &[Ipv4Addr]) -> String {
    record_text(&Some(GroupRecord {
        kind,
        group: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        sources: sources.iter().map(|s| IpAddr::V4(*s)).collect(),
    }))
}

/// The first record for `g` naming `source` h2 sent after `seen` frames.
fn record_naming(
    cap: &mut Capture,
    seen: usize,
    g: Ipv4Addr,
    source: Ipv4Addr,
) -> Result<Option<GroupRecord>> {
    wait_record(cap, seen, |r| {
        r.group == IpAddr::V4(g) && r.sources.contains(&IpAddr::V4(source))
    })
}

/// Whether `r` announces that `source` is now kept out of an exclude-mode
/// filter: BLOCK_OLD_SOURCES naming it, or CHANGE_TO_EXCLUDE naming it. RFC
/// 3376 6.1: while the join's own change of mode is still being repeated
/// (twice, up to a second apart), a further change is sent as the whole
/// new state, a CHANGE_TO_EXCLUDE record.
fn keeps_out(r: &GroupRecord, source: Ipv4Addr) -> bool {
    matches!(r.kind, BLOCK | TO_EXCLUDE) && r.sources.contains(&IpAddr::V4(source))
}

/// Whether `r` announces that `source` is let in again: ALLOW_NEW_SOURCES
/// naming it, or (as for `keeps_out`) CHANGE_TO_EXCLUDE without it.
fn lets_in(r: &GroupRecord, source: Ipv4Addr) -> bool {
    let named = r.sources.contains(&IpAddr::V4(source));
    (r.kind == ALLOW && named) || (r.kind == TO_EXCLUDE && !named)
}

const ALLOW: u8 = 5;
const BLOCK: u8 = 6;
const TO_INCLUDE: u8 = 3;
const TO_EXCLUDE: u8 = 4;

// ---------------------------------------------------------------------------
// ip_add_source_membership.listed_sources

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListedSources {
    pub h1: Ipv4Addr,
    pub h3: Ipv4Addr,
    /// IP_ADD_SOURCE_MEMBERSHIP with h1, the record naming h1 that followed,
    /// and which senders' datagrams arrived then.
    pub add_h1: String,
    pub record_h1: Option<GroupRecord>,
    pub with_h1: Vec<String>,
    /// The same with h3 added.
    pub add_h3: String,
    pub record_h3: Option<GroupRecord>,
    pub with_both: Vec<String>,
    pub sentinels: Vec<Option<String>>,
}

fn add_source_listed(lab: &mut Lab) -> Result<ListedSources> {
    const N: u8 = 21;
    let lan = lan(lab, &[2, 3])?;
    let (h1, h3) = (sender_addr(&lan, H1), sender_addr(&lan, H3));
    let iface = lan.h(2).nic().addr;
    let g = group(N, 1);
    let rx = receiver(&lan, N, 0)?;
    let mut senders = Senders::new(&lan, N)?;
    let mut cap = lan.h(2).host.run(|| Capture::start("eth0"))??;
    let add_h1 = set(
        &rx,
        libc::IP_ADD_SOURCE_MEMBERSHIP,
        &mreq_source(g, iface, h1),
    );
    let record_h1 = record_naming(&mut cap, 0, g, h1)?;
    senders.both(to(g, port(N, 0)))?;
    let with_h1 = heard(&rx);
    let seen = cap.count()?;
    let add_h3 = set(
        &rx,
        libc::IP_ADD_SOURCE_MEMBERSHIP,
        &mreq_source(g, iface, h3),
    );
    let record_h3 = record_naming(&mut cap, seen, g, h3)?;
    senders.both(to(g, port(N, 0)))?;
    Ok(ListedSources {
        h1,
        h3,
        add_h1,
        record_h1,
        with_h1,
        add_h3,
        record_h3,
        with_both: heard(&rx),
        sentinels: senders.arrived,
    })
}

impl Observation for ListedSources {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "IP_ADD_SOURCE_MEMBERSHIP h1, then h3",
            &["ok", "ok"],
            &[self.add_h1.as_str(), self.add_h3.as_str()],
        );
        j.expect(
            "the join announces h1",
            is_record(&self.record_h1, ALLOW, &[self.h1]),
            record_wanted(ALLOW, &[self.h1]),
            record_text(&self.record_h1),
        );
        j.expect_eq("with h1: h1's datagram only", &names(&[H1]), &self.with_h1);
        j.expect(
            "adding h3 announces h3",
            self.record_h3
                .as_ref()
                .is_some_and(|r| r.kind == ALLOW && r.sources.contains(&IpAddr::V4(self.h3))),
            format!(
                "{} (with h1 too while it is repeated)",
                record_wanted(ALLOW, &[self.h3])
            ),
            record_text(&self.record_h3),
        );
        j.expect_eq("with h1 and h3: both", &names(&[H1, H3]), &self.with_both);
        sentinel_check(&mut j, "h2", &self.sentinels);
        j.verdict(
            Verdict::holds_if(self.with_h1 == names(&[H1]) && self.with_both == names(&[H1, H3])),
            format!(
                "with h1 ({}) as the source h2 received from {}; with h3 added too, from {}; the \
                 records: {}, then {}",
                self.h1,
                listed(&self.with_h1),
                listed(&self.with_both),
                record_text(&self.record_h1),
                record_text(&self.record_h3)
            ),
        );
        j.key(format!(
            "source h1: from {}; h1 and h3: from {}",
            listed(&self.with_h1),
            listed(&self.with_both)
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// ip_add_source_membership.over_any_source

/// Three sockets on h2, one group each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverAnySource {
    pub h1: Ipv4Addr,
    /// Joined any-source, then IP_ADD_SOURCE_MEMBERSHIP with h1; what
    /// arrived before and after; the filter getsockopt reads after.
    pub any_then_source: String,
    pub before: Vec<String>,
    pub after: Vec<String>,
    pub filter_after: Option<Filter>,
    /// Joined any-source, h3 blocked, then IP_ADD_SOURCE_MEMBERSHIP h1.
    pub blocked_then_source: String,
    /// Joined source-specific, then IP_ADD_MEMBERSHIP.
    pub source_then_any: String,
    pub sentinels: Vec<Option<String>>,
}

fn add_source_over_any(lab: &mut Lab) -> Result<OverAnySource> {
    const N: u8 = 22;
    let lan = lan(lab, &[2, 3])?;
    let (h1, h3) = (sender_addr(&lan, H1), sender_addr(&lan, H3));
    let iface = lan.h(2).nic().addr;
    let (g1, g2, g3) = (group(N, 1), group(N, 2), group(N, 3));
    let mut senders = Senders::new(&lan, N)?;
    let any = member_on(lan.h(2), "eth0", g1, port(N, 0))?;
    senders.both(to(g1, port(N, 0)))?;
    let before = heard(&any);
    let any_then_source = set(
        &any,
        libc::IP_ADD_SOURCE_MEMBERSHIP,
        &mreq_source(g1, iface, h1),
    );
    senders.both(to(g1, port(N, 0)))?;
    let after = heard(&any);
    let filter_after = get_msfilter(&any, g1, iface).ok();
    let blocked = member_on(lan.h(2), "eth0", g2, port(N, 1))?;
    let block = set(&blocked, libc::IP_BLOCK_SOURCE, &mreq_source(g2, iface, h3));
    anyhow::ensure!(
        block == "ok",
        "IP_BLOCK_SOURCE on an any-source group: {block}"
    );
    let blocked_then_source = set(
        &blocked,
        libc::IP_ADD_SOURCE_MEMBERSHIP,
        &mreq_source(g2, iface, h1),
    );
    let specific = receiver(&lan, N, 2)?;
    let join = set(
        &specific,
        libc::IP_ADD_SOURCE_MEMBERSHIP,
        &mreq_source(g3, iface, h1),
    );
    anyhow::ensure!(join == "ok", "IP_ADD_SOURCE_MEMBERSHIP: {join}");
    let source_then_any = set(&specific, libc::IP_ADD_MEMBERSHIP, &mreq(g3, iface));
    Ok(OverAnySource {
        h1,
        any_then_source,
        before,
        after,
        filter_after,
        blocked_then_source,
        source_then_any,
        sentinels: senders.arrived,
    })
}

fn filter_text(f: &Option<Filter>) -> String {
    match f {
        None => "no filter".into(),
        Some(f) => format!(
            "{} {}",
            if f.mode == libc::MCAST_INCLUDE {
                "INCLUDE"
            } else {
                "EXCLUDE"
            },
            listed(&f.sources)
        ),
    }
}

impl Observation for OverAnySource {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let both = names(&[H1, H3]);
        let h1_only = names(&[H1]);
        j.expect_eq("any-source: both arrive", &both, &self.before);
        j.expect_eq(
            "IP_ADD_SOURCE_MEMBERSHIP on it",
            "ok",
            self.any_then_source.as_str(),
        );
        j.expect_eq("then h1's only", &h1_only, &self.after);
        j.expect_eq(
            "the filter then",
            &filter_text(&Some(Filter {
                mode: libc::MCAST_INCLUDE,
                sources: vec![self.h1],
            })),
            &filter_text(&self.filter_after),
        );
        j.expect_eq(
            "with a source blocked first",
            "EINVAL",
            self.blocked_then_source.as_str(),
        );
        j.expect_eq(
            "IP_ADD_MEMBERSHIP on a source-specific group",
            "EADDRINUSE",
            self.source_then_any.as_str(),
        );
        sentinel_check(&mut j, "h2", &self.sentinels);
        let verdict = if self.any_then_source != "ok" {
            Verdict::Differs
        } else {
            Verdict::holds_if(self.after == h1_only)
        };
        j.verdict(
            verdict,
            format!(
                "joined any-source, h2 received from {}; IP_ADD_SOURCE_MEMBERSHIP h1 gave {}, and then \
                 from {} (filter {}); with a source blocked first it gave {}; IP_ADD_MEMBERSHIP on a \
                 source-specific group gave {}",
                listed(&self.before),
                self.any_then_source,
                listed(&self.after),
                filter_text(&self.filter_after),
                self.blocked_then_source,
                self.source_then_any
            ),
        );
        j.key(format!(
            "on an any-source join: {}, then from {}",
            self.any_then_source,
            listed(&self.after)
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// ip_drop_source_membership.remaining_sources

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RemainingSources {
    pub h1: Ipv4Addr,
    /// Subscribed to h1 and h3, h2 drops h1: the result, the record naming
    /// h1 that followed, what arrived.
    pub drop_h1: String,
    pub record: Option<GroupRecord>,
    pub after_drop: Vec<String>,
    /// Dropping h1 again.
    pub drop_h1_again: String,
    /// IP_DROP_MEMBERSHIP; whether /proc/net/igmp still lists the group;
    /// what arrived after.
    pub drop_membership: String,
    pub listed_after_leave: bool,
    pub after_leave: Vec<String>,
    pub sentinels: Vec<Option<String>>,
}

fn drop_source_remaining(lab: &mut Lab) -> Result<RemainingSources> {
    const N: u8 = 23;
    let lan = lan(lab, &[2, 3])?;
    let (h1, h3) = (sender_addr(&lan, H1), sender_addr(&lan, H3));
    let iface = lan.h(2).nic().addr;
    let g = group(N, 1);
    let rx = receiver(&lan, N, 0)?;
    let mut senders = Senders::new(&lan, N)?;
    let mut cap = lan.h(2).host.run(|| Capture::start("eth0"))??;
    for source in [h1, h3] {
        let r = set(
            &rx,
            libc::IP_ADD_SOURCE_MEMBERSHIP,
            &mreq_source(g, iface, source),
        );
        anyhow::ensure!(r == "ok", "IP_ADD_SOURCE_MEMBERSHIP {source}: {r}");
    }
    let seen = cap.count()?;
    let drop_h1 = set(
        &rx,
        libc::IP_DROP_SOURCE_MEMBERSHIP,
        &mreq_source(g, iface, h1),
    );
    let record = wait_record(&mut cap, seen, |r| {
        r.group == IpAddr::V4(g) && r.kind == BLOCK && r.sources.contains(&IpAddr::V4(h1))
    })?;
    senders.both(to(g, port(N, 0)))?;
    let after_drop = heard(&rx);
    let drop_h1_again = set(
        &rx,
        libc::IP_DROP_SOURCE_MEMBERSHIP,
        &mreq_source(g, iface, h1),
    );
    let drop_membership = set(&rx, libc::IP_DROP_MEMBERSHIP, &mreq(g, iface));
    let listed_after_leave = lan.h(2).host.run(|| joined_groups("eth0"))??.contains(&g);
    senders.both(to(g, port(N, 0)))?;
    Ok(RemainingSources {
        h1,
        drop_h1,
        record,
        after_drop,
        drop_h1_again,
        drop_membership,
        listed_after_leave,
        after_leave: heard(&rx),
        sentinels: senders.arrived,
    })
}

impl Observation for RemainingSources {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("dropping h1", "ok", self.drop_h1.as_str());
        j.expect(
            "the drop announces h1",
            is_record(&self.record, BLOCK, &[self.h1]),
            record_wanted(BLOCK, &[self.h1]),
            record_text(&self.record),
        );
        j.expect_eq("then h3's only", &names(&[H3]), &self.after_drop);
        j.expect_eq(
            "dropping h1 again",
            "EADDRNOTAVAIL",
            self.drop_h1_again.as_str(),
        );
        j.expect_eq("IP_DROP_MEMBERSHIP", "ok", self.drop_membership.as_str());
        j.expect_eq(
            "/proc/net/igmp lists the group after IP_DROP_MEMBERSHIP",
            &false,
            &self.listed_after_leave,
        );
        j.expect(
            "nothing after IP_DROP_MEMBERSHIP",
            self.after_leave.is_empty(),
            "nothing",
            listed(&self.after_leave),
        );
        sentinel_check(&mut j, "h2", &self.sentinels);
        j.verdict(
            Verdict::holds_if(self.after_drop == names(&[H3]) && self.after_leave.is_empty()),
            format!(
                "subscribed to h1 and h3, after dropping h1 ({}, {}) h2 received from {}; after \
                 IP_DROP_MEMBERSHIP ({}) from {}",
                self.drop_h1,
                record_text(&self.record),
                listed(&self.after_drop),
                self.drop_membership,
                listed(&self.after_leave)
            ),
        );
        j.key(format!(
            "h1 dropped: from {}; all dropped: from {}",
            listed(&self.after_drop),
            listed(&self.after_leave)
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// ip_block_source.after_either_join

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockAfterJoin {
    pub h3: Ipv4Addr,
    /// After IP_ADD_MEMBERSHIP: blocking h3, the record naming h3, what
    /// arrived.
    pub after_any_join: String,
    pub record: Option<GroupRecord>,
    pub heard: Vec<String>,
    /// On a group not joined.
    pub not_joined: String,
    /// After IP_ADD_SOURCE_MEMBERSHIP with h1.
    pub after_source_join: String,
    pub sentinels: Vec<Option<String>>,
}

fn block_after_either_join(lab: &mut Lab) -> Result<BlockAfterJoin> {
    const N: u8 = 24;
    let lan = lan(lab, &[2, 3])?;
    let (h1, h3) = (sender_addr(&lan, H1), sender_addr(&lan, H3));
    let iface = lan.h(2).nic().addr;
    let (g1, g2, g3) = (group(N, 1), group(N, 2), group(N, 3));
    let mut senders = Senders::new(&lan, N)?;
    let mut cap = lan.h(2).host.run(|| Capture::start("eth0"))??;
    let any = member_on(lan.h(2), "eth0", g1, port(N, 0))?;
    let seen = cap.count()?;
    let after_any_join = set(&any, libc::IP_BLOCK_SOURCE, &mreq_source(g1, iface, h3));
    let record = wait_record(&mut cap, seen, |r| {
        r.group == IpAddr::V4(g1) && keeps_out(r, h3)
    })?;
    senders.both(to(g1, port(N, 0)))?;
    let unjoined = receiver(&lan, N, 1)?;
    let not_joined = set(
        &unjoined,
        libc::IP_BLOCK_SOURCE,
        &mreq_source(g2, iface, h3),
    );
    let specific = receiver(&lan, N, 2)?;
    let join = set(
        &specific,
        libc::IP_ADD_SOURCE_MEMBERSHIP,
        &mreq_source(g3, iface, h1),
    );
    anyhow::ensure!(join == "ok", "IP_ADD_SOURCE_MEMBERSHIP: {join}");
    Ok(BlockAfterJoin {
        h3,
        after_any_join,
        record,
        heard: heard(&any),
        not_joined,
        after_source_join: set(
            &specific,
            libc::IP_BLOCK_SOURCE,
            &mreq_source(g3, iface, h3),
        ),
        sentinels: senders.arrived,
    })
}

impl Observation for BlockAfterJoin {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "blocking h3 after IP_ADD_MEMBERSHIP",
            "ok",
            self.after_any_join.as_str(),
        );
        j.expect(
            "the block announces h3",
            self.record.as_ref().is_some_and(|r| keeps_out(r, self.h3)),
            format!(
                "{}, or {} while the join's change is repeated",
                record_wanted(BLOCK, &[self.h3]),
                record_wanted(TO_EXCLUDE, &[self.h3])
            ),
            record_text(&self.record),
        );
        j.expect_eq("then h1's only", &names(&[H1]), &self.heard);
        j.expect_eq("on a group not joined", "EINVAL", self.not_joined.as_str());
        j.expect_eq(
            "after IP_ADD_SOURCE_MEMBERSHIP",
            "EINVAL",
            self.after_source_join.as_str(),
        );
        sentinel_check(&mut j, "h2", &self.sentinels);
        let blocks = self.after_any_join == "ok" && self.heard == names(&[H1]);
        let verdict = if !blocks {
            Verdict::Refuted
        } else if self.after_source_join == "ok" && self.not_joined != "ok" {
            Verdict::Holds
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "after IP_ADD_MEMBERSHIP blocking h3 gave {} ({}) and h2 received from {}; on a group not \
                 joined it gave {}; after IP_ADD_SOURCE_MEMBERSHIP, which the page names as the other way \
                 to join first, {}",
                self.after_any_join,
                record_text(&self.record),
                listed(&self.heard),
                self.not_joined,
                self.after_source_join
            ),
        );
        j.key(format!(
            "after an any-source join: from {}; after a source join: {}",
            listed(&self.heard),
            self.after_source_join
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// ip_unblock_source.not_blocked

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnblockNotBlocked {
    pub h3: Ipv4Addr,
    /// Joined any-source with h3 blocked: what arrived.
    pub blocked: Vec<String>,
    /// Unblocking h3: the result, the record naming h3, what arrived.
    pub unblock: String,
    pub record: Option<GroupRecord>,
    pub unblocked: Vec<String>,
    /// Unblocking h3 again; h1, never blocked; on a group not joined.
    pub again: String,
    pub never_blocked: String,
    pub not_joined: String,
    pub sentinels: Vec<Option<String>>,
}

fn unblock_not_blocked(lab: &mut Lab) -> Result<UnblockNotBlocked> {
    const N: u8 = 25;
    let lan = lan(lab, &[2, 3])?;
    let (h1, h3) = (sender_addr(&lan, H1), sender_addr(&lan, H3));
    let iface = lan.h(2).nic().addr;
    let (g, g2) = (group(N, 1), group(N, 2));
    let mut senders = Senders::new(&lan, N)?;
    let mut cap = lan.h(2).host.run(|| Capture::start("eth0"))??;
    let rx = member_on(lan.h(2), "eth0", g, port(N, 0))?;
    let block = set(&rx, libc::IP_BLOCK_SOURCE, &mreq_source(g, iface, h3));
    anyhow::ensure!(block == "ok", "IP_BLOCK_SOURCE: {block}");
    senders.both(to(g, port(N, 0)))?;
    let blocked = heard(&rx);
    let seen = cap.count()?;
    let unblock = set(&rx, libc::IP_UNBLOCK_SOURCE, &mreq_source(g, iface, h3));
    let record = wait_record(&mut cap, seen, |r| {
        r.group == IpAddr::V4(g) && lets_in(r, h3)
    })?;
    senders.both(to(g, port(N, 0)))?;
    let unblocked = heard(&rx);
    let unjoined = receiver(&lan, N, 1)?;
    Ok(UnblockNotBlocked {
        h3,
        blocked,
        unblock,
        record,
        unblocked,
        again: set(&rx, libc::IP_UNBLOCK_SOURCE, &mreq_source(g, iface, h3)),
        never_blocked: set(&rx, libc::IP_UNBLOCK_SOURCE, &mreq_source(g, iface, h1)),
        not_joined: set(
            &unjoined,
            libc::IP_UNBLOCK_SOURCE,
            &mreq_source(g2, iface, h3),
        ),
        sentinels: senders.arrived,
    })
}

impl Observation for UnblockNotBlocked {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let both = names(&[H1, H3]);
        j.expect_eq("h3 blocked: h1's only", &names(&[H1]), &self.blocked);
        j.expect_eq("unblocking h3", "ok", self.unblock.as_str());
        j.expect(
            "the unblock announces h3",
            self.record.as_ref().is_some_and(|r| lets_in(r, self.h3)),
            format!(
                "{}, or {} without it while the join's change is repeated",
                record_wanted(ALLOW, &[self.h3]),
                record_name(TO_EXCLUDE)
            ),
            record_text(&self.record),
        );
        j.expect_eq("then both", &both, &self.unblocked);
        j.expect_eq(
            "unblocking h3 again, and h1 never blocked",
            &["EADDRNOTAVAIL", "EADDRNOTAVAIL"],
            &[self.again.as_str(), self.never_blocked.as_str()],
        );
        j.expect_eq("on a group not joined", "EINVAL", self.not_joined.as_str());
        sentinel_check(&mut j, "h2", &self.sentinels);
        let not_blocked = [&self.again, &self.never_blocked];
        let verdict = if self.unblocked != both
            || not_blocked.iter().any(|r| r.as_str() != "EADDRNOTAVAIL")
        {
            Verdict::Refuted
        } else if self.not_joined == "EADDRNOTAVAIL" {
            Verdict::Holds
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "with h3 blocked h2 received from {}; unblocking it gave {} ({}), then from {}; a source \
                 not blocked: {} (h3 again), {} (h1); on a group the socket did not join: {}",
                listed(&self.blocked),
                self.unblock,
                record_text(&self.record),
                listed(&self.unblocked),
                self.again,
                self.never_blocked,
                self.not_joined
            ),
        );
        j.key(format!(
            "not blocked: {}; group not joined: {}",
            self.again, self.not_joined
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// ip_msfilter.modes

/// A source filter read back with getsockopt(IP_MSFILTER): the filter, or
/// the errno name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FilterRead {
    pub result: String,
    pub filter: Option<Filter>,
}

impl FilterRead {
    fn of(r: std::io::Result<Filter>) -> FilterRead {
        FilterRead {
            result: result_name(&r),
            filter: r.ok(),
        }
    }

    fn text(&self) -> String {
        match &self.filter {
            Some(_) => filter_text(&self.filter),
            None => self.result.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MsfilterModes {
    pub h1: Ipv4Addr,
    /// IP_MSFILTER INCLUDE h1 on a joined group: result, record, filter
    /// read back, what arrived.
    pub include: String,
    pub include_record: Option<GroupRecord>,
    pub include_read: FilterRead,
    pub with_include: Vec<String>,
    /// IP_MSFILTER EXCLUDE h1: the same.
    pub exclude: String,
    pub exclude_record: Option<GroupRecord>,
    pub exclude_read: FilterRead,
    pub with_exclude: Vec<String>,
    /// IP_MSFILTER INCLUDE with no sources; the filter read after it;
    /// whether /proc/net/igmp still lists the group.
    pub empty_include: String,
    pub after_empty: FilterRead,
    pub listed_after_empty: bool,
    /// IP_MSFILTER on a group not joined.
    pub not_joined: String,
    pub sentinels: Vec<Option<String>>,
}

fn msfilter_modes(lab: &mut Lab) -> Result<MsfilterModes> {
    const N: u8 = 26;
    let lan = lan(lab, &[2, 3])?;
    let h1 = sender_addr(&lan, H1);
    let iface = lan.h(2).nic().addr;
    let (g, g2) = (group(N, 1), group(N, 2));
    let mut senders = Senders::new(&lan, N)?;
    let mut cap = lan.h(2).host.run(|| Capture::start("eth0"))??;
    let rx = member_on(lan.h(2), "eth0", g, port(N, 0))?;
    let filter = |mode: i32, sources: &[Ipv4Addr]| {
        set(&rx, libc::IP_MSFILTER, &msfilter(g, iface, mode, sources))
    };
    let mut seen = cap.count()?;
    let include = filter(libc::MCAST_INCLUDE, &[h1]);
    let include_record = wait_record(&mut cap, seen, |r| {
        r.group == IpAddr::V4(g) && r.kind == TO_INCLUDE && !r.sources.is_empty()
    })?;
    let include_read = FilterRead::of(get_msfilter(&rx, g, iface));
    senders.both(to(g, port(N, 0)))?;
    let with_include = heard(&rx);
    seen = cap.count()?;
    let exclude = filter(libc::MCAST_EXCLUDE, &[h1]);
    let exclude_record = wait_record(&mut cap, seen, |r| {
        r.group == IpAddr::V4(g) && r.kind == TO_EXCLUDE
    })?;
    let exclude_read = FilterRead::of(get_msfilter(&rx, g, iface));
    senders.both(to(g, port(N, 0)))?;
    let with_exclude = heard(&rx);
    let empty_include = filter(libc::MCAST_INCLUDE, &[]);
    let after_empty = FilterRead::of(get_msfilter(&rx, g, iface));
    let listed_after_empty = lan.h(2).host.run(|| joined_groups("eth0"))??.contains(&g);
    let unjoined = receiver(&lan, N, 1)?;
    Ok(MsfilterModes {
        h1,
        include,
        include_record,
        include_read,
        with_include,
        exclude,
        exclude_record,
        exclude_read,
        with_exclude,
        empty_include,
        after_empty,
        listed_after_empty,
        not_joined: set(
            &unjoined,
            libc::IP_MSFILTER,
            &msfilter(g2, iface, libc::MCAST_INCLUDE, &[h1]),
        ),
        sentinels: senders.arrived,
    })
}

impl Observation for MsfilterModes {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let read = |mode: i32| FilterRead {
            result: "ok".into(),
            filter: Some(Filter {
                mode,
                sources: vec![self.h1],
            }),
        };
        j.expect_eq(
            "IP_MSFILTER INCLUDE h1, EXCLUDE h1, INCLUDE nothing",
            &["ok", "ok", "ok"],
            &[
                self.include.as_str(),
                self.exclude.as_str(),
                self.empty_include.as_str(),
            ],
        );
        j.expect(
            "INCLUDE announces its sources",
            is_record(&self.include_record, TO_INCLUDE, &[self.h1]),
            record_wanted(TO_INCLUDE, &[self.h1]),
            record_text(&self.include_record),
        );
        j.expect_eq(
            "INCLUDE reads back",
            &read(libc::MCAST_INCLUDE).text(),
            &self.include_read.text(),
        );
        j.expect_eq("INCLUDE h1: h1's only", &names(&[H1]), &self.with_include);
        j.expect(
            "EXCLUDE announces its sources",
            is_record(&self.exclude_record, TO_EXCLUDE, &[self.h1]),
            record_wanted(TO_EXCLUDE, &[self.h1]),
            record_text(&self.exclude_record),
        );
        j.expect_eq(
            "EXCLUDE reads back",
            &read(libc::MCAST_EXCLUDE).text(),
            &self.exclude_read.text(),
        );
        j.expect_eq("EXCLUDE h1: h3's only", &names(&[H3]), &self.with_exclude);
        j.expect_eq(
            "INCLUDE nothing leaves: getsockopt, /proc/net/igmp",
            &("EADDRNOTAVAIL".to_string(), false),
            &(self.after_empty.text(), self.listed_after_empty),
        );
        j.expect_eq("on a group not joined", "EINVAL", self.not_joined.as_str());
        sentinel_check(&mut j, "h2", &self.sentinels);
        j.verdict(
            Verdict::holds_if(
                self.with_include == names(&[H1]) && self.with_exclude == names(&[H3]),
            ),
            format!(
                "INCLUDE h1 ({}, read back {}): h2 received from {}; EXCLUDE h1 ({}, read back {}): from \
                 {}; INCLUDE with no sources {} and left the group (read back {})",
                record_text(&self.include_record),
                self.include_read.text(),
                listed(&self.with_include),
                record_text(&self.exclude_record),
                self.exclude_read.text(),
                listed(&self.with_exclude),
                self.empty_include,
                self.after_empty.text()
            ),
        );
        j.key(format!(
            "INCLUDE h1: from {}; EXCLUDE h1: from {}",
            listed(&self.with_include),
            listed(&self.with_exclude)
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// ip_msfilter.max_msf

const MAX_MSF: &str = "net/ipv4/igmp_max_msf";

/// Source filters on the loopback of the case's namespace with
/// net.ipv4.igmp_max_msf lowered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaxMsf {
    pub default_limit: i64,
    pub limit: i64,
    /// IP_MSFILTER INCLUDE with limit + 1 sources, then with limit sources;
    /// how many sources getsockopt then reads.
    pub over_limit: String,
    pub at_limit: String,
    pub read_back: usize,
    /// IP_ADD_SOURCE_MEMBERSHIP of limit + 1 sources on another group, in turn.
    pub source_joins: Vec<String>,
}

fn msfilter_max_msf(_lab: &mut Lab) -> Result<MaxMsf> {
    const N: u8 = 27;
    const LIMIT: i64 = 2;
    let default_limit = procnet::sysctl_int(MAX_MSF)?;
    procnet::set_sysctl(MAX_MSF, &LIMIT.to_string())?;
    let lo = Ipv4Addr::LOCALHOST;
    let sources: Vec<Ipv4Addr> = (1..=LIMIT as u8 + 1)
        .map(|x| Ipv4Addr::new(192, 0, 2, x))
        .collect();
    let (g1, g2) = (group(N, 1), group(N, 2));
    let s = Sock::udp(Family::V4)?;
    let join = set(&s, libc::IP_ADD_MEMBERSHIP, &mreq(g1, lo));
    anyhow::ensure!(join == "ok", "IP_ADD_MEMBERSHIP on lo: {join}");
    let filter = |n: usize| {
        set(
            &s,
            libc::IP_MSFILTER,
            &msfilter(g1, lo, libc::MCAST_INCLUDE, &sources[..n]),
        )
    };
    let over_limit = filter(sources.len());
    let at_limit = filter(LIMIT as usize);
    let read_back = get_msfilter(&s, g1, lo).map_or(0, |f| f.sources.len());
    let t = Sock::udp(Family::V4)?;
    let source_joins = sources
        .iter()
        .map(|src| {
            set(
                &t,
                libc::IP_ADD_SOURCE_MEMBERSHIP,
                &mreq_source(g2, lo, *src),
            )
        })
        .collect();
    Ok(MaxMsf {
        default_limit,
        limit: LIMIT,
        over_limit,
        at_limit,
        read_back,
        source_joins,
    })
}

impl Observation for MaxMsf {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("igmp_max_msf default", &10, &self.default_limit);
        j.expect_eq(
            "IP_MSFILTER beyond the limit, then at it",
            &["ENOBUFS", "ok"],
            &[self.over_limit.as_str(), self.at_limit.as_str()],
        );
        j.expect_eq(
            "sources read back",
            &(self.limit.max(0) as usize),
            &self.read_back,
        );
        let mut joins = vec!["ok".to_string(); self.limit.max(0) as usize];
        joins.push("ENOBUFS".into());
        j.expect_eq(
            "IP_ADD_SOURCE_MEMBERSHIP up to the limit, then beyond",
            &joins,
            &self.source_joins,
        );
        let refused = self.over_limit != "ok" || self.source_joins.iter().any(|r| r != "ok");
        j.verdict(
            if refused {
                Verdict::Differs
            } else {
                Verdict::Holds
            },
            format!(
                "with net.ipv4.igmp_max_msf {} (default {}), IP_MSFILTER with {} sources gave {} and with \
                 {} gave {}; IP_ADD_SOURCE_MEMBERSHIP of {} sources gave {}",
                self.limit,
                self.default_limit,
                self.limit + 1,
                self.over_limit,
                self.limit,
                self.at_limit,
                self.limit + 1,
                listed(&self.source_joins)
            ),
        );
        j.key(format!(
            "limit {}: {} sources {}; source joins {}",
            self.limit,
            self.limit + 1,
            self.over_limit,
            listed(&self.source_joins)
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
            group: "239.11.21.1".parse().unwrap(),
            sources: sources.iter().map(|s| s.parse().unwrap()).collect(),
        })
    }

    const H1_ADDR: &str = "198.51.100.11";
    const H3_ADDR: &str = "198.51.100.13";
    const SENTINEL_H2: &str = "later datagrams reach h2 (nothing earlier is still coming)";

    fn listed_sources(change: impl FnOnce(&mut ListedSources)) -> ListedSources {
        from(
            json!({"add_h1": "ok", "add_h3": "ok", "h1": "198.51.100.11", "h3": "198.51.100.13",
                   "record_h1": {"group": "239.11.21.1", "kind": 5, "sources": ["198.51.100.11"]},
                   "record_h3": {"group": "239.11.21.1", "kind": 5, "sources": ["198.51.100.11", "198.51.100.13"]},
                   "sentinels": ["sentinel", "sentinel", "sentinel", "sentinel"], "with_both": ["h1", "h3"],
                   "with_h1": ["h1"]}),
            change,
        )
    }

    const ANNOUNCES_H1: &str = "the join announces h1";
    const ANNOUNCES_H3: &str = "adding h3 announces h3";

    #[rstest]
    #[case::linux(listed_sources(|_| ()), Verdict::Holds, &[])]
    // A stack that joins any-source: h3 comes from the start.
    #[case::any_source(listed_sources(|o| o.with_h1 = names(&[H1, H3])), Verdict::Refuted,
        &["with h1: h1's datagram only"])]
    // A second call that replaces the source instead of adding one.
    #[case::replaces(listed_sources(|o| o.with_both = names(&[H3])), Verdict::Refuted, &["with h1 and h3: both"])]
    #[case::second_refused(listed_sources(|o| o.add_h3 = "EADDRINUSE".into()), Verdict::Holds,
        &["IP_ADD_SOURCE_MEMBERSHIP h1, then h3"])]
    #[case::no_record(listed_sources(|o| o.record_h1 = None), Verdict::Holds, &[ANNOUNCES_H1])]
    #[case::exclude_record(listed_sources(|o| o.record_h1 = record(TO_EXCLUDE, &[H1_ADDR])), Verdict::Holds,
        &[ANNOUNCES_H1])]
    #[case::record_too_wide(listed_sources(|o| o.record_h1 = record(ALLOW, &[H1_ADDR, H3_ADDR])), Verdict::Holds,
        &[ANNOUNCES_H1])]
    #[case::h3_alone(listed_sources(|o| o.record_h3 = record(ALLOW, &[H3_ADDR])), Verdict::Holds, &[])]
    #[case::h3_blocked(listed_sources(|o| o.record_h3 = record(BLOCK, &[H3_ADDR])), Verdict::Holds, &[ANNOUNCES_H3])]
    #[case::h3_unnamed(listed_sources(|o| o.record_h3 = record(ALLOW, &[H1_ADDR])), Verdict::Holds, &[ANNOUNCES_H3])]
    #[case::h3_silent(listed_sources(|o| o.record_h3 = None), Verdict::Holds, &[ANNOUNCES_H3])]
    #[case::sentinel_lost(listed_sources(|o| o.sentinels[3] = None), Verdict::Holds, &[SENTINEL_H2])]
    fn listed_judgement(#[case] o: ListedSources, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn listed_says_the_records() {
        let j = listed_sources(|_| ()).judge();
        assert_eq!("source h1: from h1; h1 and h3: from h1, h3", j.key);
        assert_eq!(
            "with h1 (198.51.100.11) as the source h2 received from h1; with h3 added too, from h1, h3; \
             the records: ALLOW_NEW_SOURCES 198.51.100.11, then ALLOW_NEW_SOURCES 198.51.100.11, \
             198.51.100.13",
            j.because
        );
        assert_eq!("no record", record_text(&None));
        assert_eq!(
            "CHANGE_TO_EXCLUDE with no sources",
            record_text(&record(TO_EXCLUDE, &[]))
        );
    }

    fn over_any(change: impl FnOnce(&mut OverAnySource)) -> OverAnySource {
        from(
            json!({"after": ["h1"], "any_then_source": "ok", "before": ["h1", "h3"],
                   "blocked_then_source": "EINVAL", "filter_after": {"mode": 1, "sources": ["198.51.100.11"]},
                   "h1": "198.51.100.11", "sentinels": ["sentinel", "sentinel", "sentinel", "sentinel"],
                   "source_then_any": "EADDRINUSE"}),
            change,
        )
    }

    const ON_IT: &str = "IP_ADD_SOURCE_MEMBERSHIP on it";
    const THEN_H1: &str = "then h1's only";
    const FILTER: &str = "the filter then";

    #[rstest]
    #[case::linux(over_any(|_| ()), Verdict::Holds, &[])]
    // A kernel that refuses a source on an any-source group and keeps the group as it was.
    #[case::refused(over_any(|o| {
        o.any_then_source = "EINVAL".into(); o.after = names(&[H1, H3]);
        o.filter_after = Some(Filter { mode: libc::MCAST_EXCLUDE, sources: vec![] });
    }), Verdict::Differs, &[ON_IT, THEN_H1, FILTER])]
    #[case::taken_but_ignored(over_any(|o| o.after = names(&[H1, H3])), Verdict::Refuted, &[THEN_H1])]
    #[case::before_h1_only(over_any(|o| o.before = names(&[H1])), Verdict::Holds, &["any-source: both arrive"])]
    #[case::filter_unread(over_any(|o| o.filter_after = None), Verdict::Holds, &[FILTER])]
    #[case::filter_exclude(over_any(|o| o.filter_after = Some(Filter { mode: libc::MCAST_EXCLUDE,
        sources: vec![H1_ADDR.parse().unwrap()] })), Verdict::Holds, &[FILTER])]
    #[case::blocked_taken(over_any(|o| o.blocked_then_source = "ok".into()), Verdict::Holds,
        &["with a source blocked first"])]
    #[case::any_over_specific(over_any(|o| o.source_then_any = "ok".into()), Verdict::Holds,
        &["IP_ADD_MEMBERSHIP on a source-specific group"])]
    #[case::sentinel_lost(over_any(|o| o.sentinels[0] = None), Verdict::Holds, &[SENTINEL_H2])]
    fn over_any_judgement(#[case] o: OverAnySource, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn over_any_says_the_filter() {
        let j = over_any(|_| ()).judge();
        assert_eq!("on an any-source join: ok, then from h1", j.key);
        assert_eq!(
            "joined any-source, h2 received from h1, h3; IP_ADD_SOURCE_MEMBERSHIP h1 gave ok, and then \
             from h1 (filter INCLUDE 198.51.100.11); with a source blocked first it gave EINVAL; \
             IP_ADD_MEMBERSHIP on a source-specific group gave EADDRINUSE",
            j.because
        );
        assert_eq!("no filter", filter_text(&None));
        let exclude = Filter {
            mode: libc::MCAST_EXCLUDE,
            sources: vec![],
        };
        assert_eq!("EXCLUDE nothing", filter_text(&Some(exclude)));
    }

    fn remaining(change: impl FnOnce(&mut RemainingSources)) -> RemainingSources {
        from(
            json!({"after_drop": ["h3"], "after_leave": [], "drop_h1": "ok", "drop_h1_again": "EADDRNOTAVAIL",
                   "drop_membership": "ok", "h1": "198.51.100.11", "listed_after_leave": false,
                   "record": {"group": "239.11.23.1", "kind": 6, "sources": ["198.51.100.11"]},
                   "sentinels": ["sentinel", "sentinel", "sentinel", "sentinel"]}),
            change,
        )
    }

    const THEN_H3: &str = "then h3's only";
    const NOTHING_AFTER_LEAVE: &str = "nothing after IP_DROP_MEMBERSHIP";

    #[rstest]
    #[case::linux(remaining(|_| ()), Verdict::Holds, &[])]
    // A stack that ignores the drop of one source.
    #[case::drop_ignored(remaining(|o| { o.after_drop = names(&[H1, H3]); o.record = None; }), Verdict::Refuted,
        &["the drop announces h1", THEN_H3])]
    // One that drops every source with the first.
    #[case::drops_all(remaining(|o| o.after_drop = vec![]), Verdict::Refuted, &[THEN_H3])]
    #[case::leave_ignored(remaining(|o| { o.after_leave = names(&[H3]); o.listed_after_leave = true; }),
        Verdict::Refuted, &["/proc/net/igmp lists the group after IP_DROP_MEMBERSHIP", NOTHING_AFTER_LEAVE])]
    #[case::drop_refused(remaining(|o| o.drop_h1 = "EINVAL".into()), Verdict::Holds, &["dropping h1"])]
    #[case::wrong_record(remaining(|o| o.record = record(BLOCK, &[H3_ADDR])), Verdict::Holds,
        &["the drop announces h1"])]
    #[case::again_taken(remaining(|o| o.drop_h1_again = "ok".into()), Verdict::Holds, &["dropping h1 again"])]
    #[case::leave_refused(remaining(|o| o.drop_membership = "EADDRNOTAVAIL".into()), Verdict::Holds,
        &["IP_DROP_MEMBERSHIP"])]
    #[case::sentinel_lost(remaining(|o| o.sentinels[2] = None), Verdict::Holds, &[SENTINEL_H2])]
    fn remaining_judgement(
        #[case] o: RemainingSources,
        #[case] v: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn remaining_says_what_came() {
        let j = remaining(|_| ()).judge();
        assert_eq!("h1 dropped: from h3; all dropped: from nothing", j.key);
        assert_eq!(
            "subscribed to h1 and h3, after dropping h1 (ok, BLOCK_OLD_SOURCES 198.51.100.11) h2 received \
             from h3; after IP_DROP_MEMBERSHIP (ok) from nothing",
            j.because
        );
    }

    fn block(change: impl FnOnce(&mut BlockAfterJoin)) -> BlockAfterJoin {
        from(
            json!({"after_any_join": "ok", "after_source_join": "EINVAL", "h3": "198.51.100.13",
                   "heard": ["h1"], "not_joined": "EINVAL",
                   "record": {"group": "239.11.24.1", "kind": 4, "sources": ["198.51.100.13"]},
                   "sentinels": ["sentinel", "sentinel"]}),
            change,
        )
    }

    const AFTER_SOURCE: &str = "after IP_ADD_SOURCE_MEMBERSHIP";
    const BLOCK_ANNOUNCED: &str = "the block announces h3";

    #[rstest]
    #[case::linux(block(|_| ()), Verdict::Differs, &[])]
    // The page's world: a block after a source join is taken.
    #[case::page(block(|o| o.after_source_join = "ok".into()), Verdict::Holds, &[AFTER_SOURCE])]
    #[case::no_join_needed(block(|o| (o.after_source_join, o.not_joined) = ("ok".into(), "ok".into())),
        Verdict::Differs, &["on a group not joined", AFTER_SOURCE])]
    #[case::block_ignored(block(|o| o.heard = names(&[H1, H3])), Verdict::Refuted, &["then h1's only"])]
    #[case::block_refused(block(|o| o.after_any_join = "EINVAL".into()), Verdict::Refuted,
        &["blocking h3 after IP_ADD_MEMBERSHIP"])]
    #[case::block_old_sources(block(|o| o.record = record(BLOCK, &[H3_ADDR])), Verdict::Differs, &[])]
    #[case::names_h1(block(|o| o.record = record(BLOCK, &[H1_ADDR])), Verdict::Differs, &[BLOCK_ANNOUNCED])]
    #[case::allows_h3(block(|o| o.record = record(ALLOW, &[H3_ADDR])), Verdict::Differs, &[BLOCK_ANNOUNCED])]
    #[case::silent(block(|o| o.record = None), Verdict::Differs, &[BLOCK_ANNOUNCED])]
    #[case::sentinel_lost(block(|o| o.sentinels[1] = None), Verdict::Differs, &[SENTINEL_H2])]
    fn block_judgement(#[case] o: BlockAfterJoin, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn block_says_both_joins() {
        let j = block(|_| ()).judge();
        assert_eq!(
            "after an any-source join: from h1; after a source join: EINVAL",
            j.key
        );
        assert_eq!(
            "after IP_ADD_MEMBERSHIP blocking h3 gave ok (CHANGE_TO_EXCLUDE 198.51.100.13) and h2 received \
             from h1; on a group not joined it gave EINVAL; after IP_ADD_SOURCE_MEMBERSHIP, which the page \
             names as the other way to join first, EINVAL",
            j.because
        );
    }

    fn unblock(change: impl FnOnce(&mut UnblockNotBlocked)) -> UnblockNotBlocked {
        from(
            json!({"again": "EADDRNOTAVAIL", "blocked": ["h1"], "h3": "198.51.100.13",
                   "never_blocked": "EADDRNOTAVAIL", "not_joined": "EINVAL",
                   "record": {"group": "239.11.25.1", "kind": 4, "sources": []},
                   "sentinels": ["sentinel", "sentinel", "sentinel", "sentinel"], "unblock": "ok",
                   "unblocked": ["h1", "h3"]}),
            change,
        )
    }

    const NOT_BLOCKED: &str = "unblocking h3 again, and h1 never blocked";
    const UNBLOCK_ANNOUNCED: &str = "the unblock announces h3";

    #[rstest]
    #[case::linux(unblock(|_| ()), Verdict::Differs, &[])]
    // The page's world: EADDRNOTAVAIL whenever the source is not blocked, joined or not.
    #[case::page(unblock(|o| o.not_joined = "EADDRNOTAVAIL".into()), Verdict::Holds, &["on a group not joined"])]
    #[case::never_blocked_taken(unblock(|o| o.never_blocked = "ok".into()), Verdict::Refuted, &[NOT_BLOCKED])]
    #[case::again_taken(unblock(|o| o.again = "ok".into()), Verdict::Refuted, &[NOT_BLOCKED])]
    #[case::still_blocked(unblock(|o| o.unblocked = names(&[H1])), Verdict::Refuted, &["then both"])]
    #[case::block_ignored(unblock(|o| o.blocked = names(&[H1, H3])), Verdict::Differs, &["h3 blocked: h1's only"])]
    #[case::unblock_refused(unblock(|o| o.unblock = "EINVAL".into()), Verdict::Differs, &["unblocking h3"])]
    #[case::allow_record(unblock(|o| o.record = record(ALLOW, &[H3_ADDR])), Verdict::Differs, &[])]
    #[case::allow_other(unblock(|o| o.record = record(ALLOW, &[H1_ADDR])), Verdict::Differs, &[UNBLOCK_ANNOUNCED])]
    #[case::still_excluded(unblock(|o| o.record = record(TO_EXCLUDE, &[H3_ADDR])), Verdict::Differs,
        &[UNBLOCK_ANNOUNCED])]
    #[case::block_record(unblock(|o| o.record = record(BLOCK, &[])), Verdict::Differs, &[UNBLOCK_ANNOUNCED])]
    #[case::silent(unblock(|o| o.record = None), Verdict::Differs, &[UNBLOCK_ANNOUNCED])]
    #[case::sentinel_lost(unblock(|o| o.sentinels[1] = None), Verdict::Differs, &[SENTINEL_H2])]
    fn unblock_judgement(
        #[case] o: UnblockNotBlocked,
        #[case] v: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn unblock_says_the_errnos() {
        let j = unblock(|_| ()).judge();
        assert_eq!(
            "not blocked: EADDRNOTAVAIL; group not joined: EINVAL",
            j.key
        );
        assert_eq!(
            "with h3 blocked h2 received from h1; unblocking it gave ok (CHANGE_TO_EXCLUDE with no \
             sources), then from h1, h3; a source not blocked: EADDRNOTAVAIL (h3 again), EADDRNOTAVAIL \
             (h1); on a group the socket did not join: EINVAL",
            j.because
        );
    }

    fn modes(change: impl FnOnce(&mut MsfilterModes)) -> MsfilterModes {
        from(
            json!({"after_empty": {"filter": null, "result": "EADDRNOTAVAIL"}, "empty_include": "ok",
                   "exclude": "ok",
                   "exclude_read": {"filter": {"mode": 0, "sources": ["198.51.100.11"]}, "result": "ok"},
                   "exclude_record": {"group": "239.11.26.1", "kind": 4, "sources": ["198.51.100.11"]},
                   "h1": "198.51.100.11", "include": "ok",
                   "include_read": {"filter": {"mode": 1, "sources": ["198.51.100.11"]}, "result": "ok"},
                   "include_record": {"group": "239.11.26.1", "kind": 3, "sources": ["198.51.100.11"]},
                   "listed_after_empty": false, "not_joined": "EINVAL",
                   "sentinels": ["sentinel", "sentinel", "sentinel", "sentinel"], "with_exclude": ["h3"],
                   "with_include": ["h1"]}),
            change,
        )
    }

    const WITH_INCLUDE: &str = "INCLUDE h1: h1's only";
    const WITH_EXCLUDE: &str = "EXCLUDE h1: h3's only";
    const EMPTY_LEAVES: &str = "INCLUDE nothing leaves: getsockopt, /proc/net/igmp";

    #[rstest]
    #[case::linux(modes(|_| ()), Verdict::Holds, &[])]
    // A stack that stores the filter and filters nothing.
    #[case::not_applied(modes(|o| (o.with_include, o.with_exclude) = (names(&[H1, H3]), names(&[H1, H3]))),
        Verdict::Refuted, &[WITH_INCLUDE, WITH_EXCLUDE])]
    // Modes swapped (MCAST_INCLUDE read as exclude).
    #[case::swapped(modes(|o| (o.with_include, o.with_exclude) = (names(&[H3]), names(&[H1]))),
        Verdict::Refuted, &[WITH_INCLUDE, WITH_EXCLUDE])]
    #[case::exclude_only_wrong(modes(|o| o.with_exclude = names(&[H1, H3])), Verdict::Refuted, &[WITH_EXCLUDE])]
    #[case::refused(modes(|o| o.empty_include = "EINVAL".into()), Verdict::Holds,
        &["IP_MSFILTER INCLUDE h1, EXCLUDE h1, INCLUDE nothing"])]
    #[case::include_silent(modes(|o| o.include_record = None), Verdict::Holds, &["INCLUDE announces its sources"])]
    #[case::exclude_as_include(modes(|o| o.exclude_record = record(TO_INCLUDE, &[H1_ADDR])), Verdict::Holds,
        &["EXCLUDE announces its sources"])]
    #[case::include_reads_exclude(modes(|o| o.include_read.filter = Some(Filter { mode: libc::MCAST_EXCLUDE,
        sources: vec![H1_ADDR.parse().unwrap()] })), Verdict::Holds, &["INCLUDE reads back"])]
    #[case::exclude_unread(modes(|o| o.exclude_read = FilterRead { result: "EADDRNOTAVAIL".into(), filter: None }),
        Verdict::Holds, &["EXCLUDE reads back"])]
    #[case::empty_kept(modes(|o| o.after_empty = FilterRead { result: "ok".into(),
        filter: Some(Filter { mode: libc::MCAST_INCLUDE, sources: vec![] }) }), Verdict::Holds, &[EMPTY_LEAVES])]
    #[case::empty_listed(modes(|o| o.listed_after_empty = true), Verdict::Holds, &[EMPTY_LEAVES])]
    #[case::not_joined_taken(modes(|o| o.not_joined = "ok".into()), Verdict::Holds, &["on a group not joined"])]
    #[case::sentinel_lost(modes(|o| o.sentinels[0] = None), Verdict::Holds, &[SENTINEL_H2])]
    fn modes_judgement(#[case] o: MsfilterModes, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn modes_say_the_filters() {
        let j = modes(|_| ()).judge();
        assert_eq!("INCLUDE h1: from h1; EXCLUDE h1: from h3", j.key);
        assert_eq!(
            "INCLUDE h1 (CHANGE_TO_INCLUDE 198.51.100.11, read back INCLUDE 198.51.100.11): h2 received \
             from h1; EXCLUDE h1 (CHANGE_TO_EXCLUDE 198.51.100.11, read back EXCLUDE 198.51.100.11): from \
             h3; INCLUDE with no sources ok and left the group (read back EADDRNOTAVAIL)",
            j.because
        );
    }

    fn max_msf(change: impl FnOnce(&mut MaxMsf)) -> MaxMsf {
        from(
            json!({"at_limit": "ok", "default_limit": 10, "limit": 2, "over_limit": "ENOBUFS", "read_back": 2,
                   "source_joins": ["ok", "ok", "ENOBUFS"]}),
            change,
        )
    }

    const BEYOND: &str = "IP_MSFILTER beyond the limit, then at it";
    const JOINS: &str = "IP_ADD_SOURCE_MEMBERSHIP up to the limit, then beyond";

    #[rstest]
    #[case::linux(max_msf(|_| ()), Verdict::Differs, &[])]
    // The page's world: no limit on n.
    #[case::no_limit(max_msf(|o| { o.over_limit = "ok".into(); o.source_joins[2] = "ok".into(); }),
        Verdict::Holds, &[BEYOND, JOINS])]
    #[case::filter_unlimited(max_msf(|o| o.over_limit = "ok".into()), Verdict::Differs, &[BEYOND])]
    #[case::joins_unlimited(max_msf(|o| o.source_joins[2] = "ok".into()), Verdict::Differs, &[JOINS])]
    #[case::at_limit_refused(max_msf(|o| { o.at_limit = "ENOBUFS".into(); o.read_back = 0; }), Verdict::Differs,
        &[BEYOND, "sources read back"])]
    #[case::one_below(max_msf(|o| o.source_joins[1] = "ENOBUFS".into()), Verdict::Differs, &[JOINS])]
    #[case::another_default(max_msf(|o| o.default_limit = 64), Verdict::Differs, &["igmp_max_msf default"])]
    fn max_msf_judgement(#[case] o: MaxMsf, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn max_msf_says_the_limit() {
        let j = max_msf(|_| ()).judge();
        assert_eq!(
            "limit 2: 3 sources ENOBUFS; source joins ok, ok, ENOBUFS",
            j.key
        );
        assert_eq!(
            "with net.ipv4.igmp_max_msf 2 (default 10), IP_MSFILTER with 3 sources gave ENOBUFS and with 2 \
             gave ok; IP_ADD_SOURCE_MEMBERSHIP of 3 sources gave ok, ok, ENOBUFS",
            j.because
        );
    }

    #[test]
    fn records_that_keep_out_and_let_in() {
        let (h1, h3) = (H1_ADDR.parse().unwrap(), H3_ADDR.parse().unwrap());
        let r = |kind, s: &[&str]| record(kind, s).unwrap();
        assert!(keeps_out(&r(BLOCK, &[H3_ADDR]), h3));
        assert!(keeps_out(&r(TO_EXCLUDE, &[H3_ADDR]), h3));
        assert!(!keeps_out(&r(TO_EXCLUDE, &[H1_ADDR]), h3));
        assert!(!keeps_out(&r(ALLOW, &[H3_ADDR]), h3));
        assert!(lets_in(&r(ALLOW, &[H3_ADDR]), h3));
        assert!(lets_in(&r(TO_EXCLUDE, &[H1_ADDR]), h3));
        assert!(!lets_in(&r(TO_EXCLUDE, &[H3_ADDR]), h3));
        assert!(!lets_in(&r(ALLOW, &[H1_ADDR]), h3));
        assert!(!lets_in(&r(BLOCK, &[]), h1));
        assert!(is_record(
            &record(ALLOW, &[H3_ADDR, H1_ADDR]),
            ALLOW,
            &[h1, h3]
        ));
    }
}
