//! The error queue of IP_RECVERR(2const) and IPV6_RECVERR(2const): what an
//! unconnected UDP socket learns from ICMP errors sent by a real router and a
//! real far host (lab::router), and from the kernel itself. Each error is
//! read with recvmsg(MSG_ERRQUEUE) and its sock_extended_err decoded.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::poll::PollFlags;
use serde::{Deserialize, Serialize};

use crate::lab::msg::{self, ExtendedErr};
use crate::lab::opt;
use crate::lab::packet::Packet;
use crate::lab::router::{Routed, HOST_IF};
use crate::lab::sock::{errno_name, result_name, Returned};
use crate::lab::{phase, wait, Capture, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&QUEUE, &QUEUE_V6, &TCP_QUEUE];

pub static QUEUE: Case = Case {
    id: "ip_recverr.queue",
    source: Source::ManPage("man-pages 6.20 IP_RECVERR(2const) IP_RECVERR"),
    claim: "with IP_RECVERR a datagram socket queues every error; recvmsg(MSG_ERRQUEUE) returns a \
            sock_extended_err with the errno, origin ICMP (or LOCAL for errors made by the host), the ICMP \
            type and code, the discovered MTU in ee_info for EMSGSIZE, the address of the node that caused \
            it, and the offending datagram's payload as data; without it an unconnected socket hears of no \
            error",
    expectation: "port unreachable from the far host: ECONNREFUSED, origin ICMP, 3/3, offender the far host, \
                  the 33-byte payload back; TTL 1: EHOSTUNREACH, 11/0, offender the router; a 1500-byte \
                  datagram with DF: EMSGSIZE, 3/4, ee_info 1400, offender the router; the same datagram \
                  again: send() fails with EMSGSIZE and a LOCAL error with ee_info 1400 and no offender is \
                  queued; a socket without IP_RECVERR gets nothing (SO_ERROR 0, queue empty)",
    run: &Measure(|lab| queue(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_RECVERR, opt::IP_TTL, opt::IP_MTU_DISCOVER],
};

pub static QUEUE_V6: Case = Case {
    id: "ipv6_recverr.queue",
    source: Source::ManPage("man-pages 6.20 IPV6_RECVERR(2const) IPV6_RECVERR"),
    claim: "IPV6_RECVERR queues asynchronous errors as IP_RECVERR does: sock_extended_err with origin, \
            ICMPv6 type and code, the MTU for EMSGSIZE and the offender",
    expectation: "origin ICMP6: port unreachable 1/4 ECONNREFUSED from the far host; hop limit 1: 3/0 \
                  EHOSTUNREACH from the router; packet too big 2/0 EMSGSIZE with ee_info 1400 from the router; \
                  then a LOCAL EMSGSIZE with ee_info 1400; a socket without IPV6_RECVERR gets nothing",
    run: &Measure(|lab| queue(lab, Family::V6)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[
        opt::IPV6_RECVERR,
        opt::IPV6_UNICAST_HOPS,
        opt::IPV6_MTU_DISCOVER,
    ],
};

pub static TCP_QUEUE: Case = Case {
    id: "ip_recverr.tcp_error_queue",
    source: Source::ManPage("man-pages 6.20 IP_RECVERR(2const) IP_RECVERR"),
    claim: "TCP has no error queue and MSG_ERRQUEUE is not permitted on SOCK_STREAM sockets; IP_RECVERR is \
            valid for TCP, but errors come only from call returns and SO_ERROR",
    expectation: "IP_RECVERR is accepted on a TCP socket; recvmsg(MSG_ERRQUEUE) on it is permitted: EAGAIN \
                  while the queue is empty, and with SO_TIMESTAMPING (software transmit stamps) every send \
                  queues a report there: a sock_extended_err with ENOMSG and origin 4 (timestamping)",
    run: &Measure(tcp_queue),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_TIMESTAMPING],
};

const FAR_MTU: u32 = 1400;
/// A port nobody listens on at the far host.
const CLOSED_PORT: u16 = 9;
const PAYLOAD: usize = 33;

const SO_EE_ORIGIN_LOCAL: u8 = 1;

/// One error as recvmsg(MSG_ERRQUEUE) returned it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Queued {
    /// The errno name in ee_errno.
    pub errno: String,
    /// SO_EE_ORIGIN_*: 1 local, 2 ICMP, 3 ICMP6.
    pub origin: u8,
    /// ICMP type and code.
    pub kind: u8,
    pub code: u8,
    /// ee_info (the MTU for EMSGSIZE).
    pub info: u32,
    /// SO_EE_OFFENDER; none when its family is AF_UNSPEC.
    pub offender: Option<IpAddr>,
    /// Bytes returned as normal data: the offending datagram's payload.
    pub payload: usize,
}

