//! If setsockopt silently ignored an option — here an LD_PRELOAD shim that
//! returns success, does nothing, and echoes the value back on getsockopt — the
//! case that depends on that option must fail. Cases observe the kernel, not
//! the echo.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::run_case;
use pretty_assertions::assert_eq;
use rstest::rstest;
use sockspec::model::Outcome;

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

fn outcome_under_shim(id: &str, ignore: &str) -> (Outcome, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let shim = build_shim(dir.path());
    let shim = shim.to_str().expect("utf-8 path");
    let r = run_case(
        id,
        &[("LD_PRELOAD", shim), ("SOCKSPEC_SHIM_IGNORE", ignore)],
    );
    (r.outcome, r.reason)
}

#[rstest]
#[case::so_linger_zero("linger.zero_rst", "SO_LINGER")]
#[case::so_linger_timeout("linger.timeout_blocks", "SO_LINGER")]
#[case::tcp_nodelay("nagle.coalesce", "TCP_NODELAY")]
#[case::so_reuseaddr("reuseaddr.time_wait_rebind", "SO_REUSEADDR")]
#[case::so_rcvbuf("bufsize.post_connect", "SO_RCVBUF")]
#[case::ip_ttl_default_then_32("ip_ttl.default_then_32", "IP_TTL")]
#[case::tcp_maxseg_before_connect("tcp_maxseg.before_connect", "TCP_MAXSEG")]
#[case::so_broadcast_requires_option("broadcast.requires_option", "SO_BROADCAST")]
fn ignored_option_makes_its_case_fail(#[case] id: &str, #[case] option: &str) {
    let (outcome, reason) = outcome_under_shim(id, option);
    assert_eq!(
        (id, Outcome::Fail),
        (id, outcome),
        "with {option} ignored: {reason}"
    );
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
