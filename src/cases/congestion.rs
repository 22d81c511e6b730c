//! tcp(7) on TCP_CONGESTION: choosing a socket's congestion-control
//! algorithm, and who may choose which. The algorithm a connection really
//! uses is read from sock_diag (INET_DIAG_CONG), not from getsockopt. Only
//! algorithms the kernel already lists as available are ever asked for, and
//! an unknown name only without CAP_NET_ADMIN: with it, the kernel would
//! try to load a module of that name on the host.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::caps::{without, CAP_NET_ADMIN};
use crate::lab::diag::tcp_detail;
use crate::lab::sock::{peer_addr, result_name};
use crate::lab::{opt, procnet, Family, Lab, Privilege, Sock, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Skip, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&PER_SOCKET, &UNPRIVILEGED];

pub static PER_SOCKET: Case = Case {
    id: "tcp_congestion.per_socket",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_CONGESTION"),
    claim: "TCP_CONGESTION takes the name of a congestion-control algorithm and sets it for that socket alone",
    expectation: "setting an available algorithm other than the namespace's default (net.ipv4.\
                  tcp_congestion_control) makes sock_diag report it for that connection, while another \
                  connection keeps the default; a name that is not available is refused with ENOENT",
    run: &Measure(per_socket),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_CONGESTION],
};

pub static UNPRIVILEGED: Case = Case {
    id: "tcp_congestion.unprivileged_allowed",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_CONGESTION"),
    claim: "without CAP_NET_ADMIN a process may only choose an algorithm listed in \
            tcp_allowed_congestion_control; with it, any available algorithm",
    expectation: "an available algorithm missing from net.ipv4.tcp_allowed_congestion_control is refused with \
                  EPERM to a thread without CAP_NET_ADMIN, which may still choose an allowed one; with \
                  CAP_NET_ADMIN it is taken and sock_diag reports it; in a user namespace, CAP_NET_ADMIN over \
                  the network namespace is enough",
    run: &Measure(unprivileged),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_CONGESTION],
};

/// A name no kernel registers (TCP_CA_NAME_MAX is 16 with the NUL).
const UNKNOWN: &str = "sockspec-none";

fn list(sysctl: &str) -> Result<Vec<String>> {
    Ok(procnet::sysctl(sysctl)?
        .split_whitespace()
        .map(str::to_string)
        .collect())
}

fn set_cc(s: &Sock, name: &str) -> std::io::Result<()> {
    s.set_raw(libc::IPPROTO_TCP, libc::TCP_CONGESTION, name.as_bytes())
}

/// The algorithm sock_diag reports for the connection of `s`.
fn in_use(s: &Sock) -> Result<Option<String>> {
    Ok(tcp_detail(s.local_addr()?, peer_addr(s)?)?.and_then(|d| d.congestion))
}

fn pair() -> Result<TcpPair> {
    TcpPair::loopback(Family::V4)
}

/// One socket set to another algorithm, one left alone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerSocket {
    pub default: String,
    pub available: Vec<String>,
    /// The algorithm chosen for the one socket.
    pub chosen: String,
    pub set: String,
    /// What sock_diag reports for that connection, and for the other.
    pub chosen_in_use: Option<String>,
    pub other_in_use: Option<String>,
    /// setsockopt with a name that is not available.
    pub unknown: String,
}

fn per_socket(_lab: &mut Lab) -> Result<PerSocket> {
    let default = procnet::sysctl("net/ipv4/tcp_congestion_control")?;
    let available = list("net/ipv4/tcp_available_congestion_control")?;
    let allowed = list("net/ipv4/tcp_allowed_congestion_control")?;
    anyhow::ensure!(
        available.contains(&default),
        "the default congestion control {default} is not among the available ones ({})",
        available.join(" ")
    );
    // Another algorithm, an allowed one if there is (reno always is; the
    // allowed ones are a subset of the available ones).
    let chosen = allowed
        .iter()
        .chain(&available)
        .find(|a| **a != default)
        .cloned()
        .ok_or_else(|| {
            Skip::missing(
                "a second congestion-control algorithm",
                format!(
                    "tcp_available_congestion_control lists only {}",
                    available.join(" ")
                ),
            )
        })?;
    let one = pair()?;
    let other = pair()?;
    let set = result_name(&set_cc(&one.client, &chosen));
    let s = Sock::tcp(Family::V4)?;
    // Without CAP_NET_ADMIN the kernel does not try to load a module named
    // after the unknown algorithm.
    let unknown = without(&[CAP_NET_ADMIN], || result_name(&set_cc(&s, UNKNOWN)))?;
    Ok(PerSocket {
        chosen_in_use: in_use(&one.client)?,
        other_in_use: in_use(&other.client)?,
        default,
        available,
        chosen,
        set,
        unknown,
    })
}

