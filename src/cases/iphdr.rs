//! IP header fields a socket sets, as the man pages describe them, checked in
//! the headers captured on lo: IP_TOS(2const), IP_TTL(2const),
//! IP_OPTIONS(2const), IP_HDRINCL(2const), IPV6_UNICAST_HOPS(2const), and
//! which sockets IP_NODEFRAG(2const) is for.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::headers::IpHeader;
use crate::lab::opt;
use crate::lab::sock::result_name;
use crate::lab::{procnet, Capture, Family, Lab, Sock, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&TOS, &TTL, &OPTIONS, &HDRINCL, &UNICAST_HOPS, &NODEFRAG];

pub static TOS: Case = Case {
    id: "ip_tos.on_the_wire",
    source: Source::ManPage("man-pages 6.20 IP_TOS(2const) IP_TOS"),
    claim: "IP_TOS sets the TOS byte of every packet from the socket; at most one of LOWDELAY, THROUGHPUT, \
            RELIABILITY and MINCOST may be given, other bits are invalid and are cleared",
    expectation: "a UDP socket's datagrams carry the byte as set: 0x10 (LOWDELAY) as 0x10, and 0xb9 (DSCP EF \
                  with ECT(1)) as 0xb9, nothing cleared; on a TCP socket the two ECN bits are the kernel's: \
                  0x13 goes on the wire as 0x10",
    run: &Measure(tos),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_TOS],
};

pub static TTL: Case = Case {
    id: "ip_ttl.every_packet",
    source: Source::ManPage("man-pages 6.20 IP_TTL(2const) IP_TTL"),
    claim: "IP_TTL sets the time-to-live of every packet sent from the socket",
    expectation:
        "with IP_TTL 9 set before connect(), every segment the TCP client sends (SYN, ACK, data, \
                  FIN) has TTL 9; a UDP socket with IP_TTL 7 sends TTL 7",
    run: &Measure(ttl),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_TTL],
};

pub static OPTIONS: Case = Case {
    id: "ip_options.on_the_wire",
    source: Source::ManPage("man-pages 6.20 IP_OPTIONS(2const) IP_OPTIONS"),
    claim: "IP_OPTIONS sets the IP options sent with every packet from the socket, at most 40 bytes",
    expectation: "a record-route option with one slot goes on the wire in every datagram, its slot filled \
                  with the sender's address (127.0.0.1) and its pointer moved past it; 40 bytes of options \
                  are accepted, 44 are EINVAL",
    run: &Measure(options),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_OPTIONS],
};

pub static HDRINCL: Case = Case {
    id: "ip_hdrincl.user_header",
    source: Source::ManPage("man-pages 6.20 IP_HDRINCL(2const) IP_HDRINCL"),
    claim: "with IP_HDRINCL the user supplies the IP header, and IP_OPTIONS, IP_TTL and IP_TOS set on the \
            socket are ignored",
    expectation: "a raw UDP socket with IP_HDRINCL sends the header it was given (TTL 33, TOS 0) although \
                  the socket has IP_TTL 9 and IP_TOS 0x28; the kernel fills in the total length, the \
                  checksum, an identification (given as 0) and the source address (given as 0.0.0.0), and \
                  the datagram is delivered",
    run: &Measure(hdrincl),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_HDRINCL],
};

pub static UNICAST_HOPS: Case = Case {
    id: "ipv6_unicast_hops.route_default",
    source: Source::ManPage("man-pages 6.20 IPV6_UNICAST_HOPS(2const) IPV6_UNICAST_HOPS"),
    claim: "IPV6_UNICAST_HOPS sets the unicast hop limit; -1 means the route's default; otherwise the value \
            is in 0..=255",
    expectation: "5 goes on the wire as hop limit 5; -1 gives the outgoing device's hop_limit (set to 33 in \
                  the namespace); 256 and -2 are EINVAL",
    run: &Measure(unicast_hops),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_UNICAST_HOPS],
};

pub static NODEFRAG: Case = Case {
    id: "ip_nodefrag.raw_only",
    source: Source::ManPage("man-pages 6.20 IP_NODEFRAG(2const) IP_NODEFRAG"),
    claim: "IP_NODEFRAG (netfilter does not reassemble the socket's packets) is valid only for SOCK_RAW \
            sockets",
    expectation: "a raw socket accepts it; a UDP or TCP socket gets ENOPROTOOPT (the reassembly it turns \
                  off needs netfilter connection tracking in the namespace, which the case does not load)",
    run: &Measure(nodefrag),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_NODEFRAG],
};

