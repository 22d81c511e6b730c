//! The catalogue: one `Case` per claim (../shared/CLAIMS.md and the Linux
//! man-pages), one file per area. Knows nothing about output formats.
//!
//! # Writing a case (linger.rs is the example to copy)
//!
//! - **Data**: a `Case` static with the id, the `Source` (for a man page:
//!   `Source::ManPage("man-pages 6.20 tcp(7) TCP_CORK")`), the claim as the
//!   source makes it (paraphrased, never copied), the expectation (what Linux
//!   does), `run: &Measure(body)`, the deadline, and `relies_on`: the options
//!   whose silent loss must make the case fail (tests/sabotage.rs checks it,
//!   and that every option the catalogue sets is relied on somewhere).
//! - **Measure**: `fn body(lab: &mut Lab) -> Result<Obs>` builds what it needs
//!   in the lab, does the one thing, and returns a typed observation: errno
//!   names (`result_name`), byte counts, `Duration`s, what the capture saw.
//!   It judges nothing. Captured frames and `close()` times reach the report
//!   by themselves (`lab::record`); `record::mark` adds other syscalls to the
//!   time line.
//! - **Judge**: `impl Observation for Obs { fn judge(&self) -> Judgement }`,
//!   pure: checks against the expectation (`expect_eq`, `expect`), the verdict
//!   on the claim with the numbers behind it (`verdict`), one key line (`key`).
//!   Values are written with `Show` (numbers, errno names, flags), never with
//!   `{:?}`.
//! - **Test the judgement** in the same file with rstest tables: this
//!   kernel's observation, the claim's world (BSD, an older kernel, a broken
//!   libc), and rows at each comparison's boundary, so that every verdict and
//!   every check's failure is reached by some row.
//! - **Variants** are data: `..ZERO_RST` with another id and
//!   `run: &Measure(|lab| zero_rst(lab, Family::V6))`; the test suite checks
//!   that an @v6 case used IPv6.
//! - **Waits** block on events with deadlines (`Capture::wait_for`,
//!   `wait_beyond`, `wait::readable`, `wait::until` for state only /proc
//!   shows, `diag::tcp` for a connection's state): no sleeps, no spinning.
//! - **Skips** only for a missing kernel facility, named:
//!   `Err(Skip::missing("an LSM that labels sockets", detail).into())`.

use crate::model::Case;

pub mod ancillary4;
pub mod ancillary6;
pub mod binding;
pub mod buffers;
pub mod close;
pub mod congestion;
pub mod cork;
pub mod credentials;
pub mod defer_accept;
pub mod errqueue;
pub mod fastopen;
pub mod filter;
pub mod identity;
pub mod incoming;
pub mod ip;
pub mod iphdr;
pub mod keepalive;
pub mod lifetimes;
pub mod linger;
pub mod mcast_groups;
pub mod mcast_sources;
pub mod mcast_v6;
pub mod multicast;
pub mod nagle;
pub mod obsolete;
pub mod pmtu;
pub mod priority;
pub mod quickack;
pub mod ralert;
pub mod recv_flags;
pub mod reuse;
pub mod routing;
pub mod selftest;
pub mod so_bind;
pub mod so_buffers;
pub mod so_bufforce;
pub mod so_conn;
pub mod so_errqueue;
pub mod so_lowat;
pub mod so_oob;
pub mod so_rcvqueue;
pub mod so_stamps;
pub mod so_timeouts;
pub mod sockopt;
pub mod syn;
pub mod tcp;
pub mod tcpinfo;
pub mod udp;
pub mod user_timeout;
pub mod window_clamp;

