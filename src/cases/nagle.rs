//! TCP_NODELAY and Nagle's algorithm (004 §5.2).
//!
//! Every case writes small pieces on a loopback connection whose receiver
//! delays its ACKs (TCP_QUICKACK 0), and reads the writer's segments off the
//! wire. Judged on the wire, not on timestamps (a capture's first timestamps
//! are unreliable) and not on retransmissions (a tail loss probe repeats bytes
//! already sent). Where TCP_NODELAY is judged, net.ipv4.tcp_autocorking is 0
//! in the case's namespace: with it on, a slow machine also merges a small
//! write into one still queued.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::opt;
use crate::lab::packet::{Frame, NewData};
use crate::lab::{procnet, wait, Capture, Family, Lab, Sock, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &COALESCE,
    &COALESCE_V6,
    &NODELAY_SEGMENTS,
    &DELAYED_ACK_STALL,
];

pub static COALESCE: Case = Case {
    id: "nagle.coalesce",
    source: Source::LectureNotes("5.2 TCP_NODELAY"),
    claim: "with Nagle on, small writes made before the ACK comes back are sent together; TCP_NODELAY \
            turns that off",
    expectation: "Nagle on: the first small write leaves at once and the next ones wait for its ACK, then \
                  leave as one segment; TCP_NODELAY on: one segment per write (net.ipv4.tcp_autocorking=0; \
                  with autocorking on, the kernel may also merge writes while earlier data is still queued)",
    run: &Measure(|lab| coalesce(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_NODELAY, opt::TCP_QUICKACK],
};

pub static COALESCE_V6: Case = Case {
    id: "nagle.coalesce@v6",
    run: &Measure(|lab| coalesce(lab, Family::V6)),
    ..COALESCE
};

pub static NODELAY_SEGMENTS: Case = Case {
    id: "nagle.nodelay_segments",
    source: Source::LectureNotes("5.2 TCP_NODELAY"),
    claim: "with TCP_NODELAY every small write is sent at once",
    expectation: "TCP_NODELAY on, receiver delaying its ACKs, tcp_autocorking=0: each one-byte write is its own \
                  segment and leaves inside its write() call, before the next write starts; with Nagle on the same writes give one \
                  segment, then one more after the delayed ACK",
    run: &Measure(nodelay_segments),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_NODELAY],
};

pub static DELAYED_ACK_STALL: Case = Case {
    id: "nagle.delayed_ack_stall",
    source: Source::LectureNotes("5.2 TCP_NODELAY"),
    claim: "Nagle holds back small data until the ACK for what is in flight comes",
    expectation: "write-write-read against a server that answers only once it has both pieces and delays its \
                  ACKs (TCP_QUICKACK 0, as after interactive traffic): with Nagle the second piece waits for the \
                  delayed-ACK timer (40 ms, TCP_ATO_MIN), so the exchange takes >= ~40 ms; with TCP_NODELAY the \
                  second piece leaves inside its write(), no ACK awaited (on real hardware the exchange then takes \
                  well under a millisecond)",
    run: &Measure(delayed_ack_stall),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_NODELAY, opt::TCP_QUICKACK],
};

/// Number of one-byte writes per trial.
const WRITES: usize = 5;
/// Trials whose writes did not all happen before the first ACK (a preempted
/// writer) prove nothing and are repeated, at most this many times.
const ATTEMPTS: usize = 5;

/// What one burst of small writes looked like on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Burst {
    /// Payload sizes of the writer's data segments, in order.
    pub segments: Vec<u32>,
    /// Data segments already on the wire when each write() returned. On lo the
    /// capture gets its copy inside the transmit path, so a segment sent by a
    /// write is queued before that write returns; one sent later (on an ACK)
    /// is not.
    pub on_wire_after_write: Vec<usize>,
    /// Every write was made while the first byte was still unacknowledged
    /// (false: the writer was preempted long enough for the ACK to arrive).
    pub before_first_ack: bool,
    /// The capture shows the receiver's ACK after the first data segment (it
    /// comes in the end: the burst waits until every byte is acknowledged).
    pub acked: bool,
}

/// The writer's (`port`) data segments in `frames`, and whether the receiver
/// has sent anything after the first of them (its SYN-ACK comes before).
/// Retransmissions (a tail loss probe when the delayed ACK is slow to come)
/// repeat bytes already sent and are not counted, nor are pure ACKs.
fn data_and_ack(frames: &[Frame], port: u16) -> (Vec<u32>, bool) {
    let mut data = Vec::new();
    let mut acked = false;
    let mut fresh = NewData::default();
    for s in frames.iter().filter_map(Frame::segment) {
        if s.sport == port {
            if fresh.is_new(&s) {
                data.push(s.payload);
            }
        } else if s.dport == port && !data.is_empty() {
            acked = true;
        }
    }
    (data, acked)
}

/// Whether the receiver sent a segment after the writer's (`port`) first
/// data segment and before its second: an ACK the second piece waited for.
fn ack_between_pieces(frames: &[Frame], port: u16) -> bool {
    let mut fresh = NewData::default();
    let mut pieces = 0;
    let mut between = false;
    for s in frames.iter().filter_map(Frame::segment) {
        if s.sport == port {
            pieces += usize::from(fresh.is_new(&s));
        } else if pieces == 1 {
            between = true;
        }
    }
    between
}

/// net.ipv4.tcp_autocorking in the calling thread's namespace. With it on,
/// the kernel also holds a small write back while an earlier one is queued.
pub fn set_autocorking(on: bool) -> Result<()> {
    procnet::set_sysctl("net/ipv4/tcp_autocorking", if on { "1" } else { "0" })
}

