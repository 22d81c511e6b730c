//! tcp(7) on the SYN: TCP_SYNCNT (how many SYN retransmissions before
//! connect() gives up, and its maximum), TCP_SAVE_SYN and TCP_SAVED_SYN (the
//! listener keeps the client's SYN headers for one read).

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use nix::poll::PollFlags;
use serde::{Deserialize, Serialize};

use crate::lab::packet::Frame;
use crate::lab::silent::{full_listener, FullListener};
use crate::lab::sock::{errno_name, result_name};
use crate::lab::tcpopt::ip_tcp_headers;
use crate::lab::{opt, procnet, wait, Capture, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&RETRANSMISSIONS, &MAX_255, &SAVE_SYN, &SAVED_SYN_ONCE];

pub static RETRANSMISSIONS: Case = Case {
    id: "tcp_syncnt.retransmissions",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_SYNCNT"),
    claim: "TCP_SYNCNT sets how many SYN retransmissions TCP sends before it gives up connecting",
    expectation: "TCP_SYNCNT 1 towards a listener that never answers (its accept queue full, SYNs dropped): \
                  connect() fails with ETIMEDOUT about 3 s \
                  after the first SYN (the time 1 retransmission takes with exponential backoff: 1 s + 2 s); \
                  with net.ipv4.tcp_syn_linear_timeouts 0 that is 1 retransmission, but with its default of 4 \
                  (a sysctl of recent kernels) the first retransmissions come every second, so 2 fit in that \
                  time",
    run: &Measure(retransmissions),
    // Two connections wait 3 s each for ETIMEDOUT, side by side.
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_SYNCNT],
};

pub static MAX_255: Case = Case {
    id: "tcp_syncnt.max_255",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_SYNCNT"),
    claim: "TCP_SYNCNT cannot exceed 255",
    expectation:
        "setsockopt(TCP_SYNCNT) accepts 1..=127 (MAX_TCP_SYNCNT) and refuses 0 and everything \
                  from 128 up with EINVAL: the limit is 127, so 128..=255 are refused too",
    run: &Measure(max_255),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_SYNCNT],
};

pub static SAVE_SYN: Case = Case {
    id: "tcp_save_syn.before_or_after_listen",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_SAVE_SYN"),
    claim: "TCP_SAVE_SYN makes a listener keep the incoming SYN until it is read with TCP_SAVED_SYN; it can \
            be set before or after listen()",
    expectation: "with TCP_SAVE_SYN 1 set before listen() or after it, the accepted socket returns the \
                  client's SYN (its IP and TCP headers, byte for byte as captured); without the option it \
                  returns nothing",
    run: &Measure(save_syn),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_SAVE_SYN],
};

pub static SAVED_SYN_ONCE: Case = Case {
    id: "tcp_saved_syn.headers_once",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_SAVED_SYN"),
    claim: "TCP_SAVED_SYN returns the network (IPv4/IPv6) and TCP headers of the saved SYN, and frees them \
            after the first call",
    expectation: "over IPv4 and IPv6 the first getsockopt(TCP_SAVED_SYN) on the accepted socket returns the \
                  SYN's IP header and TCP header with its options, exactly as captured (60 and 80 bytes with \
                  Linux's SYN options); a second call returns 0 bytes",
    run: &Measure(saved_syn_once),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_SAVE_SYN],
};

fn ms_text(t: Option<f64>) -> String {
    t.map_or_else(
        || "never".into(),
        |t| Duration::from_secs_f64(t.max(0.0) / 1e3).show(),
    )
}

/// One connect() with TCP_SYNCNT 1 towards a silent peer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SynRun {
    /// net.ipv4.tcp_syn_linear_timeouts of the namespace; none when the
    /// kernel has no such sysctl.
    pub linear_timeouts: Option<i64>,
    /// When each SYN left, ms after the first.
    pub syns_ms: Vec<f64>,
    /// What connect() returned.
    pub connect: String,
    /// When it failed, ms after it was called (the first SYN leaves at once).
    pub failed_ms: Option<f64>,
}

