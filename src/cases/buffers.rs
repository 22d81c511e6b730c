//! SO_RCVBUF / SO_SNDBUF, the low-water marks and the socket timeouts (004
//! §5.1, §5.2; the blog post's SO_TIMEOUT).
//!
//! The buffer cases size a buffer, fill it (a receiver that does not read, a
//! sender whose peer's window is closed) and measure what the kernel really
//! holds: getsockopt's answer, the kernel's own accounting (SO_MEMINFO, which a
//! libc that ignores an option cannot echo), the bytes queued at each end, the
//! windows on the wire, and what select()/poll() say.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::opt;
use crate::lab::packet::Segment;
use crate::lab::record::mark;
use crate::lab::sock::result_name;
use crate::lab::{flow, phase, procnet, wait, Capture, Family, Lab, Privilege, Sock, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &POST_CONNECT,
    &SET_1024,
    &DOUBLING,
    &EXCESS_DISCARDED,
    &WRITE_BLOCKS,
    &RCVLOWAT,
    &SNDLOWAT,
    &SO_TIMEOUT,
];

pub static POST_CONNECT: Case = Case {
    id: "bufsize.post_connect",
    source: Source::LectureNotes("5.2 SO_RCVBUF/SO_SNDBUF"),
    claim: "the buffer size cannot be changed once the three-way handshake is done",
    expectation: "setsockopt(SO_RCVBUF) after the handshake succeeds and getsockopt and the kernel's own \
                  accounting report the new (doubled) size. What reaches the wire is bounded by the handshake: \
                  the window scale was fixed in the SYN-ACK, so no window advertised afterwards exceeds 65535 << \
                  that scale. Within that bound kernels differ, and the verdict says which one ran: up to 6.18 \
                  the window stays at the clamp computed from the handshake-time buffer (4096 B for 8 KiB), so \
                  the size changes but the window does not; 7.x lets the new buffer raise the window after the \
                  handshake, up to the scale's limit (65535 B with scale 0)",
    run: &Measure(post_connect),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVBUF],
};

pub static SET_1024: Case = Case {
    id: "rcvbuf.set_1024",
    source: Source::LectureNotes("5.1 chg_rcvbuf"),
    claim: "a new TCP socket has a default receive buffer, and setting SO_RCVBUF to 1024 makes it 1024 bytes",
    expectation: "the default reads back as net.ipv4.tcp_rmem[1]; after setting 1024, getsockopt reports \
                  2304 on x86_64: the kernel doubles the value (room for its bookkeeping) and raises it to \
                  SOCK_MIN_RCVBUF (2048 + sizeof(struct sk_buff)). On the wire the socket's SYN offers a window \
                  far below a default socket's, and a peer writing into it stalls after a few hundred bytes to \
                  ~1 KiB, against tens of KiB for a default socket",
    run: &Measure(set_1024),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVBUF],
};

pub static DOUBLING: Case = Case {
    id: "rcvbuf.doubling",
    source: Source::LectureNotes("5.2 SO_RCVBUF/SO_SNDBUF"),
    claim: "the user sets the send and receive buffer sizes: the size set is the size used",
    expectation: "getsockopt reports twice the value set (socket(7): the kernel doubles it to allow for \
                  bookkeeping), never below SOCK_MIN_RCVBUF / SOCK_MIN_SNDBUF, and the value is first clamped to \
                  net.core.rmem_max / wmem_max (a negative value clamps to the maximum). The effect follows the \
                  doubled value: a non-reading receiver takes in between the size set and twice it, a sender \
                  queues up to about the doubled size before EAGAIN, and above the clamp nothing grows. \
                  SO_RCVBUFFORCE / SO_SNDBUFFORCE pass the clamp with CAP_NET_ADMIN (root), and fail with EPERM \
                  in a user namespace",
    run: &Measure(doubling),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVBUF, opt::SO_SNDBUF, opt::SO_RCVBUFFORCE, opt::SO_SNDBUFFORCE],
};

pub static EXCESS_DISCARDED: Case = Case {
    id: "rcvbuf.excess_discarded",
    source: Source::LectureNotes("5.2 SO_RCVBUF/SO_SNDBUF"),
    claim: "TCP tells the peer its free receive space (the window); data beyond that free space is thrown away",
    expectation: "TCP: the window stops the sender before the buffer overflows, so nothing is thrown away: a \
                  blocking sender sleeps in send() (a non-blocking one gets EAGAIN) while the receiver advertises \
                  a zero window, and once the receiver reads, every byte arrives intact (count and checksum). \
                  UDP has no window: datagrams arriving at a full receive buffer are dropped, counted in \
                  Udp RcvbufErrors and the socket's drop counter (SO_RXQ_OVFL)",
    run: &Measure(excess_discarded),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVBUF, opt::SO_RXQ_OVFL],
};

pub static WRITE_BLOCKS: Case = Case {
    id: "sndbuf.write_blocks_when_full",
    source: Source::LectureNotes("5.2 SO_RCVBUF/SO_SNDBUF"),
    claim: "write() copies data into the send buffer, and blocks when the send buffer is full",
    expectation: "with the peer's window closed and the send buffer full, a blocking send() sleeps in the kernel \
                  (the thread sits in sendto) until the peer reads, then returns the whole count; with O_NONBLOCK \
                  send() fails with EAGAIN instead, and once some space is free (poll says POLLOUT) a large send() \
                  returns a partial count",
    run: &Measure(write_blocks),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_SNDBUF],
};

pub static RCVLOWAT: Case = Case {
    id: "lowat.rcvlowat",
    source: Source::LectureNotes("5.2 SO_RCVLOWAT/SO_SNDLOWAT"),
    claim: "select() reports a socket readable once 1 byte has arrived; SO_RCVLOWAT raises that threshold",
    expectation: "SO_RCVLOWAT defaults to 1 and can be set on Linux: with it at 1000 and 500 bytes queued, \
                  select() and poll() do not report the socket readable, and with 1100 queued they do. Linux \
                  goes further than the notes: a blocking recv() also honours the mark. It takes the 500 bytes \
                  there and sleeps on; it is woken only when the bytes still unread reach the mark, so 600 more \
                  (1100 in all for this call) leave it asleep and it returns 1700 after another 600. A \
                  non-blocking recv() returns what is there",
    run: &Measure(rcvlowat),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVLOWAT],
};

pub static SNDLOWAT: Case = Case {
    id: "lowat.sndlowat",
    source: Source::LectureNotes("5.2 SO_RCVLOWAT/SO_SNDLOWAT"),
    claim: "select() reports a socket writable once 2048 bytes of the send buffer are free; SO_SNDLOWAT changes \
            that amount",
    expectation: "on Linux SO_SNDLOWAT cannot be set (setsockopt fails with ENOPROTOOPT, socket(7)) and reads \
                  back as 1. A TCP socket is writable for select()/poll() while its free send-buffer space is at \
                  least half of what is queued (sk_stream_wspace >= sk_stream_min_wspace: a third of the buffer \
                  free), so it stops being writable with tens of KiB free. What moves the threshold on Linux is \
                  TCP_NOTSENT_LOWAT: poll reports writable only while twice the unsent bytes stay below it, and \
                  send() gets EAGAIN once the unsent bytes reach it, with the buffer mostly empty",
    run: &Measure(sndlowat),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_SNDLOWAT, opt::TCP_NOTSENT_LOWAT],
};

pub static SO_TIMEOUT: Case = Case {
    id: "timeout.so_timeout",
    source: Source::BlogPost,
    claim: "setsockopt(SOL_SOCKET, SO_TIMEOUT, 10) sets how long a blocking socket waits for input",
    expectation: "Linux has no SO_TIMEOUT (neither do its headers nor Python's socket module): option number \
                  0x1006, which is SO_TIMEOUT in Java and SO_RCVTIMEO on the BSDs, is refused with ENOPROTOOPT. \
                  The Linux options are SO_RCVTIMEO and SO_SNDTIMEO, and they take a struct timeval: the blog's \
                  plain integer is refused with EINVAL. With SO_RCVTIMEO 200 ms a blocking recv() on an idle \
                  connection fails with EAGAIN after 200 ms; with SO_SNDTIMEO 200 ms a send() into a full buffer \
                  returns the partial count it copied after 200 ms, and the next one fails with EAGAIN after 200 ms",
    run: &Measure(so_timeout),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVTIMEO, opt::SO_SNDTIMEO, opt::SO_TIMEOUT_BSD],
};

// ---------------------------------------------------------------------------
// Helpers shared by the cases of this file.

/// A syscall's outcome ("ok" or an errno name) in a sentence.
fn outcome(result: &str) -> String {
    if result == "ok" {
        "succeeded".into()
    } else {
        format!("failed with {result}")
    }
}

/// Reads exactly `n` bytes from `s` (blocking).
fn read_exact(s: &Sock, mut n: usize) -> Result<()> {
    let mut buf = vec![0u8; 65536];
    while n > 0 {
        let want = n.min(buf.len());
        let got = s.recv(&mut buf[..want], 0).context("recv")?;
        anyhow::ensure!(got != 0, "peer closed early with {n} bytes to go");
        n -= got;
    }
    Ok(())
}

/// The windows `from_port` advertised after the handshake, scaled.
fn windows(segs: &[Segment], from_port: u16, scale: u8) -> impl Iterator<Item = u64> + '_ {
    segs.iter()
        .filter(move |s| s.sport == from_port && !s.flags.syn)
        .map(move |s| (s.window as u64) << scale)
}

/// The largest window sent from `from_port` after the handshake, scaled.
fn largest_window(segs: &[Segment], from_port: u16, scale: u8) -> u64 {
    windows(segs, from_port, scale).max().unwrap_or(0)
}

/// A loopback pair whose accepted side (`server`) receives with SO_RCVBUF
/// `rcvbuf`, set on the listener before the handshake and inherited, and whose
/// `client` sends with SO_SNDBUF `sndbuf`.
fn sized_pair(rcvbuf: i32, sndbuf: i32) -> Result<TcpPair> {
    TcpPair::connect_with(
        SocketAddr::new(Family::V4.loopback(), 0),
        |l| Ok(l.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, rcvbuf)?),
        |c| Ok(c.set_int(libc::SOL_SOCKET, libc::SO_SNDBUF, sndbuf)?),
    )
}

/// Whether thread `tid`, writing on `sender`, falls asleep in sendto while
/// the peer's window is closed (a full buffer that cannot drain).
fn asleep_at_closed_window(tid: i32, sender: &Sock) -> bool {
    phase("waiting for the writer to sleep in sendto at a closed window");
    wait::until(
        "the writer asleep in sendto while the peer's window is closed",
        Duration::from_secs(5),
        || {
            Ok(
                (wait::blocked_in(tid, libc::SYS_sendto)? && flow::window_closed(sender)?)
                    .then_some(()),
            )
        },
    )
    .is_ok()
}

/// How the asleep-at-a-closed-window checks word what they expect.
const ASLEEP_AT_CLOSED_WINDOW: &str = "asleep in sendto, zero-window probe timer armed";

/// What an asleep-at-a-closed-window check observed, in words.
fn asleep_words(asleep: bool) -> &'static str {
    if asleep {
        ASLEEP_AT_CLOSED_WINDOW
    } else {
        "not asleep at a closed window"
    }
}

/// The kernel's own size of the buffer that `opt` (SO_RCVBUF, SO_SNDBUF or
/// a FORCE variant) sets, from SO_MEMINFO: what TCP fills against, and a
/// number a libc that ignores the option cannot echo back.
fn kernel_buffer(s: &Sock, opt: i32) -> Result<u32> {
    let m = flow::meminfo(s).context("getsockopt(SO_MEMINFO)")?;
    Ok(match opt {
        libc::SO_RCVBUF | libc::SO_RCVBUFFORCE => m.rcvbuf,
        _ => m.sndbuf,
    })
}

// ---------------------------------------------------------------------------
// bufsize.post_connect

/// Receive buffer the listener has at handshake time (small: its SYN-ACK
/// announces the window scale this size calls for).
const SYN_RCVBUF: i32 = 4096;
/// Receive buffer set after the handshake.
const NEW_RCVBUF: i32 = 1 << 20;
const PHASE1: usize = 64 * 1024;
// Enough segments for the receiver to grow its window if it could, few
// enough for the capture to keep every frame.
const PHASE2: usize = 512 * 1024;
/// What the receiver advertised in a phase is judged on at least this share
/// of the advertisements the phase's bytes need: each advertisement moves
/// the window's right edge by at most the largest window, so `bytes / largest`
/// of them let the bytes through; a capture that saw fewer than half as many
/// missed frames (half: a phase can start with a window already open).
fn least_advertisements(bytes: usize, largest_window: u64) -> usize {
    (bytes as u64 / (2 * largest_window.max(1))) as usize
}

/// What SO_RCVBUF set after the handshake did to getsockopt, the kernel's
/// buffer and the windows the receiver advertised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PostConnect {
    /// SO_RCVBUF of the accepted socket at handshake time (4096 set on the
    /// listener before listen()).
    pub rcvbuf_at_handshake: i32,
    /// setsockopt(SO_RCVBUF, 1 MiB) after the handshake: ok or an errno name.
    pub set_after_handshake: String,
    /// SO_RCVBUF read back after it.
    pub rcvbuf_after: i32,
    /// The kernel's receive buffer after it (SO_MEMINFO).
    pub rcvbuf_in_kernel_after: u32,
    /// net.core.rmem_max.
    pub rmem_max: i64,
    /// Window scale in the receiver's SYN-ACK (0 without the option).
    pub synack_wscale: u8,
    /// Largest window (scaled, bytes) the receiver advertised before the change.
    pub largest_window_before: u64,
    /// ... and after it, while 512 KiB more flowed.
    pub largest_window_after: u64,
    /// Segments the receiver sent (each advertising its window) before and
    /// after the change: the evidence behind the two largest windows.
    pub advertisements_before: usize,
    pub advertisements_after: usize,
}

fn post_connect(_lab: &mut Lab) -> Result<PostConnect> {
    let rmem_max = procnet::sysctl_int("net/core/rmem_max")?;
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::connect_with(
        SocketAddr::new(Family::V4.loopback(), 0),
        |l| Ok(l.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, SYN_RCVBUF)?),
        |_| Ok(()),
    )?;
    let port = pair.port()?;
    let TcpPair {
        client,
        server,
        listener: _l,
    } = pair;
    let before = server.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?;

    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (set_result, after, in_kernel, seen) = std::thread::scope(|s| -> Result<_> {
        let writer = s.spawn(move || -> Result<()> {
            let data = vec![0x33u8; PHASE1.max(PHASE2)];
            client.send_all(&data[..PHASE1]).context("phase 1 send")?;
            go_rx.recv().context("waiting for the buffer change")?;
            client.send_all(&data[..PHASE2]).context("phase 2 send")?;
            client.shutdown(libc::SHUT_WR).context("shutdown")?;
            Ok(())
        });
        read_exact(&server, PHASE1)?;
        let seen = cap.frames()?.len();
        mark("setsockopt(SO_RCVBUF, 1 MiB) after the handshake");
        let set_result = server.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, NEW_RCVBUF);
        let after = server.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?;
        let in_kernel = kernel_buffer(&server, libc::SO_RCVBUF)?;
        go_tx.send(()).context("release the writer")?;
        read_exact(&server, PHASE2)?;
        writer
            .join()
            .map_err(|_| anyhow::anyhow!("writer thread panicked"))??;
        Ok((set_result, after, in_kernel, seen))
    })?;

    let frames = cap.frames()?;
    let segs_before: Vec<Segment> = frames[..seen].iter().filter_map(|f| f.segment()).collect();
    let segs_after: Vec<Segment> = frames[seen..].iter().filter_map(|f| f.segment()).collect();
    let synack = segs_before
        .iter()
        .find(|s| s.sport == port && s.flags.syn)
        .context("no SYN-ACK captured")?;
    let scale = synack.wscale.unwrap_or(0);
    Ok(PostConnect {
        rcvbuf_at_handshake: before,
        set_after_handshake: result_name(&set_result),
        rcvbuf_after: after,
        rcvbuf_in_kernel_after: in_kernel,
        rmem_max,
        synack_wscale: scale,
        largest_window_before: largest_window(&segs_before, port, scale),
        largest_window_after: largest_window(&segs_after, port, scale),
        advertisements_before: windows(&segs_before, port, scale).count(),
        advertisements_after: windows(&segs_after, port, scale).count(),
    })
}

impl PostConnect {
    /// The largest window the SYN-ACK's scale can express.
    fn window_limit(&self) -> u64 {
        65535u64 << self.synack_wscale.min(14)
    }
}

// The rule behind this judgement. The window a receiver advertises
// (tcp_select_window / __tcp_select_window) is its free space, capped by
// rcv_ssthresh and by window_clamp, both of which start from the buffer it had
// at the handshake, and then by 65535 << the window scale it announced in its
// SYN-ACK (RFC 7323: the scale cannot change once the connection is set up).
// Up to 6.18, SO_RCVBUF set later changes sk_rcvbuf (getsockopt, SO_MEMINFO)
// but not the clamp: the buffer is locked (SOCK_RCVBUF_LOCK), so receive-buffer
// autotuning never raises window_clamp, tcp_grow_window never takes
// rcv_ssthresh past it, and the window stays at the 4096 B computed from the
// 8 KiB buffer of the handshake. On 7.2.13 and 7.3-rc7 (the kernel matrix)
// the window grows after the change to 65535 B, the most scale 0 can say: so
// 7.x lets the new buffer raise the clamp (and rcv_ssthresh grows up to it)
// after the handshake, and only the scale still holds the window back.
// Both are Linux, so the checks ask only what both do (the buffer changes; the
// window stays within what the handshake's scale can express), and the
// verdict says which of the two the measured windows show: a window larger
// after the change than before refutes the notes' claim.
impl Observation for PostConnect {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (before, after) = (self.largest_window_before, self.largest_window_after);
        let limit = self.window_limit();
        j.expect_eq(
            "the buffer at handshake time is the 4096 set on the listener, doubled",
            &(2 * SYN_RCVBUF),
            &self.rcvbuf_at_handshake,
        );
        j.expect_eq(
            "setsockopt after the handshake",
            "ok",
            self.set_after_handshake.as_str(),
        );
        j.expect_eq(
            "getsockopt reports min(size, rmem_max) doubled",
            &((NEW_RCVBUF as i64).min(self.rmem_max) * 2),
            &(self.rcvbuf_after as i64),
        );
        j.expect_eq(
            "the kernel's own receive buffer (SO_MEMINFO) is what getsockopt reports",
            &(self.rcvbuf_after as i64),
            &(self.rcvbuf_in_kernel_after as i64),
        );
        j.expect(
            "the new size would allow a larger window",
            (self.rcvbuf_after.max(0) as u64) / 2 > before.max(1) * 4,
            format!("more than {} B (4 x the window before)", before * 4),
            format!("{} B (half the buffer)", self.rcvbuf_after / 2),
        );
        let (least_before, least_after) = (
            least_advertisements(PHASE1, before),
            least_advertisements(PHASE2, after),
        );
        j.expect(
            "the receiver advertised its window often enough to judge it, before and after",
            self.advertisements_before >= least_before && self.advertisements_after >= least_after,
            format!(
                "at least {least_before} and {least_after} times (half of {PHASE1} and {PHASE2} B over the \
                 largest window)"
            ),
            format!(
                "{} and {} times",
                self.advertisements_before, self.advertisements_after
            ),
        );
        j.expect(
            "before the change the window is within the handshake-time buffer",
            before <= self.rcvbuf_at_handshake.max(0) as u64,
            format!("at most {} B", self.rcvbuf_at_handshake),
            format!("{before} B"),
        );
        j.expect(
            "after the change the window stays within 65535 << SYN-ACK scale",
            after <= limit,
            format!("at most {limit} B (scale {})", self.synack_wscale),
            format!("{after} B"),
        );
        let accepted = self.set_after_handshake == "ok";
        let grows = after > before;
        let verdict = match (accepted, grows) {
            (false, _) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (true, true) => Verdict::Refuted,
        };
        let set = format!(
            "setsockopt(SO_RCVBUF, {NEW_RCVBUF}) after the handshake {} and getsockopt went from {} to {}",
            outcome(&self.set_after_handshake),
            self.rcvbuf_at_handshake,
            self.rcvbuf_after,
        );
        let scale = format!(
            "SYN-ACK window scale {}, at most {limit} B",
            self.synack_wscale
        );
        let because = match verdict {
            Verdict::Refuted => format!(
                "{set}, and the largest window the receiver advertised went from {before} to {after} B: the new \
                 buffer reaches the wire after the handshake, as far as the handshake's window scale lets a \
                 window say ({scale})"
            ),
            Verdict::Holds => format!(
                "{set}: the size cannot be changed after the handshake, and the largest window the receiver \
                 advertised went from {before} to {after} B ({scale})"
            ),
            _ => format!(
                "{set}, yet the largest window the receiver advertised went from {before} to {after} B: the \
                 window stays at the clamp computed from the {}-byte buffer at handshake time ({scale})",
                self.rcvbuf_at_handshake,
            ),
        };
        j.verdict(verdict, because);
        j.key(format!(
            "set after the handshake: {}, {} -> {} B; largest window {before} -> {after} B (limit {limit}, \
             scale {})",
            self.set_after_handshake, self.rcvbuf_at_handshake, self.rcvbuf_after, self.synack_wscale
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// rcvbuf.set_1024

/// The notes' example value.
const NOTES_RCVBUF: i32 = 1024;

/// The three values of a tcp_rmem / tcp_wmem style sysctl (min, default, max).
fn sysctl_triple(name: &str) -> Result<[i64; 3]> {
    parse_triple(name, &procnet::sysctl(name)?)
}

fn parse_triple(name: &str, text: &str) -> Result<[i64; 3]> {
    let v: Vec<i64> = text
        .split_whitespace()
        .map(|x| x.parse().with_context(|| format!("{name} = {text}")))
        .collect::<Result<_>>()?;
    v.try_into()
        .map_err(|_| anyhow::anyhow!("{name} = {text}: expected three values"))
}

/// What one receiving socket did: its SYN, the windows it advertised and the
/// bytes it took in while its application read nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Receiver {
    /// The window in its SYN, as on the wire (SYN windows are never scaled).
    pub syn_window: u16,
    pub syn_wscale: Option<u8>,
    /// The largest window it advertised after the handshake, scaled, in bytes.
    pub largest_window: u64,
    /// Bytes queued in it (FIONREAD) once its window had closed.
    pub bytes_taken_in: i32,
    /// Bytes the peer's kernel accepted from the writing application.
    pub bytes_written_by_peer: usize,
    /// Of those, still in the peer's send queue (TIOCOUTQ).
    pub unsent_at_peer: i32,
}

/// A client (prepared by `prep`) connects on loopback and reads nothing; the
/// accepted side writes until the client's window is closed.
fn receiving_client(cap: &mut Capture, prep: impl FnOnce(&Sock) -> Result<()>) -> Result<Receiver> {
    let pair = TcpPair::connect_with(SocketAddr::new(Family::V4.loopback(), 0), |_| Ok(()), prep)?;
    let port = pair.client.local_addr()?.port();
    phase("writing until the client's window is closed");
    let written = flow::fill_until_window_closed(&pair.server, 4096, Duration::from_secs(5))?;
    let taken_in = pair.client.queued(libc::FIONREAD)?;
    let unsent = pair.server.queued(libc::TIOCOUTQ)?;
    let segs = cap.segments()?;
    // The last of each: a retransmitted SYN (or SYN-ACK) is the one that counted.
    let syn = segs
        .iter()
        .rfind(|s| s.sport == port && s.flags.syn)
        .context("no SYN captured from the client")?;
    let synack = segs
        .iter()
        .rfind(|s| s.dport == port && s.flags.syn && s.flags.ack)
        .context("no SYN-ACK captured")?;
    // Window scaling is in force only when both SYNs carry the option.
    let scale = match (syn.wscale, synack.wscale) {
        (Some(c), Some(_)) => c,
        _ => 0,
    };
    Ok(Receiver {
        syn_window: syn.window,
        syn_wscale: syn.wscale,
        largest_window: largest_window(&segs, port, scale),
        bytes_taken_in: taken_in,
        bytes_written_by_peer: written,
        unsent_at_peer: unsent,
    })
}

/// SO_RCVBUF on a new socket and after setting 1024, and what a receiver
/// with each takes in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Set1024 {
    /// net.ipv4.tcp_rmem: min, default, max.
    pub tcp_rmem: [i64; 3],
    /// SO_RCVBUF of a new TCP socket.
    pub default_rcvbuf: i32,
    /// setsockopt(SO_RCVBUF, 1024): ok or an errno name.
    pub set_1024: String,
    /// SO_RCVBUF read back after it.
    pub rcvbuf_after_1024: i32,
    pub default_socket: Receiver,
    pub socket_with_1024: Receiver,
}

fn set_1024(_lab: &mut Lab) -> Result<Set1024> {
    let tcp_rmem = sysctl_triple("net/ipv4/tcp_rmem")?;
    let fresh = Sock::tcp(Family::V4)?;
    let default_rcvbuf = fresh.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?;
    let set = fresh.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, NOTES_RCVBUF);
    let rcvbuf_after_1024 = fresh.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?;

