//! IPPROTO_TCP: TCP_MAXSEG (004 §5.2). Segment sizes are counted on a veth
//! link with offloads off, so the capture shows what a real wire would carry.

use std::io;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::lab::opt;
use crate::lab::sock::result_name;
use crate::lab::topo::Link;
use crate::lab::wire::{option_bytes, tcp_across, wire_like};
use crate::lab::{Capture, Lab, Sock};
use crate::model::{Case, Evidence, Legacy, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[&MAXSEG_BEFORE_CONNECT, &MAXSEG_TOO_LARGE];

pub static MAXSEG_BEFORE_CONNECT: Case = Case {
    id: "tcp_maxseg.before_connect",
    source: Source::LectureNotes("5.2 TCP_MAXSEG"),
    claim: "Linux lets a program change the MSS, and the change has to be made before the connection is set up",
    expectation: "TCP_MAXSEG set before connect() is the MSS option of the SYN, and both directions then carry at \
                  most that many bytes per segment minus the 12-byte timestamp option; set after the handshake \
                  it is accepted (0) but the segments keep the size fixed at setup",
    run: &Legacy(before_connect),
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
    run: &Legacy(too_large),
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
const BYTES: usize = 64 * 1024;

/// What one connection across the link showed.
#[derive(Clone, Debug, Default, Serialize)]
struct Transfer {
    /// TCP_MAXSEG set before connect (None: left alone).
    mss_set: Option<i32>,
    /// getsockopt(TCP_MAXSEG) after connect: the MSS in use.
    mss_in_use: i32,
    syn_mss: Option<u16>,
    synack_mss: Option<u16>,
    /// Largest payload the client sent, and the server sent.
    client_max_payload: u32,
    server_max_payload: u32,
    /// Same, for the bytes sent after `mss_after` was set on the connection.
    mss_after: Option<(i32, String)>,
    client_max_payload_after: u32,
    server_max_payload_after: u32,
}

/// Sends `n` bytes from `from` while another thread reads them on `to`.
fn push(from: &Sock, to: &Sock, n: usize) -> Result<()> {
    std::thread::scope(|s| {
        let reader = s.spawn(|| -> Result<()> {
            to.set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(5))?;
            let mut buf = vec![0u8; 65536];
            let mut got = 0;
            while got < n {
                match to.recv(&mut buf, 0) {
                    Ok(0) => anyhow::bail!("EOF after {got} of {n} bytes"),
                    Ok(k) => got += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e).context(format!("recv after {got} of {n} bytes")),
                }
            }
            Ok(())
        });
        from.send_all(&vec![0x6du8; n]).context("send_all")?;
        reader
            .join()
            .map_err(|_| anyhow::anyhow!("reader panicked"))?
    })
}

/// The largest payload of the segments sent from `sport`, captured so far
/// after the first `skip` frames.
fn max_payload(cap: &mut Capture, skip: usize, sport: u16) -> Result<u32> {
    Ok(cap.frames()?[skip..]
        .iter()
        .filter_map(|f| f.segment())
        .filter(|s| s.sport == sport)
        .map(|s| s.payload)
        .max()
        .unwrap_or(0))
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
    let mut t = Transfer {
        mss_set: mss,
        mss_in_use: pair
            .client
            .get_int(libc::IPPROTO_TCP, libc::TCP_MAXSEG)
            .context("getsockopt TCP_MAXSEG after connect")?,
        client_max_payload: max_payload(cap, start, cport)?,
        server_max_payload: max_payload(cap, start, sport)?,
        ..Transfer::default()
    };
    for f in &cap.frames()?[start..] {
        match f.segment() {
            Some(s) if s.flags.syn && !s.flags.ack && s.sport == cport => t.syn_mss = s.mss,
            Some(s) if s.flags.syn && s.flags.ack && s.dport == cport => t.synack_mss = s.mss,
            _ => {}
        }
    }
    if let Some(m) = after {
        let r = pair.client.set_int(libc::IPPROTO_TCP, libc::TCP_MAXSEG, m);
        let _ = pair.server.set_int(libc::IPPROTO_TCP, libc::TCP_MAXSEG, m);
        t.mss_after = Some((m, result_name(&r)));
        let mark = cap.frames()?.len();
        push(&pair.client, &pair.server, bytes)?;
        push(&pair.server, &pair.client, bytes)?;
        t.client_max_payload_after = max_payload(cap, mark, cport)?;
        t.server_max_payload_after = max_payload(cap, mark, sport)?;
    }
    Ok(t)
}

