//! tcp(7) on TCP_USER_TIMEOUT: how long sent data may stay unacknowledged
//! (or queued behind a zero window) before the connection is dropped with
//! ETIMEDOUT, its interplay with keep-alive, its inheritance by accept(),
//! and the values it takes. The peer is made silent by removing its address
//! inside its own namespace (lab::silent): it then drops what it receives
//! and can answer nothing.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::capture::wall_ns;
use crate::lab::flow::fill_until_window_closed;
use crate::lab::packet::Frame;
use crate::lab::quiet::{last_segments, probes, wait_error};
use crate::lab::silent::silence;
use crate::lab::sock::result_name;
use crate::lab::topo::Link;
use crate::lab::wire::tcp_across;
use crate::lab::{opt, record, Capture, Family, Lab, Sock, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &ETIMEDOUT,
    &ZERO_WINDOW,
    &OVERRIDES_KEEPALIVE,
    &INHERITED,
    &UNSIGNED,
];

pub static ETIMEDOUT: Case = Case {
    id: "tcp_user_timeout.etimedout",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_USER_TIMEOUT"),
    claim: "data left unacknowledged longer than TCP_USER_TIMEOUT milliseconds makes TCP drop the connection \
            and report ETIMEDOUT; the option does not change when TCP retransmits",
    expectation: "TCP_USER_TIMEOUT 500 and a peer gone silent: the segment is retransmitted as without the \
                  option (a tail-loss probe about 200 ms after it left, the RTO retransmission about 200 ms \
                  later, then backing off), but the 500 ms run from that first RTO retransmission, not from \
                  the data leaving: ETIMEDOUT about 920 ms after the data left (the last timer is cut short to \
                  end at the timeout)",
    run: &Measure(etimedout),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_USER_TIMEOUT],
};

pub static ZERO_WINDOW: Case = Case {
    id: "tcp_user_timeout.zero_window",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_USER_TIMEOUT"),
    claim: "TCP_USER_TIMEOUT also bounds how long buffered data may stay untransmitted because the peer's \
            window is zero",
    expectation: "a live peer that stops reading closes its window: with TCP_USER_TIMEOUT 500 the sender \
                  gets ETIMEDOUT, but counted from its first zero-window probe, which it sends one RTO \
                  (about 200 ms) after the window closed: the data stays unsent about 700 ms",
    run: &Measure(zero_window),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_USER_TIMEOUT],
};

pub static OVERRIDES_KEEPALIVE: Case = Case {
    id: "tcp_user_timeout.overrides_keepalive",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_USER_TIMEOUT"),
    claim: "with keep-alive on, TCP_USER_TIMEOUT rather than the keep-alive settings decides when a \
            connection whose probes go unanswered is closed",
    expectation: "keep-alive after 1 s idle, every 1 s, 5 probes (TCP_KEEPCNT alone would close it after about \
                  6 s), with TCP_USER_TIMEOUT 1500 and a silent peer: one probe at 1 s, then at the next \
                  keep-alive timer (2 s, the first past 1.5 s) the connection is closed with ETIMEDOUT",
    run: &Measure(overrides_keepalive),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_USER_TIMEOUT, opt::SO_KEEPALIVE, opt::TCP_KEEPIDLE, opt::TCP_KEEPINTVL],
};

pub static INHERITED: Case = Case {
    id: "tcp_user_timeout.inherited",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_USER_TIMEOUT"),
    claim: "TCP_USER_TIMEOUT set on a listening socket is inherited by the sockets accept() returns",
    expectation: "TCP_USER_TIMEOUT 500 on the listener only: the accepted socket's data, unanswered by a \
                  silent client, ends in ETIMEDOUT 500 ms after its first RTO retransmission, as when set on \
                  the socket itself (tcp_user_timeout.etimedout)",
    run: &Measure(inherited),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_USER_TIMEOUT],
};

pub static UNSIGNED: Case = Case {
    id: "tcp_user_timeout.unsigned",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_USER_TIMEOUT"),
    claim: "the option takes an unsigned int (milliseconds); 0 means the system default",
    expectation: "setsockopt accepts 0 and 1..=2147483647 and refuses with EINVAL every unsigned value from \
                  2147483648 up (the kernel reads a signed int and rejects negatives): half the unsigned \
                  range is refused",
    run: &Measure(unsigned),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_USER_TIMEOUT],
};

