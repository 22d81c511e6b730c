//! Which way a packet leaves (socket(7), man-pages 6.20): SO_MARK with a
//! policy rule, SO_BINDTODEVICE, SO_DONTROUTE and SO_BROADCAST, seen on the
//! wire. Host a has two links: to b (198.51.100.0/24) and to c
//! (192.0.2.0/24), and a host route that sends c's address through b, a
//! gateway that does not forward: the routing table says "via b", so a
//! datagram that reaches c went another way because of the option.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::cases::identity::echo_request;
use crate::lab::caps::{self, CAP_NET_ADMIN, CAP_NET_RAW};
use crate::lab::netlink::{ifindex, Netlink};
use crate::lab::opt;
use crate::lab::packet::{mac_text, Packet};
use crate::lab::sock::result_name;
use crate::lab::topo::{Link, Names, MAC_A, MAC_B};
use crate::lab::{wait, Capture, Family, Host, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &MARK_ROUTING,
    &MARK_PRIVILEGE,
    &BIND_DEVICE_ONLY,
    &BIND_UNBIND,
    &BIND_PACKET,
    &DONTROUTE,
    &BROADCAST,
];

pub static MARK_ROUTING: Case = Case {
    id: "so_mark.policy_routing",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_MARK"),
    claim: "every packet the socket sends carries the SO_MARK value, so that policy routing can choose its \
            route by the mark with no netfilter involved",
    expectation: "with a policy rule `fwmark 42 lookup 100` and table 100 routing c directly, a datagram \
                  from a socket marked 42 leaves by the link to c and reaches it; an unmarked one, or one \
                  marked 43, follows the main table to the gateway b",
    run: &Measure(policy_routing),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_MARK],
};

pub static MARK_PRIVILEGE: Case = Case {
    id: "so_mark.privilege",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_MARK"),
    claim: "setting SO_MARK requires CAP_NET_ADMIN, or CAP_NET_RAW since Linux 5.17",
    expectation: "with both capabilities (over the network namespace: a user namespace's root has them) \
                  setting a mark succeeds; with either one alone too (CAP_NET_RAW alone since Linux 5.17); with \
                  neither it fails with EPERM, even for mark 0",
    run: &Measure(mark_privilege),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_MARK],
};

pub static BIND_DEVICE_ONLY: Case = Case {
    id: "so_bindtodevice.device_only",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_BINDTODEVICE"),
    claim: "once SO_BINDTODEVICE ties a socket to an interface, the socket handles only what arrives through \
            that interface",
    expectation: "a socket bound to the link to c sends c a datagram directly although the routing table says \
                  via b; a socket on 0.0.0.0 bound to that link receives c's datagram but not b's (which \
                  gets an ICMP port unreachable instead)",
    run: &Measure(device_only),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_BINDTODEVICE],
};

pub static BIND_UNBIND: Case = Case {
    id: "so_bindtodevice.unbind",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_BINDTODEVICE"),
    claim: "passing an empty name, or a zero optlen, undoes the device binding; getsockopt (since Linux 3.8) \
            gives the name back and puts its length in optlen",
    expectation: "getsockopt returns the name with optlen counting its NUL; after an empty name, or an \
                  optlen of 0, the name reads back empty and datagrams follow the routing table again; \
                  without CAP_NET_RAW a socket may bind to a device (since Linux 5.7) but removing or \
                  changing the binding fails with EPERM, and the binding stays",
    run: &Measure(unbind),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_BINDTODEVICE],
};

pub static BIND_PACKET: Case = Case {
    id: "so_bindtodevice.packet_socket",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_BINDTODEVICE"),
    claim: "SO_BINDTODEVICE is not supported for packet sockets: bind(2) does that there",
    expectation: "a packet socket accepts SO_BINDTODEVICE and reads the name back, yet still receives frames \
                  from every interface (a datagram over lo); a packet socket bind()ed to the interface sees \
                  that interface's frames only",
    run: &Measure(packet_socket),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static DONTROUTE: Case = Case {
    id: "so_dontroute.direct_only",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_DONTROUTE"),
    claim: "with SO_DONTROUTE the socket reaches only hosts on its own links, bypassing gateways; the \
            MSG_DONTROUTE flag does the same for one send",
    expectation: "c's address is routed via the gateway b and also lies on a directly connected link: without \
                  the option the datagram goes to b; with SO_DONTROUTE, or MSG_DONTROUTE, it goes straight to \
                  c over that link; an address reachable only through b fails with ENETUNREACH and nothing \
                  leaves",
    run: &Measure(direct_only),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_DONTROUTE],
};

pub static BROADCAST: Case = Case {
    id: "so_broadcast.datagram_only",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_BROADCAST"),
    claim: "a datagram socket needs SO_BROADCAST to send to a broadcast address; for stream sockets the flag \
            changes nothing",
    expectation: "UDP to the subnet broadcast fails with EACCES without the option and nothing leaves; with it \
                  the datagram goes to ff:ff:ff:ff:ff:ff and the other host receives it; a raw ICMP socket \
                  obeys the same rule; TCP connect() to the broadcast address fails with ENETUNREACH with or \
                  without the option, and no SYN leaves",
    run: &Measure(datagram_only),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_BROADCAST],
};

// ---------------------------------------------------------------------------
// The two-path topology.

const A_AB: [u8; 4] = [198, 51, 100, 1];
const B: [u8; 4] = [198, 51, 100, 2];
const A_AC: [u8; 4] = [192, 0, 2, 1];
const C: [u8; 4] = [192, 0, 2, 2];
/// Reachable only through b.
const FAR: [u8; 4] = [203, 0, 113, 7];
const MAC_AC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x1a];
const MAC_C: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0c];
/// c's UDP port.
const PORT: u16 = 5001;
const TO_B: &str = "veth-ab";
const TO_C: &str = "veth-ac";

/// How long a datagram may take to leave (ARP included) or arrive.
const LEAVE: Duration = Duration::from_secs(2);

struct Paths {
    ab: Link,
    ac: Link,
    cap_ab: Capture,
    cap_ac: Capture,
    /// c's socket on 192.0.2.2:5001.
    c_rx: Sock,
    /// Datagrams sent so far (each carries its number).
    sends: usize,
}

fn udp_bound(host: &Host, addr: SocketAddr) -> Result<Sock> {
    host.run(|| -> Result<Sock> {
        let s = Sock::udp(Family::V4)?;
        s.bind(addr).with_context(|| format!("bind UDP {addr}"))?;
        Ok(s)
    })?
}

fn two_paths(lab: &mut Lab) -> Result<Paths> {
    let ab = Link::pair_named(
        lab,
        &Names {
            host: "b",
            a_if: TO_B,
            b_if: "veth-ba",
            a_mac: MAC_A,
            b_mac: MAC_B,
        },
        A_AB.into(),
        B.into(),
        24,
    )?;
    let ac = Link::pair_named(
        lab,
        &Names {
            host: "c",
            a_if: TO_C,
            b_if: "veth-ca",
            a_mac: MAC_AC,
            b_mac: MAC_C,
        },
        A_AC.into(),
        C.into(),
        24,
    )?;
    let nl = Netlink::open()?;
    nl.add_route(C.into(), 32, Some(B.into()), ifindex(TO_B)?)?;
    nl.add_route(
        IpAddr::from([203, 0, 113, 0]),
        24,
        Some(B.into()),
        ifindex(TO_B)?,
    )?;
    let c_rx = udp_bound(&ac.b, SocketAddr::new(C.into(), PORT))?;
    Ok(Paths {
        cap_ab: Capture::start(TO_B)?,
        cap_ac: Capture::start(TO_C)?,
        ab,
        ac,
        c_rx,
        sends: 0,
    })
}

