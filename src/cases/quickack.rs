//! tcp(7) on TCP_QUICKACK: what setting it does to the receiver's ACKs, and
//! for how long. Linux acknowledges at once while the connection is in
//! "quickack mode": not interactive (no "pingpong": the receiver has not
//! just answered what it received) and with quick ACKs left (a budget of
//! at most 16, refilled by the protocol, e.g. after an idle spell). Setting
//! TCP_QUICKACK 1 only leaves the interactive mode; answering again
//! re-enters it. Every case times the receiver's ACKs on loopback.

use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::packet::Frame;
use crate::lab::tcpinfo::tcp_info;
use crate::lab::{opt, record, Capture, Family, Lab, Sock, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&NOT_PERMANENT, &NEEDS_QUICK_BUDGET];

pub static NOT_PERMANENT: Case = Case {
    id: "tcp_quickack.not_permanent",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_QUICKACK"),
    claim: "setting TCP_QUICKACK switches to quickack mode (ACKs sent at once instead of delayed), but not \
            for good: normal protocol processing later leaves it again",
    expectation: "a receiver that has just answered its peer delays its next ACK (about 40 ms); after \
                  setsockopt(TCP_QUICKACK, 1) it acknowledges the next segment at once; once it answers again \
                  it delays its ACKs again (about 40 ms) and getsockopt(TCP_QUICKACK) reads 0",
    run: &Measure(not_permanent),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_QUICKACK],
};

pub static NEEDS_QUICK_BUDGET: Case = Case {
    id: "tcp_quickack.needs_quick_budget",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_QUICKACK"),
    claim: "setting TCP_QUICKACK enables quickack mode, in which ACKs are sent immediately",
    expectation: "on a connection that has exchanged only a few segments, setsockopt(TCP_QUICKACK, 1) makes \
                  the next ACK immediate; after 20 request/response exchanges (the quick-ACK budget of at \
                  most 16 ACKs spent) the same call still returns 0 and getsockopt reads 1, yet the next ACK \
                  waits for the delayed-ACK timer (about 40 ms)",
    run: &Measure(needs_quick_budget),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_QUICKACK],
};

/// An ACK within this is immediate: on loopback it goes out while the
/// segment is processed (microseconds), far below the 40 ms timer.
const IMMEDIATE_MS: f64 = 10.0;
/// A delayed ACK waits for the delayed-ACK timer, TCP_ATO_MIN = 40 ms, less
/// a timer tick.
const DELAYED_MS: f64 = 30.0;
/// Request/response exchanges that spend the quick-ACK budget (16 at most,
/// two ACKs an exchange).
const EXCHANGES: usize = 20;

/// A loopback connection whose ends answer at once (TCP_NODELAY on both, so
/// Nagle holds no reply back).
struct Conversation {
    cap: Capture,
    pair: TcpPair,
    port: u16,
    /// Bytes the two ends have read so far.
    read: usize,
    /// An exchange's response left later than the server's delayed-ACK
    /// timeout after the request (`in_time`): Linux did not count the
    /// exchange as interactive, and what follows measures something else.
    late: bool,
}

