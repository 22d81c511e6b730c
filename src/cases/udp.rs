//! udp(7) on UDP_CORK, UDP_SEGMENT and UDP_GRO: how many datagrams one
//! send becomes, where they are split, and what the receiver gets.
//!
//! What a sender hands the kernel, what the wire carries and what the
//! receiver reads are three different counts here. The captures sit on the
//! sender's side (lo, or the sender's end of a veth pair); a veth passes a
//! UDP GSO packet through whole unless told otherwise (gso_max_segs 1
//! makes the stack split it before the device, as a real NIC without UDP
//! segmentation offload would).

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::msg::{self, Cmsg};
use crate::lab::netlink::{ifindex, Netlink};
use crate::lab::packet::{Frame, Packet};
use crate::lab::sock::result_name;
use crate::lab::topo::Link;
use crate::lab::wire::{feature_active, set_offload, Offload};
use crate::lab::{opt, phase, wait, Capture, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &CORK_ONE_DATAGRAM,
    &CORK_ONE_DATAGRAM_V6,
    &SEGMENT_SPLITS,
    &SEGMENT_LIMITS,
    &SEGMENT_MTU_RULE,
    &SEGMENT_CHECKSUM,
    &GRO_COALESCES,
];

pub static CORK_ONE_DATAGRAM: Case = Case {
    id: "udp_cork.one_datagram",
    source: Source::ManPage("man-pages 6.20 udp(7) UDP_CORK"),
    claim: "while UDP_CORK is on, everything written to the socket accumulates into one datagram, sent \
            when the option is turned off",
    expectation: "three 100-byte writes on a corked socket put nothing on the wire; clearing UDP_CORK \
                  sends one 300-byte datagram, which the receiver reads as one",
    run: &Measure(|lab| cork_one_datagram(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::UDP_CORK],
};

pub static CORK_ONE_DATAGRAM_V6: Case = Case {
    id: "udp_cork.one_datagram@v6",
    run: &Measure(|lab| cork_one_datagram(lab, Family::V6)),
    ..CORK_ONE_DATAGRAM
};

pub static SEGMENT_SPLITS: Case = Case {
    id: "udp_segment.splits",
    source: Source::ManPage("man-pages 6.20 udp(7) UDP_SEGMENT"),
    claim: "with UDP_SEGMENT one send travels the transmit path as a single large packet, even above the \
            MTU, and is split by the segment size as late as possible (in hardware if it can, else in \
            software); the size can also be given per call as a control message; 0 turns it off",
    expectation: "one 3500-byte send with segment size 1000 crosses the veth (MTU 1500) as one 3528-byte \
                  IP packet and the receiver reads 1000, 1000, 1000 and 500 bytes: the split happens at \
                  the receiving socket (a veth without tx-udp-segmentation, as on 5.10, gets the four \
                  datagrams, split before it); with the device limited to one segment per packet the stack splits \
                  it before the device, and the wire carries the four datagrams; a UDP_SEGMENT control \
                  message does the same on a socket without the option; with 0 the send is one \
                  3500-byte datagram, fragmented by IP",
    run: &Measure(segment_splits),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::UDP_SEGMENT],
};

pub static SEGMENT_LIMITS: Case = Case {
    id: "udp_segment.limits",
    source: Source::ManPage("man-pages 6.20 udp(7) UDP_SEGMENT"),
    claim: "the segment size takes a value in [0, USHRT_MAX], and must be chosen so that at most 64 \
            datagrams are sent in a single call",
    expectation: "65535 is accepted, 65536 and -1 are EINVAL; a single call may carry up to 128 segments \
                  (UDP_MAX_SEGMENTS: 128 since Linux 6.11 and the 2024 stable updates, 64 before): 129 \
                  segments of 100 bytes are EINVAL, 65 and 128 are sent; the whole send is still one UDP datagram's worth (65507 bytes over IPv4, \
                  more is EMSGSIZE)",
    run: &Measure(segment_limits),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::UDP_SEGMENT],
};

pub static SEGMENT_MTU_RULE: Case = Case {
    id: "udp_segment.mtu_rule",
    source: Source::ManPage("man-pages 6.20 udp(7) UDP_SEGMENT"),
    claim: "the datagrams after segmentation must meet the same MTU rules as datagrams sent without the \
            option",
    expectation: "on a 1500-byte MTU, segments of 1472 bytes are sent and segments of 1473 are EMSGSIZE, \
                  while a single 1473-byte datagram sent without the option is accepted and fragmented by \
                  IP: segments must fit the MTU whole",
    run: &Measure(segment_mtu_rule),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::UDP_SEGMENT],
};

pub static SEGMENT_CHECKSUM: Case = Case {
    id: "udp_segment.checksum_offload",
    source: Source::ManPage("man-pages 6.20 udp(7) UDP_SEGMENT"),
    claim: "segmentation offload depends on checksum offload, as the checksums are computed after \
            segmentation",
    expectation:
        "with tx-checksumming off on the sending device, a segmented send still succeeds (Linux \
                  6.11 on; it was EIO before): the stack splits it in software and computes each \
                  datagram's checksum, and the receiver reads the four datagrams",
    run: &Measure(segment_checksum),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::UDP_SEGMENT],
};

pub static GRO_COALESCES: Case = Case {
    id: "udp_gro.coalesces",
    source: Source::ManPage("man-pages 6.20 udp(7) UDP_GRO"),
    claim: "with UDP_GRO the socket may receive several datagrams' worth of data as one buffer, with a \
            control message holding the segment size",
    expectation: "four datagrams (1000, 1000, 1000, 500 bytes) arriving in one burst on a veth with GRO on: \
                  a socket with UDP_GRO reads one 3500-byte buffer with a UDP_GRO control message of 1000; \
                  without the option it reads four datagrams; with the option but GRO off on the device, \
                  four datagrams too (the coalescing is the device's GRO, the option only lets the socket \
                  take its result). Before Linux 5.13 a veth has no GRO without XDP: the case skips",
    run: &Measure(gro_coalesces),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::UDP_GRO],
};

