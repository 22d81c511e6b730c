//! IP multicast across namespaces joined by a bridge (004 §5.3).
//!
//! The LAN (lab::bridge): h1, h2, h3 on segment A (198.51.100.11-13), h1 and
//! h4 on segment B (203.0.113.1, .4). Each case uses its own group and port,
//! so the cases can share one LAN (scripts/netns.sh) and run in parallel.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::lab::bridge::{group_mac, join, joined_groups, mac_text, mreq, Lan, Station};
use crate::lab::opt;
use crate::lab::packet::Packet;
use crate::lab::sock::result_name;
use crate::lab::{phase, procnet, wait, Capture, Family, Lab, Sock};
use crate::model::{Case, Evidence, Legacy, Source, Verdict, DEFAULT_DEADLINE};

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

macro_rules! mcase {
    ($name:ident, $id:literal, $claim:literal, $expect:literal, $run:ident, [$($opt:ident),*]) => {
        pub static $name: Case = Case {
            id: $id,
            source: SRC,
            claim: $claim,
            expectation: $expect,
            run: &Legacy($run),
            deadline: DEFAULT_DEADLINE,
            relies_on: &[$(opt::$opt),*],
        };
    };
}

mcase!(CLASS_D_ONLY, "mcast.class_d_only", "multicast groups are class D addresses, 224.0.0.0 to 239.255.255.255",
    "IP_ADD_MEMBERSHIP accepts a class D group and refuses anything else (unicast, broadcast, class E) with EINVAL",
    class_d_only, []);
mcase!(
    JOIN_RECEIVE,
    "mcast.join_receive",
    "a member of a group receives datagrams sent to the group",
    "a socket on h2 that joined the group receives the datagram h1 sends to it across the bridge",
    join_receive,
    [IP_ADD_MEMBERSHIP]
);
mcase!(
    SENDER_NEEDS_NO_JOIN,
    "mcast.sender_needs_no_join",
    "the sender need not join the group",
    "h1, which joined nothing, sends to the group and the member on h2 receives it",
    sender_needs_no_join,
    []
);
mcase!(NONMEMBER_NO_RECEIVE, "mcast.nonmember_no_receive", "a host must join the group to receive its datagrams",
    "the frame reaches h3's interface (the bridge floods it) but h3, not a member, delivers it to no socket, \
     while the member h2 receives it", nonmember_no_receive, []);
mcase!(DROP_MEMBERSHIP, "mcast.drop_membership", "after IP_DROP_MEMBERSHIP no more datagrams arrive",
    "h2 receives the first datagram, drops the membership, and does not receive the second (which h3, still a \
     member, does)", drop_membership, [IP_DROP_MEMBERSHIP]);
mcase!(LOOP_DEFAULT, "mcast.loop_default",
    "a sender that joined the group receives its own datagrams by default; IP_MULTICAST_LOOP=0 stops that",
    "IP_MULTICAST_LOOP reads 1 on a new socket and the sender's own member socket gets its datagram; with 0 it \
     does not, while h2 still does", loop_default, [IP_MULTICAST_LOOP]);
mcase!(TTL, "mcast.ttl", "IP_MULTICAST_TTL sets the TTL of multicast datagrams",
    "IP_MULTICAST_TTL reads 1 on a new socket and datagrams leave with TTL 1; after setting 32 they leave with 32",
    ttl, [IP_MULTICAST_TTL]);
mcase!(IF_SELECTS_INTERFACE, "mcast.if_selects_interface", "IP_MULTICAST_IF picks the interface datagrams leave by",
    "h1 (two interfaces) sends by its route (eth0, segment A) by default; with IP_MULTICAST_IF set to its \
     segment-B address the datagram leaves on eth1 only and reaches h4", if_selects_interface, [IP_MULTICAST_IF]);
mcase!(IGMP_ON_JOIN, "mcast.igmp_on_join", "joining a group sends an IGMP message to the neighbours",
    "joining sends an IGMP membership report for the group (IGMPv3 by default: a record CHANGE_TO_EXCLUDE sent \
     to 224.0.0.22; net.ipv4.conf.*.force_igmp_version=2 gives a v2 report); dropping sends a leave (v3 record \
     CHANGE_TO_INCLUDE with no sources)", igmp_on_join, [IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP]);
mcase!(MAC_MAPPING, "mcast.mac_mapping", "the Ethernet destination is 01:00:5e followed by the group address",
    "the destination MAC is 01:00:5e plus the low 23 bits of the group: 239.1.2.3, 239.129.2.3 and 224.1.2.3 all \
     go to 01:00:5e:01:02:03, so the IP layer, not the NIC, tells them apart", mac_mapping, []);
