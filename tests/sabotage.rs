//! If setsockopt silently ignored an option — here an LD_PRELOAD shim that
//! returns success, does nothing, and echoes the value back on getsockopt — the
//! cases that rely on that option (`Case::relies_on`) must fail. Cases observe
//! the kernel, not the echo. Which cases rely on which option is read from the
//! registry; every option the catalogue sets must be relied on by some case.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use common::run_case;
use pretty_assertions::assert_eq;
use rstest::rstest;
use sockspec::lab::opt::{self, Opt};
use sockspec::model::Outcome;

/// Options set but not sabotageable, each with the reason. AF_PACKET sockets
/// (the captures) are left out of the log check as a whole.
const EXEMPT: &[(Opt, &str)] = &[
    (
        opt::SO_TIMESTAMPNS,
        "the lab asks for packet timestamps early (lab::ns), for its captures",
    ),
    (
        opt::TCP_KEEPALIVE_BSD,
        "tcp_keepalive.option_name shows that this BSD number has no keep-alive effect on Linux: \
         ignoring it changes nothing",
    ),
    (
        opt::SO_PASSSEC,
        "its only effect, an SCM_SECURITY message, needs an LSM that labels sockets: without one \
         so_passsec.scm_security skips, whether the option is ignored or not",
    ),
    (
        opt::SO_BSDCOMPAT,
        "so_bsdcompat.ignored shows that the kernel accepts and ignores it: ignoring it changes nothing",
    ),
    (
        opt::IP_PASSSEC,
        "its only effect, an SCM_SECURITY message, needs labeled networking and an LSM: without them \
         ip_passsec.udp_only skips, whether the option is ignored or not",
    ),
];

/// Sabotaged runs going on at once.
const AT_ONCE: usize = 20;

/// Every option some case relies on, with those cases.
fn reliant() -> BTreeMap<Opt, Vec<&'static str>> {
    let mut map: BTreeMap<Opt, Vec<&'static str>> = BTreeMap::new();
    for case in sockspec::cases::all() {
        for o in case.relies_on {
            map.entry(*o).or_default().push(case.id);
        }
    }
    map
}

/// One case's result under the shim: id, outcome, duration, reason.
type Outcome4 = (String, String, u64, String);

/// Runs `ids` in one `sockspec run` under the shim, with `env` added; returns
/// each id's outcome, duration and reason.
fn run_under_shim(shim: &Path, env: &[(&str, String)], ids: &[&str]) -> Vec<Outcome4> {
    let artifacts = tempfile::tempdir().expect("tempdir");
    let out = Command::new(common::exe())
        .env("LD_PRELOAD", shim)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["run", "--format", "json", "--artifacts"])
        .arg(artifacts.path())
        .args(ids)
        .output()
        .expect("run under the shim");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report from sockspec under the shim ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or("").to_string(),
                c["outcome"].as_str().unwrap_or("").to_string(),
                c["duration_ms"].as_u64().unwrap_or(0),
                c["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// With one option ignored at a time, every case that relies on it fails.
/// The options are sabotaged in parallel, one run each. Prints which cases
/// catch which sabotaged option.
#[test]
fn every_case_relying_on_an_ignored_option_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shim = common::build_shim(dir.path());
    let reliant = reliant();
    type Outcomes = Vec<Outcome4>;
    // AT_ONCE runs at a time, not all: a hundred runs at once, beside the
    // other lanes' catalogues, create and tear down namespaces faster than
    // the kernel's rtnetlink lock lets them, and cases then starve past
    // their deadlines (seen in CI-like fresh-clone runs).
    let queue = std::sync::Mutex::new(reliant.iter().collect::<Vec<_>>());
    let runs: Vec<(Opt, Outcomes)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..AT_ONCE)
            .map(|_| {
                let (shim, queue) = (&shim, &queue);
                s.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let next = queue.lock().expect("queue").pop();
                        let Some((o, ids)) = next else { break done };
                        let env = [("SOCKSPEC_SHIM_IGNORE", o.shim_spec())];
                        done.push((*o, run_under_shim(shim, &env, ids)));
                    }
                })
            })
            .collect();
        let mut all: Vec<(Opt, Outcomes)> = workers
            .into_iter()
            .flat_map(|h| h.join().expect("sabotage worker"))
            .collect();
        all.sort_by_key(|(o, _)| *o);
        all
    });
    let mut missed = Vec::new();
    eprintln!("sabotaged option -> cases that caught it:");
    for (o, outcomes) in &runs {
        let caught: Vec<String> = outcomes
            .iter()
            .filter(|(_, outcome, _, _)| outcome == "fail")
            .map(|(id, _, ms, _)| format!("{id} ({ms} ms)"))
            .collect();
        eprintln!("  {:<26} {}", o.name, caught.join(", "));
        missed.extend(
            outcomes
                .iter()
                .filter(|(_, outcome, _, _)| outcome != "fail")
                .map(|(id, outcome, _, why)| {
                    format!("{} ignored, yet {id} -> {outcome}: {why}", o.name)
                }),
        );
    }
    assert_eq!(Vec::<String>::new(), missed);
}

/// Every option the whole catalogue sets on a socket is relied on by some
/// case, so silently ignoring it would make that case fail.
#[test]
fn every_option_the_catalogue_sets_is_relied_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shim = common::build_shim(dir.path());
    let log = dir.path().join("setsockopt.log");
    let env = [
        ("SOCKSPEC_SHIM_IGNORE", String::new()),
        ("SOCKSPEC_SHIM_LOG", log.display().to_string()),
    ];
    let all: Vec<&str> = sockspec::cases::all().iter().map(|c| c.id).collect();
    let outcomes = run_under_shim(&shim, &env, &all);
    assert_eq!(all.len(), outcomes.len());
    let text = std::fs::read_to_string(&log).expect("the shim's log");
    let set: BTreeSet<(i32, i32)> = text
        .lines()
        .filter_map(|l| {
            let mut p = l.split(':').map(|n| n.parse::<i32>().ok());
            let (domain, level, number) = (p.next()??, p.next()??, p.next()??);
            (domain != libc::AF_PACKET).then_some((level, number))
        })
        .collect();
    let covered: BTreeSet<(i32, i32)> = reliant()
        .keys()
        .chain(EXEMPT.iter().map(|(o, _)| o))
        .map(|o| (o.level, o.number))
        .collect();
    let name = |(level, number): &(i32, i32)| {
        opt::ALL
            .iter()
            .chain(EXEMPT.iter().map(|(o, _)| o))
            .find(|o| o.level == *level && o.number == *number)
            .map(|o| o.name.to_string())
            .unwrap_or_else(|| format!("level {level} option {number}"))
    };
    let uncovered: Vec<String> = set.difference(&covered).map(name).collect();
    assert_eq!(
        Vec::<String>::new(),
        uncovered,
        "options the catalogue sets that no case's relies_on names"
    );
}

/// The shim itself is harmless when it ignores nothing: the failures above
/// come from the ignored option, not from preloading.
#[rstest]
#[case::linger("linger.zero_rst")]
#[case::nagle("nagle.coalesce")]
fn shim_ignoring_nothing_changes_nothing(#[case] id: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let shim = common::build_shim(dir.path());
    let shim = shim.to_str().expect("utf-8 path");
    let r = run_case(id, &[("LD_PRELOAD", shim), ("SOCKSPEC_SHIM_IGNORE", "")]);
    assert_eq!((id, Outcome::Pass), (id, r.outcome), "{}", r.reason);
}
