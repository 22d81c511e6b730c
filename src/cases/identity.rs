//! What a socket says about itself (socket(7), man-pages 6.20): SO_ACCEPTCONN,
//! SO_DOMAIN, SO_PROTOCOL, SO_TYPE and SO_ERROR. Each answer is compared with
//! what the socket does (a connection accepted, the family getsockname()
//! reports, the protocol number on the wire, message boundaries, the error a
//! later call returns), so a libc that made the answers up would be caught;
//! and the page calls each of them read-only, which setsockopt() is asked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde::{Deserialize, Serialize};

use crate::lab::opt;
use crate::lab::sock::{errno_name, result_name};
use crate::lab::{unix, wait, Capture, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&ACCEPTCONN, &DOMAIN, &PROTOCOL, &TYPE, &ERROR];

pub static ACCEPTCONN: Case = Case {
    id: "so_acceptconn.listen_state",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_ACCEPTCONN"),
    claim: "SO_ACCEPTCONN says whether listen() has put the socket in the listening state: 1 if it has, 0 \
            if not; the option cannot be set",
    expectation: "a bound TCP socket reads 0 and refuses connections; after listen() it reads 1 and a \
                  connection is accepted; the accepted socket and the client read 0; shutdown() of the \
                  listener takes it out of the listening state (0, connections refused again); an AF_UNIX \
                  listener reads 1, a UDP socket 0; setsockopt(SO_ACCEPTCONN) fails with ENOPROTOOPT",
    run: &Measure(listen_state),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_ACCEPTCONN],
};

pub static DOMAIN: Case = Case {
    id: "so_domain.reports_family",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_DOMAIN"),
    claim: "SO_DOMAIN returns the socket's domain (AF_INET6, for instance), as given to socket(); the \
            option cannot be set",
    expectation: "AF_INET, AF_INET6, AF_UNIX, AF_PACKET and AF_NETLINK sockets each report the domain they \
                  were created with, the family getsockname() returns too; an AF_INET6 socket sending to an \
                  IPv4-mapped address still reports AF_INET6; setsockopt(SO_DOMAIN) fails with ENOPROTOOPT",
    run: &Measure(reports_family),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_DOMAIN],
};

pub static PROTOCOL: Case = Case {
    id: "so_protocol.reports_protocol",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_PROTOCOL"),
    claim: "SO_PROTOCOL returns the socket's protocol (IPPROTO_SCTP, for instance); the option cannot be set",
    expectation: "a socket created with protocol 0 reports the protocol the kernel chose, the one its \
                  packets carry: TCP 6 and UDP 17 (IPv4 and IPv6); a raw ICMP socket reports 1, its echo \
                  request carries 1; AF_UNIX, which has no protocols, reports 0; setsockopt(SO_PROTOCOL) \
                  fails with ENOPROTOOPT",
    run: &Measure(reports_protocol),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_PROTOCOL],
};

pub static TYPE: Case = Case {
    id: "so_type.reports_type",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_TYPE"),
    claim: "SO_TYPE returns the socket's type (SOCK_STREAM, for instance); the option cannot be set",
    expectation: "each socket reports the type it was created with, without the SOCK_NONBLOCK and \
                  SOCK_CLOEXEC flags given beside it; the type shows in what the socket does: two writes \
                  on a stream pair are read as one, on a datagram or seqpacket pair as two messages; \
                  setsockopt(SO_TYPE) fails with ENOPROTOOPT",
    run: &Measure(reports_type),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_TYPE],
};

pub static ERROR: Case = Case {
    id: "so_error.get_and_clear",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_ERROR"),
    claim: "SO_ERROR returns the pending socket error and clears it; the option cannot be set",
    expectation: "a non-blocking connect() to a closed port gets a RST: poll() reports the socket, SO_ERROR \
                  reads ECONNREFUSED, then 0; a connected UDP socket that got an ICMP port unreachable \
                  reads ECONNREFUSED, then 0, and its next recv() would block (EAGAIN), while a twin that \
                  did not read SO_ERROR gets ECONNREFUSED from recv(); setsockopt(SO_ERROR) fails with \
                  ENOPROTOOPT",
    run: &Measure(get_and_clear),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_ERROR],
};

// ---------------------------------------------------------------------------
// Names of the numbers, for reports.

/// AF_INET, AF_INET6... as a programmer writes them.
pub fn domain_name(d: i32) -> String {
    match d {
        libc::AF_UNIX => "AF_UNIX".into(),
        libc::AF_INET => "AF_INET".into(),
        libc::AF_INET6 => "AF_INET6".into(),
        libc::AF_NETLINK => "AF_NETLINK".into(),
        libc::AF_PACKET => "AF_PACKET".into(),
        n => n.to_string(),
    }
}

/// SOCK_STREAM, SOCK_DGRAM...
fn type_name(t: i32) -> String {
    match t {
        libc::SOCK_STREAM => "SOCK_STREAM".into(),
        libc::SOCK_DGRAM => "SOCK_DGRAM".into(),
        libc::SOCK_RAW => "SOCK_RAW".into(),
        libc::SOCK_SEQPACKET => "SOCK_SEQPACKET".into(),
        n => n.to_string(),
    }
}

fn get(s: &Sock, opt: i32, what: &str) -> Result<i32> {
    s.get_int(libc::SOL_SOCKET, opt)
        .with_context(|| format!("getsockopt {what}"))
}

/// What the page says of all five: read-only, so setsockopt fails.
const READ_ONLY: &str = "ENOPROTOOPT";

// ---------------------------------------------------------------------------
// so_acceptconn.listen_state

/// SO_ACCEPTCONN at each step of a listener's life, beside what connect()
/// to it did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AcceptConn {
    /// Bound, not listening.
    pub before_listen: i32,
    pub connect_before: String,
    /// setsockopt(SO_ACCEPTCONN, 0) on the listener.
    pub set_result: String,
    pub after_listen: i32,
    pub connect_after: String,
    pub accepted: i32,
    pub client: i32,
    /// After shutdown(SHUT_RDWR) of the listener.
    pub after_shutdown: i32,
    pub connect_after_shutdown: String,
    pub unix_listener: i32,
    pub udp: i32,
}

