//! close() with unread data, and shutdown() (004 §5.2).
//!
//! What the lecture's 4-way handshake leaves out: a close() that throws
//! unread data away resets the connection, shutdown(SHUT_WR) does not wait
//! for anything, a half-closed socket still reads, and SHUT_RD on Linux only
//! marks the stream as read to its end.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::netlink::{ifindex, Netlink};
use crate::lab::packet::Segment;
use crate::lab::sock::{errno_name, Closed, Returned};
use crate::lab::topo::Link;
use crate::lab::{phase, record, wait, wire, Capture, Family, Lab, TcpPair};
use crate::model::{
    millis, Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&UNREAD_DATA_RST, &WR_BLOCKS, &HALF_CLOSE, &RD];

pub static UNREAD_DATA_RST: Case = Case {
    id: "close.unread_data_rst",
    source: Source::LectureNotes("5.2 SO_LINGER (4-way handshake)"),
    claim: "(implied by the 4-way handshake slide) close() ends a connection with FIN",
    expectation:
        "closing a socket that still holds unread received data sends RST, not FIN (RFC 2525 \
                  2.17); the peer's next recv fails with ECONNRESET",
    run: &Measure(unread_data_rst),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static WR_BLOCKS: Case = Case {
    id: "shutdown.wr_blocks",
    source: Source::LectureNotes("5.2 shutdown()"),
    claim: "shutdown(SHUT_WR) blocks until the peer has acknowledged the FIN",
    expectation:
        "shutdown(SHUT_WR) returns at once even when the FIN is never acknowledged (the FIN is \
                  on the wire, unanswered); a reachable peer's read then returns 0",
    run: &Measure(wr_blocks),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static HALF_CLOSE: Case = Case {
    id: "shutdown.half_close",
    source: Source::LectureNotes("5.2 shutdown()"),
    claim:
        "after shutdown(SHUT_WR) the socket still reads what the peer sends, until the peer's FIN",
    expectation:
        "the peer reads 0 (our FIN), then sends data that we read in full; our read returns 0 at \
                  the peer's FIN",
    run: &Measure(half_close),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static RD: Case = Case {
    id: "shutdown.rd",
    source: Source::LectureNotes("5.2 shutdown()"),
    claim: "shutdown(SHUT_RD) closes the receive stream",
    expectation: "on Linux SHUT_RD sends nothing on the wire; recv returns 0 at once while nothing is queued; \
                  data the peer sends afterwards is still accepted and acknowledged, and recv returns it",
    run: &Measure(rd),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

/// Bytes the closer has received and not read when it closes.
const UNREAD: usize = 100;

/// "At once": a call that waits for nothing returns within this.
const AT_ONCE: Duration = Duration::from_millis(100);

/// close() on a socket holding received data it never read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnreadDataRst {
    /// Bytes the peer sent, and of them still unread (FIONREAD) at close().
    pub sent: usize,
    pub unread_at_close: usize,
    pub close: Closed,
    pub rst_from_closer: bool,
    pub fin_from_closer: bool,
    /// The peer's next recv() after the close.
    pub peer_recv: Returned,
}

fn unread_data_rst(_lab: &mut Lab) -> Result<UnreadDataRst> {
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::loopback(Family::V4)?;
    let closer_port = pair.port()?;
    pair.client.send_all(&[9u8; UNREAD])?;
    phase("waiting for the data to arrive unread");
    let unread_at_close = wait::until(
        "the bytes unread at the closer",
        Duration::from_secs(5),
        || {
            let queued = pair.server.queued(libc::FIONREAD)? as usize;
            Ok((queued >= UNREAD).then_some(queued))
        },
    )?;
    let (client, server) = pair.into_connected();
    let close = server.close();
    let rst_from_closer = cap
        .wait_segment("RST from the closer", Duration::from_secs(2), |s| {
            s.rst_from(closer_port)
        })
        .is_ok();
    let fin_from_closer = cap.segments()?.iter().any(|s| s.fin_from(closer_port));
    let mut buf = [0u8; 16];
    let peer_recv = Returned::of(&client.recv(&mut buf, 0));
    Ok(UnreadDataRst {
        sent: UNREAD,
        unread_at_close,
        close,
        rst_from_closer,
        fin_from_closer,
        peer_recv,
    })
}

/// How a closer ended the connection on the wire, in words.
fn ended_by(rst: bool, fin: bool) -> &'static str {
    match (rst, fin) {
        (true, false) => "RST, no FIN",
        (false, true) => "FIN, no RST",
        (true, true) => "FIN and RST",
        (false, false) => "neither FIN nor RST",
    }
}

impl Observation for UnreadDataRst {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "close() is called with every byte unread",
            &self.sent,
            &self.unread_at_close,
        );
        j.expect_eq("the closer sends RST", &true, &self.rst_from_closer);
        j.expect_eq("the closer sends no FIN", &false, &self.fin_from_closer);
        j.expect_eq(
            "the peer's recv",
            &Returned::errno("ECONNRESET"),
            &self.peer_recv,
        );
        let wire = ended_by(self.rst_from_closer, self.fin_from_closer);
        j.verdict(
            Verdict::holds_if(self.fin_from_closer && !self.rst_from_closer),
            format!(
                "close() with {} B unread returned {} and the closer sent {wire}; the peer's recv -> {}",
                self.unread_at_close,
                self.close.errno.as_deref().unwrap_or("0"),
                self.peer_recv.show()
            ),
        );
        j.key(format!("{wire}; peer recv {}", self.peer_recv.show()));
        j
    }
}