/// The writes of the cork case.
const CORK_WRITES: [usize; 3] = [100, 100, 100];
/// How long the wire is watched for datagrams that must not leave.
const WATCH: Duration = Duration::from_millis(20);
/// The segment size and the send of the segmentation cases.
const GSO_SIZE: usize = 1000;
const SEND: usize = 3500;
/// The veth's MTU (the kernel's default for a veth).
const MTU: u32 = 1500;

/// One buffer a recvmsg() returned, and the segment size of its UDP_GRO
/// control message if it had one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Got {
    pub len: usize,
    pub segment_size: Option<i32>,
}

impl Show for Got {
    fn show(&self) -> String {
        match self.segment_size {
            Some(s) => format!("{} B (UDP_GRO {s})", self.len),
            None => format!("{} B", self.len),
        }
    }
}

/// Reads what `s` receives until `bytes` payload bytes have come in all, or
/// 2 s pass.
fn receive(s: &Sock, bytes: usize) -> Result<Vec<Got>> {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut got: Vec<Got> = Vec::new();
    while got.iter().map(|g| g.len).sum::<usize>() < bytes {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || !wait::readable(s.as_raw_fd(), left)? {
            break;
        }
        match msg::recv(s, 65536, libc::MSG_DONTWAIT) {
            Ok(r) => got.push(Got {
                len: r.len,
                segment_size: r.cmsg(libc::SOL_UDP, libc::UDP_GRO).and_then(Cmsg::int),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e).context("recvmsg"),
        }
    }
    Ok(got)
}

/// Payload lengths.
fn lens(got: &[Got]) -> Vec<usize> {
    got.iter().map(|g| g.len).collect()
}

/// A frame that is an IP fragment (not a whole datagram).
fn is_fragment(f: &Frame) -> bool {
    f.ip()
        .is_some_and(|h| h.more_fragments || h.fragment_offset > 0)
}

/// What the wire carried from `src` (port `sport`) in `frames`: the payload
/// of each whole UDP datagram, and how many IP fragments.
fn wire_of(frames: &[Frame], src: IpAddr, sport: u16) -> (Vec<u32>, usize) {
    let fragments = frames
        .iter()
        .filter(|f| is_fragment(f) && f.ip().is_some_and(|h| h.src == src))
        .count();
    let whole = frames
        .iter()
        .filter(|f| !is_fragment(f))
        .filter_map(|f| match f.decode() {
            Packet::Udp(d) if d.src == src && d.sport == sport => Some(d.payload),
            _ => None,
        })
        .collect();
    (whole, fragments)
}

/// `n` bytes of payload.
fn payload(n: usize) -> Vec<u8> {
    vec![b'u'; n]
}

/// What a corked socket sent, and what its peer read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorkOneDatagram {
    pub writes: Vec<usize>,
    /// Datagrams (payload) that left while corked.
    pub left_while_corked: Vec<u32>,
    /// Datagrams that left once UDP_CORK was cleared.
    pub left_at_uncork: Vec<u32>,
    /// What the receiver read, one entry per datagram.
    pub received: Vec<usize>,
}

fn cork_one_datagram(_lab: &mut Lab, family: Family) -> Result<CorkOneDatagram> {
    let mut cap = Capture::start("lo")?;
    let rx = Sock::udp(family)?;
    rx.bind(SocketAddr::new(family.loopback(), 0))
        .context("bind the receiver")?;
    let tx = Sock::udp(family)?;
    tx.connect(rx.local_addr()?).context("connect the sender")?;
    let from = tx.local_addr()?;
    tx.set_int(libc::SOL_UDP, libc::UDP_CORK, 1)
        .context("UDP_CORK 1")?;
    for (i, n) in CORK_WRITES.iter().enumerate() {
        tx.send(&payload(*n), 0)
            .with_context(|| format!("write {i} while corked"))?;
    }
    phase("watching the wire while corked");
    let is_ours = |f: &Frame| {
        wire_of(std::slice::from_ref(f), from.ip(), from.port())
            .0
            .len()
            == 1
    };
    // Nothing may leave: a wait that times out is the expected outcome.
    let _ = cap.wait_for("a datagram while corked", WATCH, is_ours);
    let seen = cap.count()?;
    let left_while_corked = wire_of(&cap.frames()?, from.ip(), from.port()).0;
    tx.set_int(libc::SOL_UDP, libc::UDP_CORK, 0)
        .context("UDP_CORK 0")?;
    let received = lens(&receive(&rx, CORK_WRITES.iter().sum())?);
    let frames = cap.frames()?;
    let left_at_uncork = wire_of(&frames[seen.min(frames.len())..], from.ip(), from.port()).0;
    Ok(CorkOneDatagram {
        writes: CORK_WRITES.to_vec(),
        left_while_corked,
        left_at_uncork,
        received,
    })
}

impl Observation for CorkOneDatagram {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let total: usize = self.writes.iter().sum();
        j.expect_eq(
            "nothing leaves while corked",
            &Vec::<u32>::new(),
            &self.left_while_corked,
        );
        j.expect_eq(
            "clearing UDP_CORK sends one datagram of every byte",
            &vec![total as u32],
            &self.left_at_uncork,
        );
        j.expect_eq(
            "the receiver reads one datagram",
            &vec![total],
            &self.received,
        );
        let verdict = if self.left_while_corked.is_empty() && self.received == vec![total] {
            Verdict::Holds
        } else if self.received.len() == self.writes.len() {
            // A datagram per write: the option did nothing.
            Verdict::Refuted
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "writes {} while corked: {} left then; at uncork {} left; the receiver read {}",
                self.writes.show(),
                self.left_while_corked.len(),
                self.left_at_uncork.show(),
                self.received.show()
            ),
        );
        j.key(format!(
            "{} writes -> {} on the wire",
            self.writes.len(),
            self.left_at_uncork.show()
        ));
        j
    }
}

/// One segmented send: what the sender's wire carried and what the receiver read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Round {
    /// Payloads of the whole UDP datagrams on the sender's veth end.
    pub wire: Vec<u32>,
    /// IP fragments on the sender's veth end.
    pub fragments: usize,
    pub received: Vec<usize>,
}

/// A veth link (a sends, b receives) with a receiver bound on b.
struct Path {
    link: Link,
    rx: Sock,
    to: SocketAddr,
}