fn autocorking() -> Result<i64> {
    procnet::sysctl_int("net/ipv4/tcp_autocorking")
}

/// One connection: the receiver delays its ACKs (TCP_QUICKACK off), the writer
/// sets TCP_NODELAY to `nodelay` (any int, as given to setsockopt) and makes
/// `writes` one-byte writes back to back.
pub fn small_writes(family: Family, nodelay: i32, writes: usize) -> Result<Burst> {
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::loopback(family)?;
    pair.client
        .set_int(libc::IPPROTO_TCP, libc::TCP_NODELAY, nodelay)
        .with_context(|| format!("TCP_NODELAY {nodelay}"))?;
    // Delayed-ACK ("pingpong") mode on the receiver: its ACK waits for the
    // delayed-ACK timer (>= 40 ms) instead of going out at once.
    pair.server
        .set_int(libc::IPPROTO_TCP, libc::TCP_QUICKACK, 0)
        .context("TCP_QUICKACK 0")?;
    let port = pair.client.local_addr()?.port();
    let mut on_wire_after_write = Vec::with_capacity(writes);
    let mut acked_during_writes = false;
    for _ in 0..writes {
        pair.client.send(b"x", 0).context("one-byte write")?;
        let (data, acked) = data_and_ack(cap.drain()?, port);
        on_wire_after_write.push(data.len());
        acked_during_writes = acked;
    }
    // Read what arrived, as a receiver does: having read several small
    // segments, it may acknowledge them at once (tcp_cleanup_rbuf) rather
    // than at its delayed-ACK timer.
    let mut buf = vec![0u8; writes];
    let got = pair
        .server
        .recv(&mut buf, libc::MSG_WAITALL)
        .context("receiver read")?;
    anyhow::ensure!(got == writes, "the receiver read {got} of {writes} bytes");
    // Everything acknowledged (nothing unacked in the writer's queue) means the
    // capture holds the whole exchange.
    wait::until(
        "the writer's data to be acknowledged",
        Duration::from_secs(2),
        || Ok((pair.client.queued(libc::TIOCOUTQ)? == 0).then_some(())),
    )?;
    let (segments, acked) = data_and_ack(&cap.frames()?, port);
    Ok(Burst {
        segments,
        on_wire_after_write,
        before_first_ack: !acked_during_writes,
        acked,
    })
}

/// `small_writes`, repeated (at most `ATTEMPTS` times) until every write was
/// made before the first ACK; the last burst if none was.
pub fn small_writes_before_ack(family: Family, nodelay: i32, writes: usize) -> Result<Burst> {
    Ok(bursts_until_before_ack(family, nodelay, writes)?.0)
}

/// `small_writes_before_ack`, with the number of bursts it took.
fn bursts_until_before_ack(family: Family, nodelay: i32, writes: usize) -> Result<(Burst, usize)> {
    let mut burst = small_writes(family, nodelay, writes)?;
    for attempt in 1..ATTEMPTS {
        if burst.before_first_ack {
            return Ok((burst, attempt));
        }
        burst = small_writes(family, nodelay, writes)?;
    }
    Ok((burst, ATTEMPTS))
}

/// `WRITES` one-byte writes with one setting of TCP_NODELAY and of
/// tcp_autocorking.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// TCP_NODELAY on the writer.
    pub nodelay: bool,
    /// net.ipv4.tcp_autocorking as read back before the writes.
    pub autocorking: bool,
    /// Data-bearing segments the writer sent, with their payload sizes.
    pub segments: Vec<u32>,
    /// Bursts made until one had every write before the receiver's ACK.
    pub attempts: usize,
    /// The receiver's ACK waited until every write was made (the setup the
    /// claim needs: TCP_QUICKACK 0 on the receiver).
    pub ack_held: bool,
    /// The receiver's ACK is on the wire after the writes.
    pub acked: bool,
}

/// Bursts until one is made entirely before the receiver's ACK (a writer
/// preempted past the delayed-ACK timer proves nothing), at most ATTEMPTS.
fn trial(family: Family, nodelay: bool, autocorking_on: bool) -> Result<Trial> {
    set_autocorking(autocorking_on)?;
    let autocorking = autocorking()? != 0;
    let (b, attempts) = bursts_until_before_ack(family, nodelay as i32, WRITES)?;
    Ok(Trial {
        nodelay,
        autocorking,
        segments: b.segments,
        attempts,
        ack_held: b.before_first_ack,
        acked: b.acked,
    })
}

/// Nagle and TCP_NODELAY, each with tcp_autocorking off and on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coalesce {
    /// One-byte writes per trial.
    pub writes: usize,
    /// net.ipv4.tcp_autocorking as the namespace had it before the case.
    pub tcp_autocorking_default: i64,
    /// Nagle on, autocorking off.
    pub nagle: Trial,
    /// TCP_NODELAY, autocorking off.
    pub nodelay: Trial,
    /// Nagle on, autocorking on.
    pub nagle_autocorking: Trial,
    /// TCP_NODELAY, autocorking on.
    pub nodelay_autocorking: Trial,
}

fn coalesce(_lab: &mut Lab, family: Family) -> Result<Coalesce> {
    let tcp_autocorking_default = autocorking()?;
    Ok(Coalesce {
        writes: WRITES,
        tcp_autocorking_default,
        nagle: trial(family, false, false)?,
        nodelay: trial(family, true, false)?,
        nagle_autocorking: trial(family, false, true)?,
        nodelay_autocorking: trial(family, true, true)?,
    })
}

