//! SOL_SOCKET options in general (004 §5.1) and SO_BROADCAST, SO_DONTROUTE,
//! SO_DEBUG (004 §5.1, §5.2).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::cases::nagle::{set_autocorking, small_writes, small_writes_before_ack};
use crate::lab::netlink::{ifindex, Netlink};
use crate::lab::opt;
use crate::lab::packet::{Frame, NewData, Packet};
use crate::lab::sock::{errno_name, fill_until_eagain, result_name};
use crate::lab::topo::Link;
use crate::lab::wire::{hwaddr, option_bytes, wire_like};
use crate::lab::{phase, wait, Capture, Family, Host, Lab, Privilege, Sock, TcpPair};
use crate::model::{ms, Case, Evidence, Legacy, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[
    &BOOL_ON_OFF,
    &ACCEPT_INHERITS,
    &DEBUG_PRIVILEGE,
    &BROADCAST_REQUIRES_OPTION,
    &DONTROUTE_BYPASSES_ROUTING,
];

pub static BOOL_ON_OFF: Case = Case {
    id: "sockopt.bool_on_off",
    source: Source::LectureNotes("5.1 socket option example"),
    claim: "for an option that is either on or off, optval 1 turns it on and 0 turns it off",
    expectation: "any non-zero int turns a boolean option on (2, -1 and 0x100 as well as 1) and getsockopt then \
                  reports 1; 0 turns it off. The effect follows: TCP_NODELAY=2 sends each small write at once, \
                  SO_BROADCAST=-1 lets a broadcast through, SO_REUSEADDR=0x100 allows a second UDP bind, \
                  SO_OOBINLINE=0x100 puts the urgent byte in the stream, SO_KEEPALIVE=2 sends probes",
    run: &Legacy(bool_on_off),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static ACCEPT_INHERITS: Case = Case {
    id: "sockopt.accept_inherits",
    source: Source::LectureNotes("5.1 socket option inheritance"),
    claim: "options set on the listening socket are inherited by the socket accept() returns, so they must be \
            set before accept()",
    expectation: "SO_RCVBUF, SO_SNDBUF, SO_KEEPALIVE (with TCP_KEEPIDLE), SO_LINGER, TCP_NODELAY and TCP_MAXSEG are \
                  inherited, and act on the accepted socket (its segment sizes, one segment per small write, \
                  bounded receive and send queues, a keep-alive probe, RST on close); O_NONBLOCK, a file status \
                  flag, is not: the accepted socket blocks (accept(2), Linux)",
    run: &Legacy(accept_inherits),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static DEBUG_PRIVILEGE: Case = Case {
    id: "so_debug.privilege",
    source: Source::LectureNotes("5.1 SOL_SOCKET options"),
    claim: "SO_DEBUG selects debug mode",
    expectation: "setting SO_DEBUG to 1 needs CAP_NET_ADMIN in the initial user namespace: root may, a process in \
                  a user namespace gets EACCES (setting 0 is always allowed); once set, TCP does nothing \
                  different: the packets on the wire are the same as without it",
    run: &Legacy(debug_privilege),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_DEBUG],
};

pub static BROADCAST_REQUIRES_OPTION: Case = Case {
    id: "broadcast.requires_option",
    source: Source::LectureNotes("5.2 SO_BROADCAST"),
    claim: "a socket may send broadcast messages only with SO_BROADCAST, and only UDP can",
    expectation: "UDP sendto the subnet broadcast 198.51.100.255, or 255.255.255.255 from a socket bound to an \
                  interface address, fails with EACCES without SO_BROADCAST; with it the datagram goes out to \
                  ff:ff:ff:ff:ff:ff and the other host receives it. An unbound socket has no route for \
                  255.255.255.255 here (no default route): ENETUNREACH. A TCP socket accepts SO_BROADCAST, but \
                  connect() to a broadcast address fails with ENETUNREACH and sends nothing",
    run: &Legacy(broadcast_requires_option),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_BROADCAST],
};

pub static DONTROUTE_BYPASSES_ROUTING: Case = Case {
    id: "dontroute.bypasses_routing",
    source: Source::LectureNotes("5.2 SO_DONTROUTE"),
    claim: "SO_DONTROUTE makes the system send without its routing table's choice of path",
    expectation: "a destination reachable only through a gateway route goes to the gateway's MAC without the \
                  option; with SO_DONTROUTE or MSG_DONTROUTE the lookup only accepts directly connected \
                  (link-scope) routes, so sendto() and connect() fail with ENETUNREACH and nothing (not even an \
                  ARP request) goes on the wire; an on-link destination is still reached",
    run: &Legacy(dontroute_bypasses_routing),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_DONTROUTE],
};

// ---------------------------------------------------------------------------
// Shared small helpers

/// Polls `rx` for up to `timeout` and drains it; true when a datagram of
/// `len` bytes was among those read.
fn delivered(rx: &Sock, len: usize, timeout: Duration) -> Result<bool> {
    wait::readable(rx.as_raw_fd(), timeout)?;
    let mut buf = [0u8; 2048];
    let mut found = false;
    while let Ok(n) = rx.recv(&mut buf, libc::MSG_DONTWAIT) {
        found |= n == len;
    }
    Ok(found)
}

/// Reads exactly `n` bytes from a TCP socket (at most 5 s of waiting).
fn read_exact(s: &Sock, n: usize, what: &str) -> Result<()> {
    s.set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(5))?;
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match s
            .recv(&mut buf[got..], 0)
            .with_context(|| format!("read {what}"))?
        {
            0 => bail!("EOF after {got} of {n} bytes of {what}"),
            k => got += k,
        }
    }
    Ok(())
}

/// A UDP socket bound to `addr` in `host`.
fn udp_bound(host: &Host, addr: SocketAddr) -> Result<Sock> {
    host.run(|| -> Result<Sock> {
        let s = Sock::udp(Family::of(&addr.ip()))?;
        s.bind(addr).with_context(|| format!("bind UDP {addr}"))?;
        Ok(s)
    })?
}

/// The target address of an ARP request or reply.
fn arp_target(f: &Frame) -> Option<Ipv4Addr> {
    let d = &f.data;
    if d.get(12..14)? != [0x08, 0x06] {
        return None;
    }
    let t: [u8; 4] = d.get(38..42)?.try_into().ok()?;
    Some(Ipv4Addr::from(t))
}

