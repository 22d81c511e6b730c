//! tcp(7) on TCP_WINDOW_CLAMP: the receive window a socket advertises, read
//! off the wire (scaled by the window scale its SYN announced), and the
//! minimum the kernel imposes. The receiving socket is the client, so its
//! own SYN shows the clamp before any data flows; the server sends small
//! segments of one size, then bigger ones.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::packet::Segment;
use crate::lab::{opt, wait, Capture, Family, Lab, Sock, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&BOUNDS_WINDOW, &MINIMUM];

pub static BOUNDS_WINDOW: Case = Case {
    id: "tcp_window_clamp.bounds_window",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_WINDOW_CLAMP"),
    claim: "TCP_WINDOW_CLAMP bounds the size of the advertised window to the value given",
    expectation: "TCP_WINDOW_CLAMP 5000 before connect(): the SYN advertises 5000 with window scaling 0, and \
                  the windows stay within 5000 while the peer's segments keep one size (100 bytes); on recent \
                  kernels a segment of another size (1000 bytes) changes the receive buffer's scaling ratio, \
                  the kernel then recomputes the clamp from the receive buffer (getsockopt reads tens of \
                  kilobytes) and the windows grow to 65535",
    run: &Measure(bounds_window),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_WINDOW_CLAMP],
};

pub static MINIMUM: Case = Case {
    id: "tcp_window_clamp.minimum",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_WINDOW_CLAMP"),
    claim: "the kernel imposes a minimum of SOCK_MIN_RCVBUF/2 on TCP_WINDOW_CLAMP",
    expectation: "TCP_WINDOW_CLAMP 1 before connect() reads back as half the smallest receive buffer \
                  (SO_RCVBUF 1 reads back SOCK_MIN_RCVBUF: 2304 here, so 1152), and the SYN advertises that \
                  window",
    run: &Measure(minimum),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_WINDOW_CLAMP, opt::SO_RCVBUF],
};

fn set_clamp(s: &Sock, v: i32) -> Result<()> {
    s.set_int(libc::IPPROTO_TCP, libc::TCP_WINDOW_CLAMP, v)
        .with_context(|| format!("TCP_WINDOW_CLAMP {v}"))
}

fn clamp_reads(s: &Sock) -> Result<i32> {
    Ok(s.get_int(libc::IPPROTO_TCP, libc::TCP_WINDOW_CLAMP)?)
}

/// A loopback pair whose client (the receiver) has TCP_WINDOW_CLAMP `clamp`
/// set before connect(); the server sends with TCP_NODELAY, so each write is
/// one segment.
fn clamped_pair(clamp: i32) -> Result<TcpPair> {
    let pair = TcpPair::connect_with(
        SocketAddr::new(Family::V4.loopback(), 0),
        |_| Ok(()),
        |c| set_clamp(c, clamp),
    )?;
    pair.server
        .set_int(libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)
        .context("TCP_NODELAY on the sender")?;
    pair.client
        .set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(2))?;
    Ok(pair)
}

/// The server writes `size` bytes `times` times, the client reading each
/// write whole; returns once the server's data is all acknowledged, with
/// the bytes the client read.
fn phase(pair: &TcpPair, size: usize, times: usize) -> Result<usize> {
    let data = vec![b'w'; size];
    let mut buf = vec![0u8; size];
    let mut read = 0;
    for _ in 0..times {
        pair.server.send_all(&data).context("sender write")?;
        let mut got = 0;
        while got < size {
            got += pair
                .client
                .recv(&mut buf[got..], 0)
                .context("receiver read")?;
        }
        read += got;
    }
    wait::until(
        "the sender's data to be acknowledged",
        Duration::from_secs(2),
        || Ok((pair.server.queued(libc::TIOCOUTQ)? == 0).then_some(())),
    )?;
    Ok(read)
}

/// The receiver's SYN, and the largest window it advertised in the frames
/// at `from..to`, scaled by the shift its SYN announced.
fn windows(segs: &[Segment], port: u16) -> (Option<Segment>, impl Fn(usize, usize) -> u32 + '_) {
    let syn = segs
        .iter()
        .find(|s| s.sport == port && s.flags.syn)
        .cloned();
    let shift = syn.as_ref().and_then(|s| s.wscale).unwrap_or(0);
    let max = move |from: usize, to: usize| {
        segs[from.min(segs.len())..to.min(segs.len())]
            .iter()
            .filter(|s| s.sport == port && !s.flags.syn)
            .map(|s| u32::from(s.window) << shift)
            .max()
            .unwrap_or(0)
    };
    (syn, max)
}

/// What the receiver advertised with its clamp, phase by phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoundsWindow {
    pub clamp: i32,
    /// The SYN's window and window scale.
    pub syn_window: u16,
    pub syn_wscale: Option<u8>,
    /// The largest window while the sender's segments were 100 bytes.
    pub same_size_max: u32,
    /// The largest window once 1000-byte segments came.
    pub after_resize_max: u32,
    /// getsockopt(TCP_WINDOW_CLAMP) at the end.
    pub reads_after: i32,
    /// Bytes the receiver read in each phase.
    pub delivered: [usize; 2],
}