impl Conversation {
    fn new() -> Result<Conversation> {
        let cap = Capture::start("lo")?;
        let pair = TcpPair::loopback(Family::V4)?;
        for s in [&pair.client, &pair.server] {
            s.set_int(libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)
                .context("TCP_NODELAY 1")?;
            s.set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(2))?;
        }
        let port = pair.client.local_addr()?.port();
        Ok(Conversation {
            cap,
            pair,
            port,
            read: 0,
            late: false,
        })
    }

    /// Whether the server's reply just sent came within its delayed-ACK
    /// timeout (tcpi_ato) of the last data it received (tcpi_last_data_recv
    /// ago, read after the send: an upper bound).
    fn in_time(&self) -> Result<bool> {
        let (ato_us, idle_ms) = ato_and_idle(&self.pair.server)?;
        Ok(u64::from(idle_ms) * 1000 < u64::from(ato_us))
    }

    /// The client asks, the server answers at once: the server has just
    /// replied to what it received, which makes it interactive.
    fn exchange(&mut self) -> Result<()> {
        self.pair.client.send_all(b"req").context("request")?;
        self.read += read_n(&self.pair.server, b"req")?;
        self.pair.server.send_all(b"resp").context("response")?;
        self.late |= !self.in_time()?;
        self.read += read_n(&self.pair.client, b"resp")?;
        Ok(())
    }

    /// The server answers the byte it last received, at once; whether the
    /// answer came within its delayed-ACK timeout.
    fn reply(&mut self) -> Result<bool> {
        self.pair.server.send_all(b"r").context("reply")?;
        let in_time = self.in_time()?;
        self.read += read_n(&self.pair.client, b"r")?;
        Ok(in_time)
    }

    /// The client sends one byte; how long the server takes to acknowledge
    /// it, ms (none if no ACK came within 500 ms). The server reads the byte
    /// only after its ACK is on the wire, so reading does not trigger it.
    fn ack_delay(&mut self) -> Result<Option<f64>> {
        let from = self.cap.count()?;
        self.pair
            .client
            .send_all(b"x")
            .context("one-byte segment")?;
        let port = self.port;
        let Some((i, data)) = self
            .cap
            .find_from(from, Duration::from_secs(1), |f| data_from(f, port))?
        else {
            return Ok(None);
        };
        let end = data.segment().map_or(0, |s| s.seq.wrapping_add(s.payload));
        let ack = self
            .cap
            .find_from(i + 1, Duration::from_millis(500), |f| acks(f, port, end))?;
        self.read += read_n(&self.pair.server, b"x")?;
        Ok(ack.map(|(_, a)| (a.t_ns - data.t_ns) as f64 / 1e6))
    }

    fn set_quickack(&self, on: bool) -> Result<()> {
        record::mark(format!("server: setsockopt(TCP_QUICKACK, {})", on as i32));
        self.pair
            .server
            .set_int(libc::IPPROTO_TCP, libc::TCP_QUICKACK, on as i32)
            .with_context(|| format!("TCP_QUICKACK {}", on as i32))
    }

    fn quickack_reads(&self) -> Result<i32> {
        Ok(self
            .pair
            .server
            .get_int(libc::IPPROTO_TCP, libc::TCP_QUICKACK)?)
    }
}

/// A segment from `port` that carries data.
fn data_from(f: &Frame, port: u16) -> bool {
    f.segment()
        .is_some_and(|s| s.sport == port && s.payload > 0)
}

/// A segment to `port` acknowledging everything before `end`.
fn acks(f: &Frame, port: u16, end: u32) -> bool {
    f.segment()
        .is_some_and(|s| s.dport == port && s.flags.ack && s.ack.wrapping_sub(end) as i32 >= 0)
}

/// Reads exactly `want`, failing on anything else: the conversation must
/// go as scripted for its ACK timings to mean anything. Returns how many
/// bytes it read.
fn read_n(s: &Sock, want: &[u8]) -> Result<usize> {
    let n = want.len();
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match s.recv(&mut buf[got..], 0) {
            Ok(0) => anyhow::bail!("EOF after {got} of {n} bytes"),
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).with_context(|| format!("recv after {got} of {n} bytes")),
        }
    }
    anyhow::ensure!(
        buf == want,
        "read {} where the conversation says {}",
        String::from_utf8_lossy(&buf),
        String::from_utf8_lossy(want)
    );
    Ok(got)
}

fn immediate(t: Option<f64>) -> bool {
    t.is_some_and(|t| t < IMMEDIATE_MS)
}

fn delayed(t: Option<f64>) -> bool {
    t.is_some_and(|t| t >= DELAYED_MS)
}

fn ms_text(t: Option<f64>) -> String {
    t.map_or_else(
        || "no ACK".into(),
        |t| Duration::from_secs_f64(t.max(0.0) / 1e3).show(),
    )
}

/// The server's ACK delays before and after TCP_QUICKACK 1, and after it
/// answered again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotPermanent {
    /// Just after the server answered (interactive), ms.
    pub interactive_ms: Option<f64>,
    /// After it answered again and then set TCP_QUICKACK 1, ms.
    pub after_set_ms: Option<f64>,
    /// getsockopt(TCP_QUICKACK) once it answered once more.
    pub reads_after_reply: i32,
    /// The next ACK delay, with no further setsockopt, ms.
    pub after_reply_ms: Option<f64>,
    /// Bytes the two ends read in all.
    pub bytes_read: usize,
}

/// What not_permanent's conversation sends: two exchanges (3 + 4 bytes
/// each), one reply and three probes of 1 byte.
const NOT_PERMANENT_BYTES: usize = 2 * 7 + 1 + 3;

/// How many times a case measures for a run whose replies all came in
/// time (`Conversation::late`).
const TRIES: usize = 3;

