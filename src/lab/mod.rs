//! The sandbox: a fresh network namespace per case, extra hosts joined by veth
//! pairs or bridges, wire capture, and the kernel state cases look at.
//! Knows nothing about claims.

pub mod bridge;
pub mod caps;
pub mod capture;
pub mod dgram;
pub mod diag;
pub mod flow;
pub mod genl;
pub mod headers;
pub mod intake;
pub mod mcast;
pub mod msg;
pub mod nested;
pub mod netlink;
pub mod ns;
pub mod opt;
pub mod packet;
pub mod pcap;
pub mod procnet;
pub mod quiet;
pub mod readiness;
pub mod record;
pub mod router;
pub mod silent;
pub mod sock;
pub mod stall;
pub mod tcpinfo;
pub mod tcpopt;
pub mod timed;
pub mod topo;
pub mod unix;
pub mod wait;
pub mod wire;

pub use capture::Capture;
pub use ns::{Host, Lab, Privilege};
pub use sock::{Family, Sock, TcpPair};

/// Tells the runner what the case is doing now, so a watchdog kill can say what
/// the case was waiting for.
pub fn phase(what: &str) {
    eprintln!("{PHASE_PREFIX}{what}");
}

pub const PHASE_PREFIX: &str = "sockspec-phase: ";
