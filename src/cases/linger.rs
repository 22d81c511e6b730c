//! SO_LINGER and what close() does with unsent data (004 §5.2).
//!
//! Every case stalls a connection first: the receiver does not read, its
//! window closes, and the sender's buffer holds bytes that cannot leave. Then
//! the sender closes, and the case measures what close() returned, how long it
//! took, what went on the wire, and what the receiver could still read.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::opt;
use crate::lab::sock::{errno_name, fill_until_eagain, Closed};
use crate::lab::{diag, phase, procnet, wait, Capture, Family, Lab, Sock, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &ZERO_RST,
    &ZERO_RST_V6,
    &TIMEOUT_BLOCKS,
    &TIMEOUT_BLOCKS_V6,
    &NONBLOCKING,
    &DEFAULT_OFF,
];

pub static ZERO_RST: Case = Case {
    id: "linger.zero_rst",
    source: Source::LectureNotes("5.2 SO_LINGER"),
    claim: "with l_onoff=1 and l_linger=0, close() throws away data still waiting in the send buffer",
    expectation: "close() returns at once and sends RST instead of FIN; the peer reads what had already \
                  arrived, then gets ECONNRESET; bytes still in the send buffer never arrive; the closer \
                  keeps no TIME_WAIT entry",
    run: &Measure(|lab| zero_rst(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_LINGER],
};

pub static ZERO_RST_V6: Case = Case {
    id: "linger.zero_rst@v6",
    run: &Measure(|lab| zero_rst(lab, Family::V6)),
    ..ZERO_RST
};

pub static TIMEOUT_BLOCKS: Case = Case {
    id: "linger.timeout_blocks",
    source: Source::LectureNotes("5.2 SO_LINGER"),
    claim: "with l_linger>0, close() blocks until the data is acknowledged or the timeout passes, and a \
            timeout makes close() fail with ETIMEDOUT (the data being thrown away)",
    expectation: "close() blocks for l_linger seconds when the peer's window stays closed, then returns 0 \
                  (no ETIMEDOUT); the kernel keeps the data and goes on sending it, so a peer that reads \
                  later still gets every byte and then the FIN",
    run: &Measure(|lab| timeout_blocks(lab, Family::V4, false)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_LINGER],
};

pub static TIMEOUT_BLOCKS_V6: Case = Case {
    id: "linger.timeout_blocks@v6",
    run: &Measure(|lab| timeout_blocks(lab, Family::V6, false)),
    ..TIMEOUT_BLOCKS
};

pub static NONBLOCKING: Case = Case {
    id: "linger.nonblocking",
    source: Source::LectureNotes("5.2 SO_LINGER"),
    claim: "(implied) a lingering close() blocks, whatever the socket's mode",
    expectation: "on Linux O_NONBLOCK makes no difference: close() with l_linger=1 on a non-blocking socket \
                  still blocks for the linger time and returns 0 (BSD returns EWOULDBLOCK at once instead)",
    run: &Measure(|lab| timeout_blocks(lab, Family::V4, true)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_LINGER],
};

pub static DEFAULT_OFF: Case = Case {
    id: "linger.default_off",
    source: Source::LectureNotes("5.2 SO_LINGER"),
    claim:
        "without SO_LINGER, close() returns at once and the kernel still sends the remaining data",
    expectation:
        "SO_LINGER reads back {0,0} on a new socket; close() with unsent data returns 0 at once; \
                  once the peer reads, every byte arrives, followed by the FIN",
    run: &Measure(default_off),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

/// The sender's send buffer (doubled by the kernel).
const SENDER_SNDBUF: i32 = 65_536; // 64 KiB

/// The peer's receive buffer: small, so a few writes close its window.
const PEER_RCVBUF: i32 = 16_384; // 16 KiB

/// "At once": a close() that does not linger returns within this.
const AT_ONCE: Duration = Duration::from_millis(500);

/// A connection whose receiver does not read: the sender has written until
/// EAGAIN and the receiver has advertised a zero window, so the sender's
/// buffer holds data that cannot leave.
struct Stalled {
    client: Sock,
    server: Sock,
    _listener: Sock,
    written: usize,
    client_addr: SocketAddr,
    server_addr: SocketAddr,
}

fn stalled_pair(cap: &mut Capture, family: Family) -> Result<Stalled> {
    let pair = TcpPair::connect_with(
        SocketAddr::new(family.loopback(), 0),
        |l| Ok(l.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, PEER_RCVBUF)?),
        // A modest send buffer: enough unsent data to matter, little to capture.
        |c| Ok(c.set_int(libc::SOL_SOCKET, libc::SO_SNDBUF, SENDER_SNDBUF)?),
    )?;
    let client_addr = pair.client.local_addr()?;
    let server_addr = pair.server.local_addr()?;
    let written = fill_until_eagain(&pair.client, 4096)?;
    phase("waiting for the receiver's zero window");
    cap.wait_segment(
        "a zero-window advertisement from the receiver",
        Duration::from_secs(5),
        |s| s.sport == server_addr.port() && s.window == 0 && !s.flags.syn,
    )?;
    // More can be queued once the zero window is in: fill the send buffer again.
    let written = written + fill_until_eagain(&pair.client, 4096)?;
    // Settled once every byte is either at the peer or unacknowledged at the
    // sender: a byte that has arrived but whose ACK the sender has not yet
    // processed counts in both (a slow machine, such as an emulated guest,
    // shows it). Not settling within the bound is left for the checks to
    // show.
    let _ = wait::until(
        "the sender to have processed the receiver's last ACK",
        Duration::from_secs(2),
        || {
            let unacked = pair.client.queued(libc::TIOCOUTQ)? as usize;
            let arrived = pair.server.queued(libc::FIONREAD)? as usize;
            Ok((unacked + arrived == written).then_some(()))
        },
    );
    Ok(Stalled {
        client: pair.client,
        server: pair.server,
        _listener: pair.listener,
        written,
        client_addr,
        server_addr,
    })
}

/// Reads everything the peer still gets: the bytes, and how reading ended
/// (an errno name, or None for EOF).
fn drain(server: &Sock) -> Result<(usize, Option<String>)> {
    server.set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(5))?;
    let (bytes, err) = server.read_to_end();
    Ok((bytes.len(), err.as_ref().map(errno_name)))
}