impl SynRun {
    fn retransmissions(&self) -> usize {
        self.syns_ms.len().saturating_sub(1)
    }
}

/// TCP_SYNCNT 1 with the namespace's linear SYN timeouts as they are, and
/// with them off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Retransmissions {
    pub syncnt: i32,
    pub default_linear: SynRun,
    pub linear_off: SynRun,
}

const SYNCNT: i32 = 1;
/// How long an attempt waits for connect() to fail: its 3 s, and margin.
const CONNECT_WAIT: Duration = Duration::from_millis(3_600);

/// Everything one attempt needs, made in the calling thread's namespace: a
/// listener that never answers, a capture on loopback, a socket with
/// TCP_SYNCNT, and the namespace's net.ipv4.tcp_syn_linear_timeouts (set
/// to `linear` first when given).
struct Attempt {
    cap: Capture,
    silent: FullListener,
    sock: Sock,
    linear_timeouts: Option<i64>,
}

fn prepare(linear: Option<&str>) -> Result<Attempt> {
    if let Some(v) = linear {
        // Absent on older kernels: then there is nothing to turn off.
        let _ = procnet::set_sysctl("net/ipv4/tcp_syn_linear_timeouts", v);
    }
    let cap = Capture::start("lo")?;
    let silent = full_listener(Family::V4)?;
    let sock = Sock::tcp(Family::V4)?;
    sock.set_int(libc::IPPROTO_TCP, libc::TCP_SYNCNT, SYNCNT)
        .context("TCP_SYNCNT")?;
    Ok(Attempt {
        cap,
        silent,
        sock,
        linear_timeouts: procnet::sysctl_int("net/ipv4/tcp_syn_linear_timeouts").ok(),
    })
}

fn attempt(a: Attempt) -> Result<SynRun> {
    let Attempt {
        mut cap,
        silent,
        sock,
        linear_timeouts,
    } = a;
    // Non-blocking, so that a TCP_SYNCNT the kernel never saw (6 retries,
    // minutes) shows as a connect() still pending when the case stops.
    sock.set_nonblocking(true)?;
    let t = Instant::now();
    let started = sock.connect(silent.addr);
    let outcome = match started {
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
            let done = wait::ready(sock.as_raw_fd(), PollFlags::POLLOUT, CONNECT_WAIT)?;
            let took = t.elapsed();
            if done {
                let err = sock.get_int(libc::SOL_SOCKET, libc::SO_ERROR)?;
                let name = if err == 0 {
                    "ok".to_string()
                } else {
                    errno_name(&std::io::Error::from_raw_os_error(err))
                };
                Some((name, took))
            } else {
                None
            }
        }
        other => Some((result_name(&other), t.elapsed())),
    };
    let port = sock.local_addr()?.port();
    let syns: Vec<Frame> = cap
        .frames()?
        .into_iter()
        .filter(|f| {
            f.segment()
                .is_some_and(|s| s.sport == port && s.flags.syn && !s.flags.ack)
        })
        .collect();
    let first = syns.first().map(|f| f.t_ns);
    let syns_ms: Vec<f64> = syns
        .iter()
        .map(|f| (f.t_ns - first.unwrap_or(f.t_ns)) as f64 / 1e6)
        .collect();
    Ok(SynRun {
        linear_timeouts,
        syns_ms,
        connect: outcome
            .as_ref()
            .map_or_else(|| "still connecting".to_string(), |(r, _)| r.clone()),
        failed_ms: outcome
            .filter(|(r, _)| r != "ok")
            .map(|(_, took)| took.as_secs_f64() * 1e3),
    })
}

