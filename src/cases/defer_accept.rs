//! tcp(7) on TCP_DEFER_ACCEPT: a listener that wakes only when data comes,
//! what happens when none does, how the seconds are rounded, and the option
//! on a connecting socket. Linux turns the seconds into a number of SYN-ACK
//! retransmissions (1 s, then doubling): while they last, the handshake's
//! bare ACK is dropped; after the last one, the client's ACK completes the
//! connection whether data came or not.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::capture::wall_ns;
use crate::lab::packet::Frame;
use crate::lab::sock::result_name;
use crate::lab::{opt, record, wait, Capture, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &WAKES_ON_DATA,
    &NO_DATA_TIMEOUT,
    &ROUNDS_UP,
    &CLIENT_DELAYS_ACK,
];

pub static WAKES_ON_DATA: Case = Case {
    id: "tcp_defer_accept.wakes_on_data",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_DEFER_ACCEPT"),
    claim: "a listener with TCP_DEFER_ACCEPT is woken only when data arrives on the new connection",
    expectation: "with TCP_DEFER_ACCEPT 5 the client's connect() returns at once, yet the listener stays \
                  unreadable for the 100 ms the case watches; the client's first write makes it readable at \
                  once, and the accepted socket already holds the data",
    run: &Measure(wakes_on_data),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_DEFER_ACCEPT],
};

pub static NO_DATA_TIMEOUT: Case = Case {
    id: "tcp_defer_accept.no_data_timeout",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_DEFER_ACCEPT"),
    claim: "the listener is woken only when data arrives; the value (seconds) bounds how long TCP keeps \
            trying to complete the connection",
    expectation: "TCP_DEFER_ACCEPT 1 is one SYN-ACK retransmission: when the client sends nothing, the \
                  server retransmits its SYN-ACK after 1 s, the client's answering ACK completes the \
                  connection, and the listener becomes readable without any data: accept() returns a socket \
                  with nothing to read",
    run: &Measure(no_data_timeout),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_DEFER_ACCEPT],
};

pub static ROUNDS_UP: Case = Case {
    id: "tcp_defer_accept.rounds_up",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_DEFER_ACCEPT"),
    claim: "the kernel rounds the number of seconds up to the next TCP retransmit duration",
    expectation: "the value becomes a number of SYN-ACK retransmissions (1 s, doubling, at most 120 s each), \
                  and getsockopt returns their total time: 1 -> 1, 2 -> 3, 4 -> 7, 8 -> 15, 30 -> 31, \
                  100 -> 127; 0 and negative values turn the option off (0). On the wire, 2 s is 2 \
                  timeouts (1 s, then 2 s more): a listener whose client sends no data resends its SYN-ACK \
                  only at the last one and wakes with the client's ACK of it, 3 s after connect()",
    run: &Measure(rounds_up),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_DEFER_ACCEPT],
};

pub static CLIENT_DELAYS_ACK: Case = Case {
    id: "tcp_defer_accept.client_delays_ack",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_DEFER_ACCEPT"),
    claim: "on a connecting socket the option delays the handshake's final ACK until there is data to send \
            (the ACK rides on it) or the delayed-ACK timer fires",
    expectation: "a client with TCP_DEFER_ACCEPT 1 that writes 50 ms after connect() sends no bare ACK: its \
                  first segment after the SYN-ACK is the data, acknowledging the SYN-ACK (if a loaded machine \
                  delays the write past the timer, the timer's bare ACK comes first, never earlier); one that \
                  never writes sends the bare ACK when the delayed-ACK timer fires, about 200 ms after the \
                  SYN-ACK",
    run: &Measure(client_delays_ack),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_DEFER_ACCEPT],
};

/// How long a case watches for something that must not happen.
const WATCH: Duration = Duration::from_millis(100);
/// Something released by an event follows it within this, even under load
/// and emulation (the kernel matrix's guests took 36-38 ms for a loopback
/// connect() that takes well under 1 ms on hardware). What these bounds tell
/// apart takes seconds (the 5 s deferral, SYN-ACK retransmissions), or is
/// the delayed-ACK timer, which the payload checks tell apart anyway.
const AT_ONCE_MS: f64 = 100.0;

fn set_defer(s: &Sock, secs: i32) -> std::io::Result<()> {
    s.set_int(libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT, secs)
}