fn mac_text(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// connect() with a bound on how long it may block (SO_SNDTIMEO), so a SYN
/// nobody answers cannot hang the case.
fn connect_bounded(s: &Sock, to: SocketAddr) -> String {
    let _ = s.set_timeout(libc::SO_SNDTIMEO, Duration::from_millis(500));
    result_name(&s.connect(to))
}

// ---------------------------------------------------------------------------
// sockopt.bool_on_off

const BOOLEANS: [(&str, i32, i32); 7] = [
    ("SO_KEEPALIVE", libc::SOL_SOCKET, libc::SO_KEEPALIVE),
    ("SO_REUSEADDR", libc::SOL_SOCKET, libc::SO_REUSEADDR),
    ("SO_REUSEPORT", libc::SOL_SOCKET, libc::SO_REUSEPORT),
    ("SO_BROADCAST", libc::SOL_SOCKET, libc::SO_BROADCAST),
    ("SO_OOBINLINE", libc::SOL_SOCKET, libc::SO_OOBINLINE),
    ("SO_DONTROUTE", libc::SOL_SOCKET, libc::SO_DONTROUTE),
    ("TCP_NODELAY", libc::IPPROTO_TCP, libc::TCP_NODELAY),
];
const BOOL_VALUES: [i32; 5] = [1, 2, -1, 0x100, 0];

/// One boolean option set to one value.
#[derive(Clone, Debug, Serialize)]
struct ReadBack {
    option: &'static str,
    value: i32,
    setsockopt: String,
    getsockopt: i32,
}

/// For each boolean option and value: setsockopt's result and what
/// getsockopt reports afterwards. The kernel stores a truth value, so a
/// non-zero value reads back as 1 (an option that was ignored and echoed
/// would read back as the value given).
fn read_back_matrix() -> Result<Vec<ReadBack>> {
    let s = Sock::tcp(Family::V4)?;
    let mut out = Vec::new();
    for (option, level, opt) in BOOLEANS {
        for value in BOOL_VALUES {
            let r = s.set_int(level, opt, value);
            out.push(ReadBack {
                option,
                value,
                setsockopt: result_name(&r),
                getsockopt: s
                    .get_int(level, opt)
                    .with_context(|| format!("getsockopt {option}"))?,
            });
        }
    }
    Ok(out)
}

/// SO_BROADCAST set to `v`, then a datagram to lo's broadcast address.
fn broadcast_on_lo(v: i32) -> Result<(String, bool)> {
    let rx = Sock::udp(Family::V4)?;
    rx.bind(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0))?;
    let to = SocketAddr::new(
        Ipv4Addr::new(127, 255, 255, 255).into(),
        rx.local_addr()?.port(),
    );
    let tx = Sock::udp(Family::V4)?;
    tx.set_int(libc::SOL_SOCKET, libc::SO_BROADCAST, v)
        .with_context(|| format!("SO_BROADCAST {v}"))?;
    let r = tx.send_to(b"bcast", 0, to);
    let got = r.is_ok() && delivered(&rx, 5, Duration::from_secs(2))?;
    Ok((result_name(&r), got))
}

/// Two UDP sockets on the same address and port, both with SO_REUSEADDR = v:
/// the second bind's result.
fn second_udp_bind(v: i32) -> Result<String> {
    let a = Sock::udp(Family::V4)?;
    a.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, v)?;
    a.bind(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0))?;
    let b = Sock::udp(Family::V4)?;
    b.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, v)?;
    Ok(result_name(&b.bind(a.local_addr()?)))
}

/// Where the urgent byte of "abc" (MSG_OOB) ends up with SO_OOBINLINE = v:
/// the bytes read from the normal stream, and recv(MSG_OOB)'s answer.
fn urgent_byte(v: i32) -> Result<(String, String)> {
    let pair = TcpPair::loopback(Family::V4)?;
    pair.server
        .set_int(libc::SOL_SOCKET, libc::SO_OOBINLINE, v)
        .with_context(|| format!("SO_OOBINLINE {v}"))?;
    pair.client
        .send(b"abc", libc::MSG_OOB)
        .context("send MSG_OOB")?;
    // All of it arrives in one segment; wait until that segment is queued.
    wait::until(
        "the urgent segment to arrive",
        Duration::from_secs(2),
        || {
            let mut b = [0u8; 1];
            let normal = pair
                .server
                .recv(&mut b, libc::MSG_PEEK | libc::MSG_DONTWAIT);
            Ok(normal.is_ok().then_some(()))
        },
    )?;
    // MSG_OOB first: a normal read that passes the mark consumes the urgent
    // byte as a hole, after which MSG_OOB has nothing left (EINVAL).
    let mut buf = [0u8; 16];
    let oob = match pair
        .server
        .recv(&mut buf, libc::MSG_OOB | libc::MSG_DONTWAIT)
    {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Err(e) => errno_name(&e),
    };
    let mut stream = Vec::new();
    while let Ok(n) = pair.server.recv(&mut buf, libc::MSG_DONTWAIT) {
        if n == 0 {
            break;
        }
        stream.extend_from_slice(&buf[..n]);
    }
    Ok((String::from_utf8_lossy(&stream).into_owned(), oob))
}

#[derive(Clone, Debug, Serialize)]
struct BoolEffects {
    nodelay_2_segments: Vec<u32>,
    nodelay_0_segments: Vec<u32>,
    broadcast_minus1: (String, bool),
    broadcast_0: (String, bool),
    reuseaddr_0x100_second_bind: String,
    reuseaddr_0_second_bind: String,
    oobinline_0x100: (String, String),
    oobinline_0: (String, String),
    #[serde(with = "crate::model::millis")]
    keepalive_2_probe_after: Duration,
}

/// TCP keep-alive idle time for the probe that shows SO_KEEPALIVE=2 on.
const KEEPIDLE_S: i32 = 1;