fn connect_result(to: SocketAddr) -> Result<String> {
    let c = Sock::tcp(Family::V4)?;
    Ok(result_name(&c.connect(to)))
}

fn listen_state(_lab: &mut Lab) -> Result<AcceptConn> {
    let l = Sock::tcp(Family::V4)?;
    l.bind(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0))
        .context("bind")?;
    let addr = l.local_addr()?;
    let before_listen = get(&l, libc::SO_ACCEPTCONN, "SO_ACCEPTCONN")?;
    let connect_before = connect_result(addr)?;
    l.listen(4).context("listen")?;
    let set_result = result_name(&l.set_int(libc::SOL_SOCKET, libc::SO_ACCEPTCONN, 0));
    let after_listen = get(&l, libc::SO_ACCEPTCONN, "SO_ACCEPTCONN")?;
    let client = Sock::tcp(Family::V4)?;
    let connect_after = result_name(&client.connect(addr));
    wait::readable(l.as_raw_fd(), Duration::from_secs(2))?;
    l.set_nonblocking(true)?;
    let server = l.accept().context("accept")?;
    let accepted = get(&server, libc::SO_ACCEPTCONN, "SO_ACCEPTCONN")?;
    let client_value = get(&client, libc::SO_ACCEPTCONN, "SO_ACCEPTCONN")?;
    l.shutdown(libc::SHUT_RDWR)
        .context("shutdown the listener")?;
    let after_shutdown = get(&l, libc::SO_ACCEPTCONN, "SO_ACCEPTCONN")?;
    let connect_after_shutdown = connect_result(addr)?;
    let ul = unix::listener("sockspec-acceptconn", libc::SOCK_STREAM)?;
    let udp = Sock::udp(Family::V4)?;
    Ok(AcceptConn {
        before_listen,
        connect_before,
        set_result,
        after_listen,
        connect_after,
        accepted,
        client: client_value,
        after_shutdown,
        connect_after_shutdown,
        unix_listener: get(&ul, libc::SO_ACCEPTCONN, "SO_ACCEPTCONN")?,
        udp: get(&udp, libc::SO_ACCEPTCONN, "SO_ACCEPTCONN")?,
    })
}

