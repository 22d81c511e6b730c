//! Options that do next to nothing on Linux today (socket(7), man-pages
//! 6.20): SO_DEBUG, whose privilege rule is what can be observed, and
//! SO_BSDCOMPAT, which the kernel accepts and ignores.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{Context, Result};
use nix::poll::PollFlags;
use serde::{Deserialize, Serialize};

use crate::lab::caps::{self, CAP_NET_ADMIN};
use crate::lab::opt;
use crate::lab::packet::Packet;
use crate::lab::sock::result_name;
use crate::lab::{wait, Capture, Family, Lab, Privilege, Sock};
use crate::model::{Case, Judgement, Measure, Observation, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[&DEBUG, &BSDCOMPAT];

pub static DEBUG: Case = Case {
    id: "so_debug.cap_net_admin",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_DEBUG"),
    claim: "only a process holding CAP_NET_ADMIN, or running with effective user ID 0, may turn socket \
            debugging on",
    expectation: "turning it on needs CAP_NET_ADMIN in the initial user namespace: root may; root with \
                  CAP_NET_ADMIN lowered (effective user ID still 0) gets EACCES, and so does a user \
                  namespace's root, whose CAP_NET_ADMIN covers only its own namespaces; turning it off \
                  needs nothing",
    run: &Measure(cap_net_admin),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_DEBUG],
};

pub static BSDCOMPAT: Case = Case {
    id: "so_bsdcompat.ignored",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_BSDCOMPAT"),
    claim: "SO_BSDCOMPAT, which in Linux 2.0 and 2.2 kept ICMP errors away from UDP programs, has been phased \
            out: Linux 2.4 ignores it (2.6 with a kernel warning)",
    expectation: "setsockopt(SO_BSDCOMPAT, 1) succeeds, getsockopt reads 0 (nothing is stored), and a \
                  connected UDP socket with it set still gets ECONNREFUSED from the ICMP port unreachable its \
                  datagram drew",
    run: &Measure(ignored),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

// ---------------------------------------------------------------------------
// so_debug.cap_net_admin

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Debug {
    /// How the case's namespace was made: root or user_namespace.
    pub privilege: Privilege,
    /// The effective user ID (inside the user namespace, if any).
    pub euid: u32,
    /// setsockopt(SO_DEBUG, 1) with every capability the process has.
    pub with_caps: String,
    /// getsockopt(SO_DEBUG) afterwards.
    pub reads_back: i32,
    /// setsockopt(SO_DEBUG, 1) with CAP_NET_ADMIN lowered.
    pub without_cap: String,
    /// setsockopt(SO_DEBUG, 0) with CAP_NET_ADMIN lowered.
    pub off_without_cap: String,
}

fn cap_net_admin(lab: &mut Lab) -> Result<Debug> {
    let s = Sock::tcp(Family::V4)?;
    let with_caps = result_name(&s.set_int(libc::SOL_SOCKET, libc::SO_DEBUG, 1));
    let reads_back = s
        .get_int(libc::SOL_SOCKET, libc::SO_DEBUG)
        .context("getsockopt SO_DEBUG")?;
    let t = Sock::tcp(Family::V4)?;
    let (without_cap, off_without_cap) = caps::without(&[CAP_NET_ADMIN], || {
        (
            result_name(&t.set_int(libc::SOL_SOCKET, libc::SO_DEBUG, 1)),
            result_name(&t.set_int(libc::SOL_SOCKET, libc::SO_DEBUG, 0)),
        )
    })?;
    Ok(Debug {
        privilege: lab.privilege,
        euid: nix::unistd::geteuid().as_raw(),
        with_caps,
        reads_back,
        without_cap,
        off_without_cap,
    })
}

fn privilege_text(p: Privilege) -> &'static str {
    match p {
        Privilege::Root => "root",
        Privilege::UserNamespace => "a user namespace's root",
    }
}