const WAIT: Duration = Duration::from_secs(2);

/// The IP header of the first frame on `cap` that carries `token`.
fn header_of(cap: &mut Capture, token: &[u8]) -> Result<IpHeader> {
    let f = cap.wait_for(
        &format!("a packet carrying {}", String::from_utf8_lossy(token)),
        WAIT,
        |f| f.ip().is_some() && f.data.windows(token.len()).any(|w| w == token),
    )?;
    f.ip().context("an IP header")
}

/// A UDP receiver on the loopback address of `family`.
fn receiver(family: Family) -> Result<(Sock, SocketAddr)> {
    let rx = Sock::udp(family)?;
    rx.bind(SocketAddr::new(family.loopback(), 0))
        .context("bind the receiver")?;
    let to = rx.local_addr()?;
    Ok((rx, to))
}

/// A TOS byte as people write it.
fn hex(b: u8) -> String {
    format!("{b:#04x}")
}

/// The TOS byte on the wire for each value set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tos {
    /// UDP, IP_TOS 0x10 (IPTOS_LOWDELAY).
    pub udp_lowdelay: u8,
    /// UDP, IP_TOS 0xb9: DSCP EF and ECN bits, none of the four flags.
    pub udp_other_bits: u8,
    /// TCP client, IP_TOS 0x13 before connect(): its data segment.
    pub tcp_ecn_bits: u8,
}

fn tos(_lab: &mut Lab) -> Result<Tos> {
    let mut cap = Capture::start("lo")?;
    let (_rx, to) = receiver(Family::V4)?;
    let tx = Sock::udp(Family::V4)?;
    let mut sent = Vec::new();
    for (value, token) in [(0x10, &b"tos-lowdelay"[..]), (0xb9, &b"tos-otherbit"[..])] {
        tx.set_int(libc::IPPROTO_IP, libc::IP_TOS, value)
            .context("IP_TOS")?;
        tx.send_to(token, 0, to).context("send")?;
        sent.push(header_of(&mut cap, token)?.tos);
    }
    let pair = TcpPair::connect_with(
        SocketAddr::new(Family::V4.loopback(), 0),
        |_| Ok(()),
        |c| Ok(c.set_int(libc::IPPROTO_IP, libc::IP_TOS, 0x13)?),
    )?;
    pair.client
        .send(b"tos-tcp-data", 0)
        .context("send on TCP")?;
    let tcp = header_of(&mut cap, b"tos-tcp-data")?.tos;
    Ok(Tos {
        udp_lowdelay: sent[0],
        udp_other_bits: sent[1],
        tcp_ecn_bits: tcp,
    })
}

impl Observation for Tos {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let h = |b: &u8| hex(*b);
        j.expect(
            "UDP, IP_TOS 0x10",
            self.udp_lowdelay == 0x10,
            "0x10",
            h(&self.udp_lowdelay),
        );
        j.expect(
            "UDP, IP_TOS 0xb9 (bits beyond the four flags)",
            self.udp_other_bits == 0xb9,
            "0xb9",
            h(&self.udp_other_bits),
        );
        j.expect(
            "TCP, IP_TOS 0x13: the ECN bits are the kernel's",
            self.tcp_ecn_bits == 0x10,
            "0x10",
            h(&self.tcp_ecn_bits),
        );
        // The page: the flag reaches the wire; other bits are cleared.
        let verdict = if self.udp_lowdelay != 0x10 {
            Verdict::Refuted
        } else if self.udp_other_bits & !0x1e == 0 {
            Verdict::Holds
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "UDP: 0x10 went on the wire as {}, 0xb9 as {}; TCP: 0x13 as {}",
                h(&self.udp_lowdelay),
                h(&self.udp_other_bits),
                h(&self.tcp_ecn_bits)
            ),
        );
        j.key(format!(
            "0x10 -> {}, 0xb9 -> {}, TCP 0x13 -> {}",
            h(&self.udp_lowdelay),
            h(&self.udp_other_bits),
            h(&self.tcp_ecn_bits)
        ));
        j
    }
}

/// The TTLs of every packet a socket with IP_TTL sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ttl {
    /// TTL of each segment the TCP client sent (IP_TTL 9), in order.
    pub tcp_client: Vec<u8>,
    /// The UDP datagram (IP_TTL 7).
    pub udp: u8,
}

