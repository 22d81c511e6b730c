//! socket(7) on SO_RCVLOWAT and SO_SNDLOWAT: both start at 1, only
//! SO_RCVLOWAT can be changed, select/poll/epoll report a socket readable
//! only once SO_RCVLOWAT bytes are there (since Linux 2.6.28), and a read
//! blocks until they are.
//!
//! Readiness is asked of select(), poll() and epoll_wait() with a zero
//! timeout once the bytes are queued (and, for TCP, acknowledged: the
//! receiver's processing and wake-ups are over). A blocking read is bounded
//! with SO_RCVTIMEO and timed.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::intake::send_datagram;
use crate::lab::readiness::{self, Sets};
use crate::lab::sock::{result_name, Returned};
use crate::lab::timed::Timed;
use crate::lab::{flow, opt, wait, Family, Lab, Sock, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&DEFAULTS, &READINESS, &READ_BLOCKS];

pub static DEFAULTS: Case = Case {
    id: "so_rcvlowat.defaults",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_RCVLOWAT"),
    claim: "SO_RCVLOWAT and SO_SNDLOWAT both start at 1; SO_SNDLOWAT cannot be changed on Linux (setsockopt \
            fails with ENOPROTOOPT), SO_RCVLOWAT can",
    expectation: "on TCP and UDP sockets both read 1 when new; setsockopt(SO_SNDLOWAT) fails with ENOPROTOOPT \
                  and the value stays 1; setsockopt(SO_RCVLOWAT, 1000) succeeds and takes effect: 500 bytes \
                  queued on TCP no longer make the socket readable",
    run: &Measure(defaults),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_SNDLOWAT, opt::SO_RCVLOWAT],
};

pub static READINESS: Case = Case {
    id: "so_rcvlowat.readiness",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_RCVLOWAT"),
    claim: "since Linux 2.6.28, select, poll and epoll report a socket readable only once at least SO_RCVLOWAT \
            bytes are available",
    expectation: "true of TCP only: with the mark at 1000, 500 queued bytes leave a TCP socket unreadable for all \
                  three and 1100 make it readable; a UDP socket with a 500-byte datagram and an AF_UNIX stream \
                  socket with 500 bytes are readable for all three (datagram_poll and unix_poll ignore the mark)",
    run: &Measure(readiness),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVLOWAT],
};

pub static READ_BLOCKS: Case = Case {
    id: "so_rcvlowat.read_blocks",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_RCVLOWAT"),
    claim: "a read blocks until SO_RCVLOWAT bytes are available",
    expectation: "on TCP and AF_UNIX stream sockets, with the mark at 1000 and 500 bytes queued, a blocking \
                  recv() waits: bounded by SO_RCVTIMEO 150 ms, it returns the 500 bytes after 150 ms; with \
                  MSG_DONTWAIT it returns them at once; with 1100 queued it returns at once. (AF_UNIX also shows \
                  the page's pre-2.6.28 mismatch: poll calls the socket readable, the read then blocks)",
    run: &Measure(read_blocks),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVLOWAT, opt::SO_RCVTIMEO],
};

/// The mark set in every case, and the byte counts below and above it.
const MARK: i32 = 1000;
const BELOW: usize = 500;
const ABOVE: usize = 1100;

/// A kind of socket the mark is tried on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Tcp,
    Udp,
    UnixStream,
}

impl Show for Kind {
    fn show(&self) -> String {
        match self {
            Kind::Tcp => "TCP",
            Kind::Udp => "UDP",
            Kind::UnixStream => "AF_UNIX stream",
        }
        .into()
    }
}

/// A sender and a receiver of `kind`.
struct Pair {
    kind: Kind,
    tx: Sock,
    rx: Sock,
    _listener: Option<Sock>,
}

