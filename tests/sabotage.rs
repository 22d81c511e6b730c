//! If setsockopt silently ignored an option — here an LD_PRELOAD shim that
//! returns success, does nothing, and echoes the value back on getsockopt — the
//! cases that depend on that option must fail. Cases observe the kernel, not
//! the echo.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::run_case;
use pretty_assertions::assert_eq;
use rstest::rstest;
use sockspec::model::Outcome;

/// Every option the catalogue sets, by name, with its level and number.
const OPTIONS: &[(&str, i32, i32)] = &[
    ("SO_LINGER", libc::SOL_SOCKET, libc::SO_LINGER),
    ("SO_REUSEADDR", libc::SOL_SOCKET, libc::SO_REUSEADDR),
    ("SO_REUSEPORT", libc::SOL_SOCKET, libc::SO_REUSEPORT),
    ("SO_KEEPALIVE", libc::SOL_SOCKET, libc::SO_KEEPALIVE),
    ("SO_RCVBUF", libc::SOL_SOCKET, libc::SO_RCVBUF),
    ("SO_SNDBUF", libc::SOL_SOCKET, libc::SO_SNDBUF),
    ("SO_BROADCAST", libc::SOL_SOCKET, libc::SO_BROADCAST),
    ("SO_DONTROUTE", libc::SOL_SOCKET, libc::SO_DONTROUTE),
    ("SO_OOBINLINE", libc::SOL_SOCKET, libc::SO_OOBINLINE),
    ("SO_RCVLOWAT", libc::SOL_SOCKET, libc::SO_RCVLOWAT),
    ("SO_RCVTIMEO", libc::SOL_SOCKET, libc::SO_RCVTIMEO),
    ("SO_SNDTIMEO", libc::SOL_SOCKET, libc::SO_SNDTIMEO),
    ("SO_DEBUG", libc::SOL_SOCKET, libc::SO_DEBUG),
    ("TCP_NODELAY", libc::IPPROTO_TCP, libc::TCP_NODELAY),
    ("TCP_MAXSEG", libc::IPPROTO_TCP, libc::TCP_MAXSEG),
    ("TCP_QUICKACK", libc::IPPROTO_TCP, libc::TCP_QUICKACK),
    ("TCP_KEEPIDLE", libc::IPPROTO_TCP, libc::TCP_KEEPIDLE),
    ("TCP_KEEPINTVL", libc::IPPROTO_TCP, libc::TCP_KEEPINTVL),
    ("TCP_KEEPCNT", libc::IPPROTO_TCP, libc::TCP_KEEPCNT),
    ("TCP_REPAIR", libc::IPPROTO_TCP, libc::TCP_REPAIR),
    ("IP_TTL", libc::IPPROTO_IP, libc::IP_TTL),
    ("IP_MULTICAST_TTL", libc::IPPROTO_IP, libc::IP_MULTICAST_TTL),
    (
        "IP_MULTICAST_LOOP",
        libc::IPPROTO_IP,
        libc::IP_MULTICAST_LOOP,
    ),
    ("IP_MULTICAST_IF", libc::IPPROTO_IP, libc::IP_MULTICAST_IF),
    ("IP_MULTICAST_ALL", libc::IPPROTO_IP, libc::IP_MULTICAST_ALL),
    (
        "IP_ADD_MEMBERSHIP",
        libc::IPPROTO_IP,
        libc::IP_ADD_MEMBERSHIP,
    ),
    (
        "IP_DROP_MEMBERSHIP",
        libc::IPPROTO_IP,
        libc::IP_DROP_MEMBERSHIP,
    ),
    (
        "IPV6_UNICAST_HOPS",
        libc::IPPROTO_IPV6,
        libc::IPV6_UNICAST_HOPS,
    ),
    ("IPV6_V6ONLY", libc::IPPROTO_IPV6, libc::IPV6_V6ONLY),
];

