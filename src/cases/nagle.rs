//! TCP_NODELAY and Nagle's algorithm (004 §5.2).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::lab::opt;
use crate::lab::packet::{Frame, NewData};
use crate::lab::{procnet, wait, Capture, Family, Lab, TcpPair};
use crate::model::{ms, Case, Evidence, Legacy, Source, Verdict, DEFAULT_DEADLINE};

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
    run: &Legacy(|lab| coalesce(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_NODELAY, opt::TCP_QUICKACK],
};

pub static COALESCE_V6: Case = Case {
    id: "nagle.coalesce@v6",
    run: &Legacy(|lab| coalesce(lab, Family::V6)),
    ..COALESCE
};

pub static NODELAY_SEGMENTS: Case = Case {
    id: "nagle.nodelay_segments",
    source: Source::LectureNotes("5.2 TCP_NODELAY"),
    claim: "with TCP_NODELAY every small write is sent at once",
    expectation: "TCP_NODELAY on, receiver delaying its ACKs, tcp_autocorking=0: each one-byte write is its own \
                  segment and leaves inside its write() call, before the next write starts; with Nagle on the same writes give one \
                  segment, then one more after the delayed ACK",
    run: &Legacy(nodelay_segments),
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
    run: &Legacy(delayed_ack_stall),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_NODELAY, opt::TCP_QUICKACK],
};

/// Number of one-byte writes per trial.
const WRITES: usize = 5;
/// Trials whose writes did not all happen before the first ACK (a preempted
/// writer) prove nothing and are repeated, at most this many times.
const ATTEMPTS: usize = 5;

#[derive(Clone, Debug, Serialize)]
pub struct Trial {
    pub nodelay: bool,
    pub autocorking: bool,
    /// Data-bearing segments the writer sent, with their payload sizes.
    pub segments: Vec<u32>,
    pub attempts: usize,
    /// The receiver's ACK waited until every write was made (the setup the
    /// claim needs: TCP_QUICKACK 0 on the receiver).
    pub ack_held: bool,
}

/// What one burst of small writes looked like on the wire.
#[derive(Clone, Debug, Serialize)]
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
}

/// The writer's (`port`) data segments in `frames`, and whether the receiver
/// has sent anything but its SYN-ACK after the first of them.
/// Retransmissions (a tail loss probe when the delayed ACK is slow to come)
/// repeat bytes already sent and are not counted.
fn data_and_ack(frames: &[Frame], port: u16) -> (Vec<u32>, bool) {
    let mut data = Vec::new();
    let mut acked = false;
    let mut fresh = NewData::default();
    for s in frames.iter().filter_map(Frame::segment) {
        if s.sport == port && s.payload > 0 {
            if fresh.is_new(&s) {
                data.push(s.payload);
            }
        } else if s.dport == port && !s.flags.syn && !data.is_empty() {
            acked = true;
        }
    }
    (data, acked)
}

/// One connection: the receiver delays its ACKs (TCP_QUICKACK off), the writer
/// sets TCP_NODELAY to `nodelay` (any int, as given to setsockopt) and makes
/// `writes` one-byte writes back to back.
/// net.ipv4.tcp_autocorking in the calling thread's namespace. With it on,
/// the kernel also holds a small write back while an earlier one is queued.
pub fn set_autocorking(on: bool) -> Result<()> {
    procnet::set_sysctl("net/ipv4/tcp_autocorking", if on { "1" } else { "0" })
}

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
    let mut got = 0;
    let mut buf = vec![0u8; writes];
    while got < writes {
        got += pair
            .server
            .recv(&mut buf[got..], 0)
            .context("receiver read")?;
    }
    // Everything acknowledged (nothing unacked in the writer's queue) means the
    // capture holds the whole exchange.
    wait::until(
        "the writer's data to be acknowledged",
        Duration::from_secs(2),
        || Ok((pair.client.queued(libc::TIOCOUTQ)? == 0).then_some(())),
    )?;
    let (segments, _) = data_and_ack(&cap.frames()?, port);
    Ok(Burst {
        segments,
        on_wire_after_write,
        before_first_ack: !acked_during_writes,
    })
}

