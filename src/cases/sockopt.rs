//! SOL_SOCKET options in general (004 §5.1) and SO_BROADCAST, SO_DONTROUTE,
//! SO_DEBUG (004 §5.1, §5.2).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::cases::nagle::{set_autocorking, small_writes, small_writes_before_ack};
use crate::lab::netlink::{ifindex, Netlink};
use crate::lab::opt;
use crate::lab::packet::{mac_text, Frame, NewData, Packet};
use crate::lab::sock::{errno_name, fill_until_eagain, result_name};
use crate::lab::topo::Link;
use crate::lab::wire::{hwaddr, option_bytes, wire_like};
use crate::lab::{
    diag, phase, procnet, wait, Capture, Family, Host, Lab, Privilege, Sock, TcpPair,
};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

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
    run: &Measure(bool_on_off),
    deadline: DEFAULT_DEADLINE,
    // Each is set to 2, -1 and 0x100 and read back: an ignored option echoes
    // the value given instead of 1.
    relies_on: &[
        opt::SO_KEEPALIVE,
        opt::SO_REUSEADDR,
        opt::SO_REUSEPORT,
        opt::SO_BROADCAST,
        opt::SO_OOBINLINE,
        opt::SO_DONTROUTE,
        opt::TCP_NODELAY,
    ],
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
    run: &Measure(accept_inherits),
    deadline: DEFAULT_DEADLINE,
    // Set on the listener only: an ignored one leaves the accepted socket
    // with a fresh socket's value.
    relies_on: &[
        opt::SO_RCVBUF,
        opt::SO_SNDBUF,
        opt::SO_KEEPALIVE,
        opt::TCP_KEEPIDLE,
        opt::SO_LINGER,
        opt::TCP_NODELAY,
        opt::TCP_MAXSEG,
    ],
};

pub static DEBUG_PRIVILEGE: Case = Case {
    id: "so_debug.privilege",
    source: Source::LectureNotes("5.1 SOL_SOCKET options"),
    claim: "SO_DEBUG selects debug mode",
    expectation: "setting SO_DEBUG to 1 needs CAP_NET_ADMIN in the initial user namespace: root may, a process in \
                  a user namespace gets EACCES (setting 0 is always allowed); once set, TCP does nothing \
                  different: the packets on the wire are the same as without it",
    run: &Measure(debug_privilege),
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
    run: &Measure(broadcast_requires_option),
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
    run: &Measure(dontroute_bypasses_routing),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_DONTROUTE],
};

// ---------------------------------------------------------------------------
// Shared small helpers

/// Waits up to `timeout` for `rx` to have a datagram, then drains it: the
/// lengths of the datagrams read.
fn received(rx: &Sock, timeout: Duration) -> Result<Vec<usize>> {
    wait::readable(rx.as_raw_fd(), timeout)?;
    let mut buf = [0u8; 2048];
    let mut lens = Vec::new();
    while let Ok(n) = rx.recv(&mut buf, libc::MSG_DONTWAIT) {
        lens.push(n);
    }
    Ok(lens)
}

/// How long a receiver waits for a datagram that was sent (`sent`), and for
/// one that was refused: not at all, it only looks.
fn delivery_wait(sent: bool) -> Duration {
    if sent {
        Duration::from_secs(2)
    } else {
        Duration::ZERO
    }
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

/// The destination MAC of the UDP datagram in `f`.
fn udp_dst_mac(f: &Frame) -> Option<String> {
    match f.decode() {
        Packet::Udp(d) => Some(mac_text(&d.dst_mac)),
        _ => None,
    }
}

/// connect() with a bound on how long it may block (SO_SNDTIMEO), so a SYN
/// nobody answers cannot hang the case.
fn connect_bounded(s: &Sock, to: SocketAddr) -> String {
    let _ = s.set_timeout(libc::SO_SNDTIMEO, Duration::from_millis(500));
    result_name(&s.connect(to))
}

/// "delivered" or "not delivered".
fn delivery(delivered: bool) -> &'static str {
    if delivered {
        "delivered"
    } else {
        "not delivered"
    }
}

/// A keep-alive timer fires on a jiffy: allow 50 ms early (HZ=100 rounding).
fn keepalive_lower_bound(keepidle_s: i32) -> Duration {
    Duration::from_secs(keepidle_s.max(0) as u64).saturating_sub(Duration::from_millis(50))
}

/// How a keep-alive probe wait ended: "a probe after 1016 ms" or "no probe
/// within 3016 ms".
fn probe_text(probe: bool, after: Duration) -> String {
    if probe {
        format!("a probe after {}", after.show())
    } else {
        format!("no probe within {}", after.show())
    }
}

/// TCP keep-alive idle time for the probes that show keep-alive on.
const KEEPIDLE_S: i32 = 1;
/// How long past the idle time a case waits for the probe.
const PROBE_SLACK: Duration = Duration::from_secs(2);

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

/// One-byte writes per TCP_NODELAY burst.
const WRITES: usize = 5;

/// An optval as the claim writes it: 0x100 in hex, small ones in decimal.
fn optval(v: i32) -> String {
    if v >= 0x100 {
        format!("{v:#x}")
    } else {
        v.to_string()
    }
}

/// One boolean option set to one value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadBack {
    pub option: String,
    pub value: i32,
    /// setsockopt's result: ok or an errno name.
    pub setsockopt: String,
    /// What getsockopt reported right after.
    pub getsockopt: i32,
}

impl ReadBack {
    /// Accepted, and read back as a truth value: 1 after non-zero, 0 after 0.
    fn as_expected(&self) -> bool {
        self.setsockopt == "ok" && self.getsockopt == i32::from(self.value != 0)
    }
}

impl Show for ReadBack {
    fn show(&self) -> String {
        format!(
            "{}={}: {}, reads {}",
            self.option,
            optval(self.value),
            self.setsockopt,
            self.getsockopt
        )
    }
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
                option: option.to_string(),
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

/// A broadcast datagram sent on lo with SO_BROADCAST set to some value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Broadcast {
    /// The value given to setsockopt(SO_BROADCAST).
    pub so_broadcast: i32,
    /// sendto's result: ok or an errno name.
    pub sendto: String,
    pub delivered: bool,
}

impl Show for Broadcast {
    fn show(&self) -> String {
        format!(
            "{}: {}, {}",
            optval(self.so_broadcast),
            self.sendto,
            delivery(self.delivered)
        )
    }
}

/// SO_BROADCAST set to `v`, then a datagram to lo's broadcast address.
fn broadcast_on_lo(v: i32) -> Result<Broadcast> {
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
    let lens = received(&rx, delivery_wait(r.is_ok()))?;
    Ok(Broadcast {
        so_broadcast: v,
        sendto: result_name(&r),
        delivered: lens.contains(&5),
    })
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

/// Where the urgent byte of "abc" (sent with MSG_OOB) ended up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Urgent {
    /// The bytes a normal read returned.
    pub stream: String,
    /// What recv(MSG_OOB) returned: the urgent byte, or an errno name.
    pub msg_oob: String,
}

impl Show for Urgent {
    fn show(&self) -> String {
        format!("stream {}, MSG_OOB {}", self.stream, self.msg_oob)
    }
}

/// Where the urgent byte of "abc" (MSG_OOB) ends up with SO_OOBINLINE = v.
fn urgent_byte(v: i32) -> Result<Urgent> {
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
    let msg_oob = match pair
        .server
        .recv(&mut buf, libc::MSG_OOB | libc::MSG_DONTWAIT)
    {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Err(e) => errno_name(&e),
    };
    let mut stream = Vec::new();
    // Until EAGAIN; 0 (EOF) cannot come while the client is open, but would
    // end the loop too.
    while let Ok(n @ 1..) = pair.server.recv(&mut buf, libc::MSG_DONTWAIT) {
        stream.extend_from_slice(&buf[..n]);
    }
    Ok(Urgent {
        stream: String::from_utf8_lossy(&stream).into_owned(),
        msg_oob,
    })
}

/// Boolean options set to values other than 0 and 1: what getsockopt
/// reports, and whether the option then acts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoolOnOff {
    /// Each option of BOOLEANS set to each of 1, 2, -1, 0x100, 0 in turn on
    /// one TCP socket.
    pub read_back: Vec<ReadBack>,
    /// Payload sizes of the new-data segments of five one-byte writes with
    /// TCP_NODELAY=2 (receiver delaying its ACKs, tcp_autocorking=0).
    pub nodelay_2_segments: Vec<u32>,
    /// The same with TCP_NODELAY=0.
    pub nodelay_0_segments: Vec<u32>,
    /// A datagram to 127.255.255.255 with SO_BROADCAST=-1, and with 0.
    pub broadcast_minus1: Broadcast,
    pub broadcast_0: Broadcast,
    /// A second UDP bind to the same address and port, both sockets with
    /// SO_REUSEADDR=0x100, and with 0: ok or an errno name.
    pub reuseaddr_0x100_second_bind: String,
    pub reuseaddr_0_second_bind: String,
    /// "abc" sent with MSG_OOB to a socket with SO_OOBINLINE=0x100, and 0.
    pub oobinline_0x100: Urgent,
    pub oobinline_0: Urgent,
    /// TCP_KEEPIDLE of the SO_KEEPALIVE=2 connection, seconds.
    pub keepidle_s: i32,
    /// A keep-alive probe came from the SO_KEEPALIVE=2 socket.
    pub keepalive_2_probe: bool,
    /// From before the setsockopt that armed the timer until the probe (or
    /// the end of the wait): a lower bound on the kernel's idle time.
    #[serde(with = "crate::model::millis")]
    pub keepalive_2_probe_after: Duration,
}

fn bool_on_off(_lab: &mut Lab) -> Result<BoolOnOff> {
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

    let read_back = read_back_matrix()?;
    // Only TCP_NODELAY decides how the small writes leave: autocorking off.
    set_autocorking(false)?;
    let nodelay_0_segments = small_writes_before_ack(Family::V4, 0, WRITES)?.segments;
    let nodelay_2_segments = small_writes(Family::V4, 2, WRITES)?.segments;
    let broadcast_minus1 = broadcast_on_lo(-1)?;
    let broadcast_0 = broadcast_on_lo(0)?;
    let reuseaddr_0x100_second_bind = second_udp_bind(0x100)?;
    let reuseaddr_0_second_bind = second_udp_bind(0)?;
    let oobinline_0x100 = urgent_byte(0x100)?;
    let oobinline_0 = urgent_byte(0)?;

    // A probe repeats the last acknowledged sequence number (snd_una - 1):
    // with no data sent, the SYN's own sequence number.
    let syn_seq = cap
        .segments()?
        .iter()
        .filter(|s| s.sport == ka_port)
        .find(|s| s.flags.syn)
        .map(|s| s.seq);
    phase("waiting for the keep-alive probe of SO_KEEPALIVE=2");
    let keepalive_2_probe = cap
        .wait_segment(
            "a keep-alive probe from the SO_KEEPALIVE=2 socket",
            Duration::from_secs(KEEPIDLE_S as u64) + PROBE_SLACK,
            |s| s.sport == ka_port && Some(s.seq) == syn_seq && !s.flags.syn,
        )
        .is_ok();
    let keepalive_2_probe_after = ka_armed.elapsed();
    drop(ka);
    Ok(BoolOnOff {
        read_back,
        nodelay_2_segments,
        nodelay_0_segments,
        broadcast_minus1,
        broadcast_0,
        reuseaddr_0x100_second_bind,
        reuseaddr_0_second_bind,
        oobinline_0x100,
        oobinline_0,
        keepidle_s: KEEPIDLE_S,
        keepalive_2_probe,
        keepalive_2_probe_after,
    })
}

impl BoolOnOff {
    /// The settings of BOOLEANS x BOOL_VALUES that the read-back lacks.
    fn missing_settings(&self) -> Vec<String> {
        BOOLEANS
            .iter()
            .flat_map(|(name, _, _)| BOOL_VALUES.iter().map(move |v| (*name, *v)))
            .filter(|(name, v)| {
                !self
                    .read_back
                    .iter()
                    .any(|r| r.option == *name && r.value == *v)
            })
            .map(|(name, v)| format!("{name}={}", optval(v)))
            .collect()
    }

    /// Whether every setting of a value that `pick` selects reads back `want`.
    fn all_read(&self, pick: impl Fn(i32) -> bool, want: i32) -> bool {
        self.read_back
            .iter()
            .filter(|r| pick(r.value))
            .all(|r| r.getsockopt == want)
    }
}

impl Observation for BoolOnOff {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let settings = BOOLEANS.len() * BOOL_VALUES.len();
        let values = BOOL_VALUES.map(optval).join(", ");
        let missing = self.missing_settings();
        j.expect(
            "each boolean option set to each value",
            missing.is_empty() && self.read_back.len() == settings,
            format!(
                "{settings} settings ({} options x {values})",
                BOOLEANS.len()
            ),
            if missing.is_empty() {
                format!("{} settings", self.read_back.len())
            } else {
                format!(
                    "{} settings, without {}",
                    self.read_back.len(),
                    missing.join(", ")
                )
            },
        );
        let wrong: Vec<String> = self
            .read_back
            .iter()
            .filter(|r| !r.as_expected())
            .map(Show::show)
            .collect();
        j.expect(
            "every value accepted; getsockopt reads 1 after any non-zero value, 0 after 0",
            wrong.is_empty(),
            "every setting ok, reading 1 after non-zero and 0 after 0",
            if wrong.is_empty() {
                format!(
                    "all {} settings ok, reading 1 after non-zero and 0 after 0",
                    self.read_back.len()
                )
            } else {
                format!(
                    "{} of {} otherwise: {}",
                    wrong.len(),
                    self.read_back.len(),
                    wrong.join("; ")
                )
            },
        );
        let nodelay_2 = j.expect_eq(
            "TCP_NODELAY=2: one segment per write",
            &vec![1u32; WRITES],
            &self.nodelay_2_segments,
        );
        let nagle_bytes: u32 = self.nodelay_0_segments.iter().sum();
        let nagle = j.expect(
            "TCP_NODELAY=0: Nagle coalesces again",
            nagle_bytes == WRITES as u32 && self.nodelay_0_segments.len() < WRITES,
            format!("{WRITES} B in fewer than {WRITES} segments"),
            format!(
                "{nagle_bytes} B in segments {}",
                self.nodelay_0_segments.show()
            ),
        );
        let sent = Broadcast {
            so_broadcast: -1,
            sendto: "ok".into(),
            delivered: true,
        };
        let refused = Broadcast {
            so_broadcast: 0,
            sendto: "EACCES".into(),
            delivered: false,
        };
        let broadcast = j.expect(
            "SO_BROADCAST=-1: broadcast sent and delivered; =0: EACCES",
            self.broadcast_minus1 == sent && self.broadcast_0 == refused,
            format!("{}; {}", sent.show(), refused.show()),
            format!(
                "{}; {}",
                self.broadcast_minus1.show(),
                self.broadcast_0.show()
            ),
        );
        let reuse = j.expect(
            "SO_REUSEADDR=0x100: second UDP bind; =0: refused",
            self.reuseaddr_0x100_second_bind == "ok"
                && self.reuseaddr_0_second_bind == "EADDRINUSE",
            "0x100: ok; 0: EADDRINUSE",
            format!(
                "0x100: {}; 0: {}",
                self.reuseaddr_0x100_second_bind, self.reuseaddr_0_second_bind
            ),
        );
        let inline = Urgent {
            stream: "abc".into(),
            msg_oob: "EINVAL".into(),
        };
        let out_of_band = Urgent {
            stream: "ab".into(),
            msg_oob: "c".into(),
        };
        let oob = j.expect(
            "SO_OOBINLINE=0x100: urgent byte in the stream, MSG_OOB EINVAL; =0: out of band",
            self.oobinline_0x100 == inline && self.oobinline_0 == out_of_band,
            format!("0x100: {}; 0: {}", inline.show(), out_of_band.show()),
            format!(
                "0x100: {}; 0: {}",
                self.oobinline_0x100.show(),
                self.oobinline_0.show()
            ),
        );
        let ka_lo = keepalive_lower_bound(self.keepidle_s);
        let probe = j.expect(
            "SO_KEEPALIVE=2: a probe after TCP_KEEPIDLE",
            self.keepalive_2_probe && self.keepalive_2_probe_after >= ka_lo,
            format!("a probe after >= {}", ka_lo.show()),
            probe_text(self.keepalive_2_probe, self.keepalive_2_probe_after),
        );
        let effects = nodelay_2 && nagle && broadcast && reuse && oob && probe;

