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

/// Keeps the calling thread on the CPU it runs on from now on, so the
/// frames it sends keep their order at every hop (see lab::mcast's doc). A
/// case process runs one case, so the pin is never undone.
pub fn pin_thread() -> anyhow::Result<()> {
    use anyhow::Context;
    let cpu = nix::sched::sched_getcpu().context("sched_getcpu")?;
    let mut one = nix::sched::CpuSet::new();
    one.set(cpu).context("a CPU set of the current CPU")?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &one)
        .with_context(|| format!("keep the case's thread on CPU {cpu}"))
}

/// Whether `release` (`uname -r`: "5.10.0-46-cloud-amd64") is at least
/// `major.minor`. A release that does not parse counts as new enough.
pub fn release_at_least(release: &str, major: u32, minor: u32) -> bool {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => true,
    }
}

/// The skip for a facility that arrived in Linux `major.minor`, on a kernel
/// before it: where the kernel offers no way to ask for the facility itself.
pub fn needs_kernel(facility: &str, major: u32, minor: u32) -> Result<(), crate::model::Skip> {
    let release = crate::report::kernel_release();
    if release_at_least(&release, major, minor) {
        Ok(())
    } else {
        Err(crate::model::Skip::missing(
            facility,
            format!("it arrived in Linux {major}.{minor}; this kernel is {release}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::release_at_least;

    #[test]
    fn releases_compare_by_major_and_minor() {
        assert!(!release_at_least("5.10.0-46-cloud-amd64", 5, 13));
        assert!(release_at_least("5.13.0", 5, 13));
        assert!(release_at_least("6.1.0-56-cloud-amd64", 5, 13));
        assert!(release_at_least("7.2.13+deb14-cloud-amd64", 5, 13));
        assert!(!release_at_least("4.19.0", 5, 13));
        assert!(release_at_least("not a release", 5, 13));
    }
}
