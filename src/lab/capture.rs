//! Wire capture with an AF_PACKET socket inside the case's namespace.
//!
//! Frames queue in the socket's receive buffer, so a case can do its work and
//! read the capture afterwards, or wait on the capture for a given packet.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::packet::{Frame, Segment, SNAPLEN};

const PACKET_OUTGOING: u8 = 4;
const ARPHRD_LOOPBACK: u16 = 772;

pub struct Capture {
    fd: OwnedFd,
    iface: String,
    /// On loopback every frame is seen twice (out, then in): keep one copy.
    outgoing_only: bool,
    frames: Vec<Frame>,
    drops: u32,
}

impl Capture {
    /// Starts capturing on `iface` in the calling thread's namespace.
    pub fn start(iface: &str) -> Result<Capture> {
        let index = super::netlink::ifindex(iface)?;
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                proto as i32,
            )
        };
        if raw < 0 {
            return Err(std::io::Error::last_os_error()).context("socket(AF_PACKET, SOCK_RAW)");
        }
        // SAFETY: raw is a fresh, owned descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = index;
        // SAFETY: sll is a valid sockaddr_ll of the size given.
        let rc = unsafe {
            libc::bind(
                raw,
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("bind AF_PACKET to {iface}"));
        }
        set_int(raw, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)
            .context("SO_TIMESTAMPNS on capture")?;
        // Frames wait here until read, and the buffer is charged for whole
        // packets: ask for a lot. SO_RCVBUFFORCE passes rmem_max (real root
        // only); otherwise SO_RCVBUF gets what rmem_max allows. Frames lost
        // anyway are detected in `drain`.
        let big = 64 << 20;
        if set_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, big).is_err() {
            set_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, big).context("SO_RCVBUF on capture")?;
        }
        let hatype = std::fs::read_to_string(format!("/sys/class/net/{iface}/type"))
            .ok()
            .and_then(|s| s.trim().parse::<u16>().ok());
        let outgoing_only = hatype == Some(ARPHRD_LOOPBACK) || iface == "lo";
        Ok(Capture {
            fd,
            iface: iface.to_string(),
            outgoing_only,
            frames: Vec::new(),
            drops: 0,
        })
    }

    /// Reads every frame queued so far.
    /// Reads every frame queued so far. Fails if the kernel dropped frames
    /// (the buffer was full): the capture would silently miss packets.
    pub fn drain(&mut self) -> Result<&[Frame]> {
        while let Some(frame) = self.read_one()? {
            self.frames.push(frame);
        }
        let lost = self.dropped()?;
        if lost > 0 {
            bail!(
                "the capture on {} lost {lost} frames (its buffer was full): the wire evidence would be incomplete",
                self.iface
            );
        }
        Ok(&self.frames)
    }

    fn read_one(&mut self) -> Result<Option<Frame>> {
        loop {
            let mut buf = [0u8; SNAPLEN];
            let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut cmsg = [0u64; 16];
            let mut iov = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
            msg.msg_name = (&mut addr as *mut libc::sockaddr_ll).cast();
            msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = cmsg.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&cmsg);
            // SAFETY: msg points at live buffers of the sizes it declares.
            let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_TRUNC) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::WouldBlock {
                    return Ok(None);
                }
                return Err(e).context("recvmsg on capture");
            }
            if self.outgoing_only && addr.sll_pkttype != PACKET_OUTGOING {
                continue;
            }
            let len = n as usize;
            return Ok(Some(Frame {
                t_ns: timestamp(&msg).unwrap_or_else(now_ns),
                len: len as u32,
                iface: self.iface.clone(),
                data: buf[..len.min(SNAPLEN)].to_vec(),
            }));
        }
    }

    /// Waits until a captured frame satisfies `pred`, at most `timeout`.
    /// `what` names the condition in the error if it never comes.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Frame) -> bool,
    ) -> Result<Frame> {
        let deadline = Instant::now() + timeout;
        let mut seen = 0;
        loop {
            self.drain()?;
            if let Some(f) = self.frames[seen..].iter().find(|f| pred(f)) {
                return Ok(f.clone());
            }
            seen = self.frames.len();
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!(
                    "waited {timeout:?} on {} for {what}: never captured",
                    self.iface
                );
            }
            super::wait::readable(self.fd.as_raw_fd(), left)?;
        }
    }

    /// The first frame at index `from` or later (in capture order) that
    /// satisfies `pred`, with its index, waiting for it at most `timeout`.
    /// None when none came in time: for a case, a frame that never came is
    /// an observation, not an error.
    pub fn find_from(
        &mut self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&Frame) -> bool,
    ) -> Result<Option<(usize, Frame)>> {
        let deadline = Instant::now() + timeout;
        let mut seen = from;
        loop {
            let frames = self.drain()?;
            if let Some(i) = frames
                .get(seen..)
                .and_then(|rest| rest.iter().position(&pred))
            {
                return Ok(Some((seen + i, frames[seen + i].clone())));
            }
            seen = frames.len().max(from);
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            super::wait::readable(self.fd.as_raw_fd(), left)?;
        }
    }

    /// How many frames have been captured so far (after a drain).
    pub fn count(&mut self) -> Result<usize> {
        Ok(self.drain()?.len())
    }

    /// Blocks until more than `seen` frames have been captured, at most
    /// `timeout`; returns the new count (`seen` itself when none came). For a
    /// condition over the whole history (a keep-alive probe is told from other
    /// ACKs by what came before it): look, then wait for something new.
    pub fn wait_beyond(&mut self, seen: usize, timeout: Duration) -> Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            let n = self.count()?;
            let left = deadline.saturating_duration_since(Instant::now());
            if n > seen || left.is_zero() {
                return Ok(n);
            }
            super::wait::readable(self.fd.as_raw_fd(), left)?;
        }
    }

    /// Waits for a TCP segment satisfying `pred`.
    pub fn wait_segment(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Segment) -> bool,
    ) -> Result<Segment> {
        let f = self.wait_for(what, timeout, |f| f.segment().is_some_and(|s| pred(&s)))?;
        Ok(f.segment().expect("matched a segment"))
    }

    /// Everything captured so far (after a final drain).
    pub fn frames(&mut self) -> Result<Vec<Frame>> {
        self.drain()?;
        Ok(self.frames.clone())
    }

    /// Frames the kernel dropped because the capture's buffer was full
    /// (PACKET_STATISTICS; reading it resets the counter, so it is added up).
    pub fn dropped(&mut self) -> Result<u32> {
        let mut st = [0u32; 2];
        let mut len = std::mem::size_of_val(&st) as libc::socklen_t;
        // SAFETY: tpacket_stats is two u32s; the buffer has that size.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                st.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error()).context("PACKET_STATISTICS");
        }
        self.drops += st[1];
        Ok(self.drops)
    }

    /// TCP segments captured so far.
    pub fn segments(&mut self) -> Result<Vec<Segment>> {
        Ok(self.frames()?.iter().filter_map(Frame::segment).collect())
    }
}

impl Drop for Capture {
    /// What the capture saw becomes part of the case's record (explain, pcap).
    fn drop(&mut self) {
        while let Ok(Some(frame)) = self.read_one() {
            self.frames.push(frame);
        }
        super::record::frames(std::mem::take(&mut self.frames));
    }
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn timestamp(msg: &libc::msghdr) -> Option<i64> {
    // SAFETY: walking the control buffer the kernel just filled, with libc's macros.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SO_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                return Some(ts.tv_sec * 1_000_000_000 + ts.tv_nsec);
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
}

pub(crate) fn set_int(fd: i32, level: i32, opt: i32, val: i32) -> std::io::Result<()> {
    // SAFETY: val lives for the call; its size is given.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            (&val as *const i32).cast(),
            std::mem::size_of::<i32>() as u32,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Current time in the same clock as frame timestamps.
pub fn wall_ns() -> i64 {
    now_ns()
}