/// Segments as a reader counts them: "2 segments (1+4 B)".
fn segments(sizes: &[u32]) -> String {
    let bytes: Vec<String> = sizes.iter().map(u32::to_string).collect();
    match sizes.len() {
        0 => "no segment".into(),
        1 => format!("1 segment ({} B)", bytes.join("+")),
        n => format!("{n} segments ({} B)", bytes.join("+")),
    }
}

impl Observation for Coalesce {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let trials = [
            &self.nagle,
            &self.nodelay,
            &self.nagle_autocorking,
            &self.nodelay_autocorking,
        ];
        j.expect_eq(
            "the receiver held its ACK until the writes were made (TCP_QUICKACK 0)",
            &vec![true; 4],
            &trials.map(|t| t.ack_held).to_vec(),
        );
        j.expect_eq(
            "the receiver's ACK is on the wire after the writes (every trial)",
            &vec![true; 4],
            &trials.map(|t| t.acked).to_vec(),
        );
        j.expect_eq(
            "tcp_autocorking as each trial ran (Nagle, TCP_NODELAY, Nagle, TCP_NODELAY)",
            &vec![false, false, true, true],
            &trials.map(|t| t.autocorking).to_vec(),
        );
        let n = self.writes;
        let coalesced = vec![1, n.saturating_sub(1) as u32];
        let one_per_write = vec![1u32; n];
        j.expect_eq(
            "Nagle on, autocorking 0: first byte, then the rest in one segment",
            &coalesced,
            &self.nagle.segments,
        );
        j.expect_eq(
            "TCP_NODELAY, autocorking 0: one segment per write",
            &one_per_write,
            &self.nodelay.segments,
        );
        j.expect_eq(
            "Nagle on, autocorking 1: first byte, then the rest in one segment",
            &coalesced,
            &self.nagle_autocorking.segments,
        );
        let nodelay_ac = &self.nodelay_autocorking.segments;
        j.expect(
            "TCP_NODELAY, autocorking 1: every byte sent, never fewer segments than Nagle",
            nodelay_ac.iter().sum::<u32>() as usize == n && nodelay_ac.len() >= 2,
            format!("{n} bytes in 2 to {n} segments"),
            segments(nodelay_ac),
        );
        let holds = self.nagle.segments == coalesced && self.nodelay.segments.len() == n;
        j.verdict(
            Verdict::holds_if(holds),
            format!(
                "{n} one-byte writes before the ACK: Nagle on -> {}, TCP_NODELAY -> {} (tcp_autocorking=0); \
                 with tcp_autocorking=1: {} and {}",
                segments(&self.nagle.segments),
                segments(&self.nodelay.segments),
                segments(&self.nagle_autocorking.segments),
                segments(nodelay_ac)
            ),
        );
        j.key(format!(
            "Nagle {} segments, TCP_NODELAY {} (autocorking off); {} and {} with autocorking on",
            self.nagle.segments.len(),
            self.nodelay.segments.len(),
            self.nagle_autocorking.segments.len(),
            nodelay_ac.len()
        ));
        j
    }
}

/// One-byte writes in nagle.nodelay_segments.
const NODELAY_WRITES: usize = 10;

/// The same one-byte writes with TCP_NODELAY and with Nagle on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodelaySegments {
    pub writes: usize,
    /// net.ipv4.tcp_autocorking in the case's namespace as the writes ran.
    pub tcp_autocorking: i64,
    pub nodelay: Burst,
    pub nagle: Burst,
}

fn nodelay_segments(_lab: &mut Lab) -> Result<NodelaySegments> {
    // Autocorking off: on a slow machine it too holds back a small write
    // while an earlier one is still queued. nagle.coalesce shows it at work.
    set_autocorking(false)?;
    Ok(NodelaySegments {
        writes: NODELAY_WRITES,
        tcp_autocorking: autocorking()?,
        nodelay: small_writes(Family::V4, 1, NODELAY_WRITES)?,
        nagle: small_writes_before_ack(Family::V4, 0, NODELAY_WRITES)?,
    })
}

impl Observation for NodelaySegments {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let n = self.writes;
        let each_write_sent: Vec<usize> = (1..=n).collect();
        j.expect_eq(
            "tcp_autocorking in the namespace",
            &0,
            &self.tcp_autocorking,
        );
        j.expect_eq(
            "the receiver's ACK is on the wire after the writes (both runs)",
            &vec![true; 2],
            &vec![self.nodelay.acked, self.nagle.acked],
        );
        j.expect_eq(
            "TCP_NODELAY: one 1-byte segment per write",
            &vec![1u32; n],
            &self.nodelay.segments,
        );
        j.expect_eq(
            "TCP_NODELAY: data segments on the wire as each write() returns",
            &each_write_sent,
            &self.nodelay.on_wire_after_write,
        );
        let nagle = &self.nagle.segments;
        j.expect(
            "Nagle on: fewer segments than writes",
            nagle.len() < n && nagle.iter().sum::<u32>() as usize == n,
            format!("{n} bytes in fewer than {n} segments"),
            segments(nagle),
        );
        let holds =
            self.nodelay.segments.len() == n && self.nodelay.on_wire_after_write == each_write_sent;
        j.verdict(
            Verdict::holds_if(holds),
            format!(
                "{n} one-byte writes, receiver delaying ACKs (tcp_autocorking={}): TCP_NODELAY -> {}, on the \
                 wire as each write returned {}; Nagle on -> {}, on the wire {}",
                self.tcp_autocorking,
                segments(&self.nodelay.segments),
                self.nodelay.on_wire_after_write.show(),
                segments(nagle),
                self.nagle.on_wire_after_write.show()
            ),
        );
        j.key(format!(
            "TCP_NODELAY {} segments for {n} writes; Nagle {}",
            self.nodelay.segments.len(),
            nagle.len()
        ));
        j
    }
}

