//! tcp(7) on TCP_CORK and TCP_NODELAY: when small writes leave. Every case
//! runs on loopback with net.ipv4.tcp_autocorking off in its namespace (with
//! it on, the kernel may also hold a small write while an earlier one is
//! still queued), and times the data segments on the wire against the
//! syscalls that should release them.

use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::capture::wall_ns;
use crate::lab::packet::Frame;
use crate::lab::tcpinfo::tcp_info;
use crate::lab::{opt, procnet, record, Capture, Family, Lab, Sock, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &HOLDS_UNTIL_UNCORK,
    &CEILING,
    &NODELAY_FLUSHES_CORK,
    &NODELAY_AT_ONCE,
];

pub static HOLDS_UNTIL_UNCORK: Case = Case {
    id: "tcp_cork.holds_until_uncork",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_CORK"),
    claim: "while TCP_CORK is set, partial frames are not sent; clearing it sends everything queued",
    expectation: "two 100-byte writes on a corked socket put nothing on the wire for the 50 ms the case \
                  watches (its namespace's minimum RTO raised to 3 s, so the cork timer, max(200 ms, RTO), \
                  cannot fire even if the case is kept off the CPU); clearing TCP_CORK sends the 200 bytes as \
                  one segment inside the setsockopt call",
    run: &Measure(holds_until_uncork),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_CORK],
};

pub static CEILING: Case = Case {
    id: "tcp_cork.ceiling_200ms",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_CORK"),
    claim: "output stays corked for at most 200 ms; then the queued data is sent anyway",
    expectation: "the held data leaves when the zero-window-probe timer fires, max(200 ms, RTO) after the \
                  write: about 205 ms on loopback with the default 200 ms minimum RTO, but about 410 ms in a \
                  namespace whose net.ipv4.tcp_rto_min_us is 400 ms (RTO 404 ms): the 200 ms is a floor \
                  set by the RTO, not a ceiling",
    run: &Measure(ceiling),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_CORK],
};

pub static NODELAY_FLUSHES_CORK: Case = Case {
    id: "tcp_nodelay.flushes_cork",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_NODELAY"),
    claim: "TCP_CORK overrides TCP_NODELAY, yet setting TCP_NODELAY flushes pending output even while the \
            socket is corked",
    expectation: "a corked 100-byte write stays queued; setting TCP_NODELAY sends it inside the setsockopt \
                  call; a 10-byte write made afterwards, with both options set, is held again until the cork \
                  timer, max(200 ms, RTO): about 1 s, as the namespace's minimum RTO is raised to 1 s (so that \
                  a loaded machine cannot stretch the time between the write and TCP_NODELAY past the timer)",
    run: &Measure(nodelay_flushes_cork),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_NODELAY, opt::TCP_CORK],
};

pub static NODELAY_AT_ONCE: Case = Case {
    id: "tcp_nodelay.sends_at_once",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_NODELAY"),
    claim: "with TCP_NODELAY segments are sent as soon as possible, however small; without it data is \
            buffered until there is enough to fill a segment",
    expectation: "five one-byte writes to a receiver that delays its ACKs (TCP_QUICKACK 0): with TCP_NODELAY, \
                  five one-byte segments, each inside its write(); without it the first byte leaves at once \
                  and the other four wait for the receiver's delayed ACK (about 40 ms), then leave as one \
                  4-byte segment: Nagle waits for the ACK, not for a full segment",
    run: &Measure(nodelay_at_once),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_NODELAY, opt::TCP_QUICKACK],
};

/// How long a case watches the wire for data that must not leave.
const WATCH: Duration = Duration::from_millis(50);
/// A segment released by a setsockopt leaves inside the call; on a loaded
/// machine the capture's timestamp may trail the call by some milliseconds.
const AT_ONCE_MS: f64 = 20.0;
/// The kernel's floor for the cork timer: TCP_RTO_MIN (200 ms), minus a tick
/// of slack for the timer wheel.
const FLOOR_MS: f64 = 190.0;
/// How far past max(200 ms, RTO) the held data may leave on a loaded machine.
const LATE_MS: f64 = 100.0;

fn autocorking_off() -> Result<()> {
    procnet::set_sysctl("net/ipv4/tcp_autocorking", "0")
}

/// Milliseconds from `since_ns` (wall clock) to a frame's capture time.
fn ms_since(since_ns: i64, f: &Frame) -> f64 {
    (f.t_ns - since_ns) as f64 / 1e6
}

fn data_from(port: u16) -> impl Fn(&Frame) -> bool {
    move |f| {
        f.segment()
            .is_some_and(|s| s.sport == port && s.payload > 0)
    }
}

/// Payload sizes of the data segments from `port` at index `from` or later.
fn payloads(cap: &mut Capture, from: usize, port: u16) -> Result<Vec<u32>> {
    let frames = cap.drain()?;
    Ok(frames[from.min(frames.len())..]
        .iter()
        .filter_map(Frame::segment)
        .filter(|s| s.sport == port && s.payload > 0)
        .map(|s| s.payload)
        .collect())
}