impl Queued {
    fn of(e: &ExtendedErr, payload: usize) -> Queued {
        Queued {
            errno: errno_name(&io::Error::from_raw_os_error(e.errno)),
            origin: e.origin,
            kind: e.kind,
            code: e.code,
            info: e.info,
            offender: e.offender,
            payload,
        }
    }

    fn words(&self) -> String {
        format!(
            "{} origin {} type {} code {} info {} from {} ({} B)",
            self.errno,
            self.origin,
            self.kind,
            self.code,
            self.info,
            self.offender.show(),
            self.payload
        )
    }
}

/// What the error queue held after each provocation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    pub family: String,
    pub router: IpAddr,
    pub far: IpAddr,
    /// A 33-byte datagram to a closed port of the far host.
    pub unreachable: Option<Queued>,
    /// A datagram with TTL (hop limit) 1.
    pub ttl_exceeded: Option<Queued>,
    /// A 1500-byte datagram with DF beyond the 1400-byte far link.
    pub too_big: Option<Queued>,
    /// send() of the same datagram again, and what was queued.
    pub resend: Returned,
    pub local: Option<Queued>,
    /// A socket without the option that sent to the closed port first:
    /// SO_ERROR and recvmsg(MSG_ERRQUEUE).
    pub without_so_error: String,
    pub without_queue: String,
}

/// The next error on `s`'s queue, once the ICMP error that causes it has
/// been captured (or at once for local errors); none if nothing is queued.
fn next_error(s: &Sock, family: Family) -> Result<Option<Queued>> {
    // The capture saw the ICMP message on its way in; its processing
    // follows in the same softirq: a short wait covers it.
    if !wait::ready(
        s.as_raw_fd(),
        PollFlags::POLLERR,
        Duration::from_millis(500),
    )? {
        return Ok(None);
    }
    let r = match msg::recv(s, 2048, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
        Err(e) => return Err(e).context("recvmsg(MSG_ERRQUEUE)"),
    };
    let (level, kind) = match family {
        Family::V4 => (libc::IPPROTO_IP, libc::IP_RECVERR),
        Family::V6 => (libc::IPPROTO_IPV6, libc::IPV6_RECVERR),
    };
    Ok(r.cmsg(level, kind)
        .and_then(|c| c.extended_err())
        .map(|e| Queued::of(&e, r.len)))
}

/// ICMP errors addressed to `host` captured so far, and all frames so far.
fn icmps(cap: &mut Capture, host: IpAddr) -> Result<(usize, usize)> {
    let frames = cap.frames()?;
    let n = frames
        .iter()
        .filter(|f| matches!(f.decode(), Packet::Icmp(m) if m.dst == host))
        .count();
    Ok((n, frames.len()))
}

/// Blocks until `n` ICMP errors to `host` have been captured.
fn await_icmps(cap: &mut Capture, host: IpAddr, n: usize) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (seen, frames) = icmps(cap, host)?;
        if seen >= n {
            return Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("waited 5 s for ICMP error #{n} on the host's link: never captured");
        }
        cap.wait_beyond(frames, left)?;
    }
}