/// Bytes in each of the two request pieces and in the reply.
const PIECE: usize = 10;
/// The whole request: the server answers once it has both pieces.
const REQUEST: usize = 20;
/// Exchanges judged per mode; the minimum latency is judged, so one
/// preempted exchange on a loaded machine changes nothing.
const EXCHANGES: usize = 5;
/// Exchanges tried per mode at most: a Nagle exchange whose writer lost the
/// CPU past the delayed-ACK timer between its writes is set aside.
const EXCHANGE_ATTEMPTS: usize = 15;

/// One write-write-read exchange, timed and captured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub nodelay: bool,
    #[serde(with = "crate::model::millis")]
    pub latency: Duration,
    /// The second piece was on the wire when its write() returned.
    pub second_sent_in_write: bool,
    /// The server's ACK came between the two pieces (Nagle waited for it).
    pub ack_between: bool,
    /// No ACK had come when the second write returned: the writer was not
    /// preempted past the delayed-ACK timer between its two writes.
    pub writes_before_ack: bool,
}

/// Reads exactly `buf.len()` bytes, or fails saying what it was reading.
fn read_exactly(s: &Sock, buf: &mut [u8], what: &str) -> Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match s
            .recv(&mut buf[got..], 0)
            .with_context(|| what.to_string())?
        {
            0 => bail!("{what}: EOF after {got} bytes"),
            n => got += n,
        }
    }
    Ok(())
}

fn exchange(nodelay: bool) -> Result<Exchange> {
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::loopback(Family::V4)?;
    pair.client
        .set_int(libc::IPPROTO_TCP, libc::TCP_NODELAY, nodelay as i32)
        .context("TCP_NODELAY")?;
    pair.server
        .set_int(libc::IPPROTO_TCP, libc::TCP_QUICKACK, 0)
        .context("TCP_QUICKACK 0")?;
    pair.client
        .set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(3))?;
    pair.server
        .set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(3))?;
    let port = pair.client.local_addr()?.port();
    let (latency, (sent_by_second_write, acked)) =
        std::thread::scope(|s| -> Result<(Duration, (usize, bool))> {
            let server = s.spawn(|| -> Result<()> {
                let mut request = [0u8; REQUEST];
                read_exactly(
                    &pair.server,
                    &mut request,
                    "the server's read of the request",
                )?;
                pair.server.send_all(&[b'r'; PIECE]).context("reply")?;
                Ok(())
            });
            let t = Instant::now();
            pair.client.send(&[b'a'; PIECE], 0).context("first piece")?;
            pair.client
                .send(&[b'b'; PIECE], 0)
                .context("second piece")?;
            let (data, acked) = data_and_ack(cap.drain()?, port);
            let mut reply = [0u8; PIECE];
            read_exactly(&pair.client, &mut reply, "the client's read of the reply")?;
            let latency = t.elapsed();
            server
                .join()
                .map_err(|_| anyhow::anyhow!("server thread panicked"))??;
            Ok((latency, (data.len(), acked)))
        })?;
    let ack_between = ack_between_pieces(&cap.frames()?, port);
    Ok(Exchange {
        nodelay,
        latency,
        second_sent_in_write: sent_by_second_write == 2,
        ack_between,
        writes_before_ack: !acked,
    })
}

/// Write-write-read exchanges with Nagle, then with TCP_NODELAY.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DelayedAckStall {
    /// net.ipv4.tcp_autocorking in the case's namespace as the exchanges ran.
    pub tcp_autocorking: i64,
    /// Every exchange made, in order. Nagle exchanges whose writer was
    /// preempted past the delayed-ACK timer (an ACK before the second write)
    /// are kept here for the record but not judged.
    pub exchanges: Vec<Exchange>,
}

fn delayed_ack_stall(_lab: &mut Lab) -> Result<DelayedAckStall> {
    // Autocorking off: on a slow machine it holds the second TCP_NODELAY
    // piece back while the first is still queued.
    set_autocorking(false)?;
    let tcp_autocorking = autocorking()?;
    let mut exchanges = Vec::new();
    for nodelay in [false, true] {
        let mut judged = 0;
        for _ in 0..EXCHANGE_ATTEMPTS {
            let x = exchange(nodelay)?;
            judged += usize::from(nodelay || x.writes_before_ack);
            exchanges.push(x);
            if judged == EXCHANGES {
                break;
            }
        }
    }
    Ok(DelayedAckStall {
        tcp_autocorking,
        exchanges,
    })
}

/// TCP_ATO_MIN is HZ/25 = 40 ms; a timer fires at most a jiffy early (10 ms
/// at HZ=100).
const STALL_LO: Duration = Duration::from_millis(30);
/// The delayed-ACK timer plus a second for a loaded machine.
const STALL_HI: Duration = Duration::from_millis(1_040);