/// Reads until `n` bytes have come, EOF, or 2 s without data; returns how
/// many came.
fn read_exactly(s: &Sock, n: usize) -> Result<usize> {
    s.set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(2))?;
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match s.recv(&mut buf[got..], 0) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e).with_context(|| format!("recv after {got} of {n} bytes")),
        }
    }
    Ok(got)
}

fn cork(s: &Sock, on: bool) -> Result<()> {
    s.set_int(libc::IPPROTO_TCP, libc::TCP_CORK, on as i32)
        .with_context(|| format!("TCP_CORK {}", on as i32))
}

/// What a corked socket did with two small writes, then at uncork.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HoldsUntilUncork {
    pub written: u32,
    /// How long the case watched the wire before clearing TCP_CORK, ms.
    pub watched_ms: f64,
    /// Payloads of the data segments that left while corked.
    pub left_while_corked: Vec<u32>,
    /// Payloads of the data segments that left once TCP_CORK was cleared.
    pub left_at_uncork: Vec<u32>,
    /// From the setsockopt(TCP_CORK, 0) call to the first of those, ms.
    pub uncork_to_wire_ms: Option<f64>,
    /// How long that setsockopt call took, ms.
    pub uncork_call_ms: f64,
    pub delivered: usize,
}

/// The minimum RTO of the namespace of a case that watches a corked socket,
/// µs: the cork timer is max(200 ms, RTO), and a loaded machine can keep
/// the case off the CPU for longer than 200 ms (over 1.2 s was seen with
/// 360 cases at once on 2 cores). tcp_cork.holds_until_uncork never waits
/// for the timer, so it can afford a long one.
const WATCHED_RTO_MIN_US: u32 = 3_000_000;
/// tcp_nodelay.flushes_cork waits for the timer once: a shorter one, and no
/// watch before TCP_NODELAY (no sleep the machine could stretch).
const FLUSH_RTO_MIN_US: u32 = 1_000_000;

fn holds_until_uncork(_lab: &mut Lab) -> Result<HoldsUntilUncork> {
    autocorking_off()?;
    // Absent before 6.11: there the 50 ms watch has the 200 ms timer only.
    let _ = procnet::set_sysctl("net/ipv4/tcp_rto_min_us", &WATCHED_RTO_MIN_US.to_string());
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::loopback(Family::V4)?;
    let port = pair.client.local_addr()?.port();
    cork(&pair.client, true)?;
    let start = cap.count()?;
    let t_write = wall_ns();
    pair.client.send_all(&[b'a'; 100]).context("first write")?;
    pair.client.send_all(&[b'b'; 100]).context("second write")?;
    cap.find_from(start, WATCH, data_from(port))?;
    let left_while_corked = payloads(&mut cap, start, port)?;
    let after = cap.count()?;
    record::mark("setsockopt(TCP_CORK, 0)");
    let t_uncork = wall_ns();
    cork(&pair.client, false)?;
    let t_returned = wall_ns();
    let first = cap.find_from(after, Duration::from_secs(1), data_from(port))?;
    let delivered = read_exactly(&pair.server, 200)?;
    Ok(HoldsUntilUncork {
        written: 200,
        watched_ms: (t_uncork - t_write) as f64 / 1e6,
        left_while_corked,
        left_at_uncork: payloads(&mut cap, after, port)?,
        uncork_to_wire_ms: first.map(|(_, f)| ms_since(t_uncork, &f)),
        uncork_call_ms: (t_returned - t_uncork) as f64 / 1e6,
        delivered,
    })
}

impl Observation for HoldsUntilUncork {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "nothing leaves while corked",
            &Vec::<u32>::new(),
            &self.left_while_corked,
        );
        j.expect_eq(
            "the queued bytes leave as one segment when TCP_CORK is cleared",
            &vec![self.written],
            &self.left_at_uncork,
        );
        // Inside the call, however long a loaded machine made it last.
        let within = self.uncork_call_ms.max(AT_ONCE_MS);
        j.expect(
            "they leave inside the setsockopt call",
            self.uncork_to_wire_ms.is_some_and(|t| t < within),
            format!("< {} ms", within.show()),
            ms_text(self.uncork_to_wire_ms),
        );
        j.expect_eq(
            "the peer gets every byte",
            &(self.written as usize),
            &self.delivered,
        );
        let held = self.left_while_corked.is_empty();
        let released = self.left_at_uncork.iter().sum::<u32>() == self.written;
        j.verdict(
            Verdict::holds_if(held && released),
            format!(
                "{} B written corked; {} left in the {} ms before uncork; at uncork {} left, {} after the call",
                self.written,
                sizes_text(&self.left_while_corked),
                self.watched_ms.show(),
                sizes_text(&self.left_at_uncork),
                ms_text(self.uncork_to_wire_ms),
            ),
        );
        j.key(format!(
            "corked {} ms: {}; uncork: {}",
            self.watched_ms.round().show(),
            sizes_text(&self.left_while_corked),
            sizes_text(&self.left_at_uncork)
        ));
        j
    }
}

/// "none" or "[100, 100] B".
fn sizes_text(v: &[u32]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        format!("{} B", v.show())
    }
}

