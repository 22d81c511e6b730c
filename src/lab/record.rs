//! What a case leaves as evidence besides its typed observation: every frame
//! its captures saw, the address families its sockets used, the moments its
//! syscalls happened, the bytes its namespaces sent. Collected here as the case
//! runs, so a case cannot forget to hand them over; the runner takes them when
//! the case returns.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use super::packet::{Frame, Packet};
use crate::model::{Endpoint, Mark};

#[derive(Debug, Default)]
pub struct Record {
    pub frames: Vec<Frame>,
    /// Families of the sockets the case created (AF_INET, AF_INET6).
    pub socket_families: BTreeSet<&'static str>,
    pub marks: Vec<Mark>,
    pub wire_bytes: u64,
    /// The namespaces the case used besides its own: hosts it created, or
    /// named ones it adopted (scripts/netns.sh).
    pub hosts: Vec<String>,
    /// Names for addresses on the packet ladder.
    pub endpoints: Vec<Endpoint>,
}

impl Record {
    /// "ipv4"/"ipv6": what the sockets were and what the captured packets carried.
    pub fn families(&self) -> Vec<String> {
        let mut all: BTreeSet<&str> = self.socket_families.clone();
        for f in &self.frames {
            match f.decode() {
                Packet::Tcp(s) => {
                    all.insert(if s.src.is_ipv4() { "ipv4" } else { "ipv6" });
                }
                Packet::Udp(u) => {
                    all.insert(if u.src.is_ipv4() { "ipv4" } else { "ipv6" });
                }
                _ => {}
            }
        }
        all.into_iter().map(str::to_string).collect()
    }
}

static RECORD: Mutex<Record> = Mutex::new(Record {
    frames: Vec::new(),
    socket_families: BTreeSet::new(),
    marks: Vec::new(),
    wire_bytes: 0,
    hosts: Vec::new(),
    endpoints: Vec::new(),
});

fn with<T>(f: impl FnOnce(&mut Record) -> T) -> T {
    let mut r = RECORD.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut r)
}

/// Frames a capture saw (called when a capture ends).
pub fn frames(mut frames: Vec<Frame>) {
    with(|r| r.frames.append(&mut frames));
}

pub fn socket_family(family: &'static str) {
    with(|r| {
        r.socket_families.insert(family);
    });
}

/// Marks a moment on the time line: `mark("close() called")`.
pub fn mark(what: impl Into<String>) {
    let m = Mark {
        t_ns: super::capture::wall_ns(),
        what: what.into(),
    };
    with(|r| r.marks.push(m));
}

/// Names one socket's address on the packet ladder, where it would
/// otherwise be labelled by its role in the handshake (client, server) or by
/// its host: `endpoint(closer.local_addr()?, "closer")`.
pub fn endpoint(addr: SocketAddr, name: &str) {
    with(|r| {
        r.endpoints.push(Endpoint {
            address: addr.to_string(),
            name: name.to_string(),
        })
    });
}

/// Names every address at `ip` that no `endpoint` names: the host an address
/// belongs to ("h2"), for traffic that has no handshake to infer roles from.
pub fn address(ip: IpAddr, name: &str) {
    with(|r| {
        r.endpoints.push(Endpoint {
            address: ip.to_string(),
            name: name.to_string(),
        })
    });
}

pub fn host(name: &str) {
    with(|r| r.hosts.push(name.to_string()));
}

pub fn wire_bytes(n: u64) {
    with(|r| r.wire_bytes += n);
}

/// Everything recorded so far, leaving the record empty.
pub fn take() -> Record {
    with(std::mem::take)
}
