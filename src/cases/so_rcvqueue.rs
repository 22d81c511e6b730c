//! socket(7) on what a receiver learns about its queue: SO_PEEK_OFF (where
//! MSG_PEEK reads, and how the offset moves) and SO_RXQ_OVFL (how many
//! datagrams the socket has dropped).
//!
//! Peeks are observed as the bytes they return and the offset getsockopt
//! reports after each call; drops are made by sending datagrams into a receive
//! buffer with room for one, and counted by the kernel itself (SO_MEMINFO).

use std::net::SocketAddr;

use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::flow::meminfo;
use crate::lab::intake::send_datagram;
use crate::lab::sock::result_name;
use crate::lab::{msg, opt, wait, Family, Lab, Sock, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &PEEK_OFF_EXAMPLE,
    &PEEK_OFF_SOCKET_TYPES,
    &PEEK_OFF_DATAGRAM_TRUNC,
    &PEEK_OFF_NEGATIVE,
    &RXQ_OVFL_DROP_COUNT,
];

pub static PEEK_OFF_NEGATIVE: Case = Case {
    id: "so_peek_off.negative",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_PEEK_OFF"),
    claim: "setting the peek offset to a negative value gives back the traditional behaviour: MSG_PEEK reads \
            from the front of the queue",
    expectation: "on AF_UNIX stream and TCP sockets holding aabbccddeeff, with the offset at 4 a peek returns cc \
                  and moves it to 6; set to -1, two peeks both return aa and the offset stays -1; set to -5, \
                  accepted, a peek returns aa and the offset stays -5",
    run: &Measure(negative),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_PEEK_OFF],
};

pub static PEEK_OFF_EXAMPLE: Case = Case {
    id: "so_peek_off.example",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_PEEK_OFF"),
    claim: "a new socket's peek offset is -1 (MSG_PEEK reads from the front); set to 4 on a stream holding \
            aabbccddeeff, two peeks of 2 bytes return cc and dd and move the offset to 8, a read of 2 returns \
            aa and moves it back to 6, and the next peek returns ee",
    expectation: "on an AF_UNIX stream socket exactly the page's example: getsockopt -1 at first and two plain \
                  peeks both return aa; with the offset at 4 the calls return cc, dd, aa, ee with the offset at \
                  6, 8, 6, 8 after them",
    run: &Measure(example),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_PEEK_OFF],
};

pub static PEEK_OFF_SOCKET_TYPES: Case = Case {
    id: "so_peek_off.socket_types",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_PEEK_OFF"),
    claim: "SO_PEEK_OFF is supported only by unix(7) sockets",
    expectation: "every socket type tried takes it and peeks at the offset: AF_UNIX stream and datagram, UDP \
                  (since Linux 4.11) and TCP (since Linux 6.10); with the offset at 2, a peek returns bb from a \
                  queue of aabb (two datagrams aa and bb on datagram sockets)",
    run: &Measure(socket_types),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_PEEK_OFF],
};

pub static PEEK_OFF_DATAGRAM_TRUNC: Case = Case {
    id: "so_peek_off.datagram_trunc",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_PEEK_OFF"),
    claim: "on a datagram socket, a peek whose offset points into the middle of a datagram returns data marked \
            with MSG_TRUNC",
    expectation: "only when the buffer does not reach past the datagram's end: peeking aabbccdd at offset 2 \
                  with a 64-byte buffer returns bbccdd without MSG_TRUNC on UDP and AF_UNIX alike; a 6-byte \
                  buffer (exactly the rest) gets MSG_TRUNC on UDP but not on AF_UNIX; a 3-byte buffer gets \
                  MSG_TRUNC on both",
    run: &Measure(datagram_trunc),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_PEEK_OFF],
};

pub static RXQ_OVFL_DROP_COUNT: Case = Case {
    id: "so_rxq_ovfl.drop_count",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_RXQ_OVFL"),
    claim: "with SO_RXQ_OVFL, received packets carry a 32-bit ancillary value: the number of packets the socket \
            has dropped since it was created",
    expectation: "the count is attached only once it is not zero: datagrams queued before any drop carry no \
                  SO_RXQ_OVFL message; each later datagram carries the socket's drop counter as it was when \
                  the datagram was queued (cumulative: after two bursts of drops it is their sum, as SO_MEMINFO \
                  counts them); a socket without the option gets no message",
    run: &Measure(drop_count),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RXQ_OVFL],
};

/// A kind of socket SO_PEEK_OFF is tried on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    UnixStream,
    UnixDgram,
    Tcp,
    Udp,
}

impl Kind {
    fn is_unix(self) -> bool {
        matches!(self, Kind::UnixStream | Kind::UnixDgram)
    }
}

impl Show for Kind {
    fn show(&self) -> String {
        match self {
            Kind::UnixStream => "AF_UNIX stream",
            Kind::UnixDgram => "AF_UNIX datagram",
            Kind::Tcp => "TCP",
            Kind::Udp => "UDP",
        }
        .into()
    }
}

/// A connected pair of `kind`: (sender, receiver).
struct Pair {
    tx: Sock,
    rx: Sock,
    _listener: Option<Sock>,
}

fn pair(kind: Kind) -> Result<Pair> {
    Ok(match kind {
        Kind::UnixStream | Kind::UnixDgram => {
            let t = if kind == Kind::UnixStream {
                libc::SOCK_STREAM
            } else {
                libc::SOCK_DGRAM
            };
            let (tx, rx) = Sock::unix_pair(t)?;
            Pair {
                tx,
                rx,
                _listener: None,
            }
        }
        Kind::Tcp => {
            let p = TcpPair::loopback(Family::V4)?;
            Pair {
                tx: p.client,
                rx: p.server,
                _listener: Some(p.listener),
            }
        }
        Kind::Udp => {
            let rx = Sock::udp(Family::V4)?;
            rx.bind(SocketAddr::new(Family::V4.loopback(), 0))
                .context("bind UDP receiver")?;
            let tx = Sock::udp(Family::V4)?;
            tx.connect(rx.local_addr()?).context("connect UDP sender")?;
            Pair {
                tx,
                rx,
                _listener: None,
            }
        }
    })
}

