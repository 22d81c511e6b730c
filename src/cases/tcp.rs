//! IPPROTO_TCP: TCP_MAXSEG (004 §5.2). Segment sizes are counted on a veth
//! link with offloads off, so the capture shows what a real wire would carry.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::opt;
use crate::lab::sock::result_name;
use crate::lab::topo::Link;
use crate::lab::wire::{option_bytes, tcp_across, wire_like};
use crate::lab::{Capture, Lab, Sock};
use crate::model::{Case, Judgement, Measure, Observation, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[&MAXSEG_BEFORE_CONNECT, &MAXSEG_TOO_LARGE];

pub static MAXSEG_BEFORE_CONNECT: Case = Case {
    id: "tcp_maxseg.before_connect",
    source: Source::LectureNotes("5.2 TCP_MAXSEG"),
    claim: "Linux lets a program change the MSS, and the change has to be made before the connection is set up",
    expectation: "TCP_MAXSEG set before connect() is the MSS option of the SYN, and both directions then carry at \
                  most that many bytes per segment minus the 12-byte timestamp option; set after the handshake \
                  it is accepted (0) but the segments keep the size fixed at setup",
    run: &Measure(before_connect),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_MAXSEG],
};

pub static MAXSEG_TOO_LARGE: Case = Case {
    id: "tcp_maxseg.too_large",
    source: Source::LectureNotes("5.2 TCP_MAXSEG"),
    claim: "if the MSS chosen is too large, connection setup may settle on a smaller one",
    expectation: "TCP_MAXSEG 9000 on a path with MTU 1280 is accepted, and getsockopt echoes 9000 until connect(); \
                  the SYN then advertises MTU - 40 = 1240 and segments carry at most 1228 bytes (getsockopt \
                  after connect says 1228); setsockopt accepts 0 (no user MSS) and 88..=32767, anything else \
                  is EINVAL, and the smallest value, 88, does go on the wire",
    run: &Measure(too_large),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

/// MSS the client asks for in tcp_maxseg.before_connect.
const MSS: i32 = 1000;
/// MSS set on the established connection.
const MSS_AFTER: i32 = 600;
/// MTU of the link for tcp_maxseg.too_large, and the MSS that exceeds it.
const SMALL_MTU: u32 = 1280;
const HUGE_MSS: i32 = 9000;
/// The smallest MSS Linux accepts (TCP_MIN_MSS).
const SMALLEST: i32 = 88;
/// Bytes sent each way on a connection, and with the smallest MSS.
const BYTES: usize = 65_536;
const SMALL_BYTES: usize = 8_192;

/// What one connection across the link showed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    /// TCP_MAXSEG set before connect (none: left alone).
    pub mss_set: Option<i32>,
    /// getsockopt(TCP_MAXSEG) after connect: the MSS in use.
    pub mss_in_use: i32,
    /// The MSS options of the SYN and of the SYN-ACK.
    pub syn_mss: Option<u16>,
    pub synack_mss: Option<u16>,
    /// Largest payload the client sent, and the server sent.
    pub client_max_payload: u32,
    pub server_max_payload: u32,
    /// TCP_MAXSEG set on both ends of the established connection, and the
    /// bytes sent each way after it.
    pub later: Option<Later>,
}

/// TCP_MAXSEG on an established connection and the segments that followed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Later {
    pub mss: i32,
    /// The client's setsockopt: ok or the errno name.
    pub result: String,
    pub client_max_payload: u32,
    pub server_max_payload: u32,
}

/// Sends `n` bytes from `from` while another thread reads them on `to`,
/// and makes sure that every byte arrived.
fn push(from: &Sock, to: &Sock, n: usize) -> Result<()> {
    let got = std::thread::scope(|s| {
        let reader = s.spawn(|| -> Result<usize> {
            to.set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(5))?;
            let mut buf = vec![0u8; 65536];
            let mut got = 0;
            // No signal handler runs in the case process: recv is never
            // interrupted (EINTR), it returns data, EOF or a timeout.
            while got < n {
                match to.recv(&mut buf, 0) {
                    Ok(0) => anyhow::bail!("EOF after {got} of {n} bytes"),
                    Ok(k) => got += k,
                    Err(e) => return Err(e).context(format!("recv after {got} of {n} bytes")),
                }
            }
            Ok(got)
        });
        from.send_all(&vec![0x6du8; n]).context("send_all")?;
        reader
            .join()
            .map_err(|_| anyhow::anyhow!("reader panicked"))?
    })?;
    anyhow::ensure!(got == n, "the reader got {got} of {n} bytes");
    Ok(())
}

