//! tcp(7) on what a socket says about its connection (TCP_INFO) and on the
//! segment size it uses (TCP_MAXSEG), both held against the wire: a veth
//! link with offloads off and MTU 1500, so the capture sees the segments a
//! real wire would carry.

use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::packet::{Frame, NewData, Segment};
use crate::lab::silent::silence;
use crate::lab::sock::result_name;
use crate::lab::tcpinfo::{tcp_info, TcpInfo, OPT_SACK, OPT_TIMESTAMPS, OPT_WSCALE};
use crate::lab::tcpopt::{has_option, KIND_SACK_PERMITTED, KIND_TIMESTAMPS};
use crate::lab::topo::Link;
use crate::lab::wire::{option_bytes, tcp_across, wire_like};
use crate::lab::{opt, wait, Capture, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&MATCHES_WIRE, &SYN_AND_SEGMENTS, &BOUNDS];

pub static MATCHES_WIRE: Case = Case {
    id: "tcp_info.matches_wire",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_INFO"),
    claim: "TCP_INFO returns a struct tcp_info describing the socket",
    expectation: "after 20 kB sent and 100 bytes more towards a peer gone silent, the struct agrees with the \
                  capture: state ESTABLISHED, snd_mss = the SYN-ACK's MSS less the timestamp option, the \
                  options and window scales both SYNs negotiated, segs_out, data_segs_out, bytes_sent, \
                  bytes_retrans and total_retrans as counted on the wire, one segment unacknowledged, and an \
                  RTT within the round trips the capture timed",
    run: &Measure(matches_wire),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static SYN_AND_SEGMENTS: Case = Case {
    id: "tcp_maxseg.syn_and_segments",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_MAXSEG"),
    claim: "TCP_MAXSEG bounds the size of outgoing segments; set before the connection is made, it is also \
            the MSS the SYN announces; values above what the interface MTU allows have no effect",
    expectation: "on a 1500-byte link, TCP_MAXSEG 1000 before connect(): the SYN announces MSS 1000 and the \
                  client's segments carry at most 988 bytes (1000 less the 12-byte timestamp option); \
                  TCP_MAXSEG 9000: the SYN announces 1460 (MTU - 40) and segments carry 1448, as without it",
    run: &Measure(syn_and_segments),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_MAXSEG],
};

pub static BOUNDS: Case = Case {
    id: "tcp_maxseg.bounds",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_MAXSEG"),
    claim: "TCP imposes its own minimum and maximum on the TCP_MAXSEG value given",
    expectation: "values outside 88..=32767 (TCP_MIN_MSS, MAX_TCP_WINDOW) are refused with EINVAL rather than \
                  brought within bounds (0 is accepted: no user MSS); 88 itself is used: the SYN announces \
                  MSS 88 and the data leaves in segments of at most 76 bytes",
    run: &Measure(bounds),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_MAXSEG],
};

const MTU: u32 = 1500;

/// Sends `n` bytes from `from` while another thread reads them on `to`.
/// Sends `n` bytes (at most some tens of kilobytes: they fit the peer's
/// receive buffer, which nobody reads) and waits until they are all
/// acknowledged.
fn push(from: &Sock, n: usize) -> Result<()> {
    from.send_all(&vec![0x6du8; n]).context("send_all")?;
    wait::until(
        "the data to be acknowledged",
        Duration::from_secs(2),
        || Ok((from.queued(libc::TIOCOUTQ)? == 0).then_some(())),
    )
}

fn segs(frames: &[Frame]) -> Vec<(i64, Segment, Frame)> {
    frames
        .iter()
        .filter_map(|f| f.segment().map(|s| (f.t_ns, s, f.clone())))
        .collect()
}