fn retransmissions(lab: &mut Lab) -> Result<Retransmissions> {
    let here = prepare(None)?;
    let other = lab.add_host("linear-off")?;
    let there = other.run(|| prepare(Some("0")))??;
    // Both attempts at once: each waits about 3 s for its timeout.
    let (default_linear, linear_off) = std::thread::scope(|sc| {
        let h = sc.spawn(move || attempt(there));
        let a = attempt(here);
        let b = h
            .join()
            .map_err(|_| anyhow!("the second connect() thread panicked"));
        (a, b)
    });
    Ok(Retransmissions {
        syncnt: SYNCNT,
        default_linear: default_linear?,
        linear_off: linear_off??,
    })
}

/// ETIMEDOUT when 1 retransmission's exponential-backoff time is up:
/// 1 s + 2 s after the first SYN.
const BUDGET_MS: f64 = 3_000.0;
const LATE_MS: f64 = 400.0;
/// How late the first SYN retransmission may be on a loaded machine.
const FIRST_LATE_MS: f64 = 200.0;

impl Observation for Retransmissions {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        for (name, run) in [
            ("default linear timeouts", &self.default_linear),
            ("linear timeouts 0", &self.linear_off),
        ] {
            j.expect_eq(
                &format!("{name}: connect() fails with"),
                &"ETIMEDOUT",
                &run.connect.as_str(),
            );
            j.expect(
                &format!("{name}: after the time 1 retransmission takes (1 s + 2 s)"),
                run.failed_ms
                    .is_some_and(|t| (BUDGET_MS - 10.0..=BUDGET_MS + LATE_MS).contains(&t)),
                format!("{}..{} ms", BUDGET_MS - 10.0, BUDGET_MS + LATE_MS),
                ms_text(run.failed_ms),
            );
            // The initial SYN timeout, TCP_TIMEOUT_INIT: 1 s.
            let first = run.syns_ms.get(1).copied();
            j.expect(
                &format!("{name}: the first retransmission 1 s after the SYN"),
                first.is_some_and(|t| (1_000.0 - 10.0..=1_000.0 + FIRST_LATE_MS).contains(&t)),
                format!("{}..{} ms", 1_000.0 - 10.0, 1_000.0 + FIRST_LATE_MS),
                ms_text(first),
            );
            // Linear timeouts are 1 s each; the first backed-off one is 2 s.
            let linear = run.linear_timeouts.unwrap_or(0).max(0) as usize;
            let expected = if linear >= 1 { 2 } else { 1 };
            j.expect_eq(
                &format!("{name}: SYN retransmissions"),
                &expected,
                &run.retransmissions(),
            );
        }
        let default_n = self.default_linear.retransmissions();
        let off_n = self.linear_off.retransmissions();
        let n = self.syncnt as usize;
        let verdict = match (default_n == n, off_n == n) {
            (true, true) => Verdict::Holds,
            (false, false) => Verdict::Refuted,
            _ => Verdict::Differs,
        };
        let run_text = |r: &SynRun| {
            format!(
                "SYNs at {} ms, connect() {} after {}",
                r.syns_ms
                    .iter()
                    .map(|t| t.round())
                    .collect::<Vec<_>>()
                    .show(),
                r.connect,
                ms_text(r.failed_ms)
            )
        };
        j.verdict(
            verdict,
            format!(
                "TCP_SYNCNT {}: with tcp_syn_linear_timeouts {} {} ({default_n} retransmissions); with 0 {} \
                 ({off_n})",
                self.syncnt,
                self.default_linear.linear_timeouts.show(),
                run_text(&self.default_linear),
                run_text(&self.linear_off),
            ),
        );
        j.key(format!(
            "TCP_SYNCNT {}: {default_n} retransmissions (linear {}), {off_n} (linear 0); ETIMEDOUT at {}",
            self.syncnt,
            self.default_linear.linear_timeouts.show(),
            ms_text(self.default_linear.failed_ms)
        ));
        j
    }
}

/// What setsockopt(TCP_SYNCNT) said to values around its limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Max255 {
    pub set: Vec<i32>,
    pub results: Vec<String>,
}

const SYNCNT_VALUES: [i32; 6] = [0, 1, 127, 128, 255, 256];
/// The kernel's MAX_TCP_SYNCNT.
const MAX_SYNCNT: i32 = 127;