impl DelayedAckStall {
    /// Nagle exchanges with both writes made before any ACK (the judged ones),
    /// and TCP_NODELAY exchanges.
    fn judged(&self) -> (Vec<&Exchange>, Vec<&Exchange>) {
        let nagle = self
            .exchanges
            .iter()
            .filter(|x| !x.nodelay && x.writes_before_ack)
            .collect();
        let nodelay = self.exchanges.iter().filter(|x| x.nodelay).collect();
        (nagle, nodelay)
    }
}

fn fastest(xs: &[&Exchange]) -> Duration {
    xs.iter().map(|x| x.latency).min().unwrap_or_default()
}

impl Observation for DelayedAckStall {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "tcp_autocorking in the namespace",
            &0,
            &self.tcp_autocorking,
        );
        let (nagle_xs, nodelay_xs) = self.judged();
        let set_aside = self.exchanges.len() - nagle_xs.len() - nodelay_xs.len();
        j.expect(
            "the receiver held its ACK back (TCP_QUICKACK 0)",
            nagle_xs.len() == EXCHANGES,
            format!("{EXCHANGES} Nagle exchanges with no ACK before the second write"),
            format!(
                "{} ({set_aside} set aside, an ACK came first)",
                nagle_xs.len()
            ),
        );
        j.expect_eq("TCP_NODELAY exchanges made", &EXCHANGES, &nodelay_xs.len());
        let (nagle, nodelay) = (fastest(&nagle_xs), fastest(&nodelay_xs));
        let stalled = nagle >= STALL_LO;
        j.expect(
            "Nagle: fastest exchange stalls for the delayed ACK",
            stalled && nagle <= STALL_HI,
            format!("{} to {}", STALL_LO.show(), STALL_HI.show()),
            nagle.show(),
        );
        let nagle_waited = nagle_xs
            .iter()
            .all(|x| x.ack_between && !x.second_sent_in_write);
        j.expect_eq(
            "Nagle: the second piece waited for the server's ACK (every exchange)",
            &true,
            &nagle_waited,
        );
        // TCP_NODELAY's side is judged on the wire, not by the clock: a slow
        // machine (an emulated guest) takes tens of ms for any exchange.
        let unacked = nodelay_xs.iter().filter(|x| x.writes_before_ack).count();
        let in_write = nodelay_xs.iter().all(|x| x.second_sent_in_write);
        j.expect(
            "TCP_NODELAY: the second piece left inside its write(), before any ACK (every exchange)",
            unacked > 0 && in_write,
            "in every exchange",
            format!(
                "{} (exchanges with no ACK before the second write: {unacked})",
                if in_write {
                    "in every exchange"
                } else {
                    "not in every exchange"
                }
            ),
        );
        let quiet = nodelay_xs
            .iter()
            .all(|x| !x.writes_before_ack || !x.ack_between);
        j.expect(
            "TCP_NODELAY: no ACK between the two pieces (every exchange not preempted)",
            quiet,
            "none",
            if quiet {
                "none"
            } else {
                "an ACK between the pieces"
            },
        );
        let nodelay_sent = if in_write {
            "second piece sent at once"
        } else {
            "second piece not always sent at once"
        };
        let nagle_held = if nagle_waited {
            "second piece held until the delayed ACK"
        } else {
            "second piece not always held for an ACK"
        };
        j.verdict(
            Verdict::holds_if(stalled && nodelay < nagle),
            format!(
                "write({PIECE})-write({PIECE})-read, fastest of {EXCHANGES}: Nagle {} ({nagle_held}; a stall is \
                 >= {}), TCP_NODELAY {} ({nodelay_sent})",
                nagle.show(),
                STALL_LO.show(),
                nodelay.show()
            ),
        );
        j.key(format!(
            "Nagle {} vs TCP_NODELAY {}",
            nagle.show(),
            nodelay.show()
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn t(nodelay: bool, autocorking: bool, segments: &[u32]) -> Trial {
        Trial {
            nodelay,
            autocorking,
            segments: segments.to_vec(),
            attempts: 1,
            ack_held: true,
            acked: true,
        }
    }

    /// What Linux 6.18 did: 5 writes, 2 segments with Nagle, 5 with TCP_NODELAY.
    fn coalesce_linux() -> Coalesce {
        Coalesce {
            writes: 5,
            tcp_autocorking_default: 1,
            nagle: t(false, false, &[1, 4]),
            nodelay: t(true, false, &[1, 1, 1, 1, 1]),
            nagle_autocorking: t(false, true, &[1, 4]),
            nodelay_autocorking: t(true, true, &[1, 1, 1, 1, 1]),
        }
    }

    const CO_HELD: &str = "the receiver held its ACK until the writes were made (TCP_QUICKACK 0)";
    const CO_NAGLE: &str = "Nagle on, autocorking 0: first byte, then the rest in one segment";
    const CO_NODELAY: &str = "TCP_NODELAY, autocorking 0: one segment per write";
    const CO_NAGLE_AC: &str = "Nagle on, autocorking 1: first byte, then the rest in one segment";
    const CO_NODELAY_AC: &str =
        "TCP_NODELAY, autocorking 1: every byte sent, never fewer segments than Nagle";

    #[rstest]
    #[case::linux(coalesce_linux(), Verdict::Holds, &[])]
    // BSD has no autocorking: the same segments whatever the sysctl (absent there) says.
    #[case::bsd(Coalesce { tcp_autocorking_default: 0, ..coalesce_linux() }, Verdict::Holds, &[])]
    // Nagle not coalescing: 5 writes, 5 segments either way.
    #[case::no_coalescing(Coalesce { nagle: t(false, false, &[1, 1, 1, 1, 1]),
        nagle_autocorking: t(false, true, &[1, 1, 1, 1, 1]), ..coalesce_linux() },
        Verdict::Refuted, &[CO_NAGLE, CO_NAGLE_AC])]
    // TCP_NODELAY silently ignored: the NODELAY writes coalesce too.
    #[case::nodelay_ignored(Coalesce { nodelay: t(true, false, &[1, 4]),
        nodelay_autocorking: t(true, true, &[1, 4]), ..coalesce_linux() },
        Verdict::Refuted, &[CO_NODELAY])]
    // Autocorking merging TCP_NODELAY writes queued behind another (a slow machine).
    #[case::autocorked(Coalesce { nodelay_autocorking: t(true, true, &[1, 2, 2]), ..coalesce_linux() },
        Verdict::Holds, &[])]
    #[case::autocorked_to_nagle(Coalesce { nodelay_autocorking: t(true, true, &[1, 4]), ..coalesce_linux() },
        Verdict::Holds, &[])]
    #[case::autocorked_to_one(Coalesce { nodelay_autocorking: t(true, true, &[5]), ..coalesce_linux() },
        Verdict::Holds, &[CO_NODELAY_AC])]
    #[case::byte_lost(Coalesce { nodelay_autocorking: t(true, true, &[1, 1, 1, 1]), ..coalesce_linux() },
        Verdict::Holds, &[CO_NODELAY_AC])]
    // Everything in one segment: Nagle waiting even for the first byte.
    #[case::first_byte_held(Coalesce { nagle: t(false, false, &[5]), ..coalesce_linux() },
        Verdict::Refuted, &[CO_NAGLE])]
    // TCP_QUICKACK 0 ignored: each byte acknowledged at once, so Nagle sends each.
    #[case::quickack_ignored(Coalesce {
        nagle: Trial { ack_held: false, attempts: 5, ..t(false, false, &[1, 1, 1, 1, 1]) },
        nagle_autocorking: Trial { ack_held: false, attempts: 5, ..t(false, true, &[1, 1, 1, 1, 1]) },
        ..coalesce_linux() }, Verdict::Refuted, &[CO_HELD, CO_NAGLE, CO_NAGLE_AC])]
    #[case::ack_missing(Coalesce { nodelay: Trial { acked: false, ..t(true, false, &[1, 1, 1, 1, 1]) },
        ..coalesce_linux() }, Verdict::Holds,
        &["the receiver's ACK is on the wire after the writes (every trial)"])]
    // The sysctl write lost: autocorking stayed on for every trial.
    #[case::autocorking_stuck(Coalesce { nagle: t(false, true, &[1, 4]), nodelay: t(true, true, &[1, 1, 1, 1, 1]),
        ..coalesce_linux() }, Verdict::Holds,
        &["tcp_autocorking as each trial ran (Nagle, TCP_NODELAY, Nagle, TCP_NODELAY)"])]
    #[case::six_writes(Coalesce { writes: 6, nagle: t(false, false, &[1, 5]), nodelay: t(true, false, &[1; 6]),
        nagle_autocorking: t(false, true, &[1, 5]), nodelay_autocorking: t(true, true, &[1, 2, 3]),
        ..coalesce_linux() }, Verdict::Holds, &[])]
    fn coalesce_judgement(#[case] o: Coalesce, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn coalesce_words() {
        let j = coalesce_linux().judge();
        assert_eq!(
            "Nagle 2 segments, TCP_NODELAY 5 (autocorking off); 2 and 5 with autocorking on",
            j.key
        );
        assert_eq!(
            "5 one-byte writes before the ACK: Nagle on -> 2 segments (1+4 B), TCP_NODELAY -> 5 segments \
             (1+1+1+1+1 B) (tcp_autocorking=0); with tcp_autocorking=1: 2 segments (1+4 B) and 5 segments \
             (1+1+1+1+1 B)",
            j.because
        );
        assert_eq!("no segment", segments(&[]));
        assert_eq!("1 segment (5 B)", segments(&[5]));
        let one = Coalesce {
            nodelay_autocorking: t(true, true, &[5]),
            ..coalesce_linux()
        }
        .judge();
        let check = one.checks.iter().find(|c| c.what == CO_NODELAY_AC).unwrap();
        assert_eq!(
            ("5 bytes in 2 to 5 segments", "1 segment (5 B)"),
            (check.expected.as_str(), check.observed.as_str())
        );
        let held = one.checks.iter().find(|c| c.what == CO_HELD).unwrap();
        assert_eq!(
            ("[true, true, true, true]", "[true, true, true, true]"),
            (held.expected.as_str(), held.observed.as_str())
        );
    }

    fn burst(segments: &[u32], on_wire: &[usize]) -> Burst {
        Burst {
            segments: segments.to_vec(),
            on_wire_after_write: on_wire.to_vec(),
            before_first_ack: true,
            acked: true,
        }
    }

    fn nodelay_linux() -> NodelaySegments {
        NodelaySegments {
            writes: 10,
            tcp_autocorking: 0,
            nodelay: burst(&[1; 10], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
            nagle: burst(&[1, 9], &[1; 10]),
        }
    }

    const ND_EACH: &str = "TCP_NODELAY: one 1-byte segment per write";
    const ND_ON_WIRE: &str = "TCP_NODELAY: data segments on the wire as each write() returns";
    const ND_NAGLE: &str = "Nagle on: fewer segments than writes";

    #[rstest]
    #[case::linux(nodelay_linux(), Verdict::Holds, &[])]
    // TCP_NODELAY silently ignored: the writes coalesce like Nagle's.
    #[case::nodelay_ignored(NodelaySegments { nodelay: burst(&[1, 9], &[1; 10]), ..nodelay_linux() },
        Verdict::Refuted, &[ND_EACH, ND_ON_WIRE])]
    // Autocorking on: a write merged into one still queued.
    #[case::autocorked(NodelaySegments { tcp_autocorking: 1,
        nodelay: burst(&[1, 1, 1, 1, 1, 1, 1, 1, 2], &[1, 2, 3, 4, 5, 6, 7, 8, 8, 9]), ..nodelay_linux() },
        Verdict::Refuted, &["tcp_autocorking in the namespace", ND_EACH, ND_ON_WIRE])]
    // One segment per write, but each left after its write() returned.
    #[case::sent_late(NodelaySegments { nodelay: burst(&[1; 10], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
        ..nodelay_linux() }, Verdict::Refuted, &[ND_ON_WIRE])]
    #[case::nagle_not_coalescing(NodelaySegments { nagle: burst(&[1; 10], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ..nodelay_linux() }, Verdict::Holds, &[ND_NAGLE])]
    #[case::nagle_one_short(NodelaySegments { nagle: burst(&[1, 1, 1, 1, 1, 1, 1, 1, 2], &[1; 10]),
        ..nodelay_linux() }, Verdict::Holds, &[])]
    #[case::nagle_lost_a_byte(NodelaySegments { nagle: burst(&[1, 8], &[1; 10]), ..nodelay_linux() },
        Verdict::Holds, &[ND_NAGLE])]
    #[case::ack_missing(NodelaySegments { nagle: Burst { acked: false, ..burst(&[1, 9], &[1; 10]) },
        ..nodelay_linux() }, Verdict::Holds, &["the receiver's ACK is on the wire after the writes (both runs)"])]
    fn nodelay_judgement(
        #[case] o: NodelaySegments,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn nodelay_words() {
        let j = nodelay_linux().judge();
        assert_eq!("TCP_NODELAY 10 segments for 10 writes; Nagle 2", j.key);
        assert_eq!(
            "10 one-byte writes, receiver delaying ACKs (tcp_autocorking=0): TCP_NODELAY -> 10 segments \
             (1+1+1+1+1+1+1+1+1+1 B), on the wire as each write returned [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]; Nagle \
             on -> 2 segments (1+9 B), on the wire [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]",
            j.because
        );
        let check = j.checks.iter().find(|c| c.what == ND_NAGLE).unwrap();
        assert_eq!(
            ("10 bytes in fewer than 10 segments", "2 segments (1+9 B)"),
            (check.expected.as_str(), check.observed.as_str())
        );
    }

    fn x(nodelay: bool, ms: f64, in_write: bool, ack_between: bool, before_ack: bool) -> Exchange {
        Exchange {
            nodelay,
            latency: Duration::from_secs_f64(ms / 1e3),
            second_sent_in_write: in_write,
            ack_between,
            writes_before_ack: before_ack,
        }
    }

    /// A Nagle exchange as Linux makes it: the second piece held for the ACK.
    fn nagle_x(ms: f64) -> Exchange {
        x(false, ms, false, true, true)
    }

    fn nodelay_x(ms: f64) -> Exchange {
        x(true, ms, true, false, true)
    }

    fn stall(nagle: &[f64], nodelay: &[f64]) -> DelayedAckStall {
        let mut exchanges: Vec<Exchange> = nagle.iter().map(|ms| nagle_x(*ms)).collect();
        exchanges.extend(nodelay.iter().map(|ms| nodelay_x(*ms)));
        DelayedAckStall {
            tcp_autocorking: 0,
            exchanges,
        }
    }

    /// What Linux 6.18 did.
    fn stall_linux() -> DelayedAckStall {
        stall(
            &[76.151, 68.296, 43.629, 64.583, 43.884],
            &[0.186, 0.143, 0.137, 0.143, 0.145],
        )
    }

    const ST_HELD: &str = "the receiver held its ACK back (TCP_QUICKACK 0)";
    const ST_MADE: &str = "TCP_NODELAY exchanges made";
    const ST_STALL: &str = "Nagle: fastest exchange stalls for the delayed ACK";
    const ST_WAITED: &str = "Nagle: the second piece waited for the server's ACK (every exchange)";
    const ST_QUIET: &str =
        "TCP_NODELAY: no ACK between the two pieces (every exchange not preempted)";
    const ST_NODELAY: &str =
        "TCP_NODELAY: the second piece left inside its write(), before any ACK (every exchange)";

    fn with(mut o: DelayedAckStall, i: usize, e: Exchange) -> DelayedAckStall {
        o.exchanges[i] = e;
        o
    }

    #[rstest]
    #[case::linux(stall_linux(), Verdict::Holds, &[])]
    // BSD's delayed-ACK timer: 100 ms.
    #[case::bsd(stall(&[100.0; 5], &[0.1; 5]), Verdict::Holds, &[])]
    // An emulated guest: every exchange slow, TCP_NODELAY still sends at once.
    #[case::slow_guest(stall(&[90.0; 5], &[45.0; 5]), Verdict::Holds, &[])]
    #[case::stall_lo(stall(&[30.0; 5], &[0.1; 5]), Verdict::Holds, &[])]
    #[case::below_stall_lo(stall(&[29.9; 5], &[0.1; 5]), Verdict::Refuted, &[ST_STALL])]
    #[case::stall_hi(stall(&[1_040.0; 5], &[0.1; 5]), Verdict::Holds, &[])]
    #[case::above_stall_hi(stall(&[1_041.0; 5], &[0.1; 5]), Verdict::Holds, &[ST_STALL])]
    // The fastest counts: one stalled exchange among quick ones is no stall.
    #[case::fastest_quick(stall(&[44.0, 44.0, 1.0, 44.0, 44.0], &[0.1; 5]), Verdict::Refuted, &[ST_STALL])]
    #[case::nodelay_as_slow(stall(&[44.0; 5], &[44.0; 5]), Verdict::Refuted, &[])]
    // TCP_NODELAY silently ignored: its exchanges stall like Nagle's.
    #[case::nodelay_ignored(DelayedAckStall { tcp_autocorking: 0, exchanges: [stall(&[44.0; 5], &[]).exchanges,
        vec![x(true, 44.0, false, true, true); 5]].concat() }, Verdict::Refuted, &[ST_NODELAY, ST_QUIET])]
    #[case::nodelay_one_held(with(stall_linux(), 7, x(true, 44.0, false, true, true)),
        Verdict::Holds, &[ST_NODELAY, ST_QUIET])]
    // The receiver acknowledged the first piece before every second write.
    #[case::nodelay_all_acked(DelayedAckStall { tcp_autocorking: 0, exchanges: [stall(&[44.0; 5], &[]).exchanges,
        vec![x(true, 0.1, true, true, false); 5]].concat() }, Verdict::Holds, &[ST_NODELAY])]
    #[case::nagle_sent_at_once(with(stall_linux(), 0, x(false, 76.0, true, true, true)),
        Verdict::Holds, &[ST_WAITED])]
    #[case::nagle_no_ack_between(with(stall_linux(), 1, x(false, 68.0, false, false, true)),
        Verdict::Holds, &[ST_WAITED])]
    // A preempted Nagle writer: that exchange is set aside, the rest judged.
    #[case::one_preempted(DelayedAckStall { tcp_autocorking: 0, exchanges: [vec![x(false, 1.0, true, false, false)],
        stall_linux().exchanges].concat() }, Verdict::Holds, &[])]
    // TCP_QUICKACK 0 ignored: every Nagle exchange sees the ACK before its second write.
    #[case::quickack_ignored(DelayedAckStall { tcp_autocorking: 0, exchanges: [vec![x(false, 0.2, true, false, false); 15],
        stall(&[], &[0.1; 5]).exchanges].concat() }, Verdict::Refuted, &[ST_HELD, ST_STALL])]
    #[case::nodelay_acked_between(with(stall_linux(), 6, x(true, 0.1, true, true, true)),
        Verdict::Holds, &[ST_QUIET])]
    // A preempted TCP_NODELAY writer: an ACK between its pieces proves nothing.
    #[case::nodelay_preempted(with(stall_linux(), 6, x(true, 41.0, true, true, false)), Verdict::Holds, &[])]
    #[case::autocorking_on(DelayedAckStall { tcp_autocorking: 1, ..stall_linux() }, Verdict::Holds,
        &["tcp_autocorking in the namespace"])]
    #[case::nagle_one_too_many(stall(&[44.0; 6], &[0.1; 5]), Verdict::Holds, &[ST_HELD])]
    #[case::nodelay_one_short(stall(&[44.0; 5], &[0.1; 4]), Verdict::Holds, &[ST_MADE])]
    fn stall_judgement(
        #[case] o: DelayedAckStall,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn stall_words() {
        let j = stall_linux().judge();
        assert_eq!("Nagle 43.6 ms vs TCP_NODELAY 0.1 ms", j.key);
        assert_eq!(
            "write(10)-write(10)-read, fastest of 5: Nagle 43.6 ms (second piece held until the delayed ACK; a \
             stall is >= 30 ms), TCP_NODELAY 0.1 ms (second piece sent at once)",
            j.because
        );
        let odd = with(
            with(stall_linux(), 0, x(false, 76.0, true, true, true)),
            5,
            x(true, 0.2, false, false, true),
        )
        .judge();
        assert!(odd
            .because
            .contains("(second piece not always held for an ACK;"));
        assert!(odd
            .because
            .ends_with("(second piece not always sent at once)"));
        let checks = |j: &Judgement, what: &str| {
            let c = j.checks.iter().find(|c| c.what == what).unwrap();
            (c.expected.clone(), c.observed.clone())
        };
        assert_eq!(
            (
                "in every exchange".to_string(),
                "not in every exchange (exchanges with no ACK before the second write: 5)"
                    .to_string()
            ),
            checks(&odd, ST_NODELAY)
        );
        assert_eq!(
            (
                "in every exchange".to_string(),
                "in every exchange (exchanges with no ACK before the second write: 5)".to_string()
            ),
            checks(&j, ST_NODELAY)
        );
        assert_eq!(
            ("30 ms to 1040 ms".to_string(), "43.6 ms".to_string()),
            checks(&j, ST_STALL)
        );
        let preempted = DelayedAckStall {
            tcp_autocorking: 0,
            exchanges: [
                vec![x(false, 1.0, true, false, false); 2],
                stall_linux().exchanges,
            ]
            .concat(),
        }
        .judge();
        assert_eq!(
            (
                "5 Nagle exchanges with no ACK before the second write".to_string(),
                "5 (2 set aside, an ACK came first)".to_string()
            ),
            checks(&preempted, ST_HELD)
        );
    }
}