/// Milliseconds as the project writes a duration ("208 ms", "0.4 ms"), or
/// "never".
fn ms_text(v: Option<f64>) -> String {
    v.map_or_else(
        || "never".into(),
        |t| Duration::from_secs_f64(t.max(0.0) / 1e3).show(),
    )
}

/// How long corked data stayed queued on one connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Held {
    /// net.ipv4.tcp_rto_min_us of the connection's namespace.
    pub rto_min_us: u32,
    /// The sender's RTO (TCP_INFO) when it wrote, µs.
    pub rto_us: u32,
    /// From the write to the data on the wire, ms; none if it never left.
    pub held_ms: Option<f64>,
}

impl Held {
    /// When the kernel releases corked data: the zero-window-probe timer,
    /// max(RTO, 200 ms), ms.
    fn due_ms(&self) -> f64 {
        (self.rto_us as f64 / 1e3).max(200.0)
    }

    /// A timer fires at most a tick early (jiffies rounding), and late
    /// under load.
    fn window(&self) -> (f64, f64) {
        (self.due_ms() - 10.0, self.due_ms() + LATE_MS)
    }

    fn on_time(&self) -> bool {
        let (lo, hi) = self.window();
        self.held_ms.is_some_and(|t| t >= lo && t <= hi)
    }
}

/// Corked data left alone, on loopback with the default minimum RTO and in
/// a namespace whose minimum RTO is raised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ceiling {
    pub default_rto: Held,
    /// None when the kernel has no net.ipv4.tcp_rto_min_us (before 6.11).
    pub raised_rto: Option<Held>,
}

/// The raised minimum RTO of the second namespace, µs.
const RAISED_RTO_MIN_US: u32 = 400_000;

/// A corked connection on loopback in the calling thread's namespace with
/// `bytes` written; returns the capture, the pair and the write's time.
fn corked_write(bytes: usize) -> Result<(Capture, TcpPair, i64, u32, u32)> {
    autocorking_off()?;
    let rto_min_us = procnet::sysctl_int("net/ipv4/tcp_rto_min_us").unwrap_or(200_000) as u32;
    let cap = Capture::start("lo")?;
    let pair = TcpPair::loopback(Family::V4)?;
    cork(&pair.client, true)?;
    let rto_us = tcp_info(&pair.client).context("TCP_INFO")?.rto_us;
    let t = wall_ns();
    pair.client
        .send_all(&vec![b'c'; bytes])
        .context("corked write")?;
    Ok((cap, pair, t, rto_min_us, rto_us))
}

fn held(cap: &mut Capture, pair: &TcpPair, t: i64, rto_min_us: u32, rto_us: u32) -> Result<Held> {
    let port = pair.client.local_addr()?.port();
    let left = cap.find_from(0, Duration::from_secs(2), data_from(port))?;
    Ok(Held {
        rto_min_us,
        rto_us,
        held_ms: left.map(|(_, f)| ms_since(t, &f)),
    })
}

fn ceiling(lab: &mut Lab) -> Result<Ceiling> {
    let (mut cap, pair, t, min, rto) = corked_write(100)?;
    let slow = lab.add_host("slow-rto")?;
    // The second connection is corked while the first is still held: both
    // timers run at once.
    let raised = slow.run(|| -> Result<Option<_>> {
        if procnet::set_sysctl("net/ipv4/tcp_rto_min_us", &RAISED_RTO_MIN_US.to_string()).is_err() {
            return Ok(None);
        }
        corked_write(100).map(Some)
    })??;
    let default_rto = held(&mut cap, &pair, t, min, rto)?;
    let raised_rto = match raised {
        Some((mut cap2, pair2, t2, min2, rto2)) => Some(held(&mut cap2, &pair2, t2, min2, rto2)?),
        None => None,
    };
    Ok(Ceiling {
        default_rto,
        raised_rto,
    })
}

impl Observation for Ceiling {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let d = &self.default_rto;
        let window = |h: &Held| {
            let (lo, hi) = h.window();
            format!(
                "{}..{} ms (max(200 ms, RTO {} ms))",
                lo.show(),
                hi.show(),
                (h.rto_us as f64 / 1e3).show()
            )
        };
        j.expect(
            "corked data leaves by itself at max(200 ms, RTO), default RTO",
            d.on_time(),
            window(d),
            ms_text(d.held_ms),
        );
        if let Some(r) = &self.raised_rto {
            j.expect(
                "the same, with net.ipv4.tcp_rto_min_us raised",
                r.on_time(),
                window(r),
                ms_text(r.held_ms),
            );
        }
        let within_200 = |h: &Held| h.held_ms.is_some_and(|t| t <= 200.0 + LATE_MS);
        let verdict = match &self.raised_rto {
            _ if d.held_ms.is_none() => Verdict::Refuted,
            Some(r) if r.held_ms.is_some() && !within_200(r) => Verdict::Differs,
            _ if within_200(d) => Verdict::Holds,
            _ => Verdict::Differs,
        };
        let raised = self.raised_rto.as_ref().map_or_else(
            || "no net.ipv4.tcp_rto_min_us on this kernel".to_string(),
            |r| {
                format!(
                    "with tcp_rto_min_us {} (RTO {} ms) {}",
                    r.rto_min_us,
                    (r.rto_us as f64 / 1e3).show(),
                    ms_text(r.held_ms)
                )
            },
        );
        j.verdict(
            verdict,
            format!(
                "corked 100 B left after {} with the default RTO {} ms; {raised}",
                ms_text(d.held_ms),
                (d.rto_us as f64 / 1e3).show()
            ),
        );
        j.key(format!(
            "held {} (RTO {} ms); {}",
            ms_text(d.held_ms),
            (d.rto_us as f64 / 1e3).round().show(),
            self.raised_rto.as_ref().map_or_else(
                || "no raised-RTO run".to_string(),
                |r| format!(
                    "held {} (RTO {} ms)",
                    ms_text(r.held_ms),
                    (r.rto_us as f64 / 1e3).round().show()
                )
            )
        ));
        j
    }
}