        let zero_off = self.all_read(|v| v == 0, 0);
        let one_on = self.all_read(|v| v == 1, 1);
        let nonzero_on = self.all_read(|v| v != 0, 1);
        let verdict = match (one_on && zero_off, nonzero_on) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        let nonzero: Vec<&ReadBack> = self.read_back.iter().filter(|r| r.value != 0).collect();
        let nonzero_read_1 = nonzero.iter().filter(|r| r.getsockopt == 1).count();
        j.verdict(
            verdict,
            format!(
                "{} options x values {values}: {} of {} read back as expected; TCP_NODELAY=2 -> segments {} \
                 (0 -> {}); SO_BROADCAST={} -> {}, {}, 0 -> {}; SO_REUSEADDR=0x100 -> second bind {}, 0 -> {}; \
                 SO_OOBINLINE=0x100 -> {}; SO_KEEPALIVE=2 -> {}",
                BOOLEANS.len(),
                self.read_back.len() - wrong.len(),
                self.read_back.len(),
                self.nodelay_2_segments.show(),
                self.nodelay_0_segments.show(),
                optval(self.broadcast_minus1.so_broadcast),
                self.broadcast_minus1.sendto,
                delivery(self.broadcast_minus1.delivered),
                self.broadcast_0.sendto,
                self.reuseaddr_0x100_second_bind,
                self.reuseaddr_0_second_bind,
                self.oobinline_0x100.show(),
                probe_text(self.keepalive_2_probe, self.keepalive_2_probe_after),
            ),
        );
        j.key(format!(
            "non-zero -> on for {nonzero_read_1}/{} settings; effects of 2/-1/0x100 {}",
            nonzero.len(),
            if effects { "seen" } else { "not all seen" }
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// sockopt.accept_inherits

const L_RCVBUF: i32 = 16_384;
const L_SNDBUF: i32 = 16_384;
const L_MSS: i32 = 1000;
const CLIENT_RCVBUF: i32 = 4096;

/// recv() timeout on the idle accepted socket: a blocking recv waits this long.
const IDLE_RCVTIMEO: Duration = Duration::from_millis(100);
/// A blocking recv with IDLE_RCVTIMEO returns no sooner than this (the
/// timer's jiffy rounding).
const IDLE_RCVTIMEO_MIN: Duration = Duration::from_millis(90);

/// Options as one socket reports them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opts {
    pub rcvbuf: i32,
    pub sndbuf: i32,
    pub keepalive: i32,
    /// TCP_KEEPIDLE, seconds.
    pub keepidle: i32,
    /// SO_LINGER's l_onoff and l_linger (seconds).
    pub linger_on: bool,
    pub linger_s: i32,
    pub nodelay: i32,
    pub maxseg: i32,
    /// O_NONBLOCK, a file status flag (fcntl), not a socket option.
    pub nonblocking: bool,
}

/// The settings the case makes on the listener, as getsockopt shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Inheritable {
    rcvbuf: i32,
    sndbuf: i32,
    keepalive: i32,
    keepidle: i32,
    linger: (bool, i32),
    nodelay: i32,
}

impl Show for Inheritable {
    fn show(&self) -> String {
        format!(
            "SO_RCVBUF {}, SO_SNDBUF {}, SO_KEEPALIVE {}, TCP_KEEPIDLE {} s, SO_LINGER {} {} s, TCP_NODELAY {}",
            self.rcvbuf,
            self.sndbuf,
            self.keepalive,
            self.keepidle,
            if self.linger.0 { "on" } else { "off" },
            self.linger.1,
            self.nodelay
        )
    }
}

impl Opts {
    fn inheritable(&self) -> Inheritable {
        Inheritable {
            rcvbuf: self.rcvbuf,
            sndbuf: self.sndbuf,
            keepalive: self.keepalive,
            keepidle: self.keepidle,
            linger: (self.linger_on, self.linger_s),
            nodelay: self.nodelay,
        }
    }
}

fn opts_of(s: &Sock) -> Result<Opts> {
    let g = |level, opt, name: &str| {
        s.get_int(level, opt)
            .with_context(|| format!("getsockopt {name}"))
    };
    let (linger_on, linger_s) = s.linger().context("getsockopt SO_LINGER")?;
    Ok(Opts {
        rcvbuf: g(libc::SOL_SOCKET, libc::SO_RCVBUF, "SO_RCVBUF")?,
        sndbuf: g(libc::SOL_SOCKET, libc::SO_SNDBUF, "SO_SNDBUF")?,
        keepalive: g(libc::SOL_SOCKET, libc::SO_KEEPALIVE, "SO_KEEPALIVE")?,
        keepidle: g(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, "TCP_KEEPIDLE")?,
        linger_on,
        linger_s,
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inherited {
    /// recv() on an idle accepted socket with SO_RCVTIMEO 100 ms: how long it
    /// waited (blocking) and what it returned.
    #[serde(with = "crate::model::millis")]
    pub idle_recv_took: Duration,
    pub idle_recv: String,
    /// Data segments of five one-byte writes on the wire as each write returned.
    pub small_writes_on_wire: Vec<usize>,
    /// Payload sizes of those writes' segments once all were read.
    pub small_write_segments: Vec<u32>,
    /// The MSS option of the accepted connection's SYN-ACK.
    pub synack_mss: Option<u16>,
    /// The largest payload of the accepted socket's 32 KiB bulk write.
    pub max_segment: u32,
    /// The window of the accepted socket's segment the case waited for
    /// before reading its receive queue (0: closed).
    pub window_at_read: u16,
    /// Bytes the accepted socket held when it advertised a zero window.
    pub queued_at_zero_window: i32,
    /// Bytes in its send queue when a non-blocking write hit EAGAIN.
    pub send_queue_at_eagain: i32,
    /// From before the idle connection's connect() until its keep-alive
    /// probe (or the end of the wait): a lower bound on the kernel's idle time.
    #[serde(with = "crate::model::millis")]
    pub keepalive_probe_after: Duration,
    pub keepalive_probe: bool,
    /// What the accepted socket's close() sent.
    pub rst_on_close: bool,
    pub fin_on_close: bool,
}

/// Options set on a listener, read on the socket accept() returned and on a
/// fresh socket, and what the accepted socket did with them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AcceptInherits {
    pub listener: Opts,
    pub accepted: Opts,
    /// A fresh TCP socket's defaults, for comparison.
    pub fresh: Opts,
    /// TCP_KEEPIDLE and TCP_MAXSEG as set on the listener.
    pub keepidle_set: i32,
    pub maxseg_set: i32,
    /// TCP option bytes on every data segment (timestamps), so payload per
    /// segment = MSS - this.
    pub tcp_option_bytes: i32,
    pub seen: Inherited,
}

fn accept_inherits(lab: &mut Lab) -> Result<AcceptInherits> {
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
    let fresh = opts_of(&Sock::tcp(Family::V4)?)?;

    // O_NONBLOCK: an idle recv waits for SO_RCVTIMEO only if the socket blocks.
    server.set_timeout(libc::SO_RCVTIMEO, IDLE_RCVTIMEO)?;
    let t = Instant::now();
    let mut b = [0u8; 8];
    let idle_recv = result_name(&server.recv(&mut b, 0));
    let idle_recv_took = t.elapsed();

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
    let mut small_writes_on_wire = Vec::new();
    for _ in 0..5 {
        server.send(b"x", 0).context("one-byte write")?;
        small_writes_on_wire.push(from_server(cap.drain()?).len());
    }
    read_exact(&client, 5, "the small writes")?;
    let small_write_segments = from_server(&cap.frames()?);

    // TCP_MAXSEG: the accepted socket's segments.
    let bulk = 32_768;
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
    let max_segment = segs
        .iter()
        .filter(|s| s.dport == port)
        .map(|s| s.payload)
        .max()
        .unwrap_or(0);
    let synack_mss = segs
        .iter()
        .find(|s| s.dport == port && s.flags.syn)
        .and_then(|s| s.mss);

    // SO_RCVBUF: the client writes until the accepted socket's window closes.
    fill_until_eagain(&client, 4096)?;
    phase("waiting for the accepted socket's zero window");
    let window_at_read = cap
        .wait_segment(
            "a zero window from the accepted socket",
            Duration::from_secs(5),
            |s| s.dport == port && s.window == 0 && !s.flags.syn,
        )?
        .window;
    let queued_at_zero_window = server.queued(libc::FIONREAD)?;

    // SO_SNDBUF: the accepted socket writes until its send queue is full.
    fill_until_eagain(&server, 4096)?;
    let send_queue_at_eagain = server.queued(libc::TIOCOUTQ)?;

    // SO_KEEPALIVE + TCP_KEEPIDLE on the idle connection, then SO_LINGER {1,0}.
    let synack_seq = cap
        .segments()?
        .iter()
        .find(|s| s.dport == idle_port && s.flags.syn)
        .map(|s| s.seq);
    phase("waiting for the accepted socket's keep-alive probe");
    let keepalive_probe = cap
        .wait_segment(
            "a keep-alive probe from the idle accepted socket",
            Duration::from_secs(KEEPIDLE_S as u64) + PROBE_SLACK,
            |s| s.dport == idle_port && Some(s.seq) == synack_seq && !s.flags.syn,
        )
        .is_ok();
    let keepalive_probe_after = idle_since.elapsed();
    let _ = idle_server.close();
    let end = cap.wait_segment(
        "RST (or FIN) from the lingering close",
        Duration::from_secs(2),
        |s| s.dport == idle_port && (s.flags.rst || s.flags.fin),
    );
    let (rst_on_close, fin_on_close) = end.map_or((false, false), |s| (s.flags.rst, s.flags.fin));
    drop(idle_client);

    Ok(AcceptInherits {
        listener: listener_opts,
        accepted,
        fresh,
        keepidle_set: KEEPIDLE_S,
        maxseg_set: L_MSS,
        tcp_option_bytes: option_bytes()? as i32,
        seen: Inherited {
            idle_recv_took,
            idle_recv,
            small_writes_on_wire,
            small_write_segments,
            synack_mss,
            max_segment,
            window_at_read,
            queued_at_zero_window,
            send_queue_at_eagain,
            keepalive_probe_after,
            keepalive_probe,
            rst_on_close,
            fin_on_close,
        },
    })
}

impl AcceptInherits {
    /// The payload of a full segment at the MSS set on the listener.
    fn full_segment(&self) -> u32 {
        (self.maxseg_set - self.tcp_option_bytes).max(0) as u32
    }

    /// What the listener was given, as getsockopt on it shows the buffers.
    fn set_on_listener(&self) -> Inheritable {
        Inheritable {
            rcvbuf: self.listener.rcvbuf,
            sndbuf: self.listener.sndbuf,
            keepalive: 1,
            keepidle: self.keepidle_set,
            linger: (true, 0),
            nodelay: 1,
        }
    }
}

fn nonblocking_text(inherited: bool) -> &'static str {
    if inherited {
        "inherited"
    } else {
        "not inherited"
    }
}

impl Observation for AcceptInherits {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let seen = &self.seen;
        let accepted = self.accepted.inheritable();
        j.expect_eq(
            "getsockopt on the accepted socket: buffers, keep-alive, idle time, linger, nodelay",
            &self.set_on_listener(),
            &accepted,
        );
        let fresh = self.fresh.inheritable();
        j.expect(
            "a fresh socket differs in each (so the values came from the listener)",
            fresh.rcvbuf != accepted.rcvbuf
                && fresh.sndbuf != accepted.sndbuf
                && fresh.keepalive != accepted.keepalive
                && fresh.keepidle != accepted.keepidle
                && fresh.linger != accepted.linger
                && fresh.nodelay != accepted.nodelay,
            format!("each other than: {}", accepted.show()),
            fresh.show(),
        );
        j.expect(
            "listener non-blocking, accepted socket blocking",
            self.listener.nonblocking && !self.accepted.nonblocking,
            "listener non-blocking, accepted blocking",
            format!(
                "listener {}, accepted {}",
                blocking_text(self.listener.nonblocking),
                blocking_text(self.accepted.nonblocking)
            ),
        );
        j.expect(
            "O_NONBLOCK not inherited: an idle recv waits for SO_RCVTIMEO",
            seen.idle_recv == "EAGAIN" && seen.idle_recv_took >= IDLE_RCVTIMEO_MIN,
            format!("EAGAIN after >= {}", IDLE_RCVTIMEO_MIN.show()),
            format!("{} after {}", seen.idle_recv, seen.idle_recv_took.show()),
        );
        let nodelay = j.expect_eq(
            "TCP_NODELAY inherited: each one-byte write on the wire as it returns",
            &vec![1, 2, 3, 4, 5],
            &seen.small_writes_on_wire,
        );
        j.expect_eq(
            "TCP_NODELAY inherited: five one-byte segments once all are read",
            &vec![1; 5],
            &seen.small_write_segments,
        );
        let mss = self.full_segment();
        let maxseg = j.expect(
            "TCP_MAXSEG inherited: SYN-ACK MSS, largest segment, getsockopt",
            seen.synack_mss == Some(self.maxseg_set as u16)
                && seen.max_segment == mss
                && self.accepted.maxseg == mss as i32,
            format!(
                "SYN-ACK MSS {}, largest segment {mss} B, TCP_MAXSEG {mss}",
                self.maxseg_set
            ),
            format!(
                "SYN-ACK MSS {}, largest segment {} B, TCP_MAXSEG {}",
                seen.synack_mss.show(),
                seen.max_segment,
                self.accepted.maxseg
            ),
        );
        let rcvbuf = j.expect(
            "SO_RCVBUF inherited: data held at zero window within the accepted socket's buffer",
            seen.window_at_read == 0
                && seen.queued_at_zero_window > 0
                && seen.queued_at_zero_window <= self.listener.rcvbuf,
            format!("1..={} B at window 0", self.listener.rcvbuf),
            format!(
                "{} B at window {}",
                seen.queued_at_zero_window, seen.window_at_read
            ),
        );
        let sndbuf = j.expect(
            "SO_SNDBUF inherited: send queue at EAGAIN within the accepted socket's buffer",
            seen.send_queue_at_eagain > 0 && seen.send_queue_at_eagain <= self.listener.sndbuf,
            format!("1..={} B", self.listener.sndbuf),
            format!("{} B", seen.send_queue_at_eagain),
        );
        let ka_lo = keepalive_lower_bound(self.keepidle_set);
        let keepalive = j.expect(
            "SO_KEEPALIVE and TCP_KEEPIDLE inherited: a probe after the idle time",
            seen.keepalive_probe && seen.keepalive_probe_after >= ka_lo,
            format!("a probe after >= {}", ka_lo.show()),
            probe_text(seen.keepalive_probe, seen.keepalive_probe_after),
        );
        let linger = j.expect(
            "SO_LINGER {1,0} inherited: close sends RST, no FIN",
            seen.rst_on_close && !seen.fin_on_close,
            "RST, no FIN",
            close_text(seen.rst_on_close, seen.fin_on_close),
        );

        let effects_inherited = seen.small_writes_on_wire == [1, 2, 3, 4, 5]
            && seen.max_segment == mss
            && seen.keepalive_probe
            && seen.rst_on_close;
        let verdict = match (effects_inherited, self.accepted.nonblocking) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "accepted socket: SO_RCVBUF {} / SO_SNDBUF {} (listener {} / {}, fresh socket {} / {}); \
                 {} B held at zero window, {} B queued at EAGAIN; five 1-byte writes -> {} on the wire; \
                 segments <= {} B (SYN-ACK MSS {}); keep-alive: {}; close -> {}; O_NONBLOCK {} (idle recv {} \
                 after {})",
                self.accepted.rcvbuf,
                self.accepted.sndbuf,
                self.listener.rcvbuf,
                self.listener.sndbuf,
                self.fresh.rcvbuf,
                self.fresh.sndbuf,
                seen.queued_at_zero_window,
                seen.send_queue_at_eagain,
                seen.small_write_segments.show(),
                seen.max_segment,
                seen.synack_mss.show(),
                probe_text(seen.keepalive_probe, seen.keepalive_probe_after),
                close_text(seen.rst_on_close, seen.fin_on_close),
                nonblocking_text(self.accepted.nonblocking),
                seen.idle_recv,
                seen.idle_recv_took.show()
            ),
        );
        let acting = [nodelay, maxseg, rcvbuf, sndbuf, keepalive, linger]
            .iter()
            .filter(|ok| **ok)
            .count();
        j.key(format!(
            "{acting} of 6 options inherited (seen on the wire); O_NONBLOCK {}",
            nonblocking_text(self.accepted.nonblocking)
        ));
        j
    }
}