/// shutdown(SHUT_WR) towards a peer that has gone silent, and on a reachable
/// peer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WrBlocks {
    /// shutdown()'s errno name; none when it returned 0.
    pub shutdown_errno: Option<String>,
    #[serde(with = "millis")]
    pub shutdown_took: Duration,
    /// Copies of the FIN captured, watching until the second (the first
    /// retransmission: the FIN still unacknowledged long after shutdown()
    /// returned) or for 3 s.
    pub fins_sent: usize,
    /// An ACK of the FIN was captured.
    pub fin_acked: bool,
    /// A reachable peer's recv() after our shutdown(SHUT_WR).
    pub reachable_peer_read: Returned,
}

/// Waits until `n` captured segments satisfy `pred`, at most `timeout`;
/// returns how many do.
fn wait_segments(
    cap: &mut Capture,
    n: usize,
    timeout: Duration,
    pred: impl Fn(&Segment) -> bool,
) -> Result<usize> {
    let deadline = Instant::now() + timeout;
    loop {
        let seen = cap.count()?;
        let found = cap.segments()?.iter().filter(|s| pred(s)).count();
        if found >= n {
            return Ok(found);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(found);
        }
        cap.wait_beyond(seen, left)?;
    }
}

fn wr_blocks(lab: &mut Lab) -> Result<WrBlocks> {
    // Unanswered FIN: a peer in host b that silently drops everything once
    // its address is gone (no RST, no ICMP).
    let link = Link::pair_v4(lab)?;
    let mut cap = Capture::start(&link.a_end.ifname)?;
    let pair = wire::tcp_across(&link, |_| Ok(()), |_| Ok(()))?;
    let port = pair.client.local_addr()?.port();
    let peer_addr = link.b_end.addr;
    link.b.run(|| -> Result<()> {
        Netlink::open()?.del_addr(ifindex(&link.b_end.ifname)?, peer_addr, 24)
    })??;
    record::mark("shutdown(SHUT_WR) called");
    let t = Instant::now();
    let r = pair.client.shutdown(libc::SHUT_WR);
    let shutdown_took = t.elapsed();
    // Unacknowledged, the FIN leaves again when the retransmission timer
    // fires (after 200 ms at least, TCP_RTO_MIN).
    phase("waiting for the FIN, and for it to be sent again");
    let fins_sent = wait_segments(&mut cap, 2, Duration::from_secs(3), |s| s.fin_from(port))?;
    let segs = cap.segments()?;
    let fin_end = segs
        .iter()
        .find(|s| s.fin_from(port))
        .map(|f| f.seq.wrapping_add(f.payload + 1));
    let fin_acked = fin_end.is_some_and(|end| segs.iter().any(|s| s.acks(port, end)));
    // Reachable peer: shutdown on loopback, the peer reads 0.
    let lo = TcpPair::loopback(Family::V4)?;
    lo.client.shutdown(libc::SHUT_WR)?;
    let mut buf = [0u8; 8];
    let reachable_peer_read = Returned::of(&lo.server.recv(&mut buf, 0));
    Ok(WrBlocks {
        shutdown_errno: r.as_ref().err().map(errno_name),
        shutdown_took,
        fins_sent,
        fin_acked,
        reachable_peer_read,
    })
}