impl Observation for Debug {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let root = self.privilege == Privilege::Root;
        j.expect_eq(
            &format!(
                "SO_DEBUG 1 as {}, and read back",
                privilege_text(self.privilege)
            ),
            &(if root { ("ok", 1) } else { ("EACCES", 0) }),
            &(self.with_caps.as_str(), self.reads_back),
        );
        j.expect_eq(
            &format!("SO_DEBUG 1 with CAP_NET_ADMIN lowered (euid {})", self.euid),
            "EACCES",
            &self.without_cap,
        );
        j.expect_eq(
            "SO_DEBUG 0 with CAP_NET_ADMIN lowered",
            "ok",
            &self.off_without_cap,
        );
        // The page's two ways in: CAP_NET_ADMIN (as root) and euid 0.
        let cap_works = !root || self.with_caps == "ok";
        let euid_zero_works = self.euid != 0 || self.without_cap == "ok";
        let verdict = match (cap_works, euid_zero_works) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "as {}: {} (reads {}); euid {} with CAP_NET_ADMIN lowered: {}; turning it off then: {}",
                privilege_text(self.privilege),
                self.with_caps,
                self.reads_back,
                self.euid,
                self.without_cap,
                self.off_without_cap
            ),
        );
        j.key(format!(
            "{}: {}; euid {} without CAP_NET_ADMIN: {}",
            privilege_text(self.privilege),
            self.with_caps,
            self.euid,
            self.without_cap
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_bsdcompat.ignored

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BsdCompat {
    pub set_result: String,
    pub reads_back: i32,
    /// The ICMP port unreachable came back (captured on lo).
    pub icmp: bool,
    /// recv() on the connected socket afterwards.
    pub recv_error: String,
}

fn ignored(_lab: &mut Lab) -> Result<BsdCompat> {
    let mut cap = Capture::start("lo")?;
    let s = Sock::udp(Family::V4)?;
    let set_result = result_name(&s.set_int(libc::SOL_SOCKET, libc::SO_BSDCOMPAT, 1));
    let reads_back = s
        .get_int(libc::SOL_SOCKET, libc::SO_BSDCOMPAT)
        .context("getsockopt SO_BSDCOMPAT")?;
    s.connect(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 9))
        .context("connect UDP")?;
    s.send(b"anyone?", 0).context("UDP send")?;
    let icmp = cap
        .wait_for(
            "the ICMP port unreachable",
            Duration::from_secs(2),
            |f| matches!(f.decode(), Packet::Icmp(m) if m.kind == 3 && m.code == 3),
        )
        .is_ok();
    // The error reaches the socket as the ICMP message is received: wait
    // for it to be reported (or not) before reading.
    wait::ready(
        s.as_raw_fd(),
        PollFlags::POLLERR,
        Duration::from_millis(500),
    )?;
    let mut buf = [0u8; 16];
    let recv_error = result_name(&s.recv(&mut buf, libc::MSG_DONTWAIT));
    Ok(BsdCompat {
        set_result,
        reads_back,
        icmp,
        recv_error,
    })
}

impl Observation for BsdCompat {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("setsockopt(SO_BSDCOMPAT, 1)", "ok", &self.set_result);
        j.expect_eq("getsockopt(SO_BSDCOMPAT) afterwards", &0, &self.reads_back);
        j.expect_eq("an ICMP port unreachable comes back", &true, &self.icmp);
        j.expect_eq("recv() reports it", "ECONNREFUSED", &self.recv_error);
        // BSD compatibility would have kept the ICMP error from the program.
        let ignored = self.recv_error == "ECONNREFUSED";
        j.verdict(
            Verdict::holds_if(ignored),
            format!(
                "setsockopt {}, reads back {}; with it set, the ICMP port unreachable (seen: {}) still made recv() \
                 fail with {}",
                self.set_result, self.reads_back, self.icmp, self.recv_error
            ),
        );
        j.key(format!(
            "set {}, reads {}; recv {}",
            self.set_result, self.reads_back, self.recv_error
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn failed(j: &Judgement) -> (Option<Verdict>, Vec<&str>) {
        (j.verdict, j.failed())
    }

    /// What Linux 6.18 did as root (a real run).
    fn debug_root() -> Debug {
        Debug {
            privilege: Privilege::Root,
            euid: 0,
            with_caps: "ok".into(),
            reads_back: 1,
            without_cap: "EACCES".into(),
            off_without_cap: "ok".into(),
        }
    }

    /// And as an ordinary user, through a user namespace.
    fn debug_userns() -> Debug {
        Debug {
            privilege: Privilege::UserNamespace,
            with_caps: "EACCES".into(),
            reads_back: 0,
            ..debug_root()
        }
    }

    const WITHOUT: &str = "SO_DEBUG 1 with CAP_NET_ADMIN lowered (euid 0)";

    #[rstest]
    #[case::root(debug_root(), Verdict::Differs, &[])]
    #[case::userns(debug_userns(), Verdict::Differs, &[])]
    // The page's world: an effective user ID of 0 is enough.
    #[case::euid_zero_enough(Debug { without_cap: "ok".into(), ..debug_root() }, Verdict::Holds, &[WITHOUT])]
    #[case::root_refused(Debug { with_caps: "EACCES".into(), reads_back: 0, ..debug_root() },
        Verdict::Refuted, &["SO_DEBUG 1 as root, and read back"])]
    #[case::not_stored(Debug { reads_back: 0, ..debug_root() }, Verdict::Differs,
        &["SO_DEBUG 1 as root, and read back"])]
    #[case::userns_allowed(Debug { with_caps: "ok".into(), reads_back: 1, ..debug_userns() },
        Verdict::Differs, &["SO_DEBUG 1 as a user namespace's root, and read back"])]
    // Another user (not euid 0) refused: no claim about euid 0 is tested.
    #[case::other_euid(Debug { euid: 1000, ..debug_root() }, Verdict::Holds, &[])]
    #[case::off_guarded(Debug { off_without_cap: "EACCES".into(), ..debug_root() }, Verdict::Differs,
        &["SO_DEBUG 0 with CAP_NET_ADMIN lowered"])]
    fn debug_judgement(#[case] o: Debug, #[case] verdict: Verdict, #[case] checks: &[&str]) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn debug_words() {
        let j = debug_userns().judge();
        assert_eq!(
            "a user namespace's root: EACCES; euid 0 without CAP_NET_ADMIN: EACCES",
            j.key
        );
        assert_eq!(
            "as a user namespace's root: EACCES (reads 0); euid 0 with CAP_NET_ADMIN lowered: EACCES; turning \
             it off then: ok",
            j.because
        );
        assert_eq!(
            "root: ok; euid 0 without CAP_NET_ADMIN: EACCES",
            debug_root().judge().key
        );
    }

    fn bsdcompat_linux() -> BsdCompat {
        BsdCompat {
            set_result: "ok".into(),
            reads_back: 0,
            icmp: true,
            recv_error: "ECONNREFUSED".into(),
        }
    }

    #[rstest]
    #[case::linux(bsdcompat_linux(), Verdict::Holds, &[])]
    // Linux 2.0/2.2: the ICMP error kept from the program.
    #[case::bsd_compatible(BsdCompat { reads_back: 1, recv_error: "EAGAIN".into(), ..bsdcompat_linux() },
        Verdict::Refuted, &["getsockopt(SO_BSDCOMPAT) afterwards", "recv() reports it"])]
    #[case::removed(BsdCompat { set_result: "ENOPROTOOPT".into(), ..bsdcompat_linux() }, Verdict::Holds,
        &["setsockopt(SO_BSDCOMPAT, 1)"])]
    #[case::no_icmp(BsdCompat { icmp: false, ..bsdcompat_linux() }, Verdict::Holds,
        &["an ICMP port unreachable comes back"])]
    fn bsdcompat_judgement(
        #[case] o: BsdCompat,
        #[case] verdict: Verdict,
        #[case] checks: &[&str],
    ) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn bsdcompat_words() {
        let j = bsdcompat_linux().judge();
        assert_eq!("set ok, reads 0; recv ECONNREFUSED", j.key);
        assert_eq!(
            "setsockopt ok, reads back 0; with it set, the ICMP port unreachable (seen: true) still made recv() \
             fail with ECONNREFUSED",
            j.because
        );
    }
}
