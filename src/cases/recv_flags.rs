//! Per-call flags of recv()/send() (004 §5.4).
//!
//! Each case measures on loopback what one call with the flag returned (and
//! what the same call without it returns), then judges: MSG_WAITALL waits for
//! the whole length, MSG_PEEK leaves the data queued, MSG_DONTWAIT never
//! sleeps, and MSG_OOB carries one urgent byte, not a message.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::opt;
use crate::lab::sock::{errno_name, Returned};
use crate::lab::{phase, wait, Capture, Family, Lab, Sock, TcpPair};
use crate::model::{
    millis, Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &WAITALL_FILLS,
    &WAITALL_FILLS_V6,
    &WAITALL_SHORT_ON_EOF,
    &WAITALL_TIMEOUT,
    &PEEK,
    &DONTWAIT,
    &PEEK_DONTWAIT_COUNT,
    &OOB_SEND_RECV,
    &OOBINLINE,
];

pub static WAITALL_FILLS: Case = Case {
    id: "waitall.fills_buffer",
    source: Source::LectureNotes("5.4 MSG_WAITALL"),
    claim: "recv() with MSG_WAITALL does not return before the requested length has arrived",
    expectation:
        "a message sent in pieces: plain recv() returns the first piece alone; recv(MSG_WAITALL) \
                  stays asleep after each piece has arrived and returns the whole length at once",
    run: &Measure(|lab| waitall_fills(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static WAITALL_FILLS_V6: Case = Case {
    id: "waitall.fills_buffer@v6",
    run: &Measure(|lab| waitall_fills(lab, Family::V6)),
    ..WAITALL_FILLS
};

pub static PEEK: Case = Case {
    id: "recv.peek",
    source: Source::LectureNotes("5.4 MSG_PEEK"),
    claim: "recv() with MSG_PEEK reads the data without taking it off the receive buffer",
    expectation:
        "the peeked bytes are the ones the next plain recv() returns, and the queued byte count \
                  (FIONREAD) is unchanged by the peek",
    run: &Measure(peek),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static DONTWAIT: Case = Case {
    id: "recv.dontwait",
    source: Source::LectureNotes("5.4 MSG_DONTWAIT"),
    claim: "MSG_DONTWAIT makes recv() return at once when nothing is queued",
    expectation:
        "recv(MSG_DONTWAIT) on an empty blocking socket fails with EAGAIN at once, and the socket \
                  stays blocking: the flag acts on that one call only",
    run: &Measure(dontwait),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static PEEK_DONTWAIT_COUNT: Case = Case {
    id: "recv.peek_dontwait_count",
    source: Source::LectureNotes("5.4 MSG_PEEK|MSG_DONTWAIT"),
    claim: "recv(MSG_PEEK|MSG_DONTWAIT) with a large buffer tells how much data is queued",
    expectation: "on TCP it returns every queued byte (however many segments brought them), matching FIONREAD; \
                  on UDP it returns only the first datagram's length",
    run: &Measure(peek_dontwait_count),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static WAITALL_SHORT_ON_EOF: Case = Case {
    id: "waitall.short_on_eof",
    source: Source::LectureNotes("5.4 MSG_WAITALL"),
    claim: "(implied) recv(MSG_WAITALL) always fills the requested length",
    expectation:
        "when the peer closes early, recv(MSG_WAITALL) returns the short count it has, then 0",
    run: &Measure(waitall_short_on_eof),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static WAITALL_TIMEOUT: Case = Case {
    id: "waitall.timeout",
    source: Source::LectureNotes("5.4 MSG_WAITALL"),
    claim: "(implied) recv(MSG_WAITALL) always fills the requested length",
    expectation: "with SO_RCVTIMEO, recv(MSG_WAITALL) returns the partial count when the timeout passes; a \
                  signal (handler without SA_RESTART) also ends it with the partial count, not EINTR",
    run: &Measure(waitall_timeout),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVTIMEO],
};

pub static OOB_SEND_RECV: Case = Case {
    id: "oob.send_recv",
    source: Source::LectureNotes("5.4 MSG_OOB"),
    claim: "MSG_OOB sends and receives out-of-band data",
    expectation: "only the last byte of a send(MSG_OOB) is urgent (URG flag and urgent pointer on the wire); \
                  recv(MSG_OOB) returns that one byte, the others arrive in the normal stream; recv(MSG_OOB) \
                  with no urgent byte pending fails with EINVAL",
    run: &Measure(oob_send_recv),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static OOBINLINE: Case = Case {
    id: "oobinline.inline",
    source: Source::LectureNotes("5.2 SO_OOBINLINE"),
    claim: "SO_OOBINLINE puts out-of-band data into the normal receive stream",
    expectation: "with SO_OOBINLINE the urgent byte is read in the stream at its position and recv(MSG_OOB) \
                  fails with EINVAL; without it the urgent byte is missing from the stream and recv(MSG_OOB) \
                  returns it",
    run: &Measure(oobinline),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_OOBINLINE],
};

/// Bytes per piece of the MSG_WAITALL message, how many pieces, and the
/// whole message: what each MSG_WAITALL recv() asks for.
const PIECE: usize = 1000;
const PIECES: usize = 4;
const MESSAGE: usize = PIECE * PIECES;

/// "At once": a call that does not sleep returns within this.
const AT_ONCE: Duration = Duration::from_millis(50);

/// Pieces of a message sent by separate send() calls: plain recv() got the
/// first piece alone; recv(MSG_WAITALL) slept while they came.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitallFills {
    /// Bytes per piece, each sent by its own send().
    pub piece: usize,
    /// Pieces in the message; each recv() asked for all of them.
    pub pieces: usize,
    /// What a plain recv() returned with only the first piece sent.
    pub plain_returned: usize,
    /// What recv(MSG_WAITALL) returned once every piece was sent.
    pub waitall_returned: usize,
    /// After each piece but the last: whether the MSG_WAITALL receiver was
    /// still asleep in recvfrom with the piece taken off the socket queue.
    pub asleep_after_piece: Vec<bool>,
}

/// Plain recv() for the whole message when only its first piece has been
/// sent.
fn plain_recv_length(pair: &TcpPair) -> Result<usize> {
    pair.client
        .send_all(&[1u8; PIECE])
        .context("send first piece")?;
    let mut buf = vec![0u8; MESSAGE];
    pair.server.recv(&mut buf, 0).context("plain recv")
}

/// recv(MSG_WAITALL) while the pieces trickle in: what it returned, and
/// after each piece but the last whether it was still asleep.
fn waitall_run(pair: &TcpPair) -> Result<(usize, Vec<bool>)> {
    std::thread::scope(|s| -> Result<(usize, Vec<bool>)> {
        let server = &pair.server;
        let (receiver, tid) = wait::spawn_with_tid(s, move || -> Result<usize> {
            let mut buf = vec![0u8; MESSAGE];
            server
                .recv(&mut buf, libc::MSG_WAITALL)
                .context("recv(MSG_WAITALL)")
        })?;
        let mut asleep = Vec::new();
        for k in 1..=PIECES {
            pair.client
                .send_all(&[k as u8; PIECE])
                .context("send piece")?;
            if k == PIECES {
                break;
            }
            // The piece is in (nothing left queued on the socket) and the
            // receiver sleeps in recvfrom: that is the waiting we want to see.
            // A receiver that returned will never sleep again: no need to
            // wait the whole deadline for it.
            phase(&format!(
                "waiting for the receiver to take piece {k} and sleep"
            ));
            let slept = wait::until(
                "the piece taken off the queue",
                Duration::from_secs(5),
                || Ok((server.queued(libc::FIONREAD)? == 0).then_some(())),
            )
            .and_then(|()| {
                wait::until(
                    "the receiver asleep in recvfrom",
                    Duration::from_secs(5),
                    || {
                        if receiver.is_finished() {
                            anyhow::bail!("the receiver has returned");
                        }
                        Ok(wait::blocked_in(tid, libc::SYS_recvfrom)?.then_some(()))
                    },
                )
            });
            asleep.push(slept.is_ok());
        }
        let returned = receiver
            .join()
            .map_err(|_| anyhow::anyhow!("receiver panicked"))??;
        Ok((returned, asleep))
    })
}

fn waitall_fills(_lab: &mut Lab, family: Family) -> Result<WaitallFills> {
    let plain_returned = plain_recv_length(&TcpPair::loopback(family)?)?;
    let (waitall_returned, asleep_after_piece) = waitall_run(&TcpPair::loopback(family)?)?;
    Ok(WaitallFills {
        piece: PIECE,
        pieces: PIECES,
        plain_returned,
        waitall_returned,
        asleep_after_piece,
    })
}

/// Where a MSG_WAITALL receiver was after each piece, in words.
fn sleep_record(asleep: &[bool]) -> String {
    let awake: Vec<String> = (1..)
        .zip(asleep)
        .filter(|(_, a)| !**a)
        .map(|(k, _)| k.to_string())
        .collect();
    match (asleep.len(), awake.len()) {
        (0, _) => "no piece watched".into(),
        (n, 0) => format!("asleep after each of pieces 1..{n}"),
        _ => format!("awake after piece {}", awake.join(", ")),
    }
}

impl Observation for WaitallFills {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let requested = self.piece * self.pieces;
        let watched = self.pieces.saturating_sub(1);
        j.expect_eq(
            "plain recv returns the first piece only",
            &self.piece,
            &self.plain_returned,
        );
        j.expect_eq(
            "MSG_WAITALL recv returns the full length",
            &requested,
            &self.waitall_returned,
        );
        let waited =
            !self.asleep_after_piece.is_empty() && self.asleep_after_piece.iter().all(|a| *a);
        j.expect(
            "MSG_WAITALL receiver still asleep after pieces 1..3",
            waited && self.asleep_after_piece.len() == watched,
            sleep_record(&vec![true; watched]),
            sleep_record(&self.asleep_after_piece),
        );
        j.verdict(
            Verdict::holds_if(self.waitall_returned == requested && waited),
            format!(
                "{} pieces of {} B: recv without the flag returned {} B; with MSG_WAITALL it was {} and \
                 returned {} B",
                self.pieces,
                self.piece,
                self.plain_returned,
                sleep_record(&self.asleep_after_piece),
                self.waitall_returned
            ),
        );
        j.key(format!(
            "plain {} B, WAITALL {} of {requested} B",
            self.plain_returned, self.waitall_returned
        ));
        j
    }
}

/// Waits until `s` has `n` bytes queued for reading; returns FIONREAD then.
/// (On loopback they are usually queued before send() returns, unless the
/// receive softirq was deferred to ksoftirqd on a busy machine.)
fn wait_queued(s: &Sock, n: usize, what: &str) -> Result<usize> {
    phase(&format!("waiting for {what}"));
    wait::until(what, Duration::from_secs(5), || {
        let queued = s.queued(libc::FIONREAD)? as usize;
        Ok((queued >= n).then_some(queued))
    })
}

/// A message peeked at, then read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Peek {
    pub sent: String,
    /// FIONREAD before the peek, once the message had arrived.
    pub queued_before_peek: usize,
    /// What recv(MSG_PEEK) returned.
    pub peeked: String,
    /// What the plain recv() after it returned.
    pub read_after_peek: String,
    /// FIONREAD after the peek, and after the read.
    pub queued_after_peek: usize,
    pub queued_after_read: usize,
}

fn peek(_lab: &mut Lab) -> Result<Peek> {
    let pair = TcpPair::loopback(Family::V4)?;
    let msg = "peek-then-read";
    pair.client.send_all(msg.as_bytes())?;
    let queued_before_peek = wait_queued(&pair.server, msg.len(), "the message to arrive")?;
    let mut peeked = vec![0u8; 64];
    let n = pair
        .server
        .recv(&mut peeked, libc::MSG_PEEK)
        .context("recv(MSG_PEEK)")?;
    let queued_after_peek = pair.server.queued(libc::FIONREAD)? as usize;
    let mut read = vec![0u8; 64];
    let m = pair.server.recv(&mut read, 0).context("recv")?;
    let queued_after_read = pair.server.queued(libc::FIONREAD)? as usize;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ok(Peek {
        sent: msg.into(),
        queued_before_peek,
        peeked: text(&peeked[..n]),
        read_after_peek: text(&read[..m]),
        queued_after_peek,
        queued_after_read,
    })
}

impl Observation for Peek {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "the whole message is queued before the peek",
            &self.sent.len(),
            &self.queued_before_peek,
        );
        j.expect_eq("peek returns the message", &self.sent, &self.peeked);
        j.expect_eq(
            "the next read returns the same bytes",
            &self.peeked,
            &self.read_after_peek,
        );
        j.expect_eq(
            "queued bytes unchanged by the peek",
            &self.queued_before_peek,
            &self.queued_after_peek,
        );
        j.expect_eq("queued bytes after the read", &0, &self.queued_after_read);
        let same = self.peeked == self.read_after_peek;
        let kept = self.queued_after_peek == self.queued_before_peek;
        j.verdict(
            Verdict::holds_if(same && kept),
            format!(
                "peek returned {} B, {}, and FIONREAD went from {} B to {} B; the next recv returned {} B, {}",
                self.peeked.len(),
                self.peeked,
                self.queued_before_peek,
                self.queued_after_peek,
                self.read_after_peek.len(),
                self.read_after_peek
            ),
        );
        j.key(format!(
            "peek {} B, queue {} B after peek, read {} B ({})",
            self.peeked.len(),
            self.queued_after_peek,
            self.read_after_peek.len(),
            if same {
                "the same bytes"
            } else {
                "other bytes"
            }
        ));
        j
    }
}

/// recv(MSG_DONTWAIT) on an empty blocking socket, then a plain recv() on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dontwait {
    pub dontwait: Returned,
    #[serde(with = "millis")]
    pub dontwait_took: Duration,
    /// The plain recv() after it was seen asleep in recvfrom before a byte
    /// was sent.
    pub plain_slept: bool,
    /// What that plain recv() returned once the byte came.
    pub plain_returned: Returned,
}