const CLAMP: i32 = 5_000;

fn bounds_window(_lab: &mut Lab) -> Result<BoundsWindow> {
    let mut cap = Capture::start("lo")?;
    let pair = clamped_pair(CLAMP)?;
    let port = pair.client.local_addr()?.port();
    let small = phase(&pair, 100, 5)?;
    let boundary = cap.count()?;
    let large = phase(&pair, 1_000, 5)?;
    let reads_after = clamp_reads(&pair.client)?;
    let frames = cap.drain()?;
    // Segments and frames are in step: keep frame indices for the boundary.
    let segs: Vec<Segment> = frames
        .iter()
        .map(|f| f.segment().unwrap_or_else(placeholder))
        .collect();
    let (syn, max) = windows(&segs, port);
    Ok(BoundsWindow {
        clamp: CLAMP,
        syn_window: syn.as_ref().map_or(0, |s| s.window),
        syn_wscale: syn.as_ref().and_then(|s| s.wscale),
        same_size_max: max(0, boundary),
        after_resize_max: max(boundary, segs.len()),
        reads_after,
        delivered: [small, large],
    })
}

/// Stands in for a frame that is not TCP, so indices stay aligned; it
/// matches no port.
fn placeholder() -> Segment {
    Segment {
        src: std::net::Ipv4Addr::UNSPECIFIED.into(),
        dst: std::net::Ipv4Addr::UNSPECIFIED.into(),
        sport: 0,
        dport: 0,
        seq: 0,
        ack: 0,
        flags: Default::default(),
        window: 0,
        urgent: 0,
        mss: None,
        wscale: None,
        payload: 0,
        ttl: 0,
    }
}

impl Observation for BoundsWindow {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let clamp = self.clamp as u32;
        j.expect_eq(
            "bytes read: five 100-byte, then five 1000-byte writes",
            &[500, 5_000],
            &self.delivered,
        );
        j.expect(
            "the SYN advertises at most the clamp",
            u32::from(self.syn_window) <= clamp,
            format!("<= {clamp}"),
            format!(
                "{} (window scale {})",
                self.syn_window,
                self.syn_wscale.show()
            ),
        );
        j.expect(
            "while the segments keep one size, windows stay within it",
            self.same_size_max > 0 && self.same_size_max <= clamp,
            format!("1..={clamp}"),
            self.same_size_max.to_string(),
        );
        let held = self.after_resize_max <= clamp;
        let verdict = match (
            u32::from(self.syn_window) <= clamp && self.same_size_max <= clamp,
            held,
        ) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "TCP_WINDOW_CLAMP {}: SYN window {} (scale {}), windows up to {} with 100-byte segments, up to {} \
                 once 1000-byte segments came; getsockopt then read {}",
                self.clamp,
                self.syn_window,
                self.syn_wscale.show(),
                self.same_size_max,
                self.after_resize_max,
                self.reads_after
            ),
        );
        j.key(format!(
            "clamp {}: windows {} then {}; reads {}",
            self.clamp, self.same_size_max, self.after_resize_max, self.reads_after
        ));
        j
    }
}

/// TCP_WINDOW_CLAMP 1 against the kernel's minimum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Minimum {
    /// SO_RCVBUF 1 read back: SOCK_MIN_RCVBUF.
    pub min_rcvbuf: i32,
    /// getsockopt(TCP_WINDOW_CLAMP) after setting 1.
    pub reads: i32,
    pub syn_window: u16,
    pub syn_wscale: Option<u8>,
}

fn minimum(_lab: &mut Lab) -> Result<Minimum> {
    let probe = Sock::tcp(Family::V4)?;
    probe
        .set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, 1)
        .context("SO_RCVBUF 1")?;
    let min_rcvbuf = probe.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?;
    let s = Sock::tcp(Family::V4)?;
    set_clamp(&s, 1)?;
    let reads = clamp_reads(&s)?;
    let mut cap = Capture::start("lo")?;
    let pair = clamped_pair(1)?;
    let port = pair.client.local_addr()?.port();
    let segs: Vec<Segment> = cap
        .drain()?
        .iter()
        .filter_map(crate::lab::packet::Frame::segment)
        .collect();
    let (syn, _) = windows(&segs, port);
    Ok(Minimum {
        min_rcvbuf,
        reads,
        syn_window: syn.as_ref().map_or(0, |s| s.window),
        syn_wscale: syn.as_ref().and_then(|s| s.wscale),
    })
}