fn path(lab: &mut Lab) -> Result<Path> {
    let link = Link::pair_v4(lab)?;
    let rx = link.b.run(|| -> Result<Sock> {
        let rx = Sock::udp(Family::V4)?;
        rx.bind(SocketAddr::new(link.b_end.addr, 0))
            .context("bind the receiver on b")?;
        Ok(rx)
    })??;
    let to = rx.local_addr()?;
    Ok(Path { link, rx, to })
}

impl Path {
    /// Sends `n` bytes from `tx` (with `cmsgs`), capturing on a's end.
    fn round(&self, tx: &Sock, n: usize, cmsgs: &[Cmsg]) -> Result<Round> {
        let mut cap = Capture::start(&self.link.a_end.ifname)?;
        msg::send(tx, &payload(n), Some(self.to), cmsgs).context("the segmented send")?;
        let from = tx.local_addr()?;
        phase("reading the segmented send");
        let received = lens(&receive(&self.rx, n)?);
        let (wire, fragments) = wire_of(&cap.frames()?, from.ip(), from.port());
        Ok(Round {
            wire,
            fragments,
            received,
        })
    }
}

/// A sender on a bound to a's address (so its port is known before sending).
fn sender(p: &Path) -> Result<Sock> {
    let tx = Sock::udp(Family::V4)?;
    tx.bind(SocketAddr::new(p.link.a_end.addr, 0))
        .context("bind the sender")?;
    Ok(tx)
}

fn set_segment(s: &Sock, size: i32) -> Result<()> {
    s.set_int(libc::SOL_UDP, libc::UDP_SEGMENT, size)
        .with_context(|| format!("UDP_SEGMENT {size}"))
}

/// The UDP_SEGMENT control message for one call.
fn segment_cmsg(size: u16) -> Cmsg {
    Cmsg::new(libc::SOL_UDP, libc::UDP_SEGMENT, &size.to_ne_bytes())
}

/// One 3500-byte send with segment size 1000, four ways.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Splits {
    pub mtu: u32,
    pub gso_size: usize,
    pub sent: usize,
    /// The sending veth end's tx-udp-segmentation feature (`ethtool -k`):
    /// whether it takes UDP GSO packets whole; None on kernels without it.
    #[serde(default)]
    pub device_udp_gso: Option<bool>,
    /// The veth as created: it passes UDP GSO packets on whole.
    pub through_device: Round,
    /// The veth limited to one segment per packet (gso_max_segs 1).
    pub in_software: Round,
    /// No option, the size given in a UDP_SEGMENT control message.
    pub per_call: Round,
    /// UDP_SEGMENT 0.
    pub disabled: Round,
}

fn segment_splits(lab: &mut Lab) -> Result<Splits> {
    let p = path(lab)?;
    let tx = sender(&p)?;
    set_segment(&tx, GSO_SIZE as i32)?;
    let device_udp_gso = feature_active(&p.link.a_end.ifname, "tx-udp-segmentation")?;
    let through_device = p.round(&tx, SEND, &[])?;
    Netlink::open()?.set_gso_max_segs(ifindex(&p.link.a_end.ifname)?, 1)?;
    let in_software = p.round(&tx, SEND, &[])?;
    let plain = sender(&p)?;
    let per_call = p.round(&plain, SEND, &[segment_cmsg(GSO_SIZE as u16)])?;
    set_segment(&tx, 0)?;
    let disabled = p.round(&tx, SEND, &[])?;
    Ok(Splits {
        mtu: MTU,
        gso_size: GSO_SIZE,
        sent: SEND,
        device_udp_gso,
        through_device,
        in_software,
        per_call,
        disabled,
    })
}

/// The datagram sizes a send of `sent` bytes becomes with segment size `gso`.
fn segments(sent: usize, gso: usize) -> Vec<usize> {
    (0..sent.div_ceil(gso))
        .map(|i| gso.min(sent - i * gso))
        .collect()
}

impl Observation for Splits {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let split = segments(self.sent, self.gso_size);
        let split_wire: Vec<u32> = split.iter().map(|n| *n as u32).collect();
        let over_mtu = |w: &[u32]| w.len() == 1 && w[0] + 28 > self.mtu;
        // A device without the offload cannot take the large packet: the
        // stack splits it before the device, as late as it can there.
        let device_gso = self.device_udp_gso != Some(false);
        let as_late_as_possible = if device_gso {
            j.expect(
                "through the veth: one packet larger than the MTU",
                over_mtu(&self.through_device.wire),
                format!("[{}] (> MTU {})", self.sent, self.mtu),
                self.through_device.wire.show(),
            )
        } else {
            j.expect_eq(
                "through a veth without tx-udp-segmentation: the segments, split before it",
                &split_wire,
                &self.through_device.wire,
            )
        };
        j.expect_eq(
            "the receiver reads the segments",
            &split,
            &self.through_device.received,
        );
        j.expect_eq(
            "one segment per packet: the wire carries the segments",
            &split_wire,
            &self.in_software.wire,
        );
        j.expect_eq(
            "and the receiver reads them",
            &split,
            &self.in_software.received,
        );
        j.expect_eq(
            "a UDP_SEGMENT control message splits the same",
            &split,
            &self.per_call.received,
        );
        j.expect_eq(
            "with 0 the receiver reads one datagram",
            &vec![self.sent],
            &self.disabled.received,
        );
        j.expect(
            "with 0 IP fragments it",
            self.disabled.fragments > 1 && self.disabled.wire.is_empty(),
            "fragments only",
            format!(
                "{} fragments, {} whole",
                self.disabled.fragments,
                self.disabled.wire.len()
            ),
        );
        let late = as_late_as_possible && self.through_device.received == split;
        let software = self.in_software.wire == split_wire && self.in_software.received == split;
        let rest = self.per_call.received == split && self.disabled.received == vec![self.sent];
        let verdict = if late && software && rest {
            Verdict::Holds
        } else if self.through_device.received == vec![self.sent] {
            // Never split: the option did nothing.
            Verdict::Refuted
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "{} B with segments of {}: the veth carried {} and the receiver read {}; split before the \
                 device: wire {}, read {}; per call: read {}; with 0: read {} ({} fragments)",
                self.sent,
                self.gso_size,
                self.through_device.wire.show(),
                self.through_device.received.show(),
                self.in_software.wire.show(),
                self.in_software.received.show(),
                self.per_call.received.show(),
                self.disabled.received.show(),
                self.disabled.fragments
            ),
        );
        j.key(format!(
            "{} B -> wire {} -> read {}",
            self.sent,
            self.through_device.wire.show(),
            self.through_device.received.show()
        ));
        j
    }
}

