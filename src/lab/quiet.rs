//! Watching a connection that has gone quiet: when it last heard from its
//! peer, the keep-alive probes it sends afterwards, and the error that ends
//! it.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::Result;
use nix::poll::PollFlags;

use super::capture::wall_ns;
use super::packet::{Frame, Segment};
use super::sock::errno_name;
use super::{record, wait, Capture, Sock};

/// The last segment `port` received, and the last one it sent or received,
/// as captured (wall clock, ns; now when none was captured).
pub fn last_segments(cap: &mut Capture, port: u16) -> Result<(i64, i64)> {
    let frames = cap.drain()?;
    let last = |pred: &dyn Fn(&Segment) -> bool| {
        frames
            .iter()
            .rev()
            .find(|f| f.segment().is_some_and(|s| pred(&s)))
            .map_or_else(wall_ns, |f| f.t_ns)
    };
    Ok((
        last(&|s| s.dport == port),
        last(&|s| s.dport == port || s.sport == port),
    ))
}

/// Tells the keep-alive probes `port` sends from its other segments, fed
/// in capture order: a probe is a bare ACK (at most one byte of data) whose
/// sequence number is one below the highest that side had used (Linux sends
/// snd.una - 1, so that the peer must answer). Other bare segments are not
/// probes: a loaded machine can delay a handshake past the SYN-ACK's
/// retransmission, and the client answers the second SYN-ACK with an ACK at
/// snd.nxt, after the connection went quiet.
pub struct ProbeFilter {
    port: u16,
    next: Option<u32>,
}

impl ProbeFilter {
    pub fn new(port: u16) -> ProbeFilter {
        ProbeFilter { port, next: None }
    }

    /// Whether `s`, the next segment captured, is a probe from the port.
    pub fn is_probe(&mut self, s: &Segment) -> bool {
        if s.sport != self.port {
            return false;
        }
        let bare = s.flags.ack && !s.flags.syn && !s.flags.fin && !s.flags.rst && s.payload <= 1;
        if bare && self.next.is_some_and(|n| s.seq == n.wrapping_sub(1)) {
            return true;
        }
        let end = s
            .seq
            .wrapping_add(s.payload + s.flags.syn as u32 + s.flags.fin as u32);
        self.next = Some(self.next.map_or(end, |n| {
            if end.wrapping_sub(n) as i32 > 0 {
                end
            } else {
                n
            }
        }));
        false
    }
}

/// The keep-alive probes among `segs` (in capture order) sent from `port`.
pub fn keepalive_probes(segs: &[Segment], port: u16) -> Vec<Segment> {
    let mut filter = ProbeFilter::new(port);
    segs.iter()
        .filter(|s| filter.is_probe(s))
        .cloned()
        .collect()
}

/// Keep-alive probes (`ProbeFilter`) that `port` sends once the connection
/// has gone quiet (its last segment either way at `quiet`, wall clock ns),
/// waiting until `until` or until `want` have come; their times, ms after
/// `since` (the last segment received, from which keep-alive counts).
pub fn probes(
    cap: &mut Capture,
    port: u16,
    (since, quiet): (i64, i64),
    until: Instant,
    want: usize,
) -> Result<Vec<f64>> {
    let mut filter = ProbeFilter::new(port);
    let mut out = Vec::new();
    let mut seen = 0;
    loop {
        let frames = cap.drain()?;
        for f in &frames[seen..] {
            if out.len() < want
                && f.segment().is_some_and(|s| filter.is_probe(&s))
                && f.t_ns > quiet
            {
                out.push((f.t_ns - since) as f64 / 1e6);
            }
        }
        seen = frames.len();
        let left = until.saturating_duration_since(Instant::now());
        if out.len() >= want || left.is_zero() {
            return Ok(out);
        }
        let from_port = |f: &Frame| f.segment().is_some_and(|s| s.sport == port);
        if cap.find_from(seen, left, from_port)?.is_none() {
            return Ok(out);
        }
    }
}

/// Waits up to `timeout` for `s` to report an error; returns the wall time
/// it came and its errno name (SO_ERROR), none when none came.
pub fn wait_error(s: &Sock, timeout: Duration) -> Result<Option<(i64, String)>> {
    let events = PollFlags::POLLIN | PollFlags::POLLERR | PollFlags::POLLHUP;
    if !wait::ready(s.as_raw_fd(), events, timeout)? {
        return Ok(None);
    }
    let at = wall_ns();
    let err = s.get_int(libc::SOL_SOCKET, libc::SO_ERROR)?;
    record::mark(format!("socket error {err}"));
    let name = if err == 0 {
        "none".to_string()
    } else {
        errno_name(&std::io::Error::from_raw_os_error(err))
    };
    Ok(Some((at, name)))
}