/// What close() with {l_onoff 1, l_linger 0} did to a stalled connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZeroRst {
    /// Bytes the sender's kernel accepted.
    pub written: usize,
    /// Of those, still in the sender's queue when close() was called.
    pub unsent_at_close: usize,
    /// Already in the receiver's queue when close() was called.
    pub queued_at_peer: usize,
    pub close: Closed,
    pub rst_from_closer: bool,
    pub fin_from_closer: bool,
    /// What the peer read after the close.
    pub delivered: usize,
    /// How the peer's reading ended: an errno name, or none for EOF.
    pub peer_read_error: Option<String>,
    /// The closer's TCP state afterwards (TIME_WAIT, ...), none when gone.
    pub closer_state: Option<String>,
}

fn zero_rst(_lab: &mut Lab, family: Family) -> Result<ZeroRst> {
    let mut cap = Capture::start("lo")?;
    let st = stalled_pair(&mut cap, family)?;
    let unsent_at_close = st.client.queued(libc::TIOCOUTQ)? as usize;
    let queued_at_peer = st.server.queued(libc::FIONREAD)? as usize;
    st.client.set_linger(true, 0).context("SO_LINGER {1,0}")?;
    let close = st.client.close();
    phase("waiting for the closer's RST");
    let client_port = st.client_addr.port();
    let rst_from_closer = cap
        .wait_segment("RST from the closer", Duration::from_secs(2), |s| {
            s.rst_from(client_port)
        })
        .is_ok();
    let (delivered, peer_read_error) = drain(&st.server)?;
    let fin_from_closer = cap.segments()?.iter().any(|s| s.fin_from(client_port));
    let closer_state = diag::tcp(st.client_addr, st.server_addr)?
        .map(|d| procnet::state_name(d.state).to_string());
    Ok(ZeroRst {
        written: st.written,
        unsent_at_close,
        queued_at_peer,
        close,
        rst_from_closer,
        fin_from_closer,
        delivered,
        peer_read_error,
        closer_state,
    })
}