/// What the capture counted of the client's side of a connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireCount {
    pub syn_mss: Option<u16>,
    pub synack_mss: Option<u16>,
    pub syn_wscale: Option<u8>,
    pub synack_wscale: Option<u8>,
    /// TCPI_OPT_* bits both SYNs carry the option for.
    pub options: u8,
    pub segs_out: u32,
    pub data_segs_out: u32,
    pub bytes_sent: u64,
    pub retransmitted_segs: u32,
    pub bytes_retrans: u64,
    /// Round trips of the client's segments (first transmissions) to the
    /// ACKs that first covered them, µs: shortest and longest.
    pub rtt_min_us: u32,
    pub rtt_max_us: u32,
}

fn count_wire(frames: &[Frame], port: u16) -> WireCount {
    let all = segs(frames);
    let syn = all
        .iter()
        .find(|(_, s, _)| s.sport == port && s.flags.syn && !s.flags.ack);
    let synack = all
        .iter()
        .find(|(_, s, _)| s.dport == port && s.flags.syn && s.flags.ack);
    let both = |kind: u8| matches!((syn, synack), (Some((_, _, a)), Some((_, _, b))) if has_option(a, kind) && has_option(b, kind));
    let mut options = 0;
    if both(KIND_TIMESTAMPS) {
        options |= OPT_TIMESTAMPS;
    }
    if both(KIND_SACK_PERMITTED) {
        options |= OPT_SACK;
    }
    if syn.is_some_and(|(_, s, _)| s.wscale.is_some())
        && synack.is_some_and(|(_, s, _)| s.wscale.is_some())
    {
        options |= OPT_WSCALE;
    }
    let mut w = WireCount {
        syn_mss: syn.and_then(|(_, s, _)| s.mss),
        synack_mss: synack.and_then(|(_, s, _)| s.mss),
        syn_wscale: syn.and_then(|(_, s, _)| s.wscale),
        synack_wscale: synack.and_then(|(_, s, _)| s.wscale),
        options,
        ..WireCount::default()
    };
    let mut fresh = NewData::default();
    // Send time of each first transmission, by the sequence number it ends at
    // (a SYN ends one past its own).
    let mut sent: Vec<(u32, i64)> = Vec::new();
    let mut rtts: Vec<i64> = Vec::new();
    for (t, s, _) in &all {
        if s.sport == port {
            w.segs_out += 1;
            let len = s.payload + u32::from(s.flags.syn) + u32::from(s.flags.fin);
            if s.payload > 0 {
                w.data_segs_out += 1;
                w.bytes_sent += u64::from(s.payload);
                if fresh.is_new(s) {
                    sent.push((s.seq.wrapping_add(len), *t));
                } else {
                    w.retransmitted_segs += 1;
                    w.bytes_retrans += u64::from(s.payload);
                }
            } else if s.flags.syn {
                sent.push((s.seq.wrapping_add(len), *t));
            }
        } else if s.dport == port && s.flags.ack {
            // The oldest segment this ACK covers for the first time.
            if let Some(i) = sent
                .iter()
                .position(|(end, _)| s.ack.wrapping_sub(*end) as i32 >= 0)
            {
                rtts.push(t - sent[i].1);
                sent.retain(|(end, _)| (s.ack.wrapping_sub(*end) as i32) < 0);
            }
        }
    }
    w.rtt_min_us = rtts.iter().min().map_or(0, |r| (*r / 1_000) as u32);
    w.rtt_max_us = rtts.iter().max().map_or(0, |r| (*r / 1_000) as u32);
    w
}

/// TCP_INFO of the client and what the capture counted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchesWire {
    pub info: TcpInfo,
    pub wire: WireCount,
    /// TCP option bytes on each data segment (12 with timestamps).
    pub option_bytes: u32,
}

const BULK: usize = 20_000;