fn ttl(_lab: &mut Lab) -> Result<Ttl> {
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::connect_with(
        SocketAddr::new(Family::V4.loopback(), 0),
        |_| Ok(()),
        |c| Ok(c.set_int(libc::IPPROTO_IP, libc::IP_TTL, 9)?),
    )?;
    let port = pair.client.local_addr()?.port();
    pair.client.send(b"ttl-data", 0).context("send")?;
    pair.client.shutdown(libc::SHUT_WR).context("shutdown")?;
    cap.wait_segment("the client's FIN", WAIT, |s| s.fin_from(port))?;
    let tcp_client = cap
        .segments()?
        .iter()
        .filter(|s| s.sport == port)
        .map(|s| s.ttl)
        .collect();
    let (_rx, to) = receiver(Family::V4)?;
    let tx = Sock::udp(Family::V4)?;
    tx.set_int(libc::IPPROTO_IP, libc::IP_TTL, 7)
        .context("IP_TTL 7")?;
    tx.send_to(b"ttl-udp", 0, to).context("send")?;
    let udp = header_of(&mut cap, b"ttl-udp")?.ttl;
    Ok(Ttl { tcp_client, udp })
}

impl Observation for Ttl {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let all_9 = self.tcp_client.iter().all(|t| *t == 9);
        j.expect(
            "TCP, IP_TTL 9 before connect(): every segment the client sent",
            self.tcp_client.len() >= 3 && all_9,
            "3 or more segments (SYN, data, FIN), all TTL 9",
            self.tcp_client.show(),
        );
        j.expect_eq("UDP, IP_TTL 7", &7, &self.udp);
        let some_9 = self.tcp_client.contains(&9);
        let verdict = if all_9 && self.udp == 7 && !self.tcp_client.is_empty() {
            Verdict::Holds
        } else if some_9 || self.udp == 7 {
            Verdict::Differs
        } else {
            Verdict::Refuted
        };
        j.verdict(
            verdict,
            format!(
                "the TCP client's {} segments had TTLs {}; the UDP datagram {}",
                self.tcp_client.len(),
                self.tcp_client.show(),
                self.udp
            ),
        );
        j.key(format!(
            "TCP {} segments TTL {}, UDP TTL {}",
            self.tcp_client.len(),
            self.tcp_client.show(),
            self.udp
        ));
        j
    }
}

/// A record-route option with room for one address: type 7, length 7,
/// pointer 4, the slot, then end-of-options padding.
const RECORD_ROUTE: [u8; 8] = [7, 7, 4, 0, 0, 0, 0, 0];

/// IP_OPTIONS on the wire, and its size limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// setsockopt with the record-route option.
    pub set_rr: String,
    /// The options of the datagram on the wire.
    pub wire: Vec<u8>,
    /// The options of a second datagram from the same socket.
    pub wire_again: Vec<u8>,
    /// setsockopt with 40 and with 44 bytes of no-operation options.
    pub set_40: String,
    pub set_44: String,
}

fn options(_lab: &mut Lab) -> Result<Options> {
    let mut cap = Capture::start("lo")?;
    let (_rx, to) = receiver(Family::V4)?;
    let tx = Sock::udp(Family::V4)?;
    let set_rr = result_name(&tx.set_raw(libc::IPPROTO_IP, libc::IP_OPTIONS, &RECORD_ROUTE));
    tx.send_to(b"opt-first", 0, to).context("send")?;
    let wire = header_of(&mut cap, b"opt-first")?.options;
    tx.send_to(b"opt-again", 0, to).context("send")?;
    let wire_again = header_of(&mut cap, b"opt-again")?.options;
    let nops = Sock::udp(Family::V4)?;
    let set_40 = result_name(&nops.set_raw(libc::IPPROTO_IP, libc::IP_OPTIONS, &[1; 40]));
    let set_44 = result_name(&nops.set_raw(libc::IPPROTO_IP, libc::IP_OPTIONS, &[1; 44]));
    Ok(Options {
        set_rr,
        wire,
        wire_again,
        set_40,
        set_44,
    })
}

/// The record-route option as the sender fills it: its own address in the
/// slot, the pointer past it.
const RR_FILLED: [u8; 8] = [7, 7, 8, 127, 0, 0, 1, 0];

