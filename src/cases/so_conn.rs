//! socket(7) on the options that shape a TCP connection's life: SO_KEEPALIVE
//! (keep-alive messages on an idle connection) and SO_LINGER (close() and
//! shutdown() waiting for queued data to leave).
//!
//! Keep-alive is judged on the wire: with TCP_KEEPIDLE at its 1 s minimum,
//! the connection with SO_KEEPALIVE sends a probe, the one with it switched
//! off again sends none. Lingering is judged by how long close() and
//! shutdown() take on a connection whose peer's window is closed (queued data
//! cannot leave), with l_linger at its 1 s minimum.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::packet::Segment;
use crate::lab::stall::{stalled_pair, Stalled};
use crate::lab::{opt, phase, record, wait, Capture, Family, Lab, Sock, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&KEEPALIVE, &LINGER];

pub static KEEPALIVE: Case = Case {
    id: "so_keepalive.probes",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_KEEPALIVE"),
    claim: "SO_KEEPALIVE turns on the sending of keep-alive messages on a connection-oriented socket",
    expectation: "two idle loopback connections with TCP_KEEPIDLE 1 s: the one with SO_KEEPALIVE on sends a bare \
                  ACK one below its next sequence number after ~1 s of idleness and the peer answers it with an \
                  ACK; the one whose SO_KEEPALIVE was switched on and off again sends nothing",
    run: &Measure(keepalive),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_KEEPALIVE, opt::TCP_KEEPIDLE],
};

pub static LINGER: Case = Case {
    id: "so_linger.close_waits",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_LINGER"),
    claim: "with SO_LINGER on, close() and shutdown() do not return until the queued data has been sent or the \
            linger time has passed; without it they return at once and the closing goes on in the background",
    expectation: "on connections whose peer's window is closed: close() without SO_LINGER returns at once; with \
                  l_linger 1 s, shutdown(SHUT_WR) returns at once (Linux lingers in close() only), and close() \
                  returns after 1 s if the peer never reads, or as soon as the peer has read everything and \
                  acknowledged the FIN",
    run: &Measure(linger),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_LINGER],
};

// ---------------------------------------------------------------------------
// so_keepalive.probes

/// TCP_KEEPIDLE of both connections, its minimum.
const IDLE_SECS: i32 = 1;

/// How long the probe of the connection with SO_KEEPALIVE is waited for.
const PROBE_WITHIN: Duration = Duration::from_secs(3);

/// How long, after that probe, one from the other connection (whose timer
/// would have been armed earlier) is still waited for: both 1 s timers sit in
/// the same or adjacent buckets of the timer wheel.
const GRACE: Duration = Duration::from_millis(200);

/// A keep-alive probe as captured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Bytes it carried: none on Linux (some stacks send one garbage byte).
    pub payload: u32,
    /// Time from the connection's last segment before it.
    #[serde(with = "crate::model::millis")]
    pub idle_before: Duration,
    /// The peer acknowledged it (an ACK for the next sequence number).
    pub answered: bool,
}