/// A listener on loopback with TCP_DEFER_ACCEPT `secs`.
fn deferring_listener(secs: i32) -> Result<(Sock, SocketAddr)> {
    let l = Sock::tcp(Family::V4)?;
    set_defer(&l, secs).with_context(|| format!("TCP_DEFER_ACCEPT {secs}"))?;
    l.bind(SocketAddr::new(Family::V4.loopback(), 0))
        .context("bind listener")?;
    l.listen(16).context("listen")?;
    let addr = l.local_addr()?;
    Ok((l, addr))
}

fn ms_text(t: Option<f64>) -> String {
    t.map_or_else(
        || "never".into(),
        |t| Duration::from_secs_f64(t.max(0.0) / 1e3).show(),
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// What the listener did before and after the client's first write.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WakesOnData {
    /// How long the client's connect() took, ms.
    pub connect_ms: f64,
    /// The listener was readable during the 100 ms before the write.
    pub ready_before_data: bool,
    /// From the write to the listener becoming readable, ms.
    pub ready_after_write_ms: Option<f64>,
    /// Bytes waiting on the accepted socket right after accept().
    pub queued_at_accept: Option<i32>,
}

fn wakes_on_data(_lab: &mut Lab) -> Result<WakesOnData> {
    let _cap = Capture::start("lo")?;
    // 5 s (3 SYN-ACK retransmissions, 7 s): far beyond any delay a loaded
    // machine adds to the 100 ms watch, and the case never waits for it.
    let (listener, addr) = deferring_listener(5)?;
    let client = Sock::tcp(Family::V4)?;
    let t = Instant::now();
    client.connect(addr).context("connect")?;
    let connect_ms = ms(t.elapsed());
    let ready_before_data = wait::readable(listener.as_raw_fd(), WATCH)?;
    record::mark("client writes 5 bytes");
    let t = Instant::now();
    client.send_all(b"hello").context("client write")?;
    let ready = wait::readable(listener.as_raw_fd(), Duration::from_secs(2))?;
    let ready_after_write_ms = ready.then(|| ms(t.elapsed()));
    let queued_at_accept = if ready || ready_before_data {
        let server = listener.accept().context("accept")?;
        Some(server.queued(libc::FIONREAD)?)
    } else {
        None
    };
    Ok(WakesOnData {
        connect_ms,
        ready_before_data,
        ready_after_write_ms,
        queued_at_accept,
    })
}

impl Observation for WakesOnData {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect(
            "connect() returns at once",
            self.connect_ms < AT_ONCE_MS,
            format!("< {AT_ONCE_MS} ms"),
            ms_text(Some(self.connect_ms)),
        );
        j.expect_eq(
            "the listener is not readable before data arrives",
            &false,
            &self.ready_before_data,
        );
        j.expect(
            "the write makes the listener readable at once",
            self.ready_after_write_ms.is_some_and(|t| t < AT_ONCE_MS),
            format!("< {AT_ONCE_MS} ms"),
            ms_text(self.ready_after_write_ms),
        );
        j.expect_eq(
            "bytes waiting on the accepted socket",
            &Some(5),
            &self.queued_at_accept,
        );
        j.verdict(
            Verdict::holds_if(!self.ready_before_data && self.ready_after_write_ms.is_some()),
            format!(
                "connect() returned in {}; the listener was {} during the next 100 ms and readable {} after \
                 the client's write; the accepted socket held {} B",
                ms_text(Some(self.connect_ms)),
                if self.ready_before_data { "readable" } else { "not readable" },
                ms_text(self.ready_after_write_ms),
                self.queued_at_accept.show()
            ),
        );
        j.key(format!(
            "ready before data: {}; after write: {}",
            self.ready_before_data,
            ms_text(self.ready_after_write_ms)
        ));
        j
    }
}

/// A deferring listener whose client never writes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoDataTimeout {
    pub defer_secs: i32,
    /// From connect() to the listener becoming readable, ms.
    pub ready_ms: Option<f64>,
    /// SYN-ACKs the server sent before it became readable.
    pub synacks: usize,
    /// Bare ACKs the client sent for them.
    pub client_acks: usize,
    /// recv() on the accepted socket (non-blocking): "ok" or the errno.
    pub first_read: Option<String>,
}