const USER_TIMEOUT_MS: u32 = 500;
/// The timeout ends when its timer fires: a tick early at most, late under load.
const EARLY_MS: f64 = 10.0;
const LATE_MS: f64 = 150.0;
/// The error is seen when the waiting thread runs: on a loaded machine that
/// can trail the kernel's timer by a few hundred ms (up to 200 ms seen with
/// 360 cases at once). Checks on such times allow this; verdicts use
/// LATE_MS, and a late wake only moves them further from the page.
const WAKE_LATE_MS: f64 = 350.0;

fn set_user_timeout(s: &Sock, ms: u32) -> Result<()> {
    s.set_raw(libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT, &ms.to_ne_bytes())
        .with_context(|| format!("TCP_USER_TIMEOUT {ms}"))
}

fn ms_text(t: Option<f64>) -> String {
    t.map_or_else(
        || "never".into(),
        |t| Duration::from_secs_f64(t.max(0.0) / 1e3).show(),
    )
}

/// When each transmission of the segment starting at `seq` from `port`
/// left, ns.
fn transmissions(frames: &[Frame], port: u16, seq: u32) -> Vec<i64> {
    frames
        .iter()
        .filter(|f| {
            f.segment()
                .is_some_and(|s| s.sport == port && s.payload > 0 && s.seq == seq)
        })
        .map(|f| f.t_ns)
        .collect()
}

/// A segment written towards a silent peer, its retransmissions, and the error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unanswered {
    pub user_timeout_ms: u32,
    /// Retransmissions of the segment, ms after it first left.
    pub retransmissions_ms: Vec<f64>,
    /// The error the socket reported.
    pub error: Option<String>,
    /// When, ms after the segment first left.
    pub error_ms: Option<f64>,
}

/// `sender` (in the namespace whose capture is `cap`) writes 100 bytes to a
/// peer already silenced; waits for its error.
fn unanswered(cap: &mut Capture, sender: &Sock, wait: Duration) -> Result<Unanswered> {
    let port = sender.local_addr()?.port();
    let from = cap.count()?;
    sender
        .send_all(&[b'u'; 100])
        .context("write to the silent peer")?;
    let first = cap.find_from(from, Duration::from_secs(1), |f| {
        f.segment()
            .is_some_and(|s| s.sport == port && s.payload > 0)
    })?;
    let err = wait_error(sender, wait)?;
    let (first_ns, seq) = match &first {
        Some((_, f)) => (f.t_ns, f.segment().map_or(0, |s| s.seq)),
        None => (wall_ns(), 0),
    };
    let sent = transmissions(cap.drain()?, port, seq);
    Ok(Unanswered {
        user_timeout_ms: USER_TIMEOUT_MS,
        retransmissions_ms: sent
            .iter()
            .skip(1)
            .map(|t| (t - first_ns) as f64 / 1e6)
            .collect(),
        error: err.as_ref().map(|(_, e)| e.clone()),
        error_ms: err.map(|(t, _)| (t - first_ns) as f64 / 1e6),
    })
}

/// A connection across a veth link: client in a, accepted socket in b.
fn linked(
    lab: &mut Lab,
    prep_listener: impl FnOnce(&Sock) -> Result<()>,
) -> Result<(Link, TcpPair)> {
    let link = Link::pair_v4(lab)?;
    let pair = tcp_across(&link, prep_listener, |_| Ok(()))?;
    Ok((link, pair))
}

fn etimedout(lab: &mut Lab) -> Result<Unanswered> {
    let (link, pair) = linked(lab, |_| Ok(()))?;
    let mut cap = Capture::start(&link.a_end.ifname)?;
    set_user_timeout(&pair.client, USER_TIMEOUT_MS)?;
    link.b
        .run(|| silence(&link.b_end.ifname, link.b_end.addr, 24))??;
    unanswered(&mut cap, &pair.client, Duration::from_secs(2))
}

fn inherited(lab: &mut Lab) -> Result<Inherited> {
    let (link, pair) = linked(lab, |l| set_user_timeout(l, USER_TIMEOUT_MS))?;
    let mut cap = link.b.run(|| Capture::start(&link.b_end.ifname))??;
    // The client's side goes silent; the accepted socket in b writes.
    silence(&link.a_end.ifname, link.a_end.addr, 24)?;
    Ok(Inherited(unanswered(
        &mut cap,
        &pair.server,
        Duration::from_secs(2),
    )?))
}

/// tcp_user_timeout.inherited's observation: the accepted socket's silent
/// peer, judged on whether the listener's option reached it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Inherited(pub Unanswered);

