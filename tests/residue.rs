//! After any run — success, failure, a hang killed by the watchdog, a panic in
//! a case, SIGINT or SIGTERM to the runner — nothing created by sockspec
//! remains (case processes, namespaces, interfaces, temp files) and nothing in
//! the host namespace changed (interfaces, addresses, routes, sysctls, nft).

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;

/// The tests here look at machine-wide state: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn names_in(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Host addresses and routes (v4, v6) as /proc shows them.
fn host_net_state() -> Vec<(String, String)> {
    ["fib_trie", "route", "ipv6_route", "if_inet6"]
        .iter()
        .map(|f| {
            (
                f.to_string(),
                std::fs::read_to_string(format!("/proc/net/{f}")).unwrap_or_default(),
            )
        })
        .collect()
}

/// Every readable sysctl under /proc/sys/net of the host namespace.
fn host_sysctls() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if let Ok(v) = std::fs::read_to_string(&p) {
                out.push((p.display().to_string(), v));
            }
        }
    }
    let mut out = Vec::new();
    walk(std::path::Path::new("/proc/sys/net"), &mut out);
    // Counters of host traffic are not configuration.
    out.retain(|(p, _)| !p.ends_with("_count"));
    out.sort();
    out
}

/// The nft ruleset, where nft is installed.
fn nft_rules() -> String {
    Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

#[derive(Debug, PartialEq)]
struct HostState {
    interfaces: BTreeSet<String>,
    named_netns: BTreeSet<String>,
    net: Vec<(String, String)>,
    sysctls: Vec<(String, String)>,
    nft: String,
}

fn host_state() -> HostState {
    HostState {
        interfaces: names_in("/sys/class/net"),
        named_netns: names_in("/run/netns"),
        net: host_net_state(),
        sysctls: host_sysctls(),
        nft: nft_rules(),
    }
}

/// Set in the environment of the runs these tests start, so that the case
/// processes of other tests running at the same time are not counted.
const TAG: &str = "SOCKSPEC_RESIDUE_TAG";

fn tag() -> String {
    format!("{TAG}={}", std::process::id())
}

/// Processes of this build's sockspec started by these tests (runs, their
/// case launchers, case processes), still alive.
fn leftover_processes() -> Vec<String> {
    let exe = common::exe().canonicalize().expect("exe path");
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if std::fs::read_link(e.path().join("exe")).ok().as_deref() != Some(exe.as_path()) {
            continue;
        }
        let environ = std::fs::read(e.path().join("environ")).unwrap_or_default();
        if !environ.split(|b| *b == 0).any(|v| v == tag().as_bytes()) {
            continue;
        }
        let c = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        out.push(format!(
            "{} ({})",
            String::from_utf8_lossy(&c).replace('\0', " "),
            comm.trim_end()
        ));
    }
    out
}

/// The whole catalogue plus the self-test cases (a hang the watchdog kills, a
/// panic): afterwards the host is as it was, no case process is left, and no
/// temporary file remains.
#[test]
fn a_full_run_leaves_nothing_behind() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().expect("tempdir");
    let before = host_state();
    let out = Command::new(common::exe())
        .env("SOCKSPEC_SELFTEST", "1")
        .env(TAG, std::process::id().to_string())
        .env("TMPDIR", tmp.path())
        .args(["run", "--format", "json", "--artifacts"])
        .arg(tmp.path().join("artifacts"))
        .output()
        .expect("run");
    assert!(out.status.code().is_some(), "sockspec was killed");
    assert_eq!(before, host_state());
    assert_eq!(Vec::<String>::new(), leftover_processes());
    let left: Vec<String> = names_in(tmp.path().to_str().expect("utf-8"))
        .into_iter()
        .filter(|n| n != "artifacts")
        .collect();
    assert_eq!(Vec::<String>::new(), left);
}

/// SIGINT, SIGTERM or SIGKILL to the runner while cases are in flight: its case
/// processes die with it (they hold the namespaces), leaving nothing.
#[rstest::rstest]
#[case::sigint(libc::SIGINT)]
#[case::sigterm(libc::SIGTERM)]
// No chance to clean up: the launcher sees the run's end of its socket close,
// and its case processes die with it.
#[case::sigkill(libc::SIGKILL)]
fn a_signal_mid_run_leaves_nothing_behind(#[case] signal: i32) {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = host_state();
    let mut child = common::default_signals(&mut Command::new(common::exe()))
        .env("SOCKSPEC_SELFTEST", "1")
        .env(TAG, std::process::id().to_string())
        .args(["run", "selftest.hang", "linger.timeout_blocks"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let started = Instant::now();
    // Polled, not spun: on two loaded cores a spinning test starves the very
    // runner it waits for.
    // The case launcher and its two case processes.
    while common::descendants(pid).len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "case processes never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let kids: Vec<u32> = common::descendants(pid)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid as i32, signal) };
    child.wait().expect("wait");
    let gone = Instant::now();
    while kids
        .iter()
        .any(|k| std::path::Path::new(&format!("/proc/{k}")).exists())
    {
        assert!(
            gone.elapsed() < Duration::from_secs(5),
            "case processes outlived the runner: {kids:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(before, host_state());
    assert_eq!(Vec::<String>::new(), leftover_processes());
}