/// The largest payload sent from each port, in the segments captured so far
/// after the first `skip` frames.
fn max_payloads(cap: &mut Capture, skip: usize) -> Result<BTreeMap<u16, u32>> {
    let mut max = BTreeMap::new();
    for s in cap.frames()?[skip..].iter().filter_map(|f| f.segment()) {
        let m = max.entry(s.sport).or_insert(0);
        *m = s.payload.max(*m);
    }
    Ok(max)
}

/// One connection: client in a (TCP_MAXSEG `mss` before connect), server in
/// b; `bytes` each way; then optionally TCP_MAXSEG `after` on both ends of
/// the established connection and `bytes` each way again.
fn transfer(
    link: &Link,
    cap: &mut Capture,
    mss: Option<i32>,
    after: Option<i32>,
    bytes: usize,
) -> Result<Transfer> {
    let start = cap.frames()?.len();
    let pair = tcp_across(
        link,
        |_| Ok(()),
        |c| {
            if let Some(m) = mss {
                c.set_int(libc::IPPROTO_TCP, libc::TCP_MAXSEG, m)
                    .with_context(|| format!("TCP_MAXSEG {m} before connect"))?;
            }
            Ok(())
        },
    )?;
    let cport = pair.client.local_addr()?.port();
    let sport = pair.port()?;
    push(&pair.client, &pair.server, bytes)?;
    push(&pair.server, &pair.client, bytes)?;
    let mss_in_use = pair
        .client
        .get_int(libc::IPPROTO_TCP, libc::TCP_MAXSEG)
        .context("getsockopt TCP_MAXSEG after connect")?;
    let (mut syn_mss, mut synack_mss) = (None, None);
    for f in &cap.frames()?[start..] {
        match f.segment() {
            Some(s) if s.flags.syn && !s.flags.ack && s.sport == cport => syn_mss = s.mss,
            Some(s) if s.flags.syn && s.flags.ack && s.dport == cport => synack_mss = s.mss,
            _ => {}
        }
    }
    let max = max_payloads(cap, start)?;
    let later = match after {
        None => None,
        Some(m) => {
            let r = pair.client.set_int(libc::IPPROTO_TCP, libc::TCP_MAXSEG, m);
            let _ = pair.server.set_int(libc::IPPROTO_TCP, libc::TCP_MAXSEG, m);
            let mark = cap.frames()?.len();
            push(&pair.client, &pair.server, bytes)?;
            push(&pair.server, &pair.client, bytes)?;
            let max = max_payloads(cap, mark)?;
            Some(Later {
                mss: m,
                result: result_name(&r),
                client_max_payload: max.get(&cport).copied().unwrap_or(0),
                server_max_payload: max.get(&sport).copied().unwrap_or(0),
            })
        }
    };
    Ok(Transfer {
        mss_set: mss,
        mss_in_use,
        syn_mss,
        synack_mss,
        client_max_payload: max.get(&cport).copied().unwrap_or(0),
        server_max_payload: max.get(&sport).copied().unwrap_or(0),
        later,
    })
}

/// An MSS option as a report shows it.
fn mss_text(m: Option<u16>) -> String {
    m.map_or_else(|| "none".into(), |m| m.to_string())
}

/// Segment sizes each way, as a report shows them.
fn each_way(client: u32, server: u32) -> String {
    if client == server {
        format!("{client} B each way")
    } else {
        format!("{client} B from the client, {server} B from the server")
    }
}

/// TCP_MAXSEG left alone, then set before connect and again on the
/// established connection, on a 1500-byte MTU link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BeforeConnect {
    pub link_mtu: u32,
    /// TCP option bytes in each data segment (12: timestamps).
    pub option_bytes: u32,
    pub default: Transfer,
    pub with_maxseg: Transfer,
}

fn before_connect(lab: &mut Lab) -> Result<BeforeConnect> {
    let link = Link::pair_v4(lab)?;
    wire_like(&link, 1500)?;
    let option_bytes = option_bytes()?;
    let mut cap = Capture::start("veth-a")?;
    let default = transfer(&link, &mut cap, None, None, BYTES)?;
    let with_maxseg = transfer(&link, &mut cap, Some(MSS), Some(MSS_AFTER), BYTES)?;
    Ok(BeforeConnect {
        link_mtu: 1500,
        option_bytes,
        default,
        with_maxseg,
    })
}