impl Observation for ZeroRst {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("closer sends RST", &true, &self.rst_from_closer);
        j.expect_eq("closer sends no FIN", &false, &self.fin_from_closer);
        j.expect(
            "close() returns 0 at once",
            self.close.rc == 0 && self.close.took < AT_ONCE,
            format!("0 in < {}", AT_ONCE.show()),
            format!("{} in {}", self.close.rc, self.close.took.show()),
        );
        j.expect(
            "every byte written was at the peer or unsent when close() was called",
            self.queued_at_peer + self.unsent_at_close == self.written,
            format!("{} B", self.written),
            format!("{} + {} B", self.queued_at_peer, self.unsent_at_close),
        );
        j.expect_eq(
            "the peer reads what had arrived before the close",
            &self.queued_at_peer,
            &self.delivered,
        );
        j.expect_eq(
            "then its read fails with",
            &Some("ECONNRESET"),
            &self.peer_read_error.as_deref(),
        );
        j.expect(
            "unsent bytes never arrive",
            self.delivered < self.written,
            format!("fewer than {} B", self.written),
            format!("{} B", self.delivered),
        );
        j.expect(
            "closer keeps no TIME_WAIT",
            self.closer_state.as_deref() != Some("TIME_WAIT"),
            "not TIME_WAIT",
            self.closer_state.show(),
        );
        let discarded = self.written.saturating_sub(self.delivered);
        j.verdict(
            Verdict::holds_if(discarded > 0 && self.rst_from_closer),
            format!(
                "wrote {} B, {} still unsent at close; the peer read {} B then {}; {discarded} B discarded; \
                 the closer sent {}",
                self.written,
                self.unsent_at_close,
                self.delivered,
                self.peer_read_error.as_deref().unwrap_or("EOF"),
                wire(self.rst_from_closer, self.fin_from_closer),
            ),
        );
        j.key(format!(
            "{}; delivered {} of {} B",
            wire(self.rst_from_closer, self.fin_from_closer),
            self.delivered,
            self.written
        ));
        j
    }
}

/// How the closer ended the connection on the wire, in words.
fn wire(rst: bool, fin: bool) -> &'static str {
    match (rst, fin) {
        (true, false) => "RST, no FIN",
        (false, true) => "FIN, no RST",
        (true, true) => "FIN and RST",
        (false, false) => "neither FIN nor RST",
    }
}

/// l_linger for the timeout cases: the smallest whole second.
const LINGER_SECS: i32 = 1;

/// What a lingering close() (l_linger 1 s) did while the peer's window stayed
/// closed, and what the peer read afterwards.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeoutBlocks {
    /// O_NONBLOCK on the closing socket.
    pub nonblocking: bool,
    pub l_linger_s: i32,
    pub written: usize,
    pub unsent_at_close: usize,
    pub close: Closed,
    /// What the peer read once it started reading, after close() returned.
    pub delivered_after_close: usize,
    /// How the peer's reading ended: an errno name, or none for EOF.
    pub peer_read_error: Option<String>,
    pub rst_from_closer: bool,
    pub fin_from_closer: bool,
}

fn timeout_blocks(_lab: &mut Lab, family: Family, nonblocking: bool) -> Result<TimeoutBlocks> {
    let mut cap = Capture::start("lo")?;
    let st = stalled_pair(&mut cap, family)?;
    st.client.set_nonblocking(nonblocking)?;
    st.client
        .set_linger(true, LINGER_SECS)
        .context("SO_LINGER {1,1}")?;
    let unsent_at_close = st.client.queued(libc::TIOCOUTQ)? as usize;
    phase("in a lingering close()");
    let close = st.client.close();
    // Now the receiver reads: does the data the close "timed out" on still come?
    phase("reading what the orphaned socket still delivers");
    let (delivered_after_close, peer_read_error) = drain(&st.server)?;
    let client_port = st.client_addr.port();
    let segs = cap.segments()?;
    Ok(TimeoutBlocks {
        nonblocking,
        l_linger_s: LINGER_SECS,
        written: st.written,
        unsent_at_close,
        close,
        delivered_after_close,
        peer_read_error,
        rst_from_closer: segs.iter().any(|s| s.rst_from(client_port)),
        fin_from_closer: segs.iter().any(|s| s.fin_from(client_port)),
    })
}