/// `measure` until a run's replies all came in time (Some), at most TRIES
/// times. Linux counts a reply as interactive when it leaves within the
/// delayed-ACK timeout of the data it answers; an emulated machine once
/// took longer, and the ACKs that followed rightly stayed quick.
fn in_time<T>(mut measure: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    for _ in 0..TRIES {
        if let Some(o) = measure()? {
            return Ok(o);
        }
    }
    anyhow::bail!(
        "{TRIES} times the server replied later than its delayed-ACK timeout after the data it answered: \
         Linux saw no interactive exchange"
    )
}

fn not_permanent(_lab: &mut Lab) -> Result<NotPermanent> {
    in_time(|| {
        let mut c = Conversation::new()?;
        c.exchange()?;
        let interactive_ms = c.ack_delay()?;
        c.exchange()?;
        c.set_quickack(true)?;
        let after_set_ms = c.ack_delay()?;
        let replied_in_time = c.reply()?;
        let reads_after_reply = c.quickack_reads()?;
        let after_reply_ms = c.ack_delay()?;
        // The reply follows the byte's ACK: a delayed ACK (the option not
        // taken) makes it late by itself, and that is the measurement.
        let late = c.late || (immediate(after_set_ms) && !replied_in_time);
        Ok((!late).then_some(NotPermanent {
            interactive_ms,
            after_set_ms,
            reads_after_reply,
            after_reply_ms,
            bytes_read: c.read,
        }))
    })
}

/// struct tcp_info's tcpi_ato (µs) and tcpi_last_data_recv (ms) of `s`:
/// its delayed-ACK timeout and how long ago it last received data.
fn ato_and_idle(s: &Sock) -> Result<(u32, u32)> {
    let info = tcp_info(s).context("getsockopt TCP_INFO")?;
    let idle = info
        .last_data_recv_ms
        .context("TCP_INFO returned too few bytes for tcpi_last_data_recv")?;
    Ok((info.ato_us, idle))
}

impl Observation for NotPermanent {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect(
            "an interactive receiver delays its ACK",
            delayed(self.interactive_ms),
            format!(">= {DELAYED_MS} ms"),
            ms_text(self.interactive_ms),
        );
        j.expect(
            "after TCP_QUICKACK 1 the next ACK is immediate",
            immediate(self.after_set_ms),
            format!("< {IMMEDIATE_MS} ms"),
            ms_text(self.after_set_ms),
        );
        j.expect_eq(
            "getsockopt(TCP_QUICKACK) once the receiver answered again",
            &0,
            &self.reads_after_reply,
        );
        j.expect(
            "then ACKs are delayed again",
            delayed(self.after_reply_ms),
            format!(">= {DELAYED_MS} ms"),
            ms_text(self.after_reply_ms),
        );
        j.expect_eq(
            "the ends read every byte the conversation sent",
            &NOT_PERMANENT_BYTES,
            &self.bytes_read,
        );
        let switched = immediate(self.after_set_ms);
        let verdict = match (switched, delayed(self.after_reply_ms)) {
            (true, true) => Verdict::Holds,
            // Still quick after answering: the setting stuck.
            (true, false) => Verdict::Refuted,
            // The option did not even switch.
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "the receiver's ACK came after {} while interactive, {} right after TCP_QUICKACK 1, and {} \
                 once it had answered again (TCP_QUICKACK then read {})",
                ms_text(self.interactive_ms),
                ms_text(self.after_set_ms),
                ms_text(self.after_reply_ms),
                self.reads_after_reply
            ),
        );
        j.key(format!(
            "ACK {} -> quickack {} -> after reply {}",
            ms_text(self.interactive_ms),
            ms_text(self.after_set_ms),
            ms_text(self.after_reply_ms)
        ));
        j
    }
}

/// TCP_QUICKACK 1 on a fresh connection and on one whose quick-ACK budget
/// is spent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuickBudget {
    /// After one exchange and TCP_QUICKACK 1, ms.
    pub fresh_ms: Option<f64>,
    pub exchanges: usize,
    /// getsockopt(TCP_QUICKACK) right after setting it on the worn connection.
    pub worn_reads: i32,
    /// After `exchanges` exchanges and TCP_QUICKACK 1, ms.
    pub worn_ms: Option<f64>,
    /// Bytes the ends of both connections read in all.
    pub bytes_read: usize,
}