impl Observation for BeforeConnect {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let opts = self.option_bytes;
        let link_mss = self.link_mtu.saturating_sub(40);
        let (d, set) = (&self.default, &self.with_maxseg);
        let mss_segment = (MSS as u32).saturating_sub(opts);
        j.expect_eq(
            "SYN MSS without TCP_MAXSEG (MTU - 40)",
            &u16::try_from(link_mss).ok(),
            &d.syn_mss,
        );
        j.expect_eq(
            "largest segment without TCP_MAXSEG",
            &link_mss.saturating_sub(opts),
            &d.client_max_payload,
        );
        j.expect_eq(
            "SYN MSS with TCP_MAXSEG before connect",
            &Some(MSS as u16),
            &set.syn_mss,
        );
        j.expect_eq(
            "the SYN-ACK announces the server's own MSS (MTU - 40)",
            &u16::try_from(link_mss).ok(),
            &set.synack_mss,
        );
        j.expect_eq(
            "largest segment the client sends",
            &mss_segment,
            &set.client_max_payload,
        );
        j.expect_eq(
            "largest segment the server sends (it obeys the SYN's MSS)",
            &mss_segment,
            &set.server_max_payload,
        );
        j.expect_eq(
            "getsockopt after connect: MSS in use",
            &(mss_segment as i32),
            &set.mss_in_use,
        );
        let later = set.later.as_ref();
        let after_result = later.map_or("not tried", |l| l.result.as_str());
        j.expect_eq(
            "TCP_MAXSEG on the established connection",
            "ok",
            after_result,
        );
        let (client_after, server_after) =
            later.map_or((0, 0), |l| (l.client_max_payload, l.server_max_payload));
        j.expect(
            "largest segments after that (client, server): unchanged",
            (client_after, server_after) == (mss_segment, mss_segment),
            each_way(mss_segment, mss_segment),
            each_way(client_after, server_after),
        );

        let honoured = set.syn_mss == Some(MSS as u16) && set.client_max_payload == mss_segment;
        let later_ignored = client_after == set.client_max_payload;
        let verdict = match (honoured, later_ignored) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "MTU {}: without TCP_MAXSEG the SYN carried MSS {} and segments were up to {} B; with \
                 TCP_MAXSEG {MSS} before connect the SYN carried MSS {}, segments were up to {} and \
                 getsockopt said {}; TCP_MAXSEG {MSS_AFTER} on the established connection returned \
                 {after_result}, and segments then were up to {}",
                self.link_mtu,
                mss_text(d.syn_mss),
                d.client_max_payload,
                mss_text(set.syn_mss),
                each_way(set.client_max_payload, set.server_max_payload),
                set.mss_in_use,
                each_way(client_after, server_after),
            ),
        );
        j.key(format!(
            "SYN MSS {} -> {}; largest segment {} -> {} B; after connect {} B",
            mss_text(d.syn_mss),
            mss_text(set.syn_mss),
            d.client_max_payload,
            set.client_max_payload,
            client_after
        ));
        j
    }
}

/// A run of consecutive values setsockopt accepted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Range {
    pub from: i32,
    pub to: i32,
}