    let mut cap = Capture::start("lo")?;
    let default_socket = receiving_client(&mut cap, |_| Ok(()))?;
    drop(cap);
    let mut cap = Capture::start("lo")?;
    let socket_with_1024 = receiving_client(&mut cap, |c| {
        Ok(c.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, NOTES_RCVBUF)?)
    })?;
    Ok(Set1024 {
        tcp_rmem,
        default_rcvbuf,
        set_1024: result_name(&set),
        rcvbuf_after_1024,
        default_socket,
        socket_with_1024,
    })
}

impl Observation for Set1024 {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (plain, small) = (&self.default_socket, &self.socket_with_1024);
        let reported = self.rcvbuf_after_1024;
        j.expect_eq(
            "a new socket's SO_RCVBUF is tcp_rmem[1]",
            &self.tcp_rmem[1],
            &(self.default_rcvbuf as i64),
        );
        j.expect_eq("setsockopt(SO_RCVBUF, 1024)", "ok", self.set_1024.as_str());
        let doubled = 2 * NOTES_RCVBUF;
        j.expect(
            "getsockopt reports 1024 doubled, raised to SOCK_MIN_RCVBUF",
            reported > doubled && reported <= 2 * doubled,
            format!(
                "more than {doubled}, at most {} (2304 on x86_64)",
                2 * doubled
            ),
            reported.show(),
        );
        j.expect(
            "the SYN offers a smaller window than a default socket's",
            small.syn_window < plain.syn_window && (small.syn_window as i32) <= reported,
            format!("below {} and at most {reported} B", plain.syn_window),
            format!("{} B", small.syn_window),
        );
        j.expect(
            "no window advertised while receiving exceeds the buffer",
            small.largest_window <= reported.max(0) as u64,
            format!("at most {reported} B"),
            format!("{} B", small.largest_window),
        );
        j.expect(
            "a non-reading receiver takes in no more than the buffer",
            small.bytes_taken_in > 0 && small.bytes_taken_in <= reported,
            format!("1 to {reported} B"),
            format!("{} B", small.bytes_taken_in),
        );
        j.expect(
            "a default socket advertises a far larger window",
            plain.largest_window > 8 * small.largest_window,
            format!("more than 8 x {} B", small.largest_window),
            format!("{} B", plain.largest_window),
        );
        j.expect(
            "a default socket takes in far more",
            plain.bytes_taken_in > 8 * small.bytes_taken_in,
            format!("more than 8 x {} B", small.bytes_taken_in),
            format!("{} B", plain.bytes_taken_in),
        );
        for (who, r) in [("the default socket", plain), ("the 1024 socket", small)] {
            j.expect(
                &format!(
                    "{who}: every byte its peer wrote is taken in or still unsent at the peer"
                ),
                r.bytes_written_by_peer as i64 == r.bytes_taken_in as i64 + r.unsent_at_peer as i64,
                format!("{} B", r.bytes_written_by_peer),
                format!("{} + {} B", r.bytes_taken_in, r.unsent_at_peer),
            );
        }

        let no_effect = small.bytes_taken_in * 2 >= plain.bytes_taken_in;
        let verdict = if no_effect {
            Verdict::Refuted
        } else if reported == NOTES_RCVBUF && small.bytes_taken_in <= NOTES_RCVBUF {
            Verdict::Holds
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "a new socket's SO_RCVBUF is {} (tcp_rmem[1] is {}); after setting {NOTES_RCVBUF} getsockopt \
                 says {reported}. Its SYN offered a {}-byte window (a default socket's: {} B), the largest \
                 window it advertised was {} B, and it took in {} B before its window closed (a default \
                 socket: {} B)",
                self.default_rcvbuf,
                self.tcp_rmem[1],
                small.syn_window,
                plain.syn_window,
                small.largest_window,
                small.bytes_taken_in,
                plain.bytes_taken_in
            ),
        );
        j.key(format!(
            "default {}, set 1024 -> {reported}; SYN window {} B (default {} B), takes in {} B (default {} B)",
            self.default_rcvbuf,
            small.syn_window,
            plain.syn_window,
            small.bytes_taken_in,
            plain.bytes_taken_in
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// rcvbuf.doubling

/// Sizes whose effect is measured: each a factor 4 above the previous one.
const EFFECT_SIZES: [i32; 4] = [4096, 16384, 65536, 262144];

/// One size set on a fresh socket, and what came back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadBack {
    pub set: i32,
    /// getsockopt's answer.
    pub reported: i32,
    /// The kernel's own buffer size (SO_MEMINFO).
    pub in_kernel: u32,
}

/// SO_RCVBUF or SO_SNDBUF (`opt`) set to `set` on a fresh socket, read back.
fn read_back(opt: i32, set: i32) -> Result<ReadBack> {
    let s = Sock::tcp(Family::V4)?;
    s.set_int(libc::SOL_SOCKET, opt, set)
        .with_context(|| format!("setsockopt({opt}, {set})"))?;
    Ok(ReadBack {
        set,
        reported: s.get_int(libc::SOL_SOCKET, opt)?,
        in_kernel: kernel_buffer(&s, opt)?,
    })
}

/// Sizes read back: tiny ones (floor), ordinary ones, and around the clamp.
fn probe_sizes(max: i64) -> Vec<i32> {
    let max = int_max(max);
    vec![0, 1, 1024, 4096, 65536, 1 << 20, max, max + 1, 2 * max, -1]
}

/// rmem_max / wmem_max as a value setsockopt can take twice over.
fn int_max(max: i64) -> i32 {
    max.min(i32::MAX as i64 / 2) as i32
}

/// What sock_setsockopt makes of SO_RCVBUF / SO_SNDBUF `set`:
/// max(2 x min((u32) set, max), floor).
fn doubled_and_clamped(set: i32, max: i64, floor: i64) -> i64 {
    (2 * (set as u32 as i64).min(max)).max(floor)
}

/// What the FORCE variants make of `set` (with CAP_NET_ADMIN): no clamp, a
/// negative value taken as 0, then doubled, never beyond INT_MAX.
fn forced_size(set: i32, floor: i64) -> i64 {
    (2 * set.clamp(0, i32::MAX / 2) as i64).max(floor)
}

/// The effect of one setting on a connection filled until the receiver's
/// window closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    pub set: i32,
    pub reported: i32,
    /// The kernel's own buffer size (SO_MEMINFO).
    pub in_kernel: u32,
    /// Bytes the measured socket held once filled: taken in by a non-reading
    /// receiver (FIONREAD), or queued by a sender whose peer's window is
    /// closed (TIOCOUTQ).
    pub bytes: i64,
    /// Bytes the other end held at the same time.
    pub peer_bytes: i64,
    /// Bytes the sending application got the kernel to accept.
    pub written: i64,
}

/// Sender-side buffer used while measuring a receive buffer: fixed, so that
/// only the receiver's setting varies.
const PROBE_SNDBUF: i32 = 1 << 20;
/// Receive buffer of the peer while measuring a send buffer: small, so its
/// window closes at once and everything else stays in the sender's queue.
const PROBE_RCVBUF: i32 = 4096;

/// Bytes a non-reading receiver with SO_RCVBUF `size` (set on the listener,
/// before the handshake) takes in.
fn rcv_effect(size: i32) -> Result<Effect> {
    let pair = sized_pair(size, PROBE_SNDBUF)?;
    phase(&format!("filling a receiver with SO_RCVBUF {size}"));
    let written = flow::fill_until_window_closed(&pair.client, 65536, Duration::from_secs(5))?;
    Ok(Effect {
        set: size,
        reported: pair.server.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?,
        in_kernel: kernel_buffer(&pair.server, libc::SO_RCVBUF)?,
        bytes: pair.server.queued(libc::FIONREAD)? as i64,
        peer_bytes: pair.client.queued(libc::TIOCOUTQ)? as i64,
        written: written as i64,
    })
}

/// Bytes a sender with SO_SNDBUF `size` queues (unsent, its peer's window
/// closed) before EAGAIN.
fn snd_effect(size: i32) -> Result<Effect> {
    let pair = sized_pair(PROBE_RCVBUF, size)?;
    phase(&format!("filling a sender with SO_SNDBUF {size}"));
    let written = flow::fill_until_window_closed(&pair.client, 16384, Duration::from_secs(5))?;
    Ok(Effect {
        set: size,
        reported: pair.client.get_int(libc::SOL_SOCKET, libc::SO_SNDBUF)?,
        in_kernel: kernel_buffer(&pair.client, libc::SO_SNDBUF)?,
        bytes: pair.client.queued(libc::TIOCOUTQ)? as i64,
        peer_bytes: pair.server.queued(libc::FIONREAD)? as i64,
        written: written as i64,
    })
}

/// SO_RCVBUFFORCE or SO_SNDBUFFORCE past the clamp, on a fresh socket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forced {
    pub set: i32,
    /// setsockopt's result: ok or an errno name.
    pub result: String,
    /// The kernel's buffer before and after the call (SO_MEMINFO).
    pub in_kernel_before: u32,
    pub in_kernel: u32,
    /// getsockopt(SO_RCVBUF / SO_SNDBUF) after it.
    pub reported: i32,
}

/// `force` (SO_RCVBUFFORCE / SO_SNDBUFFORCE) set to `set` on a fresh socket;
/// `plain` is the option that reads the buffer back.
fn force(force: i32, plain: i32, set: i32) -> Result<Forced> {
    let s = Sock::tcp(Family::V4)?;
    let in_kernel_before = kernel_buffer(&s, plain)?;
    let result = s.set_int(libc::SOL_SOCKET, force, set);
    Ok(Forced {
        set,
        result: result_name(&result),
        in_kernel_before,
        in_kernel: kernel_buffer(&s, plain)?,
        reported: s.get_int(libc::SOL_SOCKET, plain)?,
    })
}

/// SO_RCVBUF and SO_SNDBUF for a range of sizes: what getsockopt and the
/// kernel's accounting say, what a filled connection holds, and what the
/// FORCE variants do past the clamp.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Doubling {
    pub rmem_max: i64,
    pub wmem_max: i64,
    pub privilege: Privilege,
    /// SO_RCVBUF / SO_SNDBUF set to 0: SOCK_MIN_RCVBUF / SOCK_MIN_SNDBUF.
    pub rcvbuf_floor: ReadBack,
    pub sndbuf_floor: ReadBack,
    /// Every probe size on a fresh socket: 0, 1, 1024, 4096, 64 KiB, 1 MiB,
    /// the maximum, one more, twice it, -1.
    pub so_rcvbuf: Vec<ReadBack>,
    pub so_sndbuf: Vec<ReadBack>,
    /// What a non-reading receiver takes in, for 4, 16, 64 and 256 KiB.
    pub receiver: Vec<Effect>,
    /// What a sender queues at a closed window, for the same sizes.
    pub sender: Vec<Effect>,
    /// The FORCE variants set to twice the maximum.
    pub rcvbuf_force: Forced,
    pub sndbuf_force: Forced,
}

fn doubling(lab: &mut Lab) -> Result<Doubling> {
    flow::loopback_quickack(Family::V4)?;
    let rmem_max = procnet::sysctl_int("net/core/rmem_max")?;
    let wmem_max = procnet::sysctl_int("net/core/wmem_max")?;
    let table = |opt: i32, max: i64| -> Result<Vec<ReadBack>> {
        probe_sizes(max)
            .into_iter()
            .map(|n| read_back(opt, n))
            .collect()
    };
    // Past the clamp the kernel's accounting (SO_MEMINFO) shows what the
    // size is: filling buffers of twice rmem_max would move tens of MB.
    Ok(Doubling {
        rmem_max,
        wmem_max,
        privilege: lab.privilege,
        rcvbuf_floor: read_back(libc::SO_RCVBUF, 0)?,
        sndbuf_floor: read_back(libc::SO_SNDBUF, 0)?,
        so_rcvbuf: table(libc::SO_RCVBUF, rmem_max)?,
        so_sndbuf: table(libc::SO_SNDBUF, wmem_max)?,
        receiver: EFFECT_SIZES
            .iter()
            .map(|&n| rcv_effect(n))
            .collect::<Result<_>>()?,
        sender: EFFECT_SIZES
            .iter()
            .map(|&n| snd_effect(n))
            .collect::<Result<_>>()?,
        rcvbuf_force: force(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, 2 * int_max(rmem_max))?,
        sndbuf_force: force(libc::SO_SNDBUFFORCE, libc::SO_SNDBUF, 2 * int_max(wmem_max))?,
    })
}

fn strictly_increasing(e: &[Effect]) -> bool {
    e.windows(2).all(|w| w[1].bytes > w[0].bytes)
}

/// The rows of `table` that `pred` rejects, written "set -> value", or
/// "every size" when there are none.
fn listed<T>(rows: &[T], bad: impl Fn(&T) -> Option<String>) -> (bool, String) {
    let wrong: Vec<String> = rows.iter().filter_map(bad).collect();
    if wrong.is_empty() {
        (true, "every size".into())
    } else {
        (false, wrong.join(", "))
    }
}

impl Doubling {
    fn root(&self) -> bool {
        self.privilege == Privilege::Root
    }

    /// What the kernel uses for `set` in `table`, when it was probed.
    fn in_kernel_for(table: &[ReadBack], set: i32) -> Option<u32> {
        table.iter().find(|r| r.set == set).map(|r| r.in_kernel)
    }

    fn read_back_checks(&self, j: &mut Judgement) {
        let rcv_floor = self.rcvbuf_floor.reported as i64;
        let snd_floor = self.sndbuf_floor.reported as i64;
        j.expect(
            "SOCK_MIN_RCVBUF: 2048 + sizeof(struct sk_buff)",
            rcv_floor > 2048 && rcv_floor <= 4096,
            "more than 2048, at most 4096 (2304 on x86_64)",
            rcv_floor.show(),
        );
        j.expect_eq(
            "SOCK_MIN_SNDBUF is twice SOCK_MIN_RCVBUF",
            &(2 * rcv_floor),
            &snd_floor,
        );
        for (name, table, max, floor) in [
            ("SO_RCVBUF", &self.so_rcvbuf, self.rmem_max, rcv_floor),
            ("SO_SNDBUF", &self.so_sndbuf, self.wmem_max, snd_floor),
        ] {
            let (ok, seen) = listed(table, |r| {
                let want = doubled_and_clamped(r.set, max, floor);
                (r.reported as i64 != want)
                    .then(|| format!("{} -> {} (expected {want})", r.set, r.reported))
            });
            j.expect(
                &format!("{name} reads back max(2 x min(value, max), floor)"),
                ok,
                "every size",
                seen,
            );
        }
    }

    /// getsockopt must tell the kernel's own size (a libc that ignores the
    /// option echoes the value instead).
    fn agreement_checks(&self, j: &mut Judgement) {
        type Rows = Vec<(i32, i32, u32)>;
        let rows = |floor: &ReadBack, table: &[ReadBack], effects: &[Effect], f: &Forced| -> Rows {
            std::iter::once(floor)
                .chain(table)
                .map(|r| (r.set, r.reported, r.in_kernel))
                .chain(effects.iter().map(|e| (e.set, e.reported, e.in_kernel)))
                .chain(std::iter::once((f.set, f.reported, f.in_kernel)))
                .collect()
        };
        for (name, rows) in [
            (
                "SO_RCVBUF",
                rows(
                    &self.rcvbuf_floor,
                    &self.so_rcvbuf,
                    &self.receiver,
                    &self.rcvbuf_force,
                ),
            ),
            (
                "SO_SNDBUF",
                rows(
                    &self.sndbuf_floor,
                    &self.so_sndbuf,
                    &self.sender,
                    &self.sndbuf_force,
                ),
            ),
        ] {
            let (ok, seen) = listed(&rows, |&(set, reported, in_kernel)| {
                (reported as i64 != in_kernel as i64)
                    .then(|| format!("{set}: getsockopt {reported}, kernel {in_kernel}"))
            });
            j.expect(
                &format!("getsockopt({name}) is the kernel's own size (SO_MEMINFO), every socket"),
                ok,
                "every size",
                seen,
            );
        }
    }

    fn effect_checks(&self, j: &mut Judgement) {
        for (what, effects) in [
            ("receiver takes in", &self.receiver),
            ("sender queues", &self.sender),
        ] {
            j.expect(
                &format!("{what} more for each larger setting"),
                strictly_increasing(effects),
                "strictly increasing",
                effects.iter().map(|e| e.bytes).collect::<Vec<_>>().show(),
            );
            let (ok, seen) = listed(effects, |e| {
                (e.bytes < e.set as i64 / 2 || e.bytes > e.reported as i64)
                    .then(|| format!("set {} (reported {}): {} B", e.set, e.reported, e.bytes))
            });
            j.expect(
                &format!("{what} between half the size set and the reported size"),
                ok,
                "set/2 <= bytes <= reported, every size",
                seen,
            );
            let (ok, seen) = listed(effects, |e| {
                (e.written != e.bytes + e.peer_bytes).then(|| {
                    format!(
                        "set {}: wrote {} B, {} + {} B held",
                        e.set, e.written, e.bytes, e.peer_bytes
                    )
                })
            });
            j.expect(
                &format!("{what}: every byte written is held by one end or the other"),
                ok,
                "every size",
                seen,
            );
        }
    }

    /// Nothing grows above the clamp: every size from the maximum up (and -1,
    /// taken as the largest unsigned value) gives the kernel the same buffer.
    fn clamp_checks(&self, j: &mut Judgement) {
        for (what, table, max) in [
            (
                "receiver: twice rmem_max gets no larger buffer than rmem_max (clamp)",
                &self.so_rcvbuf,
                self.rmem_max,
            ),
            (
                "sender: twice wmem_max gets no larger buffer than wmem_max (clamp)",
                &self.so_sndbuf,
                self.wmem_max,
            ),
        ] {
            let at = Self::in_kernel_for(table, int_max(max));
            let past = Self::in_kernel_for(table, 2 * int_max(max));
            j.expect(
                what,
                at.is_some() && past == at,
                format!("the kernel's size at the maximum, {}", at.show()),
                past.show(),
            );
        }
    }