fn bool_on_off(_lab: &mut Lab) -> Result<Evidence> {
    // SO_KEEPALIVE=2 first: its probe takes a second, the rest runs meanwhile.
    let mut cap = Capture::start("lo")?;
    let ka = TcpPair::loopback(Family::V4)?;
    ka.client
        .set_int(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, KEEPIDLE_S)
        .context("TCP_KEEPIDLE")?;
    // Timed from before the setsockopt that arms the timer, so the measured
    // wait is a lower bound on the kernel's however slow the machine.
    let ka_armed = Instant::now();
    ka.client
        .set_int(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 2)
        .context("SO_KEEPALIVE 2")?;
    let ka_port = ka.client.local_addr()?.port();

    let matrix = read_back_matrix()?;
    // Only TCP_NODELAY decides how the small writes leave: autocorking off.
    set_autocorking(false)?;
    let nodelay_0 = small_writes_before_ack(Family::V4, 0, 5)?;
    let mut effects = BoolEffects {
        nodelay_2_segments: small_writes(Family::V4, 2, 5)?.segments,
        nodelay_0_segments: nodelay_0.segments,
        broadcast_minus1: broadcast_on_lo(-1)?,
        broadcast_0: broadcast_on_lo(0)?,
        reuseaddr_0x100_second_bind: second_udp_bind(0x100)?,
        reuseaddr_0_second_bind: second_udp_bind(0)?,
        oobinline_0x100: urgent_byte(0x100)?,
        oobinline_0: urgent_byte(0)?,
        keepalive_2_probe_after: Duration::ZERO,
    };
    // A probe repeats the last acknowledged sequence number (snd_una - 1):
    // with no data sent, the SYN's own sequence number.
    let syn_seq = cap
        .segments()?
        .iter()
        .find(|s| s.sport == ka_port && s.flags.syn)
        .map(|s| s.seq);
    phase("waiting for the keep-alive probe of SO_KEEPALIVE=2");
    let probe_ok = cap
        .wait_segment(
            "a keep-alive probe from the SO_KEEPALIVE=2 socket",
            Duration::from_secs(KEEPIDLE_S as u64 + 2),
            |s| s.sport == ka_port && Some(s.seq) == syn_seq && !s.flags.syn,
        )
        .is_ok();
    effects.keepalive_2_probe_after = ka_armed.elapsed();

    let mut ev = Evidence::new();
    ev.observe("read_back", &matrix)
        .observe("effects", &effects);
    let wrong: Vec<String> = matrix
        .iter()
        .filter(|m| m.setsockopt != "ok" || m.getsockopt != (m.value != 0) as i32)
        .map(|m| {
            format!(
                "{}={}: {}, reads {}",
                m.option, m.value, m.setsockopt, m.getsockopt
            )
        })
        .collect();
    ev.expect_eq(
        "every value accepted; getsockopt reads 1 after any non-zero value, 0 after 0",
        Vec::<String>::new(),
        wrong.clone(),
    );
    ev.expect_eq(
        "TCP_NODELAY=2: one segment per write",
        vec![1u32; 5],
        effects.nodelay_2_segments.clone(),
    );
    ev.expect(
        "TCP_NODELAY=0: Nagle coalesces again",
        effects.nodelay_0_segments.len() < 5,
        "fewer than 5 segments",
        format!("{:?}", effects.nodelay_0_segments),
    );
    ev.expect_eq(
        "SO_BROADCAST=-1: broadcast sent and delivered; =0: EACCES",
        (("ok".to_string(), true), ("EACCES".to_string(), false)),
        (
            effects.broadcast_minus1.clone(),
            effects.broadcast_0.clone(),
        ),
    );
    ev.expect_eq(
        "SO_REUSEADDR=0x100: second UDP bind; =0: refused",
        ("ok".to_string(), "EADDRINUSE".to_string()),
        (
            effects.reuseaddr_0x100_second_bind.clone(),
            effects.reuseaddr_0_second_bind.clone(),
        ),
    );
    ev.expect_eq(
        "SO_OOBINLINE=0x100: urgent byte in the stream, MSG_OOB EINVAL; =0: out of band",
        (
            ("abc".to_string(), "EINVAL".to_string()),
            ("ab".to_string(), "c".to_string()),
        ),
        (effects.oobinline_0x100.clone(), effects.oobinline_0.clone()),
    );
    let ka_lo = Duration::from_secs(KEEPIDLE_S as u64) - Duration::from_millis(50);
    ev.expect(
        "SO_KEEPALIVE=2: a probe after TCP_KEEPIDLE",
        probe_ok && effects.keepalive_2_probe_after >= ka_lo,
        format!("probe after >= {:.0} ms", ms(ka_lo)),
        if probe_ok {
            format!("probe after {:.0} ms", ms(effects.keepalive_2_probe_after))
        } else {
            "no probe".into()
        },
    );

    let zero_off = matrix
        .iter()
        .filter(|m| m.value == 0)
        .all(|m| m.getsockopt == 0);
    let one_on = matrix
        .iter()
        .filter(|m| m.value == 1)
        .all(|m| m.getsockopt == 1);
    let nonzero_on = matrix
        .iter()
        .filter(|m| m.value != 0)
        .all(|m| m.getsockopt == 1);
    let verdict = match (one_on && zero_off, nonzero_on) {
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::Differs,
        (false, _) => Verdict::Refuted,
    };
    ev.verdict(
        verdict,
        format!(
            "{} options x values {BOOL_VALUES:?}: {} read back as expected; TCP_NODELAY=2 -> segments {:?} (0 -> \
             {:?}); SO_BROADCAST=-1 -> {}{}, 0 -> {}; SO_REUSEADDR=0x100 -> second bind {}, 0 -> {}; \
             SO_OOBINLINE=0x100 -> stream {:?} / MSG_OOB {}; SO_KEEPALIVE=2 -> {}",
            BOOLEANS.len(),
            matrix.len() - wrong.len(),
            effects.nodelay_2_segments,
            effects.nodelay_0_segments,
            effects.broadcast_minus1.0,
            if effects.broadcast_minus1.1 {
                " and delivered"
            } else {
                ", not delivered"
            },
            effects.broadcast_0.0,
            effects.reuseaddr_0x100_second_bind,
            effects.reuseaddr_0_second_bind,
            effects.oobinline_0x100.0,
            effects.oobinline_0x100.1,
            if probe_ok {
                format!("probe after {:.0} ms", ms(effects.keepalive_2_probe_after))
            } else {
                "no probe".into()
            }
        ),
    );
    ev.key(format!(
        "non-zero -> on for {}/{} settings; effects of 2/-1/0x100 seen",
        matrix
            .iter()
            .filter(|m| m.value != 0 && m.getsockopt == 1)
            .count(),
        matrix.iter().filter(|m| m.value != 0).count()
    ));
    drop(ka);
    Ok(ev)
}

// ---------------------------------------------------------------------------
// sockopt.accept_inherits

const L_RCVBUF: i32 = 16 * 1024;
const L_SNDBUF: i32 = 16 * 1024;
const L_MSS: i32 = 1000;
const CLIENT_RCVBUF: i32 = 4096;

/// Options as one socket reports them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
struct Opts {
    rcvbuf: i32,
    sndbuf: i32,
    keepalive: i32,
    keepidle: i32,
    linger: (bool, i32),
    nodelay: i32,
    maxseg: i32,
    nonblocking: bool,
}

fn opts_of(s: &Sock) -> Result<Opts> {
    let g = |level, opt, name: &str| {
        s.get_int(level, opt)
            .with_context(|| format!("getsockopt {name}"))
    };
    Ok(Opts {
        rcvbuf: g(libc::SOL_SOCKET, libc::SO_RCVBUF, "SO_RCVBUF")?,
        sndbuf: g(libc::SOL_SOCKET, libc::SO_SNDBUF, "SO_SNDBUF")?,
        keepalive: g(libc::SOL_SOCKET, libc::SO_KEEPALIVE, "SO_KEEPALIVE")?,
        keepidle: g(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, "TCP_KEEPIDLE")?,
        linger: s.linger().context("getsockopt SO_LINGER")?,
        nodelay: g(libc::IPPROTO_TCP, libc::TCP_NODELAY, "TCP_NODELAY")?,
        maxseg: g(libc::IPPROTO_TCP, libc::TCP_MAXSEG, "TCP_MAXSEG")?,
        nonblocking: s.is_nonblocking()?,
    })
}