fn queue(lab: &mut Lab, family: Family) -> Result<Queue> {
    let t = Routed::build(lab, family, FAR_MTU)?;
    let mut cap = Capture::start(HOST_IF)?;
    let (level, recverr, hops, discover) = match family {
        Family::V4 => (
            libc::IPPROTO_IP,
            libc::IP_RECVERR,
            libc::IP_TTL,
            libc::IP_MTU_DISCOVER,
        ),
        Family::V6 => (
            libc::IPPROTO_IPV6,
            libc::IPV6_RECVERR,
            libc::IPV6_UNICAST_HOPS,
            libc::IPV6_MTU_DISCOVER,
        ),
    };
    let closed = SocketAddr::new(t.far_addr, CLOSED_PORT);
    let without = Sock::udp(family)?;
    let s = Sock::udp(family)?;
    s.set_int(level, recverr, 1).context("set RECVERR")?;
    let host = t.host_addr;
    let seen = icmps(&mut cap, host)?.0;
    without
        .send_to(&[b'w'; PAYLOAD], 0, closed)
        .context("send from the socket without RECVERR")?;
    s.send_to(&[b'u'; PAYLOAD], 0, closed)
        .context("send to the closed port")?;
    phase("waiting for two port unreachable errors");
    await_icmps(&mut cap, host, seen + 2)?;
    let unreachable = next_error(&s, family)?;
    let without_so_error = match without.get_int(libc::SOL_SOCKET, libc::SO_ERROR) {
        Ok(0) => "0".to_string(),
        Ok(e) => errno_name(&io::Error::from_raw_os_error(e)),
        Err(e) => errno_name(&e),
    };
    let without_queue = result_name(&msg::recv(
        &without,
        2048,
        libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
    ));

    s.set_int(level, hops, 1).context("TTL 1")?;
    s.send_to(&[b't'; PAYLOAD], 0, closed)
        .context("send with TTL 1")?;
    await_icmps(&mut cap, host, seen + 3)?;
    let ttl_exceeded = next_error(&s, family)?;
    s.set_int(level, hops, -1)
        .context("TTL back to the default")?;

    s.set_int(level, discover, libc::IP_PMTUDISC_DO)
        .context("path MTU discovery DO")?;
    let big = vec![b'B'; if family == Family::V4 { 1472 } else { 1452 }];
    s.send_to(&big, 0, closed).context("send 1500 bytes")?;
    await_icmps(&mut cap, host, seen + 4)?;
    let too_big = next_error(&s, family)?;
    let resend = Returned::of(&s.send_to(&big, 0, closed));
    let local = next_error(&s, family)?;
    Ok(Queue {
        family: family.name().to_string(),
        router: t.router_near,
        far: t.far_addr,
        unreachable,
        ttl_exceeded,
        too_big,
        resend,
        local,
        without_so_error,
        without_queue,
    })
}

/// One expected error: errno, origin, type, code, ee_info, offender, payload.
struct Want {
    what: &'static str,
    errno: &'static str,
    origin: u8,
    kind: u8,
    code: u8,
    info: u32,
    offender: Option<IpAddr>,
    payload: Option<usize>,
}

impl Want {
    fn matches(&self, q: &Queued) -> bool {
        q.errno == self.errno
            && q.origin == self.origin
            && q.kind == self.kind
            && q.code == self.code
            && q.info == self.info
            && q.offender == self.offender
            && self.payload.is_none_or(|p| p == q.payload)
    }

    fn words(&self) -> String {
        format!(
            "{} origin {} type {} code {} info {} from {}{}",
            self.errno,
            self.origin,
            self.kind,
            self.code,
            self.info,
            self.offender.show(),
            self.payload
                .map(|p| format!(" ({p} B)"))
                .unwrap_or_default()
        )
    }
}