impl TimeoutBlocks {
    /// The kernel's timer fires on a jiffy: allow 50 ms early (HZ=100
    /// rounding) and up to 1.5 s late (a loaded machine).
    fn linger_window(&self) -> (Duration, Duration) {
        let linger = Duration::from_secs(self.l_linger_s.max(0) as u64);
        (
            linger.saturating_sub(Duration::from_millis(50)),
            linger + Duration::from_millis(1500),
        )
    }
}

impl Observation for TimeoutBlocks {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (lo, hi) = self.linger_window();
        let took = self.close.took;
        j.expect(
            "close() blocks for l_linger",
            took >= lo && took <= hi,
            format!("{}..{}", lo.show(), hi.show()),
            took.show(),
        );
        j.expect_eq("close() return value", &0, &self.close.rc);
        j.expect_eq("close() errno", &None, &self.close.errno);
        j.expect_eq(
            "every byte still reaches the peer",
            &self.written,
            &self.delivered_after_close,
        );
        j.expect_eq(
            "the peer's read ends with EOF",
            &None,
            &self.peer_read_error,
        );
        j.expect_eq("the closer sends a FIN", &true, &self.fin_from_closer);
        j.expect_eq("no RST from the closer", &false, &self.rst_from_closer);

        let blocked = took >= lo;
        let timed_out = self.close.errno.as_deref() == Some("ETIMEDOUT");
        let discarded = self.delivered_after_close < self.written;
        let verdict = match (self.nonblocking, blocked, timed_out || discarded) {
            // The non-blocking variant judges the implied claim "it blocks".
            (true, true, _) => Verdict::Holds,
            (true, false, _) => Verdict::Refuted,
            // Blocked and then failed or threw the data away: as claimed.
            (false, true, true) => Verdict::Holds,
            // Blocked, but returned 0 and kept the data: Linux's difference.
            (false, true, false) => Verdict::Differs,
            (false, false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "close() blocked {} (l_linger {} s{}) and returned {}; {} of the {} B written were delivered \
                 afterwards ({} unsent at close), ended by {}",
                took.show(),
                self.l_linger_s,
                if self.nonblocking { ", O_NONBLOCK" } else { "" },
                self.close.errno.as_deref().unwrap_or("0"),
                self.delivered_after_close,
                self.written,
                self.unsent_at_close,
                self.peer_read_error.as_deref().unwrap_or("FIN (EOF)"),
            ),
        );
        j.key(format!(
            "close {} -> {}; delivered {} of {} B",
            took.show(),
            self.close.errno.as_deref().unwrap_or("0"),
            self.delivered_after_close,
            self.written
        ));
        j
    }
}

/// What close() without SO_LINGER did with unsent data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DefaultOff {
    /// SO_LINGER as a new socket reports it: l_onoff, l_linger.
    pub so_linger_onoff: bool,
    pub so_linger_secs: i32,
    pub written: usize,
    pub unsent_at_close: usize,
    pub close: Closed,
    pub delivered: usize,
    pub peer_read_error: Option<String>,
    /// The closer's FIN carries the sequence number right after its last byte.
    pub fin_after_last_byte: bool,
}

fn default_off(_lab: &mut Lab) -> Result<DefaultOff> {
    let mut cap = Capture::start("lo")?;
    let st = stalled_pair(&mut cap, Family::V4)?;
    let (so_linger_onoff, so_linger_secs) = st.client.linger()?;
    let unsent_at_close = st.client.queued(libc::TIOCOUTQ)? as usize;
    let close = st.client.close();
    phase("reading what the closed socket still delivers");
    let (delivered, peer_read_error) = drain(&st.server)?;
    let client_port = st.client_addr.port();
    let segs = cap.segments()?;
    let fin = segs.iter().find(|s| s.fin_from(client_port));
    let last_data_end = segs
        .iter()
        .filter(|s| s.sport == client_port && s.payload > 0)
        .map(|s| s.seq.wrapping_add(s.payload))
        .max();
    Ok(DefaultOff {
        so_linger_onoff,
        so_linger_secs,
        written: st.written,
        unsent_at_close,
        close,
        delivered,
        peer_read_error,
        // The FIN may ride on the last data segment: it ends where the data ends.
        fin_after_last_byte: matches!((fin, last_data_end),
            (Some(f), Some(end)) if f.seq.wrapping_add(f.payload) == end),
    })
}