fn no_data_timeout(_lab: &mut Lab) -> Result<NoDataTimeout> {
    let mut cap = Capture::start("lo")?;
    let (listener, addr) = deferring_listener(1)?;
    let client = Sock::tcp(Family::V4)?;
    let t = Instant::now();
    client.connect(addr).context("connect")?;
    let ready = wait::readable(listener.as_raw_fd(), Duration::from_secs(3))?;
    let ready_ms = ready.then(|| ms(t.elapsed()));
    // The accepted socket stays open until the capture is read: its close
    // would add a FIN and the client's ACK of it.
    let accepted = if ready {
        record::mark("listener readable: accept()");
        let server = listener.accept().context("accept")?;
        server.set_nonblocking(true)?;
        let mut buf = [0u8; 16];
        let read = result_name(&server.recv(&mut buf, 0));
        Some((server, read))
    } else {
        None
    };
    let port = client.local_addr()?.port();
    let segs: Vec<_> = cap.segments()?;
    let first_read = accepted.map(|(_, read)| read);
    Ok(NoDataTimeout {
        defer_secs: 1,
        ready_ms,
        synacks: segs
            .iter()
            .filter(|s| s.dport == port && s.flags.syn && s.flags.ack)
            .count(),
        client_acks: segs
            .iter()
            .filter(|s| s.sport == port && !s.flags.syn && s.flags.ack && s.payload == 0)
            .count(),
        first_read,
    })
}

impl Observation for NoDataTimeout {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        // One retransmission: the first SYN-ACK timeout, 1 s (less a tick);
        // seen by a thread that a loaded machine may wake late, yet well
        // before a second retransmission (3 s) could have done it.
        let (lo, hi) = (990.0, 2_000.0);
        j.expect(
            "the listener becomes readable after the deferral, without data",
            self.ready_ms.is_some_and(|t| (lo..=hi).contains(&t)),
            format!("{lo}..{hi} ms"),
            ms_text(self.ready_ms),
        );
        j.expect_eq(
            "SYN-ACKs sent (the first and one retransmission)",
            &2,
            &self.synacks,
        );
        j.expect_eq("bare ACKs from the client", &2, &self.client_acks);
        j.expect_eq(
            "reading the accepted socket",
            &Some("EAGAIN"),
            &self.first_read.as_deref(),
        );
        let woke_without_data =
            self.ready_ms.is_some() && self.first_read.as_deref() == Some("EAGAIN");
        j.verdict(
            if woke_without_data {
                Verdict::Differs
            } else {
                Verdict::Holds
            },
            format!(
                "TCP_DEFER_ACCEPT {} s, no data: {} SYN-ACKs, {} bare ACKs from the client, the listener \
                 readable after {}, and reading the accepted socket gave {}",
                self.defer_secs,
                self.synacks,
                self.client_acks,
                ms_text(self.ready_ms),
                self.first_read.show()
            ),
        );
        j.key(format!(
            "woke after {} with {}",
            ms_text(self.ready_ms),
            self.first_read
                .as_deref()
                .map_or("nothing accepted", |r| if r == "EAGAIN" {
                    "no data"
                } else {
                    r
                })
        ));
        j
    }
}

/// The values set and what getsockopt returned for each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundsUp {
    pub set: Vec<i32>,
    pub read: Vec<i32>,
    /// A listener with TCP_DEFER_ACCEPT 2 and a client that never writes:
    /// when the listener became readable, ms after connect().
    pub woke_ms: Option<f64>,
    /// SYN-ACKs that listener sent until then (the first and its
    /// retransmissions).
    pub synacks: usize,
}

const ROUNDED: [i32; 10] = [1, 2, 3, 4, 5, 8, 30, 100, 0, -1];

/// The value whose rounding the wire shows: 2 s becomes 2 SYN-ACK
/// retransmissions, 1 s + 2 s.
const ROUNDED_ON_WIRE: i32 = 2;

fn rounds_up(_lab: &mut Lab) -> Result<RoundsUp> {
    // The rounding in effect: the listener wakes (without data) with the
    // client's ACK of the last SYN-ACK retransmission the value became.
    let mut cap = Capture::start("lo")?;
    let (listener, addr) = deferring_listener(ROUNDED_ON_WIRE)?;
    let client = Sock::tcp(Family::V4)?;
    let t = Instant::now();
    client.connect(addr).context("connect")?;
    let ready = wait::readable(listener.as_raw_fd(), Duration::from_millis(4_200))?;
    let woke_ms = ready.then(|| ms(t.elapsed()));
    record::mark("listener readable");
    let port = client.local_addr()?.port();
    let synacks = cap
        .segments()?
        .iter()
        .filter(|s| s.dport == port && s.flags.syn && s.flags.ack)
        .count();
    let mut read = Vec::new();
    for v in ROUNDED {
        let s = Sock::tcp(Family::V4)?;
        set_defer(&s, v).with_context(|| format!("TCP_DEFER_ACCEPT {v}"))?;
        read.push(s.get_int(libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT)?);
    }
    Ok(RoundsUp {
        set: ROUNDED.to_vec(),
        read,
        woke_ms,
        synacks,
    })
}