fn blocking_text(nonblocking: bool) -> &'static str {
    if nonblocking {
        "non-blocking"
    } else {
        "blocking"
    }
}

/// What a close put on the wire: "RST", "FIN", "RST and FIN" or "neither".
fn close_text(rst: bool, fin: bool) -> &'static str {
    match (rst, fin) {
        (true, false) => "RST, no FIN",
        (false, true) => "FIN",
        (true, true) => "RST and FIN",
        (false, false) => "neither RST nor FIN",
    }
}

// ---------------------------------------------------------------------------
// so_debug.privilege

/// CAP_NET_ADMIN's bit in /proc/self/status CapEff.
const CAP_NET_ADMIN: u32 = 12;

/// /proc/self/uid_map of a process in the initial user namespace: the
/// identity map of every uid (a container's root has a partial map).
const INITIAL_UID_MAP: &str = "0 0 4294967295";

/// setsockopt(SO_DEBUG) in a forked child that first enters a new user
/// namespace: each step's result, ok or an errno name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildInUserns {
    pub unshare: String,
    pub set_1: String,
    pub set_0: String,
}

impl Show for ChildInUserns {
    fn show(&self) -> String {
        format!(
            "unshare {}, set 1 {}, set 0 {}",
            self.unshare, self.set_1, self.set_0
        )
    }
}

/// setsockopt(SO_DEBUG) results in a forked child that first enters a new
/// user namespace.
fn debug_in_new_userns(s: &Sock) -> Result<ChildInUserns> {
    use nix::errno::Errno;
    use nix::unistd::{fork, pipe2, read, write, ForkResult};

    let (rx, tx) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe2")?;
    let fd = s.as_raw_fd();
    // SAFETY: the child only makes raw syscalls (unshare, setsockopt, write,
    // _exit): nothing that needs locks another thread might hold.
    let child = match unsafe { fork() }.context("fork")? {
        ForkResult::Parent { child } => child,
        ForkResult::Child => {
            let code = |r: nix::Result<()>| r.err().map_or(0, |e| e as i32);
            let unshare = code(nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER));
            // Through the libc symbol, as every setsockopt of the case: an
            // LD_PRELOAD shim sees it.
            let set = |v: i32| {
                // SAFETY: setsockopt on an inherited descriptor with a 4-byte int.
                let rc = unsafe {
                    libc::setsockopt(
                        fd,
                        libc::SOL_SOCKET,
                        libc::SO_DEBUG,
                        (&v as *const i32).cast(),
                        4,
                    )
                };
                code(Errno::result(rc).map(drop))
            };
            let out = [unshare, set(1), set(0)];
            let bytes: Vec<u8> = out.iter().flat_map(|e| e.to_ne_bytes()).collect();
            let _ = write(&tx, &bytes);
            // SAFETY: leaves the forked copy at once, running no destructors.
            unsafe { libc::_exit(0) }
        }
    };
    drop(tx);
    // Three errno values (0 for success), one write: all or nothing.
    const REPORT: usize = 12;
    let mut bytes = [0u8; REPORT];
    let n = read(rx.as_raw_fd(), &mut bytes);
    let _ = nix::sys::wait::waitpid(child, None);
    match n {
        Ok(REPORT) => {}
        Ok(k) => bail!("the forked child reported {k} of {REPORT} bytes"),
        Err(e) => bail!("reading the forked child's report: {e}"),
    }
    let name = |i: usize| {
        let e = i32::from_ne_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        match e {
            0 => "ok".to_string(),
            e => errno_name(&std::io::Error::from_raw_os_error(e)),
        }
    };
    Ok(ChildInUserns {
        unshare: name(0),
        set_1: name(4),
        set_0: name(8),
    })
}

/// One SYN, FIN, RST or data segment of a short exchange, without the
/// numbers that change from one connection to the next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShapeSeg {
    /// client or server: who sent it.
    pub from: String,
    /// tcpdump style: S, F, R, P, and . for ACK.
    pub flags: String,
    pub payload: u32,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
}

impl Show for ShapeSeg {
    fn show(&self) -> String {
        let mut s = format!("{} {}", self.from, self.flags);
        if self.payload > 0 {
            s += &format!(" {} B", self.payload);
        }
        if let Some(m) = self.mss {
            s += &format!(" mss {m}");
        }
        if let Some(w) = self.wscale {
            s += &format!(" ws {w}");
        }
        s
    }
}

/// Bytes each side sends in the exchange.
const HELLO: usize = 5;

/// A short exchange on lo (handshake, 5 bytes each way, close) as its SYN,
/// FIN, RST and data segments.
fn exchange_shape(debug: bool) -> Result<Vec<ShapeSeg>> {
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
    let client_addr = pair.client.local_addr()?;
    let server_addr = pair.server.local_addr()?;
    let port = client_addr.port();
    pair.client.send_all(b"hello")?;
    read_exact(&pair.server, HELLO, "hello")?;
    pair.server.send_all(b"world")?;
    read_exact(&pair.client, HELLO, "world")?;
    let TcpPair {
        client,
        server,
        listener: _l,
    } = pair;
    let _ = client.close();
    let _ = server.read_to_end();
    let _ = server.close();
    // Over once the client has acknowledged the server's FIN: TIME_WAIT.
    wait::until(
        "the client to reach TIME_WAIT",
        Duration::from_secs(2),
        || {
            Ok(diag::tcp(client_addr, server_addr)?
                .filter(|d| d.state == procnet::TIME_WAIT)
                .map(drop))
        },
    )?;
    // Every segment is this exchange's: the capture is on lo of the case's
    // own namespace, started just before this connection.
    Ok(cap
        .segments()?
        .iter()
        // Pure ACKs come and go with the delayed-ACK timer and the scheduler;
        // SYN, FIN, RST and data segments are what a debug mode could change.
        .filter(|s| s.flags.syn || s.flags.fin || s.flags.rst || s.payload > 0)
        .map(|s| ShapeSeg {
            from: if s.sport == port { "client" } else { "server" }.into(),
            flags: s.flags.to_string(),
            payload: s.payload,
            mss: s.mss,
            wscale: s.wscale,
        })
        .collect())
}

/// Whether `shape` is a whole exchange: it opens with the client's SYN,
/// every segment is a SYN, FIN or RST or carries data, and each side sends a
/// SYN, its 5 bytes (more when retransmitted) and a FIN.
fn whole_exchange(shape: &[ShapeSeg]) -> bool {
    let has = |s: &ShapeSeg, flag: char| s.flags.contains(flag);
    let opens = shape
        .first()
        .is_some_and(|s| s.from == "client" && has(s, 'S'));
    let no_pure_ack = shape
        .iter()
        .all(|s| has(s, 'S') || has(s, 'F') || has(s, 'R') || s.payload > 0);
    let both_sides = ["client", "server"].iter().all(|side| {
        let from: Vec<&ShapeSeg> = shape.iter().filter(|s| s.from == *side).collect();
        from.iter().any(|s| has(s, 'S'))
            && from.iter().map(|s| s.payload).sum::<u32>() >= HELLO as u32
            && from.iter().any(|s| has(s, 'F'))
    });
    opens && no_pure_ack && both_sides
}

/// What SO_DEBUG=1 needs, what this process had, and what SO_DEBUG changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DebugPrivilege {
    /// How the case's namespace was obtained: root, or a user namespace.
    pub privilege: Privilege,
    /// CAP_NET_ADMIN among the effective capabilities (/proc/self/status).
    pub cap_net_admin: bool,
    /// /proc/self/uid_map, whitespace collapsed.
    pub uid_map: String,
    /// setsockopt(SO_DEBUG, 1): ok or an errno name; getsockopt right after.
    pub set_1: String,
    pub read_after_1: i32,
    /// setsockopt(SO_DEBUG, 0).
    pub set_0: String,
    pub child_in_new_userns: ChildInUserns,
    /// The exchange without SO_DEBUG, and with it on both ends (none when
    /// it could not be set here).
    pub wire_without: Vec<ShapeSeg>,
    pub wire_with: Option<Vec<ShapeSeg>>,
}

impl DebugPrivilege {
    /// Whether this process holds CAP_NET_ADMIN in the initial user
    /// namespace, which SO_DEBUG=1 requires: root (a plain network
    /// namespace), the capability effective, and the initial namespace's
    /// identity uid map.
    fn net_admin_in_init_userns(&self) -> bool {
        self.privilege == Privilege::Root && self.cap_net_admin && self.uid_map == INITIAL_UID_MAP
    }
}

/// Whether the capability set `caps` (CapEff's bits) holds capability `cap`.
fn has_cap(caps: u64, cap: u32) -> bool {
    caps & (1 << cap) != 0
}

fn privilege_name(p: Privilege) -> &'static str {
    match p {
        Privilege::Root => "root",
        Privilege::UserNamespace => "root of a user namespace",
    }
}

fn debug_privilege(lab: &mut Lab) -> Result<DebugPrivilege> {
    let status = std::fs::read_to_string("/proc/self/status").context("read /proc/self/status")?;
    let cap_eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let uid_map =
        std::fs::read_to_string("/proc/self/uid_map").context("read /proc/self/uid_map")?;
    let s = Sock::tcp(Family::V4)?;
    let set_1 = s.set_int(libc::SOL_SOCKET, libc::SO_DEBUG, 1);
    let read_after_1 = s.get_int(libc::SOL_SOCKET, libc::SO_DEBUG)?;
    let set_0 = s.set_int(libc::SOL_SOCKET, libc::SO_DEBUG, 0);
    let child_in_new_userns = debug_in_new_userns(&s)?;
    let wire_without = exchange_shape(false)?;
    let wire_with = if set_1.is_ok() {
        Some(exchange_shape(true)?)
    } else {
        None
    };
    Ok(DebugPrivilege {
        privilege: lab.privilege,
        cap_net_admin: has_cap(cap_eff, CAP_NET_ADMIN),
        uid_map: uid_map.split_whitespace().collect::<Vec<_>>().join(" "),
        set_1: result_name(&set_1),
        read_after_1,
        set_0: result_name(&set_0),
        child_in_new_userns,
        wire_without,
        wire_with,
    })
}