/// An MSS option as a report shows it.
fn mss_text(m: Option<u16>) -> String {
    m.map_or_else(|| "none".into(), |m| m.to_string())
}

fn before_connect(lab: &mut Lab) -> Result<Evidence> {
    let link = Link::pair_v4(lab)?;
    wire_like(&link, 1500)?;
    let opts = option_bytes()?;
    let mut cap = Capture::start("veth-a")?;
    let default = transfer(&link, &mut cap, None, None, BYTES)?;
    let set = transfer(&link, &mut cap, Some(MSS), Some(MSS_AFTER), BYTES)?;

    let mut ev = Evidence::new();
    ev.observe("link_mtu", 1500)
        .observe("tcp_option_bytes_per_segment", opts)
        .observe("default", &default)
        .observe("with_tcp_maxseg", &set);
    let link_mss = 1500 - 40;
    ev.expect_eq(
        "SYN MSS without TCP_MAXSEG (MTU - 40)",
        Some(link_mss as u16),
        default.syn_mss,
    );
    ev.expect_eq(
        "largest segment without TCP_MAXSEG",
        link_mss - opts,
        default.client_max_payload,
    );
    ev.expect_eq(
        "SYN MSS with TCP_MAXSEG before connect",
        Some(MSS as u16),
        set.syn_mss,
    );
    ev.expect_eq(
        "largest segment the client sends",
        MSS as u32 - opts,
        set.client_max_payload,
    );
    ev.expect_eq(
        "largest segment the server sends (it obeys the SYN's MSS)",
        MSS as u32 - opts,
        set.server_max_payload,
    );
    ev.expect_eq(
        "getsockopt after connect: MSS in use",
        MSS - opts as i32,
        set.mss_in_use,
    );
    let after_result = set
        .mss_after
        .as_ref()
        .map(|a| a.1.clone())
        .unwrap_or_default();
    ev.expect_eq(
        "TCP_MAXSEG on the established connection",
        "ok".to_string(),
        after_result.clone(),
    );
    ev.expect_eq(
        "largest segments after that (client, server): unchanged",
        (MSS as u32 - opts, MSS as u32 - opts),
        (set.client_max_payload_after, set.server_max_payload_after),
    );

    let honoured = set.syn_mss == Some(MSS as u16) && set.client_max_payload == MSS as u32 - opts;
    let later_ignored = set.client_max_payload_after == set.client_max_payload;
    let verdict = match (honoured, later_ignored) {
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::Differs,
        (false, _) => Verdict::Refuted,
    };
    ev.verdict(
        verdict,
        format!(
            "MTU 1500: default SYN MSS {}, segments <= {} B; TCP_MAXSEG {MSS} before connect: SYN MSS {}, \
             segments <= {} B (client) / {} B (server), getsockopt {}; TCP_MAXSEG {MSS_AFTER} after the \
             handshake: {after_result}, segments then <= {} / {} B",
            mss_text(default.syn_mss),
            default.client_max_payload,
            mss_text(set.syn_mss),
            set.client_max_payload,
            set.server_max_payload,
            set.mss_in_use,
            set.client_max_payload_after,
            set.server_max_payload_after
        ),
    );
    ev.key(format!(
        "SYN MSS {} -> {}; max seg {} -> {} B; after connect {} B",
        mss_text(default.syn_mss),
        mss_text(set.syn_mss),
        default.client_max_payload,
        set.client_max_payload,
        set.client_max_payload_after
    ));
    ev.frames(cap.frames()?);
    Ok(ev)
}