fn prep_listener(l: &Sock) -> Result<()> {
    let set = |level, opt, v, name: &str| {
        l.set_int(level, opt, v)
            .with_context(|| format!("{name} {v} on the listener"))
    };
    set(libc::SOL_SOCKET, libc::SO_RCVBUF, L_RCVBUF, "SO_RCVBUF")?;
    set(libc::SOL_SOCKET, libc::SO_SNDBUF, L_SNDBUF, "SO_SNDBUF")?;
    set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1, "SO_KEEPALIVE")?;
    set(
        libc::IPPROTO_TCP,
        libc::TCP_KEEPIDLE,
        KEEPIDLE_S,
        "TCP_KEEPIDLE",
    )?;
    set(libc::IPPROTO_TCP, libc::TCP_NODELAY, 1, "TCP_NODELAY")?;
    set(libc::IPPROTO_TCP, libc::TCP_MAXSEG, L_MSS, "TCP_MAXSEG")?;
    l.set_linger(true, 0)
        .context("SO_LINGER {1,0} on the listener")?;
    Ok(())
}

/// What the accepted socket did.
#[derive(Clone, Debug, Default, Serialize)]
struct Inherited {
    /// recv() on an idle accepted socket with SO_RCVTIMEO 100 ms: how long it
    /// waited (blocking) and what it returned.
    #[serde(with = "crate::model::millis")]
    idle_recv_took: Duration,
    idle_recv: String,
    /// Data segments of five one-byte writes, on the wire as each returned.
    small_writes_on_wire: Vec<usize>,
    small_write_segments: Vec<u32>,
    synack_mss: Option<u16>,
    max_segment: u32,
    /// Bytes the accepted socket held when it advertised a zero window.
    queued_at_zero_window: i32,
    /// Bytes in its send queue when a non-blocking write hit EAGAIN.
    send_queue_at_eagain: i32,
    #[serde(with = "crate::model::millis")]
    keepalive_probe_after: Duration,
    keepalive_probe: bool,
    rst_on_close: bool,
    fin_on_close: bool,
}

fn accept_inherits(lab: &mut Lab) -> Result<Evidence> {
    let link = Link::pair_v4(lab)?;
    wire_like(&link, 1500)?;
    // Autocorking off where the accepted sockets live: it too holds back a
    // small write while an earlier one is still queued (on a slow machine),
    // which would hide whether TCP_NODELAY came through the accept.
    link.b.run(|| set_autocorking(false))??;
    // Captured where the accepted sockets live: their segments are seen as
    // they are sent, inside the sending call.
    let mut cap = link.b.run(|| Capture::start("veth-b"))??;
    let listener = link.b.run(|| -> Result<Sock> {
        let l = Sock::tcp(Family::V4)?;
        prep_listener(&l)?;
        l.bind(SocketAddr::new(link.b_end.addr, 0))
            .context("bind listener")?;
        l.listen(8).context("listen")?;
        l.set_nonblocking(true)?;
        Ok(l)
    })??;
    let target = listener.local_addr()?;
    let accept = |what: &str| -> Result<(Sock, Sock)> {
        let c = Sock::tcp(Family::V4)?;
        // A small window on the client side keeps the accepted socket's
        // segments, and so its send queue's overshoot past SO_SNDBUF, small.
        c.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, CLIENT_RCVBUF)?;
        c.connect(target)
            .with_context(|| format!("connect the {what} client"))?;
        wait::readable(listener.as_raw_fd(), Duration::from_secs(5))?;
        let s = listener
            .accept()
            .with_context(|| format!("accept the {what} connection"))?;
        Ok((c, s))
    };
    // An idle connection for the keep-alive probe and the lingering close.
    // Timed from before the connect: the kernel's idle clock starts when the
    // handshake's last ACK arrives, which a slow machine may see well before
    // accept() returns here, so this is a lower bound on the idle time.
    let idle_since = Instant::now();
    let (idle_client, idle_server) = accept("idle")?;
    let idle_port = idle_client.local_addr()?.port();
    let (client, server) = accept("busy")?;
    let port = client.local_addr()?.port();
    let listener_opts = opts_of(&listener)?;
    let accepted = opts_of(&server)?;
    let defaults = opts_of(&Sock::tcp(Family::V4)?)?;

    let mut seen = Inherited::default();
    // O_NONBLOCK: an idle recv waits for SO_RCVTIMEO only if the socket blocks.
    server.set_timeout(libc::SO_RCVTIMEO, Duration::from_millis(100))?;
    let t = Instant::now();
    let mut b = [0u8; 8];
    seen.idle_recv = result_name(&server.recv(&mut b, 0));
    seen.idle_recv_took = t.elapsed();

    // TCP_NODELAY: the client delays its ACKs, the accepted socket writes.
    client.set_int(libc::IPPROTO_TCP, libc::TCP_QUICKACK, 0)?;
    // Segments with new bytes: a slow machine may see a tail loss probe
    // repeat a byte while the client holds its ACK.
    let from_server = |frames: &[Frame]| -> Vec<u32> {
        let mut fresh = NewData::default();
        frames
            .iter()
            .filter_map(Frame::segment)
            .filter(|s| s.dport == port && fresh.is_new(s))
            .map(|s| s.payload)
            .collect()
    };
    for _ in 0..5 {
        server.send(b"x", 0).context("one-byte write")?;
        seen.small_writes_on_wire
            .push(from_server(cap.drain()?).len());
    }
    read_exact(&client, 5, "the small writes")?;
    seen.small_write_segments = from_server(&cap.frames()?);

    // TCP_MAXSEG: the accepted socket's segments.
    let bulk = 32 * 1024;
    std::thread::scope(|s| -> Result<()> {
        let reader = s.spawn(|| -> Result<()> {
            let mut buf = vec![0u8; 65536];
            let mut n = 0;
            while n < bulk {
                match client.recv(&mut buf, 0).context("client read bulk")? {
                    0 => bail!("EOF after {n} of {bulk} bytes"),
                    k => n += k,
                }
            }
            Ok(())
        });
        server.send_all(&vec![0x42; bulk]).context("bulk write")?;
        reader
            .join()
            .map_err(|_| anyhow::anyhow!("reader panicked"))?
    })?;
    let segs = cap.segments()?;
    seen.max_segment = segs
        .iter()
        .filter(|s| s.dport == port)
        .map(|s| s.payload)
        .max()
        .unwrap_or(0);
    seen.synack_mss = segs
        .iter()
        .find(|s| s.dport == port && s.flags.syn)
        .and_then(|s| s.mss);

    // SO_RCVBUF: the client writes until the accepted socket's window closes.
    fill_until_eagain(&client, 4096)?;
    phase("waiting for the accepted socket's zero window");
    cap.wait_segment(
        "a zero window from the accepted socket",
        Duration::from_secs(5),
        |s| s.dport == port && s.window == 0 && !s.flags.syn,
    )?;
    seen.queued_at_zero_window = server.queued(libc::FIONREAD)?;

    // SO_SNDBUF: the accepted socket writes until its send queue is full.
    fill_until_eagain(&server, 4096)?;
    seen.send_queue_at_eagain = server.queued(libc::TIOCOUTQ)?;

    // SO_KEEPALIVE + TCP_KEEPIDLE on the idle connection, then SO_LINGER {1,0}.
    let synack_seq = cap
        .segments()?
        .iter()
        .find(|s| s.dport == idle_port && s.flags.syn)
        .map(|s| s.seq);
    phase("waiting for the accepted socket's keep-alive probe");
    seen.keepalive_probe = cap
        .wait_segment(
            "a keep-alive probe from the idle accepted socket",
            Duration::from_secs(KEEPIDLE_S as u64 + 2),
            |s| s.dport == idle_port && Some(s.seq) == synack_seq && !s.flags.syn,
        )
        .is_ok();
    seen.keepalive_probe_after = idle_since.elapsed();
    let _ = idle_server.close();
    let end = cap.wait_segment(
        "RST (or FIN) from the lingering close",
        Duration::from_secs(2),
        |s| s.dport == idle_port && (s.flags.rst || s.flags.fin),
    );
    if let Ok(s) = end {
        seen.rst_on_close = s.flags.rst;
        seen.fin_on_close = s.flags.fin;
    }
    drop(idle_client);

    let opts_bytes = option_bytes()? as i32;
    judge_inheritance(
        listener_opts,
        accepted,
        defaults,
        seen,
        opts_bytes,
        cap.frames()?,
    )
}