mcase!(REUSEADDR_RECEIVERS, "mcast.reuseaddr_receivers",
    "several receivers on one host bind the group's port with SO_REUSEADDR",
    "without SO_REUSEADDR the second bind fails with EADDRINUSE; with it both sockets bind and each receives \
     every datagram", reuseaddr_receivers, [IP_ADD_MEMBERSHIP]);
mcase!(BIND_GROUP_ADDR, "mcast.bind_group_addr", "the receiver binds the group address and port",
    "a socket bound to group:port receives only that group's datagrams, even when it joined another group on the \
     same port; a socket bound to INADDR_ANY:port receives both", bind_group_addr, []);
mcase!(MULTICAST_ALL, "mcast.multicast_all", "(implied) only sockets that joined a group receive its datagrams",
    "IP_MULTICAST_ALL is 1 by default: a socket bound to INADDR_ANY:port that joined nothing still receives a \
     group's datagrams once any socket on the host joined it; with IP_MULTICAST_ALL=0 it does not", multicast_all, [IP_MULTICAST_ALL]);
mcase!(CHAT, "mcast.chat", "in the multicast chat program every member sees every member's messages",
    "three members on three hosts each send a line: each member receives all three (its own through the \
     loopback); with IP_MULTICAST_LOOP=0 each receives the other two only", chat, [IP_ADD_MEMBERSHIP, IP_MULTICAST_LOOP]);

/// How long a datagram that is coming may take, and how long to keep looking
/// for one that should not come once the one that should has arrived.
const WAIT: Duration = Duration::from_secs(2);
const GRACE: Duration = Duration::from_millis(200);

fn group(case: u8, n: u8) -> Ipv4Addr {
    Ipv4Addr::new(239, 10, case, n)
}

fn port(case: u8) -> u16 {
    40_000 + case as u16
}

fn any(port: u16) -> SocketAddr {
    SocketAddr::new(Family::V4.any(), port)
}

fn to(g: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(g), port)
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

/// The next datagram on `s` within `d`, as text.
fn recv_within(s: &Sock, d: Duration) -> Result<Option<String>> {
    if !wait::readable(std::os::fd::AsRawFd::as_raw_fd(s), d)? {
        return Ok(None);
    }
    let mut buf = [0u8; 256];
    Ok(s.recv(&mut buf, libc::MSG_DONTWAIT)
        .ok()
        .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned()))
}

fn got(r: &Option<String>) -> bool {
    r.is_some()
}

fn class_d_only(lab: &mut Lab) -> Result<Evidence> {
    let lan = Lan::build(lab)?;
    let h1 = lan.h(1);
    let s = sender(h1)?;
    let iface = h1.nic().addr;
    let tries: Vec<(String, String)> = [
        group(1, 1),
        Ipv4Addr::new(198, 51, 100, 200),
        Ipv4Addr::new(240, 0, 0, 1),
        Ipv4Addr::BROADCAST,
    ]
    .iter()
    .map(|g| {
        (
            g.to_string(),
            result_name(&s.set_raw(libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, &mreq(*g, iface))),
        )
    })
    .collect();
    let mut ev = Evidence::new();
    ev.observe("joins", &tries);
    ev.expect_eq("class D group", "ok", tries[0].1.as_str());
    ev.expect_eq(
        "non-class-D addresses",
        vec!["EINVAL"; 3],
        tries[1..].iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
    );
    let holds = tries[0].1 == "ok" && tries[1..].iter().all(|t| t.1 != "ok");
    ev.verdict(
        Verdict::holds_if(holds),
        format!("IP_ADD_MEMBERSHIP: {tries:?}"),
    );
    ev.key(
        tries
            .iter()
            .map(|t| format!("{} {}", t.0, t.1))
            .collect::<Vec<_>>()
            .join(", "),
    );
    Ok(ev)
}

fn join_receive(lab: &mut Lab) -> Result<Evidence> {
    let lan = Lan::build(lab)?;
    let (g, p) = (group(2, 1), port(2));
    let rx = member(lan.h(2), g, p)?;
    sender(lan.h(1))?.send_to(b"hello members", 0, to(g, p))?;
    let r = recv_within(&rx, WAIT)?;
    let mut ev = Evidence::new();
    ev.observe("group", g.to_string())
        .observe("h2_received", &r);
    ev.expect_eq(
        "the member on h2 receives",
        Some("hello members".to_string()),
        r.clone(),
    );
    ev.verdict(
        Verdict::holds_if(got(&r)),
        format!("h1 sent to {g}:{p}; the member on h2 received {r:?}"),
    );
    ev.key(format!("h2 received: {}", got(&r)));
    Ok(ev)
}