fn dontwait(_lab: &mut Lab) -> Result<Dontwait> {
    let pair = TcpPair::loopback(Family::V4)?;
    let mut buf = [0u8; 16];
    let t = Instant::now();
    let r = pair.server.recv(&mut buf, libc::MSG_DONTWAIT);
    let dontwait_took = t.elapsed();
    // Without the flag the same socket does wait: a plain recv sleeps in
    // recvfrom until a byte comes.
    let (plain_slept, plain) = std::thread::scope(|sc| -> Result<(bool, Returned)> {
        let server = &pair.server;
        let (handle, tid) = wait::spawn_with_tid(sc, move || {
            let mut one = [0u8; 16];
            server.recv(&mut one, 0)
        })?;
        phase("waiting for a plain recv to sleep");
        let slept = wait::until(
            "the plain recv asleep in recvfrom",
            Duration::from_secs(5),
            || Ok(wait::blocked_in(tid, libc::SYS_recvfrom)?.then_some(())),
        )
        .is_ok();
        pair.client.send_all(b"!")?;
        let got = handle
            .join()
            .map_err(|_| anyhow::anyhow!("receiver panicked"))?;
        Ok((slept, Returned::of(&got)))
    })?;
    Ok(Dontwait {
        dontwait: Returned::of(&r),
        dontwait_took,
        plain_slept,
        plain_returned: plain,
    })
}