impl Observation for Options {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "setsockopt(IP_OPTIONS, record route)",
            &"ok",
            &self.set_rr.as_str(),
        );
        j.expect_eq("options on the wire", &RR_FILLED.to_vec(), &self.wire);
        j.expect_eq(
            "options of the next datagram",
            &RR_FILLED.to_vec(),
            &self.wire_again,
        );
        j.expect_eq("40 bytes of options", &"ok", &self.set_40.as_str());
        j.expect_eq("44 bytes of options", &"EINVAL", &self.set_44.as_str());
        let carried = [&self.wire, &self.wire_again]
            .iter()
            .all(|w| w.first() == Some(&7));
        let limit = self.set_40 == "ok" && self.set_44 != "ok";
        let verdict = match (carried, limit) {
            (true, true) => Verdict::Holds,
            (false, _) => Verdict::Refuted,
            (true, false) => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "record route set: {}; on the wire: {} then {}; 40 bytes: {}, 44 bytes: {}",
                self.set_rr,
                self.wire.show(),
                self.wire_again.show(),
                self.set_40,
                self.set_44
            ),
        );
        j.key(format!(
            "options {}; 44 B {}",
            self.wire.show(),
            self.set_44
        ));
        j
    }
}

/// What the kernel made of a header given with IP_HDRINCL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hdrincl {
    pub set_hdrincl: String,
    /// The header on the wire.
    pub ttl: u8,
    pub tos: u8,
    pub total_len: u32,
    pub id: u16,
    pub src: IpAddr,
    /// The header checksum on the wire is right.
    pub checksum_ok: bool,
    /// The receiver got the payload.
    pub delivered: bool,
}

const HDRINCL_TOKEN: &[u8] = b"hdrincl-payload";

/// An IPv4 header with TTL 33, TOS 0, and zero length, id, checksum and
/// source, then a UDP header (checksum 0: none) and the token.
fn user_packet(dport: u16) -> Vec<u8> {
    let udp_len = (8 + HDRINCL_TOKEN.len()) as u16;
    let mut p = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 33, 17, 0, 0, 0, 0, 0, 0];
    p.extend_from_slice(&Ipv4Addr::LOCALHOST.octets());
    p.extend_from_slice(&4242u16.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&udp_len.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(HDRINCL_TOKEN);
    p
}

/// The Internet checksum of an IPv4 header is right when the one's
/// complement sum of its 16-bit words is 0xffff.
fn checksum_ok(header: &[u8]) -> bool {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum == 0xffff
}

fn hdrincl(_lab: &mut Lab) -> Result<Hdrincl> {
    let mut cap = Capture::start("lo")?;
    let (rx, to) = receiver(Family::V4)?;
    let raw = Sock::raw(Family::V4, libc::IPPROTO_UDP)?;
    let set_hdrincl = result_name(&raw.set_int(libc::IPPROTO_IP, libc::IP_HDRINCL, 1));
    raw.set_int(libc::IPPROTO_IP, libc::IP_TTL, 9)
        .context("IP_TTL 9")?;
    raw.set_int(libc::IPPROTO_IP, libc::IP_TOS, 0x28)
        .context("IP_TOS 0x28")?;
    raw.send_to(&user_packet(to.port()), 0, SocketAddr::new(to.ip(), 0))
        .context("send the user's packet")?;
    let f = cap.wait_for("the user's packet", WAIT, |f| {
        f.ip().is_some()
            && f.data
                .windows(HDRINCL_TOKEN.len())
                .any(|w| w == HDRINCL_TOKEN)
    })?;
    let h = f.ip().context("an IP header")?;
    let ihl = usize::from(f.data.get(14).copied().unwrap_or(0x45) & 0x0f) * 4;
    let checksum_ok = f.data.get(14..14 + ihl).is_some_and(checksum_ok);
    rx.set_timeout(libc::SO_RCVTIMEO, WAIT)?;
    let mut buf = [0u8; 64];
    let delivered = rx
        .recv(&mut buf, 0)
        .is_ok_and(|n| &buf[..n] == HDRINCL_TOKEN);
    Ok(Hdrincl {
        set_hdrincl,
        ttl: h.ttl,
        tos: h.tos,
        total_len: h.total_len,
        id: h.id,
        src: h.src,
        checksum_ok,
        delivered,
    })
}