fn needs_quick_budget(_lab: &mut Lab) -> Result<QuickBudget> {
    in_time(|| {
        let mut fresh = Conversation::new()?;
        fresh.exchange()?;
        fresh.set_quickack(true)?;
        let fresh_ms = fresh.ack_delay()?;
        let mut worn = Conversation::new()?;
        for _ in 0..EXCHANGES {
            worn.exchange()?;
        }
        worn.set_quickack(true)?;
        let worn_reads = worn.quickack_reads()?;
        let worn_ms = worn.ack_delay()?;
        Ok((!fresh.late && !worn.late).then_some(QuickBudget {
            fresh_ms,
            exchanges: EXCHANGES,
            worn_reads,
            worn_ms,
            bytes_read: fresh.read + worn.read,
        }))
    })
}

impl Observation for QuickBudget {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect(
            "fresh connection: TCP_QUICKACK 1 makes the next ACK immediate",
            immediate(self.fresh_ms),
            format!("< {IMMEDIATE_MS} ms"),
            ms_text(self.fresh_ms),
        );
        j.expect_eq(
            "worn connection: getsockopt(TCP_QUICKACK) after setting it",
            &1,
            &self.worn_reads,
        );
        j.expect(
            "worn connection: the next ACK is still delayed",
            delayed(self.worn_ms),
            format!(">= {DELAYED_MS} ms"),
            ms_text(self.worn_ms),
        );
        // 3 + 4 bytes an exchange (one on the fresh connection), a 1-byte
        // probe on each connection.
        j.expect_eq(
            "the ends read every byte the conversations sent",
            &(7 * (1 + self.exchanges) + 2),
            &self.bytes_read,
        );
        let verdict = match (immediate(self.fresh_ms), immediate(self.worn_ms)) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "TCP_QUICKACK 1 after 1 exchange: next ACK after {}; after {} exchanges: next ACK after {} \
                 although getsockopt read {}",
                ms_text(self.fresh_ms),
                self.exchanges,
                ms_text(self.worn_ms),
                self.worn_reads
            ),
        );
        j.key(format!(
            "quickack ACK {} fresh, {} after {} exchanges",
            ms_text(self.fresh_ms),
            ms_text(self.worn_ms),
            self.exchanges
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn np_linux() -> NotPermanent {
        NotPermanent {
            interactive_ms: Some(43.9),
            after_set_ms: Some(0.02),
            reads_after_reply: 0,
            after_reply_ms: Some(43.4),
            bytes_read: 18,
        }
    }

    const INTERACTIVE: &str = "an interactive receiver delays its ACK";
    const AFTER_SET: &str = "after TCP_QUICKACK 1 the next ACK is immediate";
    const READS: &str = "getsockopt(TCP_QUICKACK) once the receiver answered again";
    const AGAIN: &str = "then ACKs are delayed again";

    #[rstest]
    #[case::linux(np_linux(), Verdict::Holds, &[])]
    // TCP_QUICKACK ignored: the ACK stays delayed.
    #[case::ignored(NotPermanent { after_set_ms: Some(43.0), ..np_linux() }, Verdict::Refuted, &[AFTER_SET])]
    // A permanent switch: ACKs stay immediate after the next answer.
    #[case::permanent(NotPermanent { after_reply_ms: Some(0.02), reads_after_reply: 1, ..np_linux() },
        Verdict::Refuted, &[READS, AGAIN])]
    // A receiver that never delays (route quickack, BSD-like): nothing to switch.
    #[case::never_delays(NotPermanent { interactive_ms: Some(0.02), after_reply_ms: Some(0.02),
        ..np_linux() }, Verdict::Refuted, &[INTERACTIVE, AGAIN])]
    #[case::no_ack(NotPermanent { after_set_ms: None, ..np_linux() }, Verdict::Refuted, &[AFTER_SET])]
    #[case::no_ack_later(NotPermanent { after_reply_ms: None, ..np_linux() }, Verdict::Refuted, &[AGAIN])]
    // A conversation that lost or skipped bytes.
    #[case::short_read(NotPermanent { bytes_read: 17, ..np_linux() }, Verdict::Holds,
        &["the ends read every byte the conversation sent"])]
    #[case::edges(NotPermanent { interactive_ms: Some(30.0), after_set_ms: Some(9.9), after_reply_ms: Some(30.0),
        ..np_linux() }, Verdict::Holds, &[])]
    #[case::past_edges(NotPermanent { interactive_ms: Some(29.9), after_set_ms: Some(10.0),
        after_reply_ms: Some(29.9), ..np_linux() }, Verdict::Refuted, &[INTERACTIVE, AFTER_SET, AGAIN])]
    fn not_permanent_judgement(
        #[case] o: NotPermanent,
        #[case] v: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn an_ack_is_a_segment_to_the_port_covering_the_data() {
        use crate::lab::tcpopt::test_frame;
        let ack = |sport, dport, ack, flags| {
            acks(
                &test_frame(0, sport, dport, 7, ack, flags, 0, &[]),
                40_000,
                1_001,
            )
        };
        // To the sender's port, ACK flag, acknowledging 1001 or beyond (mod 2^32).
        assert!(ack(80, 40_000, 1_001, 0x10));
        assert!(ack(80, 40_000, 1_002, 0x10));
        assert!(!ack(80, 40_000, 1_000, 0x10));
        assert!(!ack(80, 40_000, 1_001, 0x18 & !0x10));
        assert!(!ack(40_000, 80, 1_001, 0x10));
        assert!(acks(
            &test_frame(0, 80, 40_000, 7, 5, 0x10, 0, &[]),
            40_000,
            u32::MAX - 5
        ));
    }

    #[test]
    fn data_is_a_segment_from_the_port_with_payload() {
        use crate::lab::tcpopt::test_frame;
        // From the client's port with 1 byte; a bare ACK from it; the
        // server's data to it.
        assert!(data_from(
            &test_frame(0, 40_000, 80, 7, 1, 0x18, 1, &[]),
            40_000
        ));
        assert!(!data_from(
            &test_frame(0, 40_000, 80, 7, 1, 0x10, 0, &[]),
            40_000
        ));
        assert!(!data_from(
            &test_frame(0, 80, 40_000, 7, 1, 0x18, 1, &[]),
            40_000
        ));
    }

    #[test]
    fn not_permanent_words() {
        let j = np_linux().judge();
        assert_eq!("ACK 43.9 ms -> quickack 0 ms -> after reply 43.4 ms", j.key);
        assert_eq!(
            "the receiver's ACK came after 43.9 ms while interactive, 0 ms right after TCP_QUICKACK 1, and \
             43.4 ms once it had answered again (TCP_QUICKACK then read 0)",
            j.because
        );
        assert_eq!("no ACK", ms_text(None));
    }

    fn budget_linux() -> QuickBudget {
        QuickBudget {
            fresh_ms: Some(0.02),
            exchanges: 20,
            worn_reads: 1,
            worn_ms: Some(43.2),
            bytes_read: 149,
        }
    }

    const FRESH: &str = "fresh connection: TCP_QUICKACK 1 makes the next ACK immediate";
    const WORN_READS: &str = "worn connection: getsockopt(TCP_QUICKACK) after setting it";
    const WORN: &str = "worn connection: the next ACK is still delayed";

    #[rstest]
    #[case::linux(budget_linux(), Verdict::Differs, &[])]
    // The page's world: quickack mode whenever the option is set.
    #[case::page(QuickBudget { worn_ms: Some(0.02), ..budget_linux() }, Verdict::Holds, &[WORN])]
    // TCP_QUICKACK ignored (the echo reads 1): the fresh ACK stays delayed.
    #[case::ignored(QuickBudget { fresh_ms: Some(43.0), ..budget_linux() }, Verdict::Refuted, &[FRESH])]
    #[case::reads_zero(QuickBudget { worn_reads: 0, ..budget_linux() }, Verdict::Differs, &[WORN_READS])]
    #[case::no_worn_ack(QuickBudget { worn_ms: None, ..budget_linux() }, Verdict::Differs, &[WORN])]
    #[case::short_read(QuickBudget { bytes_read: 148, ..budget_linux() }, Verdict::Differs,
        &["the ends read every byte the conversations sent"])]
    // Fewer exchanges, fewer bytes: the count follows the script.
    #[case::fewer_exchanges(QuickBudget { exchanges: 10, bytes_read: 79, ..budget_linux() }, Verdict::Differs, &[])]
    fn budget_judgement(#[case] o: QuickBudget, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn budget_words() {
        let j = budget_linux().judge();
        assert_eq!("quickack ACK 0 ms fresh, 43.2 ms after 20 exchanges", j.key);
        assert_eq!(
            "TCP_QUICKACK 1 after 1 exchange: next ACK after 0 ms; after 20 exchanges: next ACK after 43.2 ms \
             although getsockopt read 1",
            j.because
        );
    }
}