impl Pair {
    /// Sends `chunks` (each a datagram on datagram sockets) and waits until
    /// the receiver has them all queued.
    fn queue(&self, kind: Kind, chunks: &[&[u8]]) -> Result<()> {
        match kind {
            // A UDP datagram crosses loopback in a softirq: wait for each to
            // be charged to the receiver.
            Kind::Udp => {
                for c in chunks {
                    if send_datagram(&self.tx, &self.rx, c)?.is_none() {
                        bail!("the receiver dropped a {}-byte datagram", c.len());
                    }
                }
            }
            // AF_UNIX queues on the peer within the send call.
            Kind::UnixDgram => {
                for c in chunks {
                    self.tx.send(c, 0).context("send")?;
                }
            }
            Kind::UnixStream | Kind::Tcp => {
                for c in chunks {
                    self.tx.send_all(c).context("send")?;
                }
                let total: usize = chunks.iter().map(|c| c.len()).sum();
                wait::until(
                    "every byte queued at the receiver",
                    Duration::from_secs(2),
                    || Ok((self.rx.queued(libc::FIONREAD)? as usize == total).then_some(())),
                )?;
            }
        }
        Ok(())
    }
}

fn peek_off(s: &Sock) -> Result<i32> {
    s.get_int(libc::SOL_SOCKET, libc::SO_PEEK_OFF)
        .context("getsockopt(SO_PEEK_OFF)")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// ---------------------------------------------------------------------------
// so_peek_off.example

/// One recv() of the example and the peek offset after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub peek: bool,
    /// The bytes returned (or the errno name).
    pub data: String,
    /// getsockopt(SO_PEEK_OFF) afterwards.
    pub offset: i32,
}

impl Show for Step {
    /// "peek cc -> 6", "read aa -> 6".
    fn show(&self) -> String {
        format!(
            "{} {} -> {}",
            if self.peek { "peek" } else { "read" },
            self.data,
            self.offset
        )
    }
}

/// recv(2 bytes) with or without MSG_PEEK: the bytes, or the errno name.
fn recv2(s: &Sock, peek: bool) -> String {
    let mut buf = [0u8; 2];
    let flags = libc::MSG_DONTWAIT | if peek { libc::MSG_PEEK } else { 0 };
    let r = s.recv(&mut buf, flags);
    match &r {
        Ok(n) => text(&buf[..*n]),
        Err(_) => result_name(&r),
    }
}

/// recv(2 bytes) with or without MSG_PEEK, then the offset.
fn step(s: &Sock, peek: bool) -> Result<Step> {
    Ok(Step {
        peek,
        data: recv2(s, peek),
        offset: peek_off(s)?,
    })
}

const EXAMPLE: &[u8] = b"aabbccddeeff";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// getsockopt on the new socket.
    pub initial: i32,
    /// Two plain peeks with the initial offset.
    pub traditional: [Step; 2],
    /// setsockopt(SO_PEEK_OFF, 4).
    pub set: String,
    /// The page's four calls: peek, peek, read, peek.
    pub steps: Vec<Step>,
}

fn example(_lab: &mut Lab) -> Result<Example> {
    let p = pair(Kind::UnixStream)?;
    p.queue(Kind::UnixStream, &[EXAMPLE])?;
    let initial = peek_off(&p.rx)?;
    let traditional = [step(&p.rx, true)?, step(&p.rx, true)?];
    let set = result_name(&p.rx.set_int(libc::SOL_SOCKET, libc::SO_PEEK_OFF, 4));
    let steps = [true, true, false, true]
        .into_iter()
        .map(|peek| step(&p.rx, peek))
        .collect::<Result<_>>()?;
    Ok(Example {
        initial,
        traditional,
        set,
        steps,
    })
}

/// The page's example, as it says the calls go.
fn page_steps() -> Vec<Step> {
    [
        (true, "cc", 6),
        (true, "dd", 8),
        (false, "aa", 6),
        (true, "ee", 8),
    ]
    .into_iter()
    .map(|(peek, data, offset)| Step {
        peek,
        data: data.into(),
        offset,
    })
    .collect()
}

impl Observation for Example {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("a new socket's peek offset", &-1, &self.initial);
        let front = [(true, "aa"), (true, "aa")];
        j.expect(
            "without an offset, peeks read from the front",
            self.traditional
                .iter()
                .zip(front)
                .all(|(s, (peek, data))| s.peek == peek && s.data == data),
            "aa, aa",
            format!("{}, {}", self.traditional[0].data, self.traditional[1].data),
        );
        j.expect_eq("setsockopt(SO_PEEK_OFF, 4)", &"ok", &self.set.as_str());
        let page = page_steps();
        j.expect_eq("the example's calls", &page, &self.steps);
        let matching = self.steps.iter().zip(&page).filter(|(a, b)| a == b).count();
        let verdict = if self.initial == -1 && matching == page.len() {
            Verdict::Holds
        } else if matching == 0 {
            Verdict::Refuted
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "new socket: offset {}, plain peeks {} and {}; SO_PEEK_OFF 4 {}, then {}",
                self.initial,
                self.traditional[0].data,
                self.traditional[1].data,
                self.set,
                self.steps.show()
            ),
        );
        j.key(self.steps.show());
        j
    }
}