fn max_255(_lab: &mut Lab) -> Result<Max255> {
    let s = Sock::tcp(Family::V4)?;
    let results = SYNCNT_VALUES
        .iter()
        .map(|v| result_name(&s.set_int(libc::IPPROTO_TCP, libc::TCP_SYNCNT, *v)))
        .collect();
    Ok(Max255 {
        set: SYNCNT_VALUES.to_vec(),
        results,
    })
}

impl Observation for Max255 {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let expected: Vec<&str> = self
            .set
            .iter()
            .map(|v| {
                if (1..=MAX_SYNCNT).contains(v) {
                    "ok"
                } else {
                    "EINVAL"
                }
            })
            .collect();
        let got: Vec<&str> = self.results.iter().map(String::as_str).collect();
        j.expect_eq(
            "setsockopt(TCP_SYNCNT) for [0, 1, 127, 128, 255, 256]",
            &expected,
            &got,
        );
        let accepted = |limit: i32| {
            self.set
                .iter()
                .zip(&self.results)
                .any(|(v, r)| *v == limit && r == "ok")
        };
        let largest = self
            .set
            .iter()
            .zip(&self.results)
            .filter(|(_, r)| *r == "ok")
            .map(|(v, _)| *v)
            .max();
        let verdict = match (accepted(255), accepted(256)) {
            (_, true) => Verdict::Refuted,
            (true, false) => Verdict::Holds,
            // Refused below the page's limit as well.
            (false, false) => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "set {} -> {}: the largest value accepted is {}",
                self.set.show(),
                got.show(),
                largest.show()
            ),
        );
        j.key(format!(
            "largest accepted {}; 255 -> {}",
            largest.show(),
            self.results.get(4).show()
        ));
        j
    }
}

/// The SYN the accepted socket gave back, against the captured one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// Bytes TCP_SAVED_SYN returned.
    pub len: usize,
    /// Bytes of IP and TCP header of the captured SYN.
    pub wire_len: usize,
    /// They are the same bytes.
    pub same: bool,
}

/// getsockopt(TCP_SAVED_SYN): the bytes, or the errno.
fn saved_syn(s: &Sock) -> std::io::Result<Vec<u8>> {
    let mut buf = [0u8; 512];
    let n = s.get_raw(libc::IPPROTO_TCP, libc::TCP_SAVED_SYN, &mut buf)?;
    Ok(buf[..n].to_vec())
}

/// A listener on `family`'s loopback (TCP_SAVE_SYN set before or after
/// listen(), or not at all), one client, the accepted socket and the SYN
/// as captured.
fn saving_listener(
    cap: &mut Capture,
    family: Family,
    when: Option<&str>,
) -> Result<(Sock, Vec<u8>)> {
    let save = |l: &Sock| {
        l.set_int(libc::IPPROTO_TCP, libc::TCP_SAVE_SYN, 1)
            .context("TCP_SAVE_SYN 1")
    };
    let l = Sock::tcp(family)?;
    if when == Some("before") {
        save(&l)?;
    }
    l.bind(SocketAddr::new(family.loopback(), 0))
        .context("bind")?;
    l.listen(4).context("listen")?;
    if when == Some("after") {
        save(&l)?;
    }
    let c = Sock::tcp(family)?;
    c.connect(l.local_addr()?).context("connect")?;
    let port = c.local_addr()?.port();
    let server = l.accept().context("accept")?;
    let syn = cap
        .find_from(0, Duration::from_secs(1), |f| {
            f.segment()
                .is_some_and(|s| s.sport == port && s.flags.syn && !s.flags.ack)
        })?
        .and_then(|(_, f)| ip_tcp_headers(&f))
        .ok_or_else(|| anyhow!("no SYN from port {port} captured"))?;
    Ok((server, syn))
}

fn compare(got: &[u8], wire: &[u8]) -> Saved {
    Saved {
        len: got.len(),
        wire_len: wire.len(),
        same: got == wire,
    }
}