impl Show for Probe {
    fn show(&self) -> String {
        format!(
            "a {} B probe after {} idle, {}",
            self.payload,
            self.idle_before.show(),
            if self.answered {
                "answered"
            } else {
                "unanswered"
            }
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Keepalive {
    #[serde(with = "crate::model::millis")]
    pub idle: Duration,
    /// The first probe of the connection with SO_KEEPALIVE on.
    pub on: Option<Probe>,
    /// Probes of the connection whose SO_KEEPALIVE was switched off again.
    pub off_probes: usize,
}

/// Keep-alive probes sent from `port`: bare ACKs whose sequence number is one
/// below the next one that side would use.
fn probes(segs: &[(i64, Segment)], port: u16) -> Vec<(i64, Segment)> {
    let mut next: Option<u32> = None;
    let mut out = Vec::new();
    for (t, s) in segs.iter().filter(|(_, s)| s.sport == port) {
        let end = s
            .seq
            .wrapping_add(s.payload + s.flags.syn as u32 + s.flags.fin as u32);
        let bare = s.flags.ack && !s.flags.syn && !s.flags.fin && !s.flags.rst && s.payload <= 1;
        if bare && next.is_some_and(|n| s.seq == n.wrapping_sub(1)) {
            out.push((*t, s.clone()));
        } else if next.is_none_or(|n| end.wrapping_sub(n) as i32 > 0) {
            next = Some(end);
        }
    }
    out
}

fn timed_segments(cap: &mut Capture) -> Result<Vec<(i64, Segment)>> {
    Ok(cap
        .frames()?
        .iter()
        .filter_map(|f| f.segment().map(|s| (f.t_ns, s)))
        .collect())
}

/// The first probe from `port` within `within`, blocking on the capture.
fn first_probe(cap: &mut Capture, port: u16, within: Duration) -> Result<Option<(i64, Segment)>> {
    let start = Instant::now();
    loop {
        let seen = cap.count()?;
        if let Some(p) = probes(&timed_segments(cap)?, port).into_iter().next() {
            return Ok(Some(p));
        }
        let left = within.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Ok(None);
        }
        cap.wait_beyond(seen, left)?;
    }
}

/// The probe seen at `t`, with the idle time before it and the peer's answer.
fn probe_facts(segs: &[(i64, Segment)], port: u16, (t, probe): &(i64, Segment)) -> Probe {
    let of_conn = |s: &Segment| s.sport == port || s.dport == port;
    let before = segs
        .iter()
        .filter(|(u, s)| u < t && of_conn(s))
        .map(|(u, _)| *u)
        .max()
        .unwrap_or(*t);
    let next = probe.seq.wrapping_add(1);
    Probe {
        payload: probe.payload,
        idle_before: Duration::from_nanos((t - before).max(0) as u64),
        answered: segs
            .iter()
            .any(|(u, s)| u >= t && s.dport == port && s.flags.ack && s.ack == next),
    }
}

fn keepalive_idle(s: &Sock) -> Result<()> {
    s.set_int(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, IDLE_SECS)
        .context("TCP_KEEPIDLE")
}

fn keepalive(_lab: &mut Lab) -> Result<Keepalive> {
    let mut cap = Capture::start("lo")?;
    // The connection switched off again comes first: were the option lost, its
    // probe would leave before the other's.
    let off = TcpPair::loopback(Family::V4)?;
    keepalive_idle(&off.client)?;
    off.client
        .set_int(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)
        .context("SO_KEEPALIVE on")?;
    off.client
        .set_int(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 0)
        .context("SO_KEEPALIVE off again")?;
    let on = TcpPair::loopback(Family::V4)?;
    keepalive_idle(&on.client)?;
    on.client
        .set_int(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)
        .context("SO_KEEPALIVE")?;
    let (off_port, on_port) = (
        off.client.local_addr()?.port(),
        on.client.local_addr()?.port(),
    );
    phase("waiting for a keep-alive probe");
    let probe = first_probe(&mut cap, on_port, PROBE_WITHIN)?;
    if probe.is_some() {
        // The peer's answer, right behind the probe.
        let _ = first_probe(&mut cap, off_port, GRACE)?;
    }
    let segs = timed_segments(&mut cap)?;
    Ok(Keepalive {
        idle: Duration::from_secs(IDLE_SECS as u64),
        on: probe.map(|p| probe_facts(&segs, on_port, &p)),
        off_probes: probes(&segs, off_port).len(),
    })
}

/// When a 1 s timer may fire, measured from the last segment: a jiffy early
/// to 1.5 s late on a loaded machine.
fn idle_window(idle: Duration) -> (Duration, Duration) {
    (
        idle.saturating_sub(Duration::from_millis(100)),
        idle + Duration::from_millis(1500),
    )
}

impl Observation for Keepalive {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (lo, hi) = idle_window(self.idle);
        let idle = self.on.as_ref().map(|p| p.idle_before);
        j.expect(
            "SO_KEEPALIVE on: a probe after TCP_KEEPIDLE of idleness",
            idle.is_some_and(|d| d >= lo && d <= hi),
            format!("a probe after {}..{}", lo.show(), hi.show()),
            self.on.show(),
        );
        j.expect_eq(
            "the probe carries no data",
            &Some(0),
            &self.on.as_ref().map(|p| p.payload),
        );
        j.expect_eq(
            "the peer answers the probe",
            &Some(true),
            &self.on.as_ref().map(|p| p.answered),
        );
        j.expect_eq("SO_KEEPALIVE switched off: probes", &0, &self.off_probes);
        let verdict = match (self.on.is_some(), self.off_probes == 0) {
            (true, true) => Verdict::Holds,
            (false, _) => Verdict::Refuted,
            (true, false) => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "TCP_KEEPIDLE {}: with SO_KEEPALIVE on, {}; switched on and off again, {} probes",
                self.idle.show(),
                self.on.show(),
                self.off_probes
            ),
        );
        j.key(format!(
            "on: {}; off: {} probes",
            self.on.as_ref().map_or("no probe".into(), |p| format!(
                "probe after {}",
                p.idle_before.show()
            )),
            self.off_probes
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_linger.close_waits

/// l_linger, its smallest value that lingers (0 resets instead).
const LINGER_SECS: i32 = 1;

/// How long the close() the peer will unblock is watched before the peer reads.
const WATCH: Duration = Duration::from_millis(100);

/// A call and how long it took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Took {
    /// "ok" or the errno's name.
    pub result: String,
    #[serde(with = "crate::model::millis")]
    pub took: Duration,
}

impl Show for Took {
    fn show(&self) -> String {
        format!("{} after {}", self.result, self.took.show())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Linger {
    #[serde(with = "crate::model::millis")]
    pub linger: Duration,
    /// close() without SO_LINGER, data queued.
    pub plain: Took,
    /// close() with SO_LINGER, the peer never reading (after the shutdown below).
    pub timed_out: Took,
    /// close() with SO_LINGER: still blocked after `WATCH` (then the peer reads).
    pub blocked_before_read: bool,
    /// That close(), from its start to its return.
    pub drained: Took,
    /// Bytes the peer read from that connection, and those written to it.
    pub read: usize,
    pub written: usize,
    /// shutdown(SHUT_WR) with SO_LINGER, data queued.
    pub shutdown: Took,
}

/// A small send buffer: loopback autotuning would queue megabytes to fill.
fn small_sndbuf(s: &Sock) -> Result<()> {
    s.set_int(libc::SOL_SOCKET, libc::SO_SNDBUF, 64 << 10)
        .context("SO_SNDBUF")
}

fn lingering(s: &Sock) -> Result<()> {
    small_sndbuf(s)?;
    s.set_linger(true, LINGER_SECS).context("SO_LINGER")
}

fn closed(s: Sock) -> Took {
    let c = s.close();
    Took {
        result: c.errno.unwrap_or_else(|| "ok".into()),
        took: c.took,
    }
}

/// close() of the stalled client in a thread; once it sleeps and `WATCH` has
/// passed, the peer reads everything. Returns (blocked before the read, the
/// close, bytes read).
fn close_then_drain(st: Stalled) -> Result<(bool, Took, usize)> {
    let Stalled { client, server, .. } = st;
    std::thread::scope(|sc| -> Result<_> {
        let (done_tx, done) = mpsc::channel();
        let (closer, tid) = wait::spawn_with_tid(sc, move || {
            let c = closed(client);
            let _ = done_tx.send(());
            c
        })?;
        wait::until("close() asleep", Duration::from_secs(2), || {
            Ok((wait::blocked_in(tid, libc::SYS_close)? || closer.is_finished()).then_some(()))
        })?;
        // Nothing is meant to end the close: a deadline wait on its end is the
        // observation.
        let blocked = done.recv_timeout(WATCH).is_err();
        record::mark("the peer starts reading");
        let (data, err) = server.read_to_end();
        if let Some(e) = err {
            return Err(anyhow!(e).context("the peer reading the queued data"));
        }
        let took = closer
            .join()
            .map_err(|_| anyhow!("the closing thread panicked"))?;
        Ok((blocked, took, data.len()))
    })
}

fn linger(_lab: &mut Lab) -> Result<Linger> {
    let plain = stalled_pair(Family::V4, 4096, small_sndbuf)?;
    let waiting = stalled_pair(Family::V4, 4096, lingering)?;
    let drained = stalled_pair(Family::V4, 4096, lingering)?;
    let written = drained.written;
    phase("close() and shutdown() with queued data that cannot leave");
    let shutdown = {
        let t = Instant::now();
        let r = waiting.client.shutdown(libc::SHUT_WR);
        Took {
            result: crate::lab::sock::result_name(&r),
            took: t.elapsed(),
        }
    };
    let plain = closed(plain.client);
    // The connection just shut down is closed too: its data and FIN are still
    // queued behind the closed window, so close() has the same wait ahead.
    let (timed_out, (blocked_before_read, drained, read)) =
        std::thread::scope(|sc| -> Result<_> {
            let Stalled {
                client,
                server: _server,
                ..
            } = waiting;
            let timed_out = sc.spawn(move || closed(client));
            let drained = close_then_drain(drained)?;
            let timed_out = timed_out
                .join()
                .map_err(|_| anyhow!("the closing thread panicked"))?;
            Ok((timed_out, drained))
        })?;
    Ok(Linger {
        linger: Duration::from_secs(LINGER_SECS as u64),
        plain,
        timed_out,
        blocked_before_read,
        drained,
        read,
        written,
        shutdown,
    })
}

/// A call that does not wait returns within this, even on a loaded machine
/// (far from the 1 s a lingering call takes).
const AT_ONCE: Duration = Duration::from_millis(300);

/// When a 1 s linger may end: a jiffy early to 1 s late on a loaded machine.
fn linger_window(linger: Duration) -> (Duration, Duration) {
    (
        linger.saturating_sub(Duration::from_millis(10)),
        linger + Duration::from_secs(1),
    )
}

impl Observation for Linger {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (lo, hi) = linger_window(self.linger);
        let at_once = |t: &Took| t.result == "ok" && t.took < AT_ONCE;
        j.expect(
            "close() without SO_LINGER",
            at_once(&self.plain),
            format!("ok in < {}", AT_ONCE.show()),
            self.plain.show(),
        );
        let waited_out =
            self.timed_out.result == "ok" && self.timed_out.took >= lo && self.timed_out.took <= hi;
        j.expect(
            "close() with SO_LINGER, the peer never reading",
            waited_out,
            format!("ok after {}..{}", lo.show(), hi.show()),
            self.timed_out.show(),
        );
        j.expect_eq(
            &format!(
                "close() with SO_LINGER: still blocked after {}",
                WATCH.show()
            ),
            &true,
            &self.blocked_before_read,
        );
        let until_sent =
            self.drained.result == "ok" && self.drained.took >= WATCH && self.drained.took < lo;
        j.expect(
            "that close() returns once the peer has read everything",
            until_sent,
            format!("ok after {}..{}", WATCH.show(), lo.show()),
            self.drained.show(),
        );
        j.expect_eq("bytes the peer read", &self.written, &self.read);
        j.expect(
            "shutdown(SHUT_WR) with SO_LINGER",
            at_once(&self.shutdown),
            format!("ok in < {}", AT_ONCE.show()),
            self.shutdown.show(),
        );
        let close_lingers = waited_out && self.blocked_before_read && until_sent;
        let shutdown_lingers = self.shutdown.took >= lo;
        let verdict = match (close_lingers, shutdown_lingers) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "l_linger {}, queued data unable to leave: close() without SO_LINGER {}; with it {} when the \
                 peer never read, {} when the peer read its {} B after {}; shutdown(SHUT_WR) {}",
                self.linger.show(),
                self.plain.show(),
                self.timed_out.show(),
                self.drained.show(),
                self.read,
                WATCH.show(),
                self.shutdown.show()
            ),
        );
        j.key(format!(
            "close {} / lingering {} / drained {}; shutdown {}",
            self.plain.took.show(),
            self.timed_out.took.show(),
            self.drained.took.show(),
            self.shutdown.took.show()
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

    fn probe(idle: u64) -> Option<Probe> {
        Some(Probe {
            payload: 0,
            idle_before: ms(idle),
            answered: true,
        })
    }

    /// This kernel, from a run.
    fn ka_linux() -> Keepalive {
        Keepalive {
            idle: ms(1000),
            on: probe(1016),
            off_probes: 0,
        }
    }

    const PROBE: &str = "SO_KEEPALIVE on: a probe after TCP_KEEPIDLE of idleness";
    const NO_DATA: &str = "the probe carries no data";
    const ANSWERED: &str = "the peer answers the probe";
    const OFF: &str = "SO_KEEPALIVE switched off: probes";

    #[rstest]
    #[case::linux(ka_linux(), Verdict::Holds, &[])]
    // A libc that ignores the option: no connection probes.
    #[case::ignored(Keepalive { on: None, ..ka_linux() }, Verdict::Refuted, &[PROBE, NO_DATA, ANSWERED])]
    // Switching it off does not stop the timer.
    #[case::off_ignored(Keepalive { off_probes: 1, ..ka_linux() }, Verdict::Differs, &[OFF])]
    // BSD-derived stacks may send one garbage byte.
    #[case::garbage_byte(Keepalive { on: Some(Probe { payload: 1, ..probe(1016).unwrap() }), ..ka_linux() },
        Verdict::Holds, &[NO_DATA])]
    #[case::unanswered(Keepalive { on: Some(Probe { answered: false, ..probe(1016).unwrap() }), ..ka_linux() },
        Verdict::Holds, &[ANSWERED])]
    #[case::earliest(Keepalive { on: probe(900), ..ka_linux() }, Verdict::Holds, &[])]
    #[case::too_early(Keepalive { on: probe(899), ..ka_linux() }, Verdict::Holds, &[PROBE])]
    #[case::latest(Keepalive { on: probe(2500), ..ka_linux() }, Verdict::Holds, &[])]
    #[case::too_late(Keepalive { on: probe(2501), ..ka_linux() }, Verdict::Holds, &[PROBE])]
    fn keepalive_judgement(
        #[case] o: Keepalive,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn keepalive_words() {
        let j = ka_linux().judge();
        assert_eq!("on: probe after 1016 ms; off: 0 probes", j.key);
        assert_eq!(
            "TCP_KEEPIDLE 1000 ms: with SO_KEEPALIVE on, a 0 B probe after 1016 ms idle, answered; switched on and \
             off again, 0 probes",
            j.because
        );
        let j = Keepalive {
            on: None,
            ..ka_linux()
        }
        .judge();
        assert_eq!("on: no probe; off: 0 probes", j.key);
    }

    fn seg(sport: u16, dport: u16, seq: u32, ack: u32, payload: u32, syn: bool) -> Segment {
        Segment {
            src: "127.0.0.1".parse().unwrap(),
            dst: "127.0.0.1".parse().unwrap(),
            sport,
            dport,
            seq,
            ack,
            flags: crate::lab::packet::TcpFlags {
                syn,
                ack: !syn || sport == 80,
                ..Default::default()
            },
            window: 64,
            urgent: 0,
            mss: None,
            wscale: None,
            payload,
            ttl: 64,
        }
    }

    #[test]
    fn a_probe_is_a_bare_ack_one_below_the_next_sequence_number() {
        let segs = vec![
            (0, seg(5000, 80, 100, 0, 0, true)),
            (1, seg(80, 5000, 900, 101, 0, true)),
            (2, seg(5000, 80, 101, 901, 0, false)),
            (3, seg(5000, 80, 101, 901, 10, false)),
            (1_000_000_004, seg(5000, 80, 110, 901, 0, false)),
            (1_000_000_005, seg(80, 5000, 901, 111, 0, false)),
        ];
        let found = probes(&segs, 5000);
        assert_eq!(vec![(1_000_000_004, segs[4].1.clone())], found);
        assert_eq!(
            Probe {
                payload: 0,
                idle_before: Duration::from_nanos(1_000_000_001),
                answered: true
            },
            probe_facts(&segs, 5000, &found[0])
        );
        assert_eq!(0, probes(&segs, 80).len());
    }

    fn took(result: &str, ms_: u64) -> Took {
        Took {
            result: result.into(),
            took: ms(ms_),
        }
    }

    fn linger_linux() -> Linger {
        Linger {
            linger: ms(1000),
            plain: took("ok", 0),
            timed_out: took("ok", 1007),
            blocked_before_read: true,
            drained: took("ok", 128),
            read: 100_352,
            written: 100_352,
            shutdown: took("ok", 0),
        }
    }

    const PLAIN: &str = "close() without SO_LINGER";
    const TIMED: &str = "close() with SO_LINGER, the peer never reading";
    const BLOCKED: &str = "close() with SO_LINGER: still blocked after 100 ms";
    const UNTIL_SENT: &str = "that close() returns once the peer has read everything";
    const READ: &str = "bytes the peer read";
    const SHUT: &str = "shutdown(SHUT_WR) with SO_LINGER";

    #[rstest]
    #[case::linux(linger_linux(), Verdict::Differs, &[])]
    // The page's world: shutdown() lingers as close() does.
    #[case::page(Linger { shutdown: took("ok", 1005), ..linger_linux() }, Verdict::Holds, &[SHUT])]
    // A libc that ignores SO_LINGER: every close returns at once.
    #[case::ignored(Linger { timed_out: took("ok", 0), blocked_before_read: false, drained: took("ok", 0),
        ..linger_linux() }, Verdict::Refuted, &[TIMED, BLOCKED, UNTIL_SENT])]
    // BSD: close() fails with EWOULDBLOCK when the linger time runs out.
    #[case::bsd_errno(Linger { timed_out: took("EWOULDBLOCK", 1003), ..linger_linux() }, Verdict::Refuted, &[TIMED])]
    #[case::plain_waits(Linger { plain: took("ok", 300), ..linger_linux() }, Verdict::Differs, &[PLAIN])]
    #[case::plain_fast(Linger { plain: took("ok", 299), ..linger_linux() }, Verdict::Differs, &[])]
    #[case::earliest(Linger { timed_out: took("ok", 990), ..linger_linux() }, Verdict::Differs, &[])]
    #[case::too_early(Linger { timed_out: took("ok", 989), ..linger_linux() }, Verdict::Refuted, &[TIMED])]
    #[case::latest(Linger { timed_out: took("ok", 2000), ..linger_linux() }, Verdict::Differs, &[])]
    #[case::too_late(Linger { timed_out: took("ok", 2001), ..linger_linux() }, Verdict::Refuted, &[TIMED])]
    // close() waits out the whole linger time although the data left.
    #[case::not_on_drain(Linger { drained: took("ok", 1004), ..linger_linux() }, Verdict::Refuted, &[UNTIL_SENT])]
    #[case::drained_at_watch(Linger { drained: took("ok", 100), ..linger_linux() }, Verdict::Differs, &[])]
    #[case::drained_early(Linger { drained: took("ok", 99), ..linger_linux() }, Verdict::Refuted, &[UNTIL_SENT])]
    #[case::drained_errno(Linger { drained: took("EIO", 128), ..linger_linux() }, Verdict::Refuted, &[UNTIL_SENT])]
    #[case::data_lost(Linger { read: 4096, ..linger_linux() }, Verdict::Differs, &[READ])]
    #[case::shutdown_errno(Linger { shutdown: took("ENOTCONN", 0), ..linger_linux() }, Verdict::Differs, &[SHUT])]
    #[case::shutdown_slow(Linger { shutdown: took("ok", 300), ..linger_linux() }, Verdict::Differs, &[SHUT])]
    #[case::shutdown_at_linger(Linger { shutdown: took("ok", 990), ..linger_linux() }, Verdict::Holds, &[SHUT])]
    fn linger_judgement(#[case] o: Linger, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn linger_words() {
        let j = linger_linux().judge();
        assert_eq!(
            "close 0 ms / lingering 1007 ms / drained 128 ms; shutdown 0 ms",
            j.key
        );
        assert_eq!(
            "l_linger 1000 ms, queued data unable to leave: close() without SO_LINGER ok after 0 ms; with it ok \
             after 1007 ms when the peer never read, ok after 128 ms when the peer read its 100352 B after 100 ms; \
             shutdown(SHUT_WR) ok after 0 ms",
            j.because
        );
    }
}