impl Observation for DefaultOff {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "SO_LINGER on a new socket (l_onoff l_linger)",
            &(false, 0),
            &(self.so_linger_onoff, self.so_linger_secs),
        );
        let at_once = self.close.took < AT_ONCE;
        j.expect(
            "close() returns 0 at once",
            self.close.rc == 0 && at_once,
            format!("0 in < {}", AT_ONCE.show()),
            format!("{} in {}", self.close.rc, self.close.took.show()),
        );
        j.expect_eq(
            "every byte reaches the peer",
            &self.written,
            &self.delivered,
        );
        j.expect_eq(
            "the peer's read ends with EOF",
            &None,
            &self.peer_read_error,
        );
        j.expect_eq(
            "FIN follows the last data byte",
            &true,
            &self.fin_after_last_byte,
        );
        let holds = at_once && self.delivered == self.written;
        j.verdict(
            Verdict::holds_if(holds),
            format!(
                "close() returned {} in {} with {} B unsent; the peer then read {} of {} B and {}; FIN after \
                 the last byte: {}",
                self.close.rc,
                self.close.took.show(),
                self.unsent_at_close,
                self.delivered,
                self.written,
                self.peer_read_error.as_deref().unwrap_or("EOF"),
                self.fin_after_last_byte
            ),
        );
        j.key(format!(
            "close {}; delivered {} of {} B, then FIN",
            self.close.took.show(),
            self.delivered,
            self.written
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn closed(rc: i32, errno: Option<&str>, ms: u64) -> Closed {
        Closed {
            rc,
            errno: errno.map(str::to_string),
            took: Duration::from_millis(ms),
        }
    }

    /// What Linux 6.18 did (a real run's numbers).
    fn zero_rst_linux() -> ZeroRst {
        ZeroRst {
            written: 149_504,
            unsent_at_close: 124_928,
            queued_at_peer: 24_576,
            close: closed(0, None, 0),
            rst_from_closer: true,
            fin_from_closer: false,
            delivered: 24_576,
            peer_read_error: Some("ECONNRESET".into()),
            closer_state: None,
        }
    }

    #[rstest]
    #[case::linux(zero_rst_linux(), Verdict::Holds, &[])]
    // A kernel that ignored l_linger=0: an orderly close, every byte delivered.
    #[case::fin_and_every_byte(ZeroRst {
        rst_from_closer: false, fin_from_closer: true, delivered: 149_504, peer_read_error: None,
        closer_state: Some("FIN_WAIT2".into()), ..zero_rst_linux() },
        Verdict::Refuted,
        &["closer sends RST", "closer sends no FIN", "the peer reads what had arrived before the close",
          "then its read fails with", "unsent bytes never arrive"])]
    // RST sent, yet every byte had already arrived: nothing was thrown away.
    #[case::rst_but_nothing_unsent(ZeroRst {
        unsent_at_close: 0, queued_at_peer: 149_504, delivered: 149_504, ..zero_rst_linux() },
        Verdict::Refuted, &["unsent bytes never arrive"])]
    // Bytes lost without a RST (a FIN, and a peer that lost data): no verdict of holds.
    #[case::discarded_without_rst(ZeroRst { rst_from_closer: false, fin_from_closer: true,
        ..zero_rst_linux() }, Verdict::Refuted, &["closer sends RST", "closer sends no FIN"])]
    #[case::slow_close(ZeroRst { close: closed(0, None, 600), ..zero_rst_linux() },
        Verdict::Holds, &["close() returns 0 at once"])]
    // "At once" is strictly under 500 ms.
    #[case::just_at_once(ZeroRst { close: closed(0, None, 499), ..zero_rst_linux() },
        Verdict::Holds, &[])]
    #[case::not_at_once(ZeroRst { close: closed(0, None, 500), ..zero_rst_linux() },
        Verdict::Holds, &["close() returns 0 at once"])]
    #[case::close_fails(ZeroRst { close: closed(-1, Some("EIO"), 0), ..zero_rst_linux() },
        Verdict::Holds, &["close() returns 0 at once"])]
    #[case::bytes_unaccounted(ZeroRst { written: 200_000, ..zero_rst_linux() },
        Verdict::Holds, &["every byte written was at the peer or unsent when close() was called"])]
    #[case::time_wait_kept(ZeroRst { closer_state: Some("TIME_WAIT".into()), ..zero_rst_linux() },
        Verdict::Holds, &["closer keeps no TIME_WAIT"])]
    #[case::other_state_is_fine(ZeroRst { closer_state: Some("CLOSE".into()), ..zero_rst_linux() },
        Verdict::Holds, &[])]
    fn zero_rst_judgement(#[case] o: ZeroRst, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn zero_rst_says_what_went_on_the_wire() {
        let j = zero_rst_linux().judge();
        assert_eq!("RST, no FIN; delivered 24576 of 149504 B", j.key);
        assert_eq!(
            "wrote 149504 B, 124928 still unsent at close; the peer read 24576 B then ECONNRESET; \
             124928 B discarded; the closer sent RST, no FIN",
            j.because
        );
        assert_eq!("FIN and RST", wire(true, true));
        assert_eq!("neither FIN nor RST", wire(false, false));
    }

    fn timeout_linux(nonblocking: bool) -> TimeoutBlocks {
        TimeoutBlocks {
            nonblocking,
            l_linger_s: 1,
            written: 149_504,
            unsent_at_close: 124_928,
            close: closed(0, None, 1_012),
            delivered_after_close: 149_504,
            peer_read_error: None,
            rst_from_closer: false,
            fin_from_closer: true,
        }
    }

    /// BSD, as the notes describe it: ETIMEDOUT after the linger time, the
    /// data thrown away with a RST.
    fn timeout_bsd() -> TimeoutBlocks {
        TimeoutBlocks {
            close: closed(-1, Some("ETIMEDOUT"), 1_000),
            delivered_after_close: 24_576,
            peer_read_error: Some("ECONNRESET".into()),
            rst_from_closer: true,
            fin_from_closer: false,
            ..timeout_linux(false)
        }
    }

    const RETURNS_0: [&str; 2] = ["close() return value", "close() errno"];

    #[rstest]
    #[case::linux(timeout_linux(false), Verdict::Differs, &[])]
    #[case::bsd(timeout_bsd(), Verdict::Holds,
        &[RETURNS_0[0], RETURNS_0[1], "every byte still reaches the peer", "the peer's read ends with EOF",
          "the closer sends a FIN", "no RST from the closer"])]
    // ETIMEDOUT, but the data still delivered: the claim's failure half holds.
    #[case::etimedout_data_kept(TimeoutBlocks { close: closed(-1, Some("ETIMEDOUT"), 1_000),
        ..timeout_linux(false) }, Verdict::Holds, &RETURNS_0)]
    // Returned 0 but lost data: thrown away, as claimed.
    #[case::discarded_silently(TimeoutBlocks { delivered_after_close: 100, ..timeout_linux(false) },
        Verdict::Holds, &["every byte still reaches the peer"])]
    // Did not block at all.
    #[case::no_block(TimeoutBlocks { close: closed(0, None, 3), ..timeout_linux(false) },
        Verdict::Refuted, &["close() blocks for l_linger"])]
    #[case::far_too_long(TimeoutBlocks { close: closed(0, None, 2_600), ..timeout_linux(false) },
        Verdict::Differs, &["close() blocks for l_linger"])]
    #[case::just_inside(TimeoutBlocks { close: closed(0, None, 950), ..timeout_linux(false) },
        Verdict::Differs, &[])]
    #[case::just_early(TimeoutBlocks { close: closed(0, None, 949), ..timeout_linux(false) },
        Verdict::Refuted, &["close() blocks for l_linger"])]
    #[case::latest(TimeoutBlocks { close: closed(0, None, 2_500), ..timeout_linux(false) },
        Verdict::Differs, &[])]
    #[case::nonblocking_linux(timeout_linux(true), Verdict::Holds, &[])]
    // BSD with O_NONBLOCK: EWOULDBLOCK at once.
    #[case::nonblocking_bsd(TimeoutBlocks { close: closed(-1, Some("EWOULDBLOCK"), 0),
        ..timeout_linux(true) }, Verdict::Refuted,
        &["close() blocks for l_linger", RETURNS_0[0], RETURNS_0[1]])]
    #[case::nonblocking_timed_out(TimeoutBlocks { close: closed(-1, Some("ETIMEDOUT"), 1_000),
        ..timeout_linux(true) }, Verdict::Holds, &RETURNS_0)]
    #[case::rc_zero_with_errno(TimeoutBlocks { close: closed(0, Some("EINTR"), 1_000),
        ..timeout_linux(false) }, Verdict::Differs, &["close() errno"])]
    fn timeout_judgement(
        #[case] o: TimeoutBlocks,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn timeout_window_and_words() {
        assert_eq!(
            (Duration::from_millis(950), Duration::from_millis(2_500)),
            timeout_linux(false).linger_window()
        );
        let j = timeout_linux(true).judge();
        assert_eq!("close 1012 ms -> 0; delivered 149504 of 149504 B", j.key);
        assert_eq!(
            "close() blocked 1012 ms (l_linger 1 s, O_NONBLOCK) and returned 0; 149504 of the 149504 B \
             written were delivered afterwards (124928 unsent at close), ended by FIN (EOF)",
            j.because
        );
        let bsd = timeout_bsd().judge();
        assert!(
            bsd.because.contains("returned ETIMEDOUT")
                && bsd.because.contains("ended by ECONNRESET")
        );
        assert!(!bsd.because.contains("O_NONBLOCK"));
    }

    fn default_off_linux() -> DefaultOff {
        DefaultOff {
            so_linger_onoff: false,
            so_linger_secs: 0,
            written: 149_504,
            unsent_at_close: 124_928,
            close: closed(0, None, 0),
            delivered: 149_504,
            peer_read_error: None,
            fin_after_last_byte: true,
        }
    }

    #[rstest]
    #[case::linux(default_off_linux(), Verdict::Holds, &[])]
    #[case::lingering_by_default(DefaultOff { so_linger_onoff: true, so_linger_secs: 0,
        ..default_off_linux() }, Verdict::Holds, &["SO_LINGER on a new socket (l_onoff l_linger)"])]
    #[case::linger_time_set(DefaultOff { so_linger_secs: 5, ..default_off_linux() },
        Verdict::Holds, &["SO_LINGER on a new socket (l_onoff l_linger)"])]
    #[case::blocking_close(DefaultOff { close: closed(0, None, 1_000), ..default_off_linux() },
        Verdict::Refuted, &["close() returns 0 at once"])]
    #[case::just_at_once(DefaultOff { close: closed(0, None, 499), ..default_off_linux() },
        Verdict::Holds, &[])]
    #[case::not_at_once(DefaultOff { close: closed(0, None, 500), ..default_off_linux() },
        Verdict::Refuted, &["close() returns 0 at once"])]
    #[case::failing_close(DefaultOff { close: closed(-1, Some("EIO"), 0), ..default_off_linux() },
        Verdict::Holds, &["close() returns 0 at once"])]
    #[case::data_lost(DefaultOff { delivered: 24_576, peer_read_error: Some("ECONNRESET".into()),
        fin_after_last_byte: false, ..default_off_linux() }, Verdict::Refuted,
        &["every byte reaches the peer", "the peer's read ends with EOF", "FIN follows the last data byte"])]
    fn default_off_judgement(
        #[case] o: DefaultOff,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn default_off_words() {
        let j = default_off_linux().judge();
        assert_eq!("close 0 ms; delivered 149504 of 149504 B, then FIN", j.key);
        assert_eq!(
            "close() returned 0 in 0 ms with 124928 B unsent; the peer then read 149504 of 149504 B and EOF; \
             FIN after the last byte: true",
            j.because
        );
    }
}
