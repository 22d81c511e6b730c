//! The catalogue: one `Case` per claim of ../shared/CLAIMS.md, grouped by area.
//! Knows nothing about output formats.

use crate::model::Case;

pub mod buffers;
pub mod close;
pub mod ip;
pub mod keepalive;
pub mod linger;
pub mod multicast;
pub mod nagle;
pub mod recv_flags;
pub mod reuse;
pub mod selftest;
pub mod sockopt;
pub mod tcp;

/// Every registered case, in catalogue order (plus the harness self-test
/// cases when SOCKSPEC_SELFTEST=1).
pub fn all() -> Vec<&'static Case> {
    let selftest: &[&Case] = if std::env::var(selftest::SWITCH).as_deref() == Ok("1") {
        selftest::CASES
    } else {
        &[]
    };
    [
        linger::CASES,
        buffers::CASES,
        reuse::CASES,
        recv_flags::CASES,
        nagle::CASES,
        sockopt::CASES,
        keepalive::CASES,
        close::CASES,
        ip::CASES,
        tcp::CASES,
        multicast::CASES,
        selftest,
    ]
    .into_iter()
    .flat_map(|c| c.iter().copied())
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
