//! Datagrams that may land on any of several sockets (the members of a
//! SO_REUSEPORT group, sockets a program steers between): read them all,
//! blocking on the sockets themselves, and say which socket got which.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::sock::Sock;

/// Reads from `socks` until `want` datagrams have come in all, or `timeout`
/// passes (then returns what came). Returns, per socket and in arrival
/// order, the payloads it received (each cut to 64 KB).
pub fn collect(socks: &[&Sock], want: usize, timeout: Duration) -> Result<Vec<Vec<Vec<u8>>>> {
    let mut got: Vec<Vec<Vec<u8>>> = vec![Vec::new(); socks.len()];
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 65536];
    loop {
        for (i, s) in socks.iter().enumerate() {
            loop {
                match s.recv(&mut buf, libc::MSG_DONTWAIT) {
                    Ok(n) => got[i].push(buf[..n].to_vec()),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e).with_context(|| format!("recv on socket {i}")),
                }
            }
        }
        let total: usize = got.iter().map(Vec::len).sum();
        let left = deadline.saturating_duration_since(Instant::now());
        if total >= want || left.is_zero() {
            return Ok(got);
        }
        let mut fds: Vec<PollFd> = socks
            .iter()
            // SAFETY: the sockets outlive the poll call.
            .map(|s| {
                PollFd::new(
                    unsafe { BorrowedFd::borrow_raw(s.as_raw_fd()) },
                    PollFlags::POLLIN,
                )
            })
            .collect();
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        match poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e).context("poll the receiving sockets"),
        }
    }
}