fn sender_needs_no_join(lab: &mut Lab) -> Result<Evidence> {
    let lan = Lan::build(lab)?;
    let (g, p) = (group(3, 1), port(3));
    let rx = member(lan.h(2), g, p)?;
    let h1_groups = lan.h(1).host.run(|| joined_groups("eth0"))??;
    let sender_joined = h1_groups.contains(&g);
    sender(lan.h(1))?.send_to(b"from a non-member", 0, to(g, p))?;
    let r = recv_within(&rx, WAIT)?;
    let mut ev = Evidence::new();
    ev.observe(
        "sender_groups_on_eth0",
        h1_groups.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
    )
    .observe("h2_received", &r);
    ev.expect_eq("the sender is not a member", false, sender_joined);
    ev.expect_eq("the member receives", true, got(&r));
    ev.verdict(
        Verdict::holds_if(got(&r) && !sender_joined),
        format!("h1 (groups on eth0: {h1_groups:?}, not {g}) sent; h2 received {r:?}"),
    );
    ev.key(format!("non-member sender delivered: {}", got(&r)));
    Ok(ev)
}

fn nonmember_no_receive(lab: &mut Lab) -> Result<Evidence> {
    let lan = Lan::build(lab)?;
    let (g, p) = (group(4, 1), port(4));
    let member_rx = member(lan.h(2), g, p)?;
    let outsider = udp_in(lan.h(3), Some(any(p)), true)?;
    let mut cap = lan.h(3).host.run(|| Capture::start("eth0"))??;
    sender(lan.h(1))?.send_to(b"members only", 0, to(g, p))?;
    let m = recv_within(&member_rx, WAIT)?;
    let o = recv_within(&outsider, GRACE)?;
    let at_nic = cap
        .wait_for(
            "the datagram at h3's interface",
            GRACE,
            |f| matches!(f.decode(), Packet::Udp(d) if d.dport == p),
        )
        .is_ok();
    let mut ev = Evidence::new();
    ev.observe("member_h2_received", &m)
        .observe("frame_reached_h3_interface", at_nic)
        .observe("h3_socket_received", &o);
    ev.expect_eq("the member receives", true, got(&m));
    ev.expect_eq("the frame reaches the non-member's interface", true, at_nic);
    ev.expect_eq("the non-member's socket receives nothing", None, o.clone());
    ev.verdict(Verdict::holds_if(!got(&o)), format!(
        "h2 (member) received {m:?}; the frame reached h3's NIC: {at_nic}; h3's socket on the port got {o:?}"));
    ev.key(format!(
        "member {}, non-member NIC {at_nic}, socket {}",
        got(&m),
        got(&o)
    ));
    Ok(ev)
}

fn drop_membership(lab: &mut Lab) -> Result<Evidence> {
    let lan = Lan::build(lab)?;
    let (g, p) = (group(5, 1), port(5));
    let rx = member(lan.h(2), g, p)?;
    let control = member(lan.h(3), g, p)?;
    let tx = sender(lan.h(1))?;
    tx.send_to(b"one", 0, to(g, p))?;
    let first = recv_within(&rx, WAIT)?;
    let _ = recv_within(&control, WAIT)?;
    let dropped = rx.set_raw(
        libc::IPPROTO_IP,
        libc::IP_DROP_MEMBERSHIP,
        &mreq(g, lan.h(2).nic().addr),
    );
    tx.send_to(b"two", 0, to(g, p))?;
    let control_second = recv_within(&control, WAIT)?;
    let second = recv_within(&rx, GRACE)?;
    let mut ev = Evidence::new();
    ev.observe("before_drop", &first)
        .observe("drop_result", result_name(&dropped))
        .observe("after_drop", &second)
        .observe("still_member_h3_after_drop", &control_second);
    ev.expect_eq("received before the drop", true, got(&first));
    ev.expect_eq("IP_DROP_MEMBERSHIP", "ok", result_name(&dropped).as_str());
    ev.expect_eq(
        "h3, still a member, gets the second",
        true,
        got(&control_second),
    );
    ev.expect_eq("nothing after the drop", None, second.clone());
    ev.verdict(
        Verdict::holds_if(got(&first) && !got(&second)),
        format!("before the drop {first:?}, after it {second:?} (h3 still got {control_second:?})"),
    );
    ev.key(format!("before {}, after {}", got(&first), got(&second)));
    Ok(ev)
}