impl Observation for Minimum {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let floor = self.min_rcvbuf / 2;
        j.expect_eq(
            "getsockopt after setting 1 (SOCK_MIN_RCVBUF/2)",
            &floor,
            &self.reads,
        );
        let syn_bytes = u32::from(self.syn_window) << self.syn_wscale.unwrap_or(0);
        j.expect_eq("the SYN's window", &(floor as u32), &syn_bytes);
        j.verdict(
            Verdict::holds_if(self.reads == floor && syn_bytes == floor as u32),
            format!(
                "SOCK_MIN_RCVBUF {} (SO_RCVBUF 1 read back); TCP_WINDOW_CLAMP 1 read back {} and the SYN \
                 advertised {} (scale {})",
                self.min_rcvbuf,
                self.reads,
                self.syn_window,
                self.syn_wscale.show()
            ),
        );
        j.key(format!(
            "clamp 1 -> {}; SYN window {}",
            self.reads, self.syn_window
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn bw_linux() -> BoundsWindow {
        BoundsWindow {
            clamp: 5_000,
            syn_window: 5_000,
            syn_wscale: Some(0),
            same_size_max: 5_000,
            after_resize_max: 65_535,
            reads_after: 71_168,
            delivered: [500, 5_000],
        }
    }

    const SYN: &str = "the SYN advertises at most the clamp";
    const SAME: &str = "while the segments keep one size, windows stay within it";

    #[rstest]
    #[case::linux(bw_linux(), Verdict::Differs, &[])]
    // An older kernel, without the scaling ratio: the clamp stays.
    #[case::old_kernel(BoundsWindow { after_resize_max: 5_000, reads_after: 5_000, ..bw_linux() }, Verdict::Holds, &[])]
    // TCP_WINDOW_CLAMP ignored.
    #[case::ignored(BoundsWindow { syn_window: 65_495, syn_wscale: Some(7), same_size_max: 65_536,
        after_resize_max: 131_072, ..bw_linux() }, Verdict::Refuted, &[SYN, SAME])]
    #[case::edge(BoundsWindow { same_size_max: 5_001, ..bw_linux() }, Verdict::Refuted, &[SAME])]
    #[case::no_acks(BoundsWindow { same_size_max: 0, ..bw_linux() }, Verdict::Differs, &[SAME])]
    #[case::short(BoundsWindow { delivered: [500, 0], after_resize_max: 0, ..bw_linux() }, Verdict::Holds,
        &["bytes read: five 100-byte, then five 1000-byte writes"])]
    fn bw_judgement(#[case] o: BoundsWindow, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn bw_words() {
        let j = bw_linux().judge();
        assert_eq!("clamp 5000: windows 5000 then 65535; reads 71168", j.key);
        assert_eq!(
            "TCP_WINDOW_CLAMP 5000: SYN window 5000 (scale 0), windows up to 5000 with 100-byte segments, up to \
             65535 once 1000-byte segments came; getsockopt then read 71168",
            j.because
        );
    }

    fn seg(sport: u16, syn: bool, window: u16, wscale: Option<u8>) -> Segment {
        Segment {
            sport,
            flags: crate::lab::packet::TcpFlags {
                syn,
                ack: !syn,
                ..Default::default()
            },
            window,
            wscale,
            ..placeholder()
        }
    }

    #[test]
    fn windows_are_scaled_by_the_syn_and_split_by_index() {
        let segs = vec![
            seg(2, true, 65_000, Some(7)),
            seg(1, true, 5_000, Some(2)),
            seg(1, false, 100, None),
            seg(2, false, 9_000, None),
            seg(1, false, 300, None),
        ];
        let (syn, max) = windows(&segs, 1);
        assert_eq!(Some(5_000), syn.map(|s| s.window));
        assert_eq!((400, 1_200, 0), (max(0, 3), max(3, 99), max(99, 100)));
    }

    fn min_linux() -> Minimum {
        Minimum {
            min_rcvbuf: 2_304,
            reads: 1_152,
            syn_window: 1_152,
            syn_wscale: Some(0),
        }
    }

    const READS: &str = "getsockopt after setting 1 (SOCK_MIN_RCVBUF/2)";
    const WINDOW: &str = "the SYN's window";

    #[rstest]
    #[case::linux(min_linux(), Verdict::Holds, &[])]
    // No minimum: the clamp of 1 taken as given.
    #[case::no_floor(Minimum { reads: 1, syn_window: 1, ..min_linux() }, Verdict::Refuted, &[READS, WINDOW])]
    // TCP_WINDOW_CLAMP ignored: the echo reads 1 and the SYN has the usual window.
    #[case::ignored(Minimum { reads: 1, syn_window: 65_495, syn_wscale: Some(7), ..min_linux() }, Verdict::Refuted,
        &[READS, WINDOW])]
    #[case::other_floor(Minimum { reads: 1_024, syn_window: 1_024, ..min_linux() }, Verdict::Refuted,
        &[READS, WINDOW])]
    // A scaled SYN window of the same size.
    #[case::scaled(Minimum { syn_window: 576, syn_wscale: Some(1), ..min_linux() }, Verdict::Holds, &[])]
    // The floor read back, but not used on the wire.
    #[case::not_on_the_wire(Minimum { syn_window: 65_495, ..min_linux() }, Verdict::Refuted, &[WINDOW])]
    fn min_judgement(#[case] o: Minimum, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn min_words() {
        let j = min_linux().judge();
        assert_eq!("clamp 1 -> 1152; SYN window 1152", j.key);
        assert_eq!(
            "SOCK_MIN_RCVBUF 2304 (SO_RCVBUF 1 read back); TCP_WINDOW_CLAMP 1 read back 1152 and the SYN \
             advertised 1152 (scale 0)",
            j.because
        );
    }
}