impl Observation for WrBlocks {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "shutdown(SHUT_WR)",
            &"0",
            &self.shutdown_errno.as_deref().unwrap_or("0"),
        );
        j.expect(
            "it returns at once, the FIN unacknowledged",
            self.shutdown_took < AT_ONCE,
            format!("< {}", AT_ONCE.show()),
            self.shutdown_took.show(),
        );
        j.expect(
            "the FIN is on the wire",
            self.fins_sent >= 1,
            "FIN sent",
            fins(self.fins_sent),
        );
        j.expect_eq("nobody acknowledged it", &false, &self.fin_acked);
        j.expect(
            "the unacknowledged FIN is sent again",
            self.fins_sent >= 2,
            fins(2),
            fins(self.fins_sent),
        );
        j.expect_eq(
            "a reachable peer's read returns 0",
            &Returned::Bytes(0),
            &self.reachable_peer_read,
        );
        j.verdict(
            Verdict::holds_if(self.shutdown_took >= AT_ONCE),
            format!(
                "shutdown(SHUT_WR) returned {} in {}; {}, {}: the notes' blocking until the FIN is \
                 acknowledged is not Linux behaviour",
                self.shutdown_errno.as_deref().unwrap_or("0"),
                self.shutdown_took.show(),
                fins(self.fins_sent),
                if self.fin_acked {
                    "acknowledged"
                } else {
                    "never acknowledged"
                }
            ),
        );
        j.key(format!(
            "shutdown {}; {}, {}",
            self.shutdown_took.show(),
            fins(self.fins_sent),
            if self.fin_acked { "acked" } else { "not acked" }
        ));
        j
    }
}

/// How many times the FIN was captured, in words.
fn fins(n: usize) -> String {
    match n {
        0 => "no FIN".into(),
        1 => "FIN sent".into(),
        2 => "FIN sent twice".into(),
        n => format!("FIN sent {n} times"),
    }
}

/// A half-close: we send a request and shutdown(SHUT_WR); the peer reads it
/// to EOF, replies and closes its side; we read the reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HalfClose {
    pub request_sent: usize,
    /// What the peer read before its read ended, and how it ended (an errno
    /// name; none for EOF).
    pub peer_read: usize,
    pub peer_read_error: Option<String>,
    pub reply_sent: usize,
    /// What we read after our SHUT_WR, and how our read ended.
    pub reply_read: usize,
    pub read_error: Option<String>,
}

fn half_close(_lab: &mut Lab) -> Result<HalfClose> {
    let pair = TcpPair::loopback(Family::V4)?;
    let request = b"request";
    pair.client.send_all(request)?;
    pair.client
        .shutdown(libc::SHUT_WR)
        .context("shutdown(SHUT_WR)")?;
    pair.server
        .set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(5))?;
    let (got_request, peer_err) = pair.server.read_to_end();
    let reply = vec![6u8; 10_000];
    pair.server.send_all(&reply)?;
    pair.server.shutdown(libc::SHUT_WR)?;
    pair.client
        .set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(5))?;
    let (got, err) = pair.client.read_to_end();
    Ok(HalfClose {
        request_sent: request.len(),
        peer_read: got_request.len(),
        peer_read_error: peer_err.as_ref().map(errno_name),
        reply_sent: reply.len(),
        reply_read: got.len(),
        read_error: err.as_ref().map(errno_name),
    })
}

/// How a read to the end ended: EOF, or the errno's name.
fn end(error: &Option<String>) -> &str {
    error.as_deref().unwrap_or("EOF")
}