fn judge_inheritance(
    listener: Opts,
    accepted: Opts,
    defaults: Opts,
    seen: Inherited,
    opts_bytes: i32,
    frames: Vec<Frame>,
) -> Result<Evidence> {
    let mut ev = Evidence::new();
    ev.observe("listener", &listener)
        .observe("accepted", &accepted)
        .observe("fresh_socket_defaults", &defaults)
        .observe("accepted_socket_effects", &seen);
    ev.expect_eq(
        "getsockopt on the accepted socket: buffers, keep-alive, idle time, linger, nodelay",
        (
            listener.rcvbuf,
            listener.sndbuf,
            1,
            KEEPIDLE_S,
            (true, 0),
            1,
        ),
        (
            accepted.rcvbuf,
            accepted.sndbuf,
            accepted.keepalive,
            accepted.keepidle,
            accepted.linger,
            accepted.nodelay,
        ),
    );
    ev.expect_eq(
        "listener non-blocking, accepted socket blocking",
        (true, false),
        (listener.nonblocking, accepted.nonblocking),
    );
    ev.expect(
        "O_NONBLOCK not inherited: an idle recv waits for SO_RCVTIMEO",
        seen.idle_recv == "EAGAIN" && seen.idle_recv_took >= Duration::from_millis(90),
        "EAGAIN after >= 90 ms",
        format!("{} after {:.1} ms", seen.idle_recv, ms(seen.idle_recv_took)),
    );
    ev.expect_eq(
        "TCP_NODELAY inherited: each one-byte write on the wire as it returns",
        vec![1, 2, 3, 4, 5],
        seen.small_writes_on_wire.clone(),
    );
    let mss = (L_MSS - opts_bytes) as u32;
    ev.expect_eq(
        "TCP_MAXSEG inherited: SYN-ACK MSS, largest segment, getsockopt",
        (Some(L_MSS as u16), mss, mss as i32),
        (seen.synack_mss, seen.max_segment, accepted.maxseg),
    );
    ev.expect(
        "SO_RCVBUF inherited: data held at zero window within the accepted socket's buffer",
        seen.queued_at_zero_window > 0 && seen.queued_at_zero_window <= listener.rcvbuf,
        format!("1..={} bytes", listener.rcvbuf),
        format!("{} bytes", seen.queued_at_zero_window),
    );
    ev.expect(
        "SO_SNDBUF inherited: send queue at EAGAIN within the accepted socket's buffer",
        seen.send_queue_at_eagain > 0 && seen.send_queue_at_eagain <= listener.sndbuf,
        format!("1..={} bytes", listener.sndbuf),
        format!("{} bytes", seen.send_queue_at_eagain),
    );
    let ka_lo = Duration::from_secs(KEEPIDLE_S as u64) - Duration::from_millis(50);
    ev.expect(
        "SO_KEEPALIVE and TCP_KEEPIDLE inherited: a probe after the idle time",
        seen.keepalive_probe && seen.keepalive_probe_after >= ka_lo,
        format!("probe after >= {:.0} ms", ms(ka_lo)),
        format!(
            "probe {} after {:.0} ms",
            seen.keepalive_probe,
            ms(seen.keepalive_probe_after)
        ),
    );
    ev.expect_eq(
        "SO_LINGER {1,0} inherited: close sends RST, no FIN",
        (true, false),
        (seen.rst_on_close, seen.fin_on_close),
    );

    let effects_inherited = seen.small_writes_on_wire == [1, 2, 3, 4, 5]
        && seen.max_segment == mss
        && seen.keepalive_probe
        && seen.rst_on_close;
    let verdict = match (effects_inherited, accepted.nonblocking) {
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::Differs,
        (false, _) => Verdict::Refuted,
    };
    ev.verdict(
        verdict,
        format!(
            "accepted socket: SO_RCVBUF {} / SO_SNDBUF {} (listener {} / {}, fresh socket {} / {}); \
             {} bytes held at zero window, {} queued at EAGAIN; five 1-byte writes -> {:?} on the wire; \
             segments <= {} B (SYN-ACK MSS {}); keep-alive probe after {:.0} ms; close -> {}; O_NONBLOCK \
             {} (idle recv {} after {:.0} ms)",
            accepted.rcvbuf,
            accepted.sndbuf,
            listener.rcvbuf,
            listener.sndbuf,
            defaults.rcvbuf,
            defaults.sndbuf,
            seen.queued_at_zero_window,
            seen.send_queue_at_eagain,
            seen.small_write_segments,
            seen.max_segment,
            seen.synack_mss.map_or_else(|| "none".into(), |m| m.to_string()),
            ms(seen.keepalive_probe_after),
            if seen.rst_on_close { "RST" } else { "FIN" },
            if accepted.nonblocking {
                "inherited"
            } else {
                "not inherited"
            },
            seen.idle_recv,
            ms(seen.idle_recv_took)
        ),
    );
    ev.key(format!(
        "6 options inherited (seen on the wire); O_NONBLOCK {}",
        if accepted.nonblocking {
            "inherited"
        } else {
            "not inherited"
        }
    ));
    ev.frames(frames);
    Ok(ev)
}