impl Observation for Hdrincl {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let len = (20 + 8 + HDRINCL_TOKEN.len()) as u32;
        j.expect_eq(
            "setsockopt(IP_HDRINCL, 1)",
            &"ok",
            &self.set_hdrincl.as_str(),
        );
        j.expect_eq("TTL: the header's 33, not IP_TTL 9", &33, &self.ttl);
        j.expect(
            "TOS: the header's 0, not IP_TOS 0x28",
            self.tos == 0,
            "0x00",
            hex(self.tos),
        );
        j.expect_eq("total length: filled in", &len, &self.total_len);
        j.expect(
            "identification given as 0: filled in",
            self.id != 0,
            "not 0",
            self.id.to_string(),
        );
        j.expect_eq(
            "source given as 0.0.0.0: filled in",
            &IpAddr::from(Ipv4Addr::LOCALHOST),
            &self.src,
        );
        j.expect_eq("header checksum: filled in", &true, &self.checksum_ok);
        j.expect_eq("the receiver gets the payload", &true, &self.delivered);
        let as_given = self.ttl == 33 && self.tos == 0;
        let kernel_values = self.ttl == 9 || self.tos == 0x28;
        let verdict = match (as_given, kernel_values) {
            (true, _) => Verdict::Holds,
            (false, true) => Verdict::Refuted,
            (false, false) => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "on the wire: TTL {}, TOS {} (socket: IP_TTL 9, IP_TOS 0x28; header: 33, 0); total length {}, \
                 id {}, source {}, checksum right: {}",
                self.ttl,
                hex(self.tos),
                self.total_len,
                self.id,
                self.src,
                self.checksum_ok
            ),
        );
        j.key(format!(
            "TTL {}, TOS {}, length {}, source {}",
            self.ttl,
            hex(self.tos),
            self.total_len,
            self.src
        ));
        j
    }
}

/// Hop limits on the wire for IPV6_UNICAST_HOPS values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnicastHops {
    /// net.ipv6.conf.lo.hop_limit, set for the namespace.
    pub route_default: u8,
    pub wire_5: u8,
    pub wire_minus_1: u8,
    pub set_256: String,
    pub set_minus_2: String,
}

const LO_HOP_LIMIT: u8 = 33;

fn unicast_hops(_lab: &mut Lab) -> Result<UnicastHops> {
    procnet::set_sysctl("net/ipv6/conf/lo/hop_limit", &LO_HOP_LIMIT.to_string())?;
    let route_default = u8::try_from(procnet::sysctl_int("net/ipv6/conf/lo/hop_limit")?)?;
    let mut cap = Capture::start("lo")?;
    let (_rx, to) = receiver(Family::V6)?;
    let tx = Sock::udp(Family::V6)?;
    let (level, opt) = (libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS);
    tx.set_int(level, opt, 5).context("hops 5")?;
    tx.send_to(b"hops-five", 0, to).context("send")?;
    let wire_5 = header_of(&mut cap, b"hops-five")?.ttl;
    tx.set_int(level, opt, -1).context("hops -1")?;
    tx.send_to(b"hops-default", 0, to).context("send")?;
    let wire_minus_1 = header_of(&mut cap, b"hops-default")?.ttl;
    let set_256 = result_name(&tx.set_int(level, opt, 256));
    let set_minus_2 = result_name(&tx.set_int(level, opt, -2));
    Ok(UnicastHops {
        route_default,
        wire_5,
        wire_minus_1,
        set_256,
        set_minus_2,
    })
}

impl Observation for UnicastHops {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("hop limit 5 on the wire", &5, &self.wire_5);
        j.expect_eq(
            "-1: the route's default (the device's hop_limit)",
            &LO_HOP_LIMIT,
            &self.wire_minus_1,
        );
        j.expect_eq("256", &"EINVAL", &self.set_256.as_str());
        j.expect_eq("-2", &"EINVAL", &self.set_minus_2.as_str());
        let range = self.set_256 == "EINVAL" && self.set_minus_2 == "EINVAL";
        let verdict = if self.wire_5 != 5 {
            Verdict::Refuted
        } else if self.wire_minus_1 == self.route_default && range {
            Verdict::Holds
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "5 went out as {}, -1 as {} (the device's default {}); 256: {}, -2: {}",
                self.wire_5, self.wire_minus_1, self.route_default, self.set_256, self.set_minus_2
            ),
        );
        j.key(format!(
            "5 -> {}, -1 -> {} (default {}), 256 {}",
            self.wire_5, self.wire_minus_1, self.route_default, self.set_256
        ));
        j
    }
}

/// setsockopt(IP_NODEFRAG, 1) per socket type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Nodefrag {
    pub raw: String,
    pub udp: String,
    pub tcp: String,
}

fn nodefrag(_lab: &mut Lab) -> Result<Nodefrag> {
    let set = |s: &Sock| result_name(&s.set_int(libc::IPPROTO_IP, libc::IP_NODEFRAG, 1));
    Ok(Nodefrag {
        raw: set(&Sock::raw(Family::V4, libc::IPPROTO_UDP)?),
        udp: set(&Sock::udp(Family::V4)?),
        tcp: set(&Sock::tcp(Family::V4)?),
    })
}