impl Observation for Inherited {
    fn judge(&self) -> Judgement {
        let o = &self.0;
        let mut j = o.judge();
        let timed_out = o.error.as_deref() == Some("ETIMEDOUT");
        j.verdict(
            Verdict::holds_if(timed_out),
            format!(
                "TCP_USER_TIMEOUT {} ms set on the listener only: the accepted socket reported {} {} after its \
                 data left (retransmissions at {} ms)",
                o.user_timeout_ms,
                o.error.as_deref().unwrap_or("no error"),
                ms_text(o.error_ms),
                o.retransmissions_ms.iter().map(|t| t.round()).collect::<Vec<_>>().show(),
            ),
        );
        j
    }
}

fn on_time(error_ms: Option<f64>, due: f64) -> bool {
    error_ms.is_some_and(|t| t >= due - EARLY_MS && t <= due + LATE_MS)
}

/// Whether an error the case's thread saw at `error_ms` can be the kernel's
/// timer due at `due`, allowing for the thread's wake-up on a loaded machine.
fn woke_on_time(error_ms: Option<f64>, due: f64) -> bool {
    error_ms.is_some_and(|t| (due - EARLY_MS..=due + WAKE_LATE_MS).contains(&t))
}

impl Observation for Unanswered {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let due = self.user_timeout_ms as f64;
        j.expect_eq(
            "the socket reports",
            &Some("ETIMEDOUT"),
            &self.error.as_deref(),
        );
        // Linux starts the clock at the first retransmission the RTO timer
        // makes (retrans_stamp); a tail-loss probe before it does not count.
        // Which retransmission that was the wire cannot tell: one must fit.
        // The latest that fits: the one the timer counted from.
        let anchor = self
            .retransmissions_ms
            .iter()
            .copied()
            .rfind(|r| woke_on_time(self.error_ms.map(|e| e - r), due));
        j.expect(
            "the error comes the user timeout after a retransmission",
            anchor.is_some(),
            format!(
                "{}..{} ms after one of the retransmissions",
                due - EARLY_MS,
                due + WAKE_LATE_MS
            ),
            format!(
                "{} after the data left, retransmissions at {} ms",
                ms_text(self.error_ms),
                self.retransmissions_ms
                    .iter()
                    .map(|t| t.round())
                    .collect::<Vec<_>>()
                    .show()
            ),
        );
        // The RTO never drops below 200 ms (TCP_RTO_MIN), with or without the option.
        j.expect(
            "the first retransmission comes after the usual RTO",
            self.retransmissions_ms.first().is_some_and(|t| *t >= 190.0),
            ">= 190 ms",
            ms_text(self.retransmissions_ms.first().copied()),
        );
        let verdict = match (self.error.as_deref(), self.error_ms) {
            (Some("ETIMEDOUT"), t) if on_time(t, due) => Verdict::Holds,
            (Some("ETIMEDOUT"), Some(t)) if t > due => Verdict::Differs,
            _ => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "TCP_USER_TIMEOUT {} ms: retransmissions at {} ms, then {} {} after the data left{}",
                self.user_timeout_ms,
                self.retransmissions_ms.iter().map(|t| t.round()).collect::<Vec<_>>().show(),
                self.error.as_deref().unwrap_or("no error"),
                ms_text(self.error_ms),
                anchor.map_or_else(String::new, |a| format!(
                    ", {} after the retransmission at {}",
                    ms_text(self.error_ms.map(|e| e - a)),
                    ms_text(Some(a))
                ))
            ),
        );
        j.key(format!(
            "{} after {} ({} retransmissions)",
            self.error.as_deref().unwrap_or("no error"),
            ms_text(self.error_ms),
            self.retransmissions_ms.len()
        ));
        j
    }
}

/// A sender stuck behind a zero window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZeroWindow {
    pub user_timeout_ms: u32,
    /// The sender's first zero-window probe, ms after the window closed.
    pub first_probe_ms: Option<f64>,
    pub error: Option<String>,
    /// The error, ms after the window closed.
    pub error_ms: Option<f64>,
}

/// The errno an error's chain carries, if any.
fn os_error(e: &anyhow::Error) -> Option<i32> {
    e.chain()
        .find_map(|c| c.downcast_ref::<std::io::Error>())
        .and_then(std::io::Error::raw_os_error)
}