/// Ranges as a report writes them: "0 and 88 to 32767".
fn ranges_text(ranges: &[Range]) -> String {
    let parts: Vec<String> = ranges
        .iter()
        .map(|r| {
            if r.from == r.to {
                r.from.to_string()
            } else {
                format!("{} to {}", r.from, r.to)
            }
        })
        .collect();
    match parts.split_last() {
        None => "nothing".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// The values setsockopt(TCP_MAXSEG) accepts in `from..=to`, as ranges.
fn accepted_ranges(from: i32, to: i32) -> Result<Vec<Range>> {
    let s = Sock::tcp(crate::lab::Family::V4)?;
    let mut out: Vec<Range> = Vec::new();
    for v in from..=to {
        if s.set_int(libc::IPPROTO_TCP, libc::TCP_MAXSEG, v).is_err() {
            continue;
        }
        match out.last_mut() {
            Some(r) if r.to == v - 1 => r.to = v,
            _ => out.push(Range { from: v, to: v }),
        }
    }
    Ok(out)
}

/// TCP_MAXSEG 9000 on a link with MTU 1280, the values setsockopt takes,
/// and the smallest of them on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TooLarge {
    pub link_mtu: u32,
    /// TCP option bytes in each data segment (12: timestamps).
    pub option_bytes: u32,
    /// setsockopt(TCP_MAXSEG, 9000) on a new socket: ok or the errno name;
    /// then getsockopt, before connect.
    pub set_huge: String,
    pub getsockopt_before_connect: i32,
    /// The values setsockopt accepted in -2..=70000.
    pub accepted: Vec<Range>,
    pub huge: Transfer,
    /// A connection with the smallest positive value accepted, if any.
    pub smallest: Option<Transfer>,
}

fn too_large(lab: &mut Lab) -> Result<TooLarge> {
    let link = Link::pair_v4(lab)?;
    wire_like(&link, SMALL_MTU)?;
    let option_bytes = option_bytes()?;
    // What getsockopt says between setsockopt and connect: the value stored.
    let probe = Sock::tcp(crate::lab::Family::V4)?;
    let set_huge = result_name(&probe.set_int(libc::IPPROTO_TCP, libc::TCP_MAXSEG, HUGE_MSS));
    let getsockopt_before_connect = probe.get_int(libc::IPPROTO_TCP, libc::TCP_MAXSEG)?;
    let accepted = accepted_ranges(-2, 70_000)?;
    let smallest = accepted.iter().map(|r| r.from).find(|v| *v > 0);

    let mut cap = Capture::start("veth-a")?;
    let huge = transfer(&link, &mut cap, Some(HUGE_MSS), None, BYTES)?;
    let smallest = match smallest {
        Some(m) => Some(transfer(&link, &mut cap, Some(m), None, SMALL_BYTES)?),
        None => None,
    };
    Ok(TooLarge {
        link_mtu: SMALL_MTU,
        option_bytes,
        set_huge,
        getsockopt_before_connect,
        accepted,
        huge,
        smallest,
    })
}

impl Observation for TooLarge {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let opts = self.option_bytes;
        let path_mss = self.link_mtu.saturating_sub(40);
        let path_segment = path_mss.saturating_sub(opts);
        let huge = &self.huge;
        j.expect_eq("setsockopt(TCP_MAXSEG, 9000)", "ok", self.set_huge.as_str());
        j.expect_eq(
            "getsockopt before connect echoes 9000",
            &HUGE_MSS,
            &self.getsockopt_before_connect,
        );
        j.expect_eq(
            "SYN MSS (clamped to MTU - 40)",
            &u16::try_from(path_mss).ok(),
            &huge.syn_mss,
        );
        j.expect_eq(
            "the SYN-ACK announces the server's own MSS (MTU - 40)",
            &u16::try_from(path_mss).ok(),
            &huge.synack_mss,
        );
        j.expect(
            "largest segment (client, server)",
            (huge.client_max_payload, huge.server_max_payload) == (path_segment, path_segment),
            each_way(path_segment, path_segment),
            each_way(huge.client_max_payload, huge.server_max_payload),
        );
        j.expect_eq(
            "getsockopt after connect",
            &(path_segment as i32),
            &huge.mss_in_use,
        );
        let linux = [
            Range { from: 0, to: 0 },
            Range {
                from: SMALLEST,
                to: 32767,
            },
        ];
        j.expect(
            "accepted values in -2..=70000",
            self.accepted == linux,
            ranges_text(&linux),
            ranges_text(&self.accepted),
        );
        let smallest_segment = (SMALLEST as u32).saturating_sub(opts);
        let on_wire = |t: &Transfer| -> String {
            format!(
                "SYN MSS {}, segments up to {}",
                mss_text(t.syn_mss),
                each_way(t.client_max_payload, t.server_max_payload)
            )
        };
        j.expect(
            "smallest value on the wire (SYN MSS, client, server max segment)",
            self.smallest.as_ref().is_some_and(|t| {
                (t.syn_mss, t.client_max_payload, t.server_max_payload)
                    == (Some(SMALLEST as u16), smallest_segment, smallest_segment)
            }),
            format!(
                "SYN MSS {SMALLEST}, segments up to {}",
                each_way(smallest_segment, smallest_segment)
            ),
            self.smallest
                .as_ref()
                .map_or_else(|| "no value tried".into(), on_wire),
        );

        let smaller = huge.syn_mss.is_some_and(|m| i32::from(m) < HUGE_MSS)
            && huge.client_max_payload <= path_mss;
        j.verdict(
            Verdict::holds_if(smaller),
            format!(
                "TCP_MAXSEG {HUGE_MSS} ({}; getsockopt {} before connect) on MTU {}: SYN MSS {}, segments up \
                 to {}, getsockopt {} after connect; setsockopt accepts {}; the smallest, {}, gives {}",
                self.set_huge,
                self.getsockopt_before_connect,
                self.link_mtu,
                mss_text(huge.syn_mss),
                each_way(huge.client_max_payload, huge.server_max_payload),
                huge.mss_in_use,
                ranges_text(&self.accepted),
                self.smallest
                    .as_ref()
                    .and_then(|t| t.mss_set)
                    .map_or_else(|| "none".into(), |m| m.to_string()),
                self.smallest
                    .as_ref()
                    .map_or_else(|| "nothing".into(), on_wire),
            ),
        );
        j.key(format!(
            "{HUGE_MSS} -> SYN MSS {}, largest segment {} B; accepts {}",
            mss_text(huge.syn_mss),
            huge.client_max_payload,
            ranges_text(&self.accepted)
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn outcome(o: &impl Observation) -> (Option<Verdict>, Vec<String>) {
        let j = o.judge();
        (
            j.verdict,
            j.failed().into_iter().map(String::from).collect(),
        )
    }

    fn expect(verdict: Verdict, failed: &[&str]) -> (Option<Verdict>, Vec<String>) {
        (
            Some(verdict),
            failed.iter().map(|f| f.to_string()).collect(),
        )
    }

    /// A connection whose SYN said `syn` and whose segments carried at most
    /// `seg` bytes each way.
    fn conn(set: Option<i32>, syn: u16, seg: u32) -> Transfer {
        Transfer {
            mss_set: set,
            mss_in_use: seg as i32,
            syn_mss: Some(syn),
            synack_mss: Some(1460),
            client_max_payload: seg,
            server_max_payload: seg,
            later: None,
        }
    }

    fn later(result: &str, client: u32, server: u32) -> Option<Later> {
        Some(Later {
            mss: MSS_AFTER,
            result: result.into(),
            client_max_payload: client,
            server_max_payload: server,
        })
    }

    /// What Linux 6.18 did (a real run's numbers).
    fn before_linux() -> BeforeConnect {
        BeforeConnect {
            link_mtu: 1500,
            option_bytes: 12,
            default: conn(None, 1460, 1448),
            with_maxseg: Transfer {
                later: later("ok", 988, 988),
                ..conn(Some(MSS), 1000, 988)
            },
        }
    }

    fn with_maxseg(t: Transfer) -> BeforeConnect {
        BeforeConnect {
            with_maxseg: t,
            ..before_linux()
        }
    }

    const SYN_SET: &str = "SYN MSS with TCP_MAXSEG before connect";
    const CLIENT: &str = "largest segment the client sends";
    const SERVER: &str = "largest segment the server sends (it obeys the SYN's MSS)";
    const IN_USE: &str = "getsockopt after connect: MSS in use";
    const LATER: &str = "TCP_MAXSEG on the established connection";
    const UNCHANGED: &str = "largest segments after that (client, server): unchanged";

    #[rstest]
    #[case::linux(before_linux(), Verdict::Holds, &[])]
    // A stack where TCP_MAXSEG on a live connection does shrink the segments.
    #[case::later_honoured(with_maxseg(Transfer { later: later("ok", 588, 588),
        ..before_linux().with_maxseg }), Verdict::Differs, &[UNCHANGED])]
    // A libc that ignores TCP_MAXSEG: the second connection is like the first.
    #[case::ignored(with_maxseg(Transfer { later: later("ok", 1448, 1448),
        ..conn(Some(MSS), 1460, 1448) }), Verdict::Refuted,
        &[SYN_SET, CLIENT, SERVER, IN_USE, UNCHANGED])]
    #[case::syn_only(with_maxseg(Transfer { client_max_payload: 1448, later: later("ok", 1448, 988),
        ..before_linux().with_maxseg }), Verdict::Refuted, &[CLIENT, UNCHANGED])]
    // A server that answers with the MSS it was offered: "negotiated".
    #[case::synack_echoes(with_maxseg(Transfer { synack_mss: Some(1000), ..before_linux().with_maxseg }),
        Verdict::Holds, &["the SYN-ACK announces the server's own MSS (MTU - 40)"])]
    #[case::server_ignores_syn(with_maxseg(Transfer { server_max_payload: 1448,
        ..before_linux().with_maxseg }), Verdict::Holds, &[SERVER])]
    #[case::reads_the_set_value(with_maxseg(Transfer { mss_in_use: 1000,
        ..before_linux().with_maxseg }), Verdict::Holds, &[IN_USE])]
    #[case::later_refused(with_maxseg(Transfer { later: later("EINVAL", 988, 988),
        ..before_linux().with_maxseg }), Verdict::Holds, &[LATER])]
    #[case::later_not_tried(with_maxseg(Transfer { later: None, ..before_linux().with_maxseg }),
        Verdict::Differs, &[LATER, UNCHANGED])]
    #[case::later_server_shrinks(with_maxseg(Transfer { later: later("ok", 988, 588),
        ..before_linux().with_maxseg }), Verdict::Holds, &[UNCHANGED])]
    #[case::default_without_mss(BeforeConnect { default: Transfer { syn_mss: None,
        ..before_linux().default }, ..before_linux() }, Verdict::Holds,
        &["SYN MSS without TCP_MAXSEG (MTU - 40)"])]
    #[case::default_small(BeforeConnect { default: conn(None, 1460, 1000), ..before_linux() },
        Verdict::Holds, &["largest segment without TCP_MAXSEG"])]
    // Without timestamps the segments carry the whole MSS.
    #[case::no_timestamps(BeforeConnect { option_bytes: 0, default: conn(None, 1460, 1460),
        with_maxseg: Transfer { later: later("ok", 1000, 1000), ..conn(Some(MSS), 1000, 1000) },
        ..before_linux() }, Verdict::Holds, &[])]
    fn before_connect_judgement(
        #[case] o: BeforeConnect,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn before_connect_words() {
        let j = before_linux().judge();
        assert_eq!(
            "SYN MSS 1460 -> 1000; largest segment 1448 -> 988 B; after connect 988 B",
            j.key
        );
        assert_eq!(
            "MTU 1500: without TCP_MAXSEG the SYN carried MSS 1460 and segments were up to 1448 B; with \
             TCP_MAXSEG 1000 before connect the SYN carried MSS 1000, segments were up to 988 B each way \
             and getsockopt said 988; TCP_MAXSEG 600 on the established connection returned ok, and \
             segments then were up to 988 B each way",
            j.because
        );
        let j = with_maxseg(Transfer {
            syn_mss: None,
            later: None,
            ..before_linux().with_maxseg
        })
        .judge();
        assert_eq!(
            "SYN MSS 1460 -> none; largest segment 1448 -> 988 B; after connect 0 B",
            j.key
        );
        assert!(j
            .because
            .contains("returned not tried, and segments then were up to 0 B"));
        assert_eq!(
            "988 B from the client, 588 B from the server",
            each_way(988, 588)
        );
    }

    fn too_large_linux() -> TooLarge {
        TooLarge {
            link_mtu: 1280,
            option_bytes: 12,
            set_huge: "ok".into(),
            getsockopt_before_connect: 9000,
            accepted: vec![
                Range { from: 0, to: 0 },
                Range {
                    from: 88,
                    to: 32767,
                },
            ],
            huge: Transfer {
                synack_mss: Some(1240),
                ..conn(Some(HUGE_MSS), 1240, 1228)
            },
            smallest: Some(Transfer {
                synack_mss: Some(1240),
                ..conn(Some(88), 88, 76)
            }),
        }
    }

    const SYN_CLAMPED: &str = "SYN MSS (clamped to MTU - 40)";
    const LARGEST: &str = "largest segment (client, server)";
    const AFTER: &str = "getsockopt after connect";
    const ACCEPTED: &str = "accepted values in -2..=70000";
    const SMALLEST_ON_WIRE: &str =
        "smallest value on the wire (SYN MSS, client, server max segment)";

    #[rstest]
    #[case::linux(too_large_linux(), Verdict::Holds, &[])]
    // A stack that advertises what it was told and leaves the rest to fragmentation.
    #[case::not_clamped(TooLarge { huge: Transfer { synack_mss: Some(1240),
        ..conn(Some(HUGE_MSS), 9000, 8988) }, ..too_large_linux() },
        Verdict::Refuted, &[SYN_CLAMPED, LARGEST, AFTER])]
    #[case::no_mss_option(TooLarge { huge: Transfer { syn_mss: None, ..too_large_linux().huge },
        ..too_large_linux() }, Verdict::Refuted, &[SYN_CLAMPED])]
    // The SYN says what was set, yet the segments fit the path.
    #[case::syn_unclamped(TooLarge { huge: Transfer { syn_mss: Some(9000), ..too_large_linux().huge },
        ..too_large_linux() }, Verdict::Refuted, &[SYN_CLAMPED])]
    #[case::just_below(TooLarge { huge: Transfer { syn_mss: Some(8999), ..too_large_linux().huge },
        ..too_large_linux() }, Verdict::Holds, &[SYN_CLAMPED])]
    #[case::segments_of_the_path_mss(TooLarge { huge: Transfer { client_max_payload: 1240,
        ..too_large_linux().huge }, ..too_large_linux() }, Verdict::Holds, &[LARGEST])]
    #[case::segments_beyond(TooLarge { huge: Transfer { client_max_payload: 1241,
        ..too_large_linux().huge }, ..too_large_linux() }, Verdict::Refuted, &[LARGEST])]
    #[case::server_larger(TooLarge { huge: Transfer { server_max_payload: 1240,
        ..too_large_linux().huge }, ..too_large_linux() }, Verdict::Holds, &[LARGEST])]
    #[case::refused(TooLarge { set_huge: "EINVAL".into(), getsockopt_before_connect: 536,
        ..too_large_linux() }, Verdict::Holds, &["setsockopt(TCP_MAXSEG, 9000)",
        "getsockopt before connect echoes 9000"])]
    #[case::synack_missing(TooLarge { huge: Transfer { synack_mss: None, ..too_large_linux().huge },
        ..too_large_linux() }, Verdict::Holds, &["the SYN-ACK announces the server's own MSS (MTU - 40)"])]
    #[case::reads_in_use(TooLarge { huge: Transfer { mss_in_use: 1240, ..too_large_linux().huge },
        ..too_large_linux() }, Verdict::Holds, &[AFTER])]
    // An older kernel: a lower floor.
    #[case::older_floor(TooLarge { accepted: vec![Range { from: 0, to: 0 }, Range { from: 48, to: 32767 }],
        smallest: Some(conn(Some(48), 48, 36)), ..too_large_linux() }, Verdict::Holds,
        &[ACCEPTED, SMALLEST_ON_WIRE])]
    #[case::nothing_small(TooLarge { accepted: vec![Range { from: 0, to: 0 }], smallest: None,
        ..too_large_linux() }, Verdict::Holds, &[ACCEPTED, SMALLEST_ON_WIRE])]
    #[case::smallest_syn_differs(TooLarge { smallest: Some(conn(Some(88), 536, 76)),
        ..too_large_linux() }, Verdict::Holds, &[SMALLEST_ON_WIRE])]
    #[case::smallest_server_differs(TooLarge { smallest: Some(Transfer { server_max_payload: 88,
        ..conn(Some(88), 88, 76) }), ..too_large_linux() }, Verdict::Holds, &[SMALLEST_ON_WIRE])]
    fn too_large_judgement(#[case] o: TooLarge, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn too_large_words() {
        let j = too_large_linux().judge();
        assert_eq!(
            "9000 -> SYN MSS 1240, largest segment 1228 B; accepts 0 and 88 to 32767",
            j.key
        );
        assert_eq!(
            "TCP_MAXSEG 9000 (ok; getsockopt 9000 before connect) on MTU 1280: SYN MSS 1240, segments up \
             to 1228 B each way, getsockopt 1228 after connect; setsockopt accepts 0 and 88 to 32767; the \
             smallest, 88, gives SYN MSS 88, segments up to 76 B each way",
            j.because
        );
        let j = TooLarge {
            accepted: vec![],
            smallest: None,
            ..too_large_linux()
        }
        .judge();
        assert!(j
            .because
            .ends_with("setsockopt accepts nothing; the smallest, none, gives nothing"));
        let c = j.checks.last().expect("the smallest's check");
        assert_eq!(
            ("SYN MSS 88, segments up to 76 B each way", "no value tried"),
            (c.expected.as_str(), c.observed.as_str())
        );
        assert_eq!(
            "0, 5 to 6 and 88 to 32767",
            ranges_text(&[
                Range { from: 0, to: 0 },
                Range { from: 5, to: 6 },
                Range {
                    from: 88,
                    to: 32767
                }
            ])
        );
        assert_eq!("7", ranges_text(&[Range { from: 7, to: 7 }]));
    }
}