impl Observation for PerSocket {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect(
            "the algorithm chosen is not the default",
            self.chosen != self.default,
            format!("not {}", self.default),
            self.chosen.clone(),
        );
        j.expect_eq(
            "setsockopt(TCP_CONGESTION) with an available algorithm",
            &"ok",
            &self.set.as_str(),
        );
        j.expect_eq(
            "the algorithm sock_diag reports for that connection",
            &Some(self.chosen.as_str()),
            &self.chosen_in_use.as_deref(),
        );
        j.expect_eq(
            "for another connection: the namespace's default",
            &Some(self.default.as_str()),
            &self.other_in_use.as_deref(),
        );
        j.expect_eq(
            "a name that is not available",
            &"ENOENT",
            &self.unknown.as_str(),
        );
        let per_socket = self.chosen_in_use.as_deref() == Some(self.chosen.as_str())
            && self.other_in_use.as_deref() == Some(self.default.as_str());
        j.verdict(
            Verdict::holds_if(per_socket),
            format!(
                "available: {}; default {}; the socket set to {} ({}) uses {}, another uses {}; {} -> {}",
                self.available.join(" "),
                self.default,
                self.chosen,
                self.set,
                self.chosen_in_use.show(),
                self.other_in_use.show(),
                UNKNOWN,
                self.unknown
            ),
        );
        j.key(format!(
            "{} in use (default {}); unknown name -> {}",
            self.chosen_in_use.show(),
            self.default,
            self.unknown
        ));
        j
    }
}

/// An algorithm outside the allowed list, with and without CAP_NET_ADMIN.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unprivileged {
    /// How the case's namespace was made: root, or a user namespace.
    pub privilege: String,
    pub allowed: Vec<String>,
    /// Available, not allowed.
    pub restricted: String,
    /// An allowed algorithm.
    pub permitted: String,
    /// Without CAP_NET_ADMIN: setsockopt with each.
    pub without_cap_restricted: String,
    pub without_cap_permitted: String,
    /// With CAP_NET_ADMIN: setsockopt with the restricted one, and what
    /// sock_diag then reports.
    pub with_cap: String,
    pub with_cap_in_use: Option<String>,
}

fn unprivileged(lab: &mut Lab) -> Result<Unprivileged> {
    let available = list("net/ipv4/tcp_available_congestion_control")?;
    let allowed = list("net/ipv4/tcp_allowed_congestion_control")?;
    anyhow::ensure!(
        !allowed.is_empty(),
        "net.ipv4.tcp_allowed_congestion_control is empty"
    );
    let restricted = available
        .iter()
        .find(|a| !allowed.contains(a))
        .cloned()
        .ok_or_else(|| {
            Skip::missing(
                "an available congestion-control algorithm outside net.ipv4.tcp_allowed_congestion_control",
                format!("available: {}; allowed: {}", available.join(" "), allowed.join(" ")),
            )
        })?;
    let permitted = allowed
        .iter()
        .find(|a| available.contains(a))
        .cloned()
        .context("no allowed algorithm is available")?;
    let a = Sock::tcp(Family::V4)?;
    let b = Sock::tcp(Family::V4)?;
    let (without_cap_restricted, without_cap_permitted) = without(&[CAP_NET_ADMIN], || {
        (
            result_name(&set_cc(&a, &restricted)),
            result_name(&set_cc(&b, &permitted)),
        )
    })?;
    let privileged = TcpPair::connect_with(
        SocketAddr::new(Family::V4.loopback(), 0),
        |_| Ok(()),
        |_| Ok(()),
    )?;
    let with_cap = result_name(&set_cc(&privileged.client, &restricted));
    Ok(Unprivileged {
        privilege: match lab.privilege {
            Privilege::Root => "root".into(),
            Privilege::UserNamespace => "user namespace".into(),
        },
        allowed,
        restricted,
        permitted,
        without_cap_restricted,
        without_cap_permitted,
        with_cap,
        with_cap_in_use: in_use(&privileged.client)?,
    })
}