/// One datagram host a sent, and where it went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sent {
    /// How it was sent, in words ("SO_MARK 42", "MSG_DONTROUTE").
    pub how: String,
    pub to: IpAddr,
    /// sendto()'s result: ok or the errno name.
    pub send: String,
    /// The interface of host a it left by; none when it never left.
    pub left_by: Option<String>,
    /// Its source address on the wire.
    pub src: Option<IpAddr>,
    /// Whether c's socket received it.
    pub delivered: bool,
}

/// A UDP socket on 0.0.0.0 with an ephemeral port, prepared by `prep`.
fn sender(prep: impl FnOnce(&Sock) -> Result<()>) -> Result<Sock> {
    let s = Sock::udp(Family::V4)?;
    prep(&s)?;
    s.bind(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0))
        .context("bind the sender")?;
    Ok(s)
}

/// The UDP datagram from `sport` among the frames `cap` captured after the
/// first `seen`: its source.
fn datagram_from(cap: &mut Capture, seen: usize, sport: u16) -> Result<Option<IpAddr>> {
    Ok(cap
        .frames()?
        .iter()
        .skip(seen)
        .find_map(|f| match f.decode() {
            Packet::Udp(d) if d.sport == sport => Some(d.src),
            _ => None,
        }))
}

/// Whether `rx` holds a datagram whose payload is `tag` (reads what is queued).
fn received(rx: &Sock, tag: &[u8], timeout: Duration) -> Result<bool> {
    wait::readable(rx.as_raw_fd(), timeout)?;
    let mut buf = [0u8; 64];
    let mut found = false;
    while let Ok(n) = rx.recv(&mut buf, libc::MSG_DONTWAIT) {
        found |= &buf[..n] == tag;
    }
    Ok(found)
}

impl Paths {
    /// Sends a datagram from `s` to `to` (c's port) with `flags`, and finds
    /// the link it left by. `expect` names the link to wait on (none when the
    /// send should fail); the other link is looked at afterwards, so a
    /// datagram that went the other way is still found.
    fn send(
        &mut self,
        how: &str,
        s: &Sock,
        to: IpAddr,
        flags: i32,
        expect: Option<&str>,
    ) -> Result<Sent> {
        let sport = s.local_addr()?.port();
        self.sends += 1;
        let tag = format!("{how} #{}", self.sends);
        // A socket may send more than once: only what leaves now counts.
        let seen = (self.cap_ab.count()?, self.cap_ac.count()?);
        let send = result_name(&s.send_to(tag.as_bytes(), flags, SocketAddr::new(to, PORT)));
        if let (Some(iface), "ok") = (expect, send.as_str()) {
            let cap = if iface == TO_B {
                &mut self.cap_ab
            } else {
                &mut self.cap_ac
            };
            let _ = cap.wait_for(&format!("the datagram {how}"), LEAVE, |f| {
                matches!(f.decode(), Packet::Udp(d) if d.sport == sport && d.payload as usize == tag.len())
            });
        }
        let (left_by, src) = match (
            datagram_from(&mut self.cap_ab, seen.0, sport)?,
            datagram_from(&mut self.cap_ac, seen.1, sport)?,
        ) {
            (Some(src), _) => (Some(TO_B.to_string()), Some(src)),
            (None, Some(src)) => (Some(TO_C.to_string()), Some(src)),
            (None, None) => (None, None),
        };
        let wait = if left_by.as_deref() == Some(TO_C) {
            LEAVE
        } else {
            Duration::ZERO
        };
        Ok(Sent {
            how: how.to_string(),
            to,
            send,
            left_by,
            src,
            delivered: received(&self.c_rx, tag.as_bytes(), wait)?,
        })
    }
}

/// Checks one datagram's path: the send result, the link, delivery at c.
fn expect_path(j: &mut Judgement, s: &Sent, send: &str, left_by: Option<&str>) {
    j.expect_eq(&format!("{} to {}: sendto()", s.how, s.to), send, &s.send);
    j.expect_eq(
        &format!("{} to {}: leaves by", s.how, s.to),
        &left_by,
        &s.left_by.as_deref(),
    );
    j.expect_eq(
        &format!("{} to {}: c receives it", s.how, s.to),
        &(left_by == Some(TO_C)),
        &s.delivered,
    );
}

/// "SO_MARK 42 -> veth-ac (delivered)", "... -> ENETUNREACH".
fn path_text(s: &Sent) -> String {
    match &s.left_by {
        Some(iface) => format!(
            "{} -> {iface} from {}{}",
            s.how,
            s.src.show(),
            if s.delivered { ", delivered" } else { "" }
        ),
        None => format!("{} -> {}, nothing on the wire", s.how, s.send),
    }
}

fn paths_text(sent: &[Sent]) -> String {
    sent.iter().map(path_text).collect::<Vec<_>>().join("; ")
}

// ---------------------------------------------------------------------------
// so_mark.policy_routing

const MARK: u32 = 42;
const MARK_TABLE: u32 = 100;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarkRouting {
    /// Unmarked, marked 42 (the rule's mark), marked 43.
    pub sent: Vec<Sent>,
}

fn marked(mark: u32) -> Result<Sock> {
    sender(|s| {
        s.set_int(libc::SOL_SOCKET, libc::SO_MARK, mark as i32)
            .with_context(|| format!("SO_MARK {mark}"))?;
        Ok(())
    })
}

fn policy_routing(lab: &mut Lab) -> Result<MarkRouting> {
    let mut p = two_paths(lab)?;
    let nl = Netlink::open()?;
    nl.add_rule_fwmark(libc::AF_INET as u8, MARK, MARK_TABLE, 100)?;
    nl.add_route_in(MARK_TABLE, C.into(), 32, None, ifindex(TO_C)?)?;
    let sent = vec![
        p.send("unmarked", &sender(|_| Ok(()))?, C.into(), 0, Some(TO_B))?,
        p.send("SO_MARK 42", &marked(MARK)?, C.into(), 0, Some(TO_C))?,
        p.send("SO_MARK 43", &marked(MARK + 1)?, C.into(), 0, Some(TO_B))?,
    ];
    Ok(MarkRouting { sent })
}