/// TCP_SAVE_SYN set before listen(), after it, and not at all.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SaveSyn {
    pub before_listen: Saved,
    pub after_listen: Saved,
    pub without: Saved,
}

fn save_syn(_lab: &mut Lab) -> Result<SaveSyn> {
    let mut cap = Capture::start("lo")?;
    let mut one = |when| -> Result<Saved> {
        let (server, wire) = saving_listener(&mut cap, Family::V4, when)?;
        Ok(compare(
            &saved_syn(&server).context("TCP_SAVED_SYN")?,
            &wire,
        ))
    };
    Ok(SaveSyn {
        before_listen: one(Some("before"))?,
        after_listen: one(Some("after"))?,
        without: one(None)?,
    })
}

fn saved_text(s: &Saved) -> String {
    format!(
        "{} B{}",
        s.len,
        if s.same {
            " = the SYN's headers"
        } else if s.len == 0 {
            ""
        } else {
            " (not the SYN's headers)"
        }
    )
}

impl Observation for SaveSyn {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        for (name, s) in [
            ("set before listen()", &self.before_listen),
            ("set after listen()", &self.after_listen),
        ] {
            j.expect(
                &format!("{name}: the accepted socket returns the SYN's IP and TCP headers"),
                s.same && s.len > 0,
                format!("{} B as captured", s.wire_len),
                saved_text(s),
            );
        }
        j.expect_eq(
            "without TCP_SAVE_SYN: bytes returned",
            &0,
            &self.without.len,
        );
        let ok = |s: &Saved| s.same && s.len > 0;
        let verdict = match (ok(&self.before_listen), ok(&self.after_listen)) {
            (true, true) => Verdict::Holds,
            (false, false) => Verdict::Refuted,
            _ => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "TCP_SAVED_SYN on the accepted socket: {} with TCP_SAVE_SYN set before listen(), {} set after, \
                 {} without it",
                saved_text(&self.before_listen),
                saved_text(&self.after_listen),
                saved_text(&self.without)
            ),
        );
        j.key(format!(
            "before listen {} B, after {} B, without {} B",
            self.before_listen.len, self.after_listen.len, self.without.len
        ));
        j
    }
}

/// Two reads of TCP_SAVED_SYN, over one family.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TwoReads {
    pub first: Saved,
    /// IP version of the first read's header (its first nibble).
    pub ip_version: u8,
    /// Bytes the second read returned, or its errno.
    pub second: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedOnce {
    pub v4: TwoReads,
    pub v6: TwoReads,
}

fn two_reads(cap: &mut Capture, family: Family) -> Result<TwoReads> {
    let (server, wire) = saving_listener(cap, family, Some("before"))?;
    let first = saved_syn(&server).context("first TCP_SAVED_SYN")?;
    let second = match saved_syn(&server) {
        Ok(b) => b.len().to_string(),
        Err(e) => errno_name(&e),
    };
    Ok(TwoReads {
        ip_version: first.first().map_or(0, |b| b >> 4),
        first: compare(&first, &wire),
        second,
    })
}

fn saved_syn_once(_lab: &mut Lab) -> Result<SavedOnce> {
    let mut cap = Capture::start("lo")?;
    Ok(SavedOnce {
        v4: two_reads(&mut cap, Family::V4)?,
        v6: two_reads(&mut cap, Family::V6)?,
    })
}

