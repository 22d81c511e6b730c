//! After a run, the host shows no new interfaces, namespaces or processes:
//! every case's namespaces die with its process.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use pretty_assertions::assert_eq;

/// The tests here look at machine-wide state: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn host_interfaces() -> BTreeSet<String> {
    std::fs::read_dir("/sys/class/net")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn named_netns() -> BTreeSet<String> {
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every distinct network namespace some process is in.
fn live_netns() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(l) = std::fs::read_link(e.path().join("ns/net")) {
            out.insert(l.to_string_lossy().into_owned());
        }
    }
    out
}

fn case_processes() -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(c) = std::fs::read(e.path().join("cmdline")) {
            let c = String::from_utf8_lossy(&c).replace('\0', " ");
            if c.contains(" __case ") {
                out.push(c);
            }
        }
    }
    out
}

#[test]
fn a_full_run_leaves_nothing_behind() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = (host_interfaces(), named_netns(), live_netns());
    let out = Command::new(common::exe())
        .args(["run", "--format", "json"])
        .output()
        .expect("run");
    assert!(out.status.code().is_some(), "sockspec was killed");
    let after = (host_interfaces(), named_netns(), live_netns());
    assert_eq!(before, after);
    assert_eq!(Vec::<String>::new(), case_processes());
}

fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let ppid = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.extend(e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()));
        }
    }
    out
}

/// SIGINT or SIGTERM to the runner while cases are in flight: its case
/// processes die with it (they hold the namespaces), leaving nothing.
#[rstest::rstest]
#[case::sigint(libc::SIGINT)]
#[case::sigterm(libc::SIGTERM)]
fn a_signal_mid_run_leaves_nothing_behind(#[case] signal: i32) {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = (host_interfaces(), named_netns());
    let mut child = Command::new(common::exe())
        .env("SOCKSPEC_SELFTEST", "1")
        .args(["run", "selftest.hang", "linger.timeout_blocks"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let started = std::time::Instant::now();
    while children_of(pid).len() < 2 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "case processes never started"
        );
        std::thread::yield_now();
    }
    let kids = children_of(pid);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid as i32, signal) };
    child.wait().expect("wait");
    let gone = std::time::Instant::now();
    while kids
        .iter()
        .any(|k| std::path::Path::new(&format!("/proc/{k}")).exists())
    {
        assert!(
            gone.elapsed() < std::time::Duration::from_secs(5),
            "case processes outlived the runner: {kids:?}"
        );
        std::thread::yield_now();
    }
    assert_eq!(before, (host_interfaces(), named_netns()));
}