    fn force_checks(&self, j: &mut Judgement) {
        let root = self.root();
        let floors = [self.rcvbuf_floor.reported, self.sndbuf_floor.reported];
        for ((name, f, max), floor) in [
            ("SO_RCVBUFFORCE", &self.rcvbuf_force, self.rmem_max),
            ("SO_SNDBUFFORCE", &self.sndbuf_force, self.wmem_max),
        ]
        .into_iter()
        .zip(floors)
        {
            j.expect_eq(
                &format!("{name} past the clamp (root: ok; user namespace: EPERM)"),
                if root { "ok" } else { "EPERM" },
                f.result.as_str(),
            );
            // The case forces twice the maximum: with CAP_NET_ADMIN the kernel
            // doubles that, twice the buffer the clamp allows.
            let (want, text) = if root {
                let want = forced_size(2 * int_max(max), floor as i64);
                (want, format!("{want}, twice the clamp of {}", 2 * max))
            } else {
                let want = f.in_kernel_before as i64;
                (want, format!("{want}, as before the call"))
            };
            j.expect(
                &format!("{name}: the kernel's buffer afterwards (SO_MEMINFO)"),
                f.in_kernel as i64 == want,
                text,
                f.in_kernel.show(),
            );
        }
    }
}

/// A FORCE call in words: "SO_RCVBUFFORCE 8388608 succeeded (the kernel's
/// buffer 16777216)".
fn forced_words(name: &str, f: &Forced) -> String {
    format!(
        "{name} {} {} (the kernel's buffer {})",
        f.set,
        outcome(&f.result),
        f.in_kernel
    )
}

impl Observation for Doubling {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        self.read_back_checks(&mut j);
        self.agreement_checks(&mut j);
        self.effect_checks(&mut j);
        self.clamp_checks(&mut j);
        self.force_checks(&mut j);

        let grows = strictly_increasing(&self.receiver) && strictly_increasing(&self.sender);
        // The size used is the kernel's, whatever getsockopt says.
        let as_set = self
            .so_rcvbuf
            .iter()
            .chain(&self.so_sndbuf)
            .all(|r| r.in_kernel as i64 == r.set as i64 || r.set <= 0);
        let verdict = match (grows, as_set) {
            (false, _) => Verdict::Refuted,
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
        };
        let rcv = |set: i32| Self::in_kernel_for(&self.so_rcvbuf, set).show();
        let bytes = |e: &[Effect]| {
            e.iter()
                .map(|e| format!("{} B at {}", e.bytes, e.set))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (rmax, wmax) = (int_max(self.rmem_max), int_max(self.wmem_max));
        j.verdict(
            verdict,
            format!(
                "setting SO_RCVBUF to 4096 gives a buffer of {} B and 1024 gives {} B (the floor); {rmax} \
                 (rmem_max) gives {} B and {} gives {} B. A non-reading receiver took in {}; a sender queued {} \
                 (wmem_max {wmax}). As {}: {}; {}",
                rcv(4096),
                rcv(1024),
                rcv(rmax),
                2 * rmax,
                rcv(2 * rmax),
                bytes(&self.receiver),
                bytes(&self.sender),
                if self.root() { "root" } else { "an ordinary user (user namespace)" },
                forced_words("SO_RCVBUFFORCE", &self.rcvbuf_force),
                forced_words("SO_SNDBUFFORCE", &self.sndbuf_force),
            ),
        );
        j.key(format!(
            "SO_RCVBUF 4096 -> {}; receiver takes in {} B; clamp {}; FORCE {}",
            rcv(4096),
            self.receiver
                .iter()
                .map(|e| e.bytes)
                .collect::<Vec<_>>()
                .show(),
            2 * self.rmem_max,
            self.rcvbuf_force.result
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// rcvbuf.excess_discarded

/// Bytes the fast TCP sender writes into the non-reading receiver.
const TCP_TOTAL: usize = 1 << 20;
/// The TCP receiver's SO_RCVBUF: a hundred-and-twenty-eighth of what is sent.
const SMALL_RCVBUF: i32 = 8192;
/// The TCP sender's SO_SNDBUF: a sixteenth of what is sent.
const SENDER_SNDBUF: i32 = 65536;
const DATAGRAMS: usize = 64;
const DATAGRAM: usize = 1000;
/// UDP receive buffer: room for a handful of the datagrams.
const UDP_RCVBUF: i32 = 4096;

/// Bytes that are not all alike, so a lost or reordered piece changes the checksum.
fn pattern(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// FNV-1a, 64 bit.
fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The namespace's MIB counters that tell whether data was thrown away.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Mib {
    /// TcpExt TCPToZeroWindowAdv, TCPZeroWindowDrop, TCPRcvQDrop.
    to_zero_window_adverts: i64,
    zero_window_drops: i64,
    rcvq_drops: i64,
    /// Tcp RetransSegs.
    retransmitted_segments: i64,
    /// Udp RcvbufErrors.
    udp_rcvbuf_errors: i64,
}

impl Mib {
    fn read() -> Result<Mib> {
        let ext = |name| flow::mib_counter("netstat", "TcpExt", name);
        Ok(Mib {
            to_zero_window_adverts: ext("TCPToZeroWindowAdv")?,
            zero_window_drops: ext("TCPZeroWindowDrop")?,
            rcvq_drops: ext("TCPRcvQDrop")?,
            retransmitted_segments: flow::mib_counter("snmp", "Tcp", "RetransSegs")?,
            udp_rcvbuf_errors: flow::mib_counter("snmp", "Udp", "RcvbufErrors")?,
        })
    }

    /// What the counters counted since `earlier`.
    fn since(&self, earlier: &Mib) -> Mib {
        Mib {
            to_zero_window_adverts: self.to_zero_window_adverts - earlier.to_zero_window_adverts,
            zero_window_drops: self.zero_window_drops - earlier.zero_window_drops,
            rcvq_drops: self.rcvq_drops - earlier.rcvq_drops,
            retransmitted_segments: self.retransmitted_segments - earlier.retransmitted_segments,
            udp_rcvbuf_errors: self.udp_rcvbuf_errors - earlier.udp_rcvbuf_errors,
        }
    }
}

/// The TCP half: a blocking sender into a receiver that does not read, then
/// the same with a non-blocking sender.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TcpExcess {
    /// Bytes the blocking writer handed to send(), and their checksum.
    pub sent: usize,
    pub sent_checksum: u64,
    pub rcvbuf_reported: i32,
    pub sndbuf_reported: i32,
    /// Seen together: writer asleep in sendto, peer's window closed.
    pub writer_asleep_at_closed_window: bool,
    /// Bytes queued at the receiver (FIONREAD) and in the sender (TIOCOUTQ)
    /// while the writer slept.
    pub receiver_queued_at_stall: i32,
    pub sender_queued_at_stall: i32,
    /// What the receiver read once it started reading, and its checksum.
    pub delivered: usize,
    pub delivered_checksum: u64,
    /// The namespace's counters over the blocking run: zero-window
    /// advertisements, segments dropped at the receiver, retransmissions.
    pub to_zero_window_adverts: i64,
    pub zero_window_drops: i64,
    pub rcvq_drops: i64,
    pub retransmitted_segments: i64,
    /// The non-blocking run: bytes accepted before EAGAIN, bytes delivered.
    pub nonblocking_accepted: usize,
    pub nonblocking_delivered: usize,
}

fn tcp_excess() -> Result<TcpExcess> {
    let data = pattern(TCP_TOTAL);
    let before = Mib::read()?;
    // The sender's buffer is fixed too: left to autotuning it grows to
    // tcp_wmem[2] and could swallow the whole stream without ever blocking.
    let pair = sized_pair(SMALL_RCVBUF, SENDER_SNDBUF)?;
    let rcvbuf_reported = pair.server.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?;
    let (asleep, receiver_queued, sender_queued, delivered) =
        std::thread::scope(|s| -> Result<_> {
            let client = &pair.client;
            let data = &data;
            let (writer, tid) = wait::spawn_with_tid(s, move || -> Result<()> {
                client
                    .send_all(data)
                    .context("blocking send of the whole stream")?;
                client.shutdown(libc::SHUT_WR).context("shutdown(SHUT_WR)")
            })?;
            let asleep = asleep_at_closed_window(tid, client) && !writer.is_finished();
            let receiver_queued = pair.server.queued(libc::FIONREAD)?;
            let sender_queued = client.queued(libc::TIOCOUTQ)?;
            phase("reading the whole stream");
            let (got, err) = pair.server.read_to_end();
            if let Some(e) = err {
                return Err(e).context("reading the stream");
            }
            writer
                .join()
                .map_err(|_| anyhow::anyhow!("writer panicked"))??;
            Ok((asleep, receiver_queued, sender_queued, got))
        })?;
    let counted = Mib::read()?.since(&before);

    // The same stream shape without blocking: EAGAIN instead of sleep.
    let nb = sized_pair(SMALL_RCVBUF, SENDER_SNDBUF)?;
    let sndbuf_reported = nb.client.get_int(libc::SOL_SOCKET, libc::SO_SNDBUF)?;
    let accepted = flow::fill_until_window_closed(&nb.client, 65536, Duration::from_secs(5))?;
    nb.client
        .shutdown(libc::SHUT_WR)
        .context("shutdown(SHUT_WR)")?;
    let (nb_got, nb_err) = nb.server.read_to_end();
    if let Some(e) = nb_err {
        return Err(e).context("reading the non-blocking stream");
    }

    Ok(TcpExcess {
        sent: data.len(),
        sent_checksum: checksum(&data),
        rcvbuf_reported,
        sndbuf_reported,
        writer_asleep_at_closed_window: asleep,
        receiver_queued_at_stall: receiver_queued,
        sender_queued_at_stall: sender_queued,
        delivered: delivered.len(),
        delivered_checksum: checksum(&delivered),
        to_zero_window_adverts: counted.to_zero_window_adverts,
        zero_window_drops: counted.zero_window_drops,
        rcvq_drops: counted.rcvq_drops,
        retransmitted_segments: counted.retransmitted_segments,
        nonblocking_accepted: accepted,
        nonblocking_delivered: nb_got.len(),
    })
}

/// recvmsg() of one datagram, returning the SO_RXQ_OVFL drop counter the
/// kernel attached to it, if any.
fn recv_with_drops(s: &Sock, buf: &mut [u8], flags: i32) -> std::io::Result<Option<u32>> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cmsg = [0u64; 8];
    // SAFETY: msghdr is plain data; all-zero is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cmsg);
    // SAFETY: msg points at live buffers of the sizes it declares.
    if unsafe { libc::recvmsg(s.as_raw_fd(), &mut msg, flags) }.is_negative() {
        return Err(std::io::Error::last_os_error());
    }
    let mut drops = None;
    // SAFETY: walking the control buffer the kernel just filled, with libc's macros.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if ((*c).cmsg_level, (*c).cmsg_type) == (libc::SOL_SOCKET, libc::SO_RXQ_OVFL) {
                drops = Some(std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<u32>()));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(drops)
}

/// The UDP half: datagrams into a small buffer nobody reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UdpExcess {
    /// Datagrams sent (of 1000 B each).
    pub sent: usize,
    pub rcvbuf_reported: i32,
    /// Per datagram, as the receiving socket's accounting changed: queued or dropped.
    pub queued: usize,
    pub dropped: usize,
    /// Sequence numbers of the datagrams read back, in order.
    pub received_seq: Vec<u32>,
    /// The socket's drop counter (SO_MEMINFO) after the burst.
    pub socket_drop_counter: u32,
    /// SO_RXQ_OVFL on the next datagram once there was room; none without it.
    pub rxq_ovfl_on_next_datagram: Option<u32>,
    /// Udp RcvbufErrors in the namespace over the burst.
    pub udp_rcvbuf_errors: i64,
}

fn udp_excess() -> Result<UdpExcess> {
    let before = Mib::read()?;
    let rx = Sock::udp(Family::V4)?;
    rx.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, UDP_RCVBUF)
        .context("SO_RCVBUF on the UDP receiver")?;
    rx.set_int(libc::SOL_SOCKET, libc::SO_RXQ_OVFL, 1)
        .context("SO_RXQ_OVFL")?;
    rx.bind(SocketAddr::new(Family::V4.loopback(), 0))
        .context("bind UDP receiver")?;
    let to = rx.local_addr()?;
    let tx = Sock::udp(Family::V4)?;
    let (mut queued, mut dropped) = (0, 0);
    phase("sending datagrams into a buffer nobody reads");
    for seq in 0..DATAGRAMS as u32 {
        let before = flow::meminfo(&rx)?;
        let mut d = vec![0x44u8; DATAGRAM];
        d[..4].copy_from_slice(&seq.to_be_bytes());
        tx.send_to(&d, 0, to).context("sendto")?;
        // Each datagram either joins the queue or bumps the drop counter.
        let queued_now = wait::until(
            "the datagram to be queued or dropped at the receiver",
            Duration::from_secs(2),
            || {
                let m = flow::meminfo(&rx)?;
                Ok(if m.drops != before.drops {
                    Some(false)
                } else if m.rmem_alloc != before.rmem_alloc {
                    Some(true)
                } else {
                    None
                })
            },
        )?;
        if queued_now {
            queued += 1;
        } else {
            dropped += 1;
        }
    }
    let socket_drop_counter = flow::meminfo(&rx)?.drops;
    let mut received_seq = Vec::new();
    let mut buf = vec![0u8; 2 * DATAGRAM];
    loop {
        match rx.recv(&mut buf, libc::MSG_DONTWAIT) {
            Ok(n) => match buf[..n].first_chunk::<4>() {
                Some(seq) => received_seq.push(u32::from_be_bytes(*seq)),
                None => anyhow::bail!("a datagram of {n} B, too short for a sequence number"),
            },
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e).context("draining the UDP receiver"),
        }
    }
    // With room again, the next datagram carries the drop count so far.
    tx.send_to(b"next", 0, to).context("sendto")?;
    wait::readable(rx.as_raw_fd(), Duration::from_secs(2))?;
    let ovfl = recv_with_drops(&rx, &mut buf, libc::MSG_DONTWAIT).context("recvmsg")?;
    let errors = Mib::read()?.since(&before).udp_rcvbuf_errors;
    Ok(UdpExcess {
        sent: DATAGRAMS,
        rcvbuf_reported: rx.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?,
        queued,
        dropped,
        received_seq,
        socket_drop_counter,
        rxq_ovfl_on_next_datagram: ovfl,
        udp_rcvbuf_errors: errors,
    })
}

/// A fast TCP sender and a UDP burst into receivers that do not read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExcessDiscarded {
    pub tcp: TcpExcess,
    pub udp: UdpExcess,
}

fn excess_discarded(_lab: &mut Lab) -> Result<ExcessDiscarded> {
    flow::loopback_quickack(Family::V4)?;
    Ok(ExcessDiscarded {
        tcp: tcp_excess()?,
        udp: udp_excess()?,
    })
}

/// A checksum as the report writes it.
fn hex(sum: u64) -> String {
    format!("{sum:016x}")
}

impl Observation for ExcessDiscarded {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (tcp, udp) = (&self.tcp, &self.udp);
        j.expect(
            "TCP: the blocking writer sleeps in send() while the receiver's window is closed",
            tcp.writer_asleep_at_closed_window,
            ASLEEP_AT_CLOSED_WINDOW,
            asleep_words(tcp.writer_asleep_at_closed_window),
        );
        j.expect(
            "TCP: the receiver holds no more than its buffer at the stall",
            tcp.receiver_queued_at_stall > 0 && tcp.receiver_queued_at_stall <= tcp.rcvbuf_reported,
            format!("1 to {} B", tcp.rcvbuf_reported),
            format!("{} B", tcp.receiver_queued_at_stall),
        );
        j.expect(
            "TCP: the receiver advertised a zero window",
            tcp.to_zero_window_adverts > 0,
            "TcpExt TCPToZeroWindowAdv above 0",
            tcp.to_zero_window_adverts.show(),
        );
        j.expect_eq("TCP: every byte delivered", &tcp.sent, &tcp.delivered);
        j.expect_eq(
            "TCP: checksum of the delivered stream",
            &hex(tcp.sent_checksum),
            &hex(tcp.delivered_checksum),
        );
        j.expect_eq(
            "TCP: segments dropped at the receiver (TCPZeroWindowDrop + TCPRcvQDrop)",
            &0,
            &(tcp.zero_window_drops + tcp.rcvq_drops),
        );
        let bound = (tcp.sndbuf_reported as i64 + tcp.rcvbuf_reported as i64).max(0) as usize;
        j.expect(
            "TCP non-blocking: EAGAIN once both buffers are full, and all of it delivered",
            tcp.nonblocking_accepted <= bound
                && tcp.nonblocking_delivered == tcp.nonblocking_accepted,
            format!("at most {bound} B accepted (SO_SNDBUF + SO_RCVBUF), all of it delivered"),
            format!(
                "{} B accepted, {} B delivered",
                tcp.nonblocking_accepted, tcp.nonblocking_delivered
            ),
        );
        j.expect(
            "UDP: the first datagrams are queued, the rest dropped",
            udp.queued > 0 && udp.dropped > 0 && udp.queued + udp.dropped == udp.sent,
            format!("some queued, some dropped, {} in all", udp.sent),
            format!("{} queued, {} dropped", udp.queued, udp.dropped),
        );
        j.expect_eq(
            "UDP: the datagrams read back are the first ones, in order",
            &(0..udp.queued as u32).collect::<Vec<_>>(),
            &udp.received_seq,
        );
        j.expect_eq(
            "UDP: the socket's drop counter (SO_MEMINFO)",
            &(udp.dropped as u32),
            &udp.socket_drop_counter,
        );
        j.expect_eq(
            "UDP: SO_RXQ_OVFL on the next datagram",
            &Some(udp.dropped as u32),
            &udp.rxq_ovfl_on_next_datagram,
        );
        j.expect_eq(
            "UDP: Udp RcvbufErrors in the namespace",
            &(udp.dropped as i64),
            &udp.udp_rcvbuf_errors,
        );

        let same_sum = tcp.delivered_checksum == tcp.sent_checksum;
        let tcp_lost = tcp.delivered != tcp.sent || !same_sum;
        let verdict = match (tcp_lost, udp.dropped > 0) {
            (true, _) => Verdict::Holds,
            (false, true) => Verdict::Differs,
            (false, false) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "TCP: {} B written into a receiver with SO_RCVBUF {}, which held {} B while the writer {} (the \
                 window advertised zero {} times); {} B delivered with {} checksum; {} segments dropped at the \
                 receiver, {} retransmitted. Non-blocking: EAGAIN after {} B, {} B delivered. UDP: {} datagrams \
                 of {DATAGRAM} B into a buffer of {} B: {} queued, {} dropped (Udp RcvbufErrors {}, \
                 SO_RXQ_OVFL {})",
                tcp.sent,
                tcp.rcvbuf_reported,
                tcp.receiver_queued_at_stall,
                if tcp.writer_asleep_at_closed_window {
                    "slept in send()"
                } else {
                    "did not sleep in send()"
                },
                tcp.to_zero_window_adverts,
                tcp.delivered,
                if same_sum { "the same" } else { "a different" },
                tcp.zero_window_drops + tcp.rcvq_drops,
                tcp.retransmitted_segments,
                tcp.nonblocking_accepted,
                tcp.nonblocking_delivered,
                udp.sent,
                udp.rcvbuf_reported,
                udp.queued,
                udp.dropped,
                udp.udp_rcvbuf_errors,
                udp.rxq_ovfl_on_next_datagram.show()
            ),
        );
        j.key(format!(
            "TCP {} of {} B delivered, the writer {}; UDP {} of {} dropped",
            tcp.delivered,
            tcp.sent,
            if tcp.writer_asleep_at_closed_window {
                "blocked"
            } else {
                "never blocked"
            },
            udp.dropped,
            udp.sent
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// sndbuf.write_blocks_when_full

/// Both ends' buffers are small so that a modest write overfills them.
const WB_SNDBUF: i32 = 16384;
const WB_RCVBUF: i32 = 16384;
/// One send() call, several times what both buffers hold.
const WB_WRITE: usize = 256 * 1024;

/// A blocking send() of 256 KiB into a peer that does not read (yet).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockingWrite {
    pub sndbuf_reported: i32,
    /// Seen together: the writer asleep in sendto, the peer's window closed.
    pub asleep_in_sendto: bool,
    /// The sender's memory accounting while it sleeps (SO_MEMINFO): bytes
    /// queued (with overhead) against the send buffer.
    pub wmem_queued_at_stall: u32,
    pub sndbuf_at_stall: u32,
    /// Bytes not yet acknowledged (TIOCOUTQ) and queued at the peer (FIONREAD).
    pub unsent_or_unacked_at_stall: i32,
    pub receiver_queued_at_stall: i32,
    /// What send() returned once the peer read everything.
    pub send_returned: usize,
}

fn blocking_write() -> Result<BlockingWrite> {
    let pair = sized_pair(WB_RCVBUF, WB_SNDBUF)?;
    std::thread::scope(|s| -> Result<BlockingWrite> {
        let client = &pair.client;
        let (writer, tid) = wait::spawn_with_tid(s, move || -> Result<usize> {
            client
                .send(&vec![0x77u8; WB_WRITE], 0)
                .context("blocking send")
        })?;
        let asleep = asleep_at_closed_window(tid, client) && !writer.is_finished();
        let meminfo = flow::meminfo(client)?;
        let outq = client.queued(libc::TIOCOUTQ)?;
        let inq = pair.server.queued(libc::FIONREAD)?;
        phase("reading to release the writer");
        read_exact(&pair.server, WB_WRITE)?;
        let returned = writer
            .join()
            .map_err(|_| anyhow::anyhow!("writer panicked"))??;
        Ok(BlockingWrite {
            sndbuf_reported: client.get_int(libc::SOL_SOCKET, libc::SO_SNDBUF)?,
            asleep_in_sendto: asleep,
            wmem_queued_at_stall: meminfo.wmem_queued,
            sndbuf_at_stall: meminfo.sndbuf,
            unsent_or_unacked_at_stall: outq,
            receiver_queued_at_stall: inq,
            send_returned: returned,
        })
    })
}

/// The same with O_NONBLOCK.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NonBlockingWrite {
    /// Bytes the kernel took until the peer's window closed and the send
    /// buffer was full.
    pub accepted_until_full: usize,
    /// Of those, still in the sender's queue then (TIOCOUTQ).
    pub sender_queued_when_full: i32,
    /// send() of 1 KiB then: ok or an errno name.
    pub send_when_full: String,
    /// Bytes the peer then read (all it had).
    pub freed_by_reading: i32,
    /// POLLOUT within 2 s of that.
    pub writable_after_reading: bool,
    /// What a send() of 256 KiB returned then.
    pub partial_send: usize,
}

