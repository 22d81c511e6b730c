//! Watching a connection that has gone quiet: when it last heard from its
//! peer, the keep-alive probes it sends afterwards, and the error that ends
//! it.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::Result;
use nix::poll::PollFlags;

use super::capture::wall_ns;
use super::packet::Segment;
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

/// Keep-alive probes: what `port` sends without data once the connection
/// has gone quiet (its last segment either way at `quiet`, wall clock ns),
/// waiting until `until` or until `want` have come; their times, ms after
/// `since` (the last segment received, from which keep-alive counts). RSTs
/// and FINs are not probes.
pub fn probes(
    cap: &mut Capture,
    port: u16,
    (since, quiet): (i64, i64),
    until: Instant,
    want: usize,
) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    let mut from = 0;
    while out.len() < want {
        let left = until.saturating_duration_since(Instant::now());
        let next = cap.find_from(from, left, |f| {
            f.t_ns > quiet
                && f.segment().is_some_and(|s| {
                    s.sport == port && s.payload == 0 && !s.flags.rst && !s.flags.fin
                })
        })?;
        match next {
            Some((i, f)) => {
                out.push((f.t_ns - since) as f64 / 1e6);
                from = i + 1;
            }
            None => break,
        }
    }
    Ok(out)
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