/// TCP_NODELAY set on a corked socket with data queued, then one more
/// small write with both options set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlushesCork {
    /// Payloads that left between the write and setting TCP_NODELAY.
    pub left_while_corked: Vec<u32>,
    /// From setsockopt(TCP_NODELAY, 1) to the queued 100 bytes on the wire, ms.
    pub flush_ms: Option<f64>,
    /// How long that setsockopt call took, ms.
    pub flush_call_ms: f64,
    /// Payload of that segment.
    pub flushed: u32,
    /// From the later 10-byte write to its segment on the wire, ms.
    pub later_write_held_ms: Option<f64>,
    /// Bytes the peer read.
    pub delivered: usize,
}

fn nodelay_flushes_cork(_lab: &mut Lab) -> Result<FlushesCork> {
    autocorking_off()?;
    let _ = procnet::set_sysctl("net/ipv4/tcp_rto_min_us", &FLUSH_RTO_MIN_US.to_string());
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::loopback(Family::V4)?;
    let port = pair.client.local_addr()?.port();
    cork(&pair.client, true)?;
    let start = cap.count()?;
    // An uncorked write would be on the wire (and in the capture) before
    // send() returns.
    pair.client.send_all(&[b'q'; 100]).context("corked write")?;
    let left_while_corked = payloads(&mut cap, start, port)?;
    let mark = cap.count()?;
    record::mark("setsockopt(TCP_NODELAY, 1)");
    let t = wall_ns();
    pair.client
        .set_int(libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)
        .context("TCP_NODELAY 1")?;
    let t_returned = wall_ns();
    let flushed = cap.find_from(mark, Duration::from_secs(1), data_from(port))?;
    let later = cap.count()?;
    let t2 = wall_ns();
    pair.client
        .send_all(&[b'r'; 10])
        .context("write with TCP_CORK and TCP_NODELAY set")?;
    let held = cap.find_from(later, Duration::from_secs(2), data_from(port))?;
    let delivered = read_exactly(&pair.server, 110)?;
    Ok(FlushesCork {
        left_while_corked,
        flush_ms: flushed.as_ref().map(|(_, f)| ms_since(t, f)),
        flush_call_ms: (t_returned - t) as f64 / 1e6,
        flushed: flushed
            .and_then(|(_, f)| f.segment())
            .map_or(0, |s| s.payload),
        later_write_held_ms: held.map(|(_, f)| ms_since(t2, &f)),
        delivered,
    })
}

impl Observation for FlushesCork {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "nothing leaves while corked",
            &Vec::<u32>::new(),
            &self.left_while_corked,
        );
        // Inside the call, however long a loaded machine made it last.
        let within = self.flush_call_ms.max(AT_ONCE_MS);
        let flushed = self.flush_ms.is_some_and(|t| t < within) && self.flushed == 100;
        j.expect(
            "TCP_NODELAY sends the queued 100 B inside the call",
            flushed,
            format!("100 B in < {} ms", within.show()),
            format!("{} B after {}", self.flushed, ms_text(self.flush_ms)),
        );
        j.expect_eq("the peer gets all 110 bytes", &110, &self.delivered);
        let overridden = self.later_write_held_ms.is_some_and(|t| t >= FLOOR_MS);
        j.expect(
            "with both set, a later small write is held by the cork",
            overridden,
            format!(">= {FLOOR_MS} ms"),
            ms_text(self.later_write_held_ms),
        );
        let verdict = match (flushed && self.left_while_corked.is_empty(), overridden) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "setting TCP_NODELAY on the corked socket sent {} B after {}; a 10 B write made afterwards \
                 left after {}",
                self.flushed,
                ms_text(self.flush_ms),
                ms_text(self.later_write_held_ms)
            ),
        );
        j.key(format!(
            "flush {}; next write held {}",
            ms_text(self.flush_ms),
            ms_text(self.later_write_held_ms)
        ));
        j
    }
}

/// Five one-byte writes to a receiver that delays its ACKs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Burst {
    /// Payload sizes of the writer's data segments, in order.
    pub segments: Vec<u32>,
    /// When each left, ms after the first write.
    pub left_ms: Vec<f64>,
    /// When the last write() returned, ms after the first.
    pub last_write_ms: f64,
    /// When the receiver's first ACK of data came, ms after the first write.
    pub first_ack_ms: Option<f64>,
    /// Bytes the receiver read.
    pub delivered: usize,
}