fn matches_wire(lab: &mut Lab) -> Result<MatchesWire> {
    let link = Link::pair_v4(lab)?;
    wire_like(&link, MTU)?;
    let option_bytes = option_bytes()?;
    let mut cap = Capture::start(&link.a_end.ifname)?;
    let pair = tcp_across(&link, |_| Ok(()), |_| Ok(()))?;
    let port = pair.client.local_addr()?.port();
    push(&pair.client, BULK)?;
    link.b
        .run(|| silence(&link.b_end.ifname, link.b_end.addr, 24))??;
    let from = cap.count()?;
    pair.client
        .send_all(&[b'i'; 100])
        .context("write to the silent peer")?;
    let first = cap
        .find_from(from, Duration::from_secs(1), |f| {
            f.segment()
                .is_some_and(|s| s.sport == port && s.payload > 0)
        })?
        .context("the 100-byte segment never left")?;
    let seq = first.1.segment().map_or(0, |s| s.seq);
    // Its first retransmission, then the struct at once (the next one is
    // hundreds of milliseconds away).
    cap.find_from(first.0 + 1, Duration::from_secs(1), |f| {
        f.segment()
            .is_some_and(|s| s.sport == port && s.seq == seq && s.payload > 0)
    })?;
    let info = tcp_info(&pair.client).context("TCP_INFO")?;
    let wire = count_wire(cap.drain()?, port);
    Ok(MatchesWire {
        info,
        wire,
        option_bytes,
    })
}

impl Observation for MatchesWire {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (i, w) = (&self.info, &self.wire);
        j.expect(
            "the wire carried the 20 kB and the 100 bytes",
            w.bytes_sent >= (BULK + 100) as u64,
            format!(">= {} B", BULK + 100),
            format!("{} B", w.bytes_sent),
        );
        j.expect_eq(
            "state",
            &"ESTABLISHED",
            &crate::lab::procnet::state_name(i.state),
        );
        let mss = w.synack_mss.map(|m| u32::from(m) - self.option_bytes);
        j.expect_eq(
            "snd_mss = the SYN-ACK's MSS less the option bytes",
            &mss,
            &Some(i.snd_mss),
        );
        j.expect_eq(
            "options negotiated (1 timestamps, 2 SACK, 4 window scaling)",
            &w.options,
            &i.options,
        );
        j.expect_eq(
            "window scales: sent (the SYN-ACK's), received (the SYN's)",
            &(w.synack_wscale.unwrap_or(0), w.syn_wscale.unwrap_or(0)),
            &(i.snd_wscale, i.rcv_wscale),
        );
        j.expect_eq("segs_out", &Some(w.segs_out), &i.segs_out);
        j.expect_eq("data_segs_out", &Some(w.data_segs_out), &i.data_segs_out);
        j.expect_eq("bytes_sent", &Some(w.bytes_sent), &i.bytes_sent);
        j.expect_eq("bytes_retrans", &Some(w.bytes_retrans), &i.bytes_retrans);
        j.expect_eq("total_retrans", &w.retransmitted_segs, &i.total_retrans);
        j.expect_eq("unacked", &1, &i.unacked);
        // The kernel's samples start before the capture sees a segment leave
        // and end after it sees the ACK: never below the wire's, and late
        // by the receive path's delay at most (generous under load).
        let rtt_ok = i.rtt_us + 1 >= w.rtt_min_us && i.rtt_us <= w.rtt_max_us + 20_000;
        j.expect(
            "rtt within the round trips on the wire",
            rtt_ok,
            format!("{}..{} µs", w.rtt_min_us, w.rtt_max_us + 20_000),
            format!("{} µs", i.rtt_us),
        );
        let counts = Some(w.segs_out) == i.segs_out
            && Some(w.bytes_sent) == i.bytes_sent
            && w.retransmitted_segs == i.total_retrans;
        j.verdict(
            Verdict::holds_if(counts && mss == Some(i.snd_mss)),
            format!(
                "TCP_INFO: snd_mss {}, segs_out {}, data_segs_out {}, bytes_sent {}, total_retrans {}, rtt {} µs; \
                 the wire: MSS {} less {} B of options, {} segments, {} with data, {} B, {} retransmitted, \
                 round trips {}..{} µs",
                i.snd_mss,
                i.segs_out.show(),
                i.data_segs_out.show(),
                i.bytes_sent.show(),
                i.total_retrans,
                i.rtt_us,
                w.synack_mss.show(),
                self.option_bytes,
                w.segs_out,
                w.data_segs_out,
                w.bytes_sent,
                w.retransmitted_segs,
                w.rtt_min_us,
                w.rtt_max_us
            ),
        );
        j.key(format!(
            "segs_out {} = wire {}; total_retrans {} = wire {}",
            i.segs_out.show(),
            w.segs_out,
            i.total_retrans,
            w.retransmitted_segs
        ));
        j
    }
}