fn pair(kind: Kind) -> Result<Pair> {
    Ok(match kind {
        Kind::Tcp => {
            // Every segment acknowledged at once: "acknowledged" then means
            // "processed by the receiver".
            flow::loopback_quickack(Family::V4)?;
            let p = TcpPair::loopback(Family::V4)?;
            Pair {
                kind,
                tx: p.client,
                rx: p.server,
                _listener: Some(p.listener),
            }
        }
        Kind::Udp => {
            let rx = Sock::udp(Family::V4)?;
            rx.bind(SocketAddr::new(Family::V4.loopback(), 0))
                .context("bind UDP receiver")?;
            Pair {
                kind,
                tx: Sock::udp(Family::V4)?,
                rx,
                _listener: None,
            }
        }
        Kind::UnixStream => {
            let (tx, rx) = Sock::unix_pair(libc::SOCK_STREAM)?;
            Pair {
                kind,
                tx,
                rx,
                _listener: None,
            }
        }
    })
}

impl Pair {
    fn set_mark(&self) -> Result<()> {
        self.rx
            .set_int(libc::SOL_SOCKET, libc::SO_RCVLOWAT, MARK)
            .context("setsockopt(SO_RCVLOWAT, 1000)")
    }

    /// Sends `n` bytes (one datagram on UDP) and waits until the receiver
    /// holds `unread` bytes and, on TCP, the sender's queue is acknowledged.
    fn send(&self, n: usize, unread: usize) -> Result<()> {
        let data = vec![0x61u8; n];
        if self.kind == Kind::Udp {
            if send_datagram(&self.tx, &self.rx, &data)?.is_none() {
                bail!("the receiver dropped a {n}-byte datagram");
            }
            return Ok(());
        }
        self.tx.send_all(&data).context("send")?;
        wait::until(
            &format!("{unread} bytes queued at the receiver and acknowledged"),
            Duration::from_secs(2),
            || {
                let acked = self.kind != Kind::Tcp || self.tx.queued(libc::TIOCOUTQ)? == 0;
                Ok((self.rx.queued(libc::FIONREAD)? as usize == unread && acked).then_some(()))
            },
        )
    }
}

/// Readiness for reading as the three interfaces report it, without waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readable {
    /// Bytes queued at the receiver (FIONREAD).
    pub queued: i32,
    pub select: bool,
    pub poll: bool,
    pub epoll: bool,
}

impl Readable {
    fn all(&self) -> bool {
        self.select && self.poll && self.epoll
    }

    fn none(&self) -> bool {
        !self.select && !self.poll && !self.epoll
    }
}

impl Show for Readable {
    /// "500 B queued: select no, poll no, epoll no".
    fn show(&self) -> String {
        let yn = |b: bool| if b { "yes" } else { "no" };
        format!(
            "{} B queued: select {}, poll {}, epoll {}",
            self.queued,
            yn(self.select),
            yn(self.poll),
            yn(self.epoll)
        )
    }
}

fn readable(s: &Sock) -> Result<Readable> {
    let fd = s.as_raw_fd();
    Ok(Readable {
        queued: s.queued(libc::FIONREAD)?,
        select: readiness::select(fd, Sets::READ, Duration::ZERO)?.read,
        poll: readiness::poll(fd, libc::POLLIN, Duration::ZERO)? & libc::POLLIN != 0,
        epoll: readiness::epoll(fd, libc::EPOLLIN as u32, Duration::ZERO)? & libc::EPOLLIN as u32
            != 0,
    })
}

// ---------------------------------------------------------------------------
// so_rcvlowat.defaults

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Defaults {
    /// SO_RCVLOWAT and SO_SNDLOWAT of a new TCP and a new UDP socket.
    pub tcp: (i32, i32),
    pub udp: (i32, i32),
    /// setsockopt(SO_SNDLOWAT, 1000) on each: "ok" or the errno name.
    pub set_sndlowat: (String, String),
    /// SO_SNDLOWAT read back afterwards.
    pub sndlowat_after: (i32, i32),
    /// setsockopt(SO_RCVLOWAT, 1000) on a TCP receiver, and its readiness with
    /// 500 bytes queued afterwards.
    pub set_rcvlowat: String,
    pub below_mark: Readable,
}