impl Observation for AcceptConn {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("SO_ACCEPTCONN before listen()", &0, &self.before_listen);
        j.expect_eq(
            "connect() before listen()",
            "ECONNREFUSED",
            &self.connect_before,
        );
        j.expect_eq("setsockopt(SO_ACCEPTCONN)", READ_ONLY, &self.set_result);
        j.expect_eq("SO_ACCEPTCONN after listen()", &1, &self.after_listen);
        j.expect_eq("connect() after listen()", "ok", &self.connect_after);
        j.expect_eq(
            "SO_ACCEPTCONN of the accepted socket and the client",
            &(0, 0),
            &(self.accepted, self.client),
        );
        j.expect_eq(
            "SO_ACCEPTCONN after shutdown() of the listener",
            &0,
            &self.after_shutdown,
        );
        j.expect_eq(
            "connect() after that shutdown()",
            "ECONNREFUSED",
            &self.connect_after_shutdown,
        );
        j.expect_eq(
            "SO_ACCEPTCONN of an AF_UNIX listener",
            &1,
            &self.unix_listener,
        );
        j.expect_eq("SO_ACCEPTCONN of a UDP socket", &0, &self.udp);
        let tracks = self.before_listen == 0
            && self.after_listen == 1
            && self.accepted == 0
            && self.client == 0
            && self.after_shutdown == 0
            && self.unix_listener == 1
            && self.udp == 0;
        let read_only = self.set_result != "ok";
        let verdict = match (tracks, read_only) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "{} before listen() (connect: {}), {} after (connect: {}), {} on the accepted socket and {} on \
                 the client, {} after shutdown() (connect: {}), {} on an AF_UNIX listener, {} on UDP; \
                 setsockopt: {}",
                self.before_listen,
                self.connect_before,
                self.after_listen,
                self.connect_after,
                self.accepted,
                self.client,
                self.after_shutdown,
                self.connect_after_shutdown,
                self.unix_listener,
                self.udp,
                self.set_result
            ),
        );
        j.key(format!(
            "{} -> listen() -> {} -> shutdown() -> {}; set: {}",
            self.before_listen, self.after_listen, self.after_shutdown, self.set_result
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_domain.reports_family

/// One socket: the domain socket() was given, SO_DOMAIN, getsockname()'s family.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DomainRow {
    /// How the socket was made, in words.
    pub socket: String,
    pub created: i32,
    pub so_domain: i32,
    pub sockname_family: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Domain {
    pub rows: Vec<DomainRow>,
    /// setsockopt(SO_DOMAIN) on the AF_INET6 socket.
    pub set_result: String,
}

/// The family getsockname() reports for `s`.
fn sockname_family(s: &Sock) -> Result<i32> {
    // SAFETY: all-zero storage, filled by getsockname.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: ss is large enough for any address.
    let rc = unsafe {
        libc::getsockname(
            s.as_raw_fd(),
            (&mut ss as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error()).context("getsockname");
    }
    Ok(i32::from(ss.ss_family))
}

fn reports_family(_lab: &mut Lab) -> Result<Domain> {
    let mapped = Sock::udp(Family::V6)?;
    mapped
        .connect("[::ffff:127.0.0.1]:9".parse()?)
        .context("connect AF_INET6 UDP to ::ffff:127.0.0.1")?;
    let sockets = [
        ("AF_INET SOCK_STREAM", libc::AF_INET, Sock::tcp(Family::V4)?),
        (
            "AF_INET6 SOCK_DGRAM",
            libc::AF_INET6,
            Sock::udp(Family::V6)?,
        ),
        (
            "AF_INET6 SOCK_DGRAM connected to ::ffff:127.0.0.1",
            libc::AF_INET6,
            mapped,
        ),
        (
            "AF_UNIX SOCK_SEQPACKET",
            libc::AF_UNIX,
            unix::socket(libc::SOCK_SEQPACKET)?,
        ),
        (
            "AF_PACKET SOCK_RAW",
            libc::AF_PACKET,
            Sock::open(libc::AF_PACKET, libc::SOCK_RAW, 0).context("socket(AF_PACKET)")?,
        ),
        (
            "AF_NETLINK SOCK_RAW",
            libc::AF_NETLINK,
            Sock::open(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE)
                .context("socket(AF_NETLINK)")?,
        ),
    ];
    let mut rows = Vec::new();
    for (socket, created, s) in &sockets {
        rows.push(DomainRow {
            socket: socket.to_string(),
            created: *created,
            so_domain: get(s, libc::SO_DOMAIN, "SO_DOMAIN")?,
            sockname_family: sockname_family(s)?,
        });
    }
    let set_result = result_name(&sockets[1].2.set_int(
        libc::SOL_SOCKET,
        libc::SO_DOMAIN,
        libc::AF_INET,
    ));
    Ok(Domain { rows, set_result })
}

impl Observation for Domain {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        for r in &self.rows {
            j.expect_eq(
                &format!("SO_DOMAIN of {}", r.socket),
                &domain_name(r.created),
                &domain_name(r.so_domain),
            );
            j.expect_eq(
                &format!("getsockname() family of {}", r.socket),
                &domain_name(r.created),
                &domain_name(r.sockname_family),
            );
        }
        j.expect_eq("setsockopt(SO_DOMAIN)", READ_ONLY, &self.set_result);
        let wrong: Vec<&DomainRow> = self
            .rows
            .iter()
            .filter(|r| r.so_domain != r.created)
            .collect();
        let verdict = match (wrong.is_empty(), self.set_result != "ok") {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        let listed: Vec<String> = self
            .rows
            .iter()
            .map(|r| format!("{} -> {}", r.socket, domain_name(r.so_domain)))
            .collect();
        j.verdict(
            verdict,
            format!(
                "{}; {} of {} sockets report another domain than socket() was given; setsockopt: {}",
                listed.join(", "),
                wrong.len(),
                self.rows.len(),
                self.set_result
            ),
        );
        j.key(format!(
            "{} of {} domains right; set: {}",
            self.rows.len() - wrong.len(),
            self.rows.len(),
            self.set_result
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_protocol.reports_protocol

/// One socket: what socket() was given, what SO_PROTOCOL says, and the
/// protocol number its first packet carried (none for AF_UNIX).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProtocolRow {
    pub socket: String,
    pub asked: i32,
    pub so_protocol: i32,
    pub wire: Option<u8>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    pub rows: Vec<ProtocolRow>,
    pub set_result: String,
}

/// An ICMP echo request with its checksum.
pub fn echo_request() -> [u8; 8] {
    let mut m = [8, 0, 0, 0, 0x12, 0x34, 0, 1];
    let sum: u32 = m
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    let folded = (sum & 0xffff) + (sum >> 16);
    m[2..4].copy_from_slice(&(!(folded as u16)).to_be_bytes());
    m
}

/// The protocol number of the first IP packet to `dst` captured on lo.
fn wire_protocol(cap: &mut Capture, dst: IpAddr) -> Result<u8> {
    let f = cap.wait_for(&format!("a packet to {dst}"), Duration::from_secs(2), |f| {
        f.ip().is_some_and(|h| h.dst == dst)
    })?;
    Ok(f.ip().map(|h| h.protocol).unwrap_or(0))
}

fn reports_protocol(_lab: &mut Lab) -> Result<Protocol> {
    let mut cap = Capture::start("lo")?;
    let mut rows = Vec::new();
    // Each socket sends to its own address, so its packet is told apart on lo.
    let tcp_dst = IpAddr::from([127, 0, 0, 2]);
    let tcp = Sock::tcp(Family::V4)?;
    tcp.set_nonblocking(true)?;
    let _ = tcp.connect(SocketAddr::new(tcp_dst, 9));
    rows.push(ProtocolRow {
        socket: "AF_INET SOCK_STREAM 0".into(),
        asked: 0,
        so_protocol: get(&tcp, libc::SO_PROTOCOL, "SO_PROTOCOL")?,
        wire: Some(wire_protocol(&mut cap, tcp_dst)?),
    });
    let udp_dst = IpAddr::from([127, 0, 0, 3]);
    let udp = Sock::udp(Family::V4)?;
    udp.send_to(b"protocol", 0, SocketAddr::new(udp_dst, 9))
        .context("UDP send")?;
    rows.push(ProtocolRow {
        socket: "AF_INET SOCK_DGRAM 0".into(),
        asked: 0,
        so_protocol: get(&udp, libc::SO_PROTOCOL, "SO_PROTOCOL")?,
        wire: Some(wire_protocol(&mut cap, udp_dst)?),
    });
    let udp6_dst = IpAddr::from(Ipv6Addr::LOCALHOST);
    let udp6 = Sock::udp(Family::V6)?;
    udp6.send_to(b"protocol", 0, SocketAddr::new(udp6_dst, 9))
        .context("UDP send over IPv6")?;
    rows.push(ProtocolRow {
        socket: "AF_INET6 SOCK_DGRAM 0".into(),
        asked: 0,
        so_protocol: get(&udp6, libc::SO_PROTOCOL, "SO_PROTOCOL")?,
        wire: Some(wire_protocol(&mut cap, udp6_dst)?),
    });
    let raw_dst = IpAddr::from([127, 0, 0, 4]);
    let raw = Sock::open(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP)
        .context("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)")?;
    raw.send_to(&echo_request(), 0, SocketAddr::new(raw_dst, 0))
        .context("ICMP echo request")?;
    rows.push(ProtocolRow {
        socket: "AF_INET SOCK_RAW IPPROTO_ICMP".into(),
        asked: libc::IPPROTO_ICMP,
        so_protocol: get(&raw, libc::SO_PROTOCOL, "SO_PROTOCOL")?,
        wire: Some(wire_protocol(&mut cap, raw_dst)?),
    });
    let local = unix::socket(libc::SOCK_STREAM)?;
    rows.push(ProtocolRow {
        socket: "AF_UNIX SOCK_STREAM 0".into(),
        asked: 0,
        so_protocol: get(&local, libc::SO_PROTOCOL, "SO_PROTOCOL")?,
        wire: None,
    });
    let set_result =
        result_name(&udp.set_int(libc::SOL_SOCKET, libc::SO_PROTOCOL, libc::IPPROTO_TCP));
    Ok(Protocol { rows, set_result })
}

impl Observation for Protocol {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        for r in &self.rows {
            // What the socket is, by what it put on the wire (AF_UNIX: 0).
            let truth = r.wire.map_or(0, i32::from);
            j.expect_eq(
                &format!("SO_PROTOCOL of {}", r.socket),
                &truth,
                &r.so_protocol,
            );
            if r.asked != 0 {
                j.expect_eq(
                    &format!("{} carries the protocol it asked for", r.socket),
                    &r.asked,
                    &truth,
                );
            }
        }
        j.expect_eq("setsockopt(SO_PROTOCOL)", READ_ONLY, &self.set_result);
        let wrong = self
            .rows
            .iter()
            .filter(|r| r.wire.map_or(0, i32::from) != r.so_protocol)
            .count();
        let verdict = match (wrong, self.set_result != "ok") {
            (0, true) => Verdict::Holds,
            (0, false) => Verdict::Differs,
            _ => Verdict::Refuted,
        };
        let listed: Vec<String> = self
            .rows
            .iter()
            .map(|r| format!("{} -> {} (wire {})", r.socket, r.so_protocol, r.wire.show()))
            .collect();
        j.verdict(
            verdict,
            format!(
                "{}; {wrong} of {} disagree with their packets; setsockopt: {}",
                listed.join(", "),
                self.rows.len(),
                self.set_result
            ),
        );
        let zero: Vec<String> = self
            .rows
            .iter()
            .filter(|r| r.asked == 0)
            .map(|r| r.so_protocol.to_string())
            .collect();
        j.key(format!(
            "protocol 0 reads back as [{}]; set: {}",
            zero.join(", "),
            self.set_result
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_type.reports_type

/// One socket: the type socket() was given (flags included), SO_TYPE, and
/// for a pair the length of the first read after two 2-byte writes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeRow {
    pub socket: String,
    pub created: i32,
    pub so_type: i32,
    pub first_read: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Type {
    pub rows: Vec<TypeRow>,
    pub set_result: String,
}

/// Writes "ab" and "cd" on `tx`, then reads once from `rx` with room for both.
fn first_read(tx: &Sock, rx: &Sock) -> Result<usize> {
    tx.send(b"ab", 0).context("first write")?;
    tx.send(b"cd", 0).context("second write")?;
    let mut buf = [0u8; 16];
    rx.recv(&mut buf, libc::MSG_DONTWAIT).context("read")
}

fn reports_type(_lab: &mut Lab) -> Result<Type> {
    let mut rows = Vec::new();
    for (socket, kind) in [
        ("AF_UNIX SOCK_STREAM pair", libc::SOCK_STREAM),
        ("AF_UNIX SOCK_DGRAM pair", libc::SOCK_DGRAM),
        ("AF_UNIX SOCK_SEQPACKET pair", libc::SOCK_SEQPACKET),
    ] {
        let (a, b) = unix::pair(kind)?;
        rows.push(TypeRow {
            socket: socket.into(),
            created: kind,
            so_type: get(&a, libc::SO_TYPE, "SO_TYPE")?,
            first_read: Some(first_read(&a, &b)?),
        });
    }
    let flagged = libc::SOCK_STREAM | libc::SOCK_NONBLOCK;
    let tcp = Sock::open(libc::AF_INET, flagged, 0)
        .context("socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK)")?;
    rows.push(TypeRow {
        socket: "AF_INET SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC".into(),
        created: flagged | libc::SOCK_CLOEXEC,
        so_type: get(&tcp, libc::SO_TYPE, "SO_TYPE")?,
        first_read: None,
    });
    let raw = Sock::open(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP)
        .context("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)")?;
    rows.push(TypeRow {
        socket: "AF_INET SOCK_RAW".into(),
        created: libc::SOCK_RAW,
        so_type: get(&raw, libc::SO_TYPE, "SO_TYPE")?,
        first_read: None,
    });
    let set_result = result_name(&tcp.set_int(libc::SOL_SOCKET, libc::SO_TYPE, libc::SOCK_DGRAM));
    Ok(Type { rows, set_result })
}

/// The type without SOCK_NONBLOCK and SOCK_CLOEXEC (SOCK_TYPE_MASK).
fn base_type(t: i32) -> i32 {
    t & 0xf
}

impl Observation for Type {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        for r in &self.rows {
            j.expect_eq(
                &format!("SO_TYPE of {}", r.socket),
                &type_name(base_type(r.created)),
                &type_name(r.so_type),
            );
            if let Some(n) = r.first_read {
                let expected = if base_type(r.created) == libc::SOCK_STREAM {
                    4
                } else {
                    2
                };
                j.expect_eq(
                    &format!("first read on the {} (bytes)", r.socket),
                    &expected,
                    &n,
                );
            }
        }
        j.expect_eq("setsockopt(SO_TYPE)", READ_ONLY, &self.set_result);
        let wrong = self
            .rows
            .iter()
            .filter(|r| r.so_type != base_type(r.created))
            .count();
        let verdict = match (wrong, self.set_result != "ok") {
            (0, true) => Verdict::Holds,
            (0, false) => Verdict::Differs,
            _ => Verdict::Refuted,
        };
        let listed: Vec<String> = self
            .rows
            .iter()
            .map(|r| match r.first_read {
                Some(n) => format!(
                    "{} -> {} (reads {n} B of 2 + 2)",
                    r.socket,
                    type_name(r.so_type)
                ),
                None => format!("{} -> {}", r.socket, type_name(r.so_type)),
            })
            .collect();
        j.verdict(
            verdict,
            format!(
                "{}; {wrong} of {} report another type; setsockopt: {}",
                listed.join(", "),
                self.rows.len(),
                self.set_result
            ),
        );
        j.key(format!(
            "{} of {} types right; set: {}",
            self.rows.len() - wrong,
            self.rows.len(),
            self.set_result
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_error.get_and_clear

/// The pending error of a refused TCP connect() and of a UDP socket that got
/// an ICMP port unreachable, read twice, and what a later recv() returned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SoError {
    /// The non-blocking connect() itself (EINPROGRESS).
    pub tcp_connect: String,
    /// What poll() reported for the connecting socket.
    pub tcp_poll: Vec<String>,
    pub tcp_rst: bool,
    /// SO_ERROR read twice: an errno name, or 0.
    pub tcp_first: String,
    pub tcp_second: String,
    pub udp_icmp: bool,
    pub udp_first: String,
    pub udp_second: String,
    /// recv() after SO_ERROR was read.
    pub udp_recv_after: String,
    /// recv() on a twin socket whose SO_ERROR was never read.
    pub twin_recv: String,
    pub set_result: String,
}

/// An errno number as its name; 0 as "0".
fn errno_text(n: i32) -> String {
    if n == 0 {
        "0".into()
    } else {
        errno_name(&std::io::Error::from_raw_os_error(n))
    }
}

fn revents_names(r: PollFlags) -> Vec<String> {
    [
        (PollFlags::POLLIN, "POLLIN"),
        (PollFlags::POLLOUT, "POLLOUT"),
        (PollFlags::POLLERR, "POLLERR"),
        (PollFlags::POLLHUP, "POLLHUP"),
    ]
    .iter()
    .filter(|(f, _)| r.contains(*f))
    .map(|(_, n)| n.to_string())
    .collect()
}

/// poll() for POLLOUT, at most `timeout`: the events reported.
fn poll_out(s: &Sock, timeout: Duration) -> Result<Vec<String>> {
    // SAFETY: the socket outlives the call.
    let bfd = unsafe { std::os::fd::BorrowedFd::borrow_raw(s.as_raw_fd()) };
    let mut fds = [PollFd::new(bfd, PollFlags::POLLOUT)];
    let ms = PollTimeout::try_from(timeout.as_millis() as i32).unwrap_or(PollTimeout::MAX);
    poll(&mut fds, ms).context("poll")?;
    Ok(revents_names(
        fds[0].revents().unwrap_or(PollFlags::empty()),
    ))
}

/// A UDP socket connected to a closed port on loopback that has sent one
/// datagram and been told (POLLERR) of the ICMP port unreachable.
fn refused_udp(to: SocketAddr) -> Result<Sock> {
    let s = Sock::udp(Family::V4)?;
    s.connect(to).context("connect UDP")?;
    s.send(b"anyone?", 0).context("UDP send")?;
    wait::ready(s.as_raw_fd(), PollFlags::POLLERR, Duration::from_secs(2))?;
    Ok(s)
}

fn recv_result(s: &Sock) -> String {
    let mut buf = [0u8; 16];
    result_name(&s.recv(&mut buf, libc::MSG_DONTWAIT))
}

fn get_and_clear(_lab: &mut Lab) -> Result<SoError> {
    let mut cap = Capture::start("lo")?;
    let closed = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 9);
    let tcp = Sock::tcp(Family::V4)?;
    tcp.set_nonblocking(true)?;
    let tcp_connect = result_name(&tcp.connect(closed));
    let tcp_poll = poll_out(&tcp, Duration::from_secs(2))?;
    let tcp_first = errno_text(get(&tcp, libc::SO_ERROR, "SO_ERROR")?);
    let tcp_second = errno_text(get(&tcp, libc::SO_ERROR, "SO_ERROR")?);
    let set_result = result_name(&tcp.set_int(libc::SOL_SOCKET, libc::SO_ERROR, 0));
    let tcp_rst = cap
        .wait_segment(
            "the RST from the closed port",
            Duration::from_secs(2),
            |s| s.sport == 9 && s.flags.rst,
        )
        .is_ok();

    let udp = refused_udp(closed)?;
    let udp_first = errno_text(get(&udp, libc::SO_ERROR, "SO_ERROR")?);
    let udp_second = errno_text(get(&udp, libc::SO_ERROR, "SO_ERROR")?);
    let udp_recv_after = recv_result(&udp);
    let twin = refused_udp(closed)?;
    let twin_recv = recv_result(&twin);
    let udp_icmp = cap.frames()?.iter().any(
        |f| matches!(f.decode(), crate::lab::packet::Packet::Icmp(m) if m.kind == 3 && m.code == 3),
    );
    Ok(SoError {
        tcp_connect,
        tcp_poll,
        tcp_rst,
        tcp_first,
        tcp_second,
        udp_icmp,
        udp_first,
        udp_second,
        udp_recv_after,
        twin_recv,
        set_result,
    })
}

impl Observation for SoError {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("non-blocking connect()", "EINPROGRESS", &self.tcp_connect);
        j.expect_eq("the closed port answers with RST", &true, &self.tcp_rst);
        j.expect(
            "poll() reports the failed connect",
            self.tcp_poll.iter().any(|e| e == "POLLERR"),
            "POLLERR among the events",
            self.tcp_poll.join(" "),
        );
        j.expect_eq(
            "SO_ERROR after the refused connect, read twice",
            &("ECONNREFUSED", "0"),
            &(self.tcp_first.as_str(), self.tcp_second.as_str()),
        );
        j.expect_eq("an ICMP port unreachable comes back", &true, &self.udp_icmp);
        j.expect_eq(
            "SO_ERROR of the UDP socket, read twice",
            &("ECONNREFUSED", "0"),
            &(self.udp_first.as_str(), self.udp_second.as_str()),
        );
        j.expect_eq(
            "recv() after SO_ERROR was read",
            "EAGAIN",
            &self.udp_recv_after,
        );
        j.expect_eq(
            "recv() on the twin that did not read it",
            "ECONNREFUSED",
            &self.twin_recv,
        );
        j.expect_eq("setsockopt(SO_ERROR)", READ_ONLY, &self.set_result);
        let gets = self.tcp_first == "ECONNREFUSED" && self.udp_first == "ECONNREFUSED";
        let clears = self.tcp_second == "0"
            && self.udp_second == "0"
            && self.udp_recv_after != "ECONNREFUSED";
        let verdict = match (gets, clears, self.set_result != "ok") {
            (true, true, true) => Verdict::Holds,
            (true, _, _) => Verdict::Differs,
            (false, _, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "refused connect(): SO_ERROR {} then {}; UDP after the ICMP error: {} then {}, and recv() {} \
                 (the twin that did not read SO_ERROR: {}); setsockopt: {}",
                self.tcp_first,
                self.tcp_second,
                self.udp_first,
                self.udp_second,
                self.udp_recv_after,
                self.twin_recv,
                self.set_result
            ),
        );
        j.key(format!(
            "{} then {}; recv after: {}",
            self.udp_first, self.udp_second, self.udp_recv_after
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

    /// What Linux 6.18 did (a real run).
    fn acceptconn_linux() -> AcceptConn {
        AcceptConn {
            before_listen: 0,
            connect_before: "ECONNREFUSED".into(),
            set_result: "ENOPROTOOPT".into(),
            after_listen: 1,
            connect_after: "ok".into(),
            accepted: 0,
            client: 0,
            after_shutdown: 0,
            connect_after_shutdown: "ECONNREFUSED".into(),
            unix_listener: 1,
            udp: 0,
        }
    }

    #[rstest]
    #[case::linux(acceptconn_linux(), Verdict::Holds, &[])]
    // A libc that lets the option be set (and echoes it): not read-only.
    #[case::settable(AcceptConn { set_result: "ok".into(), ..acceptconn_linux() },
        Verdict::Differs, &["setsockopt(SO_ACCEPTCONN)"])]
    #[case::never_listening(AcceptConn { after_listen: 0, ..acceptconn_linux() },
        Verdict::Refuted, &["SO_ACCEPTCONN after listen()"])]
    #[case::listening_before(AcceptConn { before_listen: 1, ..acceptconn_linux() },
        Verdict::Refuted, &["SO_ACCEPTCONN before listen()"])]
    #[case::accepted_listens(AcceptConn { accepted: 1, ..acceptconn_linux() },
        Verdict::Refuted, &["SO_ACCEPTCONN of the accepted socket and the client"])]
    #[case::client_listens(AcceptConn { client: 1, ..acceptconn_linux() },
        Verdict::Refuted, &["SO_ACCEPTCONN of the accepted socket and the client"])]
    #[case::still_listening(AcceptConn { after_shutdown: 1, connect_after_shutdown: "ok".into(),
        ..acceptconn_linux() }, Verdict::Refuted,
        &["SO_ACCEPTCONN after shutdown() of the listener", "connect() after that shutdown()"])]
    #[case::unix_not_listening(AcceptConn { unix_listener: 0, ..acceptconn_linux() },
        Verdict::Refuted, &["SO_ACCEPTCONN of an AF_UNIX listener"])]
    #[case::udp_listening(AcceptConn { udp: 1, ..acceptconn_linux() },
        Verdict::Refuted, &["SO_ACCEPTCONN of a UDP socket"])]
    #[case::accepts_early(AcceptConn { connect_before: "ok".into(), ..acceptconn_linux() },
        Verdict::Holds, &["connect() before listen()"])]
    #[case::refuses_late(AcceptConn { connect_after: "ECONNREFUSED".into(), ..acceptconn_linux() },
        Verdict::Holds, &["connect() after listen()"])]
    fn acceptconn_judgement(
        #[case] o: AcceptConn,
        #[case] verdict: Verdict,
        #[case] checks: &[&str],
    ) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn acceptconn_words() {
        let j = acceptconn_linux().judge();
        assert_eq!(
            "0 -> listen() -> 1 -> shutdown() -> 0; set: ENOPROTOOPT",
            j.key
        );
        assert_eq!(
            "0 before listen() (connect: ECONNREFUSED), 1 after (connect: ok), 0 on the accepted socket and 0 on \
             the client, 0 after shutdown() (connect: ECONNREFUSED), 1 on an AF_UNIX listener, 0 on UDP; \
             setsockopt: ENOPROTOOPT",
            j.because
        );
    }

    fn row(socket: &str, created: i32, so_domain: i32, sockname_family: i32) -> DomainRow {
        DomainRow {
            socket: socket.into(),
            created,
            so_domain,
            sockname_family,
        }
    }

    fn domain_linux() -> Domain {
        Domain {
            rows: vec![
                row("AF_INET SOCK_STREAM", 2, 2, 2),
                row("AF_INET6 SOCK_DGRAM", 10, 10, 10),
                row("AF_UNIX SOCK_SEQPACKET", 1, 1, 1),
                row("AF_PACKET SOCK_RAW", 17, 17, 17),
                row("AF_NETLINK SOCK_RAW", 16, 16, 16),
            ],
            set_result: "ENOPROTOOPT".into(),
        }
    }

    /// Row `i` of the Linux observation changed by `f`.
    fn domain_with(i: usize, f: impl FnOnce(&mut DomainRow)) -> Domain {
        let mut d = domain_linux();
        f(&mut d.rows[i]);
        d
    }

    #[rstest]
    #[case::linux(domain_linux(), Verdict::Holds, &[])]
    #[case::settable(Domain { set_result: "ok".into(), ..domain_linux() }, Verdict::Differs,
        &["setsockopt(SO_DOMAIN)"])]
    // A mapped IPv6 socket reported as AF_INET: not the domain socket() got.
    #[case::v6_as_v4(domain_with(1, |r| r.so_domain = 2), Verdict::Refuted,
        &["SO_DOMAIN of AF_INET6 SOCK_DGRAM"])]
    #[case::sockname_differs(domain_with(2, |r| r.sockname_family = 0), Verdict::Holds,
        &["getsockname() family of AF_UNIX SOCK_SEQPACKET"])]
    fn domain_judgement(#[case] o: Domain, #[case] verdict: Verdict, #[case] checks: &[&str]) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn domain_words() {
        let j = domain_with(1, |r| r.so_domain = 2).judge();
        assert_eq!("4 of 5 domains right; set: ENOPROTOOPT", j.key);
        assert!(j
            .because
            .starts_with("AF_INET SOCK_STREAM -> AF_INET, AF_INET6 SOCK_DGRAM -> AF_INET, "));
        assert!(j
            .because
            .ends_with("; 1 of 5 sockets report another domain than socket() was given; setsockopt: ENOPROTOOPT"));
        assert_eq!(
            vec![
                "AF_UNIX",
                "AF_INET",
                "AF_INET6",
                "AF_NETLINK",
                "AF_PACKET",
                "99"
            ],
            [1, 2, 10, 16, 17, 99].map(domain_name).to_vec()
        );
    }

    fn prow(socket: &str, asked: i32, so_protocol: i32, wire: Option<u8>) -> ProtocolRow {
        ProtocolRow {
            socket: socket.into(),
            asked,
            so_protocol,
            wire,
        }
    }

    fn protocol_linux() -> Protocol {
        Protocol {
            rows: vec![
                prow("AF_INET SOCK_STREAM 0", 0, 6, Some(6)),
                prow("AF_INET SOCK_DGRAM 0", 0, 17, Some(17)),
                prow("AF_INET SOCK_RAW IPPROTO_ICMP", 1, 1, Some(1)),
                prow("AF_UNIX SOCK_STREAM 0", 0, 0, None),
            ],
            set_result: "ENOPROTOOPT".into(),
        }
    }

    #[rstest]
    #[case::linux(protocol_linux(), Verdict::Holds, &[])]
    #[case::settable(Protocol { set_result: "ok".into(), ..protocol_linux() }, Verdict::Differs,
        &["setsockopt(SO_PROTOCOL)"])]
    // A kernel that echoed socket()'s protocol argument (0) back.
    #[case::echoes_zero(Protocol { rows: vec![prow("AF_INET SOCK_STREAM 0", 0, 0, Some(6))],
        ..protocol_linux() }, Verdict::Refuted, &["SO_PROTOCOL of AF_INET SOCK_STREAM 0"])]
    #[case::unix_protocol(Protocol { rows: vec![prow("AF_UNIX SOCK_STREAM 0", 0, 1, None)],
        ..protocol_linux() }, Verdict::Refuted, &["SO_PROTOCOL of AF_UNIX SOCK_STREAM 0"])]
    #[case::raw_sends_other(Protocol { rows: vec![prow("AF_INET SOCK_RAW IPPROTO_ICMP", 1, 2, Some(2))],
        ..protocol_linux() }, Verdict::Holds, &["AF_INET SOCK_RAW IPPROTO_ICMP carries the protocol it asked for"])]
    fn protocol_judgement(#[case] o: Protocol, #[case] verdict: Verdict, #[case] checks: &[&str]) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn protocol_words_and_echo() {
        let j = protocol_linux().judge();
        assert_eq!(
            "protocol 0 reads back as [6, 17, 0]; set: ENOPROTOOPT",
            j.key
        );
        assert_eq!(
            "AF_INET SOCK_STREAM 0 -> 6 (wire 6), AF_INET SOCK_DGRAM 0 -> 17 (wire 17), AF_INET SOCK_RAW \
             IPPROTO_ICMP -> 1 (wire 1), AF_UNIX SOCK_STREAM 0 -> 0 (wire none); 0 of 4 disagree with their \
             packets; setsockopt: ENOPROTOOPT",
            j.because
        );
        // Type 8, code 0, the checksum of the whole message, id 0x1234, seq 1.
        assert_eq!([8, 0, 0xe5, 0xca, 0x12, 0x34, 0, 1], echo_request());
    }

    fn trow(socket: &str, created: i32, so_type: i32, first_read: Option<usize>) -> TypeRow {
        TypeRow {
            socket: socket.into(),
            created,
            so_type,
            first_read,
        }
    }

    fn type_linux() -> Type {
        Type {
            rows: vec![
                trow("AF_UNIX SOCK_STREAM pair", 1, 1, Some(4)),
                trow("AF_UNIX SOCK_DGRAM pair", 2, 2, Some(2)),
                trow("AF_UNIX SOCK_SEQPACKET pair", 5, 5, Some(2)),
                trow(
                    "AF_INET SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC",
                    526_337,
                    1,
                    None,
                ),
                trow("AF_INET SOCK_RAW", 3, 3, None),
            ],
            set_result: "ENOPROTOOPT".into(),
        }
    }

    fn type_with(i: usize, f: impl FnOnce(&mut TypeRow)) -> Type {
        let mut t = type_linux();
        f(&mut t.rows[i]);
        t
    }

    #[rstest]
    #[case::linux(type_linux(), Verdict::Holds, &[])]
    #[case::settable(Type { set_result: "ok".into(), ..type_linux() }, Verdict::Differs,
        &["setsockopt(SO_TYPE)"])]
    // The flags passed to socket() leaking into the answer.
    #[case::flags_reported(type_with(3, |r| r.so_type = 526_337), Verdict::Refuted,
        &["SO_TYPE of AF_INET SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC"])]
    #[case::stream_keeps_boundaries(type_with(0, |r| r.first_read = Some(2)), Verdict::Holds,
        &["first read on the AF_UNIX SOCK_STREAM pair (bytes)"])]
    #[case::dgram_merges(type_with(1, |r| r.first_read = Some(4)), Verdict::Holds,
        &["first read on the AF_UNIX SOCK_DGRAM pair (bytes)"])]
    #[case::seqpacket_as_stream(type_with(2, |r| r.so_type = 1), Verdict::Refuted,
        &["SO_TYPE of AF_UNIX SOCK_SEQPACKET pair"])]
    fn type_judgement(#[case] o: Type, #[case] verdict: Verdict, #[case] checks: &[&str]) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn type_words() {
        let j = type_with(3, |r| r.so_type = 526_337).judge();
        assert_eq!("4 of 5 types right; set: ENOPROTOOPT", j.key);
        assert!(j.because.starts_with(
            "AF_UNIX SOCK_STREAM pair -> SOCK_STREAM (reads 4 B of 2 + 2), AF_UNIX SOCK_DGRAM pair -> \
             SOCK_DGRAM (reads 2 B of 2 + 2), AF_UNIX SOCK_SEQPACKET pair -> SOCK_SEQPACKET (reads 2 B of 2 + 2), \
             AF_INET SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC -> 526337, AF_INET SOCK_RAW -> SOCK_RAW; 1 of 5"
        ));
        assert_eq!(1, base_type(526_337));
    }

    fn error_linux() -> SoError {
        SoError {
            tcp_connect: "EINPROGRESS".into(),
            tcp_poll: vec!["POLLOUT".into(), "POLLERR".into(), "POLLHUP".into()],
            tcp_rst: true,
            tcp_first: "ECONNREFUSED".into(),
            tcp_second: "0".into(),
            udp_icmp: true,
            udp_first: "ECONNREFUSED".into(),
            udp_second: "0".into(),
            udp_recv_after: "EAGAIN".into(),
            twin_recv: "ECONNREFUSED".into(),
            set_result: "ENOPROTOOPT".into(),
        }
    }

    #[rstest]
    #[case::linux(error_linux(), Verdict::Holds, &[])]
    // Read but not cleared: the error stays and the next call fails too.
    #[case::sticky(SoError { tcp_second: "ECONNREFUSED".into(), udp_second: "ECONNREFUSED".into(),
        udp_recv_after: "ECONNREFUSED".into(), ..error_linux() }, Verdict::Differs,
        &["SO_ERROR after the refused connect, read twice", "SO_ERROR of the UDP socket, read twice",
          "recv() after SO_ERROR was read"])]
    #[case::udp_sticky(SoError { udp_recv_after: "ECONNREFUSED".into(), ..error_linux() },
        Verdict::Differs, &["recv() after SO_ERROR was read"])]
    #[case::tcp_not_cleared(SoError { tcp_second: "ECONNREFUSED".into(), ..error_linux() },
        Verdict::Differs, &["SO_ERROR after the refused connect, read twice"])]
    #[case::udp_not_cleared(SoError { udp_second: "ECONNREFUSED".into(), ..error_linux() },
        Verdict::Differs, &["SO_ERROR of the UDP socket, read twice"])]
    #[case::settable(SoError { set_result: "ok".into(), ..error_linux() }, Verdict::Differs,
        &["setsockopt(SO_ERROR)"])]
    // A libc that always answers 0.
    #[case::always_zero(SoError { tcp_first: "0".into(), udp_first: "0".into(), ..error_linux() },
        Verdict::Refuted,
        &["SO_ERROR after the refused connect, read twice", "SO_ERROR of the UDP socket, read twice"])]
    #[case::udp_zero(SoError { udp_first: "0".into(), ..error_linux() }, Verdict::Refuted,
        &["SO_ERROR of the UDP socket, read twice"])]
    #[case::tcp_zero(SoError { tcp_first: "0".into(), ..error_linux() }, Verdict::Refuted,
        &["SO_ERROR after the refused connect, read twice"])]
    #[case::connect_done(SoError { tcp_connect: "ok".into(), ..error_linux() }, Verdict::Holds,
        &["non-blocking connect()"])]
    #[case::no_rst(SoError { tcp_rst: false, ..error_linux() }, Verdict::Holds,
        &["the closed port answers with RST"])]
    #[case::poll_quiet(SoError { tcp_poll: vec!["POLLOUT".into()], ..error_linux() }, Verdict::Holds,
        &["poll() reports the failed connect"])]
    #[case::no_icmp(SoError { udp_icmp: false, ..error_linux() }, Verdict::Holds,
        &["an ICMP port unreachable comes back"])]
    #[case::twin_quiet(SoError { twin_recv: "EAGAIN".into(), ..error_linux() }, Verdict::Holds,
        &["recv() on the twin that did not read it"])]
    fn error_judgement(#[case] o: SoError, #[case] verdict: Verdict, #[case] checks: &[&str]) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn error_words() {
        let j = error_linux().judge();
        assert_eq!("ECONNREFUSED then 0; recv after: EAGAIN", j.key);
        assert_eq!(
            "refused connect(): SO_ERROR ECONNREFUSED then 0; UDP after the ICMP error: ECONNREFUSED then 0, and \
             recv() EAGAIN (the twin that did not read SO_ERROR: ECONNREFUSED); setsockopt: ENOPROTOOPT",
            j.because
        );
        assert_eq!(
            ("0".to_string(), "ECONNREFUSED".to_string()),
            (errno_text(0), errno_text(111))
        );
        assert_eq!(
            vec!["POLLIN", "POLLOUT", "POLLERR", "POLLHUP"],
            revents_names(PollFlags::all())
        );
        assert_eq!(Vec::<String>::new(), revents_names(PollFlags::POLLPRI));
        assert_eq!(
            vec![
                "SOCK_STREAM",
                "SOCK_DGRAM",
                "SOCK_RAW",
                "SOCK_SEQPACKET",
                "9"
            ],
            [1, 2, 3, 5, 9].map(type_name).to_vec()
        );
    }
}