/// Both trials of tcp_nodelay.sends_at_once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AtOnce {
    pub nodelay: Burst,
    pub nagle: Burst,
}

const WRITES: usize = 5;
/// A burst whose writes did not all happen before the receiver's first ACK
/// (a preempted writer) shows nothing about holding; it is tried again, at
/// most this many times.
const ATTEMPTS: usize = 3;

fn burst(nodelay: bool) -> Result<Burst> {
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::loopback(Family::V4)?;
    let port = pair.client.local_addr()?.port();
    pair.client
        .set_int(libc::IPPROTO_TCP, libc::TCP_NODELAY, nodelay as i32)
        .with_context(|| format!("TCP_NODELAY {}", nodelay as i32))?;
    // Delayed-ACK ("pingpong") mode on the receiver: its ACK waits for the
    // delayed-ACK timer (>= 40 ms) instead of going out at once.
    pair.server
        .set_int(libc::IPPROTO_TCP, libc::TCP_QUICKACK, 0)
        .context("TCP_QUICKACK 0")?;
    let start = cap.count()?;
    let t0 = wall_ns();
    for _ in 0..WRITES {
        pair.client.send(b"x", 0).context("one-byte write")?;
    }
    let last_write_ms = (wall_ns() - t0) as f64 / 1e6;
    let delivered = read_exactly(&pair.server, WRITES)?;
    // Everything the writer sent: wait until all five bytes are on the wire.
    let mut segments = Vec::new();
    let mut left_ms = Vec::new();
    let mut from = start;
    while segments.iter().sum::<u32>() < WRITES as u32 {
        let Some((i, f)) = cap.find_from(from, Duration::from_secs(1), data_from(port))? else {
            break;
        };
        segments.push(f.segment().map_or(0, |s| s.payload));
        left_ms.push(ms_since(t0, &f));
        from = i + 1;
    }
    let first_ack = cap.drain()?[start..]
        .iter()
        .find(|f| {
            f.segment()
                .is_some_and(|s| s.dport == port && s.flags.ack && !s.flags.syn)
        })
        .map(|f| ms_since(t0, f));
    Ok(Burst {
        segments,
        left_ms,
        last_write_ms,
        first_ack_ms: first_ack,
        delivered,
    })
}

impl Burst {
    /// Every write was made before the receiver's first ACK.
    fn before_ack(&self) -> bool {
        self.first_ack_ms.is_none_or(|a| a > self.last_write_ms)
    }
}

fn burst_before_ack(nodelay: bool) -> Result<Burst> {
    let mut b = burst(nodelay)?;
    for _ in 1..ATTEMPTS {
        if b.before_ack() {
            break;
        }
        b = burst(nodelay)?;
    }
    Ok(b)
}

fn nodelay_at_once(_lab: &mut Lab) -> Result<AtOnce> {
    autocorking_off()?;
    Ok(AtOnce {
        nodelay: burst_before_ack(true)?,
        nagle: burst_before_ack(false)?,
    })
}