fn nonblocking_write() -> Result<NonBlockingWrite> {
    let pair = sized_pair(WB_RCVBUF, WB_SNDBUF)?;
    let accepted = flow::fill_until_window_closed(&pair.client, 4096, Duration::from_secs(5))?;
    let sender_queued = pair.client.queued(libc::TIOCOUTQ)?;
    let when_full = pair.client.send(&[0u8; 1024], 0);
    // Room comes back once the peer reads: its window opens, queued data
    // leaves and is acknowledged.
    let freed = pair.server.queued(libc::FIONREAD)?;
    read_exact(&pair.server, freed as usize)?;
    phase("waiting for POLLOUT after the peer read");
    let writable = wait::ready(
        pair.client.as_raw_fd(),
        nix::poll::PollFlags::POLLOUT,
        Duration::from_secs(2),
    )?;
    let partial = pair
        .client
        .send(&vec![0x55u8; WB_WRITE], 0)
        .context("non-blocking send with some room")?;
    Ok(NonBlockingWrite {
        accepted_until_full: accepted,
        sender_queued_when_full: sender_queued,
        send_when_full: result_name(&when_full),
        freed_by_reading: freed,
        writable_after_reading: writable,
        partial_send: partial,
    })
}

/// A send() larger than both buffers, blocking and non-blocking.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WriteBlocks {
    pub blocking: BlockingWrite,
    pub nonblocking: NonBlockingWrite,
}

fn write_blocks(_lab: &mut Lab) -> Result<WriteBlocks> {
    flow::loopback_quickack(Family::V4)?;
    Ok(WriteBlocks {
        blocking: blocking_write()?,
        nonblocking: nonblocking_write()?,
    })
}

impl Observation for WriteBlocks {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (b, nb) = (&self.blocking, &self.nonblocking);
        j.expect(
            "blocking send() sleeps in sendto while the peer's window is closed",
            b.asleep_in_sendto,
            ASLEEP_AT_CLOSED_WINDOW,
            asleep_words(b.asleep_in_sendto),
        );
        j.expect(
            "the send buffer is full while it sleeps",
            b.wmem_queued_at_stall >= b.sndbuf_at_stall,
            format!("at least the send buffer, {} B, queued", b.sndbuf_at_stall),
            format!("{} B queued", b.wmem_queued_at_stall),
        );
        j.expect_eq(
            "getsockopt(SO_SNDBUF) is the kernel's own send buffer (SO_MEMINFO)",
            &(b.sndbuf_reported as i64),
            &(b.sndbuf_at_stall as i64),
        );
        j.expect_eq(
            "once the peer reads, send() returns the whole count",
            &WB_WRITE,
            &b.send_returned,
        );
        j.expect_eq(
            "non-blocking send() on a full buffer",
            "EAGAIN",
            nb.send_when_full.as_str(),
        );
        j.expect(
            "non-blocking: every byte taken is at the peer or in the sender's queue",
            nb.accepted_until_full as i64
                == nb.freed_by_reading as i64 + nb.sender_queued_when_full as i64,
            format!("{} B", nb.accepted_until_full),
            format!("{} + {} B", nb.freed_by_reading, nb.sender_queued_when_full),
        );
        j.expect_eq(
            "POLLOUT after the peer read",
            &true,
            &nb.writable_after_reading,
        );
        j.expect(
            "non-blocking send() with some room returns a partial count",
            nb.partial_send > 0 && nb.partial_send < WB_WRITE,
            format!("more than 0, less than {WB_WRITE} B"),
            format!("{} B", nb.partial_send),
        );

        let verdict = Verdict::holds_if(b.asleep_in_sendto && b.send_returned == WB_WRITE);
        j.verdict(
            verdict,
            format!(
                "a blocking send() of {WB_WRITE} B with SO_SNDBUF {} {} ({} B queued against a send buffer of \
                 {} B, the peer holding {} B) and returned {} once the peer read; non-blocking: {} B taken, \
                 then send() {}; after the peer read {} B, POLLOUT {} and send({WB_WRITE}) returned {}",
                b.sndbuf_reported,
                if b.asleep_in_sendto {
                    "slept in sendto"
                } else {
                    "did not sleep at a closed window"
                },
                b.wmem_queued_at_stall,
                b.sndbuf_at_stall,
                b.receiver_queued_at_stall,
                b.send_returned,
                nb.accepted_until_full,
                outcome(&nb.send_when_full),
                nb.freed_by_reading,
                if nb.writable_after_reading {
                    "came"
                } else {
                    "never came"
                },
                nb.partial_send
            ),
        );
        j.key(format!(
            "blocking: {} then {} B; non-blocking: {} then {} B",
            if b.asleep_in_sendto {
                "asleep"
            } else {
                "never asleep"
            },
            b.send_returned,
            nb.send_when_full,
            nb.partial_send
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// lowat.rcvlowat

const LOWAT: i32 = 1000;
const BELOW: usize = 500;
const ABOVE: usize = 1100;
const TOP_UP: usize = 600;

/// select(2) on one descriptor with a zero timeout: is it readable (or writable)?
fn select_ready(fd: i32, write: bool) -> Result<bool> {
    anyhow::ensure!(
        (0..libc::FD_SETSIZE as i32).contains(&fd),
        "fd {fd} does not fit select's fd_set"
    );
    // SAFETY: fd_set is plain data; FD_ZERO / FD_SET / FD_ISSET work on our own
    // set, and fd is within FD_SETSIZE (checked above).
    unsafe {
        let mut set: libc::fd_set = std::mem::zeroed();
        libc::FD_ZERO(&mut set);
        libc::FD_SET(fd, &mut set);
        let mut tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        let (r, w) = if write {
            (std::ptr::null_mut(), &mut set as *mut libc::fd_set)
        } else {
            (&mut set as *mut libc::fd_set, std::ptr::null_mut())
        };
        if libc::select(fd + 1, r, w, std::ptr::null_mut(), &mut tv) == -1 {
            return Err(std::io::Error::last_os_error()).context("select");
        }
        // select leaves in the set only the descriptors that are ready.
        Ok(libc::FD_ISSET(fd, &set))
    }
}

/// Readiness for reading, as select() and poll() (zero timeout) report it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// Bytes queued (FIONREAD) when asked.
    pub queued: i32,
    pub select: bool,
    pub poll: bool,
}

impl Readiness {
    /// "select() readable, poll() not readable".
    fn words(&self) -> String {
        let says = |r: bool| if r { "readable" } else { "not readable" };
        format!("select() {}, poll() {}", says(self.select), says(self.poll))
    }
}

/// Sends `n` bytes and waits until the receiver has `unread` bytes queued and
/// the sender has its data acknowledged (the receiver's processing of it,
/// wake-ups included, is over).
fn send_and_settle(pair: &TcpPair, n: usize, unread: i32) -> Result<()> {
    pair.client.send_all(&vec![0x61u8; n]).context("send")?;
    wait::until(
        &format!("{unread} bytes queued at the receiver and acknowledged"),
        Duration::from_secs(2),
        || {
            Ok((pair.server.queued(libc::FIONREAD)? == unread
                && pair.client.queued(libc::TIOCOUTQ)? == 0)
                .then_some(()))
        },
    )
}

fn readable(pair: &TcpPair) -> Result<Readiness> {
    let fd = pair.server.as_raw_fd();
    Ok(Readiness {
        queued: pair.server.queued(libc::FIONREAD)?,
        select: select_ready(fd, false)?,
        poll: wait::ready(fd, nix::poll::PollFlags::POLLIN, Duration::ZERO)?,
    })
}

/// A blocking recv() under the mark, step by step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockingRecv {
    /// Asleep in recvfrom with the first 500 bytes taken off the queue.
    pub asleep_after_taking_first: bool,
    /// Still asleep once 600 more (1100 for this call) are queued.
    pub asleep_with_mark_reached_in_total: bool,
    /// What recv() returned once another 600 came.
    pub returned: usize,
}

fn blocking_recv_under_mark(pair: &TcpPair) -> Result<BlockingRecv> {
    send_and_settle(pair, BELOW, BELOW as i32)?;
    std::thread::scope(|s| -> Result<BlockingRecv> {
        let server = &pair.server;
        let (reader, tid) = wait::spawn_with_tid(s, move || -> Result<usize> {
            let mut buf = vec![0u8; 4096];
            server.recv(&mut buf, 0).context("blocking recv")
        })?;
        phase("waiting for recv() to take the bytes below the mark and sleep");
        let asleep = |unread: i32| -> Result<bool> {
            Ok(wait::blocked_in(tid, libc::SYS_recvfrom)?
                && server.queued(libc::FIONREAD)? == unread
                && !reader.is_finished())
        };
        let first = wait::until(
            "the reader asleep in recvfrom with the queue emptied",
            Duration::from_secs(2),
            || Ok(asleep(0)?.then_some(())),
        )
        .is_ok();
        send_and_settle(pair, TOP_UP, TOP_UP as i32)?;
        let second = asleep(TOP_UP as i32)?;
        // Enough unread bytes to reach the mark on their own: that wakes it.
        pair.client
            .send_all(&vec![0x62u8; TOP_UP])
            .context("send the second top-up")?;
        phase("waiting for recv() to return");
        let returned = reader
            .join()
            .map_err(|_| anyhow::anyhow!("reader panicked"))??;
        Ok(BlockingRecv {
            asleep_after_taking_first: first,
            asleep_with_mark_reached_in_total: second,
            returned,
        })
    })
}

/// SO_RCVLOWAT 1000: readiness below and above the mark, and what recv() does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RcvLowat {
    /// SO_RCVLOWAT of a new connection.
    pub default: i32,
    /// setsockopt(SO_RCVLOWAT, 1000): ok or an errno name.
    pub set: String,
    /// SO_RCVLOWAT read back after it.
    pub reported: i32,
    /// With 500 and with 1100 bytes queued.
    pub below_mark: Readiness,
    pub above_mark: Readiness,
    /// recv(MSG_DONTWAIT) with 500 bytes queued: ok or an errno name, and
    /// the count.
    pub nonblocking_recv: String,
    pub nonblocking_returned: Option<usize>,
    pub blocking_recv: BlockingRecv,
}

fn rcvlowat(_lab: &mut Lab) -> Result<RcvLowat> {
    flow::loopback_quickack(Family::V4)?;
    let pair = TcpPair::loopback(Family::V4)?;
    let default = pair.server.get_int(libc::SOL_SOCKET, libc::SO_RCVLOWAT)?;
    let set = pair
        .server
        .set_int(libc::SOL_SOCKET, libc::SO_RCVLOWAT, LOWAT);
    let reported = pair.server.get_int(libc::SOL_SOCKET, libc::SO_RCVLOWAT)?;

    send_and_settle(&pair, BELOW, BELOW as i32)?;
    let below_mark = readable(&pair)?;
    send_and_settle(&pair, ABOVE - BELOW, ABOVE as i32)?;
    let above_mark = readable(&pair)?;
    read_exact(&pair.server, ABOVE)?;

    send_and_settle(&pair, BELOW, BELOW as i32)?;
    let mut buf = vec![0u8; 4096];
    let nonblocking = pair.server.recv(&mut buf, libc::MSG_DONTWAIT);

    let blocking_recv = blocking_recv_under_mark(&pair)?;
    Ok(RcvLowat {
        default,
        set: result_name(&set),
        reported,
        below_mark,
        above_mark,
        nonblocking_recv: result_name(&nonblocking),
        nonblocking_returned: nonblocking.ok(),
        blocking_recv,
    })
}

impl Observation for RcvLowat {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (below, above, blocking) = (&self.below_mark, &self.above_mark, &self.blocking_recv);
        j.expect_eq("default SO_RCVLOWAT", &1, &self.default);
        j.expect_eq("setsockopt(SO_RCVLOWAT, 1000)", "ok", self.set.as_str());
        j.expect_eq("SO_RCVLOWAT reads back 1000", &LOWAT, &self.reported);
        j.expect_eq(
            "bytes queued when readiness was asked, below and above the mark",
            &[BELOW as i32, ABOVE as i32],
            &[below.queued, above.queued],
        );
        j.expect(
            "500 bytes queued, mark 1000: select() and poll() say not readable",
            !below.select && !below.poll,
            "select() not readable, poll() not readable",
            below.words(),
        );
        j.expect(
            "1100 bytes queued, mark 1000: select() and poll() say readable",
            above.select && above.poll,
            "select() readable, poll() readable",
            above.words(),
        );
        j.expect_eq(
            "a non-blocking recv() below the mark returns what is there",
            &Some(BELOW),
            &self.nonblocking_returned,
        );
        j.expect_eq(
            "a blocking recv() takes the 500 bytes and sleeps on",
            &true,
            &blocking.asleep_after_taking_first,
        );
        j.expect_eq(
            "and is still asleep with 500 taken and 600 queued",
            &true,
            &blocking.asleep_with_mark_reached_in_total,
        );
        j.expect_eq(
            "it returns once the unread bytes reach the mark",
            &(BELOW + 2 * TOP_UP),
            &blocking.returned,
        );

        let verdict = match (below.select, above.select) {
            (false, true) => Verdict::Holds,
            (true, true) => Verdict::Refuted,
            _ => Verdict::Differs,
        };
        let yes = |b: bool| if b { "yes" } else { "no" };
        j.verdict(
            verdict,
            format!(
                "SO_RCVLOWAT is {} by default, {} after setting it to {LOWAT}: with {} B queued {}; with {} B \
                 queued {}. A blocking recv() took the {BELOW} B and slept on: {}; still asleep after {TOP_UP} \
                 more: {}; it returned {} B after another {TOP_UP}. recv(MSG_DONTWAIT) below the mark \
                 returned {}",
                self.default,
                self.reported,
                below.queued,
                below.words(),
                above.queued,
                above.words(),
                yes(blocking.asleep_after_taking_first),
                yes(blocking.asleep_with_mark_reached_in_total),
                blocking.returned,
                match self.nonblocking_returned {
                    Some(n) => format!("{n} B"),
                    None => self.nonblocking_recv.clone(),
                }
            ),
        );
        j.key(format!(
            "mark {}: {} B {}, {} B {}; blocking recv() -> {} B",
            self.reported,
            below.queued,
            if below.select {
                "readable"
            } else {
                "not readable"
            },
            above.queued,
            if above.select {
                "readable"
            } else {
                "not readable"
            },
            blocking.returned
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// lowat.sndlowat

/// The notes' write threshold.
const NOTES_SNDLOWAT: i64 = 2048;
const SL_SNDBUF: i32 = 32768;
const SL_CHUNK: usize = 1024;
const NOTSENT_LOWAT: i32 = 8192;

/// The sender's state after one write, with the peer's window closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteSample {
    /// Bytes not yet sent (SIOCOUTQNSD).
    pub unsent: i32,
    /// The send buffer's accounting (SO_MEMINFO): bytes queued with their
    /// overhead, and the buffer's size.
    pub wmem_queued: i64,
    pub sndbuf: i64,
    pub select_writable: bool,
    pub poll_writable: bool,
}

impl WriteSample {
    fn free(&self) -> i64 {
        self.sndbuf - self.wmem_queued
    }
    /// sk_stream_is_writeable: free space >= half the queued bytes.
    fn linux_rule(&self) -> bool {
        self.free() >= self.wmem_queued / 2
    }
    /// The notes: writable while 2048 bytes are free.
    fn notes_rule(&self) -> bool {
        self.free() >= NOTES_SNDLOWAT
    }
}

/// Writes SL_CHUNK bytes at a time (non-blocking) into a peer that does not
/// read, until EAGAIN. After each write it waits for the connection to settle
/// (nothing in flight: everything acknowledged, or the window closed) and
/// samples the writer once its peer's window is closed.
fn write_samples(notsent_lowat: Option<i32>) -> Result<(Vec<WriteSample>, i32)> {
    let pair = sized_pair(4096, SL_SNDBUF)?;
    let c = &pair.client;
    if let Some(l) = notsent_lowat {
        c.set_int(libc::IPPROTO_TCP, libc::TCP_NOTSENT_LOWAT, l)
            .context("TCP_NOTSENT_LOWAT")?;
    }
    c.set_nonblocking(true)?;
    let fd = c.as_raw_fd();
    let chunk = [0x5au8; SL_CHUNK];
    let mut samples = Vec::new();
    phase("writing into a peer that does not read");
    loop {
        match c.send(&chunk, 0) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e).context("send"),
        }
        let closed = wait::until(
            "the write to be acknowledged or to wait at a closed window",
            Duration::from_secs(5),
            || {
                let unsent = c.queued(libc::SIOCOUTQNSD)?;
                let in_flight = c.queued(libc::TIOCOUTQ)? - unsent;
                Ok(if in_flight > 0 {
                    None
                } else if unsent == 0 {
                    Some(false)
                } else {
                    flow::window_closed(c)?.then_some(true)
                })
            },
        )?;
        if !closed {
            continue;
        }
        let m = flow::meminfo(c)?;
        samples.push(WriteSample {
            unsent: c.queued(libc::SIOCOUTQNSD)?,
            wmem_queued: m.wmem_queued as i64,
            sndbuf: m.sndbuf as i64,
            select_writable: select_ready(fd, true)?,
            poll_writable: wait::ready(fd, nix::poll::PollFlags::POLLOUT, Duration::ZERO)?,
        });
    }
    let unsent_at_eagain = c.queued(libc::SIOCOUTQNSD)?;
    Ok((samples, unsent_at_eagain))
}

/// SO_SNDLOWAT, and when select()/poll() stop saying writable, without and
/// with TCP_NOTSENT_LOWAT.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SndLowat {
    /// setsockopt(SO_SNDLOWAT, 4096): ok or an errno name.
    pub set_4096: String,
    /// SO_SNDLOWAT read back.
    pub reported: i32,
    /// One sample per 1 KiB written into a peer whose window is closed.
    pub samples: Vec<WriteSample>,
    /// The same with TCP_NOTSENT_LOWAT set to this.
    pub notsent_lowat: i32,
    pub samples_with_notsent_lowat: Vec<WriteSample>,
    /// Unsent bytes when send() got EAGAIN with TCP_NOTSENT_LOWAT.
    pub unsent_at_eagain_with_notsent_lowat: i32,
}

fn sndlowat(_lab: &mut Lab) -> Result<SndLowat> {
    flow::loopback_quickack(Family::V4)?;
    let s = Sock::tcp(Family::V4)?;
    let set = s.set_int(libc::SOL_SOCKET, libc::SO_SNDLOWAT, 4096);
    let reported = s.get_int(libc::SOL_SOCKET, libc::SO_SNDLOWAT)?;
    let (samples, _) = write_samples(None)?;
    let (with_lowat, unsent_at_eagain) = write_samples(Some(NOTSENT_LOWAT))?;
    Ok(SndLowat {
        set_4096: result_name(&set),
        reported,
        samples,
        notsent_lowat: NOTSENT_LOWAT,
        samples_with_notsent_lowat: with_lowat,
        unsent_at_eagain_with_notsent_lowat: unsent_at_eagain,
    })
}