/// For each option, the cases that rely on it and so must fail when it is
/// silently ignored.
const RELIANT: &[(&str, &[&str])] = &[
    (
        "SO_LINGER",
        &[
            "linger.zero_rst",
            "linger.zero_rst@v6",
            "linger.timeout_blocks",
            "linger.nonblocking",
        ],
    ),
    (
        "SO_REUSEADDR",
        &[
            "reuseaddr.time_wait_rebind",
            "reuseaddr.time_wait_rebind@v6",
            "reuseaddr.before_bind",
            "reuseaddr.child_server_restart",
            "reuseaddr.tcp_duplicate",
            "reuseaddr.udp_duplicate",
        ],
    ),
    ("SO_REUSEPORT", &["reuseaddr.tcp_duplicate"]),
    ("IPV6_V6ONLY", &["reuseaddr.multihomed@v6"]),
    (
        "IP_ADD_MEMBERSHIP",
        &[
            "reuseaddr.udp_duplicate",
            "mcast.join_receive",
            "mcast.reuseaddr_receivers",
            "mcast.chat",
            "mcast.igmp_on_join",
        ],
    ),
    (
        "IP_DROP_MEMBERSHIP",
        &["mcast.drop_membership", "mcast.igmp_on_join"],
    ),
    ("IP_MULTICAST_TTL", &["mcast.ttl"]),
    ("IP_MULTICAST_LOOP", &["mcast.loop_default", "mcast.chat"]),
    ("IP_MULTICAST_IF", &["mcast.if_selects_interface"]),
    ("IP_MULTICAST_ALL", &["mcast.multicast_all"]),
    (
        "SO_RCVBUF",
        &[
            "bufsize.post_connect",
            "rcvbuf.doubling",
            "rcvbuf.set_1024",
            "rcvbuf.excess_discarded",
        ],
    ),
    (
        "SO_SNDBUF",
        &["rcvbuf.doubling", "sndbuf.write_blocks_when_full"],
    ),
    (
        "TCP_NODELAY",
        &[
            "nagle.coalesce",
            "nagle.nodelay_segments",
            "nagle.delayed_ack_stall",
        ],
    ),
    ("IP_TTL", &["ip_ttl.default_then_32"]),
    (
        "SO_KEEPALIVE",
        &[
            "keepalive.default_off",
            "keepalive.probe_on_idle",
            "keepalive.dead_peer_etimedout",
            "keepalive.rst_econnreset",
        ],
    ),
    (
        "TCP_KEEPIDLE",
        &["keepalive.probe_on_idle", "tcp_keepalive.option_name"],
    ),
    ("TCP_KEEPINTVL", &["keepalive.dead_peer_etimedout"]),
    ("TCP_KEEPCNT", &["keepalive.dead_peer_etimedout"]),
    ("TCP_REPAIR", &["keepalive.rst_econnreset"]),
    ("SO_OOBINLINE", &["oobinline.inline"]),
    ("SO_RCVTIMEO", &["waitall.timeout", "timeout.so_timeout"]),
    ("SO_SNDTIMEO", &["timeout.so_timeout"]),
    ("SO_RCVLOWAT", &["lowat.rcvlowat"]),
    ("SO_DONTROUTE", &["dontroute.bypasses_routing"]),
    ("SO_DEBUG", &["so_debug.privilege"]),
    (
        "TCP_QUICKACK",
        &["nagle.coalesce", "nagle.delayed_ack_stall"],
    ),
    ("IPV6_UNICAST_HOPS", &["ip_ttl.default_then_32@v6"]),
    ("TCP_MAXSEG", &["tcp_maxseg.before_connect"]),
    ("SO_BROADCAST", &["broadcast.requires_option"]),
];

/// The shim's SOCKSPEC_SHIM_IGNORE value ("level:option") for an option name.
fn shim_spec(name: &str) -> String {
    let (_, level, opt) = OPTIONS
        .iter()
        .find(|o| o.0 == name)
        .unwrap_or_else(|| panic!("unknown option {name}"));
    format!("{level}:{opt}")
}

fn build_shim(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shim/ignore_setsockopt.c");
    let out = dir.join("libignore_setsockopt.so");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .arg("-ldl")
        .status()
        .expect("a C compiler (cc) is needed to build the sabotage shim: apt-get install gcc");
    assert!(status.success(), "building {} failed", src.display());
    out
}

fn outcome_under_shim(id: &str, spec: &str) -> (Outcome, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let shim = build_shim(dir.path());
    let shim = shim.to_str().expect("utf-8 path");
    let r = run_case(id, &[("LD_PRELOAD", shim), ("SOCKSPEC_SHIM_IGNORE", spec)]);
    (r.outcome, r.reason)
}

/// With one option ignored at a time, every case that relies on it fails.
/// Prints which cases catch which sabotaged option.
#[test]
fn every_case_relying_on_an_ignored_option_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shim = build_shim(dir.path());
    let mut caught: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut missed: Vec<String> = Vec::new();
    for (option, reliant) in RELIANT {
        let out = Command::new(common::exe())
            .env("LD_PRELOAD", &shim)
            .env("SOCKSPEC_SHIM_IGNORE", shim_spec(option))
            .args(["run", "--format", "json", "--artifacts"])
            .arg(dir.path().join("artifacts"))
            .args(reliant.iter())
            .output()
            .expect("run under the shim");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
        for c in v["cases"].as_array().expect("cases") {
            let id = c["id"].as_str().unwrap_or("").to_string();
            if c["outcome"] == "fail" {
                caught.entry(option).or_default().push(id);
            } else {
                missed.push(format!("{option} ignored, yet {id} -> {}", c["outcome"]));
            }
        }
    }
    eprintln!("sabotaged option -> cases that caught it:");
    for (option, ids) in &caught {
        eprintln!("  {option:<20} {}", ids.join(", "));
    }
    assert_eq!(Vec::<String>::new(), missed);
}

/// Every option in RELIANT is one the shim can sabotage.
#[test]
fn reliant_options_are_known_to_the_shim() {
    let unknown: Vec<&str> = RELIANT
        .iter()
        .map(|r| r.0)
        .filter(|o| !OPTIONS.iter().any(|k| k.0 == *o))
        .collect();
    assert_eq!(Vec::<&str>::new(), unknown);
}

/// The shim itself is harmless when it ignores nothing: the failures above
/// come from the ignored option, not from preloading.
#[rstest]
#[case::linger("linger.zero_rst")]
#[case::nagle("nagle.coalesce")]
fn shim_ignoring_nothing_changes_nothing(#[case] id: &str) {
    let (outcome, reason) = outcome_under_shim(id, "");
    assert_eq!((id, Outcome::Pass), (id, outcome), "{reason}");
}