// ---------------------------------------------------------------------------
// so_debug.privilege

/// setsockopt(SO_DEBUG) results in a forked child that first enters a new
/// user namespace: (unshare, set 1, set 0) as errno names or "ok".
fn debug_in_new_userns(s: &Sock) -> Result<(String, String, String)> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error()).context("pipe2");
    }
    let fd = s.as_raw_fd();
    // SAFETY: the child only makes raw syscalls (unshare, setsockopt, write,
    // _exit): nothing that needs locks another thread might hold.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error()).context("fork");
    }
    if pid == 0 {
        // SAFETY: async-signal-safe calls only, then _exit.
        unsafe {
            let errno = || *libc::__errno_location();
            let mut out = [0i32; 3];
            out[0] = if libc::unshare(libc::CLONE_NEWUSER) == 0 {
                0
            } else {
                errno()
            };
            for (i, v) in [(1usize, 1i32), (2, 0)] {
                let rc = libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_DEBUG,
                    (&v as *const i32).cast(),
                    4,
                );
                out[i] = if rc == 0 { 0 } else { errno() };
            }
            libc::write(fds[1], out.as_ptr().cast(), std::mem::size_of_val(&out));
            libc::_exit(0);
        }
    }
    // SAFETY: closing our copy of the write end; reading into a local array.
    unsafe { libc::close(fds[1]) };
    let mut out = [0i32; 3];
    let n = unsafe { libc::read(fds[0], out.as_mut_ptr().cast(), std::mem::size_of_val(&out)) };
    unsafe { libc::close(fds[0]) };
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if n != std::mem::size_of_val(&out) as isize {
        bail!("the forked child reported nothing (read {n} bytes)");
    }
    let name = |e: i32| {
        if e == 0 {
            "ok".to_string()
        } else {
            errno_name(&std::io::Error::from_raw_os_error(e))
        }
    };
    Ok((name(out[0]), name(out[1]), name(out[2])))
}

/// A short exchange on lo (handshake, 5 bytes each way, close) as a list of
/// its SYN, FIN and data segments (direction, flags, payload, options):
/// everything but numbers that change from one connection to the next.
fn exchange_shape(debug: bool) -> Result<Vec<String>> {
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::connect_with(
        SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0),
        |l| {
            if debug {
                l.set_int(libc::SOL_SOCKET, libc::SO_DEBUG, 1)?;
            }
            Ok(())
        },
        |c| {
            if debug {
                c.set_int(libc::SOL_SOCKET, libc::SO_DEBUG, 1)?;
            }
            Ok(())
        },
    )?;
    let port = pair.client.local_addr()?.port();
    pair.client.send_all(b"hello")?;
    read_exact(&pair.server, 5, "hello")?;
    pair.server.send_all(b"world")?;
    read_exact(&pair.client, 5, "world")?;
    let TcpPair {
        client,
        server,
        listener: _l,
    } = pair;
    let _ = client.close();
    let _ = server.read_to_end();
    let _ = server.close();
    cap.wait_segment("the last ACK of the close", Duration::from_secs(2), |s| {
        s.dport == port && s.flags.fin
    })?;
    cap.wait_segment(
        "the client's ACK of the server's FIN",
        Duration::from_secs(2),
        |s| s.sport == port && !s.flags.fin && s.ack > 0 && s.payload == 0,
    )?;
    Ok(cap
        .segments()?
        .iter()
        .filter(|s| s.sport == port || s.dport == port)
        // Pure ACKs come and go with the delayed-ACK timer and the scheduler;
        // SYN, FIN, RST and data segments are what a debug mode could change.
        .filter(|s| s.flags.syn || s.flags.fin || s.flags.rst || s.payload > 0)
        .map(|s| {
            format!(
                "{} {} len={} mss={:?} ws={:?}",
                if s.sport == port { "c>s" } else { "s>c" },
                s.flags,
                s.payload,
                s.mss,
                s.wscale
            )
        })
        .collect())
}

/// Whether this process holds CAP_NET_ADMIN in the initial user namespace,
/// which SO_DEBUG=1 requires: root (a plain network namespace), the
/// capability effective, and the identity uid map of the initial namespace
/// (a container's root has a partial map). Also returns what it read.
fn net_admin_in_init_userns(privilege: Privilege) -> Result<(bool, String)> {
    const CAP_NET_ADMIN: u32 = 12;
    let status = std::fs::read_to_string("/proc/self/status").context("read /proc/self/status")?;
    let cap_eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let uid_map =
        std::fs::read_to_string("/proc/self/uid_map").context("read /proc/self/uid_map")?;
    let uid_map = uid_map.split_whitespace().collect::<Vec<_>>().join(" ");
    let yes = privilege == Privilege::Root
        && cap_eff & (1 << CAP_NET_ADMIN) != 0
        && uid_map == "0 0 4294967295";
    Ok((
        yes,
        format!("privilege {privilege:?}, CapEff {cap_eff:#x}, uid_map \"{uid_map}\""),
    ))
}