/// The total time of the SYN-ACK retransmissions `secs` is turned into: the
/// kernel's secs_to_retrans then retrans_to_secs (1 s initial timeout,
/// doubling, at most 120 s).
fn retransmit_duration(secs: i32) -> i32 {
    if secs <= 0 {
        return 0;
    }
    let (mut timeout, mut period) = (1, 1);
    let mut retrans = 1;
    while secs > period && retrans < 255 {
        retrans += 1;
        timeout = (timeout * 2).min(120);
        period += timeout;
    }
    period
}

impl Observation for RoundsUp {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let expected: Vec<i32> = self.set.iter().map(|v| retransmit_duration(*v)).collect();
        j.expect_eq(
            "getsockopt after setting [1, 2, 3, 4, 5, 8, 30, 100, 0, -1]",
            &expected,
            &self.read,
        );
        let positive: Vec<(i32, i32)> = self
            .set
            .iter()
            .zip(&self.read)
            .filter(|(s, _)| **s > 0)
            .map(|(s, r)| (*s, *r))
            .collect();
        // 2 s: 2 SYN-ACK timeouts, after 1 s and 3 s. The client has
        // acknowledged the first SYN-ACK, so the kernel resends it only at
        // the last timeout; the client's ACK of that one wakes the listener
        // (a loaded machine may wake the case's thread late, never early).
        let (lo, hi) = (2_990.0, 4_000.0);
        let woke_rounded = self.woke_ms.is_some_and(|t| (lo..=hi).contains(&t));
        j.expect(
            "TCP_DEFER_ACCEPT 2, no data: the listener wakes 3 s after connect(), with the second SYN-ACK",
            woke_rounded && self.synacks == 2,
            format!("2 SYN-ACKs, readable {lo}..{hi} ms"),
            format!(
                "{} SYN-ACKs, readable after {}",
                self.synacks,
                ms_text(self.woke_ms)
            ),
        );
        let rounded_up = positive.iter().all(|(s, r)| r >= s);
        let changed = positive.iter().any(|(s, r)| r != s);
        j.verdict(
            match (rounded_up, changed && woke_rounded) {
                (true, true) => Verdict::Holds,
                // Kept as given: no rounding to retransmission times.
                (true, false) => Verdict::Refuted,
                (false, _) => Verdict::Refuted,
            },
            format!(
                "set {} s, read back {} s; with 2 s and no data the listener woke after {} ({} SYN-ACKs)",
                self.set.show(),
                self.read.show(),
                ms_text(self.woke_ms),
                self.synacks
            ),
        );
        j.key(
            positive
                .iter()
                .map(|(s, r)| format!("{s}->{r}"))
                .collect::<Vec<_>>()
                .join(" "),
        );
        j
    }
}

/// The handshake seen from a client with TCP_DEFER_ACCEPT.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientDelaysAck {
    /// The writing client: payload of its first segment after the SYN-ACK.
    pub writer_first_payload: Option<u32>,
    /// When that segment left, ms after the SYN-ACK.
    pub writer_first_ms: Option<f64>,
    /// When the client wrote, ms after the SYN-ACK.
    pub writer_wrote_ms: f64,
    /// The silent client: when its bare ACK left, ms after the SYN-ACK.
    pub silent_ack_ms: Option<f64>,
}

/// The SYN-ACK to `port` and the client's first segment after it.
fn after_synack(
    cap: &mut Capture,
    port: u16,
    wait: Duration,
) -> Result<(Option<Frame>, Option<Frame>)> {
    let synack = cap.find_from(0, Duration::from_secs(1), |f| {
        f.segment()
            .is_some_and(|s| s.dport == port && s.flags.syn && s.flags.ack)
    })?;
    let Some((i, synack)) = synack else {
        return Ok((None, None));
    };
    let next = cap.find_from(i + 1, wait, |f| {
        f.segment().is_some_and(|s| s.sport == port)
    })?;
    Ok((Some(synack), next.map(|(_, f)| f)))
}