/// One connection across the link with TCP_MAXSEG set before connect().
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sized {
    pub maxseg: i32,
    pub syn_mss: Option<u16>,
    /// The largest payload the client sent.
    pub max_payload: u32,
}

/// One connection across `link` with TCP_MAXSEG `maxseg` set before
/// connect(), `bytes` sent from the client.
fn sized(link: &Link, cap: &mut Capture, maxseg: i32, bytes: usize) -> Result<Sized> {
    let from = cap.count()?;
    let pair = tcp_across(
        link,
        |_| Ok(()),
        |c| {
            c.set_int(libc::IPPROTO_TCP, libc::TCP_MAXSEG, maxseg)
                .with_context(|| format!("TCP_MAXSEG {maxseg}"))
        },
    )?;
    let port = pair.client.local_addr()?.port();
    push(&pair.client, bytes)?;
    let frames = cap.drain()?;
    let mine: Vec<Segment> = frames[from.min(frames.len())..]
        .iter()
        .filter_map(Frame::segment)
        .filter(|s| s.sport == port)
        .collect();
    Ok(Sized {
        maxseg,
        syn_mss: mine.iter().find(|s| s.flags.syn).and_then(|s| s.mss),
        max_payload: mine.iter().map(|s| s.payload).max().unwrap_or(0),
    })
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SynAndSegments {
    pub mtu: u32,
    pub option_bytes: u32,
    pub small: Sized,
    pub large: Sized,
}

fn syn_and_segments(lab: &mut Lab) -> Result<SynAndSegments> {
    let link = Link::pair_v4(lab)?;
    wire_like(&link, MTU)?;
    let mut cap = Capture::start(&link.a_end.ifname)?;
    Ok(SynAndSegments {
        mtu: MTU,
        option_bytes: option_bytes()?,
        small: sized(&link, &mut cap, 1_000, 16 * 1024)?,
        large: sized(&link, &mut cap, 9_000, 16 * 1024)?,
    })
}

impl Observation for SynAndSegments {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let link_mss = (self.mtu - 40) as u16;
        let payload = |mss: u16| u32::from(mss) - self.option_bytes;
        j.expect_eq(
            "TCP_MAXSEG 1000: the SYN's MSS",
            &Some(1_000),
            &self.small.syn_mss,
        );
        j.expect_eq(
            "TCP_MAXSEG 1000: the largest segment's data",
            &payload(1_000),
            &self.small.max_payload,
        );
        j.expect_eq(
            "TCP_MAXSEG 9000: the SYN's MSS (MTU - 40)",
            &Some(link_mss),
            &self.large.syn_mss,
        );
        j.expect_eq(
            "TCP_MAXSEG 9000: the largest segment's data",
            &payload(link_mss),
            &self.large.max_payload,
        );
        let announced =
            self.small.syn_mss == Some(1_000) && self.small.max_payload <= payload(1_000);
        let capped = self.large.max_payload <= payload(link_mss);
        j.verdict(
            match (announced, capped) {
                (true, true) => Verdict::Holds,
                (false, false) => Verdict::Refuted,
                _ => Verdict::Differs,
            },
            format!(
                "MTU {}: TCP_MAXSEG 1000 -> SYN MSS {}, segments up to {} B; TCP_MAXSEG 9000 -> SYN MSS {}, \
                 segments up to {} B ({} B of TCP options each)",
                self.mtu,
                self.small.syn_mss.show(),
                self.small.max_payload,
                self.large.syn_mss.show(),
                self.large.max_payload,
                self.option_bytes
            ),
        );
        j.key(format!(
            "1000 -> MSS {} / {} B; 9000 -> MSS {} / {} B",
            self.small.syn_mss.show(),
            self.small.max_payload,
            self.large.syn_mss.show(),
            self.large.max_payload
        ));
        j
    }
}

