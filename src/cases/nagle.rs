//! TCP_NODELAY and Nagle's algorithm (004 §5.2).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::lab::capture::wall_ns;
use crate::lab::{procnet, wait, Capture, Family, Lab, TcpPair};
use crate::model::{Case, Evidence, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[&COALESCE];

pub static COALESCE: Case = Case {
    id: "nagle.coalesce",
    source: Source::LectureNotes("5.2 TCP_NODELAY"),
    claim: "with Nagle on, small writes made before the ACK comes back are sent together; TCP_NODELAY \
            turns that off",
    expectation: "Nagle on: the first small write leaves at once and the next ones wait for its ACK, then \
                  leave as one segment; TCP_NODELAY on: one segment per write (net.ipv4.tcp_autocorking=0; \
                  with autocorking on, the kernel may also merge writes while earlier data is still queued)",
    run: |lab| coalesce(lab, Family::V4),
    deadline: DEFAULT_DEADLINE,
};

/// Number of one-byte writes per trial.
const WRITES: usize = 5;
/// Trials whose writes did not all happen before the first ACK (a preempted
/// writer) prove nothing and are repeated, at most this many times.
const ATTEMPTS: usize = 5;

#[derive(Clone, Debug, Serialize)]
pub struct Trial {
    pub nodelay: bool,
    pub autocorking: bool,
    /// Data-bearing segments the writer sent, with their payload sizes.
    pub segments: Vec<u32>,
    pub attempts: usize,
}

/// One connection: the receiver delays its ACKs (TCP_QUICKACK off), the writer
/// makes `WRITES` one-byte writes back to back. Returns the payload sizes of the
/// writer's data segments, or None when the first ACK beat the last write.
fn one_trial(family: Family, nodelay: bool) -> Result<Option<Vec<u32>>> {
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::loopback(family)?;
    pair.client
        .set_int(libc::IPPROTO_TCP, libc::TCP_NODELAY, nodelay as i32)
        .context("TCP_NODELAY")?;
    // Delayed-ACK ("pingpong") mode on the receiver: its ACK waits for the
    // delayed-ACK timer (>= 40 ms) instead of going out at once.
    pair.server
        .set_int(libc::IPPROTO_TCP, libc::TCP_QUICKACK, 0)
        .context("TCP_QUICKACK 0")?;
    let port = pair.client.local_addr()?.port();
    for _ in 0..WRITES {
        pair.client.send(b"x", 0).context("one-byte write")?;
    }
    let last_write = wall_ns();
    let mut got = 0;
    let mut buf = [0u8; WRITES];
    while got < WRITES {
        got += pair
            .server
            .recv(&mut buf[got..], 0)
            .context("receiver read")?;
    }
    // Everything acknowledged (nothing unacked in the writer's queue) means the
    // capture holds the whole exchange.
    wait::until(
        "the writer's data to be acknowledged",
        Duration::from_secs(2),
        || Ok((pair.client.queued(libc::TIOCOUTQ)? == 0).then_some(())),
    )?;
    let frames = cap.frames()?;
    let data: Vec<(i64, u32)> = frames
        .iter()
        .filter_map(|f| {
            f.segment()
                .filter(|s| s.sport == port && s.payload > 0)
                .map(|s| (f.t_ns, s.payload))
        })
        .collect();
    let first_data_ns = data.first().map(|d| d.0).unwrap_or(0);
    let first_ack_ns = frames
        .iter()
        .filter_map(|f| {
            f.segment()
                .filter(|s| s.dport == port && !s.flags.syn)
                .map(|_| f.t_ns)
        })
        .find(|t| *t > first_data_ns);
    // Valid only if every write was made while the first byte was unacknowledged.
    let valid = first_ack_ns.map_or(true, |ack| ack > last_write);
    Ok(valid.then(|| data.iter().map(|d| d.1).collect()))
}

fn trial(family: Family, nodelay: bool, autocorking: bool) -> Result<Trial> {
    procnet::set_sysctl(
        "net/ipv4/tcp_autocorking",
        if autocorking { "1" } else { "0" },
    )?;
    for attempt in 1..=ATTEMPTS {
        if let Some(segments) = one_trial(family, nodelay)? {
            return Ok(Trial {
                nodelay,
                autocorking,
                segments,
                attempts: attempt,
            });
        }
    }
    bail!("in {ATTEMPTS} attempts the receiver's ACK always came before the writes were done")
}

fn coalesce(_lab: &mut Lab, family: Family) -> Result<Evidence> {
    let default_autocorking = procnet::sysctl_int("net/ipv4/tcp_autocorking")?;
    let mut trials = Vec::new();
    for autocorking in [false, true] {
        for nodelay in [false, true] {
            trials.push(trial(family, nodelay, autocorking)?);
        }
    }
    let segs = |nodelay: bool, autocorking: bool| {
        trials
            .iter()
            .find(|t| t.nodelay == nodelay && t.autocorking == autocorking)
            .map(|t| t.segments.clone())
            .unwrap_or_default()
    };
    let nagle = segs(false, false);
    let nodelay = segs(true, false);
    let nagle_ac = segs(false, true);
    let nodelay_ac = segs(true, true);

    let mut ev = Evidence::new();
    ev.observe("writes", WRITES)
        .observe("tcp_autocorking_default", default_autocorking)
        .observe("trials", &trials);
    let coalesced = vec![1, (WRITES - 1) as u32];
    ev.expect_eq(
        "Nagle on, autocorking 0: first byte, then the rest in one segment",
        coalesced.clone(),
        nagle.clone(),
    );
    ev.expect_eq(
        "TCP_NODELAY, autocorking 0: one segment per write",
        vec![1u32; WRITES],
        nodelay.clone(),
    );
    ev.expect_eq(
        "Nagle on, autocorking 1: first byte, then the rest in one segment",
        coalesced.clone(),
        nagle_ac.clone(),
    );
    ev.expect(
        "TCP_NODELAY, autocorking 1: every byte sent, never fewer segments than Nagle",
        nodelay_ac.iter().sum::<u32>() == WRITES as u32 && nodelay_ac.len() >= 2,
        format!("{WRITES} bytes in 2..={WRITES} segments"),
        format!("{nodelay_ac:?}"),
    );
    let verdict = if nagle == coalesced && nodelay.len() == WRITES {
        Verdict::Holds
    } else {
        Verdict::Refuted
    };
    ev.verdict(verdict, format!(
        "{WRITES} one-byte writes before the ACK: Nagle on -> segments {nagle:?}, TCP_NODELAY -> {nodelay:?} \
         (tcp_autocorking=0); with tcp_autocorking=1: {nagle_ac:?} and {nodelay_ac:?}"));
    ev.key(format!(
        "Nagle {} segs, NODELAY {} segs (autocork 0); {} / {} (autocork 1)",
        nagle.len(),
        nodelay.len(),
        nagle_ac.len(),
        nodelay_ac.len()
    ));
    Ok(ev)
}