impl Observation for HalfClose {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect(
            "the peer sees our data then EOF",
            self.peer_read == self.request_sent && self.peer_read_error.is_none(),
            format!("{} B, then EOF", self.request_sent),
            format!("{} B, then {}", self.peer_read, end(&self.peer_read_error)),
        );
        j.expect_eq(
            "we read the whole reply after SHUT_WR",
            &self.reply_sent,
            &self.reply_read,
        );
        j.expect_eq(
            "our read ends at the peer's FIN",
            &"EOF",
            &end(&self.read_error),
        );
        let holds = self.reply_read == self.reply_sent && self.read_error.is_none();
        j.verdict(
            Verdict::holds_if(holds),
            format!(
                "after SHUT_WR the peer read {} B then {}; it replied {} B, of which we read {} B, then {}",
                self.peer_read,
                end(&self.peer_read_error),
                self.reply_sent,
                self.reply_read,
                end(&self.read_error)
            ),
        );
        j.key(format!(
            "after SHUT_WR read {} of {} B, then {}",
            self.reply_read,
            self.reply_sent,
            end(&self.read_error)
        ));
        j
    }
}

/// Bytes the peer sends after our SHUT_RD.
const LATER: usize = 500;

/// shutdown(SHUT_RD), what it sent, what recv() returned, and what became of
/// data the peer sent afterwards.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShutRd {
    /// Frames captured between shutdown(SHUT_RD) and the peer's next send.
    pub packets_sent_by_shutdown: usize,
    /// recv() right after SHUT_RD, with nothing queued.
    pub recv_after_shut_rd: Returned,
    #[serde(with = "millis")]
    pub recv_after_shut_rd_took: Duration,
    pub peer_sent: usize,
    /// Our side acknowledged all of it.
    pub peer_data_acked: bool,
    pub rst_on_wire: bool,
    /// FIONREAD once it was acknowledged, and what recv() returned then.
    pub queued_after_peer_sent: usize,
    pub recv_of_later_data: Returned,
}

fn rd(_lab: &mut Lab) -> Result<ShutRd> {
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::loopback(Family::V4)?;
    let client_port = pair.client.local_addr()?.port();
    let before = cap.count()?;
    record::mark("shutdown(SHUT_RD) called");
    pair.server
        .shutdown(libc::SHUT_RD)
        .context("shutdown(SHUT_RD)")?;
    let mut buf = [0u8; 1024];
    let t = Instant::now();
    let first = pair.server.recv(&mut buf, 0);
    let recv_after_shut_rd_took = t.elapsed();
    let packets_sent_by_shutdown = cap.count()? - before;
    pair.client.send_all(&[1u8; LATER])?;
    phase("waiting for the peer's data and its ACK");
    let data = cap.wait_segment("the peer's data", Duration::from_secs(2), |s| {
        s.sport == client_port && s.payload > 0
    })?;
    let data_end = data.seq.wrapping_add(LATER as u32);
    let peer_data_acked = cap
        .wait_segment(
            "the peer's data acknowledged",
            Duration::from_secs(2),
            |s| s.acks(client_port, data_end),
        )
        .is_ok();
    let rst_on_wire = cap.segments()?.iter().any(|s| s.flags.rst);
    let queued_after_peer_sent = pair.server.queued(libc::FIONREAD)? as usize;
    let later = pair.server.recv(&mut buf, libc::MSG_DONTWAIT);
    Ok(ShutRd {
        packets_sent_by_shutdown,
        recv_after_shut_rd: Returned::of(&first),
        recv_after_shut_rd_took,
        peer_sent: LATER,
        peer_data_acked,
        rst_on_wire,
        queued_after_peer_sent,
        recv_of_later_data: Returned::of(&later),
    })
}