fn lowats(s: &Sock) -> Result<(i32, i32)> {
    Ok((
        s.get_int(libc::SOL_SOCKET, libc::SO_RCVLOWAT)?,
        s.get_int(libc::SOL_SOCKET, libc::SO_SNDLOWAT)?,
    ))
}

fn set_sndlowat(s: &Sock) -> Result<(String, i32)> {
    let r = s.set_int(libc::SOL_SOCKET, libc::SO_SNDLOWAT, MARK);
    Ok((
        result_name(&r),
        s.get_int(libc::SOL_SOCKET, libc::SO_SNDLOWAT)?,
    ))
}

fn defaults(_lab: &mut Lab) -> Result<Defaults> {
    let tcp = Sock::tcp(Family::V4)?;
    let udp = Sock::udp(Family::V4)?;
    let (tcp_lowats, udp_lowats) = (lowats(&tcp)?, lowats(&udp)?);
    let (tcp_set, tcp_after) = set_sndlowat(&tcp)?;
    let (udp_set, udp_after) = set_sndlowat(&udp)?;
    let p = pair(Kind::Tcp)?;
    let set_rcvlowat = result_name(&p.rx.set_int(libc::SOL_SOCKET, libc::SO_RCVLOWAT, MARK));
    p.send(BELOW, BELOW)?;
    Ok(Defaults {
        tcp: tcp_lowats,
        udp: udp_lowats,
        set_sndlowat: (tcp_set, udp_set),
        sndlowat_after: (tcp_after, udp_after),
        set_rcvlowat,
        below_mark: readable(&p.rx)?,
    })
}