/// Segment counts tried in one call, at segment size LIMIT_GSO.
const SEGMENT_COUNTS: [usize; 4] = [64, 65, 128, 129];
const LIMIT_GSO: usize = 100;

/// What the kernel accepted of segment sizes and segment counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// setsockopt(UDP_SEGMENT) with 65535, 65536 and -1.
    pub set_max: String,
    pub set_above: String,
    pub set_negative: String,
    pub gso_size: usize,
    /// A send of gso_size * n bytes, per n.
    pub by_segments: Vec<(usize, String)>,
    /// Sends of 65507 and 65508 bytes with segments of 1000.
    pub total_65507: String,
    pub total_65508: String,
}

impl Limits {
    fn result(&self, n: usize) -> &str {
        self.by_segments
            .iter()
            .find(|(k, _)| *k == n)
            .map_or("none", |(_, r)| r.as_str())
    }

    /// The largest segment count accepted of those tried.
    fn most_accepted(&self) -> usize {
        self.by_segments
            .iter()
            .filter(|(_, r)| r == "ok")
            .map(|(n, _)| *n)
            .max()
            .unwrap_or(0)
    }
}

fn segment_limits(_lab: &mut Lab) -> Result<Limits> {
    let rx = Sock::udp(Family::V4)?;
    rx.bind(SocketAddr::new(Family::V4.loopback(), 0))
        .context("bind the receiver")?;
    let to = rx.local_addr()?;
    let tx = Sock::udp(Family::V4)?;
    let set = |v: i32| result_name(&tx.set_int(libc::SOL_UDP, libc::UDP_SEGMENT, v));
    let set_max = set(65535);
    let set_above = set(65536);
    let set_negative = set(-1);
    set_segment(&tx, LIMIT_GSO as i32)?;
    let by_segments = SEGMENT_COUNTS
        .iter()
        .map(|&n| (n, result_name(&tx.send_to(&payload(n * LIMIT_GSO), 0, to))))
        .collect();
    set_segment(&tx, GSO_SIZE as i32)?;
    let total_65507 = result_name(&tx.send_to(&payload(65507), 0, to));
    let total_65508 = result_name(&tx.send_to(&payload(65508), 0, to));
    Ok(Limits {
        set_max,
        set_above,
        set_negative,
        gso_size: LIMIT_GSO,
        by_segments,
        total_65507,
        total_65508,
    })
}

impl Observation for Limits {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("UDP_SEGMENT 65535", "ok", &self.set_max);
        j.expect_eq("UDP_SEGMENT 65536", "EINVAL", &self.set_above);
        j.expect_eq("UDP_SEGMENT -1", "EINVAL", &self.set_negative);
        // UDP_MAX_SEGMENTS: 128 since Linux 6.11 (and the 2024 stable
        // updates), 64 before; which one this kernel has shows at 65.
        let max = if self.result(65) == "EINVAL" { 64 } else { 128 };
        for n in [64, 65, 128, 129] {
            let want = if n <= max { "ok" } else { "EINVAL" };
            j.expect_eq(&format!("{n} segments in one call"), want, self.result(n));
        }
        // 65507 bytes in segments of GSO_SIZE: 66 of them, over a limit of 64.
        let total_fits = 65507usize.div_ceil(GSO_SIZE) <= max;
        j.expect_eq(
            "a 65507-byte send",
            if total_fits { "ok" } else { "EINVAL" },
            &self.total_65507,
        );
        j.expect_eq("a 65508-byte send", "EMSGSIZE", &self.total_65508);
        let range =
            self.set_max == "ok" && self.set_above == "EINVAL" && self.set_negative == "EINVAL";
        let most = self.most_accepted();
        let verdict = match (range, most) {
            (true, 64) => Verdict::Holds,
            // 64 refused, or no limit among the counts tried.
            (_, m) if m < 64 || m == SEGMENT_COUNTS[SEGMENT_COUNTS.len() - 1] => Verdict::Refuted,
            _ => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "segment size 65535 -> {}, 65536 -> {}, -1 -> {}; sends of {} segments of {} B: {}; the most \
                 accepted {most}",
                self.set_max,
                self.set_above,
                self.set_negative,
                SEGMENT_COUNTS.show(),
                self.gso_size,
                self.by_segments
                    .iter()
                    .map(|(_, r)| r.as_str())
                    .collect::<Vec<_>>()
                    .show()
            ),
        );
        j.key(format!(
            "at most {most} segments per call; 65536 -> {}",
            self.set_above
        ));
        j
    }
}

/// Segment sizes at and above what fits a 1500-byte MTU (1500 - 20 - 8).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MtuRule {
    pub mtu: u32,
    /// Two segments of 1472 bytes.
    pub fits: String,
    /// Two segments of 1473 bytes.
    pub over: String,
    /// One 1473-byte datagram without the option.
    pub plain_over: String,
    /// The IP fragments that datagram became on the wire.
    pub plain_over_fragments: usize,
}

fn segment_mtu_rule(lab: &mut Lab) -> Result<MtuRule> {
    let p = path(lab)?;
    let fit = (MTU - 28) as usize;
    let tx = sender(&p)?;
    set_segment(&tx, fit as i32)?;
    let fits = result_name(&tx.send_to(&payload(2 * fit), 0, p.to));
    set_segment(&tx, fit as i32 + 1)?;
    let over = result_name(&tx.send_to(&payload(2 * (fit + 1)), 0, p.to));
    let plain = sender(&p)?;
    let mut cap = Capture::start(&p.link.a_end.ifname)?;
    let plain_over = result_name(&plain.send_to(&payload(fit + 1), 0, p.to));
    // The fragments are reassembled before the receiver sees them: once it
    // has the datagram, both fragments have been captured.
    let _ = receive(&p.rx, 2 * fit + fit + 1)?;
    let from = plain.local_addr()?;
    let plain_over_fragments = wire_of(&cap.frames()?, from.ip(), from.port()).1;
    Ok(MtuRule {
        mtu: MTU,
        fits,
        over,
        plain_over,
        plain_over_fragments,
    })
}