/// `small_writes`, repeated (at most `ATTEMPTS` times) until every write was
/// made before the first ACK; the last burst if none was.
pub fn small_writes_before_ack(family: Family, nodelay: i32, writes: usize) -> Result<Burst> {
    let mut burst = small_writes(family, nodelay, writes)?;
    for _ in 1..ATTEMPTS {
        if burst.before_first_ack {
            break;
        }
        burst = small_writes(family, nodelay, writes)?;
    }
    Ok(burst)
}

/// Payload sizes of a burst of `WRITES` one-byte writes, or None when the
/// first ACK beat the last write.
/// Bursts until one is made entirely before the receiver's ACK (a writer
/// preempted past the delayed-ACK timer proves nothing), at most ATTEMPTS.
fn trial(family: Family, nodelay: bool, autocorking: bool) -> Result<Trial> {
    set_autocorking(autocorking)?;
    let mut segments = Vec::new();
    for attempt in 1..=ATTEMPTS {
        let b = small_writes(family, nodelay as i32, WRITES)?;
        if b.before_first_ack {
            return Ok(Trial {
                nodelay,
                autocorking,
                segments: b.segments,
                attempts: attempt,
                ack_held: true,
            });
        }
        segments = b.segments;
    }
    Ok(Trial {
        nodelay,
        autocorking,
        segments,
        attempts: ATTEMPTS,
        ack_held: false,
    })
}

fn coalesce(_lab: &mut Lab, family: Family) -> Result<Evidence> {
    let default_autocorking = procnet::sysctl_int("net/ipv4/tcp_autocorking")?;
    let mut trials = Vec::new();
    for autocorking in [false, true] {
        for nodelay in [false, true] {
            trials.push(trial(family, nodelay, autocorking)?);
        }
    }
    let segs = |nodelay: bool, autocorking: bool| {
        trials
            .iter()
            .find(|t| t.nodelay == nodelay && t.autocorking == autocorking)
            .map(|t| t.segments.clone())
            .unwrap_or_default()
    };
    let nagle = segs(false, false);
    let nodelay = segs(true, false);
    let nagle_ac = segs(false, true);
    let nodelay_ac = segs(true, true);

    let mut ev = Evidence::new();
    ev.observe("writes", WRITES)
        .observe("tcp_autocorking_default", default_autocorking)
        .observe("trials", &trials);
    ev.expect_eq(
        "the receiver held its ACK until the writes were made (TCP_QUICKACK 0)",
        vec![true; trials.len()],
        trials.iter().map(|t| t.ack_held).collect::<Vec<_>>(),
    );
    let coalesced = vec![1, (WRITES - 1) as u32];
    ev.expect_eq(
        "Nagle on, autocorking 0: first byte, then the rest in one segment",
        coalesced.clone(),
        nagle.clone(),
    );
    ev.expect_eq(
        "TCP_NODELAY, autocorking 0: one segment per write",
        vec![1u32; WRITES],
        nodelay.clone(),
    );
    ev.expect_eq(
        "Nagle on, autocorking 1: first byte, then the rest in one segment",
        coalesced.clone(),
        nagle_ac.clone(),
    );
    ev.expect(
        "TCP_NODELAY, autocorking 1: every byte sent, never fewer segments than Nagle",
        nodelay_ac.iter().sum::<u32>() == WRITES as u32 && nodelay_ac.len() >= 2,
        format!("{WRITES} bytes in 2..={WRITES} segments"),
        format!("{nodelay_ac:?}"),
    );
    let verdict = Verdict::holds_if(nagle == coalesced && nodelay.len() == WRITES);
    ev.verdict(verdict, format!(
        "{WRITES} one-byte writes before the ACK: Nagle on -> segments {nagle:?}, TCP_NODELAY -> {nodelay:?} \
         (tcp_autocorking=0); with tcp_autocorking=1: {nagle_ac:?} and {nodelay_ac:?}"));
    ev.key(format!(
        "Nagle {} segs, NODELAY {} segs (autocork 0); {} / {} (autocork 1)",
        nagle.len(),
        nodelay.len(),
        nagle_ac.len(),
        nodelay_ac.len()
    ));
    Ok(ev)
}

/// One-byte writes in nagle.nodelay_segments.
const NODELAY_WRITES: usize = 10;