impl Observation for Dontwait {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "recv(MSG_DONTWAIT) with nothing queued",
            &Returned::errno("EAGAIN"),
            &self.dontwait,
        );
        let at_once = self.dontwait_took < AT_ONCE;
        j.expect(
            "it returns at once",
            at_once,
            format!("< {}", AT_ONCE.show()),
            self.dontwait_took.show(),
        );
        let plain = if self.plain_slept {
            format!(
                "slept until a byte came, then returned {}",
                self.plain_returned.show()
            )
        } else {
            format!("returned {} without sleeping", self.plain_returned.show())
        };
        j.expect(
            "a plain recv on the same socket sleeps until data comes",
            self.plain_slept && self.plain_returned == Returned::Bytes(1),
            "slept until a byte came, then returned 1 B",
            plain.clone(),
        );
        let failed = matches!(self.dontwait, Returned::Errno(_));
        j.verdict(
            Verdict::holds_if(failed && at_once),
            format!(
                "recv(MSG_DONTWAIT) -> {} in {} on a blocking socket, where a plain recv {plain}",
                self.dontwait.show(),
                self.dontwait_took.show()
            ),
        );
        j.key(format!(
            "{} in {}; plain recv {}",
            self.dontwait.show(),
            self.dontwait_took.show(),
            if self.plain_slept {
                "slept"
            } else {
                "did not sleep"
            }
        ));
        j
    }
}

const PIECES_BYTES: [usize; 3] = [100, 200, 300];

/// recv(MSG_PEEK|MSG_DONTWAIT) with a large buffer, after three pieces of
/// data: TCP writes, then UDP datagrams.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeekCount {
    /// Bytes of each write (TCP, one segment each) and of each datagram (UDP).
    pub pieces: Vec<usize>,
    pub tcp_peek: usize,
    pub tcp_fionread: usize,
    pub udp_peek: usize,
    pub udp_fionread: usize,
}

fn peek_dontwait_count(_lab: &mut Lab) -> Result<PeekCount> {
    let flags = libc::MSG_PEEK | libc::MSG_DONTWAIT;
    let total: usize = PIECES_BYTES.iter().sum();
    // TCP: three writes, each its own segment (TCP_NODELAY).
    let pair = TcpPair::loopback(Family::V4)?;
    pair.client
        .set_int(libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)?;
    for n in PIECES_BYTES {
        pair.client.send_all(&vec![7u8; n])?;
    }
    wait_queued(&pair.server, total, "all TCP pieces to arrive")?;
    let mut buf = vec![0u8; 4096];
    let tcp_peek = pair.server.recv(&mut buf, flags).context("TCP peek")?;
    let tcp_fionread = pair.server.queued(libc::FIONREAD)? as usize;

    // UDP: three datagrams.
    let rx = Sock::udp(Family::V4)?;
    rx.bind(std::net::SocketAddr::new(Family::V4.loopback(), 0))?;
    let to = rx.local_addr()?;
    let tx = Sock::udp(Family::V4)?;
    for n in PIECES_BYTES {
        tx.send_to(&vec![8u8; n], 0, to)?;
    }
    phase("waiting for the datagrams");
    wait::readable(rx.as_raw_fd(), Duration::from_secs(5))?;
    let udp_peek = rx.recv(&mut buf, flags).context("UDP peek")?;
    let udp_fionread = rx.queued(libc::FIONREAD)? as usize;
    Ok(PeekCount {
        pieces: PIECES_BYTES.to_vec(),
        tcp_peek,
        tcp_fionread,
        udp_peek,
        udp_fionread,
    })
}

impl Observation for PeekCount {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let total: usize = self.pieces.iter().sum();
        let first = self.pieces.first().copied().unwrap_or(0);
        j.expect_eq(
            "TCP: PEEK|DONTWAIT returns every queued byte",
            &total,
            &self.tcp_peek,
        );
        j.expect_eq("TCP: FIONREAD agrees", &total, &self.tcp_fionread);
        j.expect_eq(
            "UDP: PEEK|DONTWAIT returns the first datagram only",
            &first,
            &self.udp_peek,
        );
        j.expect_eq(
            "UDP: FIONREAD is the first datagram's size too",
            &first,
            &self.udp_fionread,
        );
        let verdict = match (self.tcp_peek == total, self.udp_peek == total) {
            (true, true) => Verdict::Holds,
            (true, false) | (false, true) => Verdict::Differs,
            (false, false) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "{total} B queued in pieces of {} B: TCP peek -> {} B (FIONREAD {} B); UDP peek -> {} B \
                 (FIONREAD {} B): for UDP it tells the next datagram's size, not the total",
                self.pieces
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                self.tcp_peek,
                self.tcp_fionread,
                self.udp_peek,
                self.udp_fionread
            ),
        );
        j.key(format!(
            "queued {total} B: TCP peek {} B, UDP peek {} B",
            self.tcp_peek, self.udp_peek
        ));
        j
    }
}

/// recv(MSG_WAITALL) twice on a connection whose peer sent less than asked
/// and closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShortOnEof {
    pub requested: usize,
    pub sent_before_eof: usize,
    pub first: usize,
    pub second: usize,
}

fn waitall_short_on_eof(_lab: &mut Lab) -> Result<ShortOnEof> {
    let pair = TcpPair::loopback(Family::V4)?;
    let requested = MESSAGE;
    pair.client.send_all(&[3u8; PIECE])?;
    pair.client.shutdown(libc::SHUT_WR)?;
    let mut buf = vec![0u8; requested];
    let first = pair
        .server
        .recv(&mut buf, libc::MSG_WAITALL)
        .context("recv(MSG_WAITALL)")?;
    let second = pair
        .server
        .recv(&mut buf, libc::MSG_WAITALL)
        .context("second recv")?;
    Ok(ShortOnEof {
        requested,
        sent_before_eof: PIECE,
        first,
        second,
    })
}

impl Observation for ShortOnEof {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "recv(MSG_WAITALL) returns the short count",
            &self.sent_before_eof,
            &self.first,
        );
        j.expect_eq("then 0 (end of stream)", &0, &self.second);
        j.verdict(
            Verdict::holds_if(self.first == self.requested),
            format!(
                "asked for {} B with MSG_WAITALL, the peer sent {} B and closed: recv returned {} B, then {} B",
                self.requested, self.sent_before_eof, self.first, self.second
            ),
        );
        j.key(format!(
            "asked {} B, got {} B then {} B",
            self.requested, self.first, self.second
        ));
        j
    }
}

const RCVTIMEO: Duration = Duration::from_millis(200);