impl Observation for Nodefrag {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("raw socket", &"ok", &self.raw.as_str());
        j.expect_eq("UDP socket", &"ENOPROTOOPT", &self.udp.as_str());
        j.expect_eq("TCP socket", &"ENOPROTOOPT", &self.tcp.as_str());
        let others_refused = self.udp != "ok" && self.tcp != "ok";
        let verdict = match (self.raw == "ok", others_refused) {
            (true, true) => Verdict::Holds,
            (false, false) => Verdict::Refuted,
            _ => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!("raw: {}, UDP: {}, TCP: {}", self.raw, self.udp, self.tcp),
        );
        j.key(format!(
            "raw {}, UDP {}, TCP {}",
            self.raw, self.udp, self.tcp
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn tos_linux() -> Tos {
        Tos {
            udp_lowdelay: 0x10,
            udp_other_bits: 0xb9,
            tcp_ecn_bits: 0x10,
        }
    }

    #[rstest]
    #[case::linux(tos_linux(), Verdict::Differs, &[])]
    // The page's world: bits beyond the flag cleared.
    #[case::cleared(Tos { udp_other_bits: 0x18, ..tos_linux() }, Verdict::Holds,
        &["UDP, IP_TOS 0xb9 (bits beyond the four flags)"])]
    #[case::flag_bits_only(Tos { udp_other_bits: 0x1e, ..tos_linux() }, Verdict::Holds,
        &["UDP, IP_TOS 0xb9 (bits beyond the four flags)"])]
    #[case::one_more_bit(Tos { udp_other_bits: 0x1f, ..tos_linux() }, Verdict::Differs,
        &["UDP, IP_TOS 0xb9 (bits beyond the four flags)"])]
    // A libc that ignores the option: TOS 0 everywhere.
    #[case::ignored(Tos { udp_lowdelay: 0, udp_other_bits: 0, tcp_ecn_bits: 0 }, Verdict::Refuted,
        &["UDP, IP_TOS 0x10", "UDP, IP_TOS 0xb9 (bits beyond the four flags)",
          "TCP, IP_TOS 0x13: the ECN bits are the kernel's"])]
    #[case::tcp_ecn_kept(Tos { tcp_ecn_bits: 0x13, ..tos_linux() }, Verdict::Differs,
        &["TCP, IP_TOS 0x13: the ECN bits are the kernel's"])]
    fn tos_judgement(#[case] o: Tos, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn tos_words() {
        let j = tos_linux().judge();
        assert_eq!("0x10 -> 0x10, 0xb9 -> 0xb9, TCP 0x13 -> 0x10", j.key);
        assert_eq!(
            "UDP: 0x10 went on the wire as 0x10, 0xb9 as 0xb9; TCP: 0x13 as 0x10",
            j.because
        );
    }

    fn ttl_linux() -> Ttl {
        Ttl {
            tcp_client: vec![9, 9, 9, 9],
            udp: 7,
        }
    }

    const TCP_TTL: &str = "TCP, IP_TTL 9 before connect(): every segment the client sent";

    #[rstest]
    #[case::linux(ttl_linux(), Verdict::Holds, &[])]
    #[case::ignored(Ttl { tcp_client: vec![64, 64, 64], udp: 64 }, Verdict::Refuted,
        &[TCP_TTL, "UDP, IP_TTL 7"])]
    // The SYN went out before the option took effect.
    #[case::syn_default(Ttl { tcp_client: vec![64, 9, 9], udp: 7 }, Verdict::Differs, &[TCP_TTL])]
    #[case::udp_only(Ttl { tcp_client: vec![64, 64, 64], udp: 7 }, Verdict::Differs, &[TCP_TTL])]
    #[case::tcp_only(Ttl { udp: 64, ..ttl_linux() }, Verdict::Differs, &["UDP, IP_TTL 7"])]
    #[case::too_few(Ttl { tcp_client: vec![9, 9], udp: 7 }, Verdict::Holds, &[TCP_TTL])]
    #[case::nothing(Ttl { tcp_client: vec![], udp: 7 }, Verdict::Differs, &[TCP_TTL])]
    fn ttl_judgement(#[case] o: Ttl, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn ttl_words() {
        let j = ttl_linux().judge();
        assert_eq!("TCP 4 segments TTL [9, 9, 9, 9], UDP TTL 7", j.key);
        assert_eq!(
            "the TCP client's 4 segments had TTLs [9, 9, 9, 9]; the UDP datagram 7",
            j.because
        );
    }

    fn options_linux() -> Options {
        Options {
            set_rr: "ok".into(),
            wire: RR_FILLED.to_vec(),
            wire_again: RR_FILLED.to_vec(),
            set_40: "ok".into(),
            set_44: "EINVAL".into(),
        }
    }

    #[rstest]
    #[case::linux(options_linux(), Verdict::Holds, &[])]
    #[case::ignored(Options { wire: vec![], wire_again: vec![], set_44: "ok".into(), ..options_linux() },
        Verdict::Refuted, &["options on the wire", "options of the next datagram", "44 bytes of options"])]
    #[case::first_only(Options { wire_again: vec![], ..options_linux() }, Verdict::Refuted,
        &["options of the next datagram"])]
    // Carried as given, the slot not filled.
    #[case::unfilled(Options { wire: RECORD_ROUTE.to_vec(), ..options_linux() }, Verdict::Holds,
        &["options on the wire"])]
    #[case::no_limit(Options { set_44: "ok".into(), ..options_linux() }, Verdict::Differs,
        &["44 bytes of options"])]
    #[case::other_errno(Options { set_44: "ENOMEM".into(), ..options_linux() }, Verdict::Holds,
        &["44 bytes of options"])]
    #[case::tighter(Options { set_40: "EINVAL".into(), ..options_linux() }, Verdict::Differs,
        &["40 bytes of options"])]
    #[case::refused(Options { set_rr: "EINVAL".into(), ..options_linux() }, Verdict::Holds,
        &["setsockopt(IP_OPTIONS, record route)"])]
    fn options_judgement(#[case] o: Options, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn options_words() {
        let j = options_linux().judge();
        assert_eq!("options [7, 7, 8, 127, 0, 0, 1, 0]; 44 B EINVAL", j.key);
        assert_eq!(
            "record route set: ok; on the wire: [7, 7, 8, 127, 0, 0, 1, 0] then [7, 7, 8, 127, 0, 0, 1, 0]; \
             40 bytes: ok, 44 bytes: EINVAL",
            j.because
        );
    }

    fn hdrincl_linux() -> Hdrincl {
        Hdrincl {
            set_hdrincl: "ok".into(),
            ttl: 33,
            tos: 0,
            total_len: 43,
            id: 51_234,
            src: IpAddr::from(Ipv4Addr::LOCALHOST),
            checksum_ok: true,
            delivered: true,
        }
    }

    #[rstest]
    #[case::linux(hdrincl_linux(), Verdict::Holds, &[])]
    // The option ignored: the kernel's own header, with the socket's values.
    #[case::ignored(Hdrincl { ttl: 9, tos: 0x28, total_len: 63, ..hdrincl_linux() }, Verdict::Refuted,
        &["TTL: the header's 33, not IP_TTL 9", "TOS: the header's 0, not IP_TOS 0x28", "total length: filled in"])]
    #[case::ttl_only(Hdrincl { ttl: 9, ..hdrincl_linux() }, Verdict::Refuted,
        &["TTL: the header's 33, not IP_TTL 9"])]
    #[case::tos_only(Hdrincl { tos: 0x28, ..hdrincl_linux() }, Verdict::Refuted,
        &["TOS: the header's 0, not IP_TOS 0x28"])]
    #[case::something_else(Hdrincl { ttl: 64, ..hdrincl_linux() }, Verdict::Differs,
        &["TTL: the header's 33, not IP_TTL 9"])]
    #[case::id_zero(Hdrincl { id: 0, ..hdrincl_linux() }, Verdict::Holds,
        &["identification given as 0: filled in"])]
    #[case::no_source(Hdrincl { src: IpAddr::from(Ipv4Addr::UNSPECIFIED), checksum_ok: false,
        delivered: false, ..hdrincl_linux() }, Verdict::Holds,
        &["source given as 0.0.0.0: filled in", "header checksum: filled in", "the receiver gets the payload"])]
    #[case::refused(Hdrincl { set_hdrincl: "EPERM".into(), ..hdrincl_linux() }, Verdict::Holds,
        &["setsockopt(IP_HDRINCL, 1)"])]
    fn hdrincl_judgement(#[case] o: Hdrincl, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn hdrincl_words_and_packet() {
        let j = hdrincl_linux().judge();
        assert_eq!("TTL 33, TOS 0x00, length 43, source 127.0.0.1", j.key);
        assert_eq!(
            "on the wire: TTL 33, TOS 0x00 (socket: IP_TTL 9, IP_TOS 0x28; header: 33, 0); total length 43, \
             id 51234, source 127.0.0.1, checksum right: true",
            j.because
        );
        let p = user_packet(0x1234);
        assert_eq!((43, 33, 17), (p.len(), p[8], p[9]));
        assert_eq!(
            ([127, 0, 0, 1], [0x12, 0x34]),
            ([p[16], p[17], p[18], p[19]], [p[22], p[23]])
        );
        assert_eq!(([0x10, 0x92], [0, 23]), ([p[20], p[21]], [p[24], p[25]]));
        // A real header (RFC 1071's example bytes) and the same one broken.
        let good = [
            0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8,
            0, 0xc7,
        ];
        assert!(checksum_ok(&good));
        let mut bad = good;
        bad[11] ^= 1;
        assert!(!checksum_ok(&bad));
        assert!(checksum_ok(&[0xff, 0xff]));
    }

    fn hops_linux() -> UnicastHops {
        UnicastHops {
            route_default: 33,
            wire_5: 5,
            wire_minus_1: 33,
            set_256: "EINVAL".into(),
            set_minus_2: "EINVAL".into(),
        }
    }

    const MINUS_1: &str = "-1: the route's default (the device's hop_limit)";

    #[rstest]
    #[case::linux(hops_linux(), Verdict::Holds, &[])]
    #[case::ignored(UnicastHops { wire_5: 33, ..hops_linux() }, Verdict::Refuted, &["hop limit 5 on the wire"])]
    // -1 keeping the previous value, or meaning 64 whatever the route says.
    #[case::minus_1_kept(UnicastHops { wire_minus_1: 5, ..hops_linux() }, Verdict::Differs, &[MINUS_1])]
    #[case::minus_1_fixed(UnicastHops { wire_minus_1: 64, ..hops_linux() }, Verdict::Differs, &[MINUS_1])]
    #[case::no_range(UnicastHops { set_256: "ok".into(), ..hops_linux() }, Verdict::Differs, &["256"])]
    #[case::no_range_low(UnicastHops { set_minus_2: "ok".into(), ..hops_linux() }, Verdict::Differs, &["-2"])]
    #[case::sysctl_unset(UnicastHops { route_default: 64, ..hops_linux() }, Verdict::Differs, &[])]
    fn hops_judgement(#[case] o: UnicastHops, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn hops_words() {
        let j = hops_linux().judge();
        assert_eq!("5 -> 5, -1 -> 33 (default 33), 256 EINVAL", j.key);
        assert_eq!(
            "5 went out as 5, -1 as 33 (the device's default 33); 256: EINVAL, -2: EINVAL",
            j.because
        );
    }

    fn nodefrag_linux() -> Nodefrag {
        Nodefrag {
            raw: "ok".into(),
            udp: "ENOPROTOOPT".into(),
            tcp: "ENOPROTOOPT".into(),
        }
    }

    #[rstest]
    #[case::linux(nodefrag_linux(), Verdict::Holds, &[])]
    #[case::ignored(Nodefrag { udp: "ok".into(), tcp: "ok".into(), ..nodefrag_linux() }, Verdict::Differs,
        &["UDP socket", "TCP socket"])]
    #[case::udp_accepts(Nodefrag { udp: "ok".into(), ..nodefrag_linux() }, Verdict::Differs, &["UDP socket"])]
    #[case::tcp_accepts(Nodefrag { tcp: "ok".into(), ..nodefrag_linux() }, Verdict::Differs, &["TCP socket"])]
    #[case::other_errno(Nodefrag { udp: "EINVAL".into(), ..nodefrag_linux() }, Verdict::Holds, &["UDP socket"])]
    #[case::inverse(Nodefrag { raw: "ENOPROTOOPT".into(), udp: "ok".into(), tcp: "ok".into() },
        Verdict::Refuted, &["raw socket", "UDP socket", "TCP socket"])]
    #[case::nobody(Nodefrag { raw: "ENOPROTOOPT".into(), ..nodefrag_linux() }, Verdict::Differs, &["raw socket"])]
    fn nodefrag_judgement(#[case] o: Nodefrag, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
        assert_eq!(
            "raw ok, UDP ENOPROTOOPT, TCP ENOPROTOOPT",
            nodefrag_linux().judge().key
        );
    }
}