impl Observation for SavedOnce {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        for (name, r, version) in [("IPv4", &self.v4, 4u8), ("IPv6", &self.v6, 6u8)] {
            j.expect(
                &format!("{name}: the first read is the SYN's IP and TCP headers"),
                r.first.same && r.first.len > 0,
                format!("{} B as captured", r.first.wire_len),
                saved_text(&r.first),
            );
            j.expect_eq(
                &format!("{name}: IP version of what it returned"),
                &version,
                &r.ip_version,
            );
            j.expect_eq(
                &format!("{name}: the second read returns"),
                &"0",
                &r.second.as_str(),
            );
        }
        let headers = self.v4.first.same && self.v6.first.same;
        let freed = self.v4.second == "0" && self.v6.second == "0";
        j.verdict(
            match (headers, freed) {
                (true, true) => Verdict::Holds,
                (false, false) => Verdict::Refuted,
                _ => Verdict::Differs,
            },
            format!(
                "IPv4: first read {}, second {} B; IPv6: first read {}, second {} B",
                saved_text(&self.v4.first),
                self.v4.second,
                saved_text(&self.v6.first),
                self.v6.second
            ),
        );
        j.key(format!(
            "v4 {} B then {}; v6 {} B then {}",
            self.v4.first.len, self.v4.second, self.v6.first.len, self.v6.second
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn run(linear: Option<i64>, syns: &[f64], failed: Option<f64>) -> SynRun {
        SynRun {
            linear_timeouts: linear,
            syns_ms: syns.to_vec(),
            connect: if failed.is_some() {
                "ETIMEDOUT"
            } else {
                "still connecting"
            }
            .into(),
            failed_ms: failed,
        }
    }

    fn retrans_linux() -> Retransmissions {
        Retransmissions {
            syncnt: 1,
            default_linear: run(Some(4), &[0.0, 1_004.1, 2_012.3], Some(3_030.2)),
            linear_off: run(Some(0), &[0.0, 1_004.0], Some(3_031.7)),
        }
    }

    const D_ERR: &str = "default linear timeouts: connect() fails with";
    const D_TIME: &str =
        "default linear timeouts: after the time 1 retransmission takes (1 s + 2 s)";
    const D_N: &str = "default linear timeouts: SYN retransmissions";
    const O_ERR: &str = "linear timeouts 0: connect() fails with";
    const O_TIME: &str = "linear timeouts 0: after the time 1 retransmission takes (1 s + 2 s)";
    const O_N: &str = "linear timeouts 0: SYN retransmissions";
    const D_FIRST: &str = "default linear timeouts: the first retransmission 1 s after the SYN";
    const O_FIRST: &str = "linear timeouts 0: the first retransmission 1 s after the SYN";

    #[rstest]
    #[case::linux(retrans_linux(), Verdict::Differs, &[])]
    // An older kernel: no linear timeouts anywhere, one retransmission each.
    #[case::old_kernel(Retransmissions { default_linear: run(None, &[0.0, 1_000.0], Some(3_001.0)),
        linear_off: run(None, &[0.0, 1_000.0], Some(3_001.0)), ..retrans_linux() }, Verdict::Holds, &[])]
    // TCP_SYNCNT ignored: the sysctl's 6 retries, still connecting when the case gives up.
    #[case::ignored(Retransmissions {
        default_linear: run(Some(4), &[0.0, 1_000.0, 2_000.0, 3_000.0, 4_000.0, 5_000.0, 7_000.0], None),
        linear_off: run(Some(0), &[0.0, 1_000.0, 3_000.0, 7_000.0], None), ..retrans_linux() },
        Verdict::Refuted, &[D_ERR, D_TIME, D_N, O_ERR, O_TIME, O_N])]
    #[case::first_early(Retransmissions { linear_off: run(Some(0), &[0.0, 989.9], Some(3_001.0)),
        ..retrans_linux() }, Verdict::Differs, &[O_FIRST])]
    #[case::first_edges(Retransmissions { linear_off: run(Some(0), &[0.0, 990.0], Some(3_001.0)),
        default_linear: run(Some(4), &[0.0, 1_200.0, 2_100.0], Some(3_001.0)), ..retrans_linux() },
        Verdict::Differs, &[])]
    #[case::first_late(Retransmissions { default_linear: run(Some(4), &[0.0, 1_200.1, 2_100.0], Some(3_001.0)),
        ..retrans_linux() }, Verdict::Differs, &[D_FIRST])]
    // No retransmission at all before the error.
    #[case::none(Retransmissions { linear_off: run(Some(0), &[0.0], Some(3_001.0)), ..retrans_linux() },
        Verdict::Refuted, &[O_FIRST, O_N])]
    #[case::early(Retransmissions { linear_off: run(Some(0), &[0.0, 1_000.0], Some(2_989.9)),
        ..retrans_linux() }, Verdict::Differs, &[O_TIME])]
    #[case::edges(Retransmissions { linear_off: run(Some(0), &[0.0, 1_000.0], Some(2_990.0)),
        default_linear: run(Some(4), &[0.0, 1_000.0, 2_000.0], Some(3_400.0)), ..retrans_linux() },
        Verdict::Differs, &[])]
    #[case::late(Retransmissions { default_linear: run(Some(4), &[0.0, 1_000.0, 2_000.0], Some(3_400.1)),
        ..retrans_linux() }, Verdict::Differs, &[D_TIME])]
    #[case::linear_not_applied(Retransmissions { default_linear: run(Some(4), &[0.0, 1_000.0], Some(3_001.0)),
        ..retrans_linux() }, Verdict::Holds, &[D_N])]
    fn retrans_judgement(#[case] o: Retransmissions, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn retrans_words() {
        let j = retrans_linux().judge();
        assert_eq!(
            "TCP_SYNCNT 1: 2 retransmissions (linear 4), 1 (linear 0); ETIMEDOUT at 3030 ms",
            j.key
        );
        assert_eq!(
            "TCP_SYNCNT 1: with tcp_syn_linear_timeouts 4 SYNs at [0, 1004, 2012] ms, connect() ETIMEDOUT \
             after 3030 ms (2 retransmissions); with 0 SYNs at [0, 1004] ms, connect() ETIMEDOUT after 3032 ms \
             (1)",
            j.because
        );
    }

    const MAX_CHECK: &str = "setsockopt(TCP_SYNCNT) for [0, 1, 127, 128, 255, 256]";

    #[rstest]
    #[case::linux(&["EINVAL", "ok", "ok", "EINVAL", "EINVAL", "EINVAL"], Verdict::Differs, &[], "127")]
    // The page's world: up to 255.
    #[case::page(&["EINVAL", "ok", "ok", "ok", "ok", "EINVAL"], Verdict::Holds, &[MAX_CHECK], "255")]
    // A libc that ignores TCP_SYNCNT says ok to everything.
    #[case::ignored(&["ok", "ok", "ok", "ok", "ok", "ok"], Verdict::Refuted, &[MAX_CHECK], "256")]
    #[case::nothing(&["EINVAL"; 6], Verdict::Differs, &[MAX_CHECK], "none")]
    fn max_judgement(
        #[case] results: &[&str],
        #[case] v: Verdict,
        #[case] failed: &[&str],
        #[case] largest: &str,
    ) {
        let o = Max255 {
            set: SYNCNT_VALUES.to_vec(),
            results: results.iter().map(|r| r.to_string()).collect(),
        };
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
        assert_eq!(
            format!("largest accepted {largest}; 255 -> {}", results[4]),
            j.key
        );
    }

    #[test]
    fn max_words() {
        let o = Max255 {
            set: SYNCNT_VALUES.to_vec(),
            results: ["EINVAL", "ok", "ok", "EINVAL", "EINVAL", "EINVAL"]
                .map(String::from)
                .to_vec(),
        };
        assert_eq!(
            "set [0, 1, 127, 128, 255, 256] -> [EINVAL, ok, ok, EINVAL, EINVAL, EINVAL]: the largest value \
             accepted is 127",
            o.judge().because
        );
    }

    fn saved(len: usize, wire: usize, same: bool) -> Saved {
        Saved {
            len,
            wire_len: wire,
            same,
        }
    }

    fn save_linux() -> SaveSyn {
        SaveSyn {
            before_listen: saved(60, 60, true),
            after_listen: saved(60, 60, true),
            without: saved(0, 60, false),
        }
    }

    const BEFORE: &str =
        "set before listen(): the accepted socket returns the SYN's IP and TCP headers";
    const AFTER: &str =
        "set after listen(): the accepted socket returns the SYN's IP and TCP headers";
    const WITHOUT: &str = "without TCP_SAVE_SYN: bytes returned";

    #[rstest]
    #[case::linux(save_linux(), Verdict::Holds, &[])]
    // TCP_SAVE_SYN ignored: nothing saved anywhere.
    #[case::ignored(SaveSyn { before_listen: saved(0, 60, false), after_listen: saved(0, 60, false),
        ..save_linux() }, Verdict::Refuted, &[BEFORE, AFTER])]
    // Only before listen() counts.
    #[case::before_only(SaveSyn { after_listen: saved(0, 60, false), ..save_linux() }, Verdict::Differs, &[AFTER])]
    // Other bytes than the SYN's headers.
    #[case::wrong_bytes(SaveSyn { before_listen: saved(60, 60, false), ..save_linux() }, Verdict::Differs,
        &[BEFORE])]
    #[case::always_saved(SaveSyn { without: saved(60, 60, true), ..save_linux() }, Verdict::Holds, &[WITHOUT])]
    #[case::empty_equal(SaveSyn { before_listen: saved(0, 0, true), ..save_linux() }, Verdict::Differs, &[BEFORE])]
    fn save_judgement(#[case] o: SaveSyn, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn save_words() {
        let j = save_linux().judge();
        assert_eq!("before listen 60 B, after 60 B, without 0 B", j.key);
        assert_eq!(
            "TCP_SAVED_SYN on the accepted socket: 60 B = the SYN's headers with TCP_SAVE_SYN set before \
             listen(), 60 B = the SYN's headers set after, 0 B without it",
            j.because
        );
        assert_eq!(
            "60 B (not the SYN's headers)",
            saved_text(&saved(60, 60, false))
        );
    }

    fn once_linux() -> SavedOnce {
        SavedOnce {
            v4: TwoReads {
                first: saved(60, 60, true),
                ip_version: 4,
                second: "0".into(),
            },
            v6: TwoReads {
                first: saved(80, 80, true),
                ip_version: 6,
                second: "0".into(),
            },
        }
    }

    const V4_FIRST: &str = "IPv4: the first read is the SYN's IP and TCP headers";
    const V4_VER: &str = "IPv4: IP version of what it returned";
    const V4_SECOND: &str = "IPv4: the second read returns";
    const V6_FIRST: &str = "IPv6: the first read is the SYN's IP and TCP headers";
    const V6_VER: &str = "IPv6: IP version of what it returned";
    const V6_SECOND: &str = "IPv6: the second read returns";

    #[rstest]
    #[case::linux(once_linux(), Verdict::Holds, &[])]
    // Kept after the first read.
    #[case::not_freed(SavedOnce { v4: TwoReads { second: "60".into(), ..once_linux().v4 },
        v6: TwoReads { second: "80".into(), ..once_linux().v6 } }, Verdict::Differs, &[V4_SECOND, V6_SECOND])]
    // TCP_SAVE_SYN ignored: nothing either time.
    #[case::ignored(SavedOnce { v4: TwoReads { first: saved(0, 60, false), ip_version: 0, second: "0".into() },
        v6: TwoReads { first: saved(0, 80, false), ip_version: 0, second: "0".into() } }, Verdict::Differs,
        &[V4_FIRST, V4_VER, V6_FIRST, V6_VER])]
    #[case::nothing_right(SavedOnce { v4: TwoReads { first: saved(20, 60, false), ip_version: 4,
        second: "EINVAL".into() }, ..once_linux() }, Verdict::Refuted, &[V4_FIRST, V4_SECOND])]
    fn once_judgement(#[case] o: SavedOnce, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn once_words() {
        let j = once_linux().judge();
        assert_eq!("v4 60 B then 0; v6 80 B then 0", j.key);
        assert_eq!(
            "IPv4: first read 60 B = the SYN's headers, second 0 B; IPv6: first read 80 B = the SYN's headers, \
             second 0 B",
            j.because
        );
    }
}