/// recv(MSG_WAITALL) with one piece queued, ended by SO_RCVTIMEO and (on
/// another connection) by a signal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitallTimeout {
    pub requested: usize,
    /// Bytes queued before each recv() (the peer sent no more).
    pub queued: usize,
    #[serde(with = "millis")]
    pub rcvtimeo: Duration,
    pub after_timeout: Returned,
    #[serde(with = "millis")]
    pub timeout_took: Duration,
    /// The SIGUSR1 handler was installed without SA_RESTART.
    pub after_signal: Returned,
}

impl WaitallTimeout {
    /// The timeout fires on a jiffy: 10 ms early at most, and up to 1.5 s
    /// late on a loaded machine.
    fn window(&self) -> (Duration, Duration) {
        (
            self.rcvtimeo.saturating_sub(Duration::from_millis(10)),
            self.rcvtimeo + Duration::from_millis(1500),
        )
    }
}

/// recv(MSG_WAITALL) with one piece queued and SO_RCVTIMEO set: the result
/// and how long it took. A guard shuts the socket down if the timeout never
/// fires (the option silently ignored), so the case fails instead of hanging.
fn waitall_until_timeout(pair: &TcpPair) -> Result<(Returned, Duration)> {
    pair.server.set_timeout(libc::SO_RCVTIMEO, RCVTIMEO)?;
    pair.client.send_all(&[4u8; PIECE])?;
    let _guard = wait::shutdown_after(pair.server.as_raw_fd(), RCVTIMEO + Duration::from_secs(3));
    let mut buf = vec![0u8; MESSAGE];
    let t = Instant::now();
    let r = pair.server.recv(&mut buf, libc::MSG_WAITALL);
    Ok((Returned::of(&r), t.elapsed()))
}

extern "C" fn on_signal(_: libc::c_int) {}

/// recv(MSG_WAITALL) with one piece queued, interrupted by a signal once the
/// receiver is asleep.
fn waitall_until_signal(pair: &TcpPair) -> Result<Returned> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let act = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler does nothing; installed without SA_RESTART on purpose.
    unsafe { sigaction(Signal::SIGUSR1, &act) }.context("sigaction SIGUSR1")?;
    pair.client.send_all(&[5u8; PIECE])?;
    // Queued before the receiver starts: had it not arrived yet (a slow
    // softirq under emulation), "consumed" below would be true of nothing.
    wait::until(
        "the piece queued at the receiver",
        Duration::from_secs(5),
        || Ok((pair.server.queued(libc::FIONREAD)? == PIECE as i32).then_some(())),
    )?;
    std::thread::scope(|s| {
        let server = &pair.server;
        let (handle, tid) = wait::spawn_with_tid(s, move || {
            let mut buf = vec![0u8; MESSAGE];
            server.recv(&mut buf, libc::MSG_WAITALL)
        })?;
        phase("waiting for the MSG_WAITALL receiver to sleep with the piece consumed");
        wait::until(
            "the piece taken off the queue",
            Duration::from_secs(5),
            || Ok((server.queued(libc::FIONREAD)? == 0).then_some(())),
        )?;
        wait::until(
            "the receiver asleep in recvfrom",
            Duration::from_secs(5),
            || Ok(wait::blocked_in(tid, libc::SYS_recvfrom)?.then_some(())),
        )?;
        crate::lab::record::mark("SIGUSR1 sent to the receiver");
        // SAFETY: signalling a thread of this process by its kernel id.
        unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGUSR1) };
        let r = handle
            .join()
            .map_err(|_| anyhow::anyhow!("receiver panicked"))?;
        Ok(Returned::of(&r))
    })
}

fn waitall_timeout(_lab: &mut Lab) -> Result<WaitallTimeout> {
    let (after_timeout, timeout_took) = waitall_until_timeout(&TcpPair::loopback(Family::V4)?)?;
    let after_signal = waitall_until_signal(&TcpPair::loopback(Family::V4)?)?;
    Ok(WaitallTimeout {
        requested: MESSAGE,
        queued: PIECE,
        rcvtimeo: RCVTIMEO,
        after_timeout,
        timeout_took,
        after_signal,
    })
}

impl Observation for WaitallTimeout {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let partial = Returned::Bytes(self.queued);
        j.expect_eq("SO_RCVTIMEO: partial count", &partial, &self.after_timeout);
        let (lo, hi) = self.window();
        let took = self.timeout_took;
        j.expect(
            "returned when the timeout passed",
            took >= lo && took <= hi,
            format!("{}..{}", lo.show(), hi.show()),
            took.show(),
        );
        j.expect_eq(
            "signal: partial count, not EINTR",
            &partial,
            &self.after_signal,
        );
        let short = |r: &Returned| matches!(r, Returned::Bytes(n) if *n < self.requested);
        let verdict = if short(&self.after_timeout) || short(&self.after_signal) {
            Verdict::Refuted
        } else {
            Verdict::Holds
        };
        j.verdict(
            verdict,
            format!(
                "asked for {} B with {} B queued: after SO_RCVTIMEO {} recv returned {} ({}); interrupted \
                 by SIGUSR1 it returned {}",
                self.requested,
                self.queued,
                self.rcvtimeo.show(),
                self.after_timeout.show(),
                took.show(),
                self.after_signal.show()
            ),
        );
        j.key(format!(
            "timeout -> {} after {}; signal -> {}",
            self.after_timeout.show(),
            took.show(),
            self.after_signal.show()
        ));
        j
    }
}

/// What recv(MSG_OOB) gave: the urgent bytes as text, or the errno's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OobRecv {
    Data(String),
    Errno(String),
}

impl Show for OobRecv {
    fn show(&self) -> String {
        match self {
            OobRecv::Data(s) | OobRecv::Errno(s) => s.clone(),
        }
    }
}

/// What the sender writes: "xy", then "abc" with MSG_OOB, then "z".
const BEFORE_URGENT: &str = "xy";
const URGENT: &str = "abc";
const AFTER_URGENT: &str = "z";
/// The urgent byte (the last one sent with MSG_OOB), and the stream as read
/// with it inline and without it.
const URGENT_BYTE: &str = "c";
const INLINE_STREAM: &str = "xyabcz";
const PLAIN_STREAM: &str = "xyabz";

/// What a receiver saw of "xy", "abc" (MSG_OOB), "z" and the FIN.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UrgentRead {
    /// recv(MSG_OOB) once everything had arrived.
    pub oob: OobRecv,
    /// The stream, read to its end after that.
    pub stream: String,
    /// recv(MSG_OOB) again, after the stream.
    pub oob_again: OobRecv,
}

/// A segment with the URG flag: where its bytes start in the stream, and its
/// urgent pointer (an offset from its own first byte).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UrgentSegment {
    pub stream_offset: u32,
    pub payload: u32,
    pub urgent_pointer: u16,
}

impl UrgentSegment {
    /// The stream offset the urgent pointer points at: just past the urgent
    /// byte on Linux.
    fn points_at(&self) -> u32 {
        self.stream_offset + self.urgent_pointer as u32
    }
}

impl Show for UrgentSegment {
    fn show(&self) -> String {
        format!(
            "{} B at byte {} with urgent pointer {}",
            self.payload, self.stream_offset, self.urgent_pointer
        )
    }
}