impl Queue {
    fn wants(&self) -> [Want; 4] {
        let v4 = self.family == "ipv4";
        let icmp = if v4 { 2 } else { 3 };
        let pick = |a: u8, b: u8| if v4 { a } else { b };
        [
            Want {
                what: "port unreachable",
                errno: "ECONNREFUSED",
                origin: icmp,
                kind: pick(3, 1),
                code: pick(3, 4),
                info: 0,
                offender: Some(self.far),
                payload: Some(PAYLOAD),
            },
            Want {
                what: "TTL exceeded at the router",
                errno: "EHOSTUNREACH",
                origin: icmp,
                kind: pick(11, 3),
                code: 0,
                info: 0,
                offender: Some(self.router),
                payload: Some(PAYLOAD),
            },
            Want {
                what: "too big for the far link",
                errno: "EMSGSIZE",
                origin: icmp,
                kind: pick(3, 2),
                code: pick(4, 0),
                info: FAR_MTU,
                offender: Some(self.router),
                payload: None,
            },
            Want {
                what: "too big, found by the host",
                errno: "EMSGSIZE",
                origin: SO_EE_ORIGIN_LOCAL,
                kind: 0,
                code: 0,
                info: FAR_MTU,
                offender: None,
                payload: None,
            },
        ]
    }

    fn got(&self) -> [&Option<Queued>; 4] {
        [
            &self.unreachable,
            &self.ttl_exceeded,
            &self.too_big,
            &self.local,
        ]
    }
}

impl Observation for Queue {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let mut matched = 0;
        let mut queued = 0;
        for (w, g) in self.wants().iter().zip(self.got()) {
            let ok = g.as_ref().is_some_and(|q| w.matches(q));
            j.expect(
                &format!("error queue: {}", w.what),
                ok,
                w.words(),
                g.as_ref()
                    .map(Queued::words)
                    .unwrap_or_else(|| "nothing queued".into()),
            );
            matched += usize::from(ok);
            queued += usize::from(g.is_some());
        }
        j.expect_eq(
            "the second 1500-byte datagram: send()",
            &Returned::errno("EMSGSIZE"),
            &self.resend,
        );
        j.expect_eq(
            "without the option: SO_ERROR",
            &"0",
            &self.without_so_error.as_str(),
        );
        j.expect_eq(
            "without the option: recvmsg(MSG_ERRQUEUE)",
            &"EAGAIN",
            &self.without_queue.as_str(),
        );
        let silent = self.without_so_error == "0" && self.without_queue == "EAGAIN";
        let verdict = if queued == 0 {
            Verdict::Refuted
        } else if matched == 4 && silent {
            Verdict::Holds
        } else {
            Verdict::Differs
        };
        let got: Vec<String> = self
            .wants()
            .iter()
            .zip(self.got())
            .map(|(w, g)| {
                format!(
                    "{}: {}",
                    w.what,
                    g.as_ref()
                        .map(Queued::words)
                        .unwrap_or_else(|| "nothing".into())
                )
            })
            .collect();
        j.verdict(
            verdict,
            format!(
                "{} of 4 errors as described; {}; without the option SO_ERROR {} and the queue {}",
                matched,
                got.join("; "),
                self.without_so_error,
                self.without_queue
            ),
        );
        j.key(
            self.got()
                .iter()
                .map(|g| {
                    g.as_ref()
                        .map(|q| format!("{} {}/{}", q.errno, q.kind, q.code))
                        .unwrap_or_else(|| "nothing".into())
                })
                .collect::<Vec<_>>()
                .join(", "),
        );
        j
    }
}

/// The error queue of a connected TCP socket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TcpQueue {
    /// setsockopt(IP_RECVERR, 1) on the TCP socket.
    pub set_recverr: String,
    /// recvmsg(MSG_ERRQUEUE) before anything was queued: ok or errno.
    pub empty: String,
    /// recvmsg(MSG_ERRQUEUE) after a send with software transmit
    /// timestamps on: ok or errno, and the report it carried.
    pub after_send: String,
    pub report: Option<Queued>,
}

/// SOF_TIMESTAMPING_TX_SOFTWARE | SOFTWARE | OPT_ID | OPT_TSONLY
/// (linux/net_tstamp.h): a software stamp when each send leaves, without
/// the data.
const TX_STAMPS: i32 = (1 << 1) | (1 << 4) | (1 << 7) | (1 << 11);