impl Observation for MtuRule {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let fit = self.mtu - 28;
        j.expect_eq(&format!("segments of {fit} B"), "ok", &self.fits);
        j.expect_eq(
            &format!("segments of {} B", fit + 1),
            "EMSGSIZE",
            &self.over,
        );
        j.expect_eq(
            &format!("one {} B datagram without the option", fit + 1),
            "ok",
            &self.plain_over,
        );
        j.expect_eq("which IP fragments", &2, &self.plain_over_fragments);
        let verdict = if self.over == self.plain_over {
            Verdict::Holds
        } else if self.over == "ok" {
            // Oversized segments accepted: no MTU rule at all.
            Verdict::Refuted
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "MTU {}: segments of {fit} B -> {}, of {} B -> {}; one {} B datagram without the option -> {} \
                 ({} fragments)",
                self.mtu,
                self.fits,
                fit + 1,
                self.over,
                fit + 1,
                self.plain_over,
                self.plain_over_fragments
            ),
        );
        j.key(format!(
            "segment {} B -> {}; plain {} B -> {}",
            fit + 1,
            self.over,
            fit + 1,
            self.plain_over
        ));
        j
    }
}

/// A segmented send from a device without checksum offload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChecksumOffload {
    pub gso_size: usize,
    pub sent: usize,
    /// The send's result with tx-checksumming off on the sender's veth.
    pub send: String,
    pub round: Round,
}

fn segment_checksum(lab: &mut Lab) -> Result<ChecksumOffload> {
    let p = path(lab)?;
    set_offload(&p.link.a_end.ifname, Offload::TxChecksum, false)?;
    let tx = sender(&p)?;
    set_segment(&tx, GSO_SIZE as i32)?;
    let mut cap = Capture::start(&p.link.a_end.ifname)?;
    let send = result_name(&tx.send_to(&payload(SEND), 0, p.to));
    let received = if send == "ok" {
        lens(&receive(&p.rx, SEND)?)
    } else {
        Vec::new()
    };
    let from = tx.local_addr()?;
    let (wire, fragments) = wire_of(&cap.frames()?, from.ip(), from.port());
    Ok(ChecksumOffload {
        gso_size: GSO_SIZE,
        sent: SEND,
        send,
        round: Round {
            wire,
            fragments,
            received,
        },
    })
}

impl Observation for ChecksumOffload {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let split = segments(self.sent, self.gso_size);
        let split_wire: Vec<u32> = split.iter().map(|n| *n as u32).collect();
        if self.send == "EIO" {
            // Before Linux 6.11: refused, and nothing leaves.
            j.expect_eq(
                "the refused send puts nothing on the wire",
                &vec![],
                &self.round.wire,
            );
            j.expect_eq("the receiver reads nothing", &vec![], &self.round.received);
        } else {
            j.expect(
                "the send without checksum offload",
                self.send == "ok",
                "ok (since Linux 6.11) or EIO",
                &self.send,
            );
            j.expect_eq(
                "the stack splits it before the device",
                &split_wire,
                &self.round.wire,
            );
            j.expect_eq(
                "the receiver reads the segments",
                &split,
                &self.round.received,
            );
        }
        let verdict = match self.send.as_str() {
            // Refused without checksum offload, as the page says.
            "EIO" => Verdict::Holds,
            "ok" if self.round.received == split => Verdict::Differs,
            _ => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "tx-checksumming off: the send -> {}; wire {}; the receiver read {}",
                self.send,
                self.round.wire.show(),
                self.round.received.show()
            ),
        );
        j.key(format!(
            "no checksum offload: send {}, read {}",
            self.send,
            self.round.received.show()
        ));
        j
    }
}

/// What a receiver on b read of one burst of datagrams.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coalesces {
    pub gso_size: usize,
    pub sent: usize,
    /// The datagrams the burst was on the wire (a's end), each time.
    pub wire: Vec<Vec<u32>>,
    /// GRO on b's device, UDP_GRO on the socket.
    pub gro_and_option: Vec<Got>,
    /// GRO on the device, no UDP_GRO.
    pub gro_without_option: Vec<Got>,
    /// UDP_GRO, GRO off on the device.
    pub option_without_gro: Vec<Got>,
}

fn gro_coalesces(lab: &mut Lab) -> Result<Coalesces> {
    let link = Link::pair_v4(lab)?;
    // a: no TSO (a veth hands its peer's NAPI only packets from a device
    // without it), and one segment per packet, so that a segmented send
    // leaves as a burst of separate datagrams, queued before b's NAPI runs.
    set_offload(&link.a_end.ifname, Offload::Tso, false)?;
    Netlink::open()?.set_gso_max_segs(ifindex(&link.a_end.ifname)?, 1)?;
    let tx = Sock::udp(Family::V4)?;
    tx.bind(SocketAddr::new(link.a_end.addr, 0))
        .context("bind the sender")?;
    let mut wire = Vec::new();
    let mut burst = |gro_option: bool| -> Result<Vec<Got>> {
        let rx = link.b.run(|| -> Result<Sock> {
            let rx = Sock::udp(Family::V4)?;
            if gro_option {
                rx.set_int(libc::SOL_UDP, libc::UDP_GRO, 1)
                    .context("UDP_GRO 1")?;
            }
            rx.bind(SocketAddr::new(link.b_end.addr, 0))
                .context("bind the receiver on b")?;
            Ok(rx)
        })??;
        let mut cap = Capture::start(&link.a_end.ifname)?;
        msg::send(
            &tx,
            &payload(SEND),
            Some(rx.local_addr()?),
            &[segment_cmsg(GSO_SIZE as u16)],
        )
        .context("the segmented send")?;
        phase("reading the burst");
        let got = receive(&rx, SEND)?;
        let from = tx.local_addr()?;
        wire.push(wire_of(&cap.frames()?, from.ip(), from.port()).0);
        Ok(got)
    };
    let option_without_gro = burst(true)?;
    // Before 5.13 GRO on a veth did nothing without an XDP program.
    crate::lab::needs_kernel("GRO on a veth without XDP", 5, 13)?;
    link.b
        .run(|| set_offload(&link.b_end.ifname, Offload::Gro, true))??;
    let gro_and_option = burst(true)?;
    let gro_without_option = burst(false)?;
    Ok(Coalesces {
        gso_size: GSO_SIZE,
        sent: SEND,
        wire,
        gro_and_option,
        gro_without_option,
        option_without_gro,
    })
}