fn send_with_urgent(pair: &TcpPair, inline: bool) -> Result<(UrgentRead, Vec<UrgentSegment>)> {
    let mut cap = Capture::start("lo")?;
    if inline {
        pair.server
            .set_int(libc::SOL_SOCKET, libc::SO_OOBINLINE, 1)
            .context("SO_OOBINLINE")?;
    }
    pair.client
        .set_int(libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)?;
    pair.client.send_all(BEFORE_URGENT.as_bytes())?;
    pair.client
        .send(URGENT.as_bytes(), libc::MSG_OOB)
        .context("send(MSG_OOB)")?;
    pair.client.send_all(AFTER_URGENT.as_bytes())?;
    pair.client.shutdown(libc::SHUT_WR)?;
    phase("waiting for the urgent data to arrive");
    let port = pair.client.local_addr()?.port();
    cap.wait_segment(
        "the FIN after the urgent data",
        Duration::from_secs(5),
        |s| s.fin_from(port),
    )?;
    // Captured on sending; the receiver processes it later (a softirq, which
    // an emulated machine once ran after the recv below). Its end of the
    // stream is in order after the urgent byte.
    anyhow::ensure!(
        wait::peer_shut_down(pair.server.as_raw_fd(), Duration::from_secs(5))?,
        "the receiver never saw the FIN after the urgent data"
    );
    let oob_read = |s: &Sock| {
        let mut b = [0u8; 8];
        match s.recv(&mut b, libc::MSG_OOB) {
            Ok(n) => OobRecv::Data(String::from_utf8_lossy(&b[..n]).into_owned()),
            Err(e) => OobRecv::Errno(errno_name(&e)),
        }
    };
    let oob = oob_read(&pair.server);
    let (stream, _) = pair.server.read_to_end();
    let oob_again = oob_read(&pair.server);
    let sent: Vec<_> = cap
        .segments()?
        .into_iter()
        .filter(|s| s.sport == port)
        .collect();
    // The capture began on a connection at rest: the client's first segment
    // carries the stream's first byte.
    let start = sent.first().map_or(0, |s| s.seq);
    let urgent = sent
        .iter()
        .filter(|s| s.flags.urg)
        .map(|s| UrgentSegment {
            stream_offset: s.seq.wrapping_sub(start),
            payload: s.payload,
            urgent_pointer: s.urgent,
        })
        .collect();
    let read = UrgentRead {
        oob,
        stream: String::from_utf8_lossy(&stream).into_owned(),
        oob_again,
    };
    Ok((read, urgent))
}

/// send(MSG_OOB) of three bytes between normal data, and what the receiver
/// got through recv(MSG_OOB) and through the stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OobSendRecv {
    /// recv(MSG_OOB|MSG_DONTWAIT) before anything was sent.
    pub none_pending: Returned,
    pub receiver: UrgentRead,
    /// The sender's segments with URG.
    pub urgent_segments: Vec<UrgentSegment>,
}

fn oob_send_recv(_lab: &mut Lab) -> Result<OobSendRecv> {
    let pair = TcpPair::loopback(Family::V4)?;
    let mut none = [0u8; 1];
    let before = pair
        .server
        .recv(&mut none, libc::MSG_OOB | libc::MSG_DONTWAIT);
    let (receiver, urgent_segments) = send_with_urgent(&pair, false)?;
    Ok(OobSendRecv {
        none_pending: Returned::of(&before),
        receiver,
        urgent_segments,
    })
}

impl Observation for OobSendRecv {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let einval = Returned::errno("EINVAL");
        j.expect_eq(
            "recv(MSG_OOB) with none pending",
            &einval,
            &self.none_pending,
        );
        j.expect_eq(
            "recv(MSG_OOB) returns the last byte only",
            &OobRecv::Data(URGENT_BYTE.into()),
            &self.receiver.oob,
        );
        j.expect_eq(
            "the other bytes arrive in the stream",
            PLAIN_STREAM,
            self.receiver.stream.as_str(),
        );
        j.expect(
            "URG flag on the wire",
            !self.urgent_segments.is_empty(),
            "a segment with URG",
            urg_words(&self.urgent_segments),
        );
        // Linux's urgent pointer points just past the urgent byte (RFC 793's
        // reading, not RFC 1122's): the end of the bytes sent with MSG_OOB.
        let end = (BEFORE_URGENT.len() + URGENT.len()) as u32;
        let points_at: Vec<u32> = self.urgent_segments.iter().map(|u| u.points_at()).collect();
        j.expect(
            "the urgent pointer marks the end of the MSG_OOB bytes",
            points_at.iter().all(|p| *p == end),
            format!("byte {end} of the stream"),
            match points_at.as_slice() {
                [] => "no urgent pointer".to_string(),
                at => format!(
                    "byte {}",
                    at.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
                ),
            },
        );
        j.expect_eq(
            "the urgent byte is read once",
            &OobRecv::Errno("EINVAL".into()),
            &self.receiver.oob_again,
        );
        let verdict = if self.receiver.oob == OobRecv::Data(URGENT.into()) {
            Verdict::Holds
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "send({URGENT}, MSG_OOB): recv(MSG_OOB) got {}, the stream got {}; URG on {}; with none \
                 pending recv(MSG_OOB) -> {}: only one byte of out-of-band data exists in TCP",
                self.receiver.oob.show(),
                self.receiver.stream,
                urg_words(&self.urgent_segments),
                self.none_pending.show()
            ),
        );
        j.key(format!(
            "OOB {}, stream {}, none pending -> {}",
            self.receiver.oob.show(),
            self.receiver.stream,
            self.none_pending.show()
        ));
        j
    }
}

/// The URG segments in a sentence.
fn urg_words(segs: &[UrgentSegment]) -> String {
    if segs.is_empty() {
        return "no segment".into();
    }
    segs.iter().map(Show::show).collect::<Vec<_>>().join(", ")
}

/// The same urgent data read with and without SO_OOBINLINE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OobInline {
    pub with_oobinline: UrgentRead,
    pub without_oobinline: UrgentRead,
}

fn oobinline(_lab: &mut Lab) -> Result<OobInline> {
    let (with_oobinline, _) = send_with_urgent(&TcpPair::loopback(Family::V4)?, true)?;
    let (without_oobinline, _) = send_with_urgent(&TcpPair::loopback(Family::V4)?, false)?;
    Ok(OobInline {
        with_oobinline,
        without_oobinline,
    })
}