/// The values setsockopt(TCP_MAXSEG) accepts in `from..=to`, as ranges.
fn accepted_ranges(from: i32, to: i32) -> Result<Vec<(i32, i32)>> {
    let s = Sock::tcp(crate::lab::Family::V4)?;
    let mut out: Vec<(i32, i32)> = Vec::new();
    for v in from..=to {
        if s.set_int(libc::IPPROTO_TCP, libc::TCP_MAXSEG, v).is_err() {
            continue;
        }
        match out.last_mut() {
            Some(r) if r.1 == v - 1 => r.1 = v,
            _ => out.push((v, v)),
        }
    }
    Ok(out)
}

fn too_large(lab: &mut Lab) -> Result<Evidence> {
    let link = Link::pair_v4(lab)?;
    wire_like(&link, SMALL_MTU)?;
    let opts = option_bytes()?;
    // What getsockopt says between setsockopt and connect: the value stored.
    let probe = Sock::tcp(crate::lab::Family::V4)?;
    let set_huge = probe.set_int(libc::IPPROTO_TCP, libc::TCP_MAXSEG, HUGE_MSS);
    let echoed = probe.get_int(libc::IPPROTO_TCP, libc::TCP_MAXSEG)?;
    let accepted = accepted_ranges(-2, 70_000)?;
    let smallest = accepted.iter().map(|r| r.0).find(|v| *v > 0);

    let mut cap = Capture::start("veth-a")?;
    let huge = transfer(&link, &mut cap, Some(HUGE_MSS), None, BYTES)?;
    let tiny = match smallest {
        Some(m) => Some(transfer(&link, &mut cap, Some(m), None, 8 * 1024)?),
        None => None,
    };

    let path_mss = SMALL_MTU - 40;
    let mut ev = Evidence::new();
    ev.observe("link_mtu", SMALL_MTU)
        .observe("tcp_option_bytes_per_segment", opts)
        .observe("setsockopt_9000", result_name(&set_huge))
        .observe("getsockopt_before_connect", echoed)
        .observe("accepted_ranges_in_-2..=70000", &accepted)
        .observe("with_9000", &huge)
        .observe("with_smallest", &tiny);
    ev.expect_eq(
        "setsockopt(TCP_MAXSEG, 9000)",
        "ok".to_string(),
        result_name(&set_huge),
    );
    ev.expect_eq(
        "SYN MSS (clamped to MTU - 40)",
        Some(path_mss as u16),
        huge.syn_mss,
    );
    ev.expect_eq(
        "largest segment (client, server)",
        (path_mss - opts, path_mss - opts),
        (huge.client_max_payload, huge.server_max_payload),
    );
    ev.expect_eq(
        "getsockopt after connect",
        (path_mss - opts) as i32,
        huge.mss_in_use,
    );
    ev.expect_eq(
        "accepted values in -2..=70000",
        vec![(0, 0), (88, 32767)],
        accepted.clone(),
    );
    let tiny_wire = tiny
        .as_ref()
        .map(|t| (t.syn_mss, t.client_max_payload, t.server_max_payload));
    ev.expect_eq(
        "smallest value on the wire (SYN MSS, client, server max segment)",
        Some((Some(88u16), 88 - opts, 88 - opts)),
        tiny_wire,
    );

    let smaller =
        huge.syn_mss.is_some_and(|m| (m as i32) < HUGE_MSS) && huge.client_max_payload <= path_mss;
    ev.verdict(
        Verdict::holds_if(smaller),
        format!(
            "TCP_MAXSEG {HUGE_MSS} ({}; getsockopt {echoed} before connect) on MTU {SMALL_MTU}: SYN MSS {}, \
             segments <= {} / {} B, getsockopt {} after connect; accepted values {accepted:?}; smallest {:?} \
             gives SYN MSS, segment sizes {:?}",
            result_name(&set_huge),
            mss_text(huge.syn_mss),
            huge.client_max_payload,
            huge.server_max_payload,
            huge.mss_in_use,
            smallest,
            tiny_wire
        ),
    );
    ev.key(format!(
        "{HUGE_MSS} -> SYN MSS {}, max seg {} B; accepted {accepted:?}",
        mss_text(huge.syn_mss),
        huge.client_max_payload
    ));
    ev.frames(cap.frames()?);
    Ok(ev)
}