/// TCP_MAXSEG at and beyond its limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    pub set: Vec<i32>,
    pub results: Vec<String>,
    /// With TCP_MAXSEG 88 on loopback: the SYN's MSS and the largest payload.
    pub min_syn_mss: Option<u16>,
    pub min_max_payload: u32,
    pub option_bytes: u32,
}

const MAXSEG_VALUES: [i32; 6] = [0, 87, 88, 32_767, 32_768, 65_535];
/// TCP_MIN_MSS and MAX_TCP_WINDOW.
const MIN_MSS: i32 = 88;
const MAX_MSS: i32 = 32_767;

fn bounds(lab: &mut Lab) -> Result<Bounds> {
    let s = Sock::tcp(Family::V4)?;
    let results = MAXSEG_VALUES
        .iter()
        .map(|v| result_name(&s.set_int(libc::IPPROTO_TCP, libc::TCP_MAXSEG, *v)))
        .collect();
    // On a link with offloads off: loopback would show GSO super-packets.
    let link = Link::pair_v4(lab)?;
    wire_like(&link, MTU)?;
    let mut cap = Capture::start(&link.a_end.ifname)?;
    // A few segments' worth at 76 bytes each.
    let smallest = sized(&link, &mut cap, MIN_MSS, 2 * 1024)?;
    Ok(Bounds {
        set: MAXSEG_VALUES.to_vec(),
        results,
        min_syn_mss: smallest.syn_mss,
        min_max_payload: smallest.max_payload,
        option_bytes: option_bytes()?,
    })
}