fn nodelay_segments(_lab: &mut Lab) -> Result<Evidence> {
    // Autocorking off: on a slow machine it too holds back a small write
    // while an earlier one is still queued. nagle.coalesce shows it at work.
    set_autocorking(false)?;
    let autocorking = procnet::sysctl_int("net/ipv4/tcp_autocorking")?;
    let nodelay = small_writes(Family::V4, 1, NODELAY_WRITES)?;
    let nagle = small_writes_before_ack(Family::V4, 0, NODELAY_WRITES)?;
    let each_write_sent: Vec<usize> = (1..=NODELAY_WRITES).collect();

    let mut ev = Evidence::new();
    ev.observe("writes", NODELAY_WRITES)
        .observe("tcp_autocorking", autocorking)
        .observe("nodelay", &nodelay)
        .observe("nagle", &nagle);
    ev.expect_eq(
        "TCP_NODELAY: one 1-byte segment per write",
        vec![1u32; NODELAY_WRITES],
        nodelay.segments.clone(),
    );
    ev.expect_eq(
        "TCP_NODELAY: data segments on the wire as each write() returns",
        each_write_sent.clone(),
        nodelay.on_wire_after_write.clone(),
    );
    ev.expect(
        "Nagle on: fewer segments than writes",
        nagle.segments.len() < NODELAY_WRITES
            && nagle.segments.iter().sum::<u32>() == NODELAY_WRITES as u32,
        format!("{NODELAY_WRITES} bytes in fewer than {NODELAY_WRITES} segments"),
        format!("{:?}", nagle.segments),
    );
    let holds =
        nodelay.segments.len() == NODELAY_WRITES && nodelay.on_wire_after_write == each_write_sent;
    ev.verdict(
        Verdict::holds_if(holds),
        format!(
            "{NODELAY_WRITES} one-byte writes, receiver delaying ACKs (tcp_autocorking={autocorking}): TCP_NODELAY \
             -> segments {:?}, on the wire as each write returned {:?}; Nagle on -> segments {:?}, on the wire \
             {:?}",
            nodelay.segments, nodelay.on_wire_after_write, nagle.segments, nagle.on_wire_after_write
        ),
    );
    ev.key(format!(
        "NODELAY {} segs / {NODELAY_WRITES} writes; Nagle {} segs",
        nodelay.segments.len(),
        nagle.segments.len()
    ));
    Ok(ev)
}

/// Bytes in each of the two request pieces and in the reply.
const PIECE: usize = 10;
/// Exchanges per mode; the minimum latency is judged, so one preempted
/// exchange on a loaded machine changes nothing.
const EXCHANGES: usize = 5;

/// One write-write-read exchange, timed and captured.
#[derive(Clone, Debug, Serialize)]
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
                let mut buf = [0u8; 2 * PIECE];
                let mut got = 0;
                while got < 2 * PIECE {
                    match pair
                        .server
                        .recv(&mut buf[got..], 0)
                        .context("server read")?
                    {
                        0 => bail!("EOF after {got} bytes of the request"),
                        n => got += n,
                    }
                }
                pair.server.send_all(&[b'r'; PIECE]).context("reply")?;
                Ok(())
            });
            let t = std::time::Instant::now();
            pair.client.send(&[b'a'; PIECE], 0).context("first piece")?;
            pair.client
                .send(&[b'b'; PIECE], 0)
                .context("second piece")?;
            let (data, acked) = data_and_ack(cap.drain()?, port);
            let mut reply = [0u8; PIECE];
            let mut got = 0;
            while got < PIECE {
                match pair
                    .client
                    .recv(&mut reply[got..], 0)
                    .context("client read")?
                {
                    0 => bail!("EOF after {got} bytes of the reply"),
                    n => got += n,
                }
            }
            let latency = t.elapsed();
            server
                .join()
                .map_err(|_| anyhow::anyhow!("server thread panicked"))??;
            Ok((latency, (data.len(), acked)))
        })?;
    // In capture order: the client's pieces and the server's pure ACKs.
    let order: Vec<char> = cap
        .frames()?
        .iter()
        .filter_map(Frame::segment)
        .filter_map(|s| match s {
            s if s.sport == port && s.payload > 0 => Some('D'),
            s if s.dport == port && s.payload == 0 && !s.flags.syn => Some('A'),
            _ => None,
        })
        .collect();
    let pieces: Vec<usize> = order
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == 'D')
        .map(|(i, _)| i)
        .collect();
    let ack_between = match (pieces.first(), pieces.get(1)) {
        (Some(&a), Some(&b)) => order[a..b].contains(&'A'),
        _ => false,
    };
    Ok(Exchange {
        nodelay,
        latency,
        second_sent_in_write: sent_by_second_write == 2,
        ack_between,
        writes_before_ack: !acked,
    })
}

