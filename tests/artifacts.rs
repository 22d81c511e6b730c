//! Safe as root: a failing case's pcap never goes through a planted symlink
//! (neither the artifacts directory nor the file), and under sudo it belongs
//! to the invoking user.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output};

use pretty_assertions::assert_eq;

/// `sockspec run selftest.fail` (a case that fails with a capture) in `cwd`.
fn run_failing_case(cwd: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(common::exe())
        .current_dir(cwd)
        .env("SOCKSPEC_SELFTEST", "1")
        .envs(env.iter().copied())
        .args(["run", "--format", "json", "selftest.fail"])
        .output()
        .expect("run selftest.fail")
}

fn report(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).expect("a JSON report")
}

#[test]
fn a_symlinked_artifacts_directory_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let victim = tmp.path().join("victim");
    std::fs::create_dir(&victim).expect("mkdir");
    std::fs::write(victim.join("keep"), b"precious").expect("write");
    let cwd = tmp.path().join("work");
    std::fs::create_dir(&cwd).expect("mkdir");
    std::os::unix::fs::symlink(&victim, cwd.join("sockspec-artifacts")).expect("symlink");

    let o = run_failing_case(&cwd, &[]);
    assert_eq!(Some(1), o.status.code());
    let case = &report(&o)["cases"][0];
    assert_eq!("fail", case["outcome"]);
    assert!(case["pcap"].is_null(), "{case}");
    let reason = case["reason"].as_str().unwrap_or("");
    assert!(reason.contains("pcap not written"), "{reason}");
    let left: Vec<String> = std::fs::read_dir(&victim)
        .expect("read victim")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(vec!["keep".to_string()], left);
}

#[test]
fn a_planted_pcap_symlink_is_replaced_not_followed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, b"precious").expect("write");
    let cwd = tmp.path().join("work");
    let art = cwd.join("sockspec-artifacts");
    std::fs::create_dir_all(&art).expect("mkdir");
    std::os::unix::fs::symlink(&victim, art.join("selftest.fail.pcap")).expect("symlink");

    let o = run_failing_case(&cwd, &[]);
    let case = &report(&o)["cases"][0];
    assert_eq!("fail", case["outcome"]);
    assert_eq!(
        b"precious".to_vec(),
        std::fs::read(&victim).expect("victim")
    );
    let pcap = art.join("selftest.fail.pcap");
    let meta = std::fs::symlink_metadata(&pcap).expect("pcap");
    assert!(meta.file_type().is_file(), "{meta:?}");
    assert_eq!(
        &[0x4d, 0x3c, 0xb2, 0xa1],
        &std::fs::read(&pcap).expect("read pcap")[..4],
        "a pcap (nanosecond magic)"
    );
}

#[test]
fn under_sudo_the_pcap_belongs_to_the_invoking_user() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("not root: sudo's hand-over cannot be tested");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = run_failing_case(tmp.path(), &[("SUDO_UID", "65534"), ("SUDO_GID", "65534")]);
    assert_eq!("fail", report(&o)["cases"][0]["outcome"]);
    let art = tmp.path().join("sockspec-artifacts");
    let pcap = art.join("selftest.fail.pcap");
    for p in [&art, &pcap] {
        let m = std::fs::metadata(p).expect("metadata");
        assert_eq!((65534, 65534), (m.uid(), m.gid()), "{}", p.display());
    }
    assert_eq!(0o700, std::fs::metadata(&art).expect("dir").mode() & 0o777);
}