/// Samples written "queued 44992 free 20544: not writable", for check lines.
fn describe(samples: &[&WriteSample]) -> String {
    samples
        .iter()
        .map(|s| {
            format!(
                "queued {} free {}: {}",
                s.wmem_queued,
                s.free(),
                if s.poll_writable {
                    "writable"
                } else {
                    "not writable"
                }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl SndLowat {
    /// The first sample poll() did not report writable.
    fn flip(&self) -> Option<&WriteSample> {
        self.samples.iter().find(|s| !s.poll_writable)
    }
}

impl Observation for SndLowat {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let lowat = self.notsent_lowat;
        j.expect_eq(
            "setsockopt(SO_SNDLOWAT)",
            "ENOPROTOOPT",
            self.set_4096.as_str(),
        );
        j.expect_eq("getsockopt(SO_SNDLOWAT)", &1, &self.reported);
        let off_rule: Vec<&WriteSample> = self
            .samples
            .iter()
            .filter(|s| s.poll_writable != s.linux_rule() || s.select_writable != s.poll_writable)
            .collect();
        j.expect(
            "select() and poll() writable exactly while free >= queued / 2",
            off_rule.is_empty() && self.samples.len() > 8,
            "every sample, more than 8 of them",
            if off_rule.is_empty() {
                format!("every one of {}", self.samples.len())
            } else {
                describe(&off_rule)
            },
        );
        let free_at_flip = self.flip().map(WriteSample::free);
        j.expect(
            "writability ends with far more than 2048 bytes free",
            free_at_flip.is_some_and(|f| f > 4 * NOTES_SNDLOWAT),
            format!("more than {} B free", 4 * NOTES_SNDLOWAT),
            match free_at_flip {
                Some(f) => format!("{f} B free"),
                None => "writable to the end".into(),
            },
        );
        let notsent = &self.samples_with_notsent_lowat;
        let off_notsent: Vec<&WriteSample> = notsent
            .iter()
            .filter(|s| {
                s.poll_writable != (s.linux_rule() && 2 * s.unsent < lowat)
                    || s.select_writable != s.poll_writable
            })
            .collect();
        j.expect(
            "TCP_NOTSENT_LOWAT: writable exactly while 2 x unsent < it (and free >= queued / 2)",
            off_notsent.is_empty() && notsent.iter().any(|s| !s.poll_writable),
            "every sample, some not writable",
            if off_notsent.is_empty() {
                format!(
                    "every one of {}, {} not writable",
                    notsent.len(),
                    notsent.iter().filter(|s| !s.poll_writable).count()
                )
            } else {
                describe(&off_notsent)
            },
        );
        let unsent_at_eagain = self.unsent_at_eagain_with_notsent_lowat;
        let last = notsent.last();
        j.expect(
            "TCP_NOTSENT_LOWAT: EAGAIN once the unsent bytes reach it, the buffer still half empty",
            unsent_at_eagain >= lowat && last.is_some_and(|s| s.free() > s.sndbuf / 2),
            format!("at least {lowat} B unsent, more than half the buffer free"),
            match last {
                Some(s) => format!(
                    "{unsent_at_eagain} B unsent, {} of {} B free",
                    s.free(),
                    s.sndbuf
                ),
                None => format!("{unsent_at_eagain} B unsent, no sample"),
            },
        );

        let notes_broken = self
            .samples
            .iter()
            .filter(|s| s.notes_rule() && !s.poll_writable)
            .count();
        let settable = self.set_4096 == "ok";
        let verdict = match (settable, notes_broken == 0) {
            (false, false) => Verdict::Refuted,
            (true, true) => Verdict::Holds,
            _ => Verdict::Differs,
        };
        let flip = self.flip();
        j.verdict(
            verdict,
            format!(
                "setsockopt(SO_SNDLOWAT, 4096) {} and getsockopt says {}; with a send buffer of {} B and the \
                 peer's window closed, {}, and {notes_broken} samples with 2048 B or more free were not \
                 writable; with TCP_NOTSENT_LOWAT {lowat}, {} and send() got EAGAIN at {unsent_at_eagain} B \
                 unsent",
                outcome(&self.set_4096),
                self.reported,
                self.samples.first().map_or(0, |s| s.sndbuf),
                match flip {
                    Some(s) => format!(
                        "select() and poll() stopped saying writable with {} B free ({} B queued)",
                        s.free(),
                        s.wmem_queued
                    ),
                    None => "select() and poll() said writable to the end".into(),
                },
                match notsent.iter().find(|s| !s.poll_writable) {
                    Some(s) => format!("writability ended at {} B unsent", s.unsent),
                    None => "writability never ended".into(),
                },
            ),
        );
        j.key(format!(
            "SO_SNDLOWAT set: {}, reads {}; not writable from {}; NOTSENT_LOWAT EAGAIN at {unsent_at_eagain} B",
            self.set_4096,
            self.reported,
            match free_at_flip {
                Some(f) => format!("{f} B free"),
                None => "never".into(),
            }
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// timeout.so_timeout

/// SO_TIMEOUT's number in Java's SocketOptions, SO_RCVTIMEO's on the BSDs.
const SO_TIMEOUT_ELSEWHERE: i32 = 0x1006;
const TIMEOUT: Duration = Duration::from_millis(200);
const TO_WRITE: usize = 1 << 20;

/// A blocking call's result and how long it took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timed {
    /// ok or an errno name.
    pub result: String,
    /// The count it returned, none when it failed.
    pub count: Option<usize>,
    #[serde(with = "crate::model::millis")]
    pub took: Duration,
}

fn timed(f: impl FnOnce() -> std::io::Result<usize>) -> Timed {
    let t = Instant::now();
    let r = f();
    Timed {
        result: result_name(&r),
        count: r.as_ref().ok().copied(),
        took: t.elapsed(),
    }
}

impl Timed {
    /// "EAGAIN in 207 ms", "30720 B in 211 ms".
    fn words(&self) -> String {
        match self.count {
            Some(n) => format!("{n} B in {}", self.took.show()),
            None => format!("{} in {}", self.result, self.took.show()),
        }
    }
}

/// The timeouts, from the blog's SO_TIMEOUT to SO_RCVTIMEO / SO_SNDTIMEO at work.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SoTimeout {
    /// setsockopt(SOL_SOCKET, 0x1006, 10): ok or an errno name.
    pub option_0x1006: String,
    /// setsockopt(SO_RCVTIMEO) given a plain int 10, as the blog does.
    pub rcvtimeo_as_int: String,
    /// SO_RCVTIMEO read back after setting a timeval of 200 ms.
    #[serde(with = "crate::model::millis")]
    pub rcvtimeo_read_back: Duration,
    /// recv() on an idle connection with SO_RCVTIMEO 200 ms.
    pub recv_idle: Timed,
    /// send() of 1 MiB into small buffers with SO_SNDTIMEO 200 ms, twice.
    pub send_into_full_buffer: Timed,
    pub send_again: Timed,
}

fn so_timeout(_lab: &mut Lab) -> Result<SoTimeout> {
    // Without it the receiver's delayed ACK frees send-buffer space in the
    // middle of a timed send().
    flow::loopback_quickack(Family::V4)?;
    let probe = Sock::tcp(Family::V4)?;
    let foreign = probe.set_int(libc::SOL_SOCKET, SO_TIMEOUT_ELSEWHERE, 10);
    let as_int = probe.set_int(libc::SOL_SOCKET, libc::SO_RCVTIMEO, 10);

    let pair = sized_pair(4096, 16384)?;
    pair.server
        .set_timeout(libc::SO_RCVTIMEO, TIMEOUT)
        .context("SO_RCVTIMEO")?;
    let mut tv = [0u8; std::mem::size_of::<libc::timeval>()];
    pair.server
        .get_raw(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &mut tv)
        .context("getsockopt SO_RCVTIMEO")?;
    let secs = i64::from_ne_bytes(tv[0..8].try_into().context("tv_sec")?);
    let usecs = i64::from_ne_bytes(tv[8..16].try_into().context("tv_usec")?);
    let rcvtimeo_read_back =
        Duration::from_secs(secs.max(0) as u64) + Duration::from_micros(usecs.max(0) as u64);
    phase("in a recv() with SO_RCVTIMEO");
    let mut buf = [0u8; 16];
    // Guards: were the options ignored, the calls would block for good.
    let guard_rx = wait::shutdown_after(pair.server.as_raw_fd(), TIMEOUT + Duration::from_secs(3));
    let guard_tx = wait::shutdown_after(
        pair.client.as_raw_fd(),
        2 * TIMEOUT + Duration::from_secs(3),
    );
    mark("recv() with SO_RCVTIMEO 200 ms");
    let recv_idle = timed(|| pair.server.recv(&mut buf, 0));

    pair.client
        .set_timeout(libc::SO_SNDTIMEO, TIMEOUT)
        .context("SO_SNDTIMEO")?;
    let data = vec![0x21u8; TO_WRITE];
    phase("in a send() with SO_SNDTIMEO");
    mark("send() with SO_SNDTIMEO 200 ms");
    let send_into_full_buffer = timed(|| pair.client.send(&data, 0));
    let send_again = send_into_full(&pair.client, &data)?;
    drop((guard_rx, guard_tx));
    Ok(SoTimeout {
        option_0x1006: result_name(&foreign),
        rcvtimeo_as_int: result_name(&as_int),
        rcvtimeo_read_back,
        recv_idle,
        send_into_full_buffer,
        send_again,
    })
}

/// The second timed send(), into a buffer the first one filled. That buffer
/// is full only while nothing it holds is acknowledged; the receiver can
/// still take a little (a zero-window probe answered after it compacted its
/// queue: 4 KB once, on 5.10 and 6.1 under emulation). A send() during which
/// the send queue lost bytes did not meet a full buffer: it is measured
/// again (at most three times), with a mark on the time line. Were
/// SO_SNDTIMEO ignored, each send() would block until the guard.
fn send_into_full(client: &Sock, data: &[u8]) -> Result<Timed> {
    let mut attempt = 1;
    loop {
        mark("send() again");
        let before = client.queued(libc::TIOCOUTQ).context("SIOCOUTQ")?;
        let t = timed(|| client.send(data, 0));
        let after = client.queued(libc::TIOCOUTQ).context("SIOCOUTQ")?;
        let freed = i64::from(before) + t.count.unwrap_or(0) as i64 - i64::from(after);
        if freed <= 0 || attempt == 3 {
            return Ok(t);
        }
        mark(format!(
            "{freed} B were acknowledged during that send(): the buffer was not full; measured again"
        ));
        attempt += 1;
    }
}

/// Timeouts run on jiffies, rounded up: never more than one tick (10 ms at
/// HZ=100) early; a loaded machine may be up to a second late.
fn timeout_window() -> (Duration, Duration) {
    (
        TIMEOUT - Duration::from_millis(10),
        TIMEOUT + Duration::from_millis(1000),
    )
}

impl Observation for SoTimeout {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (recv, first, second) = (
            &self.recv_idle,
            &self.send_into_full_buffer,
            &self.send_again,
        );
        j.expect_eq(
            "option 0x1006 (SO_TIMEOUT in Java, SO_RCVTIMEO on BSD)",
            "ENOPROTOOPT",
            self.option_0x1006.as_str(),
        );
        j.expect_eq(
            "SO_RCVTIMEO given an int, as the blog passes it",
            "EINVAL",
            self.rcvtimeo_as_int.as_str(),
        );
        j.expect_eq(
            "SO_RCVTIMEO reads back the timeval set",
            &TIMEOUT,
            &self.rcvtimeo_read_back,
        );
        let (lo, hi) = timeout_window();
        let in_time = |t: &Timed| t.took >= lo && t.took <= hi;
        let window = format!("{}..{}", lo.show(), hi.show());
        j.expect(
            "SO_RCVTIMEO: recv() on an idle connection fails with EAGAIN after the timeout",
            recv.result == "EAGAIN" && in_time(recv),
            format!("EAGAIN in {window}"),
            recv.words(),
        );
        j.expect(
            "SO_SNDTIMEO: a send() larger than the buffers returns a partial count after the timeout",
            first.count.is_some_and(|n| n > 0 && n < TO_WRITE) && in_time(first),
            format!("more than 0, less than {TO_WRITE} B in {window}"),
            first.words(),
        );
        j.expect(
            "SO_SNDTIMEO: the next send() into the full buffer fails with EAGAIN after the timeout",
            second.result == "EAGAIN" && in_time(second),
            format!("EAGAIN in {window}"),
            second.words(),
        );

        let works = recv.result == "EAGAIN" && in_time(recv);
        let verdict = match (self.option_0x1006 == "ok", works) {
            (true, _) => Verdict::Holds,
            (false, true) => Verdict::Differs,
            (false, false) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "setsockopt with option 0x1006 {}; SO_RCVTIMEO given an int {}; given a timeval of {}, recv() \
                 on an idle connection returned {}; with SO_SNDTIMEO {}, send({TO_WRITE}) returned {}, then {}",
                outcome(&self.option_0x1006),
                outcome(&self.rcvtimeo_as_int),
                TIMEOUT.show(),
                recv.words(),
                TIMEOUT.show(),
                first.words(),
                second.words()
            ),
        );
        j.key(format!(
            "0x1006: {}; SO_RCVTIMEO recv() {}; SO_SNDTIMEO send() {}, then {}",
            self.option_0x1006,
            recv.words(),
            first.words(),
            second.result
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn verdict_and_failures(j: &Judgement) -> (Option<Verdict>, Vec<&str>) {
        (j.verdict, j.failed())
    }

    // -----------------------------------------------------------------------
    // Helpers.

    #[test]
    fn helpers_say_what_they_compute() {
        assert_eq!("succeeded", outcome("ok"));
        assert_eq!("failed with EPERM", outcome("EPERM"));
        assert_eq!(
            [4096, 131072, 33554432],
            parse_triple("tcp_rmem", "4096\t131072\t33554432").unwrap()
        );
        assert!(parse_triple("tcp_rmem", "4096 131072").is_err());
        assert!(parse_triple("tcp_rmem", "4096 x 1").is_err());
        assert_eq!(4_194_304, int_max(4_194_304));
        assert_eq!(i32::MAX / 2, int_max(i64::MAX));
        assert_eq!(
            vec![
                0,
                1,
                1024,
                4096,
                65536,
                1 << 20,
                212_992,
                212_993,
                425_984,
                -1
            ],
            probe_sizes(212_992)
        );
        // socket(7): doubled, floored, clamped; -1 is the largest unsigned value.
        assert_eq!(2304, doubled_and_clamped(1, 212_992, 2304));
        assert_eq!(8192, doubled_and_clamped(4096, 212_992, 2304));
        assert_eq!(425_984, doubled_and_clamped(212_993, 212_992, 2304));
        assert_eq!(425_984, doubled_and_clamped(-1, 212_992, 2304));
        assert_eq!(16_777_216, forced_size(8_388_608, 4608));
        assert_eq!(4608, forced_size(-5, 4608));
        assert_eq!(i32::MAX as i64 - 1, forced_size(i32::MAX, 4608));
        assert_eq!("0000000000000001", hex(1));
        assert_eq!(
            (Duration::from_millis(190), Duration::from_millis(1200)),
            timeout_window()
        );
    }

    #[test]
    fn counters_count_since_an_earlier_reading() {
        let earlier = Mib {
            to_zero_window_adverts: 1,
            zero_window_drops: 2,
            rcvq_drops: 3,
            retransmitted_segments: 4,
            udp_rcvbuf_errors: 5,
        };
        let now = Mib {
            to_zero_window_adverts: 11,
            zero_window_drops: 12,
            rcvq_drops: 13,
            retransmitted_segments: 14,
            udp_rcvbuf_errors: 15,
        };
        assert_eq!(
            Mib {
                to_zero_window_adverts: 10,
                zero_window_drops: 10,
                rcvq_drops: 10,
                retransmitted_segments: 10,
                udp_rcvbuf_errors: 10,
            },
            now.since(&earlier)
        );
    }

    #[test]
    fn the_stream_pattern_and_its_checksum() {
        // FNV-1a's published test vectors.
        assert_eq!(0xcbf2_9ce4_8422_2325, checksum(b""));
        assert_eq!(0xaf63_dc4c_8601_ec8c, checksum(b"a"));
        assert_eq!(0x8594_4171_f739_67e8, checksum(b"foobar"));
        let p = pattern(4096);
        assert_eq!(4096, p.len());
        assert_eq!(pattern(16), p[..16].to_vec());
        // Not all alike: a lost piece changes the checksum.
        assert!(p.iter().any(|&b| b != p[0]));
        assert_ne!(checksum(&p[1..]), checksum(&p[..4095]));
        // The 1 MiB stream of a real run.
        assert_eq!(15_275_751_961_325_077_778, checksum(&pattern(1 << 20)));
    }

    fn seg(sport: u16, syn: bool, window: u16) -> Segment {
        Segment {
            src: "127.0.0.1".parse().unwrap(),
            dst: "127.0.0.1".parse().unwrap(),
            sport,
            dport: 9,
            seq: 0,
            ack: 0,
            flags: crate::lab::packet::TcpFlags {
                syn,
                ..Default::default()
            },
            window,
            urgent: 0,
            mss: None,
            wscale: None,
            payload: 0,
            ttl: 64,
        }
    }

    #[test]
    fn largest_window_counts_the_receivers_scaled_windows_after_the_syn() {
        let segs = [
            seg(80, true, 65535),
            seg(80, false, 100),
            seg(80, false, 300),
            seg(81, false, 60000),
            seg(80, false, 200),
        ];
        assert_eq!(300, largest_window(&segs, 80, 0));
        assert_eq!(300 << 7, largest_window(&segs, 80, 7));
        assert_eq!(0, largest_window(&segs[..1], 80, 0));
    }

    #[test]
    fn select_sees_what_poll_sees() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert!(!select_ready(a.as_raw_fd(), false).unwrap());
        assert!(select_ready(a.as_raw_fd(), true).unwrap());
        std::io::Write::write_all(&mut &b, b"x").unwrap();
        assert!(select_ready(a.as_raw_fd(), false).unwrap());
        assert!(select_ready(libc::FD_SETSIZE as i32, false).is_err());
        assert!(select_ready(-1, false).is_err());
    }

    // -----------------------------------------------------------------------
    // bufsize.post_connect

    /// What Linux 6.18 did (a real run's numbers).
    fn post_connect_linux() -> PostConnect {
        PostConnect {
            rcvbuf_at_handshake: 8192,
            set_after_handshake: "ok".into(),
            rcvbuf_after: 2_097_152,
            rcvbuf_in_kernel_after: 2_097_152,
            rmem_max: 4_194_304,
            synack_wscale: 0,
            largest_window_before: 4096,
            largest_window_after: 4096,
            advertisements_before: 17,
            advertisements_after: 129,
        }
    }

    const PC_SET: &str = "setsockopt after the handshake";
    const PC_DOUBLED: &str = "getsockopt reports min(size, rmem_max) doubled";
    const PC_KERNEL: &str =
        "the kernel's own receive buffer (SO_MEMINFO) is what getsockopt reports";
    const PC_LARGER: &str = "the new size would allow a larger window";
    const PC_SEEN: &str =
        "the receiver advertised its window often enough to judge it, before and after";
    const PC_BEFORE: &str = "before the change the window is within the handshake-time buffer";
    const PC_LIMIT: &str = "after the change the window stays within 65535 << SYN-ACK scale";

    /// What Linux 7.x does (7.2.13 and 7.3-rc7 in the kernel matrix): the
    /// window grows after the change, to the most scale 0 can say. Fewer
    /// advertisements carry the 512 KiB through the larger window.
    fn post_connect_linux_7() -> PostConnect {
        PostConnect {
            largest_window_after: 65535,
            advertisements_after: 24,
            ..post_connect_linux()
        }
    }

    #[rstest]
    #[case::linux(post_connect_linux(), Verdict::Differs, &[])]
    // Linux 7.x: the same checks hold; the window grows, which refutes the
    // claim.
    #[case::linux_7(post_connect_linux_7(), Verdict::Refuted, &[])]
    // The claim's world: the change is refused once connected.
    #[case::refused(PostConnect { set_after_handshake: "EINVAL".into(), rcvbuf_after: 8192,
        rcvbuf_in_kernel_after: 8192, ..post_connect_linux() },
        Verdict::Holds, &[PC_SET, PC_DOUBLED, PC_LARGER])]
    // The least growth there is.
    #[case::window_one_more(PostConnect { largest_window_after: 4097, ..post_connect_linux() },
        Verdict::Refuted, &[])]
    #[case::window_smaller(PostConnect { largest_window_after: 2048, ..post_connect_linux() },
        Verdict::Differs, &[])]
    #[case::window_past_the_limit(PostConnect { largest_window_after: 65536, ..post_connect_linux_7() },
        Verdict::Refuted, &[PC_LIMIT])]
    // The window before the change, at and past the handshake-time buffer.
    #[case::before_at_the_buffer(PostConnect { largest_window_before: 8192, largest_window_after: 8192,
        ..post_connect_linux() }, Verdict::Differs, &[])]
    #[case::before_past_the_buffer(PostConnect { largest_window_before: 8193, largest_window_after: 8193,
        ..post_connect_linux() }, Verdict::Differs, &[PC_BEFORE])]
    // With a window scale the limit grows with it ...
    #[case::scaled(PostConnect { synack_wscale: 7, largest_window_after: 8_388_480,
        ..post_connect_linux_7() }, Verdict::Refuted, &[])]
    #[case::scaled_past_the_limit(PostConnect { synack_wscale: 7, largest_window_after: 8_388_481,
        ..post_connect_linux_7() }, Verdict::Refuted, &[PC_LIMIT])]
    // ... up to scale 14, the most RFC 7323 allows.
    #[case::scale_15_taken_as_14(PostConnect { synack_wscale: 15, largest_window_after: (65535 << 14) + 1,
        ..post_connect_linux_7() }, Verdict::Refuted, &[PC_LIMIT])]
    // A libc that ignores SO_RCVBUF and echoes it: the listener kept the
    // default buffer, and the kernel never saw the new size.
    #[case::libc_ignores_it(PostConnect { rcvbuf_at_handshake: 131_072, rcvbuf_after: 1_048_576,
        rcvbuf_in_kernel_after: 131_072, ..post_connect_linux() }, Verdict::Differs,
        &["the buffer at handshake time is the 4096 set on the listener, doubled", PC_DOUBLED, PC_KERNEL])]
    #[case::small_rmem_max(PostConnect { rmem_max: 212_992, rcvbuf_after: 425_984,
        rcvbuf_in_kernel_after: 425_984, ..post_connect_linux() }, Verdict::Differs, &[])]
    // Half the new buffer exactly 4 x the window before: not larger.
    #[case::no_larger(PostConnect { rcvbuf_after: 32768, rcvbuf_in_kernel_after: 32768,
        ..post_connect_linux() }, Verdict::Differs, &[PC_DOUBLED, PC_LARGER])]
    #[case::just_larger(PostConnect { rcvbuf_after: 32770, rcvbuf_in_kernel_after: 32770,
        ..post_connect_linux() }, Verdict::Differs, &[PC_DOUBLED])]
    #[case::much_smaller(PostConnect { rcvbuf_after: 20_000, rcvbuf_in_kernel_after: 20_000,
        ..post_connect_linux() }, Verdict::Differs, &[PC_DOUBLED, PC_LARGER])]
    // Advertisements: 64 KiB over a 4096-byte window need 16 (at least 8
    // judged on), 512 KiB 128 (64); over a 65535-byte window 8 (4).
    #[case::few_before(PostConnect { advertisements_before: 7, ..post_connect_linux() }, Verdict::Differs,
        &[PC_SEEN])]
    #[case::enough_before(PostConnect { advertisements_before: 8, advertisements_after: 64,
        ..post_connect_linux() }, Verdict::Differs, &[])]
    #[case::few_after(PostConnect { advertisements_after: 63, ..post_connect_linux() }, Verdict::Differs,
        &[PC_SEEN])]
    #[case::enough_after_7(PostConnect { advertisements_after: 4, ..post_connect_linux_7() },
        Verdict::Refuted, &[])]
    #[case::few_after_7(PostConnect { advertisements_after: 3, ..post_connect_linux_7() },
        Verdict::Refuted, &[PC_SEEN])]
    // No window seen before the change: no evidence to compare with.
    #[case::nothing_before(PostConnect { largest_window_before: 0, advertisements_before: 0,
        ..post_connect_linux() }, Verdict::Refuted, &[PC_SEEN])]
    fn post_connect_judgement(
        #[case] o: PostConnect,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), verdict_and_failures(&j));
    }

    #[test]
    fn post_connect_words() {
        let j = post_connect_linux().judge();
        assert_eq!(
            "set after the handshake: ok, 8192 -> 2097152 B; largest window 4096 -> 4096 B (limit 65535, \
             scale 0)",
            j.key
        );
        assert_eq!(
            "setsockopt(SO_RCVBUF, 1048576) after the handshake succeeded and getsockopt went from 8192 to \
             2097152, yet the largest window the receiver advertised went from 4096 to 4096 B: the window \
             stays at the clamp computed from the 8192-byte buffer at handshake time (SYN-ACK window scale 0, \
             at most 65535 B)",
            j.because
        );
        assert_eq!(
            "setsockopt(SO_RCVBUF, 1048576) after the handshake succeeded and getsockopt went from 8192 to \
             2097152, and the largest window the receiver advertised went from 4096 to 65535 B: the new buffer \
             reaches the wire after the handshake, as far as the handshake's window scale lets a window say \
             (SYN-ACK window scale 0, at most 65535 B)",
            post_connect_linux_7().judge().because
        );
        let refused = PostConnect {
            set_after_handshake: "EINVAL".into(),
            rcvbuf_after: 8192,
            ..post_connect_linux()
        };
        assert_eq!(
            "setsockopt(SO_RCVBUF, 1048576) after the handshake failed with EINVAL and getsockopt went from \
             8192 to 8192: the size cannot be changed after the handshake, and the largest window the \
             receiver advertised went from 4096 to 4096 B (SYN-ACK window scale 0, at most 65535 B)",
            refused.judge().because
        );
        let scaled = PostConnect {
            synack_wscale: 7,
            ..post_connect_linux()
        };
        assert_eq!(8_388_480, scaled.window_limit());
        let checks = scaled.judge().checks;
        let check = |what: &str| {
            let c = checks.iter().find(|c| c.what == what).unwrap();
            (c.expected.as_str(), c.observed.as_str())
        };
        assert_eq!(
            (
                "more than 16384 B (4 x the window before)",
                "1048576 B (half the buffer)"
            ),
            check(PC_LARGER)
        );
        assert_eq!(
            (
                "at least 8 and 64 times (half of 65536 and 524288 B over the largest window)",
                "17 and 129 times"
            ),
            check(PC_SEEN)
        );
        assert_eq!(("at most 8192 B", "4096 B"), check(PC_BEFORE));
        assert_eq!(("at most 8388480 B (scale 7)", "4096 B"), check(PC_LIMIT));
    }

    // -----------------------------------------------------------------------
    // rcvbuf.set_1024

    fn set_1024_linux() -> Set1024 {
        Set1024 {
            tcp_rmem: [4096, 131_072, 33_554_432],
            default_rcvbuf: 131_072,
            set_1024: "ok".into(),
            rcvbuf_after_1024: 2304,
            default_socket: Receiver {
                syn_window: 65495,
                syn_wscale: Some(10),
                largest_window: 105_472,
                bytes_taken_in: 93696,
                bytes_written_by_peer: 4_259_840,
                unsent_at_peer: 4_166_144,
            },
            socket_with_1024: Receiver {
                syn_window: 1152,
                syn_wscale: Some(0),
                largest_window: 1152,
                bytes_taken_in: 1152,
                bytes_written_by_peer: 1_718_784,
                unsent_at_peer: 1_717_632,
            },
        }
    }

    /// The notes' world: 1024 is 1024, on the wire too.
    fn set_1024_as_the_notes_say() -> Set1024 {
        let mut o = set_1024_linux();
        o.rcvbuf_after_1024 = 1024;
        o.socket_with_1024 = Receiver {
            syn_window: 1024,
            largest_window: 1024,
            bytes_taken_in: 1024,
            unsent_at_peer: 1_717_760,
            ..o.socket_with_1024
        };
        o
    }

    /// The 1024 socket with `f` applied.
    fn small(f: impl FnOnce(&mut Receiver)) -> Set1024 {
        let mut o = set_1024_linux();
        f(&mut o.socket_with_1024);
        o
    }

    /// The socket with 1024 taking in `n` bytes (its peer's books kept).
    fn takes_in(n: i32) -> Set1024 {
        small(|r| {
            r.bytes_taken_in = n;
            r.unsent_at_peer = r.bytes_written_by_peer as i32 - n;
        })
    }

    /// The default socket taking in `n` bytes.
    fn default_takes_in(n: i32) -> Set1024 {
        let mut o = set_1024_linux();
        o.default_socket.bytes_taken_in = n;
        o.default_socket.unsent_at_peer = o.default_socket.bytes_written_by_peer as i32 - n;
        o
    }

    fn reported_1024(n: i32) -> Set1024 {
        Set1024 {
            rcvbuf_after_1024: n,
            ..set_1024_linux()
        }
    }

    const S_DEFAULT: &str = "a new socket's SO_RCVBUF is tcp_rmem[1]";
    const S_SET: &str = "setsockopt(SO_RCVBUF, 1024)";
    const S_REPORTED: &str = "getsockopt reports 1024 doubled, raised to SOCK_MIN_RCVBUF";
    const S_SYN: &str = "the SYN offers a smaller window than a default socket's";
    const S_WINDOW: &str = "no window advertised while receiving exceeds the buffer";
    const S_TAKES: &str = "a non-reading receiver takes in no more than the buffer";
    const S_FAR_WINDOW: &str = "a default socket advertises a far larger window";
    const S_FAR_MORE: &str = "a default socket takes in far more";
    const S_BOOKS_DEFAULT: &str =
        "the default socket: every byte its peer wrote is taken in or still unsent at the peer";
    const S_BOOKS_SMALL: &str =
        "the 1024 socket: every byte its peer wrote is taken in or still unsent at the peer";

    #[rstest]
    #[case::linux(set_1024_linux(), Verdict::Differs, &[])]
    #[case::as_the_notes_say(set_1024_as_the_notes_say(), Verdict::Holds, &[S_REPORTED])]
    #[case::notes_but_one_byte_more({ let mut o = set_1024_as_the_notes_say();
        o.socket_with_1024.bytes_taken_in = 1025; o.socket_with_1024.unsent_at_peer -= 1; o },
        Verdict::Differs, &[S_REPORTED, S_TAKES])]
    // A libc that ignores SO_RCVBUF and echoes 1024: the socket behaves as a default one.
    #[case::libc_ignores_it(Set1024 { rcvbuf_after_1024: 1024,
        socket_with_1024: set_1024_linux().default_socket, ..set_1024_linux() },
        Verdict::Refuted, &[S_REPORTED, S_SYN, S_WINDOW, S_TAKES, S_FAR_WINDOW, S_FAR_MORE])]
    #[case::older_default(Set1024 { default_rcvbuf: 87380, ..set_1024_linux() },
        Verdict::Differs, &[S_DEFAULT])]
    #[case::refused(Set1024 { set_1024: "EINVAL".into(), ..set_1024_linux() },
        Verdict::Differs, &[S_SET])]
    #[case::reported_2048(reported_1024(2048), Verdict::Differs, &[S_REPORTED])]
    #[case::reported_2049(reported_1024(2049), Verdict::Differs, &[])]
    #[case::reported_4096(reported_1024(4096), Verdict::Differs, &[])]
    #[case::reported_4097(reported_1024(4097), Verdict::Differs, &[S_REPORTED])]
    #[case::syn_as_default(small(|r| r.syn_window = 65495), Verdict::Differs, &[S_SYN])]
    // A default socket whose SYN offered no more than the 1024 socket's.
    #[case::default_syn_as_small(Set1024 { default_socket: Receiver { syn_window: 1152,
        ..set_1024_linux().default_socket }, ..set_1024_linux() }, Verdict::Differs, &[S_SYN])]
    #[case::syn_at_the_buffer(small(|r| r.syn_window = 2304), Verdict::Differs, &[])]
    #[case::syn_past_the_buffer(small(|r| r.syn_window = 2305), Verdict::Differs, &[S_SYN])]
    #[case::window_at_the_buffer(small(|r| r.largest_window = 2304), Verdict::Differs, &[])]
    #[case::window_past_the_buffer(small(|r| r.largest_window = 2305), Verdict::Differs, &[S_WINDOW])]
    #[case::takes_in_nothing(takes_in(0), Verdict::Differs, &[S_TAKES])]
    #[case::takes_in_the_buffer(takes_in(2304), Verdict::Differs, &[])]
    #[case::takes_in_more(takes_in(2305), Verdict::Differs, &[S_TAKES])]
    // 8 x 1152 = 9216: not far larger, not far more; one byte above: far larger, far more.
    #[case::default_window_8_times(Set1024 { default_socket: Receiver { largest_window: 9216,
        ..set_1024_linux().default_socket }, ..set_1024_linux() }, Verdict::Differs, &[S_FAR_WINDOW])]
    #[case::default_window_more_than_8_times(Set1024 { default_socket: Receiver { largest_window: 9217,
        ..set_1024_linux().default_socket }, ..set_1024_linux() }, Verdict::Differs, &[])]
    #[case::default_8_times(default_takes_in(9216), Verdict::Differs, &[S_FAR_MORE])]
    #[case::default_more_than_8_times(default_takes_in(9217), Verdict::Differs, &[])]
    // Twice as much as the default socket: the setting made no difference.
    #[case::default_twice(default_takes_in(2304), Verdict::Refuted, &[S_FAR_MORE])]
    #[case::default_just_over_twice(default_takes_in(2305), Verdict::Differs, &[S_FAR_MORE])]
    #[case::books_default(Set1024 { default_socket: Receiver { unsent_at_peer: 0,
        ..set_1024_linux().default_socket }, ..set_1024_linux() }, Verdict::Differs, &[S_BOOKS_DEFAULT])]
    #[case::books_small(small(|r| r.bytes_written_by_peer += 1), Verdict::Differs, &[S_BOOKS_SMALL])]
    fn set_1024_judgement(#[case] o: Set1024, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), verdict_and_failures(&j));
    }

    #[test]
    fn set_1024_words() {
        let j = set_1024_linux().judge();
        assert_eq!(
            "default 131072, set 1024 -> 2304; SYN window 1152 B (default 65495 B), takes in 1152 B \
             (default 93696 B)",
            j.key
        );
        assert_eq!(
            "a new socket's SO_RCVBUF is 131072 (tcp_rmem[1] is 131072); after setting 1024 getsockopt says \
             2304. Its SYN offered a 1152-byte window (a default socket's: 65495 B), the largest window it \
             advertised was 1152 B, and it took in 1152 B before its window closed (a default socket: \
             93696 B)",
            j.because
        );
    }

    // -----------------------------------------------------------------------
    // rcvbuf.doubling

    fn rb(set: i32, v: i32) -> ReadBack {
        ReadBack {
            set,
            reported: v,
            in_kernel: v as u32,
        }
    }

    fn eff(set: i32, reported: i32, bytes: i64, peer_bytes: i64) -> Effect {
        Effect {
            set,
            reported,
            in_kernel: reported as u32,
            bytes,
            peer_bytes,
            written: bytes + peer_bytes,
        }
    }

    const MAX: i32 = 4_194_304;

    /// A read-back table with the values Linux gave for the probe sizes.
    fn table(floor: i32) -> Vec<ReadBack> {
        [
            (0, floor),
            (1, floor),
            (1024, floor),
            (4096, 8192),
            (65536, 131_072),
            (1 << 20, 2_097_152),
            (MAX, 2 * MAX),
            (MAX + 1, 2 * MAX),
            (2 * MAX, 2 * MAX),
            (-1, 2 * MAX),
        ]
        .map(|(s, v)| rb(s, v))
        .to_vec()
    }

    /// What Linux 6.18 did as root (a real run's numbers).
    fn doubling_root() -> Doubling {
        Doubling {
            rmem_max: MAX as i64,
            wmem_max: MAX as i64,
            privilege: Privilege::Root,
            rcvbuf_floor: rb(0, 2304),
            sndbuf_floor: rb(0, 4608),
            so_rcvbuf: table(2304),
            so_sndbuf: table(4608),
            receiver: vec![
                eff(4096, 8192, 4096, 1_495_040),
                eff(16384, 32768, 24576, 1_908_736),
                eff(65536, 131_072, 98277, 2_062_737),
                eff(262_144, 524_288, 458_752, 2_095_509),
            ],
            sender: vec![
                eff(4096, 8192, 8192, 4096),
                eff(16384, 32768, 26624, 4096),
                eff(65536, 131_072, 96256, 4096),
                eff(262_144, 524_288, 376_832, 4096),
            ],
            rcvbuf_force: Forced {
                set: 2 * MAX,
                result: "ok".into(),
                in_kernel_before: 131_072,
                in_kernel: 16_777_216,
                reported: 16_777_216,
            },
            sndbuf_force: Forced {
                set: 2 * MAX,
                result: "ok".into(),
                in_kernel_before: 16384,
                in_kernel: 16_777_216,
                reported: 16_777_216,
            },
        }
    }

    /// The same as an ordinary user: the FORCE variants refused, nothing changed.
    fn doubling_rootless() -> Doubling {
        let mut o = doubling_root();
        o.privilege = Privilege::UserNamespace;
        for f in [&mut o.rcvbuf_force, &mut o.sndbuf_force] {
            f.result = "EPERM".into();
            f.in_kernel = f.in_kernel_before;
            f.reported = f.in_kernel_before as i32;
        }
        o
    }

    /// The claim's world: the size set is the size used, without doubling,
    /// floor or clamp, and no FORCE variants.
    fn doubling_as_the_notes_say() -> Doubling {
        let mut o = doubling_root();
        let as_set = |t: &mut Vec<ReadBack>| {
            for r in t.iter_mut() {
                // A size of 0 (or -1) leaves some minimum: any value will do.
                let v = if r.set <= 0 { 512 } else { r.set };
                *r = rb(r.set, v);
            }
        };
        as_set(&mut o.so_rcvbuf);
        as_set(&mut o.so_sndbuf);
        o.rcvbuf_floor = rb(0, 512);
        o.sndbuf_floor = rb(0, 512);
        for e in o.receiver.iter_mut().chain(o.sender.iter_mut()) {
            *e = eff(e.set, e.set, e.set as i64, e.peer_bytes);
        }
        for f in [&mut o.rcvbuf_force, &mut o.sndbuf_force] {
            f.result = "ENOPROTOOPT".into();
            f.in_kernel = f.in_kernel_before;
            f.reported = f.in_kernel_before as i32;
        }
        o
    }

    /// A libc that ignores SO_RCVBUF and echoes it back: the kernel keeps its
    /// default buffer, which autotuning grows, whatever was set.
    fn doubling_rcvbuf_ignored() -> Doubling {
        let mut o = doubling_root();
        for r in o.so_rcvbuf.iter_mut() {
            *r = ReadBack {
                set: r.set,
                reported: r.set,
                in_kernel: 131_072,
            };
        }
        o.rcvbuf_floor = ReadBack {
            set: 0,
            reported: 0,
            in_kernel: 131_072,
        };
        for e in o.receiver.iter_mut() {
            *e = Effect {
                reported: e.set,
                in_kernel: 6_291_456,
                ..eff(e.set, e.set, 93696, 2_000_000)
            };
        }
        o
    }

    /// As root, with SO_SNDBUFFORCE silently ignored: it "succeeds" and
    /// nothing changes (the bug tests/sabotage.rs found).
    fn doubling_sndbufforce_ignored() -> Doubling {
        let mut o = doubling_root();
        o.sndbuf_force.in_kernel = 16384;
        o.sndbuf_force.reported = 16384;
        o
    }

    fn with(f: impl FnOnce(&mut Doubling)) -> Doubling {
        let mut o = doubling_root();
        f(&mut o);
        o
    }

    /// Linux with SOCK_MIN_RCVBUF `floor` (and SOCK_MIN_SNDBUF twice it).
    fn with_floor(floor: i32) -> Doubling {
        with(|o| {
            o.rcvbuf_floor = rb(0, floor);
            o.sndbuf_floor = rb(0, 2 * floor);
            for (t, f) in [(&mut o.so_rcvbuf, floor), (&mut o.so_sndbuf, 2 * floor)] {
                for r in t.iter_mut() {
                    *r = rb(
                        r.set,
                        doubled_and_clamped(r.set, MAX as i64, f as i64) as i32,
                    );
                }
            }
        })
    }

    /// Receiver `i` holding `bytes` (its peer's books kept).
    fn receiver_holds(i: usize, bytes: i64) -> Doubling {
        with(|o| {
            let e = &mut o.receiver[i];
            e.bytes = bytes;
            e.written = bytes + e.peer_bytes;
        })
    }

    fn sender_holds(i: usize, bytes: i64) -> Doubling {
        with(|o| {
            let e = &mut o.sender[i];
            e.bytes = bytes;
            e.written = bytes + e.peer_bytes;
        })
    }

    const D_FLOOR: &str = "SOCK_MIN_RCVBUF: 2048 + sizeof(struct sk_buff)";
    const D_SND_FLOOR: &str = "SOCK_MIN_SNDBUF is twice SOCK_MIN_RCVBUF";
    const D_RCV_TABLE: &str = "SO_RCVBUF reads back max(2 x min(value, max), floor)";
    const D_SND_TABLE: &str = "SO_SNDBUF reads back max(2 x min(value, max), floor)";
    const D_RCV_AGREE: &str =
        "getsockopt(SO_RCVBUF) is the kernel's own size (SO_MEMINFO), every socket";
    const D_SND_AGREE: &str =
        "getsockopt(SO_SNDBUF) is the kernel's own size (SO_MEMINFO), every socket";
    const D_RCV_GROWS: &str = "receiver takes in more for each larger setting";
    const D_RCV_BETWEEN: &str = "receiver takes in between half the size set and the reported size";
    const D_RCV_BOOKS: &str =
        "receiver takes in: every byte written is held by one end or the other";
    const D_SND_GROWS: &str = "sender queues more for each larger setting";
    const D_SND_BETWEEN: &str = "sender queues between half the size set and the reported size";
    const D_SND_BOOKS: &str = "sender queues: every byte written is held by one end or the other";
    const D_RCV_CLAMP: &str =
        "receiver: twice rmem_max gets no larger buffer than rmem_max (clamp)";
    const D_SND_CLAMP: &str = "sender: twice wmem_max gets no larger buffer than wmem_max (clamp)";
    const D_RCV_FORCE: &str = "SO_RCVBUFFORCE past the clamp (root: ok; user namespace: EPERM)";
    const D_RCV_FORCED: &str = "SO_RCVBUFFORCE: the kernel's buffer afterwards (SO_MEMINFO)";
    const D_SND_FORCE: &str = "SO_SNDBUFFORCE past the clamp (root: ok; user namespace: EPERM)";
    const D_SND_FORCED: &str = "SO_SNDBUFFORCE: the kernel's buffer afterwards (SO_MEMINFO)";

    #[rstest]
    #[case::linux_root(doubling_root(), Verdict::Differs, &[])]
    #[case::linux_rootless(doubling_rootless(), Verdict::Differs, &[])]
    #[case::as_the_notes_say(doubling_as_the_notes_say(), Verdict::Holds,
        &[D_FLOOR, D_SND_FLOOR, D_RCV_TABLE, D_SND_TABLE, D_RCV_CLAMP, D_SND_CLAMP,
          D_RCV_FORCE, D_RCV_FORCED, D_SND_FORCE, D_SND_FORCED])]
    // As the notes say, but a size of 0 gives 0: still the size set.
    #[case::as_the_notes_say_even_0(with(|o| { *o = doubling_as_the_notes_say();
        o.so_rcvbuf[0] = rb(0, 0); o.so_sndbuf[0] = rb(0, 0); }), Verdict::Holds,
        &[D_FLOOR, D_SND_FLOOR, D_RCV_TABLE, D_SND_TABLE, D_RCV_CLAMP, D_SND_CLAMP,
          D_RCV_FORCE, D_RCV_FORCED, D_SND_FORCE, D_SND_FORCED])]
    // As the notes say but for one size: the size used differs.
    #[case::one_size_doubled(with(|o| { *o = doubling_as_the_notes_say(); o.so_sndbuf[3] = rb(4096, 8192); }),
        Verdict::Differs, &[D_FLOOR, D_SND_FLOOR, D_RCV_TABLE, D_SND_TABLE, D_RCV_CLAMP, D_SND_CLAMP,
          D_RCV_FORCE, D_RCV_FORCED, D_SND_FORCE, D_SND_FORCED])]
    #[case::rcvbuf_ignored(doubling_rcvbuf_ignored(), Verdict::Refuted,
        &[D_FLOOR, D_SND_FLOOR, D_RCV_TABLE, D_RCV_AGREE, D_RCV_GROWS, D_RCV_BETWEEN])]
    #[case::sndbufforce_ignored(doubling_sndbufforce_ignored(), Verdict::Differs, &[D_SND_FORCED])]
    #[case::sndbufforce_ignored_rootless(with(|o| { *o = doubling_rootless();
        o.sndbuf_force.result = "ok".into(); }), Verdict::Differs, &[D_SND_FORCE])]
    #[case::rcvbufforce_ignored(with(|o| { o.rcvbuf_force.in_kernel = 131_072;
        o.rcvbuf_force.reported = 131_072; }), Verdict::Differs, &[D_RCV_FORCED])]
    // Root without CAP_NET_ADMIN in the initial namespace (a container).
    #[case::root_refused(with(|o| { let p = o.privilege; *o = doubling_rootless(); o.privilege = p; }),
        Verdict::Differs, &[D_RCV_FORCE, D_RCV_FORCED, D_SND_FORCE, D_SND_FORCED])]
    // Rootless, yet the buffer changed: the FORCE call did something after all.
    #[case::rootless_changed(with(|o| { *o = doubling_rootless(); o.sndbuf_force.in_kernel = 16385;
        o.sndbuf_force.reported = 16385; }), Verdict::Differs, &[D_SND_FORCED])]
    #[case::forced_one_off(with(|o| { o.rcvbuf_force.in_kernel = 16_777_215;
        o.rcvbuf_force.reported = 16_777_215; }), Verdict::Differs, &[D_RCV_FORCED])]
    #[case::floor_2048(with_floor(2048), Verdict::Differs, &[D_FLOOR])]
    #[case::floor_2049(with_floor(2049), Verdict::Differs, &[])]
    #[case::floor_4096(with_floor(4096), Verdict::Differs, &[])]
    #[case::floor_4097(with_floor(4097), Verdict::Differs, &[D_FLOOR])]
    #[case::snd_floor_not_twice(with(|o| o.sndbuf_floor = rb(0, 4609)), Verdict::Differs,
        &[D_SND_FLOOR, D_SND_TABLE])]
    #[case::rcv_not_doubled(with(|o| o.so_rcvbuf[4] = rb(65536, 65536)), Verdict::Differs, &[D_RCV_TABLE])]
    #[case::snd_not_clamped(with(|o| o.so_sndbuf[7] = rb(MAX + 1, 2 * MAX + 2)), Verdict::Differs,
        &[D_SND_TABLE])]
    #[case::rcv_echoed(with(|o| o.so_rcvbuf[5].reported = 1 << 20), Verdict::Differs,
        &[D_RCV_TABLE, D_RCV_AGREE])]
    #[case::snd_kernel_differs(with(|o| o.so_sndbuf[5].in_kernel = 1 << 20), Verdict::Differs,
        &[D_SND_AGREE])]
    #[case::snd_floor_kernel_differs(with(|o| o.sndbuf_floor.in_kernel = 1), Verdict::Differs,
        &[D_SND_AGREE])]
    #[case::rcv_effect_kernel_differs(with(|o| o.receiver[0].in_kernel = 1), Verdict::Differs,
        &[D_RCV_AGREE])]
    #[case::snd_force_kernel_differs(with(|o| o.sndbuf_force.reported = 1), Verdict::Differs,
        &[D_SND_AGREE])]
    // Receivers of 16 and 64 KiB taking in the same: nothing grew.
    #[case::receiver_flat(with(|o| { for i in [1, 2] { o.receiver[i].bytes = 32768;
        o.receiver[i].written = 32768 + o.receiver[i].peer_bytes; } }), Verdict::Refuted, &[D_RCV_GROWS])]
    #[case::receiver_just_grows(with(|o| { o.receiver[1].bytes = 32768; o.receiver[2].bytes = 32769;
        for e in o.receiver.iter_mut() { e.written = e.bytes + e.peer_bytes; } }), Verdict::Differs, &[])]
    #[case::sender_flat(with(|o| { for i in [1, 2] { o.sender[i].bytes = 32768;
        o.sender[i].written = 32768 + o.sender[i].peer_bytes; } }), Verdict::Refuted, &[D_SND_GROWS])]
    // Between half the size set (2048 for 4096) and the reported size (8192).
    #[case::receiver_half(receiver_holds(0, 2048), Verdict::Differs, &[])]
    #[case::receiver_below_half(receiver_holds(0, 2047), Verdict::Differs, &[D_RCV_BETWEEN])]
    #[case::receiver_at_reported(receiver_holds(0, 8192), Verdict::Differs, &[])]
    #[case::receiver_past_reported(receiver_holds(0, 8193), Verdict::Differs, &[D_RCV_BETWEEN])]
    #[case::sender_below_half(sender_holds(2, 32767), Verdict::Differs, &[D_SND_BETWEEN])]
    #[case::sender_past_reported(sender_holds(3, 524_289), Verdict::Differs, &[D_SND_BETWEEN])]
    #[case::receiver_books(with(|o| o.receiver[2].written += 1), Verdict::Differs, &[D_RCV_BOOKS])]
    #[case::sender_books(with(|o| o.sender[0].peer_bytes = 0), Verdict::Differs, &[D_SND_BOOKS])]
    // Past the clamp the kernel's buffer grew (and getsockopt said so).
    #[case::rcv_past_clamp_grows(with(|o| o.so_rcvbuf[8] = rb(2 * MAX, 4 * MAX)), Verdict::Differs,
        &[D_RCV_TABLE, D_RCV_CLAMP])]
    #[case::snd_at_clamp_unprobed(with(|o| { o.so_sndbuf.remove(6); }), Verdict::Differs, &[D_SND_CLAMP])]
    fn doubling_judgement(#[case] o: Doubling, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), verdict_and_failures(&j));
    }

    #[test]
    fn doubling_words() {
        let j = doubling_root().judge();
        assert_eq!(
            "SO_RCVBUF 4096 -> 8192; receiver takes in [4096, 24576, 98277, 458752] B; clamp 8388608; \
             FORCE ok",
            j.key
        );
        assert_eq!(
            "setting SO_RCVBUF to 4096 gives a buffer of 8192 B and 1024 gives 2304 B (the floor); 4194304 \
             (rmem_max) gives 8388608 B and 8388608 gives 8388608 B. A non-reading receiver took in 4096 B at \
             4096, 24576 B at 16384, 98277 B at 65536, 458752 B at 262144; a sender queued 8192 B at 4096, \
             26624 B at 16384, 96256 B at 65536, 376832 B at 262144 (wmem_max 4194304). As root: \
             SO_RCVBUFFORCE 8388608 succeeded (the kernel's buffer 16777216); SO_SNDBUFFORCE 8388608 \
             succeeded (the kernel's buffer 16777216)",
            j.because
        );
        let j = doubling_rootless().judge();
        assert!(j.key.ends_with("FORCE EPERM"), "{}", j.key);
        assert!(
            j.because.ends_with(
                "As an ordinary user (user namespace): SO_RCVBUFFORCE 8388608 failed with EPERM (the \
                 kernel's buffer 131072); SO_SNDBUFFORCE 8388608 failed with EPERM (the kernel's buffer \
                 16384)"
            ),
            "{}",
            j.because
        );
        let failed = |o: Doubling, what: &str| {
            let c = o
                .judge()
                .checks
                .into_iter()
                .find(|c| c.what == what)
                .unwrap();
            (c.expected, c.observed)
        };
        assert_eq!(
            (
                "16777216, twice the clamp of 8388608".into(),
                "16384".into()
            ),
            failed(doubling_sndbufforce_ignored(), D_SND_FORCED)
        );
        assert_eq!(
            ("16384, as before the call".into(), "16385".into()),
            failed(
                with(|o| {
                    *o = doubling_rootless();
                    o.sndbuf_force.in_kernel = 16385;
                }),
                D_SND_FORCED
            )
        );
        assert_eq!(
            (
                "every size".into(),
                "65536 -> 65536 (expected 131072)".into()
            ),
            failed(with(|o| o.so_rcvbuf[4] = rb(65536, 65536)), D_RCV_TABLE)
        );
        assert_eq!(
            (
                "every size".into(),
                "1048576: getsockopt 2097152, kernel 1".into()
            ),
            failed(with(|o| o.so_sndbuf[5].in_kernel = 1), D_SND_AGREE)
        );
        assert_eq!(
            (
                "strictly increasing".into(),
                "[8192, 8192, 96256, 376832]".into()
            ),
            failed(sender_holds(1, 8192), D_SND_GROWS)
        );
        assert_eq!(
            (
                "set/2 <= bytes <= reported, every size".into(),
                "set 4096 (reported 8192): 2047 B".into()
            ),
            failed(receiver_holds(0, 2047), D_RCV_BETWEEN)
        );
        assert_eq!(
            (
                "every size".into(),
                "set 65536: wrote 2161015 B, 98277 + 2062737 B held".into()
            ),
            failed(with(|o| o.receiver[2].written += 1), D_RCV_BOOKS)
        );
        assert_eq!(
            (
                "the kernel's size at the maximum, 8388608".into(),
                "16777216".into()
            ),
            failed(with(|o| o.so_rcvbuf[8] = rb(2 * MAX, 4 * MAX)), D_RCV_CLAMP)
        );
        assert_eq!(
            (
                "the kernel's size at the maximum, none".into(),
                "8388608".into()
            ),
            failed(
                with(|o| {
                    o.so_sndbuf.remove(6);
                }),
                D_SND_CLAMP
            )
        );
    }

    // -----------------------------------------------------------------------
    // rcvbuf.excess_discarded

    fn excess_linux() -> ExcessDiscarded {
        ExcessDiscarded {
            tcp: TcpExcess {
                sent: 1_048_576,
                sent_checksum: 15_275_751_961_325_077_778,
                rcvbuf_reported: 16384,
                sndbuf_reported: 131_072,
                writer_asleep_at_closed_window: true,
                receiver_queued_at_stall: 12288,
                sender_queued_at_stall: 114_688,
                delivered: 1_048_576,
                delivered_checksum: 15_275_751_961_325_077_778,
                to_zero_window_adverts: 85,
                zero_window_drops: 0,
                rcvq_drops: 0,
                retransmitted_segments: 0,
                nonblocking_accepted: 126_976,
                nonblocking_delivered: 126_976,
            },
            udp: UdpExcess {
                sent: 64,
                rcvbuf_reported: 8192,
                queued: 3,
                dropped: 61,
                received_seq: vec![0, 1, 2],
                socket_drop_counter: 61,
                rxq_ovfl_on_next_datagram: Some(61),
                udp_rcvbuf_errors: 61,
            },
        }
    }

    fn tcp(f: impl FnOnce(&mut TcpExcess)) -> ExcessDiscarded {
        let mut o = excess_linux();
        f(&mut o.tcp);
        o
    }

    fn udp(f: impl FnOnce(&mut UdpExcess)) -> ExcessDiscarded {
        let mut o = excess_linux();
        f(&mut o.udp);
        o
    }

    /// The claim's world for TCP: the receiver throws away what does not fit.
    fn excess_thrown_away() -> ExcessDiscarded {
        tcp(|t| {
            t.delivered = 16384;
            t.delivered_checksum = 1;
            t.rcvq_drops = 700;
        })
    }

    /// A UDP receive buffer with room for everything (SO_RCVBUF ignored).
    fn udp_room_for_all() -> ExcessDiscarded {
        udp(|u| {
            u.rcvbuf_reported = 4096;
            u.queued = 64;
            u.dropped = 0;
            u.received_seq = (0..64).collect();
            u.socket_drop_counter = 0;
            u.rxq_ovfl_on_next_datagram = None;
            u.udp_rcvbuf_errors = 0;
        })
    }

    const E_ASLEEP: &str =
        "TCP: the blocking writer sleeps in send() while the receiver's window is closed";
    const E_HOLDS: &str = "TCP: the receiver holds no more than its buffer at the stall";
    const E_ZERO: &str = "TCP: the receiver advertised a zero window";
    const E_EVERY: &str = "TCP: every byte delivered";
    const E_SUM: &str = "TCP: checksum of the delivered stream";
    const E_DROPS: &str = "TCP: segments dropped at the receiver (TCPZeroWindowDrop + TCPRcvQDrop)";
    const E_NB: &str =
        "TCP non-blocking: EAGAIN once both buffers are full, and all of it delivered";
    const E_UDP_SPLIT: &str = "UDP: the first datagrams are queued, the rest dropped";
    const E_UDP_ORDER: &str = "UDP: the datagrams read back are the first ones, in order";
    const E_UDP_COUNTER: &str = "UDP: the socket's drop counter (SO_MEMINFO)";
    const E_UDP_OVFL: &str = "UDP: SO_RXQ_OVFL on the next datagram";
    const E_UDP_ERRORS: &str = "UDP: Udp RcvbufErrors in the namespace";

    #[rstest]
    #[case::linux(excess_linux(), Verdict::Differs, &[])]
    #[case::tcp_throws_away(excess_thrown_away(), Verdict::Holds, &[E_EVERY, E_SUM, E_DROPS])]
    // Every byte counted, but not the bytes sent.
    #[case::tcp_corrupts(tcp(|t| t.delivered_checksum = 2), Verdict::Holds, &[E_SUM])]
    #[case::tcp_short(tcp(|t| t.delivered = 1_048_575), Verdict::Holds, &[E_EVERY])]
    #[case::nothing_lost_anywhere(udp_room_for_all(), Verdict::Refuted, &[E_UDP_SPLIT, E_UDP_OVFL])]
    #[case::never_asleep(tcp(|t| t.writer_asleep_at_closed_window = false), Verdict::Differs, &[E_ASLEEP])]
    #[case::receiver_empty(tcp(|t| t.receiver_queued_at_stall = 0), Verdict::Differs, &[E_HOLDS])]
    #[case::receiver_full(tcp(|t| t.receiver_queued_at_stall = 16384), Verdict::Differs, &[])]
    #[case::receiver_overfull(tcp(|t| t.receiver_queued_at_stall = 16385), Verdict::Differs, &[E_HOLDS])]
    #[case::no_zero_window(tcp(|t| t.to_zero_window_adverts = 0), Verdict::Differs, &[E_ZERO])]
    #[case::one_zero_window(tcp(|t| t.to_zero_window_adverts = 1), Verdict::Differs, &[])]
    #[case::zero_window_drop(tcp(|t| t.zero_window_drops = 1), Verdict::Differs, &[E_DROPS])]
    #[case::both_drops(tcp(|t| { t.zero_window_drops = 1; t.rcvq_drops = 1; }), Verdict::Differs, &[E_DROPS])]
    #[case::rcvq_drop(tcp(|t| t.rcvq_drops = 1), Verdict::Differs, &[E_DROPS])]
    #[case::nb_at_bound(tcp(|t| { t.nonblocking_accepted = 147_456; t.nonblocking_delivered = 147_456; }),
        Verdict::Differs, &[])]
    #[case::nb_past_bound(tcp(|t| { t.nonblocking_accepted = 147_457; t.nonblocking_delivered = 147_457; }),
        Verdict::Differs, &[E_NB])]
    #[case::nb_lost(tcp(|t| t.nonblocking_delivered = 126_975), Verdict::Differs, &[E_NB])]
    #[case::udp_all_dropped(udp(|u| { u.queued = 0; u.dropped = 64; u.received_seq = vec![];
        u.socket_drop_counter = 64; u.rxq_ovfl_on_next_datagram = Some(64); u.udp_rcvbuf_errors = 64; }),
        Verdict::Differs, &[E_UDP_SPLIT])]
    #[case::udp_one_unaccounted(udp(|u| { u.dropped = 60; u.socket_drop_counter = 60;
        u.rxq_ovfl_on_next_datagram = Some(60); u.udp_rcvbuf_errors = 60; }), Verdict::Differs, &[E_UDP_SPLIT])]
    #[case::udp_out_of_order(udp(|u| u.received_seq = vec![0, 2, 1]), Verdict::Differs, &[E_UDP_ORDER])]
    #[case::udp_counter(udp(|u| u.socket_drop_counter = 60), Verdict::Differs, &[E_UDP_COUNTER])]
    #[case::udp_no_ovfl(udp(|u| u.rxq_ovfl_on_next_datagram = None), Verdict::Differs, &[E_UDP_OVFL])]
    #[case::udp_errors(udp(|u| u.udp_rcvbuf_errors = 62), Verdict::Differs, &[E_UDP_ERRORS])]
    fn excess_judgement(
        #[case] o: ExcessDiscarded,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), verdict_and_failures(&j));
    }

    #[test]
    fn excess_words() {
        let j = excess_linux().judge();
        assert_eq!(
            "TCP 1048576 of 1048576 B delivered, the writer blocked; UDP 61 of 64 dropped",
            j.key
        );
        assert_eq!(
            "TCP: 1048576 B written into a receiver with SO_RCVBUF 16384, which held 12288 B while the \
             writer slept in send() (the window advertised zero 85 times); 1048576 B delivered with the same \
             checksum; 0 segments dropped at the receiver, 0 retransmitted. Non-blocking: EAGAIN after \
             126976 B, 126976 B delivered. UDP: 64 datagrams of 1000 B into a buffer of 8192 B: 3 queued, 61 \
             dropped (Udp RcvbufErrors 61, SO_RXQ_OVFL 61)",
            j.because
        );
        let j = excess_thrown_away().judge();
        assert!(j
            .because
            .contains("16384 B delivered with a different checksum; 700 segments"));
        let j = tcp(|t| t.writer_asleep_at_closed_window = false).judge();
        assert!(j.key.contains("the writer never blocked"), "{}", j.key);
        assert!(j
            .because
            .contains("while the writer did not sleep in send()"));
        let c = &j.checks[0];
        assert_eq!(
            (ASLEEP_AT_CLOSED_WINDOW, "not asleep at a closed window"),
            (c.expected.as_str(), c.observed.as_str())
        );
        let j = udp_room_for_all().judge();
        assert!(j.because.ends_with("SO_RXQ_OVFL none)"), "{}", j.because);
    }

    // -----------------------------------------------------------------------
    // sndbuf.write_blocks_when_full

    fn write_blocks_linux() -> WriteBlocks {
        WriteBlocks {
            blocking: BlockingWrite {
                sndbuf_reported: 32768,
                asleep_in_sendto: true,
                wmem_queued_at_stall: 34432,
                sndbuf_at_stall: 32768,
                unsent_or_unacked_at_stall: 32768,
                receiver_queued_at_stall: 24576,
                send_returned: 262_144,
            },
            nonblocking: NonBlockingWrite {
                accepted_until_full: 61440,
                sender_queued_when_full: 32768,
                send_when_full: "EAGAIN".into(),
                freed_by_reading: 28672,
                writable_after_reading: true,
                partial_send: 38912,
            },
        }
    }

    fn blocking(f: impl FnOnce(&mut BlockingWrite)) -> WriteBlocks {
        let mut o = write_blocks_linux();
        f(&mut o.blocking);
        o
    }

    fn nonblocking(f: impl FnOnce(&mut NonBlockingWrite)) -> WriteBlocks {
        let mut o = write_blocks_linux();
        f(&mut o.nonblocking);
        o
    }

    const W_ASLEEP: &str = "blocking send() sleeps in sendto while the peer's window is closed";
    const W_FULL: &str = "the send buffer is full while it sleeps";
    const W_KERNEL: &str = "getsockopt(SO_SNDBUF) is the kernel's own send buffer (SO_MEMINFO)";
    const W_WHOLE: &str = "once the peer reads, send() returns the whole count";
    const W_EAGAIN: &str = "non-blocking send() on a full buffer";
    const W_BOOKS: &str = "non-blocking: every byte taken is at the peer or in the sender's queue";
    const W_POLLOUT: &str = "POLLOUT after the peer read";
    const W_PARTIAL: &str = "non-blocking send() with some room returns a partial count";

    #[rstest]
    #[case::linux(write_blocks_linux(), Verdict::Holds, &[])]
    // A send buffer that grows without bound (SO_SNDBUF ignored, autotuning): no sleep.
    #[case::never_blocks(blocking(|b| { b.asleep_in_sendto = false; b.sndbuf_reported = 32768;
        b.sndbuf_at_stall = 4_194_304; b.wmem_queued_at_stall = 300_000; }), Verdict::Refuted,
        &[W_ASLEEP, W_FULL, W_KERNEL])]
    #[case::returns_early(blocking(|b| b.send_returned = 32768), Verdict::Refuted, &[W_WHOLE])]
    #[case::buffer_just_full(blocking(|b| b.wmem_queued_at_stall = 32768), Verdict::Holds, &[])]
    #[case::buffer_not_full(blocking(|b| b.wmem_queued_at_stall = 32767), Verdict::Holds, &[W_FULL])]
    #[case::getsockopt_echo(blocking(|b| b.sndbuf_reported = 16384), Verdict::Holds, &[W_KERNEL])]
    #[case::room_when_full(nonblocking(|n| n.send_when_full = "ok".into()), Verdict::Holds, &[W_EAGAIN])]
    #[case::books(nonblocking(|n| n.sender_queued_when_full = 32767), Verdict::Holds, &[W_BOOKS])]
    #[case::no_pollout(nonblocking(|n| n.writable_after_reading = false), Verdict::Holds, &[W_POLLOUT])]
    #[case::nothing_sent(nonblocking(|n| n.partial_send = 0), Verdict::Holds, &[W_PARTIAL])]
    #[case::one_byte_sent(nonblocking(|n| n.partial_send = 1), Verdict::Holds, &[])]
    #[case::all_but_one(nonblocking(|n| n.partial_send = WB_WRITE - 1), Verdict::Holds, &[])]
    #[case::all_sent(nonblocking(|n| n.partial_send = WB_WRITE), Verdict::Holds, &[W_PARTIAL])]
    fn write_blocks_judgement(
        #[case] o: WriteBlocks,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), verdict_and_failures(&j));
    }

    #[test]
    fn write_blocks_words() {
        let j = write_blocks_linux().judge();
        assert_eq!(
            "blocking: asleep then 262144 B; non-blocking: EAGAIN then 38912 B",
            j.key
        );
        assert_eq!(
            "a blocking send() of 262144 B with SO_SNDBUF 32768 slept in sendto (34432 B queued against a \
             send buffer of 32768 B, the peer holding 24576 B) and returned 262144 once the peer read; \
             non-blocking: 61440 B taken, then send() failed with EAGAIN; after the peer read 28672 B, \
             POLLOUT came and send(262144) returned 38912",
            j.because
        );
        let j = blocking(|b| b.asleep_in_sendto = false).judge();
        assert!(j.key.starts_with("blocking: never asleep"));
        assert!(j.because.contains("did not sleep at a closed window"));
        let j = nonblocking(|n| n.writable_after_reading = false).judge();
        assert!(j.because.contains("POLLOUT never came"));
    }

    // -----------------------------------------------------------------------
    // lowat.rcvlowat

    fn readiness(queued: i32, select: bool, poll: bool) -> Readiness {
        Readiness {
            queued,
            select,
            poll,
        }
    }

    fn rcvlowat_linux() -> RcvLowat {
        RcvLowat {
            default: 1,
            set: "ok".into(),
            reported: 1000,
            below_mark: readiness(500, false, false),
            above_mark: readiness(1100, true, true),
            nonblocking_recv: "ok".into(),
            nonblocking_returned: Some(500),
            blocking_recv: BlockingRecv {
                asleep_after_taking_first: true,
                asleep_with_mark_reached_in_total: true,
                returned: 1700,
            },
        }
    }

    /// A kernel (or libc) that ignores the mark: readable at 1 byte, recv()
    /// returns what is there.
    fn rcvlowat_ignored() -> RcvLowat {
        RcvLowat {
            below_mark: readiness(500, true, true),
            blocking_recv: BlockingRecv {
                asleep_after_taking_first: false,
                asleep_with_mark_reached_in_total: false,
                returned: 500,
            },
            ..rcvlowat_linux()
        }
    }

    const R_BELOW: &str = "500 bytes queued, mark 1000: select() and poll() say not readable";
    const R_ABOVE: &str = "1100 bytes queued, mark 1000: select() and poll() say readable";

    #[rstest]
    #[case::linux(rcvlowat_linux(), Verdict::Holds, &[])]
    #[case::mark_ignored(rcvlowat_ignored(), Verdict::Refuted,
        &[R_BELOW, "a blocking recv() takes the 500 bytes and sleeps on",
          "and is still asleep with 500 taken and 600 queued", "it returns once the unread bytes reach the mark"])]
    #[case::never_readable(RcvLowat { above_mark: readiness(1100, false, false), ..rcvlowat_linux() },
        Verdict::Differs, &[R_ABOVE])]
    #[case::inverted(RcvLowat { below_mark: readiness(500, true, true), above_mark: readiness(1100, false, false),
        ..rcvlowat_linux() }, Verdict::Differs, &[R_BELOW, R_ABOVE])]
    // The verdict follows select(); poll() has its own checks.
    #[case::poll_below(RcvLowat { below_mark: readiness(500, false, true), ..rcvlowat_linux() },
        Verdict::Holds, &[R_BELOW])]
    #[case::poll_above(RcvLowat { above_mark: readiness(1100, true, false), ..rcvlowat_linux() },
        Verdict::Holds, &[R_ABOVE])]
    #[case::default_0(RcvLowat { default: 0, ..rcvlowat_linux() }, Verdict::Holds, &["default SO_RCVLOWAT"])]
    #[case::refused(RcvLowat { set: "ENOPROTOOPT".into(), ..rcvlowat_linux() }, Verdict::Holds,
        &["setsockopt(SO_RCVLOWAT, 1000)"])]
    #[case::reads_back_other(RcvLowat { reported: 1, ..rcvlowat_linux() }, Verdict::Holds,
        &["SO_RCVLOWAT reads back 1000"])]
    #[case::queued_other(RcvLowat { above_mark: readiness(1000, true, true), ..rcvlowat_linux() },
        Verdict::Holds, &["bytes queued when readiness was asked, below and above the mark"])]
    #[case::nonblocking_fails(RcvLowat { nonblocking_recv: "EAGAIN".into(), nonblocking_returned: None,
        ..rcvlowat_linux() }, Verdict::Holds, &["a non-blocking recv() below the mark returns what is there"])]
    fn rcvlowat_judgement(#[case] o: RcvLowat, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), verdict_and_failures(&j));
    }

    #[test]
    fn rcvlowat_words() {
        let j = rcvlowat_linux().judge();
        assert_eq!(
            "mark 1000: 500 B not readable, 1100 B readable; blocking recv() -> 1700 B",
            j.key
        );
        assert_eq!(
            "SO_RCVLOWAT is 1 by default, 1000 after setting it to 1000: with 500 B queued select() not \
             readable, poll() not readable; with 1100 B queued select() readable, poll() readable. A blocking \
             recv() took the 500 B and slept on: yes; still asleep after 600 more: yes; it returned 1700 B \
             after another 600. recv(MSG_DONTWAIT) below the mark returned 500 B",
            j.because
        );
        let j = RcvLowat {
            nonblocking_recv: "EAGAIN".into(),
            nonblocking_returned: None,
            ..rcvlowat_ignored()
        }
        .judge();
        assert_eq!(
            "mark 1000: 500 B readable, 1100 B readable; blocking recv() -> 500 B",
            j.key
        );
        assert!(j
            .because
            .contains("slept on: no; still asleep after 600 more: no;"));
        assert!(j.because.ends_with("returned EAGAIN"), "{}", j.because);
        assert_eq!(
            "select() readable, poll() not readable",
            readiness(1, true, false).words()
        );
    }

    // -----------------------------------------------------------------------
    // lowat.sndlowat

    /// wmem_queued after each 1 KiB written, as Linux 6.18 counted it (a real
    /// run); the first 34 samples were writable.
    const QUEUED: [i64; 50] = [
        1856, 2880, 3904, 4928, 5952, 6976, 8000, 9024, 10048, 11072, 12096, 13120, 14144, 15168,
        16192, 17216, 19072, 20096, 21952, 22976, 24832, 25856, 27712, 28736, 30592, 31616, 33472,
        34496, 36352, 37376, 39232, 40256, 42112, 43136, 44992, 46016, 47872, 48896, 50752, 51776,
        53632, 54656, 56512, 57536, 59392, 60416, 62272, 63296, 65152, 66176,
    ];

    fn sample(unsent: i32, wmem_queued: i64, writable: bool) -> WriteSample {
        WriteSample {
            unsent,
            wmem_queued,
            sndbuf: 65536,
            select_writable: writable,
            poll_writable: writable,
        }
    }

    fn sndlowat_linux() -> SndLowat {
        SndLowat {
            set_4096: "ENOPROTOOPT".into(),
            reported: 1,
            samples: QUEUED
                .iter()
                .enumerate()
                .map(|(i, &q)| sample(1024 * (i as i32 + 1), q, i < 34))
                .collect(),
            notsent_lowat: 8192,
            samples_with_notsent_lowat: QUEUED[..8]
                .iter()
                .enumerate()
                .map(|(i, &q)| sample(1024 * (i as i32 + 1), q, i < 3))
                .collect(),
            unsent_at_eagain_with_notsent_lowat: 8192,
        }
    }

    /// The notes' world: SO_SNDLOWAT settable, writable while 2048 B are free.
    fn sndlowat_as_the_notes_say() -> SndLowat {
        let mut o = sndlowat_linux();
        o.set_4096 = "ok".into();
        o.reported = 4096;
        for s in o.samples.iter_mut() {
            let w = s.free() >= 2048;
            s.select_writable = w;
            s.poll_writable = w;
        }
        o
    }

    /// Nine writable samples from the real run, then one that is not, with
    /// `queued` bytes queued.
    fn flips_at(queued: i64) -> SndLowat {
        let mut samples: Vec<WriteSample> = sndlowat_linux().samples[..9].to_vec();
        samples.push(sample(40960, queued, false));
        SndLowat {
            samples,
            ..sndlowat_linux()
        }
    }

    fn notsent(f: impl FnOnce(&mut Vec<WriteSample>)) -> SndLowat {
        let mut o = sndlowat_linux();
        f(&mut o.samples_with_notsent_lowat);
        o
    }

    const L_SET: &str = "setsockopt(SO_SNDLOWAT)";
    const L_GET: &str = "getsockopt(SO_SNDLOWAT)";
    const L_RULE: &str = "select() and poll() writable exactly while free >= queued / 2";
    const L_FAR: &str = "writability ends with far more than 2048 bytes free";
    const L_NOTSENT: &str =
        "TCP_NOTSENT_LOWAT: writable exactly while 2 x unsent < it (and free >= queued / 2)";
    const L_EAGAIN: &str =
        "TCP_NOTSENT_LOWAT: EAGAIN once the unsent bytes reach it, the buffer still half empty";

    #[rstest]
    #[case::linux(sndlowat_linux(), Verdict::Refuted, &[])]
    #[case::as_the_notes_say(sndlowat_as_the_notes_say(), Verdict::Holds, &[L_SET, L_GET, L_RULE, L_FAR])]
    // Settable, but writability as on Linux.
    #[case::settable(SndLowat { set_4096: "ok".into(), ..sndlowat_linux() }, Verdict::Differs, &[L_SET])]
    // Not settable, and nothing with 2048 B free was unwritable.
    #[case::always_writable(SndLowat { samples: sndlowat_linux().samples[..34].to_vec(), ..sndlowat_linux() },
        Verdict::Differs, &[L_FAR])]
    #[case::reads_other(SndLowat { reported: 2048, ..sndlowat_linux() }, Verdict::Refuted, &[L_GET])]
    #[case::eight_samples(SndLowat { samples: sndlowat_linux().samples[27..35].to_vec(), ..sndlowat_linux() },
        Verdict::Refuted, &[L_RULE])]
    #[case::nine_samples(SndLowat { samples: sndlowat_linux().samples[26..35].to_vec(), ..sndlowat_linux() },
        Verdict::Refuted, &[])]
    #[case::select_disagrees(with_sample(3, |s| s.select_writable = false), Verdict::Refuted, &[L_RULE])]
    #[case::writable_too_long(with_sample(34, |s| s.poll_writable = true), Verdict::Refuted, &[L_RULE])]
    // free == queued / 2 exactly (21845 = 43691 / 2): still writable.
    #[case::rule_boundary(with_sample(34, |s| { s.wmem_queued = 43691; s.select_writable = true;
        s.poll_writable = true; }), Verdict::Refuted, &[])]
    #[case::flip_at_8192_free(flips_at(57344), Verdict::Refuted, &[L_FAR])]
    #[case::flip_at_8193_free(flips_at(57343), Verdict::Refuted, &[])]
    // Unwritable with exactly 2048 free breaks the notes' rule; with 2047, not.
    #[case::flip_at_2048_free(flips_at(63488), Verdict::Refuted, &[L_FAR])]
    #[case::flip_at_2047_free(flips_at(63489), Verdict::Differs, &[L_FAR])]
    #[case::notsent_ignored(notsent(|v| { for s in v.iter_mut() { s.select_writable = true;
        s.poll_writable = true; } }), Verdict::Refuted, &[L_NOTSENT])]
    // Never written up to the mark: every sample writable, as the rule says,
    // yet the mark was never seen to act.
    #[case::notsent_never_reached(notsent(|v| v.truncate(3)), Verdict::Refuted, &[L_NOTSENT])]
    #[case::notsent_select_disagrees(notsent(|v| v[4].select_writable = true), Verdict::Refuted, &[L_NOTSENT])]
    // 2 x 4096 unsent = 8192, not below the mark: unwritable (the real run).
    #[case::notsent_writable_at_the_mark(notsent(|v| { v[3].select_writable = true; v[3].poll_writable = true; }),
        Verdict::Refuted, &[L_NOTSENT])]
    #[case::eagain_early(SndLowat { unsent_at_eagain_with_notsent_lowat: 8191, ..sndlowat_linux() },
        Verdict::Refuted, &[L_EAGAIN])]
    #[case::eagain_half_full(notsent(|v| v[7].wmem_queued = 32768), Verdict::Refuted, &[L_EAGAIN])]
    #[case::eagain_just_under_half(notsent(|v| v[7].wmem_queued = 32767), Verdict::Refuted, &[])]
    #[case::no_notsent_samples(notsent(|v| v.clear()), Verdict::Refuted, &[L_NOTSENT, L_EAGAIN])]
    fn sndlowat_judgement(#[case] o: SndLowat, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), verdict_and_failures(&j));
    }

    fn with_sample(i: usize, f: impl FnOnce(&mut WriteSample)) -> SndLowat {
        let mut o = sndlowat_linux();
        f(&mut o.samples[i]);
        o
    }

    #[test]
    fn sndlowat_words() {
        let j = sndlowat_linux().judge();
        assert_eq!(
            "SO_SNDLOWAT set: ENOPROTOOPT, reads 1; not writable from 20544 B free; NOTSENT_LOWAT EAGAIN at \
             8192 B",
            j.key
        );
        assert_eq!(
            "setsockopt(SO_SNDLOWAT, 4096) failed with ENOPROTOOPT and getsockopt says 1; with a send buffer \
             of 65536 B and the peer's window closed, select() and poll() stopped saying writable with 20544 B \
             free (44992 B queued), and 14 samples with 2048 B or more free were not writable; with \
             TCP_NOTSENT_LOWAT 8192, writability ended at 4096 B unsent and send() got EAGAIN at 8192 B \
             unsent",
            j.because
        );
        let checks = |o: SndLowat| -> Vec<(String, String)> {
            o.judge()
                .checks
                .into_iter()
                .map(|c| (c.expected, c.observed))
                .collect()
        };
        let linux = checks(sndlowat_linux());
        assert_eq!(
            (
                "every sample, more than 8 of them".into(),
                "every one of 50".into()
            ),
            linux[2]
        );
        assert_eq!(
            ("more than 8192 B free".into(), "20544 B free".into()),
            linux[3]
        );
        assert_eq!(
            (
                "every sample, some not writable".into(),
                "every one of 8, 5 not writable".into()
            ),
            linux[4]
        );
        assert_eq!(
            (
                "at least 8192 B unsent, more than half the buffer free".into(),
                "8192 B unsent, 56512 of 65536 B free".into()
            ),
            linux[5]
        );
        let off = checks(with_sample(3, |s| s.select_writable = false));
        assert_eq!("queued 4928 free 60608: writable", off[2].1);
        let off = checks(notsent(|v| v[4].select_writable = true));
        assert_eq!("queued 5952 free 59584: not writable", off[4].1);
        let never = SndLowat {
            samples: sndlowat_linux().samples[..34].to_vec(),
            samples_with_notsent_lowat: vec![],
            ..sndlowat_linux()
        };
        let j = never.judge();
        assert!(j.key.contains("not writable from never;"), "{}", j.key);
        assert!(j.because.contains("said writable to the end"));
        assert!(j.because.contains("writability never ended"));
        let c = checks(never);
        assert_eq!("writable to the end", c[3].1);
        assert_eq!("8192 B unsent, no sample", c[5].1);
        let empty = SndLowat {
            samples: vec![],
            ..sndlowat_linux()
        };
        assert!(empty.judge().because.contains("with a send buffer of 0 B"));
    }

    // -----------------------------------------------------------------------
    // timeout.so_timeout

    fn timed_ms(result: &str, count: Option<usize>, ms: u64) -> Timed {
        Timed {
            result: result.into(),
            count,
            took: Duration::from_millis(ms),
        }
    }

    fn so_timeout_linux() -> SoTimeout {
        SoTimeout {
            option_0x1006: "ENOPROTOOPT".into(),
            rcvtimeo_as_int: "EINVAL".into(),
            rcvtimeo_read_back: Duration::from_millis(200),
            recv_idle: timed_ms("EAGAIN", None, 208),
            send_into_full_buffer: timed_ms("ok", Some(30720), 207),
            send_again: timed_ms("EAGAIN", None, 204),
        }
    }

    /// SO_RCVTIMEO ignored: recv() waits until the guard shuts the socket down.
    fn so_timeout_rcvtimeo_ignored() -> SoTimeout {
        SoTimeout {
            rcvtimeo_as_int: "ok".into(),
            recv_idle: timed_ms("ok", Some(0), 3200),
            ..so_timeout_linux()
        }
    }

    fn recv_took(ms: u64) -> SoTimeout {
        SoTimeout {
            recv_idle: timed_ms("EAGAIN", None, ms),
            ..so_timeout_linux()
        }
    }

    fn first_send(count: Option<usize>, ms: u64) -> SoTimeout {
        SoTimeout {
            send_into_full_buffer: timed_ms(
                if count.is_some() { "ok" } else { "EAGAIN" },
                count,
                ms,
            ),
            ..so_timeout_linux()
        }
    }

    fn second_send(result: &str, ms: u64) -> SoTimeout {
        SoTimeout {
            send_again: timed_ms(result, None, ms),
            ..so_timeout_linux()
        }
    }

    const T_0X1006: &str = "option 0x1006 (SO_TIMEOUT in Java, SO_RCVTIMEO on BSD)";
    const T_INT: &str = "SO_RCVTIMEO given an int, as the blog passes it";
    const T_READ: &str = "SO_RCVTIMEO reads back the timeval set";
    const T_RECV: &str =
        "SO_RCVTIMEO: recv() on an idle connection fails with EAGAIN after the timeout";
    const T_SEND: &str =
        "SO_SNDTIMEO: a send() larger than the buffers returns a partial count after the timeout";
    const T_AGAIN: &str =
        "SO_SNDTIMEO: the next send() into the full buffer fails with EAGAIN after the timeout";

    #[rstest]
    #[case::linux(so_timeout_linux(), Verdict::Differs, &[])]
    // The blog's world: the option exists.
    #[case::option_exists(SoTimeout { option_0x1006: "ok".into(), ..so_timeout_linux() }, Verdict::Holds,
        &[T_0X1006])]
    #[case::option_exists_but_nothing_times_out(SoTimeout { option_0x1006: "ok".into(),
        ..so_timeout_rcvtimeo_ignored() }, Verdict::Holds, &[T_0X1006, T_INT, T_RECV])]
    #[case::rcvtimeo_ignored(so_timeout_rcvtimeo_ignored(), Verdict::Refuted, &[T_INT, T_RECV])]
    #[case::read_back_other(SoTimeout { rcvtimeo_read_back: Duration::from_millis(10),
        ..so_timeout_linux() }, Verdict::Differs, &[T_READ])]
    #[case::recv_at_once(recv_took(0), Verdict::Refuted, &[T_RECV])]
    #[case::recv_one_tick_early(recv_took(190), Verdict::Differs, &[])]
    #[case::recv_too_early(recv_took(189), Verdict::Refuted, &[T_RECV])]
    #[case::recv_late(recv_took(1200), Verdict::Differs, &[])]
    #[case::recv_too_late(recv_took(1201), Verdict::Refuted, &[T_RECV])]
    #[case::recv_data(SoTimeout { recv_idle: timed_ms("ok", Some(1), 208), ..so_timeout_linux() },
        Verdict::Refuted, &[T_RECV])]
    #[case::send_everything(first_send(Some(TO_WRITE), 207), Verdict::Differs, &[T_SEND])]
    #[case::send_all_but_one(first_send(Some(TO_WRITE - 1), 207), Verdict::Differs, &[])]
    #[case::send_nothing(first_send(Some(0), 207), Verdict::Differs, &[T_SEND])]
    #[case::send_one(first_send(Some(1), 207), Verdict::Differs, &[])]
    #[case::send_eagain(first_send(None, 207), Verdict::Differs, &[T_SEND])]
    #[case::send_too_early(first_send(Some(30720), 189), Verdict::Differs, &[T_SEND])]
    #[case::send_too_late(first_send(Some(30720), 1201), Verdict::Differs, &[T_SEND])]
    #[case::again_ok(second_send("ok", 204), Verdict::Differs, &[T_AGAIN])]
    #[case::again_too_early(second_send("EAGAIN", 189), Verdict::Differs, &[T_AGAIN])]
    #[case::again_too_late(second_send("EAGAIN", 1201), Verdict::Differs, &[T_AGAIN])]
    fn so_timeout_judgement(
        #[case] o: SoTimeout,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), verdict_and_failures(&j));
    }

    #[test]
    fn so_timeout_words() {
        let j = so_timeout_linux().judge();
        assert_eq!(
            "0x1006: ENOPROTOOPT; SO_RCVTIMEO recv() EAGAIN in 208 ms; SO_SNDTIMEO send() 30720 B in 207 ms, \
             then EAGAIN",
            j.key
        );
        assert_eq!(
            "setsockopt with option 0x1006 failed with ENOPROTOOPT; SO_RCVTIMEO given an int failed with \
             EINVAL; given a timeval of 200 ms, recv() on an idle connection returned EAGAIN in 208 ms; with \
             SO_SNDTIMEO 200 ms, send(1048576) returned 30720 B in 207 ms, then EAGAIN in 204 ms",
            j.because
        );
        let c = &j.checks[3];
        assert_eq!(
            ("EAGAIN in 190 ms..1200 ms", "EAGAIN in 208 ms"),
            (c.expected.as_str(), c.observed.as_str())
        );
        let c = &j.checks[4];
        assert_eq!(
            "more than 0, less than 1048576 B in 190 ms..1200 ms",
            c.expected
        );
        assert_eq!(
            "0 B in 3200 ms",
            so_timeout_rcvtimeo_ignored().recv_idle.words()
        );
    }

    /// No text in any judgement carries Rust syntax.
    #[test]
    fn no_rust_syntax_reaches_a_report() {
        let judgements = [
            post_connect_linux().judge(),
            set_1024_linux().judge(),
            doubling_root().judge(),
            doubling_rcvbuf_ignored().judge(),
            excess_linux().judge(),
            udp_room_for_all().judge(),
            write_blocks_linux().judge(),
            rcvlowat_ignored().judge(),
            sndlowat_linux().judge(),
            so_timeout_rcvtimeo_ignored().judge(),
        ];
        for j in &judgements {
            let texts = j
                .checks
                .iter()
                .flat_map(|c| [&c.what, &c.expected, &c.observed])
                .chain([&j.because, &j.key]);
            for t in texts {
                for bad in [
                    "Some(",
                    "None",
                    "\"",
                    "Root",
                    "UserNamespace",
                    "(true",
                    "(false",
                ] {
                    assert!(!t.contains(bad), "{bad} in: {t}");
                }
            }
        }
    }
}