impl Observation for DebugPrivilege {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let may = self.net_admin_in_init_userns();
        let set_1 = if may { "ok" } else { "EACCES" };
        j.expect_eq(
            &format!(
                "setsockopt(SO_DEBUG, 1) {} CAP_NET_ADMIN in the initial user namespace",
                if may { "with" } else { "without" }
            ),
            set_1,
            self.set_1.as_str(),
        );
        j.expect_eq(
            "getsockopt(SO_DEBUG) after setting 1",
            &i32::from(self.set_1 == "ok"),
            &self.read_after_1,
        );
        j.expect_eq("setsockopt(SO_DEBUG, 0)", "ok", self.set_0.as_str());
        let child = ChildInUserns {
            unshare: "ok".into(),
            set_1: "EACCES".into(),
            set_0: "ok".into(),
        };
        j.expect_eq(
            "forked child in a new user namespace: unshare, set 1, set 0",
            &child,
            &self.child_in_new_userns,
        );
        j.expect(
            "the exchange: a SYN, 5 B and a FIN from each side",
            whole_exchange(&self.wire_without),
            "the client's SYN first; SYN, 5 B and FIN from client and server; no pure ACK",
            self.wire_without.show(),
        );
        if let Some(d) = &self.wire_with {
            j.expect_eq("wire with SO_DEBUG = wire without", &self.wire_without, d);
        }
        let wire = match &self.wire_with {
            Some(d) if d == &self.wire_without => format!(
                "with it set, the {} segments of an exchange are the same as without",
                d.len()
            ),
            Some(_) => "with it set the wire differs".into(),
            None => "could not set it here, so no wire comparison".into(),
        };
        let wire_differs = self
            .wire_with
            .as_ref()
            .is_some_and(|d| d != &self.wire_without);
        j.verdict(
            if wire_differs {
                Verdict::Holds
            } else {
                Verdict::Differs
            },
            format!(
                "as {}: SO_DEBUG=1 {} (0 {}); in a new user namespace: SO_DEBUG=1 {}, 0 {}; {wire}",
                privilege_name(self.privilege),
                self.set_1,
                self.set_0,
                self.child_in_new_userns.set_1,
                self.child_in_new_userns.set_0,
            ),
        );
        j.key(format!(
            "{}: set 1 {}, child in a new user namespace {}",
            privilege_name(self.privilege),
            self.set_1,
            self.child_in_new_userns.set_1
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// broadcast.requires_option

/// The link's subnet broadcast address (198.51.100.0/24).
const SUBNET_BROADCAST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 255);

/// The UDP attempts: destination and whether the sender is bound to its
/// interface address, each without and with SO_BROADCAST.
const UDP_TRIES: [(Ipv4Addr, bool); 3] = [
    (SUBNET_BROADCAST, false),
    (Ipv4Addr::BROADCAST, false),
    (Ipv4Addr::BROADCAST, true),
];

/// The TCP attempts: destination and SO_BROADCAST.
const TCP_TRIES: [(Ipv4Addr, bool); 3] = [
    (SUBNET_BROADCAST, false),
    (SUBNET_BROADCAST, true),
    (Ipv4Addr::BROADCAST, true),
];

/// What one UDP send to a broadcast address came to.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sent {
    sendto: String,
    dst_mac: Option<String>,
    delivered: bool,
}

impl Show for Sent {
    fn show(&self) -> String {
        let frame = match &self.dst_mac {
            Some(m) => format!("a frame to {m}"),
            None => "no frame".into(),
        };
        format!("{}, {frame}, {}", self.sendto, delivery(self.delivered))
    }
}

impl Sent {
    /// What Linux does with a send to `to` (from a socket `bound` to its
    /// interface address or not) with SO_BROADCAST on or off.
    fn expected(to: Ipv4Addr, bound: bool, so_broadcast: bool) -> Sent {
        let refused = |e: &str| Sent {
            sendto: e.into(),
            dst_mac: None,
            delivered: false,
        };
        if to == Ipv4Addr::BROADCAST && !bound {
            // No default route: nothing says which interface to send from.
            refused("ENETUNREACH")
        } else if !so_broadcast {
            refused("EACCES")
        } else {
            Sent {
                sendto: "ok".into(),
                dst_mac: Some("ff:ff:ff:ff:ff:ff".into()),
                delivered: true,
            }
        }
    }
}

/// One UDP send attempt to a broadcast address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BcastTry {
    pub to: Ipv4Addr,
    /// Bound to the interface address (198.51.100.1) before sending.
    pub bound: bool,
    pub so_broadcast: bool,
    /// The datagram's payload length, which tells its frame apart.
    pub len: usize,
    /// sendto's result: ok or an errno name.
    pub sendto: String,
    /// The destination MAC of the datagram's frame; none when none was seen.
    pub dst_mac: Option<String>,
    /// The other host received it.
    pub delivered: bool,
}

impl BcastTry {
    fn sent(&self) -> Sent {
        Sent {
            sendto: self.sendto.clone(),
            dst_mac: self.dst_mac.clone(),
            delivered: self.delivered,
        }
    }
}

/// A TCP socket with SO_BROADCAST, connecting to a broadcast address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpBcast {
    pub to: Ipv4Addr,
    pub so_broadcast: bool,
    /// setsockopt(SO_BROADCAST) and connect(): ok or an errno name.
    pub setsockopt: String,
    pub connect: String,
}

/// Broadcast sends over a veth link, with and without SO_BROADCAST.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BroadcastRequiresOption {
    pub udp: Vec<BcastTry>,
    /// Frames on the wire carrying a datagram of a send that failed.
    pub failed_sends_on_wire: usize,
    pub tcp: Vec<TcpBcast>,
    /// SYNs on the wire from the TCP attempts.
    pub tcp_syns_on_wire: usize,
}

fn broadcast_requires_option(lab: &mut Lab) -> Result<BroadcastRequiresOption> {
    let link = Link::pair_v4(lab)?;
    let rx = udp_bound(&link.b, SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0))?;
    let port = rx.local_addr()?.port();
    let mut cap = Capture::start("veth-a")?;
    let mut udp = Vec::new();
    // A payload length of its own (1, 2, ...) tells each attempt's frame apart.
    let attempts = UDP_TRIES
        .into_iter()
        .flat_map(|(to, bound)| [false, true].map(|so_broadcast| (to, bound, so_broadcast)));
    for ((to, bound, so_broadcast), len) in attempts.zip(1..) {
        let tx = Sock::udp(Family::V4)?;
        if bound {
            tx.bind(SocketAddr::new(link.a_end.addr, 0))
                .context("bind sender to 198.51.100.1")?;
        }
        tx.set_int(
            libc::SOL_SOCKET,
            libc::SO_BROADCAST,
            i32::from(so_broadcast),
        )
        .context("SO_BROADCAST")?;
        let r = tx.send_to(&vec![b'b'; len], 0, SocketAddr::new(to.into(), port));
        let dst_mac = if r.is_ok() {
            cap.wait_for("the broadcast datagram", Duration::from_secs(2), |f| {
                matches!(f.decode(), Packet::Udp(d) if d.dport == port && d.payload as usize == len)
            })
            .ok()
            .and_then(|f| udp_dst_mac(&f))
        } else {
            None
        };
        let delivered = received(&rx, delivery_wait(r.is_ok()))?.contains(&len);
        udp.push(BcastTry {
            to,
            bound,
            so_broadcast,
            len,
            sendto: result_name(&r),
            dst_mac,
            delivered,
        });
    }
    // Whatever the failed attempts did, nothing of theirs may be on the wire.
    let failed_lens: Vec<usize> = udp
        .iter()
        .filter(|t| t.sendto != "ok")
        .map(|t| t.len)
        .collect();
    let failed_sends_on_wire = cap
        .frames()?
        .iter()
        .filter(|f| matches!(f.decode(), Packet::Udp(d) if d.dport == port && failed_lens.contains(&(d.payload as usize))))
        .count();

    // TCP: the option is accepted, a broadcast destination is not.
    let mut tcp = Vec::new();
    for (to, so_broadcast) in TCP_TRIES {
        let s = Sock::tcp(Family::V4)?;
        let set = s.set_int(
            libc::SOL_SOCKET,
            libc::SO_BROADCAST,
            i32::from(so_broadcast),
        );
        tcp.push(TcpBcast {
            to,
            so_broadcast,
            setsockopt: result_name(&set),
            connect: connect_bounded(&s, SocketAddr::new(to.into(), port)),
        });
    }
    let tcp_syns_on_wire = cap.segments()?.iter().filter(|s| s.flags.syn).count();
    Ok(BroadcastRequiresOption {
        udp,
        failed_sends_on_wire,
        tcp,
        tcp_syns_on_wire,
    })
}

impl BroadcastRequiresOption {
    fn udp_try(&self, to: Ipv4Addr, bound: bool, so_broadcast: bool) -> Option<&BcastTry> {
        self.udp
            .iter()
            .find(|t| t.to == to && t.bound == bound && t.so_broadcast == so_broadcast)
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

impl Observation for BroadcastRequiresOption {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        for (to, bound) in UDP_TRIES {
            for so_broadcast in [false, true] {
                let expected = Sent::expected(to, bound, so_broadcast);
                let seen = self.udp_try(to, bound, so_broadcast);
                j.expect(
                    &format!(
                        "UDP to {to}{} {} SO_BROADCAST: result, dst MAC, delivered",
                        if bound { " (bound)" } else { "" },
                        if so_broadcast { "with" } else { "without" }
                    ),
                    seen.is_some_and(|t| t.sent() == expected),
                    expected.show(),
                    seen.map_or_else(|| "not tried".into(), |t| t.sent().show()),
                );
            }
        }
        j.expect_eq(
            "nothing on the wire from refused sends",
            &0,
            &self.failed_sends_on_wire,
        );
        for (to, so_broadcast) in TCP_TRIES {
            let seen = self
                .tcp
                .iter()
                .find(|t| t.to == to && t.so_broadcast == so_broadcast);
            j.expect(
                &format!(
                    "TCP SO_BROADCAST={} then connect({to})",
                    i32::from(so_broadcast)
                ),
                seen.is_some_and(|t| t.setsockopt == "ok" && t.connect == "ENETUNREACH"),
                "setsockopt ok, connect ENETUNREACH",
                seen.map_or_else(
                    || "not tried".into(),
                    |t| format!("setsockopt {}, connect {}", t.setsockopt, t.connect),
                ),
            );
        }
        j.expect_eq("no SYN on the wire", &0, &self.tcp_syns_on_wire);

        let needs = self
            .udp
            .iter()
            .any(|t| !t.so_broadcast && t.sendto == "EACCES");
        let works = self.udp.iter().any(|t| t.so_broadcast && t.delivered);
        let tcp_refused = self.tcp.iter().all(|t| t.connect != "ok");
        let verdict = match (needs && works, tcp_refused) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        let udp: Vec<String> = self
            .udp
            .iter()
            .map(|t| {
                format!(
                    "{}{} {}: {}{}",
                    t.to,
                    if t.bound { " (bound)" } else { "" },
                    on_off(t.so_broadcast),
                    t.sendto,
                    if t.delivered { " delivered" } else { "" }
                )
            })
            .collect();
        let tcp: Vec<String> = self
            .tcp
            .iter()
            .map(|t| {
                format!(
                    "{} {}: setsockopt {}, connect {}",
                    t.to,
                    on_off(t.so_broadcast),
                    t.setsockopt,
                    t.connect
                )
            })
            .collect();
        j.verdict(
            verdict,
            format!("UDP: {}; TCP: {}", udp.join(", "), tcp.join(", ")),
        );
        let off = self.udp_try(SUBNET_BROADCAST, false, false);
        let on = self.udp_try(SUBNET_BROADCAST, false, true);
        j.key(format!(
            "UDP off {} / on {}; TCP connect {}",
            off.map_or("not tried", |t| t.sendto.as_str()),
            on.map_or("not tried", |t| delivery(t.delivered)),
            self.tcp.first().map_or("not tried", |t| t.connect.as_str())
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// dontroute.bypasses_routing

/// An address reachable only through the gateway (host b).
const FAR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 7);
/// The gateway: host b's end of the link, on-link for host a.
const GATEWAY: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);

/// How each UDP send asks for the route: no option, the socket option, the
/// send flag, and the socket option to an on-link destination.
const PLAIN: &str = "plain";
const SO: &str = "SO_DONTROUTE";
const MSG: &str = "MSG_DONTROUTE";
const ON_LINK: &str = "SO_DONTROUTE, on-link";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTry {
    /// plain, SO_DONTROUTE, MSG_DONTROUTE, or SO_DONTROUTE to an on-link address.
    pub how: String,
    pub to: Ipv4Addr,
    /// The datagram's payload length, which tells its frame apart.
    pub len: usize,
    /// sendto's result: ok or an errno name.
    pub sendto: String,
    /// The destination MAC of the datagram's frame; none when none was seen.
    pub dst_mac: Option<String>,
}

/// Sends to an address behind a gateway route, with and without
/// SO_DONTROUTE / MSG_DONTROUTE, and what went on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DontRoute {
    pub far: Ipv4Addr,
    pub gateway: Ipv4Addr,
    pub gateway_mac: String,
    pub udp: Vec<RouteTry>,
    /// Lengths of the datagrams the gateway host's socket received.
    pub gateway_received: Vec<usize>,
    /// connect() to the far address from a TCP socket with SO_DONTROUTE.
    pub tcp_connect: String,
    pub arp_requests_for_far: usize,
    /// Frames to the far address: UDP payload lengths, 0 for a TCP segment.
    pub frames_to_far: Vec<usize>,
}

fn dontroute_bypasses_routing(lab: &mut Lab) -> Result<DontRoute> {
    let link = Link::pair_v4(lab)?;
    Netlink::open()?.add_route(
        IpAddr::from([203, 0, 113, 0]),
        24,
        Some(GATEWAY.into()),
        ifindex("veth-a")?,
    )?;
    let gateway_mac = mac_text(&link.b.run(|| hwaddr("veth-b"))??);
    let rx = udp_bound(&link.b, SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0))?;
    let port = rx.local_addr()?.port();
    let mut cap = Capture::start("veth-a")?;

    let mut udp = Vec::new();
    let tries: [(&str, Ipv4Addr, bool, i32); 4] = [
        (PLAIN, FAR, false, 0),
        (SO, FAR, true, 0),
        (MSG, FAR, false, libc::MSG_DONTROUTE),
        (ON_LINK, GATEWAY, true, 0),
    ];
    // A payload length of its own (1, 2, ...) tells each attempt's frame apart.
    for ((how, to, opt, flags), len) in tries.into_iter().zip(1..) {
        let tx = Sock::udp(Family::V4)?;
        tx.set_int(libc::SOL_SOCKET, libc::SO_DONTROUTE, i32::from(opt))
            .context("SO_DONTROUTE")?;
        let r = tx.send_to(&vec![b'd'; len], flags, SocketAddr::new(to.into(), port));
        let dst_mac = if r.is_ok() {
            cap.wait_for(&format!("the datagram to {to}"), Duration::from_secs(2), |f| {
                matches!(f.decode(), Packet::Udp(d) if d.dport == port && d.payload as usize == len)
            })
            .ok()
            .and_then(|f| udp_dst_mac(&f))
        } else {
            None
        };
        udp.push(RouteTry {
            how: how.to_string(),
            to,
            len,
            sendto: result_name(&r),
            dst_mac,
        });
    }
    let gateway_received = received(&rx, delivery_wait(true))?;
    let tcp = Sock::tcp(Family::V4)?;
    tcp.set_int(libc::SOL_SOCKET, libc::SO_DONTROUTE, 1)?;
    let tcp_connect = connect_bounded(&tcp, SocketAddr::new(FAR.into(), port));
    let frames = cap.frames()?;
    let arp_requests_for_far = frames.iter().filter(|f| arp_target(f) == Some(FAR)).count();
    let frames_to_far = payloads_to(&frames, FAR);
    Ok(DontRoute {
        far: FAR,
        gateway: GATEWAY,
        gateway_mac,
        udp,
        gateway_received,
        tcp_connect,
        arp_requests_for_far,
        frames_to_far,
    })
}

/// The frames to `dst`: a UDP datagram as its payload length, a TCP
/// segment as 0.
fn payloads_to(frames: &[Frame], dst: Ipv4Addr) -> Vec<usize> {
    let dst = IpAddr::from(dst);
    frames
        .iter()
        .filter_map(|f| match f.decode() {
            Packet::Udp(d) if d.dst == dst => Some(d.payload as usize),
            Packet::Tcp(s) if s.dst == dst => Some(0),
            _ => None,
        })
        .collect()
}

impl DontRoute {
    /// The gateway host received the on-link datagram.
    fn on_link_delivered(&self) -> bool {
        self.attempt(ON_LINK)
            .is_some_and(|t| self.gateway_received.contains(&t.len))
    }

