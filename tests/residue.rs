//! After a run, the host shows no new interfaces, namespaces or processes:
//! every case's namespaces die with its process.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use pretty_assertions::assert_eq;

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