fn client_delays_ack(_lab: &mut Lab) -> Result<ClientDelaysAck> {
    let listener = Sock::tcp(Family::V4)?;
    listener
        .bind(SocketAddr::new(Family::V4.loopback(), 0))
        .context("bind listener")?;
    listener.listen(16).context("listen")?;
    let addr = listener.local_addr()?;
    let connect = |cap: &mut Capture| -> Result<(Sock, u16, Option<Frame>)> {
        let c = Sock::tcp(Family::V4)?;
        set_defer(&c, 1).context("TCP_DEFER_ACCEPT 1 on the client")?;
        c.connect(addr).context("connect")?;
        let port = c.local_addr()?.port();
        let (synack, _) = after_synack(cap, port, Duration::ZERO)?;
        Ok((c, port, synack))
    };
    // The writer: nothing for 50 ms after connect(), then one write.
    let mut cap = Capture::start("lo")?;
    let (writer, port, synack) = connect(&mut cap)?;
    let synack_ns = synack.map_or_else(wall_ns, |f| f.t_ns);
    let early = cap.find_from(0, Duration::from_millis(50), |f| {
        f.segment().is_some_and(|s| s.sport == port && !s.flags.syn)
    })?;
    let wrote_ns = wall_ns();
    record::mark("writer writes 5 bytes");
    writer.send_all(b"hello").context("client write")?;
    let first = match early {
        Some((_, f)) => Some(f),
        None => after_synack(&mut cap, port, Duration::from_secs(1))?.1,
    };
    // The silent client: never writes.
    let mut cap2 = Capture::start("lo")?;
    let (_silent, port2, _) = connect(&mut cap2)?;
    let (synack2, ack2) = after_synack(&mut cap2, port2, Duration::from_secs(1))?;
    Ok(ClientDelaysAck {
        writer_first_payload: first.as_ref().and_then(Frame::segment).map(|s| s.payload),
        writer_first_ms: first.map(|f| (f.t_ns - synack_ns) as f64 / 1e6),
        writer_wrote_ms: (wrote_ns - synack_ns) as f64 / 1e6,
        silent_ack_ms: match (synack2, ack2) {
            (Some(s), Some(a)) => Some((a.t_ns - s.t_ns) as f64 / 1e6),
            _ => None,
        },
    })
}