    fn attempt(&self, how: &str) -> Option<&RouteTry> {
        self.udp.iter().find(|t| t.how == how)
    }

    /// sendto's result for `how`, or "not tried".
    fn result_of(&self, how: &str) -> &str {
        self.attempt(how).map_or("not tried", |t| t.sendto.as_str())
    }

    /// Whether the send `how` went out to the gateway's MAC.
    fn to_gateway(&self, how: &str) -> bool {
        self.attempt(how)
            .is_some_and(|t| t.dst_mac.as_deref() == Some(self.gateway_mac.as_str()))
    }

    /// "ok, a frame to 02:00:00:00:00:0b" for `how`.
    fn sent_text(&self, how: &str) -> String {
        match self.attempt(how) {
            None => "not tried".into(),
            Some(t) => match &t.dst_mac {
                Some(m) => format!("{}, a frame to {m}", t.sendto),
                None => format!("{}, no frame", t.sendto),
            },
        }
    }
}

impl Observation for DontRoute {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let gw = format!("ok, a frame to {}", self.gateway_mac);
        j.expect(
            "without the option: sent to the gateway's MAC",
            self.result_of(PLAIN) == "ok" && self.to_gateway(PLAIN),
            &gw,
            self.sent_text(PLAIN),
        );
        j.expect(
            "SO_DONTROUTE / MSG_DONTROUTE to the far address",
            self.result_of(SO) == "ENETUNREACH" && self.result_of(MSG) == "ENETUNREACH",
            "SO_DONTROUTE ENETUNREACH, MSG_DONTROUTE ENETUNREACH",
            format!(
                "SO_DONTROUTE {}, MSG_DONTROUTE {}",
                self.result_of(SO),
                self.result_of(MSG)
            ),
        );
        let plain_len: Vec<usize> = self.attempt(PLAIN).map(|t| t.len).into_iter().collect();
        j.expect(
            "on the wire towards the far address: only the plain send",
            !plain_len.is_empty() && self.frames_to_far == plain_len,
            format!("{} (the plain send alone)", plain_len.show()),
            self.frames_to_far.show(),
        );
        j.expect_eq(
            "no ARP request for the far address",
            &0,
            &self.arp_requests_for_far,
        );
        j.expect(
            "SO_DONTROUTE to the on-link gateway: sent and delivered",
            self.result_of(ON_LINK) == "ok" && self.to_gateway(ON_LINK) && self.on_link_delivered(),
            format!("{gw}, delivered"),
            format!(
                "{}, {}",
                self.sent_text(ON_LINK),
                delivery(self.on_link_delivered())
            ),
        );
        j.expect_eq(
            "TCP with SO_DONTROUTE: connect to the far address",
            "ENETUNREACH",
            self.tcp_connect.as_str(),
        );

        let via_gw = self.to_gateway(PLAIN);
        let dontroute_direct = self.arp_requests_for_far > 0;
        let dontroute_gw = self.to_gateway(SO);
        let verdict = if dontroute_gw || !via_gw {
            Verdict::Refuted
        } else if dontroute_direct {
            Verdict::Holds
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "to {} (route via {}): plain -> {}; SO_DONTROUTE -> {}, MSG_DONTROUTE -> {}, TCP connect -> {}; \
                 {} ARP requests for {}; on-link {} with SO_DONTROUTE -> {}, {}",
                self.far,
                self.gateway,
                self.sent_text(PLAIN),
                self.result_of(SO),
                self.result_of(MSG),
                self.tcp_connect,
                self.arp_requests_for_far,
                self.far,
                self.gateway,
                self.result_of(ON_LINK),
                delivery(self.on_link_delivered())
            ),
        );
        j.key(format!(
            "plain -> {}; DONTROUTE -> {}",
            if via_gw {
                "gateway MAC"
            } else {
                "not to the gateway"
            },
            self.result_of(SO)
        ));
        j
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    // -----------------------------------------------------------------------
    // helpers