fn tcp_queue(_lab: &mut Lab) -> Result<TcpQueue> {
    let pair = crate::lab::TcpPair::loopback(Family::V4)?;
    let c = &pair.client;
    let set_recverr = result_name(&c.set_int(libc::IPPROTO_IP, libc::IP_RECVERR, 1));
    let flags = libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT;
    let empty = result_name(&msg::recv(c, 256, flags));
    c.set_int(libc::SOL_SOCKET, libc::SO_TIMESTAMPING, TX_STAMPS)
        .context("SO_TIMESTAMPING")?;
    c.send(b"stamp me", 0).context("send")?;
    wait::ready(c.as_raw_fd(), PollFlags::POLLERR, Duration::from_secs(2))?;
    let r = msg::recv(c, 256, flags);
    let after_send = result_name(&r);
    let report = r.ok().and_then(|r| {
        r.cmsg(libc::IPPROTO_IP, libc::IP_RECVERR)
            .and_then(|m| m.extended_err())
            .map(|e| Queued::of(&e, r.len))
    });
    Ok(TcpQueue {
        set_recverr,
        empty,
        after_send,
        report,
    })
}

/// SO_EE_ORIGIN_TIMESTAMPING.
const ORIGIN_TIMESTAMPING: u8 = 4;

impl Observation for TcpQueue {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("IP_RECVERR on TCP", &"ok", &self.set_recverr.as_str());
        j.expect_eq(
            "recvmsg(MSG_ERRQUEUE) on TCP, nothing queued",
            &"EAGAIN",
            &self.empty.as_str(),
        );
        j.expect_eq(
            "recvmsg(MSG_ERRQUEUE) after a time-stamped send",
            &"ok",
            &self.after_send.as_str(),
        );
        let stamp = self
            .report
            .as_ref()
            .is_some_and(|q| q.errno == "ENOMSG" && q.origin == ORIGIN_TIMESTAMPING);
        j.expect(
            "the queued report",
            stamp,
            "ENOMSG origin 4",
            self.report
                .as_ref()
                .map(|q| format!("{} origin {}", q.errno, q.origin))
                .unwrap_or_else(|| "none".into()),
        );
        let refused = |r: &str| r != "ok" && r != "EAGAIN";
        let verdict = if self.report.is_some() {
            Verdict::Refuted
        } else if refused(&self.empty) && refused(&self.after_send) {
            Verdict::Holds
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "IP_RECVERR on TCP: {}; MSG_ERRQUEUE on TCP: {} when empty, {} after a time-stamped send{}",
                self.set_recverr,
                self.empty,
                self.after_send,
                self.report
                    .as_ref()
                    .map(|q| format!(" (report {} origin {})", q.errno, q.origin))
                    .unwrap_or_default()
            ),
        );
        j.key(format!(
            "TCP MSG_ERRQUEUE: {} empty, {} after send",
            self.empty, self.after_send
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn q(
        errno: &str,
        origin: u8,
        kind: u8,
        code: u8,
        info: u32,
        from: Option<&str>,
        payload: usize,
    ) -> Option<Queued> {
        Some(Queued {
            errno: errno.into(),
            origin,
            kind,
            code,
            info,
            offender: from.map(|a| a.parse().unwrap()),
            payload,
        })
    }

    fn linux() -> Queue {
        Queue {
            family: "ipv4".into(),
            router: "192.0.2.2".parse().unwrap(),
            far: "203.0.113.2".parse().unwrap(),
            unreachable: q("ECONNREFUSED", 2, 3, 3, 0, Some("203.0.113.2"), 33),
            ttl_exceeded: q("EHOSTUNREACH", 2, 11, 0, 0, Some("192.0.2.2"), 33),
            too_big: q("EMSGSIZE", 2, 3, 4, 1400, Some("192.0.2.2"), 520),
            resend: Returned::errno("EMSGSIZE"),
            local: q("EMSGSIZE", 1, 0, 0, 1400, None, 0),
            without_so_error: "0".into(),
            without_queue: "EAGAIN".into(),
        }
    }

    fn linux_v6() -> Queue {
        Queue {
            family: "ipv6".into(),
            router: "2001:db8:1::2".parse().unwrap(),
            far: "2001:db8:2::2".parse().unwrap(),
            unreachable: q("ECONNREFUSED", 3, 1, 4, 0, Some("2001:db8:2::2"), 33),
            ttl_exceeded: q("EHOSTUNREACH", 3, 3, 0, 0, Some("2001:db8:1::2"), 33),
            too_big: q("EMSGSIZE", 3, 2, 0, 1400, Some("2001:db8:1::2"), 1184),
            resend: Returned::errno("EMSGSIZE"),
            local: q("EMSGSIZE", 1, 0, 0, 1400, None, 0),
            without_so_error: "0".into(),
            without_queue: "EAGAIN".into(),
        }
    }

    const E: [&str; 4] = [
        "error queue: port unreachable",
        "error queue: TTL exceeded at the router",
        "error queue: too big for the far link",
        "error queue: too big, found by the host",
    ];

    #[rstest]
    #[case::linux(linux(), Verdict::Holds, &[])]
    #[case::linux_v6(linux_v6(), Verdict::Holds, &[])]
    // A libc that ignores the option: nothing is ever queued.
    #[case::ignored(Queue { unreachable: None, ttl_exceeded: None, too_big: None, local: None, ..linux() },
        Verdict::Refuted, &E)]
    // A connected-socket world: the socket without the option still hears.
    #[case::without_hears(Queue { without_so_error: "ECONNREFUSED".into(), ..linux() }, Verdict::Differs,
        &["without the option: SO_ERROR"])]
    #[case::without_queued(Queue { without_queue: "ok".into(), ..linux() }, Verdict::Differs,
        &["without the option: recvmsg(MSG_ERRQUEUE)"])]
    // Each field of the first error in turn.
    #[case::errno(Queue { unreachable: q("EHOSTUNREACH", 2, 3, 3, 0, Some("203.0.113.2"), 33), ..linux() },
        Verdict::Differs, &[E[0]])]
    #[case::origin(Queue { unreachable: q("ECONNREFUSED", 1, 3, 3, 0, Some("203.0.113.2"), 33), ..linux() },
        Verdict::Differs, &[E[0]])]
    #[case::kind(Queue { unreachable: q("ECONNREFUSED", 2, 4, 3, 0, Some("203.0.113.2"), 33), ..linux() },
        Verdict::Differs, &[E[0]])]
    #[case::code(Queue { unreachable: q("ECONNREFUSED", 2, 3, 1, 0, Some("203.0.113.2"), 33), ..linux() },
        Verdict::Differs, &[E[0]])]
    #[case::info(Queue { unreachable: q("ECONNREFUSED", 2, 3, 3, 1, Some("203.0.113.2"), 33), ..linux() },
        Verdict::Differs, &[E[0]])]
    #[case::offender(Queue { unreachable: q("ECONNREFUSED", 2, 3, 3, 0, Some("192.0.2.2"), 33), ..linux() },
        Verdict::Differs, &[E[0]])]
    #[case::no_offender(Queue { unreachable: q("ECONNREFUSED", 2, 3, 3, 0, None, 33), ..linux() },
        Verdict::Differs, &[E[0]])]
    #[case::payload(Queue { unreachable: q("ECONNREFUSED", 2, 3, 3, 0, Some("203.0.113.2"), 0), ..linux() },
        Verdict::Differs, &[E[0]])]
    #[case::ttl_offender_far(Queue { ttl_exceeded: q("EHOSTUNREACH", 2, 11, 0, 0, Some("203.0.113.2"), 33),
        ..linux() }, Verdict::Differs, &[E[1]])]
    #[case::mtu_missing(Queue { too_big: q("EMSGSIZE", 2, 3, 4, 0, Some("192.0.2.2"), 520), ..linux() },
        Verdict::Differs, &[E[2]])]
    // The quoted payload's length does not count for too-big errors.
    #[case::mtu_any_payload(Queue { too_big: q("EMSGSIZE", 2, 3, 4, 1400, Some("192.0.2.2"), 7), ..linux() },
        Verdict::Holds, &[])]
    #[case::no_local(Queue { local: None, resend: Returned::Bytes(1472), ..linux() }, Verdict::Differs,
        &[E[3], "the second 1500-byte datagram: send()"])]
    #[case::local_from_icmp(Queue { local: q("EMSGSIZE", 2, 0, 0, 1400, None, 0), ..linux() },
        Verdict::Differs, &[E[3]])]
    fn queue_judgement(#[case] o: Queue, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn queue_words() {
        let j = linux().judge();
        assert_eq!(
            "ECONNREFUSED 3/3, EHOSTUNREACH 11/0, EMSGSIZE 3/4, EMSGSIZE 0/0",
            j.key
        );
        assert_eq!(
            "4 of 4 errors as described; port unreachable: ECONNREFUSED origin 2 type 3 code 3 info 0 from \
             203.0.113.2 (33 B); TTL exceeded at the router: EHOSTUNREACH origin 2 type 11 code 0 info 0 from \
             192.0.2.2 (33 B); too big for the far link: EMSGSIZE origin 2 type 3 code 4 info 1400 from \
             192.0.2.2 (520 B); too big, found by the host: EMSGSIZE origin 1 type 0 code 0 info 1400 from \
             none (0 B); without the option SO_ERROR 0 and the queue EAGAIN",
            j.because
        );
        let none = Queue {
            unreachable: None,
            ..linux()
        }
        .judge();
        assert!(none.key.starts_with("nothing, "));
        assert!(none.because.contains("port unreachable: nothing;"));
    }

    fn tcp_linux() -> TcpQueue {
        TcpQueue {
            set_recverr: "ok".into(),
            empty: "EAGAIN".into(),
            after_send: "ok".into(),
            report: q("ENOMSG", 4, 0, 0, 0, None, 0),
        }
    }

    const AFTER: &str = "recvmsg(MSG_ERRQUEUE) after a time-stamped send";

    #[rstest]
    #[case::linux(tcp_linux(), Verdict::Refuted, &[])]
    // The page's world: MSG_ERRQUEUE refused on a stream socket.
    #[case::page(TcpQueue { empty: "EOPNOTSUPP".into(), after_send: "EOPNOTSUPP".into(), report: None,
        ..tcp_linux() }, Verdict::Holds, &["recvmsg(MSG_ERRQUEUE) on TCP, nothing queued", AFTER,
        "the queued report"])]
    // SO_TIMESTAMPING ignored: permitted, but nothing queued.
    #[case::stamps_ignored(TcpQueue { after_send: "EAGAIN".into(), report: None, ..tcp_linux() },
        Verdict::Differs, &[AFTER, "the queued report"])]
    #[case::half_refused(TcpQueue { empty: "EINVAL".into(), after_send: "EAGAIN".into(), report: None,
        ..tcp_linux() }, Verdict::Differs, &["recvmsg(MSG_ERRQUEUE) on TCP, nothing queued", AFTER,
        "the queued report"])]
    #[case::other_report(TcpQueue { report: q("ENOMSG", 2, 0, 0, 0, None, 0), ..tcp_linux() },
        Verdict::Refuted, &["the queued report"])]
    #[case::other_errno(TcpQueue { report: q("EIO", 4, 0, 0, 0, None, 0), ..tcp_linux() },
        Verdict::Refuted, &["the queued report"])]
    #[case::recverr_refused(TcpQueue { set_recverr: "ENOPROTOOPT".into(), ..tcp_linux() },
        Verdict::Refuted, &["IP_RECVERR on TCP"])]
    fn tcp_queue_judgement(#[case] o: TcpQueue, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn tcp_queue_words() {
        let j = tcp_linux().judge();
        assert_eq!("TCP MSG_ERRQUEUE: EAGAIN empty, ok after send", j.key);
        assert_eq!(
            "IP_RECVERR on TCP: ok; MSG_ERRQUEUE on TCP: EAGAIN when empty, ok after a time-stamped send \
             (report ENOMSG origin 4)",
            j.because
        );
        let page = TcpQueue {
            report: None,
            ..tcp_linux()
        }
        .judge();
        assert!(page.because.ends_with("ok after a time-stamped send"));
    }
}