impl Observation for ClientDelaysAck {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        // TCP_DELACK_MAX is 200 ms; allow a tick early and load late.
        let (lo, hi) = (190.0, 400.0);
        let piggybacked = if self.writer_wrote_ms < lo {
            j.expect_eq(
                "the writing client's first segment after the SYN-ACK carries its data",
                &Some(5),
                &self.writer_first_payload,
            );
            j.expect(
                "and leaves with the write, not before",
                self.writer_first_ms.is_some_and(|t| {
                    t >= self.writer_wrote_ms && t < self.writer_wrote_ms + AT_ONCE_MS
                }),
                format!(
                    "{}..{} ms",
                    self.writer_wrote_ms.round(),
                    (self.writer_wrote_ms + AT_ONCE_MS).round()
                ),
                ms_text(self.writer_first_ms),
            );
            self.writer_first_payload.is_some_and(|p| p > 0)
        } else {
            // A loaded machine kept the writer off the CPU past the timer:
            // its ACK then leaves with the timer (or with a write just
            // before it), never earlier.
            let waited = self.writer_first_ms.is_some_and(|t| {
                t >= lo && (self.writer_first_payload == Some(0) || t >= self.writer_wrote_ms)
            });
            j.expect(
                "the writing client, which wrote only after the delayed-ACK timer, waited for the timer",
                waited,
                format!("a bare ACK from {lo} ms, or the data with its write"),
                format!(
                    "{} B after {}",
                    self.writer_first_payload.show(),
                    ms_text(self.writer_first_ms)
                ),
            );
            waited
        };
        j.expect(
            "the silent client's bare ACK waits for the delayed-ACK timer",
            self.silent_ack_ms.is_some_and(|t| (lo..=hi).contains(&t)),
            format!("{lo}..{hi} ms after the SYN-ACK"),
            ms_text(self.silent_ack_ms),
        );
        let delayed = self.silent_ack_ms.is_some_and(|t| t >= lo);
        j.verdict(
            match (piggybacked, delayed) {
                (true, true) => Verdict::Holds,
                (false, false) => Verdict::Refuted,
                _ => Verdict::Differs,
            },
            format!(
                "the writing client's first segment after the SYN-ACK carried {} B, {} after the SYN-ACK \
                 (it wrote at {}); the silent client's bare ACK left {} after the SYN-ACK",
                self.writer_first_payload.show(),
                ms_text(self.writer_first_ms),
                ms_text(Some(self.writer_wrote_ms)),
                ms_text(self.silent_ack_ms)
            ),
        );
        j.key(format!(
            "first segment {} B; bare ACK after {}",
            self.writer_first_payload.show(),
            ms_text(self.silent_ack_ms)
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn wakes_linux() -> WakesOnData {
        WakesOnData {
            connect_ms: 0.1,
            ready_before_data: false,
            ready_after_write_ms: Some(0.05),
            queued_at_accept: Some(5),
        }
    }

    const BEFORE: &str = "the listener is not readable before data arrives";
    const AFTER: &str = "the write makes the listener readable at once";

    #[rstest]
    #[case::linux(wakes_linux(), Verdict::Holds, &[])]
    // The option ignored (or BSD's accept filter absent): readable at once.
    #[case::ignored(WakesOnData { ready_before_data: true, ready_after_write_ms: Some(0.0), ..wakes_linux() },
        Verdict::Refuted, &[BEFORE])]
    #[case::never_ready(WakesOnData { ready_after_write_ms: None, queued_at_accept: None, ..wakes_linux() },
        Verdict::Refuted, &[AFTER, "bytes waiting on the accepted socket"])]
    #[case::slow_connect(WakesOnData { connect_ms: 100.0, ..wakes_linux() }, Verdict::Holds,
        &["connect() returns at once"])]
    #[case::slow_wake(WakesOnData { ready_after_write_ms: Some(100.0), ..wakes_linux() }, Verdict::Holds, &[AFTER])]
    #[case::data_missing(WakesOnData { queued_at_accept: Some(0), ..wakes_linux() }, Verdict::Holds,
        &["bytes waiting on the accepted socket"])]
    fn wakes_judgement(#[case] o: WakesOnData, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn wakes_words() {
        let j = wakes_linux().judge();
        assert_eq!("ready before data: false; after write: 0.1 ms", j.key);
        assert_eq!(
            "connect() returned in 0.1 ms; the listener was not readable during the next 100 ms and readable \
             0.1 ms after the client's write; the accepted socket held 5 B",
            j.because
        );
        let ignored = WakesOnData {
            ready_before_data: true,
            ..wakes_linux()
        }
        .judge();
        assert!(ignored.because.contains("was readable during"));
    }

    fn timeout_linux() -> NoDataTimeout {
        NoDataTimeout {
            defer_secs: 1,
            ready_ms: Some(1_027.8),
            synacks: 2,
            client_acks: 2,
            first_read: Some("EAGAIN".into()),
        }
    }

    const READY: &str = "the listener becomes readable after the deferral, without data";
    const SYNACKS: &str = "SYN-ACKs sent (the first and one retransmission)";
    const ACKS: &str = "bare ACKs from the client";
    const READ: &str = "reading the accepted socket";

    #[rstest]
    #[case::linux(timeout_linux(), Verdict::Differs, &[])]
    // The page's world: never woken without data.
    #[case::never_wakes(NoDataTimeout { ready_ms: None, first_read: None, ..timeout_linux() }, Verdict::Holds,
        &[READY, READ])]
    // The option ignored: readable at once after one SYN-ACK.
    #[case::ignored(NoDataTimeout { ready_ms: Some(0.1), synacks: 1, client_acks: 1, ..timeout_linux() },
        Verdict::Differs, &[READY, SYNACKS, ACKS])]
    #[case::earliest(NoDataTimeout { ready_ms: Some(990.0), ..timeout_linux() }, Verdict::Differs, &[])]
    #[case::too_early(NoDataTimeout { ready_ms: Some(989.9), ..timeout_linux() }, Verdict::Differs, &[READY])]
    #[case::latest(NoDataTimeout { ready_ms: Some(2_000.0), ..timeout_linux() }, Verdict::Differs, &[])]
    #[case::too_late(NoDataTimeout { ready_ms: Some(2_000.1), ..timeout_linux() }, Verdict::Differs, &[READY])]
    #[case::data_there(NoDataTimeout { first_read: Some("ok".into()), ..timeout_linux() }, Verdict::Holds,
        &[READ])]
    fn timeout_judgement(#[case] o: NoDataTimeout, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn timeout_words() {
        let j = timeout_linux().judge();
        assert_eq!("woke after 1028 ms with no data", j.key);
        assert_eq!(
            "TCP_DEFER_ACCEPT 1 s, no data: 2 SYN-ACKs, 2 bare ACKs from the client, the listener readable \
             after 1028 ms, and reading the accepted socket gave EAGAIN",
            j.because
        );
        let never = NoDataTimeout {
            ready_ms: None,
            first_read: None,
            ..timeout_linux()
        }
        .judge();
        assert_eq!("woke after never with nothing accepted", never.key);
        let data = NoDataTimeout {
            first_read: Some("ok".into()),
            ..timeout_linux()
        }
        .judge();
        assert_eq!("woke after 1028 ms with ok", data.key);
    }

    #[test]
    fn retransmit_durations_follow_the_kernel() {
        let got: Vec<i32> = [1, 2, 3, 4, 5, 8, 30, 100, 0, -1, 200, 1000]
            .iter()
            .map(|v| retransmit_duration(*v))
            .collect();
        assert_eq!(vec![1, 3, 3, 7, 7, 15, 31, 127, 0, 0, 247, 1087], got);
        // The 255-retransmission cap.
        assert_eq!(
            1 + 2 + 4 + 8 + 16 + 32 + 64 + 120 * 248,
            retransmit_duration(i32::MAX)
        );
    }

    fn rounds_linux() -> RoundsUp {
        RoundsUp {
            set: ROUNDED.to_vec(),
            read: vec![1, 3, 3, 7, 7, 15, 31, 127, 0, 0],
            woke_ms: Some(3_016.5),
            synacks: 2,
        }
    }

    const ROUND: &str = "getsockopt after setting [1, 2, 3, 4, 5, 8, 30, 100, 0, -1]";
    const WIRE: &str =
        "TCP_DEFER_ACCEPT 2, no data: the listener wakes 3 s after connect(), with the second SYN-ACK";

    #[rstest]
    #[case::linux(rounds_linux(), Verdict::Holds, &[])]
    // An echo: every value as given.
    #[case::echo(RoundsUp { read: ROUNDED.to_vec(), ..rounds_linux() }, Verdict::Refuted, &[ROUND])]
    // Rounded down somewhere.
    #[case::down(RoundsUp { read: vec![1, 1, 3, 3, 7, 7, 15, 63, 0, 0], ..rounds_linux() }, Verdict::Refuted,
        &[ROUND])]
    // The option ignored: the listener wakes with the handshake.
    #[case::ignored(RoundsUp { read: vec![0; 10], woke_ms: Some(0.1), synacks: 1, ..rounds_linux() },
        Verdict::Refuted, &[ROUND, WIRE])]
    // Rounded when read back, yet the wire kept 2 s (a wake at the 1 s retransmission).
    #[case::read_only(RoundsUp { woke_ms: Some(1_004.0), ..rounds_linux() }, Verdict::Refuted,
        &[WIRE])]
    #[case::earliest(RoundsUp { woke_ms: Some(2_990.0), ..rounds_linux() }, Verdict::Holds, &[])]
    #[case::early(RoundsUp { woke_ms: Some(2_989.9), ..rounds_linux() }, Verdict::Refuted, &[WIRE])]
    #[case::latest(RoundsUp { woke_ms: Some(4_000.0), ..rounds_linux() }, Verdict::Holds, &[])]
    #[case::late(RoundsUp { woke_ms: Some(4_000.1), ..rounds_linux() }, Verdict::Refuted, &[WIRE])]
    #[case::never(RoundsUp { woke_ms: None, synacks: 3, ..rounds_linux() }, Verdict::Refuted, &[WIRE])]
    // Every timeout resent the SYN-ACK.
    #[case::more_synacks(RoundsUp { synacks: 3, ..rounds_linux() }, Verdict::Holds, &[WIRE])]
    fn rounds_judgement(#[case] o: RoundsUp, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn rounds_words() {
        let j = rounds_linux().judge();
        assert_eq!("1->1 2->3 3->3 4->7 5->7 8->15 30->31 100->127", j.key);
        assert_eq!(
            "set [1, 2, 3, 4, 5, 8, 30, 100, 0, -1] s, read back [1, 3, 3, 7, 7, 15, 31, 127, 0, 0] s; with 2 s \
             and no data the listener woke after 3016 ms (2 SYN-ACKs)",
            j.because
        );
    }

    fn client_linux() -> ClientDelaysAck {
        ClientDelaysAck {
            writer_first_payload: Some(5),
            writer_first_ms: Some(50.3),
            writer_wrote_ms: 50.2,
            silent_ack_ms: Some(205.2),
        }
    }

    const PIGGY: &str = "the writing client's first segment after the SYN-ACK carries its data";
    const WITH_WRITE: &str = "and leaves with the write, not before";
    const DELACK: &str = "the silent client's bare ACK waits for the delayed-ACK timer";
    const LATE: &str =
        "the writing client, which wrote only after the delayed-ACK timer, waited for the timer";

    #[rstest]
    #[case::linux(client_linux(), Verdict::Holds, &[])]
    // The option ignored: a bare ACK at once from both clients.
    #[case::ignored(ClientDelaysAck { writer_first_payload: Some(0), writer_first_ms: Some(0.01),
        silent_ack_ms: Some(0.01), ..client_linux() }, Verdict::Refuted, &[PIGGY, WITH_WRITE, DELACK])]
    #[case::ack_not_delayed(ClientDelaysAck { silent_ack_ms: Some(0.01), ..client_linux() }, Verdict::Differs,
        &[DELACK])]
    #[case::no_piggyback(ClientDelaysAck { writer_first_payload: Some(0), writer_first_ms: Some(0.01),
        ..client_linux() }, Verdict::Differs, &[PIGGY, WITH_WRITE])]
    #[case::edge_low(ClientDelaysAck { silent_ack_ms: Some(190.0), ..client_linux() }, Verdict::Holds, &[])]
    #[case::edge_high(ClientDelaysAck { silent_ack_ms: Some(400.1), ..client_linux() }, Verdict::Holds, &[DELACK])]
    #[case::no_ack(ClientDelaysAck { silent_ack_ms: None, ..client_linux() }, Verdict::Differs, &[DELACK])]
    #[case::late_data(ClientDelaysAck { writer_first_ms: Some(150.2), ..client_linux() }, Verdict::Holds,
        &[WITH_WRITE])]
    // A loaded machine: the writer ran only after the timer, which sent its ACK.
    #[case::late_writer(ClientDelaysAck { writer_first_payload: Some(0), writer_first_ms: Some(204.3),
        writer_wrote_ms: 258.6, ..client_linux() }, Verdict::Holds, &[])]
    #[case::wrote_at_timer(ClientDelaysAck { writer_first_ms: Some(190.1), writer_wrote_ms: 190.0,
        ..client_linux() }, Verdict::Holds, &[])]
    #[case::wrote_before_timer(ClientDelaysAck { writer_first_payload: Some(0), writer_first_ms: Some(190.0),
        writer_wrote_ms: 189.9, ..client_linux() }, Verdict::Differs, &[PIGGY])]
    // Late, and the ACK did not wait (the option ignored).
    #[case::late_ignored(ClientDelaysAck { writer_first_payload: Some(0), writer_first_ms: Some(0.01),
        writer_wrote_ms: 258.6, ..client_linux() }, Verdict::Differs, &[LATE])]
    #[case::late_data_early(ClientDelaysAck { writer_first_ms: Some(195.0), writer_wrote_ms: 258.6,
        ..client_linux() }, Verdict::Differs, &[LATE])]
    #[case::late_bare_early(ClientDelaysAck { writer_first_payload: Some(0), writer_first_ms: Some(189.9),
        writer_wrote_ms: 258.6, ..client_linux() }, Verdict::Differs, &[LATE])]
    fn client_judgement(#[case] o: ClientDelaysAck, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn client_words() {
        let j = client_linux().judge();
        assert_eq!("first segment 5 B; bare ACK after 205 ms", j.key);
        assert_eq!(
            "the writing client's first segment after the SYN-ACK carried 5 B, 50.3 ms after the SYN-ACK (it \
             wrote at 50.2 ms); the silent client's bare ACK left 205 ms after the SYN-ACK",
            j.because
        );
    }
}