fn debug_privilege(lab: &mut Lab) -> Result<Evidence> {
    let (may, creds) = net_admin_in_init_userns(lab.privilege)?;
    let s = Sock::tcp(Family::V4)?;
    let set_on = s.set_int(libc::SOL_SOCKET, libc::SO_DEBUG, 1);
    let read_after_on = s.get_int(libc::SOL_SOCKET, libc::SO_DEBUG)?;
    let set_off = s.set_int(libc::SOL_SOCKET, libc::SO_DEBUG, 0);
    let child = debug_in_new_userns(&s)?;
    let plain = exchange_shape(false)?;
    let debug = if set_on.is_ok() {
        Some(exchange_shape(true)?)
    } else {
        None
    };

    let mut ev = Evidence::new();
    ev.observe("privilege", lab.privilege)
        .observe("credentials", &creds)
        .observe("cap_net_admin_in_init_user_namespace", may)
        .observe("set_1", result_name(&set_on))
        .observe("getsockopt_after_1", read_after_on)
        .observe("set_0", result_name(&set_off))
        .observe("child_in_new_user_namespace", &child)
        .observe("wire_without", &plain)
        .observe("wire_with", &debug);
    ev.expect_eq(
        &format!(
            "setsockopt(SO_DEBUG, 1) {} CAP_NET_ADMIN in the initial user namespace",
            if may { "with" } else { "without" }
        ),
        if may { "ok" } else { "EACCES" }.to_string(),
        result_name(&set_on),
    );
    ev.expect_eq(
        "setsockopt(SO_DEBUG, 0)",
        "ok".to_string(),
        result_name(&set_off),
    );
    ev.expect_eq(
        "forked child in a new user namespace: unshare, set 1, set 0",
        ("ok".to_string(), "EACCES".to_string(), "ok".to_string()),
        child.clone(),
    );
    if let Some(d) = &debug {
        ev.expect_eq("wire with SO_DEBUG = wire without", &plain, d);
    }
    let wire_differs = debug.as_ref().is_some_and(|d| d != &plain);
    ev.verdict(
        if wire_differs {
            Verdict::Holds
        } else {
            Verdict::Differs
        },
        format!(
            "as {:?}: SO_DEBUG=1 {} (0 {}); in a new user namespace: SO_DEBUG=1 {}, 0 {}; {}",
            lab.privilege,
            result_name(&set_on),
            result_name(&set_off),
            child.1,
            child.2,
            match &debug {
                Some(d) if d == &plain => format!(
                    "with it set, the {} segments of an exchange are the same as without",
                    d.len()
                ),
                Some(_) => "with it set the wire differs".into(),
                None => "could not set it here, so no wire comparison".into(),
            }
        ),
    );
    ev.key(format!(
        "{:?}: set 1 {}, userns child {}",
        lab.privilege,
        result_name(&set_on),
        child.1
    ));
    Ok(ev)
}

// ---------------------------------------------------------------------------
// broadcast.requires_option

/// One UDP send attempt to a broadcast address.
#[derive(Clone, Debug, Serialize)]
struct BcastTry {
    to: IpAddr,
    bound: bool,
    so_broadcast: bool,
    result: String,
    dst_mac: Option<String>,
    delivered: bool,
}

fn broadcast_requires_option(lab: &mut Lab) -> Result<Evidence> {
    let link = Link::pair_v4(lab)?;
    let rx = udp_bound(&link.b, SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0))?;
    let port = rx.local_addr()?.port();
    let mut cap = Capture::start("veth-a")?;
    let subnet: IpAddr = Ipv4Addr::new(198, 51, 100, 255).into();
    let limited: IpAddr = Ipv4Addr::BROADCAST.into();
    let mut tries = Vec::new();
    for (to, bound) in [(subnet, false), (limited, false), (limited, true)] {
        for opt in [false, true] {
            let tx = Sock::udp(Family::V4)?;
            if bound {
                tx.bind(SocketAddr::new(link.a_end.addr, 0))
                    .context("bind sender to 198.51.100.1")?;
            }
            tx.set_int(libc::SOL_SOCKET, libc::SO_BROADCAST, opt as i32)
                .context("SO_BROADCAST")?;
            // A payload length of its own tells each attempt's frame apart.
            let len = tries.len() + 1;
            let r = tx.send_to(&vec![b'b'; len], 0, SocketAddr::new(to, port));
            let frame = if r.is_ok() {
                cap.wait_for("the broadcast datagram", Duration::from_secs(2), |f| {
                    matches!(f.decode(), Packet::Udp(d) if d.dport == port && d.payload as usize == len)
                })
                .ok()
            } else {
                None
            };
            let dst_mac = frame.and_then(|f| match f.decode() {
                Packet::Udp(d) => Some(mac_text(&d.dst_mac)),
                _ => None,
            });
            let got = r.is_ok() && delivered(&rx, len, Duration::from_secs(2))?;
            tries.push(BcastTry {
                to,
                bound,
                so_broadcast: opt,
                result: result_name(&r),
                dst_mac,
                delivered: got,
            });
        }
    }
    // Whatever the failed attempts did, nothing of theirs may be on the wire.
    let failed_lens: Vec<usize> = tries
        .iter()
        .enumerate()
        .filter(|(_, t)| t.result != "ok")
        .map(|(i, _)| i + 1)
        .collect();
    let leaked = cap
        .frames()?
        .iter()
        .filter(|f| matches!(f.decode(), Packet::Udp(d) if d.dport == port && failed_lens.contains(&(d.payload as usize))))
        .count();

    // TCP: the option is accepted, a broadcast destination is not.
    let mut tcp = Vec::new();
    for (to, opt) in [(subnet, false), (subnet, true), (limited, true)] {
        let s = Sock::tcp(Family::V4)?;
        let set = s.set_int(libc::SOL_SOCKET, libc::SO_BROADCAST, opt as i32);
        let conn = connect_bounded(&s, SocketAddr::new(to, port));
        tcp.push((to, opt, result_name(&set), conn));
    }
    let syns = cap.segments()?.iter().filter(|s| s.flags.syn).count();

    let mut ev = Evidence::new();
    ev.observe("udp", &tries)
        .observe("failed_attempts_on_wire", leaked)
        .observe("tcp_to_opt_setsockopt_connect", &tcp)
        .observe("tcp_syns_on_wire", syns);
    let row = |t: &BcastTry| (t.result.clone(), t.dst_mac.clone(), t.delivered);
    let sent = |d: bool| ("ok".to_string(), Some("ff:ff:ff:ff:ff:ff".to_string()), d);
    let refused = |e: &str| (e.to_string(), None, false);
    let expected = [
        refused("EACCES"),
        sent(true),
        refused("ENETUNREACH"),
        refused("ENETUNREACH"),
        refused("EACCES"),
        sent(true),
    ];
    for (t, e) in tries.iter().zip(expected) {
        ev.expect_eq(
            &format!(
                "UDP to {}{} {} SO_BROADCAST: result, dst MAC, delivered",
                t.to,
                if t.bound { " (bound)" } else { "" },
                if t.so_broadcast { "with" } else { "without" }
            ),
            e,
            row(t),
        );
    }
    ev.expect_eq("nothing on the wire from refused sends", 0, leaked);
    for (to, opt, set, conn) in &tcp {
        ev.expect_eq(
            &format!("TCP SO_BROADCAST={} then connect({to})", *opt as i32),
            ("ok".to_string(), "ENETUNREACH".to_string()),
            (set.clone(), conn.clone()),
        );
    }
    ev.expect_eq("no SYN on the wire", 0, syns);

    let needs = tries
        .iter()
        .any(|t| !t.so_broadcast && t.result == "EACCES");
    let works = tries.iter().any(|t| t.so_broadcast && t.delivered);
    let tcp_refused = tcp.iter().all(|t| t.3 != "ok");
    let verdict = match (needs && works, tcp_refused) {
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::Differs,
        (false, _) => Verdict::Refuted,
    };
    let summary: Vec<String> = tries
        .iter()
        .map(|t| {
            format!(
                "{}{} {}: {}{}",
                t.to,
                if t.bound { "(bound)" } else { "" },
                if t.so_broadcast { "on" } else { "off" },
                t.result,
                if t.delivered { " delivered" } else { "" }
            )
        })
        .collect();
    ev.verdict(
        verdict,
        format!(
            "UDP: {}; TCP: SO_BROADCAST accepted, connect -> {:?}",
            summary.join(", "),
            tcp.iter().map(|t| t.3.as_str()).collect::<Vec<_>>()
        ),
    );
    ev.key(format!(
        "UDP off {} / on {}; TCP connect {}",
        tries[0].result,
        if tries[1].delivered {
            "delivered"
        } else {
            "not delivered"
        },
        tcp.first().map(|t| t.3.as_str()).unwrap_or("?")
    ));
    ev.frames(cap.frames()?);
    Ok(ev)
}