impl Observation for Coalesces {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let split = segments(self.sent, self.gso_size);
        let split_wire: Vec<u32> = split.iter().map(|n| *n as u32).collect();
        let apart: Vec<Got> = split
            .iter()
            .map(|&len| Got {
                len,
                segment_size: None,
            })
            .collect();
        let one = vec![Got {
            len: self.sent,
            segment_size: Some(self.gso_size as i32),
        }];
        j.expect_eq(
            "each burst crossed the wire as separate datagrams",
            &vec![split_wire; 3],
            &self.wire,
        );
        j.expect_eq(
            "GRO and UDP_GRO: one buffer with the segment size",
            &one,
            &self.gro_and_option,
        );
        j.expect_eq(
            "GRO without UDP_GRO: the datagrams",
            &apart,
            &self.gro_without_option,
        );
        j.expect_eq(
            "UDP_GRO without GRO on the device: the datagrams",
            &apart,
            &self.option_without_gro,
        );
        let coalesced = self.gro_and_option.len() == 1 && self.gro_and_option[0].len == self.sent;
        let verdict = if self.gro_and_option == one {
            Verdict::Holds
        } else if coalesced {
            // One buffer, but no (or another) segment size with it.
            Verdict::Differs
        } else {
            Verdict::Refuted
        };
        j.verdict(
            verdict,
            format!(
                "{} B sent as {} datagrams: with GRO and UDP_GRO the socket read {}; without UDP_GRO {}; \
                 with UDP_GRO but no GRO {}",
                self.sent,
                split.len(),
                self.gro_and_option.show(),
                self.gro_without_option.show(),
                self.option_without_gro.show()
            ),
        );
        j.key(format!(
            "{} datagrams -> read {}",
            split.len(),
            self.gro_and_option.show()
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn outcome(j: &Judgement) -> (Option<Verdict>, Vec<&str>) {
        (j.verdict, j.failed())
    }

    fn cork_linux() -> CorkOneDatagram {
        CorkOneDatagram {
            writes: vec![100, 100, 100],
            left_while_corked: vec![],
            left_at_uncork: vec![300],
            received: vec![300],
        }
    }

    #[rstest]
    #[case::linux(cork_linux(), Verdict::Holds, &[])]
    #[case::ignored(CorkOneDatagram { left_while_corked: vec![100, 100, 100], left_at_uncork: vec![],
        received: vec![100, 100, 100], ..cork_linux() }, Verdict::Refuted,
        &["nothing leaves while corked", "clearing UDP_CORK sends one datagram of every byte",
          "the receiver reads one datagram"])]
    // Held, but flushed as two datagrams.
    #[case::two(CorkOneDatagram { left_at_uncork: vec![200, 100], received: vec![200, 100], ..cork_linux() },
        Verdict::Differs, &["clearing UDP_CORK sends one datagram of every byte", "the receiver reads one datagram"])]
    // A timer that sent the datagram early, whole.
    #[case::leaked(CorkOneDatagram { left_while_corked: vec![300], left_at_uncork: vec![], ..cork_linux() },
        Verdict::Differs, &["nothing leaves while corked", "clearing UDP_CORK sends one datagram of every byte"])]
    fn cork_judgement(#[case] o: CorkOneDatagram, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn cork_words() {
        let j = cork_linux().judge();
        assert_eq!("3 writes -> [300] on the wire", j.key);
        assert_eq!(
            "writes [100, 100, 100] while corked: 0 left then; at uncork [300] left; the receiver read [300]",
            j.because
        );
    }

    #[test]
    fn segments_and_wire() {
        assert_eq!(vec![1000, 1000, 1000, 500], segments(3500, 1000));
        assert_eq!(vec![1000, 1000], segments(2000, 1000));
        assert_eq!(
            "3500 B (UDP_GRO 1000)",
            Got {
                len: 3500,
                segment_size: Some(1000)
            }
            .show()
        );
        assert_eq!(
            "500 B",
            Got {
                len: 500,
                segment_size: None
            }
            .show()
        );
    }

    fn round(wire: Vec<u32>, fragments: usize, received: Vec<usize>) -> Round {
        Round {
            wire,
            fragments,
            received,
        }
    }

    fn split4() -> Vec<usize> {
        vec![1000, 1000, 1000, 500]
    }

    fn splits_linux() -> Splits {
        Splits {
            mtu: 1500,
            gso_size: 1000,
            sent: 3500,
            device_udp_gso: Some(true),
            through_device: round(vec![3500], 0, split4()),
            in_software: round(vec![1000, 1000, 1000, 500], 0, split4()),
            per_call: round(vec![1000, 1000, 1000, 500], 0, split4()),
            disabled: round(vec![], 3, vec![3500]),
        }
    }

    #[rstest]
    #[case::linux(splits_linux(), Verdict::Holds, &[])]
    #[case::ignored(Splits { through_device: round(vec![], 3, vec![3500]), in_software: round(vec![], 3, vec![3500]),
        ..splits_linux() }, Verdict::Refuted,
        &["through the veth: one packet larger than the MTU", "the receiver reads the segments",
          "one segment per packet: the wire carries the segments", "and the receiver reads them"])]
    // Split at the sender even through a device with the offload.
    #[case::early(Splits { through_device: round(vec![1000, 1000, 1000, 500], 0, split4()), ..splits_linux() },
        Verdict::Differs, &["through the veth: one packet larger than the MTU"])]
    // A packet that would fit the MTU is no evidence of a late split.
    #[case::small(Splits { sent: 1400, through_device: round(vec![1400], 0, vec![1000, 400]),
        in_software: round(vec![1000, 400], 0, vec![1000, 400]), per_call: round(vec![], 0, vec![1000, 400]),
        disabled: round(vec![], 2, vec![1400]), ..splits_linux() }, Verdict::Differs,
        &["through the veth: one packet larger than the MTU"])]
    #[case::boundary(Splits { sent: 1472, through_device: round(vec![1472], 0, vec![1000, 472]),
        in_software: round(vec![1000, 472], 0, vec![1000, 472]), per_call: round(vec![], 0, vec![1000, 472]),
        disabled: round(vec![], 2, vec![1472]), ..splits_linux() }, Verdict::Differs,
        &["through the veth: one packet larger than the MTU"])]
    // 5.10: the veth has no tx-udp-segmentation; the stack splits before it.
    #[case::device_without_offload(Splits { device_udp_gso: Some(false),
        through_device: round(vec![1000, 1000, 1000, 500], 0, split4()), ..splits_linux() }, Verdict::Holds, &[])]
    #[case::device_without_offload_unsplit(Splits { device_udp_gso: Some(false),
        through_device: round(vec![], 3, vec![3500]), ..splits_linux() }, Verdict::Refuted,
        &["through a veth without tx-udp-segmentation: the segments, split before it",
          "the receiver reads the segments"])]
    #[case::software_lost(Splits { in_software: round(vec![3500], 0, split4()), ..splits_linux() },
        Verdict::Differs, &["one segment per packet: the wire carries the segments"])]
    #[case::software_unread(Splits { in_software: round(vec![1000, 1000, 1000, 500], 0, vec![3500]),
        ..splits_linux() }, Verdict::Differs, &["and the receiver reads them"])]
    #[case::no_cmsg(Splits { per_call: round(vec![], 3, vec![3500]), ..splits_linux() }, Verdict::Differs,
        &["a UDP_SEGMENT control message splits the same"])]
    #[case::zero_kept(Splits { disabled: round(vec![3500], 0, split4()), ..splits_linux() }, Verdict::Differs,
        &["with 0 the receiver reads one datagram", "with 0 IP fragments it"])]
    #[case::one_fragment(Splits { disabled: round(vec![], 1, vec![3500]), ..splits_linux() }, Verdict::Holds,
        &["with 0 IP fragments it"])]
    fn splits_judgement(#[case] o: Splits, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn splits_words() {
        let j = splits_linux().judge();
        assert_eq!(
            "3500 B -> wire [3500] -> read [1000, 1000, 1000, 500]",
            j.key
        );
        assert_eq!(
            "3500 B with segments of 1000: the veth carried [3500] and the receiver read [1000, 1000, 1000, \
             500]; split before the device: wire [1000, 1000, 1000, 500], read [1000, 1000, 1000, 500]; per \
             call: read [1000, 1000, 1000, 500]; with 0: read [3500] (3 fragments)",
            j.because
        );
    }

    fn limits(by: [&str; 4]) -> Limits {
        Limits {
            set_max: "ok".into(),
            set_above: "EINVAL".into(),
            set_negative: "EINVAL".into(),
            gso_size: 100,
            by_segments: SEGMENT_COUNTS
                .iter()
                .zip(by)
                .map(|(n, r)| (*n, r.to_string()))
                .collect(),
            total_65507: "ok".into(),
            total_65508: "EMSGSIZE".into(),
        }
    }

    fn limits_linux() -> Limits {
        limits(["ok", "ok", "ok", "EINVAL"])
    }

    #[rstest]
    #[case::linux(limits_linux(), Verdict::Differs, &[])]
    // Before Linux 6.11 (and the 2024 stable updates): UDP_MAX_SEGMENTS was 64, as the page says.
    #[case::linux_6_10(Limits { total_65507: "EINVAL".into(), ..limits(["ok", "EINVAL", "EINVAL", "EINVAL"]) },
        Verdict::Holds, &[])]
    // A limit of 64 yet 66 segments sent in one call.
    #[case::limit_64_exceeded(limits(["ok", "EINVAL", "EINVAL", "EINVAL"]), Verdict::Holds,
        &["a 65507-byte send"])]
    // 65 refused but 128 taken: neither kernel's limit.
    #[case::limit_holes(limits(["ok", "EINVAL", "ok", "EINVAL"]), Verdict::Differs,
        &["128 segments in one call", "a 65507-byte send"])]
    #[case::no_limit(limits(["ok", "ok", "ok", "ok"]), Verdict::Refuted, &["129 segments in one call"])]
    #[case::below_64(limits(["EINVAL", "EINVAL", "EINVAL", "EINVAL"]), Verdict::Refuted,
        &["64 segments in one call", "a 65507-byte send"])]
    #[case::range_open(Limits { set_above: "ok".into(), ..limits(["ok", "EINVAL", "EINVAL", "EINVAL"]) },
        Verdict::Differs, &["UDP_SEGMENT 65536", "a 65507-byte send"])]
    #[case::negative(Limits { set_negative: "ok".into(), ..limits(["ok", "EINVAL", "EINVAL", "EINVAL"]) },
        Verdict::Differs, &["UDP_SEGMENT -1", "a 65507-byte send"])]
    #[case::max_refused(Limits { set_max: "EINVAL".into(), ..limits(["ok", "EINVAL", "EINVAL", "EINVAL"]) },
        Verdict::Differs, &["UDP_SEGMENT 65535", "a 65507-byte send"])]
    #[case::totals(Limits { total_65507: "EMSGSIZE".into(), total_65508: "ok".into(), ..limits_linux() },
        Verdict::Differs, &["a 65507-byte send", "a 65508-byte send"])]
    fn limits_judgement(#[case] o: Limits, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn limits_words() {
        let j = limits_linux().judge();
        assert_eq!("at most 128 segments per call; 65536 -> EINVAL", j.key);
        assert_eq!(
            "segment size 65535 -> ok, 65536 -> EINVAL, -1 -> EINVAL; sends of [64, 65, 128, 129] segments of \
             100 B: [ok, ok, ok, EINVAL]; the most accepted 128",
            j.because
        );
        assert_eq!("none", limits_linux().result(7));
        assert_eq!(0, limits(["EINVAL"; 4]).most_accepted());
    }

    fn mtu_linux() -> MtuRule {
        MtuRule {
            mtu: 1500,
            fits: "ok".into(),
            over: "EMSGSIZE".into(),
            plain_over: "ok".into(),
            plain_over_fragments: 2,
        }
    }

    #[rstest]
    #[case::linux(mtu_linux(), Verdict::Differs, &[])]
    // Both refused (a socket with IP_PMTUDISC_DO would be).
    #[case::same_rule(MtuRule { plain_over: "EMSGSIZE".into(), plain_over_fragments: 0, ..mtu_linux() },
        Verdict::Holds, &["one 1473 B datagram without the option", "which IP fragments"])]
    #[case::no_rule(MtuRule { over: "ok".into(), ..mtu_linux() }, Verdict::Holds, &["segments of 1473 B"])]
    #[case::oversize_only(MtuRule { over: "ok".into(), plain_over: "EMSGSIZE".into(), ..mtu_linux() },
        Verdict::Refuted, &["segments of 1473 B", "one 1473 B datagram without the option"])]
    #[case::fit_refused(MtuRule { fits: "EMSGSIZE".into(), ..mtu_linux() }, Verdict::Differs,
        &["segments of 1472 B"])]
    #[case::one_fragment(MtuRule { plain_over_fragments: 1, ..mtu_linux() }, Verdict::Differs,
        &["which IP fragments"])]
    fn mtu_judgement(#[case] o: MtuRule, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn mtu_words() {
        let j = mtu_linux().judge();
        assert_eq!("segment 1473 B -> EMSGSIZE; plain 1473 B -> ok", j.key);
        assert_eq!(
            "MTU 1500: segments of 1472 B -> ok, of 1473 B -> EMSGSIZE; one 1473 B datagram without the option \
             -> ok (2 fragments)",
            j.because
        );
    }

    fn csum_linux() -> ChecksumOffload {
        ChecksumOffload {
            gso_size: 1000,
            sent: 3500,
            send: "ok".into(),
            round: round(vec![1000, 1000, 1000, 500], 0, split4()),
        }
    }

    #[rstest]
    #[case::linux(csum_linux(), Verdict::Differs, &[])]
    // Before Linux 6.11: EIO.
    #[case::linux_6_10(ChecksumOffload { send: "EIO".into(), round: round(vec![], 0, vec![]), ..csum_linux() },
        Verdict::Holds, &[])]
    // EIO, yet datagrams left: not what any kernel did.
    #[case::refused_yet_sent(ChecksumOffload { send: "EIO".into(), ..csum_linux() },
        Verdict::Holds, &["the refused send puts nothing on the wire", "the receiver reads nothing"])]
    #[case::other_errno(ChecksumOffload { send: "EINVAL".into(), round: round(vec![], 0, vec![]), ..csum_linux() },
        Verdict::Refuted, &["the send without checksum offload", "the stack splits it before the device",
        "the receiver reads the segments"])]
    // Sent, but the receiver got nothing (bad checksums dropped).
    #[case::lost(ChecksumOffload { round: round(vec![1000, 1000, 1000, 500], 0, vec![]), ..csum_linux() },
        Verdict::Refuted, &["the receiver reads the segments"])]
    #[case::passed_whole(ChecksumOffload { round: round(vec![3500], 0, split4()), ..csum_linux() },
        Verdict::Differs, &["the stack splits it before the device"])]
    fn csum_judgement(#[case] o: ChecksumOffload, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn csum_words() {
        let j = csum_linux().judge();
        assert_eq!(
            "no checksum offload: send ok, read [1000, 1000, 1000, 500]",
            j.key
        );
        assert_eq!(
            "tx-checksumming off: the send -> ok; wire [1000, 1000, 1000, 500]; the receiver read [1000, \
             1000, 1000, 500]",
            j.because
        );
    }

    fn apart() -> Vec<Got> {
        split4()
            .into_iter()
            .map(|len| Got {
                len,
                segment_size: None,
            })
            .collect()
    }

    fn gro_linux() -> Coalesces {
        Coalesces {
            gso_size: 1000,
            sent: 3500,
            wire: vec![vec![1000, 1000, 1000, 500]; 3],
            gro_and_option: vec![Got {
                len: 3500,
                segment_size: Some(1000),
            }],
            gro_without_option: apart(),
            option_without_gro: apart(),
        }
    }

    #[rstest]
    #[case::linux(gro_linux(), Verdict::Holds, &[])]
    #[case::ignored(Coalesces { gro_and_option: apart(), ..gro_linux() }, Verdict::Refuted,
        &["GRO and UDP_GRO: one buffer with the segment size"])]
    #[case::no_cmsg(Coalesces { gro_and_option: vec![Got { len: 3500, segment_size: None }], ..gro_linux() },
        Verdict::Differs, &["GRO and UDP_GRO: one buffer with the segment size"])]
    #[case::partial(Coalesces { gro_and_option: vec![Got { len: 3000, segment_size: Some(1000) },
        Got { len: 500, segment_size: None }], ..gro_linux() }, Verdict::Refuted,
        &["GRO and UDP_GRO: one buffer with the segment size"])]
    // Coalesced for a socket that did not ask.
    #[case::forced(Coalesces { gro_without_option: vec![Got { len: 3500, segment_size: None }], ..gro_linux() },
        Verdict::Holds, &["GRO without UDP_GRO: the datagrams"])]
    #[case::no_device_gro_needed(Coalesces { option_without_gro: vec![Got { len: 3500, segment_size: Some(1000) }],
        ..gro_linux() }, Verdict::Holds, &["UDP_GRO without GRO on the device: the datagrams"])]
    #[case::wire_whole(Coalesces { wire: vec![vec![3500]; 3], ..gro_linux() }, Verdict::Holds,
        &["each burst crossed the wire as separate datagrams"])]
    fn gro_judgement(#[case] o: Coalesces, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn gro_words() {
        let j = gro_linux().judge();
        assert_eq!("4 datagrams -> read [3500 B (UDP_GRO 1000)]", j.key);
        assert_eq!(
            "3500 B sent as 4 datagrams: with GRO and UDP_GRO the socket read [3500 B (UDP_GRO 1000)]; without \
             UDP_GRO [1000 B, 1000 B, 1000 B, 500 B]; with UDP_GRO but no GRO [1000 B, 1000 B, 1000 B, 500 B]",
            j.because
        );
    }
}
