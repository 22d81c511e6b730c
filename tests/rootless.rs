//! As an ordinary user, the cases run (not skip) through user namespaces.
//! When the tests themselves run as root, the binary is re-run as uid 65534.

mod common;

use std::os::unix::process::CommandExt;
use std::process::Command;

use pretty_assertions::assert_eq;

const HEADLINE: [&str; 6] = [
    "linger.zero_rst",
    "linger.timeout_blocks",
    "bufsize.post_connect",
    "reuseaddr.time_wait_rebind",
    "waitall.fills_buffer",
    "nagle.coalesce",
];

#[test]
fn headline_cases_pass_as_an_ordinary_user() {
    // A copy anyone can execute: the build tree may sit under a private home.
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = common::public_copy(dir.path());

    let mut cmd = Command::new(&exe);
    cmd.args(["run", "--format", "json", "--artifacts", "/dev/null/none"])
        .args(HEADLINE)
        .current_dir(dir.path());
    if nix::unistd::geteuid().is_root() {
        // std drops supplementary groups itself when root switches uid.
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().expect("run sockspec as an ordinary user");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let got: Vec<(String, String, String)> = v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
            (s("id"), s("outcome"), s("privilege"))
        })
        .collect();
    let want: Vec<(String, String, String)> = HEADLINE
        .iter()
        .map(|id| (id.to_string(), "pass".into(), "user_namespace".into()))
        .collect();
    assert_eq!(want, got);
}