/// The areas of the catalogue, each a module of this folder with its cases,
/// in catalogue order (plus the harness self-test cases when
/// SOCKSPEC_SELFTEST=1).
pub fn areas() -> Vec<(&'static str, &'static [&'static Case])> {
    let mut areas: Vec<(&'static str, &'static [&'static Case])> = vec![
        ("linger", linger::CASES),
        ("buffers", buffers::CASES),
        ("reuse", reuse::CASES),
        ("recv_flags", recv_flags::CASES),
        ("nagle", nagle::CASES),
        ("sockopt", sockopt::CASES),
        ("keepalive", keepalive::CASES),
        ("close", close::CASES),
        ("ip", ip::CASES),
        ("tcp", tcp::CASES),
        ("multicast", multicast::CASES),
        ("so_buffers", so_buffers::CASES),
        ("so_bufforce", so_bufforce::CASES),
        ("so_rcvqueue", so_rcvqueue::CASES),
        ("so_lowat", so_lowat::CASES),
        ("so_timeouts", so_timeouts::CASES),
        ("so_conn", so_conn::CASES),
        ("so_stamps", so_stamps::CASES),
        ("so_errqueue", so_errqueue::CASES),
        ("so_oob", so_oob::CASES),
        ("so_bind", so_bind::CASES),
        ("cork", cork::CASES),
        ("quickack", quickack::CASES),
        ("defer_accept", defer_accept::CASES),
        ("syn", syn::CASES),
        ("fastopen", fastopen::CASES),
        ("user_timeout", user_timeout::CASES),
        ("lifetimes", lifetimes::CASES),
        ("tcpinfo", tcpinfo::CASES),
        ("window_clamp", window_clamp::CASES),
        ("congestion", congestion::CASES),
        ("filter", filter::CASES),
        ("udp", udp::CASES),
        ("incoming", incoming::CASES),
        ("pmtu", pmtu::CASES),
        ("errqueue", errqueue::CASES),
        ("iphdr", iphdr::CASES),
        ("ralert", ralert::CASES),
        ("identity", identity::CASES),
        ("credentials", credentials::CASES),
        ("routing", routing::CASES),
        ("priority", priority::CASES),
        ("obsolete", obsolete::CASES),
        ("mcast_groups", mcast_groups::CASES),
        ("mcast_sources", mcast_sources::CASES),
        ("mcast_v6", mcast_v6::CASES),
        ("binding", binding::CASES),
        ("ancillary4", ancillary4::CASES),
        ("ancillary6", ancillary6::CASES),
    ];
    if std::env::var(selftest::SWITCH).as_deref() == Ok("1") {
        areas.push(("selftest", selftest::CASES));
    }
    areas
}

/// Every registered case, in catalogue order.
pub fn all() -> Vec<&'static Case> {
    areas()
        .into_iter()
        .flat_map(|(_, cases)| cases.iter().copied())
        .collect()
}

pub fn find(id: &str) -> Option<&'static Case> {
    all().into_iter().find(|c| c.id == id)
}

/// Cases whose id matches any of `patterns` (shell-style `*` and `?`); all
/// cases when `patterns` is empty. A pattern that matches nothing is an error,
/// named in the message.
pub fn select(patterns: &[String]) -> Result<Vec<&'static Case>, String> {
    let all = all();
    if patterns.is_empty() {
        return Ok(all);
    }
    if let Some(p) = patterns.iter().find(|p| !all.iter().any(|c| glob(p, c.id))) {
        return Err(format!(
            "no case matches '{p}' (see `sockspec list` for the ids)"
        ));
    }
    Ok(all
        .into_iter()
        .filter(|c| patterns.iter().any(|p| glob(p, c.id)))
        .collect())
}

/// Shell-style match of `text` against `pattern` with `*` and `?`.
pub fn glob(pattern: &str, text: &str) -> bool {
    fn rec(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => rec(&p[1..], t) || (!t.is_empty() && rec(p, &t[1..])),
            (Some(b'?'), Some(_)) => rec(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => rec(&p[1..], &t[1..]),
            _ => false,
        }
    }
    rec(pattern.as_bytes(), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    /// Ids name cases in reports, baselines and tests: one case each.
    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<&str> = super::all().iter().map(|c| c.id).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(n, ids.len());
    }

    #[test]
    fn glob_matches_like_a_shell() {
        assert!(super::glob("linger.*", "linger.zero_rst@v6"));
        assert!(super::glob("*@v6", "linger.zero_rst@v6"));
        assert!(super::glob("nagle.co?lesce", "nagle.coalesce"));
        assert!(!super::glob("linger.*", "nagle.coalesce"));
        assert!(!super::glob("linger", "linger.zero_rst"));
    }
}