fn loop_default(lab: &mut Lab) -> Result<Evidence> {
    let lan = Lan::build(lab)?;
    let (g, p) = (group(6, 1), port(6));
    let own = member(lan.h(1), g, p)?;
    let other = member(lan.h(2), g, p)?;
    let default = own.get_int(libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP)?;
    own.send_to(b"loop on", 0, to(g, p))?;
    let on = recv_within(&own, WAIT)?;
    let _ = recv_within(&other, WAIT)?;
    own.set_int(libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, 0)
        .context("IP_MULTICAST_LOOP 0")?;
    own.send_to(b"loop off", 0, to(g, p))?;
    let other_off = recv_within(&other, WAIT)?;
    let off = recv_within(&own, GRACE)?;
    let mut ev = Evidence::new();
    ev.observe("ip_multicast_loop_default", default)
        .observe("own_with_loop_1", &on)
        .observe("own_with_loop_0", &off)
        .observe("h2_with_loop_0", &other_off);
    ev.expect_eq("IP_MULTICAST_LOOP default", 1, default);
    ev.expect_eq("own datagram looped back by default", true, got(&on));
    ev.expect_eq("h2 still receives with loop 0", true, got(&other_off));
    ev.expect_eq("no own datagram with loop 0", None, off.clone());
    let holds = default == 1 && got(&on) && !got(&off);
    ev.verdict(Verdict::holds_if(holds), format!(
        "default IP_MULTICAST_LOOP={default}: own copy {on:?}; with 0: own copy {off:?}, h2 {other_off:?}"));
    ev.key(format!(
        "default {default}; own copy with 1: {}, with 0: {}",
        got(&on),
        got(&off)
    ));
    Ok(ev)
}

fn ttl(lab: &mut Lab) -> Result<Evidence> {
    let lan = Lan::build(lab)?;
    let (g, p) = (group(7, 1), port(7));
    let rx = member(lan.h(2), g, p)?;
    let mut cap = lan.h(2).host.run(|| Capture::start("eth0"))??;
    let tx = sender(lan.h(1))?;
    let default = tx.get_int(libc::IPPROTO_IP, libc::IP_MULTICAST_TTL)?;
    let mut wire = Vec::new();
    for (i, set) in [None, Some(32)].into_iter().enumerate() {
        if let Some(t) = set {
            tx.set_int(libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, t)
                .context("IP_MULTICAST_TTL")?;
        }
        let len = i + 1;
        tx.send_to(&vec![b't'; len], 0, to(g, p))?;
        let _ = recv_within(&rx, WAIT)?;
        let ttl = cap
            .wait_for("the datagram on h2's wire", WAIT, |f| {
                matches!(f.decode(), Packet::Udp(d) if d.dport == p && d.payload as usize == len)
            })
            .ok()
            .and_then(|f| match f.decode() {
                Packet::Udp(d) => Some(d.ttl),
                _ => None,
            });
        wire.push(ttl);
    }
    let mut ev = Evidence::new();
    ev.observe("ip_multicast_ttl_default", default)
        .observe("ttl_on_wire_default_then_32", &wire);
    ev.expect_eq("IP_MULTICAST_TTL default", 1, default);
    ev.expect_eq(
        "TTL on the wire: default, then after setting 32",
        vec![Some(1), Some(32)],
        wire.clone(),
    );
    let holds = wire == vec![Some(default as u8), Some(32)];
    ev.verdict(
        Verdict::holds_if(holds),
        format!("default IP_MULTICAST_TTL {default}; TTL captured on h2's link {wire:?}"),
    );
    ev.key(format!("default {default}; wire {wire:?}"));
    ev.frames(cap.frames()?);
    Ok(ev)
}