impl Observation for Defaults {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "SO_RCVLOWAT and SO_SNDLOWAT of a new socket (TCP, UDP)",
            &((1, 1), (1, 1)),
            &(self.tcp, self.udp),
        );
        let refused = ("ENOPROTOOPT", "ENOPROTOOPT");
        j.expect_eq(
            "setsockopt(SO_SNDLOWAT) (TCP UDP)",
            &refused,
            &(self.set_sndlowat.0.as_str(), self.set_sndlowat.1.as_str()),
        );
        j.expect_eq(
            "SO_SNDLOWAT afterwards (TCP UDP)",
            &(1, 1),
            &self.sndlowat_after,
        );
        j.expect_eq(
            "setsockopt(SO_RCVLOWAT, 1000)",
            &"ok",
            &self.set_rcvlowat.as_str(),
        );
        j.expect(
            "500 bytes queued under the new mark: not readable",
            self.below_mark.none(),
            "select no, poll no, epoll no",
            self.below_mark.show(),
        );
        let ones = self.tcp == (1, 1) && self.udp == (1, 1);
        let snd_fixed =
            self.set_sndlowat.0 == "ENOPROTOOPT" && self.set_sndlowat.1 == "ENOPROTOOPT";
        let rcv_changes = self.set_rcvlowat == "ok" && self.below_mark.none();
        let verdict = match (ones, snd_fixed, rcv_changes) {
            (true, true, true) => Verdict::Holds,
            (false, false, false) => Verdict::Refuted,
            _ => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "new TCP socket: SO_RCVLOWAT {}, SO_SNDLOWAT {}; new UDP socket: {}, {}; setting SO_SNDLOWAT: {} \
                 (TCP), {} (UDP), reading {} and {} afterwards; setting SO_RCVLOWAT 1000: {}, then {}",
                self.tcp.0,
                self.tcp.1,
                self.udp.0,
                self.udp.1,
                self.set_sndlowat.0,
                self.set_sndlowat.1,
                self.sndlowat_after.0,
                self.sndlowat_after.1,
                self.set_rcvlowat,
                self.below_mark.show()
            ),
        );
        j.key(format!(
            "both 1; SO_SNDLOWAT -> {}; SO_RCVLOWAT -> {}",
            self.set_sndlowat.0, self.set_rcvlowat
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_rcvlowat.readiness

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Readiness {
    /// TCP with 500 and with 1100 bytes queued, the mark at 1000.
    pub tcp_below: Readable,
    pub tcp_above: Readable,
    /// A 500-byte datagram on UDP, 500 bytes on an AF_UNIX stream.
    pub udp_below: Readable,
    pub unix_below: Readable,
}

fn below(kind: Kind) -> Result<(Pair, Readable)> {
    let p = pair(kind)?;
    p.set_mark()?;
    p.send(BELOW, BELOW)?;
    let r = readable(&p.rx)?;
    Ok((p, r))
}

fn readiness(_lab: &mut Lab) -> Result<Readiness> {
    let (tcp, tcp_below) = below(Kind::Tcp)?;
    tcp.send(ABOVE - BELOW, ABOVE)?;
    let tcp_above = readable(&tcp.rx)?;
    Ok(Readiness {
        tcp_below,
        tcp_above,
        udp_below: below(Kind::Udp)?.1,
        unix_below: below(Kind::UnixStream)?.1,
    })
}

impl Observation for Readiness {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let none = "select no, poll no, epoll no";
        let all = "select yes, poll yes, epoll yes";
        j.expect(
            "TCP, 500 bytes under a mark of 1000: not readable",
            self.tcp_below.none(),
            none,
            self.tcp_below.show(),
        );
        j.expect(
            "TCP, 1100 bytes: readable",
            self.tcp_above.all(),
            all,
            self.tcp_above.show(),
        );
        j.expect(
            "UDP, a 500-byte datagram under the mark: readable all the same",
            self.udp_below.all(),
            all,
            self.udp_below.show(),
        );
        j.expect(
            "AF_UNIX stream, 500 bytes under the mark: readable all the same",
            self.unix_below.all(),
            all,
            self.unix_below.show(),
        );
        let tcp_honours = self.tcp_below.none() && self.tcp_above.all();
        let others_honour = self.udp_below.none() && self.unix_below.none();
        let verdict = match (tcp_honours, others_honour) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "mark 1000: TCP {}; TCP {}; UDP {}; AF_UNIX stream {}",
                self.tcp_below.show(),
                self.tcp_above.show(),
                self.udp_below.show(),
                self.unix_below.show()
            ),
        );
        let word = |r: &Readable| {
            if r.all() {
                "readable"
            } else if r.none() {
                "not readable"
            } else {
                "mixed"
            }
        };
        j.key(format!(
            "500 B under 1000: TCP {}, UDP {}, AF_UNIX {}",
            word(&self.tcp_below),
            word(&self.udp_below),
            word(&self.unix_below)
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_rcvlowat.read_blocks

/// SO_RCVTIMEO bounding the blocking read.
const READ_TIMEOUT: Duration = Duration::from_millis(150);

/// How long a read whose timeout was lost may block before its socket is shut down.
const GUARD: Duration = Duration::from_secs(2);

/// A blocking read under and at the mark on one kind of stream socket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnderMark {
    pub kind: Kind,
    /// poll's view with 500 bytes queued under the mark.
    pub readable: Readable,
    /// A blocking recv() with 500 bytes queued, SO_RCVTIMEO 150 ms.
    pub blocking: Timed,
    /// recv(MSG_DONTWAIT) with 500 bytes queued.
    pub dontwait: Timed,
    /// A blocking recv() with 1100 bytes queued.
    pub at_mark: Timed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadBlocks {
    #[serde(with = "crate::model::millis")]
    pub timeout: Duration,
    pub reads: Vec<UnderMark>,
}

fn timed_recv(s: &Sock, flags: i32) -> Timed {
    let mut buf = vec![0u8; 4096];
    Timed::of(|| s.recv(&mut buf, flags))
}

fn under_mark(kind: Kind) -> Result<UnderMark> {
    let p = pair(kind)?;
    p.set_mark()?;
    p.rx.set_timeout(libc::SO_RCVTIMEO, READ_TIMEOUT)
        .context("SO_RCVTIMEO")?;
    // A read whose timeout was lost would wait for bytes that never come: end
    // it (and fail the case) instead of waiting for the watchdog.
    let guard = wait::shutdown_after(p.rx.as_raw_fd(), GUARD);
    p.send(BELOW, BELOW)?;
    let readable = readable(&p.rx)?;
    let blocking = timed_recv(&p.rx, 0);
    if guard.fired() {
        // The guard shut the receiver down: nothing more reaches it, so the
        // later reads are not made and repeat what ended this one.
        return Ok(UnderMark {
            kind,
            readable,
            dontwait: blocking.clone(),
            at_mark: blocking.clone(),
            blocking,
        });
    }
    p.send(BELOW, BELOW)?;
    let dontwait = timed_recv(&p.rx, libc::MSG_DONTWAIT);
    p.send(ABOVE, ABOVE)?;
    let at_mark = timed_recv(&p.rx, 0);
    Ok(UnderMark {
        kind,
        readable,
        blocking,
        dontwait,
        at_mark,
    })
}

fn read_blocks(_lab: &mut Lab) -> Result<ReadBlocks> {
    Ok(ReadBlocks {
        timeout: READ_TIMEOUT,
        reads: [Kind::Tcp, Kind::UnixStream]
            .into_iter()
            .map(under_mark)
            .collect::<Result<_>>()?,
    })
}

/// "At once": a read that does not wait returns within this.
const AT_ONCE: Duration = Duration::from_millis(50);

impl ReadBlocks {
    /// The blocking read's window: a jiffy early at most (HZ=100 rounds the
    /// timeout to 10 ms), up to a second late on a loaded machine.
    fn window(&self) -> (Duration, Duration) {
        (
            self.timeout.saturating_sub(Duration::from_millis(10)),
            self.timeout + Duration::from_secs(1),
        )
    }
}

impl Observation for ReadBlocks {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (lo, hi) = self.window();
        let below = Returned::Bytes(BELOW);
        for r in &self.reads {
            let k = r.kind.show();
            j.expect(
                &format!("{k}: a blocking read of 500 bytes under the mark waits out SO_RCVTIMEO"),
                r.blocking.returned == below && r.blocking.took >= lo && r.blocking.took <= hi,
                format!("500 B after {}..{}", lo.show(), hi.show()),
                r.blocking.show(),
            );
            j.expect(
                &format!("{k}: MSG_DONTWAIT returns them at once"),
                r.dontwait.returned == below && r.dontwait.took < AT_ONCE,
                format!("500 B in < {}", AT_ONCE.show()),
                r.dontwait.show(),
            );
            j.expect(
                &format!("{k}: with 1100 bytes the read returns at once"),
                r.at_mark.returned == Returned::Bytes(ABOVE) && r.at_mark.took < AT_ONCE,
                format!("1100 B in < {}", AT_ONCE.show()),
                r.at_mark.show(),
            );
        }
        let waited = |r: &UnderMark| r.blocking.took >= lo;
        let all_wait = !self.reads.is_empty() && self.reads.iter().all(waited);
        let verdict = if all_wait {
            Verdict::Holds
        } else if self.reads.iter().any(waited) {
            Verdict::Differs
        } else {
            Verdict::Refuted
        };
        let told: Vec<String> = self
            .reads
            .iter()
            .map(|r| {
                format!(
                    "{}: poll says {} with 500 B, a blocking read returned {}, MSG_DONTWAIT {}, 1100 B {}",
                    r.kind.show(),
                    if r.readable.poll { "readable" } else { "not readable" },
                    r.blocking.show(),
                    r.dontwait.show(),
                    r.at_mark.show()
                )
            })
            .collect();
        j.verdict(
            verdict,
            format!(
                "mark 1000, SO_RCVTIMEO {}: {}",
                self.timeout.show(),
                told.join("; ")
            ),
        );
        j.key(
            self.reads
                .iter()
                .map(|r| format!("{} {}", r.kind.show(), r.blocking.show()))
                .collect::<Vec<_>>()
                .join(", "),
        );
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn r(queued: i32, ready: bool) -> Readable {
        Readable {
            queued,
            select: ready,
            poll: ready,
            epoll: ready,
        }
    }

    fn defaults_linux() -> Defaults {
        Defaults {
            tcp: (1, 1),
            udp: (1, 1),
            set_sndlowat: ("ENOPROTOOPT".into(), "ENOPROTOOPT".into()),
            sndlowat_after: (1, 1),
            set_rcvlowat: "ok".into(),
            below_mark: r(500, false),
        }
    }

    /// BSD: SO_SNDLOWAT defaults to 2048 and can be set.
    fn defaults_bsd() -> Defaults {
        Defaults {
            tcp: (1, 2048),
            udp: (1, 2048),
            set_sndlowat: ("ok".into(), "ok".into()),
            sndlowat_after: (1000, 1000),
            ..defaults_linux()
        }
    }

    const NEW: &str = "SO_RCVLOWAT and SO_SNDLOWAT of a new socket (TCP, UDP)";
    const SET_SND: &str = "setsockopt(SO_SNDLOWAT) (TCP UDP)";
    const SND_AFTER: &str = "SO_SNDLOWAT afterwards (TCP UDP)";
    const SET_RCV: &str = "setsockopt(SO_RCVLOWAT, 1000)";
    const BELOW_MARK: &str = "500 bytes queued under the new mark: not readable";

    #[rstest]
    #[case::linux(defaults_linux(), Verdict::Holds, &[])]
    #[case::bsd(defaults_bsd(), Verdict::Differs, &[NEW, SET_SND, SND_AFTER])]
    // A libc that ignores both options and echoes them back.
    #[case::ignored(Defaults { set_sndlowat: ("ok".into(), "ok".into()), sndlowat_after: (1000, 1000),
        below_mark: r(500, true), ..defaults_linux() }, Verdict::Differs, &[SET_SND, SND_AFTER, BELOW_MARK])]
    // Linux before 2.4: neither changeable.
    #[case::old_linux(Defaults { set_rcvlowat: "ENOPROTOOPT".into(), below_mark: r(500, true), ..defaults_linux() },
        Verdict::Differs, &[SET_RCV, BELOW_MARK])]
    #[case::nothing_as_said(Defaults { set_rcvlowat: "ENOPROTOOPT".into(), below_mark: r(500, true),
        ..defaults_bsd() }, Verdict::Refuted, &[NEW, SET_SND, SND_AFTER, SET_RCV, BELOW_MARK])]
    #[case::udp_refused_only(Defaults { set_sndlowat: ("ENOPROTOOPT".into(), "ok".into()), ..defaults_linux() },
        Verdict::Differs, &[SET_SND])]
    #[case::tcp_refused_only(Defaults { set_sndlowat: ("ok".into(), "ENOPROTOOPT".into()), ..defaults_linux() },
        Verdict::Differs, &[SET_SND])]
    #[case::udp_starts_elsewhere(Defaults { udp: (1, 2048), ..defaults_linux() }, Verdict::Differs, &[NEW])]
    #[case::tcp_starts_elsewhere(Defaults { tcp: (0, 1), ..defaults_linux() }, Verdict::Differs, &[NEW])]
    #[case::set_without_effect(Defaults { below_mark: r(500, true), ..defaults_linux() }, Verdict::Differs,
        &[BELOW_MARK])]
    #[case::one_interface_readable(Defaults { below_mark: Readable { epoll: true, ..r(500, false) },
        ..defaults_linux() }, Verdict::Differs, &[BELOW_MARK])]
    fn defaults_judgement(#[case] o: Defaults, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn defaults_words() {
        let j = defaults_linux().judge();
        assert_eq!(
            "both 1; SO_SNDLOWAT -> ENOPROTOOPT; SO_RCVLOWAT -> ok",
            j.key
        );
        assert_eq!(
            "new TCP socket: SO_RCVLOWAT 1, SO_SNDLOWAT 1; new UDP socket: 1, 1; setting SO_SNDLOWAT: \
             ENOPROTOOPT (TCP), ENOPROTOOPT (UDP), reading 1 and 1 afterwards; setting SO_RCVLOWAT 1000: ok, \
             then 500 B queued: select no, poll no, epoll no",
            j.because
        );
        assert_eq!(
            "500 B queued: select yes, poll no, epoll yes",
            Readable {
                poll: false,
                ..r(500, true)
            }
            .show()
        );
    }

    fn readiness_linux() -> Readiness {
        Readiness {
            tcp_below: r(500, false),
            tcp_above: r(1100, true),
            udp_below: r(500, true),
            unix_below: r(500, true),
        }
    }

    const TCP_BELOW: &str = "TCP, 500 bytes under a mark of 1000: not readable";
    const TCP_ABOVE: &str = "TCP, 1100 bytes: readable";
    const UDP_BELOW: &str = "UDP, a 500-byte datagram under the mark: readable all the same";
    const UNIX_BELOW: &str = "AF_UNIX stream, 500 bytes under the mark: readable all the same";

    #[rstest]
    #[case::linux(readiness_linux(), Verdict::Differs, &[])]
    // The page's world: every socket type honours the mark.
    #[case::page(Readiness { udp_below: r(500, false), unix_below: r(500, false), ..readiness_linux() },
        Verdict::Holds, &[UDP_BELOW, UNIX_BELOW])]
    #[case::unix_only_honours(Readiness { unix_below: r(500, false), ..readiness_linux() }, Verdict::Differs,
        &[UNIX_BELOW])]
    // Before Linux 2.6.28 (or the option ignored): readable with a single byte.
    #[case::before_2_6_28(Readiness { tcp_below: r(500, true), ..readiness_linux() }, Verdict::Refuted,
        &[TCP_BELOW])]
    #[case::never_readable(Readiness { tcp_above: r(1100, false), ..readiness_linux() }, Verdict::Refuted,
        &[TCP_ABOVE])]
    #[case::select_only(Readiness { tcp_below: Readable { select: true, ..r(500, false) }, ..readiness_linux() },
        Verdict::Refuted, &[TCP_BELOW])]
    #[case::poll_only_above(Readiness { tcp_above: Readable { poll: false, ..r(1100, true) }, ..readiness_linux() },
        Verdict::Refuted, &[TCP_ABOVE])]
    #[case::epoll_misses_udp(Readiness { udp_below: Readable { epoll: false, ..r(500, true) }, ..readiness_linux() },
        Verdict::Differs, &[UDP_BELOW])]
    fn readiness_judgement(
        #[case] o: Readiness,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn readiness_words() {
        let j = readiness_linux().judge();
        assert_eq!(
            "500 B under 1000: TCP not readable, UDP readable, AF_UNIX readable",
            j.key
        );
        assert!(j.because.starts_with(
            "mark 1000: TCP 500 B queued: select no, poll no, epoll no; TCP 1100 B queued: select yes"
        ));
        let mixed = Readiness {
            udp_below: Readable {
                poll: false,
                ..r(500, true)
            },
            ..readiness_linux()
        }
        .judge();
        assert_eq!(
            "500 B under 1000: TCP not readable, UDP mixed, AF_UNIX readable",
            mixed.key
        );
    }

    fn t(returned: Returned, ms: u64) -> Timed {
        Timed {
            returned,
            took: Duration::from_millis(ms),
        }
    }

    fn under(kind: Kind, poll: bool, blocking_ms: u64) -> UnderMark {
        UnderMark {
            kind,
            readable: r(500, poll),
            blocking: t(Returned::Bytes(500), blocking_ms),
            dontwait: t(Returned::Bytes(500), 0),
            at_mark: t(Returned::Bytes(1100), 0),
        }
    }

    fn blocks_linux() -> ReadBlocks {
        ReadBlocks {
            timeout: READ_TIMEOUT,
            reads: vec![
                under(Kind::Tcp, false, 153),
                under(Kind::UnixStream, true, 176),
            ],
        }
    }

    fn with_tcp(f: impl FnOnce(&mut UnderMark)) -> ReadBlocks {
        let mut o = blocks_linux();
        f(&mut o.reads[0]);
        o
    }

    const TCP_WAITS: &str =
        "TCP: a blocking read of 500 bytes under the mark waits out SO_RCVTIMEO";
    const UNIX_WAITS: &str =
        "AF_UNIX stream: a blocking read of 500 bytes under the mark waits out SO_RCVTIMEO";
    const TCP_DONTWAIT: &str = "TCP: MSG_DONTWAIT returns them at once";
    const TCP_AT_MARK: &str = "TCP: with 1100 bytes the read returns at once";

    #[rstest]
    #[case::linux(blocks_linux(), Verdict::Holds, &[])]
    // The mark ignored by reads: they return what is there at once.
    #[case::returns_at_once(ReadBlocks { reads: vec![under(Kind::Tcp, false, 0), under(Kind::UnixStream, true, 0)],
        ..blocks_linux() }, Verdict::Refuted, &[TCP_WAITS, UNIX_WAITS])]
    #[case::unix_only_returns(ReadBlocks { reads: vec![under(Kind::Tcp, false, 153),
        under(Kind::UnixStream, true, 1)], ..blocks_linux() }, Verdict::Differs, &[UNIX_WAITS])]
    #[case::no_reads(ReadBlocks { reads: vec![], ..blocks_linux() }, Verdict::Refuted, &[])]
    #[case::earliest(with_tcp(|r| r.blocking.took = Duration::from_millis(140)), Verdict::Holds, &[])]
    #[case::too_early(with_tcp(|r| r.blocking.took = Duration::from_millis(139)), Verdict::Differs, &[TCP_WAITS])]
    #[case::latest(with_tcp(|r| r.blocking.took = Duration::from_millis(1150)), Verdict::Holds, &[])]
    // The timeout lost: the guard's shutdown ended the read after 2 s.
    #[case::timeout_lost(with_tcp(|r| r.blocking.took = Duration::from_millis(2001)), Verdict::Holds, &[TCP_WAITS])]
    #[case::blocking_fails(with_tcp(|r| r.blocking.returned = Returned::errno("EAGAIN")), Verdict::Holds,
        &[TCP_WAITS])]
    #[case::dontwait_eagain(with_tcp(|r| r.dontwait.returned = Returned::errno("EAGAIN")), Verdict::Holds,
        &[TCP_DONTWAIT])]
    #[case::dontwait_slow(with_tcp(|r| r.dontwait.took = Duration::from_millis(50)), Verdict::Holds,
        &[TCP_DONTWAIT])]
    #[case::at_mark_short(with_tcp(|r| r.at_mark.returned = Returned::Bytes(1000)), Verdict::Holds, &[TCP_AT_MARK])]
    #[case::at_mark_slow(with_tcp(|r| r.at_mark.took = Duration::from_millis(50)), Verdict::Holds, &[TCP_AT_MARK])]
    fn read_blocks_judgement(
        #[case] o: ReadBlocks,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn read_blocks_words() {
        assert_eq!(
            (Duration::from_millis(140), Duration::from_millis(1150)),
            blocks_linux().window()
        );
        let j = blocks_linux().judge();
        assert_eq!(
            "TCP 500 B after 153 ms, AF_UNIX stream 500 B after 176 ms",
            j.key
        );
        assert_eq!(
            "mark 1000, SO_RCVTIMEO 150 ms: TCP: poll says not readable with 500 B, a blocking read returned \
             500 B after 153 ms, MSG_DONTWAIT 500 B after 0 ms, 1100 B 1100 B after 0 ms; AF_UNIX stream: poll \
             says readable with 500 B, a blocking read returned 500 B after 176 ms, MSG_DONTWAIT 500 B after \
             0 ms, 1100 B 1100 B after 0 ms",
            j.because
        );
    }
}
