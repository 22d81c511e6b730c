//! How full a socket buffer gets before the kernel refuses more: a UDP socket
//! nobody reads takes datagrams until the first drop, a TCP sender whose
//! peer's window is closed queues until EAGAIN. Measured in the memory the
//! kernel charges (SO_MEMINFO), which is what SO_RCVBUF / SO_SNDBUF limit.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::flow::{meminfo, MemInfo};
use super::stall::stalled_pair;
use super::{phase, wait, Family, Sock};
use crate::model::Show;

/// How full a buffer got before the kernel refused more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intake {
    /// Memory charged to the buffer when the kernel refused more: SO_MEMINFO's
    /// rmem_alloc for a receiver (at its first drop), wmem_queued for a sender
    /// (at EAGAIN, its peer's window closed).
    pub charged: u32,
    /// The most one datagram or segment adds past the limit: the truesize of
    /// one datagram (measured), or for TCP one 64 KiB segment with overhead.
    pub step: u32,
    /// Datagrams taken in (receiver) or payload bytes queued (sender).
    pub units: u32,
}

impl Intake {
    /// Whether the buffer filled up to `limit`: the kernel refused more once
    /// the charge was within one step of it.
    pub fn filled_to(&self, limit: i64) -> bool {
        let (charged, step) = (self.charged as i64, self.step as i64);
        charged > limit - step && charged <= limit + step
    }
}

impl Show for Intake {
    fn show(&self) -> String {
        format!("{} B charged (step {} B)", self.charged, self.step)
    }
}

/// Payload of the datagrams a receiver is filled with: small ones for small
/// buffers, large ones (fewer sends) for large buffers.
fn datagram_for(limit: u32) -> usize {
    if limit < 1 << 20 {
        1000
    } else {
        60_000
    }
}

/// Sends `payload` from `tx` to `rx` (a UDP socket on this host) and waits
/// until the kernel has queued it (rmem_alloc grew: returns what rmem_alloc
/// grew to) or dropped it (the socket's drop counter grew: returns None).
pub fn send_datagram(tx: &Sock, rx: &Sock, payload: &[u8]) -> Result<Option<u32>> {
    let before = meminfo(rx)?;
    tx.send_to(payload, 0, rx.local_addr()?).context("sendto")?;
    wait::until(
        "the datagram queued or dropped at the receiver",
        Duration::from_secs(2),
        || {
            let m = meminfo(rx)?;
            Ok(if m.drops > before.drops {
                Some(None)
            } else if m.rmem_alloc > before.rmem_alloc {
                Some(Some(m.rmem_alloc))
            } else {
                None
            })
        },
    )
}

/// Fills the UDP socket `rx` (bound, nobody reading) one datagram at a time
/// until the kernel drops one.
pub fn udp_intake(rx: &Sock) -> Result<Intake> {
    let limit = meminfo(rx)?.rcvbuf;
    let payload = vec![0x5au8; datagram_for(limit)];
    let tx = Sock::udp(Family::V4)?;
    let most = limit as usize / payload.len() * 4 + 64;
    let (mut charged, mut step) = (0, 0);
    phase("sending datagrams into a receive buffer nobody reads");
    for taken in 0..most {
        let before = meminfo(rx)?.rmem_alloc;
        match send_datagram(&tx, rx, &payload)? {
            Some(now) => {
                step = step.max(now - before);
                charged = now;
            }
            None => {
                return Ok(Intake {
                    charged,
                    step,
                    units: taken as u32,
                })
            }
        }
    }
    bail!("{most} datagrams into a {limit}-byte receive buffer, and none was dropped")
}

/// The most one TCP skb on lo adds to a sender's queue past its limit: the
/// kernel checks the limit before it starts a new skb, then appends to it up
/// to 64 KiB (GSO) of payload, plus the skb's overhead.
pub const TCP_STEP: u32 = 65536 + 4096;

/// A UDP socket with `set` applied, bound on loopback.
pub fn udp_receiver(set: impl FnOnce(&Sock) -> Result<()>) -> Result<Sock> {
    let rx = Sock::udp(Family::V4)?;
    set(&rx)?;
    rx.bind(SocketAddr::new(Family::V4.loopback(), 0))
        .context("bind the UDP receiver")?;
    Ok(rx)
}

/// A TCP sender prepared by `prep` whose peer's window is closed and whose
/// own queue is full: what it charged, and its SO_MEMINFO.
pub fn tcp_sender_intake(
    prep: impl FnOnce(&Sock) -> Result<()>,
) -> Result<(Sock, Intake, MemInfo)> {
    let st = stalled_pair(Family::V4, 4096, prep)?;
    let m = meminfo(&st.client)?;
    let queued = st.client.queued(libc::TIOCOUTQ)? as u32;
    Ok((
        st.client,
        Intake {
            charged: m.wmem_queued,
            step: TCP_STEP,
            units: queued,
        },
        m,
    ))
}