fn if_selects_interface(lab: &mut Lab) -> Result<Evidence> {
    let lan = Lan::build(lab)?;
    let (g, p) = (group(8, 1), port(8));
    let on_a = member(lan.h(2), g, p)?;
    let on_b = udp_in(lan.h(4), Some(any(p)), true)?;
    join(&on_b, g, lan.h(4).nic().addr)?;
    let h1 = lan.h(1);
    let mut eth0 = h1.host.run(|| Capture::start("eth0"))??;
    let mut eth1 = h1.host.run(|| Capture::start("eth1"))??;
    let tx = sender(h1)?;
    let mut rows = Vec::new();
    for (i, iface) in [None, Some(h1.nics[1].addr)].into_iter().enumerate() {
        if let Some(a) = iface {
            tx.set_raw(libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &a.octets())
                .context("IP_MULTICAST_IF")?;
        }
        let len = i + 1;
        tx.send_to(&vec![b'i'; len], 0, to(g, p))?;
        let (ra, rb) = if i == 0 {
            let a = recv_within(&on_a, WAIT)?;
            (a, recv_within(&on_b, GRACE)?)
        } else {
            let b = recv_within(&on_b, WAIT)?;
            (recv_within(&on_a, GRACE)?, b)
        };
        let seen = |cap: &mut Capture| -> Result<bool> {
            Ok(cap.frames()?.iter().any(|f| matches!(f.decode(), Packet::Udp(d) if d.dport == p && d.payload as usize == len)))
        };
        rows.push(serde_json::json!({
            "ip_multicast_if": iface.map(|a| a.to_string()),
            "left_on_eth0": seen(&mut eth0)?, "left_on_eth1": seen(&mut eth1)?,
            "h2_segment_a_received": got(&ra), "h4_segment_b_received": got(&rb),
        }));
    }
    let flags = |r: &serde_json::Value| {
        [
            "left_on_eth0",
            "left_on_eth1",
            "h2_segment_a_received",
            "h4_segment_b_received",
        ]
        .map(|k| r[k].as_bool().unwrap_or(false))
    };
    let mut ev = Evidence::new();
    ev.observe("sends", &rows);
    ev.expect_eq(
        "default: eth0 only, h2 receives",
        [true, false, true, false],
        flags(&rows[0]),
    );
    ev.expect_eq(
        "IP_MULTICAST_IF=eth1's address: eth1 only, h4 receives",
        [false, true, false, true],
        flags(&rows[1]),
    );
    let holds = flags(&rows[1]) == [false, true, false, true];
    ev.verdict(Verdict::holds_if(holds), format!(
        "default send left on eth0={} eth1={}; with IP_MULTICAST_IF={} it left on eth0={} eth1={} and reached h4={}",
        flags(&rows[0])[0], flags(&rows[0])[1], h1.nics[1].addr, flags(&rows[1])[0], flags(&rows[1])[1], flags(&rows[1])[3]));
    ev.key(format!(
        "default via eth0: {}; IP_MULTICAST_IF via eth1: {}",
        flags(&rows[0])[0],
        flags(&rows[1])[1]
    ));
    Ok(ev)
}

/// An IGMP message from h2 about `g`, as (version, kind, record type, destination).
fn igmp_about(f: &crate::lab::packet::Frame, g: Ipv4Addr) -> Option<(u8, u8, Option<u8>, String)> {
    match f.decode() {
        Packet::Igmp(m) => {
            let at = m.groups.iter().position(|x| *x == g)?;
            let version = match m.kind {
                0x22 => 3,
                0x16 | 0x17 => 2,
                0x12 => 1,
                _ => 0,
            };
            Some((
                version,
                m.kind,
                m.record_types.get(at).copied(),
                m.dst.to_string(),
            ))
        }
        _ => None,
    }
}