fn zero_window(_lab: &mut Lab) -> Result<ZeroWindow> {
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::connect_with(
        std::net::SocketAddr::new(Family::V4.loopback(), 0),
        // A small receive buffer: the window closes after a few writes.
        |l| Ok(l.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, 4096)?),
        |_| Ok(()),
    )?;
    set_user_timeout(&pair.client, USER_TIMEOUT_MS)?;
    let port = pair.client.local_addr()?.port();
    let err = match fill_until_window_closed(&pair.client, 4096, Duration::from_secs(2)) {
        Ok(_) => wait_error(&pair.client, Duration::from_secs(2))?,
        // A loaded machine kept the filling thread off the CPU until the
        // timeout itself had closed the connection: a send reported it.
        Err(e) if os_error(&e) == Some(libc::ETIMEDOUT) => {
            record::mark("send while filling: ETIMEDOUT");
            Some((wall_ns(), "ETIMEDOUT".to_string()))
        }
        Err(e) => return Err(e),
    };
    let frames = cap.drain()?;
    let closed = frames.iter().find(|f| {
        f.segment()
            .is_some_and(|s| s.dport == port && s.window == 0 && !s.flags.syn)
    });
    let closed_ns = closed.map_or(0, |f| f.t_ns);
    let probe = closed.and_then(|c| {
        let ack = c.segment().map_or(0, |s| s.ack);
        // A zero-window probe: no data, one below what the receiver acknowledged.
        frames.iter().find(|f| {
            f.t_ns >= c.t_ns
                && f.segment().is_some_and(|s| {
                    s.sport == port && s.payload == 0 && s.seq == ack.wrapping_sub(1)
                })
        })
    });
    Ok(ZeroWindow {
        user_timeout_ms: USER_TIMEOUT_MS,
        first_probe_ms: probe.map(|f| (f.t_ns - closed_ns) as f64 / 1e6),
        error: err.as_ref().map(|(_, e)| e.clone()),
        error_ms: err.map(|(t, _)| (t - closed_ns) as f64 / 1e6),
    })
}

impl Observation for ZeroWindow {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let due = self.user_timeout_ms as f64;
        j.expect_eq(
            "the sender reports",
            &Some("ETIMEDOUT"),
            &self.error.as_deref(),
        );
        j.expect(
            "its first zero-window probe comes one RTO after the window closed",
            self.first_probe_ms
                .is_some_and(|t| (190.0..=200.0 + LATE_MS).contains(&t)),
            format!("190..{} ms", 200.0 + LATE_MS),
            ms_text(self.first_probe_ms),
        );
        let since_probe = match (self.error_ms, self.first_probe_ms) {
            (Some(e), Some(p)) => Some(e - p),
            _ => None,
        };
        j.expect(
            "the error comes the user timeout after that first probe",
            woke_on_time(since_probe, due),
            format!(
                "{}..{} ms after the probe",
                due - EARLY_MS,
                due + WAKE_LATE_MS
            ),
            ms_text(since_probe),
        );
        let verdict = match self.error_ms {
            Some(t) if t <= due + LATE_MS => Verdict::Holds,
            Some(_) => Verdict::Differs,
            None => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "TCP_USER_TIMEOUT {} ms behind a zero window: first probe {} and {} {} after the window closed",
                self.user_timeout_ms,
                ms_text(self.first_probe_ms),
                self.error.as_deref().unwrap_or("no error"),
                ms_text(self.error_ms)
            ),
        );
        j.key(format!(
            "{} {} after the window closed",
            self.error.as_deref().unwrap_or("no error"),
            ms_text(self.error_ms)
        ));
        j
    }
}

/// Keep-alive and TCP_USER_TIMEOUT against a silent peer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverridesKeepalive {
    pub keepidle_s: i32,
    pub keepintvl_s: i32,
    pub keepcnt: i32,
    pub user_timeout_ms: u32,
    /// Keep-alive probes, ms after the last segment the client received.
    pub probes_ms: Vec<f64>,
    pub error: Option<String>,
    pub error_ms: Option<f64>,
}

const KEEPCNT: i32 = 5;
const KA_USER_TIMEOUT_MS: u32 = 1_500;