    /// An Ethernet frame of `ethertype` carrying `body`, to `dst`.
    fn frame(dst: [u8; 6], ethertype: [u8; 2], body: &[u8]) -> Frame {
        let mut data = dst.to_vec();
        data.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x0a]);
        data.extend_from_slice(&ethertype);
        data.extend_from_slice(body);
        Frame {
            t_ns: 0,
            len: data.len() as u32,
            iface: "veth-a".into(),
            data,
        }
    }

    fn arp_request_for(target: [u8; 4]) -> Frame {
        let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
        arp.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x0a, 198, 51, 100, 1]);
        arp.extend_from_slice(&[0; 6]);
        arp.extend_from_slice(&target);
        frame([0xff; 6], [0x08, 0x06], &arp)
    }

    fn udp_frame(dst_mac: [u8; 6]) -> Frame {
        let mut ip = vec![0x45, 0, 0, 29, 0, 0, 0x40, 0, 64, 17, 0, 0];
        ip.extend_from_slice(&[198, 51, 100, 1, 198, 51, 100, 255]);
        ip.extend_from_slice(&[0x30, 0x39, 0x30, 0x39, 0, 9, 0, 0, b'b']);
        frame(dst_mac, [0x08, 0x00], &ip)
    }

    #[test]
    fn frames_tell_their_arp_target_and_mac() {
        assert_eq!(
            Some(Ipv4Addr::new(203, 0, 113, 7)),
            arp_target(&arp_request_for([203, 0, 113, 7]))
        );
        assert_eq!(None, arp_target(&udp_frame([0xff; 6])));
        let mut short = arp_request_for([203, 0, 113, 7]);
        short.data.truncate(41);
        assert_eq!(None, arp_target(&short));
        assert_eq!(
            Some("ff:ff:ff:ff:ff:ff".to_string()),
            udp_dst_mac(&udp_frame([0xff; 6]))
        );
        assert_eq!(
            Some("02:00:00:00:00:0b".to_string()),
            udp_dst_mac(&udp_frame([0x02, 0, 0, 0, 0, 0x0b]))
        );
        assert_eq!(None, udp_dst_mac(&arp_request_for([1, 2, 3, 4])));
    }

    /// An IPv4 TCP segment (no options) to `dst`.
    fn tcp_frame(dst: [u8; 4]) -> Frame {
        let mut ip = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 198, 51, 100, 1];
        ip.extend_from_slice(&dst);
        ip.extend_from_slice(&[
            0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff,
        ]);
        ip.extend_from_slice(&[0, 0, 0, 0]);
        frame([0x02, 0, 0, 0, 0, 0x0b], [0x08, 0x00], &ip)
    }

    #[test]
    fn payloads_to_one_address() {
        let mut to_far = udp_frame([0x02, 0, 0, 0, 0, 0x0b]);
        to_far.data[30..34].copy_from_slice(&[203, 0, 113, 7]);
        let frames = [
            to_far,
            udp_frame([0xff; 6]),
            tcp_frame([203, 0, 113, 7]),
            tcp_frame([198, 51, 100, 2]),
            arp_request_for([203, 0, 113, 7]),
        ];
        assert_eq!(vec![1, 0], payloads_to(&frames, FAR));
        assert_eq!(vec![1], payloads_to(&frames, SUBNET_BROADCAST));
        assert_eq!(vec![0], payloads_to(&frames, GATEWAY));
    }

    #[test]
    fn capabilities_by_bit() {
        assert!(has_cap(1 << 12, CAP_NET_ADMIN));
        assert!(has_cap(0x1ff_ffff_ffff, CAP_NET_ADMIN));
        assert!(!has_cap(0, CAP_NET_ADMIN));
        assert!(!has_cap(!(1 << 12), CAP_NET_ADMIN));
        assert!(!has_cap(1 << 13, CAP_NET_ADMIN));
    }

    #[test]
    fn words_for_values() {
        assert_eq!(
            (Duration::from_secs(2), Duration::ZERO),
            (delivery_wait(true), delivery_wait(false))
        );
        assert_eq!(
            ["1", "2", "-1", "0x100", "0", "255"],
            [1, 2, -1, 0x100, 0, 255].map(optval)
        );
        assert_eq!(
            ("delivered", "not delivered"),
            (delivery(true), delivery(false))
        );
        assert_eq!(ms(950), keepalive_lower_bound(1));
        assert_eq!(Duration::ZERO, keepalive_lower_bound(0));
        assert_eq!(Duration::ZERO, keepalive_lower_bound(-1));
        assert_eq!("a probe after 1016 ms", probe_text(true, ms(1016)));
        assert_eq!("no probe within 3016 ms", probe_text(false, ms(3016)));
        assert_eq!(
            ["RST, no FIN", "FIN", "RST and FIN", "neither RST nor FIN"],
            [
                close_text(true, false),
                close_text(false, true),
                close_text(true, true),
                close_text(false, false)
            ]
        );
        assert_eq!(("on", "off"), (on_off(true), on_off(false)));
        assert_eq!(
            ("non-blocking", "blocking"),
            (blocking_text(true), blocking_text(false))
        );
        assert_eq!(
            ("inherited", "not inherited"),
            (nonblocking_text(true), nonblocking_text(false))
        );
    }

    // -----------------------------------------------------------------------
    // sockopt.bool_on_off

    /// The read-back of every setting, with getsockopt as `reads` says.
    fn read_back(reads: impl Fn(i32) -> i32) -> Vec<ReadBack> {
        BOOLEANS
            .iter()
            .flat_map(|(option, _, _)| {
                BOOL_VALUES.iter().map(|v| ReadBack {
                    option: option.to_string(),
                    value: *v,
                    setsockopt: "ok".into(),
                    getsockopt: reads(*v),
                })
            })
            .collect()
    }

    /// What Linux 6.18 did (a real run's numbers).
    fn bool_linux() -> BoolOnOff {
        BoolOnOff {
            read_back: read_back(|v| i32::from(v != 0)),
            nodelay_2_segments: vec![1; 5],
            nodelay_0_segments: vec![1, 4],
            broadcast_minus1: Broadcast {
                so_broadcast: -1,
                sendto: "ok".into(),
                delivered: true,
            },
            broadcast_0: Broadcast {
                so_broadcast: 0,
                sendto: "EACCES".into(),
                delivered: false,
            },
            reuseaddr_0x100_second_bind: "ok".into(),
            reuseaddr_0_second_bind: "EADDRINUSE".into(),
            oobinline_0x100: Urgent {
                stream: "abc".into(),
                msg_oob: "EINVAL".into(),
            },
            oobinline_0: Urgent {
                stream: "ab".into(),
                msg_oob: "c".into(),
            },
            keepidle_s: 1,
            keepalive_2_probe: true,
            keepalive_2_probe_after: ms(1016),
        }
    }

    /// The claim's world: only 1 turns an option on; other values leave it
    /// off and do nothing.
    fn bool_only_one() -> BoolOnOff {
        BoolOnOff {
            read_back: read_back(|v| i32::from(v == 1)),
            nodelay_2_segments: vec![1, 4],
            broadcast_minus1: Broadcast {
                so_broadcast: -1,
                sendto: "EACCES".into(),
                delivered: false,
            },
            reuseaddr_0x100_second_bind: "EADDRINUSE".into(),
            oobinline_0x100: Urgent {
                stream: "ab".into(),
                msg_oob: "c".into(),
            },
            keepalive_2_probe: false,
            keepalive_2_probe_after: ms(3016),
            ..bool_linux()
        }
    }

    fn with_row(mut o: BoolOnOff, option: &str, value: i32, set: &str, reads: i32) -> BoolOnOff {
        for r in o.read_back.iter_mut() {
            if r.option == option && r.value == value {
                r.setsockopt = set.into();
                r.getsockopt = reads;
            }
        }
        o
    }

    const COVERAGE: &str = "each boolean option set to each value";
    const READ_BACK: &str =
        "every value accepted; getsockopt reads 1 after any non-zero value, 0 after 0";
    const NODELAY_2: &str = "TCP_NODELAY=2: one segment per write";
    const NODELAY_0: &str = "TCP_NODELAY=0: Nagle coalesces again";
    const BROADCAST: &str = "SO_BROADCAST=-1: broadcast sent and delivered; =0: EACCES";
    const REUSE: &str = "SO_REUSEADDR=0x100: second UDP bind; =0: refused";
    const OOB: &str =
        "SO_OOBINLINE=0x100: urgent byte in the stream, MSG_OOB EINVAL; =0: out of band";
    const KEEPALIVE_2: &str = "SO_KEEPALIVE=2: a probe after TCP_KEEPIDLE";

    #[rstest]
    #[case::linux(bool_linux(), Verdict::Holds, &[])]
    #[case::only_one_turns_on(bool_only_one(), Verdict::Differs,
        &[READ_BACK, NODELAY_2, BROADCAST, REUSE, OOB, KEEPALIVE_2])]
    // A libc that stores the int as given and echoes it back.
    #[case::echoed(BoolOnOff { read_back: read_back(|v| v), ..bool_linux() },
        Verdict::Differs, &[READ_BACK])]
    #[case::one_not_on(with_row(bool_linux(), "SO_DONTROUTE", 1, "ok", 0),
        Verdict::Refuted, &[READ_BACK])]
    #[case::zero_not_off(with_row(bool_linux(), "SO_KEEPALIVE", 0, "ok", 1),
        Verdict::Refuted, &[READ_BACK])]
    #[case::zero_reads_other(with_row(bool_linux(), "SO_KEEPALIVE", 0, "ok", 2),
        Verdict::Refuted, &[READ_BACK])]
    #[case::refused_yet_on(with_row(bool_linux(), "SO_REUSEPORT", 2, "EINVAL", 1),
        Verdict::Holds, &[READ_BACK])]
    #[case::one_setting_missing(BoolOnOff { read_back: bool_linux().read_back[1..].to_vec(),
        ..bool_linux() }, Verdict::Holds, &[COVERAGE])]
    #[case::one_setting_twice(BoolOnOff {
        read_back: [bool_linux().read_back, bool_linux().read_back[..1].to_vec()].concat(),
        ..bool_linux() }, Verdict::Holds, &[COVERAGE])]
    #[case::nothing_read(BoolOnOff { read_back: vec![], ..bool_linux() },
        Verdict::Holds, &[COVERAGE])]
    #[case::nagle_off(BoolOnOff { nodelay_0_segments: vec![1; 5], ..bool_linux() },
        Verdict::Holds, &[NODELAY_0])]
    #[case::nagle_four_segments(BoolOnOff { nodelay_0_segments: vec![1, 1, 1, 2], ..bool_linux() },
        Verdict::Holds, &[])]
    #[case::nagle_lost_a_byte(BoolOnOff { nodelay_0_segments: vec![1, 3], ..bool_linux() },
        Verdict::Holds, &[NODELAY_0])]
    #[case::nagle_extra_byte(BoolOnOff { nodelay_0_segments: vec![1, 5], ..bool_linux() },
        Verdict::Holds, &[NODELAY_0])]
    #[case::broadcast_without_option(BoolOnOff { broadcast_0: Broadcast { so_broadcast: 0,
        sendto: "ok".into(), delivered: true }, ..bool_linux() }, Verdict::Holds, &[BROADCAST])]
    #[case::broadcast_lost(BoolOnOff { broadcast_minus1: Broadcast { so_broadcast: -1,
        sendto: "ok".into(), delivered: false }, ..bool_linux() }, Verdict::Holds, &[BROADCAST])]
    // Shown with 1, not -1: says nothing about other values.
    #[case::broadcast_with_1(BoolOnOff { broadcast_minus1: Broadcast { so_broadcast: 1,
        ..bool_linux().broadcast_minus1 }, ..bool_linux() }, Verdict::Holds, &[BROADCAST])]
    #[case::broadcast_refused_at_1(BoolOnOff { broadcast_0: Broadcast { so_broadcast: 1,
        ..bool_linux().broadcast_0 }, ..bool_linux() }, Verdict::Holds, &[BROADCAST])]
    #[case::reuse_without_option(BoolOnOff { reuseaddr_0_second_bind: "ok".into(),
        ..bool_linux() }, Verdict::Holds, &[REUSE])]
    #[case::oob_inline_at_0(BoolOnOff { oobinline_0: bool_linux().oobinline_0x100,
        ..bool_linux() }, Verdict::Holds, &[OOB])]
    #[case::probe_early(BoolOnOff { keepalive_2_probe_after: ms(949), ..bool_linux() },
        Verdict::Holds, &[KEEPALIVE_2])]
    #[case::probe_just_in_time(BoolOnOff { keepalive_2_probe_after: ms(950), ..bool_linux() },
        Verdict::Holds, &[])]
    #[case::no_probe(BoolOnOff { keepalive_2_probe: false, ..bool_linux() },
        Verdict::Holds, &[KEEPALIVE_2])]
    fn bool_on_off_judgement(
        #[case] o: BoolOnOff,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    /// The key says whether every effect was seen: any one missing shows.
    #[rstest]
    #[case::linux(bool_linux(), "seen")]
    #[case::nodelay_2(BoolOnOff { nodelay_2_segments: vec![1, 4], ..bool_linux() }, "not all seen")]
    #[case::nodelay_0(BoolOnOff { nodelay_0_segments: vec![1; 5], ..bool_linux() }, "not all seen")]
    #[case::broadcast(BoolOnOff { broadcast_minus1: bool_only_one().broadcast_minus1, ..bool_linux() },
        "not all seen")]
    #[case::reuse(BoolOnOff { reuseaddr_0x100_second_bind: "EADDRINUSE".into(), ..bool_linux() },
        "not all seen")]
    #[case::oob(BoolOnOff { oobinline_0x100: bool_linux().oobinline_0, ..bool_linux() }, "not all seen")]
    #[case::keepalive(BoolOnOff { keepalive_2_probe: false, ..bool_linux() }, "not all seen")]
    fn bool_effects_in_the_key(#[case] o: BoolOnOff, #[case] seen: &str) {
        let key = o.judge().key;
        assert_eq!(
            format!("non-zero -> on for 28/28 settings; effects of 2/-1/0x100 {seen}"),
            key
        );
    }

    #[test]
    fn bool_on_off_words() {
        let j = bool_linux().judge();
        assert_eq!(
            "non-zero -> on for 28/28 settings; effects of 2/-1/0x100 seen",
            j.key
        );
        assert_eq!(
            "7 options x values 1, 2, -1, 0x100, 0: 35 of 35 read back as expected; TCP_NODELAY=2 -> \
             segments [1, 1, 1, 1, 1] (0 -> [1, 4]); SO_BROADCAST=-1 -> ok, delivered, 0 -> EACCES; \
             SO_REUSEADDR=0x100 -> second bind ok, 0 -> EADDRINUSE; SO_OOBINLINE=0x100 -> stream abc, \
             MSG_OOB EINVAL; SO_KEEPALIVE=2 -> a probe after 1016 ms",
            j.because
        );
        let strict = bool_only_one().judge();
        assert_eq!(
            "non-zero -> on for 7/28 settings; effects of 2/-1/0x100 not all seen",
            strict.key
        );
        assert!(strict
            .because
            .starts_with("7 options x values 1, 2, -1, 0x100, 0: 14 of 35 read back"));
        let check = |j: &Judgement, what: &str| {
            j.checks
                .iter()
                .find(|c| c.what == what)
                .map(|c| (c.expected.clone(), c.observed.clone()))
        };
        assert_eq!(
            Some((
                "every setting ok, reading 1 after non-zero and 0 after 0".to_string(),
                "21 of 35 otherwise: SO_KEEPALIVE=2: ok, reads 0; SO_KEEPALIVE=-1: ok, reads 0; \
                 SO_KEEPALIVE=0x100: ok, reads 0; SO_REUSEADDR=2: ok, reads 0; SO_REUSEADDR=-1: ok, \
                 reads 0; SO_REUSEADDR=0x100: ok, reads 0; SO_REUSEPORT=2: ok, reads 0; SO_REUSEPORT=-1: \
                 ok, reads 0; SO_REUSEPORT=0x100: ok, reads 0; SO_BROADCAST=2: ok, reads 0; \
                 SO_BROADCAST=-1: ok, reads 0; SO_BROADCAST=0x100: ok, reads 0; SO_OOBINLINE=2: ok, \
                 reads 0; SO_OOBINLINE=-1: ok, reads 0; SO_OOBINLINE=0x100: ok, reads 0; \
                 SO_DONTROUTE=2: ok, reads 0; SO_DONTROUTE=-1: ok, reads 0; SO_DONTROUTE=0x100: ok, \
                 reads 0; TCP_NODELAY=2: ok, reads 0; TCP_NODELAY=-1: ok, reads 0; \
                 TCP_NODELAY=0x100: ok, reads 0"
                    .to_string()
            )),
            check(&strict, READ_BACK)
        );
        assert_eq!(
            Some((
                "35 settings (7 options x 1, 2, -1, 0x100, 0)".to_string(),
                "34 settings, without SO_KEEPALIVE=1".to_string()
            )),
            check(
                &BoolOnOff {
                    read_back: bool_linux().read_back[1..].to_vec(),
                    ..bool_linux()
                }
                .judge(),
                COVERAGE
            )
        );
        assert_eq!(
            Some((
                "0x100: stream abc, MSG_OOB EINVAL; 0: stream ab, MSG_OOB c".to_string(),
                "0x100: stream ab, MSG_OOB c; 0: stream ab, MSG_OOB c".to_string()
            )),
            check(&strict, OOB)
        );
        assert_eq!(
            Some((
                "-1: ok, delivered; 0: EACCES, not delivered".to_string(),
                "-1: EACCES, not delivered; 0: EACCES, not delivered".to_string()
            )),
            check(&strict, BROADCAST)
        );
        assert_eq!(
            Some((
                "a probe after >= 950 ms".to_string(),
                "no probe within 3016 ms".to_string()
            )),
            check(&strict, KEEPALIVE_2)
        );
    }

    // -----------------------------------------------------------------------
    // sockopt.accept_inherits

    fn opts(rcvbuf: i32, sndbuf: i32, on: bool, keepidle: i32, maxseg: i32) -> Opts {
        Opts {
            rcvbuf,
            sndbuf,
            keepalive: i32::from(on),
            keepidle,
            linger_on: on,
            linger_s: 0,
            nodelay: i32::from(on),
            maxseg,
            nonblocking: false,
        }
    }

    /// What Linux 6.18 did (a real run's numbers).
    fn accept_linux() -> AcceptInherits {
        AcceptInherits {
            listener: Opts {
                nonblocking: true,
                ..opts(32_768, 32_768, true, 1, 1000)
            },
            accepted: opts(32_768, 32_768, true, 1, 988),
            fresh: opts(131_072, 16_384, false, 7200, 536),
            keepidle_set: 1,
            maxseg_set: 1000,
            tcp_option_bytes: 12,
            seen: Inherited {
                idle_recv_took: Duration::from_micros(103_581),
                idle_recv: "EAGAIN".into(),
                small_writes_on_wire: vec![1, 2, 3, 4, 5],
                small_write_segments: vec![1; 5],
                synack_mss: Some(1000),
                max_segment: 988,
                window_at_read: 0,
                queued_at_zero_window: 16_940,
                send_queue_at_eagain: 27_808,
                keepalive_probe_after: ms(1012),
                keepalive_probe: true,
                rst_on_close: true,
                fin_on_close: false,
            },
        }
    }

    fn accepted(f: impl FnOnce(&mut Opts)) -> AcceptInherits {
        let mut o = accept_linux();
        f(&mut o.accepted);
        o
    }

    fn fresh(f: impl FnOnce(&mut Opts)) -> AcceptInherits {
        let mut o = accept_linux();
        f(&mut o.fresh);
        o
    }

    fn seen(f: impl FnOnce(&mut Inherited)) -> AcceptInherits {
        let mut o = accept_linux();
        f(&mut o.seen);
        o
    }

    const GETSOCKOPT: &str =
        "getsockopt on the accepted socket: buffers, keep-alive, idle time, linger, nodelay";
    const FRESH: &str = "a fresh socket differs in each (so the values came from the listener)";
    const FLAGS: &str = "listener non-blocking, accepted socket blocking";
    const IDLE_RECV: &str = "O_NONBLOCK not inherited: an idle recv waits for SO_RCVTIMEO";
    const ON_WIRE: &str = "TCP_NODELAY inherited: each one-byte write on the wire as it returns";
    const SEGMENTS: &str = "TCP_NODELAY inherited: five one-byte segments once all are read";
    const MAXSEG: &str = "TCP_MAXSEG inherited: SYN-ACK MSS, largest segment, getsockopt";
    const RCVBUF: &str =
        "SO_RCVBUF inherited: data held at zero window within the accepted socket's buffer";
    const SNDBUF: &str =
        "SO_SNDBUF inherited: send queue at EAGAIN within the accepted socket's buffer";
    const KEEPALIVE: &str = "SO_KEEPALIVE and TCP_KEEPIDLE inherited: a probe after the idle time";
    const LINGER: &str = "SO_LINGER {1,0} inherited: close sends RST, no FIN";

    #[rstest]
    #[case::linux(accept_linux(), Verdict::Differs, &[])]
    // BSD: the accepted socket inherits O_NONBLOCK too; its idle recv
    // returns EAGAIN at once.
    #[case::bsd(AcceptInherits { accepted: Opts { nonblocking: true, ..accept_linux().accepted },
        seen: Inherited { idle_recv_took: ms(0), ..accept_linux().seen }, ..accept_linux() },
        Verdict::Holds, &[FLAGS, IDLE_RECV])]
    // Nothing inherited: the accepted socket has a fresh socket's options.
    #[case::nothing_inherited(AcceptInherits {
        accepted: opts(131_072, 16_384, false, 7200, 1448),
        seen: Inherited { small_writes_on_wire: vec![1, 1, 1, 1, 1], small_write_segments: vec![1, 4],
            synack_mss: Some(1460), max_segment: 1448, queued_at_zero_window: 65_000,
            send_queue_at_eagain: 120_000, keepalive_probe: false, keepalive_probe_after: ms(3016),
            rst_on_close: false, fin_on_close: true, ..accept_linux().seen },
        ..accept_linux() }, Verdict::Refuted,
        &[GETSOCKOPT, FRESH, ON_WIRE, SEGMENTS, MAXSEG, RCVBUF, SNDBUF, KEEPALIVE, LINGER])]
    #[case::keepidle_other(accepted(|a| a.keepidle = 2), Verdict::Differs, &[GETSOCKOPT])]
    #[case::fresh_rcvbuf_same(fresh(|f| f.rcvbuf = 32_768), Verdict::Differs, &[FRESH])]
    #[case::fresh_sndbuf_same(fresh(|f| f.sndbuf = 32_768), Verdict::Differs, &[FRESH])]
    #[case::fresh_keepalive_same(fresh(|f| f.keepalive = 1), Verdict::Differs, &[FRESH])]
    #[case::fresh_keepidle_same(fresh(|f| f.keepidle = 1), Verdict::Differs, &[FRESH])]
    #[case::fresh_linger_same(fresh(|f| f.linger_on = true), Verdict::Differs, &[FRESH])]
    #[case::fresh_nodelay_same(fresh(|f| f.nodelay = 1), Verdict::Differs, &[FRESH])]
    #[case::listener_blocking(AcceptInherits { listener: Opts { nonblocking: false,
        ..accept_linux().listener }, ..accept_linux() }, Verdict::Differs, &[FLAGS])]
    #[case::recv_not_timed_out(seen(|s| s.idle_recv = "EINTR".into()), Verdict::Differs, &[IDLE_RECV])]
    #[case::recv_short(seen(|s| s.idle_recv_took = Duration::from_micros(89_999)),
        Verdict::Differs, &[IDLE_RECV])]
    #[case::recv_at_bound(seen(|s| s.idle_recv_took = ms(90)), Verdict::Differs, &[])]
    #[case::writes_held(seen(|s| s.small_writes_on_wire = vec![1, 1, 1, 1, 2]),
        Verdict::Refuted, &[ON_WIRE])]
    #[case::segments_merged(seen(|s| s.small_write_segments = vec![1, 1, 1, 2]),
        Verdict::Differs, &[SEGMENTS])]
    #[case::no_synack_mss(seen(|s| s.synack_mss = None), Verdict::Differs, &[MAXSEG])]
    #[case::full_mss_segments(seen(|s| s.max_segment = 1000), Verdict::Refuted, &[MAXSEG])]
    #[case::maxseg_reads_other(accepted(|a| a.maxseg = 1000), Verdict::Differs, &[MAXSEG])]
    #[case::nothing_held(seen(|s| s.queued_at_zero_window = 0), Verdict::Differs, &[RCVBUF])]
    #[case::window_open(seen(|s| s.window_at_read = 1), Verdict::Differs, &[RCVBUF])]
    #[case::held_at_bound(seen(|s| s.queued_at_zero_window = 32_768), Verdict::Differs, &[])]
    #[case::held_too_much(seen(|s| s.queued_at_zero_window = 32_769), Verdict::Differs, &[RCVBUF])]
    #[case::nothing_queued(seen(|s| s.send_queue_at_eagain = 0), Verdict::Differs, &[SNDBUF])]
    #[case::queued_at_bound(seen(|s| s.send_queue_at_eagain = 32_768), Verdict::Differs, &[])]
    #[case::queued_too_much(seen(|s| s.send_queue_at_eagain = 32_769), Verdict::Differs, &[SNDBUF])]
    #[case::probe_early(seen(|s| s.keepalive_probe_after = ms(949)), Verdict::Differs, &[KEEPALIVE])]
    #[case::probe_at_bound(seen(|s| s.keepalive_probe_after = ms(950)), Verdict::Differs, &[])]
    #[case::no_probe(seen(|s| s.keepalive_probe = false), Verdict::Refuted, &[KEEPALIVE])]
    #[case::fin_not_rst(seen(|s| { s.rst_on_close = false; s.fin_on_close = true }),
        Verdict::Refuted, &[LINGER])]
    #[case::rst_and_fin(seen(|s| s.fin_on_close = true), Verdict::Differs, &[LINGER])]
    fn accept_inherits_judgement(
        #[case] o: AcceptInherits,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn accept_inherits_words() {
        let j = accept_linux().judge();
        assert_eq!(
            "6 of 6 options inherited (seen on the wire); O_NONBLOCK not inherited",
            j.key
        );
        assert_eq!(
            "accepted socket: SO_RCVBUF 32768 / SO_SNDBUF 32768 (listener 32768 / 32768, fresh socket \
             131072 / 16384); 16940 B held at zero window, 27808 B queued at EAGAIN; five 1-byte writes -> \
             [1, 1, 1, 1, 1] on the wire; segments <= 988 B (SYN-ACK MSS 1000); keep-alive: a probe after \
             1012 ms; close -> RST, no FIN; O_NONBLOCK not inherited (idle recv EAGAIN after 104 ms)",
            j.because
        );
        let c = j.checks.iter().find(|c| c.what == GETSOCKOPT).unwrap();
        assert_eq!(
            "SO_RCVBUF 32768, SO_SNDBUF 32768, SO_KEEPALIVE 1, TCP_KEEPIDLE 1 s, SO_LINGER on 0 s, \
             TCP_NODELAY 1",
            c.observed
        );
        let c = j.checks.iter().find(|c| c.what == MAXSEG).unwrap();
        assert_eq!(
            "SYN-ACK MSS 1000, largest segment 988 B, TCP_MAXSEG 988",
            c.expected
        );
        let bsd = AcceptInherits {
            accepted: Opts {
                nonblocking: true,
                ..accept_linux().accepted
            },
            ..accept_linux()
        }
        .judge();
        assert_eq!(
            "6 of 6 options inherited (seen on the wire); O_NONBLOCK inherited",
            bsd.key
        );
        let none = seen(|s| {
            s.keepalive_probe = false;
            s.max_segment = 1000;
        })
        .judge();
        assert!(none.key.starts_with("4 of 6 options inherited"));
        assert!(none.because.contains("keep-alive: no probe within 1012 ms"));
    }

    #[test]
    fn full_segment_leaves_room_for_options() {
        assert_eq!(988, accept_linux().full_segment());
        let no_ts = AcceptInherits {
            tcp_option_bytes: 0,
            ..accept_linux()
        };
        assert_eq!(1000, no_ts.full_segment());
        let absurd = AcceptInherits {
            tcp_option_bytes: 2000,
            ..accept_linux()
        };
        assert_eq!(0, absurd.full_segment());
    }

    // -----------------------------------------------------------------------
    // so_debug.privilege

    fn seg(from: &str, flags: &str, payload: u32, syn_opts: bool) -> ShapeSeg {
        ShapeSeg {
            from: from.into(),
            flags: flags.into(),
            payload,
            mss: syn_opts.then_some(65_495),
            wscale: syn_opts.then_some(10),
        }
    }

    fn exchange() -> Vec<ShapeSeg> {
        vec![
            seg("client", "S", 0, true),
            seg("server", "S.", 0, true),
            seg("client", "P.", 5, false),
            seg("server", "P.", 5, false),
            seg("client", "F.", 0, false),
            seg("server", "F.", 0, false),
        ]
    }

    fn child(set_1: &str) -> ChildInUserns {
        ChildInUserns {
            unshare: "ok".into(),
            set_1: set_1.into(),
            set_0: "ok".into(),
        }
    }

    /// Linux 6.18 as root.
    fn debug_root() -> DebugPrivilege {
        DebugPrivilege {
            privilege: Privilege::Root,
            cap_net_admin: true,
            uid_map: INITIAL_UID_MAP.into(),
            set_1: "ok".into(),
            read_after_1: 1,
            set_0: "ok".into(),
            child_in_new_userns: child("EACCES"),
            wire_without: exchange(),
            wire_with: Some(exchange()),
        }
    }

    /// Linux 6.18 rootless: the case's root is a user namespace's.
    fn debug_userns() -> DebugPrivilege {
        DebugPrivilege {
            privilege: Privilege::UserNamespace,
            uid_map: "0 65534 1".into(),
            set_1: "EACCES".into(),
            read_after_1: 0,
            wire_with: None,
            ..debug_root()
        }
    }

    const SET_1_WITH: &str =
        "setsockopt(SO_DEBUG, 1) with CAP_NET_ADMIN in the initial user namespace";
    const SET_1_WITHOUT: &str =
        "setsockopt(SO_DEBUG, 1) without CAP_NET_ADMIN in the initial user namespace";
    const READ_1: &str = "getsockopt(SO_DEBUG) after setting 1";
    const SET_0: &str = "setsockopt(SO_DEBUG, 0)";
    const CHILD: &str = "forked child in a new user namespace: unshare, set 1, set 0";
    const EXCHANGE: &str = "the exchange: a SYN, 5 B and a FIN from each side";
    const SAME_WIRE: &str = "wire with SO_DEBUG = wire without";

    #[rstest]
    #[case::root(debug_root(), Verdict::Differs, &[])]
    #[case::userns(debug_userns(), Verdict::Differs, &[])]
    // A debug mode that shows on the wire (what the claim suggests).
    #[case::wire_differs(DebugPrivilege { wire_with: Some(exchange()[1..].to_vec()), ..debug_root() },
        Verdict::Holds, &[SAME_WIRE])]
    // Root in a container: a partial uid map, so not the initial namespace.
    #[case::container_root(DebugPrivilege { uid_map: "0 100000 65536".into(), ..debug_root() },
        Verdict::Differs, &[SET_1_WITHOUT])]
    #[case::root_without_cap(DebugPrivilege { cap_net_admin: false, set_1: "EACCES".into(),
        read_after_1: 0, wire_with: None, ..debug_root() }, Verdict::Differs, &[])]
    #[case::userns_with_identity_map(DebugPrivilege { uid_map: INITIAL_UID_MAP.into(),
        ..debug_userns() }, Verdict::Differs, &[])]
    #[case::userns_allowed(DebugPrivilege { set_1: "ok".into(), read_after_1: 1,
        ..debug_userns() }, Verdict::Differs, &[SET_1_WITHOUT])]
    #[case::root_refused(DebugPrivilege { set_1: "EACCES".into(), read_after_1: 0, wire_with: None,
        ..debug_root() }, Verdict::Differs, &[SET_1_WITH])]
    #[case::set_but_reads_0(DebugPrivilege { read_after_1: 0, ..debug_root() },
        Verdict::Differs, &[READ_1])]
    #[case::refused_but_reads_1(DebugPrivilege { read_after_1: 1, ..debug_userns() },
        Verdict::Differs, &[READ_1])]
    #[case::clearing_refused(DebugPrivilege { set_0: "EACCES".into(), ..debug_userns() },
        Verdict::Differs, &[SET_0])]
    #[case::child_allowed(DebugPrivilege { child_in_new_userns: child("ok"), ..debug_root() },
        Verdict::Differs, &[CHILD])]
    #[case::child_cannot_unshare(DebugPrivilege { child_in_new_userns: ChildInUserns {
        unshare: "EPERM".into(), ..child("EACCES") }, ..debug_userns() },
        Verdict::Differs, &[CHILD])]
    #[case::exchange_cut_short(DebugPrivilege { wire_without: exchange()[..5].to_vec(),
        wire_with: Some(exchange()[..5].to_vec()), ..debug_root() }, Verdict::Differs, &[EXCHANGE])]
    fn debug_judgement(
        #[case] o: DebugPrivilege,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn debug_words() {
        let j = debug_root().judge();
        assert_eq!(
            "root: set 1 ok, child in a new user namespace EACCES",
            j.key
        );
        assert_eq!(
            "as root: SO_DEBUG=1 ok (0 ok); in a new user namespace: SO_DEBUG=1 EACCES, 0 ok; with it set, \
             the 6 segments of an exchange are the same as without",
            j.because
        );
        let c = j.checks.iter().find(|c| c.what == SAME_WIRE).unwrap();
        assert_eq!(
            "[client S mss 65495 ws 10, server S. mss 65495 ws 10, client P. 5 B, server P. 5 B, \
             client F., server F.]",
            c.observed
        );
        let u = debug_userns().judge();
        assert_eq!(
            "root of a user namespace: set 1 EACCES, child in a new user namespace EACCES",
            u.key
        );
        assert!(u
            .because
            .ends_with("could not set it here, so no wire comparison"));
        let differs = DebugPrivilege {
            wire_with: Some(vec![]),
            ..debug_root()
        }
        .judge();
        assert!(differs.because.ends_with("with it set the wire differs"));
        let c = u.checks.iter().find(|c| c.what == CHILD).unwrap();
        assert_eq!("unshare ok, set 1 EACCES, set 0 ok", c.observed);
    }

    #[rstest]
    #[case::whole(exchange(), true)]
    #[case::nothing(vec![], false)]
    #[case::no_server_syn(exchange().into_iter().filter(|s| s.flags != "S.").collect(), false)]
    #[case::no_client_syn(exchange().into_iter().filter(|s| s.flags != "S").collect(), false)]
    #[case::no_client_fin(exchange().into_iter().filter(|s| !(s.from == "client" && s.flags == "F.")).collect(), false)]
    #[case::no_server_data(exchange().into_iter().filter(|s| !(s.from == "server" && s.payload > 0)).collect(), false)]
    // A retransmitted byte: more than 5 B from the client.
    #[case::retransmitted([exchange(), vec![seg("client", "P.", 1, false)]].concat(), true)]
    #[case::short_data(exchange().into_iter().map(|s| ShapeSeg { payload: s.payload.min(4), ..s }).collect(), false)]
    #[case::pure_ack([exchange(), vec![seg("client", ".", 0, false)]].concat(), false)]
    #[case::rst_counts([exchange(), vec![seg("client", "R.", 0, false)]].concat(), true)]
    #[case::server_first(exchange()[1..].iter().cloned().chain([seg("client", "S", 0, true)]).collect(), false)]
    // Segments are counted for the side that sent them, and no other.
    #[case::fin_from_elsewhere(exchange().into_iter()
        .map(|s| if s.from == "server" && s.flags == "F." { ShapeSeg { from: "router".into(), ..s } } else { s })
        .collect(), false)]
    #[case::client_data_first([vec![seg("client", "P.", 5, false)], exchange()].concat(), false)]
    // A FIN riding on the data segment is still a whole exchange.
    #[case::fin_on_data(vec![seg("client", "S", 0, true), seg("server", "S.", 0, true),
        seg("client", "FP.", 5, false), seg("server", "FP.", 5, false)], true)]
    fn exchange_is_whole(#[case] shape: Vec<ShapeSeg>, #[case] whole: bool) {
        assert_eq!(whole, whole_exchange(&shape));
    }

    // -----------------------------------------------------------------------
    // broadcast.requires_option

    #[allow(clippy::too_many_arguments)]
    fn bcast(
        to: Ipv4Addr,
        bound: bool,
        so_broadcast: bool,
        len: usize,
        sendto: &str,
        dst_mac: Option<&str>,
        delivered: bool,
    ) -> BcastTry {
        BcastTry {
            to,
            bound,
            so_broadcast,
            len,
            sendto: sendto.into(),
            dst_mac: dst_mac.map(str::to_string),
            delivered,
        }
    }

    /// What Linux 6.18 did (a real run).
    fn broadcast_linux() -> BroadcastRequiresOption {
        let (subnet, all) = (SUBNET_BROADCAST, Ipv4Addr::BROADCAST);
        let ff = Some("ff:ff:ff:ff:ff:ff");
        BroadcastRequiresOption {
            udp: vec![
                bcast(subnet, false, false, 1, "EACCES", None, false),
                bcast(subnet, false, true, 2, "ok", ff, true),
                bcast(all, false, false, 3, "ENETUNREACH", None, false),
                bcast(all, false, true, 4, "ENETUNREACH", None, false),
                bcast(all, true, false, 5, "EACCES", None, false),
                bcast(all, true, true, 6, "ok", ff, true),
            ],
            failed_sends_on_wire: 0,
            tcp: [(subnet, false), (subnet, true), (all, true)]
                .into_iter()
                .map(|(to, so_broadcast)| TcpBcast {
                    to,
                    so_broadcast,
                    setsockopt: "ok".into(),
                    connect: "ENETUNREACH".into(),
                })
                .collect(),
            tcp_syns_on_wire: 0,
        }
    }

    fn udp(
        mut o: BroadcastRequiresOption,
        i: usize,
        f: impl FnOnce(&mut BcastTry),
    ) -> BroadcastRequiresOption {
        f(&mut o.udp[i]);
        o
    }

    fn tcp(
        mut o: BroadcastRequiresOption,
        i: usize,
        f: impl FnOnce(&mut TcpBcast),
    ) -> BroadcastRequiresOption {
        f(&mut o.tcp[i]);
        o
    }

    fn sent_ok(t: &mut BcastTry) {
        t.sendto = "ok".into();
        t.dst_mac = Some("ff:ff:ff:ff:ff:ff".into());
        t.delivered = true;
    }

    const SUBNET_OFF: &str =
        "UDP to 198.51.100.255 without SO_BROADCAST: result, dst MAC, delivered";
    const SUBNET_ON: &str = "UDP to 198.51.100.255 with SO_BROADCAST: result, dst MAC, delivered";
    const LIMITED_OFF: &str =
        "UDP to 255.255.255.255 without SO_BROADCAST: result, dst MAC, delivered";
    const LIMITED_ON: &str = "UDP to 255.255.255.255 with SO_BROADCAST: result, dst MAC, delivered";
    const BOUND_OFF: &str =
        "UDP to 255.255.255.255 (bound) without SO_BROADCAST: result, dst MAC, delivered";
    const BOUND_ON: &str =
        "UDP to 255.255.255.255 (bound) with SO_BROADCAST: result, dst MAC, delivered";
    const LEAKED: &str = "nothing on the wire from refused sends";
    const TCP_0: &str = "TCP SO_BROADCAST=0 then connect(198.51.100.255)";
    const TCP_1: &str = "TCP SO_BROADCAST=1 then connect(198.51.100.255)";
    const TCP_LIMITED: &str = "TCP SO_BROADCAST=1 then connect(255.255.255.255)";
    const SYNS: &str = "no SYN on the wire";

    #[rstest]
    #[case::linux(broadcast_linux(), Verdict::Holds, &[])]
    // No permission needed: broadcasts leave without the option.
    #[case::no_option_needed(udp(udp(broadcast_linux(), 0, sent_ok), 4, sent_ok),
        Verdict::Refuted, &[SUBNET_OFF, BOUND_OFF])]
    // The option does not help: still EACCES with it.
    #[case::option_useless(udp(udp(broadcast_linux(), 1, |t| { t.sendto = "EACCES".into();
        t.dst_mac = None; t.delivered = false }), 5, |t| { t.sendto = "EACCES".into(); t.dst_mac = None;
        t.delivered = false }), Verdict::Refuted, &[SUBNET_ON, BOUND_ON])]
    // Sent, but never arrived: the option did not make it work.
    #[case::sent_not_delivered(udp(udp(broadcast_linux(), 1, |t| t.delivered = false), 5,
        |t| t.delivered = false), Verdict::Refuted, &[SUBNET_ON, BOUND_ON])]
    // TCP connects to a broadcast address: the claim's "only UDP" fails.
    #[case::tcp_connects(tcp(broadcast_linux(), 1, |t| t.connect = "ok".into()),
        Verdict::Differs, &[TCP_1])]
    // A default route: 255.255.255.255 from an unbound socket works.
    #[case::default_route(udp(udp(broadcast_linux(), 2, |t| t.sendto = "EACCES".into()), 3, sent_ok),
        Verdict::Holds, &[LIMITED_OFF, LIMITED_ON])]
    #[case::unicast_mac(udp(broadcast_linux(), 1, |t| t.dst_mac = Some("02:00:00:00:00:0b".into())),
        Verdict::Holds, &[SUBNET_ON])]
    #[case::no_frame(udp(broadcast_linux(), 5, |t| t.dst_mac = None), Verdict::Holds, &[BOUND_ON])]
    #[case::refused_other_errno(udp(broadcast_linux(), 0, |t| t.sendto = "EPERM".into()),
        Verdict::Holds, &[SUBNET_OFF])]
    #[case::refused_yet_delivered(udp(broadcast_linux(), 4, |t| t.delivered = true),
        Verdict::Holds, &[BOUND_OFF])]
    #[case::leaked(BroadcastRequiresOption { failed_sends_on_wire: 1, ..broadcast_linux() },
        Verdict::Holds, &[LEAKED])]
    #[case::syn_sent(BroadcastRequiresOption { tcp_syns_on_wire: 1, ..broadcast_linux() },
        Verdict::Holds, &[SYNS])]
    #[case::tcp_option_refused(tcp(broadcast_linux(), 0, |t| t.setsockopt = "ENOPROTOOPT".into()),
        Verdict::Holds, &[TCP_0])]
    #[case::tcp_limited_other(tcp(broadcast_linux(), 2, |t| t.connect = "EACCES".into()),
        Verdict::Holds, &[TCP_LIMITED])]
    #[case::udp_not_tried(BroadcastRequiresOption { udp: vec![], ..broadcast_linux() },
        Verdict::Refuted, &[SUBNET_OFF, SUBNET_ON, LIMITED_OFF, LIMITED_ON, BOUND_OFF, BOUND_ON])]
    #[case::tcp_not_tried(BroadcastRequiresOption { tcp: vec![], ..broadcast_linux() },
        Verdict::Holds, &[TCP_0, TCP_1, TCP_LIMITED])]
    fn broadcast_judgement(
        #[case] o: BroadcastRequiresOption,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn broadcast_words() {
        let j = broadcast_linux().judge();
        assert_eq!(
            "UDP off EACCES / on delivered; TCP connect ENETUNREACH",
            j.key
        );
        assert_eq!(
            "UDP: 198.51.100.255 off: EACCES, 198.51.100.255 on: ok delivered, 255.255.255.255 off: \
             ENETUNREACH, 255.255.255.255 on: ENETUNREACH, 255.255.255.255 (bound) off: EACCES, \
             255.255.255.255 (bound) on: ok delivered; TCP: 198.51.100.255 off: setsockopt ok, connect \
             ENETUNREACH, 198.51.100.255 on: setsockopt ok, connect ENETUNREACH, 255.255.255.255 on: \
             setsockopt ok, connect ENETUNREACH",
            j.because
        );
        let c = |j: &Judgement, what: &str| {
            j.checks
                .iter()
                .find(|c| c.what == what)
                .map(|c| (c.expected.clone(), c.observed.clone()))
        };
        assert_eq!(
            Some((
                "ok, a frame to ff:ff:ff:ff:ff:ff, delivered".to_string(),
                "ok, a frame to ff:ff:ff:ff:ff:ff, delivered".to_string()
            )),
            c(&j, SUBNET_ON)
        );
        assert_eq!(
            Some((
                "EACCES, no frame, not delivered".to_string(),
                "EACCES, no frame, not delivered".to_string()
            )),
            c(&j, SUBNET_OFF)
        );
        let empty = BroadcastRequiresOption {
            udp: vec![],
            tcp: vec![],
            ..broadcast_linux()
        }
        .judge();
        assert_eq!(
            "UDP off not tried / on not tried; TCP connect not tried",
            empty.key
        );
        assert_eq!(
            Some((
                "setsockopt ok, connect ENETUNREACH".to_string(),
                "not tried".to_string()
            )),
            c(&empty, TCP_0)
        );
        let lost = udp(broadcast_linux(), 1, |t| t.delivered = false).judge();
        assert_eq!(
            "UDP off EACCES / on not delivered; TCP connect ENETUNREACH",
            lost.key
        );
    }

    // -----------------------------------------------------------------------
    // dontroute.bypasses_routing

    const GW_MAC: &str = "02:00:00:00:00:0b";

    fn route(how: &str, to: Ipv4Addr, len: usize, sendto: &str, mac: Option<&str>) -> RouteTry {
        RouteTry {
            how: how.into(),
            to,
            len,
            sendto: sendto.into(),
            dst_mac: mac.map(str::to_string),
        }
    }

    /// What Linux 6.18 did (a real run).
    fn dontroute_linux() -> DontRoute {
        DontRoute {
            far: FAR,
            gateway: GATEWAY,
            gateway_mac: GW_MAC.into(),
            udp: vec![
                route(PLAIN, FAR, 1, "ok", Some(GW_MAC)),
                route(SO, FAR, 2, "ENETUNREACH", None),
                route(MSG, FAR, 3, "ENETUNREACH", None),
                route(ON_LINK, GATEWAY, 4, "ok", Some(GW_MAC)),
            ],
            gateway_received: vec![4],
            tcp_connect: "ENETUNREACH".into(),
            arp_requests_for_far: 0,
            frames_to_far: vec![1],
        }
    }

    /// The claim's world (BSD): the option sends straight out of the
    /// interface, as if the far address were on the link: ARP for it,
    /// unanswered.
    fn dontroute_bsd() -> DontRoute {
        DontRoute {
            udp: vec![
                route(PLAIN, FAR, 1, "ok", Some(GW_MAC)),
                route(SO, FAR, 2, "ok", None),
                route(MSG, FAR, 3, "ok", None),
                route(ON_LINK, GATEWAY, 4, "ok", Some(GW_MAC)),
            ],
            tcp_connect: "EINPROGRESS".into(),
            arp_requests_for_far: 3,
            ..dontroute_linux()
        }
    }

    fn attempt(mut o: DontRoute, i: usize, f: impl FnOnce(&mut RouteTry)) -> DontRoute {
        f(&mut o.udp[i]);
        o
    }

    const PLAIN_CHECK: &str = "without the option: sent to the gateway's MAC";
    const REFUSED: &str = "SO_DONTROUTE / MSG_DONTROUTE to the far address";
    const TO_FAR: &str = "on the wire towards the far address: only the plain send";
    const NO_ARP: &str = "no ARP request for the far address";
    const ON_LINK_CHECK: &str = "SO_DONTROUTE to the on-link gateway: sent and delivered";
    const TCP_CHECK: &str = "TCP with SO_DONTROUTE: connect to the far address";

    #[rstest]
    #[case::linux(dontroute_linux(), Verdict::Differs, &[])]
    #[case::bsd(dontroute_bsd(), Verdict::Holds, &[REFUSED, NO_ARP, TCP_CHECK])]
    // The option ignored: routed through the gateway all the same.
    #[case::ignored(DontRoute { udp: vec![
            route(PLAIN, FAR, 1, "ok", Some(GW_MAC)), route(SO, FAR, 2, "ok", Some(GW_MAC)),
            route(MSG, FAR, 3, "ok", Some(GW_MAC)), route(ON_LINK, GATEWAY, 4, "ok", Some(GW_MAC))],
        frames_to_far: vec![1, 2, 3], tcp_connect: "ECONNREFUSED".into(), ..dontroute_linux() },
        Verdict::Refuted, &[REFUSED, TO_FAR, TCP_CHECK])]
    #[case::plain_not_via_gateway(attempt(dontroute_linux(), 0, |t| t.dst_mac = None),
        Verdict::Refuted, &[PLAIN_CHECK])]
    #[case::plain_refused(attempt(dontroute_linux(), 0, |t| t.sendto = "ENETUNREACH".into()),
        Verdict::Differs, &[PLAIN_CHECK])]
    #[case::plain_missing(DontRoute { udp: dontroute_linux().udp[1..].to_vec(), ..dontroute_linux() },
        Verdict::Refuted, &[PLAIN_CHECK, TO_FAR])]
    #[case::so_only_refused(attempt(dontroute_linux(), 2, |t| t.sendto = "ok".into()),
        Verdict::Differs, &[REFUSED])]
    #[case::msg_only_refused(attempt(dontroute_linux(), 1, |t| t.sendto = "EPERM".into()),
        Verdict::Differs, &[REFUSED])]
    #[case::nothing_to_far(DontRoute { frames_to_far: vec![], ..dontroute_linux() },
        Verdict::Differs, &[TO_FAR])]
    #[case::tcp_to_far(DontRoute { frames_to_far: vec![1, 0], ..dontroute_linux() },
        Verdict::Differs, &[TO_FAR])]
    #[case::arp_but_refused(DontRoute { arp_requests_for_far: 1, ..dontroute_linux() },
        Verdict::Holds, &[NO_ARP])]
    #[case::on_link_lost(DontRoute { gateway_received: vec![], ..dontroute_linux() },
        Verdict::Differs, &[ON_LINK_CHECK])]
    #[case::other_datagram_received(DontRoute { gateway_received: vec![1], ..dontroute_linux() },
        Verdict::Differs, &[ON_LINK_CHECK])]
    #[case::far_datagram_received_too(DontRoute { gateway_received: vec![1, 4], ..dontroute_linux() },
        Verdict::Differs, &[])]
    #[case::on_link_refused(attempt(dontroute_linux(), 3, |t| { t.sendto = "ENETUNREACH".into();
        t.dst_mac = None }), Verdict::Differs, &[ON_LINK_CHECK])]
    #[case::on_link_other_mac(attempt(dontroute_linux(), 3, |t| t.dst_mac = Some("ff:ff:ff:ff:ff:ff".into())),
        Verdict::Differs, &[ON_LINK_CHECK])]
    #[case::on_link_send_failed(attempt(dontroute_linux(), 3, |t| t.sendto = "EAGAIN".into()),
        Verdict::Differs, &[ON_LINK_CHECK])]
    #[case::tcp_connects(DontRoute { tcp_connect: "ok".into(), ..dontroute_linux() },
        Verdict::Differs, &[TCP_CHECK])]
    fn dontroute_judgement(
        #[case] o: DontRoute,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn dontroute_words() {
        let j = dontroute_linux().judge();
        assert_eq!("plain -> gateway MAC; DONTROUTE -> ENETUNREACH", j.key);
        assert_eq!(
            "to 203.0.113.7 (route via 198.51.100.2): plain -> ok, a frame to 02:00:00:00:00:0b; \
             SO_DONTROUTE -> ENETUNREACH, MSG_DONTROUTE -> ENETUNREACH, TCP connect -> ENETUNREACH; \
             0 ARP requests for 203.0.113.7; on-link 198.51.100.2 with SO_DONTROUTE -> ok, delivered",
            j.because
        );
        let c = |j: &Judgement, what: &str| {
            j.checks
                .iter()
                .find(|c| c.what == what)
                .map(|c| (c.expected.clone(), c.observed.clone()))
        };
        assert_eq!(
            Some(("[1] (the plain send alone)".to_string(), "[1]".to_string())),
            c(&j, TO_FAR)
        );
        let lost = DontRoute {
            udp: vec![],
            ..dontroute_linux()
        }
        .judge();
        assert_eq!(
            "plain -> not to the gateway; DONTROUTE -> not tried",
            lost.key
        );
        assert_eq!(
            Some((
                "ok, a frame to 02:00:00:00:00:0b, delivered".to_string(),
                "not tried, not delivered".to_string()
            )),
            c(&lost, ON_LINK_CHECK)
        );
        assert!(lost.because.contains("plain -> not tried;"));
        let bsd = dontroute_bsd().judge();
        assert_eq!(
            Some((
                "SO_DONTROUTE ENETUNREACH, MSG_DONTROUTE ENETUNREACH".to_string(),
                "SO_DONTROUTE ok, MSG_DONTROUTE ok".to_string()
            )),
            c(&bsd, REFUSED)
        );
        let no_frame = attempt(dontroute_linux(), 0, |t| t.dst_mac = None).judge();
        assert_eq!(
            Some((
                "ok, a frame to 02:00:00:00:00:0b".to_string(),
                "ok, no frame".to_string()
            )),
            c(&no_frame, PLAIN_CHECK)
        );
    }
}