impl Observation for MarkRouting {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        for s in &self.sent {
            let way = if s.how == "SO_MARK 42" { TO_C } else { TO_B };
            expect_path(&mut j, s, "ok", Some(way));
        }
        let by = |how: &str| {
            self.sent
                .iter()
                .find(|s| s.how == how)
                .and_then(|s| s.left_by.clone())
        };
        let steered = by("SO_MARK 42").as_deref() == Some(TO_C);
        let others =
            by("unmarked").as_deref() == Some(TO_B) && by("SO_MARK 43").as_deref() == Some(TO_B);
        j.verdict(
            Verdict::holds_if(steered && others),
            format!(
                "rule fwmark {MARK} lookup {MARK_TABLE}: {}",
                paths_text(&self.sent)
            ),
        );
        j.key(format!(
            "mark 42 -> {}; unmarked -> {}",
            by("SO_MARK 42").show(),
            by("unmarked").show()
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_mark.privilege

/// setsockopt(SO_MARK) with some capabilities lowered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// The capabilities lowered, in words ("none", "CAP_NET_ADMIN").
    pub without: String,
    pub value: i32,
    pub result: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarkPrivilege {
    pub attempts: Vec<Attempt>,
}

/// The capability sets the privilege cases try, by name.
pub const LOWERED: [(&str, &[u32]); 4] = [
    ("none", &[]),
    ("CAP_NET_ADMIN", &[CAP_NET_ADMIN]),
    ("CAP_NET_RAW", &[CAP_NET_RAW]),
    (
        "CAP_NET_ADMIN and CAP_NET_RAW",
        &[CAP_NET_ADMIN, CAP_NET_RAW],
    ),
];

/// "with every capability" or "without CAP_NET_RAW": how a report names
/// the capabilities an attempt lowered.
pub fn lowered_text(without: &str) -> String {
    if without == "none" {
        "with every capability".into()
    } else {
        format!("without {without}")
    }
}

/// The check of an attempt with CAP_NET_RAW alone (CAP_NET_ADMIN lowered):
/// enough for SO_MARK and SO_PRIORITY since Linux 5.17, EPERM before.
pub fn expect_raw_alone(j: &mut Judgement, what: &str, result: &str) {
    j.expect(
        what,
        result == "ok" || result == "EPERM",
        "ok (CAP_NET_RAW suffices, Linux 5.17 on) or EPERM",
        result,
    );
}

/// setsockopt(SOL_SOCKET, `opt`, value) on a fresh UDP socket with `caps`
/// lowered.
pub fn attempt(without: &str, caps: &[u32], opt: i32, value: i32) -> Result<Attempt> {
    let s = Sock::udp(Family::V4)?;
    let result = caps::without(caps, || {
        result_name(&s.set_int(libc::SOL_SOCKET, opt, value))
    })?;
    Ok(Attempt {
        without: without.to_string(),
        value,
        result,
    })
}

fn mark_privilege(_lab: &mut Lab) -> Result<MarkPrivilege> {
    let mut attempts = Vec::new();
    for (without, caps) in LOWERED {
        attempts.push(attempt(without, caps, libc::SO_MARK, MARK as i32)?);
    }
    let (without, caps) = LOWERED[3];
    attempts.push(attempt(without, caps, libc::SO_MARK, 0)?);
    Ok(MarkPrivilege { attempts })
}

impl Observation for MarkPrivilege {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        for a in &self.attempts {
            let what = format!("SO_MARK {} {}", a.value, lowered_text(&a.without));
            if a.without.contains(" and ") {
                j.expect_eq(&what, "EPERM", &a.result);
            } else if a.without == "CAP_NET_ADMIN" {
                expect_raw_alone(&mut j, &what, &a.result);
            } else {
                j.expect_eq(&what, "ok", &a.result);
            }
        }
        let result = |without: &str| {
            self.attempts
                .iter()
                .find(|a| a.without == without)
                .map_or("none", |a| a.result.as_str())
        };
        let either = result("CAP_NET_ADMIN") == "ok" && result("CAP_NET_RAW") == "ok";
        let needed = result("CAP_NET_ADMIN and CAP_NET_RAW") != "ok";
        let verdict = match (needed, either) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        let listed: Vec<String> = self
            .attempts
            .iter()
            .map(|a| {
                format!(
                    "mark {} {}: {}",
                    a.value,
                    lowered_text(&a.without),
                    a.result
                )
            })
            .collect();
        j.verdict(verdict, listed.join("; "));
        j.key(format!(
            "without both: {}; with either: {} / {}",
            result("CAP_NET_ADMIN and CAP_NET_RAW"),
            result("CAP_NET_RAW"),
            result("CAP_NET_ADMIN")
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_bindtodevice.device_only

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceOnly {
    /// An unbound socket's datagram to c, then one bound to the link to c.
    pub sent: Vec<Sent>,
    /// Sources of what a socket on 0.0.0.0 bound to the link to c received,
    /// after b and then c sent it a datagram.
    pub received_from: Vec<IpAddr>,
    /// Host a answered b's datagram with an ICMP port unreachable.
    pub icmp_to_b: bool,
}

/// SO_BINDTODEVICE to `ifname` (with its NUL).
fn bind_device(s: &Sock, ifname: &str) -> std::io::Result<()> {
    let mut name = ifname.as_bytes().to_vec();
    name.push(0);
    s.set_raw(libc::SOL_SOCKET, libc::SO_BINDTODEVICE, &name)
}

/// A datagram from `host`'s socket to `to`.
fn send_from(host: &Host, to: SocketAddr, what: &[u8]) -> Result<()> {
    host.run(|| -> Result<()> {
        let s = Sock::udp(Family::V4)?;
        s.send_to(what, 0, to)
            .with_context(|| format!("send from host {} to {to}", host.name))?;
        Ok(())
    })?
}

fn device_only(lab: &mut Lab) -> Result<DeviceOnly> {
    let mut p = two_paths(lab)?;
    let unbound = sender(|_| Ok(()))?;
    let bound = sender(|s| bind_device(s, TO_C).context("SO_BINDTODEVICE"))?;
    let sent = vec![
        p.send("unbound", &unbound, C.into(), 0, Some(TO_B))?,
        p.send("SO_BINDTODEVICE veth-ac", &bound, C.into(), 0, Some(TO_C))?,
    ];

    let rx = Sock::udp(Family::V4)?;
    bind_device(&rx, TO_C).context("SO_BINDTODEVICE on the receiver")?;
    rx.bind(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0))
        .context("bind the receiver")?;
    let port = rx.local_addr()?.port();
    send_from(&p.ab.b, SocketAddr::new(A_AB.into(), port), b"from b")?;
    // b's datagram is settled (delivered, or refused with an ICMP error)
    // before c sends: what the receiver holds then says which it took.
    let icmp_to_b = p
        .cap_ab
        .wait_for(
            "an ICMP port unreachable to b",
            LEAVE,
            |f| matches!(f.decode(), Packet::Icmp(m) if m.kind == 3 && m.code == 3),
        )
        .is_ok();
    send_from(&p.ac.b, SocketAddr::new(A_AC.into(), port), b"from c")?;
    wait::readable(rx.as_raw_fd(), LEAVE)?;
    let mut received_from = Vec::new();
    while let Ok(got) = crate::lab::msg::recv(&rx, 64, libc::MSG_DONTWAIT) {
        if let Some(from) = got.from {
            received_from.push(from.ip());
        }
    }
    Ok(DeviceOnly {
        sent,
        received_from,
        icmp_to_b,
    })
}

impl Observation for DeviceOnly {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        for s in &self.sent {
            let way = if s.how == "unbound" { TO_B } else { TO_C };
            expect_path(&mut j, s, "ok", Some(way));
        }
        j.expect_eq(
            "the bound receiver gets c's datagram only",
            &vec![IpAddr::from(C)],
            &self.received_from,
        );
        j.expect_eq(
            "b's datagram is refused with ICMP port unreachable",
            &true,
            &self.icmp_to_b,
        );
        let sends_by_device = self
            .sent
            .iter()
            .any(|s| s.how != "unbound" && s.left_by.as_deref() == Some(TO_C));
        let filters = !self.received_from.contains(&IpAddr::from(B));
        j.verdict(
            Verdict::holds_if(sends_by_device && filters),
            format!(
                "{}; the receiver bound to veth-ac got datagrams from {}",
                paths_text(&self.sent),
                self.received_from.show()
            ),
        );
        j.key(format!("receives from {}", self.received_from.show()));
        j
    }
}

// ---------------------------------------------------------------------------
// so_bindtodevice.unbind

/// getsockopt(SO_BINDTODEVICE): the name and the optlen the kernel set.
fn bound_device(s: &Sock) -> Result<(String, usize)> {
    let mut buf = [0u8; libc::IFNAMSIZ];
    let n = s
        .get_raw(libc::SOL_SOCKET, libc::SO_BINDTODEVICE, &mut buf)
        .context("getsockopt SO_BINDTODEVICE")?;
    let name = String::from_utf8_lossy(&buf[..n])
        .trim_end_matches('\0')
        .to_string();
    Ok((name, n))
}

/// One step of a socket's device binding: the call, what getsockopt reads
/// afterwards, and where a datagram to c then went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BindStep {
    /// The call, in words ("bind veth-ac", "empty name", "optlen 0").
    pub call: String,
    /// Capabilities lowered during the call ("none", "CAP_NET_RAW").
    pub without: String,
    pub result: String,
    pub name: String,
    pub optlen: usize,
    pub sent: Sent,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unbind {
    pub steps: Vec<BindStep>,
}

fn unbind(lab: &mut Lab) -> Result<Unbind> {
    let mut p = two_paths(lab)?;
    let s = sender(|_| Ok(()))?;
    let unprivileged = sender(|_| Ok(()))?;
    let steps: [(&Sock, &str, &[u32], &[u8]); 6] = [
        (&s, "bind veth-ac", &[], b"veth-ac\0"),
        (&s, "empty name", &[], b"\0"),
        (&s, "bind veth-ac", &[], b"veth-ac\0"),
        (&s, "optlen 0", &[], b""),
        (&unprivileged, "bind veth-ac", &[CAP_NET_RAW], b"veth-ac\0"),
        (&unprivileged, "empty name", &[CAP_NET_RAW], b"\0"),
    ];
    let mut out = Vec::new();
    for (sock, call, lowered, value) in steps {
        let result = caps::without(lowered, || {
            result_name(&sock.set_raw(libc::SOL_SOCKET, libc::SO_BINDTODEVICE, value))
        })?;
        let (name, optlen) = bound_device(sock)?;
        // The datagram goes where the binding now says: c's link when bound.
        let expect = if name.is_empty() { TO_B } else { TO_C };
        let without = if lowered.is_empty() {
            "none"
        } else {
            "CAP_NET_RAW"
        };
        let how = format!("after {call} ({})", lowered_text(without));
        out.push(BindStep {
            call: call.to_string(),
            without: without.to_string(),
            result,
            name,
            optlen,
            sent: p.send(&how, sock, C.into(), 0, Some(expect))?,
        });
    }
    Ok(Unbind { steps: out })
}

impl BindStep {
    fn unbinding(&self) -> bool {
        self.call != "bind veth-ac"
    }
}

impl Observation for Unbind {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        for st in &self.steps {
            let privileged = st.without == "none";
            // Removing a binding needs CAP_NET_RAW; a first binding does not.
            let allowed = privileged || !st.unbinding();
            let (result, name, way) = match (allowed, st.unbinding()) {
                (true, true) => ("ok", "", TO_B),
                (true, false) => ("ok", TO_C, TO_C),
                (false, _) => ("EPERM", TO_C, TO_C),
            };
            let what = format!("{} ({})", st.call, lowered_text(&st.without));
            j.expect_eq(&format!("{what}: setsockopt"), result, &st.result);
            j.expect_eq(
                &format!("{what}: getsockopt name and optlen"),
                &(
                    name.to_string(),
                    if name.is_empty() { 0 } else { name.len() + 1 },
                ),
                &(st.name.clone(), st.optlen),
            );
            j.expect_eq(
                &format!("{what}: the next datagram leaves by"),
                &Some(way),
                &st.sent.left_by.as_deref(),
            );
        }
        let removed = self
            .steps
            .iter()
            .filter(|st| st.unbinding() && st.without == "none")
            .all(|st| {
                st.result == "ok" && st.name.is_empty() && st.sent.left_by.as_deref() == Some(TO_B)
            });
        let unprivileged_removal = self
            .steps
            .iter()
            .find(|st| st.unbinding() && st.without != "none")
            .map_or("none", |st| st.result.as_str());
        // The page knows no privilege for removing a binding.
        let verdict = match (removed, unprivileged_removal == "ok") {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        let listed: Vec<String> = self
            .steps
            .iter()
            .map(|st| {
                format!(
                    "{} {}: {}, reads {} ({} B), then {}",
                    st.call,
                    lowered_text(&st.without),
                    st.result,
                    device_text(&st.name),
                    st.optlen,
                    st.sent.left_by.show()
                )
            })
            .collect();
        j.verdict(verdict, listed.join("; "));
        j.key(format!(
            "removal without CAP_NET_RAW: {unprivileged_removal}"
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_bindtodevice.packet_socket

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PacketSocket {
    /// setsockopt(SO_BINDTODEVICE, "veth-a") on a packet socket, and what
    /// getsockopt reads back.
    pub set_result: String,
    pub reads_back: String,
    /// What that socket received: the datagram over lo, the one over veth-a.
    pub option_saw_lo: bool,
    pub option_saw_veth: bool,
    /// The same for a packet socket bind()ed to veth-a.
    pub bound_saw_lo: bool,
    pub bound_saw_veth: bool,
}

/// A device name as SO_BINDTODEVICE reads it back, for a sentence: an empty
/// one says so in words.
fn device_text(name: &str) -> &str {
    if name.is_empty() {
        "no device"
    } else {
        name
    }
}

fn packet_sock() -> Result<Sock> {
    let all = i32::from((libc::ETH_P_ALL as u16).to_be());
    let s = Sock::open(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK, all)
        .context("socket(AF_PACKET)")?;
    Ok(s)
}

fn packet_bind(s: &Sock, ifname: &str) -> Result<()> {
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = ifindex(ifname)?;
    // SAFETY: sll is a sockaddr_ll of the size given.
    let rc = unsafe {
        libc::bind(
            s.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("bind AF_PACKET to {ifname}"));
    }
    Ok(())
}

/// Reads the frames queued on `s` until one carries `until` (at most
/// `timeout`): which of the two markers were seen.
fn markers_seen(s: &Sock, until: &[u8], timeout: Duration) -> Result<(bool, bool)> {
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let deadline = std::time::Instant::now() + timeout;
    let mut buf = [0u8; 2048];
    let (mut lo, mut veth) = (false, false);
    loop {
        while let Ok(n) = s.recv(&mut buf, 0) {
            lo |= contains(&buf[..n], LO_MARKER);
            veth |= contains(&buf[..n], VETH_MARKER);
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if (until == LO_MARKER && lo) || (until == VETH_MARKER && veth) || left.is_zero() {
            return Ok((lo, veth));
        }
        wait::readable(s.as_raw_fd(), left)?;
    }
}

const LO_MARKER: &[u8] = b"sockspec over lo";
const VETH_MARKER: &[u8] = b"sockspec over veth-a";

fn packet_socket(lab: &mut Lab) -> Result<PacketSocket> {
    let link = Link::pair_v4(lab)?;
    let by_option = packet_sock()?;
    let set_result = result_name(&bind_device(&by_option, &link.a_end.ifname));
    let reads_back = bound_device(&by_option)?.0;
    let by_bind = packet_sock()?;
    packet_bind(&by_bind, &link.a_end.ifname)?;
    let tx = Sock::udp(Family::V4)?;
    tx.send_to(LO_MARKER, 0, SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 9))
        .context("send over lo")?;
    tx.send_to(VETH_MARKER, 0, SocketAddr::new(link.b_end.addr, 9))
        .context("send over veth-a")?;
    // Once the bound socket has the veth datagram (after an ARP exchange),
    // every tap has been handed both: lo's went first.
    let (bound_saw_lo, bound_saw_veth) = markers_seen(&by_bind, VETH_MARKER, LEAVE)?;
    let (option_saw_lo, option_saw_veth) = markers_seen(&by_option, VETH_MARKER, LEAVE)?;
    Ok(PacketSocket {
        set_result,
        reads_back,
        option_saw_lo,
        option_saw_veth,
        bound_saw_lo,
        bound_saw_veth,
    })
}

impl Observation for PacketSocket {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "SO_BINDTODEVICE on a packet socket: setsockopt, getsockopt",
            &("ok", "veth-a"),
            &(self.set_result.as_str(), self.reads_back.as_str()),
        );
        j.expect_eq(
            "that socket receives lo's and veth-a's frames",
            &(true, true),
            &(self.option_saw_lo, self.option_saw_veth),
        );
        j.expect_eq(
            "a packet socket bind()ed to veth-a receives veth-a's frames only",
            &(false, true),
            &(self.bound_saw_lo, self.bound_saw_veth),
        );
        // Not supported: the option does not restrict what the socket sees.
        j.verdict(
            Verdict::holds_if(self.option_saw_lo),
            format!(
                "setsockopt {} and reads back {}, yet the socket saw lo: {}, veth-a: {}; bind() to veth-a saw \
                 lo: {}, veth-a: {}",
                self.set_result,
                device_text(&self.reads_back),
                self.option_saw_lo,
                self.option_saw_veth,
                self.bound_saw_lo,
                self.bound_saw_veth
            ),
        );
        j.key(format!(
            "set {}; still sees lo: {}",
            self.set_result, self.option_saw_lo
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_dontroute.direct_only

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DontRoute {
    pub sent: Vec<Sent>,
}

fn dontroute(on: bool) -> Result<Sock> {
    sender(|s| {
        s.set_int(libc::SOL_SOCKET, libc::SO_DONTROUTE, i32::from(on))
            .context("SO_DONTROUTE")?;
        Ok(())
    })
}

fn direct_only(lab: &mut Lab) -> Result<DontRoute> {
    let mut p = two_paths(lab)?;
    let sent = vec![
        p.send("plain", &dontroute(false)?, C.into(), 0, Some(TO_B))?,
        p.send("SO_DONTROUTE", &dontroute(true)?, C.into(), 0, Some(TO_C))?,
        p.send(
            "MSG_DONTROUTE",
            &dontroute(false)?,
            C.into(),
            libc::MSG_DONTROUTE,
            Some(TO_C),
        )?,
        p.send("SO_DONTROUTE", &dontroute(true)?, FAR.into(), 0, None)?,
        p.send(
            "MSG_DONTROUTE",
            &dontroute(false)?,
            FAR.into(),
            libc::MSG_DONTROUTE,
            None,
        )?,
    ];
    Ok(DontRoute { sent })
}

impl Observation for DontRoute {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        for s in &self.sent {
            match (s.how.as_str(), s.to == IpAddr::from(FAR)) {
                ("plain", _) => expect_path(&mut j, s, "ok", Some(TO_B)),
                (_, false) => expect_path(&mut j, s, "ok", Some(TO_C)),
                (_, true) => expect_path(&mut j, s, "ENETUNREACH", None),
            }
        }
        let way = |how: &str, far: bool| {
            self.sent
                .iter()
                .find(|s| s.how == how && (s.to == IpAddr::from(FAR)) == far)
                .map(|s| (s.left_by.clone(), s.send.clone()))
        };
        let direct = way("SO_DONTROUTE", false).is_some_and(|(l, _)| l.as_deref() == Some(TO_C));
        let no_gateway = way("SO_DONTROUTE", true).is_some_and(|(l, _)| l.is_none());
        let same = way("SO_DONTROUTE", false) == way("MSG_DONTROUTE", false)
            && way("SO_DONTROUTE", true) == way("MSG_DONTROUTE", true);
        let verdict = match (direct && no_gateway, same) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(verdict, paths_text(&self.sent));
        j.key(format!(
            "to c: {}; to {}: {}",
            way("SO_DONTROUTE", false).and_then(|w| w.0).show(),
            IpAddr::from(FAR),
            way("SO_DONTROUTE", true).map_or("none".into(), |w| w.1)
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_broadcast.datagram_only

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Broadcast {
    /// sendto() of UDP to 198.51.100.255 without and with SO_BROADCAST.
    pub udp_without: String,
    pub udp_with: String,
    /// UDP datagrams to the broadcast address seen leaving, each with its
    /// destination MAC, from the socket without / with the option.
    pub on_wire_without: usize,
    pub on_wire_with: Vec<String>,
    pub delivered: bool,
    /// A raw ICMP socket's echo request to the broadcast address.
    pub raw_without: String,
    pub raw_with: String,
    /// TCP connect() to the broadcast address without and with the option.
    pub tcp_without: String,
    pub tcp_with: String,
    pub syns: usize,
}

const BCAST: [u8; 4] = [198, 51, 100, 255];

fn broadcaster(kind: i32, protocol: i32, on: bool) -> Result<Sock> {
    let s = Sock::open(libc::AF_INET, kind, protocol).context("socket(AF_INET)")?;
    s.set_int(libc::SOL_SOCKET, libc::SO_BROADCAST, i32::from(on))
        .context("SO_BROADCAST")?;
    Ok(s)
}

fn datagram_only(lab: &mut Lab) -> Result<Broadcast> {
    let link = Link::pair_v4(lab)?;
    let rx = udp_bound(&link.b, SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0))?;
    let to = SocketAddr::new(BCAST.into(), rx.local_addr()?.port());
    let mut cap = Capture::start(&link.a_end.ifname)?;

    let without = broadcaster(libc::SOCK_DGRAM, 0, false)?;
    let udp_without = result_name(&without.send_to(b"without", 0, to));
    let with = broadcaster(libc::SOCK_DGRAM, 0, true)?;
    let udp_with = result_name(&with.send_to(b"with", 0, to));
    let delivered = received(&rx, b"with", LEAVE)?;
    let echo = |on: bool| -> Result<String> {
        let s = broadcaster(libc::SOCK_RAW, libc::IPPROTO_ICMP, on)?;
        Ok(result_name(&s.send_to(
            &echo_request(),
            0,
            SocketAddr::new(BCAST.into(), 0),
        )))
    };
    let raw_without = echo(false)?;
    let raw_with = echo(true)?;
    let tcp_connect = |on: bool| -> Result<String> {
        let s = broadcaster(libc::SOCK_STREAM, 0, on)?;
        s.set_nonblocking(true)?;
        Ok(result_name(&s.connect(to)))
    };
    let tcp_without = tcp_connect(false)?;
    let tcp_with = tcp_connect(true)?;

    let ports = (without.local_addr()?.port(), with.local_addr()?.port());
    let frames = cap.frames()?;
    let udp: Vec<(u16, String)> = frames
        .iter()
        .filter_map(|f| match f.decode() {
            Packet::Udp(d) if d.dst == IpAddr::from(BCAST) => Some((d.sport, mac_text(&d.dst_mac))),
            _ => None,
        })
        .collect();
    let syns = frames
        .iter()
        .filter_map(|f| f.segment())
        .filter(|s| s.flags.syn && s.dst == IpAddr::from(BCAST))
        .count();
    Ok(Broadcast {
        udp_without,
        udp_with,
        on_wire_without: udp.iter().filter(|(p, _)| *p == ports.0).count(),
        on_wire_with: udp
            .iter()
            .filter(|(p, _)| *p == ports.1)
            .map(|(_, m)| m.clone())
            .collect(),
        delivered,
        raw_without,
        raw_with,
        tcp_without,
        tcp_with,
        syns,
    })
}

impl Observation for Broadcast {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "UDP to the broadcast address without SO_BROADCAST",
            &("EACCES", 0),
            &(self.udp_without.as_str(), self.on_wire_without),
        );
        j.expect_eq("UDP with SO_BROADCAST: sendto()", "ok", &self.udp_with);
        j.expect_eq(
            "UDP with SO_BROADCAST: frames to",
            &vec!["ff:ff:ff:ff:ff:ff".to_string()],
            &self.on_wire_with,
        );
        j.expect_eq("the other host receives it", &true, &self.delivered);
        j.expect_eq(
            "raw ICMP to the broadcast address without / with SO_BROADCAST",
            &("EACCES", "ok"),
            &(self.raw_without.as_str(), self.raw_with.as_str()),
        );
        j.expect_eq(
            "TCP connect() to the broadcast address without / with SO_BROADCAST",
            &("ENETUNREACH", "ENETUNREACH"),
            &(self.tcp_without.as_str(), self.tcp_with.as_str()),
        );
        j.expect_eq("SYNs to the broadcast address", &0, &self.syns);
        let datagram = self.udp_without == "EACCES" && self.udp_with == "ok" && self.delivered;
        let no_effect_on_stream = self.tcp_without == self.tcp_with;
        let verdict = match (datagram, no_effect_on_stream) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "UDP without: {} ({} on the wire), with: {} (to {}, delivered: {}); raw ICMP without: {}, with: \
                 {}; TCP connect without: {}, with: {} ({} SYNs)",
                self.udp_without,
                self.on_wire_without,
                self.udp_with,
                self.on_wire_with.show(),
                self.delivered,
                self.raw_without,
                self.raw_with,
                self.tcp_without,
                self.tcp_with,
                self.syns
            ),
        );
        j.key(format!(
            "UDP {} / {}; TCP {} / {}",
            self.udp_without, self.udp_with, self.tcp_without, self.tcp_with
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn failed(j: &Judgement) -> (Option<Verdict>, Vec<&str>) {
        (j.verdict, j.failed())
    }

    /// A datagram to `to` that left by `left_by` (none: `send` failed).
    fn sent(how: &str, to: [u8; 4], send: &str, left_by: Option<&str>) -> Sent {
        Sent {
            how: how.into(),
            to: to.into(),
            send: send.into(),
            left_by: left_by.map(str::to_string),
            src: left_by.map(|l| IpAddr::from(if l == TO_C { A_AC } else { A_AB })),
            delivered: left_by == Some(TO_C),
        }
    }

    fn mark_linux() -> MarkRouting {
        MarkRouting {
            sent: vec![
                sent("unmarked", C, "ok", Some(TO_B)),
                sent("SO_MARK 42", C, "ok", Some(TO_C)),
                sent("SO_MARK 43", C, "ok", Some(TO_B)),
            ],
        }
    }

    fn mark_with(i: usize, s: Sent) -> MarkRouting {
        let mut m = mark_linux();
        m.sent[i] = s;
        m
    }

    const M42: [&str; 3] = [
        "SO_MARK 42 to 192.0.2.2: sendto()",
        "SO_MARK 42 to 192.0.2.2: leaves by",
        "SO_MARK 42 to 192.0.2.2: c receives it",
    ];

    #[rstest]
    #[case::linux(mark_linux(), Verdict::Holds, &[])]
    // The mark lost (a libc that ignores SO_MARK): the main table wins.
    #[case::mark_ignored(mark_with(1, sent("SO_MARK 42", C, "ok", Some(TO_B))), Verdict::Refuted,
        &[M42[1], M42[2]])]
    #[case::any_mark_steers(mark_with(2, sent("SO_MARK 43", C, "ok", Some(TO_C))), Verdict::Refuted,
        &["SO_MARK 43 to 192.0.2.2: leaves by", "SO_MARK 43 to 192.0.2.2: c receives it"])]
    #[case::all_steered(mark_with(0, sent("unmarked", C, "ok", Some(TO_C))), Verdict::Refuted,
        &["unmarked to 192.0.2.2: leaves by", "unmarked to 192.0.2.2: c receives it"])]
    #[case::send_failed(mark_with(1, sent("SO_MARK 42", C, "EPERM", None)), Verdict::Refuted, &M42)]
    #[case::not_received(mark_with(1, Sent { delivered: false, ..sent("SO_MARK 42", C, "ok", Some(TO_C)) }),
        Verdict::Holds, &[M42[2]])]
    fn mark_judgement(#[case] o: MarkRouting, #[case] verdict: Verdict, #[case] checks: &[&str]) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn mark_words() {
        let j = mark_linux().judge();
        assert_eq!("mark 42 -> veth-ac; unmarked -> veth-ab", j.key);
        assert_eq!(
            "rule fwmark 42 lookup 100: unmarked -> veth-ab from 198.51.100.1; SO_MARK 42 -> veth-ac from \
             192.0.2.1, delivered; SO_MARK 43 -> veth-ab from 198.51.100.1",
            j.because
        );
        assert_eq!(
            "SO_DONTROUTE -> ENETUNREACH, nothing on the wire",
            path_text(&sent("SO_DONTROUTE", FAR, "ENETUNREACH", None))
        );
        let none = MarkRouting { sent: Vec::new() }.judge();
        assert_eq!("mark 42 -> none; unmarked -> none", none.key);
    }

    fn tried(without: &str, value: i32, result: &str) -> Attempt {
        Attempt {
            without: without.into(),
            value,
            result: result.into(),
        }
    }

    const BOTH: &str = "CAP_NET_ADMIN and CAP_NET_RAW";

    fn mark_privilege_linux() -> MarkPrivilege {
        MarkPrivilege {
            attempts: vec![
                tried("none", 42, "ok"),
                tried("CAP_NET_ADMIN", 42, "ok"),
                tried("CAP_NET_RAW", 42, "ok"),
                tried(BOTH, 42, "EPERM"),
                tried(BOTH, 0, "EPERM"),
            ],
        }
    }

    fn mark_privilege_with(i: usize, result: &str) -> MarkPrivilege {
        let mut m = mark_privilege_linux();
        m.attempts[i].result = result.into();
        m
    }

    #[rstest]
    #[case::linux(mark_privilege_linux(), Verdict::Holds, &[])]
    // Before Linux 5.17: CAP_NET_RAW alone was not enough.
    #[case::before_5_17(mark_privilege_with(1, "EPERM"), Verdict::Differs, &[])]
    #[case::raw_alone_fails(mark_privilege_with(2, "EPERM"), Verdict::Differs,
        &["SO_MARK 42 without CAP_NET_RAW"])]
    #[case::unguarded(mark_privilege_with(3, "ok"), Verdict::Refuted,
        &["SO_MARK 42 without CAP_NET_ADMIN and CAP_NET_RAW"])]
    #[case::zero_unguarded(mark_privilege_with(4, "ok"), Verdict::Holds,
        &["SO_MARK 0 without CAP_NET_ADMIN and CAP_NET_RAW"])]
    #[case::root_refused(mark_privilege_with(0, "EPERM"), Verdict::Holds,
        &["SO_MARK 42 with every capability"])]
    #[case::nothing_tried(MarkPrivilege { attempts: Vec::new() }, Verdict::Differs, &[])]
    fn mark_privilege_judgement(
        #[case] o: MarkPrivilege,
        #[case] verdict: Verdict,
        #[case] checks: &[&str],
    ) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn mark_privilege_words() {
        let j = mark_privilege_linux().judge();
        assert_eq!("without both: EPERM; with either: ok / ok", j.key);
        assert_eq!(
            "mark 42 with every capability: ok; mark 42 without CAP_NET_ADMIN: ok; mark 42 without CAP_NET_RAW: \
             ok; mark 42 without CAP_NET_ADMIN and CAP_NET_RAW: EPERM; mark 0 without CAP_NET_ADMIN and \
             CAP_NET_RAW: EPERM",
            j.because
        );
    }

    fn device_linux() -> DeviceOnly {
        DeviceOnly {
            sent: vec![
                sent("unbound", C, "ok", Some(TO_B)),
                sent("SO_BINDTODEVICE veth-ac", C, "ok", Some(TO_C)),
            ],
            received_from: vec![C.into()],
            icmp_to_b: true,
        }
    }

    const BOUND: [&str; 2] = [
        "SO_BINDTODEVICE veth-ac to 192.0.2.2: leaves by",
        "SO_BINDTODEVICE veth-ac to 192.0.2.2: c receives it",
    ];
    const ONLY_C: &str = "the bound receiver gets c's datagram only";

    #[rstest]
    #[case::linux(device_linux(), Verdict::Holds, &[])]
    // A libc that ignores the option: routing table and any interface.
    #[case::ignored(DeviceOnly { sent: vec![sent("unbound", C, "ok", Some(TO_B)),
        sent("SO_BINDTODEVICE veth-ac", C, "ok", Some(TO_B))], received_from: vec![B.into(), C.into()],
        icmp_to_b: false }, Verdict::Refuted,
        &[BOUND[0], BOUND[1], ONLY_C, "b's datagram is refused with ICMP port unreachable"])]
    #[case::receives_all(DeviceOnly { received_from: vec![B.into(), C.into()], ..device_linux() },
        Verdict::Refuted, &[ONLY_C])]
    #[case::sends_by_route(DeviceOnly { sent: vec![sent("SO_BINDTODEVICE veth-ac", C, "ok", Some(TO_B))],
        ..device_linux() }, Verdict::Refuted, &[BOUND[0], BOUND[1]])]
    #[case::unbound_direct(DeviceOnly { sent: vec![sent("unbound", C, "ok", Some(TO_C))],
        ..device_linux() }, Verdict::Refuted,
        &["unbound to 192.0.2.2: leaves by", "unbound to 192.0.2.2: c receives it"])]
    #[case::no_icmp(DeviceOnly { icmp_to_b: false, ..device_linux() }, Verdict::Holds,
        &["b's datagram is refused with ICMP port unreachable"])]
    #[case::nothing_received(DeviceOnly { received_from: Vec::new(), ..device_linux() }, Verdict::Holds,
        &[ONLY_C])]
    fn device_judgement(#[case] o: DeviceOnly, #[case] verdict: Verdict, #[case] checks: &[&str]) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn device_words() {
        let j = device_linux().judge();
        assert_eq!("receives from [192.0.2.2]", j.key);
        assert_eq!(
            "unbound -> veth-ab from 198.51.100.1; SO_BINDTODEVICE veth-ac -> veth-ac from 192.0.2.1, delivered; \
             the receiver bound to veth-ac got datagrams from [192.0.2.2]",
            j.because
        );
    }

    fn step(call: &str, without: &str, result: &str, name: &str) -> BindStep {
        let way = if name.is_empty() { TO_B } else { TO_C };
        BindStep {
            call: call.into(),
            without: without.into(),
            result: result.into(),
            name: name.into(),
            optlen: if name.is_empty() { 0 } else { name.len() + 1 },
            sent: sent(&format!("after {call}"), C, "ok", Some(way)),
        }
    }

    fn unbind_linux() -> Unbind {
        Unbind {
            steps: vec![
                step("bind veth-ac", "none", "ok", TO_C),
                step("empty name", "none", "ok", ""),
                step("bind veth-ac", "none", "ok", TO_C),
                step("optlen 0", "none", "ok", ""),
                step("bind veth-ac", "CAP_NET_RAW", "ok", TO_C),
                step("empty name", "CAP_NET_RAW", "EPERM", TO_C),
            ],
        }
    }

    fn unbind_with(i: usize, s: BindStep) -> Unbind {
        let mut u = unbind_linux();
        u.steps[i] = s;
        u
    }

    fn checks_of(what: &str) -> [String; 3] {
        [
            format!("{what}: setsockopt"),
            format!("{what}: getsockopt name and optlen"),
            format!("{what}: the next datagram leaves by"),
        ]
    }

    #[rstest]
    #[case::linux(unbind_linux(), Verdict::Differs, vec![])]
    // The page's world: no privilege needed to remove a binding.
    #[case::unprivileged_removal(unbind_with(5, step("empty name", "CAP_NET_RAW", "ok", "")),
        Verdict::Holds, checks_of("empty name (without CAP_NET_RAW)").to_vec())]
    #[case::empty_name_kept(unbind_with(1, step("empty name", "none", "ok", TO_C)), Verdict::Refuted,
        checks_of("empty name (with every capability)")[1..].to_vec())]
    #[case::zero_length_refused(unbind_with(3, step("optlen 0", "none", "EINVAL", TO_C)),
        Verdict::Refuted, checks_of("optlen 0 (with every capability)").to_vec())]
    // Before Linux 5.7: binding at all needed CAP_NET_RAW.
    #[case::before_5_7(Unbind { steps: vec![step("bind veth-ac", "CAP_NET_RAW", "EPERM", ""),
        step("empty name", "CAP_NET_RAW", "EPERM", "")] }, Verdict::Differs,
        [checks_of("bind veth-ac (without CAP_NET_RAW)").to_vec(),
         checks_of("empty name (without CAP_NET_RAW)")[1..].to_vec()].concat())]
    #[case::length_without_nul(unbind_with(0, BindStep { optlen: 7, ..step("bind veth-ac", "none", "ok", TO_C) }),
        Verdict::Differs, vec![checks_of("bind veth-ac (with every capability)")[1].clone()])]
    fn unbind_judgement(#[case] o: Unbind, #[case] verdict: Verdict, #[case] checks: Vec<String>) {
        let j = o.judge();
        assert_eq!(
            (
                Some(verdict),
                checks.iter().map(String::as_str).collect::<Vec<_>>()
            ),
            failed(&j)
        );
    }

    #[test]
    fn unbind_words() {
        let j = unbind_linux().judge();
        assert_eq!("removal without CAP_NET_RAW: EPERM", j.key);
        assert!(j.because.starts_with(
            "bind veth-ac with every capability: ok, reads veth-ac (8 B), then veth-ac; empty name with every \
             capability: ok, reads no device (0 B), then veth-ab; "
        ));
        assert!(j
            .because
            .ends_with("empty name without CAP_NET_RAW: EPERM, reads veth-ac (8 B), then veth-ac"));
        let none = Unbind { steps: Vec::new() }.judge();
        assert_eq!("removal without CAP_NET_RAW: none", none.key);
        assert_eq!("with every capability", lowered_text("none"));
    }

    fn packet_linux() -> PacketSocket {
        PacketSocket {
            set_result: "ok".into(),
            reads_back: "veth-a".into(),
            option_saw_lo: true,
            option_saw_veth: true,
            bound_saw_lo: false,
            bound_saw_veth: true,
        }
    }

    #[rstest]
    #[case::linux(packet_linux(), Verdict::Holds, &[])]
    // A kernel where the option filtered packet sockets too.
    #[case::filters(PacketSocket { option_saw_lo: false, ..packet_linux() }, Verdict::Refuted,
        &["that socket receives lo's and veth-a's frames"])]
    #[case::refused(PacketSocket { set_result: "ENOPROTOOPT".into(), reads_back: String::new(),
        ..packet_linux() }, Verdict::Holds, &["SO_BINDTODEVICE on a packet socket: setsockopt, getsockopt"])]
    #[case::missed_veth(PacketSocket { option_saw_veth: false, ..packet_linux() }, Verdict::Holds,
        &["that socket receives lo's and veth-a's frames"])]
    #[case::bind_leaks(PacketSocket { bound_saw_lo: true, ..packet_linux() }, Verdict::Holds,
        &["a packet socket bind()ed to veth-a receives veth-a's frames only"])]
    #[case::bind_blind(PacketSocket { bound_saw_veth: false, ..packet_linux() }, Verdict::Holds,
        &["a packet socket bind()ed to veth-a receives veth-a's frames only"])]
    fn packet_judgement(
        #[case] o: PacketSocket,
        #[case] verdict: Verdict,
        #[case] checks: &[&str],
    ) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn packet_words() {
        let j = packet_linux().judge();
        assert_eq!("set ok; still sees lo: true", j.key);
        assert_eq!(
            "setsockopt ok and reads back veth-a, yet the socket saw lo: true, veth-a: true; bind() to veth-a \
             saw lo: false, veth-a: true",
            j.because
        );
    }

    fn dontroute_linux() -> DontRoute {
        DontRoute {
            sent: vec![
                sent("plain", C, "ok", Some(TO_B)),
                sent("SO_DONTROUTE", C, "ok", Some(TO_C)),
                sent("MSG_DONTROUTE", C, "ok", Some(TO_C)),
                sent("SO_DONTROUTE", FAR, "ENETUNREACH", None),
                sent("MSG_DONTROUTE", FAR, "ENETUNREACH", None),
            ],
        }
    }

    fn dontroute_with(i: usize, s: Sent) -> DontRoute {
        let mut d = dontroute_linux();
        d.sent[i] = s;
        d
    }

    #[rstest]
    #[case::linux(dontroute_linux(), Verdict::Holds, &[])]
    // The option lost: the gateway route is used, and the far address too.
    #[case::ignored(DontRoute { sent: vec![sent("SO_DONTROUTE", C, "ok", Some(TO_B)),
        sent("SO_DONTROUTE", FAR, "ok", Some(TO_B))] }, Verdict::Refuted,
        &["SO_DONTROUTE to 192.0.2.2: leaves by", "SO_DONTROUTE to 192.0.2.2: c receives it",
          "SO_DONTROUTE to 203.0.113.7: sendto()", "SO_DONTROUTE to 203.0.113.7: leaves by"])]
    #[case::far_via_gateway(dontroute_with(3, sent("SO_DONTROUTE", FAR, "ok", Some(TO_B))), Verdict::Refuted,
        &["SO_DONTROUTE to 203.0.113.7: sendto()", "SO_DONTROUTE to 203.0.113.7: leaves by"])]
    #[case::flag_differs(dontroute_with(2, sent("MSG_DONTROUTE", C, "ok", Some(TO_B))), Verdict::Differs,
        &["MSG_DONTROUTE to 192.0.2.2: leaves by", "MSG_DONTROUTE to 192.0.2.2: c receives it"])]
    #[case::flag_far(dontroute_with(4, sent("MSG_DONTROUTE", FAR, "ok", Some(TO_B))), Verdict::Differs,
        &["MSG_DONTROUTE to 203.0.113.7: sendto()", "MSG_DONTROUTE to 203.0.113.7: leaves by"])]
    #[case::plain_direct(dontroute_with(0, sent("plain", C, "ok", Some(TO_C))), Verdict::Holds,
        &["plain to 192.0.2.2: leaves by", "plain to 192.0.2.2: c receives it"])]
    fn dontroute_judgement(
        #[case] o: DontRoute,
        #[case] verdict: Verdict,
        #[case] checks: &[&str],
    ) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn dontroute_words() {
        let j = dontroute_linux().judge();
        assert_eq!("to c: veth-ac; to 203.0.113.7: ENETUNREACH", j.key);
        assert!(j.because.starts_with(
            "plain -> veth-ab from 198.51.100.1; SO_DONTROUTE -> veth-ac from 192.0.2.1, delivered; "
        ));
        let none = DontRoute { sent: Vec::new() }.judge();
        assert_eq!("to c: none; to 203.0.113.7: none", none.key);
    }

    fn broadcast_linux() -> Broadcast {
        Broadcast {
            udp_without: "EACCES".into(),
            udp_with: "ok".into(),
            on_wire_without: 0,
            on_wire_with: vec!["ff:ff:ff:ff:ff:ff".into()],
            delivered: true,
            raw_without: "EACCES".into(),
            raw_with: "ok".into(),
            tcp_without: "ENETUNREACH".into(),
            tcp_with: "ENETUNREACH".into(),
            syns: 0,
        }
    }

    const UDP_WITHOUT: &str = "UDP to the broadcast address without SO_BROADCAST";
    const TCP: &str = "TCP connect() to the broadcast address without / with SO_BROADCAST";

    #[rstest]
    #[case::linux(broadcast_linux(), Verdict::Holds, &[])]
    // No flag needed: broadcast allowed to anyone.
    #[case::unguarded(Broadcast { udp_without: "ok".into(), on_wire_without: 1, ..broadcast_linux() },
        Verdict::Refuted, &[UDP_WITHOUT])]
    #[case::left_anyway(Broadcast { on_wire_without: 1, ..broadcast_linux() }, Verdict::Holds, &[UDP_WITHOUT])]
    #[case::flag_ignored(Broadcast { udp_with: "EACCES".into(), on_wire_with: Vec::new(), delivered: false,
        ..broadcast_linux() }, Verdict::Refuted,
        &["UDP with SO_BROADCAST: sendto()", "UDP with SO_BROADCAST: frames to", "the other host receives it"])]
    #[case::lost(Broadcast { delivered: false, ..broadcast_linux() }, Verdict::Refuted,
        &["the other host receives it"])]
    #[case::unicast_mac(Broadcast { on_wire_with: vec!["02:00:00:00:00:0b".into()], ..broadcast_linux() },
        Verdict::Holds, &["UDP with SO_BROADCAST: frames to"])]
    // Stream sockets affected: TCP would connect with the option.
    #[case::stream_affected(Broadcast { tcp_with: "EINPROGRESS".into(), syns: 1, ..broadcast_linux() },
        Verdict::Differs, &[TCP, "SYNs to the broadcast address"])]
    #[case::raw_unguarded(Broadcast { raw_without: "ok".into(), ..broadcast_linux() }, Verdict::Holds,
        &["raw ICMP to the broadcast address without / with SO_BROADCAST"])]
    #[case::tcp_other_error(Broadcast { tcp_without: "EACCES".into(), tcp_with: "EACCES".into(),
        ..broadcast_linux() }, Verdict::Holds, &[TCP])]
    fn broadcast_judgement(
        #[case] o: Broadcast,
        #[case] verdict: Verdict,
        #[case] checks: &[&str],
    ) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn broadcast_words() {
        let j = broadcast_linux().judge();
        assert_eq!("UDP EACCES / ok; TCP ENETUNREACH / ENETUNREACH", j.key);
        assert_eq!(
            "UDP without: EACCES (0 on the wire), with: ok (to [ff:ff:ff:ff:ff:ff], delivered: true); raw ICMP \
             without: EACCES, with: ok; TCP connect without: ENETUNREACH, with: ENETUNREACH (0 SYNs)",
            j.because
        );
        assert_eq!("02:00:00:00:00:1a", mac_text(&MAC_AC));
    }
}