fn delayed_ack_stall(_lab: &mut Lab) -> Result<Evidence> {
    let mut runs = Vec::new();
    let mut discarded = 0;
    // False when the receiver would not hold its ACK back (TCP_QUICKACK 0
    // without effect): then there is no stall to judge.
    let mut ack_held = true;
    for nodelay in [false, true] {
        let mut kept = 0;
        while kept < EXCHANGES {
            let x = exchange(nodelay)?;
            // Nagle only: an exchange whose writer lost the CPU past the
            // delayed-ACK timer between its writes shows no stall to judge.
            if !nodelay && !x.writes_before_ack {
                discarded += 1;
                if discarded > 2 * EXCHANGES {
                    ack_held = false;
                    runs.push(x);
                    break;
                }
                continue;
            }
            runs.push(x);
            kept += 1;
        }
    }
    let min = |nodelay: bool| {
        runs.iter()
            .filter(|r| r.nodelay == nodelay)
            .map(|r| r.latency)
            .min()
            .unwrap_or_default()
    };
    let all = |nodelay: bool, p: fn(&Exchange) -> bool| {
        runs.iter().filter(|r| r.nodelay == nodelay).all(p)
    };
    let (nagle, nodelay) = (min(false), min(true));
    // TCP_ATO_MIN is HZ/25 = 40 ms; a timer fires at most a jiffy early (10 ms
    // at HZ=100), and a loaded machine may add up to a second.
    let stall_lo = Duration::from_millis(30);
    let stall_hi = Duration::from_millis(40 + 1000);

    let mut ev = Evidence::new();
    ev.expect_eq(
        "the receiver held its ACK back (TCP_QUICKACK 0)",
        true,
        ack_held,
    );
    ev.observe("exchanges", &runs)
        .observe("discarded_preempted_exchanges", discarded)
        .observe("min_latency_nagle_ms", ms(nagle))
        .observe("min_latency_nodelay_ms", ms(nodelay));
    ev.expect(
        "Nagle: fastest exchange stalls for the delayed ACK",
        nagle >= stall_lo && nagle <= stall_hi,
        format!("{:.0}..{:.0} ms", ms(stall_lo), ms(stall_hi)),
        format!("{:.1} ms", ms(nagle)),
    );
    ev.expect_eq(
        "Nagle: the second piece waited for the server's ACK (every exchange)",
        true,
        all(false, |r| r.ack_between && !r.second_sent_in_write),
    );
    // TCP_NODELAY's side is judged on the wire, not by the clock: a slow
    // machine (an emulated guest) takes tens of ms for any exchange.
    let unacked = runs
        .iter()
        .filter(|r| r.nodelay && r.writes_before_ack)
        .count();
    let in_write = all(true, |r| r.second_sent_in_write);
    ev.expect(
        "TCP_NODELAY: the second piece left inside its write(), before any ACK (every exchange)",
        unacked > 0 && in_write,
        "true",
        format!("{in_write} (exchanges with no ACK before the second write: {unacked})"),
    );
    let holds = nagle >= stall_lo && nodelay < nagle;
    ev.verdict(
        Verdict::holds_if(holds),
        format!(
            "write({PIECE})-write({PIECE})-read, fastest of {EXCHANGES}: Nagle {:.1} ms (second piece held until \
             the delayed ACK, >= {:.0} ms), TCP_NODELAY {:.1} ms (second piece sent at once)",
            ms(nagle),
            ms(stall_lo),
            ms(nodelay)
        ),
    );
    ev.key(format!(
        "Nagle {:.1} ms vs NODELAY {:.2} ms",
        ms(nagle),
        ms(nodelay)
    ));
    Ok(ev)
}