// ---------------------------------------------------------------------------
// so_peek_off.socket_types

/// SO_PEEK_OFF tried on one kind of socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeTry {
    pub kind: Kind,
    /// setsockopt(SO_PEEK_OFF, 2): "ok" or the errno name.
    pub set: String,
    /// A 2-byte peek afterwards, with aabb queued (or the errno name).
    pub peeked: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SocketTypes {
    pub tries: Vec<TypeTry>,
}

const KINDS: [Kind; 4] = [Kind::UnixStream, Kind::UnixDgram, Kind::Udp, Kind::Tcp];

fn try_kind(kind: Kind) -> Result<TypeTry> {
    let p = pair(kind)?;
    p.queue(kind, &[b"aa", b"bb"])?;
    let set = result_name(&p.rx.set_int(libc::SOL_SOCKET, libc::SO_PEEK_OFF, 2));
    Ok(TypeTry {
        kind,
        set,
        // Only the bytes: getsockopt(SO_PEEK_OFF) itself fails where the
        // socket type has no peek offset (TCP and UDP before Linux 6.x).
        peeked: recv2(&p.rx, true),
    })
}

fn socket_types(_lab: &mut Lab) -> Result<SocketTypes> {
    Ok(SocketTypes {
        tries: KINDS.into_iter().map(try_kind).collect::<Result<_>>()?,
    })
}

impl TypeTry {
    /// The option was taken and the peek started at the offset.
    fn works(&self) -> bool {
        self.set == "ok" && self.peeked == "bb"
    }

    /// A kernel without a peek offset for this type: refused, and a peek
    /// starts at the front of the queue.
    fn refused(&self) -> bool {
        self.set == "EOPNOTSUPP" && self.peeked == "aa"
    }
}