fn igmp_on_join(lab: &mut Lab) -> Result<Evidence> {
    let lan = Lan::build(lab)?;
    let g = group(9, 1);
    let h2 = lan.h(2);
    let forced = h2
        .host
        .run(|| procnet::sysctl_int("net/ipv4/conf/eth0/force_igmp_version"))??;
    let mut cap = h2.host.run(|| Capture::start("eth0"))??;
    let s = udp_in(h2, Some(any(port(9))), true)?;
    join(&s, g, h2.nic().addr)?;
    phase("waiting for the IGMP report");
    let report = cap
        .wait_for("an IGMP report naming the group", WAIT, |f| {
            igmp_about(f, g).is_some()
        })
        .ok()
        .and_then(|f| igmp_about(&f, g));
    let mark = cap.frames()?.len();
    // Observed, not required: with the join silently ignored the drop fails.
    let dropped = s.set_raw(
        libc::IPPROTO_IP,
        libc::IP_DROP_MEMBERSHIP,
        &mreq(g, h2.nic().addr),
    );
    phase("waiting for the IGMP leave");
    let leave = cap
        .wait_for("an IGMP leave naming the group", WAIT, |f| {
            igmp_about(f, g).is_some_and(|m| m.1 == 0x17 || m.2 == Some(3) || m.2 == Some(6))
        })
        .ok()
        .and_then(|f| igmp_about(&f, g));
    let show = |m: &Option<(u8, u8, Option<u8>, String)>| {
        m.as_ref()
            .map(|(v, k, r, d)| {
                format!(
                    "IGMPv{v} type 0x{k:02x}{} to {d}",
                    r.map(|r| format!(" record {r}")).unwrap_or_default()
                )
            })
            .unwrap_or_else(|| "nothing".into())
    };
    let expected_version = match forced {
        1 => 1,
        2 => 2,
        _ => 3,
    };
    let mut ev = Evidence::new();
    ev.observe("force_igmp_version", forced)
        .observe("report_on_join", show(&report))
        .observe("leave_on_drop", show(&leave))
        .observe("frames_before_drop", mark)
        .observe("drop_result", result_name(&dropped));
    ev.expect_eq(
        "IGMP version of the report",
        Some(expected_version),
        report.as_ref().map(|r| r.0),
    );
    if expected_version == 3 {
        ev.expect_eq(
            "v3 report: record CHANGE_TO_EXCLUDE (4) to 224.0.0.22",
            Some((Some(4), "224.0.0.22".to_string())),
            report.as_ref().map(|r| (r.2, r.3.clone())),
        );
        ev.expect_eq(
            "v3 leave: record CHANGE_TO_INCLUDE (3)",
            Some(Some(3)),
            leave.as_ref().map(|l| l.2),
        );
    } else {
        ev.expect_eq("a leave on drop", true, leave.is_some());
    }
    let verdict = Verdict::holds_if(report.is_some());
    ev.verdict(
        verdict,
        format!(
            "join {g} -> {}; drop -> {} (force_igmp_version {forced})",
            show(&report),
            show(&leave)
        ),
    );
    ev.key(format!("join: {}; drop: {}", show(&report), show(&leave)));
    ev.frames(cap.frames()?);
    Ok(ev)
}

fn mac_mapping(lab: &mut Lab) -> Result<Evidence> {
    let lan = Lan::build(lab)?;
    let p = port(10);
    let groups = [
        Ipv4Addr::new(239, 1, 2, 3),
        Ipv4Addr::new(239, 129, 2, 3),
        Ipv4Addr::new(224, 1, 2, 3),
    ];
    let rx = member(lan.h(2), groups[0], p)?;
    let mut cap = lan.h(1).host.run(|| Capture::start("eth0"))??;
    let tx = sender(lan.h(1))?;
    let mut rows = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        let len = i + 1;
        tx.send_to(&vec![b'm'; len], 0, to(*g, p))?;
        let captured = cap
            .wait_for(&format!("the datagram to {g}"), WAIT, |f| matches!(f.decode(), Packet::Udp(d) if d.dport == p && d.payload as usize == len))
            .ok()
            .and_then(|f| match f.decode() {
                Packet::Udp(d) => Some(mac_text(&d.dst_mac)),
                _ => None,
            });
        let o = g.octets();
        rows.push(serde_json::json!({
            "group": g.to_string(),
            "low_23_bits": format!("0x{:02x}{:02x}{:02x}", o[1] & 0x7f, o[2], o[3]),
            "derived_mac": mac_text(&group_mac(*g)),
            "captured_mac": captured,
        }));
    }
    // h2 joined only the first group: the other two reach its NIC (same MAC) but not its socket.
    let mut received = Vec::new();
    while let Some(m) = recv_within(&rx, GRACE)? {
        received.push(m.len());
    }
    let captured: Vec<Option<String>> = rows
        .iter()
        .map(|r| r["captured_mac"].as_str().map(str::to_string))
        .collect();
    let derived: Vec<Option<String>> = rows
        .iter()
        .map(|r| r["derived_mac"].as_str().map(str::to_string))
        .collect();
    let mut ev = Evidence::new();
    ev.observe("groups", &rows)
        .observe("member_of_first_group_received_lengths", &received);
    ev.expect_eq(
        "captured MAC = 01:00:5e + low 23 bits of the group",
        derived.clone(),
        captured.clone(),
    );
    ev.expect_eq(
        "all three share one MAC",
        vec![Some("01:00:5e:01:02:03".to_string()); 3],
        captured.clone(),
    );
    ev.expect_eq(
        "the member of 239.1.2.3 receives only its group's datagram",
        vec![1],
        received.clone(),
    );
    let holds = captured == derived;
    ev.verdict(if holds { Verdict::Differs } else { Verdict::Refuted }, format!(
        "239.1.2.3 -> low 23 bits 0x010203 -> 01:00:5e:01:02:03, captured {:?}; 239.129.2.3 (bit 23 set) and 224.1.2.3 \
         (other high bits) captured {:?} and {:?}: only 23 of the group's 28 bits reach the MAC (not 24), so 32 groups \
         share each MAC and the host's IP layer filters", captured[0], captured[1], captured[2]));
    ev.key(format!(
        "{} for all of 239.1.2.3, 239.129.2.3, 224.1.2.3",
        captured[0].clone().unwrap_or_default()
    ));
    ev.frames(cap.frames()?);
    Ok(ev)
}