fn overrides_keepalive(lab: &mut Lab) -> Result<OverridesKeepalive> {
    let link = Link::pair_v4(lab)?;
    // Capturing from the handshake on: keep-alive counts from its last segment.
    let mut cap = Capture::start(&link.a_end.ifname)?;
    let pair = tcp_across(&link, |_| Ok(()), |_| Ok(()))?;
    let c = &pair.client;
    let port = c.local_addr()?.port();
    for (level, name, v) in [
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, 1),
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, 1),
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT, KEEPCNT),
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1),
    ] {
        c.set_int(level, name, v)
            .with_context(|| format!("keep-alive option {level}:{name} = {v}"))?;
    }
    set_user_timeout(c, KA_USER_TIMEOUT_MS)?;
    link.b
        .run(|| silence(&link.b_end.ifname, link.b_end.addr, 24))??;
    // Keep-alive's idle time runs from the last segment the client received.
    let quiet = last_segments(&mut cap, port)?;
    let last_rx = quiet.0;
    let err = wait_error(c, Duration::from_millis(2_700))?;
    let probes_ms = probes(&mut cap, port, quiet, Instant::now(), usize::MAX)?;
    Ok(OverridesKeepalive {
        keepidle_s: 1,
        keepintvl_s: 1,
        keepcnt: KEEPCNT,
        user_timeout_ms: KA_USER_TIMEOUT_MS,
        probes_ms,
        error: err.as_ref().map(|(_, e)| e.clone()),
        error_ms: err.map(|(t, _)| (t - last_rx) as f64 / 1e6),
    })
}

impl Observation for OverridesKeepalive {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let idle = self.keepidle_s as f64 * 1e3;
        let intvl = self.keepintvl_s as f64 * 1e3;
        j.expect(
            "one keep-alive probe, after the idle time",
            self.probes_ms.len() == 1
                && self.probes_ms[0] >= idle - EARLY_MS
                && self.probes_ms[0] <= idle + LATE_MS,
            format!("1 probe at {}..{} ms", idle - EARLY_MS, idle + LATE_MS),
            format!(
                "{} probe(s) at {} ms",
                self.probes_ms.len(),
                self.probes_ms
                    .iter()
                    .map(|t| t.round())
                    .collect::<Vec<_>>()
                    .show()
            ),
        );
        j.expect_eq(
            "the socket reports",
            &Some("ETIMEDOUT"),
            &self.error.as_deref(),
        );
        // The first keep-alive timer at or past the user timeout.
        let due = idle
            + intvl
                * ((self.user_timeout_ms as f64 - idle) / intvl)
                    .ceil()
                    .max(1.0);
        j.expect(
            "closed at the first keep-alive timer past the user timeout",
            woke_on_time(self.error_ms, due),
            format!("{}..{} ms", due - EARLY_MS, due + WAKE_LATE_MS),
            ms_text(self.error_ms),
        );
        let by_keepcnt = idle + intvl * self.keepcnt as f64;
        let overridden =
            self.error.is_some() && self.error_ms.is_some_and(|t| t < by_keepcnt - intvl / 2.0);
        j.verdict(
            Verdict::holds_if(overridden),
            format!(
                "keep-alive {} s idle, {} s interval, {} probes (closing after about {} s), TCP_USER_TIMEOUT {} \
                 ms: {} probe(s), then {} {} after the last segment received",
                self.keepidle_s,
                self.keepintvl_s,
                self.keepcnt,
                (by_keepcnt / 1e3).show(),
                self.user_timeout_ms,
                self.probes_ms.len(),
                self.error.as_deref().unwrap_or("no error"),
                ms_text(self.error_ms)
            ),
        );
        j.key(format!(
            "{} probe(s), {} after {}",
            self.probes_ms.len(),
            self.error.as_deref().unwrap_or("no error"),
            ms_text(self.error_ms)
        ));
        j
    }
}

/// What setsockopt(TCP_USER_TIMEOUT) said to values across the unsigned range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unsigned {
    pub set: Vec<u32>,
    pub results: Vec<String>,
}

const VALUES: [u32; 5] = [0, 1, i32::MAX as u32, 1 << 31, u32::MAX];

fn unsigned(_lab: &mut Lab) -> Result<Unsigned> {
    let s = Sock::tcp(Family::V4)?;
    let results = VALUES
        .iter()
        .map(|v| {
            result_name(&s.set_raw(libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT, &v.to_ne_bytes()))
        })
        .collect();
    Ok(Unsigned {
        set: VALUES.to_vec(),
        results,
    })
}