// ---------------------------------------------------------------------------
// dontroute.bypasses_routing

/// An address reachable only through the gateway (host b).
const FAR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 7);

#[derive(Clone, Debug, Serialize)]
struct RouteTry {
    how: String,
    to: Ipv4Addr,
    result: String,
    dst_mac: Option<String>,
}

fn dontroute_bypasses_routing(lab: &mut Lab) -> Result<Evidence> {
    let link = Link::pair_v4(lab)?;
    let gw = Ipv4Addr::new(198, 51, 100, 2);
    Netlink::open()?.add_route(
        IpAddr::from([203, 0, 113, 0]),
        24,
        Some(gw.into()),
        ifindex("veth-a")?,
    )?;
    let gw_mac = link.b.run(|| hwaddr("veth-b"))??;
    let rx = udp_bound(&link.b, SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0))?;
    let port = rx.local_addr()?.port();
    let mut cap = Capture::start("veth-a")?;

    let mut tries = Vec::new();
    let cases: [(&str, Ipv4Addr, bool, i32); 4] = [
        ("plain", FAR, false, 0),
        ("SO_DONTROUTE", FAR, true, 0),
        ("MSG_DONTROUTE", FAR, false, libc::MSG_DONTROUTE),
        ("SO_DONTROUTE, on-link", gw, true, 0),
    ];
    for (how, to, opt, flags) in cases {
        let tx = Sock::udp(Family::V4)?;
        tx.set_int(libc::SOL_SOCKET, libc::SO_DONTROUTE, opt as i32)
            .context("SO_DONTROUTE")?;
        let len = tries.len() + 1;
        let r = tx.send_to(&vec![b'd'; len], flags, SocketAddr::new(to.into(), port));
        let dst_mac = if r.is_ok() {
            cap.wait_for(&format!("the datagram to {to}"), Duration::from_secs(2), |f| {
                matches!(f.decode(), Packet::Udp(d) if d.dport == port && d.payload as usize == len)
            })
            .ok()
            .and_then(|f| match f.decode() {
                Packet::Udp(d) => Some(mac_text(&d.dst_mac)),
                _ => None,
            })
        } else {
            None
        };
        tries.push(RouteTry {
            how: how.to_string(),
            to,
            result: result_name(&r),
            dst_mac,
        });
    }
    let on_link_delivered = delivered(&rx, tries.len(), Duration::from_secs(2))?;
    let tcp = Sock::tcp(Family::V4)?;
    tcp.set_int(libc::SOL_SOCKET, libc::SO_DONTROUTE, 1)?;
    let tcp_connect = connect_bounded(&tcp, SocketAddr::new(FAR.into(), port));
    let frames = cap.frames()?;
    let arp_for_far = frames.iter().filter(|f| arp_target(f) == Some(FAR)).count();
    let to_far: Vec<usize> = frames
        .iter()
        .filter_map(|f| match f.decode() {
            Packet::Udp(d) if d.dst == IpAddr::from(FAR) => Some(d.payload as usize),
            Packet::Tcp(s) if s.dst == IpAddr::from(FAR) => Some(0),
            _ => None,
        })
        .collect();

    let gw_text = mac_text(&gw_mac);
    let mut ev = Evidence::new();
    ev.observe("gateway_mac", &gw_text)
        .observe("udp", &tries)
        .observe("on_link_delivered", on_link_delivered)
        .observe("tcp_so_dontroute_connect", &tcp_connect)
        .observe("arp_requests_for_far_address", arp_for_far)
        .observe("frames_to_far_address_by_len", &to_far);
    ev.expect_eq(
        "without the option: sent to the gateway's MAC",
        ("ok".to_string(), Some(gw_text.clone())),
        (tries[0].result.clone(), tries[0].dst_mac.clone()),
    );
    ev.expect_eq(
        "SO_DONTROUTE / MSG_DONTROUTE to the far address",
        ("ENETUNREACH".to_string(), "ENETUNREACH".to_string()),
        (tries[1].result.clone(), tries[2].result.clone()),
    );
    ev.expect_eq(
        "on the wire towards the far address: only the plain send",
        vec![1usize],
        to_far.clone(),
    );
    ev.expect_eq("no ARP request for the far address", 0, arp_for_far);
    ev.expect_eq(
        "SO_DONTROUTE to the on-link gateway: sent and delivered",
        ("ok".to_string(), Some(gw_text.clone()), true),
        (
            tries[3].result.clone(),
            tries[3].dst_mac.clone(),
            on_link_delivered,
        ),
    );
    ev.expect_eq(
        "TCP with SO_DONTROUTE: connect to the far address",
        "ENETUNREACH".to_string(),
        tcp_connect.clone(),
    );

    let via_gw = tries[0].dst_mac.as_deref() == Some(gw_text.as_str());
    let dontroute_direct = arp_for_far > 0;
    let dontroute_gw = tries[1].dst_mac.as_deref() == Some(gw_text.as_str());
    let verdict = if dontroute_gw || !via_gw {
        Verdict::Refuted
    } else if dontroute_direct {
        Verdict::Holds
    } else {
        Verdict::Differs
    };
    ev.verdict(
        verdict,
        format!(
            "to {FAR} (route via {gw}): plain -> {} to {}; SO_DONTROUTE -> {}, MSG_DONTROUTE -> {}, TCP connect -> \
             {tcp_connect}; {arp_for_far} ARP requests for {FAR}; on-link {gw} with SO_DONTROUTE -> {}{}",
            tries[0].result,
            tries[0].dst_mac.as_deref().unwrap_or("-"),
            tries[1].result,
            tries[2].result,
            tries[3].result,
            if on_link_delivered { ", delivered" } else { "" }
        ),
    );
    ev.key(format!(
        "plain -> gateway MAC; DONTROUTE -> {}",
        tries[1].result
    ));
    ev.frames(frames);
    Ok(ev)
}