impl Observation for OobInline {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (inline, plain) = (&self.with_oobinline, &self.without_oobinline);
        j.expect_eq(
            "SO_OOBINLINE: the urgent byte in the stream at its place",
            INLINE_STREAM,
            inline.stream.as_str(),
        );
        j.expect_eq(
            "SO_OOBINLINE: recv(MSG_OOB)",
            &OobRecv::Errno("EINVAL".into()),
            &inline.oob,
        );
        j.expect_eq(
            "without: the stream lacks the urgent byte",
            PLAIN_STREAM,
            plain.stream.as_str(),
        );
        j.expect_eq(
            "without: recv(MSG_OOB) returns it",
            &OobRecv::Data(URGENT_BYTE.into()),
            &plain.oob,
        );
        j.verdict(
            Verdict::holds_if(inline.stream == INLINE_STREAM),
            format!(
                "with SO_OOBINLINE the stream read {} and recv(MSG_OOB) -> {}; without it {} and \
                 recv(MSG_OOB) -> {}",
                inline.stream,
                inline.oob.show(),
                plain.stream,
                plain.oob.show()
            ),
        );
        j.key(format!(
            "inline {}; plain {} + OOB {}",
            inline.stream,
            plain.stream,
            plain.oob.show()
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn ms(ms: f64) -> Duration {
        Duration::from_secs_f64(ms / 1e3)
    }

    fn judged(o: &impl Observation) -> (Option<Verdict>, Vec<String>) {
        let j = o.judge();
        (
            j.verdict,
            j.failed().iter().map(|s| s.to_string()).collect(),
        )
    }

    fn expect(verdict: Verdict, failed: &[&str]) -> (Option<Verdict>, Vec<String>) {
        (
            Some(verdict),
            failed.iter().map(|s| s.to_string()).collect(),
        )
    }

    const ASLEEP: &str = "MSG_WAITALL receiver still asleep after pieces 1..3";
    const FULL: &str = "MSG_WAITALL recv returns the full length";

    /// What Linux 6.18 did (a real run's numbers).
    fn waitall_linux() -> WaitallFills {
        WaitallFills {
            piece: 1000,
            pieces: 4,
            plain_returned: 1000,
            waitall_returned: 4000,
            asleep_after_piece: vec![true, true, true],
        }
    }

    #[rstest]
    #[case::linux(waitall_linux(), Verdict::Holds, &[])]
    // MSG_WAITALL taken as a plain recv: it returns the first piece.
    #[case::flag_ignored(WaitallFills { waitall_returned: 1000, asleep_after_piece: vec![false, false, false],
        ..waitall_linux() }, Verdict::Refuted, &[FULL, ASLEEP])]
    // Woke up after the second piece, yet returned everything in the end.
    #[case::woke_between(WaitallFills { asleep_after_piece: vec![true, false, true], ..waitall_linux() },
        Verdict::Refuted, &[ASLEEP])]
    #[case::one_byte_short(WaitallFills { waitall_returned: 3999, ..waitall_linux() },
        Verdict::Refuted, &[FULL])]
    #[case::nothing_watched(WaitallFills { asleep_after_piece: vec![], ..waitall_linux() },
        Verdict::Refuted, &[ASLEEP])]
    // Asleep whenever watched, but one piece was never watched.
    #[case::one_piece_unwatched(WaitallFills { asleep_after_piece: vec![true, true], ..waitall_linux() },
        Verdict::Holds, &[ASLEEP])]
    #[case::plain_recv_waits_too(WaitallFills { plain_returned: 4000, ..waitall_linux() },
        Verdict::Holds, &["plain recv returns the first piece only"])]
    fn waitall_judgement(#[case] o: WaitallFills, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(v, failed), judged(&o));
    }

    #[test]
    fn waitall_words() {
        let j = waitall_linux().judge();
        assert_eq!("plain 1000 B, WAITALL 4000 of 4000 B", j.key);
        assert_eq!(
            "4 pieces of 1000 B: recv without the flag returned 1000 B; with MSG_WAITALL it was asleep \
             after each of pieces 1..3 and returned 4000 B",
            j.because
        );
        assert_eq!(
            "awake after piece 2, 4",
            sleep_record(&[true, false, true, false])
        );
        assert_eq!("no piece watched", sleep_record(&[]));
        let woke = WaitallFills {
            asleep_after_piece: vec![false, true],
            ..waitall_linux()
        }
        .judge();
        let check = &woke.checks[2];
        assert_eq!(
            ("asleep after each of pieces 1..3", "awake after piece 1"),
            (check.expected.as_str(), check.observed.as_str())
        );
    }

    fn peek_linux() -> Peek {
        Peek {
            sent: "peek-then-read".into(),
            queued_before_peek: 14,
            peeked: "peek-then-read".into(),
            read_after_peek: "peek-then-read".into(),
            queued_after_peek: 14,
            queued_after_read: 0,
        }
    }

    const UNCHANGED: &str = "queued bytes unchanged by the peek";
    const SAME: &str = "the next read returns the same bytes";

    #[rstest]
    #[case::linux(peek_linux(), Verdict::Holds, &[])]
    // A peek that consumes: the next read finds nothing of it.
    #[case::peek_consumes(Peek { read_after_peek: String::new(), queued_after_peek: 0,
        ..peek_linux() }, Verdict::Refuted, &[SAME, UNCHANGED])]
    // Part of the message peeked, all of it read.
    #[case::partial_peek(Peek { peeked: "peek-then".into(), ..peek_linux() },
        Verdict::Refuted, &["peek returns the message", SAME])]
    #[case::queue_shrank(Peek { queued_after_peek: 13, ..peek_linux() },
        Verdict::Refuted, &[UNCHANGED])]
    #[case::read_left_some(Peek { queued_after_read: 5, ..peek_linux() },
        Verdict::Holds, &["queued bytes after the read"])]
    // Peeked before all had arrived: the peek was still faithful.
    #[case::peeked_early(Peek { queued_before_peek: 4, peeked: "peek".into(), read_after_peek: "peek".into(),
        queued_after_peek: 4, ..peek_linux() }, Verdict::Holds,
        &["the whole message is queued before the peek", "peek returns the message"])]
    fn peek_judgement(#[case] o: Peek, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(v, failed), judged(&o));
    }

    #[test]
    fn peek_words() {
        let j = peek_linux().judge();
        assert_eq!(
            "peek 14 B, queue 14 B after peek, read 14 B (the same bytes)",
            j.key
        );
        assert_eq!(
            "peek returned 14 B, peek-then-read, and FIONREAD went from 14 B to 14 B; the next recv \
             returned 14 B, peek-then-read",
            j.because
        );
        let other = Peek {
            read_after_peek: "x".into(),
            ..peek_linux()
        };
        assert_eq!(
            "peek 14 B, queue 14 B after peek, read 1 B (other bytes)",
            other.judge().key
        );
    }

    fn dontwait_linux() -> Dontwait {
        Dontwait {
            dontwait: Returned::errno("EAGAIN"),
            dontwait_took: ms(0.002),
            plain_slept: true,
            plain_returned: Returned::Bytes(1),
        }
    }

    const PLAIN_SLEEPS: &str = "a plain recv on the same socket sleeps until data comes";

    #[rstest]
    #[case::linux(dontwait_linux(), Verdict::Holds, &[])]
    #[case::just_in_time(Dontwait { dontwait_took: ms(49.9), ..dontwait_linux() }, Verdict::Holds, &[])]
    #[case::too_slow(Dontwait { dontwait_took: ms(50.0), ..dontwait_linux() },
        Verdict::Refuted, &["it returns at once"])]
    // Returned at once, but with an end of stream rather than a failure.
    #[case::eof(Dontwait { dontwait: Returned::Bytes(0), ..dontwait_linux() },
        Verdict::Refuted, &["recv(MSG_DONTWAIT) with nothing queued"])]
    #[case::other_errno(Dontwait { dontwait: Returned::errno("EINTR"), ..dontwait_linux() },
        Verdict::Holds, &["recv(MSG_DONTWAIT) with nothing queued"])]
    // The flag stuck to the socket: the plain recv no longer sleeps.
    #[case::flag_sticks(Dontwait { plain_slept: false, plain_returned: Returned::errno("EAGAIN"),
        ..dontwait_linux() }, Verdict::Holds, &[PLAIN_SLEEPS])]
    #[case::slept_but_eof(Dontwait { plain_returned: Returned::Bytes(0), ..dontwait_linux() },
        Verdict::Holds, &[PLAIN_SLEEPS])]
    #[case::not_asleep_yet_byte(Dontwait { plain_slept: false, ..dontwait_linux() },
        Verdict::Holds, &[PLAIN_SLEEPS])]
    fn dontwait_judgement(#[case] o: Dontwait, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(v, failed), judged(&o));
    }

    #[test]
    fn dontwait_words() {
        let j = dontwait_linux().judge();
        assert_eq!("EAGAIN in 0 ms; plain recv slept", j.key);
        assert_eq!(
            "recv(MSG_DONTWAIT) -> EAGAIN in 0 ms on a blocking socket, where a plain recv slept until \
             a byte came, then returned 1 B",
            j.because
        );
        let stuck = Dontwait {
            plain_slept: false,
            plain_returned: Returned::errno("EAGAIN"),
            ..dontwait_linux()
        }
        .judge();
        assert_eq!("EAGAIN in 0 ms; plain recv did not sleep", stuck.key);
        assert!(stuck
            .because
            .ends_with("a plain recv returned EAGAIN without sleeping"));
    }

    fn count_linux() -> PeekCount {
        PeekCount {
            pieces: vec![100, 200, 300],
            tcp_peek: 600,
            tcp_fionread: 600,
            udp_peek: 100,
            udp_fionread: 100,
        }
    }

    const UDP_PEEK: &str = "UDP: PEEK|DONTWAIT returns the first datagram only";
    const UDP_FIONREAD: &str = "UDP: FIONREAD is the first datagram's size too";
    const TCP_PEEK: &str = "TCP: PEEK|DONTWAIT returns every queued byte";

    #[rstest]
    #[case::linux(count_linux(), Verdict::Differs, &[])]
    // The claim's world: the peek counts everything, datagrams too.
    #[case::counts_all(PeekCount { udp_peek: 600, udp_fionread: 600, ..count_linux() },
        Verdict::Holds, &[UDP_PEEK, UDP_FIONREAD])]
    // A stack whose peek stops at a segment boundary.
    #[case::one_segment(PeekCount { tcp_peek: 100, ..count_linux() }, Verdict::Refuted, &[TCP_PEEK])]
    #[case::udp_only(PeekCount { tcp_peek: 100, udp_peek: 600, ..count_linux() },
        Verdict::Differs, &[TCP_PEEK, UDP_PEEK])]
    #[case::tcp_fionread_short(PeekCount { tcp_fionread: 599, ..count_linux() },
        Verdict::Differs, &["TCP: FIONREAD agrees"])]
    // FIONREAD on UDP summing the queue.
    #[case::udp_fionread_total(PeekCount { udp_fionread: 600, ..count_linux() },
        Verdict::Differs, &[UDP_FIONREAD])]
    fn count_judgement(#[case] o: PeekCount, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(v, failed), judged(&o));
    }

    #[test]
    fn count_words() {
        let j = count_linux().judge();
        assert_eq!("queued 600 B: TCP peek 600 B, UDP peek 100 B", j.key);
        assert_eq!(
            "600 B queued in pieces of 100, 200, 300 B: TCP peek -> 600 B (FIONREAD 600 B); UDP peek -> \
             100 B (FIONREAD 100 B): for UDP it tells the next datagram's size, not the total",
            j.because
        );
    }

    fn eof_linux() -> ShortOnEof {
        ShortOnEof {
            requested: 4000,
            sent_before_eof: 1000,
            first: 1000,
            second: 0,
        }
    }

    #[rstest]
    #[case::linux(eof_linux(), Verdict::Refuted, &[])]
    // The claim's world can only be seen when the peer sent enough.
    #[case::peer_sent_enough(ShortOnEof { sent_before_eof: 4000, first: 4000, ..eof_linux() },
        Verdict::Holds, &[])]
    #[case::filled_from_nowhere(ShortOnEof { first: 4000, ..eof_linux() },
        Verdict::Holds, &["recv(MSG_WAITALL) returns the short count"])]
    #[case::lost_a_byte(ShortOnEof { first: 999, ..eof_linux() },
        Verdict::Refuted, &["recv(MSG_WAITALL) returns the short count"])]
    #[case::no_eof(ShortOnEof { second: 1, ..eof_linux() }, Verdict::Refuted, &["then 0 (end of stream)"])]
    fn eof_judgement(#[case] o: ShortOnEof, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(v, failed), judged(&o));
    }

    #[test]
    fn eof_words() {
        let j = eof_linux().judge();
        assert_eq!("asked 4000 B, got 1000 B then 0 B", j.key);
        assert_eq!(
            "asked for 4000 B with MSG_WAITALL, the peer sent 1000 B and closed: recv returned 1000 B, \
             then 0 B",
            j.because
        );
    }

    fn timeout_linux() -> WaitallTimeout {
        WaitallTimeout {
            requested: 4000,
            queued: 1000,
            rcvtimeo: ms(200.0),
            after_timeout: Returned::Bytes(1000),
            timeout_took: ms(207.744),
            after_signal: Returned::Bytes(1000),
        }
    }

    const BY_TIMEOUT: &str = "SO_RCVTIMEO: partial count";
    const BY_SIGNAL: &str = "signal: partial count, not EINTR";
    const IN_TIME: &str = "returned when the timeout passed";

    #[rstest]
    #[case::linux(timeout_linux(), Verdict::Refuted, &[])]
    // The claim's world: the call fails and leaves the bytes queued.
    #[case::fails_instead(WaitallTimeout { after_timeout: Returned::errno("EAGAIN"),
        after_signal: Returned::errno("EINTR"), ..timeout_linux() }, Verdict::Holds, &[BY_TIMEOUT, BY_SIGNAL])]
    #[case::only_signal_short(WaitallTimeout { after_timeout: Returned::errno("EAGAIN"), ..timeout_linux() },
        Verdict::Refuted, &[BY_TIMEOUT])]
    #[case::only_timeout_short(WaitallTimeout { after_signal: Returned::errno("EINTR"), ..timeout_linux() },
        Verdict::Refuted, &[BY_SIGNAL])]
    #[case::filled(WaitallTimeout { after_timeout: Returned::Bytes(4000), after_signal: Returned::Bytes(4000),
        ..timeout_linux() }, Verdict::Holds, &[BY_TIMEOUT, BY_SIGNAL])]
    #[case::one_short(WaitallTimeout { after_timeout: Returned::Bytes(3999), after_signal: Returned::Bytes(4000),
        ..timeout_linux() }, Verdict::Refuted, &[BY_TIMEOUT, BY_SIGNAL])]
    #[case::earliest(WaitallTimeout { timeout_took: ms(190.0), ..timeout_linux() }, Verdict::Refuted, &[])]
    #[case::too_early(WaitallTimeout { timeout_took: ms(189.9), ..timeout_linux() },
        Verdict::Refuted, &[IN_TIME])]
    #[case::latest(WaitallTimeout { timeout_took: ms(1700.0), ..timeout_linux() }, Verdict::Refuted, &[])]
    #[case::too_late(WaitallTimeout { timeout_took: ms(1700.1), ..timeout_linux() },
        Verdict::Refuted, &[IN_TIME])]
    fn timeout_judgement(#[case] o: WaitallTimeout, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(v, failed), judged(&o));
    }

    #[test]
    fn timeout_words() {
        let j = timeout_linux().judge();
        assert_eq!("timeout -> 1000 B after 208 ms; signal -> 1000 B", j.key);
        assert_eq!(
            "asked for 4000 B with 1000 B queued: after SO_RCVTIMEO 200 ms recv returned 1000 B (208 ms); \
             interrupted by SIGUSR1 it returned 1000 B",
            j.because
        );
        assert_eq!("190 ms..1700 ms", j.checks[1].expected);
    }

    fn oob_linux() -> OobSendRecv {
        OobSendRecv {
            none_pending: Returned::errno("EINVAL"),
            receiver: UrgentRead {
                oob: OobRecv::Data("c".into()),
                stream: "xyabz".into(),
                oob_again: OobRecv::Errno("EINVAL".into()),
            },
            urgent_segments: vec![UrgentSegment {
                stream_offset: 2,
                payload: 3,
                urgent_pointer: 3,
            }],
        }
    }

    fn read(oob: OobRecv, stream: &str) -> UrgentRead {
        UrgentRead {
            oob,
            stream: stream.into(),
            oob_again: OobRecv::Errno("EINVAL".into()),
        }
    }

    const LAST_BYTE: &str = "recv(MSG_OOB) returns the last byte only";
    const IN_STREAM: &str = "the other bytes arrive in the stream";
    const POINTER: &str = "the urgent pointer marks the end of the MSG_OOB bytes";

    #[rstest]
    #[case::linux(oob_linux(), Verdict::Differs, &[])]
    // The claim's world: all three bytes travel out of band.
    #[case::whole_message(OobSendRecv { receiver: read(OobRecv::Data("abc".into()), "xyz"), ..oob_linux() },
        Verdict::Holds, &[LAST_BYTE, IN_STREAM])]
    // MSG_OOB ignored by the sender: no urgent data at all.
    #[case::no_urgent(OobSendRecv { receiver: read(OobRecv::Errno("EINVAL".into()), "xyabcz"),
        urgent_segments: vec![], ..oob_linux() }, Verdict::Differs, &[LAST_BYTE, IN_STREAM, "URG flag on the wire"])]
    // RFC 1122's reading: the pointer at the urgent byte itself.
    #[case::rfc1122_pointer(OobSendRecv { urgent_segments: vec![UrgentSegment { stream_offset: 2, payload: 3,
        urgent_pointer: 2 }], ..oob_linux() }, Verdict::Differs, &[POINTER])]
    // Autocorking merged "xy" and "abc": one segment from byte 0.
    #[case::merged(OobSendRecv { urgent_segments: vec![UrgentSegment { stream_offset: 0, payload: 5,
        urgent_pointer: 5 }], ..oob_linux() }, Verdict::Differs, &[])]
    #[case::one_pointer_off(OobSendRecv { urgent_segments: vec![
        UrgentSegment { stream_offset: 2, payload: 3, urgent_pointer: 3 },
        UrgentSegment { stream_offset: 5, payload: 1, urgent_pointer: 1 }], ..oob_linux() },
        Verdict::Differs, &[POINTER])]
    #[case::pending_without_data(OobSendRecv { none_pending: Returned::errno("EAGAIN"), ..oob_linux() },
        Verdict::Differs, &["recv(MSG_OOB) with none pending"])]
    #[case::read_twice(OobSendRecv { receiver: UrgentRead { oob_again: OobRecv::Data("c".into()),
        ..oob_linux().receiver }, ..oob_linux() }, Verdict::Differs, &["the urgent byte is read once"])]
    fn oob_judgement(#[case] o: OobSendRecv, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(v, failed), judged(&o));
    }

    #[test]
    fn oob_words() {
        let j = oob_linux().judge();
        assert_eq!("OOB c, stream xyabz, none pending -> EINVAL", j.key);
        assert_eq!(
            "send(abc, MSG_OOB): recv(MSG_OOB) got c, the stream got xyabz; URG on 3 B at byte 2 with \
             urgent pointer 3; with none pending recv(MSG_OOB) -> EINVAL: only one byte of out-of-band \
             data exists in TCP",
            j.because
        );
        let two = OobSendRecv {
            urgent_segments: vec![
                UrgentSegment {
                    stream_offset: 2,
                    payload: 3,
                    urgent_pointer: 3,
                },
                UrgentSegment {
                    stream_offset: 2,
                    payload: 3,
                    urgent_pointer: 2,
                },
            ],
            ..oob_linux()
        }
        .judge();
        let pointer = &two.checks[4];
        assert_eq!(
            ("byte 5 of the stream", "byte 5, 4"),
            (pointer.expected.as_str(), pointer.observed.as_str())
        );
        let none = OobSendRecv {
            urgent_segments: vec![],
            ..oob_linux()
        }
        .judge();
        assert_eq!("no urgent pointer", none.checks[4].observed);
        assert!(none.because.contains("URG on no segment;"));
    }

    /// Observations travel as JSON in reports: numbers, errno names and
    /// plain words, no Rust syntax; and they come back unchanged.
    #[test]
    fn oob_observation_as_json() {
        let v = serde_json::to_value(oob_linux()).unwrap();
        assert_eq!(
            serde_json::json!({
                "none_pending": "EINVAL",
                "receiver": {"oob": {"data": "c"}, "stream": "xyabz", "oob_again": {"errno": "EINVAL"}},
                "urgent_segments": [{"stream_offset": 2, "payload": 3, "urgent_pointer": 3}],
            }),
            v
        );
        assert_eq!(oob_linux(), serde_json::from_value(v).unwrap());
        let t = serde_json::to_value(timeout_linux()).unwrap();
        assert_eq!(serde_json::json!(1000), t["after_timeout"]);
        assert_eq!(timeout_linux(), serde_json::from_value(t).unwrap());
    }

    fn inline_linux() -> OobInline {
        OobInline {
            with_oobinline: read(OobRecv::Errno("EINVAL".into()), "xyabcz"),
            without_oobinline: read(OobRecv::Data("c".into()), "xyabz"),
        }
    }

    const INLINE: &str = "SO_OOBINLINE: the urgent byte in the stream at its place";
    const INLINE_OOB: &str = "SO_OOBINLINE: recv(MSG_OOB)";

    #[rstest]
    #[case::linux(inline_linux(), Verdict::Holds, &[])]
    // SO_OOBINLINE silently lost: both reads look like the plain one.
    #[case::option_ignored(OobInline { with_oobinline: read(OobRecv::Data("c".into()), "xyabz"),
        ..inline_linux() }, Verdict::Refuted, &[INLINE, INLINE_OOB])]
    // Inline, yet still readable out of band as well.
    #[case::both_ways(OobInline { with_oobinline: read(OobRecv::Data("c".into()), "xyabcz"),
        ..inline_linux() }, Verdict::Holds, &[INLINE_OOB])]
    #[case::plain_has_it(OobInline { without_oobinline: read(OobRecv::Data("c".into()), "xyabcz"),
        ..inline_linux() }, Verdict::Holds, &["without: the stream lacks the urgent byte"])]
    #[case::plain_lost_it(OobInline { without_oobinline: read(OobRecv::Errno("EINVAL".into()), "xyabz"),
        ..inline_linux() }, Verdict::Holds, &["without: recv(MSG_OOB) returns it"])]
    fn inline_judgement(#[case] o: OobInline, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(v, failed), judged(&o));
    }

    #[test]
    fn inline_words() {
        let j = inline_linux().judge();
        assert_eq!("inline xyabcz; plain xyabz + OOB c", j.key);
        assert_eq!(
            "with SO_OOBINLINE the stream read xyabcz and recv(MSG_OOB) -> EINVAL; without it xyabz and \
             recv(MSG_OOB) -> c",
            j.because
        );
    }
}