fn reuseaddr_receivers(lab: &mut Lab) -> Result<Evidence> {
    let lan = Lan::build(lab)?;
    let (g, p) = (group(11, 1), port(11));
    let h2 = lan.h(2);
    let first = udp_in(h2, Some(to(g, p)), false)?;
    let plain = udp_in(h2, None, false)?;
    let without = plain.bind(to(g, p));
    drop(first);
    let a = udp_in(h2, Some(to(g, p)), true)?;
    let b = udp_in(h2, Some(to(g, p)), true)?;
    join(&a, g, h2.nic().addr)?;
    join(&b, g, h2.nic().addr)?;
    let tx = sender(lan.h(1))?;
    let mut got_ab = Vec::new();
    for msg in [&b"one"[..], b"two"] {
        tx.send_to(msg, 0, to(g, p))?;
        got_ab.push([got(&recv_within(&a, WAIT)?), got(&recv_within(&b, WAIT)?)]);
    }
    let mut ev = Evidence::new();
    ev.observe("second_bind_without_reuseaddr", result_name(&without))
        .observe("received_by_both", &got_ab);
    ev.expect_eq(
        "second bind of group:port without SO_REUSEADDR",
        "EADDRINUSE",
        result_name(&without).as_str(),
    );
    ev.expect_eq(
        "with it both receive every datagram",
        vec![[true, true]; 2],
        got_ab.clone(),
    );
    let holds = got_ab.iter().all(|r| *r == [true, true]);
    ev.verdict(Verdict::holds_if(holds), format!(
        "without SO_REUSEADDR the second bind -> {}; with it two sockets on {g}:{p} received {got_ab:?}",
        result_name(&without)));
    ev.key(format!(
        "without: {}; with: both got {got_ab:?}",
        result_name(&without)
    ));
    Ok(ev)
}

fn bind_group_addr(lab: &mut Lab) -> Result<Evidence> {
    let lan = Lan::build(lab)?;
    let (g1, g2, p) = (group(12, 1), group(12, 2), port(12));
    let h2 = lan.h(2);
    let bound_g1 = udp_in(h2, Some(to(g1, p)), true)?;
    join(&bound_g1, g1, h2.nic().addr)?;
    join(&bound_g1, g2, h2.nic().addr)?;
    let bound_any = udp_in(h2, Some(any(p)), true)?;
    let tx = sender(lan.h(1))?;
    let mut rows = Vec::new();
    for g in [g1, g2] {
        tx.send_to(g.to_string().as_bytes(), 0, to(g, p))?;
        let on_any = recv_within(&bound_any, WAIT)?;
        let on_g1 = recv_within(&bound_g1, if g == g1 { WAIT } else { GRACE })?;
        rows.push((g.to_string(), got(&on_g1), got(&on_any)));
    }
    let mut ev = Evidence::new();
    ev.observe("group_bound_socket_and_any_socket", &rows);
    ev.expect_eq(
        "bound to group 1: gets group 1 only (though it joined both)",
        vec![true, false],
        rows.iter().map(|r| r.1).collect::<Vec<_>>(),
    );
    ev.expect_eq(
        "bound to INADDR_ANY: gets both",
        vec![true, true],
        rows.iter().map(|r| r.2).collect::<Vec<_>>(),
    );
    let holds = rows[0].1 && !rows[1].1;
    ev.verdict(Verdict::holds_if(holds), format!(
        "socket bound to {g1}:{p} (joined {g1} and {g2}) and one bound to 0.0.0.0:{p}: (group, got by group-bound, got \
         by any-bound) = {rows:?}"));
    ev.key(format!(
        "group-bound gets {g2}: {}; any-bound gets both: {}",
        rows[1].1,
        rows[0].2 && rows[1].2
    ));
    Ok(ev)
}