impl Observation for ShutRd {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "SHUT_RD puts nothing on the wire",
            &0,
            &self.packets_sent_by_shutdown,
        );
        let eof = Returned::Bytes(0);
        j.expect(
            "recv returns 0 at once",
            self.recv_after_shut_rd == eof && self.recv_after_shut_rd_took < AT_ONCE,
            format!("0 B in < {}", AT_ONCE.show()),
            format!(
                "{} in {}",
                self.recv_after_shut_rd.show(),
                self.recv_after_shut_rd_took.show()
            ),
        );
        j.expect_eq(
            "data sent afterwards is acknowledged",
            &true,
            &self.peer_data_acked,
        );
        j.expect_eq("no RST", &false, &self.rst_on_wire);
        j.expect_eq(
            "it is queued for reading",
            &self.peer_sent,
            &self.queued_after_peer_sent,
        );
        let all = Returned::Bytes(self.peer_sent);
        j.expect_eq("and recv still returns it", &all, &self.recv_of_later_data);
        let verdict = if self.recv_of_later_data == all {
            Verdict::Differs
        } else {
            Verdict::Holds
        };
        j.verdict(
            verdict,
            format!(
                "after SHUT_RD: {} packets sent, recv -> {} in {}; {} B sent later were {}, {} B queued, \
                 and recv returned {}: the stream is marked as read to its end, not cut off",
                self.packets_sent_by_shutdown,
                self.recv_after_shut_rd.show(),
                self.recv_after_shut_rd_took.show(),
                self.peer_sent,
                if self.peer_data_acked {
                    "acknowledged"
                } else {
                    "not acknowledged"
                },
                self.queued_after_peer_sent,
                self.recv_of_later_data.show()
            ),
        );
        j.key(format!(
            "recv {} at once; later data {}, recv {}",
            self.recv_after_shut_rd.show(),
            if self.peer_data_acked {
                "acked"
            } else {
                "not acked"
            },
            self.recv_of_later_data.show()
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

    /// What Linux 6.18 did (a real run's numbers).
    fn unread_linux() -> UnreadDataRst {
        UnreadDataRst {
            sent: 100,
            unread_at_close: 100,
            close: Closed {
                rc: 0,
                errno: None,
                took: ms(0.013),
            },
            rst_from_closer: true,
            fin_from_closer: false,
            peer_recv: Returned::errno("ECONNRESET"),
        }
    }

    const RST: &str = "the closer sends RST";
    const NO_FIN: &str = "the closer sends no FIN";
    const PEER: &str = "the peer's recv";

    #[rstest]
    #[case::linux(unread_linux(), Verdict::Refuted, &[])]
    // The 4-way handshake of the slide: an orderly FIN, the peer reads EOF.
    #[case::orderly(UnreadDataRst { rst_from_closer: false, fin_from_closer: true,
        peer_recv: Returned::Bytes(0), ..unread_linux() }, Verdict::Holds, &[RST, NO_FIN, PEER])]
    #[case::fin_then_rst(UnreadDataRst { fin_from_closer: true, ..unread_linux() },
        Verdict::Refuted, &[NO_FIN])]
    #[case::silent(UnreadDataRst { rst_from_closer: false, peer_recv: Returned::Bytes(0), ..unread_linux() },
        Verdict::Refuted, &[RST, PEER])]
    #[case::partly_read(UnreadDataRst { unread_at_close: 40, ..unread_linux() },
        Verdict::Refuted, &["close() is called with every byte unread"])]
    #[case::peer_epipe(UnreadDataRst { peer_recv: Returned::errno("EPIPE"), ..unread_linux() },
        Verdict::Refuted, &[PEER])]
    fn unread_judgement(#[case] o: UnreadDataRst, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(v, failed), judged(&o));
    }

    #[test]
    fn unread_words() {
        let j = unread_linux().judge();
        assert_eq!("RST, no FIN; peer recv ECONNRESET", j.key);
        assert_eq!(
            "close() with 100 B unread returned 0 and the closer sent RST, no FIN; the peer's recv -> \
             ECONNRESET",
            j.because
        );
        let failed = UnreadDataRst {
            close: Closed {
                rc: -1,
                errno: Some("EIO".into()),
                took: ms(0.0),
            },
            ..unread_linux()
        }
        .judge();
        assert!(failed.because.contains("unread returned EIO and"));
        assert_eq!("FIN, no RST", ended_by(false, true));
        assert_eq!("FIN and RST", ended_by(true, true));
        assert_eq!("neither FIN nor RST", ended_by(false, false));
    }

    fn wr_linux() -> WrBlocks {
        WrBlocks {
            shutdown_errno: None,
            shutdown_took: ms(0.009),
            fins_sent: 2,
            fin_acked: false,
            reachable_peer_read: Returned::Bytes(0),
        }
    }

    const AT_ONCE_CHECK: &str = "it returns at once, the FIN unacknowledged";
    const ON_WIRE: &str = "the FIN is on the wire";
    const AGAIN: &str = "the unacknowledged FIN is sent again";

    #[rstest]
    #[case::linux(wr_linux(), Verdict::Refuted, &[])]
    // The notes' world: shutdown() waits (here until the retransmission).
    #[case::blocks(WrBlocks { shutdown_took: ms(250.0), ..wr_linux() }, Verdict::Holds, &[AT_ONCE_CHECK])]
    #[case::just_at_once(WrBlocks { shutdown_took: ms(99.9), ..wr_linux() }, Verdict::Refuted, &[])]
    #[case::just_blocking(WrBlocks { shutdown_took: ms(100.0), ..wr_linux() }, Verdict::Holds, &[AT_ONCE_CHECK])]
    #[case::fails(WrBlocks { shutdown_errno: Some("ENOTCONN".into()), ..wr_linux() },
        Verdict::Refuted, &["shutdown(SHUT_WR)"])]
    #[case::no_fin(WrBlocks { fins_sent: 0, ..wr_linux() }, Verdict::Refuted, &[ON_WIRE, AGAIN])]
    #[case::fin_once(WrBlocks { fins_sent: 1, ..wr_linux() }, Verdict::Refuted, &[AGAIN])]
    #[case::fin_thrice(WrBlocks { fins_sent: 3, ..wr_linux() }, Verdict::Refuted, &[])]
    // The peer was still there: the FIN acknowledged, so never sent again.
    #[case::acked(WrBlocks { fins_sent: 1, fin_acked: true, ..wr_linux() },
        Verdict::Refuted, &["nobody acknowledged it", AGAIN])]
    #[case::peer_reads_data(WrBlocks { reachable_peer_read: Returned::Bytes(5), ..wr_linux() },
        Verdict::Refuted, &["a reachable peer's read returns 0"])]
    fn wr_judgement(#[case] o: WrBlocks, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(v, failed), judged(&o));
    }

    #[test]
    fn wr_words() {
        let j = wr_linux().judge();
        assert_eq!("shutdown 0 ms; FIN sent twice, not acked", j.key);
        assert_eq!(
            "shutdown(SHUT_WR) returned 0 in 0 ms; FIN sent twice, never acknowledged: the notes' \
             blocking until the FIN is acknowledged is not Linux behaviour",
            j.because
        );
        let acked = WrBlocks {
            shutdown_errno: Some("ENOTCONN".into()),
            fins_sent: 1,
            fin_acked: true,
            ..wr_linux()
        }
        .judge();
        assert_eq!("shutdown 0 ms; FIN sent, acked", acked.key);
        assert!(acked
            .because
            .starts_with("shutdown(SHUT_WR) returned ENOTCONN in 0 ms; FIN sent, acknowledged:"));
        assert_eq!(
            ("0", "ENOTCONN"),
            (
                acked.checks[0].expected.as_str(),
                acked.checks[0].observed.as_str()
            )
        );
        assert_eq!("no FIN", fins(0));
        assert_eq!("FIN sent 3 times", fins(3));
    }

    fn half_linux() -> HalfClose {
        HalfClose {
            request_sent: 7,
            peer_read: 7,
            peer_read_error: None,
            reply_sent: 10_000,
            reply_read: 10_000,
            read_error: None,
        }
    }

    const WHOLE_REPLY: &str = "we read the whole reply after SHUT_WR";
    const OUR_EOF: &str = "our read ends at the peer's FIN";
    const PEER_EOF: &str = "the peer sees our data then EOF";

    #[rstest]
    #[case::linux(half_linux(), Verdict::Holds, &[])]
    // A stack where SHUT_WR ends reading as well: our read returns 0 at once.
    #[case::closes_both(HalfClose { reply_read: 0, ..half_linux() }, Verdict::Refuted, &[WHOLE_REPLY])]
    #[case::reset(HalfClose { reply_read: 4096, read_error: Some("ECONNRESET".into()), ..half_linux() },
        Verdict::Refuted, &[WHOLE_REPLY, OUR_EOF])]
    #[case::all_then_error(HalfClose { read_error: Some("EAGAIN".into()), ..half_linux() },
        Verdict::Refuted, &[OUR_EOF])]
    #[case::peer_short(HalfClose { peer_read: 3, ..half_linux() }, Verdict::Holds, &[PEER_EOF])]
    // The peer's read timed out: our FIN never came.
    #[case::peer_no_eof(HalfClose { peer_read_error: Some("EAGAIN".into()), ..half_linux() },
        Verdict::Holds, &[PEER_EOF])]
    fn half_judgement(#[case] o: HalfClose, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(v, failed), judged(&o));
    }

    #[test]
    fn half_words() {
        let j = half_linux().judge();
        assert_eq!("after SHUT_WR read 10000 of 10000 B, then EOF", j.key);
        assert_eq!(
            "after SHUT_WR the peer read 7 B then EOF; it replied 10000 B, of which we read 10000 B, then EOF",
            j.because
        );
        let cut = HalfClose {
            peer_read_error: Some("EAGAIN".into()),
            reply_read: 4096,
            read_error: Some("ECONNRESET".into()),
            ..half_linux()
        }
        .judge();
        assert_eq!(
            "after SHUT_WR read 4096 of 10000 B, then ECONNRESET",
            cut.key
        );
        assert_eq!("7 B, then EAGAIN", cut.checks[0].observed);
        assert!(cut.because.contains("read 7 B then EAGAIN;"));
    }

    fn rd_linux() -> ShutRd {
        ShutRd {
            packets_sent_by_shutdown: 0,
            recv_after_shut_rd: Returned::Bytes(0),
            recv_after_shut_rd_took: ms(0.001),
            peer_sent: 500,
            peer_data_acked: true,
            rst_on_wire: false,
            queued_after_peer_sent: 500,
            recv_of_later_data: Returned::Bytes(500),
        }
    }

    const ZERO: &str = "recv returns 0 at once";
    const QUEUED: &str = "it is queued for reading";
    const STILL: &str = "and recv still returns it";

    #[rstest]
    #[case::linux(rd_linux(), Verdict::Differs, &[])]
    // The claim's world (FreeBSD): later data acknowledged and thrown away.
    #[case::discarded(ShutRd { queued_after_peer_sent: 0, recv_of_later_data: Returned::errno("EAGAIN"),
        ..rd_linux() }, Verdict::Holds, &[QUEUED, STILL])]
    // Windows: later data answered with a RST.
    #[case::reset(ShutRd { peer_data_acked: false, rst_on_wire: true, queued_after_peer_sent: 0,
        recv_of_later_data: Returned::errno("ECONNRESET"), ..rd_linux() }, Verdict::Holds,
        &["data sent afterwards is acknowledged", "no RST", QUEUED, STILL])]
    #[case::sends_something(ShutRd { packets_sent_by_shutdown: 1, ..rd_linux() },
        Verdict::Differs, &["SHUT_RD puts nothing on the wire"])]
    #[case::slow_zero(ShutRd { recv_after_shut_rd_took: ms(100.0), ..rd_linux() }, Verdict::Differs, &[ZERO])]
    #[case::quick_zero(ShutRd { recv_after_shut_rd_took: ms(99.9), ..rd_linux() }, Verdict::Differs, &[])]
    #[case::not_eof(ShutRd { recv_after_shut_rd: Returned::errno("EAGAIN"), ..rd_linux() },
        Verdict::Differs, &[ZERO])]
    #[case::part_returned(ShutRd { recv_of_later_data: Returned::Bytes(499), ..rd_linux() },
        Verdict::Holds, &[STILL])]
    fn rd_judgement(#[case] o: ShutRd, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(v, failed), judged(&o));
    }

    #[test]
    fn rd_words() {
        let j = rd_linux().judge();
        assert_eq!("recv 0 B at once; later data acked, recv 500 B", j.key);
        assert_eq!(
            "after SHUT_RD: 0 packets sent, recv -> 0 B in 0 ms; 500 B sent later were acknowledged, 500 B \
             queued, and recv returned 500 B: the stream is marked as read to its end, not cut off",
            j.because
        );
        assert_eq!(("0 B in < 100 ms", "0 B in 0 ms"), {
            let c = &j.checks[1];
            (c.expected.as_str(), c.observed.as_str())
        });
        let reset = ShutRd {
            peer_data_acked: false,
            recv_of_later_data: Returned::errno("ECONNRESET"),
            ..rd_linux()
        }
        .judge();
        assert_eq!(
            "recv 0 B at once; later data not acked, recv ECONNRESET",
            reset.key
        );
        assert!(reset.because.contains("were not acknowledged"));
    }
}