impl Observation for Unsigned {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let expected: Vec<&str> = self
            .set
            .iter()
            .map(|v| {
                if *v <= i32::MAX as u32 {
                    "ok"
                } else {
                    "EINVAL"
                }
            })
            .collect();
        let got: Vec<&str> = self.results.iter().map(String::as_str).collect();
        j.expect_eq(
            "setsockopt(TCP_USER_TIMEOUT) for [0, 1, 2147483647, 2147483648, 4294967295]",
            &expected,
            &got,
        );
        let refused_high = self
            .set
            .iter()
            .zip(&got)
            .any(|(v, r)| *v > i32::MAX as u32 && *r != "ok");
        let low_ok = self
            .set
            .iter()
            .zip(&got)
            .all(|(v, r)| *v > i32::MAX as u32 || *r == "ok");
        j.verdict(
            match (low_ok, refused_high) {
                (true, false) => Verdict::Holds,
                (true, true) => Verdict::Differs,
                (false, _) => Verdict::Refuted,
            },
            format!("set {} -> {}", self.set.show(), got.show()),
        );
        j.key(format!(
            "2147483647 -> {}, 2147483648 -> {}",
            got.get(2).show(),
            got.get(3).show()
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn unanswered_linux() -> Unanswered {
        Unanswered {
            user_timeout_ms: 500,
            retransmissions_ms: vec![207.7, 415.7, 847.7],
            error: Some("ETIMEDOUT".into()),
            error_ms: Some(922.9),
        }
    }

    /// The page's reading: ETIMEDOUT the user timeout after the data left.
    fn unanswered_page() -> Unanswered {
        Unanswered {
            retransmissions_ms: vec![206.4],
            error_ms: Some(502.3),
            ..unanswered_linux()
        }
    }

    const REPORTS: &str = "the socket reports";
    const ANCHOR: &str = "the error comes the user timeout after a retransmission";
    const RTO: &str = "the first retransmission comes after the usual RTO";

    #[rstest]
    #[case::linux(unanswered_linux(), Verdict::Differs, &[])]
    #[case::page(unanswered_page(), Verdict::Holds, &[ANCHOR])]
    // The option ignored: retransmissions go on, no error within 2 s.
    #[case::ignored(Unanswered { retransmissions_ms: vec![206.0, 415.0, 830.0, 1_660.0], error: None,
        error_ms: None, ..unanswered_linux() }, Verdict::Refuted, &[REPORTS, ANCHOR])]
    // An implementation that retransmits faster to fit the timeout.
    #[case::faster_retransmit(Unanswered { retransmissions_ms: vec![50.0, 150.0, 350.0], error_ms: Some(500.0),
        ..unanswered_linux() }, Verdict::Holds, &[ANCHOR, RTO])]
    #[case::other_error(Unanswered { error: Some("EHOSTUNREACH".into()), ..unanswered_linux() }, Verdict::Refuted,
        &[REPORTS])]
    // Just over 490 ms after the retransmission at 207.7 ms, and just under.
    #[case::earliest(Unanswered { error_ms: Some(697.8), ..unanswered_linux() }, Verdict::Differs, &[])]
    #[case::too_early(Unanswered { error_ms: Some(697.6), ..unanswered_linux() }, Verdict::Differs, &[ANCHOR])]
    // Just under 850 ms after the one at 415.7 ms (a late wake), and just over.
    #[case::latest(Unanswered { error_ms: Some(1_265.6), ..unanswered_linux() }, Verdict::Differs, &[])]
    #[case::too_late(Unanswered { error_ms: Some(1_265.8), ..unanswered_linux() }, Verdict::Differs, &[ANCHOR])]
    #[case::page_edges(Unanswered { error_ms: Some(490.0), ..unanswered_page() }, Verdict::Holds, &[ANCHOR])]
    #[case::page_latest(Unanswered { error_ms: Some(650.0), ..unanswered_page() }, Verdict::Holds, &[ANCHOR])]
    #[case::page_early(Unanswered { error_ms: Some(489.9), retransmissions_ms: vec![], ..unanswered_page() },
        Verdict::Refuted, &[ANCHOR, RTO])]
    #[case::rto_edge(Unanswered { retransmissions_ms: vec![190.0, 415.7], ..unanswered_linux() }, Verdict::Differs,
        &[])]
    #[case::rto_short(Unanswered { retransmissions_ms: vec![189.9, 415.7], ..unanswered_linux() },
        Verdict::Differs, &[RTO])]
    fn unanswered_judgement(#[case] o: Unanswered, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[rstest]
    #[case::linux(Inherited(unanswered_linux()), Verdict::Holds, &[])]
    // Not inherited: the accepted socket retransmits on, no error.
    #[case::not_inherited(Inherited(Unanswered { error: None, error_ms: None, ..unanswered_linux() }),
        Verdict::Refuted, &[REPORTS, ANCHOR])]
    #[case::other_error(Inherited(Unanswered { error: Some("ECONNRESET".into()), ..unanswered_linux() }),
        Verdict::Refuted, &[REPORTS])]
    fn inherited_judgement(#[case] o: Inherited, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn inherited_words() {
        let j = Inherited(unanswered_linux()).judge();
        assert_eq!(
            "TCP_USER_TIMEOUT 500 ms set on the listener only: the accepted socket reported ETIMEDOUT 923 ms \
             after its data left (retransmissions at [208, 416, 848] ms)",
            j.because
        );
    }

    #[test]
    fn unanswered_words() {
        let j = unanswered_linux().judge();
        assert_eq!("ETIMEDOUT after 923 ms (3 retransmissions)", j.key);
        assert_eq!(
            "TCP_USER_TIMEOUT 500 ms: retransmissions at [208, 416, 848] ms, then ETIMEDOUT 923 ms after the \
             data left, 507 ms after the retransmission at 416 ms",
            j.because
        );
        let none = Unanswered {
            error: None,
            error_ms: None,
            ..unanswered_linux()
        }
        .judge();
        assert_eq!("no error after never (3 retransmissions)", none.key);
        assert!(!unanswered_page()
            .judge()
            .because
            .contains("after the retransmission"));
    }

    #[test]
    fn errno_of_an_error_chain() {
        let e = anyhow::Error::from(std::io::Error::from_raw_os_error(libc::ETIMEDOUT))
            .context("send while filling the window");
        assert_eq!(Some(libc::ETIMEDOUT), os_error(&e));
        assert_eq!(None, os_error(&anyhow::anyhow!("no errno here")));
    }

    fn zero_linux() -> ZeroWindow {
        ZeroWindow {
            user_timeout_ms: 500,
            first_probe_ms: Some(212.0),
            error: Some("ETIMEDOUT".into()),
            error_ms: Some(716.0),
        }
    }

    const Z_REPORTS: &str = "the sender reports";
    const Z_PROBE: &str = "its first zero-window probe comes one RTO after the window closed";
    const Z_AFTER: &str = "the error comes the user timeout after that first probe";

    #[rstest]
    #[case::linux(zero_linux(), Verdict::Differs, &[])]
    // The page's reading: ETIMEDOUT the user timeout after the window closed.
    #[case::page(ZeroWindow { error_ms: Some(505.0), ..zero_linux() }, Verdict::Holds, &[Z_AFTER])]
    // The option ignored: probes go on.
    #[case::ignored(ZeroWindow { error: None, error_ms: None, ..zero_linux() }, Verdict::Refuted,
        &[Z_REPORTS, Z_AFTER])]
    #[case::no_probe(ZeroWindow { first_probe_ms: None, ..zero_linux() }, Verdict::Differs, &[Z_PROBE, Z_AFTER])]
    #[case::probe_early(ZeroWindow { first_probe_ms: Some(189.9), error_ms: Some(690.0), ..zero_linux() },
        Verdict::Differs, &[Z_PROBE])]
    #[case::probe_late(ZeroWindow { first_probe_ms: Some(350.1), error_ms: Some(851.0), ..zero_linux() },
        Verdict::Differs, &[Z_PROBE])]
    #[case::holds_edge(ZeroWindow { first_probe_ms: Some(190.0), error_ms: Some(650.0), ..zero_linux() },
        Verdict::Holds, &[Z_AFTER])]
    // A loaded machine: the thread saw the error 693 ms after the probe.
    #[case::late_wake(ZeroWindow { first_probe_ms: Some(216.0), error_ms: Some(909.0), ..zero_linux() },
        Verdict::Differs, &[])]
    // 850 ms after the probe, the latest a late wake explains, and just over.
    #[case::latest_wake(ZeroWindow { error_ms: Some(1_061.9), ..zero_linux() }, Verdict::Differs, &[])]
    #[case::too_late(ZeroWindow { error_ms: Some(1_062.1), ..zero_linux() }, Verdict::Differs, &[Z_AFTER])]
    fn zero_judgement(#[case] o: ZeroWindow, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn zero_words() {
        let j = zero_linux().judge();
        assert_eq!("ETIMEDOUT 716 ms after the window closed", j.key);
        assert_eq!(
            "TCP_USER_TIMEOUT 500 ms behind a zero window: first probe 212 ms and ETIMEDOUT 716 ms after the \
             window closed",
            j.because
        );
    }

    fn ka_linux() -> OverridesKeepalive {
        OverridesKeepalive {
            keepidle_s: 1,
            keepintvl_s: 1,
            keepcnt: 5,
            user_timeout_ms: 1_500,
            probes_ms: vec![1_003.0],
            error: Some("ETIMEDOUT".into()),
            error_ms: Some(2_006.0),
        }
    }

    const ONE_PROBE: &str = "one keep-alive probe, after the idle time";
    const KA_REPORTS: &str = "the socket reports";
    const KA_WHEN: &str = "closed at the first keep-alive timer past the user timeout";

    #[rstest]
    #[case::linux(ka_linux(), Verdict::Holds, &[])]
    // TCP_USER_TIMEOUT ignored: probes go on until TCP_KEEPCNT (past the wait).
    #[case::ignored(OverridesKeepalive { probes_ms: vec![1_003.0, 2_004.0], error: None, error_ms: None,
        ..ka_linux() }, Verdict::Refuted, &[ONE_PROBE, KA_REPORTS, KA_WHEN])]
    // Keep-alive counting wins: closed after 5 probes.
    #[case::keepcnt_wins(OverridesKeepalive { probes_ms: vec![1e3, 2e3, 3e3, 4e3, 5e3], error_ms: Some(6_000.0),
        ..ka_linux() }, Verdict::Refuted, &[ONE_PROBE, KA_WHEN])]
    // Closed at the user timeout itself rather than at a keep-alive timer.
    #[case::exact(OverridesKeepalive { error_ms: Some(1_500.0), ..ka_linux() }, Verdict::Holds, &[KA_WHEN])]
    #[case::no_probe(OverridesKeepalive { probes_ms: vec![], ..ka_linux() }, Verdict::Holds, &[ONE_PROBE])]
    #[case::probe_late(OverridesKeepalive { probes_ms: vec![1_150.1], ..ka_linux() }, Verdict::Holds, &[ONE_PROBE])]
    #[case::probe_early(OverridesKeepalive { probes_ms: vec![989.9], ..ka_linux() }, Verdict::Holds, &[ONE_PROBE])]
    // Half an interval before TCP_KEEPCNT would have closed it (6 s).
    #[case::before_keepcnt(OverridesKeepalive { error_ms: Some(5_499.0), ..ka_linux() }, Verdict::Holds, &[KA_WHEN])]
    #[case::at_keepcnt(OverridesKeepalive { error_ms: Some(5_500.0), ..ka_linux() }, Verdict::Refuted, &[KA_WHEN])]
    // The timer at 2 s, seen by a thread woken 350 ms late, and later still.
    #[case::latest_wake(OverridesKeepalive { error_ms: Some(2_350.0), ..ka_linux() }, Verdict::Holds, &[])]
    #[case::too_late(OverridesKeepalive { error_ms: Some(2_350.1), ..ka_linux() }, Verdict::Holds, &[KA_WHEN])]
    fn ka_judgement(#[case] o: OverridesKeepalive, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn ka_words() {
        let j = ka_linux().judge();
        assert_eq!("1 probe(s), ETIMEDOUT after 2006 ms", j.key);
        assert_eq!(
            "keep-alive 1 s idle, 1 s interval, 5 probes (closing after about 6 s), TCP_USER_TIMEOUT 1500 ms: 1 \
             probe(s), then ETIMEDOUT 2006 ms after the last segment received",
            j.because
        );
        assert_eq!("1990..2350 ms", j.checks[2].expected);
        // A user timeout shorter than the idle time: the first timer after a probe.
        let short = OverridesKeepalive {
            user_timeout_ms: 500,
            ..ka_linux()
        }
        .judge();
        assert_eq!("1990..2350 ms", short.checks[2].expected);
    }

    fn unsigned_linux() -> Unsigned {
        Unsigned {
            set: VALUES.to_vec(),
            results: ["ok", "ok", "ok", "EINVAL", "EINVAL"]
                .map(String::from)
                .to_vec(),
        }
    }

    const U_CHECK: &str =
        "setsockopt(TCP_USER_TIMEOUT) for [0, 1, 2147483647, 2147483648, 4294967295]";

    #[rstest]
    #[case::linux(unsigned_linux(), Verdict::Differs, &[])]
    // The page's world (and a libc that ignores the option): every unsigned value taken.
    #[case::page(Unsigned { results: vec!["ok".into(); 5], ..unsigned_linux() }, Verdict::Holds, &[U_CHECK])]
    #[case::zero_refused(Unsigned { results: ["EINVAL", "ok", "ok", "EINVAL", "EINVAL"].map(String::from).to_vec(),
        ..unsigned_linux() }, Verdict::Refuted, &[U_CHECK])]
    fn unsigned_judgement(#[case] o: Unsigned, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn unsigned_words() {
        let j = unsigned_linux().judge();
        assert_eq!("2147483647 -> ok, 2147483648 -> EINVAL", j.key);
        assert_eq!(
            "set [0, 1, 2147483647, 2147483648, 4294967295] -> [ok, ok, ok, EINVAL, EINVAL]",
            j.because
        );
    }
}