impl Observation for SocketTypes {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        for t in &self.tries {
            let what = format!("{}: SO_PEEK_OFF 2, then a peek", t.kind.show());
            if t.kind.is_unix() {
                j.expect_eq(&what, &("ok", "bb"), &(t.set.as_str(), t.peeked.as_str()));
            } else {
                // UDP took it in Linux 4.11, TCP in 6.10; before, the option
                // is refused and a peek starts at the front.
                j.expect(
                    &what,
                    t.works() || t.refused(),
                    "ok bb, or (before the kernel took it) EOPNOTSUPP aa",
                    format!("{} {}", t.set, t.peeked),
                );
            }
        }
        let (unix, other): (Vec<&TypeTry>, Vec<&TypeTry>) =
            self.tries.iter().partition(|t| t.kind.is_unix());
        let unix_works = !unix.is_empty() && unix.iter().all(|t| t.works());
        let others: Vec<String> = other
            .iter()
            .filter(|t| t.works())
            .map(|t| t.kind.show())
            .collect();
        let verdict = match (unix_works, others.is_empty()) {
            (false, _) => Verdict::Refuted,
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
        };
        let tried: Vec<String> = self
            .tries
            .iter()
            .map(|t| format!("{}: {}, peek {}", t.kind.show(), t.set, t.peeked))
            .collect();
        j.verdict(
            verdict,
            format!(
                "{}; besides AF_UNIX, {} peek at the offset",
                tried.join("; "),
                if others.is_empty() {
                    "none".to_string()
                } else {
                    others.join(" and ")
                }
            ),
        );
        j.key(format!(
            "works on: {}",
            self.tries
                .iter()
                .filter(|t| t.works())
                .map(|t| t.kind.show())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_peek_off.datagram_trunc

/// One peek at offset 2 into the datagram aabbccdd.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruncPeek {
    pub kind: Kind,
    /// The receive buffer's size.
    pub buffer: usize,
    pub data: String,
    /// MSG_TRUNC in msg_flags.
    pub trunc: bool,
}

impl Show for TruncPeek {
    fn show(&self) -> String {
        format!(
            "{} {}-byte buffer: {}{}",
            self.kind.show(),
            self.buffer,
            self.data,
            if self.trunc { " MSG_TRUNC" } else { "" }
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatagramTrunc {
    pub peeks: Vec<TruncPeek>,
}

const DATAGRAM: &[u8] = b"aabbccdd";
const TRUNC_OFFSET: usize = 2;
/// Buffers larger than the rest of the datagram, exactly the rest, smaller.
const BUFFERS: [usize; 3] = [64, 6, 3];

fn datagram_trunc(_lab: &mut Lab) -> Result<DatagramTrunc> {
    let mut peeks = Vec::new();
    for kind in [Kind::Udp, Kind::UnixDgram] {
        let p = pair(kind)?;
        p.queue(kind, &[DATAGRAM])?;
        for buffer in BUFFERS {
            p.rx.set_int(libc::SOL_SOCKET, libc::SO_PEEK_OFF, TRUNC_OFFSET as i32)
                .context("setsockopt(SO_PEEK_OFF, 2)")?;
            let r = msg::recv(&p.rx, buffer, libc::MSG_PEEK | libc::MSG_DONTWAIT)
                .with_context(|| format!("peek with a {buffer}-byte buffer"))?;
            peeks.push(TruncPeek {
                kind,
                buffer,
                data: text(&r.data),
                trunc: r.flags & libc::MSG_TRUNC != 0,
            });
        }
    }
    Ok(DatagramTrunc { peeks })
}

/// What Linux flags: UDP marks MSG_TRUNC unless the buffer reaches past the
/// datagram's end, AF_UNIX only when the buffer is smaller than the rest.
fn linux_trunc(kind: Kind, buffer: usize) -> bool {
    let rest = DATAGRAM.len() - TRUNC_OFFSET;
    match kind {
        Kind::Udp => buffer <= rest,
        _ => buffer < rest,
    }
}

impl Observation for DatagramTrunc {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let rest = &DATAGRAM[TRUNC_OFFSET..];
        let wrong: Vec<String> = self
            .peeks
            .iter()
            .filter(|p| p.data.as_bytes() != &rest[..p.buffer.min(rest.len())])
            .map(Show::show)
            .collect();
        j.expect(
            "each peek returns what follows the offset",
            wrong.is_empty() && !self.peeks.is_empty(),
            "bbccdd, cut to the buffer",
            if wrong.is_empty() {
                "as expected".to_string()
            } else {
                wrong.join("; ")
            },
        );
        let flags = |f: &dyn Fn(&TruncPeek) -> bool| -> Vec<String> {
            self.peeks
                .iter()
                .map(|p| format!("{} {}: {}", p.kind.show(), p.buffer, f(p)))
                .collect()
        };
        j.expect_eq(
            "MSG_TRUNC (UDP: buffer not past the end; AF_UNIX: buffer short of it)",
            &flags(&|p| linux_trunc(p.kind, p.buffer)),
            &flags(&|p| p.trunc),
        );
        let marked = self.peeks.iter().filter(|p| p.trunc).count();
        let verdict = if marked == self.peeks.len() {
            Verdict::Holds
        } else if marked == 0 {
            Verdict::Refuted
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "peeking aabbccdd at offset 2: {}; {marked} of {} peeks marked MSG_TRUNC",
                self.peeks.show(),
                self.peeks.len()
            ),
        );
        j.key(format!(
            "MSG_TRUNC on {marked} of {} mid-datagram peeks",
            self.peeks.len()
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_rxq_ovfl.drop_count

/// A datagram read back: its sequence number and the SO_RXQ_OVFL value it
/// carried (none when no such message came).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrival {
    pub seq: u8,
    pub drop_count: Option<u32>,
}

impl Show for Arrival {
    fn show(&self) -> String {
        format!("#{} {}", self.seq, self.drop_count.show())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DropCount {
    /// Datagrams sent in each burst.
    pub burst: u32,
    /// The socket's drop counter (SO_MEMINFO) after the first burst.
    pub dropped_first: u32,
    /// The first burst's datagrams that were queued, as read.
    pub first_burst: Vec<Arrival>,
    /// The datagram sent once the queue was empty again.
    pub after_first: Arrival,
    /// The drop counter after the second burst.
    pub dropped_total: u32,
    pub second_burst: Vec<Arrival>,
    pub after_second: Arrival,
    /// A socket without the option, after drops of its own: its drop counter
    /// and the value its next datagram carried.
    pub control_drops: u32,
    pub control: Option<u32>,
}

const DATAGRAM_LEN: usize = 1000;
/// Datagrams per burst, into a receive buffer with room for one or two.
const BURST: u8 = 8;

/// Reads every datagram queued on `rx` with its SO_RXQ_OVFL value.
fn arrivals(rx: &Sock) -> Result<Vec<Arrival>> {
    let mut out = Vec::new();
    loop {
        match msg::recv(rx, 2 * DATAGRAM_LEN, libc::MSG_DONTWAIT) {
            Ok(r) => out.push(Arrival {
                seq: r.data.first().copied().unwrap_or(0),
                drop_count: r
                    .cmsg(libc::SOL_SOCKET, libc::SO_RXQ_OVFL)
                    .and_then(|c| c.int())
                    .map(|v| v as u32),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(out),
            Err(e) => return Err(e).context("recvmsg"),
        }
    }
}

/// A UDP receiver with the smallest receive buffer (one datagram fits),
/// with or without SO_RXQ_OVFL.
fn small_receiver(ovfl: bool) -> Result<Sock> {
    let rx = Sock::udp(Family::V4)?;
    rx.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, 1)
        .context("SO_RCVBUF 1")?;
    if ovfl {
        rx.set_int(libc::SOL_SOCKET, libc::SO_RXQ_OVFL, 1)
            .context("SO_RXQ_OVFL")?;
    }
    rx.bind(SocketAddr::new(Family::V4.loopback(), 0))
        .context("bind the UDP receiver")?;
    Ok(rx)
}

/// Sends datagrams numbered `first..first + n` to `rx`, each queued or
/// dropped before the next leaves.
fn burst(tx: &Sock, rx: &Sock, first: u8, n: u8) -> Result<()> {
    for seq in first..first + n {
        let mut d = vec![0x6fu8; DATAGRAM_LEN];
        d[0] = seq;
        send_datagram(tx, rx, &d)?;
    }
    Ok(())
}

/// Sends one datagram numbered `seq` into an empty queue and reads it back.
fn single(tx: &Sock, rx: &Sock, seq: u8) -> Result<Arrival> {
    burst(tx, rx, seq, 1)?;
    arrivals(rx)?
        .into_iter()
        .next()
        .with_context(|| format!("datagram #{seq} did not arrive in an empty queue"))
}

fn drop_count(_lab: &mut Lab) -> Result<DropCount> {
    let tx = Sock::udp(Family::V4)?;
    let rx = small_receiver(true)?;
    burst(&tx, &rx, 0, BURST)?;
    let dropped_first = meminfo(&rx)?.drops;
    let first_burst = arrivals(&rx)?;
    let after_first = single(&tx, &rx, BURST)?;
    burst(&tx, &rx, BURST + 1, BURST)?;
    let dropped_total = meminfo(&rx)?.drops;
    let second_burst = arrivals(&rx)?;
    let after_second = single(&tx, &rx, 2 * BURST + 1)?;
    let plain = small_receiver(false)?;
    burst(&tx, &plain, 0, BURST)?;
    let control_drops = meminfo(&plain)?.drops;
    arrivals(&plain)?;
    let control = single(&tx, &plain, BURST)?.drop_count;
    Ok(DropCount {
        burst: BURST as u32,
        dropped_first,
        first_burst,
        after_first,
        dropped_total,
        second_burst,
        after_second,
        control_drops,
        control,
    })
}

impl Observation for DropCount {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect(
            "each burst overflows the buffer",
            self.dropped_first > 0 && self.dropped_total > self.dropped_first,
            "drops after the first burst, more after the second",
            format!(
                "{} after the first, {} after the second",
                self.dropped_first, self.dropped_total
            ),
        );
        let before_any: Vec<Option<u32>> = self.first_burst.iter().map(|a| a.drop_count).collect();
        j.expect(
            "datagrams queued before any drop carry no count",
            !before_any.is_empty() && before_any.iter().all(Option::is_none),
            "none on each",
            before_any.show(),
        );
        j.expect_eq(
            "the next datagram carries the drops so far",
            &Some(self.dropped_first),
            &self.after_first.drop_count,
        );
        j.expect_eq(
            "the second burst's first datagram carries the count at its queueing",
            &Some(Some(self.dropped_first)),
            &self.second_burst.first().map(|a| a.drop_count),
        );
        j.expect_eq(
            "after the second burst the count is cumulative",
            &Some(self.dropped_total),
            &self.after_second.drop_count,
        );
        j.expect(
            "a socket without SO_RXQ_OVFL gets no count",
            self.control_drops > 0 && self.control.is_none(),
            "drops, and no count",
            format!(
                "{} drops, count {}",
                self.control_drops,
                self.control.show()
            ),
        );
        let counted = self.after_first.drop_count == Some(self.dropped_first)
            && self.after_second.drop_count == Some(self.dropped_total);
        let zero_shown = self.first_burst.iter().all(|a| a.drop_count == Some(0));
        let verdict = match (counted, zero_shown) {
            (false, _) => Verdict::Refuted,
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "{} datagrams into a one-datagram buffer: {} dropped; the queued ones read {}; the next {}; \
                 after {} more drops (total {}), {} then {}; without the option: {} drops, count {}",
                self.burst,
                self.dropped_first,
                self.first_burst.show(),
                self.after_first.show(),
                self.dropped_total.saturating_sub(self.dropped_first),
                self.dropped_total,
                self.second_burst.show(),
                self.after_second.show(),
                self.control_drops,
                self.control.show()
            ),
        );
        j.key(format!(
            "before drops: {}; then {}, then {}",
            before_any.show(),
            self.after_first.drop_count.show(),
            self.after_second.drop_count.show()
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_peek_off.negative

/// One socket kind's run: an offset in use, then set negative.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NegativeRun {
    pub kind: Kind,
    /// A peek with the offset at 4.
    pub advanced: Step,
    /// setsockopt(SO_PEEK_OFF, -1), then two peeks.
    pub reset: String,
    pub after_reset: [Step; 2],
    /// setsockopt(SO_PEEK_OFF, -5), then a peek.
    pub other_negative: String,
    pub after_other: Step,
}

impl Show for NegativeRun {
    /// "AF_UNIX stream: peek cc -> 6; -1 ok: peek aa -> -1, peek aa -> -1; -5 ok: peek aa -> -5".
    fn show(&self) -> String {
        format!(
            "{}: {}; -1 {}: {}, {}; -5 {}: {}",
            self.kind.show(),
            self.advanced.show(),
            self.reset,
            self.after_reset[0].show(),
            self.after_reset[1].show(),
            self.other_negative,
            self.after_other.show()
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Negative {
    pub runs: Vec<NegativeRun>,
}

fn set_peek_off(s: &Sock, v: i32) -> String {
    result_name(&s.set_int(libc::SOL_SOCKET, libc::SO_PEEK_OFF, v))
}

/// None when a socket type other than AF_UNIX has no peek offset on this
/// kernel (EOPNOTSUPP: TCP before Linux 6.x): the page speaks of AF_UNIX.
fn negative_run(kind: Kind) -> Result<Option<NegativeRun>> {
    let p = pair(kind)?;
    p.queue(kind, &[EXAMPLE])?;
    let set = set_peek_off(&p.rx, 4);
    if set == "EOPNOTSUPP" && !kind.is_unix() {
        return Ok(None);
    }
    if set != "ok" {
        bail!("setsockopt(SO_PEEK_OFF, 4) on {}: {set}", kind.show());
    }
    let advanced = step(&p.rx, true)?;
    let reset = set_peek_off(&p.rx, -1);
    let after_reset = [step(&p.rx, true)?, step(&p.rx, true)?];
    let other_negative = set_peek_off(&p.rx, -5);
    let after_other = step(&p.rx, true)?;
    Ok(Some(NegativeRun {
        kind,
        advanced,
        reset,
        after_reset,
        other_negative,
        after_other,
    }))
}

fn negative(_lab: &mut Lab) -> Result<Negative> {
    Ok(Negative {
        runs: [Kind::UnixStream, Kind::Tcp]
            .into_iter()
            .map(negative_run)
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect(),
    })
}

impl Observation for Negative {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let peek = |data: &str, offset: i32| Step {
            peek: true,
            data: data.into(),
            offset,
        };
        let mut from_front = true;
        let mut any_negative = true;
        for r in &self.runs {
            let k = r.kind.show();
            j.expect_eq(
                &format!("{k}: a peek at offset 4"),
                &peek("cc", 6),
                &r.advanced,
            );
            j.expect_eq(&format!("{k}: setting -1"), "ok", r.reset.as_str());
            j.expect_eq(
                &format!("{k}: two peeks after -1"),
                &[peek("aa", -1), peek("aa", -1)],
                &r.after_reset,
            );
            j.expect_eq(&format!("{k}: setting -5"), "ok", r.other_negative.as_str());
            j.expect_eq(
                &format!("{k}: a peek after -5"),
                &peek("aa", -5),
                &r.after_other,
            );
            from_front &= r.after_reset.iter().all(|s| s.data == "aa");
            any_negative &= r.other_negative == "ok" && r.after_other.data == "aa";
        }
        let verdict = match (from_front, any_negative) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        let runs: Vec<String> = self.runs.iter().map(Show::show).collect();
        j.verdict(verdict, runs.join("; "));
        j.key(
            self.runs
                .iter()
                .map(|r| {
                    format!(
                        "{} -1: {} {}",
                        r.kind.show(),
                        r.after_reset[0].data,
                        r.after_reset[1].data
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        );
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn s(peek: bool, data: &str, offset: i32) -> Step {
        Step {
            peek,
            data: data.into(),
            offset,
        }
    }

    /// Linux 6.18 on an AF_UNIX stream.
    fn example_linux() -> Example {
        Example {
            initial: -1,
            traditional: [s(true, "aa", -1), s(true, "aa", -1)],
            set: "ok".into(),
            steps: page_steps(),
        }
    }

    /// A kernel without SO_PEEK_OFF (or a libc ignoring it): every peek reads
    /// from the front, and the read takes aa.
    fn example_ignored() -> Example {
        Example {
            steps: vec![
                s(true, "aa", 4),
                s(true, "aa", 4),
                s(false, "aa", 4),
                s(true, "bb", 4),
            ],
            ..example_linux()
        }
    }

    const CALLS: &str = "the example's calls";

    #[rstest]
    #[case::linux(example_linux(), Verdict::Holds, &[])]
    #[case::ignored(example_ignored(), Verdict::Refuted, &[CALLS])]
    #[case::refused(Example { set: "ENOPROTOOPT".into(), ..example_ignored() }, Verdict::Refuted,
        &["setsockopt(SO_PEEK_OFF, 4)", CALLS])]
    // The offset does not move back on a read: the last peek returns ff.
    #[case::no_move_back(Example { steps: vec![s(true, "cc", 6), s(true, "dd", 8), s(false, "aa", 8),
        s(true, "ff", 10)], ..example_linux() }, Verdict::Differs, &[CALLS])]
    #[case::starts_at_zero(Example { initial: 0, ..example_linux() }, Verdict::Differs,
        &["a new socket's peek offset"])]
    #[case::front_moves(Example { traditional: [s(true, "aa", -1), s(true, "bb", -1)], ..example_linux() },
        Verdict::Holds, &["without an offset, peeks read from the front"])]
    #[case::first_is_a_read(Example { traditional: [s(false, "aa", -1), s(true, "aa", -1)], ..example_linux() },
        Verdict::Holds, &["without an offset, peeks read from the front"])]
    fn example_judgement(#[case] o: Example, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn example_words() {
        let j = example_linux().judge();
        assert_eq!(
            "[peek cc -> 6, peek dd -> 8, read aa -> 6, peek ee -> 8]",
            j.key
        );
        assert_eq!(
            "new socket: offset -1, plain peeks aa and aa; SO_PEEK_OFF 4 ok, then [peek cc -> 6, peek dd -> 8, \
             read aa -> 6, peek ee -> 8]",
            j.because
        );
    }

    fn t(kind: Kind, set: &str, peeked: &str) -> TypeTry {
        TypeTry {
            kind,
            set: set.into(),
            peeked: peeked.into(),
        }
    }

    fn types(tcp: (&str, &str), udp: (&str, &str)) -> SocketTypes {
        SocketTypes {
            tries: vec![
                t(Kind::UnixStream, "ok", "bb"),
                t(Kind::UnixDgram, "ok", "bb"),
                t(Kind::Udp, udp.0, udp.1),
                t(Kind::Tcp, tcp.0, tcp.1),
            ],
        }
    }

    const TCP_TRY: &str = "TCP: SO_PEEK_OFF 2, then a peek";
    const UDP_TRY: &str = "UDP: SO_PEEK_OFF 2, then a peek";

    #[rstest]
    #[case::linux(types(("ok", "bb"), ("ok", "bb")), Verdict::Differs, &[])]
    // Linux 4.11 to 6.9: UDP but not TCP (Debian's 6.1).
    #[case::before_6_10(types(("EOPNOTSUPP", "aa"), ("ok", "bb")), Verdict::Differs, &[])]
    // The page's world (Linux 3.4 to 4.10).
    #[case::page(types(("EOPNOTSUPP", "aa"), ("EOPNOTSUPP", "aa")), Verdict::Holds, &[])]
    // Refused yet peeking at the offset, or taken without effect (a libc
    // that ignores the option): not what any kernel did.
    #[case::refused_yet_offset(types(("EOPNOTSUPP", "bb"), ("ok", "aa")), Verdict::Holds, &[UDP_TRY, TCP_TRY])]
    // Taken but without effect counts as not supported.
    #[case::taken_no_effect(types(("ok", "aa"), ("EOPNOTSUPP", "aa")), Verdict::Holds, &[TCP_TRY])]
    #[case::unix_broken(SocketTypes { tries: vec![t(Kind::UnixStream, "ok", "aa"), t(Kind::Tcp, "ok", "bb")] },
        Verdict::Refuted, &["AF_UNIX stream: SO_PEEK_OFF 2, then a peek"])]
    #[case::unix_dgram_refused(SocketTypes { tries: vec![t(Kind::UnixStream, "ok", "bb"),
        t(Kind::UnixDgram, "EOPNOTSUPP", "aa")] }, Verdict::Refuted,
        &["AF_UNIX datagram: SO_PEEK_OFF 2, then a peek"])]
    #[case::no_unix(SocketTypes { tries: vec![t(Kind::Tcp, "ok", "bb")] }, Verdict::Refuted, &[])]
    fn socket_types_judgement(
        #[case] o: SocketTypes,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn socket_types_words() {
        let j = types(("ok", "bb"), ("ok", "bb")).judge();
        assert_eq!(
            "works on: AF_UNIX stream, AF_UNIX datagram, UDP, TCP",
            j.key
        );
        assert!(j
            .because
            .ends_with("besides AF_UNIX, UDP and TCP peek at the offset"));
        let page = types(("EOPNOTSUPP", "aa"), ("EOPNOTSUPP", "aa")).judge();
        assert!(page
            .because
            .ends_with("besides AF_UNIX, none peek at the offset"));
        assert!(page.because.starts_with(
            "AF_UNIX stream: ok, peek bb; AF_UNIX datagram: ok, peek bb; UDP: EOPNOTSUPP, peek aa"
        ));
    }

    fn p(kind: Kind, buffer: usize, data: &str, trunc: bool) -> TruncPeek {
        TruncPeek {
            kind,
            buffer,
            data: data.into(),
            trunc,
        }
    }

    fn trunc_linux() -> DatagramTrunc {
        DatagramTrunc {
            peeks: vec![
                p(Kind::Udp, 64, "bbccdd", false),
                p(Kind::Udp, 6, "bbccdd", true),
                p(Kind::Udp, 3, "bbc", true),
                p(Kind::UnixDgram, 64, "bbccdd", false),
                p(Kind::UnixDgram, 6, "bbccdd", false),
                p(Kind::UnixDgram, 3, "bbc", true),
            ],
        }
    }

    fn with_trunc(all: bool) -> DatagramTrunc {
        let mut o = trunc_linux();
        o.peeks.iter_mut().for_each(|p| p.trunc = all);
        o
    }

    const RETURNS: &str = "each peek returns what follows the offset";
    const TRUNC: &str = "MSG_TRUNC (UDP: buffer not past the end; AF_UNIX: buffer short of it)";

    #[rstest]
    #[case::linux(trunc_linux(), Verdict::Differs, &[])]
    #[case::page(with_trunc(true), Verdict::Holds, &[TRUNC])]
    #[case::never(with_trunc(false), Verdict::Refuted, &[TRUNC])]
    // The offset ignored: peeks from the front.
    #[case::ignored(DatagramTrunc { peeks: vec![p(Kind::Udp, 64, "aabbccdd", false), p(Kind::Udp, 3, "aab", true)] },
        Verdict::Differs, &[RETURNS])]
    #[case::empty(DatagramTrunc { peeks: vec![] }, Verdict::Holds, &[RETURNS])]
    fn trunc_judgement(
        #[case] o: DatagramTrunc,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn trunc_rule_and_words() {
        assert_eq!(
            [false, true, true, false, false, true],
            [
                linux_trunc(Kind::Udp, 7),
                linux_trunc(Kind::Udp, 6),
                linux_trunc(Kind::Udp, 5),
                linux_trunc(Kind::UnixDgram, 7),
                linux_trunc(Kind::UnixDgram, 6),
                linux_trunc(Kind::UnixDgram, 5),
            ]
        );
        let j = trunc_linux().judge();
        assert_eq!("MSG_TRUNC on 3 of 6 mid-datagram peeks", j.key);
        assert!(j.because.starts_with(
            "peeking aabbccdd at offset 2: [UDP 64-byte buffer: bbccdd, UDP 6-byte buffer: bbccdd MSG_TRUNC,"
        ));
        assert!(j.because.ends_with("; 3 of 6 peeks marked MSG_TRUNC"));
    }

    fn a(seq: u8, drop_count: Option<u32>) -> Arrival {
        Arrival { seq, drop_count }
    }

    fn drops_linux() -> DropCount {
        DropCount {
            burst: 8,
            dropped_first: 7,
            first_burst: vec![a(0, None)],
            after_first: a(8, Some(7)),
            dropped_total: 14,
            second_burst: vec![a(9, Some(7))],
            after_second: a(17, Some(14)),
            control_drops: 7,
            control: None,
        }
    }

    const OVERFLOWS: &str = "each burst overflows the buffer";
    const NONE_BEFORE: &str = "datagrams queued before any drop carry no count";
    const NEXT: &str = "the next datagram carries the drops so far";
    const SECOND: &str = "the second burst's first datagram carries the count at its queueing";
    const CUMULATIVE: &str = "after the second burst the count is cumulative";
    const CONTROL: &str = "a socket without SO_RXQ_OVFL gets no count";

    #[rstest]
    #[case::linux(drops_linux(), Verdict::Differs, &[])]
    // The page's world: the count comes with every datagram, zero included.
    #[case::page(DropCount { first_burst: vec![a(0, Some(0))], ..drops_linux() }, Verdict::Holds, &[NONE_BEFORE])]
    // The option ignored: no counts at all.
    #[case::ignored(DropCount { after_first: a(8, None), second_burst: vec![a(9, None)], after_second: a(17, None),
        ..drops_linux() }, Verdict::Refuted, &[NEXT, SECOND, CUMULATIVE])]
    // Counting per interval, reset after each report.
    #[case::per_interval(DropCount { after_second: a(17, Some(7)), ..drops_linux() }, Verdict::Refuted,
        &[CUMULATIVE])]
    #[case::no_drops(DropCount { dropped_first: 0, dropped_total: 0, after_first: a(8, Some(0)),
        second_burst: vec![a(9, Some(0))], after_second: a(17, Some(0)), ..drops_linux() }, Verdict::Differs,
        &[OVERFLOWS])]
    #[case::no_more_drops(DropCount { dropped_total: 7, after_second: a(17, Some(7)), ..drops_linux() },
        Verdict::Differs, &[OVERFLOWS])]
    #[case::nothing_queued_first(DropCount { first_burst: vec![], ..drops_linux() }, Verdict::Holds, &[NONE_BEFORE])]
    #[case::second_burst_lost(DropCount { second_burst: vec![], ..drops_linux() }, Verdict::Differs, &[SECOND])]
    #[case::control_counted(DropCount { control: Some(7), ..drops_linux() }, Verdict::Differs, &[CONTROL])]
    #[case::control_no_drops(DropCount { control_drops: 0, ..drops_linux() }, Verdict::Differs, &[CONTROL])]
    fn drop_count_judgement(
        #[case] o: DropCount,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn drop_count_words() {
        let j = drops_linux().judge();
        assert_eq!("before drops: [none]; then 7, then 14", j.key);
        assert_eq!(
            "8 datagrams into a one-datagram buffer: 7 dropped; the queued ones read [#0 none]; the next #8 7; \
             after 7 more drops (total 14), [#9 7] then #17 14; without the option: 7 drops, count none",
            j.because
        );
    }

    fn neg_run(kind: Kind) -> NegativeRun {
        NegativeRun {
            kind,
            advanced: s(true, "cc", 6),
            reset: "ok".into(),
            after_reset: [s(true, "aa", -1), s(true, "aa", -1)],
            other_negative: "ok".into(),
            after_other: s(true, "aa", -5),
        }
    }

    /// This kernel, from a run.
    fn negative_linux() -> Negative {
        Negative {
            runs: vec![neg_run(Kind::UnixStream), neg_run(Kind::Tcp)],
        }
    }

    fn with_tcp(f: impl FnOnce(&mut NegativeRun)) -> Negative {
        let mut o = negative_linux();
        f(&mut o.runs[1]);
        o
    }

    const UNIX_AT_4: &str = "AF_UNIX stream: a peek at offset 4";
    const TCP_AT_4: &str = "TCP: a peek at offset 4";
    const TCP_SET_1: &str = "TCP: setting -1";
    const TCP_AFTER_1: &str = "TCP: two peeks after -1";
    const TCP_SET_5: &str = "TCP: setting -5";
    const TCP_AFTER_5: &str = "TCP: a peek after -5";

    #[rstest]
    #[case::linux(negative_linux(), Verdict::Holds, &[])]
    // A libc that ignores SO_PEEK_OFF and echoes it: the offset never moves the peek.
    #[case::ignored(Negative { runs: [Kind::UnixStream, Kind::Tcp].into_iter().map(|k| NegativeRun {
        advanced: s(true, "aa", 4), after_reset: [s(true, "aa", -1), s(true, "aa", -1)], ..neg_run(k) }).collect() },
        Verdict::Holds, &[UNIX_AT_4, TCP_AT_4])]
    // Only -1 resets: other negative values refused.
    #[case::only_minus_one(with_tcp(|r| { r.other_negative = "EINVAL".into(); r.after_other = s(true, "aa", -1); }),
        Verdict::Differs, &[TCP_SET_5, TCP_AFTER_5])]
    #[case::minus_five_kept_offset(with_tcp(|r| r.after_other = s(true, "cc", 6)), Verdict::Differs, &[TCP_AFTER_5])]
    // -1 ignored: the peeks go on from the offset.
    #[case::reset_ignored(with_tcp(|r| r.after_reset = [s(true, "dd", 8), s(true, "ee", 10)]), Verdict::Refuted,
        &[TCP_AFTER_1])]
    #[case::reset_refused(with_tcp(|r| { r.reset = "EINVAL".into(); r.after_reset = [s(true, "dd", 8),
        s(true, "ee", 10)]; }), Verdict::Refuted, &[TCP_SET_1, TCP_AFTER_1])]
    // A kernel where negative values are refused on AF_UNIX too.
    #[case::unix_refuses(Negative { runs: vec![NegativeRun { reset: "EINVAL".into(),
        after_reset: [s(true, "dd", 8), s(true, "ee", 10)], other_negative: "EINVAL".into(),
        after_other: s(true, "ff", 12), ..neg_run(Kind::UnixStream) }, neg_run(Kind::Tcp)] }, Verdict::Refuted,
        &["AF_UNIX stream: setting -1", "AF_UNIX stream: two peeks after -1", "AF_UNIX stream: setting -5",
          "AF_UNIX stream: a peek after -5"])]
    // From the front, but the offset moves on from -1.
    #[case::offset_moves(with_tcp(|r| r.after_reset = [s(true, "aa", -1), s(true, "aa", 1)]), Verdict::Holds,
        &[TCP_AFTER_1])]
    fn negative_judgement(#[case] o: Negative, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn negative_words() {
        let j = negative_linux().judge();
        assert_eq!("AF_UNIX stream -1: aa aa; TCP -1: aa aa", j.key);
        assert_eq!(
            "AF_UNIX stream: peek cc -> 6; -1 ok: peek aa -> -1, peek aa -> -1; -5 ok: peek aa -> -5; TCP: peek cc \
             -> 6; -1 ok: peek aa -> -1, peek aa -> -1; -5 ok: peek aa -> -5",
            j.because
        );
    }
}