impl Observation for AtOnce {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (d, n) = (&self.nodelay, &self.nagle);
        j.expect_eq(
            "the receiver reads the five bytes, both times",
            &(WRITES, WRITES),
            &(d.delivered, n.delivered),
        );
        j.expect_eq(
            "TCP_NODELAY: one segment per write",
            &vec![1u32; WRITES],
            &d.segments,
        );
        let every_at_once = d.left_ms.len() == WRITES
            && d.left_ms.iter().all(|t| *t <= d.last_write_ms + AT_ONCE_MS);
        j.expect(
            "TCP_NODELAY: each leaves before the writes are over",
            every_at_once,
            format!("all by {} ms", (d.last_write_ms + AT_ONCE_MS).show()),
            format!("{} ms", d.left_ms.show()),
        );
        j.expect(
            "the receiver held its ACK until the writes were made",
            n.before_ack() && d.before_ack(),
            "first ACK after the last write",
            format!(
                "ACK {} / last write {} ms (Nagle), ACK {} / {} ms (TCP_NODELAY)",
                ms_text(n.first_ack_ms),
                n.last_write_ms.show(),
                ms_text(d.first_ack_ms),
                d.last_write_ms.show()
            ),
        );
        j.expect_eq(
            "Nagle: the first byte, then the other four in one segment",
            &vec![1, (WRITES - 1) as u32],
            &n.segments,
        );
        let first_at_once = n
            .left_ms
            .first()
            .is_some_and(|t| *t <= n.last_write_ms + AT_ONCE_MS);
        let rest_on_ack = match (n.left_ms.get(1), n.first_ack_ms) {
            (Some(t), Some(ack)) => *t >= ack && *t <= ack + AT_ONCE_MS,
            _ => false,
        };
        j.expect(
            "Nagle: the first byte leaves at once, the rest when the ACK comes",
            first_at_once && rest_on_ack,
            "first with the writes, second with the ACK",
            format!("{} ms, ACK {}", n.left_ms.show(), ms_text(n.first_ack_ms)),
        );
        let nodelay_holds = d.segments == vec![1u32; WRITES] && every_at_once;
        let verdict = if !nodelay_holds {
            Verdict::Refuted
        } else if n.segments.first() == Some(&(WRITES as u32)) {
            // Everything held back together: what the page describes.
            Verdict::Holds
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "TCP_NODELAY: segments {} B at {} ms; without it: {} B at {} ms, the receiver's ACK at {}",
                d.segments.show(),
                d.left_ms.iter().map(|t| t.round()).collect::<Vec<_>>().show(),
                n.segments.show(),
                n.left_ms.iter().map(|t| t.round()).collect::<Vec<_>>().show(),
                ms_text(n.first_ack_ms.map(f64::round)),
            ),
        );
        j.key(format!(
            "TCP_NODELAY {} B; Nagle {} B",
            d.segments.show(),
            n.segments.show()
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn hold_linux() -> HoldsUntilUncork {
        HoldsUntilUncork {
            written: 200,
            watched_ms: 50.4,
            left_while_corked: vec![],
            left_at_uncork: vec![200],
            uncork_to_wire_ms: Some(0.008),
            uncork_call_ms: 0.031,
            delivered: 200,
        }
    }

    #[rstest]
    #[case::linux(hold_linux(), Verdict::Holds, &[])]
    // A libc that ignored TCP_CORK: each write leaves at once.
    #[case::not_corked(HoldsUntilUncork { left_while_corked: vec![100, 100], left_at_uncork: vec![],
        uncork_to_wire_ms: None, ..hold_linux() }, Verdict::Refuted,
        &["nothing leaves while corked", "the queued bytes leave as one segment when TCP_CORK is cleared",
          "they leave inside the setsockopt call"])]
    // Released in two pieces: all sent, yet not as one.
    #[case::two_pieces(HoldsUntilUncork { left_at_uncork: vec![100, 100], ..hold_linux() },
        Verdict::Holds, &["the queued bytes leave as one segment when TCP_CORK is cleared"])]
    // Uncork did not release anything.
    #[case::stuck(HoldsUntilUncork { left_at_uncork: vec![], uncork_to_wire_ms: None, delivered: 0,
        ..hold_linux() }, Verdict::Refuted,
        &["the queued bytes leave as one segment when TCP_CORK is cleared",
          "they leave inside the setsockopt call", "the peer gets every byte"])]
    #[case::just_in_time(HoldsUntilUncork { uncork_to_wire_ms: Some(19.9), ..hold_linux() },
        Verdict::Holds, &[])]
    #[case::late(HoldsUntilUncork { uncork_to_wire_ms: Some(20.0), ..hold_linux() },
        Verdict::Holds, &["they leave inside the setsockopt call"])]
    // A call the scheduler stretched to 300 ms: the segment is still inside it.
    #[case::long_call(HoldsUntilUncork { uncork_to_wire_ms: Some(299.0), uncork_call_ms: 300.0,
        ..hold_linux() }, Verdict::Holds, &[])]
    #[case::after_long_call(HoldsUntilUncork { uncork_to_wire_ms: Some(300.0), uncork_call_ms: 300.0,
        ..hold_linux() }, Verdict::Holds, &["they leave inside the setsockopt call"])]
    fn holds_judgement(#[case] o: HoldsUntilUncork, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn data_and_times_from_frames() {
        use crate::lab::tcpopt::test_frame;
        let data = data_from(40_000);
        assert!(data(&test_frame(0, 40_000, 80, 1, 1, 0x18, 10, &[])));
        assert!(!data(&test_frame(0, 40_000, 80, 1, 1, 0x10, 0, &[])));
        assert!(!data(&test_frame(0, 80, 40_000, 1, 1, 0x18, 10, &[])));
        assert_eq!(
            2.5,
            ms_since(1_000_000, &test_frame(3_500_000, 1, 2, 0, 0, 0x10, 0, &[]))
        );
        assert_eq!(
            ("none".to_string(), "[1, 4] B".to_string()),
            (sizes_text(&[]), sizes_text(&[1, 4]))
        );
    }

    #[test]
    fn holds_words() {
        let j = hold_linux().judge();
        assert_eq!("corked 50 ms: none; uncork: [200] B", j.key);
        assert_eq!(
            "200 B written corked; none left in the 50.4 ms before uncork; at uncork [200] B left, 0 ms \
             after the call",
            j.because
        );
    }

    fn held(rto_min_us: u32, rto_us: u32, held_ms: Option<f64>) -> Held {
        Held {
            rto_min_us,
            rto_us,
            held_ms,
        }
    }

    fn ceiling_linux() -> Ceiling {
        Ceiling {
            default_rto: held(200_000, 203_000, Some(207.9)),
            raised_rto: Some(held(400_000, 404_000, Some(415.9))),
        }
    }

    const DEFAULT: &str = "corked data leaves by itself at max(200 ms, RTO), default RTO";
    const RAISED: &str = "the same, with net.ipv4.tcp_rto_min_us raised";

    #[rstest]
    #[case::linux(ceiling_linux(), Verdict::Differs, &[])]
    // A kernel without tcp_rto_min_us: only the loopback run, which holds.
    #[case::old_kernel(Ceiling { raised_rto: None, ..ceiling_linux() }, Verdict::Holds, &[])]
    // The page's world: 200 ms whatever the RTO.
    #[case::fixed_ceiling(Ceiling { raised_rto: Some(held(400_000, 404_000, Some(205.0))), ..ceiling_linux() },
        Verdict::Holds, &[RAISED])]
    // TCP_CORK ignored: the data leaves at once.
    #[case::not_corked(Ceiling { default_rto: held(200_000, 203_000, Some(0.1)),
        raised_rto: Some(held(400_000, 404_000, Some(0.1))) }, Verdict::Holds, &[DEFAULT, RAISED])]
    #[case::never_left(Ceiling { default_rto: held(200_000, 203_000, None), raised_rto: None },
        Verdict::Refuted, &[DEFAULT])]
    #[case::floor(Ceiling { default_rto: held(200_000, 203_000, Some(193.0)), raised_rto: None },
        Verdict::Holds, &[])]
    #[case::below_floor(Ceiling { default_rto: held(200_000, 203_000, Some(192.9)), raised_rto: None },
        Verdict::Holds, &[DEFAULT])]
    #[case::latest(Ceiling { default_rto: held(200_000, 203_000, Some(300.0)), raised_rto: None },
        Verdict::Holds, &[])]
    #[case::past_200(Ceiling { default_rto: held(200_000, 203_000, Some(303.0)), raised_rto: None },
        Verdict::Differs, &[])]
    #[case::too_late(Ceiling { default_rto: held(200_000, 203_000, Some(303.1)), raised_rto: None },
        Verdict::Differs, &[DEFAULT])]
    #[case::raised_never_left(Ceiling { raised_rto: Some(held(400_000, 404_000, None)), ..ceiling_linux() },
        Verdict::Holds, &[RAISED])]
    fn ceiling_judgement(#[case] o: Ceiling, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn ceiling_words() {
        let j = ceiling_linux().judge();
        assert_eq!("held 208 ms (RTO 203 ms); held 416 ms (RTO 404 ms)", j.key);
        assert_eq!(
            "corked 100 B left after 208 ms with the default RTO 203 ms; with tcp_rto_min_us 400000 \
             (RTO 404 ms) 416 ms",
            j.because
        );
        let old = Ceiling {
            raised_rto: None,
            ..ceiling_linux()
        }
        .judge();
        assert!(old
            .because
            .ends_with("no net.ipv4.tcp_rto_min_us on this kernel"));
        assert!(old.key.ends_with("no raised-RTO run"));
        assert_eq!(
            "193..303 ms (max(200 ms, RTO 203 ms))",
            old.checks[0].expected
        );
    }

    fn flush_linux() -> FlushesCork {
        FlushesCork {
            left_while_corked: vec![],
            flush_ms: Some(0.008),
            flush_call_ms: 0.024,
            flushed: 100,
            later_write_held_ms: Some(1021.2),
            delivered: 110,
        }
    }

    const FLUSH: &str = "TCP_NODELAY sends the queued 100 B inside the call";
    const OVERRIDE: &str = "with both set, a later small write is held by the cork";

    #[rstest]
    #[case::linux(flush_linux(), Verdict::Holds, &[])]
    // TCP_NODELAY ignored: the queued data waits for the cork timer instead.
    #[case::no_flush(FlushesCork { flush_ms: Some(207.0), ..flush_linux() }, Verdict::Refuted, &[FLUSH])]
    // TCP_CORK ignored: everything leaves at once.
    #[case::not_corked(FlushesCork { left_while_corked: vec![100], flush_ms: None, flush_call_ms: 0.02, flushed: 0,
        later_write_held_ms: Some(0.02), delivered: 110 }, Verdict::Refuted,
        &["nothing leaves while corked", FLUSH, OVERRIDE])]
    // TCP_NODELAY winning over the cork for later writes.
    #[case::nodelay_wins(FlushesCork { later_write_held_ms: Some(0.05), ..flush_linux() },
        Verdict::Differs, &[OVERRIDE])]
    #[case::short_flush(FlushesCork { flushed: 60, ..flush_linux() }, Verdict::Refuted, &[FLUSH])]
    #[case::later_never(FlushesCork { later_write_held_ms: None, ..flush_linux() },
        Verdict::Differs, &[OVERRIDE])]
    #[case::lost(FlushesCork { delivered: 100, ..flush_linux() }, Verdict::Holds, &["the peer gets all 110 bytes"])]
    #[case::held_floor(FlushesCork { later_write_held_ms: Some(190.0), ..flush_linux() }, Verdict::Holds, &[])]
    // A call the scheduler stretched to 300 ms: the segment is still inside it.
    #[case::long_call(FlushesCork { flush_ms: Some(299.0), flush_call_ms: 300.0, ..flush_linux() },
        Verdict::Holds, &[])]
    #[case::after_long_call(FlushesCork { flush_ms: Some(300.0), flush_call_ms: 300.0, ..flush_linux() },
        Verdict::Refuted, &[FLUSH])]
    fn flush_judgement(#[case] o: FlushesCork, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn flush_words() {
        let j = flush_linux().judge();
        assert_eq!("flush 0 ms; next write held 1021 ms", j.key);
        assert_eq!(
            "setting TCP_NODELAY on the corked socket sent 100 B after 0 ms; a 10 B write made afterwards \
             left after 1021 ms",
            j.because
        );
    }

    fn nodelay_linux() -> Burst {
        Burst {
            segments: vec![1; 5],
            left_ms: vec![0.01, 0.03, 0.04, 0.05, 0.06],
            last_write_ms: 0.07,
            first_ack_ms: Some(41.2),
            delivered: 5,
        }
    }

    fn nagle_linux() -> Burst {
        Burst {
            segments: vec![1, 4],
            left_ms: vec![0.01, 41.3],
            last_write_ms: 0.05,
            first_ack_ms: Some(41.2),
            delivered: 5,
        }
    }

    fn at_once_linux() -> AtOnce {
        AtOnce {
            nodelay: nodelay_linux(),
            nagle: nagle_linux(),
        }
    }

    const PER_WRITE: &str = "TCP_NODELAY: one segment per write";
    const EACH_AT_ONCE: &str = "TCP_NODELAY: each leaves before the writes are over";
    const ACK_HELD: &str = "the receiver held its ACK until the writes were made";
    const NAGLE_SEGS: &str = "Nagle: the first byte, then the other four in one segment";
    const NAGLE_TIMES: &str = "Nagle: the first byte leaves at once, the rest when the ACK comes";

    #[rstest]
    #[case::linux(at_once_linux(), Verdict::Differs, &[])]
    // The page's world: without TCP_NODELAY all five bytes wait together.
    #[case::page(AtOnce { nagle: Burst { segments: vec![5], left_ms: vec![200.0], ..nagle_linux() },
        ..at_once_linux() }, Verdict::Holds, &[NAGLE_SEGS, NAGLE_TIMES])]
    // TCP_NODELAY ignored: Nagle in both runs.
    #[case::nodelay_ignored(AtOnce { nodelay: nagle_linux(), ..at_once_linux() }, Verdict::Refuted,
        &[PER_WRITE, EACH_AT_ONCE])]
    // TCP_QUICKACK ignored: the receiver ACKs each byte before the next write.
    #[case::quick_acks(AtOnce { nagle: Burst { segments: vec![1; 5], left_ms: vec![0.0, 0.1, 0.2, 0.3, 0.4],
        first_ack_ms: Some(0.02), ..nagle_linux() }, ..at_once_linux() }, Verdict::Differs,
        &[ACK_HELD, NAGLE_SEGS])]
    #[case::nodelay_late(AtOnce { nodelay: Burst { left_ms: vec![0.01, 0.03, 0.04, 0.05, 20.2],
        ..nodelay_linux() }, ..at_once_linux() }, Verdict::Refuted, &[EACH_AT_ONCE])]
    #[case::nodelay_last_just_in_time(AtOnce { nodelay: Burst { left_ms: vec![0.01, 0.03, 0.04, 0.05, 20.0],
        ..nodelay_linux() }, ..at_once_linux() }, Verdict::Differs, &[])]
    #[case::nodelay_lost_one(AtOnce { nodelay: Burst { segments: vec![1; 4], left_ms: vec![0.0; 4],
        ..nodelay_linux() }, ..at_once_linux() }, Verdict::Refuted, &[PER_WRITE, EACH_AT_ONCE])]
    #[case::rest_before_ack(AtOnce { nagle: Burst { left_ms: vec![0.01, 41.1], ..nagle_linux() },
        ..at_once_linux() }, Verdict::Differs, &[NAGLE_TIMES])]
    #[case::rest_long_after_ack(AtOnce { nagle: Burst { left_ms: vec![0.01, 61.5], ..nagle_linux() },
        ..at_once_linux() }, Verdict::Differs, &[NAGLE_TIMES])]
    #[case::first_late(AtOnce { nagle: Burst { left_ms: vec![20.06, 41.3], ..nagle_linux() },
        ..at_once_linux() }, Verdict::Differs, &[NAGLE_TIMES])]
    #[case::short_read(AtOnce { nagle: Burst { delivered: 1, ..nagle_linux() }, ..at_once_linux() },
        Verdict::Differs, &["the receiver reads the five bytes, both times"])]
    #[case::no_ack_seen(AtOnce { nagle: Burst { first_ack_ms: None, ..nagle_linux() },
        ..at_once_linux() }, Verdict::Differs, &[NAGLE_TIMES])]
    fn at_once_judgement(#[case] o: AtOnce, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn at_once_words() {
        let j = at_once_linux().judge();
        assert_eq!("TCP_NODELAY [1, 1, 1, 1, 1] B; Nagle [1, 4] B", j.key);
        assert_eq!(
            "TCP_NODELAY: segments [1, 1, 1, 1, 1] B at [0, 0, 0, 0, 0] ms; without it: [1, 4] B at [0, 41] ms, \
             the receiver's ACK at 41 ms",
            j.because
        );
        assert!(!Burst {
            first_ack_ms: Some(0.01),
            ..nagle_linux()
        }
        .before_ack());
        assert!(Burst {
            first_ack_ms: None,
            ..nagle_linux()
        }
        .before_ack());
    }
}