impl Observation for Unprivileged {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "without CAP_NET_ADMIN: an algorithm outside the allowed list",
            &"EPERM",
            &self.without_cap_restricted.as_str(),
        );
        j.expect_eq(
            "without CAP_NET_ADMIN: an allowed algorithm",
            &"ok",
            &self.without_cap_permitted.as_str(),
        );
        j.expect_eq(
            "with CAP_NET_ADMIN: the algorithm outside the list",
            &"ok",
            &self.with_cap.as_str(),
        );
        j.expect_eq(
            "with CAP_NET_ADMIN: what sock_diag reports",
            &Some(self.restricted.as_str()),
            &self.with_cap_in_use.as_deref(),
        );
        let restricted =
            self.without_cap_restricted == "EPERM" && self.without_cap_permitted == "ok";
        let privileged = self.with_cap_in_use.as_deref() == Some(self.restricted.as_str());
        j.verdict(
            match (restricted, privileged) {
                (true, true) => Verdict::Holds,
                (false, false) => Verdict::Refuted,
                _ => Verdict::Differs,
            },
            format!(
                "allowed: {}; without CAP_NET_ADMIN {} -> {}, {} -> {}; with CAP_NET_ADMIN ({}) {} -> {}, in use: {}",
                self.allowed.join(" "),
                self.restricted,
                self.without_cap_restricted,
                self.permitted,
                self.without_cap_permitted,
                self.privilege,
                self.restricted,
                self.with_cap,
                self.with_cap_in_use.show()
            ),
        );
        j.key(format!(
            "{}: {} without CAP_NET_ADMIN, {} with it ({})",
            self.restricted, self.without_cap_restricted, self.with_cap, self.privilege
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn ps_linux() -> PerSocket {
        PerSocket {
            default: "bbr".into(),
            available: vec!["reno".into(), "bbr".into(), "cubic".into()],
            chosen: "reno".into(),
            set: "ok".into(),
            chosen_in_use: Some("reno".into()),
            other_in_use: Some("bbr".into()),
            unknown: "ENOENT".into(),
        }
    }

    const SET: &str = "setsockopt(TCP_CONGESTION) with an available algorithm";
    const CHOSEN: &str = "the algorithm sock_diag reports for that connection";
    const OTHER: &str = "for another connection: the namespace's default";
    const UNKNOWN_CHECK: &str = "a name that is not available";

    #[rstest]
    #[case::linux(ps_linux(), Verdict::Holds, &[])]
    // TCP_CONGESTION ignored: both connections on the default, the unknown name "accepted".
    #[case::ignored(PerSocket { chosen_in_use: Some("bbr".into()), unknown: "ok".into(), ..ps_linux() },
        Verdict::Refuted, &[CHOSEN, UNKNOWN_CHECK])]
    // Set for the whole namespace rather than the socket.
    #[case::global(PerSocket { other_in_use: Some("reno".into()), ..ps_linux() }, Verdict::Refuted, &[OTHER])]
    #[case::refused(PerSocket { set: "EPERM".into(), chosen_in_use: Some("bbr".into()), ..ps_linux() },
        Verdict::Refuted, &[SET, CHOSEN])]
    #[case::other_errno(PerSocket { unknown: "EINVAL".into(), ..ps_linux() }, Verdict::Holds, &[UNKNOWN_CHECK])]
    // The default chosen: nothing to tell the two connections apart.
    #[case::default_chosen(PerSocket { chosen: "bbr".into(), chosen_in_use: Some("bbr".into()), ..ps_linux() },
        Verdict::Holds, &["the algorithm chosen is not the default"])]
    fn ps_judgement(#[case] o: PerSocket, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn ps_words() {
        let j = ps_linux().judge();
        assert_eq!("reno in use (default bbr); unknown name -> ENOENT", j.key);
        assert_eq!(
            "available: reno bbr cubic; default bbr; the socket set to reno (ok) uses reno, another uses bbr; \
             sockspec-none -> ENOENT",
            j.because
        );
    }

    fn up_linux() -> Unprivileged {
        Unprivileged {
            privilege: "root".into(),
            allowed: vec!["reno".into(), "bbr".into()],
            restricted: "cubic".into(),
            permitted: "reno".into(),
            without_cap_restricted: "EPERM".into(),
            without_cap_permitted: "ok".into(),
            with_cap: "ok".into(),
            with_cap_in_use: Some("cubic".into()),
        }
    }

    const NO_CAP_R: &str = "without CAP_NET_ADMIN: an algorithm outside the allowed list";
    const NO_CAP_P: &str = "without CAP_NET_ADMIN: an allowed algorithm";
    const CAP: &str = "with CAP_NET_ADMIN: the algorithm outside the list";
    const CAP_USE: &str = "with CAP_NET_ADMIN: what sock_diag reports";

    #[rstest]
    #[case::linux(up_linux(), Verdict::Holds, &[])]
    #[case::user_namespace(Unprivileged { privilege: "user namespace".into(), ..up_linux() }, Verdict::Holds, &[])]
    // No restriction at all.
    #[case::unrestricted(Unprivileged { without_cap_restricted: "ok".into(), ..up_linux() }, Verdict::Differs,
        &[NO_CAP_R])]
    // CAP_NET_ADMIN not enough (a user namespace that does not count).
    #[case::cap_refused(Unprivileged { with_cap: "EPERM".into(), with_cap_in_use: Some("bbr".into()),
        ..up_linux() }, Verdict::Differs, &[CAP, CAP_USE])]
    // TCP_CONGESTION ignored: "ok" everywhere, the default in use.
    #[case::ignored(Unprivileged { without_cap_restricted: "ok".into(), with_cap_in_use: Some("bbr".into()),
        ..up_linux() }, Verdict::Refuted, &[NO_CAP_R, CAP_USE])]
    #[case::all_refused(Unprivileged { without_cap_permitted: "EPERM".into(), ..up_linux() }, Verdict::Differs,
        &[NO_CAP_P])]
    fn up_judgement(#[case] o: Unprivileged, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn up_words() {
        let j = up_linux().judge();
        assert_eq!(
            "cubic: EPERM without CAP_NET_ADMIN, ok with it (root)",
            j.key
        );
        assert_eq!(
            "allowed: reno bbr; without CAP_NET_ADMIN cubic -> EPERM, reno -> ok; with CAP_NET_ADMIN (root) cubic \
             -> ok, in use: cubic",
            j.because
        );
    }
}