impl Observation for Bounds {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let expected: Vec<&str> = self
            .set
            .iter()
            .map(|v| {
                if *v == 0 || (MIN_MSS..=MAX_MSS).contains(v) {
                    "ok"
                } else {
                    "EINVAL"
                }
            })
            .collect();
        let got: Vec<&str> = self.results.iter().map(String::as_str).collect();
        j.expect_eq(
            "setsockopt(TCP_MAXSEG) for [0, 87, 88, 32767, 32768, 65535]",
            &expected,
            &got,
        );
        j.expect_eq(
            "TCP_MAXSEG 88: the SYN's MSS",
            &Some(MIN_MSS as u16),
            &self.min_syn_mss,
        );
        j.expect_eq(
            "TCP_MAXSEG 88: the largest segment's data",
            &(MIN_MSS as u32 - self.option_bytes),
            &self.min_max_payload,
        );
        let out_of_range: Vec<&str> = self
            .set
            .iter()
            .zip(&got)
            .filter(|(v, _)| **v != 0 && !(MIN_MSS..=MAX_MSS).contains(*v))
            .map(|(_, r)| *r)
            .collect();
        j.verdict(
            if out_of_range.iter().all(|r| *r == "EINVAL") {
                // Bounds imposed by refusing, not by bringing the value within them.
                Verdict::Differs
            } else {
                Verdict::Holds
            },
            format!(
                "set {} -> {}; with 88 the SYN announced MSS {} and segments carried up to {} B",
                self.set.show(),
                got.show(),
                self.min_syn_mss.show(),
                self.min_max_payload
            ),
        );
        j.key(format!(
            "87 -> {}, 32768 -> {}; 88 on the wire: MSS {}",
            got.get(1).show(),
            got.get(4).show(),
            self.min_syn_mss.show()
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn info_linux() -> TcpInfo {
        TcpInfo {
            state: 1,
            retransmits: 1,
            options: 7,
            snd_wscale: 7,
            rcv_wscale: 7,
            rto_us: 408_000,
            snd_mss: 1448,
            rcv_mss: 536,
            unacked: 1,
            rtt_us: 61,
            total_retrans: 2,
            segs_out: Some(20),
            segs_in: Some(12),
            data_segs_out: Some(17),
            bytes_sent: Some(20_200),
            bytes_retrans: Some(200),
            ..TcpInfo::default()
        }
    }

    fn wire_linux() -> WireCount {
        WireCount {
            syn_mss: Some(1460),
            synack_mss: Some(1460),
            syn_wscale: Some(7),
            synack_wscale: Some(7),
            options: 7,
            segs_out: 20,
            data_segs_out: 17,
            bytes_sent: 20_200,
            retransmitted_segs: 2,
            bytes_retrans: 200,
            rtt_min_us: 35,
            rtt_max_us: 120,
        }
    }

    fn mw_linux() -> MatchesWire {
        MatchesWire {
            info: info_linux(),
            wire: wire_linux(),
            option_bytes: 12,
        }
    }

    #[rstest]
    #[case::linux(mw_linux(), Verdict::Holds, &[])]
    // A struct from elsewhere (another socket, stale numbers).
    #[case::stale(MatchesWire { info: TcpInfo { segs_out: Some(3), bytes_sent: Some(0), total_retrans: 0,
        data_segs_out: Some(0), bytes_retrans: Some(0), unacked: 0, ..info_linux() }, ..mw_linux() },
        Verdict::Refuted, &["segs_out", "data_segs_out", "bytes_sent", "bytes_retrans", "total_retrans", "unacked"])]
    // An old kernel's shorter struct: the later counters are absent.
    #[case::short_struct(MatchesWire { info: TcpInfo { segs_out: None, data_segs_out: None, bytes_sent: None,
        bytes_retrans: None, ..info_linux() }, ..mw_linux() }, Verdict::Refuted,
        &["segs_out", "data_segs_out", "bytes_sent", "bytes_retrans"])]
    #[case::mss(MatchesWire { info: TcpInfo { snd_mss: 1460, ..info_linux() }, ..mw_linux() }, Verdict::Refuted,
        &["snd_mss = the SYN-ACK's MSS less the option bytes"])]
    #[case::state(MatchesWire { info: TcpInfo { state: 8, ..info_linux() }, ..mw_linux() }, Verdict::Holds,
        &["state"])]
    #[case::options(MatchesWire { info: TcpInfo { options: 3, ..info_linux() }, ..mw_linux() }, Verdict::Holds,
        &["options negotiated (1 timestamps, 2 SACK, 4 window scaling)"])]
    #[case::wscale(MatchesWire { info: TcpInfo { snd_wscale: 0, ..info_linux() }, ..mw_linux() }, Verdict::Holds,
        &["window scales: sent (the SYN-ACK's), received (the SYN's)"])]
    #[case::rtt_low(MatchesWire { info: TcpInfo { rtt_us: 33, ..info_linux() }, ..mw_linux() }, Verdict::Holds,
        &["rtt within the round trips on the wire"])]
    #[case::rtt_edge_low(MatchesWire { info: TcpInfo { rtt_us: 34, ..info_linux() }, ..mw_linux() },
        Verdict::Holds, &[])]
    #[case::rtt_edge_high(MatchesWire { info: TcpInfo { rtt_us: 20_120, ..info_linux() }, ..mw_linux() },
        Verdict::Holds, &[])]
    #[case::rtt_high(MatchesWire { info: TcpInfo { rtt_us: 20_121, ..info_linux() }, ..mw_linux() },
        Verdict::Holds, &["rtt within the round trips on the wire"])]
    // No bulk data: the counts still agree, but the case did not do its work.
    #[case::no_bulk(MatchesWire { wire: WireCount { bytes_sent: 200, ..wire_linux() },
        info: TcpInfo { bytes_sent: Some(200), ..info_linux() }, ..mw_linux() }, Verdict::Holds,
        &["the wire carried the 20 kB and the 100 bytes"])]
    #[case::just_enough(MatchesWire { wire: WireCount { bytes_sent: 20_100, ..wire_linux() },
        info: TcpInfo { bytes_sent: Some(20_100), ..info_linux() }, ..mw_linux() }, Verdict::Holds, &[])]
    fn mw_judgement(#[case] o: MatchesWire, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn mw_words() {
        let j = mw_linux().judge();
        assert_eq!("segs_out 20 = wire 20; total_retrans 2 = wire 2", j.key);
        assert_eq!(
            "TCP_INFO: snd_mss 1448, segs_out 20, data_segs_out 17, bytes_sent 20200, total_retrans 2, rtt 61 µs; \
             the wire: MSS 1460 less 12 B of options, 20 segments, 17 with data, 20200 B, 2 retransmitted, \
             round trips 35..120 µs",
            j.because
        );
    }

    #[test]
    fn the_wire_is_counted_like_the_kernel_counts() {
        use crate::lab::tcpopt::test_frame as frame;
        // SYN options: MSS 1460, SACK-permitted, timestamps, NOP, wscale 7.
        let syn_opts = [
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        let (c, s) = (40_000, 80);
        let frames = vec![
            frame(0, c, s, 100, 0, 0x02, 0, &syn_opts),
            frame(50_000, s, c, 900, 101, 0x12, 0, &syn_opts),
            frame(60_000, c, s, 101, 901, 0x10, 0, &[]),
            frame(100_000, c, s, 101, 901, 0x18, 1000, &[]),
            frame(110_000, c, s, 1101, 901, 0x18, 500, &[]),
            frame(200_000, s, c, 901, 1601, 0x10, 0, &[]),
            frame(300_000, c, s, 1601, 901, 0x18, 100, &[]),
            frame(500_000, c, s, 1601, 901, 0x18, 100, &[]),
        ];
        let w = count_wire(&frames, c);
        assert_eq!(
            WireCount {
                syn_mss: Some(1460),
                synack_mss: Some(1460),
                syn_wscale: Some(7),
                synack_wscale: Some(7),
                options: 7,
                segs_out: 6,
                data_segs_out: 4,
                bytes_sent: 1700,
                retransmitted_segs: 1,
                bytes_retrans: 100,
                // SYN -> SYN-ACK 50 µs; the 1000-byte segment -> its ACK 100 µs.
                rtt_min_us: 50,
                rtt_max_us: 100,
            },
            w
        );
        // Without SACK-permitted on the SYN-ACK: no SACK bit.
        let mut plain = frames.clone();
        plain[1] = frame(
            50_000,
            s,
            c,
            900,
            101,
            0x12,
            0,
            &[
                2, 4, 5, 0xb4, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
            ],
        );
        assert_eq!(OPT_TIMESTAMPS | OPT_WSCALE, count_wire(&plain, c).options);
    }

    fn sized(maxseg: i32, syn_mss: u16, max_payload: u32) -> Sized {
        Sized {
            maxseg,
            syn_mss: Some(syn_mss),
            max_payload,
        }
    }

    fn seg_linux() -> SynAndSegments {
        SynAndSegments {
            mtu: 1500,
            option_bytes: 12,
            small: sized(1_000, 1_000, 988),
            large: sized(9_000, 1_460, 1_448),
        }
    }

    const S_SYN: &str = "TCP_MAXSEG 1000: the SYN's MSS";
    const S_DATA: &str = "TCP_MAXSEG 1000: the largest segment's data";
    const L_SYN: &str = "TCP_MAXSEG 9000: the SYN's MSS (MTU - 40)";
    const L_DATA: &str = "TCP_MAXSEG 9000: the largest segment's data";

    #[rstest]
    #[case::linux(seg_linux(), Verdict::Holds, &[])]
    // TCP_MAXSEG ignored: the link's MSS both times.
    #[case::ignored(SynAndSegments { small: sized(1_000, 1_460, 1_448), ..seg_linux() }, Verdict::Differs,
        &[S_SYN, S_DATA])]
    // Linux 2.4 to 2.6.27: the segments follow, the SYN does not.
    #[case::old_linux(SynAndSegments { small: sized(1_000, 1_460, 988), ..seg_linux() }, Verdict::Differs, &[S_SYN])]
    // A large value obeyed: jumbo segments on a 1500-byte link.
    #[case::jumbo(SynAndSegments { large: sized(9_000, 9_000, 8_988), ..seg_linux() }, Verdict::Differs,
        &[L_SYN, L_DATA])]
    #[case::nothing(SynAndSegments { small: sized(1_000, 1_460, 1_448), large: sized(9_000, 9_000, 8_988),
        ..seg_linux() }, Verdict::Refuted, &[S_SYN, S_DATA, L_SYN, L_DATA])]
    fn seg_judgement(#[case] o: SynAndSegments, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn seg_words() {
        let j = seg_linux().judge();
        assert_eq!("1000 -> MSS 1000 / 988 B; 9000 -> MSS 1460 / 1448 B", j.key);
        assert_eq!(
            "MTU 1500: TCP_MAXSEG 1000 -> SYN MSS 1000, segments up to 988 B; TCP_MAXSEG 9000 -> SYN MSS 1460, \
             segments up to 1448 B (12 B of TCP options each)",
            j.because
        );
    }

    fn bounds_linux() -> Bounds {
        Bounds {
            set: MAXSEG_VALUES.to_vec(),
            results: ["ok", "EINVAL", "ok", "ok", "EINVAL", "EINVAL"]
                .map(String::from)
                .to_vec(),
            min_syn_mss: Some(88),
            min_max_payload: 76,
            option_bytes: 12,
        }
    }

    const B_SET: &str = "setsockopt(TCP_MAXSEG) for [0, 87, 88, 32767, 32768, 65535]";
    const B_SYN: &str = "TCP_MAXSEG 88: the SYN's MSS";
    const B_DATA: &str = "TCP_MAXSEG 88: the largest segment's data";

    #[rstest]
    #[case::linux(bounds_linux(), Verdict::Differs, &[])]
    // The page's reading: every value taken and brought within bounds.
    #[case::clamped(Bounds { results: vec!["ok".into(); 6], ..bounds_linux() }, Verdict::Holds, &[B_SET])]
    // TCP_MAXSEG ignored: everything "ok", loopback's MSS on the wire.
    #[case::ignored(Bounds { results: vec!["ok".into(); 6], min_syn_mss: Some(65_495), min_max_payload: 500,
        ..bounds_linux() }, Verdict::Holds, &[B_SET, B_SYN, B_DATA])]
    #[case::partly(Bounds { results: ["ok", "ok", "ok", "ok", "EINVAL", "EINVAL"].map(String::from).to_vec(),
        ..bounds_linux() }, Verdict::Holds, &[B_SET])]
    fn bounds_judgement(#[case] o: Bounds, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn bounds_words() {
        let j = bounds_linux().judge();
        assert_eq!(
            "87 -> EINVAL, 32768 -> EINVAL; 88 on the wire: MSS 88",
            j.key
        );
        assert_eq!(
            "set [0, 87, 88, 32767, 32768, 65535] -> [ok, EINVAL, ok, ok, EINVAL, EINVAL]; with 88 the SYN \
             announced MSS 88 and segments carried up to 76 B",
            j.because
        );
    }
}