fn multicast_all(lab: &mut Lab) -> Result<Evidence> {
    let lan = Lan::build(lab)?;
    let (g, p) = (group(13, 1), port(13));
    let h2 = lan.h(2);
    let joined = member(h2, g, p)?;
    let bystander = udp_in(h2, Some(any(p)), true)?;
    let default = bystander.get_int(libc::IPPROTO_IP, libc::IP_MULTICAST_ALL)?;
    let strict = h2.host.run(|| -> Result<Sock> {
        let s = Sock::udp(Family::V4)?;
        s.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        s.set_int(libc::IPPROTO_IP, libc::IP_MULTICAST_ALL, 0)
            .context("IP_MULTICAST_ALL 0")?;
        s.bind(any(p))?;
        Ok(s)
    })??;
    sender(lan.h(1))?.send_to(b"to the group", 0, to(g, p))?;
    let j = recv_within(&joined, WAIT)?;
    let b = recv_within(&bystander, GRACE)?;
    let s = recv_within(&strict, GRACE)?;
    let mut ev = Evidence::new();
    ev.observe("ip_multicast_all_default", default)
        .observe("joined_socket", got(&j))
        .observe("unjoined_socket_default", got(&b))
        .observe("unjoined_socket_multicast_all_0", got(&s));
    ev.expect_eq("IP_MULTICAST_ALL default", 1, default);
    ev.expect_eq("the joined socket receives", true, got(&j));
    ev.expect_eq(
        "an unjoined socket on the port receives too (MULTICAST_ALL 1)",
        true,
        got(&b),
    );
    ev.expect_eq("with IP_MULTICAST_ALL=0 it does not", false, got(&s));
    let verdict = if got(&b) {
        Verdict::Refuted
    } else {
        Verdict::Holds
    };
    ev.verdict(verdict, format!(
        "IP_MULTICAST_ALL default {default}: joined socket {}, unjoined socket on the same port {}, unjoined with \
         IP_MULTICAST_ALL=0 {}", got(&j), got(&b), got(&s)));
    ev.key(format!(
        "unjoined socket receives: {} (MULTICAST_ALL=0: {})",
        got(&b),
        got(&s)
    ));
    Ok(ev)
}

fn chat(lab: &mut Lab) -> Result<Evidence> {
    let lan = Lan::build(lab)?;
    let (g, p) = (group(14, 1), port(14));
    let members: Vec<Sock> = (1..=3)
        .map(|h| member(lan.h(h), g, p))
        .collect::<Result<_>>()?;
    let mut rounds = Vec::new();
    for (round, loop_on) in [(1, true), (2, false)] {
        for (i, m) in members.iter().enumerate() {
            m.set_int(libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, loop_on as i32)
                .context("IP_MULTICAST_LOOP")?;
            m.send_to(
                format!("h{} says hi ({round})", i + 1).as_bytes(),
                0,
                to(g, p),
            )?;
        }
        let want = if loop_on { 3 } else { 2 };
        let mut seen: Vec<Vec<String>> = Vec::new();
        for m in &members {
            let mut lines = Vec::new();
            while lines.len() < want {
                match recv_within(m, WAIT)? {
                    Some(l) => lines.push(l),
                    None => break,
                }
            }
            while let Some(extra) = recv_within(m, GRACE)? {
                lines.push(extra);
            }
            lines.sort();
            seen.push(
                lines
                    .iter()
                    .map(|l| l.split(' ').next().unwrap_or("").to_string())
                    .collect(),
            );
        }
        rounds.push((loop_on, seen));
    }
    let expect_round = |loop_on: bool| -> Vec<Vec<String>> {
        (1..=3)
            .map(|me| {
                (1..=3)
                    .filter(|o| loop_on || *o != me)
                    .map(|o| format!("h{o}"))
                    .collect()
            })
            .collect()
    };
    let mut ev = Evidence::new();
    ev.observe("senders_seen_by_h1_h2_h3", &rounds);
    ev.expect_eq(
        "loop on: everyone sees all three",
        expect_round(true),
        rounds[0].1.clone(),
    );
    ev.expect_eq(
        "loop off: everyone sees the other two",
        expect_round(false),
        rounds[1].1.clone(),
    );
    let holds = rounds[0].1 == expect_round(true);
    ev.verdict(
        Verdict::holds_if(holds),
        format!(
            "three members: with loop {:?}; with IP_MULTICAST_LOOP=0 {:?}",
            rounds[0].1, rounds[1].1
        ),
    );
    ev.key(format!(
        "loop on {:?}; off {:?}",
        rounds[0].1.iter().map(Vec::len).collect::<Vec<_>>(),
        rounds[1].1.iter().map(Vec::len).collect::<Vec<_>>()
    ));
    Ok(ev)
}
